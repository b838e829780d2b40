//! Credentials and environments.
//!
//! HUB2 serves sandbox and live from one host, `https://api.hub2.io`; the mode is chosen by the
//! `Environment` header (and by the API key, which is issued per environment). Leaving the header
//! out is answered 401, so every request of this crate carries it.

use std::fmt;

use payments_core::secret::SecretString;

/// The one HUB2 API host (no version prefix), for sandbox and live alike.
pub const DEFAULT_BASE_URL: &str = "https://api.hub2.io";

/// Where the intent id goes in [`Hub2Config::payer_page_url`].
pub const INTENT_ID_PLACEHOLDER: &str = "{intent_id}";

#[cfg(feature = "client")]
/// True when `value` can travel in an HTTP header (visible ASCII and spaces).
pub(crate) fn is_header_safe(value: &str) -> bool {
    value.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

/// Which HUB2 mode a call runs in: the value of the `Environment` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Test mode (`Environment: sandbox`): no money moves; the sandbox OTP is any 4 digits.
    Sandbox,
    /// Production (`Environment: live`).
    Live,
}

impl Environment {
    /// The header value (`"sandbox"`, `"live"`), also the intent's `mode`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Live => "live",
        }
    }

    /// Reads a header value or an intent's `mode`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "sandbox" => Some(Environment::Sandbox),
            "live" => Some(Environment::Live),
            _ => None,
        }
    }

    /// True for live, where redirection URLs must be https.
    pub const fn is_live(self) -> bool {
        matches!(self, Environment::Live)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a merchant-side `Hub2Client` needs. The API key is a secret: `Debug` never shows it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Hub2Config {
    /// The API key of this environment (sent as `ApiKey: <key>`).
    pub api_key: SecretString,
    /// The merchant id (sent as `MerchantId: <id>`).
    pub merchant_id: String,
    /// Sandbox or live (sent as `Environment: <env>`).
    pub environment: Environment,
    /// Overrides [`DEFAULT_BASE_URL`] (a local mock, the sandbox emulator, a proxy).
    pub base_url: Option<String>,
    /// The merchant's own payment page for the provider-neutral flow, with `{intent_id}` where the
    /// intent id goes (e.g. `https://shop.example/pay/{intent_id}`). HUB2 hosts no checkout page:
    /// the payer chooses a method on the merchant's page, which runs the attempt with a
    /// `PayerClient` (or HUB2's front-end integration). When set, the neutral
    /// `create_payment` returns it as the checkout's `redirect_url`.
    pub payer_page_url: Option<String>,
    #[cfg(feature = "client")]
    /// Timeouts and retries.
    pub http: payments_core::http::HttpConfig,
}

impl Hub2Config {
    /// A configuration for `merchant_id` with the API key of `environment`.
    pub fn new(
        api_key: impl Into<String>,
        merchant_id: impl Into<String>,
        environment: Environment,
    ) -> Self {
        Hub2Config {
            api_key: SecretString::from(api_key.into()),
            merchant_id: merchant_id.into(),
            environment,
            base_url: None,
            payer_page_url: None,
            #[cfg(feature = "client")]
            http: payments_core::http::HttpConfig::default(),
        }
    }

    /// Sends requests to `url` instead of [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the merchant payment page template (see [`Hub2Config::payer_page_url`]).
    pub fn payer_page_url(mut self, template: impl Into<String>) -> Self {
        self.payer_page_url = Some(template.into());
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
        self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL)
    }

    #[cfg(feature = "client")]
    pub(crate) fn check(&self) -> Result<(), payments_core::Error> {
        use payments_core::secret::ExposeSecret;
        let key = self.api_key.expose_secret();
        if key.trim().is_empty() {
            return Err(payments_core::Error::Config(
                "the HUB2 API key is empty".into(),
            ));
        }
        if !is_header_safe(key) {
            return Err(payments_core::Error::Config(
                "the HUB2 API key contains characters not allowed in a header".into(),
            ));
        }
        if self.merchant_id.trim().is_empty() || !is_header_safe(&self.merchant_id) {
            return Err(payments_core::Error::Config(
                "the HUB2 merchant id is empty or not a valid header value".into(),
            ));
        }
        if let Some(template) = &self.payer_page_url
            && !template.contains(INTENT_ID_PLACEHOLDER)
        {
            return Err(payments_core::Error::Config(format!(
                "payer_page_url must contain {}",
                INTENT_ID_PLACEHOLDER
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn environments_are_the_header_values() {
        assert_eq!(Environment::Sandbox.as_str(), "sandbox");
        assert_eq!(Environment::Live.as_str(), "live");
        assert_eq!(Environment::parse("live"), Some(Environment::Live));
        assert_eq!(Environment::parse("LIVE"), None);
    }

    #[test]
    fn debug_hides_the_api_key() {
        let config = Hub2Config::new("sk_live_SECRET_123", "M-1", Environment::Live);
        let shown = format!("{config:?}");
        assert!(!shown.contains("SECRET_123"), "{shown}");
        assert!(shown.contains("M-1"));
        assert_eq!(config.effective_base_url(), DEFAULT_BASE_URL);
    }
}
