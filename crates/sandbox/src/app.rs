//! The state every route shares.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Credentials, SandboxBuilder};
use crate::control::PayerAction;
use crate::deliveries::Deliveries;
use crate::faults::Faults;
use crate::keys::SandboxKeys;
use crate::support::lock;
use crate::{Provider, providers};

/// Cheap handle on the shared state (what axum's `State` extractor gives every handler).
#[derive(Clone)]
pub(crate) struct App(Arc<Shared>);

impl Deref for App {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub(crate) struct Shared {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub(crate) base_url: String,
    pub(crate) credentials: Credentials,
    pub(crate) keys: SandboxKeys,
    pub(crate) time_divisor: u32,
    pub(crate) token_lifetime: Duration,
    pub(crate) auto_outcome_delay: Duration,
    pub(crate) faults: Faults,
    pub(crate) deliveries: Deliveries,
    pub(crate) webhook_client: reqwest::Client,
    /// The client a sandbox page calls the sandbox's own API with (HUB2's stand-in payer page
    /// runs its attempts through HUB2's payer API, as a merchant's page would).
    pub(crate) loopback_client: reqwest::Client,
    webhook_urls: Mutex<BTreeMap<Provider, String>>,
    pub(crate) payconiq: providers::payconiq::State,
    pub(crate) fintecture: providers::fintecture::State,
    pub(crate) hub2: providers::hub2::State,
    pub(crate) banq: providers::banq::State,
    pub(crate) paylican: providers::paylican::State,
}

impl App {
    pub(crate) fn new(
        builder: &SandboxBuilder,
        base_url: String,
        keys: SandboxKeys,
        webhook_client: reqwest::Client,
        loopback_client: reqwest::Client,
    ) -> App {
        App(Arc::new(Shared {
            base_url,
            credentials: builder.credentials.clone(),
            keys,
            time_divisor: builder.time_divisor.max(1),
            token_lifetime: builder.token_lifetime,
            auto_outcome_delay: builder.auto_outcome_delay,
            faults: Faults::default(),
            deliveries: Deliveries::default(),
            webhook_client,
            loopback_client,
            webhook_urls: Mutex::new(builder.webhook_urls.clone()),
            payconiq: Default::default(),
            fintecture: Default::default(),
            hub2: Default::default(),
            banq: Default::default(),
            paylican: Default::default(),
        }))
    }

    /// The base URL of `provider`'s API (`http://127.0.0.1:PORT/payconiq`).
    pub(crate) fn provider_url(&self, provider: Provider) -> String {
        format!("{}/{}", self.base_url, provider.as_str())
    }

    /// A provider-documented delay, divided by the configured time divisor.
    pub(crate) fn scaled(&self, real: Duration) -> Duration {
        real / self.time_divisor
    }

    /// The console-configured webhook URL of `provider`, if any.
    pub(crate) fn webhook_url(&self, provider: Provider) -> Option<String> {
        lock(&self.webhook_urls).get(&provider).cloned()
    }

    pub(crate) fn set_webhook_url(&self, provider: Provider, url: Option<String>) {
        let mut urls = lock(&self.webhook_urls);
        match url {
            Some(url) => urls.insert(provider, url),
            None => urls.remove(&provider),
        };
    }

    /// Runs `action` on a payment after `delay` (already scaled by the caller or not: this
    /// scales it), as the simulated payer. Used for magic amounts.
    pub(crate) fn schedule(
        &self,
        provider: Provider,
        payment_id: String,
        action: PayerAction,
        delay: Duration,
    ) {
        let app = self.clone();
        let delay = self.scaled(delay);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Err(e) = providers::act(&app, provider, &payment_id, action).await {
                tracing::debug!(%provider, %payment_id, error = %e, "scheduled payer action not applied");
            }
        });
    }

    /// Schedules the outcome of a magic amount (see [`crate::magic`]) after the configured delay.
    pub(crate) fn schedule_magic(&self, provider: Provider, payment_id: &str, minor_units: i64) {
        if let Some(action) = crate::magic::outcome(minor_units) {
            self.schedule(
                provider,
                payment_id.to_owned(),
                action,
                self.auto_outcome_delay,
            );
        }
    }
}
