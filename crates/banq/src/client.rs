//! The Banq API, one method per documented endpoint, and the webhook fetch-back.

use payments_core::error::redacted_excerpt;
use payments_core::http::{ApiRequest, ApiResponse, Auth, HttpClient, Method, Url, header};
use payments_core::provider_support::{
    PathSegment::{self, Fixed, Id},
    base_url, join_path,
};
use payments_core::secret::SecretString;
use payments_core::token::{OAuth2TokenSource, TokenCache, TokenRequestFormat};
use payments_core::webhook::{Authenticity, VerifiedEvent, WebhookRequest, event_id_from_parts};
use payments_core::{
    Capabilities, Capability, Checkout, CreatePayment, Currency, Error, Payment, PaymentProvider,
    Result,
};

use crate::PROVIDER;
use crate::config::{BanqConfig, MerchantUserCredentials, OpenApiCredentials, TokenFlow};
use crate::convert::{money, provider_error, to_checkout, to_payment, unified_status};
use crate::request::{PaymentLinkRequest, WebhookConfigRequest, check_id};
use crate::webhook::{Confirmation, UnconfirmedNotice, WebhookReceiver};
use crate::wire::{
    BanqPayment, BanqUser, PaymentLink, WebhookConfig, parse_payment, parse_payment_link,
    parse_user, parse_webhook_config,
};

/// What the provider-neutral [`PaymentProvider`] implementation supports. Banq documents no
/// cancellation and no refund; its webhooks are unsigned (confirmed by fetch-back).
pub const CAPABILITIES: Capabilities = Capabilities::new(&[
    Capability::CreatePayment,
    Capability::GetPayment,
    Capability::UnsignedWebhooks,
]);

/// The header carrying the company id on every API call.
pub const COMPANY_HEADER: &str = "x-company-id";

/// The Open API token source: an OAuth2 password grant, JSON body, against the issuer at `url`.
pub fn open_api_token_source(
    http: HttpClient,
    url: Url,
    credentials: &OpenApiCredentials,
) -> OAuth2TokenSource {
    let (username, password) = credentials.field_names.fields();
    let mut source = OAuth2TokenSource::new(http, url, TokenRequestFormat::Json)
        .param("grant_type", "password")
        .param("client_id", credentials.client_id.clone())
        .secret_param(username, SecretString::from(credentials.username.clone()))
        .secret_param(password, credentials.password.clone())
        .param("audience", credentials.audience.clone());
    if let Some(secret) = &credentials.client_secret {
        source = source.secret_param("client_secret", secret.clone());
    }
    source
}

/// The merchant-user token source: password grant with Banq's fixed client id, audience
/// `https://banq.com/api` and scope `offline_access`.
pub fn merchant_user_token_source(
    http: HttpClient,
    url: Url,
    credentials: &MerchantUserCredentials,
) -> OAuth2TokenSource {
    OAuth2TokenSource::new(http, url, TokenRequestFormat::Json)
        .param("grant_type", "password")
        .param("client_id", credentials.client_id.clone())
        .secret_param("username", SecretString::from(credentials.username.clone()))
        .secret_param("password", credentials.password.clone())
        .param("audience", credentials.audience.clone())
        .param("scope", credentials.scope.clone())
}

/// A Banq client. Cheap to clone; clones share the connection pool and both token caches.
#[derive(Debug, Clone)]
pub struct BanqClient {
    http: HttpClient,
    base: Url,
    company_id: header::HeaderValue,
    open_api: TokenCache,
    merchant_user: Option<TokenCache>,
    webhook_config_token: TokenFlow,
    currency: Currency,
    default_destination: Option<String>,
}

impl BanqClient {
    /// A client for `config`, with both token flows run against `config.token_url` (the
    /// merchant-user flow only when [`BanqConfig::merchant_user`] is set). Fails only on a
    /// malformed configuration.
    pub fn new(config: BanqConfig) -> Result<Self> {
        config.check_credentials()?;
        let http = Self::http_client(&config)?;
        let token_url = base_url("Banq token URL", &config.token_url)?;
        let open_api = TokenCache::new(open_api_token_source(
            http.clone(),
            token_url.clone(),
            &config.credentials,
        ));
        let merchant_user = config.merchant_user.as_ref().map(|credentials| {
            TokenCache::new(merchant_user_token_source(
                http.clone(),
                token_url.clone(),
                credentials,
            ))
        });
        Self::build(config, http, open_api, merchant_user)
    }

    /// A client whose Open API tokens come from `tokens` instead of Banq's token endpoint: a
    /// cache over your own [`TokenSource`](payments_core::token::TokenSource), or over a
    /// [`StaticTokenSource`](payments_core::token::StaticTokenSource) for a token obtained
    /// elsewhere (a 401 is then returned as is). The Open API credentials in `config` are not
    /// used; the merchant-user flow runs from [`BanqConfig::merchant_user`] when it is set (or
    /// from [`BanqClient::with_merchant_user_tokens`]).
    pub fn with_token_cache(config: BanqConfig, tokens: TokenCache) -> Result<Self> {
        let http = Self::http_client(&config)?;
        let merchant_user = match &config.merchant_user {
            Some(credentials) => Some(TokenCache::new(merchant_user_token_source(
                http.clone(),
                base_url("Banq token URL", &config.token_url)?,
                credentials,
            ))),
            None => None,
        };
        Self::build(config, http, tokens, merchant_user)
    }

    /// Takes the merchant user's tokens (`users/me`, the webhook configuration) from `tokens`
    /// instead of the merchant-user flow.
    pub fn with_merchant_user_tokens(mut self, tokens: TokenCache) -> Self {
        self.merchant_user = Some(tokens);
        self
    }

    fn http_client(config: &BanqConfig) -> Result<HttpClient> {
        HttpClient::new(
            PROVIDER,
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            &config.http,
        )
    }

    fn build(
        config: BanqConfig,
        http: HttpClient,
        open_api: TokenCache,
        merchant_user: Option<TokenCache>,
    ) -> Result<Self> {
        config.check_company()?;
        let base = base_url("Banq API base URL", &config.api_base_url)?;
        let company_id = header::HeaderValue::from_str(&config.company_id)
            .map_err(|_| Error::Config("the Banq company id is not a valid header value".into()))?;
        if let Some(destination) = &config.default_destination {
            check_id("default_destination", destination)
                .map_err(|e| Error::Config(e.to_string()))?;
        }
        Ok(BanqClient {
            http,
            base,
            company_id,
            open_api,
            merchant_user,
            webhook_config_token: config.webhook_config_token,
            currency: config.currency,
            default_destination: config.default_destination,
        })
    }

    /// The currency of `funds`.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    fn url(&self, segments: &[PathSegment<'_>]) -> Result<Url> {
        join_path(&self.base, segments)
    }

    fn tokens(&self, flow: TokenFlow) -> Result<TokenCache> {
        match flow {
            TokenFlow::OpenApi => Ok(self.open_api.clone()),
            TokenFlow::MerchantUser => self.merchant_user.clone().ok_or_else(|| {
                Error::Config(
                    "this call needs the merchant user's login: set BanqConfig::merchant_user"
                        .into(),
                )
            }),
        }
    }

    fn request(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        flow: TokenFlow,
    ) -> Result<ApiRequest> {
        Ok(ApiRequest::new(operation, method, url)
            .auth(Auth::Token(self.tokens(flow)?))
            .header(
                header::HeaderName::from_static(COMPANY_HEADER),
                self.company_id.clone(),
            )
            .header(
                header::ACCEPT,
                header::HeaderValue::from_static("application/json"),
            ))
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse> {
        self.http
            .send(request)
            .await?
            .error_for_status(provider_error)
    }

    /// `POST /payments/get-paid-link` (Open API token): a link for the payer to pay
    /// `request.funds`. Validated first; never retried once it may have reached Banq. On
    /// [`Error::OutcomeUnknown`] or [`Error::Decode`] a link may exist: look it up before creating
    /// another.
    pub async fn create_payment_link(&self, request: &PaymentLinkRequest) -> Result<PaymentLink> {
        let response = self.send(self.create_payment_link_call(request)?).await?;
        parse_payment_link(response.body()).map_err(|reason| response.decode_error(reason))
    }

    /// The call [`BanqClient::create_payment_link`] sends, once `request` is validated.
    fn create_payment_link_call(&self, request: &PaymentLinkRequest) -> Result<ApiRequest> {
        request.validate(self.currency)?;
        self.request(
            "create_payment_link",
            Method::POST,
            self.url(&[Fixed("payments"), Fixed("get-paid-link")])?,
            TokenFlow::OpenApi,
        )?
        .json(&request.body())
    }

    /// `GET /payments/{id}` (Open API token): the payment as Banq reports it now.
    ///
    /// An answer that names ids none of which is `payment_id` is about another payment and is an
    /// [`Error::Decode`] (see [`BanqPayment::answers_for`]).
    ///
    /// `funds` that the configured currency cannot hold exactly is an [`Error::Decode`] naming
    /// the field, as is a `funds` that is not a decimal.
    pub async fn get_payment(&self, payment_id: &str) -> Result<BanqPayment> {
        check_id("paymentId", payment_id)?;
        let call = self.request(
            "get_payment",
            Method::GET,
            self.url(&[Fixed("payments"), Id("paymentId", payment_id)])?,
            TokenFlow::OpenApi,
        )?;
        let response = self.send(call).await?;
        let payment =
            parse_payment(response.body()).map_err(|reason| response.decode_error(reason))?;
        if !payment.answers_for(payment_id) {
            return Err(response.decode_error(format!(
                "asked for payment {payment_id:?}, the answer is about {:?}",
                payment.ids()
            )));
        }
        money(payment.funds, self.currency).map_err(|reason| response.decode_error(reason))?;
        Ok(payment)
    }

    /// `GET /users/me?include=accountSpaces,banqAccounts` (merchant-user token): the merchant
    /// user with their account spaces and banq accounts.
    pub async fn me(&self) -> Result<BanqUser> {
        let mut url = self.url(&[Fixed("users"), Fixed("me")])?;
        // Written as documented (a literal comma), not form-encoded.
        url.set_query(Some("include=accountSpaces,banqAccounts"));
        let call = self.request("get_user", Method::GET, url, TokenFlow::MerchantUser)?;
        let response = self.send(call).await?;
        parse_user(response.body()).map_err(|reason| response.decode_error(reason))
    }

    /// The id of the account space holding the banq account `banq_guid` (from [`Self::me`]);
    /// `None` when the merchant user has no such account.
    pub async fn account_space_id_for(&self, banq_guid: &str) -> Result<Option<String>> {
        check_id("banqGuid", banq_guid)?;
        Ok(self.me().await?.account_space_id_for(banq_guid))
    }

    /// `POST /account-spaces/{accountSpaceId}/webhook-config`: registers where Banq posts
    /// webhooks (merchant-user token by default, see [`BanqConfig::webhook_config_token`]).
    /// Not retried once it may have reached Banq.
    pub async fn register_webhook_config(
        &self,
        account_space_id: &str,
        request: &WebhookConfigRequest,
    ) -> Result<WebhookConfig> {
        check_id("accountSpaceId", account_space_id)?;
        request.validate()?;
        let call = self
            .request(
                "register_webhook_config",
                Method::POST,
                self.url(&[
                    Fixed("account-spaces"),
                    Id("accountSpaceId", account_space_id),
                    Fixed("webhook-config"),
                ])?,
                self.webhook_config_token,
            )?
            .json(request)?;
        let response = self.send(call).await?;
        parse_webhook_config(response.body()).map_err(|reason| response.decode_error(reason))
    }

    /// Looks up the account space of `banq_guid` and registers `request` there. An account the
    /// merchant user does not have is [`Error::InvalidInput`] (nothing registered).
    pub async fn setup_webhooks(
        &self,
        banq_guid: &str,
        request: &WebhookConfigRequest,
    ) -> Result<WebhookConfig> {
        request.validate()?;
        let space = self.account_space_id_for(banq_guid).await?.ok_or_else(|| {
            Error::invalid(
                "banqGuid",
                "not among the merchant user's banq accounts (users/me)",
            )
        })?;
        self.register_webhook_config(&space, request).await
    }

    /// Confirms a notice by fetching it back: a `completed` Payment notice becomes
    /// [`Confirmation::Confirmed`] with the payment **as the API reports it** (its status may
    /// differ from what the notice claimed: the API wins) and `payment_id` the notice's
    /// `resourceId`; any other notice is returned as [`Confirmation::Notice`] without a request.
    /// An answer about another payment than `resourceId` confirms nothing ([`Error::Decode`]).
    ///
    /// Errors are those of [`Self::get_payment`]: answer Banq 5xx on `NotSent`, `OutcomeUnknown`,
    /// `RateLimited` or a 5xx so it retries; a 404 means the payment is not yours.
    pub async fn confirm(&self, notice: UnconfirmedNotice) -> Result<Confirmation> {
        if !notice.needs_fetch_back() {
            return Ok(Confirmation::Notice(notice));
        }
        let (event, raw_body) = notice.into_parts();
        let Some(payment_id) = event.resource_id.clone() else {
            return Err(Error::WebhookRejected(
                payments_core::webhook::WebhookRejection::MalformedPayload(
                    "a completed Payment event without resourceId".into(),
                ),
            ));
        };
        let payment = self.get_payment(&payment_id).await?;
        let status = unified_status(&payment.status);
        let raw_status = payment.raw_status.clone();
        let event_id = event_id_from_parts([payment_id.as_str(), payment.status.as_str()]);
        let mut confirmed = VerifiedEvent::new(
            PROVIDER,
            event_id,
            Authenticity::FetchedBack,
            payment,
            raw_body,
        );
        confirmed.event_type = Some(format!("{}.{}", event.resource_type, event.action));
        confirmed.payment_id = Some(payment_id);
        confirmed.status = Some(status);
        confirmed.raw_status = Some(raw_status);
        Ok(Confirmation::Confirmed(Box::new(confirmed)))
    }

    /// [`WebhookReceiver::receive`] then [`Self::confirm`]: a rejected request is
    /// [`Error::WebhookRejected`] (answer its `http_status()`).
    pub async fn handle_webhook(
        &self,
        receiver: &WebhookReceiver,
        request: &WebhookRequest<'_>,
    ) -> Result<Confirmation> {
        let notice = receiver.receive(request)?;
        self.confirm(notice).await
    }
}

#[async_trait::async_trait]
impl PaymentProvider for BanqClient {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn unsupported_hint(&self, capability: Capability) -> &'static str {
        match capability {
            Capability::CancelPayment => {
                "Banq's Open API documents no cancellation of a payment link"
            }
            Capability::Refund => "Banq's Open API documents no refunds: refund from the Banq app",
            Capability::FindByReference => {
                "Banq's Open API documents no search of payments by external order code: resolve an unknown creation in the Banq app"
            }
            _ => "not in this provider's capabilities",
        }
    }

    /// Creates a one-off payment link into [`BanqConfig::default_destination`]: `reference`
    /// becomes `externalOrderCode`, `description` (or else the reference) the `comment`.
    /// `return_url`, `webhook_url` and `expires_in` are refused (Banq links take none; webhooks
    /// are registered per account space with [`BanqClient::register_webhook_config`]);
    /// `customer` is not sent.
    async fn checkout(&self, request: &CreatePayment) -> Result<Checkout> {
        let Some(destination) = &self.default_destination else {
            return Err(Error::Config(
                "set BanqConfig::default_destination (the banq guid paid into) to use the \
                 provider-neutral checkout"
                    .into(),
            ));
        };
        if request.expires_in.is_some() {
            return Err(Error::invalid(
                "expires_in",
                "Banq payment links take no expiry",
            ));
        }
        if request.return_url.is_some() {
            return Err(Error::invalid(
                "return_url",
                "Banq payment links take no return URL",
            ));
        }
        if request.webhook_url.is_some() {
            return Err(Error::invalid(
                "webhook_url",
                "Banq webhooks are registered per account space: use \
                 BanqClient::register_webhook_config",
            ));
        }
        let comment = request
            .description
            .clone()
            .unwrap_or_else(|| request.reference.clone());
        let native =
            PaymentLinkRequest::once(destination, request.amount, comment, &request.reference);
        let response = self.send(self.create_payment_link_call(&native)?).await?;
        let link =
            parse_payment_link(response.body()).map_err(|reason| response.decode_error(reason))?;
        to_checkout(&link).ok_or_else(|| {
            response.decode_error(
                "Banq answered a payment link without a payment id; the link exists (see the \
                 excerpt) — BanqClient::create_payment_link returns links without ids",
            )
        })
    }

    /// [`BanqClient::get_payment`] (which already refused an amount the configured currency
    /// cannot hold, as an [`Error::Decode`]), as the core's payment.
    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment> {
        let payment = self.get_payment(payment_id).await?;
        // `get_payment` checked `funds` against the currency: this conversion does not fail; if
        // it did, it would be the same decode error, never a panic.
        to_payment(&payment, payment_id, self.currency).map_err(|reason| Error::Decode {
            operation: "get_payment",
            status: 200,
            reason,
            excerpt: redacted_excerpt(payment.raw.to_string().as_bytes()),
        })
    }
}
