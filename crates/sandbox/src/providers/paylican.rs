//! Paylican: the Keycloak token endpoint, the Payment Creation API, the payment page, and unsigned
//! invoice webhooks.
//!
//! Sources: Paylican's documentation, "Payment Creation API"
//! (<https://docs.paylican.com/docs/merchant-integration/payment_creation_api>), and production
//! integrations where noted; `[I]` marks what neither shows and the sandbox assumes.
//!
//! ## Configure a client
//! Both of Paylican's base URLs — the Keycloak URL and the Payment URL — are the provider URL
//! (`http://127.0.0.1:PORT/paylican`): `PaylicanConfig::new(url, url, username, password)` with
//! `.realm(..)` and `.client_id(..)` from [`crate::Credentials`] (`paylican_*`).
//!
//! ## Routes (under `/paylican`)
//! | route | what |
//! |---|---|
//! | `POST /auth/realms/{realm}/protocol/openid-connect/token` (also without `/auth`, Keycloak 17+) | Keycloak token endpoint, form-encoded: `grant_type=password` (`username`, `password`, `client_id`) and `grant_type=refresh_token` (`refresh_token`, `client_id`) |
//! | `GET /auth/realms/{realm}/protocol/openid-connect/auth?client_id=..&redirect_uri=..` | Keycloak's login step of the payment page: the sandbox payer is already logged in, so it answers `302` to `redirect_uri` (with `state`, `session_state` and `code` when `response_type=code`) |
//! | `POST /api/v1/payment` | create a payment (an invoice), Bearer token |
//! | `GET /api/v1/pay/{type}/{merchantReference}/{invoiceId}` | the payment page: HTML with the invoice and the payer's buttons (pay, payment error, decline; a one-time-code field instead of Pay while the bank asks for one) |
//! | `POST /api/v1/pay/{type}/{merchantReference}/{invoiceId}` | the page's buttons: form `action=pay\|fail\|cancel\|otp` (`code=` for `otp`). Paid: `303` to the invoice's `redirectionUrl` as given at creation (Paylican documents no query added to it `[I]`), or back to the page when there is none, which then says the invoice is paid. A payment error or a decline leaves the invoice payable: `303` back to the page, which says what happened |
//! | `GET /sandbox-extension/invoice/{invoiceId}` | **sandbox extension, not a Paylican endpoint**: see below |
//!
//! ## Credentials and headers checked
//! - Token endpoint: the realm (`404 {"error":"Realm does not exist"}`), `client_id`
//!   (`401 invalid_client`), user name and password (`401 {"error":"invalid_grant",
//!   "error_description":"Invalid user credentials"}`), the refresh token (`400 invalid_grant
//!   "Token is not active"` when unknown or expired), `grant_type` (`400 unsupported_grant_type`),
//!   missing parameters (`400 invalid_request`). A body that is not form-encoded has no
//!   parameters, as in Keycloak. Access tokens live [`crate::SandboxBuilder::token_lifetime`]
//!   (`expires_in`); refresh tokens 30 minutes or the access lifetime if longer
//!   (`refresh_expires_in`, Keycloak's default SSO idle time) `[I]`, and stay valid when a new one
//!   is issued (Keycloak's default: no refresh-token revocation).
//! - API routes: `Authorization: Bearer <access token>`; a missing, unknown or expired token is
//!   `401` with an empty body and `WWW-Authenticate: Bearer ...` (Spring Security's answer `[I]`).
//! - Create: `Content-Type: application/json` (else `415`); `amount` required, a JSON number or
//!   numeric string read exactly (plain or exponent notation, as Java's `BigDecimal`), greater
//!   than zero `[I]`; `type` and `merchantReference` required and not blank; `redirectionUrl` at
//!   most 900 characters (UTF-16 units, as Java counts them); `customerCode`, `itemName`,
//!   `beneficiaryCode` optional strings; `additionalFields` an optional array of
//!   `{code, value}`. Every refusal is `400` with Spring Boot's error body
//!   `{"timestamp","status","error","message","path"}` (Paylican documents "JSON with the error
//!   message"; the shape is the crate fixture's assumption). Answer: `200 {"invoiceId",
//!   "merchantReference"}`; invoice ids look like the documented `XYZ2024-ade08`
//!   (`{TYPE}{year}-{10 alphanumerics}`).
//!
//! ## Statuses and transitions
//! An invoice is `UNPAID` until paid, then `PAID` (final). A failed or declined attempt leaves it
//! `UNPAID`: the payer may try again. Control actions ([`PayerAction`]) and the webhook each
//! one delivers:
//!
//! | action | allowed from | invoice after | webhook `type` / `data.status` |
//! |---|---|---|---|
//! | `Pay` | `UNPAID` (no code pending) | `PAID` | `invoice.payment_initiated` / `PAID` (Paylican's "Payment Executed" example) |
//! | `Fail` | `UNPAID` | `UNPAID` | `invoice.payment_error` / `UNPAID` |
//! | `Cancel` (the payer declines) `[I]` | `UNPAID` | `UNPAID` | `invoice.payment_rejected` / `UNPAID` |
//! | `Expire` | — | — | refused: `Unsupported` (Paylican sets no expiry) |
//! | `RequireOtp` | `UNPAID` (no code pending) | `UNPAID`, code pending | `invoice.payment_initiated` / `UNPAID` (Paylican's "Payment initiated" example) |
//! | `SubmitOtp(code)` | `UNPAID`, code pending | `PAID` (code `123456`; others: `WrongOtp`) | as `Pay` |
//! | `SetStatus(raw)` | anything | `raw`, verbatim | `invoice.payment_initiated` / `raw` |
//!
//! Anything else is `ControlError::Conflict` (paying a paid invoice, for instance). Magic amounts
//! ([`crate::magic`]) read the amount's digits as sent, decimal point removed (`10.01` → 1001,
//! `5001` → 5001): 01 fails, 03 declines, 05 pays; 02 (expire) does nothing here.
//!
//! ## Status endpoint: a sandbox extension
//! Paylican's Payment Creation API documents **no** status endpoint; the crate's provider-neutral
//! `get_payment` is `Unsupported` unless `PaylicanConfig::status_path` is set ("set this only if
//! Paylican gave you one"). So that the crate's `get_invoice` path, the conformance scenarios that
//! read a payment, and the demo's "status fetched" step run against state rather than a mock, the
//! sandbox serves one at `/sandbox-extension/invoice/{invoiceId}` ([`STATUS_PATH`]): Bearer token,
//! `200` with the invoice as webhooks carry it in `data`, `404` Spring error for an unknown id.
//! Its path says what it is: a client configured for the real Paylican must not use it.
//!
//! ## Webhooks
//! **Not signed** (as Paylican). Posted to the console-configured URL
//! (`PUT /_sandbox/paylican/webhook-url`, [`crate::SandboxBuilder::webhook_url`]); without one
//! nothing is sent, as for a merchant onboarded without a webhook URL. Body: Paylican's format —
//! `{"createdAt", "data": {"additionalFields", "bankCode", "collector", "documentNo", "id",
//! "paymentDate", "paymentMode", "paymentNo", "status", "totalAmount"}, "id", "pendingWebhooks",
//! "type"}`, keys in the documented (alphabetical) order, `createdAt`/`paymentDate` with
//! nanoseconds, `totalAmount` the created amount digit for digit, `documentNo` the merchant
//! reference (Paylican: "Merchant reference"), `additionalFields` as sent at creation, `id` a
//! number per invoice, the same for every event about it `[I]`: Paylican's four examples, about
//! one invoice, all carry `41768`, so a receiver must not de-duplicate on `id` alone (the crate
//! keys on id, type, status and `paymentNo`). Error and rejected events carry only `paymentNo` of the attempt,
//! as in Paylican's examples. Headers: `Content-Type: application/json`, plus
//! `Authorization: Basic ...` when the configured URL has user info (`https://user:pass@host/..`,
//! a sandbox convenience for testing basic-auth guards `[I]`: Paylican does not document whether
//! it can send basic auth).
//!
//! Retries: Paylican says a non-2xx answer or none is "retried after a certain period (depending
//! on the webhook retry configuration of each environment)", and `pendingWebhooks` is "the
//! difference between Maximum retry attempts and the number of calls already executed"; its
//! examples carry `pendingWebhooks: 2`. The sandbox therefore makes 3 attempts `[I]`: at once,
//! then after 60 s and 300 s `[I]` ([`RETRY_DELAYS`], divided by the time divisor).
//!
//! ## Not emulated
//! - `pendingWebhooks` is `2` in every attempt: the delivery loop resends identical bytes.
//! - The Keycloak login form (the payer is always logged in), its authorization-code exchange,
//!   token introspection, and the payment page's own Keycloak session check.
//! - Payment types per merchant (any non-blank `type` is accepted), duplicate merchant
//!   references (not documented either way), the "invoice created" and "invoice viewed" events
//!   (named in prose only, wire names unknown), and `invoice.paid` (seen only in a production
//!   integration; Paylican's executed-payment example is `invoice.payment_initiated` with `PAID`).
//! - Cancellation, refunds, search: Paylican's API has none.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AppState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use payments_core::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::App;
use crate::deliveries::Outgoing;
use crate::faults::lock;
use crate::pages::{self, Button, Input, Page};
use crate::util::{TokenProblem, Tokens, new_id};
use crate::{ControlError, PayerAction, Provider, SANDBOX_OTP};

/// The sandbox-only status endpoint, as a `PaylicanConfig::status_path` template.
pub(crate) const STATUS_PATH: &str = "/sandbox-extension/invoice/{invoiceId}";

/// Delays before the two retries of a refused webhook (3 attempts in all) `[I]`.
pub(crate) const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(300)];

/// Retries left announced in `pendingWebhooks` (Paylican's examples).
const PENDING_WEBHOOKS: u32 = 2;

/// Shortest refresh-token lifetime (Keycloak's default SSO session idle time).
const REFRESH_LIFETIME: Duration = Duration::from_secs(1800);

/// Longest `redirectionUrl`, in UTF-16 units.
const MAX_REDIRECTION_URL: usize = 900;

const UNPAID: &str = "UNPAID";
const PAID: &str = "PAID";
const PAYMENT_MODE: &str = "BANK_TRANSFER";
const BANK: &str = "SANDBOXBANK";

/// In-memory store.
#[derive(Debug, Default)]
pub(crate) struct State {
    tokens: Tokens,
    /// Refresh token → (user name, expiry).
    refresh_tokens: Mutex<HashMap<String, (String, Instant)>>,
    /// Invoices in creation order.
    invoices: Mutex<Vec<Invoice>>,
    /// Last webhook id given to an invoice.
    webhook_ids: AtomicI64,
}

/// A code/value pair, both optional (as documented).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Field {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

/// One payment attempt of the payer.
#[derive(Debug, Clone)]
struct Attempt {
    payment_no: String,
    payment_date: String,
}

impl Attempt {
    fn new() -> Attempt {
        Attempt {
            payment_no: new_id("").chars().take(9).collect(),
            payment_date: now_nanos(),
        }
    }
}

#[derive(Debug, Clone)]
struct Invoice {
    id: String,
    payment_type: String,
    merchant_reference: String,
    amount: Decimal,
    customer_code: Option<String>,
    item_name: Option<String>,
    beneficiary_code: Option<String>,
    redirection_url: Option<String>,
    additional_fields: Vec<Field>,
    /// The raw status, reported verbatim.
    status: String,
    awaiting_otp: bool,
    attempt: Option<Attempt>,
    created_at: String,
    /// Webhooks sent about it (`type status`), in order.
    webhooks: Vec<String>,
    /// The webhook `id` of every event about it, given at its first webhook.
    webhook_id: Option<i64>,
}

impl Invoice {
    fn shown_status(&self) -> String {
        if self.awaiting_otp {
            format!("{} (awaiting a one-time code)", self.status)
        } else {
            self.status.clone()
        }
    }

    fn payable(&self) -> bool {
        self.status == UNPAID && !self.awaiting_otp
    }
}

/// `data` of a webhook (and the body of the status extension): keys in Paylican's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InvoiceJson<'a> {
    additional_fields: &'a [Field],
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collector: Option<&'a str>,
    document_no: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_no: Option<&'a str>,
    status: &'a str,
    /// Written as a raw JSON number, digit for digit.
    total_amount: Decimal,
}

/// A webhook body: keys in the order of Paylican's examples.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookJson<'a> {
    created_at: String,
    data: InvoiceJson<'a>,
    id: i64,
    pending_webhooks: u32,
    #[serde(rename = "type")]
    event_type: &'a str,
}

/// `data` with the attempt's bank details (`detailed`) or only its `paymentNo`.
fn invoice_json(invoice: &Invoice, detailed: bool) -> InvoiceJson<'_> {
    let attempt = invoice.attempt.as_ref();
    let bank = attempt.filter(|_| detailed).map(|_| BANK);
    InvoiceJson {
        additional_fields: &invoice.additional_fields,
        bank_code: bank,
        collector: bank,
        document_no: &invoice.merchant_reference,
        id: &invoice.id,
        payment_date: attempt
            .filter(|_| detailed)
            .map(|a| a.payment_date.as_str()),
        payment_mode: attempt.filter(|_| detailed).map(|_| PAYMENT_MODE),
        payment_no: attempt.map(|a| a.payment_no.as_str()),
        status: &invoice.status,
        total_amount: invoice.amount,
    }
}

/// Now, RFC 3339 with nanoseconds (`2024-03-28T14:32:47.238686329Z`), as Paylican writes.
fn now_nanos() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn router() -> Router<App> {
    Router::new()
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/token",
            post(token),
        )
        .route("/realms/{realm}/protocol/openid-connect/token", post(token))
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/auth",
            get(authorize),
        )
        .route(
            "/realms/{realm}/protocol/openid-connect/auth",
            get(authorize),
        )
        .route("/api/v1/payment", post(create))
        .route(
            "/api/v1/pay/{payment_type}/{merchant_reference}/{invoice_id}",
            get(payment_page).post(payment_action),
        )
        .route("/sandbox-extension/invoice/{invoice_id}", get(status))
}

// ---------------------------------------------------------------------------------------------
// Keycloak
// ---------------------------------------------------------------------------------------------

/// Keycloak's OAuth2 error answer: the standard body, with Keycloak's no-cache headers.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = crate::util::oauth_error(status, error, description);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte).
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let name = parts.next().unwrap_or_default();
            let value = parts.next().unwrap_or_default();
            (form_decode(name), form_decode(value))
        })
        .collect()
}

fn form_decode(bytes: &[u8]) -> String {
    let plus_as_space: Vec<u8> = bytes
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    String::from_utf8_lossy(&percent_decode(&plus_as_space)).into_owned()
}

/// Decodes `%XX`; a malformed escape is kept as is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| hex(*c)),
                bytes.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// Percent-encodes everything outside RFC 3986's unreserved set (one path segment).
fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn form_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

async fn token(
    AppState(app): AppState<App>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let creds = &app.credentials;
    if realm != creds.paylican_realm {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "Realm does not exist" })),
        )
            .into_response();
    }
    let is_form = crate::util::header(&headers, "content-type").is_some_and(|ct| {
        ct.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    // Keycloak reads form parameters only: any other body has none.
    let pairs = if is_form {
        form_pairs(&body)
    } else {
        Vec::new()
    };
    let Some(grant_type) = form_value(&pairs, "grant_type") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing form parameter: grant_type",
        );
    };
    match form_value(&pairs, "client_id") {
        Some(id) if id == creds.paylican_client_id => {}
        Some(_) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Invalid client or Invalid client credentials",
            );
        }
        None => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Missing parameter: client_id",
            );
        }
    }
    match grant_type {
        "password" => {
            let user = form_value(&pairs, "username");
            let password = form_value(&pairs, "password");
            if user == Some(creds.paylican_username.as_str())
                && password == Some(creds.paylican_password.as_str())
            {
                issue_tokens(&app, &creds.paylican_username)
            } else {
                oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_grant",
                    "Invalid user credentials",
                )
            }
        }
        "refresh_token" => {
            let Some(refresh) = form_value(&pairs, "refresh_token") else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing parameter: refresh_token",
                );
            };
            let user = {
                let mut held = lock(&app.paylican.refresh_tokens);
                match held.get(refresh) {
                    Some((user, until)) if Instant::now() < *until => Some(user.clone()),
                    Some(_) => {
                        held.remove(refresh);
                        None
                    }
                    None => None,
                }
            };
            match user {
                Some(user) => issue_tokens(&app, &user),
                None => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token is not active",
                ),
            }
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        ),
    }
}

fn issue_tokens(app: &App, user: &str) -> Response {
    let access = app.paylican.tokens.issue(user, app.token_lifetime);
    let refresh_lifetime = REFRESH_LIFETIME.max(app.token_lifetime);
    let refresh = new_id("sbx_rt_");
    lock(&app.paylican.refresh_tokens).insert(
        refresh.clone(),
        (user.to_owned(), Instant::now() + refresh_lifetime),
    );
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        axum::Json(json!({
            "access_token": access,
            "expires_in": app.token_lifetime.as_secs(),
            "refresh_expires_in": refresh_lifetime.as_secs(),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": new_id(""),
            "scope": "profile email",
        })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    state: Option<String>,
}

/// A minimal Keycloak error page.
fn keycloak_page(status: StatusCode, message: &str) -> Response {
    Page::new("Paylican (Keycloak)", "We are sorry...")
        .status(status)
        .text(message)
        .render()
}

async fn authorize(
    AppState(app): AppState<App>,
    Path(realm): Path<String>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let creds = &app.credentials;
    if realm != creds.paylican_realm {
        return keycloak_page(StatusCode::NOT_FOUND, "Realm does not exist.");
    }
    if query.client_id.as_deref() != Some(creds.paylican_client_id.as_str()) {
        return keycloak_page(StatusCode::BAD_REQUEST, "Client not found.");
    }
    let pay_pages = format!("{}/api/v1/pay/", app.provider_url(Provider::Paylican));
    let Some(redirect) = query.redirect_uri.filter(|uri| uri.starts_with(&pay_pages)) else {
        return keycloak_page(StatusCode::BAD_REQUEST, "Invalid parameter: redirect_uri");
    };
    let mut location = redirect;
    match query.response_type.as_deref() {
        None => {}
        Some("code") => {
            let mut params = String::new();
            if let Some(state) = &query.state {
                let _ = write!(params, "state={}&", encode_segment(state));
            }
            let _ = write!(
                params,
                "session_state={}&code={}",
                new_id(""),
                new_id("sbx_code_")
            );
            location.push(if location.contains('?') { '&' } else { '?' });
            location.push_str(&params);
        }
        Some(_) => {
            return keycloak_page(StatusCode::BAD_REQUEST, "Invalid parameter: response_type");
        }
    }
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => keycloak_page(StatusCode::BAD_REQUEST, "Invalid parameter: redirect_uri"),
    }
}

// ---------------------------------------------------------------------------------------------
// Payment API
// ---------------------------------------------------------------------------------------------

/// Spring Boot's error body.
fn spring_error(status: StatusCode, message: &str, path: &str) -> Response {
    let timestamp = OffsetDateTime::now_utc();
    let timestamp = crate::util::rfc3339(timestamp);
    (
        status,
        axum::Json(json!({
            "timestamp": timestamp,
            "status": status.as_u16(),
            "error": status.canonical_reason().unwrap_or("Error"),
            "message": message,
            "path": path,
        })),
    )
        .into_response()
}

/// Spring Security's answer to a missing, unknown or expired bearer token.
fn unauthorized(problem: TokenProblem) -> Response {
    let challenge = match problem {
        TokenProblem::Missing => "Bearer",
        TokenProblem::Unknown => {
            "Bearer error=\"invalid_token\", error_description=\"Invalid token\""
        }
        TokenProblem::Expired => {
            "Bearer error=\"invalid_token\", error_description=\"Token expired\""
        }
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
    )
        .into_response()
}

/// The creation body as Paylican reads it; `amount` is kept as its raw JSON token.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    #[serde(default)]
    amount: Option<Box<RawValue>>,
    #[serde(default, rename = "type")]
    payment_type: Option<String>,
    #[serde(default)]
    customer_code: Option<String>,
    #[serde(default)]
    merchant_reference: Option<String>,
    #[serde(default)]
    redirection_url: Option<String>,
    #[serde(default)]
    item_name: Option<String>,
    #[serde(default)]
    beneficiary_code: Option<String>,
    #[serde(default)]
    additional_fields: Option<Vec<Field>>,
}

/// A Java `BigDecimal` read exactly: a JSON number or numeric string, plain or `1.5E+3`.
fn parse_amount(raw: &RawValue) -> Result<Decimal, String> {
    let token = raw.get().trim();
    let text = match token.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"').unwrap_or(quoted),
        None => token,
    };
    let bad = || format!("amount: cannot deserialize `{text}` as a BigDecimal");
    let Some((coefficient, exponent)) = text.split_once(['e', 'E']) else {
        return Decimal::parse(text).map_err(|_| bad());
    };
    let coefficient = Decimal::parse(coefficient).map_err(|_| bad())?;
    let exponent: i64 = exponent.parse().map_err(|_| bad())?;
    if exponent.abs() > 38 {
        return Err(bad());
    }
    let shift = exponent - i64::from(coefficient.scale());
    if shift >= 0 {
        let factor = u32::try_from(shift)
            .ok()
            .and_then(|k| 10i128.checked_pow(k))
            .ok_or_else(bad)?;
        let mantissa = coefficient.mantissa().checked_mul(factor).ok_or_else(bad)?;
        Decimal::new(mantissa, 0).map_err(|_| bad())
    } else {
        let scale = u32::try_from(-shift).map_err(|_| bad())?;
        Decimal::new(coefficient.mantissa(), scale).map_err(|_| bad())
    }
}

fn not_blank(value: Option<String>, field: &str) -> Result<String, String> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{field}: must not be blank"))
}

/// An invoice id in the documented shape (`XYZ2024-ade08`).
fn invoice_id(payment_type: &str) -> String {
    let prefix: String = payment_type
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    let prefix = if prefix.is_empty() {
        "INV".to_owned()
    } else {
        prefix
    };
    let suffix: String = new_id("").chars().take(10).collect();
    format!("{prefix}{}-{suffix}", OffsetDateTime::now_utc().year())
}

fn validate(body: CreateBody, id: String) -> Result<Invoice, String> {
    let amount = match &body.amount {
        None => return Err("amount: must not be null".into()),
        Some(raw) => parse_amount(raw)?,
    };
    if amount.mantissa() <= 0 {
        return Err("amount: must be greater than 0".into());
    }
    let payment_type = not_blank(body.payment_type, "type")?;
    let merchant_reference = not_blank(body.merchant_reference, "merchantReference")?;
    if let Some(url) = &body.redirection_url {
        let units = url.encode_utf16().count();
        if units > MAX_REDIRECTION_URL {
            return Err(format!(
                "redirectionUrl: must not exceed {MAX_REDIRECTION_URL} characters ({units} given)"
            ));
        }
    }
    Ok(Invoice {
        id,
        payment_type,
        merchant_reference,
        amount,
        customer_code: body.customer_code,
        item_name: body.item_name,
        beneficiary_code: body.beneficiary_code,
        redirection_url: body.redirection_url,
        additional_fields: body.additional_fields.unwrap_or_default(),
        status: UNPAID.to_owned(),
        awaiting_otp: false,
        attempt: None,
        created_at: now_nanos(),
        webhooks: Vec::new(),
        webhook_id: None,
    })
}

async fn create(
    AppState(app): AppState<App>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if let Err(problem) = app.paylican.tokens.check(&headers) {
        return unauthorized(problem);
    }
    let is_json = crate::util::header(&headers, "content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return spring_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type is not supported: use application/json",
            path,
        );
    }
    let parsed: CreateBody = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(e) => {
            return spring_error(
                StatusCode::BAD_REQUEST,
                &format!("JSON parse error: {e}"),
                path,
            );
        }
    };
    let type_for_id = parsed.payment_type.clone().unwrap_or_default();
    let invoice = match validate(parsed, invoice_id(&type_for_id)) {
        Ok(invoice) => invoice,
        Err(message) => return spring_error(StatusCode::BAD_REQUEST, &message, path),
    };
    let answer = json!({
        "invoiceId": invoice.id,
        "merchantReference": invoice.merchant_reference,
    });
    let id = invoice.id.clone();
    let minor_units = i64::try_from(invoice.amount.mantissa()).ok();
    lock(&app.paylican.invoices).push(invoice);
    if let Some(minor_units) = minor_units {
        app.schedule_magic(Provider::Paylican, &id, minor_units);
    }
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// The sandbox-only status endpoint (see the module docs).
async fn status(
    AppState(app): AppState<App>,
    Path(invoice_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(problem) = app.paylican.tokens.check(&headers) {
        return unauthorized(problem);
    }
    let body = {
        let invoices = lock(&app.paylican.invoices);
        invoices
            .iter()
            .find(|i| i.id == invoice_id)
            .map(|i| serde_json::to_string(&invoice_json(i, true)))
    };
    match body {
        Some(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Some(Err(e)) => spring_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot write the invoice: {e}"),
            uri.path(),
        ),
        None => spring_error(
            StatusCode::NOT_FOUND,
            &format!("Invoice {invoice_id} not found"),
            uri.path(),
        ),
    }
}

/// The payment page's URL for `invoice` (each path segment percent-encoded).
fn page_url(app: &App, invoice: &Invoice) -> String {
    format!(
        "{}/api/v1/pay/{}/{}/{}",
        app.provider_url(Provider::Paylican),
        encode_segment(&invoice.payment_type),
        encode_segment(&invoice.merchant_reference),
        encode_segment(&invoice.id)
    )
}

/// The invoice a payment-page path names (all three segments must match).
fn invoice_at(app: &App, payment_type: &str, reference: &str, id: &str) -> Option<Invoice> {
    lock(&app.paylican.invoices)
        .iter()
        .find(|i| i.id == id && i.payment_type == payment_type && i.merchant_reference == reference)
        .cloned()
}

/// The payment page: the invoice, and the payer's buttons while it is payable.
fn payment_view(app: &App, invoice: &Invoice, notice: Option<&str>) -> Page {
    let amount = invoice.amount.to_string();
    let status = invoice.shown_status();
    let mut page = Page::new("Paylican", format!("Pay invoice {}", invoice.id)).facts(&[
        ("Invoice", &invoice.id),
        ("Reference", &invoice.merchant_reference),
        ("Item", invoice.item_name.as_deref().unwrap_or("-")),
        ("Amount", &amount),
        ("Status", &status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    } else if invoice.status == UNPAID
        && !invoice.awaiting_otp
        && let Some(last) = invoice.webhooks.last()
    {
        // A failed or declined attempt leaves the invoice payable: say what happened.
        if last.starts_with(Event::Error.wire()) {
            page = page.notice("Your last attempt ended in a payment error: you can try again.");
        } else if last.starts_with(Event::Rejected.wire()) {
            page = page.notice("You declined the last attempt: you can try again.");
        }
    }
    if invoice.status != UNPAID {
        let explanation = if invoice.status == PAID {
            "Paid."
        } else {
            "The invoice is no longer payable."
        };
        return page.outcome(
            &invoice.status,
            explanation,
            invoice.redirection_url.as_deref(),
        );
    }
    let here = page_url(app, invoice);
    if invoice.awaiting_otp {
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
        page = page
            .button(
                &here,
                &[],
                Button::new("pay", &format!("Pay {amount}")).sends("action", "pay"),
            )
            .button(
                &here,
                &[],
                Button::new("fail", "Pay, but the bank answers an error").sends("action", "fail"),
            );
    }
    page.button(
        &here,
        &[],
        Button::new("cancel", "Decline").sends("action", "cancel"),
    )
}

/// `GET /api/v1/pay/{type}/{merchantReference}/{invoiceId}`: the page the payer lands on after
/// Keycloak.
async fn payment_page(
    AppState(app): AppState<App>,
    Path((payment_type, merchant_reference, invoice_id)): Path<(String, String, String)>,
) -> Response {
    match invoice_at(&app, &payment_type, &merchant_reference, &invoice_id) {
        Some(invoice) => payment_view(&app, &invoice, None).render(),
        None => pages::not_found("Paylican", "payment"),
    }
}

/// `POST` on the payment page (form `action=pay|fail|cancel|otp`, `code=` for `otp`): the payer
/// acts. Paid: `303` to the invoice's `redirectionUrl` (the page itself when it has none, which
/// then says the invoice is paid). A payment error or a decline leaves the invoice payable:
/// `303` back to the page, which says what happened.
async fn payment_action(
    AppState(app): AppState<App>,
    Path((payment_type, merchant_reference, invoice_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let Some(invoice) = invoice_at(&app, &payment_type, &merchant_reference, &invoice_id) else {
        return pages::not_found("Paylican", "payment");
    };
    let Some(action) = pages::form_fields(&body)
        .as_ref()
        .and_then(pages::form_action)
    else {
        return pages::bad_form("Paylican", "action=pay, fail, cancel, or otp with a code");
    };
    let here = page_url(&app, &invoice);
    match act(&app, &invoice.id, action).await {
        Ok(_) => {
            let after = invoice_at(&app, &payment_type, &merchant_reference, &invoice_id);
            match after
                .filter(|i| i.status == PAID)
                .and_then(|i| i.redirection_url)
            {
                Some(url) => pages::see_other(&url),
                None => pages::see_other(&here),
            }
        }
        Err(ControlError::WrongOtp) => {
            payment_view(&app, &invoice, Some("Wrong one-time code: try again."))
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .render()
        }
        Err(e) => pages::refused("Paylican", &e, &here),
    }
}

// ---------------------------------------------------------------------------------------------
// The simulated payer, webhooks
// ---------------------------------------------------------------------------------------------

/// Which webhook a transition sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// `invoice.payment_initiated` with the bank details (initiated, executed, raw status).
    Initiated,
    /// `invoice.payment_error`.
    Error,
    /// `invoice.payment_rejected`.
    Rejected,
}

impl Event {
    fn wire(self) -> &'static str {
        match self {
            Event::Initiated => "invoice.payment_initiated",
            Event::Error => "invoice.payment_error",
            Event::Rejected => "invoice.payment_rejected",
        }
    }
}

fn conflict(action: &str, invoice: &Invoice) -> ControlError {
    ControlError::Conflict {
        action: action.to_owned(),
        status: invoice.shown_status(),
    }
}

/// Applies `action`; the webhook to send, if any.
fn transition(invoice: &mut Invoice, action: PayerAction) -> Result<Event, ControlError> {
    match action {
        PayerAction::Pay => {
            if !invoice.payable() {
                return Err(conflict("pay", invoice));
            }
            invoice.attempt = Some(Attempt::new());
            invoice.status = PAID.to_owned();
            Ok(Event::Initiated)
        }
        PayerAction::Fail | PayerAction::Cancel => {
            if invoice.status != UNPAID {
                let verb = if action == PayerAction::Fail {
                    "fail"
                } else {
                    "cancel"
                };
                return Err(conflict(verb, invoice));
            }
            invoice.awaiting_otp = false;
            invoice.attempt = Some(Attempt::new());
            Ok(if action == PayerAction::Fail {
                Event::Error
            } else {
                Event::Rejected
            })
        }
        PayerAction::Expire => Err(ControlError::Unsupported(
            "Paylican invoices do not expire: the Payment Creation API sets no expiry".into(),
        )),
        PayerAction::RequireOtp => {
            if !invoice.payable() {
                return Err(conflict("require a one-time code for", invoice));
            }
            invoice.awaiting_otp = true;
            invoice.attempt = Some(Attempt::new());
            Ok(Event::Initiated)
        }
        PayerAction::SubmitOtp(code) => {
            if !(invoice.status == UNPAID && invoice.awaiting_otp) {
                return Err(conflict("submit a one-time code for", invoice));
            }
            if code != SANDBOX_OTP {
                return Err(ControlError::WrongOtp);
            }
            invoice.awaiting_otp = false;
            let attempt = invoice.attempt.get_or_insert_with(Attempt::new);
            attempt.payment_date = now_nanos();
            invoice.status = PAID.to_owned();
            Ok(Event::Initiated)
        }
        PayerAction::SetStatus(raw) => {
            invoice.status = raw;
            invoice.awaiting_otp = false;
            Ok(Event::Initiated)
        }
    }
}

/// The webhook body of `event` about `invoice` as it stands.
fn webhook_body(invoice: &Invoice, event: Event, id: i64) -> Result<String, serde_json::Error> {
    serde_json::to_string(&WebhookJson {
        created_at: now_nanos(),
        data: invoice_json(invoice, event == Event::Initiated),
        id,
        pending_webhooks: PENDING_WEBHOOKS,
        event_type: event.wire(),
    })
}

/// A configured URL's user info as basic-auth credentials, and the URL without it.
fn split_user_info(url: &str) -> (String, Option<String>) {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() => {
            let user =
                String::from_utf8_lossy(&percent_decode(parsed.username().as_bytes())).into_owned();
            let password = String::from_utf8_lossy(&percent_decode(
                parsed.password().unwrap_or("").as_bytes(),
            ))
            .into_owned();
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            (parsed.to_string(), Some(format!("{user}:{password}")))
        }
        _ => (url.to_owned(), None),
    }
}

/// The configured URL for display: a user-info password is hidden.
fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn send(app: &App, invoice_id: &str, event: String, body: String) {
    let Some(configured) = app.webhook_url(Provider::Paylican) else {
        tracing::info!(%invoice_id, %event, "no Paylican webhook URL configured: nothing sent");
        return;
    };
    let (url, basic) = split_user_info(&configured);
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if let Some(credentials) = basic {
        headers.push((
            "Authorization".to_owned(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            ),
        ));
    }
    app.deliver(Outgoing {
        provider: Provider::Paylican,
        payment_id: invoice_id.to_owned(),
        event,
        url,
        headers,
        body,
        retry_delays: RETRY_DELAYS.to_vec(),
    });
}

pub(crate) async fn act(app: &App, id: &str, action: PayerAction) -> Result<Value, ControlError> {
    let (webhook, view) = {
        let mut invoices = lock(&app.paylican.invoices);
        let invoice =
            invoices
                .iter_mut()
                .find(|i| i.id == id)
                .ok_or_else(|| ControlError::NotFound {
                    provider: Provider::Paylican,
                    id: id.to_owned(),
                })?;
        let event = transition(invoice, action)?;
        let webhook_id = *invoice
            .webhook_id
            .get_or_insert_with(|| app.paylican.webhook_ids.fetch_add(1, Ordering::Relaxed) + 1);
        let label = format!("{} {}", event.wire(), invoice.status);
        invoice.webhooks.push(label.clone());
        let webhook = match webhook_body(invoice, event, webhook_id) {
            Ok(body) => Some((label, body)),
            Err(e) => {
                tracing::warn!(%id, error = %e, "cannot write the Paylican webhook");
                None
            }
        };
        (webhook, view(app, invoice))
    };
    if let Some((label, body)) = webhook {
        send(app, id, label, body);
    }
    Ok(view)
}

/// The sandbox's view of an invoice (amount as an exact string).
fn view(app: &App, invoice: &Invoice) -> Value {
    let pay_page = page_url(app, invoice);
    json!({
        "invoiceId": invoice.id,
        "merchantReference": invoice.merchant_reference,
        "type": invoice.payment_type,
        "amount": invoice.amount.to_string(),
        "customerCode": invoice.customer_code,
        "itemName": invoice.item_name,
        "beneficiaryCode": invoice.beneficiary_code,
        "redirectionUrl": invoice.redirection_url,
        "additionalFields": invoice.additional_fields,
        "status": invoice.status,
        "awaitingOtp": invoice.awaiting_otp,
        "paymentNo": invoice.attempt.as_ref().map(|a| a.payment_no.clone()),
        "createdAt": invoice.created_at,
        "paymentPage": pay_page,
        "webhooks": invoice.webhooks,
    })
}

pub(crate) fn payments(app: &App) -> Vec<Value> {
    lock(&app.paylican.invoices)
        .iter()
        .map(|i| view(app, i))
        .collect()
}

pub(crate) fn info(app: &App) -> Value {
    let base = app.provider_url(Provider::Paylican);
    let creds = &app.credentials;
    let realm_url = format!(
        "{base}/auth/realms/{}/protocol/openid-connect",
        encode_segment(&creds.paylican_realm)
    );
    let webhook_url = app
        .webhook_url(Provider::Paylican)
        .map(|u| shown_url(&u))
        .unwrap_or_else(|| {
            "not set (Paylican takes it at onboarding): PUT /_sandbox/paylican/webhook-url {\"url\": \"...\"}"
                .to_owned()
        });
    json!({
        "base_url": base,
        "keycloak_url": base,
        "payment_url": base,
        "token_url": format!("{realm_url}/token"),
        "payment_page": format!(
            "{realm_url}/auth?client_id={}&redirect_uri={base}/api/v1/pay/{{type}}/{{merchantReference}}/{{invoiceId}}",
            encode_segment(&creds.paylican_client_id)
        ),
        "realm": creds.paylican_realm,
        "client_id": creds.paylican_client_id,
        "username": creds.paylican_username,
        "password": creds.paylican_password,
        "status_path": format!(
            "{STATUS_PATH} (sandbox extension: Paylican documents no status endpoint)"
        ),
        "webhook_url": webhook_url,
        "webhooks": "unsigned (guard the URL: secret path segment, basic auth as URL user info); 3 attempts: now, +60 s, +300 s (divided by the time divisor)",
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn amounts_are_read_exactly_in_every_java_notation() {
        let read = |t: &str| parse_amount(&raw(t)).map(|d| d.to_string());
        assert_eq!(read("5100.00").unwrap(), "5100.00");
        assert_eq!(read("\"10.01\"").unwrap(), "10.01");
        assert_eq!(read("1E+2").unwrap(), "100");
        assert_eq!(read("5.1E3").unwrap(), "5100");
        assert_eq!(read("25E-1").unwrap(), "2.5");
        assert!(read("true").is_err());
        assert!(read("1E+99").is_err());
        assert!(read("\"12,5\"").is_err());
    }

    #[test]
    fn forms_decode_plus_and_percent_escapes() {
        let pairs = form_pairs(b"username=a%40b&password=p+w%26d%3D%C3%B6&empty=&flag");
        assert_eq!(form_value(&pairs, "username"), Some("a@b"));
        assert_eq!(form_value(&pairs, "password"), Some("p w&d=ö"));
        assert_eq!(form_value(&pairs, "empty"), None);
        assert_eq!(form_value(&pairs, "flag"), None);
        assert_eq!(percent_decode(b"%zz%4"), b"%zz%4");
    }

    #[test]
    fn user_info_becomes_basic_credentials_and_is_hidden_when_shown() {
        let (url, basic) = split_user_info("http://paylican:s%40cret@127.0.0.1:9/hook/x");
        assert_eq!(url, "http://127.0.0.1:9/hook/x");
        assert_eq!(basic.as_deref(), Some("paylican:s@cret"));
        assert_eq!(
            split_user_info("http://127.0.0.1:9/hook"),
            ("http://127.0.0.1:9/hook".to_owned(), None)
        );
        assert!(!shown_url("http://u:secret@127.0.0.1/h").contains("secret"));
    }

    #[test]
    fn invoice_ids_have_the_documented_shape() {
        let id = invoice_id("xyz/é");
        assert!(id.starts_with("XYZ20"), "{id}");
        assert_eq!(id.split('-').nth(1).map(str::len), Some(10), "{id}");
        assert!(invoice_id("").starts_with("INV"));
    }

    fn invoice() -> Invoice {
        Invoice {
            id: "XYZ2024-ade08".into(),
            payment_type: "XYZ".into(),
            merchant_reference: "REF-1234".into(),
            amount: Decimal::parse("5100.00").unwrap(),
            customer_code: None,
            item_name: None,
            beneficiary_code: None,
            redirection_url: None,
            additional_fields: vec![Field {
                code: Some("documentNo".into()),
                value: Some("TST1201901260".into()),
            }],
            status: UNPAID.into(),
            awaiting_otp: false,
            attempt: None,
            created_at: now_nanos(),
            webhooks: Vec::new(),
            webhook_id: None,
        }
    }

    #[test]
    fn transitions_follow_the_invoice_status() {
        let mut i = invoice();
        assert_eq!(transition(&mut i, PayerAction::Fail), Ok(Event::Error));
        assert_eq!(transition(&mut i, PayerAction::Cancel), Ok(Event::Rejected));
        assert_eq!(i.status, UNPAID);
        assert!(matches!(
            transition(&mut i, PayerAction::Expire),
            Err(ControlError::Unsupported(_))
        ));
        assert!(matches!(
            transition(&mut i, PayerAction::SubmitOtp(SANDBOX_OTP.into())),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(
            transition(&mut i, PayerAction::RequireOtp),
            Ok(Event::Initiated)
        );
        assert!(matches!(
            transition(&mut i, PayerAction::Pay),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(
            transition(&mut i, PayerAction::SubmitOtp("000000".into())),
            Err(ControlError::WrongOtp)
        );
        assert_eq!(
            transition(&mut i, PayerAction::SubmitOtp(SANDBOX_OTP.into())),
            Ok(Event::Initiated)
        );
        assert_eq!(i.status, PAID);
        assert!(matches!(
            transition(&mut i, PayerAction::Pay),
            Err(ControlError::Conflict { .. })
        ));
        assert!(matches!(
            transition(&mut i, PayerAction::Fail),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(
            transition(&mut i, PayerAction::SetStatus("PARTIALLY_PAID".into())),
            Ok(Event::Initiated)
        );
        assert_eq!(i.status, "PARTIALLY_PAID");
    }

    #[test]
    fn webhook_bodies_follow_the_documented_format() {
        let mut i = invoice();
        transition(&mut i, PayerAction::Pay).unwrap();
        let body = webhook_body(&i, Event::Initiated, 7).unwrap();
        assert!(
            body.starts_with("{\"createdAt\":\"") && body.contains("\"totalAmount\":5100.00}"),
            "{body}"
        );
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["type"], "invoice.payment_initiated");
        assert_eq!(parsed["id"], 7);
        assert_eq!(parsed["pendingWebhooks"], 2);
        assert_eq!(parsed["data"]["status"], "PAID");
        assert_eq!(parsed["data"]["documentNo"], "REF-1234");
        assert_eq!(parsed["data"]["paymentMode"], "BANK_TRANSFER");
        assert_eq!(parsed["data"]["additionalFields"][0]["code"], "documentNo");
        // The documented key order (alphabetical), checked on the bytes.
        let order = [
            "\"createdAt\"",
            "\"additionalFields\"",
            "\"bankCode\"",
            "\"collector\"",
            "\"documentNo\":\"REF",
            "\"id\":\"",
            "\"paymentDate\"",
            "\"paymentMode\"",
            "\"paymentNo\"",
            "\"status\"",
            "\"totalAmount\"",
            "\"id\":7",
            "\"pendingWebhooks\"",
            "\"type\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| body.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{body}");

        let error = webhook_body(&i, Event::Error, 8).unwrap();
        let parsed: Value = serde_json::from_str(&error).unwrap();
        assert!(parsed["data"].get("paymentMode").is_none(), "{error}");
        assert!(parsed["data"]["paymentNo"].is_string(), "{error}");
    }
}
