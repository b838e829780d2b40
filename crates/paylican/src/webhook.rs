//! Paylican's invoice webhooks: guards the merchant turns on, then typed parsing.
//!
//! # What Paylican's webhooks prove — and what they do not
//!
//! Paylican does **not sign** its webhooks. Nothing in a request proves that Paylican wrote the
//! body: anyone who knows (or guesses) the webhook URL can post a well-formed `invoice.paid`. This
//! module therefore offers *guards* that establish something about the **sender**, never about the
//! content, and it labels each event with what was established ([`Authenticity`]):
//!
//! | configured | passed | the event is | what it proves |
//! |---|---|---|---|
//! | one or more guards | all of them | [`Authenticity::Guarded`] | the sender knew the shared secret / the basic-auth credentials, and/or connected from an allowed address. It does **not** prove the body is Paylican's: a leaked secret, a compromised host in an allowed range or a misconfigured proxy lets anyone through. |
//! | none | — | [`Authenticity::Unverified`] | **nothing**. Anyone on the internet can send it. |
//!
//! Treat every Paylican webhook as a *claim*. Good uses: update a dashboard, trigger a status
//! check, queue the order for review. Before releasing goods on `PAID`, confirm the payment through
//! a channel you trust (a status endpoint if Paylican gave you one — see
//! [`PaylicanConfig::status_path`](crate::PaylicanConfig::status_path) — or Paylican's back office),
//! and compare the amount and reference with your order.
//!
//! # Guards
//!
//! Turn on as many as your deployment allows; a request must pass **all** configured guards
//! ([`WebhookGuards`]):
//!
//! - **Shared secret in the URL** — give Paylican, at onboarding, a webhook URL that contains a
//!   long random secret, either as the last path segment
//!   (`https://shop.example/paylican/webhook/9f2c…`, [`WebhookGuards::secret_in_path`]) or as a
//!   query parameter (`…/webhook?token=9f2c…`, [`WebhookGuards::secret_in_query`]). Generate at
//!   least 32 random bytes (e.g. `openssl rand -hex 32`); secrets shorter than 16 bytes are refused.
//!   URLs end up in access logs: keep it out of them or rotate it when logs leak.
//! - **HTTP basic auth** — if Paylican can send `Authorization: Basic …`
//!   ([`WebhookGuards::basic_auth`]).
//! - **Source-IP allow-list** — the addresses Paylican posts from ([`WebhookGuards::allow_source`]).
//!
//! Secrets and credentials are compared in constant time over their SHA-256 digests (so neither
//! the content nor the length leaks through timing), and only those digests are kept in memory.
//!
//! **Rotating the URL secret.** Add the secret you are moving away from with
//! [`WebhookGuards::with_previous_url_secret`] (as HUB2's verifier takes a previous signing
//! secret): both are accepted, every configured secret is compared on each request (the time
//! does not tell which matched), and the event is [`Authenticity::Guarded`] either way. Once
//! Paylican posts to the new URL, drop the previous secret: it is then refused like any other
//! wrong value.
//! A failed secret or credential check is [`WebhookRejection::Unauthenticated`] (answer 401), an
//! address outside the allow-list [`WebhookRejection::SourceNotAllowed`] (403); the reason never
//! contains the expected value.
//!
//! # The source address: pass it explicitly
//!
//! [`WebhookRequest`] holds what the HTTP request carried; the peer address is not in it. Pass the
//! address yourself with [`PaylicanWebhookVerifier::verify_from`] (or
//! [`PaylicanWebhookVerifier::from_peer`], which gives a [`WebhookVerifier`]). With an allow-list
//! configured, the plain [`WebhookVerifier::verify`] (no address) refuses every request: it fails
//! closed.
//!
//! Which address? The TCP peer address of the connection your server accepted (`ConnectInfo` in
//! axum, `req.peer_addr()` in actix-web). **Never** take it from `X-Forwarded-For` or `Forwarded`
//! as sent: any client can write those headers, and the *leftmost* entry is whatever the client
//! claimed. Behind your own reverse proxy / load balancer the TCP peer is the proxy; then use
//! [`client_address`], which walks `X-Forwarded-For` from the right, skipping only the proxies you
//! list as trusted, and returns the first address that is not one of them (the one your outermost
//! proxy saw). If your proxy *replaces* rather than appends the header, or if requests can reach
//! the server without passing the proxy, the header is not trustworthy at all.
//! IPv4-mapped IPv6 peers (`::ffff:203.0.113.7`) match IPv4 entries.
//!
//! # Delivery contract
//!
//! Paylican marks an invocation successful on any **2xx** (a body you send is stored on its side),
//! and failed on a non-2xx or no answer, to be retried later; `pendingWebhooks` is the number of
//! attempts left. Therefore:
//!
//! 1. verify ([`PaylicanWebhookVerifier`]); on a rejection answer
//!    [`WebhookRejection::http_status`] and process nothing;
//! 2. de-duplicate on [`VerifiedEvent::dedup_key`] with a
//!    [`DedupStore`](payments_core::webhook::DedupStore): the key is
//!    `paylican:<id>:<type>:<data.status>[:<data.paymentNo>]` ([`WebhookEvent::event_id`]), not
//!    the webhook `id` alone, because Paylican's own examples reuse one `id` for events of
//!    different types and statuses (an `UNPAID` then a `PAID` invoice); a retry of the same
//!    delivery keeps its key. Then apply the status with
//!    [`PaymentStatus::transition_to`](payments_core::PaymentStatus::transition_to), which is
//!    idempotent even if a retry came with a different id;
//! 3. answer **2xx only after the event is durably recorded**; if recording fails, forget the
//!    dedup key and answer 5xx so Paylican retries.
//!
//! # Amounts
//!
//! `data.totalAmount` is a decimal in the account's currency, which the webhook does not name.
//! Give the verifier that currency ([`PaylicanWebhookVerifier::currency`]): an amount it cannot
//! hold exactly (`5100.005` in GNF) is then rejected as malformed, naming `data.totalAmount`,
//! instead of reaching your order matching as an amount that converts to nothing.
//!
//! A body that passes the guards but is not Paylican's format is
//! [`WebhookRejection::MalformedPayload`] (400): Paylican will retry it until `pendingWebhooks`
//! runs out, which is harmless; the rejection text you send back is stored by Paylican and helps
//! its support.
//!
//! # Example
//!
//! ```
//! use std::net::IpAddr;
//! use payments_core::webhook::{Authenticity, WebhookRequest};
//! use payments_core::PaymentStatus;
//! use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
//!
//! let guards = WebhookGuards::new()
//!     .secret_in_path("9f2c1e7a4b6d8f0a2c4e6a8b0d2f4a6c")?
//!     .allow_source("203.0.113.0/24")?;
//! let verifier = PaylicanWebhookVerifier::new(guards);
//!
//! let body = br#"{"createdAt":"2024-03-28T14:32:47.238686329Z","data":{"additionalFields":[],
//!   "documentNo":"REF-178T876","id":"ABC2024-123","paymentNo":"gup87876f","status":"PAID",
//!   "totalAmount":100},"id":41768,"pendingWebhooks":2,"type":"invoice.payment_initiated"}"#;
//! let request = WebhookRequest::new(
//!     "POST",
//!     "https://shop.example/paylican/webhook/9f2c1e7a4b6d8f0a2c4e6a8b0d2f4a6c",
//!     body,
//! );
//! let peer: IpAddr = "203.0.113.9".parse()?; // the TCP peer, not X-Forwarded-For
//! let event = verifier.verify_from(&request, peer)?;
//! assert_eq!(event.authenticity, Authenticity::Guarded); // a claim from a guarded sender
//! assert_eq!(event.status, Some(PaymentStatus::Succeeded));
//! assert_eq!(event.dedup_key(), "paylican:41768:invoice.payment_initiated:PAID:gup87876f");
//!
//! let stranger: IpAddr = "198.51.100.1".parse()?;
//! let refused = verifier.verify_from(&request, stranger).unwrap_err();
//! assert_eq!(refused.http_status(), 403);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::webhook::{
    Authenticity, VerifiedEvent, WebhookRejection, WebhookRequest, WebhookVerifier,
    constant_time_eq,
};
use payments_core::{Currency, Error};
use sha2::{Digest as _, Sha256};

use crate::convert::{total_amount, unified_status};
use crate::wire::WebhookEvent;

/// The provider name on every [`VerifiedEvent`].
pub const PROVIDER: &str = "paylican";

/// Largest body parsed.
pub const MAX_BODY: usize = 256 * 1024;

/// Shortest shared secret or basic-auth password accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// Longest address text echoed into a rejection.
const MAX_ECHO: usize = 64;

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

pub use payments_core::net::{IpNet, client_address};

// ---------------------------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------------------------

/// Where the shared secret sits in the webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretLocation {
    /// The last non-empty path segment (percent-decoded).
    LastPathSegment,
    /// A query parameter with this name (sent exactly once).
    Query(String),
}

type Digest32 = [u8; 32];

fn digest(bytes: &[u8]) -> Digest32 {
    let d = Sha256::digest(bytes);
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(d.iter()) {
        *o = *b;
    }
    out
}

/// The checks a webhook request must pass before its body is read. Keeps only SHA-256 digests of
/// secrets; `Debug` shows which guards are on, never a value.
#[derive(Clone, Default)]
pub struct WebhookGuards {
    url_secret: Option<UrlSecret>,
    basic: Option<Digest32>,
    sources: Vec<IpNet>,
}

/// The URL secret: where it sits, the current secret's digest, and the digests of previous
/// secrets still accepted during a rotation.
#[derive(Clone)]
struct UrlSecret {
    location: SecretLocation,
    current: Digest32,
    previous: Vec<Digest32>,
}

impl fmt::Debug for WebhookGuards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookGuards")
            .field(
                "url_secret",
                &self.url_secret.as_ref().map(|secret| &secret.location),
            )
            .field(
                "previous_url_secrets",
                &self
                    .url_secret
                    .as_ref()
                    .map_or(0, |secret| secret.previous.len()),
            )
            .field("basic_auth", &self.basic.is_some())
            .field("sources", &self.sources)
            .finish()
    }
}

fn check_url_secret(location: &SecretLocation, secret: &str) -> Result<(), Error> {
    check_secret("URL secret", secret)?;
    if *location == SecretLocation::LastPathSegment && secret.contains('/') {
        return Err(Error::Config("a path secret cannot contain '/'".into()));
    }
    Ok(())
}

/// True when `given` equals one of `candidates`, comparing with `eq` against **every** candidate
/// (no early exit), so the time taken does not tell which one matched or whether a previous
/// secret is configured.
fn matches_any(
    given: &Digest32,
    candidates: impl IntoIterator<Item = Digest32>,
    eq: impl Fn(&[u8], &[u8]) -> bool,
) -> bool {
    candidates
        .into_iter()
        .fold(false, |found, candidate| eq(given, &candidate) | found)
}

fn check_secret(what: &str, secret: &str) -> Result<(), Error> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(Error::Config(format!(
            "the webhook {what} must be at least {MIN_SECRET_LEN} bytes (use 32 random bytes)"
        )));
    }
    Ok(())
}

impl WebhookGuards {
    /// No guards yet (events come out [`Authenticity::Unverified`] until one is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `secret` as the last path segment of the webhook URL.
    pub fn secret_in_path(self, secret: impl AsRef<str>) -> Result<Self, Error> {
        self.url_secret(SecretLocation::LastPathSegment, secret.as_ref())
    }

    /// Requires `secret` as the query parameter `param` of the webhook URL.
    pub fn secret_in_query(
        self,
        param: impl Into<String>,
        secret: impl AsRef<str>,
    ) -> Result<Self, Error> {
        let param = param.into();
        if param.is_empty() {
            return Err(Error::Config("the query parameter name is empty".into()));
        }
        self.url_secret(SecretLocation::Query(param), secret.as_ref())
    }

    fn url_secret(mut self, location: SecretLocation, secret: &str) -> Result<Self, Error> {
        check_url_secret(&location, secret)?;
        self.url_secret = Some(UrlSecret {
            location,
            current: digest(secret.as_bytes()),
            previous: Vec::new(),
        });
        Ok(self)
    }

    /// Also accepts `secret`, the URL secret you are rotating away from, in the same place as the
    /// current one ([`WebhookGuards::secret_in_path`] or [`WebhookGuards::secret_in_query`],
    /// which must come first). Keep it only until Paylican posts to the new URL, then build the
    /// guards without it: from then on it is refused like any wrong value. May be called more
    /// than once.
    ///
    /// # Errors
    /// [`Error::Config`] without a current URL secret, for the current secret itself, or for a
    /// secret the current one would not be allowed to be (too short, `/` in a path secret).
    pub fn with_previous_url_secret(mut self, secret: impl AsRef<str>) -> Result<Self, Error> {
        let secret = secret.as_ref();
        let Some(url_secret) = self.url_secret.as_mut() else {
            return Err(Error::Config(
                "a previous URL secret needs the current one first (secret_in_path or \
                 secret_in_query)"
                    .into(),
            ));
        };
        check_url_secret(&url_secret.location, secret)?;
        let previous = digest(secret.as_bytes());
        if constant_time_eq(&previous, &url_secret.current) {
            return Err(Error::Config(
                "the previous URL secret is the current one".into(),
            ));
        }
        url_secret.previous.push(previous);
        Ok(self)
    }

    /// Requires `Authorization: Basic` with these credentials.
    pub fn basic_auth(mut self, username: &str, password: &SecretString) -> Result<Self, Error> {
        if username.is_empty() || username.contains(':') {
            return Err(Error::Config(
                "the basic-auth user name must be non-empty and without ':'".into(),
            ));
        }
        check_secret("basic-auth password", password.expose_secret())?;
        let pair = format!("{username}:{}", password.expose_secret());
        self.basic = Some(digest(pair.as_bytes()));
        Ok(self)
    }

    /// Allows requests from `network` (`203.0.113.0/24`, `198.51.100.7`, `2001:db8::/32`); once
    /// one is given, requests from anywhere else are refused.
    pub fn allow_source(mut self, network: &str) -> Result<Self, Error> {
        self.sources.push(network.parse()?);
        Ok(self)
    }

    /// Allows requests from `network`.
    pub fn allow_network(mut self, network: IpNet) -> Self {
        self.sources.push(network);
        self
    }

    /// True when no guard is configured.
    pub fn is_empty(&self) -> bool {
        self.url_secret.is_none() && self.basic.is_none() && self.sources.is_empty()
    }

    /// Runs every configured guard. `peer` is the sender's address (see the
    /// [module docs](self)); with an allow-list, `None` is refused.
    ///
    /// # Errors
    /// [`WebhookRejection::SourceNotAllowed`] or [`WebhookRejection::Unauthenticated`] (whose
    /// reason never contains an expected value), or a header error for a duplicate or non-UTF-8
    /// `Authorization`.
    pub fn check(
        &self,
        request: &WebhookRequest<'_>,
        peer: Option<IpAddr>,
    ) -> Result<(), WebhookRejection> {
        if !self.sources.is_empty() {
            let Some(peer) = peer else {
                return Err(WebhookRejection::SourceNotAllowed(
                    "unknown (no peer address was passed to the verifier)".into(),
                ));
            };
            if !self.sources.iter().any(|net| net.contains(peer)) {
                let shown: String = peer
                    .to_canonical()
                    .to_string()
                    .chars()
                    .take(MAX_ECHO)
                    .collect();
                return Err(WebhookRejection::SourceNotAllowed(shown));
            }
        }
        if let Some(url_secret) = &self.url_secret {
            let (path, query) = split_url(request.url());
            let given: Vec<u8> = match &url_secret.location {
                SecretLocation::LastPathSegment => path
                    .split('/')
                    .rfind(|s| !s.is_empty())
                    .map(percent_decode)
                    .ok_or_else(|| unauthenticated("the URL has no secret path segment"))?,
                SecretLocation::Query(param) => {
                    let mut values = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                        .filter(|(name, _)| name == param.as_str())
                        .map(|(_, value)| value.into_owned());
                    let first = values
                        .next()
                        .ok_or_else(|| unauthenticated("the URL has no secret query parameter"))?;
                    if values.next().is_some() {
                        return Err(unauthenticated(
                            "the secret query parameter is sent more than once",
                        ));
                    }
                    first.into_bytes()
                }
            };
            let candidates =
                std::iter::once(url_secret.current).chain(url_secret.previous.iter().copied());
            if !matches_any(&digest(&given), candidates, constant_time_eq) {
                return Err(unauthenticated("wrong URL secret"));
            }
        }
        if let Some(expected) = &self.basic {
            let header = request
                .header_value("Authorization")?
                .ok_or_else(|| unauthenticated("missing HTTP basic credentials"))?;
            let encoded = match header.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => rest.trim(),
                _ => return Err(unauthenticated("the Authorization scheme is not Basic")),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| unauthenticated("malformed HTTP basic credentials"))?;
            if !constant_time_eq(&digest(&decoded), expected) {
                return Err(unauthenticated("wrong HTTP basic credentials"));
            }
        }
        Ok(())
    }
}

fn unauthenticated(reason: &str) -> WebhookRejection {
    WebhookRejection::Unauthenticated(reason.into())
}

/// The path and query of a full URL (`https://h/p?q`) or of a request target (`/p?q`).
fn split_url(url: &str) -> (&str, Option<&str>) {
    let url = url.split_once('#').map_or(url, |(head, _)| head);
    let target = match url.find("://") {
        Some(i) => {
            let after = url.get(i + 3..).unwrap_or("");
            after
                .find(['/', '?'])
                .and_then(|j| after.get(j..))
                .unwrap_or("")
        }
        None => url,
    };
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// Decodes `%XX` escapes; anything else (including a malformed escape) is kept as is.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| hex_value(*c)),
                bytes.get(i + 2).and_then(|c| hex_value(*c)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Verifier
// ---------------------------------------------------------------------------------------------

/// Checks the guards, then parses the body into a [`WebhookEvent`].
#[derive(Debug, Clone)]
pub struct PaylicanWebhookVerifier {
    guards: WebhookGuards,
    any_method: bool,
    currency: Option<Currency>,
}

impl PaylicanWebhookVerifier {
    /// A verifier with these guards. Empty guards make every event
    /// [`Authenticity::Unverified`]; prefer [`PaylicanWebhookVerifier::unguarded`] to say so.
    pub fn new(guards: WebhookGuards) -> Self {
        PaylicanWebhookVerifier {
            guards,
            any_method: false,
            currency: None,
        }
    }

    /// The currency of the merchant's Paylican account (Paylican's webhooks carry none). With it,
    /// an event whose `data.totalAmount` the currency cannot hold exactly (`5100.005` in GNF, or
    /// beyond 64-bit minor units) is [`WebhookRejection::MalformedPayload`] naming the field,
    /// never an event whose amount is lost on the way. Without it the typed event keeps the
    /// exact decimal and converting it is up to you
    /// ([`convert::total_amount`](crate::convert::total_amount)).
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }

    /// A verifier without guards: anyone can send what it accepts ([`Authenticity::Unverified`]).
    pub fn unguarded() -> Self {
        Self::new(WebhookGuards::new())
    }

    /// Accepts any HTTP method (Paylican's documentation does not name one; `POST` is required by
    /// default).
    pub fn accept_any_method(mut self) -> Self {
        self.any_method = true;
        self
    }

    /// The guards.
    pub fn guards(&self) -> &WebhookGuards {
        &self.guards
    }

    /// Verifies a request that arrived from `peer` (the TCP peer address, see the
    /// [module docs](self)).
    ///
    /// # Errors
    /// The [`WebhookRejection`] of the first check that failed.
    pub fn verify_from(
        &self,
        request: &WebhookRequest<'_>,
        peer: IpAddr,
    ) -> Result<VerifiedEvent<WebhookEvent>, WebhookRejection> {
        self.verify_inner(request, Some(peer))
    }

    /// A [`WebhookVerifier`] for one request from `peer`.
    pub fn from_peer(&self, peer: IpAddr) -> PeerVerifier<'_> {
        PeerVerifier {
            verifier: self,
            peer,
        }
    }

    fn verify_inner(
        &self,
        request: &WebhookRequest<'_>,
        peer: Option<IpAddr>,
    ) -> Result<VerifiedEvent<WebhookEvent>, WebhookRejection> {
        if !self.any_method {
            request.require_method("POST")?;
        }
        self.guards.check(request, peer)?;
        let event = parse_event(request.body())?;
        if let Some(currency) = self.currency {
            total_amount(&event.data, currency, "data.totalAmount")
                .map_err(WebhookRejection::MalformedPayload)?;
        }
        let authenticity = if self.guards.is_empty() {
            Authenticity::Unverified
        } else {
            Authenticity::Guarded
        };
        Ok(to_verified(event, authenticity, request.body()))
    }
}

impl WebhookVerifier for PaylicanWebhookVerifier {
    type Payload = WebhookEvent;

    /// Verifies without a peer address: refused whenever a source allow-list is configured. Use
    /// [`PaylicanWebhookVerifier::verify_from`] to pass the address.
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<WebhookEvent>, WebhookRejection> {
        self.verify_inner(request, None)
    }
}

/// A [`PaylicanWebhookVerifier`] bound to the peer address of one request.
#[derive(Debug, Clone, Copy)]
pub struct PeerVerifier<'a> {
    verifier: &'a PaylicanWebhookVerifier,
    peer: IpAddr,
}

impl WebhookVerifier for PeerVerifier<'_> {
    type Payload = WebhookEvent;

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<WebhookEvent>, WebhookRejection> {
        self.verifier.verify_inner(request, Some(self.peer))
    }
}

/// Parses a webhook body. This checks nothing about the sender: use it only on a body that
/// passed [`WebhookGuards::check`] (the verifier does both).
///
/// # Errors
/// [`WebhookRejection::MalformedPayload`] for a body that is too large, not JSON, or misses
/// `id`, `type`, `data.id` or `data.status`. The reason repeats nothing from the body. The amount is
/// not checked against a currency here (see [`PaylicanWebhookVerifier::currency`]).
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, WebhookRejection> {
    if body.len() > MAX_BODY {
        return Err(WebhookRejection::MalformedPayload(format!(
            "body larger than {MAX_BODY} bytes"
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        WebhookRejection::MalformedPayload(payments_core::error::describe_json_error(&e))
    })
}

fn to_verified(
    event: WebhookEvent,
    authenticity: Authenticity,
    body: &[u8],
) -> VerifiedEvent<WebhookEvent> {
    let mut out = VerifiedEvent::new(
        PROVIDER,
        event.event_id(),
        authenticity,
        event.clone(),
        body.to_vec(),
    );
    out.event_type = Some(event.event_type.as_str().to_string());
    out.payment_id = Some(event.data.id.clone());
    out.status = Some(unified_status(&event.data.status));
    out.raw_status = Some(event.data.status.as_str().to_string());
    out.occurred_at = event.created_at;
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix_and_family() {
        let net: IpNet = "203.0.113.0/24".parse().unwrap();
        assert!(net.contains("203.0.113.255".parse().unwrap()));
        assert!(!net.contains("203.0.114.0".parse().unwrap()));
        assert!(net.contains("::ffff:203.0.113.7".parse().unwrap()));
        assert!(!net.contains("2001:db8::1".parse().unwrap()));
        let host: IpNet = "198.51.100.7".parse().unwrap();
        assert!(host.contains("198.51.100.7".parse().unwrap()));
        assert!(!host.contains("198.51.100.8".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert_eq!(
            "10.1.2.3/8".parse::<IpNet>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0/8",
            "host",
            "1.2.3.4/-1",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_split_into_path_and_query() {
        assert_eq!(
            split_url("https://h.example/a/b?x=1#f"),
            ("/a/b", Some("x=1"))
        );
        assert_eq!(split_url("https://h.example?x=1"), ("", Some("x=1")));
        assert_eq!(split_url("https://h.example"), ("", None));
        assert_eq!(split_url("/a/b"), ("/a/b", None));
        assert_eq!(split_url("/a/b?"), ("/a/b", Some("")));
    }

    #[test]
    fn every_url_secret_is_compared_even_after_a_match() {
        let current = digest(b"current-secret-0123456789");
        let previous = digest(b"previous-secret-0123456789");
        let other = digest(b"someone-else-0123456789ab");
        for (given, expected) in [(current, true), (previous, true), (other, false)] {
            let calls = std::cell::Cell::new(0);
            let counting = |a: &[u8], b: &[u8]| {
                calls.set(calls.get() + 1);
                constant_time_eq(a, b)
            };
            assert_eq!(matches_any(&given, [current, previous], counting), expected);
            assert_eq!(calls.get(), 2, "no early exit: both secrets are compared");
        }
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%2Fb%zz%4"), b"a/b%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é".as_bytes());
    }
}
