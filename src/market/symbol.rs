//! Symbols: what an instrument is called, how users may refer to it, and which calendar it keeps.
//!
//! The [`Catalog`] knows the instruments highwater ships with (the indices, ETF and crypto pairs
//! in the bundled histories) and resolves any of their aliases, case-insensitively: `RUT`,
//! `^rut` and `Russell 2000` all name the Russell 2000. Instruments outside the catalog can still
//! be used: [`Symbol::adhoc`] describes one by its ticker alone.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Calendar;

/// The kind of instrument; decides sanity thresholds and default rule scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetClass {
    Index,
    Etf,
    Stock,
    Crypto,
}

impl AssetClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetClass::Index => "index",
            AssetClass::Etf => "etf",
            AssetClass::Stock => "stock",
            AssetClass::Crypto => "crypto",
        }
    }
}

/// An instrument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Symbol {
    /// The canonical ticker, as Yahoo spells it: `^RUT`, `IWM`, `BTC-USD`.
    ticker: String,
    /// What people call it: "Russell 2000".
    name: String,
    /// Other names users may type, upper case: `RUT`, `RUSSELL`.
    aliases: Vec<String>,
    asset_class: AssetClass,
    calendar: Calendar,
}

impl Symbol {
    pub fn new(
        ticker: &str,
        name: &str,
        aliases: &[&str],
        asset_class: AssetClass,
        calendar: Calendar,
    ) -> Self {
        Self {
            ticker: ticker.to_owned(),
            name: name.to_owned(),
            aliases: aliases.iter().map(|a| normalise(a)).collect(),
            asset_class,
            calendar,
        }
    }

    /// An instrument the catalog does not know: named by its ticker, assumed to be a US-listed
    /// stock unless the ticker looks like a crypto pair (`XXX-USD`) or carries a foreign
    /// exchange's suffix (`SAP.DE`, `SHOP.TO`: Yahoo's US tickers have none), which puts it on
    /// the Monday-to-Friday calendar of an exchange highwater does not know.
    pub fn adhoc(ticker: &str) -> Self {
        let ticker = ticker.trim().to_ascii_uppercase();
        // Yahoo's crypto pairs are BASE-QUOTE with a currency or coin as the quote (BTC-EUR,
        // ETH-BTC); a share class such as BRK-B has a one-letter suffix and stays a stock.
        const QUOTES: [&str; 12] = [
            "USD", "USDT", "USDC", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "KRW", "BTC", "ETH",
        ];
        let crypto = ticker
            .rsplit_once('-')
            .is_some_and(|(base, quote)| !base.is_empty() && QUOTES.contains(&quote));
        let (class, calendar) = if crypto {
            (AssetClass::Crypto, Calendar::Crypto)
        } else if ticker.rsplit_once('.').is_some_and(|(base, suffix)| {
            !base.is_empty()
                && (1..=3).contains(&suffix.len())
                && suffix.bytes().all(|b| b.is_ascii_uppercase())
        }) {
            (AssetClass::Stock, Calendar::Weekdays)
        } else if ticker.starts_with('^') {
            (AssetClass::Index, Calendar::Nyse)
        } else {
            (AssetClass::Stock, Calendar::Nyse)
        };
        Self::new(&ticker, &ticker, &[], class, calendar)
    }

    pub fn ticker(&self) -> &str {
        &self.ticker
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }
    pub fn asset_class(&self) -> AssetClass {
        self.asset_class
    }
    pub fn calendar(&self) -> Calendar {
        self.calendar
    }

    /// The ticker without Yahoo's `^` index prefix: `RUT`, `GSPC`, `BTC-USD`. Data files are
    /// named after it.
    pub fn plain_ticker(&self) -> &str {
        self.ticker.trim_start_matches('^')
    }

    /// Every upper-case name this symbol answers to: ticker, plain ticker, aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [self.ticker.as_str(), self.plain_ticker()]
            .into_iter()
            .chain(self.aliases.iter().map(String::as_str))
    }

    /// Whether a user's text names this symbol.
    pub fn matches(&self, query: &str) -> bool {
        let query = normalise(query);
        self.names().any(|n| n == query) || normalise(&self.name) == query
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn normalise(text: &str) -> String {
    text.trim().to_ascii_uppercase()
}

/// The instruments highwater knows by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    symbols: Vec<Arc<Symbol>>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Catalog {
    /// The indices, ETF and crypto pairs of the bundled histories.
    pub fn builtin() -> Self {
        use AssetClass::{Etf, Index};
        use Calendar::Nyse;
        let (coin, utc) = (AssetClass::Crypto, Calendar::Crypto);
        let symbols = [
            Symbol::new(
                "^RUT",
                "Russell 2000",
                &["RUT", "RUSSELL", "R2K"],
                Index,
                Nyse,
            ),
            Symbol::new(
                "^GSPC",
                "S&P 500",
                &["SPX", "GSPC", "SP500", "S&P"],
                Index,
                Nyse,
            ),
            Symbol::new("^NDX", "Nasdaq-100", &["NDX", "NASDAQ100"], Index, Nyse),
            Symbol::new(
                "^IXIC",
                "Nasdaq Composite",
                &["IXIC", "COMP", "NASDAQ"],
                Index,
                Nyse,
            ),
            Symbol::new(
                "^DJI",
                "Dow Jones Industrial Average",
                &["DJI", "DJIA", "DOW"],
                Index,
                Nyse,
            ),
            Symbol::new("IWM", "iShares Russell 2000 ETF", &[], Etf, Nyse),
            Symbol::new(
                "BTC-USD",
                "Bitcoin",
                &["BTC", "BTCUSD", "BITCOIN", "XBT"],
                coin,
                utc,
            ),
            Symbol::new(
                "ETH-USD",
                "Ether",
                &["ETH", "ETHUSD", "ETHER", "ETHEREUM"],
                coin,
                utc,
            ),
        ];
        Self {
            symbols: symbols.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn symbols(&self) -> &[Arc<Symbol>] {
        &self.symbols
    }

    /// The symbol a user's text names, if the catalog knows it.
    pub fn resolve(&self, query: &str) -> Option<Arc<Symbol>> {
        self.symbols.iter().find(|s| s.matches(query)).cloned()
    }

    /// Up to `limit` names close to `query`, nearest first, for "did you mean" replies.
    /// Names too far off to be a plausible typo are left out.
    pub fn closest(&self, query: &str, limit: usize) -> Vec<String> {
        self.closest_scored(query, limit)
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    }

    /// Like [`closest`](Self::closest), with each name's edit distance from `query`.
    pub fn closest_scored(&self, query: &str, limit: usize) -> Vec<(usize, String)> {
        let query = normalise(query);
        let plausible = (query.chars().count() / 2).max(2);
        let mut scored: Vec<(usize, String)> = self
            .symbols
            .iter()
            .filter_map(|s| {
                let distance = s.names().map(|n| edit_distance(&query, n)).min()?;
                (distance <= plausible).then(|| (distance, s.plain_ticker().to_owned()))
            })
            .collect();
        scored.sort();
        scored.truncate(limit);
        scored
    }
}

/// Levenshtein distance, for suggestions only (names are short).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_case_insensitively() {
        let catalog = Catalog::builtin();
        for query in ["RUT", "^RUT", "rut", "Russell 2000", " r2k "] {
            let symbol = catalog.resolve(query).expect(query);
            assert_eq!(symbol.ticker(), "^RUT", "{query}");
        }
        assert_eq!(
            catalog.resolve("SPX").map(|s| s.plain_ticker().to_owned()),
            Some("GSPC".into())
        );
        assert_eq!(
            catalog.resolve("btc").map(|s| s.calendar()),
            Some(Calendar::Crypto)
        );
        assert!(catalog.resolve("NOPE").is_none());
    }

    #[test]
    fn suggestions_put_the_nearest_name_first() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.closest("RUTT", 2)[0], "RUT");
        assert_eq!(catalog.closest("BTX", 1), vec!["BTC-USD".to_owned()]);
        assert!(
            catalog.closest("ZZZZZZZZ", 3).is_empty(),
            "nothing is a plausible typo of that"
        );
    }

    #[test]
    fn adhoc_symbols_guess_nothing_but_their_calendar() {
        let aapl = Symbol::adhoc("aapl");
        assert_eq!((aapl.ticker(), aapl.name()), ("AAPL", "AAPL"));
        assert_eq!(aapl.calendar(), Calendar::Nyse);
        assert_eq!(Symbol::adhoc("SOL-USD").calendar(), Calendar::Crypto);
        assert_eq!(Symbol::adhoc("ETH-EUR").calendar(), Calendar::Crypto);
        assert_eq!(
            Symbol::adhoc("BRK-B").calendar(),
            Calendar::Nyse,
            "a share class, not a pair"
        );
        // Listings abroad: an exchange suffix, Monday to Friday, holidays unknown.
        for ticker in ["sap.de", "SHOP.TO", "VOD.L", "7203.T"] {
            assert_eq!(
                Symbol::adhoc(ticker).calendar(),
                Calendar::Weekdays,
                "{ticker}"
            );
        }
        assert_eq!(Symbol::adhoc("^N225").calendar(), Calendar::Nyse);
    }
}
