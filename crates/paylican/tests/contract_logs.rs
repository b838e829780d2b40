//! What the client logs while renewing tokens: the refresh-token → password-grant fallback must
//! log no password and no token. Its own test target with a single test: `tracing` caches per
//! call site whether anyone listens, so a capturing subscriber is only reliable when no other test
//! thread of the process goes through the same call sites at the same time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use payments_core::Decimal;
use payments_paylican::{CreatePaymentRequest, PaylicanClient, PaylicanConfig};
use payments_test_support::{Fixtures, fixtures, mock_http, requests_to};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FIXTURES: Fixtures = fixtures!();

const TOKEN_PATH: &str = "/auth/realms/PGW/protocol/openid-connect/token";
const USERNAME: &str = "shop-user";
/// Needs form encoding: `@`, space, `&`, `=`, `+` and a non-ASCII letter.
const PASSWORD: &str = "p@ss w&rd=+ö-SECRET";
const PASSWORD_FORM: &str = "username=shop-user&password=p%40ss+w%26rd%3D%2B%C3%B6-SECRET\
                             &grant_type=password&client_id=invoice-system-client";
const ACCESS_1: &str = "eyJhbGciOiJSUzI1NiJ9.access-1-SECRET.sig";
const REFRESH_1: &str = "eyJhbGciOiJIUzI1NiJ9.refresh-1-SECRET.sig";

fn client(server: &MockServer) -> PaylicanClient {
    PaylicanClient::new(
        PaylicanConfig::new(
            server.uri(),
            format!("{}/pgw", server.uri()),
            USERNAME,
            PASSWORD,
        )
        .http(mock_http()),
    )
    .unwrap()
}

/// The fixture's token answer with `expires_in: 0` (the next call renews it) and this refresh
/// token.
fn token_body(access: &str, refresh: &str) -> serde_json::Value {
    let mut body: serde_json::Value =
        serde_json::from_str(&FIXTURES.text("token_200.json")).unwrap();
    body["access_token"] = access.into();
    body["expires_in"] = 0.into();
    body["refresh_token"] = refresh.into();
    body
}

fn refresh_form(refresh_token: &str) -> String {
    format!(
        "grant_type=refresh_token&refresh_token={refresh_token}&client_id=invoice-system-client"
    )
}

fn small_request(reference: &str) -> CreatePaymentRequest {
    CreatePaymentRequest::new(Decimal::parse("1.00").unwrap(), "XYZ", reference)
}

#[tokio::test]
async fn the_token_fallbacks_log_no_password_and_no_token() {
    the_refresh_fallback_logs_no_password_or_token().await;
    an_unreadable_refresh_answer_falls_back_without_logging_its_tokens().await;
    a_refresh_answered_503_falls_back_to_the_password_grant().await;
}

// ---------------------------------------------------------------- logs

/// A minimal `tracing` subscriber that writes every span, recorded field and event as text, so a
/// test can read what a log pipeline would receive.
mod log_capture {
    use std::fmt::Write as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub(crate) struct Capture {
        lines: Arc<Mutex<Vec<String>>>,
        next_id: Arc<AtomicU64>,
    }

    impl Capture {
        pub(crate) fn text(&self) -> String {
            self.lines.lock().unwrap().join("\n")
        }

        fn push(&self, line: String) {
            self.lines.lock().unwrap().push(line);
        }
    }

    struct Fields<'a>(&'a mut String);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }

        fn new_span(&self, attributes: &Attributes<'_>) -> Id {
            let mut line = format!("span {}", attributes.metadata().name());
            attributes.record(&mut Fields(&mut line));
            self.push(line);
            Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
        }

        fn record(&self, _: &Id, values: &Record<'_>) {
            let mut line = String::from("record");
            values.record(&mut Fields(&mut line));
            self.push(line);
        }

        fn record_follows_from(&self, _: &Id, _: &Id) {}

        fn event(&self, event: &Event<'_>) {
            let mut line = format!("event {}", event.metadata().level());
            event.record(&mut Fields(&mut line));
            self.push(line);
        }

        fn enter(&self, _: &Id) {}

        fn exit(&self, _: &Id) {}
    }
}

/// Runs two creations whose second token renewal tries the refresh token, answered `refusal`,
/// under a capturing subscriber; returns the token forms sent and everything logged.
async fn refresh_refused_then_password_grant(refusal: ResponseTemplate) -> (Vec<String>, String) {
    let capture = log_capture::Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(PASSWORD_FORM))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(ACCESS_1, REFRESH_1)))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string(refresh_form(REFRESH_1)))
        .respond_with(refusal)
        .expect(1..)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/pgw/api/v1/payment"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(FIXTURES.text("create_payment_200.json")),
        )
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    for reference in ["R-1", "R-2"] {
        c.create_payment(&small_request(reference)).await.unwrap();
    }
    let forms = requests_to(&server, TOKEN_PATH)
        .await
        .into_iter()
        .map(|r| String::from_utf8(r.body).unwrap())
        .collect();
    (forms, capture.text())
}

fn assert_no_secret_logged(logs: &str) {
    // The capture works: the request spans and the fallback are there.
    assert!(logs.contains("span payments.request"), "{logs}");
    assert!(
        logs.contains("falling back to the password grant"),
        "{logs}"
    );
    for secret in [
        "SECRET",
        "p@ss",
        "p%40ss",
        "w&rd",
        "access-1",
        "refresh-1",
        "rotated",
    ] {
        assert!(!logs.contains(secret), "{secret} logged:\n{logs}");
    }
}

async fn the_refresh_fallback_logs_no_password_or_token() {
    // Keycloak refuses the refresh token (session ended): exactly one refresh form, then the
    // documented password form again, and nothing secret in the logs.
    let (forms, logs) = refresh_refused_then_password_grant(
        ResponseTemplate::new(400).set_body_string(FIXTURES.text("token_400_refresh_invalid.json")),
    )
    .await;
    assert_eq!(
        forms,
        [
            PASSWORD_FORM.to_string(),
            refresh_form(REFRESH_1),
            PASSWORD_FORM.to_string()
        ]
    );
    assert_no_secret_logged(&logs);
    assert!(logs.contains("invalid_grant"), "{logs}");
}

async fn an_unreadable_refresh_answer_falls_back_without_logging_its_tokens() {
    // A 200 whose access token is empty but which carries a (rotated) refresh token: a decode
    // error whose logged excerpt must not show the token, and the new refresh token is not kept.
    let (forms, logs) =
        refresh_refused_then_password_grant(ResponseTemplate::new(200).set_body_string(
            r#"{"access_token":"","expires_in":300,"refresh_token":"rotated-SECRET-token"}"#,
        ))
        .await;
    assert_eq!(
        forms,
        [
            PASSWORD_FORM.to_string(),
            refresh_form(REFRESH_1),
            PASSWORD_FORM.to_string()
        ]
    );
    assert_no_secret_logged(&logs);
}

async fn a_refresh_answered_503_falls_back_to_the_password_grant() {
    // Keycloak unavailable for the refresh: the token request is idempotent, so it is retried,
    // then the password grant is made; every refresh attempt carried the same exact form.
    let (forms, logs) = refresh_refused_then_password_grant(ResponseTemplate::new(503)).await;
    let (first, rest) = forms.split_first().unwrap();
    let (last, refreshes) = rest.split_last().unwrap();
    assert_eq!(first, PASSWORD_FORM);
    assert_eq!(last, PASSWORD_FORM);
    assert!(!refreshes.is_empty());
    assert!(
        refreshes.iter().all(|f| *f == refresh_form(REFRESH_1)),
        "{forms:?}"
    );
    assert_no_secret_logged(&logs);
}
