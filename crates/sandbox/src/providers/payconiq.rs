//! Payconiq by Bancontact: the Merchant Payment API v3, under `/payconiq`.
//!
//! Sources: Payconiq's Payment V3 API reference (3.6.3, with its callback section;
//! <https://docs.payconiq.be/apis/merchant-payment.openapi>), its Merchant Callback guide
//! (<https://docs.payconiq.be/guides/general/callback052025>) and the fixtures of
//! `crates/payconiq/tests/fixtures`.
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
//! endpoint does not answer, and the Merchant Callback guide "for up to 24 hours", with identical
//! headers and body. The spacing is undocumented: the sandbox retries 3 times, 1 min, 5 min and
//! 15 min after the previous attempt (divided by the time divisor), so 4 attempts in all, the
//! same `Signature` (hence the same `iat` and `jti`) on each.
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

use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::App;
use crate::deliveries::Outgoing;
use crate::faults::lock;
use crate::pages::{self, Button, Input, Page};
use crate::util::{bearer, random_hex, rfc3339};
use crate::{ControlError, PayerAction, Provider, SANDBOX_OTP};

const PENDING: &str = "PENDING";
const IDENTIFIED: &str = "IDENTIFIED";
const AUTHORIZED: &str = "AUTHORIZED";
const SUCCEEDED: &str = "SUCCEEDED";
const AUTHORIZATION_FAILED: &str = "AUTHORIZATION_FAILED";
const CANCELLED: &str = "CANCELLED";
const EXPIRED: &str = "EXPIRED";
const PENDING_MERCHANT_ACKNOWLEDGEMENT: &str = "PENDING_MERCHANT_ACKNOWLEDGEMENT";

/// How long a payment can be paid (the spec's examples: `expireAt` = `createdAt` + 2 minutes).
const EXPIRY: Duration = Duration::from_secs(120);
/// Delays before each callback retry (three retries: the API reference; spacing assumed).
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
];
/// Largest amount of the v3 spec, in cents.
const MAX_AMOUNT: i64 = 999_999;
const MAX_REFERENCE: usize = 35;
const MAX_DESCRIPTION: usize = 140;
const MAX_SHOP: usize = 36;
/// Search page size when the query names none (the spec's default).
const DEFAULT_PAGE_SIZE: u64 = 50;

/// The simulated payer.
const DEBTOR_NAME: &str = "Sandbox Payer";
const DEBTOR_IBAN: &str = "BE68539007547034";
/// The merchant behind the sandbox's payment profile.
const CREDITOR_NAME: &str = "Sandbox Merchant";
const CREDITOR_IBAN: &str = "BE71096123456769";
const MERCHANT_ID: &str = "5b71369f5832fd09188e0915";

/// A payment as the sandbox keeps it.
#[derive(Debug, Clone)]
struct Payment {
    id: String,
    /// The raw status, reported verbatim.
    status: String,
    created_at: OffsetDateTime,
    expire_at: OffsetDateTime,
    succeeded_at: Option<OffsetDateTime>,
    amount: i64,
    currency: String,
    description: Option<String>,
    reference: Option<String>,
    bulk_id: Option<String>,
    /// Where callbacks go (the `callbackUrl`, or the console URL at creation).
    callback_url: Option<String>,
    return_url: Option<String>,
    /// Shown on the checkout page (`posId` and `shopId` are validated, not kept).
    shop_name: Option<String>,
    /// The payer is known (scanned / paid): `debtor` is reported.
    debtor: bool,
    /// The app awaits the payer's one-time code.
    otp_pending: bool,
}

/// In-memory store: every payment, in creation order.
#[derive(Debug, Default)]
pub(crate) struct State {
    payments: Mutex<Vec<Payment>>,
}

pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/v3/payments", post(create))
        .route("/v3/payments/pos", post(create_pos))
        .route("/v3/payments/search", post(search))
        .route("/v3/payments/{id}", get(get_payment).delete(cancel))
        .route("/v3/payments/{id}/debtor/refundIban", get(refund_iban))
        .route("/v3/payments/{id}/acknowledge", post(acknowledge))
        .route("/jwks", get(jwks))
        .route("/checkout/{id}", get(checkout_page))
        .route("/checkout/{id}/{action}", post(checkout_action))
}

// ---------------------------------------------------------------------------------------------
// Wire helpers
// ---------------------------------------------------------------------------------------------

/// Now, to the millisecond (what the wire can carry, so that searches by date are exact).
fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap_or(now)
}

/// A refusal, answered in Payconiq's error format `{code, message, traceId, spanId}`.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({
                "traceId": random_hex(16),
                "spanId": random_hex(16),
                "code": self.code,
                "message": self.message,
            })),
        )
            .into_response()
    }
}

fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
    }
}

fn invalid(field: &str, why: &str) -> Refusal {
    error(
        StatusCode::BAD_REQUEST,
        "FIELD_IS_INVALID",
        format!("Field '{field}' is invalid: {why}"),
    )
}

fn required(field: &str) -> Refusal {
    error(
        StatusCode::BAD_REQUEST,
        "FIELD_IS_REQUIRED",
        format!("Field '{field}' is mandatory"),
    )
}

fn body_missing() -> Refusal {
    error(
        StatusCode::BAD_REQUEST,
        "BODY_MISSING",
        "A JSON body needs to be provided",
    )
}

fn not_found() -> Refusal {
    error(
        StatusCode::NOT_FOUND,
        "PAYMENT_NOT_FOUND",
        "Payment could not be found for the corresponding payment id",
    )
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Refusal> {
    match bearer(headers) {
        Some(key) if key == app.credentials.payconiq_api_key => Ok(()),
        Some(_) => Err(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "The API key is incorrect",
        )),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "No API key was provided",
        )),
    }
}

/// The JSON object of a request body; `Ok(None)` when the body is empty.
fn json_object(body: &Bytes) -> Result<Option<Map<String, Value>>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        _ => Err(body_missing()),
    }
}

/// The EPC "SEPA Requirements for an Extended Character Set (UNICODE Subset)": printable Basic
/// Latin, Latin-1 Supplement (no NBSP, no soft hyphen), Latin Extended-A, the Romanian
/// comma-below letters, Greek, and the euro sign.
fn is_sepa(c: char) -> bool {
    let u = u32::from(c);
    (0x20..=0x7E).contains(&u)
        || ((0xA1..=0xFF).contains(&u) && u != 0xAD)
        || (0x100..=0x17F).contains(&u)
        || (0x218..=0x21B).contains(&u)
        || (0x386..=0x3CE).contains(&u)
        || c == '€'
}

/// An optional text field of at most `max` SEPA characters.
fn text(
    object: &Map<String, Value>,
    field: &str,
    max: usize,
    sepa: bool,
) -> Result<Option<String>, Refusal> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.chars().count() > max {
                return Err(invalid(field, &format!("at most {max} characters")));
            }
            if sepa && !s.chars().all(is_sepa) {
                return Err(invalid(field, "characters outside the SEPA character set"));
            }
            Ok(Some(s.clone()))
        }
        Some(_) => Err(invalid(field, "not a string")),
    }
}

/// An optional http(s) URL field.
fn url(object: &Map<String, Value>, field: &str) -> Result<Option<String>, Refusal> {
    let Some(value) = text(object, field, 2048, false)? else {
        return Ok(None);
    };
    match reqwest::Url::parse(&value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(value)),
        _ => Err(invalid(field, "not an http(s) URL")),
    }
}

/// The mandatory `amount` (integer euro cents in 1..=999999) and `currency` (`EUR`, the default).
fn amount_and_currency(object: &Map<String, Value>) -> Result<(i64, String), Refusal> {
    let amount = match object.get("amount") {
        None | Some(Value::Null) => return Err(required("amount")),
        Some(value) => value
            .as_i64()
            .ok_or_else(|| invalid("amount", "not an integer number of euro cents"))?,
    };
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(invalid(
            "amount",
            &format!("must be between 1 and {MAX_AMOUNT}"),
        ));
    }
    let currency = match object.get("currency") {
        None | Some(Value::Null) => "EUR".to_owned(),
        Some(Value::String(c)) if c == "EUR" => c.clone(),
        Some(_) => return Err(invalid("currency", "only EUR is supported")),
    };
    Ok((amount, currency))
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

/// Which answer a payment is shown in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Create,
    Get,
    Callback,
}

fn masked_iban(iban: &str) -> String {
    let keep = 5.min(iban.len());
    let (hidden, shown) = iban.split_at(iban.len() - keep);
    format!("{}{shown}", "*".repeat(hidden.len()))
}

fn cancellable(status: &str) -> bool {
    status == PENDING || status == IDENTIFIED
}

/// Whether Payconiq sends a callback when a payment reaches `status`.
fn notified(status: &str) -> bool {
    !matches!(status, PENDING | IDENTIFIED | AUTHORIZED)
}

/// The base URL of the API, what `PayconiqConfig::base_url` takes (the real ones end in `/v3`).
fn api_base(app: &App) -> String {
    format!("{}/v3", app.provider_url(Provider::Payconiq))
}

fn links(app: &App, p: &Payment) -> Value {
    let payment_url = format!("{}/payments/{}", api_base(app), p.id);
    let deeplink = format!("https://payconiq.com/pay/2/{}", p.id);
    let mut qrcode = reqwest::Url::parse("https://portal.ext.payconiq.com/qrcode")
        .map(|mut u| {
            u.query_pairs_mut().append_pair("c", &deeplink);
            u.to_string()
        })
        .unwrap_or_default();
    if qrcode.is_empty() {
        qrcode = deeplink.clone();
    }
    let mut links = Map::new();
    let mut link = |name: &str, href: String| {
        links.insert(name.to_owned(), json!({ "href": href }));
    };
    link("self", payment_url.clone());
    link("deeplink", deeplink);
    link("qrcode", qrcode);
    if p.return_url.is_some() {
        link("checkout", checkout_url(app, &p.id));
    }
    if cancellable(&p.status) {
        link("cancel", payment_url.clone());
    }
    if p.status == SUCCEEDED {
        link("refund", format!("{payment_url}/debtor/refundIban"));
    }
    Value::Object(links)
}

fn view(app: &App, p: &Payment, kind: View) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("paymentId", json!(p.id));
    put("status", json!(p.status));
    put("createdAt", json!(rfc3339(p.created_at)));
    put(
        if kind == View::Create {
            "expiresAt"
        } else {
            "expireAt"
        },
        json!(rfc3339(p.expire_at)),
    );
    put("amount", json!(p.amount));
    put("currency", json!(p.currency));
    if let Some(d) = &p.description {
        put("description", json!(d));
    }
    if let Some(r) = &p.reference {
        put("reference", json!(r));
    }
    if kind != View::Create {
        if let Some(b) = &p.bulk_id {
            put("bulkId", json!(b));
        }
        if let Some(at) = p.succeeded_at {
            put("succeededAt", json!(rfc3339(at)));
        }
        if p.debtor {
            put(
                "debtor",
                json!({"name": DEBTOR_NAME, "iban": masked_iban(DEBTOR_IBAN)}),
            );
        }
    }
    if kind != View::Callback {
        let mut creditor = Map::new();
        creditor.insert(
            "profileId".into(),
            json!(app.credentials.payconiq_profile_id),
        );
        creditor.insert("merchantId".into(), json!(MERCHANT_ID));
        creditor.insert("name".into(), json!(CREDITOR_NAME));
        creditor.insert("iban".into(), json!(CREDITOR_IBAN));
        if let Some(url) = &p.callback_url {
            creditor.insert("callbackUrl".into(), json!(url));
        }
        put("creditor", Value::Object(creditor));
        put("_links", links(app, p));
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------
// Callbacks and transitions
// ---------------------------------------------------------------------------------------------

/// Delivers the signed callback of `p` in its current status, if it has somewhere to go.
fn notify(app: &App, p: &Payment) {
    let Some(url) = p.callback_url.clone() else {
        return;
    };
    let body = view(app, p, View::Callback).to_string();
    let jti = random_hex(32);
    let signature =
        match app
            .keys
            .payconiq
            .sign_for_url(body.as_bytes(), &jti, OffsetDateTime::now_utc(), &url)
        {
            Ok(signature) => signature,
            Err(e) => {
                tracing::warn!(payment_id = %p.id, error = %e, "payconiq callback not signed");
                return;
            }
        };
    app.deliver(Outgoing {
        provider: Provider::Payconiq,
        payment_id: p.id.clone(),
        event: p.status.clone(),
        url,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("User-Agent".into(), "Payconiq Payments/v3".into()),
            ("Signature".into(), signature),
        ],
        body,
        retry_delays: RETRY_DELAYS.to_vec(),
    });
}

fn succeed(p: &mut Payment) {
    p.status = SUCCEEDED.to_owned();
    p.succeeded_at = Some(now_ms());
    p.debtor = true;
    p.otp_pending = false;
}

/// Applies a payer action to `p`.
fn apply(p: &mut Payment, action: &PayerAction) -> Result<(), ControlError> {
    let before = p.status.clone();
    let status = before.as_str();
    let conflict = |action: &str| ControlError::Conflict {
        action: action.to_owned(),
        status: before.clone(),
    };
    let open = matches!(status, PENDING | IDENTIFIED | AUTHORIZED);
    match action {
        PayerAction::Pay => {
            if p.otp_pending {
                return Err(ControlError::Conflict {
                    action: "pay".into(),
                    status: format!("{status} (awaiting the payer's one-time code)"),
                });
            }
            if !open {
                return Err(conflict("pay"));
            }
            succeed(p);
        }
        PayerAction::Fail => {
            if !open {
                return Err(conflict("fail"));
            }
            p.status = AUTHORIZATION_FAILED.to_owned();
            p.debtor = true;
            p.otp_pending = false;
        }
        PayerAction::Cancel | PayerAction::Expire => {
            if !cancellable(status) {
                let name = if *action == PayerAction::Cancel {
                    "cancel"
                } else {
                    "expire"
                };
                return Err(conflict(name));
            }
            p.status = if *action == PayerAction::Cancel {
                CANCELLED
            } else {
                EXPIRED
            }
            .to_owned();
            p.otp_pending = false;
        }
        PayerAction::RequireOtp => {
            if !cancellable(status) || p.otp_pending {
                return Err(conflict("require a one-time code for"));
            }
            p.status = IDENTIFIED.to_owned();
            p.debtor = true;
            p.otp_pending = true;
        }
        PayerAction::SubmitOtp(code) => {
            if !p.otp_pending {
                return Err(conflict("submit a one-time code for"));
            }
            if code != SANDBOX_OTP {
                return Err(ControlError::WrongOtp);
            }
            succeed(p);
        }
        PayerAction::SetStatus(raw) => {
            p.status = raw.clone();
            p.otp_pending = false;
            if raw != PENDING {
                p.debtor = true;
            }
            if raw == SUCCEEDED && p.succeeded_at.is_none() {
                p.succeeded_at = Some(now_ms());
            }
        }
    }
    Ok(())
}

/// The simulated payer (control endpoints, magic amounts, the checkout page, expiry).
pub(crate) async fn act(app: &App, id: &str, action: PayerAction) -> Result<Value, ControlError> {
    let changed = {
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
    let (p, before) = changed;
    let moved = p.status != before || matches!(action, PayerAction::SetStatus(_));
    if moved && notified(&p.status) {
        notify(app, &p);
    }
    Ok(view(app, &p, View::Get))
}

pub(crate) fn payments(app: &App) -> Vec<Value> {
    lock(&app.payconiq.payments)
        .iter()
        .map(|p| view(app, p, View::Get))
        .collect()
}

pub(crate) fn info(app: &App) -> Value {
    let prefix = app.provider_url(Provider::Payconiq);
    json!({
        "base_url": prefix,
        "api_base_url": api_base(app),
        "api_key": app.credentials.payconiq_api_key,
        "auth": "Authorization: Bearer <api_key>",
        "client": "PayconiqConfig::new(api_key, Environment::PreProduction).base_url(api_base_url); \
                   callbacks: JwksCallbackVerifier with JwksFetcher::new(jwks_url, ..) and \
                   CallbackSettings::new(profile_id, <the payment's callbackUrl>)",
        "profile_id": app.credentials.payconiq_profile_id,
        "jwks_url": format!("{prefix}/jwks"),
        "signing_kid": app.keys.payconiq_kid(),
        "webhooks": "signed callbacks (detached JWS ES256, header Signature) POSTed to each \
                     payment's callbackUrl, else to the URL set with PUT /_sandbox/payconiq/webhook-url",
        "webhook_url": app.webhook_url(Provider::Payconiq),
        "checkout_url": format!("{prefix}/checkout/{{paymentId}}"),
        "callback_retry_delays_secs": RETRY_DELAYS.iter().map(Duration::as_secs).collect::<Vec<_>>(),
        "payment_expiry_secs": EXPIRY.as_secs(),
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

async fn create(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    create_payment(&app, &headers, &body, false)
}

async fn create_pos(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    create_payment(&app, &headers, &body, true)
}

fn create_payment(
    app: &App,
    headers: &HeaderMap,
    body: &Bytes,
    pos: bool,
) -> Result<Response, Refusal> {
    authorize(app, headers)?;
    let object = json_object(body)?.ok_or_else(body_missing)?;
    let (amount, currency) = amount_and_currency(&object)?;
    let reference = text(&object, "reference", MAX_REFERENCE, true)?;
    let bulk_id = text(&object, "bulkId", MAX_REFERENCE, true)?;
    let description = text(&object, "description", MAX_DESCRIPTION, true)?;
    let callback_url = url(&object, "callbackUrl")?;
    let return_url = url(&object, "returnUrl")?;
    let pos_id = text(&object, "posId", MAX_SHOP, true)?;
    text(&object, "shopId", MAX_SHOP, true)?;
    let shop_name = text(&object, "shopName", MAX_SHOP, true)?;
    if pos && pos_id.is_none() {
        return Err(required("posId"));
    }
    let created_at = now_ms();
    let payment = Payment {
        id: random_hex(24),
        status: PENDING.to_owned(),
        created_at,
        expire_at: created_at + EXPIRY,
        succeeded_at: None,
        amount,
        currency,
        description,
        reference,
        bulk_id,
        callback_url: callback_url.or_else(|| app.webhook_url(Provider::Payconiq)),
        return_url,
        shop_name,
        debtor: false,
        otp_pending: false,
    };
    let answer = view(app, &payment, View::Create);
    let id = payment.id.clone();
    lock(&app.payconiq.payments).push(payment);
    app.schedule_magic(Provider::Payconiq, &id, amount);
    let expiring = app.clone();
    tokio::spawn(async move {
        tokio::time::sleep(EXPIRY).await;
        // Already final or paid: nothing to do.
        let _ = act(&expiring, &id, PayerAction::Expire).await;
    });
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

/// Runs `f` on the payment `id` after the API key check; 404 when there is none.
fn with_payment<T>(
    app: &App,
    headers: &HeaderMap,
    id: &str,
    f: impl FnOnce(&mut Payment) -> T,
) -> Result<T, Refusal> {
    authorize(app, headers)?;
    let mut payments = lock(&app.payconiq.payments);
    let p = payments
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(not_found)?;
    Ok(f(p))
}

async fn get_payment(
    AxumState(app): AxumState<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let p = with_payment(&app, &headers, &id, |p| p.clone())?;
    Ok(axum::Json(view(&app, &p, View::Get)).into_response())
}

async fn cancel(
    AxumState(app): AxumState<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let cancelled = with_payment(&app, &headers, &id, |p| {
        if !cancellable(&p.status) {
            return None;
        }
        p.status = CANCELLED.to_owned();
        p.otp_pending = false;
        Some(p.clone())
    })?;
    let p = cancelled.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "PAYMENT_NOT_PENDING",
            "Payment is not in a pending or identify state",
        )
    })?;
    notify(&app, &p);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn refund_iban(
    AxumState(app): AxumState<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    if !with_payment(&app, &headers, &id, |p| p.status == SUCCEEDED)? {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "REFUND_NOT_AVAILABLE",
            "The details of the consumer are not available yet",
        ));
    }
    Ok(axum::Json(json!({ "iban": DEBTOR_IBAN })).into_response())
}

async fn acknowledge(
    AxumState(app): AxumState<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    authorize(&app, &headers)?;
    let object = json_object(&body)?.ok_or_else(body_missing)?;
    let (amount, _currency) = amount_and_currency(&object)?;
    let reference = text(&object, "reference", MAX_REFERENCE, true)?;
    let p = with_payment(&app, &headers, &id, |p| {
        if p.status != PENDING_MERCHANT_ACKNOWLEDGEMENT {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "PAYMENT_NOT_PENDING",
                "Payment is not pending the merchant's acknowledgement",
            ));
        }
        if amount != p.amount {
            return Err(invalid("amount", "differs from the payment's amount"));
        }
        if let (Some(given), Some(own)) = (&reference, &p.reference)
            && given != own
        {
            return Err(invalid("reference", "differs from the payment's reference"));
        }
        succeed(p);
        Ok(p.clone())
    })??;
    notify(&app, &p);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct Paging {
    page: Option<String>,
    size: Option<String>,
}

fn search_date(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Option<OffsetDateTime>, Refusal> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => OffsetDateTime::parse(s, &Rfc3339)
            .map(Some)
            .map_err(|_| invalid(field, "expected YYYY-MM-ddTHH:mm:ss.SSSZ")),
        Some(_) => Err(invalid(field, "expected YYYY-MM-ddTHH:mm:ss.SSSZ")),
    }
}

/// A paging query parameter: `default` when absent, at least `min`.
fn paging_number(field: &str, value: Option<&str>, default: u64, min: u64) -> Result<u64, Refusal> {
    match value {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(invalid(field, "not a valid number")),
        },
    }
}

async fn search(
    AxumState(app): AxumState<App>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    authorize(&app, &headers)?;
    let page = paging_number("page", paging.page.as_deref(), 0, 0)?;
    let size = paging_number("size", paging.size.as_deref(), DEFAULT_PAGE_SIZE, 1)?;
    let object = json_object(&body)?.unwrap_or_default();
    let to = search_date(&object, "to")?.unwrap_or_else(OffsetDateTime::now_utc);
    let from = search_date(&object, "from")?.unwrap_or(to - time::Duration::days(1));
    let not_statuses = || invalid("paymentStatuses", "not an array of statuses");
    let statuses = match object.get("paymentStatuses") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(not_statuses)?,
        Some(_) => return Err(not_statuses()),
    };
    let reference = text(&object, "reference", MAX_REFERENCE, false)?;
    let matching: Vec<Payment> = lock(&app.payconiq.payments)
        .iter()
        .rev()
        .filter(|p| p.created_at >= from && p.created_at <= to)
        .filter(|p| statuses.is_empty() || statuses.contains(&p.status))
        .filter(|p| reference.is_none() || p.reference == reference)
        .cloned()
        .collect();
    let total = matching.len() as u64;
    let details: Vec<Value> = matching
        .iter()
        .skip(usize::try_from(page.saturating_mul(size)).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .map(|p| view(&app, p, View::Get))
        .collect();
    Ok(axum::Json(json!({
        "size": details.len(),
        "totalPages": total.div_ceil(size),
        "totalElements": total,
        "number": page,
        "details": details,
    }))
    .into_response())
}

async fn jwks(AxumState(app): AxumState<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        app.keys.payconiq_jwks_json(),
    )
        .into_response()
}

/// The checkout page's URL for payment `id`.
fn checkout_url(app: &App, id: &str) -> String {
    format!("{}/checkout/{id}", app.provider_url(Provider::Payconiq))
}

fn find(app: &App, id: &str) -> Option<Payment> {
    lock(&app.payconiq.payments)
        .iter()
        .find(|p| p.id == id)
        .cloned()
}

/// The checkout page: what is paid, and the payer's buttons while the payment is open.
fn checkout_view(app: &App, p: &Payment, notice: Option<&str>) -> Page {
    let amount = format!("{}.{:02} {}", p.amount / 100, p.amount % 100, p.currency);
    let mut page = Page::new("Payconiq by Bancontact", format!("Pay {amount}")).facts(&[
        ("Merchant", p.shop_name.as_deref().unwrap_or(CREDITOR_NAME)),
        ("Amount", &amount),
        ("Description", p.description.as_deref().unwrap_or("-")),
        ("Reference", p.reference.as_deref().unwrap_or("-")),
        ("Payment", &p.id),
        ("Status", &p.status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    }
    let open = matches!(p.status.as_str(), PENDING | IDENTIFIED | AUTHORIZED);
    if !open {
        let explanation = match p.status.as_str() {
            SUCCEEDED => "Paid with the Payconiq app.",
            AUTHORIZATION_FAILED => "Your bank refused the payment.",
            CANCELLED => "The payment was cancelled.",
            EXPIRED => "The payment expired before it was paid.",
            PENDING_MERCHANT_ACKNOWLEDGEMENT => "Paid: the merchant still has to acknowledge it.",
            _ => "The payment is no longer open.",
        };
        return page.outcome(&p.status, explanation, p.return_url.as_deref());
    }
    let action = |name: &str| format!("{}/{name}", checkout_url(app, &p.id));
    if p.otp_pending {
        page = page
            .text(&format!(
                "The app asks for your one-time code (the sandbox accepts {SANDBOX_OTP})."
            ))
            .form(
                &action("otp"),
                &[],
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
                &action("pay"),
                &[],
                Button::new("pay", &format!("Pay {amount}")),
            )
            .button(
                &action("fail"),
                &[],
                Button::new("fail", "Pay, but the bank refuses"),
            );
    }
    if cancellable(&p.status) {
        page = page.button(&action("cancel"), &[], Button::new("cancel", "Cancel"));
    }
    page
}

/// `GET /checkout/{paymentId}`: the payer's page (what `_links.checkout` points to).
async fn checkout_page(AxumState(app): AxumState<App>, Path(id): Path<String>) -> Response {
    match find(&app, &id) {
        Some(p) => checkout_view(&app, &p, None).render(),
        None => pages::not_found("Payconiq by Bancontact", "payment"),
    }
}

/// `POST /checkout/{paymentId}/{pay|fail|cancel|otp}` (form `code=` for `otp`): the payer acts,
/// then `303` to the payment's `returnUrl`, or back to the page (which then says how the
/// payment ended) when the merchant gave none.
async fn checkout_action(
    AxumState(app): AxumState<App>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let action = match action.as_str() {
        "pay" => PayerAction::Pay,
        "fail" => PayerAction::Fail,
        "cancel" => PayerAction::Cancel,
        "otp" => {
            let code = pages::form_fields(&body).and_then(|mut f| f.remove("code"));
            PayerAction::SubmitOtp(code.unwrap_or_default().trim().to_owned())
        }
        _ => return pages::not_found("Payconiq by Bancontact", "checkout action"),
    };
    let here = checkout_url(&app, &id);
    match act(&app, &id, action).await {
        Ok(_) => match find(&app, &id).and_then(|p| p.return_url) {
            Some(url) => pages::see_other(&url),
            None => pages::see_other(&here),
        },
        Err(ControlError::WrongOtp) => match find(&app, &id) {
            Some(p) => checkout_view(&app, &p, Some("Wrong one-time code: try again."))
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .render(),
            None => pages::not_found("Payconiq by Bancontact", "payment"),
        },
        Err(e) => pages::refused("Payconiq by Bancontact", &e, &here),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(status: &str) -> Payment {
        let now = now_ms();
        Payment {
            id: random_hex(24),
            status: status.to_owned(),
            created_at: now,
            expire_at: now + EXPIRY,
            succeeded_at: None,
            amount: 1250,
            currency: "EUR".into(),
            description: None,
            reference: None,
            bulk_id: None,
            callback_url: None,
            return_url: None,
            shop_name: None,
            debtor: false,
            otp_pending: false,
        }
    }

    #[test]
    fn ids_dates_and_ibans_have_the_wire_shape() {
        let id = random_hex(24);
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        let at = time::macros::datetime!(2018-09-18 11:43:29.16 UTC);
        assert_eq!(rfc3339(at), "2018-09-18T11:43:29.160Z");
        assert_eq!(masked_iban("NL47FRBK0293412636"), "*************12636");
    }

    #[test]
    fn the_payer_moves_payments_through_payconiq_statuses() {
        let mut p = payment(PENDING);
        assert!(apply(&mut p, &PayerAction::Pay).is_ok());
        assert_eq!(p.status, SUCCEEDED);
        assert!(p.succeeded_at.is_some() && p.debtor);
        assert!(matches!(
            apply(&mut p, &PayerAction::Cancel),
            Err(ControlError::Conflict { .. })
        ));

        let mut p = payment(PENDING);
        assert!(apply(&mut p, &PayerAction::RequireOtp).is_ok());
        assert_eq!(p.status, IDENTIFIED);
        assert!(matches!(
            apply(&mut p, &PayerAction::Pay),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(
            apply(&mut p, &PayerAction::SubmitOtp("000000".into())),
            Err(ControlError::WrongOtp)
        );
        assert_eq!(p.status, IDENTIFIED);
        assert!(apply(&mut p, &PayerAction::SubmitOtp(SANDBOX_OTP.into())).is_ok());
        assert_eq!(p.status, SUCCEEDED);

        let mut p = payment(AUTHORIZED);
        assert!(matches!(
            apply(&mut p, &PayerAction::Expire),
            Err(ControlError::Conflict { .. })
        ));
        assert!(apply(&mut p, &PayerAction::Fail).is_ok());
        assert_eq!(p.status, AUTHORIZATION_FAILED);
        assert!(apply(&mut p, &PayerAction::SetStatus("NEW_2031".into())).is_ok());
        assert_eq!(p.status, "NEW_2031");
        assert!(notified("NEW_2031") && !notified(IDENTIFIED) && notified(EXPIRED));
    }

    #[test]
    fn sepa_texts() {
        assert!("Café Élise € 12,50 Ștefan Ελλάδα".chars().all(is_sepa));
        for bad in ["🍕", "订", "\n", "\u{00A0}", "\u{00AD}"] {
            assert!(!bad.chars().all(is_sepa), "{bad:?}");
        }
    }
}
