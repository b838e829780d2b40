//! The PaymentIntent API, one method per endpoint: [`Hub2Client`] on the merchant's server (API
//! key) and [`PayerClient`] for the payer side (intent token only).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use payments_core::http::{
    ApiRequest, ApiResponse, Auth, HttpClient, HttpConfig, Method, RetryPolicy, Url, header,
};
use payments_core::provider_support::{
    PathSegment::{self, Fixed, Id},
    base_url, describe_json_error, join_path,
};
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::{
    Capabilities, Capability, Checkout, CreatePayment, Error, Payment, PaymentProvider, Result,
};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::PROVIDER;
use crate::config::{DEFAULT_BASE_URL, Environment, Hub2Config, is_header_safe};
use crate::convert::{provider_error, to_checkout, to_payment};
use crate::request::{
    AttemptRequest, CreateIntentRequest, CreateWebhookRequest, DEFAULT_PER_PAGE,
    ListIntentsRequest, check_code, check_reference,
};
use crate::wire::{
    AuthenticationBody, IntentPage, IntentStatusResponse, PaymentIntent, Webhook, WebhookList,
};

/// What the provider-neutral [`PaymentProvider`] implementation supports. HUB2 documents no
/// cancellation and no refund endpoint; it lists intents by purchase reference.
pub const CAPABILITIES: Capabilities = Capabilities::new(&[
    Capability::CreatePayment,
    Capability::GetPayment,
    Capability::FindByReference,
    Capability::SignedWebhooks,
]);

/// How far back the neutral [`PaymentProvider::find_by_reference`] lists. Left out, HUB2 lists
/// from the first day of the current month, which would miss an intent created just before a
/// month boundary; a year covers any creation whose answer was lost.
pub const FIND_WINDOW: time::Duration = time::Duration::days(366);
/// Page size of the neutral find: HUB2's documented default, so a page shorter than it is
/// reliably the last one.
const FIND_PER_PAGE: u32 = DEFAULT_PER_PAGE;
/// Pages the neutral find reads at most (100 intents for one reference) before giving up.
const FIND_MAX_PAGES: u32 = 10;

/// Longest id accepted in a path (HUB2's intent ids are about 24 characters).
const MAX_ID: usize = 128;

const API_KEY_HEADER: header::HeaderName = header::HeaderName::from_static("apikey");
const MERCHANT_ID_HEADER: header::HeaderName = header::HeaderName::from_static("merchantid");
const ENVIRONMENT_HEADER: header::HeaderName = header::HeaderName::from_static("environment");

/// Transport shared by the merchant and payer clients: HTTP policy, base URL, environment.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: HttpClient,
    /// The same without retries, for the poller, which paces status calls itself.
    poll_http: HttpClient,
    base: Url,
    environment: Environment,
}

impl Transport {
    fn new(base: &str, environment: Environment, http: &HttpConfig) -> Result<Self> {
        let base = base_url("HUB2 base URL", base)?;
        let client = |config: &HttpConfig| {
            HttpClient::new(
                PROVIDER,
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
                config,
            )
        };
        Ok(Transport {
            http: client(http)?,
            poll_http: client(&http.clone().retry(RetryPolicy::none()))?,
            base,
            environment,
        })
    }

    fn url(&self, segments: &[PathSegment<'_>]) -> Result<Url> {
        join_path(&self.base, segments)
    }

    fn request(&self, operation: &'static str, method: Method, url: Url) -> ApiRequest {
        ApiRequest::new(operation, method, url).header(
            ENVIRONMENT_HEADER,
            header::HeaderValue::from_static(self.environment.as_str()),
        )
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse> {
        self.http
            .send(request)
            .await?
            .error_for_status(provider_error)
    }

    async fn send_once(&self, request: ApiRequest) -> Result<ApiResponse> {
        self.poll_http
            .send(request)
            .await?
            .error_for_status(provider_error)
    }
}

fn check_id(field: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("must be 1 to {MAX_ID} letters, digits, '_' or '-'"),
        ))
    }
}

/// Replaces the intent token (and any webhook secret) of a JSON object with `"[REDACTED]"`, for
/// the neutral types' `raw` field, whose `Debug` a merchant may log.
fn redact(value: &mut Value) {
    if let Some(object) = value.as_object_mut() {
        for key in ["token", "secret"] {
            if let Some(v) = object.get_mut(key) {
                *v = Value::from("[REDACTED]");
            }
        }
    }
}

/// The intents of a `GET /payment-intents` answer, each with its JSON (token redacted), for the
/// neutral `raw`.
fn listed_intents(response: &ApiResponse) -> Result<Vec<(PaymentIntent, Value)>> {
    // HUB2's reference: "The response is of type object[]". An object holding the array
    // under `data` is read too, as for `GET /webhooks`.
    let items = match response.json::<Value>()? {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove("data") {
            Some(Value::Array(items)) => items,
            _ => return Err(response.decode_error("not an array of payment intents")),
        },
        _ => return Err(response.decode_error("not an array of payment intents")),
    };
    let mut entries = Vec::with_capacity(items.len());
    for mut item in items {
        let intent = PaymentIntent::deserialize(&item).map_err(|e| {
            response.decode_error(format!(
                "a listed payment intent: {}",
                describe_json_error(&e)
            ))
        })?;
        redact(&mut item);
        entries.push((intent, item));
    }
    Ok(entries)
}

/// A HUB2 merchant client (API key). Cheap to clone; clones share the connection pool.
///
/// Every call sends `ApiKey`, `MerchantId` and `Environment`. Creations, attempts and
/// authentications are never retried once they may have reached HUB2 (see
/// [`Error::OutcomeUnknown`]): fetch the intent before trying again.
#[derive(Clone)]
pub struct Hub2Client {
    transport: Transport,
    auth: Auth,
    merchant_id: header::HeaderValue,
    payer_page_url: Option<String>,
}

impl fmt::Debug for Hub2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub2Client")
            .field("base", &self.transport.base.as_str())
            .field("environment", &self.transport.environment)
            .field("merchant_id", &self.merchant_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Hub2Client {
    /// A client for `config`. Fails only on a malformed configuration.
    pub fn new(config: Hub2Config) -> Result<Self> {
        config.check()?;
        let transport = Transport::new(
            config.effective_base_url(),
            config.environment,
            &config.http,
        )?;
        let merchant_id = header::HeaderValue::from_str(&config.merchant_id)
            .map_err(|_| Error::Config("the HUB2 merchant id is not a valid header".into()))?;
        Ok(Hub2Client {
            transport,
            auth: Auth::header(API_KEY_HEADER, &config.api_key)?,
            merchant_id,
            payer_page_url: config.payer_page_url,
        })
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> Environment {
        self.transport.environment
    }

    fn request(&self, operation: &'static str, method: Method, url: Url) -> ApiRequest {
        self.transport
            .request(operation, method, url)
            .auth(self.auth.clone())
            .header(MERCHANT_ID_HEADER, self.merchant_id.clone())
    }

    /// `POST /payment-intents`. Validated first (references, positive amount); never retried once
    /// it may have reached HUB2. Store the returned `id` and `token`.
    pub async fn create_intent(&self, request: &CreateIntentRequest) -> Result<PaymentIntent> {
        self.transport
            .send(self.create_intent_call(request)?)
            .await?
            .json()
    }

    /// The call [`Hub2Client::create_intent`] sends, once `request` is validated.
    fn create_intent_call(&self, request: &CreateIntentRequest) -> Result<ApiRequest> {
        request.validate()?;
        self.request(
            "create_intent",
            Method::POST,
            self.transport.url(&[Fixed("payment-intents")])?,
        )
        .json(&request.body())
    }

    /// `GET /payment-intents/{id}`: the whole intent with its attempts. Rate limited to about one
    /// call per 5 seconds per intent: prefer webhooks, or [`Hub2Client::get_intent_status`].
    pub async fn get_intent(&self, intent_id: &str) -> Result<PaymentIntent> {
        self.transport
            .send(self.get_intent_call(intent_id)?)
            .await?
            .json()
    }

    /// The call [`Hub2Client::get_intent`] sends.
    fn get_intent_call(&self, intent_id: &str) -> Result<ApiRequest> {
        check_id("intentId", intent_id)?;
        Ok(self.request(
            "get_intent",
            Method::GET,
            self.transport
                .url(&[Fixed("payment-intents"), Id("intentId", intent_id)])?,
        ))
    }

    /// `GET /payment-intents`: one page of intents, filtered by purchase and customer reference
    /// and creation dates (HUB2's "Retrieve a PaymentIntent collection"; see
    /// [`ListIntentsRequest`] for the parameters and HUB2's defaults, notably that without
    /// [`ListIntentsRequest::from`] only the current month is listed). Validated first; a read,
    /// so retried like one. Read the next page while [`IntentPage::is_last`] is false.
    ///
    /// HUB2 documents no rate limit of its own for this call; its overall limit (about 50
    /// requests per 5 seconds per IP) applies.
    pub async fn list_intents(&self, request: &ListIntentsRequest) -> Result<IntentPage> {
        let response = self
            .transport
            .send(self.list_intents_call(request)?)
            .await?;
        let entries = listed_intents(&response)?;
        Ok(IntentPage {
            intents: entries.into_iter().map(|(intent, _)| intent).collect(),
            page: request.page.unwrap_or(1),
            per_page: request.per_page.unwrap_or(DEFAULT_PER_PAGE),
        })
    }

    /// The call [`Hub2Client::list_intents`] sends, once `request` is validated.
    fn list_intents_call(&self, request: &ListIntentsRequest) -> Result<ApiRequest> {
        request.validate()?;
        let mut url = self.transport.url(&[Fixed("payment-intents")])?;
        let query = request.query()?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &query {
                pairs.append_pair(name, value);
            }
        }
        Ok(self.request("list_intents", Method::GET, url))
    }

    /// `GET /payment-intents/{id}/status` with the API key: `{id, status}`. Rate limited to about
    /// five calls per 5 seconds per intent; poll with [`Hub2Client::poll_status`].
    pub async fn get_intent_status(&self, intent_id: &str) -> Result<IntentStatusResponse> {
        self.intent_status(intent_id, false).await
    }

    pub(crate) async fn intent_status(
        &self,
        intent_id: &str,
        once: bool,
    ) -> Result<IntentStatusResponse> {
        check_id("intentId", intent_id)?;
        let call = self.request(
            "get_intent_status",
            Method::GET,
            self.transport.url(&[
                Fixed("payment-intents"),
                Id("intentId", intent_id),
                Fixed("status"),
            ])?,
        );
        let response = if once {
            self.transport.send_once(call).await?
        } else {
            self.transport.send(call).await?
        };
        response.json()
    }

    /// A payer-side client for one intent, sharing this client's connection pool but holding no
    /// API key (it cannot send one).
    pub fn payer(&self, credentials: PayerCredentials) -> Result<PayerClient> {
        check_credentials(&credentials)?;
        Ok(PayerClient {
            transport: self.transport.clone(),
            intent_id: credentials.intent_id,
            token: Arc::new(credentials.token),
        })
    }

    /// `POST /webhooks`: registers `request.url`. The answer holds the signing `secret`: give it
    /// to a [`crate::webhook::Hub2WebhookVerifier`]. Not retried once it may have reached HUB2.
    pub async fn create_webhook(&self, request: &CreateWebhookRequest) -> Result<Webhook> {
        request.validate(self.transport.environment)?;
        let call = self
            .request(
                "create_webhook",
                Method::POST,
                self.transport.url(&[Fixed("webhooks")])?,
            )
            .json(request)?;
        self.transport.send(call).await?.json()
    }

    /// `GET /webhooks`.
    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>> {
        let call = self.request(
            "list_webhooks",
            Method::GET,
            self.transport.url(&[Fixed("webhooks")])?,
        );
        let list: WebhookList = self.transport.send(call).await?.json()?;
        Ok(list.into_vec())
    }

    /// `DELETE /webhooks/{id}`.
    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<()> {
        check_id("webhookId", webhook_id)?;
        let call = self.request(
            "delete_webhook",
            Method::DELETE,
            self.transport
                .url(&[Fixed("webhooks"), Id("webhookId", webhook_id)])?,
        );
        self.transport.send(call).await.map(drop)
    }

    /// The provider-neutral creation, also returning what the payer side needs (the intent id and
    /// token) for the attempt step through [`PayerClient`].
    ///
    /// `reference` becomes both `purchaseReference` and `customerReference` (HUB2 requires both;
    /// use [`Hub2Client::create_intent`] to set them apart). `webhook_url` and `expires_in` are
    /// refused: HUB2 registers webhooks per merchant ([`Hub2Client::create_webhook`]) and sets no
    /// expiry. `description`, `return_url` and `customer` have no field at intent creation and
    /// are not sent (redirection URLs go in the attempt: [`AttemptRequest::redirection_urls`]).
    pub async fn create_checkout(
        &self,
        request: &CreatePayment,
    ) -> Result<(Checkout, PayerCredentials)> {
        if request.webhook_url.is_some() {
            return Err(Error::invalid(
                "webhook_url",
                "HUB2 has no per-payment webhook URL: register one with Hub2Client::create_webhook",
            ));
        }
        if request.expires_in.is_some() {
            return Err(Error::invalid(
                "expires_in",
                "HUB2 sets no payment expiry; leave expires_in unset",
            ));
        }
        let native = CreateIntentRequest::new(
            request.amount,
            request.reference.clone(),
            request.reference.clone(),
        );
        let response = self
            .transport
            .send(self.create_intent_call(&native)?)
            .await?;
        let (intent, mut raw): (PaymentIntent, _) = response.json_with_raw()?;
        let credentials = PayerCredentials::from_intent(&intent).ok_or_else(|| {
            response.decode_error("the created intent has no token for the payer side")
        })?;
        redact(&mut raw);
        let checkout = to_checkout(&intent, self.payer_page_url.as_deref(), raw);
        Ok((checkout, credentials))
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Hub2Client {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn unsupported_hint(&self, capability: Capability) -> &'static str {
        match capability {
            Capability::CancelPayment => {
                "HUB2 documents no cancellation of a payment intent; an unpaid intent simply stays payment_required"
            }
            Capability::Refund => {
                "the HUB2 PaymentIntent API has no refund endpoint; refund through HUB2's dashboard or a transfer"
            }
            _ => "not in this provider's capabilities",
        }
    }

    /// See [`Hub2Client::create_checkout`]; the token is not in the neutral checkout (its `raw`
    /// has it redacted): fetch it with [`Hub2Client::get_intent`] or use `create_checkout`.
    async fn checkout(&self, request: &CreatePayment) -> Result<Checkout> {
        Ok(self.create_checkout(request).await?.0)
    }

    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment> {
        let (intent, mut raw): (PaymentIntent, _) = self
            .transport
            .send(self.get_intent_call(payment_id)?)
            .await?
            .json_with_raw()?;
        redact(&mut raw);
        Ok(to_payment(&intent, raw))
    }

    /// The intents whose `purchaseReference` is `reference` (the neutral creation puts the
    /// merchant reference there), created in the last [`FIND_WINDOW`], oldest first, each as
    /// `fetch_payment` reports it (token redacted from `raw`).
    ///
    /// One `GET /payment-intents?purchaseReference=...&from=...&page=1&perPage=10` in the usual
    /// case: a list call, never a poll and never one read per intent, so it stays within HUB2's
    /// rate limits. A following page is read only when a page comes back full, at most
    /// 10 pages (100 intents); beyond that, or if HUB2 repeats an intent across pages (a
    /// `page` it does not apply), this is an [`Error::Decode`] rather than an incomplete list.
    /// Intents listed with another `purchaseReference` are left out, in case HUB2 matches the
    /// filter loosely (its reference does not say whether the match is exact).
    async fn find_by_reference(&self, reference: &str) -> Result<Vec<Payment>> {
        check_reference("reference", reference)?;
        let from = OffsetDateTime::now_utc() - FIND_WINDOW;
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        let mut page = 0;
        loop {
            page += 1;
            let request = ListIntentsRequest::new()
                .purchase_reference(reference)
                .from(from)
                .page(page)
                .per_page(FIND_PER_PAGE);
            let response = self
                .transport
                .send(self.list_intents_call(&request)?)
                .await?;
            let entries = listed_intents(&response)?;
            let last = entries.len() < FIND_PER_PAGE as usize;
            for (intent, raw) in entries {
                if !seen.insert(intent.id.clone()) {
                    return Err(response.decode_error(format!(
                        "page {page} lists intent {} again: HUB2 did not page the list",
                        intent.id
                    )));
                }
                if intent
                    .purchase_reference
                    .as_deref()
                    .is_none_or(|r| r == reference)
                {
                    found.push(to_payment(&intent, raw));
                }
            }
            if last {
                found.sort_by_key(|payment| payment.created_at);
                return Ok(found);
            }
            if page == FIND_MAX_PAGES {
                return Err(response.decode_error(format!(
                    "more than {} intents listed for this purchaseReference: read them with \
                     Hub2Client::list_intents",
                    FIND_MAX_PAGES * FIND_PER_PAGE
                )));
            }
        }
    }
}

/// What a front end needs to pay one intent: its id and token. Hand exactly this to the payer
/// side; it cannot do anything but attempt, authenticate and read the status of this intent.
#[derive(Clone)]
#[non_exhaustive]
pub struct PayerCredentials {
    /// The intent (`pi_...`).
    pub intent_id: String,
    /// The intent's JWT.
    pub token: SecretString,
}

impl fmt::Debug for PayerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayerCredentials")
            .field("intent_id", &self.intent_id)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

impl PayerCredentials {
    /// Credentials for `intent_id` with its `token`.
    pub fn new(intent_id: impl Into<String>, token: impl Into<String>) -> Self {
        PayerCredentials {
            intent_id: intent_id.into(),
            token: SecretString::from(token.into()),
        }
    }

    /// The id and token of a created (or fetched) intent; `None` when it carries no token.
    pub fn from_intent(intent: &PaymentIntent) -> Option<Self> {
        Some(PayerCredentials {
            intent_id: intent.id.clone(),
            token: intent.token.clone()?,
        })
    }
}

/// The intent id goes in paths; the token must be a non-empty printable string (a JWT).
fn check_credentials(credentials: &PayerCredentials) -> Result<()> {
    check_id("intentId", &credentials.intent_id)?;
    let token = credentials.token.expose_secret();
    if token.trim().is_empty() || !is_header_safe(token) {
        return Err(Error::Config(
            "the intent token is empty or malformed".into(),
        ));
    }
    Ok(())
}

/// Everything a standalone [`PayerClient`] needs: no API key, by construction.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PayerConfig {
    /// The intent and its token.
    pub credentials: PayerCredentials,
    /// Sandbox or live (sent as `Environment`).
    pub environment: Environment,
    /// Overrides [`DEFAULT_BASE_URL`].
    pub base_url: Option<String>,
    /// Timeouts and retries.
    pub http: HttpConfig,
}

impl PayerConfig {
    /// A configuration for one intent.
    pub fn new(credentials: PayerCredentials, environment: Environment) -> Self {
        PayerConfig {
            credentials,
            environment,
            base_url: None,
            http: HttpConfig::default(),
        }
    }

    /// Sends requests to `url` instead of [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets timeouts and retries.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
}

/// The payer side of one intent: attempt, authenticate, read the status. It holds the intent id
/// and token and **no API key**: there is no field for one and no way to give it one, so it can
/// run on a payer-facing service without merchant credentials.
///
/// Calls send `Environment` (HUB2 answers 401 without it) but neither `ApiKey` nor
/// `MerchantId`: the token names the merchant.
#[derive(Clone)]
pub struct PayerClient {
    transport: Transport,
    intent_id: String,
    token: Arc<SecretString>,
}

impl fmt::Debug for PayerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayerClient")
            .field("base", &self.transport.base.as_str())
            .field("environment", &self.transport.environment)
            .field("intent_id", &self.intent_id)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

impl PayerClient {
    /// A standalone payer client.
    pub fn new(config: PayerConfig) -> Result<Self> {
        check_credentials(&config.credentials)?;
        let transport = Transport::new(
            config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            config.environment,
            &config.http,
        )?;
        Ok(PayerClient {
            transport,
            intent_id: config.credentials.intent_id,
            token: Arc::new(config.credentials.token),
        })
    }

    /// The intent this client pays.
    pub fn intent_id(&self) -> &str {
        &self.intent_id
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> Environment {
        self.transport.environment
    }

    async fn attempt_at(
        &self,
        operation: &'static str,
        segments: &[PathSegment<'_>],
        request: &AttemptRequest,
    ) -> Result<PaymentIntent> {
        request.validate(self.transport.environment)?;
        let body = request.body(self.token.expose_secret());
        let call = self
            .transport
            .request(operation, Method::POST, self.transport.url(segments)?)
            .json(&body)?;
        self.transport.send(call).await?.json()
    }

    /// `POST /payment-intents/{id}/payments`: attempts a payment. Answers the whole intent, now
    /// `processing` (or `action_required`), with the new attempt last in `payments` (keep its
    /// `id`). Never retried once it may have reached HUB2: on [`Error::OutcomeUnknown`] read the
    /// status before attempting again.
    pub async fn attempt(&self, request: &AttemptRequest) -> Result<PaymentIntent> {
        self.attempt_at(
            "attempt_payment",
            &[
                Fixed("payment-intents"),
                Id("intentId", &self.intent_id),
                Fixed("payments"),
            ],
            request,
        )
        .await
    }

    /// `POST /payment-intents/{id}/payments/sync`: the synchronous variant, answering once the
    /// provider has answered.
    pub async fn attempt_sync(&self, request: &AttemptRequest) -> Result<PaymentIntent> {
        self.attempt_at(
            "attempt_payment_sync",
            &[
                Fixed("payment-intents"),
                Id("intentId", &self.intent_id),
                Fixed("payments"),
                Fixed("sync"),
            ],
            request,
        )
        .await
    }

    /// `POST /payment-intents/{id}/authentication`: completes an `otp` next action with the code
    /// the payer entered.
    pub async fn authenticate(&self, confirmation_code: &str) -> Result<PaymentIntent> {
        check_code("confirmationCode", confirmation_code)?;
        let body = AuthenticationBody {
            token: self.token.expose_secret(),
            confirmation_code,
        };
        let call = self
            .transport
            .request(
                "authenticate",
                Method::POST,
                self.transport.url(&[
                    Fixed("payment-intents"),
                    Id("intentId", &self.intent_id),
                    Fixed("authentication"),
                ])?,
            )
            .json(&body)?;
        self.transport.send(call).await?.json()
    }

    /// `GET /payment-intents/{id}/status?token=...`: `{id, status}`. Not rate limited per intent by
    /// HUB2, but still only worth calling while the intent is `processing` or `action_required`
    /// (poll with [`PayerClient::poll_status`]).
    pub async fn status(&self) -> Result<IntentStatusResponse> {
        self.status_inner(false).await
    }

    pub(crate) async fn status_inner(&self, once: bool) -> Result<IntentStatusResponse> {
        let mut url = self.transport.url(&[
            Fixed("payment-intents"),
            Id("intentId", &self.intent_id),
            Fixed("status"),
        ])?;
        url.query_pairs_mut()
            .append_pair("token", self.token.expose_secret());
        let call = self
            .transport
            .request("get_intent_status", Method::GET, url);
        let response = if once {
            self.transport.send_once(call).await?
        } else {
            self.transport.send(call).await?
        };
        response.json()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        check_id("intentId", "pi_tffiDaXyWQu203rIXhujW").unwrap();
        for bad in ["", "a/b", "../x", "a?b", &"x".repeat(129)] {
            assert!(check_id("intentId", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let client =
            Hub2Client::new(Hub2Config::new("sk_SECRET_1", "M1", Environment::Sandbox)).unwrap();
        assert!(!format!("{client:?}").contains("SECRET"));
        let payer = client
            .payer(PayerCredentials::new("pi_1", "eyJ.TOKEN_SECRET.x"))
            .unwrap();
        let shown = format!("{payer:?}");
        assert!(
            !shown.contains("TOKEN_SECRET") && shown.contains("pi_1"),
            "{shown}"
        );
        let creds = PayerCredentials::new("pi_1", "eyJ.TOKEN_SECRET.x");
        assert!(!format!("{creds:?}").contains("TOKEN_SECRET"));
    }

    #[test]
    fn payer_clients_refuse_an_empty_or_malformed_token_however_they_are_made() {
        let client = Hub2Client::new(Hub2Config::new("sk_1", "M1", Environment::Sandbox)).unwrap();
        for token in ["", "  ", "eyJ.a\nb.c"] {
            let credentials = PayerCredentials::new("pi_1", token);
            let from_merchant = client.payer(credentials.clone()).unwrap_err();
            assert!(matches!(from_merchant, Error::Config(_)), "{token:?}");
            let standalone =
                PayerClient::new(PayerConfig::new(credentials, Environment::Sandbox)).unwrap_err();
            assert!(matches!(standalone, Error::Config(_)), "{token:?}");
            assert!(!from_merchant.to_string().contains("eyJ"));
        }
    }
}
