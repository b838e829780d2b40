//! The real `payments-fintecture` client against the sandbox's Fintecture: token, signed calls,
//! connect → payer → signed webhook → get, list, cancel, refunds, settlements, the Connect page
//! and redirect, injected faults, and the emulator's own refusals (credentials, tokens,
//! signatures, validation).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Duration;

use payments_core::webhook::{WebhookRequest, WebhookVerifier};
use payments_core::{
    Currency, Error, Money, PaymentProvider, PaymentStatus, RefundRequest, RefundStatus,
};
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::signing::{http_date, sign_request};
use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
use payments_fintecture::{
    ConnectRequest, Environment, FintectureClient, FintectureConfig, ListPaymentsQuery,
    RedirectError, RefundPaymentRequest, SessionStatus, StoredSession, TransferState,
};
use payments_sandbox::{
    ControlError, DeliveryRecord, DeliveryState, Fault, PayerAction, Provider, RunningSandbox,
    SANDBOX_OTP, Sandbox,
};
use payments_test_support::{
    act, count_requests, fast_http, fault_once, fault_once_after_processing, sink_url,
    start_sandbox, status_fault, too_many_requests,
};
use serde_json::{Value, json};

#[path = "support/page.rs"]
mod page;

const CONNECT: &str = "/fintecture/pis/v2/connect";
const PAYMENT: &str = "/fintecture/pis/v2/payments/*";
const REDIRECT: &str = "https://shop.example/fintecture/return";

fn pem(sb: &RunningSandbox) -> String {
    sb.keys().fintecture_private_key_pem().unwrap().to_owned()
}

fn config(sb: &RunningSandbox) -> FintectureConfig {
    let c = sb.credentials();
    FintectureConfig::new(
        &c.fintecture_app_id,
        &c.fintecture_app_secret,
        pem(sb),
        Environment::Sandbox,
    )
    .base_url(sb.provider_url(Provider::Fintecture))
    .http(fast_http())
}

fn client(sb: &RunningSandbox) -> FintectureClient {
    FintectureClient::new(config(sb)).unwrap()
}

fn sink(sb: &RunningSandbox) -> String {
    sink_url(sb, "fintecture")
}

fn eur(cents: i64) -> Money {
    Money::from_minor(cents, Currency::EUR)
}

fn order(cents: i64, reference: &str) -> ConnectRequest {
    ConnectRequest::new(eur(cents), reference, reference, REDIRECT)
}

fn verifier(sb: &RunningSandbox) -> FintectureWebhookVerifier {
    let key = AppPrivateKey::from_pem(&pem(sb)).unwrap();
    FintectureWebhookVerifier::new(WebhookSettings::new(
        &sb.credentials().fintecture_app_id,
        Arc::new(key),
    ))
}

fn verify(
    sb: &RunningSandbox,
    d: &DeliveryRecord,
) -> Result<
    payments_core::webhook::VerifiedEvent<payments_fintecture::webhook::FintectureEvent>,
    payments_core::webhook::WebhookRejection,
> {
    let request = WebhookRequest::new("POST", &d.url, d.body.as_bytes())
        .headers(d.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    verifier(sb).verify(&request)
}

async fn delivery(sb: &RunningSandbox, id: &str, status: &str) -> DeliveryRecord {
    let event = format!("payment_session.status.{status}");
    sb.wait_for_delivery(
        |d| d.payment_id == id && d.event == event,
        Duration::from_secs(10),
    )
    .await
    .unwrap_or_else(|| panic!("no {event} delivery for {id}: {:?}", sb.deliveries()))
}

/// A raw HTTP call, signed (or not) with the sandbox key exactly as the documentation says.
struct Raw<'a> {
    sb: &'a RunningSandbox,
    http: reqwest::Client,
}

impl<'a> Raw<'a> {
    fn new(sb: &'a RunningSandbox) -> Self {
        Raw {
            sb,
            http: reqwest::Client::new(),
        }
    }

    async fn token(&self) -> String {
        let (status, body) = self
            .token_call(
                Some((
                    &self.sb.credentials().fintecture_app_id,
                    &self.sb.credentials().fintecture_app_secret,
                )),
                "application/x-www-form-urlencoded",
                &format!(
                    "grant_type=client_credentials&app_id={}&scope=PIS",
                    self.sb.credentials().fintecture_app_id
                ),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn token_call(
        &self,
        basic: Option<(&str, &str)>,
        content_type: &str,
        body: &str,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!(
                "{}/oauth/accesstoken",
                self.sb.provider_url(Provider::Fintecture)
            ))
            .header("accept", "application/json")
            .header("content-type", content_type)
            .body(body.to_owned());
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `target` is the path and query after the `/fintecture` prefix.
    async fn call(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        token: Option<&str>,
        tamper: impl FnOnce(&mut Vec<(String, String)>),
    ) -> (u16, Value) {
        let full_target = format!("/fintecture{target}");
        let key = AppPrivateKey::from_pem(&pem(self.sb)).unwrap();
        let signed = sign_request(
            &key,
            &self.sb.credentials().fintecture_app_id,
            method,
            &full_target,
            body,
            &http_date(time::OffsetDateTime::now_utc()),
            "4f3a2b1c-0d9e-4f8a-9b7c-6d5e4f3a2b1c",
        )
        .unwrap();
        let mut headers = vec![
            ("Date".to_owned(), signed.date.clone()),
            ("X-Request-ID".to_owned(), signed.request_id.clone()),
            ("Signature".to_owned(), signed.signature.clone()),
            ("Content-Type".to_owned(), "application/json".to_owned()),
        ];
        if let Some(digest) = &signed.digest {
            headers.push(("Digest".to_owned(), digest.clone()));
        }
        tamper(&mut headers);
        let url = format!("{}{full_target}", self.sb.base_url());
        let mut request = self
            .http
            .request(method.parse().unwrap(), url)
            .body(body.to_vec());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Changes the headers of a signed raw call before it is sent.
type Tamper = Box<dyn FnOnce(&mut Vec<(String, String)>)>;

fn code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or_default()
}

// ------------------------------------------------------------------------------- the main flow

#[tokio::test]
async fn connect_pay_signed_webhook_then_get() {
    let sb = start_sandbox().await;
    sb.set_webhook_url(Provider::Fintecture, Some(sink(&sb)));
    let c = client(&sb);
    let session = c
        .connect(
            &ConnectRequest::new(
                Money::from_decimal_str("550.60", Currency::EUR).unwrap(),
                "B34970692",
                "order-42",
                REDIRECT,
            )
            .psu_name("Julien Lefebre")
            .psu_email("julien@example.com"),
        )
        .await
        .unwrap();
    let id = session.meta.session_id.clone();
    assert_eq!(id.len(), 32);
    assert!(
        session.meta.url.starts_with(&format!(
            "{}/connect/",
            sb.provider_url(Provider::Fintecture)
        )),
        "{}",
        session.meta.url
    );
    let before = c.get_payment(&id).await.unwrap();
    assert_eq!(before.meta.status, SessionStatus::OrderCreated);
    assert_eq!(
        c.fetch_payment(&id).await.unwrap().status,
        PaymentStatus::Pending
    );
    assert_eq!(sb.payments(Provider::Fintecture).len(), 1);
    assert_eq!(
        sb.payments(Provider::Fintecture)[0]["sandbox"]["meta"]["psu_name"],
        "Julien Lefebre"
    );

    act(&sb, Provider::Fintecture, &id, PayerAction::Pay).await;
    let d = delivery(&sb, &id, "payment_created").await;
    assert_eq!(d.state, DeliveryState::Delivered, "{d:?}");
    assert_eq!(d.url, sink(&sb));
    assert!(
        d.body.starts_with(&format!(
            "session_id={id}&status=payment_created&customer_id="
        )),
        "{}",
        d.body
    );
    let event = verify(&sb, &d).unwrap();
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(event.payment_id.as_deref(), Some(id.as_str()));
    assert_eq!(event.data.state.as_deref(), Some("order-42"));
    assert_eq!(event.data.transfer_state, Some(TransferState::Completed));
    assert_eq!(
        event.data.amount_money(),
        Some(Money::from_minor(55_060, Currency::EUR))
    );
    assert_eq!(
        event.event_type.as_deref(),
        Some("payment_session.status.payment_created")
    );
    assert!(event.data.request_id.is_some(), "x-request-id is signed");

    let paid = c.get_payment(&id).await.unwrap();
    assert_eq!(paid.meta.status, SessionStatus::PaymentCreated);
    assert_eq!(paid.meta.is_accepted, Some(true));
    assert_eq!(paid.meta.has_settlement_completed, Some(true));
    let a = &paid.data.attributes;
    assert_eq!(a.transfer_state, Some(TransferState::Completed));
    assert_eq!(a.amount.unwrap().to_string(), "550.60");
    assert_eq!(a.currency.as_deref(), Some("EUR"));
    assert_eq!(a.communication.as_deref(), Some("B34970692"));
    let neutral = c.fetch_payment(&id).await.unwrap();
    assert_eq!(neutral.status, PaymentStatus::Succeeded);
    assert_eq!(
        neutral.amount,
        Some(Money::from_minor(55_060, Currency::EUR))
    );
    assert_eq!(neutral.reference.as_deref(), Some("B34970692"));
    // One token for the whole run: cached by the client, accepted until it expires.
    assert_eq!(
        count_requests(&sb, "POST", "/fintecture/oauth/accesstoken"),
        1
    );
}

#[tokio::test]
async fn the_connect_page_pays_and_redirects_and_the_redirect_is_confirmed_by_fetching() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let request = order(27_300, "B34970692");
    let session = c.connect(&request).await.unwrap();
    let stored = StoredSession::from_connect(&request, &session);
    let id = session.meta.session_id;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(&session.meta.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("273.00 EUR") && html.contains("B34970692"),
        "{html}"
    );
    let answer = browser
        .post(&session.meta.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let query = location
        .strip_prefix(&format!("{REDIRECT}?"))
        .unwrap_or_else(|| panic!("{location}"));
    assert!(query.contains(&format!("session_id={id}")), "{query}");
    assert!(query.contains("status=payment_created"), "{query}");
    assert!(query.contains("state=B34970692"), "{query}");
    let confirmed = c.confirm_redirect(query, &stored).await.unwrap();
    assert_eq!(confirmed.status, PaymentStatus::Succeeded);
    let another_order = StoredSession::new(&id, "another-order", eur(27_300), "B34970692");
    assert!(matches!(
        c.confirm_redirect(query, &another_order).await,
        Err(RedirectError::StateMismatch)
    ));
    // Paying twice from the page is refused.
    let again = browser
        .post(&session.meta.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
}

/// Issue 13's attack on a real flow: order B (1.00 EUR) is paid on the Connect page; its payer
/// returns with B's `session_id` and the `state` of order A (5 000.00 EUR, unpaid). Bound to the
/// session stored with order A, the redirect is refused before anything is fetched; with B's
/// own stored session it is B that is paid.
#[tokio::test]
async fn a_paid_cheap_session_cannot_confirm_another_order() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let request_a = ConnectRequest::new(eur(500_000), "ORDER-A", "state-a-7f3c", REDIRECT);
    let session_a = c.connect(&request_a).await.unwrap();
    let order_a = StoredSession::from_connect(&request_a, &session_a);
    let request_b = ConnectRequest::new(eur(100), "ORDER-B", "state-b-91d2", REDIRECT);
    let session_b = c.connect(&request_b).await.unwrap();
    let order_b = StoredSession::from_connect(&request_b, &session_b);
    act(
        &sb,
        Provider::Fintecture,
        &session_b.meta.session_id,
        PayerAction::Pay,
    )
    .await;
    let forged = format!(
        "session_id={}&status=payment_created&state=state-a-7f3c",
        session_b.meta.session_id
    );
    let gets = count_requests(&sb, "GET", PAYMENT);
    let err = c.confirm_redirect(&forged, &order_a).await.unwrap_err();
    assert_eq!(err.field(), Some("session_id"), "{err}");
    assert_eq!(count_requests(&sb, "GET", PAYMENT), gets, "nothing fetched");
    // The same query is B's payer returning with the wrong state for B.
    assert!(matches!(
        c.confirm_redirect(&forged, &order_b).await,
        Err(RedirectError::StateMismatch)
    ));
    let genuine = format!(
        "session_id={}&status=payment_created&state=state-b-91d2",
        session_b.meta.session_id
    );
    let confirmed = c.confirm_redirect(&genuine, &order_b).await.unwrap();
    assert_eq!(confirmed.status, PaymentStatus::Succeeded);
    assert_eq!(
        c.fetch_payment(&session_a.meta.session_id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Pending,
        "order A is not paid"
    );
}

#[tokio::test]
async fn the_connect_page_takes_the_one_time_code_and_cancel_returns_to_origin_uri() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let session = c.connect(&order(1_000, "otp-order")).await.unwrap();
    act(
        &sb,
        Provider::Fintecture,
        &session.meta.session_id,
        PayerAction::RequireOtp,
    )
    .await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = browser
        .get(&session.meta.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("One-time code"), "{html}");
    let wrong = browser
        .post(&session.meta.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=otp&code=000000")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    let right = browser
        .post(&session.meta.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("action=otp&code={SANDBOX_OTP}"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303);

    let mut with_origin = order(1_000, "cancel-order");
    with_origin.origin_uri = Some("https://shop.example/cart".into());
    let session = c.connect(&with_origin).await.unwrap();
    let cancelled = browser
        .post(&session.meta.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=cancel")
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 303);
    let location = cancelled.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://shop.example/cart?")
            && location.contains("payment_cancelled"),
        "{location}"
    );
}

// ------------------------------------------------------------------------ tokens and signatures

#[tokio::test]
async fn the_token_endpoint_refuses_bad_credentials_grants_and_scopes() {
    let sb = start_sandbox().await;
    let mut bad = config(&sb);
    bad.app_secret = "not-the-secret".to_owned().into();
    let err = FintectureClient::new(bad)
        .unwrap()
        .get_payment("0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert_eq!(err.provider_code(), Some("invalid_client"));
    assert!(!format!("{err} {err:?}").contains("not-the-secret"));
    assert_eq!(
        count_requests(&sb, "GET", PAYMENT),
        0,
        "no API call without a token"
    );

    let raw = Raw::new(&sb);
    let creds = sb.credentials();
    let (id, secret) = (
        creds.fintecture_app_id.as_str(),
        creds.fintecture_app_secret.as_str(),
    );
    let form = "application/x-www-form-urlencoded";
    let good = format!("grant_type=client_credentials&app_id={id}&scope=PIS");
    let cases = [
        (None, form, good.clone(), 401, "invalid_client"),
        (
            Some((id, "wrong")),
            form,
            good.clone(),
            401,
            "invalid_client",
        ),
        (
            Some(("someone-else", secret)),
            form,
            good.clone(),
            401,
            "invalid_client",
        ),
        (
            Some((id, secret)),
            form,
            format!("grant_type=password&app_id={id}&scope=PIS"),
            400,
            "unsupported_grant_type",
        ),
        (
            Some((id, secret)),
            form,
            format!("grant_type=client_credentials&app_id={id}&scope=AIS"),
            400,
            "invalid_scope",
        ),
        (
            Some((id, secret)),
            form,
            "grant_type=client_credentials&scope=PIS".to_owned(),
            400,
            "invalid_request",
        ),
        (
            Some((id, secret)),
            "application/json",
            good.clone(),
            400,
            "invalid_request",
        ),
    ];
    for (basic, content_type, body, status, error) in cases {
        let (got, answer) = raw.token_call(basic, content_type, &body).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(error)),
            "{body} {answer}"
        );
    }
    let (status, answer) = raw.token_call(Some((id, secret)), form, &good).await;
    assert_eq!(status, 200);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 3600);
    assert!(
        answer["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
}

#[tokio::test]
async fn missing_unknown_and_expired_tokens_are_refused_and_the_client_renews_them() {
    let sb = Sandbox::builder()
        .time_divisor(1000)
        .token_lifetime(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let raw = Raw::new(&sb);
    let target = "/pis/v2/payments/0123456789abcdef0123456789abcdef";
    let (status, body) = raw.call("GET", target, b"", None, |_| {}).await;
    assert_eq!((status, code(&body)), (401, "missing_token"), "{body}");
    let (status, body) = raw.call("GET", target, b"", Some("forged"), |_| {}).await;
    assert_eq!((status, code(&body)), (401, "invalid_token"), "{body}");
    let token = raw.token().await;
    let (status, body) = raw.call("GET", target, b"", Some(&token), |_| {}).await;
    assert_eq!((status, code(&body)), (404, "payment_not_found"), "{body}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = raw.call("GET", target, b"", Some(&token), |_| {}).await;
    assert_eq!((status, code(&body)), (401, "token_expired"), "{body}");

    // The client's token expires too; it asks for a new one and carries on.
    let c = client(&sb);
    let id = c
        .connect(&order(1_000, "renew"))
        .await
        .unwrap()
        .meta
        .session_id;
    tokio::time::sleep(Duration::from_millis(400)).await;
    c.get_payment(&id).await.unwrap();
    assert!(count_requests(&sb, "POST", "/fintecture/oauth/accesstoken") >= 3);
}

#[tokio::test]
async fn unsigned_and_wrongly_signed_calls_are_refused() {
    let sb = start_sandbox().await;
    // Unsigned (the crate allows it for Fintecture's own sandbox): refused here, as in production.
    let unsigned = FintectureClient::new(config(&sb).sign_requests(false)).unwrap();
    let err = unsigned
        .connect(&order(1_000, "unsigned"))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert_eq!(err.provider_code(), Some("invalid_signature"));
    assert!(err.to_string().contains("Signature"), "{err}");
    // Signed with another key.
    let other = AppPrivateKey::generate().unwrap();
    let mut foreign = config(&sb);
    foreign.private_key_pem = other.to_pkcs8_pem().unwrap();
    let err = FintectureClient::new(foreign)
        .unwrap()
        .connect(&order(1_000, "foreign"))
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("invalid_signature"), "{err:?}");
    assert!(err.to_string().contains("does not verify"), "{err}");
    assert!(sb.payments(Provider::Fintecture).is_empty());

    let raw = Raw::new(&sb);
    let token = raw.token().await;
    let target = "/pis/v2/connect?state=s&redirect_uri=https%3A%2F%2Fshop.example%2Freturn";
    let body = br#"{"meta":{},"data":{"type":"payments","attributes":{"amount":"10.00","currency":"EUR","communication":"raw"}}}"#;
    let (status, answer) = raw.call("POST", target, body, Some(&token), |_| {}).await;
    assert_eq!(status, 200, "the untampered raw call is accepted: {answer}");
    let set = |name: &'static str, value: String| {
        move |h: &mut Vec<(String, String)>| {
            h.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            h.push((name.to_owned(), value));
        }
    };
    let drop_header = |name: &'static str| {
        move |h: &mut Vec<(String, String)>| h.retain(|(n, _)| !n.eq_ignore_ascii_case(name))
    };
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "missing header Signature",
            Box::new(drop_header("Signature")),
        ),
        (
            "missing header X-Request-ID",
            Box::new(drop_header("X-Request-ID")),
        ),
        ("missing header Digest", Box::new(drop_header("Digest"))),
        (
            "body digest mismatch",
            Box::new(set(
                "Digest",
                "SHA-256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            )),
        ),
        (
            "does not verify",
            Box::new(set(
                "X-Request-ID",
                "00000000-0000-4000-8000-000000000999".into(),
            )),
        ),
        (
            "keyId",
            Box::new(|h: &mut Vec<(String, String)>| {
                for (n, v) in h.iter_mut() {
                    if n == "Signature" {
                        *v = v.replacen("keyId=\"", "keyId=\"x", 1);
                    }
                }
            }),
        ),
    ];
    for (reason, tamper) in cases {
        let (status, answer) = raw.call("POST", target, body, Some(&token), tamper).await;
        assert_eq!(
            (status, code(&answer)),
            (401, "invalid_signature"),
            "{reason}: {answer}"
        );
        let message = answer["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{reason}: {message}");
    }
    // A valid signature over a stale Date.
    let key = AppPrivateKey::from_pem(&pem(&sb)).unwrap();
    let stale = http_date(time::OffsetDateTime::now_utc() - time::Duration::minutes(10));
    let signed = sign_request(
        &key,
        &sb.credentials().fintecture_app_id,
        "GET",
        "/fintecture/pis/v2/payments",
        b"",
        &stale,
        "id-1",
    )
    .unwrap();
    let answer = reqwest::Client::new()
        .get(format!(
            "{}/pis/v2/payments",
            sb.provider_url(Provider::Fintecture)
        ))
        .bearer_auth(&token)
        .header("Date", &signed.date)
        .header("X-Request-ID", &signed.request_id)
        .header("Signature", &signed.signature)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let answer: Value = answer.json().await.unwrap();
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("away from the server clock"),
        "{answer}"
    );
    // Only the accepted raw call created a session.
    assert_eq!(sb.payments(Provider::Fintecture).len(), 1);
}

// -------------------------------------------------------------------------------- validation

#[tokio::test]
async fn invalid_sessions_get_the_documented_error_body() {
    let sb = start_sandbox().await;
    let raw = Raw::new(&sb);
    let token = raw.token().await;
    let ok_query = "/pis/v2/connect?state=s&redirect_uri=https%3A%2F%2Fshop.example%2Freturn";
    let attrs = |a: Value| json!({"meta": {}, "data": {"type": "payments", "attributes": a}});
    let cases = [
        (
            ok_query,
            attrs(json!({"amount": 10.5, "currency": "EUR", "communication": "c"})),
            "invalid_amount",
        ),
        (
            ok_query,
            attrs(json!({"amount": "1.005", "currency": "EUR", "communication": "c"})),
            "invalid_amount",
        ),
        (
            ok_query,
            attrs(json!({"amount": "0", "currency": "EUR", "communication": "c"})),
            "invalid_amount",
        ),
        (
            ok_query,
            attrs(json!({"currency": "EUR", "communication": "c"})),
            "invalid_amount",
        ),
        (
            ok_query,
            attrs(json!({"amount": "1.00", "currency": "ZZZ", "communication": "c"})),
            "invalid_currency",
        ),
        (
            ok_query,
            attrs(json!({"amount": "1.00", "currency": "EUR"})),
            "invalid_communication",
        ),
        (
            ok_query,
            attrs(json!({"amount": "1.00", "currency": "EUR", "communication": "x".repeat(141)})),
            "invalid_communication",
        ),
        (
            ok_query,
            attrs(
                json!({"amount": "1.00", "currency": "EUR", "communication": "c", "execution_date": "28/02/2021"}),
            ),
            "invalid_execution_date",
        ),
        (
            "/pis/v2/connect?state=s",
            attrs(json!({"amount": "1.00", "currency": "EUR", "communication": "c"})),
            "invalid_redirect_uri",
        ),
        (
            "/pis/v2/connect?redirect_uri=shop",
            attrs(json!({"amount": "1.00", "currency": "EUR", "communication": "c"})),
            "invalid_redirect_uri",
        ),
        (ok_query, json!({"meta": {}}), "invalid_request"),
        (
            ok_query,
            json!({"meta": {"expiry": -1}, "data": {"attributes": {"amount": "1.00", "currency": "EUR", "communication": "c"}}}),
            "invalid_expiry",
        ),
    ];
    for (target, body, expected) in cases {
        let bytes = serde_json::to_vec(&body).unwrap();
        let (status, answer) = raw.call("POST", target, &bytes, Some(&token), |_| {}).await;
        assert_eq!((status, code(&answer)), (400, expected), "{body}: {answer}");
        assert!(answer["errors"][0]["message"].is_string(), "{answer}");
    }
    let (status, answer) = raw
        .call("POST", ok_query, b"not json", Some(&token), |_| {})
        .await;
    assert_eq!((status, code(&answer)), (400, "invalid_request"));
    assert!(sb.payments(Provider::Fintecture).is_empty());

    // Through the client: the provider's error, with its HTTP status and code.
    let err = client(&sb)
        .get_payment("0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.provider_code(), Some("payment_not_found"));
}

// -------------------------------------------------------------------------- list, cancel, refund

#[tokio::test]
async fn the_list_filters_by_status_and_date_and_pages() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            c.connect(&order(1_000 + n * 10, &format!("list-{n}")))
                .await
                .unwrap()
                .meta
                .session_id,
        );
    }
    act(&sb, Provider::Fintecture, &ids[1], PayerAction::Pay).await;
    let all = c.list_payments(&ListPaymentsQuery::new()).await.unwrap();
    let listed: Vec<_> = all.data.iter().map(|p| p.id.clone().unwrap()).collect();
    assert_eq!(
        listed,
        [ids[2].clone(), ids[1].clone(), ids[0].clone()],
        "newest first"
    );
    let meta = all.meta.as_ref().unwrap();
    assert_eq!((meta.total_items, meta.total_pages), (Some(3), Some(1)));
    let paid = c
        .list_payments(&ListPaymentsQuery::new().status("payment_created"))
        .await
        .unwrap();
    assert_eq!(paid.data.len(), 1);
    assert_eq!(paid.data[0].id.as_deref(), Some(ids[1].as_str()));
    assert_eq!(
        paid.data[0].attributes.status,
        Some(SessionStatus::PaymentCreated)
    );
    let first = c
        .list_payments(&ListPaymentsQuery::new().page(1, 2))
        .await
        .unwrap();
    assert_eq!(first.data.len(), 2);
    assert!(first.links.as_ref().unwrap().next.is_some());
    let second = c
        .list_payments(&ListPaymentsQuery::new().page(2, 2))
        .await
        .unwrap();
    assert_eq!(second.data.len(), 1);
    assert!(second.links.as_ref().unwrap().next.is_none());
    assert!(second.links.as_ref().unwrap().prev.is_some());
    let by_reference = c
        .list_payments(&ListPaymentsQuery::new().communication("list-1"))
        .await
        .unwrap();
    let listed: Vec<_> = by_reference.data.iter().map(|p| p.id.clone()).collect();
    assert_eq!(listed, [Some(ids[1].clone())]);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let dated = c
        .list_payments(&ListPaymentsQuery::new().dates(&today, &today))
        .await
        .unwrap();
    assert_eq!(dated.data.len(), 3);
    let future = c
        .list_payments(&ListPaymentsQuery::new().dates("2999-01-01", "2999-12-31"))
        .await
        .unwrap();
    assert!(future.data.is_empty());
    let raw = Raw::new(&sb);
    let token = raw.token().await;
    for bad in [
        "page[size]=0",
        "page[number]=x",
        "filter[date_from]=yesterday",
    ] {
        let (status, answer) = raw
            .call(
                "GET",
                &format!("/pis/v2/payments?{bad}"),
                b"",
                Some(&token),
                |_| {},
            )
            .await;
        assert_eq!((status, code(&answer)), (400, "invalid_request"), "{bad}");
    }
}

/// Every page, with the filters kept from page to page; and the neutral `find_by_reference`
/// through it.
#[tokio::test]
async fn every_page_is_listed_and_sessions_are_found_by_reference() {
    use futures_util::TryStreamExt as _;
    let sb = start_sandbox().await;
    let c = client(&sb);
    let mut ids = Vec::new();
    for n in 0..5 {
        let reference = if n % 2 == 0 {
            "ORDER-EVEN"
        } else {
            "ORDER-ODD"
        };
        let request = order(2_000 + n * 10, reference);
        ids.push(c.connect(&request).await.unwrap().meta.session_id);
    }
    let pages_before = count_requests(&sb, "GET", "/fintecture/pis/v2/payments");
    let all: Vec<_> = c
        .list_all_payments(&ListPaymentsQuery::new(), 2)
        .try_collect()
        .await
        .unwrap();
    let listed: Vec<_> = all.iter().map(|p| p.id.clone().unwrap()).collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    assert_eq!(
        count_requests(&sb, "GET", "/fintecture/pis/v2/payments") - pages_before,
        3
    );
    let even: Vec<_> = c
        .list_all_payments(&ListPaymentsQuery::new().communication("ORDER-EVEN"), 1)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(even.len(), 3);
    assert!(
        even.iter()
            .all(|p| p.attributes.communication.as_deref() == Some("ORDER-EVEN"))
    );
    act(&sb, Provider::Fintecture, &ids[1], PayerAction::Pay).await;
    let found = PaymentProvider::find_by_reference(&c, "ORDER-ODD")
        .await
        .unwrap();
    let mut found_ids: Vec<_> = found.iter().map(|p| p.id.clone()).collect();
    found_ids.sort();
    let mut odd = vec![ids[1].clone(), ids[3].clone()];
    odd.sort();
    assert_eq!(found_ids, odd);
    let paid = found.iter().find(|p| p.id == ids[1]).unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    assert_eq!(paid.amount, Some(eur(2_010)));
    assert_eq!(paid.reference.as_deref(), Some("ORDER-ODD"));
    assert!(
        PaymentProvider::find_by_reference(&c, "ORDER-NONE")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn cancel_patches_unpaid_sessions_only_and_notifies() {
    let sb = start_sandbox().await;
    sb.set_webhook_url(Provider::Fintecture, Some(sink(&sb)));
    let c = client(&sb);
    let id = c
        .connect(&order(1_000, "to-cancel"))
        .await
        .unwrap()
        .meta
        .session_id;
    c.cancel_payment(&id).await.unwrap();
    let got = c.get_payment(&id).await.unwrap();
    assert_eq!(got.meta.status, SessionStatus::PaymentCancelled);
    let d = delivery(&sb, &id, "payment_cancelled").await;
    assert_eq!(
        verify(&sb, &d).unwrap().status,
        Some(PaymentStatus::Cancelled)
    );
    // Again: accepted, nothing new sent.
    c.cancel_payment(&id).await.unwrap();
    assert_eq!(
        sb.deliveries()
            .iter()
            .filter(|d| d.payment_id == id)
            .count(),
        1
    );

    let paid = c
        .connect(&order(1_000, "paid"))
        .await
        .unwrap()
        .meta
        .session_id;
    act(&sb, Provider::Fintecture, &paid, PayerAction::Pay).await;
    let err = c.cancel_payment(&paid).await.unwrap_err();
    assert_eq!(err.http_status(), Some(400), "{err:?}");
    assert_eq!(err.provider_code(), Some("invalid_status_transition"));

    let raw = Raw::new(&sb);
    let token = raw.token().await;
    let fresh = c
        .connect(&order(1_000, "patch"))
        .await
        .unwrap()
        .meta
        .session_id;
    let (status, answer) = raw
        .call(
            "PATCH",
            &format!("/pis/v2/payments/{fresh}"),
            br#"{"meta":{"status":"payment_created"}}"#,
            Some(&token),
            |_| {},
        )
        .await;
    assert_eq!((status, code(&answer)), (400, "invalid_status"), "{answer}");
    let (status, answer) = raw
        .call(
            "PATCH",
            "/pis/v2/payments/0123456789abcdef0123456789abcdef",
            br#"{"meta":{"status":"payment_cancelled"}}"#,
            Some(&token),
            |_| {},
        )
        .await;
    assert_eq!((status, code(&answer)), (404, "payment_not_found"));
}

#[tokio::test]
async fn partial_and_repeated_refunds_are_bounded_by_the_paid_amount() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let id = c
        .connect(&order(1_000, "refund-me"))
        .await
        .unwrap()
        .meta
        .session_id;
    // Unpaid: refused by the emulator (the native call without history sends it as is).
    let err = c
        .refund(&RefundPaymentRequest::new(&id, eur(100)))
        .await
        .unwrap_err();
    assert_eq!(
        err.provider_code(),
        Some("invalid_status_transition"),
        "{err:?}"
    );
    act(&sb, Provider::Fintecture, &id, PayerAction::Pay).await;
    let first = c
        .refund(
            &RefundPaymentRequest::new(&id, eur(300))
                .communication("Refund refund-me")
                .state("refund-1"),
        )
        .await
        .unwrap();
    assert_eq!(first.meta.status, "refund_waiting");
    assert!(first.meta.session_id.as_ref().is_some_and(|s| s != &id));
    let second = c
        .refund(&RefundPaymentRequest::new(&id, eur(700)))
        .await
        .unwrap();
    assert_eq!(second.meta.status, "refund_waiting");
    let err = c
        .refund(&RefundPaymentRequest::new(&id, eur(1)))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(400), "{err:?}");
    assert_eq!(err.provider_code(), Some("refund_amount_exceeded"));
    let view = &sb.payments(Provider::Fintecture)[0]["sandbox"]["refunds"];
    assert_eq!(view.as_array().unwrap().len(), 2);
    assert_eq!(view[0]["amount"], "3.00");
    assert_eq!(view[0]["state"], "refund-1");
    assert_eq!(view[1]["amount"], "7.00");
    let err = c
        .refund(&RefundPaymentRequest::new(
            "0123456789abcdef0123456789abcdef",
            eur(1),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(404));

    // The neutral refund: a partial one then the rest.
    let id = c
        .connect(&order(2_000, "neutral"))
        .await
        .unwrap()
        .meta
        .session_id;
    act(&sb, Provider::Fintecture, &id, PayerAction::Pay).await;
    let partial = c
        .refund_payment(&RefundRequest::partial(&id, eur(500)))
        .await
        .unwrap();
    assert_eq!(partial.status, RefundStatus::Pending);
    let raw = Raw::new(&sb);
    let token = raw.token().await;
    let body = json!({"meta": {"session_id": id}, "data": {"attributes": {}}});
    let (status, answer) = raw
        .call(
            "POST",
            "/pis/v2/refund",
            &serde_json::to_vec(&body).unwrap(),
            Some(&token),
            |_| {},
        )
        .await;
    assert_eq!(status, 200, "no amount refunds the rest: {answer}");
    let refunds = &sb.payments(Provider::Fintecture)[1]["sandbox"]["refunds"];
    assert_eq!(refunds[1]["amount"], "15.00");
}

#[tokio::test]
async fn paid_sessions_are_settled_and_listed() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    assert!(c.list_settlements(&[]).await.unwrap().data.is_empty());
    let id = c
        .connect(&order(55_060, "settle"))
        .await
        .unwrap()
        .meta
        .session_id;
    act(&sb, Provider::Fintecture, &id, PayerAction::Pay).await;
    let list = c.list_settlements(&[("page[size]", "10")]).await.unwrap();
    assert_eq!(list.data.len(), 1);
    let s = &list.data[0];
    assert_eq!(s.attributes.amount.unwrap().to_string(), "550.60");
    assert_eq!(s.attributes.currency.as_deref(), Some("EUR"));
    assert_eq!(s.attributes.status.as_deref(), Some("completed"));
    let one = c.get_settlement(&s.id).await.unwrap();
    assert_eq!(one.data.id, s.id);
    let err = c.get_settlement("no-such-settlement").await.unwrap_err();
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.provider_code(), Some("settlement_not_found"));
}

// -------------------------------------------------------------------------------- the payer

#[tokio::test]
async fn payer_actions_follow_the_status_machine() {
    let sb = start_sandbox().await;
    sb.set_webhook_url(Provider::Fintecture, Some(sink(&sb)));
    let c = client(&sb);
    let f = Provider::Fintecture;
    let status = |id: String| {
        let c = c.clone();
        async move { c.fetch_payment(&id).await.unwrap() }
    };

    let id = c
        .connect(&order(1_000, "otp"))
        .await
        .unwrap()
        .meta
        .session_id;
    act(&sb, f, &id, PayerAction::RequireOtp).await;
    assert_eq!(status(id.clone()).await.raw_status, "sca_required");
    assert_eq!(
        status(id.clone()).await.status,
        PaymentStatus::RequiresAction
    );
    assert!(matches!(
        sb.act(f, &id, PayerAction::Pay).await,
        Err(ControlError::Conflict { .. })
    ));
    assert_eq!(
        sb.act(f, &id, PayerAction::SubmitOtp("000000".into()))
            .await,
        Err(ControlError::WrongOtp)
    );
    let view = act(&sb, f, &id, PayerAction::SubmitOtp(SANDBOX_OTP.into())).await;
    assert_eq!(view["meta"]["status"], "payment_created");
    assert_eq!(status(id.clone()).await.status, PaymentStatus::Succeeded);
    for action in [
        PayerAction::Pay,
        PayerAction::Cancel,
        PayerAction::Expire,
        PayerAction::Fail,
        PayerAction::RequireOtp,
        PayerAction::SubmitOtp(SANDBOX_OTP.into()),
    ] {
        assert!(
            matches!(
                sb.act(f, &id, action.clone()).await,
                Err(ControlError::Conflict { .. })
            ),
            "{action:?} on a paid session"
        );
    }
    // sca_required then payment_created: two webhooks, in order.
    let events: Vec<String> = sb
        .deliveries()
        .iter()
        .filter(|d| d.payment_id == id)
        .map(|d| d.event.clone())
        .collect();
    assert_eq!(
        events,
        [
            "payment_session.status.sca_required",
            "payment_session.status.payment_created"
        ]
    );

    // A transfer still in progress is not success; paying completes it, failing rejects it.
    for (then, expected) in [
        (PayerAction::Pay, PaymentStatus::Succeeded),
        (PayerAction::Fail, PaymentStatus::Failed),
    ] {
        let id = c
            .connect(&order(1_000, "transfer"))
            .await
            .unwrap()
            .meta
            .session_id;
        act(
            &sb,
            f,
            &id,
            PayerAction::SetStatus("payment_created + pending".into()),
        )
        .await;
        let p = status(id.clone()).await;
        assert_eq!(
            (p.raw_status.as_str(), &p.status),
            ("payment_created", &PaymentStatus::Authorized)
        );
        act(&sb, f, &id, then).await;
        assert_eq!(status(id.clone()).await.status, expected);
    }

    for (action, raw, unified) in [
        (
            PayerAction::Fail,
            "payment_unsuccessful",
            PaymentStatus::Failed,
        ),
        (
            PayerAction::Cancel,
            "payment_cancelled",
            PaymentStatus::Cancelled,
        ),
        (
            PayerAction::Expire,
            "payment_expired",
            PaymentStatus::Expired,
        ),
    ] {
        let id = c.connect(&order(1_000, raw)).await.unwrap().meta.session_id;
        act(&sb, f, &id, action.clone()).await;
        let p = status(id.clone()).await;
        assert_eq!((p.raw_status.as_str(), p.status), (raw, unified));
        let d = delivery(&sb, &id, raw).await;
        assert!(!verify(&sb, &d).unwrap().status.unwrap().is_success());
        assert!(matches!(
            sb.act(f, &id, PayerAction::Pay).await,
            Err(ControlError::Conflict { .. })
        ));
    }

    let id = c
        .connect(&order(1_000, "raw"))
        .await
        .unwrap()
        .meta
        .session_id;
    act(
        &sb,
        f,
        &id,
        PayerAction::SetStatus("SANDBOX_NEW_2031".into()),
    )
    .await;
    let p = status(id.clone()).await;
    assert_eq!(p.raw_status, "SANDBOX_NEW_2031");
    assert!(matches!(p.status, PaymentStatus::Unknown(_)));
    assert!(matches!(
        sb.act(f, "0123456789abcdef0123456789abcdef", PayerAction::Pay)
            .await,
        Err(ControlError::NotFound { .. })
    ));
}

#[tokio::test]
async fn magic_amounts_and_expiry_end_the_session_on_their_own() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let cases = [
        (1_005, PaymentStatus::Succeeded),
        (1_001, PaymentStatus::Failed),
        (1_002, PaymentStatus::Expired),
        (1_003, PaymentStatus::Cancelled),
    ];
    for (cents, expected) in cases {
        let id = c
            .connect(&order(cents, &format!("magic-{cents}")))
            .await
            .unwrap()
            .meta
            .session_id;
        let mut last = PaymentStatus::Pending;
        for _ in 0..200 {
            last = c.fetch_payment(&id).await.unwrap().status;
            if last.is_final() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(last, expected, "{cents}");
    }
    // meta.expiry: one second, divided by 1000.
    let id = c
        .connect(&order(1_000, "expiring").expiry(Duration::from_secs(1)))
        .await
        .unwrap()
        .meta
        .session_id;
    let mut raw = String::new();
    for _ in 0..200 {
        raw = c.get_payment(&id).await.unwrap().meta.status.to_string();
        if raw == "payment_expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(raw, "payment_expired");
}

// ---------------------------------------------------------------------------------- webhooks

#[tokio::test]
async fn webhooks_go_only_to_a_configured_url_and_are_retried_ten_times() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let id = c
        .connect(&order(1_000, "no-url"))
        .await
        .unwrap()
        .meta
        .session_id;
    act(&sb, Provider::Fintecture, &id, PayerAction::Pay).await;
    assert!(sb.deliveries().is_empty(), "no console URL, no webhook");

    sb.set_webhook_url(
        Provider::Fintecture,
        Some(format!("{}/_sandbox/sink/status/500", sb.base_url())),
    );
    let id = c
        .connect(&order(1_000, "refused"))
        .await
        .unwrap()
        .meta
        .session_id;
    act(&sb, Provider::Fintecture, &id, PayerAction::Pay).await;
    let d = delivery(&sb, &id, "payment_created").await;
    assert_eq!(d.state, DeliveryState::GaveUp);
    assert_eq!(d.attempts.len(), 11, "the first attempt and 10 retries");
    assert!(d.attempts.iter().all(|a| a.status == Some(500)));
    // Every attempt carries the same signed webhook, which still verifies.
    assert_eq!(
        verify(&sb, &d).unwrap().status,
        Some(PaymentStatus::Succeeded)
    );
    let mut tampered = d.clone();
    tampered.body = tampered
        .body
        .replace("status=payment_created", "status=payment_createf");
    assert!(verify(&sb, &tampered).is_err());
}

// ------------------------------------------------------------------------------------ faults

#[tokio::test]
async fn the_client_survives_faults_and_never_creates_a_session_twice() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let f = Provider::Fintecture;

    // 429 (not processed): retried, one session.
    fault_once(&sb, "POST", CONNECT, too_many_requests(0));
    c.connect(&order(1_000, "429")).await.unwrap();
    assert_eq!(count_requests(&sb, "POST", CONNECT), 2);
    assert_eq!(sb.payments(f).len(), 1);

    // 500 after processing: not re-sent, outcome unknown, the session exists once.
    fault_once_after_processing(&sb, "POST", CONNECT, status_fault(500));
    let err = c.connect(&order(1_000, "500")).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count_requests(&sb, "POST", CONNECT), 3);
    assert_eq!(sb.payments(f).len(), 2);

    // Connection dropped after processing: same.
    fault_once_after_processing(&sb, "POST", CONNECT, Fault::Drop);
    let err = c.connect(&order(1_000, "drop")).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count_requests(&sb, "POST", CONNECT), 4);
    assert_eq!(sb.payments(f).len(), 3);

    // Slower than the client's timeout: not re-sent. (The server drops the handler when the
    // client hangs up during the injected latency, so the session may not exist at all; it
    // never exists twice.)
    fault_once(&sb, "POST", CONNECT, Fault::Latency { ms: 2500 });
    let err = c.connect(&order(1_000, "slow")).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count_requests(&sb, "POST", CONNECT), 5);
    assert!(sb.payments(f).len() <= 4);

    // Reads: 503 then a dropped connection are retried; a malformed body is a decode error.
    let id = sb.payments(f)[0]["meta"]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    fault_once(&sb, "GET", PAYMENT, status_fault(503));
    fault_once(&sb, "GET", PAYMENT, Fault::Drop);
    let before = count_requests(&sb, "GET", PAYMENT);
    c.get_payment(&id).await.unwrap();
    assert_eq!(count_requests(&sb, "GET", PAYMENT) - before, 3);
    fault_once(&sb, "GET", PAYMENT, Fault::Malformed);
    let err = c.get_payment(&id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");

    // A refund answered 500 after processing is not re-sent either.
    act(&sb, f, &id, PayerAction::Pay).await;
    fault_once_after_processing(&sb, "POST", "/fintecture/pis/v2/refund", status_fault(500));
    let err = c
        .refund(&RefundPaymentRequest::new(&id, eur(100)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count_requests(&sb, "POST", "/fintecture/pis/v2/refund"), 1);
    assert_eq!(
        sb.payments(f)[0]["sandbox"]["refunds"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_description_gives_what_a_client_needs() {
    let sb = start_sandbox().await;
    let info = &sb.info()["providers"]["fintecture"];
    let base = sb.provider_url(Provider::Fintecture);
    assert_eq!(info["base_url"], base.as_str());
    assert_eq!(info["token_url"], format!("{base}/oauth/accesstoken"));
    assert_eq!(info["app_id"], sb.credentials().fintecture_app_id.as_str());
    assert_eq!(
        info["app_secret"],
        sb.credentials().fintecture_app_secret.as_str()
    );
    assert_eq!(info["private_key_pem"], pem(&sb).as_str());
    assert!(
        info["public_key_pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    assert!(info["webhook_url"].is_null());
    // The typed details say the same, and keep the secrets out of Debug.
    let fintecture = sb.fintecture();
    assert_eq!(info["base_url"], fintecture.base_url);
    assert_eq!(info["token_url"], fintecture.token_url);
    assert_eq!(info["app_id"], fintecture.app_id);
    assert_eq!(info["app_secret"], fintecture.app_secret);
    assert_eq!(info["private_key_pem"], json!(fintecture.private_key_pem));
    assert_eq!(info["public_key_pem"], fintecture.public_key_pem);
    assert_eq!(info["connect_page"], fintecture.connect_url("{session_id}"));
    let shown = format!("{fintecture:?}");
    assert!(!shown.contains(&fintecture.app_secret) && !shown.contains("PRIVATE KEY"));
    sb.set_webhook_url(Provider::Fintecture, Some(sink(&sb)));
    assert_eq!(
        sb.info()["providers"]["fintecture"]["webhook_url"],
        sink(&sb).as_str()
    );
}

#[tokio::test]
async fn the_connect_page_escapes_values_and_answers_its_refusals_as_pages() {
    let sb = start_sandbox().await;
    let c = client(&sb);
    let session = c.connect(&order(1_500, "Tea & <biscuits>")).await.unwrap();
    let opened = page::open(&session.meta.url).await;
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
    act(
        &sb,
        Provider::Fintecture,
        &session.meta.session_id,
        PayerAction::RequireOtp,
    )
    .await;
    let asking = page::open(&session.meta.url).await;
    assert!(!asking.has("pay"), "{}", asking.html);
    let wrong = asking.click("otp", &[("code", "000000")]).await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.content_type.starts_with("text/html") && wrong.body.contains("id=\"otp\""),
        "the page again, saying why: {wrong:?}"
    );
    let right = asking.click("otp", &[("code", SANDBOX_OTP)]).await;
    let back = right.redirected_to();
    assert!(
        back.starts_with(&format!("{REDIRECT}?session_id=")),
        "{back}"
    );
    // Fintecture's redirect: session_id, status, provider, customer_id and state.
    for part in [
        "status=payment_created",
        "provider=sandboxbank",
        "customer_id=",
        "state=Tea+%26+%3Cbiscuits%3E",
    ] {
        assert!(back.contains(part), "{back} lacks {part}");
    }
    let stale = opened.click("pay", &[]).await;
    assert_eq!(stale.status, 409);
    assert!(stale.content_type.starts_with("text/html"), "{stale:?}");
}
