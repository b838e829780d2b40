//! The database underneath: one connection pool through sqlx's `Any` driver, the two dialects'
//! few differences, versioned migrations, and time as Unix milliseconds.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::error::{LedgerError, one_line};

/// The schema version this crate writes and understands.
pub const SCHEMA_VERSION: i64 = 1;

/// Every migration, in order: `(version, SQL)`. The SQL is one text for both databases with two
/// placeholders (see [`Dialect::schema`]).
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/0001_init.sql"))];

/// Which database a ledger runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded; one writer at a time, WAL mode, busy timeout).
    Sqlite,
    /// PostgreSQL (several instances; row locks and `SKIP LOCKED` claims).
    Postgres,
}

impl Backend {
    /// The statement that opens a transaction that will write. SQLite takes the write lock at
    /// `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of one failing when it
    /// upgrades a read lock; PostgreSQL locks rows as it goes.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Picks the statement for this database from a pair written with [`sql_pair!`].
    pub(crate) fn pick(self, (sqlite, postgres): (&'static str, &'static str)) -> &'static str {
        match self {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    fn schema(self, sql: &str) -> String {
        let (id, bytes) = match self {
            Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
            Backend::Postgres => ("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BYTEA"),
        };
        sql.replace("{id}", id).replace("{bytes}", bytes)
    }
}

/// One statement in two forms: as written for SQLite, and with `$suffix` appended for
/// PostgreSQL (`FOR UPDATE`, `FOR UPDATE SKIP LOCKED`). SQLite has no row locks: its write
/// transactions (`BEGIN IMMEDIATE`) already exclude each other.
macro_rules! sql_pair {
    ($sql:literal, $suffix:literal) => {
        ($sql, concat!($sql, " ", $suffix))
    };
}
pub(crate) use sql_pair;

/// A URL as it may be shown: scheme, host and path, never the user or password.
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            let rest = rest.split('?').next().unwrap_or_default();
            format!("{scheme}://{rest}")
        }
        None => url.split('?').next().unwrap_or_default().to_string(),
    }
}

/// Reads the backend from the URL and completes it: a SQLite file is created when missing.
fn parse_url(url: &str) -> Result<(Backend, String, bool), LedgerError> {
    let url = url.trim();
    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => {
            if !cfg!(feature = "sqlite") {
                return Err(LedgerError::Url(
                    "this build of payments-ledger has no SQLite support (enable the `sqlite` \
                     feature)"
                        .into(),
                ));
            }
            let memory = url == "sqlite::memory:" || url.contains("mode=memory");
            let path = url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//")
                .split('?')
                .next()
                .unwrap_or_default();
            if path.is_empty() {
                return Err(LedgerError::Url(
                    "a SQLite URL names a file (`sqlite://payments.db`) or `sqlite::memory:`"
                        .into(),
                ));
            }
            let completed = if memory || url.contains("mode=") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            Ok((Backend::Sqlite, completed, memory))
        }
        "postgres" | "postgresql" => {
            if !cfg!(feature = "postgres") {
                return Err(LedgerError::Url(
                    "this build of payments-ledger has no PostgreSQL support (enable the \
                     `postgres` feature)"
                        .into(),
                ));
            }
            Ok((Backend::Postgres, url.to_string(), false))
        }
        _ => Err(LedgerError::Url(format!(
            "unsupported database URL `{}`: use sqlite://FILE, sqlite::memory: or \
             postgres://USER@HOST/DATABASE",
            redact_url(url)
        ))),
    }
}

/// Connects, configures each connection, and brings the schema up to [`SCHEMA_VERSION`].
pub(crate) async fn connect(
    url: &str,
    max_connections: u32,
    busy_timeout: Duration,
) -> Result<(AnyPool, Backend), LedgerError> {
    sqlx::any::install_default_drivers();
    let (backend, url, memory) = parse_url(url)?;
    let shown = redact_url(&url);
    let options: AnyConnectOptions = url
        .parse()
        .map_err(|e: sqlx::Error| LedgerError::Url(format!("{shown}: {}", one_line(&e))))?;
    let busy_ms = busy_timeout.as_millis();
    let mut pool = AnyPoolOptions::new()
        .max_connections(if memory { 1 } else { max_connections.max(1) })
        .acquire_timeout(busy_timeout.max(Duration::from_secs(1)))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(sqlx::AssertSqlSafe(format!(
                        "PRAGMA busy_timeout = {busy_ms}"
                    )))
                    .await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    if !memory {
                        // Readers never block the writer and the writer never blocks readers;
                        // `synchronous = FULL` (the default) makes each commit durable.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                    }
                }
                Ok(())
            })
        });
    if memory {
        // An in-memory database lives as long as its one connection: keep it.
        pool = pool
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    let pool = pool
        .connect_with(options)
        .await
        .map_err(|e| LedgerError::Open(format!("{shown}: {}", one_line(&e))))?;
    migrate(&pool, backend).await?;
    Ok((pool, backend))
}

async fn schema_version(pool: &AnyPool) -> Option<i64> {
    sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(version), 0) FROM ledger_schema")
        .fetch_one(pool)
        .await
        .ok()
}

/// Applies the migrations this database lacks, each in the transaction that records it.
/// Refuses a database whose schema is newer than this crate knows.
async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), LedgerError> {
    let too_new = |found: i64| LedgerError::SchemaTooNew {
        found,
        known: SCHEMA_VERSION,
    };
    // Read first: an up-to-date database (even a read-only one) needs no write.
    match schema_version(pool).await {
        Some(version) if version > SCHEMA_VERSION => return Err(too_new(version)),
        Some(SCHEMA_VERSION) => return Ok(()),
        _ => {}
    }
    let mut tx = pool.begin_with(backend.begin_write()).await?;
    if backend == Backend::Postgres {
        // Two instances starting together: the second waits here, then finds the work done.
        sqlx::query("SELECT pg_advisory_xact_lock(7262637069737)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS ledger_schema (version BIGINT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM ledger_schema")
        .fetch_one(&mut *tx)
        .await?;
    if current > SCHEMA_VERSION {
        return Err(too_new(current));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(backend.schema(sql)))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO ledger_schema (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(crate::clock::unix_ms(time::OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_and_never_show_a_password() {
        assert!(matches!(
            parse_url("sqlite://payments.db"),
            Ok((Backend::Sqlite, url, false)) if url == "sqlite://payments.db?mode=rwc"
        ));
        assert!(matches!(
            parse_url("sqlite::memory:"),
            Ok((Backend::Sqlite, _, true))
        ));
        assert!(matches!(
            parse_url("sqlite://ro.db?mode=ro"),
            Ok((Backend::Sqlite, url, false)) if url == "sqlite://ro.db?mode=ro"
        ));
        let err = parse_url("mysql://root:hunter2@db/x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("invalid database URL: unsupported"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(parse_url("sqlite://").is_err());
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/pay?sslmode=require"),
            "postgres://db.internal:5432/pay"
        );
    }

    #[test]
    fn the_schema_text_fits_both_databases() {
        let sql = MIGRATIONS.first().map(|(_, s)| *s).unwrap_or_default();
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let schema = backend.schema(sql);
            assert!(!schema.contains("{id}") && !schema.contains("{bytes}"));
        }
        assert_eq!(
            Backend::Postgres.pick(sql_pair!("SELECT 1", "FOR UPDATE")),
            "SELECT 1 FOR UPDATE"
        );
        assert_eq!(
            Backend::Sqlite.pick(sql_pair!("SELECT 1", "FOR UPDATE")),
            "SELECT 1"
        );
    }
}
