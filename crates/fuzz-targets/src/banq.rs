//! Banq: the URL secret, events, API answers.

use payments_banq::webhook::{WebhookEvent, WebhookReceiver};
use payments_banq::wire::{parse_payment, parse_payment_link, parse_user, parse_webhook_config};
use payments_core::Currency;
use payments_core::webhook::{Authenticity, UrlSecretGuard, WebhookRequest, WebhookVerifier};

use crate::support::{select, text};

const SECRET: &str = "9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9";
const URL: &str = "https://shop.example/banq/webhook?token=9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9";
/// The event fields Banq's integration guide names (webhooks, step 2).
const BODY: &[u8] = br#"{"action":"completed","resourceType":"Payment","resourceId":"5f9b2c7e-3c1a-4d8e-9f2b-1a2b3c4d5e6f"}"#;

/// Banq's webhook receiver and its API answers. The first byte selects (modulo 3):
///
/// - `0`: the webhook URL, checked by a receiver guarded by the query parameter `token`
///   ([`WebhookReceiver::with_guard`](payments_banq::webhook::WebhookReceiver::with_guard)), on
///   a fixed body: an accepted notice is `Guarded` and its URL holds the secret.
/// - `1`: the event body, to an unguarded receiver: it accepts exactly what
///   [`WebhookEvent::parse`](payments_banq::webhook::WebhookEvent::parse) accepts, a notice to
///   fetch back names a payment id, and the neutral event carries no status (Banq's notices
///   establish none).
/// - `2`: API answers: the payment link, the payment (and its neutral payment in EUR and in
///   XOF), the user, the webhook configuration, and the error body.
pub fn banq(data: &[u8]) {
    let Some((selector, input)) = select(data, 3) else {
        return;
    };
    match selector {
        0 => guarded_url(input),
        1 => event(input),
        _ => api_answers(input),
    }
}

fn guarded_url(input: &[u8]) {
    let Ok(guard) = UrlSecretGuard::query_param("token", SECRET) else {
        return;
    };
    let receiver = WebhookReceiver::new().with_guard(guard);
    let url = text(input);
    let request = WebhookRequest::new("POST", &url, BODY);
    if let Ok(notice) = receiver.receive(&request) {
        assert_eq!(notice.authenticity(), Authenticity::Guarded);
        let decoded = payments_core::provider_support::percent_decode(&url);
        assert!(
            String::from_utf8_lossy(&decoded).contains(SECRET),
            "{url:?} passed without the secret"
        );
    }
}

fn event(input: &[u8]) {
    let receiver = WebhookReceiver::new();
    let request = WebhookRequest::new("POST", URL, input);
    let received = receiver.receive(&request);
    let parsed = WebhookEvent::parse(input);
    let too_large = input.len() > payments_banq::webhook::MAX_BODY;
    assert_eq!(received.is_ok(), parsed.is_ok() && !too_large);
    if let Ok(notice) = received {
        assert_eq!(notice.authenticity(), Authenticity::Unverified);
        if notice.needs_fetch_back() {
            assert!(notice.payment_id().is_some_and(|id| !id.is_empty()));
        }
        let _ = notice.dedup_key();
    }
    if let Ok(event) = receiver.verify(&request) {
        assert_eq!(event.status, None, "a Banq notice established a status");
        assert_eq!(event.raw_status, None);
    }
}

fn api_answers(input: &[u8]) {
    let _ = parse_payment_link(input);
    if let Ok(payment) = parse_payment(input) {
        for currency in [Currency::EUR, Currency::XOF] {
            let _ = payments_banq::convert::to_payment(&payment, "requested-id", currency);
        }
    }
    let _ = parse_user(input);
    let _ = parse_webhook_config(input);
    let _ = payments_banq::convert::provider_error(input);
}
