//! Charts, checked in their pixels: the rendered PNG is decoded and the record line is looked
//! for on the row worked out here from the plot area and the value range, with the record
//! taken from a naive loop over the shipped CSV file (not the engine); the current daily run's
//! shade at the latest session; and `highwater chart` end to end, with its errors.

use std::path::Path;

use chrono::{Months, NaiveDate};
use highwater::chart::{
    self, ChartLayout, ChartRange, DOWN_SHADE, HEIGHT, RECORD_COLOUR, Rgb, UP_SHADE, WIDTH,
};
use highwater::market::Catalog;
use highwater::providers::CsvSource;

use crate::cli::the_one_error_line;
use crate::support::{data_dir, highwater};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
}

/// (date, close) of every row of `data/SYMBOL.csv` up to `as_of`, read as plain text.
fn closes(symbol: &str, as_of: NaiveDate) -> Vec<(NaiveDate, f64)> {
    let text = std::fs::read_to_string(data_dir().join(format!("{symbol}.csv"))).expect("csv");
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.trim_end().split(',').collect();
            (date(fields[0]), fields[4].parse::<f64>().expect("a close"))
        })
        .filter(|(day, _)| *day <= as_of)
        .collect()
}

/// The highest close and the first session it was reached on.
fn naive_record(rows: &[(NaiveDate, f64)]) -> (f64, NaiveDate) {
    let mut best = rows[0];
    for &(day, close) in rows {
        if close > best.1 {
            best = (day, close);
        }
    }
    (best.1, best.0)
}

/// The sessions of the current run of strictly rising or falling closes, and whether it rises.
fn naive_run(rows: &[(NaiveDate, f64)]) -> (usize, bool) {
    let n = rows.len();
    let rising = rows[n - 1].1 > rows[n - 2].1;
    let mut length = 0;
    for i in (1..n).rev() {
        let up = rows[i].1 > rows[i - 1].1;
        let down = rows[i].1 < rows[i - 1].1;
        if (rising && up) || (!rising && down) {
            length += 1;
        } else {
            break;
        }
    }
    (length, rising)
}

/// A decoded 8-bit RGB image.
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(png: &[u8]) -> Image {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut rgb = vec![0; reader.output_buffer_size().expect("a buffer size")];
        let frame = reader.next_frame(&mut rgb).expect("the image data");
        assert_eq!(frame.color_type, png::ColorType::Rgb);
        assert_eq!(frame.bit_depth, png::BitDepth::Eight);
        rgb.truncate(frame.buffer_size());
        Image {
            width: frame.width,
            height: frame.height,
            rgb,
        }
    }

    fn at(&self, x: i32, y: i32) -> Rgb {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Rgb(self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }
}

/// The row of `value` from the plot area and the value range alone.
fn expected_row(layout: &ChartLayout, value: f64) -> i32 {
    let plot = layout.plot;
    (f64::from(plot.top)
        + (layout.y_max - value) / (layout.y_max - layout.y_min) * f64::from(plot.height))
    .round() as i32
}

/// What a chart of `symbol` as of `as_of` must show, checked against the naive loop and the
/// decoded pixels. Returns the layout, the naive record and the highest close shown.
fn check_chart(symbol: &str, range: ChartRange, as_of: &str) -> (ChartLayout, f64, f64) {
    let as_of = date(as_of);
    let source = CsvSource::open(data_dir(), Catalog::builtin()).expect("the shipped data");
    let series = source.load(symbol).expect("the history");
    let drawn = chart::render(&series, range, Some(as_of)).expect("a chart");
    let layout = drawn.layout.clone();
    let image = Image::decode(&drawn.png);
    assert_eq!((image.width, image.height), (WIDTH, HEIGHT));
    assert_eq!((image.width, image.height), (1000, 500));
    assert_eq!(image.rgb.len(), 1000 * 500 * 3);

    let rows = closes(symbol, as_of);
    let (record, record_date) = naive_record(&rows);
    assert_eq!((layout.record, layout.record_date), (record, record_date));
    let last = rows[rows.len() - 1];
    assert_eq!((layout.last_date, layout.latest_close), last);
    let months = match range {
        ChartRange::Year1 => 12,
        ChartRange::Month6 => 6,
        other => panic!("no naive range for {other}"),
    };
    let start = last.0 - Months::new(months);
    let shown: Vec<&(NaiveDate, f64)> = rows.iter().filter(|(d, _)| *d >= start).collect();
    assert_eq!(layout.sessions, shown.len());
    assert_eq!(layout.first_date, shown[0].0);
    let high = shown.iter().map(|r| r.1).fold(f64::MIN, f64::max);
    assert_eq!(layout.high, high);
    assert!(layout.y_max >= record, "the value axis reaches the record");

    // The record line: on the expected row (± 1) at three columns, and nowhere else in them.
    let row = expected_row(&layout, record);
    let plot = layout.plot;
    for share in [0.3, 0.5, 0.7] {
        let x = plot.left + (f64::from(plot.width) * share) as i32;
        let on: Vec<i32> = (plot.top..=plot.top + plot.height)
            .filter(|&y| image.at(x, y) == RECORD_COLOUR)
            .collect();
        assert!(
            !on.is_empty() && on.iter().all(|y| (y - row).abs() <= 1),
            "column {x}: record colour on rows {on:?}, expected row {row} ± 1"
        );
        for y in (plot.top..=plot.top + plot.height).filter(|y| (y - row).abs() > 1) {
            assert_ne!(
                image.at(x, y),
                RECORD_COLOUR,
                "({x}, {y}) is away from the line"
            );
        }
    }

    // The current run's shade in the column of the latest session (just inside the frame).
    let (length, rising) = naive_run(&rows);
    let band = layout.streak.expect("the latest close moved");
    assert_eq!(band.sessions as usize, length);
    let (shade, other) = if rising {
        (UP_SHADE, DOWN_SHADE)
    } else {
        (DOWN_SHADE, UP_SHADE)
    };
    let x = layout.x_pixel(layout.sessions - 1) - 1;
    assert_eq!(x, plot.left + plot.width - 1);
    let inside = plot.top + 2..plot.top + plot.height - 1;
    let shaded = inside.clone().filter(|&y| image.at(x, y) == shade).count();
    assert!(
        shaded * 10 >= inside.len() * 8,
        "{shaded} of {} rows shaded at column {x}",
        inside.len()
    );
    assert!(inside.clone().all(|y| image.at(x, y) != other));
    // Well left of the band, no shade at all.
    let clear = band.x_from - 20;
    assert!(clear > plot.left);
    assert!(inside.clone().all(|y| image.at(clear, y) != shade));
    (layout, record, high)
}

#[test]
fn the_russell_record_of_2021_lies_above_six_months_of_closes_and_the_axis_reaches_it() {
    // As of Sep 17, 2025 the record close is still Nov 8, 2021's 2,442.74; the closes since
    // March are all below it.
    let (layout, record, high) = check_chart("RUT", ChartRange::Month6, "2025-09-17");
    assert_eq!(record, 2442.73999);
    assert_eq!(layout.record_date, date("2021-11-08"));
    assert!(
        record > high + 20.0,
        "record {record}, highest shown {high}"
    );
    assert!(
        layout.record_y < expected_row(&layout, high) - 10,
        "{layout:?}"
    );
    assert_eq!(layout.last_date, date("2025-09-17"));
}

#[test]
fn the_russell_record_of_sep_18_2025_is_inside_a_year_of_closes() {
    let (layout, record, high) = check_chart("RUT", ChartRange::Year1, "2025-09-19");
    assert_eq!((record, layout.record_date), (high, date("2025-09-18")));
    assert_eq!(layout.first_date, date("2024-09-19"));
    // Sep 19 closed below Sep 18: a falling run of one session.
    let band = layout.streak.expect("a run");
    assert_eq!(band.sessions, 1);
}

#[test]
fn the_sp500_record_of_dec_6_2024_is_inside_the_year_to_dec_31() {
    let (layout, record, high) = check_chart("GSPC", ChartRange::Year1, "2024-12-31");
    assert_eq!(record, high);
    assert_eq!(layout.record_date, date("2024-12-06"));
    assert_eq!(layout.latest_close, 5881.629883);
}

/// The PNG's width and height from its header.
pub(crate) fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "the PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (word(16), word(20))
}

#[test]
fn highwater_chart_writes_a_png_and_says_what_it_drew() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("rut.png");
    let file_text = file.to_str().expect("a UTF-8 path");
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    let (code, stdout, stderr) = highwater([
        "chart",
        "RUT",
        "--data",
        data,
        "--as-of",
        "2025-09-19",
        "--out",
        file_text,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let rows = closes("RUT", date("2025-09-19"));
    let sessions = rows
        .iter()
        .filter(|(d, _)| *d >= date("2024-09-19"))
        .count();
    assert_eq!(
        stdout,
        format!(
            "wrote {file_text} (1000×500, {sessions} sessions 2024-09-19..2025-09-19, \
             record 2,467.70 on 2025-09-18)\n"
        )
    );
    let bytes = std::fs::read(&file).expect("the chart file");
    assert_eq!(png_size(&bytes), (1000, 500));
    // Only the chart is left in the folder: the temporary file was renamed.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the folder")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert_eq!(names, ["rut.png"]);
}

#[test]
fn an_unknown_range_is_a_usage_error_listing_the_ranges() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("x.png");
    let data = data_dir();
    let (code, stdout, stderr) = highwater([
        "chart".as_ref(),
        "RUT".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--range".as_ref(),
        "2w".as_ref(),
        "--out".as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: invalid value '2w' for '--range <RANGE>': \
             unknown range '2w'; expected 1m, 3m, 6m, 1y, 5y or max\n"
        ),
        "{stderr}"
    );
    assert!(!file.exists());
}

#[test]
fn an_out_file_in_a_missing_folder_is_one_error_line_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("missing").join("x.png");
    let file_text = file.to_str().expect("a UTF-8 path");
    let folder = dir.path().join("missing");
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    let line = the_one_error_line(highwater([
        "chart", "RUT", "--data", data, "--out", file_text,
    ]));
    assert_eq!(
        line,
        format!(
            "error: --out {file_text}: no such folder {}",
            folder.display()
        )
    );
    assert!(!Path::new(&folder).exists());
}

#[test]
fn a_chart_before_the_history_begins_is_one_error_line() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("x.png");
    let file_text = file.to_str().expect("a UTF-8 path");
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    let line = the_one_error_line(highwater([
        "chart",
        "RUT",
        "--data",
        data,
        "--as-of",
        "1980-01-02",
        "--out",
        file_text,
    ]));
    assert_eq!(line, "error: no Russell 2000 data on or before 1980-01-02");
    assert!(!file.exists());
}

#[test]
fn a_chart_needs_an_out_file() {
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    let (code, stdout, stderr) = highwater(["chart", "RUT", "--data", data]);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.contains("the following required arguments were not provided:")
            && stderr.contains("--out <FILE>"),
        "{stderr}"
    );
}

/// `/chart` through the local Discord: the reply carries the PNG as a multipart upload, byte
/// for byte the chart `highwater chart` draws of the same closes, named in the message's
/// attachments, with a caption saying what it shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_bot_posts_the_chart_as_an_attachment() {
    use crate::discord_bot::{start, utc};
    use crate::support::discord::{FakeConfig, FakeDiscord, Interaction, Member};

    let s = crate::support::run_dir();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = crate::support::ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;
    let reply = fake
        .interact(
            Interaction::command("chart")
                .option_str("symbol", "RUT")
                .option_int("range", 3)
                .by(Member::new(5002, "trader")),
        )
        .await;
    let source = CsvSource::open(data_dir(), Catalog::builtin()).expect("the shipped data");
    let series = source.load("RUT").expect("the history");
    let want =
        chart::render(&series, ChartRange::Year1, Some(date("2025-09-19"))).expect("a chart");
    let caption = format!(
        "Russell 2000, {} to Sep 19, 2025 ({} sessions); record close 2,467.70 on Sep 18, 2025",
        highwater::alerts::short_date(want.layout.first_date),
        want.layout.sessions
    );
    let failed: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.status >= 400)
        .map(|r| (r.method, r.path, r.status, r.body))
        .collect();
    assert_eq!(
        reply.content().as_deref(),
        Some(caption.as_str()),
        "{failed:?}"
    );
    let uploads: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| !r.files.is_empty())
        .collect();
    assert_eq!(uploads.len(), 1, "one upload");
    let upload = &uploads[0];
    assert!(upload.path.contains("/webhooks/") || upload.path.contains("/interactions/"));
    assert_eq!(upload.files.len(), 1);
    let (part, filename, bytes) = &upload.files[0];
    assert_eq!(
        (part.as_str(), filename.as_str()),
        ("files[0]", "rut-1y.png")
    );
    assert_eq!(png_size(bytes), (1000, 500));
    assert!(*bytes == want.png, "the bot's chart is the CLI's chart");
    let attachments = upload.body["attachments"]
        .as_array()
        .or_else(|| upload.body["data"]["attachments"].as_array())
        .expect("the payload names its attachments");
    assert_eq!(attachments[0]["filename"], "rut-1y.png");
    assert_eq!(attachments[0]["size"], want.png.len());
    bot.stop().await;
}
