//! HTTP settings that keep a test's retries and timeouts short.

use std::time::Duration;

use payments_core::http::{HttpConfig, RetryPolicy};

/// Against the sandbox: a 1500 ms request timeout, retries after 5–20 ms, a `Retry-After` of at
/// most 2 s honoured.
pub fn fast_http() -> HttpConfig {
    HttpConfig::default()
        .request_timeout(Duration::from_millis(1500))
        .retry(
            RetryPolicy::default()
                .backoff(Duration::from_millis(5), Duration::from_millis(20))
                .max_retry_after(Duration::from_secs(2)),
        )
}

/// Against wiremock: the default retry policy with a 1–5 ms backoff, a 2 s request timeout.
pub fn mock_http() -> HttpConfig {
    HttpConfig::default()
        .retry(RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5)))
        .request_timeout(Duration::from_secs(2))
}
