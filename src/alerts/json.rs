//! The JSON form of an event: one flat object per alert, for `--json` output and for storage.
//!
//! Prices are rounded to 7 significant digits: the histories and Yahoo carry single-precision
//! values (2467.699951 is 2467.70), and the extra digits are noise, not information.
//!
//! A replay writes hundreds of thousands of these lines, so they are written field by field
//! straight into a byte buffer ([`write_event_json`]) in exactly the bytes serde_json would
//! print (its own number formatter, its escaping); the stored `Value` ([`event_json`]) is that
//! line read back, so the two cannot drift apart.

use std::fmt::{self, Display, Write as _};

use chrono::{Datelike, NaiveDate};
use serde_json::ser::{CompactFormatter, Formatter as _};
use serde_json::{Value, json};

use super::text::push_headline;
use crate::analytics::Direction;
use crate::market::decimal::scale_pow10;
use crate::market::{IsoDate, PeriodKey, Timeframe, iso_date};
use crate::rules::{Event, Fact};

/// A scaled value this close to halfway between two integers is not rounded by the fast path:
/// the one rounding error of the scaling (below 1.2e-9 for values under 10^7) could flip it.
const TIE_MARGIN: f64 = 1e-6;

/// Rounds a price to 7 significant digits: the value of `format!("{value:.6e}")` read back.
pub(crate) fn tidy(value: f64) -> f64 {
    tidy_fast(value).unwrap_or_else(|| tidy_by_text(value))
}

/// The definition of [`tidy`]: print 7 significant digits, parse them back.
fn tidy_by_text(value: f64) -> f64 {
    format!("{value:.6e}").parse().unwrap_or(value)
}

/// [`tidy`] without text, for all but the rare values next to a rounding tie (`None`: use the
/// text). The 7 digits are `|value| × 10^shift` rounded to an integer, which is exact to within
/// 1.2e-9 because the product is rounded once; away from a tie that picks the same integer as
/// the exact decimal expansion does. Reading them back, `digits / 10^shift` (or `×`) of two
/// exact values is rounded once, correctly, which is what parsing the decimal text gives.
fn tidy_fast(value: f64) -> Option<f64> {
    if !value.is_finite() || value == 0.0 {
        return None;
    }
    let magnitude = value.abs();
    // The leading digit's decimal exponent, from the binary one: floor(e2 · log10 2), with
    // log10 2 ≈ 78913 / 2^18. It is the true one or one less; the step below corrects that.
    // (Subnormals come out far off and are left to the text.)
    let binary_exponent = ((magnitude.to_bits() >> 52) & 0x7FF) as i32 - 1023;
    let mut shift = 6 - ((binary_exponent * 78_913) >> 18);
    let mut scaled = scale_pow10(magnitude, shift)?;
    if scaled >= 1e7 {
        shift -= 1;
        scaled = scale_pow10(magnitude, shift)?;
    } else if scaled < 1e6 {
        shift += 1;
        scaled = scale_pow10(magnitude, shift)?;
    }
    if !(1e6..1e7).contains(&scaled) {
        return None;
    }
    let whole = scaled.floor();
    let fraction = scaled - whole;
    if (fraction - 0.5).abs() < TIE_MARGIN {
        return None;
    }
    let digits = if fraction > 0.5 { whole + 1.0 } else { whole };
    Some(scale_pow10(digits, -shift)?.copysign(value))
}

/// Rounds a percentage to 4 decimals.
pub(crate) fn tidy_pct(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// Which bytes JSON strings escape, as serde_json does: the control characters, `"` and `\`.
/// Everything else, `/` and all of UTF-8 included, is written as it is.
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Whether any byte of `text` [needs an escape](needs_escape): eight bytes at a time.
fn any_needs_escape(text: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether some byte of `word` is below `n` (n ≤ 128): exact for the word as a whole.
    let any_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0;
    let any_equal = |word: u64, byte: u8| any_below(word ^ (ONES * u64::from(byte)), 1);
    let mut words = text.chunks_exact(8);
    for chunk in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        if any_below(word, 0x20) || any_equal(word, b'"') || any_equal(word, b'\\') {
            return true;
        }
    }
    words.remainder().iter().any(|&b| needs_escape(b))
}

/// Appends `text` to `out` as the body of a JSON string (no quotes), escaped exactly as
/// serde_json escapes it: `\b \t \n \f \r` short, other control characters as `\u00XX` with
/// lower-case hex, `\"` and `\\`.
#[inline(always)]
fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    if any_needs_escape(text) {
        push_escaping(out, text);
    } else {
        out.extend_from_slice(text);
    }
}

/// [`push_escaped`] for a text with a byte to escape (rare: names and ids almost never have one).
#[cold]
#[inline(never)]
fn push_escaping(out: &mut Vec<u8>, text: &[u8]) {
    let mut plain_from = 0;
    for (i, &byte) in text.iter().enumerate() {
        if !needs_escape(byte) {
            continue;
        }
        out.extend_from_slice(&text[plain_from..i]);
        plain_from = i + 1;
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0A => b'n',
            0x0C => b'f',
            0x0D => b'r',
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xF)],
                ]);
                continue;
            }
        };
        out.extend_from_slice(&[b'\\', short]);
    }
    out.extend_from_slice(&text[plain_from..]);
}

/// `fmt::Write` into a byte buffer, for `Display` values written straight into the output.
struct Bytes<'a>(&'a mut Vec<u8>);

impl fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends a period key's text, exactly as [`PeriodKey`] displays it (`2025-09-18`,
/// `2025-W38`, `2025-09`), from bytes where the year has four digits.
fn push_period(out: &mut Vec<u8>, period: PeriodKey) {
    let first = period.first_day();
    match (period.timeframe(), iso_date::ymd(first)) {
        (Timeframe::Daily, Some(ymd)) => out.extend_from_slice(&ymd),
        (Timeframe::Monthly, Some(ymd)) => out.extend_from_slice(&ymd[..7]),
        (Timeframe::Weekly, _) if (1000..=9999).contains(&first.iso_week().year()) => {
            let week = first.iso_week();
            let digit = |n: u32| b'0' + (n % 10) as u8;
            let year = week.year().unsigned_abs();
            out.extend_from_slice(&[
                digit(year / 1000),
                digit(year / 100),
                digit(year / 10),
                digit(year),
                b'-',
                b'W',
                digit(week.week() / 10),
                digit(week.week()),
            ]);
        }
        _ => {
            let _ = write!(Bytes(out), "{period}");
        }
    }
}

/// Appends an event's dedup key, exactly as [`Event::dedup_key_text`] displays it.
fn push_dedup_key(out: &mut Vec<u8>, event: &Event) {
    out.extend_from_slice(event.rule_id.as_bytes());
    out.push(b'/');
    out.extend_from_slice(event.symbol.ticker().as_bytes());
    out.push(b'/');
    out.extend_from_slice(event.dedup_kind().as_bytes());
    out.push(b'/');
    push_period(out, event.period());
}

/// A JSON object written field by field into a byte buffer, in the bytes serde_json writes
/// (numbers through serde_json's own formatter, strings escaped as it escapes them), with no
/// intermediate `Value` or `String`.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Object { out, empty: true }
    }

    #[inline(always)]
    fn key(&mut self, name: &str) {
        self.out.push(if self.empty { b'{' } else { b',' });
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    #[inline(always)]
    fn str(&mut self, name: &str, value: &str) {
        self.key(name);
        self.out.push(b'"');
        push_escaped(self.out, value.as_bytes());
        self.out.push(b'"');
    }

    /// A string field holding one of highwater's own names (`close`, `record_close`,
    /// `weekly`): plain ASCII letters and `_`, which JSON never escapes.
    #[inline(always)]
    fn name(&mut self, name: &str, value: &'static str) {
        debug_assert!(!value.bytes().any(needs_escape), "{value}");
        self.key(name);
        self.out.push(b'"');
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b'"');
    }

    /// A string field whose text `write` appends to the buffer: written in place, and escaped
    /// only when it holds a byte that JSON escapes (headlines and keys almost never do).
    #[inline]
    fn string_with(&mut self, name: &str, write: impl FnOnce(&mut Vec<u8>)) {
        self.key(name);
        self.out.push(b'"');
        let start = self.out.len();
        write(self.out);
        if any_needs_escape(&self.out[start..]) {
            let raw = self.out.split_off(start);
            push_escaped(self.out, &raw);
        }
        self.out.push(b'"');
    }

    /// A string field holding what `value` displays.
    fn display(&mut self, name: &str, value: impl Display) {
        // Writing into a Vec cannot fail; a Display that reports an error leaves what it wrote.
        self.string_with(name, |out| {
            let _ = write!(Bytes(out), "{value}");
        });
    }

    #[inline(always)]
    fn date(&mut self, name: &str, date: NaiveDate) {
        match crate::market::iso_date::ymd(date) {
            Some(bytes) => {
                self.key(name);
                self.out.push(b'"');
                self.out.extend_from_slice(&bytes);
                self.out.push(b'"');
            }
            None => self.display(name, IsoDate(date)),
        }
    }

    #[inline(always)]
    fn null(&mut self, name: &str) {
        self.key(name);
        self.out.extend_from_slice(b"null");
    }

    /// A number as serde_json writes an `f64`: shortest round-trip digits; `null` when it is
    /// not finite.
    #[inline(always)]
    fn f64(&mut self, name: &str, value: f64) {
        if !value.is_finite() {
            return self.null(name);
        }
        self.key(name);
        // Writing into a Vec cannot fail.
        let _ = CompactFormatter.write_f64(self.out, value);
    }

    #[inline(always)]
    fn u32(&mut self, name: &str, value: u32) {
        self.key(name);
        let _ = CompactFormatter.write_u32(self.out, value);
    }

    #[inline(always)]
    fn bool(&mut self, name: &str, value: bool) {
        self.key(name);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// `value`'s field, or `null` when it is `None`.
    #[inline]
    fn nullable<T>(
        &mut self,
        name: &str,
        value: Option<T>,
        write: impl FnOnce(&mut Self, &str, T),
    ) {
        match value {
            Some(value) => write(self, name, value),
            None => self.null(name),
        }
    }

    fn end(self) {
        if self.empty {
            self.out.push(b'{');
        }
        self.out.push(b'}');
    }
}

/// The one definition of an event's JSON shape.
///
/// Fields are written in alphabetical order because that is the order a stored `Value` (a
/// sorted map) prints them in, so a line written from this struct and the `Value` of
/// [`event_json`] read the same, byte for byte. Fields that belong to some kinds only are
/// `Option`s left out when `None`; those that are `null` when unknown are `Option<Option<_>>`
/// (outer: the kind has the field; inner: `null`).
struct EventJson<'a> {
    event: &'a Event,
    basis: Option<&'static str>,
    biggest_since_date: Option<Option<NaiveDate>>,
    biggest_since_pct: Option<Option<f64>>,
    change_pct: Option<f64>,
    close: f64,
    correlation: Option<f64>,
    direction: Option<Option<Direction>>,
    drought_sessions: Option<u32>,
    earlier_at_least: Option<u32>,
    high: Option<f64>,
    highest_since_close: Option<Option<f64>>,
    highest_since_date: Option<Option<NaiveDate>>,
    length: Option<u32>,
    longest_since_date: Option<Option<NaiveDate>>,
    longest_since_length: Option<Option<u32>>,
    lowest_since_close: Option<Option<f64>>,
    lowest_since_date: Option<Option<NaiveDate>>,
    on_pace: Option<bool>,
    period: Option<PeriodKey>,
    previous_close: Option<f64>,
    previous_correlation: Option<f64>,
    previous_record_close: Option<f64>,
    previous_record_date: Option<NaiveDate>,
    previous_record_high: Option<f64>,
    session_change_pct: Option<f64>,
    sessions_remaining: Option<u32>,
    start_date: Option<NaiveDate>,
    threshold: Option<f64>,
    timeframe: Option<Timeframe>,
    versus: Option<&'a str>,
    weeks: Option<u32>,
    window: Option<u32>,
}

impl<'a> EventJson<'a> {
    fn new(event: &'a Event) -> Self {
        let mut json = EventJson {
            event,
            basis: None,
            biggest_since_date: None,
            biggest_since_pct: None,
            change_pct: None,
            close: tidy(event.close),
            correlation: None,
            direction: None,
            drought_sessions: None,
            earlier_at_least: None,
            high: None,
            highest_since_close: None,
            highest_since_date: None,
            length: None,
            longest_since_date: None,
            longest_since_length: None,
            lowest_since_close: None,
            lowest_since_date: None,
            on_pace: None,
            period: None,
            previous_close: None,
            previous_correlation: None,
            previous_record_close: None,
            previous_record_date: None,
            previous_record_high: None,
            session_change_pct: event.session_change_pct.map(tidy_pct),
            sessions_remaining: None,
            start_date: None,
            threshold: None,
            timeframe: None,
            versus: None,
            weeks: None,
            window: None,
        };
        match &event.fact {
            Fact::RecordClose {
                previous,
                drought_sessions,
            } => {
                json.basis = Some("close");
                json.previous_record_date = Some(previous.date);
                json.previous_record_close = Some(tidy(previous.value));
                json.drought_sessions = Some(*drought_sessions);
            }
            Fact::RecordIntraday {
                high,
                previous,
                drought_sessions,
            } => {
                json.basis = Some("intraday");
                json.high = Some(tidy(*high));
                json.previous_record_date = Some(previous.date);
                json.previous_record_high = Some(tidy(previous.value));
                json.drought_sessions = Some(*drought_sessions);
            }
            Fact::PeriodHigh {
                weeks,
                highest_since,
            } => {
                json.weeks = Some(*weeks);
                json.highest_since_date = Some(highest_since.map(|(_, d)| d));
                json.highest_since_close = Some(highest_since.map(|(c, _)| tidy(c)));
            }
            Fact::PeriodLow {
                weeks,
                lowest_since,
            } => {
                json.weeks = Some(*weeks);
                json.lowest_since_date = Some(lowest_since.map(|(_, d)| d));
                json.lowest_since_close = Some(lowest_since.map(|(c, _)| tidy(c)));
            }
            Fact::Streak { timeframe, streak } => {
                json.timeframe = Some(*timeframe);
                json.direction = Some(streak.direction);
                json.length = Some(streak.length);
                json.on_pace = Some(!streak.complete);
                json.period = Some(streak.period);
                json.start_date = Some(streak.start_date);
                json.change_pct = Some(tidy_pct(streak.change_pct));
                json.longest_since_date = Some(streak.longest_since.map(|r| r.end_date));
                json.longest_since_length = Some(streak.longest_since.map(|r| r.length));
                json.earlier_at_least = Some(streak.earlier_at_least);
                json.sessions_remaining = Some(streak.sessions_remaining);
            }
            Fact::BigMove {
                timeframe,
                period,
                movement,
            } => {
                json.timeframe = Some(*timeframe);
                json.period = Some(*period);
                json.change_pct = Some(tidy_pct(movement.change_pct));
                json.previous_close = Some(tidy(movement.previous_close));
                json.biggest_since_date = Some(movement.biggest_since.map(|(d, _)| d));
                json.biggest_since_pct = Some(movement.biggest_since.map(|(_, p)| tidy_pct(p)));
            }
            Fact::CorrelationShift {
                versus,
                window,
                threshold,
                correlation,
                previous,
                direction,
            } => {
                json.versus = Some(versus.ticker());
                json.window = Some(*window);
                json.threshold = Some(*threshold);
                json.correlation = Some(*correlation);
                json.previous_correlation = Some(*previous);
                json.direction = Some(Some(*direction));
            }
        }
        json
    }

    /// Appends the object to `out`, its fields in alphabetical order.
    fn write(&self, out: &mut Vec<u8>) {
        let event = self.event;
        let mut o = Object::new(out);
        if let Some(basis) = self.basis {
            o.name("basis", basis);
        }
        if let Some(date) = self.biggest_since_date {
            o.nullable("biggest_since_date", date, Object::date);
        }
        if let Some(pct) = self.biggest_since_pct {
            o.nullable("biggest_since_pct", pct, Object::f64);
        }
        if let Some(pct) = self.change_pct {
            o.f64("change_pct", pct);
        }
        o.f64("close", self.close);
        if let Some(correlation) = self.correlation {
            o.f64("correlation", correlation);
        }
        o.date("date", event.date);
        o.string_with("dedup_key", |out| push_dedup_key(out, event));
        if let Some(direction) = self.direction {
            o.nullable("direction", direction, |o, name, d| {
                o.name(name, d.as_str())
            });
        }
        if let Some(sessions) = self.drought_sessions {
            o.u32("drought_sessions", sessions);
        }
        if let Some(count) = self.earlier_at_least {
            o.u32("earlier_at_least", count);
        }
        o.string_with("headline", |out| push_headline(out, event));
        if let Some(high) = self.high {
            o.f64("high", high);
        }
        if let Some(close) = self.highest_since_close {
            o.nullable("highest_since_close", close, Object::f64);
        }
        if let Some(date) = self.highest_since_date {
            o.nullable("highest_since_date", date, Object::date);
        }
        o.date("history_from", event.history_from);
        o.name("kind", event.fact.kind());
        if let Some(length) = self.length {
            o.u32("length", length);
        }
        if let Some(date) = self.longest_since_date {
            o.nullable("longest_since_date", date, Object::date);
        }
        if let Some(length) = self.longest_since_length {
            o.nullable("longest_since_length", length, Object::u32);
        }
        if let Some(close) = self.lowest_since_close {
            o.nullable("lowest_since_close", close, Object::f64);
        }
        if let Some(date) = self.lowest_since_date {
            o.nullable("lowest_since_date", date, Object::date);
        }
        o.str("name", event.symbol.name());
        if let Some(on_pace) = self.on_pace {
            o.bool("on_pace", on_pace);
        }
        if let Some(period) = self.period {
            o.string_with("period", |out| push_period(out, period));
        }
        if let Some(close) = self.previous_close {
            o.f64("previous_close", close);
        }
        if let Some(correlation) = self.previous_correlation {
            o.f64("previous_correlation", correlation);
        }
        if let Some(close) = self.previous_record_close {
            o.f64("previous_record_close", close);
        }
        if let Some(date) = self.previous_record_date {
            o.date("previous_record_date", date);
        }
        if let Some(high) = self.previous_record_high {
            o.f64("previous_record_high", high);
        }
        o.str("rule", &event.rule_id);
        o.nullable("session_change_pct", self.session_change_pct, Object::f64);
        if let Some(sessions) = self.sessions_remaining {
            o.u32("sessions_remaining", sessions);
        }
        if let Some(date) = self.start_date {
            o.date("start_date", date);
        }
        o.str("symbol", event.symbol.ticker());
        if let Some(threshold) = self.threshold {
            o.f64("threshold", threshold);
        }
        if let Some(timeframe) = self.timeframe {
            o.name("timeframe", timeframe.as_str());
        }
        if let Some(versus) = self.versus {
            o.str("versus", versus);
        }
        if let Some(weeks) = self.weeks {
            o.u32("weeks", weeks);
        }
        if let Some(window) = self.window {
            o.u32("window", window);
        }
        o.end();
    }
}

/// The event as a flat JSON object (what the outbox stores): the line of
/// [`write_event_json`], read back.
pub fn event_json(event: &Event) -> Value {
    let mut line = Vec::with_capacity(512);
    write_event_json(&mut line, event);
    serde_json::from_slice(&line)
        .expect("the event writer writes valid JSON: see the tests that read every kind back")
}

/// Appends the event to `out` as one line of JSON (no newline): the same text as
/// `event_json(event)` printed, written straight into the buffer.
pub fn write_event_json(out: &mut Vec<u8>, event: &Event) {
    EventJson::new(event).write(out);
}

/// One bar as JSON (`highwater fetch --json`): prices as the provider sent them, tidied.
pub fn bar_json(ticker: &str, source: &str, bar: &crate::market::Bar, in_progress: bool) -> Value {
    json!({
        "symbol": ticker,
        "source": source,
        "date": IsoDate(bar.date()).to_string(),
        "open": bar.open().map(tidy),
        "high": bar.high().map(tidy),
        "low": bar.low().map(tidy),
        "close": tidy(bar.close()),
        "volume": bar.volume(),
        "in_progress": in_progress,
    })
}

/// One bar as a line of text: `2025-09-18  open 2,421.53  high …  close 2,467.70`.
pub fn bar_text(bar: &crate::market::Bar, in_progress: bool) -> String {
    let show = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), super::format::price);
    let mut line = format!(
        "{}  open {}  high {}  low {}  close {}",
        IsoDate(bar.date()),
        show(bar.open()),
        show(bar.high()),
        show(bar.low()),
        super::format::price(bar.close())
    );
    if let Some(volume) = bar.volume() {
        line += &format!("  volume {volume:.0}");
    }
    if in_progress {
        line += "  (session in progress)";
    }
    line
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

        /// The word-at-a-time check finds exactly the texts with a byte to escape.
        #[test]
        fn any_byte_to_escape_is_found_eight_at_a_time(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => 0x20u8..0x7F,
                    1 => proptest::sample::select(vec![b'"', b'\\', 0x00, 0x1F, 0x20, 0x7F, 0x80, 0xA0, 0xDC, 0xE2, 0xFF]),
                    1 => proptest::prelude::any::<u8>(),
                ],
                0..40,
            ),
        ) {
            proptest::prop_assert_eq!(
                any_needs_escape(&text),
                text.iter().any(|&b| needs_escape(b)),
                "{:?}", text
            );
        }
    }
    use crate::analytics::{Mark, MoveFact, RunRef, StreakFact};
    use crate::market::Symbol;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn tidy_keeps_seven_significant_digits() {
        assert_eq!(tidy(2467.699951), 2467.7);
        assert_eq!(tidy(168.970001), 168.97);
        assert_eq!(tidy(-0.0812345678), -0.08123457);
        assert_eq!(tidy(112_345.567_89), 112_345.6);
        assert_eq!(tidy(9_999_999.7), 10_000_000.0);
        assert_eq!(tidy(0.0), 0.0);
        assert!(tidy(f64::NAN).is_nan());
        assert_eq!(tidy(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn tidy_matches_its_text_definition_at_ties_and_powers_of_ten() {
        let mut values = vec![
            1234567.5,
            1234568.5,
            0.5,
            2.5,
            12.5,
            1e-300,
            1e300,
            f64::MIN_POSITIVE,
        ];
        for exponent in -30..=30 {
            let power = 10f64.powi(exponent);
            values.extend([
                power,
                power * (1.0 - 1e-16),
                power * (1.0 + 1e-16),
                9.9999995 * power,
            ]);
        }
        for value in values {
            for v in [value, -value] {
                assert_eq!(tidy(v).to_bits(), tidy_by_text(v).to_bits(), "{v:e}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn tidy_matches_its_text_definition_for_any_finite_value(value in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
            prop_assert_eq!(tidy(value).to_bits(), tidy_by_text(value).to_bits(), "{:e}", value);
        }

        #[test]
        fn tidy_matches_its_text_definition_for_prices_with_six_decimals(micros in 1u64..10_000_000_000_000) {
            let value: f64 = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000).parse().expect("a number");
            prop_assert_eq!(tidy(value).to_bits(), tidy_by_text(value).to_bits(), "{}", value);
        }
    }

    /// One event of each fact, with and without the optional "since" parts.
    fn events() -> Vec<Event> {
        let symbol = Arc::new(Symbol::adhoc("^TEST"));
        let day = date(2025, 9, 18);
        let mark = Mark {
            date: date(2021, 11, 8),
            value: 2442.739990,
            index: 8600,
        };
        let streak = |longest_since, complete| StreakFact {
            period: Timeframe::Weekly.key(day),
            last_date: day,
            close: 2467.699951,
            direction: Some(Direction::Up),
            length: 7,
            start_date: date(2025, 8, 4),
            change_pct: 13.887_912_3,
            longest_since,
            earlier_at_least: 19,
            complete,
            sessions_remaining: u32::from(!complete),
        };
        let movement = |biggest_since| MoveFact {
            change_pct: -3.123_456_7,
            previous_close: 2_407.339_966,
            biggest_since,
        };
        let facts = [
            Fact::RecordClose {
                previous: mark,
                drought_sessions: 967,
            },
            Fact::RecordIntraday {
                high: 2_470.070_068,
                previous: mark,
                drought_sessions: 0,
            },
            Fact::PeriodHigh {
                weeks: 52,
                highest_since: Some((2_500.123_4, date(2021, 11, 5))),
            },
            Fact::PeriodHigh {
                weeks: 104,
                highest_since: None,
            },
            Fact::PeriodLow {
                weeks: 52,
                lowest_since: Some((1700.5, date(2020, 4, 1))),
            },
            Fact::PeriodLow {
                weeks: 52,
                lowest_since: None,
            },
            Fact::Streak {
                timeframe: Timeframe::Weekly,
                streak: streak(
                    Some(RunRef {
                        end_date: date(2020, 12, 24),
                        length: 8,
                    }),
                    false,
                ),
            },
            Fact::Streak {
                timeframe: Timeframe::Weekly,
                streak: StreakFact {
                    direction: None,
                    ..streak(None, true)
                },
            },
            Fact::BigMove {
                timeframe: Timeframe::Monthly,
                period: Timeframe::Monthly.key(day),
                movement: movement(Some((date(2020, 3, 31), -4.5))),
            },
            Fact::BigMove {
                timeframe: Timeframe::Daily,
                period: Timeframe::Daily.key(day),
                movement: movement(None),
            },
        ];
        facts
            .into_iter()
            .enumerate()
            .map(|(i, fact)| Event {
                rule_id: Arc::from(format!("rule-{i}").as_str()),
                symbol: symbol.clone(),
                date: day,
                close: 2467.699951,
                session_change_pct: (i % 2 == 0).then_some(2.507_312_3),
                history_from: date(987, 9, 10),
                fact,
            })
            .collect()
    }

    #[test]
    fn the_written_line_is_the_stored_value_printed() {
        for event in events() {
            let mut line = Vec::new();
            write_event_json(&mut line, &event);
            let line = String::from_utf8(line).expect("utf-8");
            // serde_json reads the line and prints it again (keys sorted, its own escaping and
            // number formatting): the same bytes.
            let value: Value = serde_json::from_str(&line).expect("valid JSON");
            assert_eq!(line, value.to_string());
            assert_eq!(event_json(&event), value);
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut texts: Vec<String> = (0u8..0x80)
            .map(|b| format!("a{}z", char::from(b)))
            .collect();
        texts.extend(
            [
                "",
                "\\\"\"",
                "Ünïcødé — “quotes” / \u{7f} \u{2028}",
                "\u{1b}[31mred",
            ]
            .map(String::from),
        );
        for text in texts {
            let mut ours = Vec::new();
            let mut o = Object::new(&mut ours);
            o.str("s", &text);
            o.display("d", &text);
            o.end();
            let theirs = serde_json::json!({ "s": text, "d": text });
            let expected = format!(
                "{{\"s\":{0},\"d\":{0}}}",
                serde_json::to_string(&theirs["s"]).expect("a string")
            );
            assert_eq!(
                String::from_utf8(ours).expect("utf-8"),
                expected,
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_symbol_name_with_quotes_and_control_characters_is_escaped_in_every_field() {
        let mut event = events().remove(0);
        event.symbol = Arc::new(Symbol::adhoc("^T\"E\\S\nT"));
        let mut line = Vec::new();
        write_event_json(&mut line, &event);
        let line = String::from_utf8(line).expect("utf-8");
        let value: Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(value["symbol"], "^T\"E\\S\nT");
        assert!(
            value["headline"]
                .as_str()
                .is_some_and(|h| h.starts_with("^T\"E\\S\nT closes"))
        );
        assert!(
            value["dedup_key"]
                .as_str()
                .is_some_and(|k| k.contains("/^T\"E\\S\nT/"))
        );
        assert_eq!(line, value.to_string());
    }

    #[test]
    fn dedup_keys_and_periods_read_as_they_display() {
        for event in events() {
            let value = event_json(&event);
            assert_eq!(value["dedup_key"], event.dedup_key_text().to_string());
            if let Some(period) = value.get("period") {
                assert_eq!(period, &event.period().to_string());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        #[test]
        fn a_period_is_written_as_it_displays(days in -800_000i32..3_700_000, tf in 0usize..3) {
            let date = NaiveDate::from_num_days_from_ce_opt(days).expect("a date");
            let period = Timeframe::ALL[tf].key(date);
            let mut ours = Vec::new();
            push_period(&mut ours, period);
            prop_assert_eq!(String::from_utf8(ours).expect("utf-8"), period.to_string());
        }
    }

    #[test]
    fn numbers_that_are_not_finite_are_null() {
        let mut ours = Vec::new();
        let mut o = Object::new(&mut ours);
        o.f64("a", f64::NAN);
        o.f64("b", f64::INFINITY);
        o.f64("c", -0.0);
        o.f64("d", 1e-7);
        o.f64("e", 2467.7);
        o.u32("f", u32::MAX);
        o.end();
        assert_eq!(
            String::from_utf8(ours).expect("utf-8"),
            serde_json::json!({"a": f64::NAN, "b": f64::INFINITY, "c": -0.0, "d": 1e-7, "e": 2467.7, "f": u32::MAX})
                .to_string()
        );
    }

    #[test]
    fn unknown_parts_are_null_and_other_kinds_fields_absent() {
        let events = events();
        let line = |i: usize| event_json(&events[i]).to_string();
        assert_eq!(
            line(3),
            "{\"close\":2467.7,\"date\":\"2025-09-18\",\"dedup_key\":\"rule-3/^TEST/period_high/2025-09-18\",\
             \"headline\":\"^TEST closes at a 2-year high of 2,467.70 — the highest close on record\",\
             \"highest_since_close\":null,\"highest_since_date\":null,\"history_from\":\"0987-09-10\",\
             \"kind\":\"period_high\",\"name\":\"^TEST\",\"rule\":\"rule-3\",\"session_change_pct\":null,\
             \"symbol\":\"^TEST\",\"weeks\":104}"
        );
        assert_eq!(
            line(7),
            "{\"change_pct\":13.8879,\"close\":2467.7,\"date\":\"2025-09-18\",\
             \"dedup_key\":\"rule-7/^TEST/streak/2025-W38\",\"direction\":null,\"earlier_at_least\":19,\
             \"headline\":\"^TEST posts a 7th straight weekly gain — the longest streak on record (data from Sep 0987)\",\
             \"history_from\":\"0987-09-10\",\"kind\":\"streak\",\"length\":7,\"longest_since_date\":null,\
             \"longest_since_length\":null,\"name\":\"^TEST\",\"on_pace\":false,\"period\":\"2025-W38\",\
             \"rule\":\"rule-7\",\"session_change_pct\":null,\"sessions_remaining\":0,\
             \"start_date\":\"2025-08-04\",\"symbol\":\"^TEST\",\"timeframe\":\"weekly\"}"
        );
    }
}
