//! What the ledger's tests share: a fresh database per test on either backend, a sandbox, and
//! Payconiq's signed callbacks delivered by the sandbox over a real socket.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payments_core::http::HttpConfig;
use payments_core::webhook::WebhookRequest;
use payments_core::{CreatePayment, Currency, Money};
use payments_ledger::{Change, ChangeHandler, HandlerError, Ledger, LedgerOptions};
use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
use payments_payconiq::webhook::WebhookSettings;
use payments_payconiq::{Environment, PayconiqClient, PayconiqConfig};
use payments_sandbox::{DeliveryRecord, Provider, RunningSandbox};

pub use payments_test_support::{fast_http, start_sandbox};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A database for one test, dropped (PostgreSQL) or deleted (SQLite) afterwards.
pub struct TestDb {
    pub url: String,
    pub kind: Db,
    cleanup: Option<Cleanup>,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        fastrand::u32(..)
    )
}

impl TestDb {
    /// A fresh SQLite file in the temp directory.
    pub fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique("payments_ledger")));
        TestDb {
            url: format!("sqlite://{}", path.display()),
            kind: Db::Sqlite,
            cleanup: Some(Cleanup::File(path)),
        }
    }

    /// A fresh PostgreSQL database on the server `PAYMENTS_TEST_POSTGRES_URL` names; `None`
    /// (with one line saying so) when that is unset or this build has no PostgreSQL support,
    /// unless `PAYMENTS_REQUIRE_POSTGRES=1`, where that is a failure.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let required = std::env::var("PAYMENTS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let skip = |why: &str| {
            assert!(!required, "{test}: PAYMENTS_REQUIRE_POSTGRES=1 but {why}");
            #[allow(clippy::print_stdout)] // the one line the issue asks for, in the test's output
            {
                println!("skipped on PostgreSQL: {why}");
            }
            None
        };
        if !cfg!(feature = "postgres") {
            return skip("payments-ledger was built without the `postgres` feature");
        }
        let Ok(admin_url) = std::env::var("PAYMENTS_TEST_POSTGRES_URL") else {
            return skip("PAYMENTS_TEST_POSTGRES_URL is not set");
        };
        let name = unique("ledger_test");
        admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("a database URL with a path");
        Some(TestDb {
            url: format!("{base}/{name}"),
            kind: Db::Postgres,
            cleanup: Some(Cleanup::Database { admin_url, name }),
        })
    }

    /// Opens a ledger (one instance) on this database.
    pub async fn open(&self) -> Ledger {
        self.open_with(LedgerOptions::default()).await
    }

    /// Opens a ledger with `options`.
    pub async fn open_with(&self, options: LedgerOptions) -> Ledger {
        match Ledger::open_with(&self.url, options).await {
            Ok(ledger) => ledger,
            Err(e) => panic!("opening {}: {e}", self.url),
        }
    }

    /// Makes the database unusable under the ledgers open on it (PostgreSQL: dropped, its
    /// connections terminated).
    pub async fn break_it(&mut self) {
        if let Some(Cleanup::Database { admin_url, name }) = self.cleanup.take() {
            admin(&admin_url, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
        }
    }
}

/// Runs one statement on a test's database, whichever backend.
pub async fn execute(db: &TestDb, statement: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    pool.close().await;
}

/// Runs one statement on the admin connection.
pub async fn admin(admin_url: &str, statement: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {admin_url}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self.cleanup.take() {
            Some(Cleanup::File(path)) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Some(Cleanup::Database { admin_url, name }) => {
                // Drop runs inside the test's runtime: drop the database from a thread of its own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime");
                    runtime.block_on(admin(
                        &admin_url,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    ));
                })
                .join();
            }
            None => {}
        }
    }
}

/// Runs `$test(db)` once on SQLite and once on PostgreSQL, as two `#[tokio::test]`s.
#[macro_export]
macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test(super::support::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if let Some(db) = super::support::TestDb::postgres(stringify!($test)).await {
                        super::$test(db).await;
                    }
                }
            )*
        }
    };
}

/// A handler that counts the changes it sees and can be told to fail.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub changes: Arc<Mutex<Vec<Change>>>,
    pub failing: Arc<std::sync::atomic::AtomicBool>,
}

impl Recorder {
    pub fn seen(&self) -> Vec<Change> {
        self.changes.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl ChangeHandler for Recorder {
    async fn handle(&self, change: &Change) -> Result<(), HandlerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err("the merchant's order service is down".into());
        }
        self.changes.lock().unwrap().push(change.clone());
        Ok(())
    }
}

/// Delivers every due notification to `handler` until none is left.
pub async fn drain(ledger: &Ledger, handler: &dyn ChangeHandler) {
    for _ in 0..100 {
        let report = ledger.dispatch_once(handler).await.unwrap();
        if report.delivered + report.failed + report.dead == 0 {
            return;
        }
    }
    panic!("notifications never drained");
}

/// Payconiq against the sandbox: a client whose callbacks go to the sandbox's sink, and a
/// verifier for them with the key set the sandbox serves.
pub struct Payconiq {
    pub client: Arc<PayconiqClient>,
    pub verifier: JwksWebhookVerifier,
    pub callback_url: String,
}

impl Payconiq {
    pub async fn new(sandbox: &RunningSandbox) -> Payconiq {
        Self::with_http(sandbox, fast_http()).await
    }

    pub async fn with_http(sandbox: &RunningSandbox, http: HttpConfig) -> Payconiq {
        let callback_url = format!("{}/_sandbox/sink/payconiq", sandbox.base_url());
        Self::with_callback(sandbox, http, &callback_url).await
    }

    /// Callbacks to `callback_url`.
    pub async fn with_callback(
        sandbox: &RunningSandbox,
        http: HttpConfig,
        callback_url: &str,
    ) -> Payconiq {
        let callback_url = callback_url.to_string();
        let config = PayconiqConfig::new(
            sandbox.credentials().payconiq_api_key.clone(),
            Environment::PreProduction,
        )
        .base_url(sandbox.payconiq().api_base_url)
        .default_callback_url(&callback_url)
        .http(http);
        let client = Arc::new(PayconiqClient::new(config).unwrap());
        let jwks_url = payments_conformance::sandbox::payconiq::jwks_url(sandbox);
        let fetcher = JwksFetcher::new(&jwks_url, &fast_http()).unwrap();
        let settings = WebhookSettings::new(
            sandbox.credentials().payconiq_profile_id.clone(),
            callback_url.clone(),
        );
        Payconiq {
            client,
            verifier: JwksWebhookVerifier::new(settings, fetcher),
            callback_url,
        }
    }

    /// Creates the payment for `reference` (10.00 EUR) through `ledger`, lets the sandbox's
    /// payer pay it, and returns its id and the SUCCEEDED callback the sandbox delivered.
    pub async fn create_and_pay(
        &self,
        ledger: &Ledger,
        sandbox: &RunningSandbox,
        reference: &str,
    ) -> (String, DeliveryRecord) {
        let created = ledger
            .create_once(self.client.as_ref(), &self.order(1000, reference))
            .await
            .unwrap();
        let id = created.checkout.payment_id;
        sandbox
            .act(Provider::Payconiq, &id, payments_sandbox::PayerAction::Pay)
            .await
            .unwrap();
        let paid = delivery(sandbox, &id, "SUCCEEDED").await;
        (id, paid)
    }

    /// A payment request for `minor` euro cents.
    pub fn order(&self, minor: i64, reference: &str) -> CreatePayment {
        CreatePayment::new(Money::from_minor(minor, Currency::EUR), reference)
            .description("ledger test")
    }
}

/// Waits for `n` deliveries about `payment_id` to have been made (delivered or given up).
pub async fn deliveries_for(
    sandbox: &RunningSandbox,
    payment_id: &str,
    n: usize,
) -> Vec<DeliveryRecord> {
    for _ in 0..500 {
        let found: Vec<DeliveryRecord> = sandbox
            .deliveries()
            .into_iter()
            .filter(|d| d.payment_id == payment_id && !d.attempts.is_empty())
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {n} deliveries for {payment_id}");
}

/// Waits for the delivery about `payment_id` reporting `event` (the provider's status or event
/// type) to have been attempted at least once.
pub async fn delivery(sandbox: &RunningSandbox, payment_id: &str, event: &str) -> DeliveryRecord {
    for _ in 0..500 {
        if let Some(found) = sandbox
            .deliveries()
            .into_iter()
            .find(|d| d.payment_id == payment_id && d.event == event && !d.attempts.is_empty())
        {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no {event} delivery for {payment_id}");
}

/// The request a merchant's server received for `delivery`, as a `WebhookRequest`.
pub fn request(delivery: &DeliveryRecord) -> WebhookRequest<'_> {
    WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
        delivery
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
}
