//! How a sandbox is configured before it starts.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use payments_fintecture::keys::AppPublicKey;
use serde::Serialize;

use crate::Provider;

/// The credentials the sandbox accepts, per provider. The defaults are fixed, documented values,
/// so that a client configured once keeps working across sandbox restarts; anything else is
/// refused the way the provider refuses it.
#[derive(Debug, Clone, Serialize)]
pub struct Credentials {
    /// Payconiq: the API key sent as `Authorization: Bearer ...`.
    pub payconiq_api_key: String,
    /// Payconiq: the merchant's payment profile id (the `sub` of signed callbacks).
    pub payconiq_profile_id: String,
    /// Fintecture: the application id (`app_id`, also the `keyId` of request signatures).
    pub fintecture_app_id: String,
    /// Fintecture: the application secret (client-credentials grant).
    pub fintecture_app_secret: String,
    /// HUB2: the `ApiKey` header.
    pub hub2_api_key: String,
    /// HUB2: the `MerchantId` header.
    pub hub2_merchant_id: String,
    /// HUB2: the `Environment` header the sandbox accepts (`sandbox`).
    pub hub2_environment: String,
    /// Banq: the OAuth2 client id.
    pub banq_client_id: String,
    /// Banq: the OAuth2 client secret.
    pub banq_client_secret: String,
    /// Banq: the Open API user name (password grant).
    pub banq_username: String,
    /// Banq: the Open API password.
    pub banq_password: String,
    /// Banq: the `X-Company-Id` header.
    pub banq_company_id: String,
    /// Paylican: the Keycloak realm.
    pub paylican_realm: String,
    /// Paylican: the Keycloak client id.
    pub paylican_client_id: String,
    /// Paylican: the user name (password grant).
    pub paylican_username: String,
    /// Paylican: the password.
    pub paylican_password: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            payconiq_api_key: "sandbox-payconiq-api-key".into(),
            payconiq_profile_id: "sandbox-profile".into(),
            fintecture_app_id: "sandbox-fintecture-app".into(),
            fintecture_app_secret: "sandbox-fintecture-secret".into(),
            hub2_api_key: "sandbox-hub2-api-key".into(),
            hub2_merchant_id: "sandbox-merchant".into(),
            hub2_environment: "sandbox".into(),
            banq_client_id: "sandbox-banq-client".into(),
            banq_client_secret: "sandbox-banq-secret".into(),
            banq_username: "merchant@sandbox.banq".into(),
            banq_password: "sandbox-banq-password".into(),
            banq_company_id: "sandbox-company".into(),
            paylican_realm: "PGW".into(),
            paylican_client_id: "invoice-system-client".into(),
            paylican_username: "merchant@sandbox.paylican".into(),
            paylican_password: "sandbox-paylican-password".into(),
        }
    }
}

/// Builds a [`crate::Sandbox`]: `Sandbox::builder()...start().await`.
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    pub(crate) addr: SocketAddr,
    pub(crate) time_divisor: u32,
    pub(crate) credentials: Credentials,
    pub(crate) fintecture_public_key: Option<AppPublicKey>,
    pub(crate) webhook_urls: BTreeMap<Provider, String>,
    pub(crate) token_lifetime: Duration,
    pub(crate) auto_outcome_delay: Duration,
    pub(crate) webhook_timeout: Duration,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            time_divisor: 1,
            credentials: Credentials::default(),
            fintecture_public_key: None,
            webhook_urls: BTreeMap::new(),
            token_lifetime: Duration::from_secs(3600),
            auto_outcome_delay: Duration::from_secs(2),
            webhook_timeout: Duration::from_secs(10),
        }
    }
}

impl SandboxBuilder {
    /// Listens on `port` of 127.0.0.1 (0, the default, picks a free port).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Listens on `addr` (for instance `0.0.0.0:8080` inside a container).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Divides every provider-documented delay (webhook retry backoff, a magic amount's outcome)
    /// by `divisor`, so that tests run retries in milliseconds. 1 (the default) keeps real time;
    /// 0 is treated as 1.
    pub fn time_divisor(mut self, divisor: u32) -> Self {
        self.time_divisor = divisor.max(1);
        self
    }

    /// Replaces the accepted credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The merchant's Fintecture application public key. Without it the sandbox generates a key
    /// pair and hands out the private half ([`crate::SandboxKeys::fintecture_private_key_pem`]).
    pub fn fintecture_public_key(mut self, key: AppPublicKey) -> Self {
        self.fintecture_public_key = Some(key);
        self
    }

    /// The webhook URL of a provider that takes it from its console rather than from the API
    /// (Fintecture, Paylican, Banq before a webhook-config call).
    pub fn webhook_url(mut self, provider: Provider, url: impl Into<String>) -> Self {
        self.webhook_urls.insert(provider, url.into());
        self
    }

    /// Lifetime of the access tokens the sandbox issues (default one hour).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// How long after creation a magic amount's outcome happens (default 2 s, divided by the
    /// time divisor).
    pub fn auto_outcome_delay(mut self, delay: Duration) -> Self {
        self.auto_outcome_delay = delay;
        self
    }

    /// How long one webhook attempt waits for the receiver's answer before it counts as failed
    /// (default 10 s, not divided by the time divisor). The delivery log records a timeout as
    /// such.
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhook_timeout = timeout;
        self
    }

    /// Starts the sandbox.
    pub async fn start(self) -> Result<crate::RunningSandbox, crate::SandboxError> {
        crate::server::start(self).await
    }
}
