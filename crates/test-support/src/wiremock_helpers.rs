//! wiremock one-liners: answer a route, read what was sent.

use serde::Serialize;
use wiremock::matchers::{HeaderExactMatcher, header, method};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

/// Mounts `mock` answering `status` with `body` as JSON, expected exactly `times` times (checked
/// when `server` drops).
pub async fn mount_json(
    server: &MockServer,
    mock: MockBuilder,
    status: u16,
    body: impl Serialize,
    times: u64,
) {
    mock.respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(times)
        .mount(server)
        .await;
}

/// Requests with method `m` (any path) answer `response`, expected exactly `times` times
/// (checked when `server` drops).
pub async fn answer(server: &MockServer, m: &str, response: ResponseTemplate, times: u64) {
    Mock::given(method(m))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// The first request with method `m` answers `response` (expected exactly once); the later ones
/// go to the mocks mounted after this one.
pub async fn answer_first(server: &MockServer, m: &str, response: ResponseTemplate) {
    Mock::given(method(m))
        .respond_with(response)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

/// Matches `authorization: Bearer {token}`.
pub fn bearer(token: &str) -> HeaderExactMatcher {
    header("authorization", format!("Bearer {token}").as_str())
}

/// Every request `server` received for path `path` (the query aside), in order.
pub async fn requests_to(server: &MockServer, path: &str) -> Vec<Request> {
    received(server)
        .await
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

/// The one request `server` received; panics when it received none or more than one.
pub async fn only_request(server: &MockServer) -> Request {
    let mut requests = received(server).await;
    assert_eq!(requests.len(), 1, "exactly one request expected");
    requests.remove(0)
}

async fn received(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_else(|| panic!("the mock server records no requests"))
}
