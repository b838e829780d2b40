//! The status poller against wiremock under a paused tokio clock: it polls only while the intent
//! is `processing` / `action_required`, paces itself within HUB2's per-intent limits, honours 429
//! and `Retry-After`, stops at a final status or the deadline, and never polls a final intent.
//!
//! Time is virtual (`start_paused`): the poller's `tokio::time::sleep`s complete at once and
//! `tokio::time::Instant` measures the virtual time they stand for. One caveat: tokio advances a
//! paused clock to the next timer whenever the runtime is idle, *including while it waits for the
//! wiremock server* (which runs on its own thread), which would fire the HTTP timeout at once and
//! make the elapsed time depend on the machine's load. [`Frozen`] wraps each status call so the
//! clock stands still during the HTTP exchange (a running `spawn_blocking` task inhibits
//! auto-advance): the elapsed virtual time is then *exactly* the sum of the poller's waits. The
//! convenience methods (`Hub2Client::poll_status`, `PayerClient::poll_status`) are also run
//! directly, with [`ticker`] keeping a 1 ms timer pending instead.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::{Error, Result};
use payments_hub2::poll::{PollOutcome, PollPolicy, StatusSource, StopReason, poll};
use payments_hub2::{
    Environment, Hub2Client, Hub2Config, IntentStatus, PayerClient, PayerConfig, PayerCredentials,
};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const INTENT_ID: &str = "pi_tffiDaXyWQu203rIXhujW";
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.claims.sig";
const STATUS_PATH: &str = "/payment-intents/pi_tffiDaXyWQu203rIXhujW/status";

fn http() -> HttpConfig {
    // The default retry policy on purpose: the poller must not be subject to it.
    HttpConfig::default()
        .request_timeout(Duration::from_secs(3600))
        .connect_timeout(Duration::from_secs(3600))
        .retry(RetryPolicy::default())
}

fn client(server: &MockServer) -> Hub2Client {
    Hub2Client::new(
        Hub2Config::new("hub2_sk_test", "MTE1ODE2", Environment::Sandbox)
            .base_url(server.uri())
            .http(http()),
    )
    .unwrap()
}

fn payer(server: &MockServer) -> PayerClient {
    PayerClient::new(
        PayerConfig::new(
            PayerCredentials::new(INTENT_ID, TOKEN),
            Environment::Sandbox,
        )
        .base_url(server.uri())
        .http(http()),
    )
    .unwrap()
}

/// Keeps a 1 ms timer pending, so the clock only creeps while a request is in flight.
fn ticker() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
}

/// A status source whose HTTP exchange happens with the paused clock standing still.
struct Frozen<S>(S);

#[payments_core::async_trait]
impl<S: StatusSource> StatusSource for Frozen<S> {
    async fn fetch_status(&self) -> Result<IntentStatus> {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        // While this blocking task runs, tokio does not auto-advance the paused clock.
        let hold = tokio::task::spawn_blocking(move || {
            let _ = wait.recv();
        });
        let result = self.0.fetch_status().await;
        drop(done);
        hold.await.unwrap();
        result
    }
}

/// Polls `intent` by API key through [`Frozen`], returning the outcome and the virtual time.
async fn poll_by_key(
    server: &MockServer,
    last_known: IntentStatus,
    policy: &PollPolicy,
) -> (Result<PollOutcome>, Duration) {
    let c = client(server);
    let started = tokio::time::Instant::now();
    let outcome = poll(&Frozen(c.status_source(INTENT_ID)), last_known, policy).await;
    (outcome, started.elapsed())
}

fn status(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": INTENT_ID, "status": status}))
}

/// Mounts `response` for the next `times` status calls, expecting exactly that many.
async fn then(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(STATUS_PATH))
        .respond_with(response)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn processing_then_action_required_then_successful() {
    let server = MockServer::start().await;
    then(&server, status("processing"), 1).await;
    then(&server, status("action_required"), 1).await;
    then(&server, status("successful"), 1).await;
    let policy = PollPolicy::default().interval(Duration::from_secs(2));
    let (outcome, elapsed) = poll_by_key(&server, IntentStatus::Processing, &policy).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.status, IntentStatus::Successful);
    assert_eq!(outcome.stop, StopReason::Final);
    assert_eq!(outcome.requests, 3);
    assert_eq!(elapsed, Duration::from_secs(6), "one call every 2 s");
    // Exactly three calls: nothing after the final status (checked again by `expect` on drop).
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.headers.get("apikey").unwrap(), "hub2_sk_test");
        assert_eq!(request.headers.get("merchantid").unwrap(), "MTE1ODE2");
        assert_eq!(request.headers.get("environment").unwrap(), "sandbox");
    }
}

#[tokio::test(start_paused = true)]
async fn the_interval_never_goes_below_the_documented_limit() {
    let server = MockServer::start().await;
    then(&server, status("processing"), 4).await;
    then(&server, status("failed"), 1).await;
    // 5 requests per 5 s per intent: at most one per second, whatever is configured.
    let policy = PollPolicy::default().interval(Duration::from_millis(10));
    let (outcome, elapsed) = poll_by_key(&server, IntentStatus::ActionRequired, &policy).await;
    let outcome = outcome.unwrap();
    assert_eq!(
        (outcome.status, outcome.stop),
        (IntentStatus::Failed, StopReason::Final)
    );
    assert_eq!(outcome.requests, 5);
    assert_eq!(elapsed, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_is_honoured_between_polls() {
    let server = MockServer::start().await;
    then(&server, status("processing"), 1).await;
    then(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "7"),
        1,
    )
    .await;
    then(&server, status("successful"), 1).await;
    let policy = PollPolicy::default().interval(Duration::from_secs(2));
    let (outcome, elapsed) = poll_by_key(&server, IntentStatus::Processing, &policy).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.status, IntentStatus::Successful);
    // 2 s, 2 s (429), then the 7 s HUB2 asked for — and no immediate retry by the HTTP client.
    assert_eq!(outcome.requests, 3);
    assert_eq!(elapsed, Duration::from_secs(11));
}

#[tokio::test(start_paused = true)]
async fn a_429_without_retry_after_waits_a_full_rate_limit_window() {
    let server = MockServer::start().await;
    then(&server, ResponseTemplate::new(429), 2).await;
    then(&server, status("canceled"), 1).await;
    let policy = PollPolicy::default().interval(Duration::from_secs(1));
    let (outcome, elapsed) = poll_by_key(&server, IntentStatus::Processing, &policy).await;
    let outcome = outcome.unwrap();
    assert_eq!(
        (outcome.status, outcome.stop),
        (IntentStatus::Canceled, StopReason::Final)
    );
    assert_eq!(outcome.requests, 3);
    // 1 s, 429 → 5 s, 429 → 5 s.
    assert_eq!(elapsed, Duration::from_secs(11));
}

#[tokio::test(start_paused = true)]
async fn a_final_or_unpollable_intent_is_never_polled() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(status("processing"))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);
    let policy = PollPolicy::default();
    for (known, stop) in [
        (IntentStatus::Successful, StopReason::Final),
        (IntentStatus::Failed, StopReason::Final),
        (IntentStatus::Canceled, StopReason::Final),
        (IntentStatus::PaymentRequired, StopReason::NotPollable),
        (
            IntentStatus::Other("on_hold".into()),
            StopReason::NotPollable,
        ),
    ] {
        let started = tokio::time::Instant::now();
        let outcome = c
            .poll_status(INTENT_ID, known.clone(), &policy)
            .await
            .unwrap();
        assert_eq!(outcome.status, known);
        assert_eq!(outcome.stop, stop);
        assert_eq!(outcome.requests, 0);
        assert_eq!(started.elapsed(), Duration::ZERO, "not even a wait");
    }
    let outcome = payer(&server)
        .poll_status(IntentStatus::Successful, &policy)
        .await
        .unwrap();
    assert_eq!(outcome.requests, 0);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn polling_stops_when_the_intent_leaves_the_pollable_states() {
    let server = MockServer::start().await;
    then(&server, status("processing"), 1).await;
    // The attempt failed and the intent waits for a new attempt: polling it would get us banned.
    then(&server, status("payment_required"), 1).await;
    let (outcome, elapsed) =
        poll_by_key(&server, IntentStatus::Processing, &PollPolicy::default()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.status, IntentStatus::PaymentRequired);
    assert_eq!(outcome.stop, StopReason::NotPollable);
    assert_eq!(outcome.requests, 2);
    assert_eq!(
        elapsed,
        Duration::from_secs(6),
        "the default interval is 3 s"
    );
}

#[tokio::test(start_paused = true)]
async fn the_deadline_stops_polling_without_sleeping_past_it() {
    let server = MockServer::start().await;
    // 3 s interval within 20 s: calls at 3, 6, 9, 12, 15, 18; the next would be after 20 s.
    then(&server, status("action_required"), 6).await;
    let policy = PollPolicy::default()
        .interval(Duration::from_secs(3))
        .max_duration(Duration::from_secs(20));
    let (outcome, elapsed) = poll_by_key(&server, IntentStatus::Processing, &policy).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.status, IntentStatus::ActionRequired);
    assert_eq!(outcome.stop, StopReason::Deadline);
    assert_eq!(outcome.requests, 6);
    assert_eq!(elapsed, Duration::from_secs(18));
}

#[tokio::test(start_paused = true)]
async fn a_long_retry_after_ends_at_the_deadline() {
    let server = MockServer::start().await;
    then(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "600"),
        1,
    )
    .await;
    let policy = PollPolicy::default().max_duration(Duration::from_secs(60));
    let (outcome, elapsed) = poll_by_key(&server, IntentStatus::Processing, &policy).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.stop, StopReason::Deadline);
    assert_eq!(
        outcome.status,
        IntentStatus::Processing,
        "the last status known"
    );
    assert_eq!(outcome.requests, 1);
    assert_eq!(
        elapsed,
        Duration::from_secs(3),
        "no 600 s sleep past the deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn an_absurd_retry_after_ends_at_the_deadline_without_panicking() {
    // `Retry-After` is network input: u64::MAX seconds is past anything an `Instant` can hold.
    let server = MockServer::start().await;
    then(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "18446744073709551615"),
        1,
    )
    .await;
    let (outcome, elapsed) =
        poll_by_key(&server, IntentStatus::Processing, &PollPolicy::default()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.stop, StopReason::Deadline);
    assert_eq!(outcome.status, IntentStatus::Processing);
    assert_eq!(outcome.requests, 1);
    assert_eq!(elapsed, Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn an_unrepresentable_deadline_is_no_deadline() {
    let server = MockServer::start().await;
    then(&server, status("processing"), 1).await;
    then(&server, status("successful"), 1).await;
    let policy = PollPolicy::default().max_duration(Duration::MAX);
    let (outcome, elapsed) = poll_by_key(&server, IntentStatus::Processing, &policy).await;
    let outcome = outcome.unwrap();
    assert_eq!(
        (outcome.status, outcome.stop),
        (IntentStatus::Successful, StopReason::Final)
    );
    assert_eq!(elapsed, Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn a_status_call_in_flight_at_the_deadline_is_abandoned() {
    // HUB2 answers slowly (real time, on wiremock's thread). Without `Frozen`, the paused clock
    // auto-advances while the runtime waits for the answer, straight to the earliest timer:
    // the deadline (10 s), long before the 3600 s HTTP timeout. The poller must stop there,
    // returning the last status, instead of waiting for the request to time out.
    // A server of its own, not one from wiremock's pool: the abandoned request may still reach
    // it after this test, and must not be answered by the next test's mocks.
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .and(path(STATUS_PATH))
        .respond_with(status("successful").set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let policy = PollPolicy::default().max_duration(Duration::from_secs(10));
    let started = tokio::time::Instant::now();
    let outcome = client(&server)
        .poll_status(INTENT_ID, IntentStatus::ActionRequired, &policy)
        .await
        .unwrap();
    assert_eq!(outcome.stop, StopReason::Deadline);
    assert_eq!(
        outcome.status,
        IntentStatus::ActionRequired,
        "the last status known"
    );
    assert_eq!(outcome.requests, 1);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(10),
        "not one instant later"
    );
    assert_eq!(outcome.elapsed, Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_polled_through_and_permanent_ones_returned() {
    let server = MockServer::start().await;
    then(&server, ResponseTemplate::new(503), 1).await;
    then(&server, status("successful"), 1).await;
    let (outcome, elapsed) =
        poll_by_key(&server, IntentStatus::Processing, &PollPolicy::default()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.status, IntentStatus::Successful);
    assert_eq!(
        outcome.requests, 2,
        "the 503 was not retried by the HTTP client"
    );
    assert_eq!(
        elapsed,
        Duration::from_secs(3 + 6),
        "the wait grows after a failure"
    );

    let server = MockServer::start().await;
    then(
        &server,
        ResponseTemplate::new(401)
            .set_body_json(json!({"statusCode":401,"message":"Unauthorized"})),
        1,
    )
    .await;
    let (err, _) = poll_by_key(&server, IntentStatus::Processing, &PollPolicy::default()).await;
    assert_eq!(err.unwrap_err().http_status(), Some(401));

    let server = MockServer::start().await;
    then(&server, ResponseTemplate::new(500), 3).await;
    let policy = PollPolicy::default().max_consecutive_errors(3);
    let (err, _) = poll_by_key(&server, IntentStatus::Processing, &policy).await;
    let err = err.unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
}

// ---------------------------------------------------------------- the convenience methods

#[tokio::test(start_paused = true)]
async fn hub2_client_poll_status_goes_through_the_api_key_endpoint() {
    let _tick = ticker();
    let server = MockServer::start().await;
    then(&server, status("processing"), 1).await;
    then(&server, status("successful"), 1).await;
    let started = tokio::time::Instant::now();
    let outcome = client(&server)
        .poll_status(INTENT_ID, IntentStatus::Processing, &PollPolicy::default())
        .await
        .unwrap();
    assert_eq!(outcome.status, IntentStatus::Successful);
    assert_eq!(outcome.requests, 2);
    // The clock creeps during I/O here; only the lower bound is exact.
    assert!(started.elapsed() >= Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn the_payer_side_polls_by_token_without_the_api_key() {
    let _tick = ticker();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(STATUS_PATH))
        .and(query_param("token", TOKEN))
        .and(header("environment", "sandbox"))
        .respond_with(status("processing"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(STATUS_PATH))
        .and(query_param("token", TOKEN))
        .respond_with(status("successful"))
        .expect(1)
        .mount(&server)
        .await;
    let started = tokio::time::Instant::now();
    let outcome = payer(&server)
        .poll_status(IntentStatus::ActionRequired, &PollPolicy::default())
        .await
        .unwrap();
    assert_eq!(outcome.status, IntentStatus::Successful);
    assert_eq!(outcome.requests, 2);
    assert!(started.elapsed() >= Duration::from_secs(6));
    for request in server.received_requests().await.unwrap() {
        assert!(request.headers.get("apikey").is_none());
        assert!(request.headers.get("merchantid").is_none());
    }
}
