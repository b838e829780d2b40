//! The webhook router: one route per registered provider, each delivery verified, stored and
//! applied by the ledger before it is answered.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use payments_core::Error;
use payments_core::webhook::{
    AsyncWebhookVerifier, PublicUrl, VerifiedEvent, WebhookRejection, WebhookRequest,
    WebhookVerifier,
};
use payments_ledger::{Ledger, Outcome, Receipt};
use tracing::Instrument as _;
use tracing::field::Empty;

use payments_core::net::{IpNet, client_address};

/// The largest body a delivery may have: 256 KiB. Every provider's webhook is a few KiB.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// `application/json`: what Payconiq, HUB2, Banq and Paylican send.
pub const JSON: &str = "application/json";

/// `application/x-www-form-urlencoded`: what Fintecture sends by default.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The content types a provider registered under `name` is accepted with, unless
/// [`Webhooks::content_types`] says otherwise: Fintecture's form body (or JSON, which its
/// console can choose), JSON for everyone else.
pub fn default_content_types(name: &str) -> &'static [&'static str] {
    match name {
        "fintecture" => &[FORM, JSON],
        _ => &[JSON],
    }
}

/// Builds the webhook router: the ledger, the public URL, and one verifier per provider.
///
/// Each provider is served at `POST {path of the public URL}/{provider}` (and below it, for a
/// URL secret in the last path segment). A delivery is answered, in this order:
///
/// | when | status | body |
/// |---|---|---|
/// | no provider is registered under that name | 404 | one line |
/// | `Content-Length` above the body limit (256 KiB) | 413 | nothing of the body read |
/// | a content type the provider does not send | 415 | which it sends |
/// | the body grows past the limit while read | 413 | |
/// | a provider that needs the sender's address, without one | 403 (500 when the server gives no peer address) | |
/// | otherwise: [`Ledger::receive`] | its [`Receipt`]: 200 stored / duplicate, the verifier's status, 503 when the store failed | the receipt's one-line reason |
///
/// Every delivery runs in a `tracing` span `webhook` with the provider, the event's
/// de-duplication key and the verdict once known, and the status answered; nothing of the body,
/// of the headers or of any secret is logged.
pub struct Webhooks {
    ledger: Ledger,
    public_url: PublicUrl,
    serve_at: String,
    trusted_proxies: Vec<IpNet>,
    body_limit: usize,
    providers: BTreeMap<String, Registration>,
    content_types: BTreeMap<String, Vec<String>>,
    errors: Vec<String>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("public_url", &self.public_url)
            .field("serve_at", &self.serve_at)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("body_limit", &self.body_limit)
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Registration {
    receiver: Arc<dyn Receive>,
    content_types: Vec<String>,
}

impl Webhooks {
    /// Webhooks into `ledger`, received at `public_url`: the URL under which the providers reach
    /// this router, from configuration (`https://shop.example/webhooks`; the provider's name is
    /// appended). The router serves that URL's path (`/webhooks/{provider}`); see
    /// [`Webhooks::serve_at`] when a proxy rewrites paths. Nothing is ever taken from `Host` or
    /// `X-Forwarded-Host` / `-Proto`.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that is not absolute `http(s)://host[/path]`.
    pub fn new(ledger: Ledger, public_url: &str) -> Result<Self, Error> {
        let public_url = PublicUrl::new(public_url)?;
        let serve_at = public_url.path().to_string();
        Ok(Webhooks {
            ledger,
            public_url,
            serve_at,
            trusted_proxies: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            providers: BTreeMap::new(),
            content_types: BTreeMap::new(),
            errors: Vec::new(),
        })
    }

    /// Serves `provider`'s deliveries with `verifier`: any provider crate's verifier, synchronous
    /// (`WebhookVerifier`) or not (`AsyncWebhookVerifier`, e.g. Payconiq's JWKS-fetching one).
    /// `provider` is the path segment and must be the provider crate's own name (`"hub2"`,
    /// `payments_hub2::PROVIDER`): the ledger refuses (500, nothing stored) an event whose
    /// verifier is another provider's, so a verifier mounted under the wrong name is noticed.
    pub fn provider<V>(mut self, provider: &str, verifier: V) -> Self
    where
        V: AsyncWebhookVerifier + Send + Sync + 'static,
        V::Payload: Send + Sync,
    {
        self.register(provider, Arc::new(Plain(verifier)));
        self
    }

    /// Serves `provider`'s deliveries with a verification that needs the sender's address
    /// (Paylican's source allow-list): `verify(request, address)` is called per delivery with
    /// the TCP peer, or, when the peer is one of the [trusted proxies](Webhooks::trusted_proxies),
    /// the rightmost address of `X-Forwarded-For` that is not one of them.
    ///
    /// ```no_run
    /// # fn run(ledger: payments_ledger::Ledger) -> Result<(), Box<dyn std::error::Error>> {
    /// use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
    ///
    /// let paylican = PaylicanWebhookVerifier::new(WebhookGuards::new().allow_source("203.0.113.0/24")?);
    /// let router = payments_axum::Webhooks::new(ledger, "https://shop.example/webhooks")?
    ///     .provider_from_peer("paylican", move |request, peer| paylican.verify_from(request, peer))
    ///     .router()?;
    /// # let _ = router; Ok(()) }
    /// ```
    ///
    /// The router must be served with `into_make_service_with_connect_info::<SocketAddr>()`;
    /// without a peer address such a delivery is answered 500 (and 403 when a trusted proxy
    /// sent no usable `X-Forwarded-For`), never verified without one.
    pub fn provider_from_peer<F, T>(mut self, provider: &str, verify: F) -> Self
    where
        F: Fn(&WebhookRequest<'_>, IpAddr) -> Result<VerifiedEvent<T>, WebhookRejection>
            + Send
            + Sync
            + 'static,
        T: Send + Sync + 'static,
    {
        self.register(
            provider,
            Arc::new(FromPeer {
                verify,
                payload: PhantomData,
            }),
        );
        self
    }

    fn register(&mut self, provider: &str, receiver: Arc<dyn Receive>) {
        let valid = !provider.is_empty()
            && provider.len() <= 40
            && provider
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            self.errors.push(format!(
                "provider name {provider:?}: use 1 to 40 lowercase letters, digits, '-' or '_'"
            ));
            return;
        }
        let registration = Registration {
            receiver,
            content_types: default_content_types(provider)
                .iter()
                .map(|t| (*t).to_string())
                .collect(),
        };
        if self
            .providers
            .insert(provider.to_string(), registration)
            .is_some()
        {
            self.errors
                .push(format!("provider {provider:?} is registered twice"));
        }
    }

    /// The content types `provider`'s deliveries are accepted with (media types, compared
    /// without parameters and case), instead of [`default_content_types`].
    pub fn content_types<I, S>(mut self, provider: &str, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.content_types.insert(
            provider.to_string(),
            types
                .into_iter()
                .map(|t| t.as_ref().trim().to_ascii_lowercase())
                .collect(),
        );
        self
    }

    /// The merchant's own reverse proxies / load balancers (`10.0.0.0/8`, `192.0.2.10`): only
    /// when the TCP peer is one of them is `X-Forwarded-For` read (from the right) for the
    /// sender's address. Empty by default: the TCP peer is the sender.
    ///
    /// # Errors
    /// [`Error::Config`] naming an entry that is not an address or network.
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for proxy in proxies {
            self.trusted_proxies.push(proxy.as_ref().parse()?);
        }
        Ok(self)
    }

    /// Sets the body limit (default [`DEFAULT_BODY_LIMIT`], 256 KiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Serves the routes at `path` (`/hooks`) instead of the public URL's path, for a proxy
    /// that maps the public path to another one. The verifiers still see the public URL.
    pub fn serve_at(mut self, path: &str) -> Self {
        self.serve_at = path.trim_end_matches('/').to_string();
        if !self.serve_at.is_empty() && !self.serve_at.starts_with('/') {
            self.serve_at.insert(0, '/');
        }
        self
    }

    /// The public URL of `provider`'s route, to register with the provider (HUB2's and Banq's
    /// webhook registration, Fintecture's and Paylican's console, Payconiq's `callbackUrl` and
    /// the `WebhookSettings` its signed `path` is compared with).
    pub fn url(&self, provider: &str) -> String {
        self.public_url.join(provider)
    }

    /// The public URL this router is reached at.
    pub fn public_url(&self) -> &PublicUrl {
        &self.public_url
    }

    /// The router, to merge into the merchant's application and serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first invalid or duplicate provider name.
    pub fn router(self) -> Result<Router, Error> {
        if let Some(first) = self.errors.first() {
            return Err(Error::Config(first.clone()));
        }
        let mut providers = self.providers;
        for (name, types) in self.content_types {
            match providers.get_mut(&name) {
                Some(registration) => registration.content_types = types,
                None => {
                    return Err(Error::Config(format!(
                        "content types for {name:?}, which is not registered"
                    )));
                }
            }
        }
        let shared = Arc::new(Shared {
            ledger: self.ledger,
            public_url: self.public_url,
            trusted_proxies: self.trusted_proxies,
            body_limit: self.body_limit,
            providers,
        });
        let inner = Router::new()
            .route("/{provider}", post(deliver))
            .route("/{provider}/{*rest}", post(deliver))
            .with_state(shared);
        Ok(if self.serve_at.is_empty() {
            inner
        } else {
            Router::new().nest(&self.serve_at, inner)
        })
    }
}

struct Shared {
    ledger: Ledger,
    public_url: PublicUrl,
    trusted_proxies: Vec<IpNet>,
    body_limit: usize,
    providers: BTreeMap<String, Registration>,
}

/// A registered verifier with its type erased.
#[async_trait::async_trait]
trait Receive: Send + Sync {
    /// True when verification needs the sender's address.
    fn needs_peer(&self) -> bool;

    async fn receive(
        &self,
        ledger: &Ledger,
        provider: &str,
        request: &WebhookRequest<'_>,
        sender: Option<IpAddr>,
    ) -> Receipt;
}

struct Plain<V>(V);

#[async_trait::async_trait]
impl<V> Receive for Plain<V>
where
    V: AsyncWebhookVerifier + Send + Sync + 'static,
    V::Payload: Send + Sync,
{
    fn needs_peer(&self) -> bool {
        false
    }

    async fn receive(
        &self,
        ledger: &Ledger,
        provider: &str,
        request: &WebhookRequest<'_>,
        _sender: Option<IpAddr>,
    ) -> Receipt {
        ledger.receive(provider, &self.0, request).await
    }
}

struct FromPeer<F, T> {
    verify: F,
    payload: PhantomData<fn() -> T>,
}

/// A [`FromPeer`] closure bound to one delivery's sender.
struct Bound<'f, F, T> {
    verify: &'f F,
    sender: IpAddr,
    payload: PhantomData<fn() -> T>,
}

impl<F, T> WebhookVerifier for Bound<'_, F, T>
where
    F: Fn(&WebhookRequest<'_>, IpAddr) -> Result<VerifiedEvent<T>, WebhookRejection>,
{
    type Payload = T;

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<VerifiedEvent<T>, WebhookRejection> {
        (self.verify)(request, self.sender)
    }
}

#[async_trait::async_trait]
impl<F, T> Receive for FromPeer<F, T>
where
    F: Fn(&WebhookRequest<'_>, IpAddr) -> Result<VerifiedEvent<T>, WebhookRejection>
        + Send
        + Sync
        + 'static,
    T: Send + Sync + 'static,
{
    fn needs_peer(&self) -> bool {
        true
    }

    async fn receive(
        &self,
        ledger: &Ledger,
        provider: &str,
        request: &WebhookRequest<'_>,
        sender: Option<IpAddr>,
    ) -> Receipt {
        // The handler answers before calling this when there is no sender; unspecified is
        // in no allow-list, so a mistake here still fails closed.
        let bound = Bound {
            verify: &self.verify,
            sender: sender.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            payload: PhantomData,
        };
        ledger.receive(provider, &bound, request).await
    }
}

/// A short answer: the status and one line of text.
fn answer(status: StatusCode, reason: &str) -> Response {
    let mut line: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    line.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        line,
    )
        .into_response()
}

/// The provider name from the path, fit for a log line and an answer.
fn shown_name(name: &str) -> String {
    let ok = name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { name.to_string() } else { "?".into() }
}

async fn deliver(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<BTreeMap<String, String>>,
    request: Request,
) -> Response {
    let name = params.get("provider").map_or("", String::as_str);
    let Some(registration) = shared.providers.get(name).cloned() else {
        tracing::debug!(provider = %shown_name(name), "webhook for an unknown provider: 404");
        return answer(
            StatusCode::NOT_FOUND,
            &format!("no webhook endpoint for provider {}", shown_name(name)),
        );
    };
    let span = tracing::info_span!(
        "webhook",
        provider = %name,
        event_key = Empty,
        verdict = Empty,
        status = Empty,
    );
    let response = handle(&shared, &registration, name, request)
        .instrument(span.clone())
        .await;
    span.record("status", response.0.as_u16());
    span.in_scope(|| {
        if response.0.is_success() {
            tracing::info!(reason = %response.1, "webhook answered");
        } else {
            tracing::warn!(reason = %response.1, "webhook refused");
        }
    });
    answer(response.0, &response.1)
}

/// Everything between a known provider and the answer: `(status, one-line reason)`.
async fn handle(
    shared: &Shared,
    registration: &Registration,
    name: &str,
    request: Request,
) -> (StatusCode, String) {
    let limit = shared.body_limit;
    let (parts, body) = request.into_parts();
    if let Some(length) = content_length(&parts.headers)
        && length > u64::try_from(limit).unwrap_or(u64::MAX)
    {
        return too_large(limit);
    }
    if let Err(sent) = check_content_type(&parts.headers, &registration.content_types) {
        record_verdict("refused", None);
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "content type {sent} not accepted: {name} sends {}",
                registration.content_types.join(" or ")
            ),
        );
    }
    let sender = match sender(shared, &parts) {
        Ok(sender) => sender,
        Err(refusal) if registration.receiver.needs_peer() => {
            record_verdict("refused", None);
            return refusal;
        }
        Err(_) => None,
    };
    let body = match read_limited(body, limit).await {
        Ok(body) => body,
        Err(ReadError::TooLarge) => return too_large(limit),
        Err(ReadError::Broken) => {
            record_verdict("refused", None);
            return (
                StatusCode::BAD_REQUEST,
                "the request body could not be read".into(),
            );
        }
    };
    let url = shared.public_url.url_of(&parts.uri);
    let webhook = WebhookRequest::from_http_parts(&parts, &url, &body);
    let receipt = registration
        .receiver
        .receive(&shared.ledger, name, &webhook, sender)
        .await;
    let (verdict, key) = match &receipt.outcome {
        Outcome::Applied { key, verdict } => (verdict.to_string(), Some(key)),
        Outcome::Kept { key } => ("kept".into(), Some(key)),
        Outcome::Ignored { key } => ("ignored".into(), Some(key)),
        Outcome::Duplicate { key } => ("duplicate".into(), Some(key)),
        Outcome::Rejected => ("rejected".into(), None),
        Outcome::Unavailable => ("unavailable".into(), None),
        _ => ("other".into(), None),
    };
    record_verdict(&verdict, key.map(String::as_str));
    let status = StatusCode::from_u16(receipt.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    (status, receipt.reason)
}

fn record_verdict(verdict: &str, key: Option<&str>) {
    let span = tracing::Span::current();
    if let Some(key) = key {
        span.record("event_key", key);
    }
    span.record("verdict", verdict);
}

fn too_large(limit: usize) -> (StatusCode, String) {
    record_verdict("refused", None);
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("body larger than {limit} bytes"),
    )
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `Ok` when the one `Content-Type` sent is among `accepted`; otherwise what was sent, for the
/// answer (bounded, printable).
fn check_content_type(headers: &HeaderMap, accepted: &[String]) -> Result<(), String> {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err("none (or several)".into());
    };
    let Ok(text) = value.to_str() else {
        return Err("(not text)".into());
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if accepted.contains(&essence) {
        Ok(())
    } else {
        Err(essence
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(80)
            .collect())
    }
}

/// The sender's address; `Err` with the answer to give when a provider that needs it cannot
/// have it.
fn sender(
    shared: &Shared,
    parts: &axum::http::request::Parts,
) -> Result<Option<IpAddr>, (StatusCode, String)> {
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        tracing::error!(
            "no peer address: serve the router with \
             into_make_service_with_connect_info::<SocketAddr>()"
        );
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server does not know the sender's address".into(),
        ));
    };
    // A value that is not text makes the whole header unusable (dropping it would move an
    // earlier, client-written entry to the right).
    let forwarded: Option<Vec<&str>> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .collect();
    let forwarded = forwarded.unwrap_or_else(|| vec!["(not text)"]);
    match client_address(peer.ip(), &forwarded, &shared.trusted_proxies) {
        Some(address) => Ok(Some(address)),
        None => Err((
            StatusCode::FORBIDDEN,
            "sender address unknown: a trusted proxy sent no usable X-Forwarded-For".into(),
        )),
    }
}

enum ReadError {
    TooLarge,
    Broken,
}

/// Reads the body up to `limit` bytes; stops reading as soon as it is larger.
async fn read_limited(mut body: Body, limit: usize) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => return Ok(out),
            Some(Err(_)) => return Err(ReadError::Broken),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if out.len().saturating_add(data.len()) > limit {
                        return Err(ReadError::TooLarge);
                    }
                    out.extend_from_slice(&data);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn content_types_compare_without_parameters_or_case() {
        let json = vec![JSON.to_string()];
        assert!(
            check_content_type(
                &headers(&[("content-type", "Application/JSON; charset=utf-8")]),
                &json
            )
            .is_ok()
        );
        assert_eq!(
            check_content_type(&headers(&[("content-type", "text/plain")]), &json),
            Err("text/plain".into())
        );
        assert!(check_content_type(&headers(&[]), &json).is_err());
        assert!(
            check_content_type(
                &headers(&[("content-type", JSON), ("content-type", JSON)]),
                &json
            )
            .is_err(),
            "sent twice is ambiguous"
        );
        assert_eq!(default_content_types("fintecture"), &[FORM, JSON]);
        assert_eq!(default_content_types("hub2"), &[JSON]);
    }

    #[test]
    fn answers_are_one_bounded_line() {
        let long = format!("a\nb\r{}", "x".repeat(1000));
        let response = answer(StatusCode::BAD_REQUEST, &long);
        assert_eq!(response.status(), 400);
        let (_, body) = response.into_parts();
        let text = futures_free_body(body);
        assert!(text.starts_with("a b x"), "{text}");
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.len() <= 301);
        assert_eq!(shown_name("../../etc"), "?");
        assert_eq!(shown_name("stripe"), "stripe");
    }

    /// Reads a body built from a `String` without a runtime.
    fn futures_free_body(body: Body) -> String {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut body = body;
        let mut out = Vec::new();
        while let std::task::Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx)
        {
            if let Ok(data) = frame.into_data() {
                out.extend_from_slice(&data);
            }
        }
        String::from_utf8(out).unwrap()
    }
}
