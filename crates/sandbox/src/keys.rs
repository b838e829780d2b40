//! The keys the sandbox signs and encrypts with.

use payments_fintecture::keys::{AppPrivateKey, AppPublicKey};
use payments_payconiq::testing::WebhookSigner;
use secrecy::{ExposeSecret, SecretString};

use crate::SandboxError;
use crate::config::SandboxBuilder;

/// Keys generated when the sandbox starts (sandbox keys: they protect nothing real, but they are
/// still kept out of `Debug`).
pub struct SandboxKeys {
    /// Payconiq: the ES256 key callbacks are signed with; its public half is served as a JWKS.
    pub(crate) payconiq: WebhookSigner,
    /// Fintecture: the merchant application's public key (request signatures are checked and
    /// webhooks encrypted with it).
    pub(crate) fintecture_public: AppPublicKey,
    /// Fintecture: the private half, when the sandbox generated the pair.
    pub(crate) fintecture_private_pem: Option<SecretString>,
}

impl std::fmt::Debug for SandboxKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxKeys")
            .field("payconiq_kid", &self.payconiq.kid())
            .field("fintecture_private_key", &"[redacted]")
            .finish()
    }
}

impl SandboxKeys {
    pub(crate) fn generate(builder: &SandboxBuilder) -> Result<Self, SandboxError> {
        let payconiq = WebhookSigner::generate(
            "sandbox-es256",
            builder.credentials.payconiq_profile_id.clone(),
            "https://merchant.invalid/callback",
        )
        .map_err(|e| SandboxError::Keys(e.to_string()))?;
        let (fintecture_public, fintecture_private_pem) = match &builder.fintecture_public_key {
            Some(public) => (public.clone(), None),
            None => {
                let private =
                    AppPrivateKey::generate().map_err(|e| SandboxError::Keys(e.to_string()))?;
                let pem = private
                    .to_pkcs8_pem()
                    .map_err(|e| SandboxError::Keys(e.to_string()))?;
                (private.public_key().clone(), Some(pem))
            }
        };
        Ok(SandboxKeys {
            payconiq,
            fintecture_public,
            fintecture_private_pem,
        })
    }

    /// The Payconiq callback-signing key set (JWKS JSON), also served by the sandbox.
    pub fn payconiq_jwks_json(&self) -> String {
        self.payconiq.jwks_json()
    }

    /// The Payconiq signing key id.
    pub fn payconiq_kid(&self) -> &str {
        self.payconiq.kid()
    }

    /// The Fintecture application private key (PKCS#8 PEM) the sandbox generated, to configure a
    /// Fintecture client with; `None` when the merchant supplied its own public key.
    pub fn fintecture_private_key_pem(&self) -> Option<&str> {
        self.fintecture_private_pem
            .as_ref()
            .map(|pem| pem.expose_secret())
    }

    /// The Fintecture application public key the sandbox checks signatures and encrypts with.
    pub fn fintecture_public_key(&self) -> &AppPublicKey {
        &self.fintecture_public
    }
}
