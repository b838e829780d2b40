//! The real `payments-banq` client against the sandbox's Banq: tokens, payment links, payments,
//! users/me, webhook-config, unsigned webhooks confirmed by fetch-back, the emulator's refusals,
//! and injected faults (the client survives, no payment is ever created twice).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use payments_banq::webhook::{Confirmation, WebhookReceiver};
use payments_banq::{
    BanqClient, BanqConfig, BanqStatus, CredentialFieldNames, FailureReason,
    MerchantUserCredentials, OpenApiCredentials, PaymentLinkRequest, RecurringPeriod,
    WebhookConfigRequest,
};
use payments_core::webhook::{Authenticity, UrlSecretGuard, WebhookRequest};
use payments_core::{
    Capability, CreatePayment, Currency, Decimal, Delivery, Error, Money, PaymentProvider,
    PaymentStatus, RefundRequest,
};
use payments_sandbox::{
    ControlError, DeliveryRecord, DeliveryState, Fault, PayerAction, Provider, RunningSandbox,
    SANDBOX_OTP, Sandbox,
};
use payments_test_support::{
    act, count_requests, fast_http, fault_once, fault_once_after_processing, start_sandbox,
    status_fault, too_many_requests,
};
use serde_json::{Value, json};
use time::macros::date;

#[path = "support/page.rs"]
mod page;

const CREATE: &str = "/banq/api/v1/payments/get-paid-link";
const GET: &str = "/banq/api/v1/payments/*";
const TOKEN: &str = "/banq/oauth/token";
const GUARD_SECRET: &str = "sandbox-guard-0123456789abcdef";

fn guid(sandbox: &RunningSandbox) -> String {
    sandbox.banq().destination_banq_guid
}

fn config(sandbox: &RunningSandbox) -> BanqConfig {
    let c = sandbox.credentials();
    let banq = sandbox.banq();
    BanqConfig::new(
        c.banq_company_id.clone(),
        OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, &c.banq_password),
    )
    .merchant_user(MerchantUserCredentials::new(
        &c.banq_username,
        &c.banq_password,
    ))
    .api_base_url(banq.api_base_url)
    .token_url(banq.token_url)
    .default_destination(guid(sandbox))
    .http(fast_http())
}

fn client(sandbox: &RunningSandbox) -> BanqClient {
    BanqClient::new(config(sandbox)).unwrap()
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn link(sandbox: &RunningSandbox, cents: i64, order: &str) -> PaymentLinkRequest {
    PaymentLinkRequest::once(guid(sandbox), usd(cents), "Blue T-shirt", order)
}

async fn delivered(sandbox: &RunningSandbox, id: &str) -> DeliveryRecord {
    let id = id.to_owned();
    sandbox
        .wait_for_delivery(move |d| d.payment_id == id, Duration::from_secs(10))
        .await
        .expect("a finished delivery")
}

fn request(delivery: &DeliveryRecord) -> WebhookRequest<'_> {
    WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
        delivery
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    )
}

/// A raw HTTP call to the sandbox, for what the client never sends.
async fn raw(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn open_api_token(sandbox: &RunningSandbox) -> String {
    let c = sandbox.credentials();
    let (status, body) = raw(
        reqwest::Method::POST,
        &sandbox.banq().token_url,
        &[],
        Some(
            json!({
                "grant_type": "password",
                "client_id": c.banq_client_id,
                "username": c.banq_username,
                "password": c.banq_password,
                "audience": "https://banq.com/open/api/",
            })
            .to_string(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------- the flow

#[tokio::test]
async fn link_pay_webhook_fetch_back_and_get() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let guid = guid(&sandbox);
    let hook = payments_banq::testing::guarded_url(
        &format!("{}/_sandbox/sink/banq", sandbox.base_url()),
        "token",
        GUARD_SECRET,
    );
    // users/me → account space → webhook-config.
    let me = client.me().await.unwrap();
    assert_eq!(
        me.email.as_deref(),
        Some(sandbox.credentials().banq_username.as_str())
    );
    assert_eq!(me.account_spaces.len(), 2);
    let config = client
        .setup_webhooks(&guid, &WebhookConfigRequest::new(&hook))
        .await
        .unwrap();
    assert_eq!(config.url.as_deref(), Some(hook.as_str()));
    assert_eq!(config.enabled, Some(true));
    assert!(config.id.is_some());

    let created = client
        .create_payment_link(&link(&sandbox, 10_010, "order-1234"))
        .await
        .unwrap();
    let id = created.id.clone().unwrap();
    assert!(
        created
            .url
            .starts_with(&sandbox.provider_url(Provider::Banq))
    );
    let page = reqwest::get(&created.url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&id) && page.contains("100.10"), "{page}");
    let pending = client.get_payment(&id).await.unwrap();
    assert_eq!(pending.status, BanqStatus::Pending);
    assert!(
        sandbox.deliveries().is_empty(),
        "no status change, no webhook"
    );

    act(&sandbox, Provider::Banq, &id, PayerAction::Pay).await;
    let delivery = delivered(&sandbox, &id).await;
    assert_eq!(delivery.state, DeliveryState::Delivered);
    assert_eq!(delivery.url, hook);
    let body: Value = serde_json::from_str(&delivery.body).unwrap();
    assert_eq!(
        body,
        json!({"action": "completed", "resourceType": "Payment", "resourceId": id})
    );
    assert!(
        delivery
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("content-type") && v == "application/json")
    );

    // The crate's receiver (with the URL guard) then its fetch-back.
    let receiver = WebhookReceiver::new()
        .with_guard(UrlSecretGuard::query_param("token", GUARD_SECRET).unwrap());
    let confirmation = client
        .handle_webhook(&receiver, &request(&delivery))
        .await
        .unwrap();
    let Confirmation::Confirmed(confirmed) = confirmation else {
        panic!("a completed Payment notice is confirmed by fetch-back");
    };
    assert_eq!(confirmed.authenticity, Authenticity::FetchedBack);
    assert_eq!(confirmed.status, Some(PaymentStatus::Succeeded));
    assert_eq!(confirmed.payment_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        confirmed.data.funds,
        Some(Decimal::parse("100.10").unwrap())
    );
    assert_eq!(
        confirmed.data.external_order_code.as_deref(),
        Some("order-1234")
    );

    // The same notice without the guard's secret is refused before any fetch.
    let before = sandbox.requests().len();
    let stranger = WebhookRequest::new(
        "POST",
        "http://127.0.0.1/_sandbox/sink/banq",
        delivery.body.as_bytes(),
    );
    assert!(receiver.receive(&stranger).is_err());
    assert_eq!(sandbox.requests().len(), before);

    let paid = client.get_payment(&id).await.unwrap();
    assert_eq!(paid.status, BanqStatus::Completed);
    assert_eq!(paid.raw_status, "completed");
    assert_eq!(paid.funds, Some(Decimal::parse("100.10").unwrap()));
    assert_eq!(paid.comment.as_deref(), Some("Blue T-shirt"));
    assert_eq!(paid.frequency.as_deref(), Some("once"));
    assert!(paid.created_at.is_some());

    let neutral = client.fetch_payment(&id).await.unwrap();
    assert_eq!(neutral.status, PaymentStatus::Succeeded);
    assert_eq!(neutral.amount, Some(usd(10_010)));
    assert_eq!(neutral.reference.as_deref(), Some("order-1234"));
    assert_eq!(sandbox.payments(Provider::Banq).len(), 1);
}

#[tokio::test]
async fn a_forged_completed_notice_is_answered_with_the_real_status() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let id = client
        .create_payment_link(&link(&sandbox, 2_500, "order-9"))
        .await
        .unwrap()
        .id
        .unwrap();
    let forged = payments_banq::testing::WebhookEventBuilder::payment_completed(&id).to_vec();
    let confirmation = client
        .handle_webhook(
            &WebhookReceiver::new(),
            &WebhookRequest::new("POST", "https://shop.example/banq", &forged),
        )
        .await
        .unwrap();
    let confirmed = confirmation.confirmed().unwrap();
    assert_eq!(confirmed.status, Some(PaymentStatus::Pending));
    // A notice about a payment Banq does not have confirms nothing.
    let unknown = payments_banq::testing::WebhookEventBuilder::payment_completed("nope").to_vec();
    let err = client
        .handle_webhook(
            &WebhookReceiver::new(),
            &WebhookRequest::new("POST", "https://shop.example/banq", &unknown),
        )
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(404), "{err:?}");
    assert_eq!(err.provider_code(), Some("PaymentNotFound"));
}

#[tokio::test]
async fn the_neutral_provider_creates_gets_and_declares_cancel_and_refund_unsupported() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let checkout = client
        .checkout(&CreatePayment::new(usd(4_200), "order-n1").description("Neutral order"))
        .await
        .unwrap();
    assert_eq!(checkout.status, PaymentStatus::Pending);
    assert!(checkout.redirect_url.is_some());
    let payment = client.fetch_payment(&checkout.payment_id).await.unwrap();
    assert_eq!(payment.amount, Some(usd(4_200)));
    assert_eq!(payment.reference.as_deref(), Some("order-n1"));
    let stored = &sandbox.payments(Provider::Banq)[0];
    assert_eq!(stored["comment"], "Neutral order");
    assert_eq!(stored["funds"], "42", "exact text, never a float");

    let before = sandbox.requests().len();
    assert!(!client.capabilities().supports(Capability::CancelPayment));
    assert!(matches!(
        client.cancel(&checkout.payment_id).await,
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        client
            .refund_payment(&RefundRequest::full(&checkout.payment_id))
            .await,
        Err(Error::Unsupported { .. })
    ));
    assert_eq!(sandbox.requests().len(), before);
}

#[tokio::test]
async fn a_recurring_link_keeps_its_frequency_and_dates() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let request = PaymentLinkRequest::once(guid(&sandbox), usd(1_050), "Gym", "sub-7").recurring(
        RecurringPeriod::Monthly,
        Some(date!(2021 - 06 - 15)),
        Some(date!(2021 - 12 - 15)),
    );
    let id = client
        .create_payment_link(&request)
        .await
        .unwrap()
        .id
        .unwrap();
    let payment = client.get_payment(&id).await.unwrap();
    assert_eq!(payment.frequency.as_deref(), Some("monthly"));
    assert_eq!(payment.raw["startDate"], "2021-06-15");
    assert_eq!(payment.raw["endDate"], "2021-12-15");
    assert_eq!(payment.funds, Some(Decimal::parse("10.5").unwrap()));
}

// ---------------------------------------------------------------- payer actions and webhooks

#[tokio::test]
async fn magic_amounts_pay_and_fail_on_their_own() {
    let sandbox = start_sandbox().await;
    sandbox.set_webhook_url(
        Provider::Banq,
        Some(format!("{}/_sandbox/sink/banq", sandbox.base_url())),
    );
    let client = client(&sandbox);
    let paid = client
        .create_payment_link(&link(&sandbox, 1_005, "magic-pay"))
        .await
        .unwrap()
        .id
        .unwrap();
    let failed = client
        .create_payment_link(&link(&sandbox, 1_001, "magic-fail"))
        .await
        .unwrap()
        .id
        .unwrap();
    let paid_delivery = delivered(&sandbox, &paid).await;
    assert!(paid_delivery.body.contains(r#""action":"completed""#));
    let failed_delivery = delivered(&sandbox, &failed).await;
    assert!(failed_delivery.body.contains(r#""action":"failed""#));
    assert_eq!(
        client.get_payment(&paid).await.unwrap().status,
        BanqStatus::Completed
    );
    let failed = client.get_payment(&failed).await.unwrap();
    assert_eq!(failed.status, BanqStatus::Failed);
    assert_eq!(
        failed.failure_reason,
        Some(FailureReason::InsufficientBalance)
    );
}

#[tokio::test]
async fn payer_actions_follow_the_status_machine() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let new = || async {
        client
            .create_payment_link(&link(&sandbox, 1_000, "o"))
            .await
            .unwrap()
            .id
            .unwrap()
    };
    // OTP: pay is refused until the right code is entered.
    let id = new().await;
    act(&sandbox, Provider::Banq, &id, PayerAction::RequireOtp).await;
    assert!(matches!(
        sandbox.act(Provider::Banq, &id, PayerAction::Pay).await,
        Err(ControlError::Conflict { .. })
    ));
    assert_eq!(
        sandbox
            .act(Provider::Banq, &id, PayerAction::SubmitOtp("000000".into()))
            .await,
        Err(ControlError::WrongOtp)
    );
    let view = act(
        &sandbox,
        Provider::Banq,
        &id,
        PayerAction::SubmitOtp(SANDBOX_OTP.into()),
    )
    .await;
    assert_eq!(view["status"], "completed");
    for action in [PayerAction::Pay, PayerAction::Fail, PayerAction::Cancel] {
        assert!(matches!(
            sandbox.act(Provider::Banq, &id, action).await,
            Err(ControlError::Conflict { .. })
        ));
    }
    // Cancel, expire (undocumented for Banq), unknown status, unknown payment.
    let id = new().await;
    assert!(matches!(
        sandbox.act(Provider::Banq, &id, PayerAction::Expire).await,
        Err(ControlError::Unsupported(_))
    ));
    act(&sandbox, Provider::Banq, &id, PayerAction::Cancel).await;
    let cancelled = client.fetch_payment(&id).await.unwrap();
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);
    let id = new().await;
    act(
        &sandbox,
        Provider::Banq,
        &id,
        PayerAction::SetStatus("PartiallyRefunded_2031".into()),
    )
    .await;
    let odd = client.fetch_payment(&id).await.unwrap();
    assert_eq!(odd.raw_status, "PartiallyRefunded_2031");
    assert!(matches!(odd.status, PaymentStatus::Unknown(_)));
    assert!(matches!(
        sandbox.act(Provider::Banq, &id, PayerAction::Pay).await,
        Err(ControlError::Conflict { .. })
    ));
    assert!(matches!(
        sandbox.act(Provider::Banq, "nope", PayerAction::Pay).await,
        Err(ControlError::NotFound { .. })
    ));
    // Over HTTP too.
    let id = new().await;
    let (status, view) = raw(
        reqwest::Method::POST,
        &format!("{}/_sandbox/banq/payments/{id}/pay", sandbox.base_url()),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "completed");
}

#[tokio::test]
async fn a_refused_webhook_is_retried_retry_count_times_then_given_up() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let url = format!("{}/_sandbox/sink/status/500", sandbox.base_url());
    client
        .setup_webhooks(
            &guid(&sandbox),
            &WebhookConfigRequest::new(&url).retry_count(3),
        )
        .await
        .unwrap();
    let id = client
        .create_payment_link(&link(&sandbox, 1_000, "o"))
        .await
        .unwrap()
        .id
        .unwrap();
    act(&sandbox, Provider::Banq, &id, PayerAction::Pay).await;
    let delivery = delivered(&sandbox, &id).await;
    assert_eq!(delivery.state, DeliveryState::GaveUp);
    assert_eq!(
        delivery.attempts.len(),
        4,
        "the first attempt and 3 retries"
    );
    assert!(delivery.attempts.iter().all(|a| a.status == Some(500)));
}

#[tokio::test]
async fn a_disabled_configuration_delivers_nothing_and_no_url_means_no_webhook() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    // No configuration, no console URL: nothing to deliver to.
    let id = client
        .create_payment_link(&link(&sandbox, 1_000, "o"))
        .await
        .unwrap()
        .id
        .unwrap();
    act(&sandbox, Provider::Banq, &id, PayerAction::Pay).await;
    // A disabled configuration wins over the console URL.
    sandbox.set_webhook_url(
        Provider::Banq,
        Some(format!("{}/_sandbox/sink/banq", sandbox.base_url())),
    );
    client
        .setup_webhooks(
            &guid(&sandbox),
            &WebhookConfigRequest::new("https://shop.example/hook").enabled(false),
        )
        .await
        .unwrap();
    let id = client
        .create_payment_link(&link(&sandbox, 1_000, "o"))
        .await
        .unwrap()
        .id
        .unwrap();
    act(&sandbox, Provider::Banq, &id, PayerAction::Pay).await;
    assert!(
        sandbox.deliveries().is_empty(),
        "{:?}",
        sandbox.deliveries()
    );
}

// ---------------------------------------------------------------- tokens and refusals

#[tokio::test]
async fn both_credential_field_styles_and_the_client_secret_are_accepted() {
    let sandbox = start_sandbox().await;
    let c = sandbox.credentials().clone();
    let mut prefixed = config(&sandbox);
    prefixed.credentials =
        OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, &c.banq_password)
            .field_names(CredentialFieldNames::ClientPrefixed)
            .client_secret(&c.banq_client_secret);
    let client = BanqClient::new(prefixed).unwrap();
    client
        .create_payment_link(&link(&sandbox, 1_000, "o"))
        .await
        .unwrap();
    // Form-encoded, as Auth0 also accepts.
    let response = reqwest::Client::new()
        .post(sandbox.banq().token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=password&client_id={}&username={}&password={}&audience=https%3A%2F%2Fbanq.com%2Fopen%2Fapi%2F",
            c.banq_client_id,
            c.banq_username.replace('@', "%40"),
            c.banq_password
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn bad_credentials_are_refused_as_auth0_refuses_them() {
    let sandbox = start_sandbox().await;
    let c = sandbox.credentials().clone();
    let cases: Vec<(OpenApiCredentials, u16, &str)> = vec![
        (
            OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, "wrong-password"),
            403,
            "invalid_grant",
        ),
        (
            OpenApiCredentials::new("unknown-client", &c.banq_username, &c.banq_password),
            401,
            "access_denied",
        ),
        (
            OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, &c.banq_password)
                .client_secret("wrong-secret"),
            401,
            "access_denied",
        ),
        (
            OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, &c.banq_password)
                .audience("https://banq.com/api"),
            403,
            "access_denied",
        ),
    ];
    for (credentials, status, code) in cases {
        let mut config = config(&sandbox);
        config.credentials = credentials;
        let err = BanqClient::new(config)
            .unwrap()
            .create_payment_link(&link(&sandbox, 1_000, "o"))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(status), "{err:?}");
        assert_eq!(err.provider_code(), Some(code), "{err:?}");
        assert!(!format!("{err:?}").contains(&c.banq_password));
    }
    let mut wrong_user = config(&sandbox);
    wrong_user.merchant_user = Some(MerchantUserCredentials::new(
        "someone@else.example",
        &c.banq_password,
    ));
    let err = BanqClient::new(wrong_user).unwrap().me().await.unwrap_err();
    assert_eq!(err.provider_code(), Some("invalid_grant"), "{err:?}");
    assert_eq!(sandbox.payments(Provider::Banq).len(), 0);
    let (status, body) = raw(
        reqwest::Method::POST,
        &sandbox.banq().token_url,
        &[],
        Some(json!({"client_id": c.banq_client_id}).to_string()),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn api_calls_need_a_live_token_of_the_right_audience_and_the_company() {
    let sandbox = start_sandbox().await;
    let api = sandbox.banq().api_base_url;
    let company = sandbox.credentials().banq_company_id.clone();
    let token = open_api_token(&sandbox).await;
    let bearer = format!("Bearer {token}");
    let get = |path: &str| format!("{api}{path}");
    // No token, a forged token.
    let (status, body) = raw(
        reqwest::Method::GET,
        &get("/payments/x"),
        &[("x-company-id", &company)],
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("Unauthorized")));
    let (status, _) = raw(
        reqwest::Method::GET,
        &get("/payments/x"),
        &[
            ("authorization", "Bearer forged"),
            ("x-company-id", &company),
        ],
        None,
    )
    .await;
    assert_eq!(status, 401);
    // Missing and wrong company.
    let (status, body) = raw(
        reqwest::Method::GET,
        &get("/payments/x"),
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("X-Company-Id"));
    let (status, _) = raw(
        reqwest::Method::GET,
        &get("/payments/x"),
        &[
            ("authorization", &bearer),
            ("x-company-id", "another-company"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 403);
    // The Open API token does not open users/me; a good call is a 404 in the fixture's shape.
    let (status, _) = raw(
        reqwest::Method::GET,
        &get("/users/me?include=accountSpaces,banqAccounts"),
        &[("authorization", &bearer), ("x-company-id", &company)],
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = raw(
        reqwest::Method::GET,
        &get("/payments/x"),
        &[("authorization", &bearer), ("x-company-id", &company)],
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["statusCode"], 404);
    assert_eq!(body["code"], "PaymentNotFound");
    assert_eq!(body["message"], "Payment not found");
    assert!(body["traceId"].is_string());
    // The client's company is checked as well.
    let mut other = config(&sandbox);
    other.company_id = "another-company".into();
    let err = BanqClient::new(other)
        .unwrap()
        .get_payment("x")
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(403));
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let sandbox = Sandbox::builder()
        .time_divisor(1000)
        .token_lifetime(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let token = open_api_token(&sandbox).await;
    let (status, body) = raw(
        reqwest::Method::GET,
        &format!("{}/payments/x", sandbox.banq().api_base_url),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("x-company-id", &sandbox.credentials().banq_company_id),
        ],
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "jwt expired");
    // The client renews once after a 401, then gives up with the 401.
    let err = client(&sandbox).get_payment("x").await.unwrap_err();
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert_eq!(
        count_requests(&sandbox, "GET", GET),
        3,
        "the raw call, then the client's two"
    );
}

#[tokio::test]
async fn invalid_links_and_configurations_are_refused_with_the_field() {
    let sandbox = start_sandbox().await;
    let api = sandbox.banq().api_base_url;
    let company = sandbox.credentials().banq_company_id.clone();
    let bearer = format!("Bearer {}", open_api_token(&sandbox).await);
    let guid = guid(&sandbox);
    let good = json!({
        "destination": {"banqGuid": guid}, "comment": "c", "funds": 10,
        "externalOrderCode": "o", "frequency": "once"
    });
    for (change, field) in [
        (json!({"funds": "10"}), "funds"),
        (json!({"funds": 0}), "funds"),
        (json!({"funds": 10.001}), "funds"),
        (json!({"funds": null}), "funds"),
        (json!({"destination": {"banqGuid": "not-mine"}}), "banqGuid"),
        (json!({"destination": {}}), "banqGuid"),
        (json!({"frequency": null}), "frequency"),
        (json!({"externalOrderCode": 7}), "externalOrderCode"),
        (
            json!({"frequency": "monthly", "startDate": "2021-06-15", "endDate": "2021-06-14"}),
            "endDate",
        ),
        (
            json!({"frequency": "monthly", "startDate": "15/06/2021"}),
            "startDate",
        ),
    ] {
        let mut body = good.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = raw(
            reqwest::Method::POST,
            &format!("{api}/payments/get-paid-link"),
            &[("authorization", &bearer), ("x-company-id", &company)],
            Some(body.to_string()),
        )
        .await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["code"], "ValidationError");
        assert!(
            answer["message"].as_str().unwrap().contains(field),
            "{body} → {answer}"
        );
    }
    let (status, _) = raw(
        reqwest::Method::POST,
        &format!("{api}/payments/get-paid-link"),
        &[("authorization", &bearer), ("x-company-id", &company)],
        Some("{\"funds\": ".into()),
    )
    .await;
    assert_eq!(status, 400);
    // The guide's own example: "once" with dates is accepted.
    let mut guide = good.clone();
    guide["startDate"] = json!("2021-06-15");
    guide["endDate"] = json!("2021-06-15");
    let (status, answer) = raw(
        reqwest::Method::POST,
        &format!("{api}/payments/get-paid-link"),
        &[("authorization", &bearer), ("x-company-id", &company)],
        Some(guide.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["link"].is_string() && answer["id"].is_string());
    assert_eq!(sandbox.payments(Provider::Banq).len(), 1);

    let client = client(&sandbox);
    let err = client
        .register_webhook_config("as-nope", &WebhookConfigRequest::new("https://s.example/h"))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.provider_code(), Some("AccountSpaceNotFound"));
    let space = sandbox.banq().account_space_id;
    let err = client
        .register_webhook_config(
            &space,
            &WebhookConfigRequest::new("https://s.example/h").retry_count(1000),
        )
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(400));
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn a_429_with_retry_after_on_creation_is_retried_and_creates_one_payment() {
    let sandbox = start_sandbox().await;
    fault_once(&sandbox, "POST", CREATE, too_many_requests(1));
    let link = client(&sandbox)
        .create_payment_link(&link(&sandbox, 1_000, "o"))
        .await
        .unwrap();
    assert!(link.id.is_some());
    assert_eq!(count_requests(&sandbox, "POST", CREATE), 2);
    assert_eq!(sandbox.payments(Provider::Banq).len(), 1);
}

#[tokio::test]
async fn a_creation_with_an_unknown_outcome_is_never_sent_twice() {
    for fault in [
        Fault::Status {
            status: 500,
            body: None,
        },
        Fault::Drop,
        Fault::Malformed,
    ] {
        let sandbox = start_sandbox().await;
        fault_once_after_processing(&sandbox, "POST", CREATE, fault.clone());
        let err = client(&sandbox)
            .create_payment_link(&link(&sandbox, 1_000, "o"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::OutcomeUnknown { .. } | Error::Decode { .. }),
            "{fault:?}: {err:?}"
        );
        assert_eq!(err.delivery(), Delivery::Unknown, "{fault:?}");
        assert_eq!(count_requests(&sandbox, "POST", CREATE), 1, "{fault:?}");
        assert_eq!(sandbox.payments(Provider::Banq).len(), 1, "{fault:?}");
    }
}

#[tokio::test]
async fn a_creation_slower_than_the_timeout_is_not_resent() {
    let sandbox = start_sandbox().await;
    fault_once(&sandbox, "POST", CREATE, Fault::Latency { ms: 3000 });
    let err = client(&sandbox)
        .create_payment_link(&link(&sandbox, 1_000, "o"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count_requests(&sandbox, "POST", CREATE), 1);
    assert!(sandbox.payments(Provider::Banq).len() <= 1);
}

#[tokio::test]
async fn reads_and_tokens_survive_5xx_drops_and_429() {
    let sandbox = start_sandbox().await;
    fault_once(&sandbox, "POST", TOKEN, status_fault(503));
    let client = client(&sandbox);
    let id = client
        .create_payment_link(&link(&sandbox, 1_000, "o"))
        .await
        .unwrap()
        .id
        .unwrap();
    assert_eq!(count_requests(&sandbox, "POST", TOKEN), 2);
    act(&sandbox, Provider::Banq, &id, PayerAction::Pay).await;
    fault_once(&sandbox, "GET", GET, status_fault(502));
    fault_once(&sandbox, "GET", GET, Fault::Drop);
    let payment = client.get_payment(&id).await.unwrap();
    assert_eq!(payment.status, BanqStatus::Completed);
    assert_eq!(count_requests(&sandbox, "GET", GET), 3);
    fault_once(&sandbox, "GET", GET, too_many_requests(0));
    assert_eq!(
        client.get_payment(&id).await.unwrap().status,
        BanqStatus::Completed
    );
    // A truncated answer is a decode error, never a status.
    fault_once(&sandbox, "GET", GET, Fault::Malformed);
    let err = client.get_payment(&id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(sandbox.payments(Provider::Banq).len(), 1);
}

#[tokio::test]
async fn the_link_page_is_html_whose_buttons_pay_and_end_on_a_completion_page() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let checkout = client
        .checkout(&CreatePayment::new(usd(1_250), "order-<7>").description("Tea & \"biscuits\""))
        .await
        .unwrap();
    let link = checkout.redirect_url.unwrap();
    let opened = page::open(&link).await;
    assert_eq!(opened.status, 200);
    assert!(opened.content_type.starts_with("text/html"), "{opened:?}");
    assert!(
        opened.html.contains("Tea &amp; &quot;biscuits&quot;")
            && opened.html.contains("order-&lt;7&gt;")
            && opened.html.contains("12.50 USD"),
        "every value escaped: {}",
        opened.html
    );
    assert!(
        opened.has("fail") && opened.has("cancel"),
        "{}",
        opened.html
    );
    // Banq documents no return URL for a payment link: the payer ends on a completion page.
    let paid = opened.click("pay", &[]).await;
    let done = paid.follow(&link).await;
    assert_eq!(done.status, 200);
    assert!(done.html.contains("completed"), "{}", done.html);
    assert!(!done.has("pay"), "nothing left to pay: {}", done.html);
    let payment = client.fetch_payment(&checkout.payment_id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    // A second click (a stale tab) does not pay twice: a page that says why.
    let again = opened.click("pay", &[]).await;
    assert_eq!(again.status, 409, "{again:?}");
    assert!(again.content_type.starts_with("text/html"), "{again:?}");
}

#[tokio::test]
async fn the_link_page_asks_for_the_one_time_code_when_the_bank_wants_one() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let checkout = client
        .checkout(&CreatePayment::new(usd(990), "order-otp"))
        .await
        .unwrap();
    act(
        &sandbox,
        Provider::Banq,
        &checkout.payment_id,
        PayerAction::RequireOtp,
    )
    .await;
    let link = checkout.redirect_url.unwrap();
    let opened = page::open(&link).await;
    assert!(!opened.has("pay"), "{}", opened.html);
    let wrong = opened.click("otp", &[("code", "000000")]).await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert!(wrong.body.contains("one-time code"), "{}", wrong.body);
    let right = opened.click("otp", &[("code", SANDBOX_OTP)]).await;
    assert!(right.follow(&link).await.html.contains("completed"));
}
