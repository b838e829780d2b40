//! The control endpoints under `/_sandbox`: the simulated payer, faults, logs.

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::App;
use crate::support::ErrorAnswer;
use crate::{FaultRule, Provider, providers};

/// What the simulated payer (or the provider's back office) does to a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "value", rename_all = "kebab-case")]
pub enum PayerAction {
    /// The payer pays: the provider's "paid" status.
    Pay,
    /// The payment fails (refused, insufficient funds).
    Fail,
    /// The payer cancels.
    Cancel,
    /// The payment expires unpaid.
    Expire,
    /// The payer's bank or wallet asks for a one-time code before paying.
    RequireOtp,
    /// The payer enters a one-time code; the sandbox accepts `123456` and refuses anything else.
    SubmitOtp(String),
    /// Sets the provider's raw status to anything, even an undocumented value.
    SetStatus(String),
}

/// The one-time code the sandbox accepts.
pub const SANDBOX_OTP: &str = "123456";

/// Why a control action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No payment with this id.
    #[error("no {provider} payment `{id}`")]
    NotFound {
        /// The provider.
        provider: Provider,
        /// The id asked for.
        id: String,
    },
    /// The payment's status does not allow the action (paying a cancelled payment).
    #[error("cannot {action} a payment in status {status}")]
    Conflict {
        /// The action refused.
        action: String,
        /// The payment's raw status.
        status: String,
    },
    /// The provider has no such notion (say, cancelling a Paylican invoice).
    #[error("{0}")]
    Unsupported(String),
    /// A wrong one-time code.
    #[error("wrong one-time code")]
    WrongOtp,
    /// No such provider in the path.
    #[error("{0}")]
    UnknownProvider(String),
}

impl ControlError {
    /// The HTTP status a refusal is answered with (by the control plane and the payer pages).
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ControlError::NotFound { .. } | ControlError::UnknownProvider(_) => {
                StatusCode::NOT_FOUND
            }
            ControlError::Conflict { .. } => StatusCode::CONFLICT,
            ControlError::Unsupported(_) => StatusCode::BAD_REQUEST,
            ControlError::WrongOtp => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        problem(self.status(), self.to_string()).into_response()
    }
}

/// A refusal of the control plane (a control error, a body that is not JSON, a bad field, an
/// unknown path): `{"error": "..."}` with the fitting status.
fn problem(status: StatusCode, message: impl Into<String>) -> ErrorAnswer {
    ErrorAnswer::new(status, json!({ "error": message.into() }))
}

/// The JSON body of a control request: 415 when it is not declared `application/json`, 400 when
/// it is not JSON, 422 when it is JSON of the wrong shape (serde's message names the field).
fn body<T>(parsed: Result<axum::Json<T>, JsonRejection>) -> Result<T, ErrorAnswer> {
    let status = match &parsed {
        Ok(_) => StatusCode::OK,
        Err(JsonRejection::MissingJsonContentType(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Err(JsonRejection::JsonDataError(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        Err(_) => StatusCode::BAD_REQUEST,
    };
    parsed
        .map(|axum::Json(value)| value)
        .map_err(|rejection| problem(status, rejection.body_text().replace('\n', " ")))
}

/// The server's fallback: a path under `/_sandbox` that names no control endpoint is a JSON
/// 404; any other unknown path keeps the plain 404 (each provider answers its own paths).
async fn unknown_path(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path != "/_sandbox" && !path.starts_with("/_sandbox/") {
        return StatusCode::NOT_FOUND.into_response();
    }
    problem(
        StatusCode::NOT_FOUND,
        format!(
            "no control endpoint {method} {path} (GET /_sandbox describes the sandbox; the \
             endpoints are listed in the payments-sandbox crate docs)"
        ),
    )
    .into_response()
}

/// A control path asked with a method it does not take (the `Allow` header lists the others).
async fn wrong_method(method: Method, uri: Uri) -> ErrorAnswer {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/_sandbox", get(info))
        .route(
            "/_sandbox/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/deliveries", get(deliveries))
        .route("/_sandbox/sink", any(sink))
        .route("/_sandbox/sink/{*rest}", any(sink))
        .route("/_sandbox/{provider}/payments", get(list_payments))
        .route("/_sandbox/{provider}/webhook-url", put(set_webhook_url))
        .route("/_sandbox/{provider}/payments/{id}/otp", post(submit_otp))
        .route(
            "/_sandbox/{provider}/payments/{id}/status",
            post(set_status),
        )
        .route("/_sandbox/{provider}/payments/{id}/{action}", post(act))
        .method_not_allowed_fallback(wrong_method)
        .fallback(unknown_path)
}

async fn info(State(app): State<App>) -> axum::Json<Value> {
    axum::Json(crate::server::info(&app))
}

async fn list_faults(State(app): State<App>) -> axum::Json<Vec<FaultRule>> {
    axum::Json(app.faults.rules())
}

async fn add_fault(
    State(app): State<App>,
    rule: Result<axum::Json<FaultRule>, JsonRejection>,
) -> Result<StatusCode, ErrorAnswer> {
    app.faults.add(body(rule)?);
    Ok(StatusCode::CREATED)
}

async fn clear_faults(State(app): State<App>) -> StatusCode {
    app.faults.clear();
    StatusCode::NO_CONTENT
}

async fn requests(State(app): State<App>) -> Response {
    axum::Json(app.faults.requests()).into_response()
}

#[derive(Deserialize)]
struct DeliveryFilter {
    provider: Option<String>,
    payment_id: Option<String>,
}

async fn deliveries(State(app): State<App>, Query(filter): Query<DeliveryFilter>) -> Response {
    let all = app.deliveries.all();
    let selected: Vec<_> = all
        .into_iter()
        .filter(|d| {
            filter
                .provider
                .as_deref()
                .is_none_or(|p| d.provider.as_str() == p)
                && filter
                    .payment_id
                    .as_deref()
                    .is_none_or(|id| d.payment_id == id)
        })
        .collect();
    axum::Json(selected).into_response()
}

/// Accepts any webhook: 200, or the status named by a `/_sandbox/sink/status/{code}` path.
async fn sink(rest: Option<Path<String>>) -> StatusCode {
    rest.map_or(StatusCode::OK, |Path(rest)| sink_status(&rest))
}

/// The status the sink answers for the path after `/_sandbox/sink/`.
fn sink_status(rest: &str) -> StatusCode {
    rest.strip_prefix("status/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|code| StatusCode::from_u16(code.parse().ok()?).ok())
        .unwrap_or(StatusCode::OK)
}

fn provider(name: &str) -> Result<Provider, ControlError> {
    name.parse::<Provider>()
        .map_err(|e| ControlError::UnknownProvider(e.to_string()))
}

async fn list_payments(State(app): State<App>, Path(name): Path<String>) -> Response {
    match provider(&name) {
        Ok(p) => axum::Json(providers::payments(&app, p)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct WebhookUrl {
    url: Option<String>,
}

async fn set_webhook_url(
    State(app): State<App>,
    Path(name): Path<String>,
    request: Result<axum::Json<WebhookUrl>, JsonRejection>,
) -> Response {
    let p = match provider(&name) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match webhook_url(request) {
        Ok(url) => {
            app.set_webhook_url(p, url);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(problem) => problem.into_response(),
    }
}

/// The body of `PUT /_sandbox/{provider}/webhook-url`: `{"url": null}` or an absolute http(s) URL.
fn webhook_url(
    request: Result<axum::Json<WebhookUrl>, JsonRejection>,
) -> Result<Option<String>, ErrorAnswer> {
    let WebhookUrl { url } = body(request)?;
    if let Some(url) = url.as_deref().filter(|u| !crate::support::is_http_url(u)) {
        return Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("url `{url}` is not an absolute http(s) URL"),
        ));
    }
    Ok(url)
}

async fn run(app: &App, name: &str, id: &str, action: PayerAction) -> Response {
    let p = match provider(name) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match providers::act(app, p, id, action).await {
        Ok(payment) => axum::Json(payment).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn act(
    State(app): State<App>,
    Path((name, id, action)): Path<(String, String, String)>,
) -> Response {
    let action = match action.as_str() {
        "pay" => PayerAction::Pay,
        "fail" => PayerAction::Fail,
        "cancel" => PayerAction::Cancel,
        "expire" => PayerAction::Expire,
        "require-otp" => PayerAction::RequireOtp,
        other => {
            return ControlError::Unsupported(format!(
                "unknown action `{other}` (pay, fail, cancel, expire, require-otp, otp, status)"
            ))
            .into_response();
        }
    };
    run(&app, &name, &id, action).await
}

#[derive(Deserialize)]
struct Otp {
    code: String,
}

async fn submit_otp(
    State(app): State<App>,
    Path((name, id)): Path<(String, String)>,
    request: Result<axum::Json<Otp>, JsonRejection>,
) -> Response {
    match body(request) {
        Ok(otp) => run(&app, &name, &id, PayerAction::SubmitOtp(otp.code)).await,
        Err(problem) => problem.into_response(),
    }
}

#[derive(Deserialize)]
struct RawStatus {
    status: String,
}

async fn set_status(
    State(app): State<App>,
    Path((name, id)): Path<(String, String)>,
    request: Result<axum::Json<RawStatus>, JsonRejection>,
) -> Response {
    match body(request) {
        Ok(raw) => run(&app, &name, &id, PayerAction::SetStatus(raw.status)).await,
        Err(problem) => problem.into_response(),
    }
}

/// The control plane's request parsing without a server: each JSON body decoded and checked as
/// its handler does, the path parameters the handlers read, and the answer a stored fault
/// produces. The entry points of the `sandbox_control` fuzz target (`crates/fuzz-targets`),
/// re-exported as `payments_sandbox::__fuzz`; not part of the API.
pub mod fuzz {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::{
        Otp, PayerAction, RawStatus, WebhookUrl, body, provider, sink_status, webhook_url,
    };
    use crate::{Fault, FaultRule, Provider};

    /// A control endpoint that takes a JSON body.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ControlBody {
        /// `POST /_sandbox/faults`: a [`FaultRule`].
        Fault,
        /// `PUT /_sandbox/{provider}/webhook-url`: `{"url": ...}`.
        WebhookUrl,
        /// `POST /_sandbox/{provider}/payments/{id}/otp`: `{"code": ...}`.
        Otp,
        /// `POST /_sandbox/{provider}/payments/{id}/status`: `{"status": ...}`.
        Status,
    }

    /// What a handler goes on with once its body is accepted.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Accepted {
        /// The fault rule to store.
        Fault(FaultRule),
        /// The webhook URL to set (`None` clears it).
        WebhookUrl(Option<String>),
        /// The payer action to run.
        Action(PayerAction),
    }

    /// Decodes `bytes` sent as `application/json` to `endpoint` as axum's `Json` extractor does
    /// for the server, and checks it as the handler does. `Err` is the HTTP status of the
    /// refusal (400, 415, 422).
    pub fn control_body(endpoint: ControlBody, bytes: &[u8]) -> Result<Accepted, u16> {
        let status = |answer: super::ErrorAnswer| answer.into_response().status().as_u16();
        match endpoint {
            ControlBody::Fault => body(extract::<FaultRule>(bytes))
                .map(Accepted::Fault)
                .map_err(status),
            ControlBody::WebhookUrl => webhook_url(extract::<WebhookUrl>(bytes))
                .map(Accepted::WebhookUrl)
                .map_err(status),
            ControlBody::Otp => body(extract::<Otp>(bytes))
                .map(|otp| Accepted::Action(PayerAction::SubmitOtp(otp.code)))
                .map_err(status),
            ControlBody::Status => body(extract::<RawStatus>(bytes))
                .map(|raw| Accepted::Action(PayerAction::SetStatus(raw.status)))
                .map_err(status),
        }
    }

    /// What axum's `Json` extractor makes of a request with `Content-Type: application/json`
    /// carrying `bytes` (after the content type, it is `Json::from_bytes`).
    fn extract<T: serde::de::DeserializeOwned>(
        bytes: &[u8],
    ) -> Result<axum::Json<T>, axum::extract::rejection::JsonRejection> {
        axum::Json::<T>::from_bytes(bytes)
    }

    /// The provider a `{provider}` path parameter names.
    pub fn provider_param(name: &str) -> Option<Provider> {
        provider(name).ok()
    }

    /// The status `/_sandbox/sink/{rest}` answers.
    pub fn sink(rest: &str) -> u16 {
        sink_status(rest).as_u16()
    }

    /// The status of the answer `fault` replaces a request's answer with (before processing).
    pub fn fault_answer(fault: &Fault) -> u16 {
        crate::faults::fault_response(fault, StatusCode::OK)
            .status()
            .as_u16()
    }
}
