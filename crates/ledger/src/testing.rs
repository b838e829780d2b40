//! Crash points for the ledger's own crash tests: a test's child process sets one, and the
//! process aborts there, as a machine losing power would stop it. Not part of the API.

use std::sync::atomic::{AtomicU8, Ordering};

/// Where an armed crash point (see [`arm_crash_point`]) aborts the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum CrashPoint {
    /// Inside the webhook's transaction, before the event is inserted.
    BeforeEventInsert = 1,
    /// Inside the webhook's transaction, after the event is inserted and before it is applied.
    AfterEventInsert = 2,
    /// After everything is written, before the commit.
    BeforeCommit = 3,
    /// After the commit, before the receipt is returned (the provider never gets its 2xx).
    AfterCommit = 4,
}

static ARMED: AtomicU8 = AtomicU8::new(0);

/// Makes the process abort the next time it reaches `point`. For the crate's crash tests only.
#[doc(hidden)]
pub fn arm_crash_point(point: CrashPoint) {
    ARMED.store(point as u8, Ordering::SeqCst);
}

/// Aborts the process when `point` is armed; otherwise one relaxed load.
pub(crate) fn crash_point(point: CrashPoint) {
    if ARMED.load(Ordering::Relaxed) == point as u8 {
        std::process::abort();
    }
}

/// The ledger's connection pool, for the ingest benchmark's baseline (a bare insert through
/// the same pool). Not part of the API.
#[doc(hidden)]
pub fn pool(ledger: &crate::Ledger) -> sqlx::AnyPool {
    ledger.pool.clone()
}
