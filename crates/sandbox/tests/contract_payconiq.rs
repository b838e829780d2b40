//! The Payconiq crate's real client and verifiers against the sandbox: every v3 endpoint, the
//! status machine, signed callbacks verified with keys fetched from the sandbox's JWKS, the
//! emulator's own refusals, and injected faults (nothing is ever created twice).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use futures_util::TryStreamExt;
use payments_core::webhook::{
    AsyncWebhookVerifier, Authenticity, VerifiedEvent, WebhookRejection, WebhookRequest,
};
use payments_core::{Currency, Error, Money, PaymentStatus};
use payments_payconiq::convert::unified_status;
use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
use payments_payconiq::webhook::{JwkSet, PayconiqEvent, WebhookSettings};
use payments_payconiq::{
    AcknowledgeRequest, CreatePaymentRequest, Environment, PayconiqClient, PayconiqConfig,
    PayconiqStatus, SearchQuery,
};
use payments_sandbox::{
    ControlError, DeliveryRecord, DeliveryState, Fault, PayerAction, Provider, RunningSandbox,
    SANDBOX_OTP,
};
use payments_test_support::{
    act, count_requests, fast_http, fault_once, fault_once_after_processing, sink_url,
    start_sandbox, status_fault, too_many_requests,
};
use serde_json::{Value, json};

#[path = "support/page.rs"]
mod page;

const PAYMENTS: &str = "/payconiq/v3/payments";
const ONE_PAYMENT: &str = "/payconiq/v3/payments/*";

fn client_with_key(sandbox: &RunningSandbox, key: &str) -> PayconiqClient {
    PayconiqClient::new(
        PayconiqConfig::new(key, Environment::PreProduction)
            .base_url(api_base_url(sandbox))
            .http(fast_http()),
    )
    .unwrap()
}

fn api_base_url(sandbox: &RunningSandbox) -> String {
    sandbox.payconiq().api_base_url
}

fn client(sandbox: &RunningSandbox) -> PayconiqClient {
    client_with_key(sandbox, &sandbox.credentials().payconiq_api_key)
}

fn sink(sandbox: &RunningSandbox, name: &str) -> String {
    sink_url(sandbox, &format!("payconiq/{name}"))
}

fn eur(cents: i64) -> Money {
    Money::from_minor(cents, Currency::EUR)
}

fn jwks_url(sandbox: &RunningSandbox) -> String {
    sandbox.payconiq().jwks_url
}

/// Creates a payment of `cents` euro cents whose callbacks go to sink `name`; its id.
async fn create_notified(
    client: &PayconiqClient,
    sandbox: &RunningSandbox,
    cents: i64,
    name: &str,
) -> String {
    let request = CreatePaymentRequest::new(eur(cents)).callback_url(sink(sandbox, name));
    client.create_payment(&request).await.unwrap().payment_id
}

/// [`verify`] of the delivery's own body, as the sandbox sent it.
async fn verify_as_sent(
    sandbox: &RunningSandbox,
    delivery: &DeliveryRecord,
) -> Result<VerifiedEvent<PayconiqEvent>, WebhookRejection> {
    verify(sandbox, delivery, delivery.body.as_bytes()).await
}

async fn verify(
    sandbox: &RunningSandbox,
    delivery: &DeliveryRecord,
    body: &[u8],
) -> Result<VerifiedEvent<PayconiqEvent>, WebhookRejection> {
    let fetcher = JwksFetcher::new(&jwks_url(sandbox), &JwksFetcher::default_http()).unwrap();
    let verifier = JwksWebhookVerifier::new(
        WebhookSettings::new(
            sandbox.credentials().payconiq_profile_id.clone(),
            delivery.url.clone(),
        ),
        fetcher,
    );
    let request = WebhookRequest::new("POST", &delivery.url, body).headers(
        delivery
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    );
    verifier.verify(&request).await
}

/// The payer pays `payment_id`; the sandbox's `SUCCEEDED` callback about it.
async fn pay(sandbox: &RunningSandbox, payment_id: &str) -> DeliveryRecord {
    act(sandbox, Provider::Payconiq, payment_id, PayerAction::Pay).await;
    delivery(sandbox, payment_id, "SUCCEEDED").await
}

async fn delivery(sandbox: &RunningSandbox, id: &str, status: &str) -> DeliveryRecord {
    sandbox
        .wait_for_delivery(
            |d| d.payment_id == id && d.event == status,
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|| {
            panic!(
                "no {status} callback about {id}: {:?}",
                sandbox.deliveries()
            )
        })
}

fn header<'a>(delivery: &'a DeliveryRecord, name: &str) -> Option<&'a str> {
    delivery
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

async fn raw(
    sandbox: &RunningSandbox,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut request =
        reqwest::Client::new().request(method, format!("{}{path}", api_base_url(sandbox)));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn wait_for_status(client: &PayconiqClient, id: &str, want: &str) -> PayconiqStatus {
    let mut status = PayconiqStatus::Pending;
    for _ in 0..200 {
        status = client.get_payment(id).await.unwrap().status;
        if status.as_str() == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    status
}

#[tokio::test]
async fn create_pay_callback_get_and_refund_iban() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let callback = sink(&sandbox, "order-1");
    let created = client
        .create_payment(
            &CreatePaymentRequest::new(eur(1250))
                .reference("order-1")
                .description("Two coffees, Café Élise")
                .callback_url(&callback)
                .return_url("https://shop.example/return"),
        )
        .await
        .unwrap();
    let id = created.payment_id.clone();
    assert_eq!(id.len(), 24);
    assert_eq!(created.status, PayconiqStatus::Pending);
    assert_eq!(created.amount, Some(1250));
    assert_eq!(created.currency.as_deref(), Some("EUR"));
    assert_eq!(created.reference.as_deref(), Some("order-1"));
    let expires = created.expire_at.unwrap() - created.created_at.unwrap();
    assert_eq!(expires, time::Duration::minutes(2));
    let creditor = created.creditor.as_ref().unwrap();
    assert_eq!(
        creditor.profile_id.as_deref(),
        Some(sandbox.credentials().payconiq_profile_id.as_str())
    );
    assert_eq!(creditor.callback_url.as_deref(), Some(callback.as_str()));
    let links = &created.links;
    assert!(links.deeplink.as_ref().unwrap().href.ends_with(&id));
    assert!(links.qrcode.is_some() && links.cancel.is_some() && links.refund.is_none());
    assert!(links.checkout.as_ref().unwrap().href.ends_with(&id));
    assert!(
        links
            .self_
            .as_ref()
            .unwrap()
            .href
            .ends_with(&format!("/payments/{id}"))
    );
    assert!(sandbox.deliveries().is_empty(), "no callback for PENDING");

    let view = act(&sandbox, Provider::Payconiq, &id, PayerAction::Pay).await;
    assert_eq!(view["status"], "SUCCEEDED");

    let delivery = delivery(&sandbox, &id, "SUCCEEDED").await;
    assert_eq!(delivery.state, DeliveryState::Delivered);
    assert_eq!(delivery.url, callback);
    assert_eq!(
        header(&delivery, "User-Agent"),
        Some("Payconiq Payments/v3")
    );
    assert_eq!(header(&delivery, "Content-Type"), Some("application/json"));
    assert!(header(&delivery, "Signature").unwrap().contains(".."));
    let event = verify_as_sent(&sandbox, &delivery).await.unwrap();
    assert_eq!(event.authenticity, Authenticity::Signed);
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(event.payment_id.as_deref(), Some(id.as_str()));
    assert_eq!(event.data.amount, Some(1250));
    assert_eq!(event.data.reference.as_deref(), Some("order-1"));
    assert!(event.data.succeeded_at.is_some());
    let debtor = event.data.debtor.as_ref().unwrap();
    assert!(debtor.iban.as_deref().unwrap().starts_with("*****"));
    // The callback body is the 3.6.3 callback: no creditor, no links, no legacy amounts.
    let body: Value = serde_json::from_str(&delivery.body).unwrap();
    for absent in ["creditor", "_links", "transferAmount", "totalAmount"] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }
    assert!(body.get("expireAt").is_some() && body.get("expiresAt").is_none());

    let fetched = client.get_payment(&id).await.unwrap();
    assert_eq!(fetched.status, PayconiqStatus::Succeeded);
    assert_eq!(unified_status(&fetched.status), PaymentStatus::Succeeded);
    assert!(fetched.links.refund.is_some() && fetched.links.cancel.is_none());
    assert!(fetched.debtor.is_some());
    assert_eq!(
        client.refund_iban(&id).await.unwrap().iban,
        "BE68539007547034"
    );
}

#[tokio::test]
async fn a_tampered_or_misaddressed_callback_is_rejected() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let created = client
        .create_payment(&CreatePaymentRequest::new(eur(700)).callback_url(sink(&sandbox, "t")))
        .await
        .unwrap();
    let delivery = pay(&sandbox, &created.payment_id).await;
    let tampered = delivery.body.replace("SUCCEEDED", "SUCCEEDEX");
    assert_eq!(
        verify(&sandbox, &delivery, tampered.as_bytes())
            .await
            .unwrap_err(),
        WebhookRejection::BadSignature
    );
    // Signed for its own callback URL: a verifier expecting another URL refuses it.
    let mut elsewhere = delivery.clone();
    elsewhere.url = sink(&sandbox, "other");
    let rejection = verify(&sandbox, &elsewhere, delivery.body.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(&rejection, WebhookRejection::ClaimMismatch { claim } if claim.starts_with("path ")),
        "{rejection:?}"
    );
    // The key set the sandbox serves is the one it signs with.
    let jwks = reqwest::get(jwks_url(&sandbox))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        JwkSet::from_json(&jwks)
            .unwrap()
            .contains(sandbox.keys().payconiq_kid())
    );
}

#[tokio::test]
async fn pos_payments_are_created_at_payments_pos_and_need_a_pos_id() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let created = client
        .create_payment(
            &CreatePaymentRequest::new(eur(450))
                .pos_id("till-1")
                .shop("shop-1", "Café Élise"),
        )
        .await
        .unwrap();
    assert_eq!(created.status, PayconiqStatus::Pending);
    assert_eq!(
        count_requests(&sandbox, "POST", "/payconiq/v3/payments/pos"),
        1
    );
    assert_eq!(count_requests(&sandbox, "POST", PAYMENTS), 0);
    let key = sandbox.credentials().payconiq_api_key.clone();
    let (status, body) = raw(
        &sandbox,
        reqwest::Method::POST,
        "/payments/pos",
        Some(&key),
        Some(r#"{"amount":450,"currency":"EUR"}"#),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "FIELD_IS_REQUIRED");
    assert_eq!(body["message"], "Field 'posId' is mandatory");
    assert_eq!(sandbox.payments(Provider::Payconiq).len(), 1);
}

#[tokio::test]
async fn cancel_is_a_delete_notified_and_idempotent_for_the_client() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let id = create_notified(&client, &sandbox, 900, "c").await;
    client.cancel_payment(&id).await.unwrap();
    let fetched = client.get_payment(&id).await.unwrap();
    assert_eq!(fetched.status, PayconiqStatus::Cancelled);
    assert!(fetched.links.cancel.is_none());
    let delivery = delivery(&sandbox, &id, "CANCELLED").await;
    let event = verify_as_sent(&sandbox, &delivery).await.unwrap();
    assert_eq!(event.status, Some(PaymentStatus::Cancelled));
    // A second DELETE is answered 422 PAYMENT_NOT_PENDING; the client sees it is cancelled.
    client.cancel_payment(&id).await.unwrap();
    assert_eq!(count_requests(&sandbox, "DELETE", ONE_PAYMENT), 2);

    let paid = client
        .create_payment(&CreatePaymentRequest::new(eur(900)))
        .await
        .unwrap()
        .payment_id;
    act(&sandbox, Provider::Payconiq, &paid, PayerAction::Pay).await;
    let err = client.cancel_payment(&paid).await.unwrap_err();
    assert_eq!(err.provider_code(), Some("PAYMENT_NOT_PENDING"), "{err:?}");
    assert_eq!(err.http_status(), Some(422));
    assert_eq!(
        client.get_payment(&paid).await.unwrap().status,
        PayconiqStatus::Succeeded
    );
}

#[tokio::test]
async fn search_pages_newest_first_and_filters() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let mut ids = Vec::new();
    for i in 0..5 {
        let created = client
            .create_payment(
                &CreatePaymentRequest::new(eur(1000 + 10 * i)).reference(format!("r{i}")),
            )
            .await
            .unwrap();
        ids.push(created.payment_id);
    }
    let first = client
        .search_payments(&SearchQuery::new(), 0, 2)
        .await
        .unwrap();
    assert_eq!(
        (
            first.size,
            first.total_pages,
            first.total_elements,
            first.number
        ),
        (2, 3, 5, 0)
    );
    let newest: Vec<&str> = first
        .details
        .iter()
        .map(|p| p.payment_id.as_str())
        .collect();
    assert_eq!(newest, [ids[4].as_str(), ids[3].as_str()]);
    let last = client
        .search_payments(&SearchQuery::new(), 2, 2)
        .await
        .unwrap();
    assert_eq!((last.size, last.number), (1, 2));
    let beyond = client
        .search_payments(&SearchQuery::new(), 7, 2)
        .await
        .unwrap();
    assert!(beyond.details.is_empty());

    let before = count_requests(&sandbox, "POST", "/payconiq/v3/payments/search");
    let all: Vec<_> = client
        .search_all(&SearchQuery::new(), 2)
        .try_collect()
        .await
        .unwrap();
    let all: Vec<String> = all.into_iter().map(|p| p.payment_id).collect();
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(all, expected);
    assert_eq!(
        count_requests(&sandbox, "POST", "/payconiq/v3/payments/search") - before,
        3
    );

    let by_reference = client
        .search_payments(&SearchQuery::new().reference("r2"), 0, 50)
        .await
        .unwrap();
    assert_eq!(by_reference.total_elements, 1);
    assert_eq!(by_reference.details[0].payment_id, ids[2]);
    act(&sandbox, Provider::Payconiq, &ids[1], PayerAction::Pay).await;
    let succeeded = client
        .search_payments(&SearchQuery::new().status(PayconiqStatus::Succeeded), 0, 50)
        .await
        .unwrap();
    assert_eq!(succeeded.total_elements, 1);
    assert_eq!(succeeded.details[0].payment_id, ids[1]);
    let old = client
        .search_payments(
            &SearchQuery::new()
                .from(time::macros::datetime!(2018-08-01 0:00 UTC))
                .to(time::macros::datetime!(2018-08-31 0:00 UTC)),
            0,
            50,
        )
        .await
        .unwrap();
    assert_eq!(old.total_elements, 0);
}

#[tokio::test]
async fn refund_iban_exists_only_once_succeeded() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let id = client
        .create_payment(&CreatePaymentRequest::new(eur(300)))
        .await
        .unwrap()
        .payment_id;
    let err = client.refund_iban(&id).await.unwrap_err();
    assert_eq!(err.provider_code(), Some("REFUND_NOT_AVAILABLE"), "{err:?}");
    assert_eq!(err.http_status(), Some(422));
    let err = client
        .refund_iban("5bdaf066b93d1c000bde9683")
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("PAYMENT_NOT_FOUND"), "{err:?}");
    assert_eq!(err.http_status(), Some(404));
    // The neutral refund is declared unsupported and sends nothing.
    let before = sandbox.requests().len();
    let neutral = payments_core::PaymentProvider::refund_payment(
        &client,
        &payments_core::RefundRequest::full(&id),
    )
    .await
    .unwrap_err();
    assert!(matches!(neutral, Error::Unsupported { .. }), "{neutral:?}");
    assert_eq!(sandbox.requests().len(), before);
}

#[tokio::test]
async fn acknowledge_completes_a_payment_pending_the_merchant() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let id = client
        .create_payment(
            &CreatePaymentRequest::new(eur(2000))
                .reference("ack-1")
                .callback_url(sink(&sandbox, "ack")),
        )
        .await
        .unwrap()
        .payment_id;
    let err = client
        .acknowledge(&id, &AcknowledgeRequest::new(eur(2000)))
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("PAYMENT_NOT_PENDING"), "{err:?}");
    act(
        &sandbox,
        Provider::Payconiq,
        &id,
        PayerAction::SetStatus("PENDING_MERCHANT_ACKNOWLEDGEMENT".into()),
    )
    .await;
    let waiting = client.get_payment(&id).await.unwrap();
    assert_eq!(
        unified_status(&waiting.status),
        PaymentStatus::RequiresMerchantAction
    );
    delivery(&sandbox, &id, "PENDING_MERCHANT_ACKNOWLEDGEMENT").await;
    let err = client
        .acknowledge(&id, &AcknowledgeRequest::new(eur(1999)))
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("FIELD_IS_INVALID"), "{err:?}");
    assert_eq!(err.http_status(), Some(400));
    client
        .acknowledge(&id, &AcknowledgeRequest::new(eur(2000)).reference("ack-1"))
        .await
        .unwrap();
    assert_eq!(
        client.get_payment(&id).await.unwrap().status,
        PayconiqStatus::Succeeded
    );
    let done = delivery(&sandbox, &id, "SUCCEEDED").await;
    let event = verify(&sandbox, &done, done.body.as_bytes()).await.unwrap();
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
}

#[tokio::test]
async fn the_payer_confirms_with_a_code_and_impossible_moves_are_refused() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let id = create_notified(&client, &sandbox, 1500, "otp").await;
    let act = |action| sandbox.act(Provider::Payconiq, &id, action);
    assert!(matches!(
        act(PayerAction::SubmitOtp(SANDBOX_OTP.into())).await,
        Err(ControlError::Conflict { .. })
    ));
    act(PayerAction::RequireOtp).await.unwrap();
    let scanned = client.get_payment(&id).await.unwrap();
    assert_eq!(scanned.status, PayconiqStatus::Identified);
    assert_eq!(
        unified_status(&scanned.status),
        PaymentStatus::RequiresAction
    );
    assert!(scanned.debtor.is_some() && scanned.links.cancel.is_some());
    assert!(matches!(
        act(PayerAction::Pay).await,
        Err(ControlError::Conflict { .. })
    ));
    assert_eq!(
        act(PayerAction::SubmitOtp("000000".into())).await,
        Err(ControlError::WrongOtp)
    );
    assert_eq!(
        client.get_payment(&id).await.unwrap().status,
        PayconiqStatus::Identified
    );
    assert!(
        sandbox.deliveries().is_empty(),
        "IDENTIFIED is not notified"
    );
    act(PayerAction::SubmitOtp(SANDBOX_OTP.into()))
        .await
        .unwrap();
    assert_eq!(
        client.get_payment(&id).await.unwrap().status,
        PayconiqStatus::Succeeded
    );
    delivery(&sandbox, &id, "SUCCEEDED").await;
    for action in [
        PayerAction::Pay,
        PayerAction::Fail,
        PayerAction::Cancel,
        PayerAction::Expire,
        PayerAction::RequireOtp,
    ] {
        assert!(
            matches!(
                act(action.clone()).await,
                Err(ControlError::Conflict { .. })
            ),
            "{action:?}"
        );
    }
    assert!(matches!(
        sandbox
            .act(Provider::Payconiq, "no-such-payment", PayerAction::Pay)
            .await,
        Err(ControlError::NotFound { .. })
    ));
}

#[tokio::test]
async fn an_undocumented_status_is_kept_verbatim_and_never_success() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let id = create_notified(&client, &sandbox, 800, "u").await;
    act(
        &sandbox,
        Provider::Payconiq,
        &id,
        PayerAction::SetStatus("HALF_PAID_2031".into()),
    )
    .await;
    let fetched = client.get_payment(&id).await.unwrap();
    assert_eq!(
        fetched.status,
        PayconiqStatus::Other("HALF_PAID_2031".into())
    );
    let delivery = delivery(&sandbox, &id, "HALF_PAID_2031").await;
    let event = verify_as_sent(&sandbox, &delivery).await.unwrap();
    assert_eq!(
        event.status,
        Some(PaymentStatus::Unknown("HALF_PAID_2031".into()))
    );
}

#[tokio::test]
async fn magic_amounts_decide_the_outcome() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    for (cents, want) in [
        (1005, "SUCCEEDED"),
        (1001, "AUTHORIZATION_FAILED"),
        (1002, "EXPIRED"),
        (1003, "CANCELLED"),
    ] {
        let id = create_notified(&client, &sandbox, cents, "m").await;
        assert_eq!(
            wait_for_status(&client, &id, want).await.as_str(),
            want,
            "{cents}"
        );
        let delivery = delivery(&sandbox, &id, want).await;
        assert!(verify_as_sent(&sandbox, &delivery).await.is_ok());
    }
}

#[tokio::test]
async fn the_console_callback_url_is_used_when_a_payment_names_none() {
    let sandbox = start_sandbox().await;
    let console = sink(&sandbox, "console");
    sandbox.set_webhook_url(Provider::Payconiq, Some(console.clone()));
    let client = client(&sandbox);
    let created = client
        .create_payment(&CreatePaymentRequest::new(eur(600)))
        .await
        .unwrap();
    assert_eq!(
        created.creditor.unwrap().callback_url.as_deref(),
        Some(console.as_str())
    );
    let delivery = pay(&sandbox, &created.payment_id).await;
    assert_eq!(delivery.url, console);
    assert!(verify_as_sent(&sandbox, &delivery).await.is_ok());
}

#[tokio::test]
async fn the_checkout_page_lets_the_payer_pay_and_returns_to_the_shop() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let created = client
        .create_payment(
            &CreatePaymentRequest::new(eur(1250))
                .description("<script>")
                .return_url("https://shop.example/return?order=1"),
        )
        .await
        .unwrap();
    let checkout = created.links.checkout.unwrap().href;
    let page = reqwest::get(&checkout).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("12.50 EUR") && html.contains("&lt;script&gt;"),
        "{html}"
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = no_redirects
        .post(format!("{checkout}/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(
        paid.headers()["location"],
        "https://shop.example/return?order=1"
    );
    assert_eq!(
        client
            .get_payment(&created.payment_id)
            .await
            .unwrap()
            .status,
        PayconiqStatus::Succeeded
    );
}

#[tokio::test]
async fn the_emulator_refuses_bad_keys_and_bad_bodies_with_payconiq_errors() {
    let sandbox = start_sandbox().await;
    let key = sandbox.credentials().payconiq_api_key.clone();
    let err = client_with_key(&sandbox, "not-the-key")
        .get_payment("5bdaf066b93d1c000bde9683")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(err.provider_code(), Some("UNAUTHORIZED"));
    let (status, body) = raw(&sandbox, reqwest::Method::GET, "/payments/x", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "UNAUTHORIZED");
    assert!(body["traceId"].is_string() && body["spanId"].is_string());
    let (status, body) = raw(
        &sandbox,
        reqwest::Method::GET,
        "/payments/5bdaf066b93d1c000bde9683",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("PAYMENT_NOT_FOUND"))
    );

    let post = |body: &'static str| {
        let key = key.clone();
        let sandbox = &sandbox;
        async move {
            raw(
                sandbox,
                reqwest::Method::POST,
                "/payments",
                Some(&key),
                Some(body),
            )
            .await
        }
    };
    let cases = [
        ("", "BODY_MISSING"),
        ("{not json", "BODY_MISSING"),
        ("{}", "FIELD_IS_REQUIRED"),
        (r#"{"amount":0}"#, "FIELD_IS_INVALID"),
        (r#"{"amount":1000000}"#, "FIELD_IS_INVALID"),
        (r#"{"amount":12.5}"#, "FIELD_IS_INVALID"),
        (r#"{"amount":"100"}"#, "FIELD_IS_INVALID"),
        (r#"{"amount":100,"currency":"USD"}"#, "FIELD_IS_INVALID"),
        (
            r#"{"amount":100,"reference":"123456789012345678901234567890123456"}"#,
            "FIELD_IS_INVALID",
        ),
        (
            r#"{"amount":100,"description":"pizza 🍕"}"#,
            "FIELD_IS_INVALID",
        ),
        (r#"{"amount":100,"callbackUrl":"nope"}"#, "FIELD_IS_INVALID"),
    ];
    for (body, code) in cases {
        let (status, answer) = post(body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let (_, missing) = post("{}").await;
    assert_eq!(missing["message"], "Field 'amount' is mandatory");
    let (status, answer) = raw(
        &sandbox,
        reqwest::Method::POST,
        "/payments/search?size=0",
        Some(&key),
        Some("{}"),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("FIELD_IS_INVALID"))
    );
    let (status, answer) = raw(
        &sandbox,
        reqwest::Method::POST,
        "/payments/search",
        Some(&key),
        Some(r#"{"from":"yesterday"}"#),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("FIELD_IS_INVALID"))
    );
    assert!(sandbox.payments(Provider::Payconiq).is_empty());
}

#[tokio::test]
async fn a_429_on_create_is_retried_and_one_payment_exists() {
    let sandbox = start_sandbox().await;
    fault_once(&sandbox, "POST", PAYMENTS, too_many_requests(1));
    let created = client(&sandbox)
        .create_payment(&CreatePaymentRequest::new(eur(1000)).reference("once"))
        .await
        .unwrap();
    assert_eq!(created.status, PayconiqStatus::Pending);
    assert_eq!(count_requests(&sandbox, "POST", PAYMENTS), 2);
    assert_eq!(sandbox.payments(Provider::Payconiq).len(), 1);
}

#[tokio::test]
async fn a_creation_answered_500_after_processing_is_not_resent_and_is_found_by_search() {
    let sandbox = start_sandbox().await;
    fault_once_after_processing(&sandbox, "POST", PAYMENTS, status_fault(500));
    let client = client(&sandbox);
    let err = client
        .create_payment(&CreatePaymentRequest::new(eur(1000)).reference("lost-answer"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count_requests(&sandbox, "POST", PAYMENTS), 1);
    assert_eq!(sandbox.payments(Provider::Payconiq).len(), 1);
    // What the crate documents: search by reference before creating again.
    let found = client
        .search_payments(&SearchQuery::new().reference("lost-answer"), 0, 50)
        .await
        .unwrap();
    assert_eq!(found.total_elements, 1);
}

#[tokio::test]
async fn the_search_filters_on_the_exact_reference_and_find_by_reference_uses_it() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let mut ids = Vec::new();
    for reference in ["order-9", "order-99", "ORDER-9", "order-9", "order"] {
        let created = client
            .create_payment(&CreatePaymentRequest::new(eur(500)).reference(reference))
            .await
            .unwrap();
        ids.push(created.payment_id);
    }
    client
        .create_payment(&CreatePaymentRequest::new(eur(500)))
        .await
        .unwrap();
    // Payconiq's `reference` filter: equal references only (not a prefix, not case-blind).
    let page = client
        .search_payments(&SearchQuery::new().reference("order-9"), 0, 50)
        .await
        .unwrap();
    let listed: Vec<&str> = page.details.iter().map(|p| p.payment_id.as_str()).collect();
    assert_eq!(listed, [ids[3].as_str(), ids[0].as_str()], "newest first");
    assert_eq!(page.total_elements, 2);

    let before = count_requests(&sandbox, "POST", "/payconiq/v3/payments/search");
    let found = payments_core::PaymentProvider::find_by_reference(&client, "order-9")
        .await
        .unwrap();
    let found: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(found, [ids[0].as_str(), ids[3].as_str()], "oldest first");
    assert_eq!(
        count_requests(&sandbox, "POST", "/payconiq/v3/payments/search") - before,
        1
    );
    let none = payments_core::PaymentProvider::find_by_reference(&client, "order-7")
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_dropped_or_slow_creation_is_not_resent() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    fault_once_after_processing(&sandbox, "POST", PAYMENTS, Fault::Drop);
    let err = client
        .create_payment(&CreatePaymentRequest::new(eur(1000)))
        .await
        .unwrap_err();
    assert_eq!(err.delivery(), payments_core::Delivery::Unknown, "{err:?}");
    assert_eq!(count_requests(&sandbox, "POST", PAYMENTS), 1);
    assert_eq!(sandbox.payments(Provider::Payconiq).len(), 1);

    fault_once(&sandbox, "POST", PAYMENTS, Fault::Latency { ms: 3000 });
    let err = client
        .create_payment(&CreatePaymentRequest::new(eur(1000)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count_requests(&sandbox, "POST", PAYMENTS), 2);
    assert!(sandbox.payments(Provider::Payconiq).len() <= 2);
}

#[tokio::test]
async fn reads_survive_503_drops_and_refuse_malformed_answers() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let id = client
        .create_payment(&CreatePaymentRequest::new(eur(1000)))
        .await
        .unwrap()
        .payment_id;
    fault_once(&sandbox, "GET", ONE_PAYMENT, status_fault(503));
    fault_once(&sandbox, "GET", ONE_PAYMENT, Fault::Drop);
    assert_eq!(
        client.get_payment(&id).await.unwrap().status,
        PayconiqStatus::Pending
    );
    assert_eq!(count_requests(&sandbox, "GET", ONE_PAYMENT), 3);
    fault_once(
        &sandbox,
        "POST",
        "/payconiq/v3/payments/search",
        Fault::Drop,
    );
    assert_eq!(
        client
            .search_payments(&SearchQuery::new(), 0, 10)
            .await
            .unwrap()
            .total_elements,
        1
    );
    fault_once(&sandbox, "GET", ONE_PAYMENT, Fault::Malformed);
    let err = client.get_payment(&id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn the_key_set_is_fetched_again_after_a_503() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let id = create_notified(&client, &sandbox, 1000, "k").await;
    act(&sandbox, Provider::Payconiq, &id, PayerAction::Pay).await;
    let delivery = delivery(&sandbox, &id, "SUCCEEDED").await;
    fault_once(&sandbox, "GET", "/payconiq/jwks", status_fault(503));
    let event = verify_as_sent(&sandbox, &delivery).await.unwrap();
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(count_requests(&sandbox, "GET", "/payconiq/jwks"), 2);
}

#[tokio::test]
async fn a_refused_callback_is_sent_four_times_identically() {
    let sandbox = start_sandbox().await;
    let url = format!("{}/_sandbox/sink/status/500", sandbox.base_url());
    let id = client(&sandbox)
        .create_payment(&CreatePaymentRequest::new(eur(1000)).callback_url(&url))
        .await
        .unwrap()
        .payment_id;
    act(&sandbox, Provider::Payconiq, &id, PayerAction::Pay).await;
    let delivery = delivery(&sandbox, &id, "SUCCEEDED").await;
    assert_eq!(delivery.state, DeliveryState::GaveUp);
    assert_eq!(delivery.attempts.len(), 4);
    assert!(delivery.attempts.iter().all(|a| a.status == Some(500)));
    assert_eq!(sandbox.deliveries().len(), 1, "retries reuse one delivery");
}

#[tokio::test]
async fn the_description_says_how_to_configure_a_client() {
    let sandbox = start_sandbox().await;
    let info = &sandbox.info()["providers"]["payconiq"];
    assert_eq!(info["base_url"], sandbox.provider_url(Provider::Payconiq));
    assert_eq!(
        info["api_base_url"],
        format!("{}/v3", sandbox.provider_url(Provider::Payconiq))
    );
    assert_eq!(info["api_key"], sandbox.credentials().payconiq_api_key);
    assert_eq!(
        info["profile_id"],
        sandbox.credentials().payconiq_profile_id
    );
    assert_eq!(info["signing_kid"], sandbox.keys().payconiq_kid());
    assert_eq!(info["callback_retry_delays_secs"], json!([60, 300, 900]));
    let jwks = reqwest::get(info["jwks_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    assert_eq!(jwks.headers()["content-type"], "application/json");
    // The typed details say the same.
    let payconiq = sandbox.payconiq();
    assert_eq!(info["base_url"], payconiq.base_url);
    assert_eq!(info["api_base_url"], payconiq.api_base_url);
    assert_eq!(info["api_key"], payconiq.api_key);
    assert_eq!(info["profile_id"], payconiq.profile_id);
    assert_eq!(info["jwks_url"], payconiq.jwks_url);
    assert_eq!(info["signing_kid"], payconiq.signing_kid);
    assert_eq!(info["checkout_url"], payconiq.checkout_url("{paymentId}"));
    assert_eq!(
        payconiq.callback_retry_delays,
        [60, 300, 900].map(Duration::from_secs)
    );
    assert_eq!(payconiq.payment_expiry, Duration::from_secs(120));
    assert!(!format!("{payconiq:?}").contains(&payconiq.api_key));
}

#[tokio::test]
async fn the_checkout_page_refuses_takes_a_code_and_ends_on_a_completion_page_without_return_url() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let payconiq = sandbox.payconiq();
    // No returnUrl: no `_links.checkout`, but the page exists and ends on a completion page.
    let created = client
        .create_payment(&CreatePaymentRequest::new(eur(990)).description("Tea & <biscuits>"))
        .await
        .unwrap();
    assert!(created.links.checkout.is_none());
    let url = payconiq.checkout_url(&created.payment_id);
    let opened = page::open(&url).await;
    assert!(
        opened.html.contains("Tea &amp; &lt;biscuits&gt;"),
        "{}",
        opened.html
    );
    assert!(
        opened.has("pay") && opened.has("fail") && opened.has("cancel"),
        "{}",
        opened.html
    );
    let refused = opened.click("fail", &[]).await;
    let done = refused.follow(&url).await;
    assert!(
        done.html.contains("AUTHORIZATION_FAILED") && !done.has("pay"),
        "{}",
        done.html
    );
    assert_eq!(
        client
            .get_payment(&created.payment_id)
            .await
            .unwrap()
            .status,
        PayconiqStatus::AuthorizationFailed
    );
    let stale = opened.click("pay", &[]).await;
    assert_eq!(stale.status, 409, "{stale:?}");

    // The app asks for a code: the page takes it, then returns to the shop.
    let created = client
        .create_payment(
            &CreatePaymentRequest::new(eur(1990)).return_url("https://shop.example/return?order=2"),
        )
        .await
        .unwrap();
    act(
        &sandbox,
        Provider::Payconiq,
        &created.payment_id,
        PayerAction::RequireOtp,
    )
    .await;
    let asking = page::open(&created.links.checkout.unwrap().href).await;
    assert!(!asking.has("pay"), "{}", asking.html);
    let wrong = asking.click("otp", &[("code", "000000")]).await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    let right = asking.click("otp", &[("code", SANDBOX_OTP)]).await;
    assert_eq!(right.redirected_to(), "https://shop.example/return?order=2");
}
