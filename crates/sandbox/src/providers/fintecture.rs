//! Fintecture PIS v2 (pay by bank, immediate transfer), under `/fintecture`.
//!
//! Sources: Fintecture's guide *Initiate an Immediate Transfer* and API reference
//! (<https://docs.fintecture.com>), its *Pagination* guide
//! (<https://doc.fintecture.com/docs/api-pagination>), and the `payments-fintecture` crate's
//! fixtures (`crates/fintecture/tests/fixtures`). What none of them spells out is marked
//! *assumed* below.
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
//! | SetStatus(raw) | anything | `raw` verbatim, `transfer_state` cleared; `"<status> + <transfer_state>"` (the form of `docs/status-mapping.md`) sets both |
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use payments_core::http::Url;
use payments_core::webhook::{WebhookRequest, constant_time_eq};
use payments_core::{Currency, Money};
use payments_fintecture::signing::{parse_http_date, uuid_v4};
use payments_fintecture::testing::{RequestSignatureVerifier, WebhookSigner};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::app::App;
use crate::deliveries::{Outgoing, Resign};
use crate::faults::lock;
use crate::pages::{self, Button, Input, Page};
use crate::util::{
    TokenProblem, Tokens, form_params, header as header_str, oauth_error, random_hex,
};
use crate::{ControlError, PayerAction, Provider, SANDBOX_OTP};

/// The bank code a sandbox payer "pays" from (`meta.provider`).
const SANDBOX_BANK: &str = "sandboxbank";
/// The merchant account credited (`bank_account_id`).
const BANK_ACCOUNT_ID: &str = "5a4db0c0-0000-4000-8000-00000000f1e7";
/// How far a request's `Date` may be from the sandbox clock.
const MAX_DATE_SKEW: Duration = Duration::from_secs(300);
/// Default `page[size]` (Fintecture's *Pagination* guide).
const DEFAULT_PAGE_SIZE: usize = 100;
/// Longest `communication` (a SEPA remittance text).
const MAX_COMMUNICATION: usize = 140;

/// Webhook retries: 10, exponential (2 s, 4 s, ... 1024 s).
fn retry_delays() -> Vec<Duration> {
    (1..=10u32).map(|n| Duration::from_secs(1 << n)).collect()
}

/// In-memory store: issued tokens, sessions, refunds, settlements.
#[derive(Debug, Default)]
pub(crate) struct State {
    tokens: Tokens,
    store: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    sessions: Vec<Session>,
    refunds: Vec<RefundRecord>,
    settlements: Vec<SettlementRecord>,
}

impl Store {
    fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }
}

#[derive(Debug, Clone)]
struct Session {
    id: String,
    status: String,
    transfer_state: Option<String>,
    amount: Money,
    /// The amount exactly as the merchant sent it (`"273"`, `"550.60"`), echoed back.
    amount_text: String,
    communication: String,
    end_to_end_id: String,
    execution_date: Option<String>,
    scheme: String,
    state: Option<String>,
    redirect_uri: String,
    origin_uri: Option<String>,
    customer_id: String,
    bank: Option<String>,
    created: OffsetDateTime,
    /// `meta` as sent (payer details), for the control view.
    meta: Value,
}

#[derive(Debug, Clone)]
struct RefundRecord {
    id: String,
    session_id: String,
    amount: Money,
    communication: Option<String>,
    state: Option<String>,
    status: &'static str,
}

#[derive(Debug, Clone)]
struct SettlementRecord {
    id: String,
    session_id: String,
    amount: Money,
    date: String,
}

const FINAL_STATUSES: [&str; 4] = [
    "payment_created",
    "payment_cancelled",
    "payment_unsuccessful",
    "payment_expired",
];

const FINAL_TRANSFERS: [&str; 6] = [
    "completed",
    "sent",
    "received",
    "cancelled",
    "rejected",
    "overpaid",
];

impl Session {
    fn is_final(&self) -> bool {
        FINAL_STATUSES.contains(&self.status.as_str())
    }

    /// `payment_created` whose transfer is still moving (`pending`, `processing`...).
    fn transfer_in_progress(&self) -> bool {
        self.status == "payment_created"
            && self
                .transfer_state
                .as_deref()
                .is_some_and(|t| !FINAL_TRANSFERS.contains(&t))
    }

    /// Paid: money arrived and can be refunded.
    fn is_paid(&self) -> bool {
        self.status == "payment_created"
            && matches!(
                self.transfer_state.as_deref(),
                None | Some("completed" | "sent" | "received")
            )
    }

    fn raw_status(&self) -> String {
        match &self.transfer_state {
            Some(t) => format!("{} + {t}", self.status),
            None => self.status.clone(),
        }
    }
}

fn today(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    at.date().format(&format).unwrap_or_default()
}

fn hex_id() -> String {
    random_hex(32)
}

// ------------------------------------------------------------------------------------- answers

/// A refusal in Fintecture's error format: `{"errors":[{"code","title","message"}]}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body =
            json!({"errors": [{"code": self.code, "title": title, "message": self.message}]});
        (self.status, Json(body)).into_response()
    }
}

fn api_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    api_error(StatusCode::BAD_REQUEST, code, message)
}

fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
    api_error(StatusCode::UNAUTHORIZED, code, message)
}

fn not_found_payment() -> ApiError {
    api_error(
        StatusCode::NOT_FOUND,
        "payment_not_found",
        "Payment session not found",
    )
}

fn payment_json(s: &Session, settled: bool) -> Value {
    let mut meta = serde_json::Map::new();
    meta.insert("session_id".into(), json!(s.id));
    meta.insert("status".into(), json!(s.status));
    meta.insert("code".into(), json!(200));
    if let Some(bank) = &s.bank {
        meta.insert("provider".into(), json!(bank));
    }
    meta.insert("is_accepted".into(), json!(s.status == "payment_created"));
    meta.insert("has_settlement_completed".into(), json!(settled));
    meta.insert("type".into(), json!("PayByBank"));
    meta.insert("initial_type".into(), json!("PayByBank"));
    meta.insert("customer_id".into(), json!(s.customer_id));
    json!({
        "meta": meta,
        "data": {
            "id": s.id,
            "type": "payments",
            "attributes": attributes(s, false),
        }
    })
}

fn attributes(s: &Session, with_status: bool) -> Value {
    let mut a = serde_json::Map::new();
    a.insert("amount".into(), json!(s.amount_text));
    a.insert("currency".into(), json!(s.amount.currency().code()));
    a.insert("communication".into(), json!(s.communication));
    a.insert("end_to_end_id".into(), json!(s.end_to_end_id));
    a.insert(
        "execution_date".into(),
        json!(s.execution_date.clone().unwrap_or_else(|| today(s.created))),
    );
    a.insert("payment_scheme".into(), json!(s.scheme));
    if with_status {
        a.insert("status".into(), json!(s.status));
    }
    if let Some(t) = &s.transfer_state {
        a.insert("transfer_state".into(), json!(t));
    }
    a.insert("bank_account_id".into(), json!(BANK_ACCOUNT_ID));
    a.insert("account_type".into(), json!("external"));
    Value::Object(a)
}

fn settlement_json(r: &SettlementRecord) -> Value {
    json!({
        "id": r.id,
        "type": "settlements",
        "attributes": {
            "amount": r.amount.to_decimal_string(),
            "currency": r.amount.currency().code(),
            "status": "completed",
            "execution_date": r.date,
            "communication": format!("FINTECTURE-SETTLEMENT-{}", r.date),
        }
    })
}

// ------------------------------------------------------------------------------ authentication

/// The request target as the client sent it (prefix included: `nest` strips it).
fn request_target(uri: &Uri) -> String {
    let pq = uri.path_and_query().map_or("/", |p| p.as_str());
    if pq.starts_with("/fintecture/") {
        pq.to_owned()
    } else {
        format!("/fintecture{pq}")
    }
}

/// Bearer token, then request signature, as Fintecture checks an API call.
fn authenticate(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    let app_id = &app.credentials.fintecture_app_id;
    match app.fintecture.tokens.check(headers) {
        Ok(subject) if &subject == app_id => {}
        Ok(_) | Err(TokenProblem::Unknown) => {
            return Err(unauthorized(
                "invalid_token",
                "the access token is not valid",
            ));
        }
        Err(TokenProblem::Missing) => {
            return Err(unauthorized(
                "missing_token",
                "Authorization: Bearer <access_token> is required",
            ));
        }
        Err(TokenProblem::Expired) => {
            return Err(unauthorized(
                "token_expired",
                "the access token has expired",
            ));
        }
    }
    let target = request_target(uri);
    let request = WebhookRequest::new(method.as_str(), &target, body)
        .headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    let verifier = RequestSignatureVerifier::new(app_id, app.keys.fintecture_public_key().clone());
    let verified = verifier
        .verify(&request)
        .map_err(|rejection| unauthorized("invalid_signature", rejection.to_string()))?;
    let Some(date) = parse_http_date(&verified.date) else {
        return Err(unauthorized(
            "invalid_signature",
            "the Date header is not an HTTP date",
        ));
    };
    let skew = (OffsetDateTime::now_utc() - date).unsigned_abs();
    if skew > MAX_DATE_SKEW {
        return Err(unauthorized(
            "invalid_signature",
            format!(
                "the Date header is {} s away from the server clock (at most {} s allowed)",
                skew.as_secs(),
                MAX_DATE_SKEW.as_secs()
            ),
        ));
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` text of `pairs`, with the same encoder the clients use.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let Ok(mut url) = Url::parse("http://form.invalid/") else {
        return String::new();
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    url.query().unwrap_or_default().to_owned()
}

// -------------------------------------------------------------------------------------- routes

pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/oauth/accesstoken", post(token))
        .route("/pis/v2/connect", post(connect))
        .route("/pis/v2/payments", get(list_payments))
        .route(
            "/pis/v2/payments/{id}",
            get(get_payment).patch(patch_payment),
        )
        .route("/pis/v2/refund", post(refund))
        .route("/pis/v2/settlements", get(list_settlements))
        .route("/pis/v2/settlements/{id}", get(get_settlement))
        .route("/connect/{id}", get(connect_page).post(connect_action))
}

async fn token(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    let creds = &app.credentials;
    let basic = header_str(&headers, "authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some(basic) = basic else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Authorization: Basic base64(app_id:app_secret) is required",
        );
    };
    let (id, secret) = basic.split_once(':').unwrap_or((basic.as_str(), ""));
    let good = id == creds.fintecture_app_id
        && constant_time_eq(secret.as_bytes(), creds.fintecture_app_secret.as_bytes());
    if !good {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown app_id or wrong app_secret",
        );
    }
    let form_type = header_str(&headers, "content-type").is_some_and(|v| {
        v.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let Some(form) = std::str::from_utf8(&body)
        .ok()
        .and_then(form_params)
        .filter(|_| form_type)
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    if form.get("app_id") != Some(&creds.fintecture_app_id) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "app_id is missing or differs from the authenticated application",
        );
    }
    if !form
        .get("scope")
        .is_some_and(|s| s.split_whitespace().any(|s| s == "PIS"))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must be PIS",
        );
    }
    let lifetime = app.token_lifetime;
    let token = app
        .fintecture
        .tokens
        .issue(&creds.fintecture_app_id, lifetime);
    Json(json!({
        "token_type": "Bearer",
        "access_token": token,
        "expires_in": lifetime.as_secs(),
    }))
    .into_response()
}

fn query_map(uri: &Uri) -> Result<HashMap<String, String>, ApiError> {
    form_params(uri.query().unwrap_or_default())
        .ok_or_else(|| bad_request("invalid_request", "the query string is not valid"))
}

fn is_http_url(text: &str) -> bool {
    Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn opt_str<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad_request(
            "invalid_request",
            format!("{key} must be a string"),
        )),
    }
}

async fn connect(
    AxState(app): AxState<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = authenticate(&app, &method, &uri, &headers, &body) {
        return refused.into_response();
    }
    match create_session(&app, &uri, &body) {
        Ok(answer) => Json(answer).into_response(),
        Err(refused) => refused.into_response(),
    }
}

fn create_session(app: &App, uri: &Uri, body: &[u8]) -> Result<Value, ApiError> {
    let query = query_map(uri)?;
    let redirect_uri = query
        .get("redirect_uri")
        .filter(|u| is_http_url(u))
        .ok_or_else(|| {
            bad_request(
                "invalid_redirect_uri",
                "redirect_uri is required and must be an absolute http(s) URL",
            )
        })?
        .clone();
    let origin_uri = match query.get("origin_uri") {
        Some(u) if !is_http_url(u) => {
            return Err(bad_request(
                "invalid_origin_uri",
                "origin_uri must be an absolute http(s) URL",
            ));
        }
        other => other.cloned(),
    };
    let state = query.get("state").filter(|s| !s.is_empty()).cloned();
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|_| bad_request("invalid_request", "the body is not a JSON object"))?;
    let meta = parsed.get("meta").cloned().unwrap_or_else(|| json!({}));
    if !meta.is_object() {
        return Err(bad_request("invalid_request", "meta must be an object"));
    }
    let data = parsed
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| bad_request("invalid_request", "data is required"))?;
    if let Some(kind) = opt_str(data, "type")?
        && kind != "payments"
    {
        return Err(bad_request("invalid_request", "data.type must be payments"));
    }
    let attrs = data
        .get("attributes")
        .filter(|a| a.is_object())
        .ok_or_else(|| bad_request("invalid_request", "data.attributes is required"))?;
    let currency_code = opt_str(attrs, "currency")?
        .ok_or_else(|| bad_request("invalid_currency", "currency is required"))?;
    let currency = Currency::from_code(currency_code).map_err(|_| {
        bad_request(
            "invalid_currency",
            format!("currency {currency_code:?} is not an ISO 4217 code"),
        )
    })?;
    let amount_text = match attrs.get("amount") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => {
            return Err(bad_request("invalid_amount", "amount is required"));
        }
        Some(_) => {
            return Err(bad_request(
                "invalid_amount",
                "amount must be a decimal string (\"550.60\")",
            ));
        }
    };
    let amount = Money::from_decimal_str(&amount_text, currency)
        .ok()
        .filter(|m| m.is_positive())
        .ok_or_else(|| {
            bad_request(
                "invalid_amount",
                format!("amount {amount_text:?} is not a positive amount in {currency_code}"),
            )
        })?;
    let communication = opt_str(attrs, "communication")?
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| bad_request("invalid_communication", "communication is required"))?;
    if communication.chars().count() > MAX_COMMUNICATION {
        return Err(bad_request(
            "invalid_communication",
            format!("communication is longer than {MAX_COMMUNICATION} characters"),
        ));
    }
    let execution_date = opt_str(attrs, "execution_date")?;
    if let Some(date) = execution_date {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(date, &format).map_err(|_| {
            bad_request(
                "invalid_execution_date",
                "execution_date must be YYYY-MM-DD",
            )
        })?;
    }
    let expiry = match meta.get("expiry") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|s| *s > 0).ok_or_else(|| {
            bad_request(
                "invalid_expiry",
                "meta.expiry must be a positive number of seconds",
            )
        })?),
    };
    let id = hex_id();
    let session = Session {
        id: id.clone(),
        status: "order_created".into(),
        transfer_state: None,
        amount,
        amount_text,
        communication: communication.to_owned(),
        end_to_end_id: opt_str(attrs, "end_to_end_id")?.map_or_else(|| id.clone(), str::to_owned),
        execution_date: execution_date.map(str::to_owned),
        scheme: opt_str(attrs, "scheme")?.unwrap_or("SEPA").to_owned(),
        state,
        redirect_uri,
        origin_uri,
        customer_id: hex_id(),
        bank: None,
        created: OffsetDateTime::now_utc(),
        meta,
    };
    lock(&app.fintecture.store).sessions.push(session);
    app.schedule_magic(Provider::Fintecture, &id, amount.minor_units());
    if let Some(seconds) = expiry {
        app.schedule(
            Provider::Fintecture,
            id.clone(),
            PayerAction::Expire,
            Duration::from_secs(seconds),
        );
    }
    let url = format!("{}/connect/{id}", app.provider_url(Provider::Fintecture));
    Ok(json!({"meta": {"session_id": id, "url": url}}))
}

async fn get_payment(
    AxState(app): AxState<App>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = authenticate(&app, &method, &uri, &headers, &body) {
        return refused.into_response();
    }
    let store = lock(&app.fintecture.store);
    match store.session(&id) {
        Some(s) => Json(payment_json(s, settled(&store, &s.id))).into_response(),
        None => not_found_payment().into_response(),
    }
}

fn settled(store: &Store, session_id: &str) -> bool {
    store.settlements.iter().any(|r| r.session_id == session_id)
}

/// `page[number]` and `page[size]` of a list query.
fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let number = |key: &str, default: usize| match query.get(key) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            bad_request(
                "invalid_request",
                format!("{key} must be a positive integer"),
            )
        }),
    };
    Ok((
        number("page[number]", 1)?,
        number("page[size]", DEFAULT_PAGE_SIZE)?,
    ))
}

fn date_filter(query: &HashMap<String, String>, key: &str) -> Result<Option<String>, ApiError> {
    match query.get(key) {
        None => Ok(None),
        Some(v) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(v, &format)
                .map_err(|_| bad_request("invalid_request", format!("{key} must be YYYY-MM-DD")))?;
            Ok(Some(v.clone()))
        }
    }
}

/// One page of `items` with JSON:API `meta` (`totalItems`, `totalPages`) and `links`: absolute
/// URLs under `base` that keep the request's filters.
fn page(
    base: &str,
    query: &HashMap<String, String>,
    items: Vec<Value>,
    number: usize,
    size: usize,
) -> Value {
    let total = items.len();
    let last = total.div_ceil(size).max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip((number - 1).saturating_mul(size))
        .take(size)
        .collect();
    let mut filters: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| k.starts_with("filter["))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    filters.sort_unstable();
    let link = |n: usize| {
        let (n, size) = (n.to_string(), size.to_string());
        let mut pairs = filters.clone();
        pairs.push(("page[number]", &n));
        pairs.push(("page[size]", &size));
        format!("{base}?{}", form_encode(&pairs))
    };
    let mut links = serde_json::Map::new();
    links.insert("self".into(), json!(link(number)));
    if number < last {
        links.insert("next".into(), json!(link(number + 1)));
    }
    if number > 1 {
        links.insert("prev".into(), json!(link((number - 1).min(last))));
    }
    links.insert("last".into(), json!(link(last)));
    json!({
        "meta": {"totalItems": total, "totalPages": last},
        "data": data,
        "links": links,
    })
}

async fn list_payments(
    AxState(app): AxState<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = authenticate(&app, &method, &uri, &headers, &body) {
        return refused.into_response();
    }
    let run = || -> Result<Value, ApiError> {
        let query = query_map(&uri)?;
        let (number, size) = paging(&query)?;
        let from = date_filter(&query, "filter[date_from]")?;
        let to = date_filter(&query, "filter[date_to]")?;
        let status = query.get("filter[status]");
        let communication = query.get("filter[communication]");
        let store = lock(&app.fintecture.store);
        let items: Vec<Value> = store
            .sessions
            .iter()
            .rev()
            .filter(|s| status.is_none_or(|st| &s.status == st))
            .filter(|s| communication.is_none_or(|c| &s.communication == c))
            .filter(|s| {
                let day = today(s.created);
                from.as_ref().is_none_or(|f| &day >= f) && to.as_ref().is_none_or(|t| &day <= t)
            })
            .map(|s| json!({"id": s.id, "type": "payments", "attributes": attributes(s, true)}))
            .collect();
        let base = format!("{}/pis/v2/payments", app.provider_url(Provider::Fintecture));
        Ok(page(&base, &query, items, number, size))
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn patch_payment(
    AxState(app): AxState<App>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    authenticate(&app, &method, &uri, &headers, &body)?;
    let wanted = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("meta")?.get("status")?.as_str().map(str::to_owned));
    let Some(wanted) = wanted else {
        return Err(bad_request(
            "invalid_request",
            "the body must be {\"meta\":{\"status\":\"payment_cancelled\"}}",
        ));
    };
    if wanted != "payment_cancelled" {
        return Err(bad_request(
            "invalid_status",
            format!("a session can only be set to payment_cancelled, not {wanted:?}"),
        ));
    }
    let outgoing = {
        let mut store = lock(&app.fintecture.store);
        let Some(session) = store.session_mut(&id) else {
            return Err(not_found_payment());
        };
        if session.status == "payment_cancelled" {
            None
        } else if session.is_final() {
            return Err(bad_request(
                "invalid_status_transition",
                format!(
                    "the session is {} and cannot be cancelled",
                    session.raw_status()
                ),
            ));
        } else {
            session.status = "payment_cancelled".into();
            Some(webhook(&app, session))
        }
    };
    if let Some(Some((outgoing, resign))) = outgoing {
        app.deliver_with(outgoing, Some(resign));
    }
    Ok(Json(json!({"meta": {"status": "payment_cancelled"}})))
}

async fn refund(
    AxState(app): AxState<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = authenticate(&app, &method, &uri, &headers, &body) {
        return refused.into_response();
    }
    match create_refund(&app, &uri, &body) {
        Ok(v) => Json(v).into_response(),
        Err(refused) => refused.into_response(),
    }
}

fn create_refund(app: &App, uri: &Uri, body: &[u8]) -> Result<Value, ApiError> {
    let query = query_map(uri)?;
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|_| bad_request("invalid_request", "the body is not a JSON object"))?;
    let session_id = parsed
        .get("meta")
        .and_then(|m| m.get("session_id"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("invalid_request", "meta.session_id is required"))?
        .to_owned();
    let attrs = parsed
        .get("data")
        .and_then(|d| d.get("attributes"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let amount_text = match attrs.get("amount") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(bad_request(
                "invalid_amount",
                "amount must be a decimal string (\"1.99\")",
            ));
        }
    };
    let communication = opt_str(&attrs, "communication")?.map(str::to_owned);
    let mut store = lock(&app.fintecture.store);
    let session = store.session(&session_id).ok_or_else(not_found_payment)?;
    if !session.is_paid() {
        return Err(bad_request(
            "invalid_status_transition",
            format!(
                "the session is {}: only a paid session can be refunded",
                session.raw_status()
            ),
        ));
    }
    let paid = session.amount;
    let currency = paid.currency();
    let mut refunded = Money::zero(currency);
    for r in store.refunds.iter().filter(|r| r.session_id == session_id) {
        refunded = refunded
            .checked_add(r.amount)
            .map_err(|_| bad_request("invalid_amount", "refund total out of range"))?;
    }
    let remaining = paid
        .checked_sub(refunded)
        .map_err(|_| bad_request("invalid_amount", "refund total out of range"))?;
    let amount = match &amount_text {
        None => remaining,
        Some(text) => Money::from_decimal_str(text, currency)
            .ok()
            .filter(|m| m.is_positive())
            .ok_or_else(|| {
                bad_request(
                    "invalid_amount",
                    format!("amount {text:?} is not a positive amount in {currency}"),
                )
            })?,
    };
    if !amount.is_positive() || amount.minor_units() > remaining.minor_units() {
        return Err(bad_request(
            "refund_amount_exceeded",
            format!(
                "refunding {} {currency} would exceed the {} {currency} paid ({} already refunded)",
                amount.to_decimal_string(),
                paid.to_decimal_string(),
                refunded.to_decimal_string()
            ),
        ));
    }
    let id = hex_id();
    store.refunds.push(RefundRecord {
        id: id.clone(),
        session_id,
        amount,
        communication,
        state: query.get("state").cloned(),
        status: "refund_waiting",
    });
    Ok(json!({"meta": {"session_id": id, "status": "refund_waiting"}}))
}

async fn list_settlements(
    AxState(app): AxState<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = authenticate(&app, &method, &uri, &headers, &body) {
        return refused.into_response();
    }
    let run = || -> Result<Value, ApiError> {
        let query = query_map(&uri)?;
        let (number, size) = paging(&query)?;
        let from = date_filter(&query, "filter[date_from]")?;
        let to = date_filter(&query, "filter[date_to]")?;
        let store = lock(&app.fintecture.store);
        let items: Vec<Value> = store
            .settlements
            .iter()
            .rev()
            .filter(|r| {
                from.as_ref().is_none_or(|f| &r.date >= f)
                    && to.as_ref().is_none_or(|t| &r.date <= t)
            })
            .map(settlement_json)
            .collect();
        let base = format!(
            "{}/pis/v2/settlements",
            app.provider_url(Provider::Fintecture)
        );
        Ok(page(&base, &query, items, number, size))
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn get_settlement(
    AxState(app): AxState<App>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = authenticate(&app, &method, &uri, &headers, &body) {
        return refused.into_response();
    }
    let store = lock(&app.fintecture.store);
    match store.settlements.iter().find(|r| r.id == id) {
        Some(r) => Json(json!({"data": settlement_json(r)})).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "settlement_not_found",
            "Settlement not found",
        )
        .into_response(),
    }
}

// --------------------------------------------------------------------------------- connect page

/// The Connect page's URL for session `id` (what the session's `meta.url` says).
fn connect_url(app: &App, id: &str) -> String {
    format!("{}/connect/{id}", app.provider_url(Provider::Fintecture))
}

/// The Connect page: what is paid, and the payer's buttons while the session is open.
fn connect_view(app: &App, s: &Session, notice: Option<&str>) -> Page {
    let amount = format!("{} {}", s.amount_text, s.amount.currency().code());
    let status = s.raw_status();
    let mut page = Page::new(
        "Fintecture Connect",
        format!("Pay {amount} by bank transfer"),
    )
    .facts(&[
        ("Amount", &amount),
        ("Communication", &s.communication),
        ("Session", &s.id),
        ("Status", &status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    }
    if s.is_final() {
        // Reached from the control plane (or a stale tab): Fintecture's redirect has happened
        // or will not; the page says where the session stands.
        return page.outcome(
            &status,
            "This payment session is closed.",
            Some(s.redirect_uri.as_str()),
        );
    }
    let here = connect_url(app, &s.id);
    if s.status == "sca_required" {
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
            Button::new("pay", "Pay from my bank").sends("action", "pay"),
        );
    }
    page.button(
        &here,
        &[],
        Button::new("fail", "The bank refuses").sends("action", "fail"),
    )
    .button(
        &here,
        &[],
        Button::new("cancel", "Cancel").sends("action", "cancel"),
    )
}

/// `GET /connect/{session_id}`.
async fn connect_page(AxState(app): AxState<App>, Path(id): Path<String>) -> Response {
    let session = lock(&app.fintecture.store).session(&id).cloned();
    match session {
        Some(s) => connect_view(&app, &s, None).render(),
        None => pages::not_found("Fintecture Connect", "payment session"),
    }
}

/// `POST /connect/{session_id}` (form `action=pay|fail|cancel|otp`, `code=` for `otp`): the payer
/// acts, then `303` to the session's `redirect_uri` with Fintecture's query (`session_id`,
/// `status`, `provider`, `customer_id`, `state`), or to `origin_uri` after a cancel when given.
async fn connect_action(
    AxState(app): AxState<App>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(action) = pages::form_fields(&body)
        .as_ref()
        .and_then(pages::form_action)
    else {
        return pages::bad_form(
            "Fintecture Connect",
            "action=pay, fail, cancel, or otp with a code",
        );
    };
    let cancelled = action == PayerAction::Cancel;
    let here = connect_url(&app, &id);
    if let Err(e) = act(&app, &id, action).await {
        let session = lock(&app.fintecture.store).session(&id).cloned();
        return match (e, session) {
            (ControlError::WrongOtp, Some(s)) => {
                connect_view(&app, &s, Some("Wrong one-time code: try again."))
                    .status(StatusCode::UNPROCESSABLE_ENTITY)
                    .render()
            }
            (e, _) => pages::refused("Fintecture Connect", &e, &here),
        };
    }
    let location = {
        let store = lock(&app.fintecture.store);
        let Some(s) = store.session(&id) else {
            return pages::not_found("Fintecture Connect", "payment session");
        };
        let back = match (&s.origin_uri, cancelled) {
            (Some(origin), true) => origin,
            _ => &s.redirect_uri,
        };
        let Ok(mut url) = Url::parse(back) else {
            return pages::refused(
                "Fintecture Connect",
                &ControlError::Unsupported("the session's redirect_uri is not a URL".into()),
                &here,
            );
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("session_id", &s.id)
                .append_pair("status", &s.status)
                .append_pair("provider", s.bank.as_deref().unwrap_or(SANDBOX_BANK))
                .append_pair("customer_id", &s.customer_id);
            if let Some(state) = &s.state {
                q.append_pair("state", state);
            }
        }
        url.to_string()
    };
    pages::see_other(&location)
}

// ------------------------------------------------------------------------------------- webhooks

/// The webhook Fintecture sends about `s`'s current status, if a URL is configured.
fn webhook(app: &App, s: &Session) -> Option<(Outgoing, Resign)> {
    let url = app.webhook_url(Provider::Fintecture)?;
    let event = format!("payment_session.status.{}", s.status);
    let amount = s.amount.to_decimal_string();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("session_id", &s.id),
        ("status", &s.status),
        ("customer_id", &s.customer_id),
    ];
    if let Some(bank) = &s.bank {
        pairs.push(("provider", bank));
    }
    if let Some(state) = &s.state {
        pairs.push(("state", state));
    }
    pairs.push(("event", &event));
    pairs.push(("type", "PayByBank"));
    if let Some(t) = &s.transfer_state {
        pairs.push(("transfer_state", t));
    }
    pairs.push(("amount", &amount));
    pairs.push(("currency", s.amount.currency().code()));
    let body = form_encode(&pairs);
    let signer = WebhookSigner::new(
        &app.credentials.fintecture_app_id,
        app.keys.fintecture_public_key().clone(),
    );
    // One X-Request-ID per delivery; every attempt is signed afresh with its own `Date`, so a
    // retry 30 minutes later still passes the receiver's freshness window.
    let request_id = uuid_v4();
    let sign = move |body: &str| -> Option<Vec<(String, String)>> {
        match signer.sign(body.as_bytes(), OffsetDateTime::now_utc(), &request_id) {
            Ok(signed) => {
                let mut headers = signed.headers;
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
                Some(headers)
            }
            Err(e) => {
                tracing::warn!(error = %e, "fintecture webhook could not be signed");
                None
            }
        }
    };
    let headers = sign(&body)?;
    let resign_body = body.clone();
    let resign: Resign = Arc::new(move || sign(&resign_body));
    Some((
        Outgoing {
            provider: Provider::Fintecture,
            payment_id: s.id.clone(),
            event,
            url,
            headers,
            body,
            retry_delays: retry_delays(),
        },
        resign,
    ))
}

// ----------------------------------------------------------------------------------- the payer

fn conflict(action: &str, s: &Session) -> ControlError {
    ControlError::Conflict {
        action: action.to_owned(),
        status: s.raw_status(),
    }
}

/// The payer paid: `payment_created` + `completed`, and the money settled.
fn pay(store: &mut Store, id: &str) {
    if let Some(s) = store.session_mut(id) {
        s.status = "payment_created".into();
        s.transfer_state = Some("completed".into());
    }
    settle(store, id);
}

/// Records the payer's bank and the settlement of a paid session (once).
fn settle(store: &mut Store, id: &str) {
    let Some(s) = store.session_mut(id) else {
        return;
    };
    s.bank.get_or_insert_with(|| SANDBOX_BANK.into());
    let (session_id, amount) = (s.id.clone(), s.amount);
    if !store.settlements.iter().any(|r| r.session_id == session_id) {
        store.settlements.push(SettlementRecord {
            id: uuid_v4(),
            session_id,
            amount,
            date: today(OffsetDateTime::now_utc()),
        });
    }
}

pub(crate) async fn act(app: &App, id: &str, action: PayerAction) -> Result<Value, ControlError> {
    let (view, outgoing) = {
        let mut store = lock(&app.fintecture.store);
        let Some(s) = store.session_mut(id) else {
            return Err(ControlError::NotFound {
                provider: Provider::Fintecture,
                id: id.to_owned(),
            });
        };
        let open = !s.is_final();
        match action {
            PayerAction::Pay => {
                if s.status == "sca_required" {
                    return Err(conflict("pay (submit the one-time code)", s));
                }
                if !(open || s.transfer_in_progress()) {
                    return Err(conflict("pay", s));
                }
                pay(&mut store, id);
            }
            PayerAction::Fail => {
                if s.transfer_in_progress() {
                    s.transfer_state = Some("rejected".into());
                } else if open {
                    s.status = "payment_unsuccessful".into();
                    s.bank.get_or_insert_with(|| SANDBOX_BANK.into());
                } else {
                    return Err(conflict("fail", s));
                }
            }
            PayerAction::Cancel => {
                if !open {
                    return Err(conflict("cancel", s));
                }
                s.status = "payment_cancelled".into();
            }
            PayerAction::Expire => {
                if !open {
                    return Err(conflict("expire", s));
                }
                s.status = "payment_expired".into();
            }
            PayerAction::RequireOtp => {
                if !open {
                    return Err(conflict("require a one-time code for", s));
                }
                s.status = "sca_required".into();
                s.bank.get_or_insert_with(|| SANDBOX_BANK.into());
            }
            PayerAction::SubmitOtp(code) => {
                if s.status != "sca_required" {
                    return Err(conflict("submit a one-time code for", s));
                }
                if !constant_time_eq(code.as_bytes(), SANDBOX_OTP.as_bytes()) {
                    return Err(ControlError::WrongOtp);
                }
                pay(&mut store, id);
            }
            PayerAction::SetStatus(raw) => {
                match raw.split_once(" + ") {
                    Some((status, transfer)) => {
                        s.status = status.trim().to_owned();
                        s.transfer_state = Some(transfer.trim().to_owned());
                    }
                    None => {
                        s.status = raw;
                        s.transfer_state = None;
                    }
                }
                if s.is_paid() {
                    settle(&mut store, id);
                }
            }
        }
        let Some(s) = store.session(id) else {
            return Err(ControlError::NotFound {
                provider: Provider::Fintecture,
                id: id.to_owned(),
            });
        };
        let view = payment_json(s, settled(&store, id));
        (view, webhook(app, s))
    };
    if let Some((outgoing, resign)) = outgoing {
        app.deliver_with(outgoing, Some(resign));
    }
    Ok(view)
}

pub(crate) fn payments(app: &App) -> Vec<Value> {
    let store = lock(&app.fintecture.store);
    store
        .sessions
        .iter()
        .map(|s| {
            let mut view = payment_json(s, settled(&store, &s.id));
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
    let base = app.provider_url(Provider::Fintecture);
    let keys = &app.keys;
    json!({
        "base_url": base,
        "token_url": format!("{base}/oauth/accesstoken"),
        "app_id": app.credentials.fintecture_app_id,
        "app_secret": app.credentials.fintecture_app_secret,
        "private_key_pem": keys.fintecture_private_key_pem(),
        "public_key_pem": keys.fintecture_public_key().to_pem(),
        "request_signatures": "required on every /pis/v2 call (Digest, Date, X-Request-ID, Signature; keyId = app_id)",
        "webhook_url": app.webhook_url(Provider::Fintecture),
        "webhooks": "form-urlencoded, Signature RSA-OAEP-encrypted with the public key; set the URL with PUT /_sandbox/fintecture/webhook-url {\"url\": ...}",
        "connect_page": format!("{base}/connect/{{session_id}}"),
    })
}
