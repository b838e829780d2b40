//! Credentials, hosts and the choices Banq leaves open.
//!
//! Banq gives each merchant a client id, a client username and password (the Open API
//! credentials), a company id, and the id of the banq account that receives the money. The
//! sandbox hosts below are the defaults; production hosts are given to merchants by Banq and set
//! with [`BanqConfig::api_base_url`] and [`BanqConfig::token_url`].

use std::fmt;

use payments_core::Currency;
use payments_core::secret::SecretString;

/// The sandbox API base URL (with the `/api/v1` prefix).
pub const SANDBOX_API_BASE_URL: &str = "https://sandbox.banq.com/api/v1";

/// The staging token issuer (Auth0).
pub const STAGING_TOKEN_URL: &str = "https://banq-staging.auth0.com/oauth/token";

/// The audience of the Open API token (payment links, payments).
pub const OPEN_API_AUDIENCE: &str = "https://banq.com/open/api/";

/// The audience of the merchant-user token (users, account spaces, webhook configuration).
pub const BANQ_API_AUDIENCE: &str = "https://banq.com/api";

/// The scope of the merchant-user token.
pub const MERCHANT_USER_SCOPE: &str = "offline_access";

/// The client id of Banq's own API, fixed for every merchant ("this should always be static"),
/// used by the merchant-user token flow.
pub const BANQ_API_CLIENT_ID: &str = "kFLEhEsxxBWCf0X19hAIjbzYaSyn2cim";

/// How the Open API token request names the client's username and password.
///
/// Banq's own integration guide (*Generate Payment Link*, `docs/GENERATE_PAYMENT_LINK.md` in
/// <https://github.com/mybanq/checkout-widget>) sends `client_username` / `client_password`; its
/// Postman collection (<https://docs.banq.com>) and quickstart
/// (<https://developers.banq.com/docs/quickstart>) send the standard OAuth2 `username` /
/// `password`. The standard names are the default; switch if Banq's issuer for your account
/// expects the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CredentialFieldNames {
    /// `username` and `password` (OAuth2 password grant, RFC 6749 §4.3).
    #[default]
    Standard,
    /// `client_username` and `client_password` (Banq's *Generate Payment Link* guide on GitHub).
    ClientPrefixed,
}

impl CredentialFieldNames {
    /// The JSON field names `(username, password)`.
    pub const fn fields(self) -> (&'static str, &'static str) {
        match self {
            CredentialFieldNames::Standard => ("username", "password"),
            CredentialFieldNames::ClientPrefixed => ("client_username", "client_password"),
        }
    }
}

/// Which access token a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenFlow {
    /// The Open API token (audience [`OPEN_API_AUDIENCE`]).
    OpenApi,
    /// The merchant-user token (audience [`BANQ_API_AUDIENCE`], scope `offline_access`).
    MerchantUser,
}

/// The Open API credentials (password grant against the token issuer).
#[derive(Clone)]
#[non_exhaustive]
pub struct OpenApiCredentials {
    /// The client id Banq issued to the merchant.
    pub client_id: String,
    /// The client secret, for issuers that require one (Banq's guide sends none).
    pub client_secret: Option<SecretString>,
    /// The client username.
    pub username: String,
    /// The client password.
    pub password: SecretString,
    /// How the username and password fields are named in the token request.
    pub field_names: CredentialFieldNames,
    /// The token audience (default [`OPEN_API_AUDIENCE`]).
    pub audience: String,
}

impl OpenApiCredentials {
    /// Credentials with the standard field names and the Open API audience.
    pub fn new(
        client_id: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        OpenApiCredentials {
            client_id: client_id.into(),
            client_secret: None,
            username: username.into(),
            password: SecretString::from(password.into()),
            field_names: CredentialFieldNames::Standard,
            audience: OPEN_API_AUDIENCE.into(),
        }
    }

    /// Sends a `client_secret` too.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(SecretString::from(secret.into()));
        self
    }

    /// Chooses the credential field names.
    pub fn field_names(mut self, names: CredentialFieldNames) -> Self {
        self.field_names = names;
        self
    }

    /// Sets the audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }
}

impl fmt::Debug for OpenApiCredentials {
    /// Shows the client id and the field names; never the username, password or secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenApiCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("username", &"[REDACTED]")
            .field("password", &"[REDACTED]")
            .field("field_names", &self.field_names)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The merchant user's own Banq login, for the calls of Banq's main API (`users/me`, account
/// spaces, webhook configuration).
#[derive(Clone)]
#[non_exhaustive]
pub struct MerchantUserCredentials {
    /// The merchant user's e-mail address.
    pub username: String,
    /// The merchant user's password.
    pub password: SecretString,
    /// The client id sent (default [`BANQ_API_CLIENT_ID`], Banq's fixed public id).
    pub client_id: String,
    /// The token audience (default [`BANQ_API_AUDIENCE`]).
    pub audience: String,
    /// The scope (default [`MERCHANT_USER_SCOPE`]).
    pub scope: String,
}

impl MerchantUserCredentials {
    /// The merchant user's e-mail and password, with Banq's documented client id, audience and
    /// scope.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        MerchantUserCredentials {
            username: email.into(),
            password: SecretString::from(password.into()),
            client_id: BANQ_API_CLIENT_ID.into(),
            audience: BANQ_API_AUDIENCE.into(),
            scope: MERCHANT_USER_SCOPE.into(),
        }
    }

    /// Overrides the client id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Overrides the audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Overrides the scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }
}

impl fmt::Debug for MerchantUserCredentials {
    /// Shows neither the e-mail address nor the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerchantUserCredentials")
            .field("username", &"[REDACTED]")
            .field("password", &"[REDACTED]")
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Everything a `BanqClient` needs. Secrets never appear in `Debug`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BanqConfig {
    /// The company id, sent as `X-Company-Id` on every API call.
    pub company_id: String,
    /// The Open API credentials.
    pub credentials: OpenApiCredentials,
    /// The merchant user's login, needed for `users/me` and (by default) the webhook
    /// configuration.
    pub merchant_user: Option<MerchantUserCredentials>,
    /// The API base URL (default [`SANDBOX_API_BASE_URL`]).
    pub api_base_url: String,
    /// The token issuer URL (default [`STAGING_TOKEN_URL`]).
    pub token_url: String,
    /// The currency of `funds` (Banq is a US service: default USD). Requests in another currency
    /// are refused before sending.
    pub currency: Currency,
    /// The banq account guid the provider-neutral `checkout` pays into.
    pub default_destination: Option<String>,
    /// The token the webhook-configuration call uses (default [`TokenFlow::MerchantUser`]: the
    /// account space belongs to Banq's main API, like `users/me`).
    pub webhook_config_token: TokenFlow,
    /// Timeouts and retries.
    #[cfg(feature = "client")]
    pub http: payments_core::http::HttpConfig,
}

impl BanqConfig {
    /// A configuration for `company_id` with the Open API `credentials`, on the sandbox hosts.
    pub fn new(company_id: impl Into<String>, credentials: OpenApiCredentials) -> Self {
        BanqConfig {
            company_id: company_id.into(),
            credentials,
            merchant_user: None,
            api_base_url: SANDBOX_API_BASE_URL.into(),
            token_url: STAGING_TOKEN_URL.into(),
            currency: Currency::USD,
            default_destination: None,
            webhook_config_token: TokenFlow::MerchantUser,
            #[cfg(feature = "client")]
            http: payments_core::http::HttpConfig::default(),
        }
    }

    /// Adds the merchant user's login.
    pub fn merchant_user(mut self, credentials: MerchantUserCredentials) -> Self {
        self.merchant_user = Some(credentials);
        self
    }

    /// Sends API calls to `url` (keep the `/api/v1` prefix if the target has one).
    pub fn api_base_url(mut self, url: impl Into<String>) -> Self {
        self.api_base_url = url.into();
        self
    }

    /// Requests tokens from `url`.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// Sets the currency of `funds`.
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }

    /// Sets the banq account guid the provider-neutral `checkout` pays into.
    pub fn default_destination(mut self, banq_guid: impl Into<String>) -> Self {
        self.default_destination = Some(banq_guid.into());
        self
    }

    /// Chooses the token of the webhook-configuration call.
    pub fn webhook_config_token(mut self, flow: TokenFlow) -> Self {
        self.webhook_config_token = flow;
        self
    }

    /// Sets timeouts and retries.
    #[cfg(feature = "client")]
    pub fn http(mut self, http: payments_core::http::HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Checks what every client needs: the company id is a valid header value.
    #[cfg(feature = "client")]
    pub(crate) fn check_company(&self) -> Result<(), payments_core::Error> {
        let id = self.company_id.trim();
        if id.is_empty() || id.len() != self.company_id.len() {
            return Err(payments_core::Error::Config(
                "the Banq company id is empty or has surrounding spaces".into(),
            ));
        }
        if !self.company_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(payments_core::Error::Config(
                "the Banq company id must be visible ASCII (it is sent as X-Company-Id)".into(),
            ));
        }
        Ok(())
    }

    /// Checks the credentials used by the built-in token flows.
    #[cfg(feature = "client")]
    pub(crate) fn check_credentials(&self) -> Result<(), payments_core::Error> {
        use payments_core::secret::ExposeSecret;
        let c = &self.credentials;
        for (what, value) in [
            ("client id", c.client_id.as_str()),
            ("client username", c.username.as_str()),
            ("client password", c.password.expose_secret()),
            ("audience", c.audience.as_str()),
        ] {
            if value.trim().is_empty() {
                return Err(payments_core::Error::Config(format!(
                    "the Banq Open API {what} is empty"
                )));
            }
        }
        if let Some(user) = &self.merchant_user {
            for (what, value) in [
                ("e-mail", user.username.as_str()),
                ("password", user.password.expose_secret()),
                ("client id", user.client_id.as_str()),
                ("audience", user.audience.as_str()),
            ] {
                if value.trim().is_empty() {
                    return Err(payments_core::Error::Config(format!(
                        "the Banq merchant user's {what} is empty"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_credentials() {
        let config = BanqConfig::new(
            "company-1",
            OpenApiCredentials::new("client-1", "user_SECRET", "pw_SECRET")
                .client_secret("cs_SECRET"),
        )
        .merchant_user(MerchantUserCredentials::new(
            "merchant_SECRET@shop.example",
            "mpw_SECRET",
        ));
        let shown = format!("{config:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("client-1") && shown.contains("company-1"));
    }

    #[test]
    fn field_names_default_to_the_standard_oauth2_names() {
        let c = OpenApiCredentials::new("c", "u", "p");
        assert_eq!(c.field_names.fields(), ("username", "password"));
        assert_eq!(
            CredentialFieldNames::ClientPrefixed.fields(),
            ("client_username", "client_password")
        );
        assert_eq!(c.audience, OPEN_API_AUDIENCE);
        let m = MerchantUserCredentials::new("a@b", "p");
        assert_eq!(m.client_id, BANQ_API_CLIENT_ID);
        assert_eq!(m.audience, BANQ_API_AUDIENCE);
        assert_eq!(m.scope, "offline_access");
    }
}
