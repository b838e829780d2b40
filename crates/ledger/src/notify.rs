//! Change notifications: every applied change is handed to the merchant's handler at least
//! once, in order per payment, with backoff; after too many failures it is dead-lettered,
//! listed and retryable.

use std::future::Future;
use std::time::Duration;

use payments_core::PaymentStatus;
use payments_core::webhook::Authenticity;
use sqlx::Row;
use time::OffsetDateTime;

use crate::clock::{from_unix_ms, ms};
use crate::error::{LedgerError, Result, one_line};
use crate::ledger::Ledger;
use crate::model::{LedgerPayment, Source, Verdict, parse_authenticity, parse_status};
use crate::store::sql_pair;

/// A change to one payment, as the handler sees it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Change {
    /// The notification's id (the same on every redelivery: de-duplicate on it if the
    /// handler's effect is not idempotent).
    pub id: i64,
    /// The payment, as the ledger holds it now.
    pub payment: LedgerPayment,
    /// Where the change came from.
    pub source: Source,
    /// What changed: [`Verdict::Advance`] (a new status), or a verdict that put the payment in
    /// review ([`Verdict::ConflictingFinal`], [`Verdict::AmountMismatch`], ...).
    pub verdict: Verdict,
    /// The status before the change.
    pub before: PaymentStatus,
    /// The status after it.
    pub after: PaymentStatus,
    /// The provider's own status value.
    pub raw_status: Option<String>,
    /// How the change was established.
    pub authenticity: Option<Authenticity>,
    /// Why the payment needs review, when it does (also in `payment.review`).
    pub note: Option<String>,
    /// When the change was applied.
    pub at: OffsetDateTime,
    /// Which delivery of this change this is (1 the first time; more after failures or a
    /// crash before the handler's success was recorded).
    pub attempt: u32,
}

/// Why a handler failed; shown (one line) in the dead-letter list.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The merchant's code that reacts to payment changes (ship the order, email the payer).
///
/// Called at least once per change, in order per payment: make it idempotent (key on
/// [`Change::id`]). An `Err` is retried with backoff.
#[async_trait::async_trait]
pub trait ChangeHandler: Send + Sync {
    /// Handles one change.
    async fn handle(&self, change: &Change) -> Result<(), HandlerError>;
}

/// A [`ChangeHandler`] from an async closure: `handler_fn(|change| async move { ...; Ok(()) })`.
pub fn handler_fn<F, Fut>(f: F) -> impl ChangeHandler
where
    F: Fn(Change) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    struct FnHandler<F>(F);
    #[async_trait::async_trait]
    impl<F, Fut> ChangeHandler for FnHandler<F>
    where
        F: Fn(Change) -> Fut + Send + Sync,
        Fut: Future<Output = Result<(), HandlerError>> + Send,
    {
        async fn handle(&self, change: &Change) -> Result<(), HandlerError> {
            (self.0)(change.clone()).await
        }
    }
    FnHandler(f)
}

/// A notification that failed too often and waits for a person.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The notification's id (pass it to [`Ledger::retry_dead_letter`]).
    pub id: i64,
    /// The payment's provider.
    pub provider: String,
    /// The payment's merchant reference.
    pub reference: String,
    /// The change's verdict.
    pub verdict: Verdict,
    /// Attempts made.
    pub attempts: i64,
    /// The handler's last error.
    pub last_error: Option<String>,
}

/// What one [`Ledger::dispatch_once`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchReport {
    /// Changes the handler accepted.
    pub delivered: usize,
    /// Changes the handler refused (retried later).
    pub failed: usize,
    /// Changes dead-lettered by this pass.
    pub dead: usize,
}

/// Notifications one pass claims at most.
const BATCH: i64 = 32;

/// Due changes, each the oldest pending one of its payment (so a payment's changes go out in
/// order, also across instances).
const CLAIM: (&str, &str) = sql_pair!(
    "SELECT n.id FROM ledger_history n \
     WHERE n.notify = 'pending' AND n.next_attempt_at <= $1 \
       AND (n.lease_until IS NULL OR n.lease_until < $1) \
       AND NOT EXISTS (SELECT 1 FROM ledger_history e \
                       WHERE e.payment_id = n.payment_id AND e.notify = 'pending' AND e.id < n.id) \
     ORDER BY n.id LIMIT $2",
    "FOR UPDATE SKIP LOCKED"
);

impl Ledger {
    /// One pass: claims due notifications (the oldest pending one of each payment), hands each
    /// to `handler`, and records the outcome: delivered, retried after a backoff, or
    /// dead-lettered after [`NotifyPolicy::max_attempts`](crate::NotifyPolicy) failures.
    ///
    /// # Errors
    /// [`LedgerError::Store`]; a handler's failure is not an error of the pass.
    pub async fn dispatch_once(&self, handler: &dyn ChangeHandler) -> Result<DispatchReport> {
        let policy = &self.options.notify;
        let ids = self
            .claim(
                self.backend.pick(CLAIM),
                "UPDATE ledger_history SET lease_owner = $1, lease_until = $2 WHERE id = $3",
                BATCH,
                policy.lease,
            )
            .await?;

        let mut report = DispatchReport::default();
        for id in ids {
            let change = self.change(id).await?;
            let outcome = handler.handle(&change).await;
            let _slot = self.writer_slot().await;
            match outcome {
                Ok(()) => {
                    report.delivered += 1;
                    sqlx::query(
                        "UPDATE ledger_history SET notify = 'delivered', attempts = attempts + 1, \
                           delivered_at = $1, lease_owner = NULL, lease_until = NULL, last_error = NULL \
                         WHERE id = $2",
                    )
                    .bind(self.now())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                }
                Err(error) => {
                    let attempts = i64::from(change.attempt);
                    let dead = attempts >= i64::from(policy.max_attempts);
                    let delay = policy.delay(u32::try_from(attempts).unwrap_or(u32::MAX));
                    if dead {
                        report.dead += 1;
                    } else {
                        report.failed += 1;
                    }
                    tracing::warn!(
                        notification = id,
                        attempts,
                        dead,
                        error = %one_line(&error),
                        "change handler failed"
                    );
                    sqlx::query(
                        "UPDATE ledger_history SET notify = $1, attempts = $2, \
                           next_attempt_at = $3, last_error = $4, lease_owner = NULL, \
                           lease_until = NULL WHERE id = $5",
                    )
                    .bind(if dead { "dead" } else { "pending" })
                    .bind(attempts)
                    .bind(self.now().saturating_add(ms(delay)))
                    .bind(one_line(&error))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                }
            }
        }
        Ok(report)
    }

    /// The change a notification carries.
    async fn change(&self, id: i64) -> Result<Change> {
        let row = sqlx::query(
            "SELECT payment_id, source, verdict, status_before, status_after, raw_status, \
               authenticity, note, at, attempts \
             FROM ledger_history WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("notification {id}")))?;
        Ok(Change {
            id,
            payment: self.payment_by_id(row.try_get("payment_id")?).await?,
            source: Source::parse(&row.try_get::<String, _>("source")?)?,
            verdict: Verdict::parse(&row.try_get::<String, _>("verdict")?)?,
            before: parse_status(&row.try_get::<String, _>("status_before")?),
            after: parse_status(&row.try_get::<String, _>("status_after")?),
            raw_status: row.try_get("raw_status")?,
            authenticity: row
                .try_get::<Option<String>, _>("authenticity")?
                .map(|a| parse_authenticity(&a)),
            note: row.try_get("note")?,
            at: from_unix_ms(row.try_get("at")?),
            attempt: u32::try_from(row.try_get::<i64, _>("attempts")?.saturating_add(1))
                .unwrap_or(u32::MAX),
        })
    }

    /// Notifications that failed too often, oldest first.
    ///
    /// # Errors
    /// [`LedgerError::Store`].
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT h.id, p.provider, p.reference, h.verdict, h.attempts, h.last_error \
             FROM ledger_history h JOIN ledger_payments p ON p.id = h.payment_id \
             WHERE h.notify = 'dead' ORDER BY h.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetter {
                    id: row.try_get("id")?,
                    provider: row.try_get("provider")?,
                    reference: row.try_get("reference")?,
                    verdict: Verdict::parse(&row.try_get::<String, _>("verdict")?)?,
                    attempts: row.try_get("attempts")?,
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// Puts a dead letter back in the queue, due now, with its attempts reset.
    ///
    /// # Errors
    /// [`LedgerError::NotFound`] when `id` is not a dead letter, [`LedgerError::Store`].
    pub async fn retry_dead_letter(&self, id: i64) -> Result<()> {
        let _slot = self.writer_slot().await;
        let done = sqlx::query(
            "UPDATE ledger_history SET notify = 'pending', attempts = 0, next_attempt_at = $1 \
             WHERE id = $2 AND notify = 'dead'",
        )
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(LedgerError::NotFound(format!("dead letter {id}")));
        }
        Ok(())
    }

    /// A dispatcher that delivers changes to `handler` until shutdown; see
    /// [`Dispatcher::run`].
    pub fn dispatcher<H: ChangeHandler + 'static>(&self, handler: H) -> Dispatcher<H> {
        Dispatcher {
            ledger: self.clone(),
            handler,
            idle: Duration::from_millis(200),
        }
    }
}

/// Runs [`Ledger::dispatch_once`] in a loop.
#[derive(Debug)]
pub struct Dispatcher<H> {
    ledger: Ledger,
    handler: H,
    idle: Duration,
}

impl<H: ChangeHandler> Dispatcher<H> {
    /// Sets the pause between passes that found nothing to deliver (default 200 ms).
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// Delivers until `shutdown` completes; a failing pass (the database away) is logged and
    /// retried after the idle pause.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let busy = match self.ledger.dispatch_once(&self.handler).await {
                Ok(report) => report.delivered + report.failed + report.dead > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "notification pass failed");
                    false
                }
            };
            let pause = if busy { Duration::ZERO } else { self.idle };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}
