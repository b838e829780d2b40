//! Framework-agnostic webhook verification plumbing.
//!
//! A web framework hands the handler a method, a URL, headers and the body. Build a
//! [`WebhookRequest`] over exactly those raw bytes — *before* anything parses the body — and give it
//! to the provider's [`WebhookVerifier`]. Only a [`VerifiedEvent`] comes out; a forged, altered,
//! replayed or misdirected request becomes a [`WebhookRejection`] naming the reason.
//!
//! None of this needs an HTTP client or an async runtime.
//!
//! The URL a verifier sees is the public one, from configuration ([`PublicUrl`]), never rebuilt
//! from `Host` or `X-Forwarded-*`. With the feature `http` (the `http` crate only),
//! [`WebhookRequest::from_http_parts`] builds the request from what axum, hyper or any tower
//! framework hands a handler; `payments-axum` is a ready router over it.
//!
//! ```
//! use std::time::Duration;
//! use payments_core::webhook::{DedupStore, InMemoryDedupStore, WebhookRequest};
//!
//! let body = br#"{"paymentId":"5bdaf066b93d1c000bde9683","status":"SUCCEEDED"}"#;
//! let request = WebhookRequest::new("POST", "https://shop.example/payconiq/callback", body)
//!     .header("Content-Type", "application/json")
//!     .header("Signature", "eyJ...");
//! assert_eq!(request.header_value("content-type").unwrap(), Some("application/json"));
//!
//! // De-duplicate on the verified event id; forget it again if processing fails so the
//! // provider's retry is processed.
//! let seen = InMemoryDedupStore::new();
//! assert!(seen.insert_if_new("payconiq:jti-1", Duration::from_secs(48 * 3600)));
//! assert!(!seen.insert_if_new("payconiq:jti-1", Duration::from_secs(48 * 3600)));
//! ```
// Without the feature `http` the constructor does not exist: its link leads to the features.
#![cfg_attr(
    not(feature = "http"),
    doc = "",
    doc = "[`WebhookRequest::from_http_parts`]: crate#features"
)]

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;

use crate::status::PaymentStatus;

mod url_secret;

pub use url_secret::{MIN_URL_SECRET_LEN, SecretLocation, UrlSecretGuard};

/// An incoming webhook as raw bytes: method, full URL, headers, body.
///
/// Header names compare case-insensitively; a header sent twice is ambiguous and is refused by
/// [`WebhookRequest::header_value`].
#[derive(Clone)]
pub struct WebhookRequest<'a> {
    method: &'a str,
    url: &'a str,
    headers: Vec<(&'a str, &'a [u8])>,
    body: &'a [u8],
}

impl<'a> WebhookRequest<'a> {
    /// A request with no headers yet.
    pub fn new(method: &'a str, url: &'a str, body: &'a [u8]) -> Self {
        WebhookRequest {
            method,
            url,
            headers: Vec::new(),
            body,
        }
    }

    /// Adds a header (value as text).
    pub fn header(self, name: &'a str, value: &'a str) -> Self {
        self.header_bytes(name, value.as_bytes())
    }

    /// Adds a header (value as raw bytes, as most frameworks hold them).
    pub fn header_bytes(mut self, name: &'a str, value: &'a [u8]) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds every header of an iterator of `(name, value)` pairs.
    pub fn headers<I, V>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a V)>,
        V: AsRef<[u8]> + ?Sized + 'a,
    {
        self.headers
            .extend(headers.into_iter().map(|(n, v)| (n, v.as_ref())));
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The full URL the request was sent to, as the merchant's server received it.
    pub fn url(&self) -> &'a str {
        self.url
    }

    /// The raw body bytes.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The value of a header sent at most once, as UTF-8 text, with leading and trailing spaces
    /// and tabs removed (HTTP's optional whitespace around a field value, RFC 9110 section 5.5,
    /// is not part of it; frameworks differ in whether they strip it). Other characters, even
    /// other whitespace, are left in: they are part of the value.
    ///
    /// `Ok(None)` when absent; [`WebhookRejection::DuplicateHeader`] when sent more than once;
    /// [`WebhookRejection::MalformedHeader`] when not UTF-8.
    pub fn header_value(&self, name: &str) -> Result<Option<&'a str>, WebhookRejection> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let Some((_, value)) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() {
            return Err(WebhookRejection::DuplicateHeader(name.to_string()));
        }
        std::str::from_utf8(value)
            .map(|v| Some(v.trim_matches([' ', '\t'])))
            .map_err(|_| WebhookRejection::MalformedHeader {
                header: name.to_string(),
                reason: "not UTF-8".into(),
            })
    }

    /// Like [`WebhookRequest::header_value`], but absence is [`WebhookRejection::MissingHeader`].
    pub fn require_header(&self, name: &str) -> Result<&'a str, WebhookRejection> {
        self.header_value(name)?
            .ok_or_else(|| WebhookRejection::MissingHeader(name.to_string()))
    }

    /// Refuses any method but `expected` (providers deliver with POST).
    pub fn require_method(&self, expected: &str) -> Result<(), WebhookRejection> {
        if self.method.eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err(WebhookRejection::MethodNotAllowed(
                self.method.chars().take(16).collect(),
            ))
        }
    }
}

impl fmt::Debug for WebhookRequest<'_> {
    /// Shows header names and sizes, never values or the body: a signature header is a
    /// credential-like value and the body may carry personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The public URL at which the merchant's server receives webhooks, taken from configuration.
///
/// A verifier compares the URL a request was sent to with what the provider signed or what the
/// merchant registered (Payconiq signs the callback URL; Banq's and Paylican's URL secrets sit in
/// it). Behind a load balancer or a TLS-terminating proxy the server sees another scheme, host
/// and sometimes path than the provider used, and the `Host` and `X-Forwarded-*` headers that
/// would tell are written by whoever sends the request. So the public part comes from
/// configuration, and only the path and query come from the request:
/// `PublicUrl::new("https://shop.example")?.join("/webhooks/hub2")` is
/// `https://shop.example/webhooks/hub2`, whatever `Host` said.
///
/// ```
/// use payments_core::webhook::PublicUrl;
///
/// let public = PublicUrl::new("https://shop.example/api/")?;
/// assert_eq!(public.as_str(), "https://shop.example/api");
/// assert_eq!(public.join("/webhooks/banq?token=abc"), "https://shop.example/api/webhooks/banq?token=abc");
/// assert!(PublicUrl::new("shop.example").is_err()); // no scheme
/// assert!(PublicUrl::new("https://shop.example/?x=1").is_err()); // a query has no place here
/// # Ok::<(), payments_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicUrl {
    base: String,
}

impl PublicUrl {
    /// Checks and keeps `url`: `http://` or `https://`, a host, an optional path, no query, no
    /// fragment, no whitespace. A trailing `/` is dropped.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming what is wrong.
    pub fn new(url: impl Into<String>) -> Result<Self, crate::Error> {
        let url: String = url.into();
        let bad = |why: &str| crate::Error::Config(format!("public URL {url:?}: {why}"));
        let lower = url.to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            url.get(8..)
        } else if lower.starts_with("http://") {
            url.get(7..)
        } else {
            return Err(bad("must start with https:// or http://"));
        };
        let rest = rest.unwrap_or_default();
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("contains whitespace or a control character"));
        }
        if url.contains(['?', '#']) {
            return Err(bad("must not have a query or a fragment"));
        }
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || host.contains('@') {
            return Err(bad("must name a host (and no user information)"));
        }
        let base = url.trim_end_matches('/').to_string();
        Ok(PublicUrl { base })
    }

    /// The URL, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The path (`/webhooks`), or `""` when the URL has none.
    pub fn path(&self) -> &str {
        let after_scheme = self
            .base
            .split_once("://")
            .map_or(self.base.as_str(), |(_, rest)| rest);
        after_scheme
            .find('/')
            .map_or("", |i| after_scheme.get(i..).unwrap_or_default())
    }

    /// This URL followed by `path_and_query` as the server received it (`/hub2`,
    /// `/paylican?token=...`); a missing leading `/` is added.
    pub fn join(&self, path_and_query: &str) -> String {
        if path_and_query.is_empty() {
            return self.base.clone();
        }
        let slash = if path_and_query.starts_with('/') {
            ""
        } else {
            "/"
        };
        format!("{}{slash}{path_and_query}", self.base)
    }

    /// This URL followed by the path and query of `uri` (feature `http`). An absolute-form
    /// request target (`POST http://other.example/x`) contributes its path and query only: the
    /// scheme and host are always this URL's.
    #[cfg(feature = "http")]
    pub fn url_of(&self, uri: &http::Uri) -> String {
        self.join(
            uri.path_and_query()
                .map_or("/", http::uri::PathAndQuery::as_str),
        )
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// Building a [`WebhookRequest`] from the `http` crate's types (feature `http`), as axum, hyper
/// and other tower-based frameworks hold a request. The URL is the caller's: build it with
/// [`PublicUrl::url_of`] from configuration, never from `Host` or `X-Forwarded-*`.
///
/// ```
/// # #[cfg(feature = "http")] {
/// use payments_core::webhook::{PublicUrl, WebhookRequest};
///
/// let public = PublicUrl::new("https://shop.example").unwrap();
/// let http_request = http::Request::post("/webhooks/hub2")
///     .header("Host", "attacker.example")
///     .header("Content-Type", "application/json")
///     .body(br#"{"id":"evt_1"}"#.to_vec())
///     .unwrap();
/// let (parts, body) = http_request.into_parts();
/// let url = public.url_of(&parts.uri);
/// let request = WebhookRequest::from_http_parts(&parts, &url, &body);
/// assert_eq!(request.url(), "https://shop.example/webhooks/hub2");
/// assert_eq!(request.header_value("content-type"), Ok(Some("application/json")));
/// # }
/// ```
#[cfg(feature = "http")]
impl<'a> WebhookRequest<'a> {
    /// A request from the method and headers of `parts`, the public `url` and the raw `body`.
    pub fn from_http_parts(parts: &'a http::request::Parts, url: &'a str, body: &'a [u8]) -> Self {
        Self::from_http(&parts.method, &parts.headers, url, body)
    }

    /// A request from a method, a header map, the public `url` and the raw `body`. Every value
    /// of a header sent more than once is kept, so [`WebhookRequest::header_value`] refuses it
    /// as ambiguous.
    pub fn from_http(
        method: &'a http::Method,
        headers: &'a http::HeaderMap,
        url: &'a str,
        body: &'a [u8],
    ) -> Self {
        WebhookRequest::new(method.as_str(), url, body).headers(
            headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes())),
        )
    }

    /// A request from a whole `http::Request` whose body is already in memory.
    pub fn from_http_request<B: AsRef<[u8]>>(request: &'a http::Request<B>, url: &'a str) -> Self {
        Self::from_http(
            request.method(),
            request.headers(),
            url,
            request.body().as_ref(),
        )
    }
}

/// Why a webhook was refused. Each check has its own reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// A required header is absent.
    #[error("missing header {0}")]
    MissingHeader(String),
    /// A header that must be unique was sent more than once.
    #[error("header {0} sent more than once")]
    DuplicateHeader(String),
    /// A header could not be parsed.
    #[error("malformed header {header}: {reason}")]
    MalformedHeader {
        /// The header.
        header: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP method is not the provider's.
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
    /// The signature algorithm is not the one the provider uses (`none`, `HS256`, ...).
    #[error("signature algorithm {0:?} not allowed")]
    AlgorithmNotAllowed(String),
    /// The set of critical header parameters is not exactly the expected one.
    #[error("critical header parameters do not match: {0}")]
    CriticalHeaders(String),
    /// The signing key id is not in the key set (even after a refresh).
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    /// The key set could not be obtained; answer 5xx so the provider retries.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
    /// The key's certificate thumbprint differs from the one the signature names.
    #[error("certificate thumbprint mismatch")]
    ThumbprintMismatch,
    /// The signature does not verify over the raw body.
    #[error("signature does not verify")]
    BadSignature,
    /// A signed claim differs from the configured value (issuer, subject, path, key id, ...).
    #[error("signed claim {claim} does not match the configuration")]
    ClaimMismatch {
        /// The claim (`iss`, `sub`, `path`, ...).
        claim: String,
    },
    /// The signature's timestamp is older than the allowed window.
    #[error("signature is {age:?} old, more than the allowed {max:?}")]
    TooOld {
        /// Age of the signature.
        age: Duration,
        /// Window allowed.
        max: Duration,
    },
    /// The signature's timestamp is further in the future than the allowed skew.
    #[error("signature is {ahead:?} in the future, more than the allowed {max:?}")]
    FromTheFuture {
        /// How far ahead.
        ahead: Duration,
        /// Skew allowed.
        max: Duration,
    },
    /// The body digest differs from the signed one.
    #[error("body digest mismatch")]
    DigestMismatch,
    /// The signature could not be decrypted with the merchant's key.
    #[error("signature could not be decrypted")]
    Undecryptable,
    /// The body passed verification but is not the provider's documented format.
    #[error("malformed payload: {0}")]
    MalformedPayload(String),
    /// For providers that do not sign: the request did not carry the merchant's configured
    /// shared secret or credentials (URL token, HTTP basic auth). The reason never contains the
    /// expected value.
    #[error("sender not authenticated: {0}")]
    Unauthenticated(String),
    /// For providers that do not sign: the sender's address is outside the configured
    /// allow-list.
    #[error("source address {0} not allowed")]
    SourceNotAllowed(String),
}

impl WebhookRejection {
    /// The HTTP status to answer the provider with: 503 when our side could not check (the
    /// provider will retry), 401 for authentication failures, 403 for a sender outside the
    /// allow-list, 405 for a wrong method, 400 for malformed requests.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookRejection::KeysUnavailable(_) => 503,
            WebhookRejection::MethodNotAllowed(_) => 405,
            WebhookRejection::SourceNotAllowed(_) => 403,
            WebhookRejection::MissingHeader(_)
            | WebhookRejection::DuplicateHeader(_)
            | WebhookRejection::MalformedHeader { .. }
            | WebhookRejection::MalformedPayload(_) => 400,
            _ => 401,
        }
    }
}

/// How a [`VerifiedEvent`]'s content was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authenticity {
    /// The provider's signature over the raw body verified.
    Signed,
    /// The provider does not sign its webhooks; the content was confirmed by fetching it back.
    FetchedBack,
    /// The provider does not sign its webhooks and the content could not be fetched back; the
    /// sender passed the merchant's guards (shared secret, basic auth, source address). Treat
    /// the content as a claim: good enough to trigger a status check, not to ship goods.
    Guarded,
    /// The provider does not sign its webhooks and no guard was configured: nothing about the
    /// content is established. Use it only to trigger a status check.
    Unverified,
}

/// A webhook that passed verification, with the fields every provider has.
///
/// `Debug` shows the length of `raw_body`, not its bytes: a provider may put secrets in a
/// webhook (HUB2's intent token), and the typed `data` redacts them where the raw bytes cannot.
#[derive(Clone)]
#[non_exhaustive]
pub struct VerifiedEvent<T> {
    /// The provider (`"payconiq"`).
    pub provider: &'static str,
    /// A unique id of this delivery's event, for de-duplication (see [`VerifiedEvent::dedup_key`]).
    pub event_id: String,
    /// The provider's event type, when it has one.
    pub event_type: Option<String>,
    /// The provider's payment id.
    pub payment_id: Option<String>,
    /// The unified status the event reports.
    pub status: Option<PaymentStatus>,
    /// The provider's own status value.
    pub raw_status: Option<String>,
    /// When the provider says the event happened (signed time where the scheme has one).
    pub occurred_at: Option<OffsetDateTime>,
    /// How the content was established.
    pub authenticity: Authenticity,
    /// The provider's typed payload.
    pub data: T,
    /// The raw body bytes that were verified.
    pub raw_body: Vec<u8>,
}

impl<T: fmt::Debug> fmt::Debug for VerifiedEvent<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedEvent")
            .field("provider", &self.provider)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("payment_id", &self.payment_id)
            .field("status", &self.status)
            .field("raw_status", &self.raw_status)
            .field("occurred_at", &self.occurred_at)
            .field("authenticity", &self.authenticity)
            .field("data", &self.data)
            .field("raw_body_len", &self.raw_body.len())
            .finish()
    }
}

impl<T> VerifiedEvent<T> {
    /// A verified event with the required fields; the optional ones start empty.
    pub fn new(
        provider: &'static str,
        event_id: impl Into<String>,
        authenticity: Authenticity,
        data: T,
        raw_body: Vec<u8>,
    ) -> Self {
        VerifiedEvent {
            provider,
            event_id: event_id.into(),
            event_type: None,
            payment_id: None,
            status: None,
            raw_status: None,
            occurred_at: None,
            authenticity,
            data,
            raw_body,
        }
    }

    /// `"<provider>:<event id>"`, the key for a [`DedupStore`].
    pub fn dedup_key(&self) -> String {
        format!("{}:{}", self.provider, self.event_id)
    }
}

/// A provider's webhook verification scheme, synchronous and runtime-free.
pub trait WebhookVerifier {
    /// The provider's typed payload.
    type Payload;

    /// Verifies the request over its raw bytes and, only then, parses it.
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<Self::Payload>, WebhookRejection>;
}

/// A verification scheme that may need I/O (fetching a key set when an unknown key id appears).
/// Every [`WebhookVerifier`] is one.
#[async_trait::async_trait]
pub trait AsyncWebhookVerifier: Send + Sync {
    /// The provider's typed payload.
    type Payload: Send;

    /// Verifies the request over its raw bytes and, only then, parses it.
    async fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<Self::Payload>, WebhookRejection>;
}

#[async_trait::async_trait]
impl<V> AsyncWebhookVerifier for V
where
    V: WebhookVerifier + Send + Sync,
    V::Payload: Send,
{
    type Payload = V::Payload;

    async fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<Self::Payload>, WebhookRejection> {
        WebhookVerifier::verify(self, request)
    }
}

/// An event id made of several values (`41768:invoice.payment_initiated:PAID`), for providers
/// whose webhooks have no unique id of their own: the values joined by `:`, each with `%` and
/// `:` percent-encoded (`%25`, `%3A`), so two different tuples of values never give one id.
pub fn event_id_from_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    /// `%` and `:` only: every other character stays as it is.
    const SEPARATORS: &percent_encoding::AsciiSet =
        &percent_encoding::AsciiSet::EMPTY.add(b'%').add(b':');
    let encoded: Vec<String> = parts
        .into_iter()
        .map(|part| percent_encoding::utf8_percent_encode(part, SEPARATORS).to_string())
        .collect();
    encoded.join(":")
}

/// The current time, injectable so tests can fix it.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until told to move. For tests.
#[derive(Debug, Clone)]
pub struct FixedClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl FixedClock {
    /// A clock showing `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        FixedClock {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Sets the time (all clones see it).
    pub fn set(&self, now: OffsetDateTime) {
        *lock(&self.now) = now;
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let mut now = lock(&self.now);
        *now = now.saturating_add(by.try_into().unwrap_or(time::Duration::MAX));
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *lock(&self.now)
    }
}

/// Locks a mutex, recovering the data if a previous holder panicked (the data here is always
/// consistent between statements).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Remembers which events were already processed.
///
/// Use it around processing: `insert_if_new` before, `remove` if processing failed (so the
/// provider's retry is processed), and answer 2xx only after the outcome is durably stored.
/// Back it with the merchant's database in production; [`InMemoryDedupStore`] suits one process.
pub trait DedupStore: Send + Sync {
    /// Records `key` for `ttl`; true when it was not already recorded (first delivery).
    fn insert_if_new(&self, key: &str, ttl: Duration) -> bool;
    /// Forgets `key`.
    fn remove(&self, key: &str);
}

/// An in-process [`DedupStore`] with per-entry expiry and a size bound.
///
/// Every operation is O(log n): keys are indexed by expiry, so expired keys are purged from the
/// front of the index and, when the store is full, the key closest to expiry is evicted in one
/// step. Evicting a key that has not expired means a redelivery of that event would be processed
/// again: each such eviction is counted ([`InMemoryDedupStore::evicted_unexpired`]) and logged as a
/// `tracing` warning. A process restart forgets everything; a store that must survive restarts
/// and be shared by several instances belongs in a database (see `payments-ledger`).
#[derive(Debug)]
pub struct InMemoryDedupStore {
    entries: Mutex<DedupEntries>,
    clock: Arc<dyn Clock>,
    max_entries: usize,
    evicted_unexpired: AtomicU64,
}

/// The keys with their expiry, and the same pairs ordered by expiry.
#[derive(Debug, Default)]
struct DedupEntries {
    by_key: HashMap<Arc<str>, OffsetDateTime>,
    by_expiry: BTreeSet<(OffsetDateTime, Arc<str>)>,
}

impl DedupEntries {
    fn remove(&mut self, key: &str) {
        if let Some((key, expires)) = self.by_key.remove_entry(key) {
            self.by_expiry.remove(&(expires, key));
        }
    }

    /// Drops every key whose expiry is at or before `now`.
    fn purge_expired(&mut self, now: OffsetDateTime) {
        while let Some(first) = self.by_expiry.first()
            && first.0 <= now
        {
            if let Some((_, key)) = self.by_expiry.pop_first() {
                self.by_key.remove(&key);
            }
        }
    }

    /// Drops the key closest to expiry; returns it.
    fn evict_first(&mut self) -> Option<Arc<str>> {
        let (_, key) = self.by_expiry.pop_first()?;
        self.by_key.remove(&key);
        Some(key)
    }
}

impl Default for InMemoryDedupStore {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryDedupStore {
    /// Default bound on remembered keys; past it the entry closest to expiry is dropped.
    pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

    /// A store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// A store on a given clock (tests).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        InMemoryDedupStore {
            entries: Mutex::new(DedupEntries::default()),
            clock,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            evicted_unexpired: AtomicU64::new(0),
        }
    }

    /// Sets the bound on remembered keys (at least 1).
    pub fn max_entries(mut self, max: usize) -> Self {
        self.max_entries = max.max(1);
        self
    }

    /// Number of keys currently remembered (expired ones included until purged).
    pub fn len(&self) -> usize {
        lock(&self.entries).by_key.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many keys were dropped before their expiry because the store was full. Each one is
    /// an event whose redelivery would be processed again: if this grows, raise
    /// [`InMemoryDedupStore::max_entries`] or use a durable store.
    pub fn evicted_unexpired(&self) -> u64 {
        self.evicted_unexpired.load(Ordering::Relaxed)
    }
}

impl DedupStore for InMemoryDedupStore {
    fn insert_if_new(&self, key: &str, ttl: Duration) -> bool {
        let now = self.clock.now();
        let expires = now.saturating_add(ttl.try_into().unwrap_or(time::Duration::MAX));
        let mut entries = lock(&self.entries);
        entries.purge_expired(now);
        if entries.by_key.contains_key(key) {
            // Still there after the purge: not expired.
            return false;
        }
        let evicted = if entries.by_key.len() >= self.max_entries {
            entries.evict_first()
        } else {
            None
        };
        let key: Arc<str> = Arc::from(key);
        entries.by_expiry.insert((expires, Arc::clone(&key)));
        entries.by_key.insert(key, expires);
        drop(entries);
        if let Some(evicted) = evicted {
            let total = self.evicted_unexpired.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                evicted_key = %evicted,
                max_entries = self.max_entries,
                evicted_total = total,
                "de-duplication store full: a key that has not expired was evicted, so a \
                 redelivery of that event would be processed again"
            );
        }
        true
    }

    fn remove(&self, key: &str) {
        lock(&self.entries).remove(key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn only_http_optional_whitespace_is_trimmed_from_a_header_value() {
        // RFC 9110, section 5.5: the whitespace around a field value is OWS, spaces and tabs.
        // Anything else (a form feed, a vertical tab, a NUL) is part of the value, so a
        // verifier and a parser handed the same text read the same items.
        let req = WebhookRequest::new("POST", "https://x/cb", b"{}")
            .header("A", " \t s1=abc \t")
            .header("B", "\u{c}\u{c}s1=abc\u{b}")
            .header("C", "\u{85}x\u{a0}");
        assert_eq!(req.header_value("A").unwrap(), Some("s1=abc"));
        assert_eq!(
            req.header_value("B").unwrap(),
            Some("\u{c}\u{c}s1=abc\u{b}")
        );
        assert_eq!(req.header_value("C").unwrap(), Some("\u{85}x\u{a0}"));
    }

    #[test]
    fn headers_are_case_insensitive_unique_and_utf8() {
        let req = WebhookRequest::new("POST", "https://x/cb", b"{}")
            .header("Signature", "abc")
            .header("X-Twice", "1")
            .header("x-twice", "2")
            .header_bytes("X-Bin", &[0xff, 0xfe]);
        assert_eq!(req.header_value("signature").unwrap(), Some("abc"));
        assert_eq!(req.header_value("absent").unwrap(), None);
        assert_eq!(
            req.require_header("absent"),
            Err(WebhookRejection::MissingHeader("absent".into()))
        );
        assert_eq!(
            req.header_value("X-TWICE"),
            Err(WebhookRejection::DuplicateHeader("X-TWICE".into()))
        );
        assert!(matches!(
            req.header_value("x-bin"),
            Err(WebhookRejection::MalformedHeader { .. })
        ));
        assert!(req.require_method("post").is_ok());
        assert!(req.clone().require_method("GET").is_err());
    }

    #[test]
    fn headers_from_an_iterator() {
        let pairs = [("A".to_string(), b"1".to_vec())];
        let req = WebhookRequest::new("POST", "u", b"")
            .headers(pairs.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
        assert_eq!(req.header_value("a").unwrap(), Some("1"));
    }

    #[test]
    fn debug_never_shows_header_values_or_body() {
        let req = WebhookRequest::new("POST", "https://x/cb", b"SECRET-BODY")
            .header("Signature", "SECRET-SIG");
        let shown = format!("{req:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("Signature"));
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::new(datetime!(2026-01-01 0:00 UTC));
        let other = clock.clone();
        clock.advance(Duration::from_secs(90));
        assert_eq!(other.now(), datetime!(2026-01-01 0:01:30 UTC));
        clock.set(datetime!(2030-01-01 0:00 UTC));
        assert_eq!(other.now(), datetime!(2030-01-01 0:00 UTC));
    }

    #[test]
    fn dedup_store_forgets_after_ttl_and_on_remove() {
        let clock = FixedClock::new(datetime!(2026-01-01 0:00 UTC));
        let store = InMemoryDedupStore::with_clock(Arc::new(clock.clone()));
        let ttl = Duration::from_secs(3600);
        assert!(store.insert_if_new("p:1", ttl));
        assert!(!store.insert_if_new("p:1", ttl));
        assert!(store.insert_if_new("p:2", ttl));
        clock.advance(Duration::from_secs(3599));
        assert!(!store.insert_if_new("p:1", ttl));
        clock.advance(Duration::from_secs(2));
        assert!(
            store.insert_if_new("p:1", ttl),
            "expired entries are new again"
        );
        store.remove("p:2");
        assert!(
            store.insert_if_new("p:2", ttl),
            "removed entries are new again"
        );
    }

    #[test]
    fn dedup_store_is_bounded() {
        let clock = FixedClock::new(datetime!(2026-01-01 0:00 UTC));
        let store = InMemoryDedupStore::with_clock(Arc::new(clock.clone())).max_entries(3);
        for i in 0..10u64 {
            clock.advance(Duration::from_secs(1));
            assert!(store.insert_if_new(&format!("k{i}"), Duration::from_secs(3600)));
        }
        assert_eq!(store.len(), 3);
        // The newest keys are still remembered.
        assert!(!store.insert_if_new("k9", Duration::from_secs(3600)));
        // Seven keys that had not expired were evicted, and the store says so.
        assert_eq!(store.evicted_unexpired(), 7);
    }

    #[test]
    fn expired_keys_are_purged_before_anything_live_is_evicted() {
        let clock = FixedClock::new(datetime!(2026-01-01 0:00 UTC));
        let store = InMemoryDedupStore::with_clock(Arc::new(clock.clone())).max_entries(3);
        assert!(store.insert_if_new("short-1", Duration::from_secs(10)));
        assert!(store.insert_if_new("short-2", Duration::from_secs(10)));
        assert!(store.insert_if_new("long", Duration::from_secs(3600)));
        clock.advance(Duration::from_secs(11));
        assert!(store.insert_if_new("new-1", Duration::from_secs(3600)));
        assert!(store.insert_if_new("new-2", Duration::from_secs(3600)));
        assert_eq!(store.evicted_unexpired(), 0, "only expired keys made room");
        assert_eq!(store.len(), 3);
        assert!(!store.insert_if_new("long", Duration::from_secs(3600)));
        // Full of live keys: the one closest to expiry goes, and it is counted.
        assert!(store.insert_if_new("new-3", Duration::from_secs(7200)));
        assert_eq!(store.evicted_unexpired(), 1);
        assert!(
            store.insert_if_new("long", Duration::from_secs(3600)),
            "the evicted key was the one closest to expiry"
        );
    }

    #[test]
    fn a_removed_key_leaves_no_index_entry_behind() {
        let clock = FixedClock::new(datetime!(2026-01-01 0:00 UTC));
        let store = InMemoryDedupStore::with_clock(Arc::new(clock.clone())).max_entries(2);
        assert!(store.insert_if_new("a", Duration::from_secs(10)));
        store.remove("a");
        assert!(store.insert_if_new("b", Duration::from_secs(3600)));
        assert!(store.insert_if_new("c", Duration::from_secs(3600)));
        assert_eq!(store.evicted_unexpired(), 0, "the removed key took no room");
        assert!(store.insert_if_new("a", Duration::from_secs(3600)));
        assert_eq!(store.evicted_unexpired(), 1);
    }

    #[test]
    fn rejections_map_to_http_statuses() {
        assert_eq!(
            WebhookRejection::KeysUnavailable("down".into()).http_status(),
            503
        );
        assert_eq!(WebhookRejection::BadSignature.http_status(), 401);
        assert_eq!(
            WebhookRejection::MissingHeader("Signature".into()).http_status(),
            400
        );
        assert_eq!(
            WebhookRejection::Unauthenticated("wrong URL token".into()).http_status(),
            401
        );
        assert_eq!(
            WebhookRejection::SourceNotAllowed("192.0.2.7".into()).http_status(),
            403
        );
    }

    #[test]
    fn event_debug_shows_no_raw_body() {
        let ev = VerifiedEvent::new(
            "hub2",
            "evt-1",
            Authenticity::Signed,
            (),
            br#"{"token":"intent-secret"}"#.to_vec(),
        );
        let shown = format!("{ev:?}");
        assert!(!shown.contains("intent-secret"), "{shown}");
        assert!(!shown.contains("116, 111"), "no byte list either: {shown}");
        assert!(shown.contains("raw_body_len: 25"), "{shown}");
    }

    #[test]
    fn event_ids_from_parts_are_unambiguous() {
        assert_eq!(
            event_id_from_parts(["41768", "invoice.paid", "PAID"]),
            "41768:invoice.paid:PAID"
        );
        assert_ne!(
            event_id_from_parts(["a:b", "c"]),
            event_id_from_parts(["a", "b:c"])
        );
        assert_ne!(
            event_id_from_parts(["a%3Ab", "c"]),
            event_id_from_parts(["a:b", "c"])
        );
        assert_eq!(event_id_from_parts(["a:b", "%"]), "a%3Ab:%25");
    }

    #[test]
    fn public_urls_are_checked_and_joined() {
        let public = PublicUrl::new("https://shop.example/hooks/").unwrap();
        assert_eq!(public.as_str(), "https://shop.example/hooks");
        assert_eq!(public.path(), "/hooks");
        assert_eq!(public.join("/hub2"), "https://shop.example/hooks/hub2");
        assert_eq!(
            public.join("hub2?a=b"),
            "https://shop.example/hooks/hub2?a=b"
        );
        assert_eq!(public.join(""), "https://shop.example/hooks");
        assert_eq!(PublicUrl::new("HTTP://shop.example").unwrap().path(), "");
        for (bad, why) in [
            ("shop.example/hooks", "https://"),
            ("ftp://shop.example", "https://"),
            ("https://", "host"),
            ("https:///hooks", "host"),
            ("https://user:pw@shop.example", "user information"),
            ("https://shop.example/?token=1", "query"),
            ("https://shop.example/#x", "fragment"),
            ("https://shop.example/a b", "whitespace"),
        ] {
            let err = PublicUrl::new(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[cfg(feature = "http")]
    #[test]
    fn a_request_from_http_parts_keeps_bytes_and_takes_its_url_from_configuration() {
        let public = PublicUrl::new("https://shop.example/api").unwrap();
        let request = http::Request::post("http://attacker.example/webhooks/banq?token=t%2F1")
            .header("Host", "attacker.example")
            .header("X-Forwarded-Host", "attacker.example")
            .header("X-Forwarded-Proto", "http")
            .header("Signature", "sig")
            .header("X-Twice", "1")
            .header("x-twice", "2")
            .body(b"{\"a\":1}".to_vec())
            .unwrap();
        let (parts, body) = request.into_parts();
        let url = public.url_of(&parts.uri);
        assert_eq!(url, "https://shop.example/api/webhooks/banq?token=t%2F1");
        let webhook = WebhookRequest::from_http_parts(&parts, &url, &body);
        assert_eq!(webhook.method(), "POST");
        assert_eq!(webhook.body(), b"{\"a\":1}");
        assert_eq!(webhook.header_value("signature").unwrap(), Some("sig"));
        assert_eq!(
            webhook.header_value("X-Twice"),
            Err(WebhookRejection::DuplicateHeader("X-Twice".into())),
            "a header sent twice stays ambiguous"
        );

        let whole = http::Request::post("/x").body(vec![1u8, 2]).unwrap();
        let url = public.url_of(whole.uri());
        let webhook = WebhookRequest::from_http_request(&whole, &url);
        assert_eq!(webhook.url(), "https://shop.example/api/x");
        assert_eq!(webhook.body(), &[1, 2]);
    }

    #[test]
    fn dedup_key_is_namespaced_by_provider() {
        let ev = VerifiedEvent::new("payconiq", "jti-1", Authenticity::Signed, (), vec![]);
        assert_eq!(ev.dedup_key(), "payconiq:jti-1");
    }
}
