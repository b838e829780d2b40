//! A status poller that follows HUB2's rules. Prefer webhooks; poll when a webhook cannot reach
//! you or on the payer side (a payment page waiting for the payer to confirm on their phone).
//!
//! # HUB2's limits, and how the poller respects them
//! HUB2 limits calls per source IP (answering `429 Too Many Requests`), in sandbox and live:
//!
//! | call | documented limit | what the poller does |
//! |---|---|---|
//! | `GET /payment-intents/{id}/status` with the API key | ~5 requests / 5 s per intent | at most one request per [`PollPolicy::interval`], never below 1 s ([`MIN_INTERVAL`]) |
//! | `GET /payment-intents/{id}/status?token=` | not rate limited | the same pacing anyway |
//! | `GET /payment-intents/{id}` | ~1 request / 5 s per intent | never used by the poller |
//! | all calls | ~50 requests / 5 s | one request at a time per poller; run few pollers per IP |
//!
//! and states that polling an intent that is not `processing` or `action_required` gets the IP
//! throttled or temporarily banned. So the poller:
//! - sends **nothing** when the last known status is not `processing` / `action_required` (a
//!   final intent is never polled again; `payment_required` is not polled either);
//! - waits [`PollPolicy::interval`] (default 3 s) *before* each request, one request at a time;
//! - stops as soon as an answer is not `processing` / `action_required` (a final status, or
//!   `payment_required` after a failed attempt, or a value this crate does not know);
//! - on `429` waits `Retry-After` when HUB2 sends it, else [`PollPolicy::rate_limited_wait`] (one
//!   full 5-second window), and never less than the interval; its own HTTP calls are not retried
//!   by the client, so a 429 is never answered with an immediate retry;
//! - on a transient failure (5xx, timeout, connection) waits a growing multiple of the interval
//!   and gives up after [`PollPolicy::max_consecutive_errors`];
//! - stops at the deadline ([`PollPolicy::max_duration`], default 10 minutes — an Orange OTP
//!   payment expires after 10 minutes) without sleeping past it, returning the last status; a
//!   status call still in flight at the deadline is abandoned (a read is harmless to drop), so
//!   a slow answer or a long HTTP timeout does not stretch the deadline. A wait that ends
//!   after the deadline (e.g. a long `Retry-After`) ends polling at once with
//!   [`StopReason::Deadline`].
//!
//! Sleeping uses `tokio::time`, so tests can run it under a paused clock.

use std::time::Duration;

use payments_core::{Error, Result};
use tokio::time::Instant;

use crate::client::{Hub2Client, PayerClient};
use crate::wire::IntentStatus;

/// The shortest interval between two status calls for one intent (5 per 5 s documented).
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// How patiently to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// Wait before each status call (raised to [`MIN_INTERVAL`] if lower).
    pub interval: Duration,
    /// Stop after this long, returning the last status with [`StopReason::Deadline`].
    pub max_duration: Duration,
    /// Wait after a 429 without `Retry-After`.
    pub rate_limited_wait: Duration,
    /// Give up (returning the error) after this many failures in a row.
    pub max_consecutive_errors: u32,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            interval: Duration::from_secs(3),
            max_duration: Duration::from_secs(10 * 60),
            rate_limited_wait: Duration::from_secs(5),
            max_consecutive_errors: 5,
        }
    }
}

impl PollPolicy {
    /// Sets the interval (at least [`MIN_INTERVAL`]).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the deadline, counted from the start of polling.
    pub fn max_duration(mut self, max: Duration) -> Self {
        self.max_duration = max;
        self
    }

    /// Sets the wait after a 429 without `Retry-After`.
    pub fn rate_limited_wait(mut self, wait: Duration) -> Self {
        self.rate_limited_wait = wait;
        self
    }

    /// Sets how many failures in a row end polling.
    pub fn max_consecutive_errors(mut self, max: u32) -> Self {
        self.max_consecutive_errors = max;
        self
    }

    fn effective_interval(&self) -> Duration {
        self.interval.max(MIN_INTERVAL)
    }
}

/// Why polling stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The intent reached `successful`, `failed` or `canceled`.
    Final,
    /// The intent is in a status that must not be polled (`payment_required`, or a value this
    /// crate does not know): nothing more to wait for by polling.
    NotPollable,
    /// The deadline came first; the status is the last one seen.
    Deadline,
}

/// The result of polling.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollOutcome {
    /// The last status known.
    pub status: IntentStatus,
    /// Why polling stopped.
    pub stop: StopReason,
    /// Status calls sent (429 answers included).
    pub requests: u32,
    /// Time spent.
    pub elapsed: Duration,
}

/// Where the poller reads the status from: the API key or the intent token.
#[async_trait::async_trait]
pub trait StatusSource: Send + Sync {
    /// One status call, without retries (the poller paces itself).
    async fn fetch_status(&self) -> Result<IntentStatus>;
}

/// The status of one intent read with the merchant's API key (see [`Hub2Client::status_source`]).
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyStatus<'a> {
    client: &'a Hub2Client,
    intent_id: &'a str,
}

#[async_trait::async_trait]
impl StatusSource for ApiKeyStatus<'_> {
    async fn fetch_status(&self) -> Result<IntentStatus> {
        Ok(self
            .client
            .intent_status(self.intent_id, true)
            .await?
            .status)
    }
}

#[async_trait::async_trait]
impl StatusSource for PayerClient {
    async fn fetch_status(&self) -> Result<IntentStatus> {
        Ok(self.status_inner(true).await?.status)
    }
}

fn stop_for(status: &IntentStatus) -> StopReason {
    if status.is_final() {
        StopReason::Final
    } else {
        StopReason::NotPollable
    }
}

/// Polls `source` from `last_known` under `policy` (see the [module docs](self) for the rules).
pub async fn poll(
    source: &dyn StatusSource,
    last_known: IntentStatus,
    policy: &PollPolicy,
) -> Result<PollOutcome> {
    let started = Instant::now();
    // A deadline too far to represent (`Duration::MAX`) is no deadline.
    let deadline = started.checked_add(policy.max_duration);
    let interval = policy.effective_interval();
    let mut status = last_known;
    let mut requests = 0u32;
    let mut errors = 0u32;
    let mut wait = interval;
    let outcome = |status: IntentStatus, stop: StopReason, requests: u32| PollOutcome {
        status,
        stop,
        requests,
        elapsed: started.elapsed(),
    };
    loop {
        if !status.is_pollable() {
            let stop = stop_for(&status);
            return Ok(outcome(status, stop, requests));
        }
        // `wait` can come from the network (`Retry-After: 18446744073709551615`): an instant
        // past what the clock can represent is past any deadline, never a panic.
        let wake = Instant::now().checked_add(wait);
        if let Some(deadline) = deadline
            && wake.is_none_or(|wake| wake > deadline)
        {
            return Ok(outcome(status, StopReason::Deadline, requests));
        }
        tokio::time::sleep(wait).await;
        requests += 1;
        // The deadline also bounds the request in flight (a slow answer, a long HTTP timeout):
        // a status read is harmless to abandon.
        let fetched = match deadline {
            Some(deadline) => {
                match tokio::time::timeout_at(deadline, source.fetch_status()).await {
                    Ok(fetched) => fetched,
                    Err(_elapsed) => {
                        return Ok(outcome(status, StopReason::Deadline, requests));
                    }
                }
            }
            None => source.fetch_status().await,
        };
        match fetched {
            Ok(fresh) => {
                errors = 0;
                wait = interval;
                status = fresh;
            }
            Err(Error::RateLimited { retry_after, .. }) => {
                wait = retry_after
                    .unwrap_or(policy.rate_limited_wait)
                    .max(interval);
            }
            Err(e) if transient(&e) => {
                errors += 1;
                if errors >= policy.max_consecutive_errors {
                    return Err(e);
                }
                wait = interval.saturating_mul(errors + 1);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Failures worth another poll: not sent, 5xx/408, or no answer (a status read is harmless to
/// repeat).
fn transient(e: &Error) -> bool {
    e.is_retryable() || matches!(e, Error::OutcomeUnknown { .. })
}

impl Hub2Client {
    /// The status of `intent_id` by API key, as a [`StatusSource`] for [`poll`].
    pub fn status_source<'a>(&'a self, intent_id: &'a str) -> ApiKeyStatus<'a> {
        ApiKeyStatus {
            client: self,
            intent_id,
        }
    }

    /// Polls `GET /payment-intents/{id}/status` (API key) from `last_known`, the status the
    /// merchant last saw (e.g. `processing` after an attempt). Sends nothing when `last_known` is
    /// not `processing` / `action_required`.
    pub async fn poll_status(
        &self,
        intent_id: &str,
        last_known: IntentStatus,
        policy: &PollPolicy,
    ) -> Result<PollOutcome> {
        poll(&self.status_source(intent_id), last_known, policy).await
    }
}

impl PayerClient {
    /// Polls `GET /payment-intents/{id}/status?token=` from `last_known`. Sends nothing when
    /// `last_known` is not `processing` / `action_required`.
    pub async fn poll_status(
        &self,
        last_known: IntentStatus,
        policy: &PollPolicy,
    ) -> Result<PollOutcome> {
        poll(self, last_known, policy).await
    }
}
