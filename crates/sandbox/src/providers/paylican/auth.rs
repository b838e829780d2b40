//! Paylican's Keycloak: the token endpoint (password and refresh-token grants) and the login step
//! of the payment page.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payments_core::provider_support::{percent_decode, percent_encode};
use serde::Deserialize;
use serde_json::json;

use crate::Provider;
use crate::app::App;
use crate::support::page::Page;
use crate::support::{content_type_is, lock, new_id};

/// Keycloak's routes (with and without `/auth`, Keycloak 17+).
pub(super) fn router() -> Router<App> {
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
}

/// Shortest refresh-token lifetime (Keycloak's default SSO session idle time).
const REFRESH_LIFETIME: Duration = Duration::from_secs(1800);

/// Keycloak's OAuth2 error answer: the standard body, with Keycloak's no-cache headers.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    crate::support::oauth_error(status, error, description)
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::PRAGMA, "no-cache")
        .into_response()
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
    let text = String::from_utf8_lossy(bytes).replace('+', " ");
    String::from_utf8_lossy(&percent_decode(&text)).into_owned()
}

fn form_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `POST .../protocol/openid-connect/token`: Keycloak's token endpoint, form-encoded.
async fn token(
    State(app): State<App>,
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
    let is_form = content_type_is(&headers, "application/x-www-form-urlencoded");
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

/// `GET .../protocol/openid-connect/auth`: Keycloak's login step of the payment page; the
/// sandbox payer is already logged in.
async fn authorize(
    State(app): State<App>,
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
                let _ = write!(params, "state={}&", percent_encode(state));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent_escapes() {
        let pairs = form_pairs(b"username=a%40b&password=p+w%26d%3D%C3%B6&empty=&flag");
        assert_eq!(form_value(&pairs, "username"), Some("a@b"));
        assert_eq!(form_value(&pairs, "password"), Some("p w&d=ö"));
        assert_eq!(form_value(&pairs, "empty"), None);
        assert_eq!(form_value(&pairs, "flag"), None);
        assert_eq!(&*percent_decode("%zz%4"), b"%zz%4");
    }
}
