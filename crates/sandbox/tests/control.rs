//! The `/_sandbox` control endpoints over HTTP: description, faults, sinks, logs, refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use payments_sandbox::{Fault, FaultRule, PayerAction, Phase, Provider, Sandbox};
use payments_test_support::{act, fault_once, start_sandbox, status_fault};
use serde_json::{Value, json};

/// `request` sent; panics when no answer came.
async fn sent(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.unwrap()
}

/// The JSON answer to `request`.
async fn json_of<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    sent(request).await.json().await.unwrap()
}

#[tokio::test]
async fn the_description_names_every_provider_and_hides_nothing_needed() {
    let sandbox = start_sandbox().await;
    let info: Value = reqwest::get(format!("{}/_sandbox", sandbox.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["base_url"], sandbox.base_url());
    assert_eq!(info["otp"], payments_sandbox::SANDBOX_OTP);
    for p in Provider::ALL {
        assert_eq!(
            info["providers"][p.as_str()]["base_url"],
            sandbox.provider_url(p),
            "{p}"
        );
    }
    assert_eq!(info, sandbox.info());
}

#[tokio::test]
async fn the_description_and_the_typed_details_agree() {
    let sandbox = start_sandbox().await;
    let info = sandbox.info();
    let banq = sandbox.banq();
    let described = &info["providers"]["banq"];
    assert_eq!(described["base_url"], banq.base_url);
    assert_eq!(described["api_base_url"], banq.api_base_url);
    assert_eq!(described["token_url"], banq.token_url);
    assert_eq!(described["company_id"], banq.company_id);
    assert_eq!(described["open_api"]["client_id"], banq.client_id);
    assert_eq!(described["open_api"]["client_secret"], banq.client_secret);
    assert_eq!(described["open_api"]["username"], banq.username);
    assert_eq!(described["open_api"]["password"], banq.password);
    assert_eq!(described["open_api"]["audience"], banq.open_api_audience);
    assert_eq!(
        described["merchant_user"]["client_id"],
        banq.merchant_user_client_id
    );
    assert_eq!(
        described["merchant_user"]["audience"],
        banq.merchant_user_audience
    );
    assert_eq!(
        described["destination_banq_guid"],
        banq.destination_banq_guid
    );
    assert_eq!(described["account_space_id"], banq.account_space_id);
    assert_eq!(described["currency"], banq.currency.code());
    let shown = format!("{banq:?}");
    assert!(!shown.contains(&banq.password) && !shown.contains(&banq.client_secret));

    let paylican = sandbox.paylican();
    let described = &info["providers"]["paylican"];
    assert_eq!(described["base_url"], paylican.base_url);
    assert_eq!(described["keycloak_url"], paylican.keycloak_url);
    assert_eq!(described["payment_url"], paylican.payment_url);
    assert_eq!(described["token_url"], paylican.token_url);
    assert_eq!(described["realm"], paylican.realm);
    assert_eq!(described["client_id"], paylican.client_id);
    assert_eq!(described["username"], paylican.username);
    assert_eq!(described["password"], paylican.password);
    assert!(
        described["status_path"]
            .as_str()
            .unwrap()
            .starts_with(&paylican.status_path)
    );
    assert_eq!(paylican.webhook_retry_delays.len(), 2);
    assert!(!format!("{paylican:?}").contains(&paylican.password));

    for p in Provider::ALL {
        let base = sandbox.provider_url(p);
        let typed = match p {
            Provider::Payconiq => sandbox.payconiq().base_url,
            Provider::Fintecture => sandbox.fintecture().base_url,
            Provider::Hub2 => sandbox.hub2().base_url,
            Provider::Banq => sandbox.banq().base_url,
            Provider::Paylican => sandbox.paylican().base_url,
        };
        assert_eq!(typed, base, "{p}");
    }
}

#[tokio::test]
async fn faults_are_added_listed_applied_and_cleared_over_http() {
    let sandbox = start_sandbox().await;
    let http = reqwest::Client::new();
    let base = sandbox.base_url();
    let rule = json!({
        "method": "GET",
        "path": "/hub2/payment-intents/*",
        "fault": {"kind": "too_many_requests", "retry_after_secs": 7},
        "times": 1
    });
    let added = sent(http.post(format!("{base}/_sandbox/faults")).json(&rule)).await;
    assert_eq!(added.status(), 201);
    let listed: Vec<FaultRule> = json_of(http.get(format!("{base}/_sandbox/faults"))).await;
    assert_eq!(
        listed,
        vec![
            FaultRule::new(
                "GET",
                "/hub2/payment-intents/*",
                Fault::TooManyRequests {
                    retry_after_secs: 7
                }
            )
            .times(1)
        ]
    );

    let limited = sent(http.get(format!("{base}/hub2/payment-intents/abc"))).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    // `times: 1` is used up: the next request reaches the emulator.
    let next = sent(http.get(format!("{base}/hub2/payment-intents/abc"))).await;
    assert_ne!(next.status(), 429);
    let log = sandbox.requests();
    assert_eq!(log.len(), 2);
    assert!(log[0].fault.is_some() && log[1].fault.is_none());
    assert_eq!(log[0].provider, Provider::Hub2);

    sandbox.add_fault(FaultRule::new(
        "GET",
        "/banq/**",
        Fault::Status {
            status: 503,
            body: Some("{\"x\":1}".into()),
        },
    ));
    let cleared = sent(http.delete(format!("{base}/_sandbox/faults"))).await;
    assert_eq!(cleared.status(), 204);
    assert!(sandbox.requests().len() == 2);
    let after = sent(http.get(format!("{base}/banq/anything"))).await;
    assert_ne!(after.status(), 503);
}

#[tokio::test]
async fn each_fault_kind_reaches_the_client_as_described() {
    let sandbox = start_sandbox().await;
    let http = reqwest::Client::new();
    let url = format!("{}/payconiq/v3/payments/x", sandbox.base_url());

    fault_once(
        &sandbox,
        "GET",
        "/payconiq/v3/payments/x",
        status_fault(502),
    );
    assert_eq!(sent(http.get(&url)).await.status(), 502);

    fault_once(&sandbox, "GET", "/payconiq/v3/payments/x", Fault::Malformed);
    let malformed = sent(http.get(&url)).await;
    assert_eq!(malformed.status(), 200);
    assert!(
        malformed.json::<Value>().await.is_err(),
        "a malformed body does not parse"
    );

    fault_once(&sandbox, "GET", "/payconiq/v3/payments/x", Fault::Drop);
    let dropped = match http.get(&url).send().await {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(dropped, "a dropped connection is a transport error");

    fault_once(
        &sandbox,
        "GET",
        "/payconiq/v3/payments/x",
        Fault::Latency { ms: 400 },
    );
    let slow = http
        .get(&url)
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(slow.unwrap_err().is_timeout());

    let mut after = FaultRule::new(
        "GET",
        "/payconiq/v3/payments/x",
        Fault::Status {
            status: 500,
            body: None,
        },
    )
    .times(1);
    after.phase = Phase::After;
    sandbox.add_fault(after);
    assert_eq!(sent(http.get(&url)).await.status(), 500);
    assert_eq!(sandbox.requests().len(), 5);
}

#[tokio::test]
async fn the_sink_answers_200_or_the_status_asked_for() {
    let sandbox = start_sandbox().await;
    let http = reqwest::Client::new();
    let base = sandbox.base_url();
    let ok = sent(
        http.post(format!("{base}/_sandbox/sink/payconiq"))
            .body("{}"),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let refused = sent(http.post(format!("{base}/_sandbox/sink/status/503"))).await;
    assert_eq!(refused.status(), 503);
    // The sink is not a provider route: nothing in the provider request log.
    assert!(sandbox.requests().is_empty());
}

#[tokio::test]
async fn control_endpoints_refuse_unknown_providers_payments_and_actions() {
    let sandbox = start_sandbox().await;
    let http = reqwest::Client::new();
    let base = sandbox.base_url();
    let unknown_provider = sent(http.post(format!("{base}/_sandbox/stripe/payments/p1/pay"))).await;
    assert_eq!(unknown_provider.status(), 404);
    let body: Value = unknown_provider.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("unknown provider"));
    for p in Provider::ALL {
        let missing = sent(http.post(format!("{base}/_sandbox/{p}/payments/no-such-id/pay"))).await;
        assert_eq!(missing.status(), 404, "{p}");
        let listed: Vec<Value> = json_of(http.get(format!("{base}/_sandbox/{p}/payments"))).await;
        assert!(listed.is_empty(), "{p}");
    }
    let bad_action = sent(http.post(format!("{base}/_sandbox/hub2/payments/p1/teleport"))).await;
    assert_eq!(bad_action.status(), 400);
    let deliveries: Vec<Value> =
        json_of(http.get(format!("{base}/_sandbox/deliveries?provider=hub2"))).await;
    assert!(deliveries.is_empty());
}

#[tokio::test]
async fn console_webhook_urls_are_set_and_cleared() {
    let sandbox = start_sandbox().await;
    let http = reqwest::Client::new();
    let put = http
        .put(format!(
            "{}/_sandbox/paylican/webhook-url",
            sandbox.base_url()
        ))
        .json(&json!({"url": "http://127.0.0.1:9/hook"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    assert_eq!(
        sandbox.webhook_url(Provider::Paylican).as_deref(),
        Some("http://127.0.0.1:9/hook")
    );
    assert_eq!(sandbox.webhook_url(Provider::Banq), None);
    let clear = http
        .put(format!(
            "{}/_sandbox/paylican/webhook-url",
            sandbox.base_url()
        ))
        .json(&json!({"url": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(clear.status(), 204);
    assert_eq!(sandbox.webhook_url(Provider::Paylican), None);
}

#[tokio::test]
async fn latency_after_processing_acts_at_once_and_answers_late() {
    let sandbox = start_sandbox().await;
    let http = reqwest::Client::new();
    let mut late = FaultRule::new("POST", "/payconiq/v3/payments", Fault::Latency { ms: 800 });
    late.phase = Phase::After;
    sandbox.add_fault(late.times(1));
    let creation = http
        .post(format!("{}/payconiq/v3/payments", sandbox.base_url()))
        .bearer_auth(&sandbox.credentials().payconiq_api_key)
        .json(&json!({"amount": 1000, "currency": "EUR", "reference": "late-1"}))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(creation.unwrap_err().is_timeout(), "the answer is late");
    assert_eq!(
        sandbox.payments(Provider::Payconiq).len(),
        1,
        "but the payment was created before the client gave up"
    );
}

/// Sends `body` with `content_type` and returns (status, content type, JSON body or null).
async fn send(
    method: reqwest::Method,
    url: String,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let kind = answer
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = answer.text().await.unwrap();
    (
        status,
        kind,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// The one-line JSON error every control endpoint answers: `{"error": "..."}`.
fn assert_json_error(answer: &(u16, String, Value), status: u16, mentions: &str) {
    let (got, kind, body) = answer;
    assert_eq!(*got, status, "{answer:?}");
    assert!(kind.starts_with("application/json"), "{answer:?}");
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {answer:?}"));
    assert!(
        message.contains(mentions) && !message.contains('\n'),
        "`{message}` should mention `{mentions}`"
    );
}

#[tokio::test]
async fn control_bodies_that_are_not_json_are_refused_with_json_errors() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    let (post, put) = (reqwest::Method::POST, reqwest::Method::PUT);
    let json = Some("application/json");
    let cases = [
        // Not JSON at all: 400, naming the problem.
        (&post, "faults", json, "{\"method\":", 400, "JSON"),
        // JSON, but not a fault rule: 422.
        (&post, "faults", json, "{\"x\":1}", 422, "missing field"),
        // Not declared as JSON: 415.
        (
            &put,
            "banq/webhook-url",
            Some("text/plain"),
            "{\"url\":\"http://127.0.0.1:9/hook\"}",
            415,
            "application/json",
        ),
        (
            &post,
            "hub2/payments/x/otp",
            None,
            "{\"code\":\"123456\"}",
            415,
            "application/json",
        ),
        (
            &post,
            "hub2/payments/x/status",
            json,
            "{\"status\": 7}",
            422,
            "status",
        ),
    ];
    for (method, route, content_type, body, status, mentions) in cases {
        let url = format!("{base}/_sandbox/{route}");
        let answer = send(method.clone(), url, content_type, body).await;
        assert_json_error(&answer, status, mentions);
    }
    let rules: Vec<Value> = reqwest::get(format!("{base}/_sandbox/faults"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(rules.is_empty(), "nothing refused was added: {rules:?}");
}

#[tokio::test]
async fn a_webhook_url_that_is_not_an_http_url_is_refused() {
    let sandbox = start_sandbox().await;
    let url = format!("{}/_sandbox/fintecture/webhook-url", sandbox.base_url());
    for bad in [
        "not a url",
        "/relative/hook",
        "ftp://127.0.0.1/hook",
        "http://",
    ] {
        let body = json!({ "url": bad }).to_string();
        let refused = send(
            reqwest::Method::PUT,
            url.clone(),
            Some("application/json"),
            &body,
        )
        .await;
        assert_json_error(&refused, 422, "url");
        assert_eq!(sandbox.webhook_url(Provider::Fintecture), None, "{bad}");
    }
    let body = json!({ "url": "https://shop.example/hooks/fintecture?k=1" }).to_string();
    let accepted = send(reqwest::Method::PUT, url, Some("application/json"), &body).await;
    assert_eq!(accepted.0, 204, "{accepted:?}");
    assert_eq!(
        sandbox.webhook_url(Provider::Fintecture).as_deref(),
        Some("https://shop.example/hooks/fintecture?k=1")
    );
}

#[tokio::test]
async fn unknown_control_paths_and_methods_answer_json_errors() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    for path in [
        "/_sandbox/nothing-here",
        "/_sandbox/payconiq/payments/p1",
        "/_sandbox/payconiq/payments/p1/pay/again",
        "/_sandbox/faults/extra",
    ] {
        let answer = send(reqwest::Method::GET, format!("{base}{path}"), None, "").await;
        assert_json_error(&answer, 404, path);
    }
    let answer = send(
        reqwest::Method::GET,
        format!("{base}/_sandbox/payconiq/payments/p1/pay"),
        None,
        "",
    )
    .await;
    assert_json_error(&answer, 405, "GET");
    let answer = send(
        reqwest::Method::PATCH,
        format!("{base}/_sandbox/faults"),
        None,
        "",
    )
    .await;
    assert_json_error(&answer, 405, "PATCH");
}

/// Creates a Payconiq payment whose callbacks go to `callback`, has the payer pay it, and
/// returns its delivery once given up.
async fn failed_callback(
    sandbox: &payments_sandbox::RunningSandbox,
    callback: &str,
) -> payments_sandbox::DeliveryRecord {
    let created: Value = reqwest::Client::new()
        .post(format!("{}/payconiq/v3/payments", sandbox.base_url()))
        .bearer_auth(&sandbox.credentials().payconiq_api_key)
        .json(&json!({"amount": 1000, "currency": "EUR", "callbackUrl": callback}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["paymentId"].as_str().unwrap().to_owned();
    act(sandbox, Provider::Payconiq, &id, PayerAction::Pay).await;
    sandbox
        .wait_for_delivery(|d| d.payment_id == id, Duration::from_secs(20))
        .await
        .expect("the callback is given up")
}

#[tokio::test]
async fn a_refused_connection_is_recorded_with_its_cause() {
    let sandbox = start_sandbox().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let delivery = failed_callback(&sandbox, &format!("http://127.0.0.1:{closed}/cb")).await;
    assert_eq!(delivery.state, payments_sandbox::DeliveryState::GaveUp);
    for attempt in &delivery.attempts {
        let error = attempt.error.as_deref().unwrap_or_default();
        assert!(
            error.to_lowercase().contains("connection refused"),
            "`{error}` should say the connection was refused"
        );
        assert!(
            !error.contains("127.0.0.1"),
            "the URL is already in the record: `{error}`"
        );
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_recorded_as_a_timeout() {
    let sandbox = Sandbox::builder()
        .time_divisor(1000)
        .webhook_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    // Accepts every connection and never answers (bounded: it stops with the test).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let delivery = failed_callback(&sandbox, &format!("http://127.0.0.1:{port}/cb")).await;
    silent.abort();
    assert_eq!(delivery.attempts.len(), 4, "{delivery:?}");
    for attempt in &delivery.attempts {
        let error = attempt.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("timed out"),
            "`{error}` should say it timed out"
        );
    }
}
