//! Rule definitions and their TOML form.
//!
//! ```toml
//! [[rules]]
//! id = "weekly-streak-up"     # unique, stable: it is part of every alert's dedup key
//! kind = "streak"             # record_high | period_high | period_low | streak | big_move |
//!                             # correlation_shift (`Kind`)
//! timeframe = "weekly"
//! direction = "up"
//! min_length = 5
//! on_pace = true
//! symbols = ["RUT"]           # optional: only these symbols (any alias)
//! asset_classes = ["index"]   # optional: only these asset classes
//!
//! [[rules]]
//! id = "rut-btc-decoupling"
//! kind = "correlation_shift"  # the 30-day correlation of daily log returns crosses a level
//! symbols = ["RUT"]
//! versus = "BTC"              # the other asset
//! threshold = 0.5             # between -1 and 1 (exclusive)
//! direction = "down"          # up = rises to or above it, down = falls below it, both
//! ```
//!
//! The raw form accepts every parameter of every kind; [`Rule::from_raw`] then checks that each
//! parameter belongs to the kind and has a sensible value, so a typo never passes silently.

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::analytics::Direction;
use crate::market::{AssetClass, Symbol, Timeframe, shown};

/// What a record is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// The session's closing price.
    #[default]
    Close,
    /// The session's intraday high.
    Intraday,
}

/// Which directions a streak or move rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DirectionFilter {
    Up,
    Down,
    #[default]
    Both,
}

impl DirectionFilter {
    pub fn admits(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (DirectionFilter::Both, _)
                | (DirectionFilter::Up, Direction::Up)
                | (DirectionFilter::Down, Direction::Down)
        )
    }
}

/// What a rule watches for, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A close (or intraday high) strictly above every earlier one.
    RecordHigh { basis: Basis },
    /// A close strictly above every other close of the last `weeks` weeks.
    PeriodHigh { weeks: u32 },
    /// A close strictly below every other close of the last `weeks` weeks.
    PeriodLow { weeks: u32 },
    /// A run of at least `min_length` rising/falling periods; alerts at every length from
    /// `min_length` on. With `on_pace`, also on the next-to-last session of an open period when
    /// the run would reach `min_length` if the period ended at the latest close.
    Streak {
        timeframe: Timeframe,
        direction: DirectionFilter,
        min_length: u32,
        on_pace: bool,
    },
    /// A finished period whose close moved at least `threshold_pct` percent.
    BigMove {
        timeframe: Timeframe,
        direction: DirectionFilter,
        threshold_pct: f64,
    },
    /// The 30-day correlation of daily log returns with `versus` crossed `threshold`: up = from
    /// below to at or above it, down = from at or above to below it.
    CorrelationShift {
        /// The other asset, as written (upper case; any alias).
        versus: String,
        threshold: f64,
        direction: DirectionFilter,
    },
}

impl RuleKind {
    /// The kind without its parameters.
    pub fn kind(&self) -> Kind {
        match self {
            RuleKind::RecordHigh { .. } => Kind::RecordHigh,
            RuleKind::PeriodHigh { .. } => Kind::PeriodHigh,
            RuleKind::PeriodLow { .. } => Kind::PeriodLow,
            RuleKind::Streak { .. } => Kind::Streak,
            RuleKind::BigMove { .. } => Kind::BigMove,
            RuleKind::CorrelationShift { .. } => Kind::CorrelationShift,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Whether the rule compares two histories (evaluated by [`super::cross`], not by the
    /// one-history [`super::Evaluator`]).
    pub fn needs_two_histories(&self) -> bool {
        matches!(self, RuleKind::CorrelationShift { .. })
    }
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    id: String,
    kind: RuleKind,
    /// Upper-case symbol names; empty = every symbol.
    symbols: Vec<String>,
    /// Empty = every asset class.
    asset_classes: Vec<AssetClass>,
    /// Its alerts carry the symbol's chart.
    chart: bool,
}

/// Why a rule or rule file was refused. Messages name the rule and the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Syntax(String),
    #[error(
        "rule '{}': unknown kind '{}' (expected one of: {})",
        shown(id),
        shown(kind),
        Kind::names()
    )]
    UnknownKind { id: String, kind: String },
    #[error(
        "rule '{}': parameter '{param}' does not apply to kind '{kind}'",
        shown(id)
    )]
    Inapplicable {
        id: String,
        param: &'static str,
        kind: Kind,
    },
    #[error("rule '{}': missing parameter '{param}' for kind '{kind}'", shown(id))]
    Missing {
        id: String,
        param: &'static str,
        kind: Kind,
    },
    #[error("rule '{}': {param} {}", shown(id), shown(problem))]
    BadValue {
        id: String,
        param: &'static str,
        problem: String,
    },
    #[error("rule id '{}' is used twice", shown(.0))]
    DuplicateId(String),
    #[error("rule id '{}' is invalid: use 1-64 letters, digits, '-' or '_'", shown(.0))]
    BadId(String),
}

/// The TOML shape of a rule: every parameter of every kind, all optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asset_classes: Vec<AssetClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<Basis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weeks: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<Timeframe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<DirectionFilter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_pace: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Every kind: post the symbol's chart (1 year, as of the alert's session) with its alerts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<bool>,
}

/// Longest symbol name a rule's `versus` may give (as the bot's symbol arguments).
const MAX_SYMBOL_CHARS: usize = 32;

/// Longest window a period rule may ask for (100 years).
const MAX_WEEKS: u32 = 5_218;

impl Rule {
    /// Checks a raw rule: a known kind, only its own parameters, values in range.
    pub fn from_raw(raw: RawRule) -> Result<Self, RuleError> {
        let id = raw.id.clone();
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_id {
            return Err(RuleError::BadId(id));
        }
        let kind_name: Kind = raw.kind.parse().map_err(|_| RuleError::UnknownKind {
            id: id.clone(),
            kind: raw.kind.clone(),
        })?;
        let given: [(&'static str, bool); 9] = [
            ("basis", raw.basis.is_some()),
            ("weeks", raw.weeks.is_some()),
            ("timeframe", raw.timeframe.is_some()),
            ("direction", raw.direction.is_some()),
            ("min_length", raw.min_length.is_some()),
            ("on_pace", raw.on_pace.is_some()),
            ("threshold_pct", raw.threshold_pct.is_some()),
            ("versus", raw.versus.is_some()),
            ("threshold", raw.threshold.is_some()),
        ];
        let allowed: &[&str] = match kind_name {
            Kind::RecordHigh => &["basis"],
            Kind::PeriodHigh | Kind::PeriodLow => &["weeks"],
            Kind::Streak => &["timeframe", "direction", "min_length", "on_pace"],
            Kind::BigMove => &["timeframe", "direction", "threshold_pct"],
            Kind::CorrelationShift => &["versus", "threshold", "direction"],
        };
        if let Some((param, _)) = given.iter().find(|(p, set)| *set && !allowed.contains(p)) {
            return Err(RuleError::Inapplicable {
                id,
                param,
                kind: kind_name,
            });
        }
        let missing = |param| RuleError::Missing {
            id: id.clone(),
            param,
            kind: kind_name,
        };
        let bad = |param, problem: &str| RuleError::BadValue {
            id: id.clone(),
            param,
            problem: problem.to_owned(),
        };
        let kind = match kind_name {
            Kind::RecordHigh => RuleKind::RecordHigh {
                basis: raw.basis.unwrap_or_default(),
            },
            Kind::PeriodHigh | Kind::PeriodLow => {
                let weeks = raw.weeks.ok_or_else(|| missing("weeks"))?;
                if weeks == 0 || weeks > MAX_WEEKS {
                    return Err(bad(
                        "weeks",
                        &format!("{weeks} must be between 1 and {MAX_WEEKS}"),
                    ));
                }
                if kind_name == Kind::PeriodHigh {
                    RuleKind::PeriodHigh { weeks }
                } else {
                    RuleKind::PeriodLow { weeks }
                }
            }
            Kind::Streak => {
                let min_length = raw.min_length.ok_or_else(|| missing("min_length"))?;
                if min_length < 2 {
                    return Err(bad(
                        "min_length",
                        &format!("{min_length} must be at least 2"),
                    ));
                }
                RuleKind::Streak {
                    timeframe: raw.timeframe.ok_or_else(|| missing("timeframe"))?,
                    direction: raw.direction.unwrap_or_default(),
                    min_length,
                    on_pace: raw.on_pace.unwrap_or(false),
                }
            }
            Kind::BigMove => {
                let threshold_pct = raw.threshold_pct.ok_or_else(|| missing("threshold_pct"))?;
                if !(threshold_pct.is_finite() && threshold_pct > 0.0 && threshold_pct < 1000.0) {
                    return Err(bad(
                        "threshold_pct",
                        &format!("{threshold_pct} must be a percentage above 0 and below 1000"),
                    ));
                }
                RuleKind::BigMove {
                    timeframe: raw.timeframe.ok_or_else(|| missing("timeframe"))?,
                    direction: raw.direction.unwrap_or_default(),
                    threshold_pct,
                }
            }
            Kind::CorrelationShift => {
                let versus = raw.versus.as_deref().ok_or_else(|| missing("versus"))?;
                let versus = versus.trim().to_ascii_uppercase();
                if versus.is_empty() || versus.chars().count() > MAX_SYMBOL_CHARS {
                    return Err(bad(
                        "versus",
                        &format!("must name a symbol in 1 to {MAX_SYMBOL_CHARS} characters"),
                    ));
                }
                if raw
                    .symbols
                    .iter()
                    .any(|s| s.trim().eq_ignore_ascii_case(&versus))
                {
                    return Err(bad("versus", "must be another symbol than the rule's own"));
                }
                let threshold = raw.threshold.ok_or_else(|| missing("threshold"))?;
                if !(threshold.is_finite() && threshold > -1.0 && threshold < 1.0) {
                    return Err(bad(
                        "threshold",
                        &format!("{threshold} must be a correlation above -1 and below 1"),
                    ));
                }
                RuleKind::CorrelationShift {
                    versus,
                    threshold,
                    direction: raw.direction.unwrap_or_default(),
                }
            }
        };
        if let RuleKind::Streak {
            timeframe: Timeframe::Daily,
            on_pace: true,
            ..
        } = kind
        {
            return Err(bad("on_pace", "applies to weekly and monthly streaks only"));
        }
        Ok(Self {
            id,
            kind,
            symbols: raw
                .symbols
                .iter()
                .map(|s| s.trim().to_ascii_uppercase())
                .collect(),
            asset_classes: raw.asset_classes,
            chart: raw.chart.unwrap_or(false),
        })
    }

    /// The raw form, for writing a rule back out (TOML, or a database row).
    pub fn to_raw(&self) -> RawRule {
        let mut raw = RawRule {
            id: self.id.clone(),
            kind: self.kind.name().to_owned(),
            symbols: self.symbols.clone(),
            asset_classes: self.asset_classes.clone(),
            chart: self.chart.then_some(true),
            ..RawRule::default()
        };
        match &self.kind {
            RuleKind::RecordHigh { basis } => raw.basis = Some(*basis),
            RuleKind::PeriodHigh { weeks } | RuleKind::PeriodLow { weeks } => {
                raw.weeks = Some(*weeks)
            }
            RuleKind::Streak {
                timeframe,
                direction,
                min_length,
                on_pace,
            } => {
                raw.timeframe = Some(*timeframe);
                raw.direction = Some(*direction);
                raw.min_length = Some(*min_length);
                raw.on_pace = Some(*on_pace);
            }
            RuleKind::BigMove {
                timeframe,
                direction,
                threshold_pct,
            } => {
                raw.timeframe = Some(*timeframe);
                raw.direction = Some(*direction);
                raw.threshold_pct = Some(*threshold_pct);
            }
            RuleKind::CorrelationShift {
                versus,
                threshold,
                direction,
            } => {
                raw.versus = Some(versus.clone());
                raw.threshold = Some(*threshold);
                raw.direction = Some(*direction);
            }
        }
        raw
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> &RuleKind {
        &self.kind
    }

    /// Whether its alerts carry the symbol's chart (`chart = true`).
    pub fn chart(&self) -> bool {
        self.chart
    }

    /// Whether the rule watches `symbol`.
    pub fn applies_to(&self, symbol: &Symbol) -> bool {
        (self.symbols.is_empty() || self.symbols.iter().any(|s| symbol.matches(s)))
            && (self.asset_classes.is_empty() || self.asset_classes.contains(&symbol.asset_class()))
    }
}

/// A TOML error as one line: "line 3, column 1 (`x = 2`): unknown field `x`, expected ...".
/// The toml crate's own message spans several lines with a source snippet.
pub(crate) fn toml_error_line(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before.len() - line_start + 1;
            let source_line = text[line_start..].lines().next().unwrap_or("").trim();
            format!(
                "line {line}, column {column} (`{}`): {}",
                shown(source_line),
                shown(&message)
            )
        }
        None => shown(&message),
    }
}

/// A list of rules with unique ids, in the order they were written (which breaks ties when two
/// rules produce the same fact).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rules: Vec<RawRule>,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> Result<Self, RuleError> {
        let mut seen = std::collections::HashSet::new();
        if let Some(rule) = rules.iter().find(|r| !seen.insert(r.id.as_str())) {
            return Err(RuleError::DuplicateId(rule.id.clone()));
        }
        Ok(Self { rules })
    }

    pub fn from_raw(raw: Vec<RawRule>) -> Result<Self, RuleError> {
        Self::new(
            raw.into_iter()
                .map(Rule::from_raw)
                .collect::<Result<_, _>>()?,
        )
    }

    /// Reads `[[rules]]` tables from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, RuleError> {
        let file: RuleFile =
            toml::from_str(text).map_err(|e| RuleError::Syntax(toml_error_line(text, &e)))?;
        Self::from_raw(file.rules)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules that watch `symbol`.
    pub fn for_symbol(&self, symbol: &Symbol) -> RuleSet {
        RuleSet {
            rules: self
                .rules
                .iter()
                .filter(|r| r.applies_to(symbol))
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuleSet, RuleError> {
        RuleSet::from_toml(text)
    }

    #[test]
    fn a_streak_rule_reads_with_its_defaults() {
        let set = parse(
            "[[rules]]\nid = \"w\"\nkind = \"streak\"\ntimeframe = \"weekly\"\nmin_length = 5\n",
        )
        .expect("valid");
        assert_eq!(
            set.rules()[0].kind(),
            &RuleKind::Streak {
                timeframe: Timeframe::Weekly,
                direction: DirectionFilter::Both,
                min_length: 5,
                on_pace: false
            }
        );
    }

    #[test]
    fn bad_rules_are_refused_with_a_message_naming_the_rule() {
        let cases = [
            (
                "id = \"x\"\nkind = \"moonshot\"",
                "rule 'x': unknown kind 'moonshot'",
            ),
            (
                "id = \"x\"\nkind = \"record_high\"\nweeks = 4",
                "parameter 'weeks' does not apply",
            ),
            (
                "id = \"x\"\nkind = \"streak\"\ntimeframe = \"weekly\"",
                "missing parameter 'min_length'",
            ),
            (
                "id = \"x\"\nkind = \"period_high\"\nweeks = 0",
                "weeks 0 must be between",
            ),
            (
                "id = \"x\"\nkind = \"big_move\"\ntimeframe = \"daily\"\nthreshold_pct = -2.0",
                "threshold_pct -2",
            ),
            (
                "id = \"x\"\nkind = \"streak\"\ntimeframe = \"hourly\"\nmin_length = 3",
                "hourly",
            ),
            (
                "id = \"x\"\nkind = \"streak\"\ntimeframe = \"daily\"\nmin_length = 3\non_pace = true",
                "on_pace",
            ),
            (
                "id = \"x\"\nkind = \"record_high\"\nthreshhold = 2",
                "line 4, column 1 (`threshhold = 2`): unknown field `threshhold`",
            ),
            (
                "id = \"x\"\nkind = \"period_high\"\nweeks = -3",
                "line 4, column 9 (`weeks = -3`): invalid value",
            ),
            (
                "id = \"a b\"\nkind = \"record_high\"",
                "rule id 'a b' is invalid",
            ),
        ];
        for (body, expected) in cases {
            let err = parse(&format!("[[rules]]\n{body}\n")).expect_err(body);
            assert!(err.to_string().contains(expected), "{body}: got {err}");
        }
        let twice = "[[rules]]\nid = \"a\"\nkind = \"record_high\"\n[[rules]]\nid = \"a\"\nkind = \"record_high\"\n";
        assert_eq!(parse(twice), Err(RuleError::DuplicateId("a".into())));
    }

    #[test]
    fn rules_round_trip_through_their_raw_form() {
        let set = parse(
            "[[rules]]\nid = \"m\"\nkind = \"big_move\"\ntimeframe = \"daily\"\nthreshold_pct = 2.5\nsymbols = [\"rut\"]\n",
        )
        .expect("valid");
        let rule = &set.rules()[0];
        assert_eq!(Rule::from_raw(rule.to_raw()).as_ref(), Ok(rule));
    }

    #[test]
    fn any_kind_may_ask_for_its_chart_and_keeps_asking_after_a_round_trip() {
        let set = parse(
            "[[rules]]\nid = \"r\"\nkind = \"record_high\"\nchart = true\n\
             [[rules]]\nid = \"s\"\nkind = \"streak\"\ntimeframe = \"daily\"\nmin_length = 3\nchart = false\n\
             [[rules]]\nid = \"p\"\nkind = \"period_low\"\nweeks = 52\n",
        )
        .expect("valid");
        let charts: Vec<bool> = set.rules().iter().map(Rule::chart).collect();
        assert_eq!(charts, [true, false, false]);
        for rule in set.rules() {
            let raw = rule.to_raw();
            assert_eq!(raw.chart, rule.chart().then_some(true));
            assert_eq!(Rule::from_raw(raw).as_ref(), Ok(rule));
        }
        let error = parse("[[rules]]\nid = \"x\"\nkind = \"record_high\"\nchart = \"yes\"\n")
            .expect_err("not a boolean");
        assert!(
            error
                .to_string()
                .starts_with("line 4, column 9 (`chart = \"yes\"`)"),
            "{error}"
        );
    }

    #[test]
    fn scopes_match_aliases_and_asset_classes() {
        let set = parse(
            "[[rules]]\nid = \"r\"\nkind = \"record_high\"\nsymbols = [\"RUT\"]\n[[rules]]\nid = \"c\"\nkind = \"record_high\"\nasset_classes = [\"crypto\"]\n",
        )
        .expect("valid");
        let catalog = crate::market::Catalog::builtin();
        let rut = catalog.resolve("^RUT").expect("known");
        let btc = catalog.resolve("BTC").expect("known");
        assert_eq!(set.for_symbol(&rut).rules().len(), 1);
        assert_eq!(set.for_symbol(&rut).rules()[0].id(), "r");
        assert_eq!(set.for_symbol(&btc).rules()[0].id(), "c");
    }
}
