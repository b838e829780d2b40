//! Credentials and environments.

use std::fmt;

use payments_core::secret::SecretString;

/// Which Payconiq platform to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// Production, current host: `https://merchant.api.bancontact.net/v3`.
    Production,
    /// Pre-production (test), current host: `https://merchant.api.preprod.bancontact.net/v3`.
    PreProduction,
    /// Production, legacy host: `https://api.payconiq.com/v3`.
    LegacyProduction,
    /// Pre-production, legacy host: `https://api.ext.payconiq.com/v3`.
    LegacyPreProduction,
}

impl Environment {
    /// The API base URL (with the `/v3` prefix).
    pub const fn api_base_url(self) -> &'static str {
        match self {
            Environment::Production => "https://merchant.api.bancontact.net/v3",
            Environment::PreProduction => "https://merchant.api.preprod.bancontact.net/v3",
            Environment::LegacyProduction => "https://api.payconiq.com/v3",
            Environment::LegacyPreProduction => "https://api.ext.payconiq.com/v3",
        }
    }

    /// Where Payconiq publishes the JWK set that signs callbacks in this environment.
    pub const fn jwks_url(self) -> &'static str {
        match self {
            Environment::Production => "https://jwks.bancontact.net/",
            Environment::PreProduction => "https://jwks.preprod.bancontact.net/",
            Environment::LegacyProduction => "https://payconiq.com/certificates",
            Environment::LegacyPreProduction => "https://ext.payconiq.com/certificates",
        }
    }

    /// True for the production platforms, where callback URLs must be https.
    pub const fn is_production(self) -> bool {
        matches!(
            self,
            Environment::Production | Environment::LegacyProduction
        )
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Production => "production",
            Environment::PreProduction => "pre-production",
            Environment::LegacyProduction => "production (legacy host)",
            Environment::LegacyPreProduction => "pre-production (legacy host)",
        })
    }
}

/// Largest amount the v3.0 specification accepts, in cents (€9 999.99). Profiles with a higher
/// limit raise it with [`PayconiqConfig::max_amount_cents`].
pub const DEFAULT_MAX_AMOUNT_CENTS: i64 = 999_999;

/// Everything a `PayconiqClient` needs. The API key is a secret:
/// `Debug` never shows it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PayconiqConfig {
    /// The payment profile's API key (sent as `Authorization: Bearer <key>`).
    pub api_key: SecretString,
    /// The platform.
    pub environment: Environment,
    /// Overrides the environment's API base URL (a local mock, a proxy).
    pub base_url: Option<String>,
    /// Used by the provider-neutral `checkout` when the request names no webhook URL.
    pub default_callback_url: Option<String>,
    /// Upper bound of accepted amounts, in cents.
    pub max_amount_cents: i64,
    #[cfg(feature = "client")]
    /// Timeouts and retries.
    pub http: payments_core::http::HttpConfig,
}

impl PayconiqConfig {
    /// A configuration for the payment profile whose API key is `api_key`.
    pub fn new(api_key: impl Into<String>, environment: Environment) -> Self {
        PayconiqConfig {
            api_key: SecretString::from(api_key.into()),
            environment,
            base_url: None,
            default_callback_url: None,
            max_amount_cents: DEFAULT_MAX_AMOUNT_CENTS,
            #[cfg(feature = "client")]
            http: payments_core::http::HttpConfig::default(),
        }
    }

    /// Sends requests to `url` instead of the environment's host (keep the `/v3` prefix if the
    /// target has one).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the callback URL used when a provider-neutral request names none.
    pub fn default_callback_url(mut self, url: impl Into<String>) -> Self {
        self.default_callback_url = Some(url.into());
        self
    }

    /// Raises (or lowers) the largest accepted amount.
    pub fn max_amount_cents(mut self, max: i64) -> Self {
        self.max_amount_cents = max;
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

    #[cfg(feature = "client")]
    pub(crate) fn check(&self) -> Result<(), payments_core::Error> {
        use payments_core::secret::ExposeSecret;
        if self.api_key.expose_secret().trim().is_empty() {
            return Err(payments_core::Error::Config(
                "the Payconiq API key is empty".into(),
            ));
        }
        if self.max_amount_cents < 1 {
            return Err(payments_core::Error::Config(
                "max_amount_cents must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
