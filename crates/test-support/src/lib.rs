//! # payments-test-support
//!
//! What the workspace's tests used to copy into every file: fixture loading, the HTTP settings
//! that keep retries fast, wiremock one-liners and a sandbox per test. Never published; crates
//! take it as a dev-dependency (`payments-test-support = { path = "../test-support" }`).
//!
//! ```
//! use payments_test_support::{Fixtures, fixtures, mount_json, only_request};
//! use wiremock::matchers::{method, path};
//! use wiremock::{Mock, MockServer};
//!
//! // The calling crate's `tests/fixtures/`, found through its `CARGO_MANIFEST_DIR`.
//! const FIXTURES: Fixtures = fixtures!();
//! assert!(FIXTURES.path("token.json").ends_with("tests/fixtures/token.json"));
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let server = MockServer::start().await;
//! let token = serde_json::json!({"access_token": "t", "expires_in": 60});
//! // `POST /token` answers 200 with this JSON, and must be called exactly once.
//! mount_json(&server, Mock::given(method("POST")).and(path("/token")), 200, &token, 1).await;
//! let url = format!("{}/token", server.uri());
//! let answer = reqwest::Client::new().post(url).send().await.unwrap();
//! assert_eq!(answer.status(), 200);
//! assert_eq!(only_request(&server).await.url.path(), "/token");
//! # });
//! ```
//!
//! Features, so that a crate builds only what its tests use:
//! - `http`: `fast_http` and `mock_http` (payments-core's HTTP client).
//! - `sandbox`: `start_sandbox`, `count_requests`, `sink_url` and the one-off faults
//!   (`fault_once`, `status_fault`, ...; builds the sandbox).
//!
//! These are test helpers: they panic, with a message naming what failed, instead of returning
//! errors.
#![allow(clippy::panic)] // test helpers: a panic with a clear message is the failure report

mod fixtures;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "sandbox")]
mod sandbox;
mod wiremock_helpers;

pub use fixtures::Fixtures;
#[cfg(feature = "http")]
pub use http::{fast_http, mock_http};
#[cfg(feature = "sandbox")]
pub use sandbox::{
    act, count_requests, fault_once, fault_once_after_processing, sink_url, start_sandbox,
    status_fault, too_many_requests,
};
pub use wiremock_helpers::{answer, answer_first, bearer, mount_json, only_request, requests_to};
