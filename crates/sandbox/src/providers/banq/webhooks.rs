//! Banq's webhooks: unsigned `{action, resourceType, resourceId}` notices, sent to the account
//! space's webhook configuration (else the console URL), retried `retryCount` times.

use std::time::Duration;

use serde_json::json;

use super::model::{Payment, Store, space_of};
use crate::Provider;
use crate::app::App;
use crate::deliveries::Outgoing;

/// Retries when only the console URL is set (Banq's documented example `retryCount`).
pub(super) const DEFAULT_RETRY_COUNT: u32 = 5;

/// Banq does not publish its retry delays: 1, 2, 4, 8, 16, 32, then 60 minutes (assumed).
pub(super) fn retry_delays(retry_count: u32) -> Vec<Duration> {
    (0..retry_count)
        .map(|i| Duration::from_secs(60 * 2u64.saturating_pow(i).min(60)))
        .collect()
}

/// Where a notice about a payment into `destination` goes, and how often it is retried.
fn target(app: &App, store: &Store, destination: &str) -> Option<(String, u32)> {
    let space = space_of(destination)?;
    match store.configs.get(space) {
        Some(config) if config.delivers_payments() => {
            Some((config.url.clone(), config.retry_count))
        }
        Some(_) => None,
        None => app
            .webhook_url(Provider::Banq)
            .map(|url| (url, DEFAULT_RETRY_COUNT)),
    }
}

/// The notice of `payment`'s new status, if it has somewhere to go.
pub(super) fn notice(app: &App, store: &Store, payment: &Payment) -> Option<Outgoing> {
    let (url, retry_count) = target(app, store, &payment.destination)?;
    Some(Outgoing {
        provider: Provider::Banq,
        payment_id: payment.id.clone(),
        event: format!("Payment.{}", payment.status),
        url,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: json!({
            "action": payment.status,
            "resourceType": "Payment",
            "resourceId": payment.id,
        })
        .to_string(),
        retry_delays: retry_delays(retry_count),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_grows_and_is_capped() {
        let minutes: Vec<u64> = retry_delays(8).iter().map(|d| d.as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert!(retry_delays(0).is_empty());
    }
}
