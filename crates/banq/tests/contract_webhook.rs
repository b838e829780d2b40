//! Contract tests of the webhook fetch-back: an unsigned Banq event is trusted only after
//! `GET /payments/{resourceId}` answered, and the API's answer wins over the event's claim.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use payments_banq::testing::{WebhookEventBuilder, guarded_url, token_json};
use payments_banq::webhook::{Confirmation, WebhookReceiver};
use payments_banq::{BanqClient, BanqConfig, BanqStatus, OpenApiCredentials};
use payments_core::webhook::{Authenticity, UrlSecretGuard, WebhookRejection, WebhookRequest};
use payments_core::{Decimal, Error, PaymentStatus};
use payments_test_support::{Fixtures, fixtures, mock_http};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FIXTURES: Fixtures = fixtures!();

const COMPANY: &str = "company-42";
const PAYMENT_ID: &str = "8b1e4f0c-2a57-4c3e-b6d9-71f0a2c4e5b3";
const HOOK_URL: &str = "https://shop.example/your-web-hooks/payment-status";
const SECRET: &str = "hook-secret-0123456789abcdef";

async fn setup() -> (MockServer, BanqClient) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("tok-open", 3600)))
        .mount(&server)
        .await;
    let client = BanqClient::new(
        BanqConfig::new(COMPANY, OpenApiCredentials::new("client", "user", "pw"))
            .api_base_url(format!("{}/api/v1", server.uri()))
            .token_url(format!("{}/oauth/token", server.uri()))
            .http(mock_http()),
    )
    .unwrap();
    (server, client)
}

/// The fetch-back route answering `body`, expected exactly `times` times.
async fn mount_payment(server: &MockServer, body: String, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/payments/{PAYMENT_ID}")))
        .and(header("authorization", "Bearer tok-open"))
        .and(header("x-company-id", COMPANY))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .expect(times)
        .named("fetch-back")
        .mount(server)
        .await;
}

/// Hands `body` to the client as an unguarded delivery to the webhook URL.
async fn deliver(client: &BanqClient, body: &[u8]) -> Result<Confirmation, Error> {
    client
        .handle_webhook(
            &WebhookReceiver::new(),
            &WebhookRequest::new("POST", HOOK_URL, body),
        )
        .await
}

async fn api_calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/api/"))
        .count()
}

#[tokio::test]
async fn a_completed_payment_event_is_confirmed_by_exactly_one_fetch() {
    let (server, client) = setup().await;
    mount_payment(&server, FIXTURES.text("payment_completed_200.json"), 1).await;
    // The documented event, byte for byte from the fixture.
    let body = FIXTURES.text("webhook_payment_completed.json").into_bytes();
    let request =
        WebhookRequest::new("POST", HOOK_URL, &body).header("Content-Type", "application/json");
    let confirmation = client
        .handle_webhook(&WebhookReceiver::new(), &request)
        .await
        .unwrap();
    let Confirmation::Confirmed(event) = confirmation else {
        panic!("expected a confirmed payment, got {confirmation:?}");
    };
    assert_eq!(event.authenticity, Authenticity::FetchedBack);
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(event.raw_status.as_deref(), Some("completed"));
    assert_eq!(event.payment_id.as_deref(), Some(PAYMENT_ID));
    assert_eq!(event.event_type.as_deref(), Some("Payment.completed"));
    assert_eq!(event.dedup_key(), format!("banq:{PAYMENT_ID}:completed"));
    assert_eq!(event.raw_body, body);
    assert_eq!(event.data.funds, Some(Decimal::parse("100.10").unwrap()));
    assert_eq!(
        event.data.external_order_code.as_deref(),
        Some("order-1234")
    );
    insta::assert_json_snapshot!(
        "confirmed_payment",
        json!({
            "provider": event.provider,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "payment_id": event.payment_id,
            "status": event.status,
            "raw_status": event.raw_status,
            "authenticity": format!("{:?}", event.authenticity),
            "data": event.data,
        })
    );
}

#[tokio::test]
async fn a_forged_completed_event_yields_the_status_the_api_reports() {
    for (fixture, status, raw) in [
        (
            "payment_pending_200.json",
            PaymentStatus::Pending,
            "pending",
        ),
        ("payment_failed_200.json", PaymentStatus::Failed, "failed"),
    ] {
        let (server, client) = setup().await;
        mount_payment(&server, FIXTURES.text(fixture), 1).await;
        let body = WebhookEventBuilder::payment_completed(PAYMENT_ID)
            .field("status", json!("completed"))
            .field("funds", json!(1_000_000))
            .to_vec();
        let notice = WebhookReceiver::new()
            .receive(&WebhookRequest::new("POST", HOOK_URL, &body))
            .unwrap();
        let confirmation = client.confirm(notice).await.unwrap();
        let event = confirmation.confirmed().expect("fetched back");
        assert_eq!(event.status, Some(status.clone()), "{fixture}");
        assert_eq!(event.raw_status.as_deref(), Some(raw));
        assert!(!event.status.as_ref().unwrap().is_success());
        assert_eq!(
            event.data.funds,
            Some(Decimal::parse("100.10").unwrap()),
            "the API's amount, not the event's"
        );
    }
}

#[tokio::test]
async fn a_fetch_back_about_another_payment_confirms_nothing() {
    // The API answers for a payment other than the notice's resourceId: never a confirmation,
    // whatever its status, and the fetch is made exactly once.
    let (server, client) = setup().await;
    mount_payment(
        &server,
        json!({"id": "someone-elses-payment", "status": "completed", "funds": 100}).to_string(),
        1,
    )
    .await;
    let body = WebhookEventBuilder::payment_completed(PAYMENT_ID).to_vec();
    let notice = WebhookReceiver::new()
        .receive(&WebhookRequest::new("POST", HOOK_URL, &body))
        .unwrap();
    let err = client.confirm(notice).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains(PAYMENT_ID), "{err}");

    // Any of the id fields naming the resourceId is enough (Banq's names are not published).
    let (server, client) = setup().await;
    mount_payment(
        &server,
        json!({"id": 4711, "guid": PAYMENT_ID, "status": "completed"}).to_string(),
        1,
    )
    .await;
    let notice = WebhookReceiver::new()
        .receive(&WebhookRequest::new("POST", HOOK_URL, &body))
        .unwrap();
    let confirmation = client.confirm(notice).await.unwrap();
    let event = confirmation.confirmed().unwrap();
    assert_eq!(event.payment_id.as_deref(), Some(PAYMENT_ID));
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
}

#[tokio::test]
async fn dot_segment_resource_ids_are_rejected_without_a_request() {
    // `..` would be dropped from the path by URL normalisation, turning the fetch-back into
    // `GET /payments` (a list): refused as a malformed payload before anything is sent.
    let (server, client) = setup().await;
    for id in ["..", "."] {
        let body = WebhookEventBuilder::payment_completed(id).to_vec();
        let err = deliver(&client, &body).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::WebhookRejected(WebhookRejection::MalformedPayload(_))
            ),
            "{id}: {err:?}"
        );
    }
    assert_eq!(api_calls(&server).await, 0);
}

#[tokio::test]
async fn an_unknown_fetched_status_is_unknown_never_success() {
    let (server, client) = setup().await;
    mount_payment(
        &server,
        json!({"id": PAYMENT_ID, "status": "SettledMaybe"}).to_string(),
        1,
    )
    .await;
    let body = WebhookEventBuilder::payment_completed(PAYMENT_ID).to_vec();
    let notice = WebhookReceiver::new()
        .receive(&WebhookRequest::new("POST", HOOK_URL, &body))
        .unwrap();
    let confirmation = client.confirm(notice).await.unwrap();
    let event = confirmation.confirmed().unwrap();
    assert_eq!(
        event.status,
        Some(PaymentStatus::Unknown("SettledMaybe".into()))
    );
    assert_eq!(event.data.status, BanqStatus::Other("SettledMaybe".into()));
}

#[tokio::test]
async fn non_payment_and_non_completed_events_stay_unconfirmed_notices_without_a_request() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for builder in [
        WebhookEventBuilder::transaction("completed", "tx-1"),
        WebhookEventBuilder::payment("created", PAYMENT_ID),
        WebhookEventBuilder::payment("failed", PAYMENT_ID),
        WebhookEventBuilder::new("updated", "AccountSpace", "as-1"),
    ] {
        let body = builder.to_vec();
        let confirmation = deliver(&client, &body).await.unwrap();
        match confirmation {
            Confirmation::Notice(notice) => {
                assert_eq!(notice.authenticity(), Authenticity::Unverified);
                assert!(!notice.needs_fetch_back());
                assert_eq!(notice.raw_body(), body);
            }
            other => panic!("expected a notice, got {other:?}"),
        }
    }
    assert_eq!(api_calls(&server).await, 0);
}

#[tokio::test]
async fn garbage_bodies_are_rejected_without_a_request() {
    let (server, client) = setup().await;
    for body in [
        &b""[..],
        b"\x00\xff garbage",
        b"<xml/>",
        b"[1,2,3]",
        br#"{"action":"completed","resourceType":"Payment"}"#,
        br#"{"action":"completed","resourceType":"Payment","resourceId":{"id":1}}"#,
    ] {
        let err = deliver(&client, body).await.unwrap_err();
        match err {
            Error::WebhookRejected(rejection @ WebhookRejection::MalformedPayload(_)) => {
                assert_eq!(rejection.http_status(), 400)
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(api_calls(&server).await, 0);
}

#[tokio::test]
async fn the_shared_secret_guard_runs_before_any_fetch() {
    let (server, client) = setup().await;
    mount_payment(&server, FIXTURES.text("payment_completed_200.json"), 1).await;
    let receiver =
        WebhookReceiver::new().with_guard(UrlSecretGuard::query_param("token", SECRET).unwrap());
    let body = WebhookEventBuilder::payment_completed(PAYMENT_ID).to_vec();
    for url in [
        HOOK_URL.to_string(),
        guarded_url(HOOK_URL, "token", "wrong-secret-0123456789"),
    ] {
        let err = client
            .handle_webhook(&receiver, &WebhookRequest::new("POST", &url, &body))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::WebhookRejected(WebhookRejection::Unauthenticated(_))
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains(SECRET));
    }
    assert_eq!(api_calls(&server).await, 0);
    let url = guarded_url(HOOK_URL, "token", SECRET);
    let confirmation = client
        .handle_webhook(&receiver, &WebhookRequest::new("POST", &url, &body))
        .await
        .unwrap();
    // Guarded or not, the trusted event is the fetched one.
    assert_eq!(
        confirmation.confirmed().unwrap().authenticity,
        Authenticity::FetchedBack
    );
}

#[tokio::test]
async fn a_fetch_back_that_fails_confirms_nothing() {
    // 404: the payment is not this merchant's (or the event is forged).
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "code": "PaymentNotFound", "message": "Payment not found"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let body = WebhookEventBuilder::payment_completed("forged-id").to_vec();
    let err = deliver(&client, &body).await.unwrap_err();
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.provider_code(), Some("PaymentNotFound"));

    // An answer without a status: a decode error, not a guessed status.
    let (server, client) = setup().await;
    mount_payment(&server, json!({"id": PAYMENT_ID}).to_string(), 1).await;
    let body = WebhookEventBuilder::payment_completed(PAYMENT_ID).to_vec();
    let err = deliver(&client, &body).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");

    // 503 twice then 200: the read is retried (it is idempotent) and confirms.
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    mount_payment(&server, FIXTURES.text("payment_completed_200.json"), 1).await;
    let confirmation = deliver(&client, &body).await.unwrap();
    assert!(confirmation.confirmed().is_some());
}
