//! Drawing a [`ChartLayout`] with plotters into an RGB buffer, and encoding it as PNG.
//!
//! Every position comes from the layout's own mapping ([`ChartLayout::x_pixel`],
//! [`ChartLayout::y_pixel`]), so what a test computes from the layout is where the pixels are.
//! The text is drawn with DejaVu Sans compiled into the binary (`assets/fonts/`, licence
//! beside it) and registered with plotters once per process: no font is looked up on the host.
//!
//! Speed: a history of 38 years has some 9,600 sessions for under 900 columns, so the closes
//! are thinned to at most two points per column, the lowest and the highest ([`decimate`]):
//! a one-session spike still reaches its height.

use std::fmt::Display;
use std::sync::OnceLock;

use chrono::Datelike;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use super::{ChartError, ChartLayout, PlotArea};
use crate::analytics::Direction;
use crate::market::Bar;

/// The image size: wide enough to read a year of sessions, small enough for a Discord embed.
pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 500;

/// Where the closes go: a title above, value labels on the right, date labels below.
pub(super) const PLOT: PlotArea = PlotArea {
    left: 16,
    top: 52,
    width: 894,
    height: 410,
};

/// The share of the closes' span left empty above the highest value and below the lowest.
pub(super) const VALUE_MARGIN: f64 = 0.06;

/// An opaque colour as it is in the PNG's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    fn colour(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

pub const BACKGROUND: Rgb = Rgb(255, 255, 255);
/// The line of closes.
pub const CLOSE_COLOUR: Rgb = Rgb(31, 78, 140);
/// The record line (its label is a darker shade, so only the line has this colour).
pub const RECORD_COLOUR: Rgb = Rgb(232, 121, 23);
/// The band behind a run of rising closes, and of falling ones.
pub const UP_SHADE: Rgb = Rgb(214, 239, 218);
pub const DOWN_SHADE: Rgb = Rgb(248, 218, 216);
const RECORD_TEXT: Rgb = Rgb(150, 75, 5);
const TEXT: Rgb = Rgb(40, 40, 40);
const MUTED_TEXT: Rgb = Rgb(105, 105, 105);
const GRID: Rgb = Rgb(232, 232, 232);
const FRAME: Rgb = Rgb(185, 185, 185);

/// The family name the embedded font is registered under with plotters.
const FONT_FAMILY: &str = "highwater-dejavu-sans";
static FONT_BYTES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));

/// At most this many date labels under the plot (about 75 pixels each).
const MAX_DATE_TICKS: usize = 12;
/// About this many value labels on the right.
const VALUE_TICKS: f64 = 6.0;
/// The narrowest band a run is shaded with, in columns, so a one-session run shows on a
/// chart of decades.
const MIN_BAND: i32 = 3;

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Registers the embedded font with plotters, once per process.
fn font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

fn draw_error(error: impl Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

fn encode_error(error: impl Display) -> ChartError {
    ChartError::Encode(error.to_string())
}

/// The columns shaded for the sessions `from..=to` (indexes into the sessions shown): half a
/// step either side of them, inside the plot area, at least [`MIN_BAND`] wide.
pub(super) fn band_columns(layout: &ChartLayout, from: usize, to: usize) -> (i32, i32) {
    let plot = layout.plot;
    let half = if layout.sessions > 1 {
        f64::from(plot.width) / (2.0 * (layout.sessions - 1) as f64)
    } else {
        0.0
    };
    let right = plot.left + plot.width;
    let x_to = ((f64::from(layout.x_pixel(to)) + half).round() as i32).min(right);
    let x_from = ((f64::from(layout.x_pixel(from)) - half).round() as i32).max(plot.left);
    (x_from.min(x_to - (MIN_BAND - 1)), x_to)
}

/// The points to draw for `values` when value `i` lands on column `column(i)` (never
/// decreasing in `i`): every value while a column holds at most two, else for each column its
/// lowest and highest value, in the order they came.
pub(super) fn decimate(values: &[f64], column: impl Fn(usize) -> i32) -> Vec<(usize, f64)> {
    let mut points = Vec::with_capacity(values.len().min(4096));
    let mut start = 0;
    while start < values.len() {
        let here = column(start);
        let mut end = start + 1;
        while end < values.len() && column(end) == here {
            end += 1;
        }
        if end - start <= 2 {
            points.extend((start..end).map(|i| (i, values[i])));
        } else {
            let (mut low, mut high) = (start, start);
            for i in start + 1..end {
                if values[i] < values[low] {
                    low = i;
                }
                if values[i] > values[high] {
                    high = i;
                }
            }
            if low == high {
                points.push((low, values[low]));
            } else {
                let (a, b) = (low.min(high), low.max(high));
                points.push((a, values[a]));
                points.push((b, values[b]));
            }
        }
        start = end;
    }
    points
}

/// A round step between value labels: 1, 2, 2.5 or 5 times a power of ten, about `span /
/// VALUE_TICKS`.
fn value_step(span: f64) -> f64 {
    let raw = span / VALUE_TICKS;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// A value label: `2,400` or `0` for a whole number, else the house price format (`12.50`).
fn value_label(value: f64) -> String {
    let text = crate::alerts::price(value);
    match text.split_once('.') {
        Some((whole, _)) if value.fract() == 0.0 => whole.to_owned(),
        _ => text,
    }
}

/// The sessions (indexes into `bars`) that begin a labelled period, and their labels: months
/// (January says its year) or years, the finest that gives at most [`MAX_DATE_TICKS`].
fn date_ticks(bars: &[Bar]) -> Vec<(usize, String)> {
    // The first session of every month after the first shown.
    let starts: Vec<(usize, i32, u32)> = bars
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| pair[0].date().month() != pair[1].date().month())
        .map(|(i, pair)| (i + 1, pair[1].date().year(), pair[1].date().month()))
        .collect();
    for months in [1, 3, 6] {
        let ticks: Vec<&(usize, i32, u32)> = starts
            .iter()
            .filter(|(_, _, month)| (month - 1) % months == 0)
            .collect();
        if ticks.len() <= MAX_DATE_TICKS {
            return ticks
                .into_iter()
                .map(|&(i, year, month)| {
                    let label = if month == 1 {
                        year.to_string()
                    } else {
                        bars[i].date().format("%b").to_string()
                    };
                    (i, label)
                })
                .collect();
        }
    }
    for years in [1, 2, 5, 10, 20, 50] {
        let ticks: Vec<(usize, String)> = starts
            .iter()
            .filter(|(_, year, month)| *month == 1 && year.rem_euclid(years) == 0)
            .map(|(i, year, _)| (*i, year.to_string()))
            .collect();
        if ticks.len() <= MAX_DATE_TICKS {
            return ticks;
        }
    }
    Vec::new()
}

/// Draws `bars` (the sessions shown) as `layout` says, under `title`; returns the PNG.
pub(super) fn draw(layout: &ChartLayout, bars: &[Bar], title: &str) -> Result<Vec<u8>, ChartError> {
    font()?;
    let (width, height) = (layout.width, layout.height);
    let mut pixels =
        [BACKGROUND.0, BACKGROUND.1, BACKGROUND.2].repeat(width as usize * height as usize);
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        paint(&root, layout, bars, title)?;
        root.present().map_err(draw_error)?;
    }
    encode(&pixels, width, height)
}

fn text_style(size: f64, colour: Rgb, h: HPos, v: VPos) -> TextStyle<'static> {
    (FONT_FAMILY, size)
        .into_font()
        .color(&colour.colour())
        .pos(Pos::new(h, v))
}

fn paint(
    root: &Area<'_>,
    layout: &ChartLayout,
    bars: &[Bar],
    title: &str,
) -> Result<(), ChartError> {
    let plot = layout.plot;
    let (left, top) = (plot.left, plot.top);
    let (right, bottom) = (plot.left + plot.width, plot.top + plot.height);
    let labels = text_style(13.0, MUTED_TEXT, HPos::Left, VPos::Center);

    // Value grid and labels.
    let step = value_step(layout.y_max - layout.y_min);
    // Multiples of the step counted in whole numbers, so no rounding error builds up.
    let first = (layout.y_min / step).ceil() as i64;
    let last = (layout.y_max / step).floor() as i64;
    for k in first..=last {
        let value = k as f64 * step;
        let y = layout.y_pixel(value);
        root.draw(&PathElement::new(
            vec![(left, y), (right, y)],
            GRID.colour(),
        ))
        .map_err(draw_error)?;
        root.draw(&Text::new(
            value_label(value),
            (right + 8, y),
            labels.clone(),
        ))
        .map_err(draw_error)?;
    }
    // Date grid and labels.
    let below = text_style(13.0, MUTED_TEXT, HPos::Center, VPos::Top);
    for (index, label) in date_ticks(bars) {
        let x = layout.x_pixel(index);
        root.draw(&PathElement::new(
            vec![(x, top), (x, bottom)],
            GRID.colour(),
        ))
        .map_err(draw_error)?;
        root.draw(&Text::new(label, (x, bottom + 8), below.clone()))
            .map_err(draw_error)?;
    }

    // The current run, over the grid.
    if let Some(band) = layout.streak {
        let shade = match band.direction {
            Direction::Up => UP_SHADE,
            Direction::Down => DOWN_SHADE,
        };
        root.draw(&Rectangle::new(
            [(band.x_from, top + 1), (band.x_to, bottom - 1)],
            shade.colour().filled(),
        ))
        .map_err(draw_error)?;
    }
    root.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        FRAME.colour(),
    ))
    .map_err(draw_error)?;

    // The closes.
    let closes: Vec<f64> = bars.iter().map(Bar::close).collect();
    let points: Vec<(i32, i32)> = decimate(&closes, |i| layout.x_pixel(i))
        .into_iter()
        .map(|(i, close)| (layout.x_pixel(i), layout.y_pixel(close)))
        .collect();
    // Two pixels thick as two one-pixel paths a row apart: plotters draws a thicker stroke as
    // a polygon whose mitred corners overshoot at the sharp turns of a thinned history.
    let below: Vec<(i32, i32)> = points.iter().map(|&(x, y)| (x, y + 1)).collect();
    for path in [points, below] {
        root.draw(&PathElement::new(path, CLOSE_COLOUR.colour()))
            .map_err(draw_error)?;
    }

    // The record line: this row and the one above, over the closes; its label above it.
    let y = layout.record_y;
    root.draw(&Rectangle::new(
        [(left + 1, y - 1), (right - 1, y)],
        RECORD_COLOUR.colour().filled(),
    ))
    .map_err(draw_error)?;
    let record = format!(
        "record close {} · {}",
        crate::alerts::price(layout.record),
        layout.record_date
    );
    let (anchor, text_y) = if y - top >= 22 {
        (VPos::Bottom, y - 5)
    } else {
        (VPos::Top, y + 6)
    };
    root.draw(&Text::new(
        record,
        (left + 8, text_y),
        text_style(13.0, RECORD_TEXT, HPos::Left, anchor),
    ))
    .map_err(draw_error)?;

    // The latest close: a dot and its label, left of it.
    let (x, y) = (
        layout.x_pixel(layout.sessions.saturating_sub(1)),
        layout.y_pixel(layout.latest_close),
    );
    root.draw(&Circle::new((x, y), 4, CLOSE_COLOUR.colour().filled()))
        .map_err(draw_error)?;
    let latest = format!(
        "{} · {}",
        crate::alerts::price(layout.latest_close),
        layout.last_date
    );
    let (anchor, label_y) = if y - top > 44 {
        (VPos::Bottom, y - 10)
    } else {
        (VPos::Top, y + 10)
    };
    let style = text_style(14.0, TEXT, HPos::Right, anchor);
    let label_x = x - 10;
    root.draw(&Text::new(latest, (label_x, label_y), style))
        .map_err(draw_error)?;

    root.draw(&Text::new(
        title.to_owned(),
        (left, 18),
        text_style(20.0, TEXT, HPos::Left, VPos::Center),
    ))
    .map_err(draw_error)?;
    Ok(())
}

/// The RGB buffer as an 8-bit RGB PNG, compressed for speed (the flat colours of a chart
/// still shrink to a few tens of kilobytes).
fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(encode_error)?;
    writer.write_image_data(pixels).map_err(encode_error)?;
    writer.finish().map_err(encode_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_every_point_while_a_column_holds_two() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        let points = decimate(&values, |i| (i / 2) as i32);
        assert_eq!(
            points,
            vec![(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0), (4, 5.0)]
        );
    }

    #[test]
    fn decimation_keeps_the_lowest_and_highest_of_each_column_in_order() {
        // Ten values a column; a one-value spike in the second column, a dip in the third.
        let mut values: Vec<f64> = (0..30).map(|i| 100.0 + f64::from(i % 3)).collect();
        values[13] = 180.0;
        values[27] = 20.0;
        let points = decimate(&values, |i| (i / 10) as i32);
        assert!(points.len() <= 6, "{points:?}");
        // Column 0: lowest 100 first at 0, highest 102 first at 2.
        assert_eq!(&points[..2], &[(0, 100.0), (2, 102.0)]);
        // Column 1: lowest 100 at 12 before the spike at 13.
        assert_eq!(&points[2..4], &[(12, 100.0), (13, 180.0)]);
        // Column 2: the highest (102 at 20) before the dip at 27.
        assert_eq!(&points[4..], &[(20, 102.0), (27, 20.0)]);
    }

    #[test]
    fn decimation_of_a_flat_column_keeps_one_point() {
        let values = [5.0; 8];
        assert_eq!(decimate(&values, |_| 0), vec![(0, 5.0)]);
        assert_eq!(decimate(&[], |_| 0), Vec::<(usize, f64)>::new());
    }

    #[test]
    fn value_steps_are_round() {
        for (span, step) in [(700.0, 200.0), (60.0, 10.0), (13.0, 2.5), (0.9, 0.2)] {
            assert!(
                (value_step(span) - step).abs() < 1e-12,
                "{span}: {}",
                value_step(span)
            );
        }
        assert_eq!(value_label(2400.0), "2,400");
        assert_eq!(value_label(0.0), "0");
        assert_eq!(value_label(2.5), "2.5000");
        assert_eq!(value_label(12.5), "12.50");
    }
}
