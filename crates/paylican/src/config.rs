//! Credentials and hosts. Paylican gives each merchant two base URLs — the Keycloak URL (tokens
//! and the payment-page login) and the Payment URL (the API and the payment page itself) — and
//! a Keycloak user.

use payments_core::provider_support::check_base_url;
use payments_core::secret::SecretString;
use payments_core::{Currency, Error};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::payment_page::PaymentPage;

/// The Keycloak realm Paylican uses.
pub const DEFAULT_REALM: &str = "PGW";
/// The Keycloak client of the invoice system (another deployment uses `payment_adapter_client`).
pub const DEFAULT_CLIENT_ID: &str = "invoice-system-client";
/// The placeholder of the invoice id in [`PaylicanConfig::status_path`].
pub const INVOICE_ID_PLACEHOLDER: &str = "{invoiceId}";

/// The path Keycloak is served under (`{keycloak}/auth/realms/...`); Keycloak 17 and later serve
/// without it by default: set it to `""` there.
pub const DEFAULT_KEYCLOAK_CONTEXT_PATH: &str = "auth";

/// Everything a `PaylicanClient` needs. The password is a secret: `Debug` never shows it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PaylicanConfig {
    /// The Keycloak base URL (`https://sso.example`), without `/auth`.
    pub keycloak_url: String,
    /// The path Keycloak is served under (default `auth`).
    pub keycloak_context_path: String,
    /// The Keycloak realm (default `PGW`).
    pub realm: String,
    /// The Keycloak client id (default `invoice-system-client`).
    pub client_id: String,
    /// Overrides the token endpoint (default
    /// `{keycloak}/{context}/realms/{realm}/protocol/openid-connect/token`).
    pub token_url: Option<String>,
    /// The Keycloak user name.
    pub username: String,
    /// The Keycloak password.
    pub password: SecretString,
    /// The Payment URL (`https://pay.example`): the API and the payment page.
    pub payment_url: String,
    /// A status endpoint, as a path under the Payment URL with `{invoiceId}` as one whole
    /// segment (e.g. `/api/v1/invoice/{invoiceId}`). Paylican's Payment Creation API documents
    /// none: without it, `get_payment` is `Unsupported`. See [`PaylicanConfig::status_path`].
    pub status_path: Option<String>,
    /// The payment `type` used by the provider-neutral `checkout`.
    pub payment_type: Option<String>,
    /// The currency of the merchant's Paylican account. Paylican's API carries no currency: the
    /// provider-neutral API refuses money in any other currency, and webhook amounts convert to
    /// money only with it.
    pub currency: Option<Currency>,
    /// `response_type` added to the payment-page URL (production integrations use `code`).
    pub page_response_type: Option<String>,
    /// `scope` added to the payment-page URL (production integrations use `openid`).
    pub page_scope: Option<String>,
    /// Timeouts and retries.
    #[cfg(feature = "client")]
    pub http: payments_core::http::HttpConfig,
}

impl PaylicanConfig {
    /// A configuration with the two base URLs and the Keycloak user; realm `PGW`, client id
    /// `invoice-system-client`, context path `auth`.
    pub fn new(
        keycloak_url: impl Into<String>,
        payment_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        PaylicanConfig {
            keycloak_url: keycloak_url.into(),
            keycloak_context_path: DEFAULT_KEYCLOAK_CONTEXT_PATH.into(),
            realm: DEFAULT_REALM.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            token_url: None,
            username: username.into(),
            password: SecretString::from(password.into()),
            payment_url: payment_url.into(),
            status_path: None,
            payment_type: None,
            currency: None,
            page_response_type: None,
            page_scope: None,
            #[cfg(feature = "client")]
            http: payments_core::http::HttpConfig::default(),
        }
    }

    /// Sets the realm.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Sets the Keycloak client id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Sets the path Keycloak is served under (`""` for Keycloak 17+ default deployments).
    pub fn keycloak_context_path(mut self, path: impl Into<String>) -> Self {
        self.keycloak_context_path = path.into();
        self
    }

    /// Sends token requests to `url` instead of the realm's token endpoint.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Declares a status endpoint: a path under the Payment URL answering `GET` with the invoice
    /// as webhooks carry it (`{"id", "status", "totalAmount", ...}`). Paylican's Payment Creation
    /// API documents no such endpoint; set this only if Paylican gave you one.
    ///
    /// The template is split on `/` (empty segments, so a leading, trailing or doubled `/`, are
    /// ignored); `{invoiceId}` must be exactly one whole segment (`/api/v1/invoice/{invoiceId}`,
    /// not `/invoice/INV-{invoiceId}`), and the other segments are literal text, percent-encoded
    /// when sent (write `a b`, not `a%20b`); a `.` or `..` segment is a configuration error. The
    /// invoice id is sent as one percent-encoded segment, and an empty, `.` or `..` id is refused
    /// before anything is sent.
    pub fn status_path(mut self, template: impl Into<String>) -> Self {
        self.status_path = Some(template.into());
        self
    }

    /// Sets the payment `type` used by the provider-neutral API.
    pub fn payment_type(mut self, payment_type: impl Into<String>) -> Self {
        self.payment_type = Some(payment_type.into());
        self
    }

    /// Sets the account currency.
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }

    /// Adds `response_type=code&scope=openid` to payment-page URLs, as production integrations do.
    pub fn openid_code_flow(mut self) -> Self {
        self.page_response_type = Some("code".into());
        self.page_scope = Some("openid".into());
        self
    }

    /// Sets timeouts and retries.
    #[cfg(feature = "client")]
    pub fn http(mut self, http: payments_core::http::HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// The realm's OpenID Connect endpoint base:
    /// `{keycloak}/{context}/realms/{realm}/protocol/openid-connect`, the context path's segments
    /// and the realm percent-encoded as URL path segments (`Other Realm` → `Other%20Realm`).
    pub fn openid_connect_url(&self) -> Result<String, Error> {
        check_base_url("keycloak_url", &self.keycloak_url)?;
        let mut url = self.keycloak_url.trim_end_matches('/').to_string();
        let context = self
            .keycloak_context_path
            .split('/')
            .filter(|s| !s.is_empty());
        for segment in context.chain(["realms", self.realm.as_str(), "protocol", "openid-connect"])
        {
            push_segment(&mut url, segment);
        }
        Ok(url)
    }

    /// The token endpoint in effect: [`PaylicanConfig::token_url`] when set, else
    /// `{openid_connect_url}/token`.
    pub fn effective_token_url(&self) -> Result<String, Error> {
        match &self.token_url {
            Some(url) => {
                check_base_url("token_url", url)?;
                Ok(url.clone())
            }
            None => {
                let mut url = self.openid_connect_url()?;
                push_segment(&mut url, "token");
                Ok(url)
            }
        }
    }

    /// The payment-page URL builder for this configuration.
    pub fn payment_page(&self) -> Result<PaymentPage, Error> {
        let mut auth = self.openid_connect_url()?;
        push_segment(&mut auth, "auth");
        let mut page = PaymentPage::new(&auth, &self.client_id, &self.payment_url)?;
        if let Some(response_type) = &self.page_response_type {
            page = page.response_type(response_type);
        }
        if let Some(scope) = &self.page_scope {
            page = page.scope(scope);
        }
        Ok(page)
    }

    /// Checks what can be checked without sending anything.
    pub fn check(&self) -> Result<(), Error> {
        use payments_core::secret::ExposeSecret;
        for (name, value) in [
            ("realm", &self.realm),
            ("client_id", &self.client_id),
            ("username", &self.username),
        ] {
            if value.trim().is_empty() {
                return Err(Error::Config(format!("the Paylican {name} is empty")));
            }
        }
        if self.password.expose_secret().is_empty() {
            return Err(Error::Config("the Paylican password is empty".into()));
        }
        self.effective_token_url()?;
        self.payment_page()?;
        if let Some(template) = &self.status_path {
            let whole = template
                .split('/')
                .filter(|segment| *segment == INVOICE_ID_PLACEHOLDER)
                .count();
            if whole != 1 || template.matches(INVOICE_ID_PLACEHOLDER).count() != 1 {
                return Err(Error::Config(
                    "status_path must contain {invoiceId} exactly once, as a whole path segment \
                     (/api/v1/invoice/{invoiceId})"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// What the WHATWG URL standard percent-encodes in a path segment of an http(s) URL (its
/// "path percent-encode set" with `/`, `%` and `\`): the Keycloak path is built as a URL parser
/// would build it, without one in the webhook-only build.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

/// Appends `segment` to `url` as one path segment (`.` and `..` are skipped, as a URL parser
/// skips them).
fn push_segment(url: &mut String, segment: &str) {
    if matches!(segment, "." | "..") {
        return;
    }
    url.push('/');
    url.extend(utf8_percent_encode(segment, PATH_SEGMENT));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config() -> PaylicanConfig {
        PaylicanConfig::new(
            "https://sso.example",
            "https://pay.example",
            "shop",
            "pw_SECRET",
        )
    }

    #[test]
    fn token_url_follows_realm_and_context_path() {
        assert_eq!(
            config().effective_token_url().unwrap(),
            "https://sso.example/auth/realms/PGW/protocol/openid-connect/token"
        );
        assert_eq!(
            config()
                .keycloak_context_path("")
                .realm("Other Realm")
                .effective_token_url()
                .unwrap(),
            "https://sso.example/realms/Other%20Realm/protocol/openid-connect/token"
        );
        assert_eq!(
            config()
                .token_url("http://127.0.0.1:9/token")
                .effective_token_url()
                .unwrap(),
            "http://127.0.0.1:9/token"
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let shown = format!("{:?}", config());
        assert!(!shown.contains("pw_SECRET"), "{shown}");
        assert!(shown.contains("shop"));
    }

    #[test]
    fn check_refuses_bad_configuration() {
        assert!(config().check().is_ok());
        assert!(
            PaylicanConfig::new("sso.example", "https://pay.example", "u", "p")
                .check()
                .is_err()
        );
        assert!(
            PaylicanConfig::new("https://sso.example", "ftp://pay.example", "u", "p")
                .check()
                .is_err()
        );
        assert!(
            PaylicanConfig::new("https://sso.example", "https://pay.example", "u", "")
                .check()
                .is_err()
        );
        assert!(config().status_path("/api/v1/invoice").check().is_err());
        assert!(
            config()
                .status_path("/api/v1/invoice/{invoiceId}")
                .check()
                .is_ok()
        );
    }
}
