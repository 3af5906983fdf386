//! A PostgreSQL URL as `[store] url` names it: checked when the configuration is read, and
//! never shown with its password.
//!
//! The URL may hold a password (`postgres://user:secret@host/db`): `Debug` and `Display` show
//! it as `***`, and only [`PostgresUrl::expose`] gives the whole text, to connect with. The
//! store opens it (`crate::store::PgStore`); this file only parses it.

use std::fmt;

use url::Url;

/// A `postgres://` (or `postgresql://`) URL, checked when it is read.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(Url);

/// Why a text is not a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostgresUrlError {
    #[error("is not a URL ({0}); write postgres://user@host/database")]
    NotAUrl(url::ParseError),
    #[error("has the scheme {0:?}; a PostgreSQL URL starts with postgres://")]
    Scheme(String),
}

impl PostgresUrl {
    /// Parses `text`; the error says what to write instead (and never repeats the text, which
    /// may hold a password).
    pub fn parse(text: &str) -> Result<Self, PostgresUrlError> {
        let url = Url::parse(text).map_err(PostgresUrlError::NotAUrl)?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(PostgresUrlError::Scheme(url.scheme().to_owned()));
        }
        Ok(Self(url))
    }

    /// The whole URL, password included: to connect with, never to show.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

/// The URL without its password (`postgres://user:***@host/db`).
impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            // Setting a password only fails for URLs that cannot have one, and this one has.
            let _ = shown.set_password(Some("***"));
        }
        f.write_str(shown.as_str())
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_is_shown_without_its_password() {
        let url = PostgresUrl::parse("postgres://highwater:s3cret@db.internal:5432/alerts")
            .expect("a PostgreSQL URL");
        assert_eq!(
            url.to_string(),
            "postgres://highwater:***@db.internal:5432/alerts"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(url.expose().contains("s3cret"), "connecting needs it");
        let plain = PostgresUrl::parse("postgresql://postgres@127.0.0.1/test").expect("valid");
        assert_eq!(plain.to_string(), "postgresql://postgres@127.0.0.1/test");
    }

    #[test]
    fn a_url_that_is_not_postgres_says_what_to_write() {
        let cases = [
            ("mysql://root@localhost/db", "has the scheme \"mysql\""),
            ("/var/lib/highwater.db", "is not a URL"),
            ("", "is not a URL"),
        ];
        for (text, expected) in cases {
            let error = PostgresUrl::parse(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
