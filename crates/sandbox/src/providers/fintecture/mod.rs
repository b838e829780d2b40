//! Fintecture PIS v2 (pay by bank, immediate transfer), under `/fintecture`.
//!
//! Sources: Fintecture's guide *Initiate an Immediate Transfer* and API reference
//! (<https://docs.fintecture.com>), its *Pagination* guide
//! (<https://doc.fintecture.com/docs/api-pagination>), and the documented answers the
//! `payments-fintecture` crate's tests use as fixtures. What none of them spells out is marked
//! *assumed* below. JSON is built here by hand from that documented format, never from the client
//! crate's types.
//!
//! Connection details: [`crate::RunningSandbox::fintecture`] ([`FintectureConnection`]).
//!
//! ## Routes (relative to `/fintecture`)
//! | route | what |
//! |---|---|
//! | `POST /oauth/accesstoken` | client-credentials token: `Authorization: Basic base64(app_id:app_secret)`, form body `grant_type=client_credentials&app_id=<app_id>&scope=PIS`; answers `{token_type:"Bearer", access_token, expires_in}` (lifetime: [`crate::SandboxBuilder::token_lifetime`]). Not signed. |
//! | `POST /pis/v2/connect?state=..&redirect_uri=..[&origin_uri=..]` | payment session; body `{meta:{psu_*, expiry, ...}, data:{type:"payments", attributes:{amount:"550.60", currency, communication, end_to_end_id?, execution_date?, scheme?, beneficiary?}}}`; answers `{meta:{session_id, url}}` |
//! | `GET /pis/v2/payments/{session_id}` | `{meta:{session_id, status, code, provider, is_accepted, has_settlement_completed, type, initial_type, customer_id}, data:{id, type:"payments", attributes:{amount, currency, communication, end_to_end_id, execution_date, payment_scheme, transfer_state, bank_account_id, account_type}}}` |
//! | `GET /pis/v2/payments` | list, newest first (order *assumed*): `filter[status]`, `filter[date_from]`, `filter[date_to]` (creation date, `YYYY-MM-DD`), `filter[communication]` (exact; filter names *assumed*), `page[number]` (from 1), `page[size]` (default 100); answers `{meta:{totalItems, totalPages}, data:[...], links:{self, next?, prev?, last}}` (paging as Fintecture's *Pagination* guide, <https://doc.fintecture.com/docs/api-pagination>; `prev` and `last` *assumed*; the links keep the filters) |
//! | `PATCH /pis/v2/payments/{session_id}` | `{"meta":{"status":"payment_cancelled"}}` cancels an unpaid session (answer `{"meta":{"status":"payment_cancelled"}}`, *assumed*); cancelling a cancelled session again is accepted |
//! | `POST /pis/v2/refund[?state=..]` | `{meta:{session_id}, data:{attributes:{amount, communication?}}}`: partial and repeated refunds of a paid session, their total bounded by the paid amount; answers `{meta:{session_id, status:"refund_waiting"}}` (`amount` omitted: the rest of the paid amount, *assumed*) |
//! | `GET /pis/v2/settlements[/{id}]` | one settlement per paid session (Fintecture batches them; *assumed* shape as the crate's fixtures): `{data:[{id, type:"settlements", attributes:{amount, currency, status:"completed", execution_date, communication}}], meta, links}`; same paging parameters |
//! | `GET /connect/{session_id}` | the Connect page the session's `url` points to (sandbox only: an HTML page with pay / fail / cancel buttons and, when SCA is pending, a one-time-code field) |
//! | `POST /connect/{session_id}` | form `action=pay|fail|cancel|otp` (`code=` for `otp`): the payer acts, then is redirected (303) to `redirect_uri?session_id=..&status=..&provider=..&customer_id=..&state=..` (`origin_uri` after a cancel, when given) |
//!
//! ## Credentials and headers checked
//! - Token endpoint: HTTP Basic with [`crate::Credentials::fintecture_app_id`] and
//!   `fintecture_app_secret` (else 401 `{"error":"invalid_client"}`), form content type, grant
//!   `client_credentials`, `app_id` equal to the Basic user, scope `PIS` (else 400 with the
//!   RFC 6749 `error` codes — the format the crate's fixtures use for this endpoint).
//! - Every `/pis/v2` call: `Authorization: Bearer` with a token issued here and not expired
//!   (401 `missing_token` / `invalid_token` / `token_expired`), then the request signature,
//!   checked with `payments_fintecture::testing::RequestSignatureVerifier` and the merchant's
//!   public key ([`crate::SandboxKeys::fintecture_public_key`]): `keyId` is the app id,
//!   `algorithm="rsa-sha256"`, `headers="(request-target) date [digest] x-request-id"`, the
//!   `Digest` over the raw body, RSA PKCS#1 v1.5 SHA-256 over the signing string rebuilt from the
//!   request as received (path **with** the `/fintecture` prefix and the query, as sent), and a
//!   `Date` within 5 minutes of the sandbox clock (window *assumed*). Any failure is 401
//!   `invalid_signature` with the verifier's reason. Fintecture's own sandbox accepts unsigned
//!   calls; this one refuses them as production does, so a client that passes here passes there.
//! - Errors are `{"errors":[{"code", "title", "message"}]}` (codes *assumed*): 400 validation
//!   (`invalid_request`, `invalid_amount`, `invalid_currency`, ...), 400
//!   `invalid_status_transition` (cancelling a paid session, refunding an unpaid one),
//!   400 `refund_amount_exceeded`, 404 `payment_not_found` / `settlement_not_found`.
//!
//! ## Statuses and transitions ([`PayerAction`])
//! A session is created `order_created` (no `transfer_state`). Final: `payment_created` with a
//! final transfer (or none), `payment_cancelled`, `payment_unsuccessful`, `payment_expired`.
//! | action | from | to |
//! |---|---|---|
//! | Pay | any non-final but `sca_required`; `payment_created` with a transfer in progress | `payment_created` + `completed` (bank `sandboxbank`, a settlement is recorded) |
//! | Fail | non-final | `payment_unsuccessful`; on `payment_created` + transfer in progress: `transfer_state` `rejected` |
//! | Cancel (also `PATCH`) | non-final | `payment_cancelled` |
//! | Expire (also `meta.expiry` seconds after creation, scaled) | non-final | `payment_expired` |
//! | RequireOtp | non-final | `sca_required` |
//! | SubmitOtp(code) | `sca_required` | `payment_created` + `completed` with [`crate::SANDBOX_OTP`], else `WrongOtp` |
//! | SetStatus(raw) | anything | `raw` verbatim, `transfer_state` cleared; `"<status> + <transfer_state>"` (the form of the workspace's status mapping) sets both |
//!
//! Anything else is [`ControlError::Conflict`]. Magic amounts apply ([`crate::magic`]).
//!
//! ## Webhooks
//! Every status change is posted to the console-configured URL
//! ([`crate::SandboxBuilder::webhook_url`], `PUT /_sandbox/fintecture/webhook-url`; none
//! configured: nothing is sent, as at Fintecture) as `application/x-www-form-urlencoded`:
//! `session_id, status, customer_id, provider, state, event=payment_session.status.<status>,
//! type=PayByBank, transfer_state, amount, currency` (absent values omitted; the guide's example
//! has the first five, the API reference lists the others). Headers `Signature`, `Digest`, `Date`,
//! `X-Request-ID` as `payments_fintecture::testing::WebhookSigner` makes them: the signing string
//! `date/digest/x-request-id` RSA-OAEP(SHA-1)-encrypted with the merchant's public key.
//! Retries: the guide says "Webhook will retry 10x with an exponential time increment if your
//! server doesn't respond with a HTTP code in the 2XX range"; the base is not documented, so
//! 10 retries after 2, 4, 8, ... 1024 s (11 attempts, about 34 minutes; *assumed* base),
//! divided by the time divisor. Every attempt is signed afresh (new `Date`, same `X-Request-ID`);
//! whether Fintecture re-signs its retries is not documented, which is why the crate's verifier
//! accepts a `Date` up to 72 hours old by default (`WebhookSettings::DEFAULT_MAX_AGE`).
//!
//! ## Not emulated
//! The console's per-event subscription and its send delay (`offset`, minutes): every event is
//! sent at once. The 20 s delivery timeout (the shared webhook client's is used). Refund
//! webhooks and the refund session's later statuses (their sequence is not documented): a refund
//! stays `refund_waiting`. Request-to-pay, AIS, beneficiary checks, `redirect_uri` registration
//! in the console.

mod auth;
mod model;
mod page;
mod routes;
mod webhooks;

use std::fmt;
use std::sync::Mutex;

use axum::Router;
use serde_json::{Value, json};

use crate::app::App;
use crate::support::{Tokens, lock};
use crate::{ControlError, PayerAction, Provider};
use model::{Store, payment_json};

/// What a client needs to use the sandbox's Fintecture ([`crate::RunningSandbox::fintecture`]).
///
/// Configure the client with `base_url`, `app_id`, `app_secret` and the application's private key
/// (`private_key_pem`, which signs every `/pis/v2` request); webhooks are decrypted with the same
/// key. `Debug` shows neither the secret nor the private key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FintectureConnection {
    /// The API base URL, standing for Fintecture's host (`http://127.0.0.1:PORT/fintecture`).
    pub base_url: String,
    /// The client-credentials token endpoint (`{base_url}/oauth/accesstoken`).
    pub token_url: String,
    /// The application id (`app_id`, also the `keyId` of request signatures).
    pub app_id: String,
    /// The application secret (HTTP Basic at the token endpoint).
    pub app_secret: String,
    /// The application's private key (PKCS#8 PEM), when the sandbox generated the key pair;
    /// `None` when the merchant gave its public key
    /// ([`crate::SandboxBuilder::fintecture_public_key`]).
    pub private_key_pem: Option<String>,
    /// The application's public key (PEM): request signatures are checked and webhooks encrypted
    /// with it.
    pub public_key_pem: String,
}

impl FintectureConnection {
    /// The Connect page of session `session_id` (what the session's `meta.url` says).
    pub fn connect_url(&self, session_id: &str) -> String {
        format!("{}/connect/{session_id}", self.base_url)
    }
}

impl fmt::Debug for FintectureConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FintectureConnection")
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field("app_id", &self.app_id)
            .field("app_secret", &"[redacted]")
            .field(
                "private_key_pem",
                &self.private_key_pem.as_ref().map(|_| "[redacted]"),
            )
            .field("public_key_pem", &self.public_key_pem)
            .finish()
    }
}

/// In-memory store: issued tokens, sessions, refunds, settlements.
#[derive(Debug, Default)]
pub(crate) struct State {
    tokens: Tokens,
    store: Mutex<Store>,
}

pub(crate) fn router() -> Router<App> {
    routes::router()
}

/// What the sandbox's Fintecture is reached with.
pub(crate) fn connection(app: &App) -> FintectureConnection {
    let base_url = app.provider_url(Provider::Fintecture);
    FintectureConnection {
        token_url: format!("{base_url}/oauth/accesstoken"),
        base_url,
        app_id: app.credentials.fintecture_app_id.clone(),
        app_secret: app.credentials.fintecture_app_secret.clone(),
        private_key_pem: app.keys.fintecture_private_key_pem().map(str::to_owned),
        public_key_pem: app.keys.fintecture_public_key().to_pem(),
    }
}

/// The simulated payer (control endpoints, magic amounts, the Connect page, `meta.expiry`).
pub(crate) async fn act(app: &App, id: &str, action: PayerAction) -> Result<Value, ControlError> {
    let (view, session) = {
        let mut store = lock(&app.fintecture.store);
        store.apply(id, action)?;
        let Some(s) = store.session(id) else {
            return Err(ControlError::NotFound {
                provider: Provider::Fintecture,
                id: id.to_owned(),
            });
        };
        (payment_json(s, store.settled(id)), s.clone())
    };
    webhooks::notify(app, &session);
    Ok(view)
}

pub(crate) fn payments(app: &App) -> Vec<Value> {
    let store = lock(&app.fintecture.store);
    store
        .sessions
        .iter()
        .map(|s| {
            let mut view = payment_json(s, store.settled(&s.id));
            let refunds: Vec<Value> = store
                .refunds
                .iter()
                .filter(|r| r.session_id == s.id)
                .map(|r| {
                    json!({
                        "session_id": r.id,
                        "amount": r.amount.to_decimal_string(),
                        "communication": r.communication,
                        "state": r.state,
                        "status": r.status,
                    })
                })
                .collect();
            if let Some(obj) = view.as_object_mut() {
                obj.insert(
                    "sandbox".into(),
                    json!({
                        "state": s.state,
                        "redirect_uri": s.redirect_uri,
                        "origin_uri": s.origin_uri,
                        "meta": s.meta,
                        "refunds": refunds,
                    }),
                );
            }
            view
        })
        .collect()
}

pub(crate) fn info(app: &App) -> Value {
    let c = connection(app);
    json!({
        "base_url": c.base_url,
        "token_url": c.token_url,
        "app_id": c.app_id,
        "app_secret": c.app_secret,
        "private_key_pem": c.private_key_pem,
        "public_key_pem": c.public_key_pem,
        "request_signatures": "required on every /pis/v2 call (Digest, Date, X-Request-ID, Signature; keyId = app_id)",
        "webhook_url": app.webhook_url(Provider::Fintecture),
        "webhooks": "form-urlencoded, Signature RSA-OAEP-encrypted with the public key; set the URL with PUT /_sandbox/fintecture/webhook-url {\"url\": ...}",
        "connect_page": c.connect_url("{session_id}"),
    })
}
