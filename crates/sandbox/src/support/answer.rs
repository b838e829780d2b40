//! Refusals answered in a provider's own JSON error format.
//!
//! Every provider writes its errors differently (Payconiq's `{code, message, traceId, spanId}`,
//! Fintecture's `{"errors": [...]}`, HUB2's NestJS body, Banq's `{statusCode, code, message,
//! traceId}`, Paylican's Spring Boot body, the OAuth2 `{error, error_description}` of the token
//! endpoints); each provider module builds its body, and [`ErrorAnswer`] carries it with the
//! status and any header the provider adds (`WWW-Authenticate`, `Cache-Control`).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A refusal: an HTTP status, the provider's JSON error body, and the headers it adds.
#[derive(Debug, Clone)]
pub(crate) struct ErrorAnswer {
    status: StatusCode,
    body: Value,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ErrorAnswer {
    /// `status` with `body` as JSON.
    pub(crate) fn new(status: StatusCode, body: Value) -> ErrorAnswer {
        ErrorAnswer {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// The answer also carries `name: value`.
    pub(crate) fn header(mut self, name: HeaderName, value: &'static str) -> ErrorAnswer {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }
}

impl IntoResponse for ErrorAnswer {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// An OAuth2 error answer, `{"error": ..., "error_description": ...}` (RFC 6749 §5.2), as the
/// token endpoints of Auth0, Fintecture and Keycloak write it.
pub(crate) fn oauth_error(
    status: StatusCode,
    error: &str,
    description: impl Into<String>,
) -> ErrorAnswer {
    let description = description.into();
    ErrorAnswer::new(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[tokio::test]
    async fn the_answer_has_the_status_the_body_and_the_headers() {
        let response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "who?")
            .header(header::CACHE_CONTROL, "no-store")
            .into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response
                .headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.as_bytes()),
            Some(b"no-store".as_slice())
        );
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(b"application/json".as_slice())
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(
            body,
            json!({"error": "invalid_client", "error_description": "who?"})
        );
    }
}
