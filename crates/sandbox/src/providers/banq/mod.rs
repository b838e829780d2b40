//! Banq: the Open API for inbound payments (payment links), its Auth0 token issuer, the merchant
//! user's account spaces, the webhook configuration, and unsigned webhooks confirmed by
//! fetch-back.
//!
//! Sources: Banq's integration guide for dynamic payments (`GENERATE_PAYMENT_LINK.md`: the Auth0
//! token, `get-paid-link`, the webhook subscription and the fetch-back), and for the answers the
//! shapes the `payments-banq` crate's tests assume (Banq publishes its request bodies, not its
//! answers; the crate's fixtures say which are documented and which are guessed). JSON is built
//! here by hand, never from the client crate's types.
//!
//! Connection details: [`crate::RunningSandbox::banq`] ([`BanqConnection`]).
//!
//! # Routes (under `/banq`)
//! | route | what | token |
//! |---|---|---|
//! | `POST /oauth/token` | Auth0 password grant (JSON, or form-encoded as Auth0 also takes) | — |
//! | `POST /api/v1/payments/get-paid-link` | a payment link, one-off (`frequency: "once"`) or recurring (`startDate`/`endDate`) → `{"id", "link"}` | Open API |
//! | `GET /api/v1/payments/{id}` | the payment: `id`, `status`, `funds` (exact JSON number), `comment`, `externalOrderCode`, `frequency`, `createdAt`, `failureReason` when failed, `startDate`/`endDate` when given | Open API |
//! | `GET /api/v1/users/me?include=accountSpaces,banqAccounts` | the merchant user, with the lists named in `include` | merchant user |
//! | `POST /api/v1/account-spaces/{accountSpaceId}/webhook-config` | where webhooks go (`url`, `enabled`, `retryCount`, `webHookTypes`) → 201 with the stored configuration and an `id` | either |
//! | `GET /link/{code}` | the payment link's page (the sandbox's stand-in for what a Banq payment link opens): HTML with the amount, the payee, and buttons to pay, fail or cancel (a one-time-code field instead of Pay while the bank asks for one) | — |
//! | `POST /link/{code}` | the page's buttons: form `action=pay\|fail\|cancel\|otp` (`code=` for `otp`); the payer acts, then `303` back to the link page, which then says how the payment ended. Banq documents no return URL for a payment link (the payer stays in Banq's app or widget), so the page is the end: it says so | — |
//!
//! API base URL `http://127.0.0.1:PORT/banq/api/v1`, token URL `http://127.0.0.1:PORT/banq/oauth/token`.
//!
//! # Credentials and headers checked
//! - Open API token: `grant_type: "password"`, `client_id` = [`crate::Credentials::banq_client_id`],
//!   `audience: "https://banq.com/open/api/"`, the user name and password under either of the
//!   names the crate supports (`username`/`password`, or the guide's
//!   `client_username`/`client_password`) = `banq_username`/`banq_password`, and `client_secret`
//!   = `banq_client_secret` **when sent** (Banq's guide sends none).
//! - Merchant-user token: `grant_type: "password"`, `client_id` = Banq's fixed public API client
//!   id (`kFLEhEsxxBWCf0X19hAIjbzYaSyn2cim`), `audience: "https://banq.com/api"`, `scope`
//!   (echoed), `username`/`password` = the same `banq_username`/`banq_password` (the sandbox has
//!   one merchant login).
//! - Answers, as Auth0 gives them: `{"access_token", "token_type": "Bearer", "expires_in"}`
//!   (lifetime [`crate::SandboxBuilder::token_lifetime`]); 400 `invalid_request` (missing
//!   parameter), 400 `unsupported_grant_type`, 401 `access_denied` "Unauthorized" (unknown client
//!   or wrong secret), 403 `access_denied` (audience not granted to that client), 403
//!   `invalid_grant` "Wrong email or password.".
//! - Every API call: `Authorization: Bearer <token>` (missing, unknown, expired, or issued for
//!   the other audience: 401) and `X-Company-Id` = [`crate::Credentials::banq_company_id`] (missing:
//!   400, another company: 403). Payment routes take the Open API token, `users/me` the
//!   merchant-user token, `webhook-config` either (the guide does not say which).
//! - API errors use the crate's fixture shape `{"statusCode", "code", "message", "traceId"}`:
//!   400 `ValidationError` (the field named in `message`), 401 `Unauthorized`, 403 `Forbidden`,
//!   404 `PaymentNotFound` / `AccountSpaceNotFound`.
//!
//! The merchant has one company, two account spaces (`Shop` holding the destination account
//! [`BanqConnection::destination_banq_guid`], `Personal` holding a savings account);
//! `destination.banqGuid` must be one of these accounts (else 400). `GET /_sandbox` lists them.
//!
//! # Statuses and payer actions
//! `pending` at creation. [`PayerAction`]:
//! - `Pay`: `pending`/`processing` → `completed`; `Fail`: → `failed` (`failureReason`
//!   `InsufficientBalance`); `Cancel`: `pending` → `cancelled`.
//! - `RequireOtp`: a `pending` payment waits for the payer's one-time code (the API still says
//!   `pending`; `Pay` is refused until the code is entered); `SubmitOtp`: [`crate::SANDBOX_OTP`]
//!   → `completed`, anything else [`ControlError::WrongOtp`].
//! - `Expire`: [`ControlError::Unsupported`] — Banq documents no expiry of payment links (so a
//!   magic amount ending in 02 leaves the payment pending).
//! - `SetStatus(raw)`: stored and reported verbatim, from any status.
//! - Anything from `completed`, `failed`, `cancelled` or an undocumented status:
//!   [`ControlError::Conflict`].
//!
//! Magic amounts ([`crate::magic`]) apply to `funds` in cents.
//!
//! # Webhooks
//! Unsigned, as Banq's: `POST` with `Content-Type: application/json` and the body
//! `{"action":"<new status>","resourceType":"Payment","resourceId":"<payment id>"}` for every
//! status change (the documented one is `action: "completed"`, the trigger of the fetch-back;
//! the other actions are the sandbox's assumption). They go to the configuration registered
//! with `webhook-config` on the account space holding the payment's destination account
//! (when `enabled` and `webHookTypes` has `payment`), else to the console URL
//! (`PUT /_sandbox/banq/webhook-url`), else nowhere. The only integrity check is Banq's own:
//! `GET /payments/{resourceId}` (the crate's `BanqClient::confirm`).
//!
//! Retries: `retryCount` more attempts after the first (the documented field; 5 in Banq's
//! example, 5 too when only the console URL is set). Banq does not publish the delays: the
//! sandbox waits 1, 2, 4, 8, 16, 32 then 60 minutes between attempts (an assumption), divided
//! by the time divisor.
//!
//! # Not emulated
//! Cancellation and refunds (Banq documents neither); `Transaction` webhooks and the charges of
//! a recurring link after the first (a recurring link is one payment whose status is the first
//! charge's); refresh tokens (`offline_access` issues none here); the Checkout widget; payers'
//! bank accounts and balances (the failure reason is always `InsufficientBalance`).

mod auth;
mod model;
mod page;
mod routes;
mod webhooks;

use std::fmt;
use std::sync::Mutex;

use axum::Router;
use payments_banq::config::{BANQ_API_AUDIENCE, BANQ_API_CLIENT_ID, OPEN_API_AUDIENCE};
use payments_core::Currency;
use serde_json::{Value, json};

use crate::app::App;
use crate::support::{Tokens, lock};
use crate::{ControlError, PayerAction, Provider};
use model::{ACCOUNT_SPACE_ID, DESTINATION_GUID, Payment, Store};
use page::link_url;

/// What a client needs to use the sandbox's Banq ([`crate::RunningSandbox::banq`]).
///
/// Both of Banq's token flows use the same merchant login (`username`, `password`): the Open API
/// (payment links) with `client_id` and the Open API audience, the merchant user (`users/me`, to
/// find the account space of a webhook configuration) with Banq's public API client. Every API
/// call sends `X-Company-Id: company_id`. `Debug` shows neither the client secret nor the
/// password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BanqConnection {
    /// The provider's URL (`http://127.0.0.1:PORT/banq`).
    pub base_url: String,
    /// The API base URL, standing for `https://sandbox.banq.com/api/v1` (`{base_url}/api/v1`).
    pub api_base_url: String,
    /// The Auth0 token endpoint (`{base_url}/oauth/token`).
    pub token_url: String,
    /// The `X-Company-Id` header.
    pub company_id: String,
    /// The Open API client id.
    pub client_id: String,
    /// The Open API client secret (optional in the token request: checked only when sent).
    pub client_secret: String,
    /// The merchant login's user name (both token flows).
    pub username: String,
    /// The merchant login's password (both token flows).
    pub password: String,
    /// The audience of Open API tokens.
    pub open_api_audience: String,
    /// The client id of merchant-user tokens (Banq's public API client).
    pub merchant_user_client_id: String,
    /// The audience of merchant-user tokens.
    pub merchant_user_audience: String,
    /// The merchant's receiving account (`destination.banqGuid` of a payment link).
    pub destination_banq_guid: String,
    /// The account space holding the receiving account (where its webhook configuration goes).
    pub account_space_id: String,
    /// The currency of `funds`.
    pub currency: Currency,
}

impl fmt::Debug for BanqConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BanqConnection")
            .field("base_url", &self.base_url)
            .field("api_base_url", &self.api_base_url)
            .field("token_url", &self.token_url)
            .field("company_id", &self.company_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("open_api_audience", &self.open_api_audience)
            .field("merchant_user_client_id", &self.merchant_user_client_id)
            .field("merchant_user_audience", &self.merchant_user_audience)
            .field("destination_banq_guid", &self.destination_banq_guid)
            .field("account_space_id", &self.account_space_id)
            .field("currency", &self.currency)
            .finish()
    }
}

/// In-memory store.
#[derive(Debug, Default)]
pub(crate) struct State {
    tokens: Tokens,
    store: Mutex<Store>,
}

pub(crate) fn router() -> Router<App> {
    routes::router()
}

/// What the sandbox's Banq is reached with.
pub(crate) fn connection(app: &App) -> BanqConnection {
    let base_url = app.provider_url(Provider::Banq);
    let c = &app.credentials;
    BanqConnection {
        api_base_url: format!("{base_url}/api/v1"),
        token_url: format!("{base_url}/oauth/token"),
        base_url,
        company_id: c.banq_company_id.clone(),
        client_id: c.banq_client_id.clone(),
        client_secret: c.banq_client_secret.clone(),
        username: c.banq_username.clone(),
        password: c.banq_password.clone(),
        open_api_audience: OPEN_API_AUDIENCE.to_owned(),
        merchant_user_client_id: BANQ_API_CLIENT_ID.to_owned(),
        merchant_user_audience: BANQ_API_AUDIENCE.to_owned(),
        destination_banq_guid: DESTINATION_GUID.to_owned(),
        account_space_id: ACCOUNT_SPACE_ID.to_owned(),
        currency: Currency::USD,
    }
}

/// The control view: the API's fields (with `funds` as exact text) and the sandbox's own.
fn view(app: &App, p: &Payment) -> Value {
    json!({
        "id": p.id,
        "status": p.status,
        "failureReason": p.failure_reason,
        "funds": p.funds.to_string(),
        "currency": "USD",
        "comment": p.comment,
        "externalOrderCode": p.external_order_code,
        "frequency": p.frequency,
        "startDate": p.start_date,
        "endDate": p.end_date,
        "createdAt": p.created_at,
        "destination": { "banqGuid": p.destination },
        "link": link_url(app, &p.code),
        "awaitingOtp": p.awaiting_otp,
    })
}

/// The simulated payer (control endpoints, magic amounts, the link page).
pub(crate) async fn act(app: &App, id: &str, action: PayerAction) -> Result<Value, ControlError> {
    let (view, notice) = {
        let mut store = lock(&app.banq.store);
        let Some(payment) = store.payments.iter_mut().find(|p| p.id == id) else {
            return Err(ControlError::NotFound {
                provider: Provider::Banq,
                id: id.to_owned(),
            });
        };
        let before = payment.status.clone();
        payment.apply(action)?;
        let payment = payment.clone();
        let notice = (payment.status != before)
            .then(|| webhooks::notice(app, &store, &payment))
            .flatten();
        (view(app, &payment), notice)
    };
    if let Some(notice) = notice {
        app.deliver(notice);
    }
    Ok(view)
}

pub(crate) fn payments(app: &App) -> Vec<Value> {
    lock(&app.banq.store)
        .payments
        .iter()
        .map(|p| view(app, p))
        .collect()
}

pub(crate) fn info(app: &App) -> Value {
    let c = connection(app);
    let configs: Vec<Value> = lock(&app.banq.store)
        .configs
        .iter()
        .map(|(space, config)| json!({ "accountSpaceId": space, "config": config.answer() }))
        .collect();
    json!({
        "base_url": c.base_url,
        "api_base_url": c.api_base_url,
        "token_url": c.token_url,
        "company_id": c.company_id,
        "open_api": {
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "username": c.username,
            "password": c.password,
            "audience": c.open_api_audience,
            "field_names": "username/password or client_username/client_password",
            "client_secret_note": "optional: checked only when sent",
        },
        "merchant_user": {
            "client_id": c.merchant_user_client_id,
            "username": c.username,
            "password": c.password,
            "audience": c.merchant_user_audience,
            "scope": "offline_access",
        },
        "destination_banq_guid": c.destination_banq_guid,
        "account_space_id": c.account_space_id,
        "currency": c.currency.code(),
        "webhooks": "unsigned JSON {action, resourceType, resourceId}; sent to the webhook-config of the destination's account space, else to the console URL; confirm by GET /payments/{resourceId}",
        "webhook_url": app.webhook_url(Provider::Banq),
        "webhook_configs": configs,
    })
}
