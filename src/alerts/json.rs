//! The JSON form of an event: one flat object per alert, for `--json` output and for storage.
//!
//! Prices are rounded to 7 significant digits: the histories and Yahoo carry single-precision
//! values (2467.699951 is 2467.70), and the extra digits are noise, not information.

use std::fmt::{Display, Write as _};
use std::io;

use chrono::NaiveDate;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::format::StackText;
use super::text::Headline;
use crate::analytics::Direction;
use crate::market::decimal::scale_pow10;
use crate::market::{IsoDate, Timeframe};
use crate::rules::{DedupKeyText, Event, Fact};

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

/// Room on the stack for a headline or a dedup key (headlines are 60-170 bytes).
const TEXT_ROOM: usize = 512;

/// A value serialised as the string its `Display` writes (dedup keys, period keys), without
/// building the string first.
struct Displayed<T>(T);

impl<T: Display> Serialize for Displayed<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Built on the stack and escaped in one pass: escaping piece by piece, as `collect_str`
        // does, costs per piece (a headline is a dozen). Longer texts take `collect_str`.
        let mut text: StackText<TEXT_ROOM> = StackText::default();
        match write!(text, "{}", self.0).and_then(|()| text.as_str()) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.collect_str(&self.0),
        }
    }
}

/// The one definition of an event's JSON shape.
///
/// Fields are declared in alphabetical order because that is the order the stored `Value`
/// form (a sorted map) prints them in, so a line written straight from this struct and the
/// `Value` of [`event_json`] read the same, byte for byte. Fields that belong to some kinds
/// only are `Option`s left out when `None`; those that are `null` when unknown are
/// `Option<Option<_>>` (outer: the kind has the field; inner: `null`).
#[derive(Serialize)]
struct EventJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    basis: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    biggest_since_date: Option<Option<IsoDate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    biggest_since_pct: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    change_pct: Option<f64>,
    close: f64,
    date: IsoDate,
    dedup_key: Displayed<DedupKeyText<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<Option<Direction>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drought_sessions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    earlier_at_least: Option<u32>,
    headline: Displayed<Headline<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    highest_since_close: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    highest_since_date: Option<Option<IsoDate>>,
    history_from: IsoDate,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    longest_since_date: Option<Option<IsoDate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    longest_since_length: Option<Option<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lowest_since_close: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lowest_since_date: Option<Option<IsoDate>>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_pace: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<Displayed<crate::market::PeriodKey>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_close: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_record_close: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_record_date: Option<IsoDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_record_high: Option<f64>,
    rule: &'a str,
    session_change_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sessions_remaining: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_date: Option<IsoDate>,
    symbol: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeframe: Option<Timeframe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weeks: Option<u32>,
}

impl<'a> EventJson<'a> {
    fn new(event: &'a Event) -> Self {
        let date = |d: NaiveDate| IsoDate(d);
        let mut json = EventJson {
            basis: None,
            biggest_since_date: None,
            biggest_since_pct: None,
            change_pct: None,
            close: tidy(event.close),
            date: date(event.date),
            dedup_key: Displayed(event.dedup_key_text()),
            direction: None,
            drought_sessions: None,
            earlier_at_least: None,
            headline: Displayed(Headline(event)),
            high: None,
            highest_since_close: None,
            highest_since_date: None,
            history_from: date(event.history_from),
            kind: event.fact.kind(),
            length: None,
            longest_since_date: None,
            longest_since_length: None,
            lowest_since_close: None,
            lowest_since_date: None,
            name: event.symbol.name(),
            on_pace: None,
            period: None,
            previous_close: None,
            previous_record_close: None,
            previous_record_date: None,
            previous_record_high: None,
            rule: &event.rule_id,
            session_change_pct: event.session_change_pct.map(tidy_pct),
            sessions_remaining: None,
            start_date: None,
            symbol: event.symbol.ticker(),
            timeframe: None,
            weeks: None,
        };
        match event.fact {
            Fact::RecordClose {
                previous,
                drought_sessions,
            } => {
                json.basis = Some("close");
                json.previous_record_date = Some(date(previous.date));
                json.previous_record_close = Some(tidy(previous.value));
                json.drought_sessions = Some(drought_sessions);
            }
            Fact::RecordIntraday {
                high,
                previous,
                drought_sessions,
            } => {
                json.basis = Some("intraday");
                json.high = Some(tidy(high));
                json.previous_record_date = Some(date(previous.date));
                json.previous_record_high = Some(tidy(previous.value));
                json.drought_sessions = Some(drought_sessions);
            }
            Fact::PeriodHigh {
                weeks,
                highest_since,
            } => {
                json.weeks = Some(weeks);
                json.highest_since_date = Some(highest_since.map(|(_, d)| date(d)));
                json.highest_since_close = Some(highest_since.map(|(c, _)| tidy(c)));
            }
            Fact::PeriodLow {
                weeks,
                lowest_since,
            } => {
                json.weeks = Some(weeks);
                json.lowest_since_date = Some(lowest_since.map(|(_, d)| date(d)));
                json.lowest_since_close = Some(lowest_since.map(|(c, _)| tidy(c)));
            }
            Fact::Streak { timeframe, streak } => {
                json.timeframe = Some(timeframe);
                json.direction = Some(streak.direction);
                json.length = Some(streak.length);
                json.on_pace = Some(!streak.complete);
                json.period = Some(Displayed(streak.period));
                json.start_date = Some(date(streak.start_date));
                json.change_pct = Some(tidy_pct(streak.change_pct));
                json.longest_since_date = Some(streak.longest_since.map(|r| date(r.end_date)));
                json.longest_since_length = Some(streak.longest_since.map(|r| r.length));
                json.earlier_at_least = Some(streak.earlier_at_least);
                json.sessions_remaining = Some(streak.sessions_remaining);
            }
            Fact::BigMove {
                timeframe,
                period,
                movement,
            } => {
                json.timeframe = Some(timeframe);
                json.period = Some(Displayed(period));
                json.change_pct = Some(tidy_pct(movement.change_pct));
                json.previous_close = Some(tidy(movement.previous_close));
                json.biggest_since_date = Some(movement.biggest_since.map(|(d, _)| date(d)));
                json.biggest_since_pct = Some(movement.biggest_since.map(|(_, p)| tidy_pct(p)));
            }
        }
        json
    }
}

/// The event as a flat JSON object (what the outbox stores).
pub fn event_json(event: &Event) -> Value {
    serde_json::to_value(EventJson::new(event))
        .expect("an event is strings, numbers and options, which always serialise")
}

/// Writes the event as one line of JSON (no newline), the same text as `event_json(event)`
/// printed, without building the `Value`.
pub fn write_event_json(out: &mut impl io::Write, event: &Event) -> io::Result<()> {
    serde_json::to_writer(out, &EventJson::new(event)).map_err(io::Error::from)
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
            write_event_json(&mut line, &event).expect("write to memory");
            let line = String::from_utf8(line).expect("utf-8");
            assert_eq!(line, event_json(&event).to_string());
        }
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
