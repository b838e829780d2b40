//! The one place a payment changes: an observation (webhook, fetch, creation, redirect) is
//! weighed against the stored status with [`PaymentStatus::transition_to`], written to the
//! history, and, when something changed, queued for the merchant's handler. Always inside the
//! caller's transaction, with the payment's row locked.

use payments_core::webhook::Authenticity;
use payments_core::{Money, PaymentStatus, Transition};
use sqlx::AnyConnection;

use crate::error::Result;
use crate::model::{LedgerPayment, Source, Verdict, authenticity_text, status_text};

/// Something learnt about a payment.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub(crate) source: Source,
    /// The status reported; `None` for a notice that carries none the ledger trusts.
    pub(crate) status: Option<PaymentStatus>,
    pub(crate) raw_status: Option<String>,
    pub(crate) authenticity: Option<Authenticity>,
    /// The amount reported, when the source reports one.
    pub(crate) amount: Option<Money>,
    /// The stored webhook, for a webhook.
    pub(crate) event_row: Option<i64>,
    pub(crate) note: Option<String>,
}

impl Observation {
    pub(crate) fn new(source: Source, status: Option<PaymentStatus>) -> Self {
        Observation {
            source,
            status,
            raw_status: None,
            authenticity: None,
            amount: None,
            event_row: None,
            note: None,
        }
    }
}

/// When the reconciler should look at the payment next.
enum NextCheck {
    Keep,
    At(i64),
    Never,
}

/// Applies `observation` to `payment` (whose row the caller has locked) at `now`;
/// `recheck_after_ms` is how soon a payment that moved to a non-final status is checked.
pub(crate) async fn apply(
    conn: &mut AnyConnection,
    now: i64,
    payment: &LedgerPayment,
    observation: &Observation,
    recheck_after_ms: i64,
) -> Result<Verdict> {
    let before = &payment.status;
    let mut review: Option<String> = None;
    let mut next = NextCheck::Keep;
    let mut after = before.clone();
    let verdict = match (&observation.amount, &observation.status) {
        (Some(amount), _) if *amount != payment.amount => {
            review = Some(format!(
                "the provider reports {amount} ({}) for an order of {}",
                observation.source, payment.amount
            ));
            Verdict::AmountMismatch
        }
        (_, None) => {
            next = NextCheck::At(now);
            Verdict::FetchRequested
        }
        (_, Some(incoming)) => match before.transition_to(incoming) {
            Transition::Advance => {
                after = incoming.clone();
                if matches!(
                    incoming,
                    PaymentStatus::PartiallyPaid | PaymentStatus::Overpaid
                ) {
                    review = Some(format!(
                        "the provider reports {} for an order of {}: not the amount ordered",
                        status_text(incoming),
                        payment.amount
                    ));
                }
                next = if incoming.is_final() {
                    NextCheck::Never
                } else {
                    NextCheck::At(now.saturating_add(recheck_after_ms))
                };
                Verdict::Advance
            }
            Transition::Same => Verdict::Same,
            Transition::Stale => Verdict::Stale,
            Transition::FinalAlready => Verdict::FinalAlready,
            Transition::ConflictingFinal => {
                review = Some(format!(
                    "conflicting final statuses: {} stored, {} reported ({})",
                    status_text(before),
                    status_text(incoming),
                    observation.source
                ));
                Verdict::ConflictingFinal
            }
            _ => {
                next = NextCheck::At(now);
                Verdict::UnknownIncoming
            }
        },
    };
    let new_review = review.filter(|_| payment.review.is_none());
    let advanced = verdict == Verdict::Advance;

    if advanced || new_review.is_some() || !matches!(next, NextCheck::Keep) {
        let (set_next, next_at) = match next {
            NextCheck::Keep => (0_i64, None),
            NextCheck::At(at) => (1, Some(at)),
            NextCheck::Never => (1, None),
        };
        sqlx::query(
            "UPDATE ledger_payments SET \
               status = $1, \
               raw_status = CASE WHEN $2 = 1 THEN $3 ELSE raw_status END, \
               authenticity = CASE WHEN $2 = 1 THEN $4 ELSE authenticity END, \
               review_reason = COALESCE(review_reason, $5), \
               next_check_at = CASE WHEN $6 = 1 THEN $7 ELSE next_check_at END, \
               updated_at = $8 \
             WHERE id = $9",
        )
        .bind(status_text(&after))
        .bind(i64::from(advanced))
        .bind(observation.raw_status.clone())
        .bind(observation.authenticity.map(authenticity_text))
        .bind(new_review.clone())
        .bind(set_next)
        .bind(next_at)
        .bind(now)
        .bind(payment.id)
        .execute(&mut *conn)
        .await?;
    }

    let note = new_review.clone().or_else(|| observation.note.clone());
    let notify = advanced || new_review.is_some();
    sqlx::query(
        "INSERT INTO ledger_history (payment_id, source, event_id, raw_status, status, \
           authenticity, verdict, status_before, status_after, note, at, notify, \
           next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11)",
    )
    .bind(payment.id)
    .bind(observation.source.name())
    .bind(observation.event_row)
    .bind(observation.raw_status.clone())
    .bind(observation.status.as_ref().map(status_text))
    .bind(observation.authenticity.map(authenticity_text))
    .bind(verdict.as_str())
    .bind(status_text(before))
    .bind(status_text(&after))
    .bind(note)
    .bind(now)
    .bind(notify.then_some(NOTIFY_PENDING))
    .execute(&mut *conn)
    .await?;
    Ok(verdict)
}

/// `ledger_history.notify` of a change the merchant's handler has not accepted yet.
pub(crate) const NOTIFY_PENDING: &str = "pending";
