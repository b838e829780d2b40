//! Credentials and environments.

use std::fmt;
use std::sync::Arc;

use payments_core::Error;
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::webhook::{Clock, SystemClock};

use crate::keys::AppPrivateKey;
use crate::signing::{RequestIdSource, UuidV4};

/// Which Fintecture platform to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// `https://api-sandbox.fintecture.com`: request signatures optional.
    Sandbox,
    /// `https://api.fintecture.com`: request signatures mandatory.
    Production,
}

impl Environment {
    /// The API host.
    pub const fn api_base_url(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://api-sandbox.fintecture.com",
            Environment::Production => "https://api.fintecture.com",
        }
    }

    /// True for production.
    pub const fn is_production(self) -> bool {
        matches!(self, Environment::Production)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        })
    }
}

/// Everything a `FintectureClient` needs. The app secret and the private key are secrets:
/// `Debug` never shows them.
#[derive(Clone)]
#[non_exhaustive]
pub struct FintectureConfig {
    /// The application id (`app_id`), also the `keyId` of request and webhook signatures.
    pub app_id: String,
    /// The application secret (HTTP Basic password of the token request).
    pub app_secret: SecretString,
    /// The application's private key, PEM (PKCS#8 or PKCS#1).
    pub private_key_pem: SecretString,
    /// The platform.
    pub environment: Environment,
    /// Overrides the environment's API host (a local sandbox, a proxy).
    pub base_url: Option<String>,
    /// Overrides the token endpoint (default `<base>/oauth/accesstoken`).
    pub token_url: Option<String>,
    /// Signs every API call (default: on). Fintecture requires signatures in production and
    /// accepts unsigned calls in the sandbox; turning it off in production is a config error.
    pub sign_requests: bool,
    /// Used by the provider-neutral `checkout` when the request names no return URL.
    pub default_redirect_uri: Option<String>,
    /// Source of the `Date` header (injectable for deterministic tests).
    pub clock: Arc<dyn Clock>,
    /// Source of `X-Request-ID` values (injectable for deterministic tests).
    pub request_ids: Arc<dyn RequestIdSource>,
    #[cfg(feature = "client")]
    /// Timeouts and retries.
    pub http: payments_core::http::HttpConfig,
}

impl fmt::Debug for FintectureConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FintectureConfig")
            .field("app_id", &self.app_id)
            .field("app_secret", &"[REDACTED]")
            .field("private_key_pem", &"[REDACTED]")
            .field("environment", &self.environment)
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field("sign_requests", &self.sign_requests)
            .field("default_redirect_uri", &self.default_redirect_uri)
            .finish_non_exhaustive()
    }
}

impl FintectureConfig {
    /// A configuration for the application `app_id`.
    pub fn new(
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
        private_key_pem: impl Into<String>,
        environment: Environment,
    ) -> Self {
        FintectureConfig {
            app_id: app_id.into(),
            app_secret: SecretString::from(app_secret.into()),
            private_key_pem: SecretString::from(private_key_pem.into()),
            environment,
            base_url: None,
            token_url: None,
            sign_requests: true,
            default_redirect_uri: None,
            clock: Arc::new(SystemClock),
            request_ids: Arc::new(UuidV4),
            #[cfg(feature = "client")]
            http: payments_core::http::HttpConfig::default(),
        }
    }

    /// Sends API calls to `url` instead of the environment's host.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Requests tokens from `url` instead of `<base>/oauth/accesstoken`.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Turns request signing on or off (off is only allowed in the sandbox).
    pub fn sign_requests(mut self, sign: bool) -> Self {
        self.sign_requests = sign;
        self
    }

    /// Sets the redirect URI used when a provider-neutral request names no return URL.
    pub fn default_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.default_redirect_uri = Some(uri.into());
        self
    }

    /// Sets the clock behind the `Date` header.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the source of `X-Request-ID` values.
    pub fn request_ids(mut self, ids: Arc<dyn RequestIdSource>) -> Self {
        self.request_ids = ids;
        self
    }

    /// Sets timeouts and retries.
    #[cfg(feature = "client")]
    pub fn http(mut self, http: payments_core::http::HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// The API base URL in effect.
    pub fn effective_base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(self.environment.api_base_url())
    }

    /// Parses the private key (also what a webhook verifier needs).
    pub fn load_private_key(&self) -> Result<Arc<AppPrivateKey>, Error> {
        AppPrivateKey::from_pem(self.private_key_pem.expose_secret()).map(Arc::new)
    }

    /// Checks everything that can be checked offline.
    pub fn check(&self) -> Result<(), Error> {
        if self.app_id.trim().is_empty() {
            return Err(Error::Config("the Fintecture app id is empty".into()));
        }
        if self.app_id.contains(['"', '\\', '\r', '\n']) {
            return Err(Error::Config(
                "the Fintecture app id contains quote, backslash or line-break characters".into(),
            ));
        }
        if self.app_secret.expose_secret().trim().is_empty() {
            return Err(Error::Config("the Fintecture app secret is empty".into()));
        }
        if !self.sign_requests && self.environment.is_production() {
            return Err(Error::Config(
                "Fintecture requires signed requests in production; keep sign_requests on".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets_and_checks_catch_mistakes() {
        let config = FintectureConfig::new(
            "app-1",
            "SECRET-app",
            "-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----",
            Environment::Production,
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(config.check().is_ok());
        assert!(config.clone().sign_requests(false).check().is_err());
        let sandbox = FintectureConfig {
            environment: Environment::Sandbox,
            ..config.clone()
        };
        assert!(sandbox.sign_requests(false).check().is_ok());
        let mut bad = config.clone();
        bad.app_id = " ".into();
        assert!(bad.check().is_err());
        assert_eq!(config.effective_base_url(), "https://api.fintecture.com");
        let e = config.load_private_key().unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "{e}");
    }
}
