//! Who may call: the client-credentials token endpoint, and on every `/pis/v2` call the bearer
//! token and the request signature (HTTP Signatures, RSA-SHA256, checked with the merchant's
//! public key).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use payments_core::provider_support::constant_time_eq;
use payments_core::webhook::WebhookRequest;
use payments_fintecture::signing::parse_http_date;
use payments_fintecture::testing::RequestSignatureVerifier;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::routes::unauthorized;
use crate::app::App;
use crate::support::{ErrorAnswer, TokenProblem, form_params, header as header_str, oauth_error};

/// The token endpoint.
pub(super) fn router() -> Router<App> {
    Router::new().route("/oauth/accesstoken", post(token))
}

/// How far a request's `Date` may be from the sandbox clock.
const MAX_DATE_SKEW: Duration = Duration::from_secs(300);

/// The request target as the client sent it (prefix included: `nest` strips it).
fn request_target(uri: &Uri) -> String {
    let pq = uri.path_and_query().map_or("/", |p| p.as_str());
    if pq.starts_with("/fintecture/") {
        pq.to_owned()
    } else {
        format!("/fintecture{pq}")
    }
}

/// A `/pis/v2` call that passed [`authenticate`]: its URI and raw body. As a handler's last
/// argument it refuses the call (401 in Fintecture's error format, or the body extractor's own
/// refusal) before the handler runs.
pub(super) struct Signed {
    pub(super) uri: Uri,
    pub(super) body: Bytes,
}

impl FromRequest<App> for Signed {
    type Rejection = Response;

    async fn from_request(request: Request, app: &App) -> Result<Self, Response> {
        let method = request.method().clone();
        let uri = request.uri().clone();
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, app)
            .await
            .map_err(IntoResponse::into_response)?;
        authenticate(app, &method, &uri, &headers, &body).map_err(IntoResponse::into_response)?;
        Ok(Signed { uri, body })
    }
}

/// Bearer token, then request signature, as Fintecture checks an API call.
fn authenticate(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ErrorAnswer> {
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

/// `POST /oauth/accesstoken`: the client-credentials grant.
async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ErrorAnswer> {
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
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Authorization: Basic base64(app_id:app_secret) is required",
        ));
    };
    let (id, secret) = basic.split_once(':').unwrap_or((basic.as_str(), ""));
    let good = id == creds.fintecture_app_id
        && constant_time_eq(secret.as_bytes(), creds.fintecture_app_secret.as_bytes());
    if !good {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown app_id or wrong app_secret",
        ));
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
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    if form.get("app_id") != Some(&creds.fintecture_app_id) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "app_id is missing or differs from the authenticated application",
        ));
    }
    if !form
        .get("scope")
        .is_some_and(|s| s.split_whitespace().any(|s| s == "PIS"))
    {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must be PIS",
        ));
    }
    let lifetime = app.token_lifetime;
    let token = app
        .fintecture
        .tokens
        .issue(&creds.fintecture_app_id, lifetime);
    Ok(Json(json!({
        "token_type": "Bearer",
        "access_token": token,
        "expires_in": lifetime.as_secs(),
    })))
}
