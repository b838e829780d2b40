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
//!   URLs end up in access logs: keep it out of them or rotate it when logs leak. The check is
//!   core's [`UrlSecretGuard`] (the one Banq's receiver uses too): a query secret is decoded
//!   strictly (a malformed escape is refused), a path secret as URL paths are.
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
//!    `paylican:<id>:<type>:<data.status>[:<data.paymentNo>]` ([`PaylicanEvent::event_id`]), not
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
use payments_core::provider_support::{constant_time_eq, describe_json_error};
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::webhook::{
    Authenticity, UrlSecretGuard, VerifiedEvent, WebhookRejection, WebhookRequest, WebhookVerifier,
};
use payments_core::{Currency, Error};
use sha2::{Digest as _, Sha256};

use crate::PROVIDER;
use crate::convert::{total_amount, unified_status};
use crate::wire::PaylicanEvent;

/// Largest body parsed.
pub const MAX_BODY: usize = 256 * 1024;

/// Shortest basic-auth password accepted, in bytes (a URL secret's is core's
/// [`MIN_URL_SECRET_LEN`](payments_core::webhook::MIN_URL_SECRET_LEN), also 16).
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

type Digest32 = [u8; 32];

fn digest(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

/// The checks a webhook request must pass before its body is read. Keeps only SHA-256 digests of
/// secrets; `Debug` shows which guards are on, never a value.
#[derive(Clone, Default)]
pub struct WebhookGuards {
    url_secret: Option<UrlSecretGuard>,
    basic: Option<Digest32>,
    sources: Vec<IpNet>,
}

impl fmt::Debug for WebhookGuards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookGuards")
            .field(
                "url_secret",
                &self.url_secret.as_ref().map(UrlSecretGuard::location),
            )
            .field(
                "previous_url_secrets",
                &self
                    .url_secret
                    .as_ref()
                    .map_or(0, UrlSecretGuard::previous_secrets),
            )
            .field("basic_auth", &self.basic.is_some())
            .field("sources", &self.sources)
            .finish()
    }
}

impl WebhookGuards {
    /// No guards yet (events come out [`Authenticity::Unverified`] until one is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `secret` as the last path segment of the webhook URL
    /// ([`UrlSecretGuard::last_path_segment`]).
    pub fn secret_in_path(mut self, secret: impl AsRef<str>) -> Result<Self, Error> {
        self.url_secret = Some(UrlSecretGuard::last_path_segment(secret)?);
        Ok(self)
    }

    /// Requires `secret` as the query parameter `param` of the webhook URL
    /// ([`UrlSecretGuard::query_param`]).
    pub fn secret_in_query(
        mut self,
        param: impl Into<String>,
        secret: impl AsRef<str>,
    ) -> Result<Self, Error> {
        self.url_secret = Some(UrlSecretGuard::query_param(param, secret)?);
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
        let Some(url_secret) = self.url_secret.take() else {
            return Err(Error::Config(
                "a previous URL secret needs the current one first (secret_in_path or \
                 secret_in_query)"
                    .into(),
            ));
        };
        self.url_secret = Some(url_secret.with_previous(secret)?);
        Ok(self)
    }

    /// Requires `Authorization: Basic` with these credentials.
    pub fn basic_auth(mut self, username: &str, password: &SecretString) -> Result<Self, Error> {
        if username.is_empty() || username.contains(':') {
            return Err(Error::Config(
                "the basic-auth user name must be non-empty and without ':'".into(),
            ));
        }
        if password.expose_secret().len() < MIN_SECRET_LEN {
            return Err(Error::Config(format!(
                "the webhook basic-auth password must be at least {MIN_SECRET_LEN} bytes (use 32 \
                 random bytes)"
            )));
        }
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
            url_secret.check(request.url())?;
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

// ---------------------------------------------------------------------------------------------
// Verifier
// ---------------------------------------------------------------------------------------------

/// Checks the guards, then parses the body into a [`PaylicanEvent`].
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
    ) -> Result<VerifiedEvent<PaylicanEvent>, WebhookRejection> {
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
    ) -> Result<VerifiedEvent<PaylicanEvent>, WebhookRejection> {
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
    type Payload = PaylicanEvent;

    /// Verifies without a peer address: refused whenever a source allow-list is configured. Use
    /// [`PaylicanWebhookVerifier::verify_from`] to pass the address.
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<PaylicanEvent>, WebhookRejection> {
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
    type Payload = PaylicanEvent;

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<PaylicanEvent>, WebhookRejection> {
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
pub fn parse_event(body: &[u8]) -> Result<PaylicanEvent, WebhookRejection> {
    if body.len() > MAX_BODY {
        return Err(WebhookRejection::MalformedPayload(format!(
            "body larger than {MAX_BODY} bytes"
        )));
    }
    serde_json::from_slice(body)
        .map_err(|e| WebhookRejection::MalformedPayload(describe_json_error(&e)))
}

fn to_verified(
    event: PaylicanEvent,
    authenticity: Authenticity,
    body: &[u8],
) -> VerifiedEvent<PaylicanEvent> {
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
}
