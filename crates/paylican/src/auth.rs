//! Keycloak tokens: the password grant, then the refresh token while it is valid.
//!
//! [`KeycloakTokenSource`] is a [`TokenSource`] for the core [`TokenCache`](payments_core::token::TokenCache)
//! (which shares the access token between clones, refreshes it a margin before expiry, makes one
//! request for many concurrent callers, and retries once after a 401). Each time the cache needs a
//! new access token the source:
//!
//! 1. uses the refresh token of the previous answer, if it has one that is not within
//!    [`KeycloakTokenSource::refresh_margin`] of its `refresh_expires_in`:
//!    `grant_type=refresh_token&refresh_token=…&client_id=…`;
//! 2. otherwise — or when Keycloak refuses the refresh (session ended, token revoked, realm
//!    restarted) or it cannot be sent — makes a new password grant, exactly as Paylican documents
//!    it: `username=…&password=…&grant_type=password&client_id=…`.
//!
//! The password, access and refresh tokens are held as secrets and never appear in `Debug`
//! output, errors or logs. A refresh token is forgotten as soon as it is refused, and replaced by
//! the one of every new answer (Keycloak rotates them).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use payments_core::http::header::{ACCEPT, HeaderValue};
use payments_core::http::{ApiRequest, HttpClient, Method, Url};
use payments_core::provider_support::{base_url, form_encode};
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::token::{AccessToken, TokenSource};
use payments_core::webhook::{Clock, SystemClock};
use payments_core::{Error, Result};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::convert::provider_error;

/// Default [`KeycloakTokenSource::refresh_margin`].
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(30);

struct RefreshToken {
    secret: SecretString,
    /// `None`: no expiry announced (`refresh_expires_in` absent or 0, an offline token).
    valid_until: Option<OffsetDateTime>,
}

/// Keycloak's token answer. No `Debug`: it holds tokens.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    refresh_expires_in: Option<u64>,
}

/// The Keycloak password grant with refresh tokens (see the [module docs](self)).
pub struct KeycloakTokenSource {
    http: HttpClient,
    url: Url,
    client_id: String,
    username: String,
    password: SecretString,
    clock: Arc<dyn Clock>,
    refresh_margin: Duration,
    refresh: Mutex<Option<RefreshToken>>,
}

impl fmt::Debug for KeycloakTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeycloakTokenSource")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("has_refresh_token", &self.lock().is_some())
            .finish_non_exhaustive()
    }
}

impl KeycloakTokenSource {
    /// A source for the token endpoint `url`, Keycloak client `client_id` and the user's
    /// credentials.
    pub fn new(
        http: HttpClient,
        url: Url,
        client_id: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
    ) -> Self {
        KeycloakTokenSource {
            http,
            url,
            client_id: client_id.into(),
            username: username.into(),
            password,
            clock: Arc::new(SystemClock),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            refresh: Mutex::new(None),
        }
    }

    /// A source for the token endpoint, Keycloak client and user of `config`
    /// ([`PaylicanConfig::effective_token_url`](crate::PaylicanConfig::effective_token_url)).
    ///
    /// # Errors
    /// [`Error::Config`] for a token URL that is not an absolute http(s) URL.
    pub fn for_config(http: HttpClient, config: &crate::PaylicanConfig) -> Result<Self> {
        Ok(Self::new(
            http,
            base_url("Paylican token URL", &config.effective_token_url()?)?,
            config.client_id.clone(),
            config.username.clone(),
            config.password.clone(),
        ))
    }

    /// The clock refresh-token expiry is measured on (default: the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long before its announced expiry a refresh token is no longer used (default 30 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// True while a refresh token is held (whatever its expiry).
    pub fn has_refresh_token(&self) -> bool {
        self.lock().is_some()
    }

    /// Forgets the refresh token: the next fetch is a password grant.
    pub fn forget_refresh_token(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> MutexGuard<'_, Option<RefreshToken>> {
        self.refresh.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The held refresh token if it is usable now; an expired one is dropped.
    fn usable_refresh_token(&self) -> Option<SecretString> {
        let mut held = self.lock();
        let token = held.as_ref()?;
        let margin = time::Duration::try_from(self.refresh_margin).unwrap_or(time::Duration::MAX);
        let usable = token
            .valid_until
            .is_none_or(|until| self.clock.now().saturating_add(margin) < until);
        if usable {
            Some(token.secret.clone())
        } else {
            *held = None;
            None
        }
    }

    fn password_form(&self) -> String {
        form(&[
            ("username", &self.username),
            ("password", self.password.expose_secret()),
            ("grant_type", "password"),
            ("client_id", &self.client_id),
        ])
    }

    fn refresh_form(&self, refresh_token: &SecretString) -> String {
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
            ("client_id", &self.client_id),
        ])
    }

    async fn token_request(&self, form: String) -> Result<AccessToken> {
        let request = ApiRequest::new("access_token", Method::POST, self.url.clone())
            // A token request creates nothing a second one could duplicate.
            .idempotent(true)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(form.into_bytes(), "application/x-www-form-urlencoded");
        let response = self
            .http
            .send(request)
            .await?
            .error_for_status(provider_error)?;
        let token: TokenResponse = response.json()?;
        if token.access_token.is_empty() {
            return Err(response.decode_error("empty access_token"));
        }
        let now = self.clock.now();
        *self.lock() = token
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(|secret| RefreshToken {
                secret: SecretString::from(secret),
                valid_until: token.refresh_expires_in.filter(|s| *s > 0).map(|s| {
                    now.saturating_add(time::Duration::seconds(
                        i64::try_from(s).unwrap_or(i64::MAX),
                    ))
                }),
            });
        Ok(AccessToken::new(
            SecretString::from(token.access_token),
            token.expires_in.map(Duration::from_secs),
        ))
    }
}

#[async_trait::async_trait]
impl TokenSource for KeycloakTokenSource {
    async fn fetch(&self) -> Result<AccessToken> {
        if let Some(refresh_token) = self.usable_refresh_token() {
            match self.token_request(self.refresh_form(&refresh_token)).await {
                Ok(token) => return Ok(token),
                Err(e) => {
                    tracing::debug!(
                        error = %describe(&e),
                        "refresh token refused or not sent; falling back to the password grant"
                    );
                    self.forget_refresh_token();
                }
            }
        }
        self.token_request(self.password_form()).await
    }
}

/// An `application/x-www-form-urlencoded` body of `pairs`, in order.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn describe(e: &Error) -> String {
    match e.http_status() {
        Some(status) => format!("HTTP {status} {}", e.provider_code().unwrap_or_default()),
        None => e.to_string(),
    }
}
