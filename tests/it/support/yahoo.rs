//! The shared CSV histories served as Yahoo chart API responses, for tests of the live path.

use std::path::Path;

use chrono::{NaiveDate, NaiveTime, TimeZone};
use serde_json::{Value, json};

/// A CSV history (Date, Open, High, Low, Close columns) as a Yahoo chart response for
/// `symbol`, through `through` when given: one timestamp per session at the 09:30 New York
/// open, as Yahoo stamps US daily bars.
pub fn chart_from_csv(csv: &Path, symbol: &str, through: Option<NaiveDate>) -> Value {
    let text = std::fs::read_to_string(csv).expect("the CSV is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (date, open, high, low, close) = (
        col("Date"),
        col("Open"),
        col("High"),
        col("Low"),
        col("Close"),
    );
    let number = |cell: &str| cell.parse::<f64>().ok().map_or(Value::Null, |v| json!(v));
    let new_york = chrono_tz::America::New_York;
    let open_time = NaiveTime::from_hms_opt(9, 30, 0).expect("time");
    let (mut stamps, mut opens, mut highs, mut lows, mut closes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let day = NaiveDate::parse_from_str(cells[date], "%Y-%m-%d").expect("a date");
        if through.is_some_and(|t| day > t) {
            break;
        }
        let stamp = new_york
            .from_local_datetime(&day.and_time(open_time))
            .single()
            .expect("09:30 exists every day")
            .timestamp();
        stamps.push(stamp);
        opens.push(number(cells[open]));
        highs.push(number(cells[high]));
        lows.push(number(cells[low]));
        closes.push(number(cells[close]));
    }
    json!({"chart": {"result": [{
        "meta": {"currency": "USD", "symbol": symbol, "exchangeName": "WCB", "instrumentType": "INDEX",
                 "gmtoffset": -18000, "timezone": "EST", "exchangeTimezoneName": "America/New_York",
                 "dataGranularity": "1d"},
        "timestamp": stamps,
        "indicators": {"quote": [{"open": opens, "high": highs, "low": lows, "close": closes,
                                   "volume": vec![Value::Null; closes.len()]}],
                       "adjclose": [{"adjclose": closes}]}
    }], "error": null}})
}
