//! Paylican's real client (`payments-paylican`) against the sandbox: Keycloak tokens, payment
//! creation with every field, the payment page, the simulated payer, unsigned webhooks verified
//! behind the crate's guards, the sandbox's status extension, injected faults (never a second
//! invoice), and the emulator's own refusals over raw HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use payments_core::webhook::{Authenticity, WebhookRequest, WebhookVerifier};
use payments_core::{
    Capability, CreatePayment, Currency, Decimal, Error, Money, PaymentProvider, PaymentStatus,
};
use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
use payments_paylican::{CreatePaymentRequest, InvoiceStatus, PaylicanClient, PaylicanConfig};
use payments_sandbox::{
    DeliveryRecord, DeliveryState, Fault, FaultRule, PayerAction, Provider, RunningSandbox, Sandbox,
};
use payments_test_support::{
    act, count_requests, fast_http, fault_once, sink_url, start_sandbox, status_fault,
    too_many_requests,
};
use serde_json::{Value, json};

#[path = "support/page.rs"]
mod page;

const SECRET: &str = "contract-paylican-guard-0123456789";
const STATUS_PATH: &str = "/sandbox-extension/invoice/{invoiceId}";
const CREATE: &str = "/paylican/api/v1/payment";

async fn sandbox() -> RunningSandbox {
    let sandbox = start_sandbox().await;
    sink_webhooks(&sandbox);
    sandbox
}

fn sink_webhooks(sandbox: &RunningSandbox) {
    sandbox.set_webhook_url(
        Provider::Paylican,
        Some(sink_url(sandbox, &format!("paylican/{SECRET}"))),
    );
}

fn config(sandbox: &RunningSandbox) -> PaylicanConfig {
    let url = sandbox.provider_url(Provider::Paylican);
    let creds = sandbox.credentials();
    PaylicanConfig::new(
        url.clone(),
        url,
        creds.paylican_username.clone(),
        creds.paylican_password.clone(),
    )
    .realm(creds.paylican_realm.clone())
    .client_id(creds.paylican_client_id.clone())
    .status_path(STATUS_PATH)
    .payment_type("XYZ")
    .currency(Currency::GNF)
    .http(fast_http())
}

fn client(sandbox: &RunningSandbox) -> PaylicanClient {
    PaylicanClient::new(config(sandbox)).unwrap()
}

fn documented_request(reference: &str) -> CreatePaymentRequest {
    CreatePaymentRequest::new(Decimal::parse("5100.00").unwrap(), "XYZ", reference)
        .customer_code("ABC123")
        .redirection_url("https://merchant-url.com/")
        .item_name("Item name")
        .beneficiary_code("20")
        .additional_field("documentNo", "TST1201901260")
        .additional_field("documentDate", "2018-01-03Z")
}

fn token_path(sandbox: &RunningSandbox) -> String {
    format!(
        "/paylican/auth/realms/{}/protocol/openid-connect/token",
        sandbox.credentials().paylican_realm
    )
}

fn verifier() -> PaylicanWebhookVerifier {
    PaylicanWebhookVerifier::new(WebhookGuards::new().secret_in_path(SECRET).unwrap())
}

fn request(delivery: &DeliveryRecord) -> WebhookRequest<'_> {
    WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
        delivery
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    )
}

async fn delivery_about(sandbox: &RunningSandbox, id: &str, event: &str) -> DeliveryRecord {
    let event = event.to_owned();
    sandbox
        .wait_for_delivery(
            |d| d.payment_id == id && d.event == event,
            Duration::from_secs(5),
        )
        .await
        .unwrap_or_else(|| panic!("no `{event}` delivery: {:?}", sandbox.deliveries()))
}

/// A password-grant token over raw HTTP.
async fn raw_token(sandbox: &RunningSandbox) -> Value {
    let creds = sandbox.credentials();
    let form = format!(
        "username={}&password={}&grant_type=password&client_id={}",
        creds.paylican_username.replace('@', "%40"),
        creds.paylican_password,
        creds.paylican_client_id
    );
    let response = reqwest::Client::new()
        .post(format!("{}{}", sandbox.base_url(), token_path(sandbox)))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_pay_webhook_and_get_with_the_real_client() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let created = client
        .create_payment(&documented_request("REF-1234"))
        .await
        .unwrap();
    assert_eq!(created.merchant_reference, "REF-1234");
    assert!(created.invoice_id.starts_with("XYZ20"), "{created:?}");
    assert_eq!(created.raw["invoiceId"], created.invoice_id.as_str());

    // Every documented field reached the emulator, the amount digit for digit.
    let payments = sandbox.payments(Provider::Paylican);
    assert_eq!(payments.len(), 1);
    let stored = &payments[0];
    assert_eq!(stored["amount"], "5100.00");
    assert_eq!(stored["type"], "XYZ");
    assert_eq!(stored["customerCode"], "ABC123");
    assert_eq!(stored["redirectionUrl"], "https://merchant-url.com/");
    assert_eq!(stored["itemName"], "Item name");
    assert_eq!(stored["beneficiaryCode"], "20");
    assert_eq!(
        stored["additionalFields"],
        json!([
            {"code": "documentNo", "value": "TST1201901260"},
            {"code": "documentDate", "value": "2018-01-03Z"}
        ])
    );
    assert_eq!(stored["status"], "UNPAID");

    // The payment-page URL the crate builds resolves: Keycloak's 302, then the page.
    let page = reqwest::get(&created.payment_page_url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.url()
            .path()
            .starts_with("/paylican/api/v1/pay/XYZ/REF-1234/")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&created.invoice_id) && html.contains("5100.00"),
        "{html}"
    );

    // Before payment: the status extension says UNPAID (pending).
    let before = client.get_invoice(&created.invoice_id).await.unwrap();
    assert_eq!(before.status, InvoiceStatus::Unpaid);

    let view = act(
        &sandbox,
        Provider::Paylican,
        &created.invoice_id,
        PayerAction::Pay,
    )
    .await;
    assert_eq!(view["status"], "PAID");
    let delivery = delivery_about(
        &sandbox,
        &created.invoice_id,
        "invoice.payment_initiated PAID",
    )
    .await;
    assert_eq!(delivery.state, DeliveryState::Delivered);
    assert_eq!(
        delivery.headers,
        vec![("Content-Type".to_owned(), "application/json".to_owned())],
        "unsigned: no signature header"
    );
    assert!(
        delivery.body.contains("\"totalAmount\":5100.00"),
        "{}",
        delivery.body
    );

    let event = verifier().verify(&request(&delivery)).unwrap();
    assert_eq!(event.authenticity, Authenticity::Guarded);
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(
        event.payment_id.as_deref(),
        Some(created.invoice_id.as_str())
    );
    assert_eq!(
        event.event_type.as_deref(),
        Some("invoice.payment_initiated")
    );
    let invoice = &event.data.data;
    assert_eq!(
        invoice.total_amount.map(|d| d.to_string()).as_deref(),
        Some("5100.00")
    );
    assert_eq!(invoice.document_no.as_deref(), Some("REF-1234"));
    assert_eq!(
        invoice.additional_field("documentNo"),
        Some("TST1201901260")
    );
    assert!(invoice.payment_no.is_some() && invoice.payment_date.is_some());
    assert_eq!(event.data.pending_webhooks, Some(2));
    assert!(event.occurred_at.is_some());
    // The URL secret is what guards it: elsewhere, it is refused.
    let mut elsewhere = delivery.clone();
    elsewhere.url = elsewhere
        .url
        .replace(SECRET, "wrong-secret-wrong-secret-0123");
    assert!(verifier().verify(&request(&elsewhere)).is_err());

    // The native and the neutral reads.
    let invoice = client.get_invoice(&created.invoice_id).await.unwrap();
    assert!(invoice.is_paid());
    assert_eq!(invoice.payment_no, event.data.data.payment_no);
    let payment = client.fetch_payment(&created.invoice_id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.raw_status, "PAID");
    assert_eq!(payment.amount, Some(Money::from_minor(5100, Currency::GNF)));
    assert_eq!(payment.reference.as_deref(), Some("REF-1234"));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_neutral_api_creates_and_declares_what_paylican_lacks() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    assert!(client.capabilities().supports(Capability::GetPayment));
    let checkout = client
        .checkout(
            &CreatePayment::new(Money::from_minor(150_000, Currency::GNF), "order-7")
                .description("Order 7")
                .return_url("https://shop.example/return"),
        )
        .await
        .unwrap();
    assert_eq!(checkout.status, PaymentStatus::Pending);
    let redirect = checkout.redirect_url.unwrap();
    assert_eq!(reqwest::get(&redirect).await.unwrap().status(), 200);
    assert_eq!(sandbox.payments(Provider::Paylican)[0]["amount"], "150000");
    let before = sandbox.requests().len();
    assert!(matches!(
        client.cancel(&checkout.payment_id).await,
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        client
            .refund_payment(&payments_core::RefundRequest::full(&checkout.payment_id))
            .await,
        Err(Error::Unsupported { .. })
    ));
    assert_eq!(sandbox.requests().len(), before, "nothing sent");
    // Without the status extension configured, get stays unsupported (as with the real Paylican).
    let mut plain = config(&sandbox);
    plain.status_path = None;
    let plain = PaylicanClient::new(plain).unwrap();
    assert!(matches!(
        plain.fetch_payment(&checkout.payment_id).await,
        Err(Error::Unsupported { .. })
    ));
    assert_eq!(sandbox.requests().len(), before, "nothing sent");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_issues_and_refreshes_tokens_and_refuses_bad_credentials() {
    let sandbox = Sandbox::builder()
        .time_divisor(1000)
        .token_lifetime(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}{}", sandbox.base_url(), token_path(&sandbox));
    let creds = sandbox.credentials().clone();
    let post = |body: String, content_type: &'static str| {
        http.post(&url)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let form = |user: &str, password: &str, client: &str| {
        format!(
            "username={}&password={password}&grant_type=password&client_id={client}",
            user.replace('@', "%40")
        )
    };

    let token = raw_token(&sandbox).await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 1);
    assert_eq!(token["refresh_expires_in"], 1800);
    for field in ["access_token", "refresh_token", "session_state", "scope"] {
        assert!(token[field].is_string(), "{field}: {token}");
    }

    let status = |access: String| {
        http.get(format!(
            "{}/sandbox-extension/invoice/none",
            sandbox.provider_url(Provider::Paylican)
        ))
        .bearer_auth(access)
        .send()
    };
    let access = token["access_token"].as_str().unwrap().to_owned();
    assert_eq!(status(access.clone()).await.unwrap().status(), 404);
    // Expired: 401 with Spring Security's challenge, empty body.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = status(access).await.unwrap();
    assert_eq!(expired.status(), 401);
    assert!(
        expired.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert!(expired.bytes().await.unwrap().is_empty());

    // The refresh token gives a new, working access token.
    let refresh = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}",
        token["refresh_token"].as_str().unwrap(),
        creds.paylican_client_id
    );
    let renewed: Value = post(refresh, "application/x-www-form-urlencoded")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = renewed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(status(access).await.unwrap().status(), 404);

    let refusals = [
        (
            form(&creds.paylican_username, "wrong", &creds.paylican_client_id),
            "application/x-www-form-urlencoded",
            401,
            json!({"error": "invalid_grant", "error_description": "Invalid user credentials"}),
        ),
        (
            form(&creds.paylican_username, &creds.paylican_password, "other"),
            "application/x-www-form-urlencoded",
            401,
            json!({"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"}),
        ),
        (
            format!(
                "grant_type=refresh_token&refresh_token=forged&client_id={}",
                creds.paylican_client_id
            ),
            "application/x-www-form-urlencoded",
            400,
            json!({"error": "invalid_grant", "error_description": "Token is not active"}),
        ),
        (
            format!(
                "grant_type=client_credentials&client_id={}",
                creds.paylican_client_id
            ),
            "application/x-www-form-urlencoded",
            400,
            json!({"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}),
        ),
        (
            json!({"grant_type": "password"}).to_string(),
            "application/json",
            400,
            json!({"error": "invalid_request", "error_description": "Missing form parameter: grant_type"}),
        ),
    ];
    for (body, content_type, code, expected) in refusals {
        let response = post(body.clone(), content_type).await.unwrap();
        assert_eq!(response.status(), code, "{body}");
        assert_eq!(response.json::<Value>().await.unwrap(), expected, "{body}");
    }
    let other_realm = http
        .post(url.replace(
            &format!("/realms/{}/", creds.paylican_realm),
            "/realms/PGW-X/",
        ))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(
            &creds.paylican_username,
            &creds.paylican_password,
            &creds.paylican_client_id,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(other_realm.status(), 404);
    assert_eq!(
        other_realm.json::<Value>().await.unwrap(),
        json!({"error": "Realm does not exist"})
    );

    // The real client: a wrong password is Keycloak's error, and nothing is created.
    let mut wrong = config(&sandbox);
    wrong.password = "wrong-password".to_owned().into();
    let err = PaylicanClient::new(wrong)
        .unwrap()
        .create_payment(&documented_request("R-1"))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert_eq!(err.provider_code(), Some("invalid_grant"), "{err:?}");
    assert!(!format!("{err:?}").contains("wrong-password"));
    assert_eq!(count_requests(&sandbox, "POST", CREATE), 0);

    // The real client outlives its access token (1 s): it renews it and goes on.
    let client = client(&sandbox);
    client
        .create_payment(&documented_request("R-2"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client
        .create_payment(&documented_request("R-3"))
        .await
        .unwrap();
    assert_eq!(sandbox.payments(Provider::Paylican).len(), 2);
    assert_eq!(
        count_requests(&sandbox, "POST", CREATE),
        2,
        "no creation refused with 401"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creations_are_validated_as_documented() {
    let sandbox = sandbox().await;
    let token = raw_token(&sandbox).await;
    let access = token["access_token"].as_str().unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}{}", sandbox.base_url(), CREATE);
    let create = |body: String| {
        http.post(&url)
            .bearer_auth(access)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let long_url = |len: usize| format!("https://m.example/{}", "a".repeat(len - 18));
    let refused = [
        (json!({"type": "XYZ", "merchantReference": "R"}).to_string(), "amount: must not be null"),
        (r#"{"amount": 0.00, "type": "XYZ", "merchantReference": "R"}"#.to_owned(), "amount: must be greater than 0"),
        (r#"{"amount": true, "type": "XYZ", "merchantReference": "R"}"#.to_owned(), "BigDecimal"),
        (r#"{"amount": 1, "merchantReference": "R"}"#.to_owned(), "type: must not be blank"),
        (r#"{"amount": 1, "type": "XYZ", "merchantReference": " "}"#.to_owned(), "merchantReference: must not be blank"),
        (json!({"amount": 1, "type": "XYZ", "merchantReference": "R", "redirectionUrl": long_url(901)}).to_string(), "redirectionUrl: must not exceed 900"),
        (r#"{"amount": 1, "type": 7, "merchantReference": "R"}"#.to_owned(), "JSON parse error"),
        ("{\"amount\": 1,".to_owned(), "JSON parse error"),
    ];
    for (body, message) in refused {
        let response = create(body.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["status"], 400);
        assert_eq!(error["error"], "Bad Request");
        assert_eq!(error["path"], "/api/v1/payment");
        assert!(
            error["message"].as_str().unwrap().contains(message),
            "{body}: {error}"
        );
    }
    assert!(sandbox.payments(Provider::Paylican).is_empty());

    // 900 characters exactly is accepted; Java's BigDecimal notations are read exactly.
    let ok = create(
        json!({"amount": 1, "type": "XYZ", "merchantReference": "R", "redirectionUrl": long_url(900)})
            .to_string(),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let answer: Value = ok.json().await.unwrap();
    assert_eq!(answer["merchantReference"], "R");
    let sci = create(r#"{"amount": 5.1E+3, "type": "XYZ", "merchantReference": "R2"}"#.to_owned())
        .await
        .unwrap();
    assert_eq!(sci.status(), 200);
    let stored = sandbox.payments(Provider::Paylican);
    assert_eq!(stored[1]["amount"], "5100");

    // Content type and token.
    let form = http
        .post(&url)
        .bearer_auth(access)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let anonymous = http
        .post(&url)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let forged = http
        .post(&url)
        .bearer_auth("forged")
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    // The crate refuses a 901-character URL before sending anything.
    let before = count_requests(&sandbox, "POST", CREATE);
    let err = client(&sandbox)
        .create_payment(&documented_request("R3").redirection_url(long_url(901)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(count_requests(&sandbox, "POST", CREATE), before);
    assert_eq!(sandbox.payments(Provider::Paylican).len(), 2);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_page_checks_keycloak_parameters_and_the_invoice() {
    let sandbox = sandbox().await;
    let created = client(&sandbox)
        .create_payment(&documented_request("REF 12/34"))
        .await
        .unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first = no_redirects
        .get(&created.payment_page_url)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 302);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.ends_with(&format!(
        "/api/v1/pay/XYZ/REF%2012%2F34/{}",
        created.invoice_id
    )));
    // The reference with a space and a slash round-trips through the encoded path.
    assert_eq!(reqwest::get(&location).await.unwrap().status(), 200);

    let auth = created
        .payment_page_url
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let with_code = no_redirects
        .get(format!(
            "{}&response_type=code&scope=openid&state=s-1",
            created.payment_page_url
        ))
        .send()
        .await
        .unwrap();
    let location = with_code.headers()["location"].to_str().unwrap();
    assert!(location.contains("?state=s-1&session_state=") && location.contains("&code="));
    for (query, code) in [
        ("client_id=other&redirect_uri=x".to_owned(), 400),
        (
            format!(
                "client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2F",
                sandbox.credentials().paylican_client_id
            ),
            400,
        ),
    ] {
        let response = no_redirects
            .get(format!("{auth}?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), code, "{query}");
    }
    let wrong_reference = location_for(&sandbox, "XYZ", "OTHER", &created.invoice_id);
    assert_eq!(reqwest::get(wrong_reference).await.unwrap().status(), 404);
    sandbox.shutdown().await;
}

fn location_for(sandbox: &RunningSandbox, kind: &str, reference: &str, id: &str) -> String {
    format!(
        "{}/api/v1/pay/{kind}/{reference}/{id}",
        sandbox.provider_url(Provider::Paylican)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payer_fails_declines_and_pays_with_a_one_time_code() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let id = client
        .create_payment(&documented_request("R-OTP"))
        .await
        .unwrap()
        .invoice_id;
    let control = |action: &str| {
        format!(
            "{}/_sandbox/paylican/payments/{id}/{action}",
            sandbox.base_url()
        )
    };
    let http = reqwest::Client::new();

    let failed = http.post(control("fail")).send().await.unwrap();
    assert_eq!(failed.status(), 200);
    let error = delivery_about(&sandbox, &id, "invoice.payment_error UNPAID").await;
    let event = verifier().verify(&request(&error)).unwrap();
    assert_eq!(
        event.status,
        Some(PaymentStatus::Pending),
        "the invoice stays payable"
    );
    assert!(
        event.data.data.payment_mode.is_none(),
        "as Paylican's \"Payment Error\" example"
    );

    http.post(control("cancel")).send().await.unwrap();
    delivery_about(&sandbox, &id, "invoice.payment_rejected UNPAID").await;
    let expire = http.post(control("expire")).send().await.unwrap();
    assert_eq!(expire.status(), 400, "Paylican sets no expiry");

    assert_eq!(
        http.post(control("require-otp"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    delivery_about(&sandbox, &id, "invoice.payment_initiated UNPAID").await;
    assert_eq!(
        http.post(control("pay")).send().await.unwrap().status(),
        409
    );
    let wrong = http
        .post(control("otp"))
        .json(&json!({"code": "000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    let right = http
        .post(control("otp"))
        .json(&json!({"code": payments_sandbox::SANDBOX_OTP}))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    delivery_about(&sandbox, &id, "invoice.payment_initiated PAID").await;
    assert!(client.get_invoice(&id).await.unwrap().is_paid());
    // Final: nothing moves a paid invoice but a raw back-office status.
    assert_eq!(
        http.post(control("pay")).send().await.unwrap().status(),
        409
    );
    assert_eq!(
        http.post(control("fail")).send().await.unwrap().status(),
        409
    );
    let raw = http
        .post(control("status"))
        .json(&json!({"status": "PARTIALLY_PAID"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let payment = client.fetch_payment(&id).await.unwrap();
    assert_eq!(
        payment.status,
        PaymentStatus::Unknown("PARTIALLY_PAID".into())
    );
    let unknown = delivery_about(&sandbox, &id, "invoice.payment_initiated PARTIALLY_PAID").await;
    let event = verifier().verify(&request(&unknown)).unwrap();
    assert!(!event.status.unwrap().is_success());
    // As in Paylican's examples, every event about one invoice carries the same webhook `id`:
    // the crate's de-duplication keys still tell them all apart, so none is dropped.
    let deliveries = sandbox.deliveries();
    let ids: std::collections::HashSet<String> = deliveries
        .iter()
        .map(|d| serde_json::from_str::<Value>(&d.body).unwrap()["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one webhook id per invoice: {ids:?}");
    let keys: Vec<String> = deliveries
        .iter()
        .map(|d| verifier().verify(&request(d)).unwrap().dedup_key())
        .collect();
    let unique: std::collections::HashSet<&String> = keys.iter().collect();
    assert_eq!(deliveries.len(), 5, "{keys:?}");
    assert_eq!(
        keys.len(),
        unique.len(),
        "every event has its own key: {keys:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magic_amounts_pay_and_fail_on_their_own() {
    let sandbox = Sandbox::builder()
        .time_divisor(1000)
        .auto_outcome_delay(Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    sink_webhooks(&sandbox);
    let client = client(&sandbox);
    let pays = client
        .create_payment(&CreatePaymentRequest::new(
            Decimal::parse("1005").unwrap(),
            "XYZ",
            "R-MAGIC-1",
        ))
        .await
        .unwrap()
        .invoice_id;
    let fails = client
        .create_payment(&CreatePaymentRequest::new(
            Decimal::parse("5001").unwrap(),
            "XYZ",
            "R-MAGIC-2",
        ))
        .await
        .unwrap()
        .invoice_id;
    delivery_about(&sandbox, &pays, "invoice.payment_initiated PAID").await;
    delivery_about(&sandbox, &fails, "invoice.payment_error UNPAID").await;
    assert!(client.get_invoice(&pays).await.unwrap().is_paid());
    assert!(!client.get_invoice(&fails).await.unwrap().is_paid());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_retried_three_times_and_need_a_configured_url() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    sandbox.set_webhook_url(
        Provider::Paylican,
        Some(format!(
            "{}/_sandbox/sink/status/503/{SECRET}",
            sandbox.base_url()
        )),
    );
    let id = client
        .create_payment(&documented_request("R-RETRY"))
        .await
        .unwrap()
        .invoice_id;
    act(&sandbox, Provider::Paylican, &id, PayerAction::Pay).await;
    let delivery = delivery_about(&sandbox, &id, "invoice.payment_initiated PAID").await;
    assert_eq!(delivery.state, DeliveryState::GaveUp);
    assert_eq!(delivery.attempts.len(), 3);
    assert!(delivery.attempts.iter().all(|a| a.status == Some(503)));

    // No console URL: nothing is sent (a merchant onboarded without one).
    sandbox.set_webhook_url(Provider::Paylican, None);
    let quiet = client
        .create_payment(&documented_request("R-QUIET"))
        .await
        .unwrap()
        .invoice_id;
    act(&sandbox, Provider::Paylican, &quiet, PayerAction::Pay).await;
    assert!(sandbox.deliveries().iter().all(|d| d.payment_id != quiet));
    assert!(
        sandbox.info()["providers"]["paylican"]["webhook_url"]
            .as_str()
            .unwrap()
            .contains("not set")
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_user_info_in_the_console_url_becomes_a_header() {
    let sandbox = sandbox().await;
    let url = format!(
        "{}/_sandbox/sink/paylican/hook",
        sandbox
            .base_url()
            .replace("http://", "http://paylican:basic-password-0123456789@")
    );
    sandbox.set_webhook_url(Provider::Paylican, Some(url));
    let info = sandbox.info()["providers"]["paylican"]["webhook_url"].to_string();
    assert!(info.contains("paylican:***@"), "{info}");
    assert!(!info.contains("basic-password"), "{info}");
    let id = client(&sandbox)
        .create_payment(&documented_request("R-BASIC"))
        .await
        .unwrap()
        .invoice_id;
    act(&sandbox, Provider::Paylican, &id, PayerAction::Pay).await;
    let delivery = delivery_about(&sandbox, &id, "invoice.payment_initiated PAID").await;
    assert_eq!(delivery.state, DeliveryState::Delivered);
    assert!(!delivery.url.contains('@'), "{}", delivery.url);
    let password: payments_core::secret::SecretString =
        "basic-password-0123456789".to_owned().into();
    let verifier = PaylicanWebhookVerifier::new(
        WebhookGuards::new()
            .basic_auth("paylican", &password)
            .unwrap(),
    );
    let event = verifier.verify(&request(&delivery)).unwrap();
    assert_eq!(event.authenticity, Authenticity::Guarded);
    sandbox.shutdown().await;
}

async fn creation_with(rule: FaultRule) -> (RunningSandbox, Result<String, Error>) {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    // A token first, so that only the creation meets the fault.
    client
        .create_payment(&documented_request("R-WARM"))
        .await
        .unwrap();
    sandbox.add_fault(rule);
    let result = client
        .create_payment(&documented_request("R-FAULT"))
        .await
        .map(|c| c.invoice_id);
    (sandbox, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_create_is_retried_and_creates_one_invoice() {
    let rule = FaultRule::new(
        "POST",
        CREATE,
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
    )
    .times(1);
    let (sandbox, result) = creation_with(rule).await;
    result.unwrap();
    assert_eq!(count_requests(&sandbox, "POST", CREATE), 3);
    assert_eq!(sandbox.payments(Provider::Paylican).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_whose_answer_is_lost_is_sent_once() {
    let faults = [
        Fault::Status {
            status: 500,
            body: None,
        },
        Fault::Status {
            status: 503,
            body: None,
        },
        Fault::Drop,
        Fault::Malformed,
    ];
    for fault in faults {
        let rule = FaultRule::new("POST", CREATE, fault.clone())
            .times(1)
            .after_processing();
        let (sandbox, result) = creation_with(rule).await;
        let err = result.unwrap_err();
        assert_eq!(
            err.delivery(),
            payments_core::Delivery::Unknown,
            "{fault:?}: {err:?}"
        );
        assert_eq!(
            count_requests(&sandbox, "POST", CREATE),
            2,
            "{fault:?}: sent once"
        );
        assert_eq!(
            sandbox.payments(Provider::Paylican).len(),
            2,
            "{fault:?}: the invoice exists once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_slower_than_the_timeout_is_sent_once() {
    let rule = FaultRule::new("POST", CREATE, Fault::Latency { ms: 2500 }).times(1);
    let (sandbox, result) = creation_with(rule).await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count_requests(&sandbox, "POST", CREATE), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_status_reads_survive_5xx_drops_and_429() {
    let sandbox = sandbox().await;
    let token = token_path(&sandbox);
    fault_once(&sandbox, "POST", &token, status_fault(503));
    fault_once(&sandbox, "POST", &token, Fault::Drop);
    let client = client(&sandbox);
    let id = client
        .create_payment(&documented_request("R-READS"))
        .await
        .unwrap()
        .invoice_id;
    assert_eq!(count_requests(&sandbox, "POST", &token), 3);
    act(&sandbox, Provider::Paylican, &id, PayerAction::Pay).await;
    let status = "/paylican/sandbox-extension/invoice/*";
    fault_once(&sandbox, "GET", status, too_many_requests(0));
    fault_once(&sandbox, "GET", status, status_fault(502));
    assert!(client.get_invoice(&id).await.unwrap().is_paid());
    assert_eq!(count_requests(&sandbox, "GET", status), 3);
    fault_once(&sandbox, "GET", status, Fault::Drop);
    assert!(client.get_invoice(&id).await.unwrap().is_paid());
    assert_eq!(count_requests(&sandbox, "GET", status), 5);

    // A truncated answer is a decode error, never a status.
    fault_once(&sandbox, "GET", status, Fault::Malformed);
    let err = client.get_invoice(&id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // An unknown invoice is the provider's 404.
    let err = client.get_invoice("XYZ2024-none").await.unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(404));
    sandbox.shutdown().await;
}

/// Opens the payment page as the payer's browser does: through Keycloak's login step.
async fn open_payment_page(url: &str) -> page::Page {
    let login = page::open(url).await;
    assert_eq!(login.status, 302, "{login:?}");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = no_redirects.get(url).send().await.unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    page::open(&location).await
}

#[tokio::test]
async fn the_payment_page_pays_and_sends_the_payer_to_the_redirection_url() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let created = client
        .create_payment(
            &documented_request("REF-<PAGE>")
                .item_name("Tea & \"biscuits\"")
                .redirection_url("https://merchant-url.com/back?order=7&x=<y>"),
        )
        .await
        .unwrap();
    let opened = open_payment_page(&created.payment_page_url).await;
    assert_eq!(opened.status, 200);
    assert!(
        opened.html.contains("Tea &amp; &quot;biscuits&quot;")
            && opened.html.contains("REF-&lt;PAGE&gt;"),
        "every value escaped: {}",
        opened.html
    );
    // A payment error leaves the invoice payable: the payer stays on the page, told why.
    let failed = opened.click("fail", &[]).await;
    let again = failed.follow(&opened.url).await;
    assert!(again.has("pay"), "{}", again.html);
    assert!(again.html.contains("payment error"), "{}", again.html);
    let paid = again.click("pay", &[]).await;
    assert_eq!(
        paid.redirected_to(),
        "https://merchant-url.com/back?order=7&x=<y>",
        "Paylican's redirectionUrl, as the merchant gave it"
    );
    let invoice = client.get_invoice(&created.invoice_id).await.unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    delivery_about(
        &sandbox,
        &created.invoice_id,
        "invoice.payment_initiated PAID",
    )
    .await;
}

#[tokio::test]
async fn without_a_redirection_url_the_payment_page_ends_on_a_completion_page() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let request = CreatePaymentRequest::new(Decimal::parse("12.00").unwrap(), "XYZ", "REF-DONE");
    let created = client.create_payment(&request).await.unwrap();
    let opened = open_payment_page(&created.payment_page_url).await;
    let paid = opened.click("pay", &[]).await;
    let done = paid.follow(&opened.url).await;
    assert_eq!(done.status, 200);
    assert!(
        done.html.contains("PAID") && !done.has("pay"),
        "{}",
        done.html
    );
    assert!(
        !done.html.contains("\"error\""),
        "a page, not JSON: {}",
        done.html
    );
}
