//! Fintecture against the sandbox: the real `FintectureClient` (client credentials, every call
//! signed with the sandbox-generated application key), webhooks sent to the console-configured
//! URL (`set_webhook_url`) and verified by RSA-OAEP decryption with the same key.

use std::sync::Arc;

use payments_core::http::HttpConfig;
use payments_core::webhook::{WebhookRejection, WebhookRequest, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider};
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
use payments_fintecture::{Environment, FintectureClient, FintectureConfig};
use payments_sandbox::{DeliveryRecord, Provider, RunningSandbox};

use super::{SandboxHarness, Verified};

/// The Fintecture harness.
#[derive(Debug, Clone)]
pub struct FintectureSandboxHarness {
    /// The `redirect_uri` of every session (Fintecture requires one).
    pub return_url: String,
}

impl Default for FintectureSandboxHarness {
    fn default() -> Self {
        FintectureSandboxHarness {
            return_url: "https://shop.example/fintecture/return".to_owned(),
        }
    }
}

fn private_key_pem(sandbox: &RunningSandbox) -> String {
    sandbox
        .keys()
        .fintecture_private_key_pem()
        .expect("the sandbox generated the Fintecture key pair")
        .to_owned()
}

#[async_trait::async_trait]
impl SandboxHarness for FintectureSandboxHarness {
    fn provider(&self) -> Provider {
        Provider::Fintecture
    }

    async fn client(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Box<dyn PaymentProvider> {
        // Fintecture takes its webhook URL from the console.
        sandbox.set_webhook_url(Provider::Fintecture, Some(webhook_url.to_owned()));
        let credentials = sandbox.credentials();
        let config = FintectureConfig::new(
            &credentials.fintecture_app_id,
            &credentials.fintecture_app_secret,
            private_key_pem(sandbox),
            Environment::Sandbox,
        )
        .base_url(sandbox.provider_url(Provider::Fintecture))
        .http(http);
        Box::new(FintectureClient::new(config).expect("a valid Fintecture configuration"))
    }

    fn create_request(&self, minor_units: i64, _webhook_url: &str) -> CreatePayment {
        CreatePayment::new(
            Money::from_minor(minor_units, Currency::EUR),
            format!("order-{minor_units}"),
        )
        .return_url(self.return_url.clone())
    }

    fn create_route(&self) -> (&'static str, &'static str) {
        ("POST", "/fintecture/pis/v2/connect")
    }

    fn get_route(&self) -> (&'static str, &'static str) {
        ("GET", "/fintecture/pis/v2/payments/*")
    }

    fn find_route(&self) -> Option<(&'static str, &'static str)> {
        Some(("GET", "/fintecture/pis/v2/payments"))
    }

    fn paid_status(&self) -> &'static str {
        "payment_created"
    }

    /// "Webhook will retry 10x with an exponential time increment": 1 + 10 attempts.
    fn webhook_attempts(&self) -> usize {
        11
    }

    async fn verify(
        &self,
        sandbox: &RunningSandbox,
        delivery: &DeliveryRecord,
    ) -> Result<Verified, WebhookRejection> {
        let key = AppPrivateKey::from_pem(&private_key_pem(sandbox)).expect("the sandbox key");
        let verifier = FintectureWebhookVerifier::new(WebhookSettings::new(
            &sandbox.credentials().fintecture_app_id,
            Arc::new(key),
        ));
        let request = WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
            delivery
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes())),
        );
        let event = verifier.verify(&request)?;
        Ok(Verified {
            status: event.status,
            authenticity: event.authenticity,
        })
    }
}
