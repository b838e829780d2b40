//! Who may call: Banq's Auth0 token issuer (the Open API's password grant, and the merchant
//! user's), and on every API call the bearer token of the right audience and `X-Company-Id`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use payments_banq::config::{BANQ_API_AUDIENCE, BANQ_API_CLIENT_ID, OPEN_API_AUDIENCE};
use serde_json::{Map, Value, json};

use super::routes::{api_error, invalid};
use crate::app::App;
use crate::support::{ErrorAnswer, TokenProblem, form_params, header as header_value, oauth_error};

/// The token issuer.
pub(super) fn router() -> Router<App> {
    Router::new().route("/oauth/token", post(token))
}

/// The subject of tokens issued for the Open API (payment links).
pub(super) const SUBJECT_OPEN_API: &str = "open-api";
/// The subject of tokens issued for the merchant user (`users/me`).
pub(super) const SUBJECT_MERCHANT_USER: &str = "merchant-user";

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

/// `POST /oauth/token`: Auth0's password grant (JSON, or form-encoded as Auth0 also takes).
async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ErrorAnswer> {
    let Some(params) = token_params(&headers, &body) else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body is not a JSON object or a form",
        ));
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
        return Err(missing("grant_type"));
    };
    if grant_type != "password" {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        ));
    }
    let unauthorized = || oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    let credentials = &app.credentials;
    let client_id = param("client_id").unwrap_or_default();
    let (subject, expected_audience, (username, password)) =
        if client_id == credentials.banq_client_id {
            if param("client_secret").is_some_and(|s| s != credentials.banq_client_secret) {
                return Err(unauthorized());
            }
            let username = param("username").or_else(|| param("client_username"));
            let password = param("password").or_else(|| param("client_password"));
            (SUBJECT_OPEN_API, OPEN_API_AUDIENCE, (username, password))
        } else if client_id == BANQ_API_CLIENT_ID {
            let login = (param("username"), param("password"));
            (SUBJECT_MERCHANT_USER, BANQ_API_AUDIENCE, login)
        } else {
            return Err(unauthorized());
        };
    let Some(audience) = param("audience") else {
        return Err(missing("audience"));
    };
    if audience != expected_audience {
        return Err(oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            format!(
                "Client is not authorized to access \"{audience}\". You need to create a \
                 client-grant associated to this API."
            ),
        ));
    }
    let Some(username) = username else {
        return Err(missing("username"));
    };
    let Some(password) = password else {
        return Err(missing("password"));
    };
    if username != credentials.banq_username || password != credentials.banq_password {
        return Err(oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Wrong email or password.",
        ));
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
    Ok(Json(answer))
}

/// Checks the bearer token (issued for one of `subjects`) and `X-Company-Id`.
pub(super) fn authorize(
    app: &App,
    headers: &HeaderMap,
    subjects: &[&str],
) -> Result<(), ErrorAnswer> {
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
