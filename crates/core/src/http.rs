//! The one place that sends HTTP requests for every provider: timeouts, user agent, retries with
//! exponential backoff and full jitter honouring `Retry-After`, authentication, and the rule that
//! a payment is never created twice.
//!
//! ## When a request is retried
//! | what happened | idempotent (GET, DELETE, token) | not idempotent (payment creation) |
//! |---|---|---|
//! | connection refused / DNS / TLS (never sent) | retried | retried |
//! | 429 | retried | retried (the provider refused to process it) |
//! | 502, 503, 504 | retried | **not retried**: `OutcomeUnknown` |
//! | 500 and other 5xx | not retried | **not retried**: `OutcomeUnknown` |
//! | timeout or connection lost after sending | retried | **not retried**: `OutcomeUnknown` |
//! | 401 with a cached access token | token refreshed, sent once more | same |
//!
//! Attempts are bounded ([`RetryPolicy::max_attempts`]); a `Retry-After` longer than
//! [`RetryPolicy::max_retry_after`] is not waited for but returned as [`Error::RateLimited`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER,
};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::error::{Error, ProviderError, Result, redacted_excerpt};
use crate::token::{TokenCache, TokenLease};

/// Re-exported so provider crates and merchants name the same versions.
pub use reqwest::{Method, header};
/// Re-exported so provider crates and merchants name the same version.
pub use url::Url;

/// How often and how patiently to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts including the first (at least 1).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each retry, with full jitter.
    pub base_delay: Duration,
    /// Upper bound on one backoff.
    pub max_delay: Duration,
    /// The longest `Retry-After` worth waiting for inside one call.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the total number of attempts (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the base and maximum backoff.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// Sets the longest `Retry-After` waited for.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The full-jitter backoff before retry number `retry` (1 for the first retry): a uniformly
    /// random duration in `[0, min(max_delay, base_delay × 2^(retry-1))]`.
    pub fn backoff_for(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(20);
        let cap = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=cap_ms))
    }
}

/// Timeouts and retries for one provider client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Time allowed to establish a connection (TCP + TLS).
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, response body included.
    pub request_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Text appended to the user agent (the merchant's app name and version).
    pub user_agent_suffix: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            user_agent_suffix: None,
        }
    }
}

impl HttpConfig {
    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the whole-request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Appends `suffix` (e.g. `"my-shop/2.1"`) to the user agent.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }
}

/// Signs a request just before it is sent (each attempt), for providers that sign requests.
pub trait RequestSigner: Send + Sync + fmt::Debug {
    /// Adds signature headers for exactly `body` (the bytes that will be sent).
    fn sign(&self, method: &Method, url: &Url, body: &[u8], headers: &mut HeaderMap) -> Result<()>;
}

/// How a request authenticates.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No authentication (token endpoints with credentials in the body, public key sets).
    #[default]
    None,
    /// A fixed credential header, made once by [`Auth::bearer`], [`Auth::header`] or
    /// [`Auth::scheme`] and sent as is on every request.
    Static(StaticCredential),
    /// `Authorization: Bearer <token>` from a cache; on 401 the token is invalidated and the
    /// request sent once more with a fresh one (unless the cache's source cannot give another:
    /// [`TokenCache::can_refresh`]).
    Token(TokenCache),
}

/// A credential header built once: its name and its value, marked sensitive (hyper's HPACK never
/// indexes it) and never shown by `Debug`.
#[derive(Clone)]
pub struct StaticCredential {
    name: HeaderName,
    value: HeaderValue,
}

impl fmt::Debug for StaticCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: [REDACTED]", self.name)
    }
}

impl Auth {
    /// `Authorization: Bearer <secret>` with a static secret (an API key).
    pub fn bearer(secret: &SecretString) -> Result<Auth> {
        Auth::scheme("Bearer", secret)
    }

    /// `Authorization: <scheme> <secret>` (e.g. `Basic` with pre-encoded credentials).
    pub fn scheme(scheme: &str, secret: &SecretString) -> Result<Auth> {
        Auth::header(
            AUTHORIZATION,
            &SecretString::from(format!("{scheme} {}", secret.expose_secret())),
        )
    }

    /// A secret in a header of its own (`ApiKey: <secret>`).
    ///
    /// A secret that cannot be a header value (a line break, a control character) is an
    /// [`Error::Config`] here, before any request, and the error does not show it.
    pub fn header(name: HeaderName, secret: &SecretString) -> Result<Auth> {
        let value = sensitive_value(secret.expose_secret()).ok_or_else(|| {
            Error::Config(format!(
                "the credential for the {name} header contains characters a header cannot carry"
            ))
        })?;
        Ok(Auth::Static(StaticCredential { name, value }))
    }
}

/// `text` as a header value marked sensitive (hyper's HPACK never indexes it); `None` when it
/// holds characters a header cannot carry.
fn sensitive_value(text: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Static(credential) => write!(f, "Static({credential:?})"),
            Auth::Token(_) => f.write_str("Token(..)"),
        }
    }
}

/// One API call, described before it is sent.
#[derive(Clone)]
pub struct ApiRequest {
    operation: &'static str,
    method: Method,
    url: Url,
    headers: HeaderMap,
    /// `Bytes`: each attempt hands reqwest the same buffer, without copying it.
    body: Option<Bytes>,
    idempotent: bool,
    auth: Auth,
    signer: Option<Arc<dyn RequestSigner>>,
}

impl ApiRequest {
    /// A request for `operation` (a name used in errors and traces, e.g. `"get_payment"`).
    /// GET, HEAD, PUT, DELETE and OPTIONS are idempotent; POST and PATCH are not, until
    /// [`ApiRequest::idempotent`] says otherwise.
    pub fn new(operation: &'static str, method: Method, url: Url) -> Self {
        let idempotent = method.is_idempotent();
        ApiRequest {
            operation,
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            idempotent,
            auth: Auth::None,
            signer: None,
        }
    }

    /// Marks the request as safe (or not) to send more than once.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets a JSON body (serialized once, so every attempt sends the same bytes).
    pub fn json<T: serde::Serialize + ?Sized>(self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Config(format!("cannot serialize request body: {e}")))?;
        Ok(self.body(bytes, "application/json"))
    }

    /// Sets a raw body and its content type.
    pub fn body(mut self, bytes: Vec<u8>, content_type: &'static str) -> Self {
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        self.body = Some(Bytes::from(bytes));
        self
    }

    /// Sets the authentication.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets a signer run on every attempt.
    pub fn signer(mut self, signer: Arc<dyn RequestSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The operation name.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The body bytes, if any.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }
}

/// A provider's answer (any status), after retries.
#[derive(Clone)]
pub struct ApiResponse {
    operation: &'static str,
    idempotent: bool,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl fmt::Debug for ApiRequest {
    /// Shows no body, no header values and no query values: a token request's body holds
    /// credentials, and some providers take a token in the query (HUB2's payer status call).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut url = self.url.clone();
        if url.query().is_some() {
            url.set_query(Some("[REDACTED]"));
        }
        f.debug_struct("ApiRequest")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("url", &url.as_str())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .field("idempotent", &self.idempotent)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ApiResponse {
    /// Shows no body: a token response's body holds the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiResponse")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Largest response body read; a larger one is an [`Error::Decode`].
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

impl ApiResponse {
    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// Decodes a JSON body; a body that does not match is an [`Error::Decode`] with a redacted excerpt.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.decode_error(crate::provider_support::describe_json_error(&e)))
    }

    /// Decodes a JSON body into `T` and, from the same bytes, the whole body as a JSON value:
    /// the typed answer and the provider's full answer (the `raw` of the neutral
    /// [`Payment`](crate::Payment) and [`Checkout`](crate::Checkout)), from one response.
    ///
    /// The bytes are read twice rather than the value converted: a value would hand a decimal
    /// amount to the typed decoder as a float, and an exact [`Decimal`](crate::Decimal) is read
    /// from the text.
    pub fn json_with_raw<T: DeserializeOwned>(&self) -> Result<(T, serde_json::Value)> {
        Ok((self.json()?, self.json()?))
    }

    /// An [`Error::Decode`] for this response.
    pub fn decode_error(&self, reason: impl Into<String>) -> Error {
        Error::Decode {
            operation: self.operation,
            status: self.status.as_u16(),
            reason: reason.into(),
            excerpt: redacted_excerpt(&self.body),
        }
    }

    /// `Ok(self)` for 2xx; otherwise the error the status means, with the provider's details taken
    /// from the body by `parse` (which must not fail: it fills what it can find).
    ///
    /// 429 is [`Error::RateLimited`] (with `Retry-After`); a 5xx answer to a request that is not
    /// idempotent is [`Error::OutcomeUnknown`] (the provider may have acted before failing);
    /// anything else is [`Error::Provider`].
    pub fn error_for_status(self, parse: impl FnOnce(&[u8]) -> ProviderError) -> Result<Self> {
        if self.status.is_success() {
            return Ok(self);
        }
        let mut error = if self.body.iter().all(u8::is_ascii_whitespace) {
            ProviderError::new(0)
        } else {
            parse(&self.body)
        };
        error.status = self.status.as_u16();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Error::RateLimited {
                operation: self.operation,
                retry_after: retry_after(&self.headers, SystemTime::now()),
                error,
            });
        }
        if self.status.is_server_error() && !self.idempotent {
            return Err(Error::OutcomeUnknown {
                operation: self.operation,
                reason: format!(
                    "HTTP {} to a request that is not idempotent",
                    self.status.as_u16()
                ),
                error: Some(error),
            });
        }
        Err(Error::Provider {
            operation: self.operation,
            error,
        })
    }
}

/// Parses `Retry-After` as delay-seconds or an HTTP-date (relative to `now`; a past date is zero).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

/// Statuses worth sending again: only for idempotent requests, except 429 which the provider
/// answers without processing.
fn retryable_status(status: StatusCode, idempotent: bool) -> bool {
    match status.as_u16() {
        429 => true,
        502..=504 => idempotent,
        _ => false,
    }
}

/// A client shared by all clones, with one provider's policy.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    provider: &'static str,
    retry: RetryPolicy,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("provider", &self.provider)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `provider`, announcing itself as `crate_name/crate_version` (pass the provider
    /// crate's `env!("CARGO_PKG_NAME")` and `env!("CARGO_PKG_VERSION")`).
    pub fn new(
        provider: &'static str,
        crate_name: &str,
        crate_version: &str,
        config: &HttpConfig,
    ) -> Result<Self> {
        let mut user_agent = format!(
            "{crate_name}/{crate_version} payments-core/{}",
            env!("CARGO_PKG_VERSION")
        );
        if let Some(suffix) = &config.user_agent_suffix {
            user_agent.push(' ');
            user_agent.push_str(suffix);
        }
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // Payment APIs do not redirect; following one could carry credentials to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(HttpClient {
            client,
            provider,
            retry: config.retry.clone(),
        })
    }

    /// The provider this client is for.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// Sends `request` under the retry policy. `Ok` holds the provider's answer whatever its
    /// status (see [`ApiResponse::error_for_status`]); `Err` means no answer was obtained.
    pub async fn send(&self, request: ApiRequest) -> Result<ApiResponse> {
        let span = tracing::info_span!(
            "payments.request",
            provider = self.provider,
            operation = request.operation,
            method = %request.method,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        self.send_with_retries(request).instrument(span).await
    }

    async fn send_with_retries(&self, request: ApiRequest) -> Result<ApiResponse> {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut refreshed_token = false;
        let record = |attempts: u32, status: Option<u16>| {
            let span = tracing::Span::current();
            span.record("attempts", attempts);
            span.record(
                "latency_ms",
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
            if let Some(status) = status {
                span.record("status", status);
            }
        };
        loop {
            attempt += 1;
            let lease = match &request.auth {
                Auth::Token(cache) => Some(cache.get().await?),
                _ => None,
            };
            let outgoing = self.build(&request, lease.as_ref())?;
            match self.client.execute(outgoing).await {
                Ok(response) => {
                    let status = response.status();
                    let mut response = response;
                    let headers = std::mem::take(response.headers_mut());
                    let body = match read_body(response).await {
                        Ok(Some(body)) => body,
                        Ok(None) => {
                            record(attempt, Some(status.as_u16()));
                            return Err(Error::Decode {
                                operation: request.operation,
                                status: status.as_u16(),
                                reason: format!(
                                    "response body larger than {MAX_RESPONSE_BODY} bytes"
                                ),
                                excerpt: String::new(),
                            });
                        }
                        Err(e) if request.idempotent && attempt < self.retry.max_attempts => {
                            tracing::debug!(attempt, error = %e.without_url(), "body read failed; retrying");
                            tokio::time::sleep(self.retry.backoff_for(attempt)).await;
                            continue;
                        }
                        Err(e) => {
                            record(attempt, Some(status.as_u16()));
                            return Err(Error::OutcomeUnknown {
                                operation: request.operation,
                                reason: format!(
                                    "connection lost while reading the response: {}",
                                    e.without_url()
                                ),
                                error: None,
                            });
                        }
                    };
                    if status == StatusCode::UNAUTHORIZED
                        && let (Auth::Token(cache), Some(lease), false) =
                            (&request.auth, &lease, refreshed_token)
                        && cache.can_refresh()
                    {
                        tracing::debug!("401 with a cached token; refreshing it once");
                        cache.invalidate(lease);
                        refreshed_token = true;
                        attempt -= 1;
                        continue;
                    }
                    if retryable_status(status, request.idempotent)
                        && attempt < self.retry.max_attempts
                    {
                        let delay = match retry_after(&headers, SystemTime::now()) {
                            Some(d) if d > self.retry.max_retry_after => None,
                            Some(d) => Some(d),
                            None => Some(self.retry.backoff_for(attempt)),
                        };
                        if let Some(delay) = delay {
                            tracing::debug!(attempt, status = status.as_u16(), ?delay, "retrying");
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                    }
                    record(attempt, Some(status.as_u16()));
                    return Ok(ApiResponse {
                        operation: request.operation,
                        idempotent: request.idempotent,
                        status,
                        headers,
                        body,
                    });
                }
                Err(e) => {
                    let e = e.without_url();
                    let never_sent = e.is_connect();
                    if (never_sent || request.idempotent) && attempt < self.retry.max_attempts {
                        tracing::debug!(attempt, error = %e, never_sent, "transport error; retrying");
                        tokio::time::sleep(self.retry.backoff_for(attempt)).await;
                        continue;
                    }
                    record(attempt, None);
                    let reason = describe(&e);
                    return Err(if never_sent {
                        Error::NotSent {
                            operation: request.operation,
                            reason,
                        }
                    } else {
                        Error::OutcomeUnknown {
                            operation: request.operation,
                            reason,
                            error: None,
                        }
                    });
                }
            }
        }
    }

    /// The attempt's request: the request's own headers, the credential, the signature.
    /// Built as a `reqwest::Request` directly (the client adds its default headers when it
    /// executes it), so nothing is merged or formatted that could be made once.
    fn build(&self, request: &ApiRequest, lease: Option<&TokenLease>) -> Result<reqwest::Request> {
        let mut headers = request.headers.clone();
        match (&request.auth, lease) {
            (Auth::Static(credential), _) => {
                headers.insert(credential.name.clone(), credential.value.clone());
            }
            (Auth::Token(_), Some(lease)) => {
                let value = sensitive_value(&format!("Bearer {}", lease.secret().expose_secret()))
                    .ok_or_else(|| {
                        Error::Config("access token contains invalid header characters".into())
                    })?;
                headers.insert(AUTHORIZATION, value);
            }
            (Auth::Token(_), None) | (Auth::None, _) => {}
        }
        if let Some(signer) = &request.signer {
            let body = request.body.as_deref().unwrap_or_default();
            signer.sign(&request.method, &request.url, body, &mut headers)?;
        }
        let mut outgoing = reqwest::Request::new(request.method.clone(), request.url.clone());
        *outgoing.headers_mut() = headers;
        if let Some(body) = &request.body {
            *outgoing.body_mut() = Some(reqwest::Body::from(body.clone()));
        }
        Ok(outgoing)
    }
}

/// Reads a body up to [`MAX_RESPONSE_BODY`]; `None` when it is larger.
///
/// With a `Content-Length` (what the providers send), the body is taken whole, as the one buffer
/// hyper received it in when it came in one piece: hyper ends the body at that length, so it
/// cannot outgrow the limit checked first. Without one, chunks are gathered up to the limit.
async fn read_body(mut response: reqwest::Response) -> reqwest::Result<Option<Bytes>> {
    if let Some(length) = response.content_length() {
        if length > MAX_RESPONSE_BODY as u64 {
            return Ok(None);
        }
        return response.bytes().await.map(Some);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BODY {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(Bytes::from(body)))
}

/// A short description of a transport error without its URL (which may carry a token).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn static_credentials_are_checked_once_and_never_shown() {
        let Err(Error::Config(message)) = Auth::bearer(&SecretString::from("sk_live\nSECRET"))
        else {
            panic!("a line break in a credential was accepted");
        };
        assert!(
            message.contains("authorization") && !message.contains("SECRET"),
            "{message}"
        );
        let auth = Auth::header(
            HeaderName::from_static("apikey"),
            &SecretString::from("key_SECRET"),
        )
        .unwrap();
        assert_eq!(format!("{auth:?}"), "Static(apikey: [REDACTED])");
        let Auth::Static(credential) = Auth::bearer(&SecretString::from("sk_1")).unwrap() else {
            panic!("not static");
        };
        assert_eq!(credential.name, AUTHORIZATION);
        assert_eq!(credential.value, "Bearer sk_1");
        assert!(credential.value.is_sensitive());
    }

    #[test]
    fn request_debug_shows_no_query_body_or_header_values() {
        let url = Url::parse("https://api.example/payment-intents/pi_1/status?token=eyJsecret")
            .unwrap_or_else(|e| unreachable!("{e}"));
        let request = ApiRequest::new("status", Method::GET, url)
            .header(
                header::AUTHORIZATION,
                HeaderValue::from_static("Bearer hdr-secret"),
            )
            .body(
                b"password=body-secret".to_vec(),
                "application/x-www-form-urlencoded",
            );
        let shown = format!("{request:?}");
        for secret in ["eyJsecret", "hdr-secret", "body-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("/payment-intents/pi_1/status?[REDACTED]"),
            "{shown}"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let policy =
            RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
        for retry in 1..40 {
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << (retry - 1).min(20))
                .min(Duration::from_secs(1));
            let d = policy.backoff_for(retry);
            assert!(d <= cap, "retry {retry}: {d:?} > {cap:?}");
        }
        let samples: std::collections::HashSet<_> =
            (0..50).map(|_| policy.backoff_for(4)).collect();
        assert!(samples.len() > 1, "full jitter draws different delays");
    }

    #[test]
    fn retryable_statuses_depend_on_idempotency() {
        for (status, idempotent, expected) in [
            (429, false, true),
            (429, true, true),
            (503, true, true),
            (502, true, true),
            (504, true, true),
            (503, false, false),
            (500, true, false),
            (500, false, false),
            (404, true, false),
        ] {
            assert_eq!(
                retryable_status(StatusCode::from_u16(status).unwrap(), idempotent),
                expected,
                "{status} idempotent={idempotent}"
            );
        }
    }

    #[test]
    fn json_with_raw_gives_the_typed_value_and_the_whole_answer() {
        #[derive(serde::Deserialize)]
        struct Typed {
            amount: crate::Decimal,
        }
        let response = ApiResponse {
            operation: "get_payment",
            idempotent: true,
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"amount":5100.00,"extra":{"kept":true}}"#),
        };
        let (typed, raw): (Typed, serde_json::Value) = response.json_with_raw().unwrap();
        assert_eq!(typed.amount.to_string(), "5100.00", "exact, from the text");
        assert_eq!(
            raw.pointer("/extra/kept"),
            Some(&serde_json::Value::Bool(true)),
            "fields the type does not know are in raw"
        );
        let bad = ApiResponse {
            body: Bytes::from_static(b"<html>"),
            ..response
        };
        assert!(matches!(
            bad.json_with_raw::<Typed>(),
            Err(Error::Decode {
                operation: "get_payment",
                status: 200,
                ..
            })
        ));
    }

    #[test]
    fn auth_debug_hides_secrets() {
        let auth = Auth::bearer(&SecretString::from("sk_live_123")).unwrap();
        assert!(!format!("{auth:?}").contains("sk_live"));
        let request =
            ApiRequest::new("op", Method::GET, Url::parse("https://x").unwrap()).auth(auth);
        assert!(!format!("{request:?}").contains("sk_live"));
    }
}
