//! Paylican: the Keycloak token endpoint, the Payment Creation API, the payment page, and unsigned
//! invoice webhooks.
//!
//! Sources: Paylican's *Payment Creation API* documentation (the Keycloak token, the payment
//! creation, the redirect URL, the webhook events and their delivery); `[I]` marks what it does
//! not document and the sandbox assumes. JSON is built here by hand, never from the client
//! crate's types.
//!
//! Connection details: [`crate::RunningSandbox::paylican`] ([`PaylicanConnection`]).
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
//! | `Pay` | `UNPAID` (no code pending) | `PAID` | `invoice.payment_initiated` / `PAID` (the documented "Payment Executed") |
//! | `Fail` | `UNPAID` | `UNPAID` | `invoice.payment_error` / `UNPAID` |
//! | `Cancel` (the payer declines) `[I]` | `UNPAID` | `UNPAID` | `invoice.payment_rejected` / `UNPAID` |
//! | `Expire` | — | — | refused: `Unsupported` (Paylican sets no expiry) |
//! | `RequireOtp` | `UNPAID` (no code pending) | `UNPAID`, code pending | `invoice.payment_initiated` / `UNPAID` (the documented "Payment initiated") |
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
//! sandbox serves one at `/sandbox-extension/invoice/{invoiceId}`
//! ([`PaylicanConnection::status_path`]): Bearer token,
//! `200` with the invoice as webhooks carry it in `data`, `404` Spring error for an unknown id.
//! Its path says what it is: a client configured for the real Paylican must not use it.
//!
//! ## Webhooks
//! **Not signed** (as Paylican). Posted to the console-configured URL
//! (`PUT /_sandbox/paylican/webhook-url`, [`crate::SandboxBuilder::webhook_url`]); without one
//! nothing is sent, as for a merchant onboarded without a webhook URL. Body: the documented format —
//! `{"createdAt", "data": {"additionalFields", "bankCode", "collector", "documentNo", "id",
//! "paymentDate", "paymentMode", "paymentNo", "status", "totalAmount"}, "id", "pendingWebhooks",
//! "type"}`, keys in the documented examples' (alphabetical) order, `createdAt`/`paymentDate` with
//! nanoseconds, `totalAmount` the created amount digit for digit, `documentNo` the merchant
//! reference (documented as "Merchant reference"), `additionalFields` as sent at creation, `id` a
//! number per invoice, the same for every event about it `[I]`: Paylican's four examples, about
//! one invoice, all carry `41768`, so a receiver must not de-duplicate on `id` alone (the crate
//! keys on id, type, status and `paymentNo`). Error and rejected events carry only `paymentNo` of the attempt,
//! as in the documented examples. Headers: `Content-Type: application/json`, plus
//! `Authorization: Basic ...` when the configured URL has user info (`https://user:pass@host/..`,
//! a sandbox convenience for testing basic-auth guards `[I]`: Paylican does not document whether
//! it can send basic auth).
//!
//! Retries: the documentation says a non-2xx answer or none is "retried after a certain period (depending
//! on the webhook retry configuration of each environment)", and `pendingWebhooks` is "the
//! difference between Maximum retry attempts and the number of calls already executed"; its
//! examples carry `pendingWebhooks: 2`. The sandbox therefore makes 3 attempts `[I]`: at once,
//! then after 60 s and 300 s `[I]` ([`PaylicanConnection::webhook_retry_delays`], divided by the
//! time divisor).
//!
//! ## Not emulated
//! - `pendingWebhooks` is `2` in every attempt: the delivery loop resends identical bytes.
//! - The Keycloak login form (the payer is always logged in), its authorization-code exchange,
//!   token introspection, and the payment page's own Keycloak session check.
//! - Payment types per merchant (any non-blank `type` is accepted), duplicate merchant
//!   references (not documented either way), the "invoice created" and "invoice viewed" events
//!   (named in prose only, wire names unknown), and `invoice.paid` (seen only in a production
//!   integration; the documented executed payment is `invoice.payment_initiated` with `PAID`).
//! - Cancellation, refunds, search: Paylican's API has none.

mod auth;
mod model;
mod page;
mod routes;
mod webhooks;

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::{Value, json};

use crate::app::App;
use crate::support::{Tokens, lock};
use crate::{ControlError, PayerAction, Provider};
use model::{Invoice, transition, webhook_body};
use page::page_url;
use payments_core::provider_support::percent_encode as encode_segment;

/// The sandbox-only status endpoint, as a `PaylicanConfig::status_path` template.
const STATUS_PATH: &str = "/sandbox-extension/invoice/{invoiceId}";

/// What a client needs to use the sandbox's Paylican ([`crate::RunningSandbox::paylican`]).
///
/// Both of Paylican's base URLs, the Keycloak URL and the Payment URL, are the provider's URL:
/// `PaylicanConfig::new(keycloak_url, payment_url, username, password)` with `.realm(realm)` and
/// `.client_id(client_id)`; reading a payment needs the sandbox's own status extension
/// (`.status_path(status_path)`). `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaylicanConnection {
    /// The provider's URL (`http://127.0.0.1:PORT/paylican`).
    pub base_url: String,
    /// The Keycloak URL (the provider's URL).
    pub keycloak_url: String,
    /// The Payment URL (the provider's URL).
    pub payment_url: String,
    /// Keycloak's token endpoint of the realm.
    pub token_url: String,
    /// The Keycloak realm.
    pub realm: String,
    /// The Keycloak client id.
    pub client_id: String,
    /// The user name (password grant).
    pub username: String,
    /// The password.
    pub password: String,
    /// The sandbox's status extension, as a path template with `{invoiceId}`: **not** a Paylican
    /// endpoint (Paylican documents none), for a client's `status_path` in the sandbox only.
    pub status_path: String,
    /// The delays before each webhook retry, in real time (the sandbox divides them by its time
    /// divisor).
    pub webhook_retry_delays: Vec<Duration>,
}

impl fmt::Debug for PaylicanConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaylicanConnection")
            .field("base_url", &self.base_url)
            .field("keycloak_url", &self.keycloak_url)
            .field("payment_url", &self.payment_url)
            .field("token_url", &self.token_url)
            .field("realm", &self.realm)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("status_path", &self.status_path)
            .field("webhook_retry_delays", &self.webhook_retry_delays)
            .finish()
    }
}

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

pub(crate) fn router() -> Router<App> {
    routes::router()
}

/// Keycloak's OpenID Connect URL of the sandbox's realm.
fn realm_url(app: &App) -> String {
    format!(
        "{}/auth/realms/{}/protocol/openid-connect",
        app.provider_url(Provider::Paylican),
        encode_segment(&app.credentials.paylican_realm)
    )
}

/// What the sandbox's Paylican is reached with.
pub(crate) fn connection(app: &App) -> PaylicanConnection {
    let base_url = app.provider_url(Provider::Paylican);
    let c = &app.credentials;
    PaylicanConnection {
        keycloak_url: base_url.clone(),
        payment_url: base_url.clone(),
        token_url: format!("{}/token", realm_url(app)),
        base_url,
        realm: c.paylican_realm.clone(),
        client_id: c.paylican_client_id.clone(),
        username: c.paylican_username.clone(),
        password: c.paylican_password.clone(),
        status_path: STATUS_PATH.to_owned(),
        webhook_retry_delays: webhooks::RETRY_DELAYS.to_vec(),
    }
}

/// The simulated payer (control endpoints, magic amounts, the payment page).
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
        webhooks::send(app, id, label, body);
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
    let c = connection(app);
    let base = &c.base_url;
    let webhook_url = app
        .webhook_url(Provider::Paylican)
        .map(|u| webhooks::shown_url(&u))
        .unwrap_or_else(|| {
            "not set (Paylican takes it at onboarding): PUT /_sandbox/paylican/webhook-url {\"url\": \"...\"}"
                .to_owned()
        });
    json!({
        "base_url": base,
        "keycloak_url": c.keycloak_url,
        "payment_url": c.payment_url,
        "token_url": c.token_url,
        "payment_page": format!(
            "{}/auth?client_id={}&redirect_uri={base}/api/v1/pay/{{type}}/{{merchantReference}}/{{invoiceId}}",
            realm_url(app),
            encode_segment(&c.client_id)
        ),
        "realm": c.realm,
        "client_id": c.client_id,
        "username": c.username,
        "password": c.password,
        "status_path": format!(
            "{} (sandbox extension: Paylican documents no status endpoint)",
            c.status_path
        ),
        "webhook_url": webhook_url,
        "webhooks": "unsigned (guard the URL: secret path segment, basic auth as URL user info); 3 attempts: now, +60 s, +300 s (divided by the time divisor)",
    })
}
