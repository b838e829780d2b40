//! Banq: the Open API for inbound payments (payment links), its Auth0 token issuer, the merchant
//! user's account spaces, the webhook configuration, and unsigned webhooks confirmed by
//! fetch-back.
//!
//! Sources: Banq's integration guide *Generate Payment Link* (`docs/GENERATE_PAYMENT_LINK.md` in
//! <https://github.com/mybanq/checkout-widget>), its Open API documentation
//! (<https://docs.banq.com>, <https://developers.banq.com>), and the assumed answer shapes of the
//! crate's fixtures (`crates/banq/tests/fixtures`, whose README says which are documented and
//! which are guessed: Banq publishes its request bodies, not its answers).
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
//! - Open API token: `grant_type: "password"`, `client_id` = [`Credentials::banq_client_id`],
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
//!   the other audience: 401) and `X-Company-Id` = [`Credentials::banq_company_id`] (missing:
//!   400, another company: 403). Payment routes take the Open API token, `users/me` the
//!   merchant-user token, `webhook-config` either (the guide does not say which).
//! - API errors use the crate's fixture shape `{"statusCode", "code", "message", "traceId"}`:
//!   400 `ValidationError` (the field named in `message`), 401 `Unauthorized`, 403 `Forbidden`,
//!   404 `PaymentNotFound` / `AccountSpaceNotFound`.
//!
//! The merchant has one company, two account spaces (`Shop` holding the destination account of
//! [`DESTINATION_GUID`], `Personal` holding a savings account); `destination.banqGuid` must be
//! one of these accounts (else 400). `GET /_sandbox` lists them.
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

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payments_banq::config::{BANQ_API_AUDIENCE, BANQ_API_CLIENT_ID, OPEN_API_AUDIENCE};
use payments_core::{Currency, Decimal, Money};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::deliveries::Outgoing;
use crate::faults::lock;
use crate::pages::{self, Button, Input, Page};
use crate::util::{
    TokenProblem, Tokens, form_params, header as header_value, new_id, now_rfc3339, oauth_error,
    random_hex,
};
use crate::{ControlError, PayerAction, Provider, SANDBOX_OTP};

/// The banq guid of the merchant's receiving account (in the `Shop` account space).
pub(crate) const DESTINATION_GUID: &str = "5b1c4e2a-0d7f-4a3b-9e8c-1f2a3b4c5d6e";
/// The account space holding [`DESTINATION_GUID`].
pub(crate) const ACCOUNT_SPACE_ID: &str = "as-sandbox-shop";
/// A second account (savings) in a second account space.
const SAVINGS_GUID: &str = "0d9e2b6a-1c4f-4e7d-8a5b-3f6c1e2d9b80";
const SAVINGS_SPACE_ID: &str = "as-sandbox-personal";
/// The merchant user's id in `users/me`.
const USER_ID: &str = "8e6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

/// Retries when only the console URL is set (Banq's documented example `retryCount`).
const DEFAULT_RETRY_COUNT: u32 = 5;
/// Largest `retryCount` accepted (Banq publishes no limit; this keeps the schedule bounded).
const MAX_RETRY_COUNT: u64 = 20;

/// The merchant's accounts: (banq guid, name, account space id).
const ACCOUNTS: [(&str, &str, &str); 2] = [
    (DESTINATION_GUID, "Shop receipts", ACCOUNT_SPACE_ID),
    (SAVINGS_GUID, "Savings", SAVINGS_SPACE_ID),
];
/// The merchant's account spaces: (id, name).
const SPACES: [(&str, &str); 2] = [(ACCOUNT_SPACE_ID, "Shop"), (SAVINGS_SPACE_ID, "Personal")];

const SUBJECT_OPEN_API: &str = "open-api";
const SUBJECT_MERCHANT_USER: &str = "merchant-user";

/// In-memory store.
#[derive(Debug, Default)]
pub(crate) struct State {
    tokens: Tokens,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// In creation order.
    payments: Vec<Payment>,
    /// Webhook configuration per account space.
    configs: BTreeMap<String, WebhookConfig>,
    next_config_id: u64,
}

#[derive(Debug, Clone)]
struct Payment {
    id: String,
    code: String,
    destination: String,
    /// Raw status, verbatim.
    status: String,
    funds: Decimal,
    comment: Option<String>,
    external_order_code: Option<String>,
    frequency: String,
    start_date: Option<String>,
    end_date: Option<String>,
    failure_reason: Option<String>,
    created_at: String,
    awaiting_otp: bool,
}

#[derive(Debug, Clone)]
struct WebhookConfig {
    id: u64,
    url: String,
    enabled: bool,
    retry_count: u32,
    types: Vec<String>,
}

impl WebhookConfig {
    fn delivers_payments(&self) -> bool {
        self.enabled
            && self
                .types
                .iter()
                .any(|t| t.trim().eq_ignore_ascii_case("payment"))
    }

    fn answer(&self) -> Value {
        json!({
            "id": self.id,
            "url": self.url,
            "enabled": self.enabled,
            "retryCount": self.retry_count,
            "webHookTypes": self.types,
        })
    }
}

pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v1/payments/get-paid-link", post(get_paid_link))
        .route("/api/v1/payments/{id}", get(get_payment))
        .route("/api/v1/users/me", get(users_me))
        .route(
            "/api/v1/account-spaces/{space}/webhook-config",
            post(webhook_config),
        )
        .route("/link/{code}", get(link_page).post(link_action))
}

// ------------------------------------------------------------------ answers

fn json_text(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// An API error in the fixture's shape (`error_404.json`).
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "statusCode": self.status.as_u16(),
            "code": self.code,
            "message": self.message,
            "traceId": new_id(""),
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

fn api_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    api_error(StatusCode::BAD_REQUEST, "ValidationError", message)
}

// ------------------------------------------------------------------ tokens

/// Reads a token request body: a JSON object of strings, or a form.
fn token_params(headers: &HeaderMap, body: &[u8]) -> Option<HashMap<String, String>> {
    let form = header_value(headers, "content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        return form_params(std::str::from_utf8(body).ok()?);
    }
    let object: Map<String, Value> = serde_json::from_slice(body).ok()?;
    Some(
        object
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
    )
}

async fn token(AxumState(app): AxumState<App>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(params) = token_params(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body is not a JSON object or a form",
        );
    };
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let missing = |name: &str| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("Missing required parameter: {name}"),
        )
    };
    let Some(grant_type) = param("grant_type") else {
        return missing("grant_type");
    };
    if grant_type != "password" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        );
    }
    let unauthorized = || oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    let credentials = &app.credentials;
    let client_id = param("client_id").unwrap_or_default();
    let (subject, expected_audience, (username, password)) =
        if client_id == credentials.banq_client_id {
            if param("client_secret").is_some_and(|s| s != credentials.banq_client_secret) {
                return unauthorized();
            }
            let username = param("username").or_else(|| param("client_username"));
            let password = param("password").or_else(|| param("client_password"));
            (SUBJECT_OPEN_API, OPEN_API_AUDIENCE, (username, password))
        } else if client_id == BANQ_API_CLIENT_ID {
            let login = (param("username"), param("password"));
            (SUBJECT_MERCHANT_USER, BANQ_API_AUDIENCE, login)
        } else {
            return unauthorized();
        };
    let Some(audience) = param("audience") else {
        return missing("audience");
    };
    if audience != expected_audience {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            format!(
                "Client is not authorized to access \"{audience}\". You need to create a \
                 client-grant associated to this API."
            ),
        );
    }
    let Some(username) = username else {
        return missing("username");
    };
    let Some(password) = password else {
        return missing("password");
    };
    if username != credentials.banq_username || password != credentials.banq_password {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Wrong email or password.",
        );
    }
    let lifetime = app.token_lifetime;
    let access_token = app.banq.tokens.issue(subject, lifetime);
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
    });
    if let (Some(scope), Some(map)) = (param("scope"), answer.as_object_mut()) {
        map.insert("scope".into(), Value::String(scope.to_owned()));
    }
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// Checks the bearer token (issued for one of `subjects`) and `X-Company-Id`.
fn authorize(app: &App, headers: &HeaderMap, subjects: &[&str]) -> Result<(), ApiError> {
    let subject = app.banq.tokens.check(headers).map_err(|problem| {
        let message = match problem {
            TokenProblem::Missing => "No authorization token was found",
            TokenProblem::Unknown => "invalid token",
            TokenProblem::Expired => "jwt expired",
        };
        api_error(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    })?;
    if !subjects.contains(&subject.as_str()) {
        let expected = if subjects.contains(&SUBJECT_OPEN_API) {
            OPEN_API_AUDIENCE
        } else {
            BANQ_API_AUDIENCE
        };
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            format!("jwt audience invalid. expected: {expected}"),
        ));
    }
    match header_value(headers, "x-company-id") {
        None => Err(invalid("the X-Company-Id header is required")),
        Some(id) if id == app.credentials.banq_company_id => Ok(()),
        Some(id) => Err(api_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("no access to company {id}"),
        )),
    }
}

// ------------------------------------------------------------------ payment links

/// A random id in the UUID v4 form of Banq's ids.
fn uuid() -> String {
    let hex = random_hex;
    let variant = fastrand::choice(['8', '9', 'a', 'b']).unwrap_or('8');
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        hex(8),
        hex(4),
        hex(3),
        hex(3),
        hex(12)
    )
}

/// An 11-character link code, as in `https://link.banq.com/4x1t09WiOjb`.
fn link_code() -> String {
    (0..11).map(|_| fastrand::alphanumeric()).collect()
}

fn date(field: &str, value: Option<&Value>) -> Result<Option<(String, time::Date)>, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => time::Date::parse(text, &format)
            .map(|d| Some((text.clone(), d)))
            .map_err(|_| invalid(format!("{field} must be a date YYYY-MM-DD"))),
        Some(_) => Err(invalid(format!("{field} must be a date YYYY-MM-DD"))),
    }
}

fn optional_text(object: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{field} must be a non-empty string"))),
    }
}

/// `funds` read from the raw JSON text: a positive plain number with at most 2 decimals.
fn funds(body: &[u8]) -> Result<(Decimal, i64), ApiError> {
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        funds: Option<&'a RawValue>,
    }
    let raw: Raw<'_> = serde_json::from_slice(body).map_err(|_| invalid("invalid JSON body"))?;
    let Some(raw) = raw.funds.map(RawValue::get).filter(|t| *t != "null") else {
        return Err(invalid("funds is required"));
    };
    if raw.starts_with('"') {
        return Err(invalid("funds must be a number"));
    }
    let decimal = Decimal::parse(raw)
        .map_err(|_| invalid("funds must be a number in plain decimal notation"))?;
    let money = Money::from_decimal(decimal, Currency::USD)
        .map_err(|_| invalid("funds must have at most 2 decimals"))?;
    if !money.is_positive() {
        return Err(invalid("funds must be greater than 0"));
    }
    Ok((decimal, money.minor_units()))
}

async fn get_paid_link(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&app, &headers, &[SUBJECT_OPEN_API])?;
    let Ok(object) = serde_json::from_slice::<Map<String, Value>>(&body) else {
        return Err(invalid("the body must be a JSON object"));
    };
    let destination = match object
        .get("destination")
        .and_then(|d| d.get("banqGuid"))
        .and_then(Value::as_str)
    {
        Some(guid) if !guid.trim().is_empty() => guid.to_owned(),
        _ => return Err(invalid("destination.banqGuid is required")),
    };
    if !ACCOUNTS.iter().any(|(guid, _, _)| *guid == destination) {
        return Err(invalid(format!(
            "destination.banqGuid {destination} is not a banq account of this company"
        )));
    }
    let (funds, minor_units) = funds(&body)?;
    let comment = optional_text(&object, "comment")?;
    let external_order_code = optional_text(&object, "externalOrderCode")?;
    let frequency = match optional_text(&object, "frequency") {
        Ok(Some(f)) if !f.chars().any(char::is_control) => f,
        Ok(_) => {
            return Err(invalid(
                "frequency is required (\"once\" or a recurring period)",
            ));
        }
        Err(refused) => return Err(refused),
    };
    let start = date("startDate", object.get("startDate"))?;
    let end = date("endDate", object.get("endDate"))?;
    let once = frequency.eq_ignore_ascii_case("once");
    if !once
        && let (Some((_, start)), Some((end_text, end))) = (&start, &end)
        && end < start
    {
        return Err(invalid(format!("endDate {end_text} is before startDate")));
    }
    // The guide: "You don't need to specify startDate or endDate if payment is not recurrent";
    // its own example sends them with "once", so they are accepted and ignored there.
    let (start_date, end_date) = if once {
        (None, None)
    } else {
        (start.map(|(t, _)| t), end.map(|(t, _)| t))
    };
    let payment = Payment {
        id: uuid(),
        code: link_code(),
        destination,
        status: "pending".into(),
        funds,
        comment,
        external_order_code,
        frequency,
        start_date,
        end_date,
        failure_reason: None,
        created_at: now_rfc3339(),
        awaiting_otp: false,
    };
    let answer = json!({
        "id": payment.id,
        "link": link_url(&app, &payment.code),
    });
    let id = payment.id.clone();
    lock(&app.banq.inner).payments.push(payment);
    app.schedule_magic(Provider::Banq, &id, minor_units);
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

fn link_url(app: &App, code: &str) -> String {
    format!("{}/link/{code}", app.provider_url(Provider::Banq))
}

/// The API's answer for a payment: `funds` is written from the exact decimal.
fn payment_answer(p: &Payment) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer<'a> {
        id: &'a str,
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        failure_reason: Option<&'a str>,
        funds: Decimal,
        #[serde(skip_serializing_if = "Option::is_none")]
        comment: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        external_order_code: Option<&'a str>,
        frequency: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        start_date: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        end_date: Option<&'a str>,
        created_at: &'a str,
    }
    serde_json::to_string(&Answer {
        id: &p.id,
        status: &p.status,
        failure_reason: p.failure_reason.as_deref(),
        funds: p.funds,
        comment: p.comment.as_deref(),
        external_order_code: p.external_order_code.as_deref(),
        frequency: &p.frequency,
        start_date: p.start_date.as_deref(),
        end_date: p.end_date.as_deref(),
        created_at: &p.created_at,
    })
    .unwrap_or_default()
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

async fn get_payment(
    AxumState(app): AxumState<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&app, &headers, &[SUBJECT_OPEN_API])?;
    let found = lock(&app.banq.inner)
        .payments
        .iter()
        .find(|p| p.id == id)
        .map(payment_answer);
    match found {
        Some(text) => Ok(json_text(StatusCode::OK, text)),
        None => Err(api_error(
            StatusCode::NOT_FOUND,
            "PaymentNotFound",
            "Payment not found",
        )),
    }
}

/// The payment link's page: what is paid, to whom, and the payer's buttons.
fn link_view(app: &App, p: &Payment, notice: Option<&str>) -> Page {
    let amount = Money::from_decimal(p.funds, Currency::USD)
        .map_or_else(|_| format!("{} USD", p.funds), |m| m.to_string());
    let payee = ACCOUNTS
        .iter()
        .find(|(guid, _, _)| *guid == p.destination)
        .map_or(p.destination.as_str(), |(_, name, _)| *name);
    let shown_status = if p.awaiting_otp {
        format!("{} (awaiting the payer's one-time code)", p.status)
    } else {
        p.status.clone()
    };
    let mut page = Page::new("Banq", format!("Pay {amount}")).facts(&[
        ("Amount", &amount),
        ("To", payee),
        ("For", p.comment.as_deref().unwrap_or("-")),
        ("Order", p.external_order_code.as_deref().unwrap_or("-")),
        ("Payment", &p.id),
        ("Status", &shown_status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    }
    let here = link_url(app, &p.code);
    let pending = is(&p.status, "pending");
    let open = pending || is(&p.status, "processing");
    if !open {
        let explanation = match p.status.trim().to_ascii_lowercase().as_str() {
            "completed" => "Paid: the funds were sent from your banq account.",
            "failed" => "The payment failed (insufficient balance).",
            "cancelled" => "You cancelled this payment.",
            _ => "The payment is no longer open.",
        };
        // Banq documents no return URL for payment links: the payer stays with Banq.
        return page.outcome(&p.status, explanation, None);
    }
    if p.awaiting_otp {
        page = page
            .text(&format!(
                "Your bank asks for a one-time code (the sandbox accepts {SANDBOX_OTP})."
            ))
            .form(
                &here,
                &[("action", "otp")],
                &[Input {
                    name: "code",
                    label: "One-time code",
                    value: "",
                }],
                &[Button::new("otp", "Confirm")],
            );
    } else {
        page = page.button(
            &here,
            &[],
            Button::new("pay", &format!("Pay {amount}")).sends("action", "pay"),
        );
        page = page.button(
            &here,
            &[],
            Button::new("fail", "Pay, but the balance is insufficient").sends("action", "fail"),
        );
    }
    if pending {
        page = page.button(
            &here,
            &[],
            Button::new("cancel", "Cancel").sends("action", "cancel"),
        );
    }
    page
}

fn payment_of_link(app: &App, code: &str) -> Option<Payment> {
    lock(&app.banq.inner)
        .payments
        .iter()
        .find(|p| p.code == code)
        .cloned()
}

/// `GET /link/{code}`: the sandbox's stand-in for Banq's payment-link page.
async fn link_page(AxumState(app): AxumState<App>, Path(code): Path<String>) -> Response {
    match payment_of_link(&app, &code) {
        Some(p) => link_view(&app, &p, None).render(),
        None => pages::not_found("Banq", "payment link"),
    }
}

/// `POST /link/{code}` (form `action=pay|fail|cancel|otp`, `code=` for `otp`): the payer acts,
/// then sees the link page again, which says how the payment ended.
async fn link_action(
    AxumState(app): AxumState<App>,
    Path(code): Path<String>,
    body: Bytes,
) -> Response {
    let Some(p) = payment_of_link(&app, &code) else {
        return pages::not_found("Banq", "payment link");
    };
    let Some(action) = pages::form_fields(&body)
        .as_ref()
        .and_then(pages::form_action)
    else {
        return pages::bad_form("Banq", "action=pay, fail, cancel, or otp with a code");
    };
    let here = link_url(&app, &code);
    match act(&app, &p.id, action).await {
        Ok(_) => pages::see_other(&here),
        Err(ControlError::WrongOtp) => match payment_of_link(&app, &code) {
            Some(p) => link_view(&app, &p, Some("Wrong one-time code: try again."))
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .render(),
            None => pages::not_found("Banq", "payment link"),
        },
        Err(e) => pages::refused("Banq", &e, &here),
    }
}

// ------------------------------------------------------------------ users and webhooks

#[derive(serde::Deserialize)]
struct MeQuery {
    include: Option<String>,
}

async fn users_me(
    AxumState(app): AxumState<App>,
    Query(query): Query<MeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&app, &headers, &[SUBJECT_MERCHANT_USER])?;
    let include: Vec<&str> = query
        .include
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let mut answer = Map::new();
    answer.insert("id".into(), json!(USER_ID));
    answer.insert("email".into(), json!(app.credentials.banq_username));
    if include.contains(&"accountSpaces") {
        let spaces: Vec<Value> = SPACES
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect();
        answer.insert("accountSpaces".into(), Value::Array(spaces));
    }
    if include.contains(&"banqAccounts") {
        let accounts: Vec<Value> = ACCOUNTS
            .iter()
            .map(|(guid, name, space)| json!({ "guid": guid, "name": name, "accountSpaceId": space }))
            .collect();
        answer.insert("banqAccounts".into(), Value::Array(accounts));
    }
    Ok((StatusCode::OK, axum::Json(Value::Object(answer))).into_response())
}

/// An absolute http(s) URL with a host and no spaces.
fn is_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with(['/', '?', '#'])
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

async fn webhook_config(
    AxumState(app): AxumState<App>,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&app, &headers, &[SUBJECT_MERCHANT_USER, SUBJECT_OPEN_API])?;
    if !SPACES.iter().any(|(id, _)| *id == space) {
        return Err(api_error(
            StatusCode::NOT_FOUND,
            "AccountSpaceNotFound",
            "Account space not found",
        ));
    }
    let Ok(object) = serde_json::from_slice::<Map<String, Value>>(&body) else {
        return Err(invalid("the body must be a JSON object"));
    };
    let url = match object.get("url").and_then(Value::as_str) {
        Some(url) if is_url(url) => url.to_owned(),
        _ => return Err(invalid("url must be an absolute http(s) URL")),
    };
    let Some(enabled) = object.get("enabled").and_then(Value::as_bool) else {
        return Err(invalid("enabled must be a boolean"));
    };
    let retry_count = match object.get("retryCount").and_then(Value::as_u64) {
        Some(n) if n <= MAX_RETRY_COUNT => u32::try_from(n).unwrap_or(DEFAULT_RETRY_COUNT),
        _ => {
            return Err(invalid(format!(
                "retryCount must be an integer from 0 to {MAX_RETRY_COUNT}"
            )));
        }
    };
    let types: Option<Vec<String>> = object
        .get("webHookTypes")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .map(|t| {
                    t.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_owned)
                })
                .collect()
        });
    let types = match types {
        Some(types) if !types.is_empty() => types,
        _ => return Err(invalid("webHookTypes must be a non-empty array of strings")),
    };
    let answer = {
        let mut inner = lock(&app.banq.inner);
        inner.next_config_id += 1;
        let config = WebhookConfig {
            id: inner.next_config_id,
            url,
            enabled,
            retry_count,
            types,
        };
        let answer = config.answer();
        inner.configs.insert(space, config);
        answer
    };
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

// ------------------------------------------------------------------ the payer

/// Banq does not publish its retry delays: 1, 2, 4, 8, 16, 32, then 60 minutes (assumed).
fn retry_delays(retry_count: u32) -> Vec<Duration> {
    (0..retry_count)
        .map(|i| Duration::from_secs(60 * 2u64.saturating_pow(i).min(60)))
        .collect()
}

/// Where a notice about a payment into `destination` goes, and how often it is retried.
fn webhook_target(app: &App, inner: &Inner, destination: &str) -> Option<(String, u32)> {
    let space = ACCOUNTS
        .iter()
        .find(|(guid, _, _)| *guid == destination)
        .map(|(_, _, space)| *space)?;
    match inner.configs.get(space) {
        Some(config) if config.delivers_payments() => {
            Some((config.url.clone(), config.retry_count))
        }
        Some(_) => None,
        None => app
            .webhook_url(Provider::Banq)
            .map(|url| (url, DEFAULT_RETRY_COUNT)),
    }
}

fn is(status: &str, value: &str) -> bool {
    status.trim().eq_ignore_ascii_case(value)
}

pub(crate) async fn act(app: &App, id: &str, action: PayerAction) -> Result<Value, ControlError> {
    let (view, outgoing) = {
        let mut inner = lock(&app.banq.inner);
        let index = inner
            .payments
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| ControlError::NotFound {
                provider: Provider::Banq,
                id: id.to_owned(),
            })?;
        let Some(payment) = inner.payments.get_mut(index) else {
            return Err(ControlError::NotFound {
                provider: Provider::Banq,
                id: id.to_owned(),
            });
        };
        let open = is(&payment.status, "pending") || is(&payment.status, "processing");
        let conflict = |action: &str, payment: &Payment| ControlError::Conflict {
            action: action.to_owned(),
            status: if payment.awaiting_otp {
                format!("{} (awaiting the payer's one-time code)", payment.status)
            } else {
                payment.status.clone()
            },
        };
        let before = payment.status.clone();
        match action {
            PayerAction::Pay => {
                if !open || payment.awaiting_otp {
                    return Err(conflict("pay", payment));
                }
                payment.status = "completed".into();
            }
            PayerAction::Fail => {
                if !open {
                    return Err(conflict("fail", payment));
                }
                payment.status = "failed".into();
                payment.failure_reason = Some("InsufficientBalance".into());
                payment.awaiting_otp = false;
            }
            PayerAction::Cancel => {
                if !is(&payment.status, "pending") {
                    return Err(conflict("cancel", payment));
                }
                payment.status = "cancelled".into();
                payment.awaiting_otp = false;
            }
            PayerAction::Expire => {
                return Err(ControlError::Unsupported(
                    "Banq documents no expiry of payment links".into(),
                ));
            }
            PayerAction::RequireOtp => {
                if !is(&payment.status, "pending") || payment.awaiting_otp {
                    return Err(conflict("require a one-time code for", payment));
                }
                payment.awaiting_otp = true;
            }
            PayerAction::SubmitOtp(code) => {
                if !payment.awaiting_otp {
                    return Err(conflict("submit a one-time code for", payment));
                }
                if code != SANDBOX_OTP {
                    return Err(ControlError::WrongOtp);
                }
                payment.awaiting_otp = false;
                payment.status = "completed".into();
            }
            PayerAction::SetStatus(raw) => {
                payment.status = raw;
                payment.awaiting_otp = false;
            }
        }
        let payment = payment.clone();
        let outgoing = (payment.status != before)
            .then(|| webhook_target(app, &inner, &payment.destination))
            .flatten()
            .map(|(url, retry_count)| Outgoing {
                provider: Provider::Banq,
                payment_id: payment.id.clone(),
                event: format!("Payment.{}", payment.status),
                url,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: json!({
                    "action": payment.status,
                    "resourceType": "Payment",
                    "resourceId": payment.id,
                })
                .to_string(),
                retry_delays: retry_delays(retry_count),
            });
        (view(app, &payment), outgoing)
    };
    if let Some(outgoing) = outgoing {
        app.deliver(outgoing);
    }
    Ok(view)
}

pub(crate) fn payments(app: &App) -> Vec<Value> {
    lock(&app.banq.inner)
        .payments
        .iter()
        .map(|p| view(app, p))
        .collect()
}

pub(crate) fn info(app: &App) -> Value {
    let base = app.provider_url(Provider::Banq);
    let c = &app.credentials;
    let configs: Vec<Value> = lock(&app.banq.inner)
        .configs
        .iter()
        .map(|(space, config)| json!({ "accountSpaceId": space, "config": config.answer() }))
        .collect();
    json!({
        "base_url": base,
        "api_base_url": format!("{base}/api/v1"),
        "token_url": format!("{base}/oauth/token"),
        "company_id": c.banq_company_id,
        "open_api": {
            "client_id": c.banq_client_id,
            "client_secret": c.banq_client_secret,
            "username": c.banq_username,
            "password": c.banq_password,
            "audience": OPEN_API_AUDIENCE,
            "field_names": "username/password or client_username/client_password",
            "client_secret_note": "optional: checked only when sent",
        },
        "merchant_user": {
            "client_id": BANQ_API_CLIENT_ID,
            "username": c.banq_username,
            "password": c.banq_password,
            "audience": BANQ_API_AUDIENCE,
            "scope": "offline_access",
        },
        "destination_banq_guid": DESTINATION_GUID,
        "account_space_id": ACCOUNT_SPACE_ID,
        "currency": "USD",
        "webhooks": "unsigned JSON {action, resourceType, resourceId}; sent to the webhook-config of the destination's account space, else to the console URL; confirm by GET /payments/{resourceId}",
        "webhook_url": app.webhook_url(Provider::Banq),
        "webhook_configs": configs,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_banqs() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(id, uuid());
        assert_eq!(link_code().len(), 11);
    }

    #[test]
    fn funds_are_exact_plain_positive_numbers_in_cents() {
        let ok = |text: &str| funds(text.as_bytes()).map(|(d, m)| (d.to_string(), m));
        assert_eq!(
            ok(r#"{"funds":100.10}"#).ok(),
            Some(("100.10".into(), 10_010))
        );
        assert_eq!(ok(r#"{"funds":0.01}"#).ok(), Some(("0.01".into(), 1)));
        for bad in [
            r#"{"funds":"10"}"#,
            r#"{"funds":1e2}"#,
            r#"{"funds":0}"#,
            r#"{"funds":-1}"#,
            r#"{"funds":1.001}"#,
            r#"{"funds":null}"#,
            r#"{}"#,
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_retry_schedule_grows_and_is_capped() {
        let minutes: Vec<u64> = retry_delays(8).iter().map(|d| d.as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert!(retry_delays(0).is_empty());
    }

    #[test]
    fn answers_write_funds_exactly() {
        let p = Payment {
            id: "p".into(),
            code: "c".into(),
            destination: DESTINATION_GUID.into(),
            status: "pending".into(),
            funds: Decimal::parse("1234567890.10").unwrap(),
            comment: None,
            external_order_code: Some("o".into()),
            frequency: "once".into(),
            start_date: None,
            end_date: None,
            failure_reason: None,
            created_at: "2021-06-15T10:21:07.000Z".into(),
            awaiting_otp: false,
        };
        let text = payment_answer(&p);
        assert!(text.contains(r#""funds":1234567890.10,"#), "{text}");
        assert!(
            !text.contains("failureReason") && !text.contains("comment"),
            "{text}"
        );
    }
}
