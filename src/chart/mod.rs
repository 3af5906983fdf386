//! Charts of one symbol's daily closes, as a PNG for a Discord message or a file
//! (`highwater chart`, later `/chart`): the closes over a range, the record line, the current
//! daily streak shaded and the latest close labelled.
//!
//! Pure: takes a [`Series`] and the date to draw it as of, returns the PNG bytes and the
//! [`ChartLayout`] they were drawn with, so a test can find the record line's pixels without
//! trusting the drawing. The history is cut at `as_of` exactly as the answers cut it
//! ([`service::streak`] resolves the date and says when nothing is left), and the text is drawn
//! with a font compiled into the binary ([`render`]), so nothing on the host is needed.
//!
//! What is drawn, and from which bars:
//! - the **closes** of the sessions in the range: the latest session and every session up to
//!   one range earlier (`1y` as of 2025-09-19 starts on 2024-09-19, or the session after);
//! - the **record line**: the highest close of the whole history up to `as_of`, not only of
//!   the range. It is never below the closes shown, so the value axis always reaches it;
//! - the **current daily run** of rising or falling closes as a band, green up and red down
//!   (the run of [`service::streak`] with [`Timeframe::Daily`]; no band after an unchanged
//!   close);
//! - the latest close and its date as a label, and a title naming the symbol and the range.

mod render;

use std::fmt;
use std::str::FromStr;

use chrono::{Months, NaiveDate};

use crate::analytics::Direction;
use crate::market::{Bar, Series, Timeframe};
use crate::service::{self, QueryError};

pub use render::{
    BACKGROUND, CLOSE_COLOUR, DOWN_SHADE, HEIGHT, RECORD_COLOUR, Rgb, UP_SHADE, WIDTH,
};

/// How much history a chart shows, counted back from its latest session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChartRange {
    Month1,
    Month3,
    Month6,
    #[default]
    Year1,
    Year5,
    /// The whole history.
    Max,
}

impl ChartRange {
    pub const ALL: [ChartRange; 6] = [
        ChartRange::Month1,
        ChartRange::Month3,
        ChartRange::Month6,
        ChartRange::Year1,
        ChartRange::Year5,
        ChartRange::Max,
    ];

    /// The name it is asked for by: `1m`, `3m`, `6m`, `1y`, `5y`, `max`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChartRange::Month1 => "1m",
            ChartRange::Month3 => "3m",
            ChartRange::Month6 => "6m",
            ChartRange::Year1 => "1y",
            ChartRange::Year5 => "5y",
            ChartRange::Max => "max",
        }
    }

    /// How a title says it: "1 year", "all history".
    pub fn label(self) -> &'static str {
        match self {
            ChartRange::Month1 => "1 month",
            ChartRange::Month3 => "3 months",
            ChartRange::Month6 => "6 months",
            ChartRange::Year1 => "1 year",
            ChartRange::Year5 => "5 years",
            ChartRange::Max => "all history",
        }
    }

    /// Calendar months back from the latest session; `None` for the whole history.
    fn months(self) -> Option<u32> {
        match self {
            ChartRange::Month1 => Some(1),
            ChartRange::Month3 => Some(3),
            ChartRange::Month6 => Some(6),
            ChartRange::Year1 => Some(12),
            ChartRange::Year5 => Some(60),
            ChartRange::Max => None,
        }
    }

    /// The first date shown when the latest session is `last`: the same day `months` earlier
    /// (the month's last day when it is shorter), or the beginning of time.
    fn start(self, last: NaiveDate) -> NaiveDate {
        self.months()
            .and_then(|m| last.checked_sub_months(Months::new(m)))
            .unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for ChartRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A range name that is none of [`ChartRange::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown range '{0}'; expected 1m, 3m, 6m, 1y, 5y or max")]
pub struct UnknownRange(String);

impl FromStr for ChartRange {
    type Err = UnknownRange;

    /// Case-insensitive, surrounding spaces ignored (`1Y`, ` max`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim();
        ChartRange::ALL
            .into_iter()
            .find(|range| range.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownRange(crate::market::shown(text)))
    }
}

/// Written as its name (`"1y"`), as a message stored in the outbox names the chart it carries.
impl serde::Serialize for ChartRange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ChartRange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChartError {
    /// An empty history, or none on or before the date asked about.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The embedded font did not load (a broken build, never the data).
    #[error("the chart font does not load")]
    Font,
    /// The drawing backend failed; its message.
    #[error("cannot draw the chart: {0}")]
    Draw(String),
    /// The PNG encoder failed; its message.
    #[error("cannot encode the chart as PNG: {0}")]
    Encode(String),
}

/// A rendered chart: the PNG file's bytes and the geometry they were drawn with.
#[derive(Debug, Clone)]
pub struct Chart {
    pub png: Vec<u8>,
    pub layout: ChartLayout,
}

/// The rectangle the closes are drawn in, in image pixels (origin top left, y downwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlotArea {
    /// The column of the first session and the row of [`ChartLayout::y_max`].
    pub left: i32,
    pub top: i32,
    /// Columns from the first session to the last: the last is drawn at `left + width`.
    pub width: i32,
    /// Rows from `y_max` (at `top`) to `y_min` (at `top + height`).
    pub height: i32,
}

/// The current daily run as it is shaded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreakBand {
    pub direction: Direction,
    /// Sessions in the run (the latest included).
    pub sessions: u32,
    /// Its first session (it may begin before the range; the band then starts at its edge).
    pub first_date: NaiveDate,
    /// The shaded columns, inclusive.
    pub x_from: i32,
    pub x_to: i32,
}

/// Where everything was drawn: what a test needs to find it in the pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartLayout {
    /// The image size in pixels.
    pub width: u32,
    pub height: u32,
    pub plot: PlotArea,
    /// The values at the bottom and top edges of the plot area.
    pub y_min: f64,
    pub y_max: f64,
    /// The highest close of the history up to the latest session shown (first reached on
    /// `record_date`), and the row its line is drawn on (the line covers this row and the one
    /// above it).
    pub record: f64,
    pub record_date: NaiveDate,
    pub record_y: i32,
    /// The sessions shown: how many, the first and the latest.
    pub sessions: usize,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    /// The close of `last_date`.
    pub latest_close: f64,
    /// The lowest and highest close shown.
    pub low: f64,
    pub high: f64,
    /// `None` when the latest close is unchanged from the one before (no run).
    pub streak: Option<StreakBand>,
}

impl ChartLayout {
    /// The row a value is drawn on: `top + (y_max - value) / (y_max - y_min) * height`,
    /// rounded to the nearest row.
    pub fn y_pixel(&self, value: f64) -> i32 {
        let share = (self.y_max - value) / (self.y_max - self.y_min);
        self.plot.top + (share * f64::from(self.plot.height)).round() as i32
    }

    /// The column of the `index`-th session shown (0 = `first_date`): the sessions are spread
    /// evenly over the plot width, the latest on its right edge.
    pub fn x_pixel(&self, index: usize) -> i32 {
        if self.sessions <= 1 {
            return self.plot.left + self.plot.width;
        }
        let share = index as f64 / (self.sessions - 1) as f64;
        self.plot.left + (share * f64::from(self.plot.width)).round() as i32
    }
}

/// Draws `series` as of `as_of` (default: its latest bar) over `range`.
///
/// Fails when the history is empty or holds nothing on or before `as_of` (the answers'
/// [`QueryError`]), or when drawing or encoding fails.
pub fn render(
    series: &Series,
    range: ChartRange,
    as_of: Option<NaiveDate>,
) -> Result<Chart, ChartError> {
    let streak = service::streak(series, Timeframe::Daily, as_of)?;
    let history = series.up_to(streak.as_of);
    let no_data = || QueryError::NoData {
        symbol: series.symbol().name().to_owned(),
        as_of: streak.as_of,
    };
    let latest = history.last().ok_or_else(no_data)?;
    let (record, record_date) = record(history).ok_or_else(no_data)?;
    let start = range.start(latest.date());
    let shown = &history[history.partition_point(|b| b.date() < start)..];
    let first = shown.first().ok_or_else(no_data)?;
    let (low, high) = shown
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
            (lo.min(b.close()), hi.max(b.close()))
        });
    // The record is at least every close shown; a margin keeps the line off the frame.
    let top = record.max(high);
    let margin = match top - low {
        span if span > 0.0 => span * render::VALUE_MARGIN,
        _ => (top.abs() * 0.01).max(1e-6),
    };
    let mut layout = ChartLayout {
        width: WIDTH,
        height: HEIGHT,
        plot: render::PLOT,
        y_min: low - margin,
        y_max: top + margin,
        record,
        record_date,
        record_y: 0,
        sessions: shown.len(),
        first_date: first.date(),
        last_date: latest.date(),
        latest_close: latest.close(),
        low,
        high,
        streak: None,
    };
    layout.record_y = layout.y_pixel(record);
    layout.streak = streak.streak.direction.map(|direction| {
        let run = &streak.streak;
        // The run's first session, or the first shown when it began before the range.
        let from = shown.partition_point(|b| b.date() < run.start_date);
        let to = shown.len() - 1;
        let (x_from, x_to) = render::band_columns(&layout, from, to);
        StreakBand {
            direction,
            sessions: run.length,
            first_date: run.start_date,
            x_from,
            x_to,
        }
    });
    let title = format!(
        "{} · daily closes · {} to {}",
        series.symbol().name(),
        range.label(),
        layout.last_date
    );
    let png = render::draw(&layout, shown, &title)?;
    Ok(Chart { png, layout })
}

/// The highest close of `bars` and the session it was first reached on.
fn record(bars: &[Bar]) -> Option<(f64, NaiveDate)> {
    let mut best: Option<(f64, NaiveDate)> = None;
    for bar in bars {
        if best.is_none_or(|(close, _)| bar.close() > close) {
            best = Some((bar.close(), bar.date()));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Datelike;

    use super::*;
    use crate::market::Symbol;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    /// Closes on consecutive weekdays from Tue 2025-09-02 (no exchange holiday until
    /// Thanksgiving).
    fn series(closes: &[f64]) -> Series {
        let mut day = date(2025, 9, 2);
        let mut bars = Vec::new();
        for &close in closes {
            bars.push(Bar::new(day, close).expect("a bar"));
            day = day.succ_opt().expect("a next day");
            while day.weekday().number_from_monday() > 5 {
                day = day.succ_opt().expect("a next day");
            }
        }
        Series::new(Arc::new(Symbol::adhoc("X")), bars).expect("a series")
    }

    #[test]
    fn ranges_parse_from_their_names_in_any_case_and_default_to_a_year() {
        for (text, range) in [
            ("1m", ChartRange::Month1),
            ("3m", ChartRange::Month3),
            ("6M", ChartRange::Month6),
            ("1y", ChartRange::Year1),
            (" 5y ", ChartRange::Year5),
            ("MAX", ChartRange::Max),
        ] {
            assert_eq!(text.parse::<ChartRange>(), Ok(range), "{text}");
        }
        for range in ChartRange::ALL {
            assert_eq!(range.to_string().parse::<ChartRange>(), Ok(range));
        }
        assert_eq!(ChartRange::default(), ChartRange::Year1);
    }

    #[test]
    fn an_unknown_range_lists_the_accepted_ones() {
        for bad in ["2w", "", "1", "12m", "year"] {
            let error = bad.parse::<ChartRange>().expect_err(bad);
            assert_eq!(
                error.to_string(),
                format!("unknown range '{bad}'; expected 1m, 3m, 6m, 1y, 5y or max")
            );
        }
    }

    #[test]
    fn a_range_counts_calendar_months_back_from_the_latest_session() {
        assert_eq!(
            ChartRange::Year1.start(date(2025, 9, 19)),
            date(2024, 9, 19)
        );
        assert_eq!(
            ChartRange::Month1.start(date(2025, 3, 31)),
            date(2025, 2, 28)
        );
        assert_eq!(
            ChartRange::Year5.start(date(2024, 2, 29)),
            date(2019, 2, 28)
        );
        assert_eq!(ChartRange::Max.start(date(2025, 9, 19)), NaiveDate::MIN);
    }

    #[test]
    fn the_record_is_the_first_session_of_the_highest_close() {
        let s = series(&[3.0, 5.0, 4.0, 5.0, 1.0]);
        assert_eq!(record(s.bars()), Some((5.0, date(2025, 9, 3))));
        assert_eq!(record(&[]), None);
    }

    #[test]
    fn the_record_before_the_range_raises_the_value_axis_to_it() {
        // 40 sessions (Sep 2 to Oct 27): the record 200 on Sep 3, then closes near 100.
        let mut closes = vec![150.0, 200.0];
        closes.extend((0..38).map(|i| 100.0 + f64::from(i % 5)));
        let s = series(&closes);
        let chart = render(&s, ChartRange::Month1, None).expect("a chart");
        let layout = &chart.layout;
        assert_eq!(
            (layout.record, layout.record_date),
            (200.0, date(2025, 9, 3))
        );
        // A month back from Mon Oct 27 is Sat Sep 27: the first session shown is Sep 29.
        assert_eq!(layout.first_date, date(2025, 9, 29));
        assert_eq!(layout.last_date, date(2025, 10, 27));
        assert_eq!(layout.sessions, 21);
        assert_eq!((layout.low, layout.high), (100.0, 104.0));
        assert!(layout.y_max > 200.0 && layout.y_min < 100.0, "{layout:?}");
        assert!(layout.record_y < layout.y_pixel(104.0) - 100, "{layout:?}");
    }

    #[test]
    fn the_band_covers_the_current_run_and_ends_at_the_latest_session() {
        // Falls on the last three sessions: a run of 3 down.
        let s = series(&[10.0, 11.0, 12.0, 13.0, 12.5, 12.0, 11.0]);
        let chart = render(&s, ChartRange::Max, None).expect("a chart");
        let layout = &chart.layout;
        let band = layout.streak.expect("a run");
        assert_eq!(band.direction, Direction::Down);
        assert_eq!(band.sessions, 3);
        assert_eq!(band.first_date, date(2025, 9, 8));
        assert_eq!(band.x_to, layout.plot.left + layout.plot.width);
        // Half a step before its first session (index 4), half after the latest.
        let half = (layout.x_pixel(1) - layout.x_pixel(0)) / 2;
        assert!(
            (band.x_from - (layout.x_pixel(4) - half)).abs() <= 1,
            "{band:?}"
        );
    }

    #[test]
    fn an_unchanged_latest_close_has_no_band() {
        let s = series(&[10.0, 11.0, 11.0]);
        let chart = render(&s, ChartRange::Max, None).expect("a chart");
        assert_eq!(chart.layout.streak, None);
    }

    #[test]
    fn as_of_before_the_history_is_the_answers_no_data_error() {
        let s = series(&[10.0, 11.0]);
        let error = render(&s, ChartRange::Year1, Some(date(2025, 8, 1))).expect_err("no data");
        assert_eq!(error.to_string(), "no X data on or before 2025-08-01");
        let empty = Series::new(Arc::new(Symbol::adhoc("X")), Vec::new()).expect("empty");
        let error = render(&empty, ChartRange::Year1, None).expect_err("empty");
        assert_eq!(error.to_string(), "no X bars left after checks");
    }

    #[test]
    fn one_session_is_drawn_on_the_right_edge() {
        let s = series(&[10.0]);
        let chart = render(&s, ChartRange::Year1, None).expect("a chart");
        let layout = &chart.layout;
        assert_eq!(layout.sessions, 1);
        assert_eq!(layout.x_pixel(0), layout.plot.left + layout.plot.width);
        assert!(layout.y_min < 10.0 && layout.y_max > 10.0);
    }
}
