//! Reading the ledger, and the two things a person does with a payment in review.

use payments_core::{Checkout, PaymentStatus};
use sqlx::AnyConnection;

use crate::create::{CreateOutcome, Created};
use crate::error::{LedgerError, Result};
use crate::ledger::Ledger;
use crate::model::{CreationState, HistoryEntry, LedgerPayment, status_text};

fn select_payments(filter: &str) -> String {
    format!(
        "SELECT {} FROM ledger_payments {filter}",
        LedgerPayment::COLUMNS
    )
}

/// What a person found at the provider for a creation held for review.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolution {
    /// The provider holds the payment under this id: store it as created (the reconciler then
    /// fetches its status).
    Created {
        /// The provider's payment id.
        payment_id: String,
    },
    /// The provider holds no payment for the reference: the next `create_once` sends it.
    NotCreated,
}

impl Ledger {
    /// The payment for `reference` at `provider`.
    ///
    /// # Errors
    /// [`LedgerError::Store`].
    pub async fn payment(&self, provider: &str, reference: &str) -> Result<Option<LedgerPayment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(select_payments(
            "WHERE provider = $1 AND reference = $2",
        )))
        .bind(provider)
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(LedgerPayment::from_row).transpose()
    }

    /// The payment with the provider's id `payment_id`.
    ///
    /// # Errors
    /// [`LedgerError::Store`].
    pub async fn payment_by_provider_id(
        &self,
        provider: &str,
        payment_id: &str,
    ) -> Result<Option<LedgerPayment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(select_payments(
            "WHERE provider = $1 AND provider_payment_id = $2",
        )))
        .bind(provider)
        .bind(payment_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(LedgerPayment::from_row).transpose()
    }

    pub(crate) async fn payment_by_id(&self, id: i64) -> Result<LedgerPayment> {
        let mut conn = self.pool.acquire().await?;
        self.payment_by_id_in(&mut conn, id).await
    }

    pub(crate) async fn payment_by_id_in(
        &self,
        conn: &mut AnyConnection,
        id: i64,
    ) -> Result<LedgerPayment> {
        let row = sqlx::query(sqlx::AssertSqlSafe(select_payments("WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("payment {id}")))?;
        LedgerPayment::from_row(&row)
    }

    /// Every observation of the payment for `reference` at `provider`, oldest first: applied or
    /// not, with its source, raw and unified status, authenticity and verdict.
    ///
    /// # Errors
    /// [`LedgerError::NotFound`], [`LedgerError::Store`].
    pub async fn history(&self, provider: &str, reference: &str) -> Result<Vec<HistoryEntry>> {
        let payment = self
            .payment(provider, reference)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("{provider} payment {reference:?}")))?;
        let rows = sqlx::query(
            "SELECT h.id, h.source, e.dedup_key, h.raw_status, h.status, h.authenticity, \
               h.verdict, h.status_before, h.status_after, h.note, h.at \
             FROM ledger_history h LEFT JOIN ledger_events e ON e.id = h.event_id \
             WHERE h.payment_id = $1 ORDER BY h.id",
        )
        .bind(payment.id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(HistoryEntry::from_row).collect()
    }

    /// The payments in `status` (any status when `None`), newest first, at most `limit`.
    ///
    /// # Errors
    /// [`LedgerError::Store`].
    pub async fn list(
        &self,
        status: Option<&PaymentStatus>,
        limit: i64,
    ) -> Result<Vec<LedgerPayment>> {
        let rows = match status {
            Some(status) => {
                sqlx::query(sqlx::AssertSqlSafe(select_payments(
                    "WHERE status = $1 ORDER BY id DESC LIMIT $2",
                )))
                .bind(status_text(status))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(select_payments(
                    "ORDER BY id DESC LIMIT $1",
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(LedgerPayment::from_row).collect()
    }

    /// The payments a person must look at (a conflicting final status, an amount that is not
    /// the order's, a partial or over-payment, a creation whose outcome is unknown at a provider
    /// that cannot be searched, a payment that never resolved), oldest first.
    ///
    /// # Errors
    /// [`LedgerError::Store`].
    pub async fn needs_review(&self) -> Result<Vec<LedgerPayment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(select_payments(
            "WHERE review_reason IS NOT NULL ORDER BY id",
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(LedgerPayment::from_row).collect()
    }

    /// Records what a person found at the provider for a creation held for review
    /// ([`CreationState::NeedsReview`]).
    ///
    /// # Errors
    /// [`LedgerError::NotFound`] when the payment is not held for review,
    /// [`LedgerError::Store`].
    pub async fn resolve_creation(
        &self,
        provider: &str,
        reference: &str,
        resolution: Resolution,
    ) -> Result<Option<Created>> {
        let payment = self
            .payment(provider, reference)
            .await?
            .filter(|p| p.creation == CreationState::NeedsReview)
            .ok_or_else(|| {
                LedgerError::NotFound(format!("{provider} payment {reference:?} held for review"))
            })?;
        match resolution {
            Resolution::Created { payment_id } => {
                let checkout = Checkout::new(payment_id, PaymentStatus::Pending);
                let created = self
                    .store_created(provider, payment.id, &checkout, CreateOutcome::Recovered)
                    .await?;
                Ok(Some(created))
            }
            Resolution::NotCreated => {
                let _slot = self.writer_slot().await;
                sqlx::query(
                    "UPDATE ledger_payments SET creation = 'retryable', review_reason = NULL, \
                       updated_at = $1 WHERE id = $2",
                )
                .bind(self.now())
                .bind(payment.id)
                .execute(&self.pool)
                .await?;
                Ok(None)
            }
        }
    }

    /// Clears a payment's review once a person has dealt with it (the history keeps why it was
    /// raised).
    ///
    /// # Errors
    /// [`LedgerError::NotFound`], [`LedgerError::Store`].
    pub async fn clear_review(&self, provider: &str, reference: &str, note: &str) -> Result<()> {
        let payment = self
            .payment(provider, reference)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("{provider} payment {reference:?}")))?;
        let now = self.now();
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE ledger_payments SET review_reason = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(payment.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ledger_history (payment_id, source, verdict, status_before, status_after, \
               note, at) VALUES ($1, 'review', 'resolved', $2, $2, $3, $4)",
        )
        .bind(payment.id)
        .bind(status_text(&payment.status))
        .bind(note)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
