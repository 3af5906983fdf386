//! Sanity before facts: is a bar plausible, and is a history up to date?
//!
//! A false "record high" is worse than none, and the usual cause is one bad tick: a close ten
//! times too high, a price from the wrong instrument. A close that jumps implausibly against the
//! previous close (more than a threshold per asset class) is a *suspect*; [`corroborate`] weighs
//! the evidence about it (the bar's own range, the instruments that move with it, the next
//! session, a second source) and says whether it is real, a bad tick, or not decided yet. The
//! rules are a pure function of the bars they are given: fetching the evidence is the caller's.
//! And a history whose latest bar is older than the calendar says it should be is stale: it is
//! reported, never evaluated as news.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Deserialize;

use super::{AssetClass, Bar, Calendar};

/// Largest believable one-session move, in percent, per asset class. Index moves beyond 12%
/// happened on a handful of days in a century (1987-10-19: -20.5%); single stocks and coins
/// move far more, so their thresholds are looser.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JumpThresholds {
    pub index: f64,
    pub etf: f64,
    pub stock: f64,
    pub crypto: f64,
}

impl Default for JumpThresholds {
    fn default() -> Self {
        Self {
            index: 12.0,
            etf: 15.0,
            stock: 40.0,
            crypto: 30.0,
        }
    }
}

/// A jump threshold out of range: which asset class's, and its value. The message is about the
/// value; the config names the key.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{value} must be a percentage above 0 and at most 1000")]
pub struct JumpThresholdError {
    /// `index`, `etf`, `stock` or `crypto`.
    pub class: &'static str,
    pub value: f64,
}

impl JumpThresholds {
    pub fn for_class(&self, class: AssetClass) -> f64 {
        match class {
            AssetClass::Index => self.index,
            AssetClass::Etf => self.etf,
            AssetClass::Stock => self.stock,
            AssetClass::Crypto => self.crypto,
        }
    }

    /// Every threshold must be a percentage above 0 and at most 1000.
    pub fn validate(&self) -> Result<(), JumpThresholdError> {
        for (name, value) in [
            ("index", self.index),
            ("etf", self.etf),
            ("stock", self.stock),
            ("crypto", self.crypto),
        ] {
            if !(value.is_finite() && value > 0.0 && value <= 1000.0) {
                return Err(JumpThresholdError { class: name, value });
            }
        }
        Ok(())
    }
}

/// The move from `previous_close` to `close` in percent, when it is beyond `threshold_pct` in
/// either direction (a tenfold close is +900%, a tenth is -90%).
pub fn implausible_jump(previous_close: f64, close: f64, threshold_pct: f64) -> Option<f64> {
    let pct = (close / previous_close - 1.0) * 100.0;
    // A fall is judged by the rise that would undo it, so ×10 and ÷10 weigh the same.
    let undo_pct = (previous_close / close - 1.0) * 100.0;
    (pct > threshold_pct || undo_pct > threshold_pct).then_some(pct)
}

/// Whether two closes of the same session agree closely enough to confirm each other (within
/// `tolerance_pct`).
pub fn confirms(a: f64, b: f64, tolerance_pct: f64) -> bool {
    ((a / b - 1.0) * 100.0).abs() <= tolerance_pct
}

/// Two closes of one session from two sources within this many percent confirm each other.
pub const SAME_CLOSE_TOLERANCE_PCT: f64 = 0.5;

/// Share of a jump (in log terms) that may remain on the next session for the jump to count as
/// undone: a x10 tick followed by the old level leaves ~0%; a real crash keeps most of its move
/// (2020-03-16: the Russell 2000 fell 14.3% and the next close kept 65% of that fall).
pub const UNDONE_REMAINDER: f64 = 0.2;

/// A sibling agrees when it moved the same way by at least this share of the suspect's move
/// and at most its inverse (in log terms): 0.5 means "between half and twice as much". The
/// Russell 2000 and IWM, or the Nasdaq-100 and the Nasdaq Composite, move within a few percent
/// of each other on their largest days; the S&P 500 fell 20.5% on 1987-10-19 and the Russell
/// 2000 12.5%, a share of 0.58.
pub const SIBLING_AGREES_SHARE: f64 = 0.5;

/// A sibling disagrees when it moved the other way, or the same way by less than this share
/// of the suspect's move: the Russell 2000 "falling 40%" while IWM moved 0.1%. Between the two
/// shares a sibling says nothing.
pub const SIBLING_DISAGREES_SHARE: f64 = 0.25;

/// The instruments that move with `ticker` (Yahoo's spelling), nearest first: its ETF or index
/// twin, then the sibling indices. A close that jumps implausibly is checked against them.
/// Crypto pairs have none: coins often move alone, and their second source is another
/// exchange.
pub fn siblings(ticker: &str) -> &'static [&'static str] {
    match ticker {
        "^GSPC" => &["SPY", "^DJI", "^IXIC"],
        "SPY" => &["^GSPC"],
        "^DJI" => &["DIA", "^GSPC"],
        "DIA" => &["^DJI"],
        "^NDX" => &["QQQ", "^IXIC"],
        "QQQ" => &["^NDX"],
        "^IXIC" => &["^NDX", "QQQ"],
        "^RUT" => &["IWM", "^GSPC"],
        "IWM" => &["^RUT"],
        _ => &[],
    }
}

/// A close under suspicion: the bar whose close jumped, the confirmed close before it, and the
/// next session's close when a fetch already has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    /// The last confirmed bar before the suspect.
    pub previous: Bar,
    pub bar: Bar,
    /// The close of the session after `bar`, when known.
    pub next_close: Option<f64>,
    /// Why the provider's high and low for the session contradicted its close (a close outside
    /// its own range, a high below the low), when they did; the bar then carries no range.
    pub range_contradiction: Option<String>,
    /// Whether this very close was rejected before: then only siblings can confirm it (the
    /// next session and a second source may repeat what a bad feed said).
    pub rejected_before: bool,
}

impl Suspect {
    /// The suspect's move against the previous confirmed close, percent.
    pub fn move_pct(&self) -> f64 {
        (self.bar.close() / self.previous.close() - 1.0) * 100.0
    }
}

/// How an instrument that moves with the suspect moved over the same span: from the previous
/// confirmed session's close to the suspect's session's close.
#[derive(Debug, Clone, PartialEq)]
pub struct SiblingMove {
    pub ticker: String,
    pub pct: f64,
}

impl SiblingMove {
    /// The sibling's move from `from` to `to`, read from its bars; `None` when it lacks either
    /// session (not traded, not published yet).
    pub fn between(ticker: &str, bars: &[Bar], from: NaiveDate, to: NaiveDate) -> Option<Self> {
        let close = |date: NaiveDate| {
            bars.iter()
                .find(|b| b.date() == date)
                .map(Bar::close)
                .filter(|c| c.is_finite() && *c > 0.0)
        };
        let (start, end) = (close(from)?, close(to)?);
        Some(Self {
            ticker: ticker.to_owned(),
            pct: (end / start - 1.0) * 100.0,
        })
    }
}

/// What is known about a suspect beyond its own bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// The siblings' moves over the same span (those that could be had).
    pub siblings: Vec<SiblingMove>,
    /// The same session's close from another source: (its name, the close).
    pub second_source: Option<(String, f64)>,
}

/// What the evidence says about a suspect close; each carries the reason, for logs and answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The move is real: it becomes history and its alerts are posted.
    Confirmed(String),
    /// A bad tick: it never becomes a fact.
    Rejected(String),
    /// Nothing decides yet: the close is held and checked again.
    Undecided(String),
}

/// How one sibling's move bears on the suspect's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bearing {
    Agrees,
    Disagrees,
    Silent,
}

fn bearing(suspect_pct: f64, sibling_pct: f64) -> Bearing {
    let ours = (1.0 + suspect_pct / 100.0).ln();
    let theirs = (1.0 + sibling_pct / 100.0).ln();
    if !(ours.is_finite() && theirs.is_finite()) || ours == 0.0 {
        return Bearing::Silent;
    }
    let share = theirs / ours; // negative: the sibling moved the other way
    if share < SIBLING_DISAGREES_SHARE {
        Bearing::Disagrees
    } else if (SIBLING_AGREES_SHARE..=1.0 / SIBLING_AGREES_SHARE).contains(&share) {
        Bearing::Agrees
    } else {
        Bearing::Silent
    }
}

/// The verdict on a suspect close, from the evidence, in this order:
/// 1. **Siblings**: each moved the same way by a comparable amount (agrees), did not (disagrees)
///    or is in between (silent); more agreeing than disagreeing confirms, more disagreeing
///    than agreeing rejects. They come first because a bad tick in one feed does not move
///    another instrument.
/// 2. A close **rejected before** stays rejected unless step 1 confirms it.
/// 3. **The bar itself**: a close outside its own session's low-high range (the provider said
///    so when it read the bar) is a bad tick. A consistent bar proves nothing alone: a wholly
///    wrong bar is consistent too.
/// 4. **The next session**, when known: a move it undoes (to within [`UNDONE_REMAINDER`]) was a
///    bad tick; a move it keeps is real.
/// 5. **A second source** with the same close (within [`SAME_CLOSE_TOLERANCE_PCT`]) confirms; a
///    different close decides nothing (either may be the late one).
///
/// Anything else is undecided.
pub fn corroborate(suspect: &Suspect, evidence: &Evidence) -> Verdict {
    let close = suspect.bar.close();
    let move_pct = suspect.move_pct();
    let (mut agree, mut disagree) = (Vec::new(), Vec::new());
    for sibling in &evidence.siblings {
        let said = format!("{} {:+.1}%", sibling.ticker, sibling.pct);
        match bearing(move_pct, sibling.pct) {
            Bearing::Agrees => agree.push(said),
            Bearing::Disagrees => disagree.push(said),
            Bearing::Silent => {}
        }
    }
    if agree.len() > disagree.len() {
        return Verdict::Confirmed(format!(
            "{move_pct:+.1}%, as {} the same session",
            agree.join(", ")
        ));
    }
    if disagree.len() > agree.len() {
        return Verdict::Rejected(format!(
            "{move_pct:+.1}% while {} the same session",
            disagree.join(", ")
        ));
    }

    if suspect.rejected_before {
        return Verdict::Rejected(format!(
            "{move_pct:+.1}%, rejected before, and no sibling confirms it now"
        ));
    }

    if let Some(why) = &suspect.range_contradiction {
        return Verdict::Rejected(format!(
            "{move_pct:+.1}% and its own session's range contradicts it ({why})"
        ));
    }

    if let Some(next) = suspect.next_close {
        let jump = (close / suspect.previous.close()).ln();
        let remains = (next / suspect.previous.close()).ln();
        return if remains.abs() <= UNDONE_REMAINDER * jump.abs() {
            Verdict::Rejected(format!("{move_pct:+.1}% and the next session undoes it"))
        } else {
            Verdict::Confirmed(format!("{move_pct:+.1}% and the next session keeps it"))
        };
    }

    match &evidence.second_source {
        Some((name, other)) if confirms(close, *other, SAME_CLOSE_TOLERANCE_PCT) => {
            Verdict::Confirmed(format!("{move_pct:+.1}% and {name} has the same close"))
        }
        Some((name, other)) => Verdict::Undecided(format!(
            "{move_pct:+.1}%; {name} has {other} for that session, siblings do not decide"
        )),
        None if evidence.siblings.is_empty() => Verdict::Undecided(format!(
            "{move_pct:+.1}%; no sibling or second source has that session yet"
        )),
        None => Verdict::Undecided(format!(
            "{move_pct:+.1}%; its siblings do not decide and no second source has that session yet"
        )),
    }
}

/// The latest session whose regular close has passed at `now`: the bar a fresh history should
/// end with.
pub fn latest_closed_session(calendar: Calendar, now: DateTime<Utc>) -> NaiveDate {
    let today = now.with_timezone(&calendar.timezone()).date_naive();
    let mut day = today;
    // A session today counts once it has closed; otherwise walk back to the previous one.
    if !(calendar.is_session(day) && now >= calendar.close_time(day)) {
        day = calendar.previous_session_before(day);
    }
    day
}

/// How far behind a history is: `Some(expected)` when its latest bar is older than the latest
/// closed session at `now` (allowing `grace_days` calendar days for providers that publish
/// late), `None` when it is current.
pub fn staleness(
    calendar: Calendar,
    latest_bar: NaiveDate,
    now: DateTime<Utc>,
    grace_days: u64,
) -> Option<NaiveDate> {
    let expected = latest_closed_session(calendar, now);
    let cutoff = expected.checked_sub_days(Days::new(grace_days))?;
    (latest_bar < cutoff).then_some(expected)
}

/// How many sessions of `calendar` a history ending with `latest_bar` is missing at `now`: the
/// sessions after it up to and including the latest closed session (0 when it is current).
pub fn sessions_behind(calendar: Calendar, latest_bar: NaiveDate, now: DateTime<Utc>) -> u32 {
    let expected = latest_closed_session(calendar, now);
    if latest_bar >= expected {
        return 0;
    }
    calendar
        .sessions_between(latest_bar, expected)
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 time")
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn sessions_behind_counts_missing_sessions_not_days() {
        // Friday 2025-09-19 closed; on Tuesday 2025-09-23 after the close, a history ending on
        // Thursday 09-18 misses Fri, Mon and Tue: 3 sessions, over a weekend.
        let now = utc("2025-09-23T21:00:00Z");
        assert_eq!(sessions_behind(Calendar::Nyse, d(2025, 9, 18), now), 3);
        assert_eq!(sessions_behind(Calendar::Nyse, d(2025, 9, 23), now), 0);
        assert_eq!(sessions_behind(Calendar::Crypto, d(2025, 9, 18), now), 4);
    }

    #[test]
    fn a_tenfold_close_and_a_tenth_are_both_implausible() {
        assert_eq!(implausible_jump(100.0, 1000.0, 12.0), Some(900.0));
        assert!(implausible_jump(100.0, 10.0, 12.0).is_some());
        assert_eq!(implausible_jump(100.0, 105.0, 12.0), None);
        // -11% is undone by +12.4%: beyond a 12% threshold.
        assert!(implausible_jump(100.0, 89.0, 12.0).is_some());
        assert_eq!(implausible_jump(100.0, 90.0, 12.0), None);
    }

    #[test]
    fn the_latest_closed_session_waits_for_the_close() {
        // Thursday 2025-09-18, 15:59 and 16:01 in New York (EDT = UTC-4).
        assert_eq!(
            latest_closed_session(Calendar::Nyse, utc("2025-09-18T19:59:00Z")),
            d(2025, 9, 17)
        );
        assert_eq!(
            latest_closed_session(Calendar::Nyse, utc("2025-09-18T20:01:00Z")),
            d(2025, 9, 18)
        );
        // Saturday: Friday's close. Good Friday 2025-04-18: Thursday's.
        assert_eq!(
            latest_closed_session(Calendar::Nyse, utc("2025-09-20T12:00:00Z")),
            d(2025, 9, 19)
        );
        assert_eq!(
            latest_closed_session(Calendar::Nyse, utc("2025-04-18T22:00:00Z")),
            d(2025, 4, 17)
        );
        // Crypto: the UTC day that has ended.
        assert_eq!(
            latest_closed_session(Calendar::Crypto, utc("2025-09-20T12:00:00Z")),
            d(2025, 9, 19)
        );
    }

    #[test]
    fn a_history_missing_the_last_close_is_stale() {
        let now = utc("2025-09-22T21:00:00Z"); // Monday after the close
        assert_eq!(staleness(Calendar::Nyse, d(2025, 9, 22), now, 0), None);
        assert_eq!(
            staleness(Calendar::Nyse, d(2025, 9, 19), now, 0),
            Some(d(2025, 9, 22))
        );
        assert_eq!(staleness(Calendar::Nyse, d(2025, 9, 19), now, 3), None);
    }

    fn bar(date: NaiveDate, close: f64) -> Bar {
        Bar::new(date, close).expect("a bar")
    }

    /// A suspect close on `date` after `previous` on `before`, nothing else known.
    fn suspect(before: NaiveDate, previous: f64, date: NaiveDate, close: f64) -> Suspect {
        Suspect {
            previous: bar(before, previous),
            bar: bar(date, close),
            next_close: None,
            range_contradiction: None,
            rejected_before: false,
        }
    }

    fn moved(ticker: &str, from: f64, to: f64) -> SiblingMove {
        SiblingMove {
            ticker: ticker.to_owned(),
            pct: (to / from - 1.0) * 100.0,
        }
    }

    fn with_siblings(siblings: Vec<SiblingMove>) -> Evidence {
        Evidence {
            siblings,
            second_source: None,
        }
    }

    fn is_confirmed(verdict: &Verdict) -> bool {
        matches!(verdict, Verdict::Confirmed(_))
    }

    fn is_rejected(verdict: &Verdict) -> bool {
        matches!(verdict, Verdict::Rejected(_))
    }

    // Closes of 2020-03-13 and 2020-03-16 from data/ (Yahoo Finance daily bars).
    #[test]
    fn the_russell_2000_crash_of_2020_03_16_is_confirmed_by_iwm_and_the_s_and_p() {
        let rut = suspect(d(2020, 3, 13), 1210.130005, d(2020, 3, 16), 1037.420044);
        assert!(implausible_jump(1210.130005, 1037.420044, 12.0).is_some());
        let verdict = corroborate(
            &rut,
            &with_siblings(vec![
                moved("IWM", 110.309822, 95.675087),
                moved("^GSPC", 2711.02002, 2386.129883),
            ]),
        );
        assert_eq!(
            verdict,
            Verdict::Confirmed("-14.3%, as IWM -13.3%, ^GSPC -12.0% the same session".to_owned())
        );
    }

    #[test]
    fn the_nasdaq_100_days_of_2020_and_2025_are_confirmed_by_the_composite() {
        let crash = suspect(d(2020, 3, 13), 7995.259766, d(2020, 3, 16), 7020.379883);
        let rally = suspect(d(2025, 4, 8), 17090.400391, d(2025, 4, 9), 19145.060547);
        for (nasdaq_100, composite) in [
            (crash, moved("^IXIC", 7874.88, 6904.59)),
            (rally, moved("^IXIC", 15267.91, 17124.97)),
        ] {
            let verdict = corroborate(&nasdaq_100, &with_siblings(vec![composite]));
            assert!(is_confirmed(&verdict), "{verdict:?}");
        }
    }

    #[test]
    fn a_russell_close_cut_to_six_tenths_with_iwm_unchanged_is_rejected() {
        // 2025-09-18 as it was (2467.699951), times 0.6; IWM and the S&P 500 rose that day.
        let bad = suspect(
            d(2025, 9, 17),
            2407.340088,
            d(2025, 9, 18),
            2467.699951 * 0.6,
        );
        let verdict = corroborate(
            &bad,
            &with_siblings(vec![
                moved("IWM", 237.10495, 243.010483),
                moved("^GSPC", 6600.350098, 6631.959961),
            ]),
        );
        assert_eq!(
            verdict,
            Verdict::Rejected("-38.5% while IWM +2.5%, ^GSPC +0.5% the same session".to_owned())
        );
        // A second source repeating the bad close does not outweigh the siblings.
        let repeated = Evidence {
            second_source: Some(("yahoo (second host)".to_owned(), 2467.699951 * 0.6)),
            ..with_siblings(vec![moved("IWM", 237.10495, 243.010483)])
        };
        assert!(is_rejected(&corroborate(&bad, &repeated)));
        // Rejected once, the same close is not let through by a second source or a next
        // session that keeps it when the siblings cannot be had; siblings can still confirm.
        let again = Suspect {
            rejected_before: true,
            next_close: Some(2467.699951 * 0.6),
            ..bad.clone()
        };
        let second_only = Evidence {
            second_source: Some(("yahoo (second host)".to_owned(), 2467.699951 * 0.6)),
            ..Evidence::default()
        };
        assert!(is_rejected(&corroborate(&again, &second_only)));
        let siblings_fell = with_siblings(vec![moved("IWM", 237.10495, 237.10495 * 0.6)]);
        assert!(is_confirmed(&corroborate(&again, &siblings_fell)));
    }

    #[test]
    fn tenfold_and_tenth_closes_are_rejected_by_a_sibling_that_did_not_move() {
        for factor in [10.0, 0.1] {
            let bad = suspect(d(2025, 9, 17), 2407.34, d(2025, 9, 18), 2407.34 * factor);
            let verdict = corroborate(&bad, &with_siblings(vec![moved("IWM", 237.1, 238.0)]));
            assert!(is_rejected(&verdict), "x{factor}: {verdict:?}");
        }
    }

    #[test]
    fn without_evidence_a_tenfold_close_is_undecided_and_a_second_source_decides() {
        let bad = suspect(d(2025, 9, 17), 100.0, d(2025, 9, 18), 1000.0);
        assert!(matches!(
            corroborate(&bad, &Evidence::default()),
            Verdict::Undecided(_)
        ));
        let same = Evidence {
            second_source: Some(("binance".to_owned(), 1002.0)),
            ..Evidence::default()
        };
        assert_eq!(
            corroborate(&bad, &same),
            Verdict::Confirmed("+900.0% and binance has the same close".to_owned())
        );
        let different = Evidence {
            second_source: Some(("binance".to_owned(), 101.0)),
            ..Evidence::default()
        };
        assert!(matches!(
            corroborate(&bad, &different),
            Verdict::Undecided(_)
        ));
    }

    #[test]
    fn a_close_outside_its_own_range_is_rejected_unless_siblings_confirm_the_move() {
        let mut bad = suspect(d(2025, 9, 17), 2407.34, d(2025, 9, 18), 1444.62);
        bad.range_contradiction = Some("high 2470.07 is below the close".to_owned());
        assert!(is_rejected(&corroborate(&bad, &Evidence::default())));
        // Siblings outrank a provider's stale range: the same fall in IWM makes it real.
        let verdict = corroborate(&bad, &with_siblings(vec![moved("IWM", 237.1, 142.3)]));
        assert!(is_confirmed(&verdict), "{verdict:?}");
    }

    #[test]
    fn a_spike_the_next_session_undoes_is_rejected_and_one_it_keeps_is_real() {
        let mut spike = suspect(d(2025, 9, 17), 100.0, d(2025, 9, 18), 1000.0);
        spike.next_close = Some(101.0);
        assert_eq!(
            corroborate(&spike, &Evidence::default()),
            Verdict::Rejected("+900.0% and the next session undoes it".to_owned())
        );
        // 2020-03-16 and 2020-03-17: the Russell 2000 kept most of its fall.
        let mut crash = suspect(d(2020, 3, 13), 1210.130005, d(2020, 3, 16), 1037.420044);
        crash.next_close = Some(1106.51001);
        assert!(is_confirmed(&corroborate(&crash, &Evidence::default())));
    }

    #[test]
    fn siblings_that_say_little_or_split_decide_nothing() {
        let s = suspect(d(2020, 3, 13), 1000.0, d(2020, 3, 16), 860.0); // -14%
        // A third of the move: neither agrees nor disagrees.
        let verdict = corroborate(&s, &with_siblings(vec![moved("IWM", 100.0, 95.0)]));
        assert!(matches!(verdict, Verdict::Undecided(_)), "{verdict:?}");
        // One agrees, one disagrees.
        let split = with_siblings(vec![
            moved("IWM", 100.0, 86.0),
            moved("^GSPC", 100.0, 101.0),
        ]);
        assert!(matches!(corroborate(&s, &split), Verdict::Undecided(_)));
        // The other way is disagreement, however large.
        let opposite = with_siblings(vec![moved("IWM", 100.0, 114.0)]);
        assert!(is_rejected(&corroborate(&s, &opposite)));
    }

    #[test]
    fn a_sibling_move_needs_both_sessions() {
        let bars = [bar(d(2020, 3, 13), 110.0), bar(d(2020, 3, 16), 95.0)];
        let m = SiblingMove::between("IWM", &bars, d(2020, 3, 13), d(2020, 3, 16))
            .expect("both sessions");
        assert!((m.pct - (95.0 / 110.0 - 1.0) * 100.0).abs() < 1e-12);
        assert_eq!(
            SiblingMove::between("IWM", &bars, d(2020, 3, 12), d(2020, 3, 16)),
            None
        );
        assert_eq!(
            SiblingMove::between("IWM", &bars[..1], d(2020, 3, 13), d(2020, 3, 16)),
            None
        );
    }
}
