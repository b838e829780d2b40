//! Webhook reception without the `client` feature: the documented event is parsed into an
//! unconfirmed notice, from any web framework's raw request, with no HTTP stack.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use payments_banq::testing::{WebhookEventBuilder, guarded_url};
use payments_banq::webhook::WebhookReceiver;
use payments_core::webhook::{Authenticity, UrlSecretGuard, WebhookRejection, WebhookRequest};
use payments_test_support::{Fixtures, fixtures};

const FIXTURES: Fixtures = fixtures!();

const URL: &str = "https://shop.example/your-web-hooks/payment-status";

#[test]
fn the_documented_event_becomes_a_notice_that_needs_a_fetch_back() {
    let body = FIXTURES.bytes("webhook_payment_completed.json");
    let headers = [("Content-Type", "application/json")];
    let request =
        WebhookRequest::new("POST", URL, &body).headers(headers.iter().map(|(n, v)| (*n, *v)));
    let notice = WebhookReceiver::new().receive(&request).unwrap();
    assert!(notice.needs_fetch_back());
    assert_eq!(
        notice.payment_id(),
        Some("8b1e4f0c-2a57-4c3e-b6d9-71f0a2c4e5b3")
    );
    assert_eq!(notice.authenticity(), Authenticity::Unverified);
    assert_eq!(notice.event().action, "completed");
    assert_eq!(notice.event().resource_type, "Payment");
}

#[test]
fn builders_match_the_documented_event() {
    let built = WebhookEventBuilder::payment_completed("8b1e4f0c-2a57-4c3e-b6d9-71f0a2c4e5b3");
    let documented: serde_json::Value =
        serde_json::from_slice(&FIXTURES.bytes("webhook_payment_completed.json")).unwrap();
    assert_eq!(built.to_value(), documented);
}

#[test]
fn a_guarded_receiver_marks_notices_guarded_and_refuses_strangers() {
    let secret = "0123456789abcdef-0123456789abcdef";
    let receiver =
        WebhookReceiver::new().with_guard(UrlSecretGuard::query_param("key", secret).unwrap());
    let body = WebhookEventBuilder::payment("failed", "p-1").to_vec();
    let url = guarded_url(URL, "key", secret);
    let notice = receiver
        .receive(&WebhookRequest::new("POST", &url, &body))
        .unwrap();
    assert_eq!(notice.authenticity(), Authenticity::Guarded);
    assert!(!notice.needs_fetch_back());
    let err = receiver
        .receive(&WebhookRequest::new("POST", URL, &body))
        .unwrap_err();
    assert_eq!(
        err,
        WebhookRejection::Unauthenticated("no key query parameter".into())
    );
    assert_eq!(err.http_status(), 401);
}

/// Rotating the URL secret: the receiver accepts the current secret and, while it is configured,
/// the previous one; once the previous one is removed it is refused like any wrong value.
#[test]
fn a_previous_secret_is_accepted_while_configured_and_refused_once_removed() {
    const CURRENT: &str = "current-0123456789abcdef-0123456789";
    const PREVIOUS: &str = "previous-fedcba9876543210-fedcba98";
    let body = WebhookEventBuilder::payment_completed("p-1").to_vec();
    let rotating = WebhookReceiver::new().with_guard(
        UrlSecretGuard::query_param("token", CURRENT)
            .unwrap()
            .with_previous(PREVIOUS)
            .unwrap(),
    );
    let rotated =
        WebhookReceiver::new().with_guard(UrlSecretGuard::query_param("token", CURRENT).unwrap());
    let receive = |receiver: &WebhookReceiver, secret: &str| {
        receiver.receive(&WebhookRequest::new(
            "POST",
            &guarded_url(URL, "token", secret),
            &body,
        ))
    };
    for secret in [CURRENT, PREVIOUS] {
        let notice = receive(&rotating, secret).unwrap();
        assert_eq!(notice.authenticity(), Authenticity::Guarded);
    }
    assert!(receive(&rotated, CURRENT).is_ok());
    for (receiver, secret) in [
        (&rotated, PREVIOUS),
        (&rotating, "wrong-0123456789abcdef-0123456789"),
        (&rotating, &CURRENT[..CURRENT.len() - 1]),
        (&rotating, &format!("{PREVIOUS}x")),
    ] {
        let err = receive(receiver, secret).unwrap_err();
        assert!(
            matches!(err, WebhookRejection::Unauthenticated(_)),
            "{err:?}"
        );
        assert_eq!(err.http_status(), 401);
        let reason = err.to_string();
        assert!(
            !reason.contains(CURRENT) && !reason.contains(PREVIOUS),
            "{reason}"
        );
    }
    let shown = format!("{rotating:?}");
    assert!(
        !shown.contains(CURRENT) && !shown.contains(PREVIOUS),
        "{shown}"
    );
    // A previous secret is held to the same rules as the current one.
    let guard = UrlSecretGuard::query_param("token", CURRENT).unwrap();
    assert!(guard.clone().with_previous("short").is_err());
    assert!(
        guard.with_previous(CURRENT).is_err(),
        "the current one again"
    );
}

#[test]
fn as_a_verifier_a_notice_carries_the_claimed_payment_and_no_status() {
    use payments_core::webhook::WebhookVerifier;
    let body = FIXTURES.bytes("webhook_payment_completed.json");
    let request = WebhookRequest::new("POST", URL, &body);
    let event = WebhookReceiver::new().verify(&request).unwrap();
    assert_eq!(event.provider, "banq");
    assert_eq!(event.status, None, "a notice establishes no status");
    assert_eq!(event.raw_status, None);
    assert_eq!(
        event.payment_id.as_deref(),
        Some("8b1e4f0c-2a57-4c3e-b6d9-71f0a2c4e5b3")
    );
    assert_eq!(event.event_type.as_deref(), Some("completed"));
    assert_eq!(event.authenticity, Authenticity::Unverified);
    assert_eq!(event.dedup_key(), event.data.dedup_key());
}

#[test]
fn notice_keys_do_not_collide_when_values_hold_the_separator() {
    let notice = |resource_id: &str, action: &str| {
        let body = serde_json::json!({
            "action": action, "resourceType": "Payment", "resourceId": resource_id
        })
        .to_string();
        WebhookReceiver::new()
            .receive(&WebhookRequest::new("POST", URL, body.as_bytes()))
            .unwrap()
            .dedup_key()
    };
    assert_ne!(notice("a:completed", "x"), notice("a", "completed:x"));
    assert_eq!(notice("p-1", "completed"), notice("p-1", "completed"));
}
