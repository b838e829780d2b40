//! HUB2 — the PaymentIntent API (mobile money and cards, West and Central Africa), under `/hub2`.
//!
//! Sources: HUB2's integration guide and API reference (<https://docs.hub2.io>), what independent
//! production integrations report, and the documented answers the `payments-hub2` crate's tests
//! use as fixtures. JSON is built here by hand from that documented format, never from the client
//! crate's types.
//!
//! Connection details: [`crate::RunningSandbox::hub2`] ([`Hub2Connection`]).
//!
//! # Routes
//! | route | who | answer |
//! |---|---|---|
//! | `POST /payment-intents` `{customerReference, purchaseReference, amount, currency, overrideBusinessName?}` | API key | 201 the intent (`payment_required`, `payments: []`, `mode`, and its `token`) |
//! | `GET /payment-intents` `?purchaseReference=&customerReference=&from=&to=&page=&perPage=` | API key | 200 a bare array of intents as `GET /payment-intents/{id}` answers them (see below) |
//! | `GET /payment-intents/{id}` | API key | 200 the intent, with its attempts (and token) |
//! | `GET /payment-intents/{id}/status` | API key, or `?token=` | 200 `{id, status}` |
//! | `POST /payment-intents/{id}/payments` `{token, paymentMethod, country, provider, mobileMoney?}` | intent token | 201 the intent with the new attempt last in `payments` |
//! | `POST /payment-intents/{id}/payments/sync` | intent token | 201, the same; an OTP sent with the attempt is settled before answering |
//! | `POST /payment-intents/{id}/authentication` `{token, confirmationCode}` | intent token | 201 the intent, paid |
//! | `POST /webhooks` `{url, events[], description?, metadata?}` | API key | 201 the webhook **with its `secret`** |
//! | `GET /webhooks` | API key | 200 a bare array, without secrets |
//! | `DELETE /webhooks/{id}` | API key | 200 the deleted webhook |
//! | `GET /_sandbox/checkout/{paymentId}` (+ `POST .../{pay,fail,cancel}`) | nobody | sandbox-only page a `redirection` next action points to (the wallet's or card network's page): HTML, pay / fail / cancel, then `303` to the attempt's `on*RedirectionUrl` (`onFinishRedirectionUrl` when the specific one is absent), or back to the page, which says how the attempt ended |
//! | `GET /_sandbox/pay/{intentId}[?return_url=]` (+ `POST`, `.../otp`, `.../phone`) | nobody | the sandbox's stand-in for the **merchant's** payer page (HUB2 hosts none): it runs the attempt and its next action through the payer API with the intent's token; see [Payer pages](#payer-pages) |
//!
//! # Payer pages
//! HUB2 hosts no payment page: the merchant's own page asks the payer how to pay, runs the
//! attempt with the intent's token (`POST /payment-intents/{id}/payments`), then follows the
//! attempt's next action — a one-time code sent to `POST .../authentication`, a redirection to
//! the wallet's page, or a USSD confirmation on the payer's phone. The sandbox's stand-in does
//! the same, so that a merchant's integration can be clicked through before its own page exists:
//! point the client's `payer_page_url` at [`Hub2Connection::payer_page_url`]
//! (`{sandbox}/hub2/_sandbox/pay/{intent_id}`), optionally with `?return_url=<where the payer goes
//! once paid>` (an absolute http(s) URL, percent-encoded).
//!
//! | route | what |
//! |---|---|
//! | `GET /_sandbox/pay/{intentId}` | the intent and what the payer can do now: choose Orange Money (OTP), Wave (redirection) or MTN (USSD) while it is `payment_required`; the code field, the wallet link or the phone's buttons while an attempt waits; how it ended once it is not payable |
//! | `POST /_sandbox/pay/{intentId}` | form `choice=orange\|wave\|mtn`, `msisdn`, `return_url`: the attempt, sent to HUB2's payer API over HTTP (it appears in `GET /_sandbox/requests`); a redirection is followed (`303` to the wallet's page, whose success URL is the return URL), any other next action brings the payer back here |
//! | `POST /_sandbox/pay/{intentId}/otp` | form `code`, `return_url`: `POST .../authentication`; paid → `303` to the return URL (or back here, where the page says it is paid); a wrong code → this page again, `422` |
//! | `POST /_sandbox/pay/{intentId}/phone` | form `answer=confirm\|decline`, `return_url`: the payer's phone answering the USSD prompt (the simulated payer: `pay`, or `cancel` which leaves the intent payable) |
//!
//! What a real merchant page adds and this one does not: the merchant's own order view, card
//! payments, and polling the intent's status while a USSD or Wave payment is confirmed elsewhere
//! (reload the page instead).
//!
//! # Listing intents
//! HUB2's API reference ("Retrieve a PaymentIntent collection") documents the filters and their
//! defaults, which the sandbox applies: `purchaseReference` and `customerReference` (compared
//! exactly here; the reference does not say how HUB2 matches), `from` (default: the first day
//! of the current month, 00:00 UTC) and `to` (default: now), both inclusive and read as RFC 3339,
//! `page` (default 1) and `perPage` (default 10), positive integers; anything else is HUB2's 400
//! with every problem listed. The order is the creation order (oldest first) and no maximum page
//! size is enforced: the reference gives neither. HUB2 says the pagination details are in the
//! answer's headers but does not name them, so the sandbox sends none; whether HUB2 includes
//! each intent's token in the list is not documented either (the sandbox does, as for one
//! intent).
//!
//! # Credentials
//! Merchant calls need `ApiKey`, `MerchantId` and `Environment` equal to
//! [`crate::Credentials`]' `hub2_*` values (defaults `sandbox-hub2-api-key`, `sandbox-merchant`,
//! `sandbox`); a missing or wrong one, `Environment` included, is `401
//! {"statusCode":401,"message":"Unauthorized"}`. Payer calls send `Environment` and the intent
//! token (in the body, or `?token=` for the status) and no API key: the token is a real HS256
//! JWT (claims `intentId`, `merchantId`, `mode`, `iat`) signed with a key drawn at start, valid
//! only for its own intent; anything else is 401. Errors use HUB2's NestJS body:
//! `{"statusCode":400,"message":["purchaseReference must match /^[a-zA-Z0-9-_. ]+$/ regular expression"],"error":"Bad Request"}`
//! (400 for every validation failure, listed), 404 `Payment intent not found` / `Webhook not
//! found` / `Cannot GET /path`, 409 for an attempt on an intent that is not
//! `payment_required` or an authentication with nothing to authenticate. Currencies: `XOF`,
//! `XAF`, `GNF` (integer amounts, no minor unit).
//!
//! # Statuses
//! Intent: `payment_required` → `processing` / `action_required` → `successful`, or back to
//! `payment_required` when the attempt fails: HUB2's API reference ("Attempt a payment on a
//! PaymentIntent object") lets other payments be created on the same intent whenever one fails,
//! so a failed attempt never ends the intent here, and the payer may attempt again (an attempt
//! is accepted only on a `payment_required` intent). `failed` and `canceled` exist in HUB2's
//! list of intent statuses but nothing documented leads to them; they are reachable with
//! `SetStatus`. Attempt: `pending` → `successful` | `failed` (`failure{code,message}`; a paid
//! attempt carries `fees[{amount,currency}]`, 1.5 % rounded down). An attempt's next action
//! depends on what the payer chose:
//! - `credit_card`, or mobile money with `wave`: `redirection` to the checkout page above
//!   (message `card_sandbox.redirection` / `mm_wave_sandbox.redirection`), intent
//!   `action_required`;
//! - `orange`: `otp` (the documented sandbox message, naming [`crate::SANDBOX_OTP`]); the 201
//!   says `processing` as HUB2's documented sample does, the intent is `action_required` right
//!   after; `POST .../authentication` with `SANDBOX_OTP` pays it, another code is 400 `Invalid
//!   confirmation code` and leaves it waiting;
//! - other wallets (`mtn`, `moov`, ...): `ussd` (`data.code` `*133#`), intent `action_required`;
//! - `mobileMoney.otp` sent with the attempt: no next action, intent `processing`; the attempt is
//!   settled after the auto-outcome delay (paid with `SANDBOX_OTP`, else failed `invalid_otp`
//!   and the intent `payment_required` again), at once with `/sync`.
//!
//! Simulated payer ([`PayerAction`]), on an intent that is `payment_required`, `processing` or
//! `action_required` (else `ControlError::Conflict`); where no attempt is open one is simulated
//! (Orange Money, `CI`):
//! - `Pay` → attempt `successful`, intent `successful`;
//! - `Fail` → attempt `failed` (`customer_insufficient_funds`), intent `payment_required`
//!   (payable again);
//! - `Cancel` (the payer declines the attempt) → attempt `failed` (`customer_canceled`), intent
//!   `payment_required`;
//! - `Expire` → attempt `failed` (`wave_payment_expired` for Wave, else `payment_expired`),
//!   intent `payment_required` (HUB2 has no expired status; an intent itself never expires);
//! - `RequireOtp` → the open attempt gets an `otp` next action, intent `action_required`;
//! - `SubmitOtp(code)` → what the authentication endpoint does (`WrongOtp` for another code,
//!   `Conflict` when no OTP is awaited);
//! - `SetStatus(raw)` → the intent's status, verbatim, from any status.
//!
//! Magic amounts ([`crate::magic`]): XOF has no minor unit, so the last two digits of the amount
//! itself decide (`5001` fails an attempt, `5002` lets it expire, `5003` has the payer cancel
//! it, each leaving the intent `payment_required`; `5005` pays).
//!
//! Webhooks of a settled attempt: `payment.succeeded` or `payment.failed` (the attempt), then the
//! intent's event (`payment_intent.succeeded`, or `payment_intent.payment_required` after a
//! failure).
//!
//! # Webhooks
//! Each event goes to every registered webhook subscribed to its type (an exact type; the
//! sandbox also accepts `payment.*`, `payment_intent.*` and `*`): `POST`, `Content-Type:
//! application/json`, body `{"id","type","createdAt","data"}` where `data` is the Payment
//! (`payment.pending`, `payment.action_required`, `payment.succeeded`, `payment.failed`) or the
//! PaymentIntent without its token (`payment_intent.created`, then `payment_intent.<processing |
//! action_required | succeeded | failed | canceled>`, `payment_intent.updated` for a raw
//! status), signed `Hub2-Signature: s1=<hex HMAC-SHA256(secret, raw body)>` with the secret
//! returned at registration (the crate's `testing::WebhookSigner`). Registering a URL that is
//! already registered **rotates** its secret: the answer holds the new one (same webhook id),
//! and deliveries carry `s1=<new>,s0=<previous>` for 24 h (scaled by the time divisor), then
//! `s1` alone. Retries (HUB2's webhook documentation): 10 attempts, the first retry after 60 s,
//! exponential, about 34 h in all — delays 60, 146, 354, 861, 2092, 5084, 12354, 30021,
//! 72951 s (factor 2.43: the docs give the start, count and total, not the factor), divided by
//! the time divisor.
//!
//! # Not emulated
//! - Rate limits (50 req / 5 s per IP, per-intent limits on reads): use fault injection for 429.
//! - IP allow-lists and per-key permissions; the `live` environment (only the configured
//!   environment is accepted).
//! - Whatever ends an intent as `failed` or `canceled` at HUB2 (a limit on attempts, an operator
//!   decision): undocumented, so only `SetStatus` does it here.
//! - Payments of another amount than the intent's (HUB2 lets a payment that does not match the
//!   intent's amount leave it open): every attempt here is for the intent's amount.
//! - Real wallet or card networks; fees other than the flat 1.5 %; the 10-minute expiry of
//!   Orange OTP payments (use `Expire`).

mod auth;
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
use model::{OtpProblem, Settle, Store};

/// What a client needs to use the sandbox's HUB2 ([`crate::RunningSandbox::hub2`]).
///
/// Merchant calls send the `ApiKey`, `MerchantId` and `Environment` headers; payer calls send
/// `Environment` and the intent's token (returned at creation). `Debug` does not show the API key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hub2Connection {
    /// The API base URL, standing for `https://api.hub2.io` (`http://127.0.0.1:PORT/hub2`).
    pub base_url: String,
    /// The `ApiKey` header.
    pub api_key: String,
    /// The `MerchantId` header.
    pub merchant_id: String,
    /// The `Environment` header the sandbox accepts (`sandbox`).
    pub environment: String,
    /// The sandbox's stand-in for the merchant's payer page, as a template with `{intent_id}`
    /// (what the client's `payer_page_url` takes; see [Payer pages](self#payer-pages)).
    pub payer_page_url: String,
    /// The currencies an intent may be created in.
    pub currencies: Vec<String>,
    /// The delays before each webhook retry, in real time (the sandbox divides them by its time
    /// divisor).
    pub webhook_retry_delays: Vec<Duration>,
}

impl fmt::Debug for Hub2Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub2Connection")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("merchant_id", &self.merchant_id)
            .field("environment", &self.environment)
            .field("payer_page_url", &self.payer_page_url)
            .field("currencies", &self.currencies)
            .field("webhook_retry_delays", &self.webhook_retry_delays)
            .finish()
    }
}

/// What the sandbox's HUB2 is reached with.
pub(crate) fn connection(app: &App) -> Hub2Connection {
    let base_url = app.provider_url(Provider::Hub2);
    let c = &app.credentials;
    Hub2Connection {
        payer_page_url: format!("{base_url}/_sandbox/pay/{{intent_id}}"),
        base_url,
        api_key: c.hub2_api_key.clone(),
        merchant_id: c.hub2_merchant_id.clone(),
        environment: c.hub2_environment.clone(),
        currencies: routes::CURRENCIES.iter().map(|c| (*c).to_owned()).collect(),
        webhook_retry_delays: webhooks::retry_delays(),
    }
}

/// In-memory store: intents, webhooks, and the key that signs intent tokens.
pub(crate) struct State {
    store: Mutex<Store>,
    jwt_key: [u8; 32],
}

impl Default for State {
    fn default() -> Self {
        let mut jwt_key = [0u8; 32];
        jwt_key.iter_mut().for_each(|b| *b = fastrand::u8(..));
        State {
            store: Mutex::new(Store::default()),
            jwt_key,
        }
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

pub(crate) fn router() -> Router<App> {
    routes::router()
}

fn conflict(action: &str, status: &str) -> ControlError {
    ControlError::Conflict {
        action: action.to_owned(),
        status: status.to_owned(),
    }
}

pub(crate) async fn act(app: &App, id: &str, action: PayerAction) -> Result<Value, ControlError> {
    let (view, events) = {
        let mut store = lock(&app.hub2.store);
        let intent = store.intent_mut(id).ok_or_else(|| ControlError::NotFound {
            provider: Provider::Hub2,
            id: id.to_owned(),
        })?;
        let name = match &action {
            PayerAction::Pay => "pay",
            PayerAction::Fail => "fail",
            PayerAction::Cancel => "cancel",
            PayerAction::Expire => "expire",
            PayerAction::RequireOtp => "require an OTP for",
            PayerAction::SubmitOtp(_) => "submit a one-time code for",
            PayerAction::SetStatus(_) => "set the status of",
        };
        let needs_open = !matches!(action, PayerAction::SetStatus(_));
        if needs_open && !intent.is_open() {
            return Err(conflict(name, &intent.status));
        }
        let events = match action {
            PayerAction::Pay => intent.settle(Settle::Succeeded),
            PayerAction::Fail => intent.settle(Settle::INSUFFICIENT_FUNDS),
            PayerAction::Cancel => intent.settle(Settle::Canceled),
            PayerAction::Expire => {
                let expiry = intent.expiry();
                intent.settle(expiry)
            }
            PayerAction::RequireOtp => intent.require_otp(),
            PayerAction::SubmitOtp(code) => match intent.authenticate(&code) {
                Ok(events) => events,
                Err(OtpProblem::WrongCode) => return Err(ControlError::WrongOtp),
                Err(OtpProblem::NotPending) => return Err(conflict(name, &intent.status)),
            },
            PayerAction::SetStatus(raw) => intent.set_raw_status(raw),
        };
        (intent.json(false), events)
    };
    webhooks::dispatch(app, id, events);
    Ok(view)
}

/// Settles attempt `payment_id` of `intent_id` after the auto-outcome delay, if it is still the
/// open attempt then.
fn schedule_settle(app: &App, intent_id: &str, payment_id: &str, how: Settle) {
    let app = app.clone();
    let (intent_id, payment_id) = (intent_id.to_owned(), payment_id.to_owned());
    let delay = app.scaled(app.auto_outcome_delay);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let events = {
            let mut store = lock(&app.hub2.store);
            match store.intent_mut(&intent_id) {
                Some(intent)
                    if intent.is_open()
                        && intent.open_attempt().is_some_and(|a| a.id == payment_id) =>
                {
                    intent.settle(how)
                }
                _ => return,
            }
        };
        webhooks::dispatch(&app, &intent_id, events);
    });
}

pub(crate) fn payments(app: &App) -> Vec<Value> {
    lock(&app.hub2.store)
        .intents
        .iter()
        .map(|i| i.json(false))
        .collect()
}

pub(crate) fn info(app: &App) -> Value {
    let c = connection(app);
    let base = &c.base_url;
    json!({
        "base_url": base,
        "headers": {
            "ApiKey": c.api_key,
            "MerchantId": c.merchant_id,
            "Environment": c.environment,
        },
        "payer_calls": "attempts (/payments, /payments/sync), /authentication and GET /payment-intents/{id}/status?token= use the intent token returned at creation, not the API key",
        "otp": crate::SANDBOX_OTP,
        "list": format!("GET {base}/payment-intents?purchaseReference=&customerReference=&from=&to=&page=&perPage= (defaults: from the first day of this month, page 1, 10 per page)"),
        "currencies": c.currencies.join(", "),
        "webhooks": format!("POST {base}/webhooks {{url, events[]}} answers the signing secret; deliveries carry Hub2-Signature: s1=<hex HMAC-SHA256 of the body> (and s0=<previous secret> for 24 h after registering the same URL again)"),
        "webhook_retries": "10 attempts: after 60, 146, 354, 861, 2092, 5084, 12354, 30021, 72951 s (about 34 h), divided by the time divisor",
        "checkout": format!("{base}/_sandbox/checkout/{{paymentId}} (where Wave and card redirections point)"),
        "payer_page": c.payer_page_url,
        "payer_page_usage": "HUB2 hosts no payer page: this one stands in for the merchant's (Hub2Config::payer_page_url), running the attempt and its next action through the payer API; add ?return_url=<percent-encoded http(s) URL> to send the payer there once paid",
        "magic_amounts": "XOF amounts ending in 01 fail the attempt, 02 let it expire, 03 have the payer cancel it (each leaves the intent payment_required, payable by another attempt), 05 pay",
    })
}
