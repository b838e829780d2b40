//! Per-route fault injection and the log of provider requests received.

use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::Provider;
use crate::app::App;
use crate::support::lock;

/// A fault to inject on the requests matching a route.
///
/// JSON form (for `POST /_sandbox/faults`):
/// `{"method": "POST", "path": "/payconiq/v3/payments", "fault": {"kind": "status", "status": 500},
/// "times": 1, "phase": "after"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match; `None` matches every method.
    #[serde(default)]
    pub method: Option<String>,
    /// Full path to match, prefix included (`/hub2/payment-intents/*`). A `*` segment matches any
    /// one segment; a final `**` matches any rest. The query is not part of the match.
    pub path: String,
    /// What to do.
    pub fault: Fault,
    /// How many matching requests get the fault; `None` means every one until cleared.
    #[serde(default)]
    pub times: Option<u32>,
    /// Whether the fault replaces the request (`before`: the provider never processed it) or its
    /// answer (`after`: the provider processed it, the answer is lost). Latency `before` delays
    /// the processing; latency `after` processes at once and delays the answer (the provider
    /// acted, its webhook may arrive before the creation's answer).
    #[serde(default)]
    pub phase: Phase,
}

impl FaultRule {
    /// A rule for `method path`, applied to every matching request, before processing.
    pub fn new(method: &str, path: impl Into<String>, fault: Fault) -> Self {
        FaultRule {
            method: Some(method.to_owned()),
            path: path.into(),
            fault,
            times: None,
            phase: Phase::Before,
        }
    }

    /// Applies the fault to the first `n` matching requests only.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Applies the fault after the request was processed (the answer is lost).
    pub fn after_processing(mut self) -> Self {
        self.phase = Phase::After;
        self
    }

    /// Whether a request `method path` matches this rule.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self
            .method
            .as_deref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        let mut want = self.path.trim_matches('/').split('/');
        let mut got = path.trim_matches('/').split('/');
        loop {
            match (want.next(), got.next()) {
                (Some("**"), _) => return true,
                (Some(w), Some(g)) if w == "*" || w == g => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

/// When a fault applies relative to processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Instead of processing: the provider never saw the request.
    #[default]
    Before,
    /// After processing: the provider acted on the request but its answer is replaced.
    After,
}

/// A fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Wait `ms` milliseconds, then process normally.
    Latency {
        /// The delay.
        ms: u64,
    },
    /// Answer 429 with `Retry-After: retry_after_secs`.
    TooManyRequests {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
    },
    /// Answer `status` with `body` (a generic JSON error when absent).
    Status {
        /// The HTTP status.
        status: u16,
        /// The body.
        #[serde(default)]
        body: Option<String>,
    },
    /// Drop the connection without a complete answer.
    Drop,
    /// Answer 200 (or, after processing, the real status) with a truncated JSON body.
    Malformed,
}

/// A provider request the sandbox received (logged before any fault applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// The provider.
    pub provider: Provider,
    /// HTTP method.
    pub method: String,
    /// Full path, prefix included, without the query.
    pub path: String,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    requests: Mutex<Vec<RequestRecord>>,
}

impl Faults {
    pub(crate) fn add(&self, rule: FaultRule) {
        lock(&self.rules).push(rule);
    }

    pub(crate) fn clear(&self) {
        lock(&self.rules).clear();
    }

    pub(crate) fn rules(&self) -> Vec<FaultRule> {
        lock(&self.rules).clone()
    }

    pub(crate) fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.requests).clone()
    }

    /// Logs the request and takes the first matching rule (consuming one of its `times`).
    fn arrive(&self, provider: Provider, method: &str, path: &str) -> Option<FaultRule> {
        let taken = {
            let mut rules = lock(&self.rules);
            let index = rules.iter().position(|r| r.matches(method, path));
            match index {
                None => None,
                Some(i) => {
                    let rule = rules.get_mut(i)?;
                    let taken = rule.clone();
                    match &mut rule.times {
                        Some(1) => {
                            rules.remove(i);
                        }
                        Some(n) => *n -= 1,
                        None => {}
                    }
                    Some(taken)
                }
            }
        };
        let mut requests = lock(&self.requests);
        let seq = requests.len() as u64 + 1;
        requests.push(RequestRecord {
            seq,
            provider,
            method: method.to_owned(),
            path: path.to_owned(),
            fault: taken.as_ref().map(|r| r.fault.clone()),
        });
        taken
    }
}

/// The middleware in front of every provider route.
pub(crate) async fn middleware(State(app): State<App>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let Some(provider) = Provider::from_path(&path) else {
        return next.run(req).await;
    };
    let Some(rule) = app.faults.arrive(provider, req.method().as_str(), &path) else {
        return next.run(req).await;
    };
    tracing::debug!(%provider, %path, fault = ?rule.fault, "injecting fault");
    match (&rule.fault, rule.phase) {
        (Fault::Latency { ms }, Phase::After) => {
            let answer = next.run(req).await;
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            answer
        }
        (Fault::Latency { ms }, Phase::Before) => {
            // Processed in its own task: a provider goes on with a request whose client gave up
            // waiting, so a timed-out creation still exists (as in production).
            let delay = Duration::from_millis(*ms);
            let processing = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                next.run(req).await
            });
            processing
                .await
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        (fault, Phase::Before) => fault_response(fault, StatusCode::OK),
        (fault, Phase::After) => {
            let real = next.run(req).await;
            fault_response(fault, real.status())
        }
    }
}

pub(crate) fn fault_response(fault: &Fault, real_status: StatusCode) -> Response {
    match fault {
        Fault::Latency { .. } => real_status.into_response(),
        Fault::TooManyRequests { retry_after_secs } => {
            let mut response = json_error(429, "too many requests (sandbox fault)");
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Fault::Status { status, body } => match body {
            Some(body) => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (
                    status,
                    [(header::CONTENT_TYPE, "application/json")],
                    body.clone(),
                )
                    .into_response()
            }
            None => json_error(*status, "injected by the sandbox"),
        },
        Fault::Drop => {
            // A body that fails on its first read: hyper aborts the connection mid-answer.
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "sandbox fault: connection dropped",
                ))
            });
            Response::builder()
                .status(real_status)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Fault::Malformed => (
            real_status,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\": \"SUCC",
        )
            .into_response(),
    }
}

fn json_error(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(serde_json::json!({ "error": "sandbox_fault", "message": message })),
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_wildcards() {
        let rule = FaultRule::new("GET", "/hub2/payment-intents/*", Fault::Drop);
        assert!(rule.matches("GET", "/hub2/payment-intents/abc"));
        assert!(rule.matches("get", "/hub2/payment-intents/abc/"));
        assert!(!rule.matches("POST", "/hub2/payment-intents/abc"));
        assert!(!rule.matches("GET", "/hub2/payment-intents/abc/attempts"));
        assert!(!rule.matches("GET", "/hub2/payment-intents"));
        let rest = FaultRule::new("GET", "/hub2/**", Fault::Drop);
        assert!(rest.matches("GET", "/hub2/payment-intents/abc/attempts"));
    }

    #[test]
    fn times_are_consumed_and_every_request_is_logged() {
        let faults = Faults::default();
        faults.add(FaultRule::new("POST", "/payconiq/v3/payments", Fault::Drop).times(2));
        assert!(
            faults
                .arrive(Provider::Payconiq, "POST", "/payconiq/v3/payments")
                .is_some()
        );
        assert!(
            faults
                .arrive(Provider::Payconiq, "POST", "/payconiq/v3/payments")
                .is_some()
        );
        assert!(
            faults
                .arrive(Provider::Payconiq, "POST", "/payconiq/v3/payments")
                .is_none()
        );
        let log = faults.requests();
        assert_eq!(log.len(), 3);
        assert_eq!(log[0].fault, Some(Fault::Drop));
        assert_eq!(log[2].fault, None);
        assert_eq!(log[2].seq, 3);
    }
}
