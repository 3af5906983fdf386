//! The market model: symbols, daily bars, series, exchange calendars and periods.
//!
//! Everything here is pure data and arithmetic on dates and prices. Nothing in this module
//! touches the network, the clock or a database; time always comes in as a date parameter.
//!
//! Dates are *session dates*: the trading date in the exchange's own timezone (for crypto, the
//! UTC calendar day). They are `chrono::NaiveDate`s because a session date has no time of day.

mod bar;
mod calendar;
mod checks;
pub(crate) mod decimal;
pub mod gap;
pub(crate) mod iso_date;
mod period;
pub mod sanity;
mod series;
pub mod shown;
mod symbol;

pub use bar::{Bar, BarError, MAX_PRICE, MIN_PRICE, parse_session_date};
pub use calendar::Calendar;
pub use checks::{DateError, FIRST_SESSION, SessionDates, check_session_date};
pub use gap::{Gap, gap_between};
pub use iso_date::{IsoDate, IsoMonth};
pub use period::{PeriodBar, PeriodKey, Timeframe, resample};
pub use series::{Series, SeriesError};
pub use shown::{shown, shown_bytes};
pub(crate) use symbol::edit_distance;
pub use symbol::{AssetClass, Catalog, Symbol};
