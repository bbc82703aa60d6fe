//! DATABASE_URL: a SQLite file path (the default, embedded) or a `postgres://` URL. The URL may
//! carry a password, so it is kept secret and only ever printed with the password masked.

use secrecy::{ExposeSecret, SecretString};

/// Which database to use, and where it is.
#[derive(Clone)]
pub enum DatabaseUrl {
    /// The path of a SQLite file (a leading `sqlite://` removed).
    Sqlite(String),
    /// A PostgreSQL connection URL, `postgres://user:password@host:port/name`.
    Postgres(SecretString),
}

/// How long libpq waits for a PostgreSQL server that does not answer, unless the URL says.
const CONNECT_TIMEOUT_SECONDS: u32 = 5;

impl DatabaseUrl {
    /// `postgres://` or `postgresql://` is PostgreSQL; anything else is a SQLite path.
    pub fn parse(value: &str) -> Self {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            DatabaseUrl::Postgres(SecretString::from(value.to_string()))
        } else {
            DatabaseUrl::Sqlite(value.strip_prefix("sqlite://").unwrap_or(value).to_string())
        }
    }

    /// The value to hand on to another process (the tests' second instance, say).
    pub fn expose(&self) -> &str {
        match self {
            DatabaseUrl::Sqlite(path) => path,
            DatabaseUrl::Postgres(url) => url.expose_secret(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres(_))
    }

    /// The PostgreSQL URL with libpq's `connect_timeout` added unless it has one: without it, a
    /// server that drops packets holds each connection attempt for minutes.
    pub(crate) fn postgres_with_connect_timeout(&self) -> String {
        let url = self.expose();
        if url.contains("connect_timeout=") {
            return url.to_string();
        }
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}connect_timeout={CONNECT_TIMEOUT_SECONDS}")
    }

    /// The URL as it may be shown: a PostgreSQL password replaced by `***`.
    pub fn masked(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => path.clone(),
            DatabaseUrl::Postgres(url) => mask_password(url.expose_secret()),
        }
    }
}

/// `postgres://user:secret@host/db?password=x` → `postgres://user:***@host/db?password=***`.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_string();
    };
    let (authority_end, _) = rest
        .char_indices()
        .find(|(_, c)| *c == '/' || *c == '?')
        .unwrap_or((rest.len(), ' '));
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once("password=") {
        Some((before, after)) => {
            let rest = after.find('&').map(|i| &after[i..]).unwrap_or("");
            format!("{before}password=***{rest}")
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn a_postgres_password_never_shows() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/microblog?password=other");
        assert_eq!(
            url.masked(),
            "postgres://app:***@db:5432/microblog?password=***"
        );
        assert!(!format!("{url:?} {url}").contains("s3cret"));
    }

    #[test]
    fn anything_but_a_postgres_url_is_a_sqlite_path() {
        assert!(
            matches!(DatabaseUrl::parse("sqlite://a.db"), DatabaseUrl::Sqlite(p) if p == "a.db")
        );
        assert!(matches!(
            DatabaseUrl::parse("data/app.db"),
            DatabaseUrl::Sqlite(_)
        ));
        assert!(DatabaseUrl::parse("postgresql://localhost/m").is_postgres());
    }

    #[test]
    fn the_connect_timeout_is_added_once() {
        let url = DatabaseUrl::parse("postgres://localhost/m");
        assert_eq!(
            url.postgres_with_connect_timeout(),
            "postgres://localhost/m?connect_timeout=5"
        );
        let url = DatabaseUrl::parse("postgres://localhost/m?connect_timeout=2");
        assert_eq!(
            url.postgres_with_connect_timeout(),
            "postgres://localhost/m?connect_timeout=2"
        );
    }
}
