//! The [`Ledger`] handle and its options.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use payments_core::webhook::{Authenticity, Clock, SystemClock};
use sqlx::AnyPool;

use crate::clock::unix_ms;
use crate::error::Result;
use crate::model::trust_rank;
use crate::reconcile::CheckPolicy;
use crate::store::{self, Backend};

/// How change notifications are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotifyPolicy {
    /// Failed deliveries of one change before it is dead-lettered.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each time (with jitter).
    pub base_delay: Duration,
    /// Longest wait between two attempts.
    pub max_delay: Duration,
    /// How long a claimed notification is reserved for the instance delivering it.
    pub lease: Duration,
}

impl Default for NotifyPolicy {
    fn default() -> Self {
        NotifyPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(600),
            lease: Duration::from_secs(60),
        }
    }
}

impl NotifyPolicy {
    /// Sets the attempts before dead-lettering (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the backoff between attempts.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// The wait after `attempts` failures: exponential, full jitter, bounded.
    pub(crate) fn delay(&self, attempts: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2_u32.saturating_pow(attempts.saturating_sub(1)));
        let cap = exp.min(self.max_delay);
        // Jitter on the upper half keeps retries apart without making them instant.
        let half = u64::try_from(cap.as_millis() / 2).unwrap_or(u64::MAX);
        cap / 2 + Duration::from_millis(fastrand::u64(0..=half))
    }
}

/// How a [`Ledger`] behaves. Every field has a default fit for production.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LedgerOptions {
    /// The clock for stored times and schedules.
    pub clock: Arc<dyn Clock>,
    /// Database connections per instance.
    pub max_connections: u32,
    /// How long a SQLite writer waits for the lock (and anyone for a connection).
    pub busy_timeout: Duration,
    /// How long an instance may take to create a payment before another instance treats the
    /// creation as unknown (it may have crashed after sending). Longer than the provider
    /// client's whole retry budget.
    pub creation_lease: Duration,
    /// The least authenticity whose status a webhook may apply, per provider; below it an event
    /// only triggers a fetch. Default: [`Authenticity::FetchedBack`] (signed or fetched back).
    pub trust: HashMap<String, Authenticity>,
    /// How often to check each provider's payments (see [`CheckPolicy::for_provider`]).
    pub policies: HashMap<String, CheckPolicy>,
    /// How change notifications are retried.
    pub notify: NotifyPolicy,
    /// How many refused webhooks the rejection log keeps.
    pub rejection_log: i64,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            clock: Arc::new(SystemClock),
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            creation_lease: Duration::from_secs(120),
            trust: HashMap::new(),
            policies: HashMap::new(),
            notify: NotifyPolicy::default(),
            rejection_log: 1000,
        }
    }
}

impl LedgerOptions {
    /// Sets the clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the connections per instance (at least 1).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets the creation lease.
    pub fn creation_lease(mut self, lease: Duration) -> Self {
        self.creation_lease = lease;
        self
    }

    /// Lets `provider`'s webhooks apply their status from `least` authenticity upwards. For
    /// Paylican, whose webhooks are unsigned, `Authenticity::Guarded` applies what a guarded
    /// sender claims; by default such an event only triggers a fetch.
    pub fn trust(mut self, provider: &str, least: Authenticity) -> Self {
        self.trust.insert(provider.to_string(), least);
        self
    }

    /// Sets `provider`'s check policy.
    pub fn policy(mut self, provider: &str, policy: CheckPolicy) -> Self {
        self.policies.insert(provider.to_string(), policy);
        self
    }

    /// Sets the notification policy.
    pub fn notify(mut self, policy: NotifyPolicy) -> Self {
        self.notify = policy;
        self
    }
}

/// A durable payments ledger on SQLite or PostgreSQL. Cheap to clone: clones share the pool.
///
/// Every instance (process, clone, or another machine on the same PostgreSQL database) sees
/// the same payments; uniqueness constraints and row locks, not in-process state, keep a
/// reference from being created twice and an event from being applied twice.
#[derive(Clone)]
pub struct Ledger {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) options: Arc<LedgerOptions>,
    /// Names this instance in leases.
    pub(crate) instance: Arc<str>,
    /// SQLite has one writer at a time: this instance's writers queue here instead of spinning
    /// on the database's busy timeout (other processes still meet that timeout). `None` on
    /// PostgreSQL, whose row locks let writers run side by side.
    pub(crate) writers: Option<Arc<tokio::sync::Mutex<()>>>,
}

/// A write transaction; on SQLite it also holds this instance's writer slot until it ends.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _slot: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("backend", &self.backend)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens the ledger at `url` with default options: `sqlite://payments.db` (created when
    /// missing), `sqlite::memory:` (one connection, gone with the process), or
    /// `postgres://user@host/database`. Applies the schema migrations this database lacks;
    /// refuses a database whose schema is newer than this crate knows.
    ///
    /// The database is reached through sqlx's `Any` driver, whose drivers this installs (sqlx's
    /// default set) on first use; an application that installs a different set of sqlx `Any`
    /// drivers itself must do so with the ones the ledger's URLs need.
    ///
    /// # Errors
    /// [`LedgerError::Url`](crate::LedgerError::Url) for a URL it cannot use,
    /// [`LedgerError::Open`](crate::LedgerError::Open) when the database cannot be reached,
    /// [`LedgerError::SchemaTooNew`](crate::LedgerError::SchemaTooNew).
    pub async fn open(url: &str) -> Result<Ledger> {
        Self::open_with(url, LedgerOptions::default()).await
    }

    /// Opens the ledger with `options`.
    ///
    /// # Errors
    /// As [`Ledger::open`].
    pub async fn open_with(url: &str, options: LedgerOptions) -> Result<Ledger> {
        let (pool, backend) =
            store::connect(url, options.max_connections, options.busy_timeout).await?;
        Ok(Ledger {
            pool,
            backend,
            options: Arc::new(options),
            instance: Arc::from(format!("{:016x}", fastrand::u64(..))),
            writers: (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(()))),
        })
    }

    /// Which database this ledger runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool: waits for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn now(&self) -> i64 {
        unix_ms(self.options.clock.now())
    }

    pub(crate) fn policy(&self, provider: &str) -> CheckPolicy {
        self.options
            .policies
            .get(provider)
            .cloned()
            .unwrap_or_else(|| CheckPolicy::for_provider(provider))
    }

    /// Whether a webhook of `provider` established with `authenticity` may apply its status.
    pub(crate) fn trusts(&self, provider: &str, authenticity: Authenticity) -> bool {
        let least = self
            .options
            .trust
            .get(provider)
            .copied()
            .unwrap_or(Authenticity::FetchedBack);
        trust_rank(authenticity) >= trust_rank(least)
    }

    /// Begins a write transaction (on SQLite, after taking this instance's writer slot).
    pub(crate) async fn begin(&self) -> Result<WriteTx> {
        let slot = self.writer_slot().await;
        let tx = self.pool.begin_with(self.backend.begin_write()).await?;
        Ok(WriteTx { tx, _slot: slot })
    }

    /// Claims up to `limit` rows for this instance: `select` (binding now and the limit) picks
    /// the ids, each locked on PostgreSQL so instances skip each other's; `lease` (binding the
    /// instance, the lease's end and an id) reserves each for `duration`, so the work happens
    /// outside the transaction and another instance takes the row over only once it lapses.
    pub(crate) async fn claim(
        &self,
        select: &'static str,
        lease: &'static str,
        limit: i64,
        duration: Duration,
    ) -> Result<Vec<i64>> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(select)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        let until = now.saturating_add(crate::clock::ms(duration));
        for id in &ids {
            sqlx::query(lease)
                .bind(&*self.instance)
                .bind(until)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// This instance's writer slot on SQLite, for a single write outside a transaction.
    pub(crate) async fn writer_slot(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.writers {
            Some(writers) => Some(Arc::clone(writers).lock_owned().await),
            None => None,
        }
    }
}
