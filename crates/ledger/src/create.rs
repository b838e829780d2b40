//! Create once: the reference is recorded under a uniqueness constraint before the provider is
//! called, so no retry, restart or second instance ever creates a second payment for it.

use std::time::Duration;

use payments_core::{Capability, Checkout, CreatePayment, Delivery, Payment, PaymentProvider};
use sqlx::{AnyConnection, Row};

use crate::apply::{Observation, apply};
use crate::clock::ms;
use crate::error::{LedgerError, Result, one_line};
use crate::ledger::Ledger;
use crate::model::{
    CreationState, LedgerPayment, Source, Verdict, checkout_json, parse_checkout, status_text,
};
use crate::store::sql_pair;

/// How the checkout of [`Ledger::create_once`] was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateOutcome {
    /// This call created the payment at the provider.
    Sent,
    /// An earlier call (this or another instance, before or after a restart) created it; this
    /// is its stored checkout. Nothing was sent.
    Stored,
    /// A creation whose answer was lost was found at the provider by its reference. The
    /// checkout has the id and status; the payer links are in `raw` where the provider's
    /// payment answer carries them.
    Recovered,
}

/// The result of [`Ledger::create_once`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Created {
    /// What the payer needs to pay.
    pub checkout: Checkout,
    /// How it was obtained.
    pub outcome: CreateOutcome,
    /// The payment as the ledger now holds it.
    pub payment: LedgerPayment,
}

/// How long a caller waits for another instance's creation of the same reference to finish.
const WAIT_STEP: Duration = Duration::from_millis(50);

const SELECT_BY_REFERENCE: (&str, &str) = sql_pair!(
    "SELECT id, provider, reference, amount_minor, currency, creation, creation_error, \
       provider_payment_id, status, raw_status, authenticity, review_reason, expires_at, \
       next_check_at, created_at, updated_at, checkout, lease_owner, lease_until \
     FROM ledger_payments WHERE provider = $1 AND reference = $2",
    "FOR UPDATE"
);

/// What this call must do after looking at the stored row.
enum Step {
    /// Return this checkout.
    Done(Box<Created>),
    /// This call holds the lease and sends the creation.
    Send(i64),
    /// This call holds the lease and looks the payment up by reference first.
    Resolve(i64),
    /// Another instance holds the lease: wait until it finishes or its lease runs out.
    Wait,
}

impl Ledger {
    /// Creates the payment for `request.reference` at `provider`, exactly once.
    ///
    /// 1. Records (provider, reference, amount) under a uniqueness constraint, before sending.
    /// 2. Sends the creation and stores the provider's id and checkout.
    ///
    /// Called again for the same reference (by this or another instance, before or after a
    /// restart) it returns the stored checkout and sends nothing; with another amount or
    /// currency it is a [`LedgerError::ReferenceConflict`]. Two instances calling it at the same
    /// moment cause one creation: the second waits for the first.
    ///
    /// When the provider's answer is lost ([`payments_core::Error::OutcomeUnknown`]), the
    /// payment is looked up by its reference before anything is sent again: found, it is stored
    /// as created ([`CreateOutcome::Recovered`]); not found, the next call sends it again; the
    /// provider cannot search (no [`Capability::FindByReference`]), it is held for review
    /// ([`LedgerError::NeedsReview`]) and nothing more is sent until
    /// [`Ledger::resolve_creation`] says what the provider holds. A creation that provably
    /// did not reach the provider ([`Delivery::NotSent`]) or that it refused is sent again by
    /// the next call.
    ///
    /// # Errors
    /// The provider's error (after recording what it means), [`LedgerError::ReferenceConflict`],
    /// [`LedgerError::NeedsReview`], [`LedgerError::CreationInProgress`] when another
    /// instance's creation outlasts its lease, [`LedgerError::Store`].
    pub async fn create_once(
        &self,
        provider: &dyn PaymentProvider,
        request: &CreatePayment,
    ) -> Result<Created> {
        let name = provider.name();
        let deadline = tokio::time::Instant::now() + self.options.creation_lease + WAIT_STEP;
        loop {
            match self.claim_creation(name, request).await? {
                Step::Done(created) => return Ok(*created),
                Step::Send(id) => return self.send_creation(provider, request, id).await,
                Step::Resolve(id) => return self.resolve_by_reference(provider, request, id).await,
                Step::Wait if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(WAIT_STEP).await;
                }
                Step::Wait => {
                    return Err(LedgerError::CreationInProgress {
                        provider: name.to_string(),
                        reference: request.reference.clone(),
                    });
                }
            }
        }
    }

    /// Records the reference or reads what is recorded, and decides this call's step.
    async fn claim_creation(&self, provider: &str, request: &CreatePayment) -> Result<Step> {
        let now = self.now();
        let lease_until = now.saturating_add(ms(self.options.creation_lease));
        let mut tx = self.begin().await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO ledger_payments (provider, reference, amount_minor, currency, creation, \
               status, lease_owner, lease_until, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'creating', 'pending', $5, $6, $7, $7) \
             ON CONFLICT (provider, reference) DO NOTHING RETURNING id",
        )
        .bind(provider)
        .bind(&request.reference)
        .bind(request.amount.minor_units())
        .bind(request.amount.currency().code())
        .bind(&*self.instance)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = inserted {
            tx.commit().await?;
            return Ok(Step::Send(id));
        }
        let row = sqlx::query(self.backend.pick(SELECT_BY_REFERENCE))
            .bind(provider)
            .bind(&request.reference)
            .fetch_one(&mut *tx)
            .await?;
        let payment = LedgerPayment::from_row(&row)?;
        if payment.amount != request.amount {
            return Err(LedgerError::ReferenceConflict {
                provider: provider.to_string(),
                reference: request.reference.clone(),
                stored: payment.amount,
                requested: request.amount,
            });
        }
        let leased = row
            .try_get::<Option<i64>, _>("lease_until")?
            .is_some_and(|until| until > now);
        let take = |state: CreationState| {
            sqlx::query(
                "UPDATE ledger_payments SET creation = $1, lease_owner = $2, lease_until = $3, \
                   updated_at = $4 WHERE id = $5",
            )
            .bind(state.name())
            .bind(&*self.instance)
            .bind(lease_until)
            .bind(now)
            .bind(payment.id)
        };
        let step = match payment.creation {
            CreationState::Created => {
                let checkout = match row.try_get::<Option<String>, _>("checkout")? {
                    Some(text) => parse_checkout(&text)?,
                    None => Checkout::new(
                        payment.provider_payment_id.clone().unwrap_or_default(),
                        payment.status.clone(),
                    ),
                };
                Step::Done(Box::new(Created {
                    checkout,
                    outcome: CreateOutcome::Stored,
                    payment,
                }))
            }
            CreationState::NeedsReview => {
                return Err(LedgerError::NeedsReview {
                    provider: provider.to_string(),
                    reference: request.reference.clone(),
                    reason: payment
                        .review
                        .unwrap_or_else(|| "the creation's outcome is unknown".into()),
                });
            }
            CreationState::Creating | CreationState::Unknown if leased => Step::Wait,
            // A creation whose instance's lease ran out may have been sent: look it up.
            CreationState::Creating | CreationState::Unknown => {
                take(CreationState::Unknown).execute(&mut *tx).await?;
                Step::Resolve(payment.id)
            }
            CreationState::Retryable => {
                take(CreationState::Creating).execute(&mut *tx).await?;
                Step::Send(payment.id)
            }
        };
        tx.commit().await?;
        Ok(step)
    }

    /// Sends the creation (this call holds the lease) and records what it means.
    async fn send_creation(
        &self,
        provider: &dyn PaymentProvider,
        request: &CreatePayment,
        id: i64,
    ) -> Result<Created> {
        match provider.checkout(request).await {
            Ok(checkout) => {
                self.store_created(provider.name(), id, &checkout, CreateOutcome::Sent)
                    .await
            }
            Err(error) if error.delivery() == Delivery::Unknown => {
                self.set_creation(id, CreationState::Unknown, Some(&error), None)
                    .await?;
                self.resolve_by_reference(provider, request, id).await
            }
            Err(error) => {
                // Not sent, or refused by the provider: nothing was created.
                self.set_creation(id, CreationState::Retryable, Some(&error), None)
                    .await?;
                Err(error.into())
            }
        }
    }

    /// Looks a creation with an unknown outcome up by its reference (this call holds the lease).
    async fn resolve_by_reference(
        &self,
        provider: &dyn PaymentProvider,
        request: &CreatePayment,
        id: i64,
    ) -> Result<Created> {
        let unknown = || {
            format!(
                "the creation's outcome is unknown (the answer was lost) and {} cannot be \
                 searched by reference: check the provider's back office for {:?}, then call \
                 resolve_creation",
                provider.name(),
                request.reference
            )
        };
        if !provider
            .capabilities()
            .supports(Capability::FindByReference)
        {
            let reason = unknown();
            self.set_creation(id, CreationState::NeedsReview, None, Some(&reason))
                .await?;
            return Err(LedgerError::NeedsReview {
                provider: provider.name().to_string(),
                reference: request.reference.clone(),
                reason,
            });
        }
        let found = match provider.find_by_reference(&request.reference).await {
            Ok(found) => found,
            Err(error) => {
                // Still unknown; the next call searches again.
                self.set_creation(id, CreationState::Unknown, Some(&error), None)
                    .await?;
                return Err(error.into());
            }
        };
        match found.as_slice() {
            [] => {
                self.set_creation(id, CreationState::Retryable, None, None)
                    .await?;
                Err(LedgerError::NotCreated {
                    provider: provider.name().to_string(),
                    reference: request.reference.clone(),
                    reason: "its answer was lost and a search by reference found nothing".into(),
                })
            }
            [payment] => {
                let checkout = recovered_checkout(payment);
                self.store_created(provider.name(), id, &checkout, CreateOutcome::Recovered)
                    .await
            }
            several => {
                let reason = format!(
                    "{} payments found at {} for reference {:?}: a person must decide which \
                     one the order is",
                    several.len(),
                    provider.name(),
                    request.reference
                );
                self.set_creation(id, CreationState::NeedsReview, None, Some(&reason))
                    .await?;
                Err(LedgerError::NeedsReview {
                    provider: provider.name().to_string(),
                    reference: request.reference.clone(),
                    reason,
                })
            }
        }
    }

    async fn set_creation(
        &self,
        id: i64,
        state: CreationState,
        error: Option<&payments_core::Error>,
        review: Option<&str>,
    ) -> Result<()> {
        let _slot = self.writer_slot().await;
        sqlx::query(
            "UPDATE ledger_payments SET creation = $1, creation_error = $2, \
               review_reason = COALESCE($3, review_reason), lease_owner = NULL, \
               lease_until = NULL, updated_at = $4 WHERE id = $5",
        )
        .bind(state.name())
        .bind(error.map(|e| one_line(e)))
        .bind(review)
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores the provider's id and checkout, records the creation in the history, and applies
    /// any webhook that arrived for this payment before its id was known.
    pub(crate) async fn store_created(
        &self,
        provider: &str,
        id: i64,
        checkout: &Checkout,
        outcome: CreateOutcome,
    ) -> Result<Created> {
        let now = self.now();
        let policy = self.policy(provider);
        let mut tx = self.begin().await?;
        let next_check =
            (!checkout.status.is_final()).then(|| now.saturating_add(ms(policy.first_check_after)));
        sqlx::query(
            "UPDATE ledger_payments SET creation = 'created', creation_error = NULL, \
               review_reason = NULL, provider_payment_id = $1, checkout = $2, status = $3, expires_at = $4, \
               next_check_at = $5, lease_owner = NULL, lease_until = NULL, updated_at = $6 \
             WHERE id = $7",
        )
        .bind(&checkout.payment_id)
        .bind(checkout_json(checkout))
        .bind(status_text(&checkout.status))
        .bind(checkout.expires_at.map(crate::clock::unix_ms))
        .bind(next_check)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ledger_history (payment_id, source, raw_status, status, verdict, \
               status_before, status_after, note, at) \
             VALUES ($1, 'create', NULL, $2, $3, 'pending', $2, $4, $5)",
        )
        .bind(id)
        .bind(status_text(&checkout.status))
        .bind(Verdict::Created.as_str())
        .bind(match outcome {
            CreateOutcome::Recovered => Some("found by reference after the answer was lost"),
            _ => None,
        })
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let payment = self.payment_by_id_in(&mut tx, id).await?;
        self.adopt_orphans_of(&mut tx, &payment).await?;
        let payment = self.payment_by_id_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Created {
            checkout: checkout.clone(),
            outcome,
            payment,
        })
    }

    /// Applies, in arrival order, the stored webhooks that name `payment` but arrived before the
    /// ledger knew its provider id. The caller's transaction holds the payment's row.
    pub(crate) async fn adopt_orphans_of(
        &self,
        conn: &mut AnyConnection,
        payment: &LedgerPayment,
    ) -> Result<usize> {
        let Some(provider_id) = &payment.provider_payment_id else {
            return Ok(0);
        };
        let rows = sqlx::query(
            "SELECT id, status, raw_status, authenticity FROM ledger_events \
             WHERE provider = $1 AND provider_payment_id = $2 AND disposition = 'orphan' \
             ORDER BY id",
        )
        .bind(&payment.provider)
        .bind(provider_id)
        .fetch_all(&mut *conn)
        .await?;
        let recheck = ms(self.policy(&payment.provider).first_check_after);
        for row in &rows {
            let event_row: i64 = row.try_get("id")?;
            let authenticity =
                crate::model::parse_authenticity(&row.try_get::<String, _>("authenticity")?);
            let status = row
                .try_get::<Option<String>, _>("status")?
                .map(|s| crate::model::parse_status(&s))
                .filter(|_| self.trusts(&payment.provider, authenticity));
            let mut observation = Observation::new(Source::Webhook, status);
            observation.raw_status = row.try_get("raw_status")?;
            observation.authenticity = Some(authenticity);
            observation.event_row = Some(event_row);
            observation.note = Some("arrived before the payment's id was known".into());
            let current = self.payment_by_id_in(conn, payment.id).await?;
            apply(conn, self.now(), &current, &observation, recheck).await?;
            sqlx::query("UPDATE ledger_events SET disposition = 'applied' WHERE id = $1")
                .bind(event_row)
                .execute(&mut *conn)
                .await?;
        }
        Ok(rows.len())
    }
}

/// The checkout of a payment found by reference: its id and status, and the provider's answer.
fn recovered_checkout(payment: &Payment) -> Checkout {
    let mut checkout = Checkout::new(payment.id.clone(), payment.status.clone());
    checkout.raw = payment.raw.clone();
    checkout
}
