//! wiremock one-liners: answer a route, read what was sent.

use serde::Serialize;
use wiremock::matchers::{HeaderExactMatcher, header};
use wiremock::{MockBuilder, MockServer, Request, ResponseTemplate};

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

/// Mounts `mock` answering `status` with `body` byte for byte (a fixture's text, say), expected
/// exactly `times` times (checked when `server` drops).
pub async fn mount_text(
    server: &MockServer,
    mock: MockBuilder,
    status: u16,
    body: impl Into<String>,
    times: u64,
) {
    mock.respond_with(ResponseTemplate::new(status).set_body_string(body))
        .expect(times)
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
