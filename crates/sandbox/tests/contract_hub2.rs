//! The HUB2 crate's real clients against the sandbox: every endpoint, the webhook flow with
//! registration and secret rotation, the emulator's refusals, and injected faults.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use payments_core::http::RetryPolicy;
use payments_core::secret::ExposeSecret;
use payments_core::webhook::{WebhookRejection, WebhookRequest, WebhookVerifier};
use payments_core::{Currency, Error, Money, PaymentProvider, PaymentStatus};
use payments_hub2::webhook::{EventData, Hub2WebhookVerifier};
use payments_hub2::{
    AttemptRequest, CreateIntentRequest, CreateWebhookRequest, Environment, Hub2Client, Hub2Config,
    IntentStatus, NextAction, PayerClient, PayerConfig, PayerCredentials, PaymentIntent,
};
use payments_sandbox::{
    ControlError, DeliveryRecord, DeliveryState, Fault, FaultRule, PayerAction, Provider,
    RunningSandbox, SANDBOX_OTP, Sandbox,
};
use payments_test_support::{
    act, count_requests, fast_http, fault_once, fault_once_after_processing, sink_url,
    start_sandbox, status_fault, too_many_requests,
};
use serde_json::{Value, json};

#[path = "support/page.rs"]
mod page;

const EVENTS: [&str; 4] = [
    "payment_intent.created",
    "payment.action_required",
    "payment.succeeded",
    "payment.failed",
];
const WAIT: Duration = Duration::from_secs(10);

fn config(sandbox: &RunningSandbox) -> Hub2Config {
    let c = sandbox.credentials();
    Hub2Config::new(
        c.hub2_api_key.clone(),
        c.hub2_merchant_id.clone(),
        Environment::Sandbox,
    )
    .base_url(sandbox.provider_url(Provider::Hub2))
    .http(fast_http())
}

fn client(sandbox: &RunningSandbox) -> Hub2Client {
    Hub2Client::new(config(sandbox)).unwrap()
}

fn sink(sandbox: &RunningSandbox, name: &str) -> String {
    sink_url(sandbox, &format!("hub2/{name}"))
}

/// Registers `url` for the documented events; returns the secret.
async fn register(client: &Hub2Client, url: &str) -> String {
    let webhook = client
        .create_webhook(&CreateWebhookRequest::new(url, EVENTS).description("contract"))
        .await
        .unwrap();
    webhook.secret.unwrap().expose_secret().to_owned()
}

async fn create(client: &Hub2Client, amount: i64) -> PaymentIntent {
    client
        .create_intent(&CreateIntentRequest::new(
            Money::from_minor(amount, Currency::XOF),
            "Client 42",
            format!("Order_{amount}.1"),
        ))
        .await
        .unwrap()
}

fn payer(client: &Hub2Client, intent: &PaymentIntent) -> PayerClient {
    client
        .payer(PayerCredentials::from_intent(intent).unwrap())
        .unwrap()
}

fn request_of(delivery: &DeliveryRecord) -> WebhookRequest<'_> {
    WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
        delivery
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    )
}

async fn delivery(sandbox: &RunningSandbox, intent_id: &str, event: &str) -> DeliveryRecord {
    sandbox
        .wait_for_delivery(|d| d.payment_id == intent_id && d.event == event, WAIT)
        .await
        .unwrap_or_else(|| panic!("no {event} about {intent_id}: {:?}", sandbox.deliveries()))
}

fn header<'a>(delivery: &'a DeliveryRecord, name: &str) -> &'a str {
    delivery
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[tokio::test]
async fn create_attempt_otp_authenticate_webhook_and_get() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let secret = register(&client, &sink(&sandbox, "shop")).await;

    let intent = create(&client, 5000).await;
    assert_eq!(intent.status, IntentStatus::PaymentRequired);
    assert!(intent.id.starts_with("pi_"));
    assert_eq!(intent.amount, 5000);
    assert_eq!(intent.currency, "XOF");
    assert_eq!(intent.mode.as_deref(), Some("sandbox"));
    assert_eq!(
        intent.merchant_id.as_deref(),
        Some(sandbox.credentials().hub2_merchant_id.as_str())
    );
    let token = intent.token.as_ref().unwrap().expose_secret().to_owned();
    assert_eq!(token.split('.').count(), 3, "the intent token is a JWT");

    // The payer side: attempt with the intent token only.
    let payer = payer(&client, &intent);
    let attempted = payer
        .attempt(&AttemptRequest::mobile_money("CI", "orange", "0700000000"))
        .await
        .unwrap();
    assert_eq!(
        attempted.status,
        IntentStatus::Processing,
        "the documented answer"
    );
    let attempt = attempted.latest_payment().unwrap().clone();
    assert_eq!(attempt.provider.as_deref(), Some("orange"));
    assert_eq!(attempt.intent_id.as_deref(), Some(intent.id.as_str()));
    let Some(NextAction::Otp { message, .. }) = attempted.next_action() else {
        panic!("{:?}", attempted.next_action())
    };
    assert!(message.as_deref().unwrap().contains(SANDBOX_OTP));
    assert_eq!(
        payer.status().await.unwrap().status,
        IntentStatus::ActionRequired
    );
    let action = delivery(&sandbox, &intent.id, "payment.action_required").await;
    assert_eq!(action.state, DeliveryState::Delivered);

    // A wrong code is refused and leaves the payment waiting; the sandbox code pays.
    let wrong = payer.authenticate("0000").await.unwrap_err();
    assert_eq!(wrong.http_status(), Some(400), "{wrong:?}");
    let paid = payer.authenticate(SANDBOX_OTP).await.unwrap();
    assert_eq!(paid.status, IntentStatus::Successful);

    // The webhook verifies with the secret returned at registration.
    let succeeded = delivery(&sandbox, &intent.id, "payment.succeeded").await;
    assert_eq!(succeeded.state, DeliveryState::Delivered);
    assert_eq!(header(&succeeded, "content-type"), "application/json");
    let verifier = Hub2WebhookVerifier::new(secret.clone()).unwrap();
    let event = verifier.verify(&request_of(&succeeded)).unwrap();
    // An attempt's event: the attempt succeeded, the intent's status is not claimed.
    assert_eq!(event.status, None);
    assert_eq!(
        event.data.attempt_status(),
        Some((PaymentStatus::Succeeded, "successful".to_owned()))
    );
    assert_eq!(event.payment_id.as_deref(), Some(intent.id.as_str()));
    let EventData::Payment(payment) = &event.data.data else {
        panic!("{:?}", event.data)
    };
    assert_eq!(payment.id, attempt.id);
    assert_eq!(payment.amount, Some(5000));
    assert_eq!(
        payment.total_fees().unwrap(),
        Some(Money::from_minor(75, Currency::XOF))
    );
    // Another secret does not verify it.
    let other = Hub2WebhookVerifier::new("whsec_other").unwrap();
    assert_eq!(
        other.verify(&request_of(&succeeded)).unwrap_err(),
        WebhookRejection::BadSignature
    );

    // Status, by API key and by token, and the whole intent.
    let fetched = client.get_intent(&intent.id).await.unwrap();
    assert_eq!(fetched.status, IntentStatus::Successful);
    assert_eq!(fetched.payments.len(), 1);
    assert_eq!(
        client.get_intent_status(&intent.id).await.unwrap().status,
        IntentStatus::Successful
    );
    assert_eq!(
        payer.status().await.unwrap().status,
        IntentStatus::Successful
    );
    let neutral = client.fetch_payment(&intent.id).await.unwrap();
    assert_eq!(neutral.status, PaymentStatus::Succeeded);
    assert_eq!(neutral.amount, Some(Money::from_minor(5000, Currency::XOF)));
    assert_eq!(neutral.reference.as_deref(), Some("Order_5000.1"));
    // Exactly one intent at the provider, with the intent-created webhook first.
    assert_eq!(sandbox.payments(Provider::Hub2).len(), 1);
    let about: Vec<String> = sandbox
        .deliveries()
        .into_iter()
        .filter(|d| d.payment_id == intent.id)
        .map(|d| d.event)
        .collect();
    assert_eq!(
        about,
        [
            "payment_intent.created",
            "payment.action_required",
            "payment.succeeded"
        ]
    );
}

#[tokio::test]
async fn the_control_payer_pays_requires_and_submits_otps() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let secret = register(&client, &sink(&sandbox, "control")).await;
    let verifier = Hub2WebhookVerifier::new(secret).unwrap();

    let intent = create(&client, 7000).await;
    act(&sandbox, Provider::Hub2, &intent.id, PayerAction::Pay).await;
    let event = verifier
        .verify(&request_of(
            &delivery(&sandbox, &intent.id, "payment.succeeded").await,
        ))
        .unwrap();
    // The attempt succeeded; the intent's status is the intent's to say.
    assert_eq!(event.status, None);
    assert_eq!(
        event.data.attempt_status(),
        Some((PaymentStatus::Succeeded, "successful".to_owned()))
    );
    assert_eq!(
        client.get_intent(&intent.id).await.unwrap().status,
        IntentStatus::Successful
    );
    let again = sandbox
        .act(Provider::Hub2, &intent.id, PayerAction::Cancel)
        .await
        .unwrap_err();
    assert!(matches!(again, ControlError::Conflict { .. }), "{again:?}");

    // RequireOtp, then the real authentication endpoint.
    let second = create(&client, 7100).await;
    let view = act(
        &sandbox,
        Provider::Hub2,
        &second.id,
        PayerAction::RequireOtp,
    )
    .await;
    assert_eq!(view["status"], "action_required");
    assert_eq!(view["payments"][0]["nextAction"]["type"], "otp");
    assert!(view.get("token").is_none(), "sandbox views hide the token");
    let payer = payer(&client, &second);
    let fetched = client.get_intent(&second.id).await.unwrap();
    assert!(matches!(
        fetched.next_action(),
        Some(NextAction::Otp { .. })
    ));
    assert_eq!(
        payer.authenticate(SANDBOX_OTP).await.unwrap().status,
        IntentStatus::Successful
    );

    // RequireOtp, then SubmitOtp through the control endpoint.
    let third = create(&client, 7200).await;
    act(&sandbox, Provider::Hub2, &third.id, PayerAction::RequireOtp).await;
    let wrong = sandbox
        .act(
            Provider::Hub2,
            &third.id,
            PayerAction::SubmitOtp("999".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong, ControlError::WrongOtp);
    act(
        &sandbox,
        Provider::Hub2,
        &third.id,
        PayerAction::SubmitOtp(SANDBOX_OTP.into()),
    )
    .await;
    assert_eq!(
        client.get_intent(&third.id).await.unwrap().status,
        IntentStatus::Successful
    );
    // Nothing awaits an OTP any more.
    let none = payer.authenticate(SANDBOX_OTP).await.unwrap_err();
    assert_eq!(none.http_status(), Some(409), "{none:?}");

    // Fail, cancel, expire: the attempt fails with its code, the intent stays payable.
    for (action, code) in [
        (PayerAction::Fail, "customer_insufficient_funds"),
        (PayerAction::Cancel, "customer_canceled"),
        (PayerAction::Expire, "payment_expired"),
    ] {
        let intent = create(&client, 7300).await;
        let view = act(&sandbox, Provider::Hub2, &intent.id, action.clone()).await;
        assert_eq!(view["status"], "payment_required", "{action:?}");
        assert_eq!(view["payments"][0]["status"], "failed", "{action:?}");
        assert_eq!(view["payments"][0]["failure"]["code"], code, "{action:?}");
        let neutral = client.fetch_payment(&intent.id).await.unwrap();
        assert_eq!(neutral.status, PaymentStatus::Pending, "{action:?}");
    }
    let raw = create(&client, 7400).await;
    act(
        &sandbox,
        Provider::Hub2,
        &raw.id,
        PayerAction::SetStatus("on_hold_2031".into()),
    )
    .await;
    let neutral = client.fetch_payment(&raw.id).await.unwrap();
    assert_eq!(
        neutral.status,
        PaymentStatus::Unknown("on_hold_2031".into())
    );
    assert_eq!(neutral.raw_status, "on_hold_2031");
    let missing = sandbox
        .act(Provider::Hub2, "pi_nope", PayerAction::Pay)
        .await
        .unwrap_err();
    assert!(matches!(missing, ControlError::NotFound { .. }));
}

#[tokio::test]
async fn redirections_ussd_and_card_attempts() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    register(&client, &sink(&sandbox, "redirect")).await;

    // Wave: a redirection to the checkout page, which sends the payer back to the merchant.
    let intent = create(&client, 8000).await;
    let payer = payer(&client, &intent);
    let attempted = payer
        .attempt(
            &AttemptRequest::mobile_money("SN", "wave", "+221770000000").redirection_urls(
                Some("http://shop.example/ok"),
                Some("http://shop.example/ko"),
                None,
                Some("http://shop.example/done"),
            ),
        )
        .await
        .unwrap();
    assert_eq!(attempted.status, IntentStatus::ActionRequired);
    let Some(NextAction::Redirection {
        redirection,
        message,
    }) = attempted.next_action()
    else {
        panic!("{:?}", attempted.next_action())
    };
    assert_eq!(message.as_deref(), Some("mm_wave_sandbox.redirection"));
    assert!(!redirection.is_post());
    let page = reqwest::get(&redirection.url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&intent.id));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = browser
        .post(format!("{}/pay", redirection.url))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"], "http://shop.example/ok");
    assert_eq!(
        client.get_intent(&intent.id).await.unwrap().status,
        IntentStatus::Successful
    );
    let closed = browser
        .post(format!("{}/fail", redirection.url))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 409);

    // A failed Wave payment goes back to the failed URL.
    let failing = create(&client, 8100).await;
    let attempted = self::payer(&client, &failing)
        .attempt(
            &AttemptRequest::mobile_money("SN", "wave", "770000000").redirection_urls(
                None,
                Some("http://shop.example/ko"),
                None,
                None,
            ),
        )
        .await
        .unwrap();
    let Some(NextAction::Redirection { redirection, .. }) = attempted.next_action() else {
        panic!()
    };
    let back = browser
        .post(format!("{}/fail", redirection.url))
        .send()
        .await
        .unwrap();
    assert_eq!(back.headers()["location"], "http://shop.example/ko");
    let failed = client.get_intent(&failing.id).await.unwrap();
    assert_eq!(failed.status, IntentStatus::PaymentRequired);
    assert_eq!(
        failed.payments[0].failure.as_ref().unwrap().code.as_deref(),
        Some("customer_insufficient_funds")
    );

    // MTN: a USSD confirmation; the payer confirms on the phone (control endpoint).
    let ussd = create(&client, 8200).await;
    let attempted = self::payer(&client, &ussd)
        .attempt(&AttemptRequest::mobile_money("CI", "mtn", "0500000000"))
        .await
        .unwrap();
    assert!(
        matches!(attempted.next_action(), Some(NextAction::Ussd { code: Some(c), .. }) if c == "*133#"),
        "{:?}",
        attempted.next_action()
    );
    let expired = act(&sandbox, Provider::Hub2, &ussd.id, PayerAction::Expire).await;
    assert_eq!(expired["payments"][0]["failure"]["code"], "payment_expired");

    // Card: a redirection to the card page.
    let card = create(&client, 8300).await;
    let attempted = self::payer(&client, &card)
        .attempt(&AttemptRequest::card("CI", "visa"))
        .await
        .unwrap();
    let Some(NextAction::Redirection { redirection, .. }) = attempted.next_action() else {
        panic!("{:?}", attempted.next_action())
    };
    assert!(redirection.url.contains("/_sandbox/checkout/"));
    assert_eq!(attempted.payments[0].method.as_deref(), Some("credit_card"));

    // One attempt at a time: a second attempt on an intent in progress is refused.
    let busy = self::payer(&client, &card)
        .attempt(&AttemptRequest::card("CI", "visa"))
        .await
        .unwrap_err();
    assert_eq!(busy.http_status(), Some(409), "{busy:?}");
}

#[tokio::test]
async fn an_otp_sent_with_the_attempt_settles_async_and_sync() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    register(&client, &sink(&sandbox, "otp")).await;

    let intent = create(&client, 9000).await;
    let payer = payer(&client, &intent);
    let attempted = payer
        .attempt(&AttemptRequest::mobile_money("CI", "orange", "0700000000").otp(SANDBOX_OTP))
        .await
        .unwrap();
    assert_eq!(attempted.status, IntentStatus::Processing);
    assert!(attempted.next_action().is_none());
    delivery(&sandbox, &intent.id, "payment.succeeded").await;
    assert_eq!(
        payer.status().await.unwrap().status,
        IntentStatus::Successful
    );

    // The sync variant answers once settled: a wrong OTP fails the attempt at once.
    let second = create(&client, 9100).await;
    let answered = self::payer(&client, &second)
        .attempt_sync(&AttemptRequest::mobile_money("CI", "moov", "0100000000").otp("4321"))
        .await
        .unwrap();
    assert_eq!(answered.status, IntentStatus::PaymentRequired);
    assert_eq!(
        answered.payments[0]
            .failure
            .as_ref()
            .unwrap()
            .code
            .as_deref(),
        Some("invalid_otp")
    );
    assert_eq!(
        count_requests(&sandbox, "POST", "/hub2/payment-intents/*/payments/sync"),
        1
    );
}

#[tokio::test]
async fn magic_amounts_decide_the_outcome() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    register(&client, &sink(&sandbox, "magic")).await;
    // A failed, expired or cancelled attempt leaves the intent payable; a paid one pays it.
    for (amount, event, status, code) in [
        (
            5001,
            "payment.failed",
            IntentStatus::PaymentRequired,
            Some("customer_insufficient_funds"),
        ),
        (
            5002,
            "payment.failed",
            IntentStatus::PaymentRequired,
            Some("payment_expired"),
        ),
        (
            5003,
            "payment.failed",
            IntentStatus::PaymentRequired,
            Some("customer_canceled"),
        ),
        (5005, "payment.succeeded", IntentStatus::Successful, None),
    ] {
        let intent = create(&client, amount).await;
        delivery(&sandbox, &intent.id, event).await;
        // The outcome is applied before its webhooks are sent.
        let seen = client.get_intent(&intent.id).await.unwrap();
        assert_eq!(seen.status, status, "{amount}");
        assert_eq!(
            seen.payments[0]
                .failure
                .as_ref()
                .and_then(|f| f.code.as_deref()),
            code,
            "{amount}"
        );
    }
}

#[tokio::test]
async fn webhooks_are_registered_listed_deleted_and_rotated() {
    // A large divisor: the 24 h rotation overlap lasts 86 ms.
    let sandbox = Sandbox::builder()
        .time_divisor(1_000_000)
        .start()
        .await
        .unwrap();
    let client = client(&sandbox);
    let url = sink(&sandbox, "rotate");
    let created = client
        .create_webhook(
            &CreateWebhookRequest::new(&url, ["payment_intent.created"])
                .description("shop")
                .metadata(serde_json::Map::from_iter([(
                    "shop".to_owned(),
                    json!("main"),
                )])),
        )
        .await
        .unwrap();
    let first = created.secret.as_ref().unwrap().expose_secret().to_owned();
    assert_eq!(created.url.as_deref(), Some(url.as_str()));
    assert_eq!(created.metadata, Some(json!({"shop": "main"})));
    let listed = client.list_webhooks().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.id);
    assert!(listed[0].secret.is_none(), "the list never shows secrets");

    // Registering the same URL again rotates the secret: s1 new, s0 previous.
    let rotated = client
        .create_webhook(&CreateWebhookRequest::new(&url, ["payment_intent.created"]))
        .await
        .unwrap();
    assert_eq!(rotated.id, created.id);
    let second = rotated.secret.as_ref().unwrap().expose_secret().to_owned();
    assert_ne!(second, first);
    let intent = create(&client, 6000).await;
    let during = delivery(&sandbox, &intent.id, "payment_intent.created").await;
    let signature = header(&during, "hub2-signature");
    assert!(
        signature.starts_with("s1=") && signature.contains(",s0="),
        "{signature}"
    );
    for secret in [&first, &second] {
        let verifier = Hub2WebhookVerifier::new(secret.clone()).unwrap();
        verifier.verify(&request_of(&during)).unwrap();
    }
    // After the overlap (86.4 ms here), only s1 with the new secret.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = create(&client, 6100).await;
    let after = delivery(&sandbox, &later.id, "payment_intent.created").await;
    assert!(!header(&after, "hub2-signature").contains("s0="));
    let old = Hub2WebhookVerifier::new(first).unwrap();
    assert_eq!(
        old.verify(&request_of(&after)).unwrap_err(),
        WebhookRejection::BadSignature
    );
    Hub2WebhookVerifier::new(second)
        .unwrap()
        .verify(&request_of(&after))
        .unwrap();

    client.delete_webhook(&created.id).await.unwrap();
    assert!(client.list_webhooks().await.unwrap().is_empty());
    let gone = client.delete_webhook(&created.id).await.unwrap_err();
    assert_eq!(gone.http_status(), Some(404), "{gone:?}");
    // No webhook, no delivery.
    let silent = create(&client, 6200).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        sandbox
            .deliveries()
            .iter()
            .all(|d| d.payment_id != silent.id)
    );
}

#[tokio::test]
async fn a_refused_webhook_gets_ten_attempts() {
    // 1 000 000 times faster: HUB2's ~34 h of retries take ~124 ms.
    let sandbox = Sandbox::builder()
        .time_divisor(1_000_000)
        .start()
        .await
        .unwrap();
    let client = client(&sandbox);
    register(
        &client,
        &format!("{}/_sandbox/sink/status/500", sandbox.base_url()),
    )
    .await;
    let intent = create(&client, 6000).await;
    let refused = sandbox
        .wait_for_delivery(|d| d.payment_id == intent.id, WAIT)
        .await
        .unwrap();
    assert_eq!(refused.state, DeliveryState::GaveUp);
    assert_eq!(refused.attempts.len(), 10);
    assert!(refused.attempts.iter().all(|a| a.status == Some(500)));
}

#[tokio::test]
async fn the_emulator_refuses_like_hub2() {
    let sandbox = start_sandbox().await;
    let base = sandbox.provider_url(Provider::Hub2);
    let c = sandbox.credentials().clone();
    let http = reqwest::Client::new();
    let body = json!({"customerReference": "c1", "purchaseReference": "p1", "amount": 200, "currency": "XOF"});
    let post = |headers: &[(&str, &str)]| {
        let mut request = http.post(format!("{base}/payment-intents")).json(&body);
        for (n, v) in headers {
            request = request.header(*n, *v);
        }
        request.send()
    };
    // Each header is required: without Environment, 401 like HUB2.
    let all = [
        ("ApiKey", c.hub2_api_key.as_str()),
        ("MerchantId", c.hub2_merchant_id.as_str()),
        ("Environment", c.hub2_environment.as_str()),
    ];
    for missing in 0..3 {
        let headers: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != missing)
            .map(|(_, h)| *h)
            .collect();
        let answer = post(&headers).await.unwrap();
        assert_eq!(answer.status(), 401, "without {}", all[missing].0);
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error, json!({"statusCode": 401, "message": "Unauthorized"}));
    }
    let live = post(&[all[0], all[1], ("Environment", "live")])
        .await
        .unwrap();
    assert_eq!(live.status(), 401);
    assert_eq!(post(&all).await.unwrap().status(), 201);

    // The crate's client with a wrong key or merchant gets the provider's 401.
    for (key, merchant) in [
        ("wrong-key", c.hub2_merchant_id.as_str()),
        (c.hub2_api_key.as_str(), "other"),
    ] {
        let bad = Hub2Client::new(
            Hub2Config::new(key, merchant, Environment::Sandbox)
                .base_url(&base)
                .http(fast_http().retry(RetryPolicy::none())),
        )
        .unwrap();
        let err = bad.get_intent("pi_whatever").await.unwrap_err();
        assert!(matches!(err, Error::Provider { .. }), "{err:?}");
        assert_eq!(err.http_status(), Some(401));
    }

    // Validation: every problem listed, in the NestJS body.
    let invalid = http
        .post(format!("{base}/payment-intents"))
        .headers(headers(&all))
        .json(&json!({"customerReference": "c#1", "purchaseReference": "ok", "amount": 20.5, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    let error: Value = invalid.json().await.unwrap();
    assert_eq!(error["error"], "Bad Request");
    let messages: Vec<&str> = error["message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "customerReference must match /^[a-zA-Z0-9-_. ]+$/ regular expression",
            "amount must be an integer number",
            "currency must be one of the following values: XOF, XAF, GNF"
        ]
    );
    let not_json = http
        .post(format!("{base}/payment-intents"))
        .headers(headers(&all))
        .body("{\"amount\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);

    // Unknown intents and routes are 404 in the same format.
    let client = client(&sandbox);
    let err = client.get_intent("pi_unknown").await.unwrap_err();
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(
        err.provider_error().and_then(|e| e.message.as_deref()),
        Some("Payment intent not found")
    );
    let nowhere = http.get(format!("{base}/refunds")).send().await.unwrap();
    assert_eq!(nowhere.status(), 404);

    // Payer calls: the token of another intent, a forged token, no Environment: 401.
    let one = create(&client, 3000).await;
    let two = create(&client, 3100).await;
    let crossed = PayerClient::new(
        PayerConfig::new(
            PayerCredentials::new(
                two.id.clone(),
                one.token.as_ref().unwrap().expose_secret().to_owned(),
            ),
            Environment::Sandbox,
        )
        .base_url(&base)
        .http(fast_http().retry(RetryPolicy::none())),
    )
    .unwrap();
    let err = crossed
        .attempt(&AttemptRequest::mobile_money("CI", "orange", "0700000000"))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert_eq!(crossed.status().await.unwrap_err().http_status(), Some(401));
    let token = one.token.as_ref().unwrap().expose_secret().to_owned();
    let forged = format!("{}x", token);
    let answer = http
        .post(format!("{base}/payment-intents/{}/payments", one.id))
        .header("Environment", "sandbox")
        .json(&json!({"token": forged, "paymentMethod": "mobile_money", "country": "CI", "provider": "orange", "mobileMoney": {"msisdn": "0700000000"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let no_env = http
        .get(format!(
            "{base}/payment-intents/{}/status?token={token}",
            one.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(no_env.status(), 401);
    let with_env = http
        .get(format!(
            "{base}/payment-intents/{}/status?token={token}",
            one.id
        ))
        .header("Environment", "sandbox")
        .send()
        .await
        .unwrap();
    assert_eq!(with_env.status(), 200);
    assert_eq!(
        with_env.json::<Value>().await.unwrap(),
        json!({"id": one.id, "status": "payment_required"})
    );
    // An attempt without its mobile money details is a 400 listing them.
    let incomplete = http
        .post(format!("{base}/payment-intents/{}/payments", one.id))
        .header("Environment", "sandbox")
        .json(&json!({"token": token, "paymentMethod": "cash", "country": "ci", "provider": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(incomplete.status(), 400);
    let error: Value = incomplete.json().await.unwrap();
    assert_eq!(error["message"].as_array().unwrap().len(), 3, "{error}");
    // The webhook API needs the API key too.
    let hooks = http.get(format!("{base}/webhooks")).send().await.unwrap();
    assert_eq!(hooks.status(), 401);
    // Nothing here created an intent besides the three 201s.
    assert_eq!(sandbox.payments(Provider::Hub2).len(), 3);
}

fn headers(pairs: &[(&str, &str)]) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    for (n, v) in pairs {
        map.insert(
            reqwest::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

#[tokio::test]
async fn faults_are_survived_and_nothing_is_created_twice() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let create_route = ("POST", "/hub2/payment-intents");

    // 429 with Retry-After: HUB2 did not process it; retried, one intent.
    fault_once(
        &sandbox,
        create_route.0,
        create_route.1,
        too_many_requests(0),
    );
    let intent = create(&client, 4000).await;
    assert_eq!(count_requests(&sandbox, create_route.0, create_route.1), 2);
    assert_eq!(sandbox.payments(Provider::Hub2).len(), 1);

    // Processed, then 500 / dropped / too slow: never re-sent, the caller must reconcile.
    let faults = [
        FaultRule::new(
            create_route.0,
            create_route.1,
            Fault::Status {
                status: 500,
                body: None,
            },
        )
        .times(1)
        .after_processing(),
        FaultRule::new(create_route.0, create_route.1, Fault::Drop)
            .times(1)
            .after_processing(),
        FaultRule::new(create_route.0, create_route.1, Fault::Latency { ms: 3000 }).times(1),
    ];
    for (n, rule) in faults.into_iter().enumerate() {
        let before = count_requests(&sandbox, create_route.0, create_route.1);
        sandbox.add_fault(rule.clone());
        let err = client
            .create_intent(&CreateIntentRequest::new(
                Money::from_minor(4100, Currency::XOF),
                "c",
                format!("fault-{n}"),
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::OutcomeUnknown { .. }),
            "{rule:?}: {err:?}"
        );
        assert_eq!(
            count_requests(&sandbox, create_route.0, create_route.1),
            before + 1,
            "{rule:?}"
        );
    }
    // The 500 and the drop came after processing (two more intents). The slow one is processed
    // only if the server keeps handling a request whose client hung up (hyper drops it): either
    // way, no creation exists twice.
    let mut held = sandbox.payments(Provider::Hub2).len();
    for _ in 0..100 {
        if held == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        held = sandbox.payments(Provider::Hub2).len();
    }
    assert!((3..=4).contains(&held), "{held} intents");

    // An attempt answered 500 after processing is not re-sent either: one attempt.
    let attempt_route = ("POST", "/hub2/payment-intents/*/payments");
    fault_once_after_processing(
        &sandbox,
        attempt_route.0,
        attempt_route.1,
        status_fault(502),
    );
    let err = payer(&client, &intent)
        .attempt(&AttemptRequest::mobile_money("CI", "orange", "0700000000"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(
        count_requests(&sandbox, attempt_route.0, attempt_route.1),
        1
    );
    let fetched = client.get_intent(&intent.id).await.unwrap();
    assert_eq!(fetched.payments.len(), 1);

    // Reads: 503 then a dropped connection are retried; a truncated body is a decode error.
    let get_route = ("GET", "/hub2/payment-intents/*");
    fault_once(&sandbox, get_route.0, get_route.1, status_fault(503));
    fault_once(&sandbox, get_route.0, get_route.1, Fault::Drop);
    let before = count_requests(&sandbox, get_route.0, get_route.1);
    let fetched = client.get_intent(&intent.id).await.unwrap();
    assert_eq!(fetched.id, intent.id);
    assert_eq!(
        count_requests(&sandbox, get_route.0, get_route.1),
        before + 3
    );
    fault_once(&sandbox, get_route.0, get_route.1, Fault::Malformed);
    let err = client.get_intent(&intent.id).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // A 429 on a status read, with Retry-After, is retried by the client.
    let status_route = ("GET", "/hub2/payment-intents/*/status");
    fault_once(
        &sandbox,
        status_route.0,
        status_route.1,
        too_many_requests(1),
    );
    assert_eq!(
        client.get_intent_status(&intent.id).await.unwrap().status,
        IntentStatus::ActionRequired
    );
    assert_eq!(count_requests(&sandbox, status_route.0, status_route.1), 2);
}

#[tokio::test]
async fn the_description_tells_a_client_what_to_send() {
    let sandbox = start_sandbox().await;
    let info = sandbox.info();
    let hub2 = &info["providers"]["hub2"];
    assert_eq!(hub2["base_url"], sandbox.provider_url(Provider::Hub2));
    assert_eq!(
        hub2["headers"]["ApiKey"],
        sandbox.credentials().hub2_api_key
    );
    assert_eq!(hub2["headers"]["Environment"], "sandbox");
    assert_eq!(hub2["otp"], SANDBOX_OTP);
    // The typed details say the same.
    let typed = sandbox.hub2();
    assert_eq!(hub2["base_url"], typed.base_url);
    assert_eq!(hub2["headers"]["ApiKey"], typed.api_key);
    assert_eq!(hub2["headers"]["MerchantId"], typed.merchant_id);
    assert_eq!(hub2["headers"]["Environment"], typed.environment);
    assert_eq!(hub2["payer_page"], typed.payer_page_url);
    assert_eq!(hub2["currencies"], typed.currencies.join(", "));
    assert_eq!(typed.webhook_retry_delays.len(), 9);
    assert!(!format!("{typed:?}").contains(&typed.api_key));
}

/// HUB2's API reference ("Attempt a payment on a PaymentIntent object"): whenever a payment
/// fails, other payments can be created on the same intent. A failed attempt leaves the intent
/// `payment_required`, and the payer's next attempt can pay it.
#[tokio::test]
async fn a_failed_attempt_leaves_the_intent_payable_and_the_next_attempt_pays_it() {
    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let secret = register(&client, &sink(&sandbox, "retry")).await;
    let verifier = Hub2WebhookVerifier::new(secret).unwrap();

    // The payer action `fail`.
    let intent = create(&client, 7500).await;
    let view = act(&sandbox, Provider::Hub2, &intent.id, PayerAction::Fail).await;
    assert_eq!(view["status"], "payment_required", "{view}");
    assert_eq!(view["payments"][0]["status"], "failed");
    let failed = verifier
        .verify(&request_of(
            &delivery(&sandbox, &intent.id, "payment.failed").await,
        ))
        .unwrap();
    assert!(failed.status.as_ref().is_none_or(|s| !s.is_final()));
    let payer = payer(&client, &intent);
    let retried = payer
        .attempt(&AttemptRequest::mobile_money("CI", "orange", "0700000000"))
        .await
        .unwrap();
    assert_eq!(retried.payments.len(), 2);
    assert_eq!(
        payer.authenticate(SANDBOX_OTP).await.unwrap().status,
        IntentStatus::Successful
    );
    let paid = client.fetch_payment(&intent.id).await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded);

    // The magic amount ending in 01.
    let magic = create(&client, 7501).await;
    delivery(&sandbox, &magic.id, "payment.failed").await;
    let fetched = client.get_intent(&magic.id).await.unwrap();
    assert_eq!(fetched.status, IntentStatus::PaymentRequired);
    assert_eq!(
        fetched.payments[0]
            .failure
            .as_ref()
            .and_then(|f| f.code.as_deref()),
        Some("customer_insufficient_funds")
    );
    self::payer(&client, &magic)
        .attempt(&AttemptRequest::mobile_money("CI", "mtn", "0500000000"))
        .await
        .unwrap();
}

/// `GET /payment-intents` (HUB2's "Retrieve a PaymentIntent collection"): filters, dates, pages,
/// and the neutral find built on it.
#[tokio::test]
async fn intents_are_listed_by_reference_date_and_page() {
    use payments_hub2::ListIntentsRequest;

    let sandbox = start_sandbox().await;
    let client = client(&sandbox);
    let first = create(&client, 6100).await;
    let other = client
        .create_intent(&CreateIntentRequest::new(
            Money::from_minor(6200, Currency::XOF),
            "Client 43",
            "Order_6200.1",
        ))
        .await
        .unwrap();
    let second = create(&client, 6100).await;

    let by_purchase = client
        .list_intents(&ListIntentsRequest::new().purchase_reference("Order_6100.1"))
        .await
        .unwrap();
    let ids: Vec<&str> = by_purchase.intents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [first.id.as_str(), second.id.as_str()]);
    assert!(by_purchase.is_last());
    let by_customer = client
        .list_intents(&ListIntentsRequest::new().customer_reference("Client 43"))
        .await
        .unwrap();
    assert_eq!(by_customer.intents.len(), 1);
    assert_eq!(by_customer.intents[0].id, other.id);

    // Pages: one intent per page, the second page holds the second intent.
    let page = client
        .list_intents(&ListIntentsRequest::new().page(2).per_page(1))
        .await
        .unwrap();
    assert_eq!(page.intents.len(), 1);
    assert_eq!(page.intents[0].id, other.id);
    assert!(!page.is_last());
    let past_the_end = client
        .list_intents(&ListIntentsRequest::new().page(4).per_page(1))
        .await
        .unwrap();
    assert!(past_the_end.intents.is_empty());

    // Dates: nothing was created after tomorrow.
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let none = client
        .list_intents(&ListIntentsRequest::new().from(tomorrow))
        .await
        .unwrap();
    assert!(none.intents.is_empty());

    // The neutral find: the intents of the purchase reference, oldest first.
    let found = client.find_by_reference("Order_6100.1").await.unwrap();
    let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [first.id.as_str(), second.id.as_str()]);
    assert!(
        found
            .iter()
            .all(|p| p.status == PaymentStatus::Pending && p.raw["token"] == "[REDACTED]")
    );
    assert!(
        client
            .find_by_reference("Order_9999")
            .await
            .unwrap()
            .is_empty()
    );

    // HUB2's refusals: a bad page, a bad date, no API key.
    let raw = reqwest::Client::new();
    let c = sandbox.credentials();
    let url = format!("{}/payment-intents", sandbox.provider_url(Provider::Hub2));
    let answer = raw
        .get(format!("{url}?page=0&from=yesterday"))
        .header("ApiKey", &c.hub2_api_key)
        .header("MerchantId", &c.hub2_merchant_id)
        .header("Environment", &c.hub2_environment)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "Bad Request");
    let messages = body["message"].to_string();
    assert!(
        messages.contains("page") && messages.contains("from"),
        "{messages}"
    );
    let anonymous = raw
        .get(&url)
        .header("Environment", &c.hub2_environment)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// A merchant client whose neutral checkout points at the sandbox's stand-in payer page,
/// returning the payer to `return_url` (when given).
fn client_with_payer_page(sandbox: &RunningSandbox, return_url: Option<&str>) -> Hub2Client {
    let template = sandbox.hub2().payer_page_url;
    let template = match return_url {
        Some(url) => {
            let mut encoder = reqwest::Url::parse("http://x.invalid/").unwrap();
            encoder.query_pairs_mut().append_pair("return_url", url);
            format!("{template}?{}", encoder.query().unwrap())
        }
        None => template,
    };
    Hub2Client::new(config(sandbox).payer_page_url(template)).unwrap()
}

async fn open_payer_page(client: &Hub2Client, amount: i64) -> (String, page::Page) {
    let checkout = client
        .checkout(&payments_core::CreatePayment::new(
            Money::from_minor(amount, Currency::XOF),
            format!("order-{amount}"),
        ))
        .await
        .unwrap();
    let url = checkout.redirect_url.expect("the payer page");
    let opened = page::open(&url).await;
    assert_eq!(opened.status, 200, "{opened:?}");
    assert!(opened.content_type.starts_with("text/html"), "{opened:?}");
    (checkout.payment_id, opened)
}

#[tokio::test]
async fn the_stand_in_payer_page_runs_an_orange_attempt_and_its_one_time_code() {
    let sandbox = start_sandbox().await;
    let client = client_with_payer_page(&sandbox, Some("https://shop.example/thanks?order=1"));
    let (intent_id, opened) = open_payer_page(&client, 7000).await;
    assert!(opened.html.contains(&intent_id), "{}", opened.html);
    let attempted = opened.click("orange", &[]).await;
    // As a merchant's page would: the attempt went through HUB2's payer API, with the token.
    assert_eq!(
        count_requests(&sandbox, "POST", "/hub2/payment-intents/*/payments"),
        1
    );
    let asking = attempted.follow(&opened.url).await;
    assert!(asking.has("otp"), "{}", asking.html);
    let wrong = asking.click("otp", &[("code", "000000")]).await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert!(
        wrong.body.contains("Invalid confirmation code"),
        "{}",
        wrong.body
    );
    let right = asking.click("otp", &[("code", SANDBOX_OTP)]).await;
    assert_eq!(right.redirected_to(), "https://shop.example/thanks?order=1");
    assert_eq!(
        count_requests(&sandbox, "POST", "/hub2/payment-intents/*/authentication"),
        2
    );
    assert_eq!(
        client.get_intent(&intent_id).await.unwrap().status,
        IntentStatus::Successful
    );
    // Opened again, the page says it is paid and offers nothing more.
    let after = page::open(&opened.url).await;
    assert!(
        after.html.contains("successful") && !after.has("orange"),
        "{}",
        after.html
    );
}

#[tokio::test]
async fn the_stand_in_payer_page_follows_a_wave_redirection_and_a_ussd_confirmation() {
    let sandbox = start_sandbox().await;
    let client = client_with_payer_page(&sandbox, Some("https://shop.example/thanks"));
    let (intent_id, opened) = open_payer_page(&client, 7100).await;
    let redirected = opened.click("wave", &[]).await;
    let wave = redirected.follow(&opened.url).await;
    assert!(wave.url.contains("/_sandbox/checkout/"), "{wave:?}");
    let paid = wave.click("pay", &[]).await;
    assert_eq!(paid.redirected_to(), "https://shop.example/thanks");
    assert_eq!(
        client.get_intent(&intent_id).await.unwrap().status,
        IntentStatus::Successful
    );

    let (intent_id, opened) = open_payer_page(&client, 7200).await;
    let dialled = opened.click("mtn", &[]).await;
    let phone = dialled.follow(&opened.url).await;
    assert!(phone.html.contains("*133#"), "{}", phone.html);
    // Declined on the phone: the intent is payable again, the payer back on the page.
    let declined = phone.click("phone-decline", &[]).await;
    let back = declined.follow(&opened.url).await;
    assert!(back.has("mtn"), "{}", back.html);
    let again = back.click("mtn", &[]).await.follow(&opened.url).await;
    let confirmed = again.click("phone-confirm", &[]).await;
    assert_eq!(confirmed.redirected_to(), "https://shop.example/thanks");
    assert_eq!(
        client.get_intent(&intent_id).await.unwrap().status,
        IntentStatus::Successful
    );
}

#[tokio::test]
async fn without_a_return_url_the_stand_in_page_ends_on_a_completion_page() {
    let sandbox = start_sandbox().await;
    let client = client_with_payer_page(&sandbox, None);
    let (_, opened) = open_payer_page(&client, 7300).await;
    let asking = opened.click("orange", &[]).await.follow(&opened.url).await;
    let done = asking
        .click("otp", &[("code", SANDBOX_OTP)])
        .await
        .follow(&opened.url)
        .await;
    assert_eq!(done.status, 200);
    assert!(
        done.html.contains("successful") && !done.has("otp"),
        "{}",
        done.html
    );
}

#[tokio::test]
async fn the_stand_in_payer_page_refuses_a_return_url_that_is_not_http() {
    let sandbox = start_sandbox().await;
    let client = client_with_payer_page(&sandbox, Some("javascript:alert(1)"));
    let checkout = client
        .checkout(&payments_core::CreatePayment::new(
            Money::from_minor(7400, Currency::XOF),
            "order-7400",
        ))
        .await
        .unwrap();
    let refused = page::open(&checkout.redirect_url.unwrap()).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(refused.html.contains("return_url"), "{}", refused.html);
}
