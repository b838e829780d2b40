//! Payconiq by Bancontact: the Merchant Payment API v3, under `/payconiq`.
//!
//! Sources: Payconiq's Merchant Payment API v3 reference (Payment V3 API 3.6.3 and its OpenAPI
//! description, <https://docs.payconiq.be>), its callback documentation (signed callbacks,
//! retries), and the documented answers the `payments-payconiq` crate's tests use as fixtures.
//! JSON is built here by hand from that documented format, never from the client crate's types.
//!
//! Connection details: [`crate::RunningSandbox::payconiq`] ([`PayconiqConnection`]).
//!
//! # Routes
//! `{sandbox}/payconiq` stands for the host (`https://merchant.api.preprod.bancontact.net`), so
//! the base URL to configure clients with is `{sandbox}/payconiq/v3` (`api_base_url` in
//! `GET /_sandbox`), and the API paths are the documented ones:
//!
//! | route | answer |
//! |---|---|
//! | `POST /v3/payments` | 201, the created payment (`expiresAt`, `creditor`, `_links`) |
//! | `POST /v3/payments/pos` | the same; `posId` is mandatory |
//! | `GET /v3/payments/{paymentId}` | 200, the payment (`expireAt`, `debtor` once the payer is known) |
//! | `DELETE /v3/payments/{paymentId}` | 204 in `PENDING`/`IDENTIFIED`, else 422 `PAYMENT_NOT_PENDING` |
//! | `POST /v3/payments/search?page=&size=` | `{size, totalPages, totalElements, number, details}`, newest first, filtered by `from`/`to` (on `createdAt`, default the last day), `paymentStatuses` and `reference` |
//! | `GET /v3/payments/{paymentId}/debtor/refundIban` | `{"iban"}` once `SUCCEEDED`, else 422 `REFUND_NOT_AVAILABLE` |
//! | `POST /v3/payments/{paymentId}/acknowledge` | 204 in `PENDING_MERCHANT_ACKNOWLEDGEMENT` (→ `SUCCEEDED`), else 422 `PAYMENT_NOT_PENDING` |
//! | `GET /jwks` | the callback-signing key set (what `jwks.preprod.bancontact.net` serves) |
//! | `GET /checkout/{paymentId}` | the payer's page, HTML (the `_links.checkout` of payments created with a `returnUrl`, as at Payconiq; it exists for every payment, `checkout_url` in `GET /_sandbox`): pay, pay but the bank refuses, cancel; a one-time-code field instead of Pay while the app awaits a code |
//! | `POST /checkout/{paymentId}/{pay\|fail\|cancel\|otp}` | the page's buttons (form `code=` for `otp`): the payer acts, then `303` to the payment's `returnUrl` as given, or back to the page when there is none, which then says how the payment ended |
//!
//! Every `/v3` route needs `Authorization: Bearer <api key>` ([`crate::Credentials::payconiq_api_key`]);
//! without it, or with another key: 401 `UNAUTHORIZED`. Errors use Payconiq's body
//! `{"code", "message", "traceId", "spanId"}`: 400 `BODY_MISSING` (no readable JSON body),
//! `FIELD_IS_REQUIRED` (`amount`, and `posId` on `/pos`), `FIELD_IS_INVALID` (`amount` outside
//! 1..=999999 cents or not an integer, `currency` other than `EUR`, `reference`/`bulkId` over 35
//! characters, `description` over 140, `shopId`/`shopName`/`posId` over 36, texts outside the SEPA
//! character set, a `callbackUrl`/`returnUrl` that is not an http(s) URL, a bad search date, page
//! or size, an acknowledged amount that differs from the payment's); 404 `PAYMENT_NOT_FOUND`.
//!
//! # Statuses, per payer action
//! | action | from | to | callback |
//! |---|---|---|---|
//! | `pay` | `PENDING`, `IDENTIFIED`, `AUTHORIZED` | `SUCCEEDED` (`succeededAt`, `debtor`) | yes |
//! | `fail` | `PENDING`, `IDENTIFIED`, `AUTHORIZED` | `AUTHORIZATION_FAILED` (the bank refused) | yes |
//! | `cancel` (or the merchant's `DELETE`) | `PENDING`, `IDENTIFIED` | `CANCELLED` | yes |
//! | `expire` (or 2 minutes unpaid) | `PENDING`, `IDENTIFIED` | `EXPIRED` | yes |
//! | `require-otp` | `PENDING`, `IDENTIFIED` | `IDENTIFIED`: scanned, the app awaits the payer's code | no |
//! | `otp` `123456` | `IDENTIFIED` awaiting a code | `SUCCEEDED` (another code: refused, unchanged) | yes |
//! | `status` RAW | anything | RAW, verbatim | unless RAW is `PENDING`, `IDENTIFIED` or `AUTHORIZED` |
//!
//! Anything else is refused with [`ControlError::Conflict`] (paying a cancelled payment, paying
//! while a code is awaited). `PENDING_MERCHANT_ACKNOWLEDGEMENT` is reached with `status` and left
//! with the merchant's `acknowledge` call. Magic amounts ([`crate::magic`]) apply to creations.
//! A payment expires 2 minutes after creation, in real time (the spec's examples: `expireAt` =
//! `createdAt` + 2 min); this delay is *not* divided by the time divisor, which would expire
//! payments before a test's payer acts: use `expire` or an amount ending in 02 instead.
//!
//! # Callbacks
//! `POST` to the payment's `callbackUrl` (or, when it gave none, the URL set with
//! `PUT /_sandbox/payconiq/webhook-url` at creation time), body = the payment (`paymentId`,
//! `currency`, `amount`, `description`, `reference`, `createdAt`, `expireAt`, `succeededAt`,
//! `status`, `debtor`: the 3.6.3 callback, without the fields removed in 3.6.2), headers
//! `Content-Type: application/json`, `User-Agent: Payconiq Payments/v3` and `Signature`: a
//! detached JWS, ES256, signed with the sandbox key served at `/payconiq/jwks`, whose
//! `https://payconiq.com/path` is the callback URL, `sub` the payment profile id
//! ([`crate::Credentials::payconiq_profile_id`]), `jti` unique per callback, `iat` the signing time.
//! Payconiq notifies final statuses (and `PENDING_MERCHANT_ACKNOWLEDGEMENT`, which needs the
//! merchant); `IDENTIFIED` and `AUTHORIZED` are only seen with `GET`.
//!
//! Retries: the API reference says Payconiq calls "again up to three times per payment" when the
//! endpoint does not answer, and the callback documentation "for up to 24 h", with identical
//! headers and body. The spacing is undocumented: the sandbox retries 3 times, 1 min, 5 min and 15 min after the
//! previous attempt (divided by the time divisor), so 4 attempts in all, the same `Signature`
//! (hence the same `iat` and `jti`) on each.
//!
//! # Assumptions where the documents are silent
//! Which statuses are notified (above); a merchant's `DELETE` and `acknowledge` are notified like
//! the payer's moves; an unparsable body is `BODY_MISSING`; `acknowledge` outside
//! `PENDING_MERCHANT_ACKNOWLEDGEMENT` is 422 `PAYMENT_NOT_PENDING`, and its amount (and reference,
//! when both exist) must equal the payment's; a search `size` of 0 is `FIELD_IS_INVALID` and
//! `paymentStatuses` values are matched verbatim (so raw statuses set through `status` are
//! searchable); the `reference` filter keeps the payments whose reference is equal, character
//! for character (not a prefix or substring, not case-blind; payments without a reference never
//! match), which is what the neutral `find_by_reference` relies on; `size` in a search answer
//! counts the payments on that page; the refund IBAN is the simulated payer's full IBAN
//! (`debtor.iban` is the same, masked but for its last 5 digits).
//!
//! # Not emulated
//! `403 ACCESS_DENIED` and `CALLER_NOT_ALLOWED_TO_CANCEL` (one profile, one key, every payment
//! cancellable by it), `404 MERCHANT_PROFILE_NOT_FOUND`, `422 UNABLE_TO_PAY_CREDITOR` and
//! `REFUND_NOT_ALLOWED` (no peer-to-peer payments), amounts above 999999 cents (profiles with a
//! raised limit), the `x5t#S256` header (the key set has no certificate), payer-chosen amounts and
//! tips, `VOIDED` and `FAILED` other than through `status`, QR code images (`_links.qrcode` has the
//! real format and points to Payconiq's pre-production portal), the 15 s callback timeout (the
//! sandbox's webhook client waits 10 s for every provider, or
//! [`crate::SandboxBuilder::webhook_timeout`]), the `Content-Type` request header (required by
//! the spec, but the real answer to its absence is undocumented).

mod model;
mod page;
mod routes;
mod webhooks;

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use serde_json::{Value, json};

use crate::app::App;
use crate::support::lock;
use crate::{ControlError, PayerAction, Provider};
use model::{EXPIRY, Payment, View, Wire, apply, notified, view};

/// What a client needs to use the sandbox's Payconiq ([`crate::RunningSandbox::payconiq`]).
///
/// Configure the client with `api_base_url` and `api_key` (as
/// `PayconiqConfig::new(api_key, Environment::PreProduction).base_url(api_base_url)`), and verify
/// callbacks against the key set at `jwks_url`, signed for `profile_id` and the payment's
/// `callbackUrl`. `Debug` does not show the API key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayconiqConnection {
    /// The provider's URL, standing for Payconiq's host (`http://127.0.0.1:PORT/payconiq`).
    pub base_url: String,
    /// The API base URL, as Payconiq's real ones end in `/v3` (`{base_url}/v3`).
    pub api_base_url: String,
    /// The API key, sent as `Authorization: Bearer <api_key>`.
    pub api_key: String,
    /// The merchant's payment profile id: the `sub` of every signed callback.
    pub profile_id: String,
    /// The callback-signing key set (what `jwks.preprod.bancontact.net` serves).
    pub jwks_url: String,
    /// The id (`kid`) of the key callbacks are signed with.
    pub signing_kid: String,
    /// The delays before each callback retry, in real time (the sandbox divides them by its time
    /// divisor).
    pub callback_retry_delays: Vec<Duration>,
    /// How long a payment can be paid, in real time (not divided by the time divisor).
    pub payment_expiry: Duration,
}

impl PayconiqConnection {
    /// The checkout page of payment `payment_id` (it exists for every payment; Payconiq's answer
    /// links it as `_links.checkout` when the payment has a `returnUrl`).
    pub fn checkout_url(&self, payment_id: &str) -> String {
        format!("{}/checkout/{payment_id}", self.base_url)
    }
}

impl fmt::Debug for PayconiqConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayconiqConnection")
            .field("base_url", &self.base_url)
            .field("api_base_url", &self.api_base_url)
            .field("api_key", &"[redacted]")
            .field("profile_id", &self.profile_id)
            .field("jwks_url", &self.jwks_url)
            .field("signing_kid", &self.signing_kid)
            .field("callback_retry_delays", &self.callback_retry_delays)
            .field("payment_expiry", &self.payment_expiry)
            .finish()
    }
}

/// In-memory store: every payment, in creation order.
#[derive(Debug, Default)]
pub(crate) struct State {
    payments: Mutex<Vec<Payment>>,
}

pub(crate) fn router() -> Router<App> {
    routes::router()
}

/// What the sandbox's Payconiq is reached with.
pub(crate) fn connection(app: &App) -> PayconiqConnection {
    let base_url = app.provider_url(Provider::Payconiq);
    PayconiqConnection {
        api_base_url: format!("{base_url}/v3"),
        jwks_url: format!("{base_url}/jwks"),
        base_url,
        api_key: app.credentials.payconiq_api_key.clone(),
        profile_id: app.credentials.payconiq_profile_id.clone(),
        signing_kid: app.keys.payconiq_kid().to_owned(),
        callback_retry_delays: webhooks::RETRY_DELAYS.to_vec(),
        payment_expiry: EXPIRY,
    }
}

/// What rendering a payment needs of the running sandbox.
fn wire(app: &App) -> Wire {
    let base_url = app.provider_url(Provider::Payconiq);
    Wire {
        api_base_url: format!("{base_url}/v3"),
        base_url,
        profile_id: app.credentials.payconiq_profile_id.clone(),
    }
}

/// The simulated payer (control endpoints, magic amounts, the checkout page, expiry).
pub(crate) async fn act(app: &App, id: &str, action: PayerAction) -> Result<Value, ControlError> {
    let (p, before) = {
        let mut payments = lock(&app.payconiq.payments);
        let p = payments
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| ControlError::NotFound {
                provider: Provider::Payconiq,
                id: id.to_owned(),
            })?;
        let before = p.status.clone();
        apply(p, &action)?;
        (p.clone(), before)
    };
    let moved = p.status != before || matches!(action, PayerAction::SetStatus(_));
    if moved && notified(&p.status) {
        webhooks::notify(app, &p);
    }
    Ok(view(&wire(app), &p, View::Get))
}

pub(crate) fn payments(app: &App) -> Vec<Value> {
    let wire = wire(app);
    lock(&app.payconiq.payments)
        .iter()
        .map(|p| view(&wire, p, View::Get))
        .collect()
}

pub(crate) fn info(app: &App) -> Value {
    let c = connection(app);
    json!({
        "base_url": c.base_url,
        "api_base_url": c.api_base_url,
        "api_key": c.api_key,
        "auth": "Authorization: Bearer <api_key>",
        "client": "PayconiqConfig::new(api_key, Environment::PreProduction).base_url(api_base_url); \
                   callbacks: JwksWebhookVerifier with JwksFetcher::new(jwks_url, ..) and \
                   WebhookSettings::new(profile_id, <the payment's callbackUrl>)",
        "profile_id": c.profile_id,
        "jwks_url": c.jwks_url,
        "signing_kid": c.signing_kid,
        "webhooks": "signed callbacks (detached JWS ES256, header Signature) POSTed to each \
                     payment's callbackUrl, else to the URL set with PUT /_sandbox/payconiq/webhook-url",
        "webhook_url": app.webhook_url(Provider::Payconiq),
        "checkout_url": c.checkout_url("{paymentId}"),
        "callback_retry_delays_secs": c.callback_retry_delays.iter().map(Duration::as_secs).collect::<Vec<_>>(),
        "payment_expiry_secs": c.payment_expiry.as_secs(),
    })
}
