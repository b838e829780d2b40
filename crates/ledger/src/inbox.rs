//! The webhook inbox: verify over the raw bytes, then store and apply in one transaction, and
//! only then answer 2xx.

use payments_core::webhook::{AsyncWebhookVerifier, VerifiedEvent, WebhookRequest};
use sqlx::Row;

use crate::apply::{Observation, apply};
use crate::clock::{ms, unix_ms};
use crate::error::{Result, one_line};
use crate::ledger::Ledger;
use crate::model::{LedgerPayment, Source, Verdict, authenticity_text, status_text};
use crate::store::sql_pair;

/// What to answer the provider, and what the ledger did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Receipt {
    /// The HTTP status to answer with.
    pub status: u16,
    /// One line saying why (fit for a response body and a log; never a secret).
    pub reason: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What [`Ledger::receive`] did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Stored and applied to its payment (whatever the verdict: a stale event is applied as
    /// "kept, not applied" and is in the history).
    Applied {
        /// The event's de-duplication key.
        key: String,
        /// What `transition_to` decided.
        verdict: Verdict,
    },
    /// Stored; the payment is not known yet (created elsewhere, or its creation's answer is not
    /// stored yet). Applied when the payment appears.
    Kept {
        /// The event's de-duplication key.
        key: String,
    },
    /// Stored; the event names no payment (another resource's event).
    Ignored {
        /// The event's de-duplication key.
        key: String,
    },
    /// Already received: nothing applied again.
    Duplicate {
        /// The event's de-duplication key.
        key: String,
    },
    /// Verification refused it; nothing stored (beyond the rejection log).
    Rejected,
    /// The verifier is another provider's than the endpoint's: a configuration mistake. Nothing
    /// stored, and a 500 so the provider retries once it is fixed.
    Misrouted,
    /// The store failed; nothing acknowledged, so the provider retries.
    Unavailable,
}

pub(crate) const PAYMENT_BY_PROVIDER_ID: (&str, &str) = sql_pair!(
    "SELECT id, provider, reference, amount_minor, currency, creation, creation_error, \
       provider_payment_id, status, raw_status, authenticity, review_reason, expires_at, \
       next_check_at, created_at, updated_at \
     FROM ledger_payments WHERE provider = $1 AND provider_payment_id = $2",
    "FOR UPDATE"
);

impl Ledger {
    /// Receives one webhook delivery at `provider`'s endpoint: verifies it over the raw bytes
    /// with `verifier` (that provider's, synchronous or not), then, in one transaction, stores it under its
    /// de-duplication key, locks its payment, applies its status with
    /// [`PaymentStatus::transition_to`](payments_core::PaymentStatus::transition_to), appends to
    /// the payment's history and queues a change notification. Answer the provider with
    /// [`Receipt::status`]:
    ///
    /// - 200 once stored (applied, kept for a payment not known yet, or a duplicate);
    /// - the verifier's status when verification refuses it (nothing stored);
    /// - 503 when the store fails (nothing acknowledged: the provider retries);
    /// - 500 when the verifier is another provider's (a mistake in the merchant's wiring).
    ///
    /// `provider` names the endpoint (`"hub2"`): a refused delivery is logged under it, and an
    /// event the verifier attributes to another provider is refused.
    ///
    /// An event whose authenticity is below what the ledger trusts for its provider
    /// ([`LedgerOptions::trust`](crate::LedgerOptions::trust); by default a Banq notice or a
    /// Paylican event) carries no status: it is stored, and the payment is fetched by the
    /// reconciler before anything is applied.
    pub async fn receive<V>(
        &self,
        provider: &str,
        verifier: &V,
        request: &WebhookRequest<'_>,
    ) -> Receipt
    where
        V: AsyncWebhookVerifier + ?Sized,
    {
        let event = match verifier.verify(request).await {
            Ok(event) => event,
            Err(rejection) => {
                let status = rejection.http_status();
                let reason = one_line(&rejection);
                self.log_rejection(provider, status, &reason).await;
                return Receipt {
                    status,
                    reason,
                    outcome: Outcome::Rejected,
                };
            }
        };
        if event.provider != provider {
            tracing::error!(
                endpoint = provider,
                verifier = event.provider,
                "a webhook endpoint is wired to another provider's verifier; nothing stored"
            );
            return Receipt {
                status: 500,
                reason: format!(
                    "misconfigured: the {provider} endpoint verifies with a {} verifier",
                    event.provider
                ),
                outcome: Outcome::Misrouted,
            };
        }
        let stored = self.store_event(&event).await;
        crate::testing::crash_point(crate::testing::CrashPoint::AfterCommit);
        match stored {
            Ok(outcome) => Receipt {
                status: 200,
                reason: match &outcome {
                    Outcome::Applied { verdict, .. } => format!("stored; {verdict}"),
                    Outcome::Kept { .. } => "stored; payment not known yet".into(),
                    Outcome::Ignored { .. } => "stored; names no payment".into(),
                    Outcome::Duplicate { .. } => "duplicate; already stored".into(),
                    _ => "stored".into(),
                },
                outcome,
            },
            Err(e) => {
                tracing::warn!(
                    provider = event.provider,
                    event_key = %event.dedup_key(),
                    error = %e,
                    "webhook not stored; answering 503 so the provider retries"
                );
                Receipt {
                    status: 503,
                    reason: format!("not stored: {e}"),
                    outcome: Outcome::Unavailable,
                }
            }
        }
    }

    async fn store_event<T>(&self, event: &VerifiedEvent<T>) -> Result<Outcome> {
        let provider = event.provider;
        let key = event.dedup_key();
        let now = self.now();
        let trusted = self.trusts(provider, event.authenticity);
        let status = event.status.clone().filter(|_| trusted);
        let mut tx = self.begin().await?;
        let payment = match &event.payment_id {
            Some(id) => sqlx::query(self.backend.pick(PAYMENT_BY_PROVIDER_ID))
                .bind(provider)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| LedgerPayment::from_row(&row))
                .transpose()?,
            None => None,
        };
        let disposition = match (&event.payment_id, &payment) {
            (None, _) => "no_payment",
            (Some(_), None) => "orphan",
            (Some(_), Some(_)) => "applied",
        };
        crate::testing::crash_point(crate::testing::CrashPoint::BeforeEventInsert);
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO ledger_events (provider, dedup_key, event_type, provider_payment_id, \
               status, raw_status, authenticity, occurred_at, received_at, body, disposition) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
        )
        .bind(provider)
        .bind(&key)
        .bind(event.event_type.clone())
        .bind(event.payment_id.clone())
        .bind(event.status.as_ref().map(status_text))
        .bind(event.raw_status.clone())
        .bind(authenticity_text(event.authenticity))
        .bind(event.occurred_at.map(unix_ms))
        .bind(now)
        .bind(event.raw_body.clone())
        .bind(disposition)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(event_row) = inserted else {
            tx.commit().await?;
            return Ok(Outcome::Duplicate { key });
        };
        crate::testing::crash_point(crate::testing::CrashPoint::AfterEventInsert);
        let outcome = match payment {
            None if event.payment_id.is_none() => Outcome::Ignored { key },
            None => Outcome::Kept { key },
            Some(payment) => {
                let mut observation = Observation::new(Source::Webhook, status);
                observation.raw_status = event.raw_status.clone();
                observation.authenticity = Some(event.authenticity);
                observation.event_row = Some(event_row);
                if !trusted {
                    observation.note = Some(format!(
                        "{} event: its status is not trusted; fetching the payment",
                        authenticity_text(event.authenticity)
                    ));
                }
                let recheck = ms(self.policy(provider).first_check_after);
                let verdict = apply(&mut tx, now, &payment, &observation, recheck).await?;
                Outcome::Applied { key, verdict }
            }
        };
        crate::testing::crash_point(crate::testing::CrashPoint::BeforeCommit);
        tx.commit().await?;
        Ok(outcome)
    }

    /// Records a refused delivery in the bounded rejection log: provider, status and reason,
    /// never the body or the URL (which may hold a secret). Best effort.
    async fn log_rejection(&self, provider: &str, status: u16, reason: &str) {
        let provider: String = provider.chars().take(40).collect();
        let _slot = self.writer_slot().await;
        let result: Result<()> = async {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO ledger_rejections (provider, http_status, reason, at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(provider)
            .bind(i64::from(status))
            .bind(reason)
            .bind(self.now())
            .fetch_one(&self.pool)
            .await?;
            if id % 100 == 0 {
                sqlx::query("DELETE FROM ledger_rejections WHERE id <= $1")
                    .bind(id - self.options.rejection_log)
                    .execute(&self.pool)
                    .await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "rejection not logged");
        }
    }

    /// The most recent refused deliveries, newest first: `(provider, HTTP status, reason,
    /// time)`.
    ///
    /// # Errors
    /// [`LedgerError::Store`](crate::LedgerError::Store).
    pub async fn rejections(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, u16, String, time::OffsetDateTime)>> {
        let rows = sqlx::query(
            "SELECT provider, http_status, reason, at FROM ledger_rejections \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("provider")?,
                    u16::try_from(row.try_get::<i64, _>("http_status")?).unwrap_or(0),
                    row.try_get("reason")?,
                    crate::clock::from_unix_ms(row.try_get("at")?),
                ))
            })
            .collect()
    }
}
