//! What can go wrong, each as one line that names what was wrong.

use payments_core::Money;

/// Every failure of the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The database URL cannot be used.
    #[error("invalid database URL: {0}")]
    Url(String),
    /// The database could not be opened or migrated.
    #[error("cannot open the ledger database: {0}")]
    Open(String),
    /// The database was written by a newer version of this crate.
    #[error(
        "the ledger database has schema version {found}, newer than this payments-ledger knows \
         ({known}): upgrade payments-ledger"
    )]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this crate knows.
        known: i64,
    },
    /// A database operation failed (connection lost, disk full, read-only file, ...). Nothing
    /// was half-written: every change is one transaction.
    #[error("ledger database error: {0}")]
    Store(String),
    /// The merchant reference was already used for a payment of another amount or currency.
    #[error(
        "reference {reference:?} at {provider} was created for {stored}, not {requested}: a \
         reference names one payment"
    )]
    ReferenceConflict {
        /// The provider.
        provider: String,
        /// The merchant reference.
        reference: String,
        /// The amount stored for it.
        stored: Money,
        /// The amount asked for now.
        requested: Money,
    },
    /// A person must look before anything more is sent for this payment.
    #[error("payment {reference:?} at {provider} needs review: {reason}")]
    NeedsReview {
        /// The provider.
        provider: String,
        /// The merchant reference.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The provider does not hold the payment: the creation was lost before it was processed.
    /// Nothing more happens until `create_once` is called again, which sends it.
    #[error(
        "payment {reference:?} at {provider} was not created ({reason}); call create_once again \
         to send it"
    )]
    NotCreated {
        /// The provider.
        provider: String,
        /// The merchant reference.
        reference: String,
        /// How the ledger knows.
        reason: String,
    },
    /// Another instance is creating this payment right now and has not finished.
    #[error(
        "payment {reference:?} at {provider} is being created by another instance; call \
         create_once again shortly"
    )]
    CreationInProgress {
        /// The provider.
        provider: String,
        /// The merchant reference.
        reference: String,
    },
    /// The provider's call failed (see [`payments_core::Error::delivery`] for whether it may
    /// have reached the provider; the ledger has recorded which).
    #[error(transparent)]
    Provider(#[from] payments_core::Error),
    /// No such payment, notification or dead letter.
    #[error("not found: {0}")]
    NotFound(String),
    /// The reconciler has no client for this provider.
    #[error("no client registered for provider {0:?}")]
    UnknownProvider(String),
}

impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        LedgerError::Store(one_line(&e))
    }
}

/// Result with [`LedgerError`].
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// An error's message on one line, bounded.
pub(crate) fn one_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > 300 {
        let mut end = 300;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    line
}
