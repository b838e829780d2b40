//! The reconciler: fetches the payments that are due and not final, applies what the provider
//! reports, and schedules the next check, within each provider's limits. It finds what no webhook
//! reported (a lost delivery, an unsigned provider's notice) and confirms what an untrusted
//! webhook claimed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use payments_core::webhook::Authenticity;
use payments_core::{Capability, Error, Payment, PaymentProvider, PaymentStatus};
use sqlx::AnyConnection;
use tokio::sync::Mutex;

use crate::apply::{Observation, apply};
use crate::clock::ms;
use crate::error::{LedgerError, Result, one_line};
use crate::ledger::Ledger;
use crate::model::{LedgerPayment, Source, Verdict};
use crate::store::sql_pair;

/// How often, and for how long, the reconciler checks one provider's payments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckPolicy {
    /// First check after creation (and after a move to a non-final status).
    pub first_check_after: Duration,
    /// Wait after the first check; doubles after each check.
    pub initial_interval: Duration,
    /// Longest wait between two checks.
    pub max_interval: Duration,
    /// How long after the payment's expiry it is still checked.
    pub grace_after_expiry: Duration,
    /// How long a payment without an expiry is checked.
    pub max_age: Duration,
    /// Least time between two fetches of one payment.
    pub min_interval: Duration,
    /// Fetch only payments in these statuses (HUB2: `processing` and `action_required`);
    /// `None`: any non-final status.
    pub poll_only_in: Option<&'static [PaymentStatus]>,
    /// At most this many fetches per window from this instance, across the provider's payments.
    /// The budget is per instance: with several instances, divide the provider's limit by their
    /// number.
    pub rate: Option<(u32, Duration)>,
}

impl Default for CheckPolicy {
    fn default() -> Self {
        CheckPolicy {
            first_check_after: Duration::from_secs(60),
            initial_interval: Duration::from_secs(60),
            max_interval: Duration::from_secs(3600),
            grace_after_expiry: Duration::from_secs(3600),
            max_age: Duration::from_secs(7 * 24 * 3600),
            min_interval: Duration::from_secs(1),
            poll_only_in: None,
            rate: None,
        }
    }
}

/// HUB2 may be polled only while an intent is processing or waiting for the payer.
const HUB2_POLLABLE: &[PaymentStatus] = &[PaymentStatus::Processing, PaymentStatus::RequiresAction];

impl CheckPolicy {
    /// The default policy for `provider`. HUB2's is bound by its documented rate limits
    /// (docs.hub2.io, "Rate limits"): one `GET /payment-intents/{id}` per intent per 5 s, 50
    /// requests per 5 s overall, and no polling of an intent that is not `processing` or
    /// `action_required` (polling a final intent gets the IP throttled or banned).
    pub fn for_provider(provider: &str) -> CheckPolicy {
        match provider {
            "hub2" => CheckPolicy {
                min_interval: Duration::from_secs(5),
                poll_only_in: Some(HUB2_POLLABLE),
                rate: Some((40, Duration::from_secs(5))),
                ..CheckPolicy::default()
            },
            _ => CheckPolicy::default(),
        }
    }

    /// Checks immediately and then every `interval` (tests and demos).
    pub fn eager(mut self, interval: Duration) -> Self {
        self.first_check_after = Duration::ZERO;
        self.initial_interval = interval;
        self.max_interval = interval;
        self
    }

    /// Sets the least time between two fetches of one payment.
    pub fn min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// Sets how long payments are checked after expiry, and without one.
    pub fn give_up_after(mut self, grace_after_expiry: Duration, max_age: Duration) -> Self {
        self.grace_after_expiry = grace_after_expiry;
        self.max_age = max_age;
        self
    }

    /// The wait after the `checks`-th check.
    fn interval(&self, checks: i64) -> Duration {
        let doublings = u32::try_from(checks.clamp(1, 31) - 1).unwrap_or(0);
        self.initial_interval
            .saturating_mul(2_u32.saturating_pow(doublings))
            .min(self.max_interval)
    }
}

/// The provider clients the reconciler fetches through, by [`PaymentProvider::name`].
#[derive(Clone, Default)]
pub struct Providers {
    clients: HashMap<&'static str, Arc<dyn PaymentProvider>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.clients.keys()).finish()
    }
}

impl Providers {
    /// No providers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider client.
    pub fn with(mut self, client: Arc<dyn PaymentProvider>) -> Self {
        self.clients.insert(client.name(), client);
        self
    }

    /// The client for `provider`.
    pub fn get(&self, provider: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.clients.get(provider)
    }
}

/// What one [`Ledger::reconcile_once`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Payments fetched.
    pub fetched: usize,
    /// Fetches that changed a payment's status.
    pub changed: usize,
    /// Payments put in review by this pass.
    pub flagged: usize,
    /// Payments not fetched now (provider limits, no client, a status HUB2 must not poll).
    pub deferred: usize,
    /// Fetches that failed (rescheduled).
    pub failed: usize,
    /// Stored webhooks applied because their payment appeared.
    pub adopted: usize,
}

/// Payments one pass claims at most.
const CLAIM_BATCH: i64 = 16;

/// How long claimed payments are reserved for the instance fetching them: long enough for a
/// batch of fetches with retries, short enough that a crashed instance's claim is soon free.
const CLAIM_LEASE: Duration = Duration::from_secs(300);

const CLAIM_DUE: (&str, &str) = sql_pair!(
    "SELECT id FROM ledger_payments \
     WHERE next_check_at <= $1 AND creation = 'created' \
       AND (lease_until IS NULL OR lease_until < $1) \
     ORDER BY next_check_at LIMIT $2",
    "FOR UPDATE SKIP LOCKED"
);

const LOCK_PAYMENT: (&str, &str) = sql_pair!(
    "SELECT id, provider, reference, amount_minor, currency, creation, creation_error, \
       provider_payment_id, status, raw_status, authenticity, review_reason, expires_at, \
       next_check_at, created_at, updated_at \
     FROM ledger_payments WHERE id = $1",
    "FOR UPDATE"
);

/// One provider's fetch budget in this instance.
#[derive(Debug)]
struct Window {
    started: tokio::time::Instant,
    used: u32,
}

/// Shared by the passes of one [`Reconciler`] so rate windows span passes.
#[derive(Debug, Default)]
struct Budgets {
    windows: Mutex<HashMap<String, Window>>,
}

impl Budgets {
    /// Takes one fetch from `provider`'s window; false when the window is spent.
    async fn take(&self, provider: &str, rate: Option<(u32, Duration)>) -> bool {
        let Some((limit, window)) = rate else {
            return true;
        };
        let mut windows = self.windows.lock().await;
        let now = tokio::time::Instant::now();
        let w = windows.entry(provider.to_string()).or_insert(Window {
            started: now,
            used: 0,
        });
        if now.duration_since(w.started) >= window {
            w.started = now;
            w.used = 0;
        }
        if w.used >= limit {
            return false;
        }
        w.used += 1;
        true
    }
}

impl Ledger {
    /// Applies what the provider reports for a payment the merchant fetched itself: the answer
    /// of an API call (a HUB2 attempt returns the whole intent), or a redirect confirmed by a
    /// fetch (Fintecture's `confirm_redirect`, with [`Source::Redirect`]). The amount, when
    /// reported, must be the order's.
    ///
    /// # Errors
    /// [`LedgerError::NotFound`] when the ledger holds no payment with that provider id,
    /// [`LedgerError::Store`].
    pub async fn observe(
        &self,
        provider: &str,
        payment: &Payment,
        source: Source,
    ) -> Result<Verdict> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(self.backend.pick(crate::inbox::PAYMENT_BY_PROVIDER_ID))
            .bind(provider)
            .bind(&payment.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("{provider} payment {}", payment.id)))?;
        let stored = LedgerPayment::from_row(&row)?;
        let verdict = self
            .apply_fetched(&mut tx, &stored, payment, source)
            .await?;
        tx.commit().await?;
        Ok(verdict)
    }

    async fn apply_fetched(
        &self,
        conn: &mut AnyConnection,
        stored: &LedgerPayment,
        payment: &Payment,
        source: Source,
    ) -> Result<Verdict> {
        let mut observation = Observation::new(source, Some(payment.status.clone()));
        observation.raw_status = Some(payment.raw_status.clone());
        observation.authenticity = Some(Authenticity::FetchedBack);
        observation.amount = payment.amount;
        let recheck = ms(self.policy(&stored.provider).first_check_after);
        apply(conn, self.now(), stored, &observation, recheck).await
    }

    /// One pass: claims up to `limit` due, non-final payments (on PostgreSQL with `FOR UPDATE
    /// SKIP LOCKED`, so several instances share the work without fetching one payment twice),
    /// fetches each through its provider's client, applies the result, and schedules the next
    /// check. Also applies stored webhooks whose payment has appeared since.
    ///
    /// # Errors
    /// [`LedgerError::Store`]; a provider's failure is not an error of the pass (it is
    /// counted, logged and rescheduled).
    pub async fn reconcile_once(&self, providers: &Providers) -> Result<ReconcileReport> {
        self.reconcile_pass(providers, &Budgets::default(), CLAIM_BATCH)
            .await
    }

    async fn reconcile_pass(
        &self,
        providers: &Providers,
        budgets: &Budgets,
        limit: i64,
    ) -> Result<ReconcileReport> {
        let mut report = ReconcileReport {
            adopted: self.adopt_orphans().await?,
            ..ReconcileReport::default()
        };
        for id in self.claim_due(limit).await? {
            self.check_one(providers, budgets, id, &mut report).await?;
        }
        Ok(report)
    }

    /// Reserves due payments for this instance (a lease, so the fetch happens outside any
    /// transaction) and returns their ids.
    async fn claim_due(&self, limit: i64) -> Result<Vec<i64>> {
        self.claim(
            self.backend.pick(CLAIM_DUE),
            "UPDATE ledger_payments SET lease_owner = $1, lease_until = $2 WHERE id = $3",
            limit,
            CLAIM_LEASE,
        )
        .await
    }

    async fn check_one(
        &self,
        providers: &Providers,
        budgets: &Budgets,
        id: i64,
        report: &mut ReconcileReport,
    ) -> Result<()> {
        let payment = self.payment_by_id(id).await?;
        let policy = self.policy(&payment.provider);
        let now = self.now();
        let last_checked: Option<i64> =
            sqlx::query_scalar("SELECT last_checked_at FROM ledger_payments WHERE id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        let give_up_at = match payment.expires_at {
            Some(expiry) => {
                crate::clock::unix_ms(expiry).saturating_add(ms(policy.grace_after_expiry))
            }
            None => crate::clock::unix_ms(payment.created_at).saturating_add(ms(policy.max_age)),
        };
        let client = providers
            .get(&payment.provider)
            .filter(|c| c.capabilities().supports(Capability::GetPayment));
        let pollable = policy
            .poll_only_in
            .is_none_or(|only| only.contains(&payment.status));
        let too_soon = last_checked
            .map(|at| at.saturating_add(ms(policy.min_interval)))
            .filter(|earliest| *earliest > now);

        if payment.status.is_final() {
            return self.reschedule(id, None, false).await;
        }
        if now > give_up_at {
            return if payment.status == PaymentStatus::Pending {
                // Never started by the payer: abandoned, nothing to look at.
                self.stop_checking(&payment, None).await
            } else {
                report.flagged += 1;
                self.stop_checking(
                    &payment,
                    Some(
                        "still not final after its expiry and grace period: the provider \
                         never reported an outcome",
                    ),
                )
                .await
            };
        }
        let (Some(client), Some(provider_id), true, None) = (
            client,
            payment.provider_payment_id.clone(),
            pollable,
            too_soon,
        ) else {
            report.deferred += 1;
            // Not fetchable now: look again when it may be (a webhook that moves the status
            // reschedules it sooner).
            let next = too_soon.unwrap_or_else(|| now.saturating_add(ms(policy.max_interval)));
            return self.reschedule(id, Some(next), false).await;
        };
        if !budgets.take(&payment.provider, policy.rate).await {
            report.deferred += 1;
            let wait = policy.rate.map_or(Duration::from_secs(1), |(_, w)| w);
            return self
                .reschedule(id, Some(now.saturating_add(ms(wait))), false)
                .await;
        }

        report.fetched += 1;
        match client.fetch_payment(&provider_id).await {
            Ok(fetched) => {
                let mut tx = self.begin().await?;
                let row = sqlx::query(self.backend.pick(LOCK_PAYMENT))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let stored = LedgerPayment::from_row(&row)?;
                let verdict = self
                    .apply_fetched(&mut tx, &stored, &fetched, Source::Fetch)
                    .await?;
                let after = self.payment_by_id_in(&mut tx, id).await?;
                let checks: i64 =
                    sqlx::query_scalar("SELECT checks FROM ledger_payments WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                let next = (!after.status.is_final())
                    .then(|| now.saturating_add(ms(policy.interval(checks + 1))));
                sqlx::query(
                    "UPDATE ledger_payments SET next_check_at = $1, checks = checks + 1, \
                       last_checked_at = $2, lease_owner = NULL, lease_until = NULL WHERE id = $3",
                )
                .bind(next)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                if verdict == Verdict::Advance {
                    report.changed += 1;
                }
                if after.review.is_some() && stored.review.is_none() {
                    report.flagged += 1;
                }
            }
            Err(error) => {
                report.failed += 1;
                tracing::warn!(
                    provider = %payment.provider,
                    reference = %payment.reference,
                    error = %one_line(&error),
                    "reconciler fetch failed; rescheduled"
                );
                let wait = match &error {
                    Error::RateLimited {
                        retry_after: Some(after),
                        ..
                    } => *after,
                    _ => policy.interval(2),
                };
                self.reschedule(id, Some(now.saturating_add(ms(wait))), true)
                    .await?;
            }
        }
        Ok(())
    }

    async fn reschedule(&self, id: i64, next: Option<i64>, checked: bool) -> Result<()> {
        let _slot = self.writer_slot().await;
        sqlx::query(
            "UPDATE ledger_payments SET next_check_at = $1, lease_owner = NULL, lease_until = NULL, \
               last_checked_at = CASE WHEN $2 = 1 THEN $3 ELSE last_checked_at END WHERE id = $4",
        )
        .bind(next)
        .bind(i64::from(checked))
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stops checking a payment past its expiry and grace period; with a `review` reason (it
    /// was in progress: money may have moved) puts it in review and notifies the merchant.
    async fn stop_checking(&self, payment: &LedgerPayment, review: Option<&str>) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE ledger_payments SET review_reason = COALESCE(review_reason, $1), \
               next_check_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $2 \
             WHERE id = $3",
        )
        .bind(review)
        .bind(now)
        .bind(payment.id)
        .execute(&mut *tx)
        .await?;
        let note = review.unwrap_or("stopped checking: expired without a payment");
        let notify = review.is_some() && payment.review.is_none();
        sqlx::query(
            "INSERT INTO ledger_history (payment_id, source, verdict, status_before, \
               status_after, note, at, notify, next_attempt_at) \
             VALUES ($1, 'fetch', 'stopped_checking', $2, $2, $3, $4, $5, $4)",
        )
        .bind(payment.id)
        .bind(crate::model::status_text(&payment.status))
        .bind(note)
        .bind(now)
        .bind(notify.then_some(crate::apply::NOTIFY_PENDING))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies stored webhooks whose payment is now known (its creation's answer arrived after
    /// them, on another instance).
    async fn adopt_orphans(&self) -> Result<usize> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT p.id FROM ledger_events e JOIN ledger_payments p \
               ON p.provider = e.provider AND p.provider_payment_id = e.provider_payment_id \
             WHERE e.disposition = 'orphan'",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut adopted = 0;
        for id in ids {
            let mut tx = self.begin().await?;
            let row = sqlx::query(self.backend.pick(LOCK_PAYMENT))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let payment = LedgerPayment::from_row(&row)?;
            adopted += self.adopt_orphans_of(&mut tx, &payment).await?;
            tx.commit().await?;
        }
        Ok(adopted)
    }

    /// A reconciler that runs passes until `shutdown` completes; see [`Reconciler::run`].
    pub fn reconciler(&self, providers: Providers) -> Reconciler {
        Reconciler {
            ledger: self.clone(),
            providers,
            budgets: Arc::new(Budgets::default()),
            idle: Duration::from_secs(1),
        }
    }
}

/// Runs [`Ledger::reconcile_once`] in a loop, sharing each provider's rate window across
/// passes.
#[derive(Debug, Clone)]
pub struct Reconciler {
    ledger: Ledger,
    providers: Providers,
    budgets: Arc<Budgets>,
    idle: Duration,
}

impl Reconciler {
    /// Sets the pause between passes that found nothing to do (default 1 s).
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// One pass.
    ///
    /// # Errors
    /// As [`Ledger::reconcile_once`].
    pub async fn run_once(&self) -> Result<ReconcileReport> {
        self.ledger
            .reconcile_pass(&self.providers, &self.budgets, CLAIM_BATCH)
            .await
    }

    /// Runs passes until `shutdown` completes; a failing pass (the database away) is logged
    /// and retried after the idle pause.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let busy = match self.run_once().await {
                Ok(report) => report.fetched + report.adopted > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "reconciler pass failed");
                    false
                }
            };
            let pause = if busy {
                Duration::from_millis(10)
            } else {
                self.idle
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_double_up_to_the_maximum() {
        let policy = CheckPolicy::default();
        assert_eq!(policy.interval(1), Duration::from_secs(60));
        assert_eq!(policy.interval(2), Duration::from_secs(120));
        assert_eq!(policy.interval(7), Duration::from_secs(3600));
        assert_eq!(policy.interval(1000), Duration::from_secs(3600));
    }

    #[test]
    fn hub2_is_polled_only_while_processing_or_waiting_for_the_payer() {
        let policy = CheckPolicy::for_provider("hub2");
        let only = policy.poll_only_in.unwrap_or_default();
        assert!(only.contains(&PaymentStatus::Processing));
        assert!(only.contains(&PaymentStatus::RequiresAction));
        assert!(!only.contains(&PaymentStatus::Pending));
        assert!(policy.min_interval >= Duration::from_secs(1));
        assert!(CheckPolicy::for_provider("payconiq").poll_only_in.is_none());
    }

    #[tokio::test]
    async fn a_rate_window_refuses_past_its_limit_then_reopens() {
        tokio::time::pause();
        let budgets = Budgets::default();
        let rate = Some((2, Duration::from_secs(5)));
        assert!(budgets.take("hub2", rate).await);
        assert!(budgets.take("hub2", rate).await);
        assert!(!budgets.take("hub2", rate).await);
        assert!(
            budgets.take("payconiq", rate).await,
            "windows are per provider"
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(budgets.take("hub2", rate).await);
    }
}
