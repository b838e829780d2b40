//! The Payment Creation API: token, create payment, payment-page URL, and (when configured) an
//! invoice status endpoint.

use payments_core::http::{ApiRequest, ApiResponse, Auth, HttpClient, Method, Url};
use payments_core::provider_support::{
    PathSegment::{Fixed, Id},
    base_url, join_path,
};
use payments_core::token::TokenCache;
use payments_core::{
    Capabilities, Capability, Checkout, CreatePayment, Currency, Error, Payment, PaymentProvider,
    Result,
};

use crate::PROVIDER;
use crate::auth::KeycloakTokenSource;
use crate::config::{INVOICE_ID_PLACEHOLDER, PaylicanConfig};
use crate::convert::{provider_error, to_checkout, to_payment, total_amount};
use crate::payment_page::{PaymentPage, check_segment};
use crate::request::CreatePaymentRequest;
use crate::wire::{CreatePaymentResponse, Invoice};

/// What the provider-neutral [`PaymentProvider`] implementation supports without a status
/// endpoint: creation, and webhooks that are not signed.
pub const CAPABILITIES: Capabilities =
    Capabilities::new(&[Capability::CreatePayment, Capability::UnsignedWebhooks]);

/// The same with a status endpoint configured ([`PaylicanConfig::status_path`]).
pub const CAPABILITIES_WITH_STATUS: Capabilities = Capabilities::new(&[
    Capability::CreatePayment,
    Capability::GetPayment,
    Capability::UnsignedWebhooks,
]);

/// A created payment and where to send the payer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CreatedPayment {
    /// Paylican's invoice id: store it with the order (webhooks carry it as `data.id`).
    pub invoice_id: String,
    /// The merchant reference (as Paylican echoed it, or as sent when it echoed none).
    pub merchant_reference: String,
    /// The payment type.
    pub payment_type: String,
    /// The payment-page URL: redirect the payer's browser there (`GET`).
    pub payment_page_url: String,
    /// Paylican's answer.
    pub raw: serde_json::Value,
}

/// A Paylican client. Cheap to clone; clones share the connection pool and the access token.
#[derive(Debug, Clone)]
pub struct PaylicanClient {
    http: HttpClient,
    payment_base: Url,
    auth: Auth,
    page: PaymentPage,
    /// The configured status endpoint, split into path segments.
    status_path: Option<Vec<StatusSegment>>,
    payment_type: Option<String>,
    currency: Option<Currency>,
}

/// One segment of the configured status path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum StatusSegment {
    /// A segment written in the configuration, sent as is (percent-encoded).
    Literal(String),
    /// The `{invoiceId}` placeholder.
    InvoiceId,
}

/// Splits a status path template (already checked by [`PaylicanConfig::check`]) into segments,
/// then joins it once under `base` so that core's `join_path` refuses a literal `.` or `..` now,
/// as a configuration error, rather than on every call.
fn status_segments(base: &Url, template: &str) -> Result<Vec<StatusSegment>> {
    let segments: Vec<StatusSegment> = template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            INVOICE_ID_PLACEHOLDER => StatusSegment::InvoiceId,
            literal => StatusSegment::Literal(literal.to_string()),
        })
        .collect();
    status_url(base, &segments, "invoiceId")
        .map_err(|e| Error::Config(format!("status_path: {e}")))?;
    Ok(segments)
}

/// The status endpoint's URL for `invoice_id`: every segment through core's `join_path`, which
/// percent-encodes each and refuses an empty, `.` or `..` one naming its field (`invoiceId` for
/// the id, `status_path` for a configured segment).
fn status_url(base: &Url, segments: &[StatusSegment], invoice_id: &str) -> Result<Url> {
    let path: Vec<_> = segments
        .iter()
        .map(|segment| match segment {
            StatusSegment::Literal(literal) => Id("status_path", literal),
            StatusSegment::InvoiceId => Id("invoiceId", invoice_id),
        })
        .collect();
    join_path(base, &path)
}

impl PaylicanClient {
    /// A client for `config`, with a [`KeycloakTokenSource`] behind a shared token cache. Fails only
    /// on a malformed configuration; nothing is sent until the first call.
    pub fn new(config: PaylicanConfig) -> Result<Self> {
        config.check()?;
        let http = Self::http_client(&config)?;
        let source = KeycloakTokenSource::for_config(http.clone(), &config)?;
        Self::build(config, http, TokenCache::new(source))
    }

    /// A client whose access tokens come from `tokens` instead of a [`KeycloakTokenSource`] over
    /// the configured user: a cache over your own source (a [`KeycloakTokenSource`] with an
    /// injected clock, one shared with other clients), or over a
    /// [`StaticTokenSource`](payments_core::token::StaticTokenSource) for a token obtained
    /// elsewhere (a 401 is then returned as is).
    pub fn with_token_cache(config: PaylicanConfig, tokens: TokenCache) -> Result<Self> {
        config.check()?;
        let http = Self::http_client(&config)?;
        Self::build(config, http, tokens)
    }

    fn http_client(config: &PaylicanConfig) -> Result<HttpClient> {
        HttpClient::new(
            PROVIDER,
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            &config.http,
        )
    }

    fn build(config: PaylicanConfig, http: HttpClient, tokens: TokenCache) -> Result<Self> {
        let payment_base = base_url("payment_url", &config.payment_url)?;
        let status_path = config
            .status_path
            .as_deref()
            .map(|template| status_segments(&payment_base, template))
            .transpose()?;
        Ok(PaylicanClient {
            http,
            payment_base,
            auth: Auth::Token(tokens),
            page: config.payment_page()?,
            status_path,
            payment_type: config.payment_type,
            currency: config.currency,
        })
    }

    /// The payment-page URL builder.
    pub fn payment_page(&self) -> &PaymentPage {
        &self.page
    }

    /// True when a status endpoint is configured.
    pub fn has_status_endpoint(&self) -> bool {
        self.status_path.is_some()
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse> {
        self.http
            .send(request.auth(self.auth.clone()))
            .await?
            .error_for_status(provider_error)
    }

    /// `POST {payment}/api/v1/payment` with a Keycloak bearer token. Validated first (amount
    /// positive and, with a configured currency, representable in it; `redirectionUrl` at most
    /// 900 characters; the URL segments usable). Never sent twice once it may have reached
    /// Paylican: on [`Error::OutcomeUnknown`] (timeout, 5xx) the invoice may exist.
    pub async fn create_payment(&self, request: &CreatePaymentRequest) -> Result<CreatedPayment> {
        request.validate(self.currency)?;
        let url = join_path(
            &self.payment_base,
            &[Fixed("api"), Fixed("v1"), Fixed("payment")],
        )?;
        let call = ApiRequest::new("create_payment", Method::POST, url).json(request)?;
        let response = self.send(call).await?;
        let created: CreatePaymentResponse = response.json()?;
        if let Err(e) = check_segment("invoiceId", &created.invoice_id) {
            return Err(response.decode_error(format!("unusable invoiceId: {e}")));
        }
        let merchant_reference = created
            .merchant_reference
            .filter(|r| check_segment("merchantReference", r).is_ok())
            .unwrap_or_else(|| request.merchant_reference.clone());
        let payment_page_url = self.page.url(
            &request.payment_type,
            &merchant_reference,
            &created.invoice_id,
        )?;
        Ok(CreatedPayment {
            invoice_id: created.invoice_id,
            merchant_reference,
            payment_type: request.payment_type.clone(),
            payment_page_url,
            raw: response.json()?,
        })
    }

    /// `GET` the configured status endpoint for `invoice_id`; [`Error::Unsupported`] when none is
    /// configured (Paylican's Payment Creation API documents none).
    pub async fn get_invoice(&self, invoice_id: &str) -> Result<Invoice> {
        let response = self.send(self.get_invoice_call(invoice_id)?).await?;
        let invoice: Invoice = response.json()?;
        self.check_amount(&invoice, &response)?;
        Ok(invoice)
    }

    /// The call [`PaylicanClient::get_invoice`] sends.
    fn get_invoice_call(&self, invoice_id: &str) -> Result<ApiRequest> {
        let Some(segments) = &self.status_path else {
            return Err(Error::Unsupported {
                provider: PROVIDER,
                operation: "get_payment",
                hint: "Paylican's Payment Creation API has no status endpoint: rely on webhooks, \
                       or configure one with PaylicanConfig::status_path if Paylican gave you one"
                    .into(),
            });
        };
        let url = status_url(&self.payment_base, segments, invoice_id)?;
        Ok(ApiRequest::new("get_payment", Method::GET, url))
    }

    /// With an account currency, an amount it cannot hold exactly is an [`Error::Decode`] naming
    /// `totalAmount`.
    fn check_amount(&self, invoice: &Invoice, response: &ApiResponse) -> Result<()> {
        if let Some(currency) = self.currency {
            total_amount(invoice, currency, "totalAmount")
                .map_err(|reason| response.decode_error(reason))?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl PaymentProvider for PaylicanClient {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        if self.status_path.is_some() {
            CAPABILITIES_WITH_STATUS
        } else {
            CAPABILITIES
        }
    }

    fn unsupported_hint(&self, capability: Capability) -> &'static str {
        match capability {
            Capability::CancelPayment => "Paylican's Payment Creation API has no cancellation",
            Capability::Refund => "Paylican's Payment Creation API has no refunds",
            Capability::FindByReference => {
                "Paylican documents no search of payments by merchant reference: resolve an unknown creation in the Paylican back office"
            }
            _ => "not in this provider's capabilities",
        }
    }

    /// Creates a payment: `reference` → `merchantReference`, `description` → `itemName`,
    /// `return_url` → `redirectionUrl`, the configured payment type → `type`. Needs the account
    /// currency in the configuration (Paylican's API carries none) and refuses money in another
    /// one. `webhook_url` and `expires_in` are refused (Paylican's webhook URL is set at onboarding
    /// and it sets no expiry); `customer` is not sent (Paylican takes a customer code, not payer
    /// details: use the native API).
    async fn checkout(&self, request: &CreatePayment) -> Result<Checkout> {
        let currency = self.currency.ok_or_else(|| {
            Error::Config(
                "set PaylicanConfig::currency: Paylican's API carries no currency, so the \
                 provider-neutral API needs to know the account's"
                    .into(),
            )
        })?;
        if request.amount.currency() != currency {
            return Err(Error::invalid(
                "amount",
                format!(
                    "the Paylican account is in {currency}, not {}",
                    request.amount.currency()
                ),
            ));
        }
        let payment_type = self.payment_type.as_deref().ok_or_else(|| {
            Error::Config("set PaylicanConfig::payment_type for the provider-neutral API".into())
        })?;
        if request.webhook_url.is_some() {
            return Err(Error::invalid(
                "webhook_url",
                "Paylican's webhook URL is configured per merchant at onboarding; leave it unset",
            ));
        }
        if request.expires_in.is_some() {
            return Err(Error::invalid(
                "expires_in",
                "Paylican takes no payment expiry; leave it unset",
            ));
        }
        let mut native =
            CreatePaymentRequest::from_money(request.amount, payment_type, &request.reference);
        native.item_name = request.description.clone();
        native.redirection_url = request.return_url.clone();
        let created = self.create_payment(&native).await?;
        Ok(to_checkout(
            &created.invoice_id,
            &created.payment_page_url,
            created.raw,
        ))
    }

    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment> {
        let response = self.send(self.get_invoice_call(payment_id)?).await?;
        let (invoice, raw): (Invoice, _) = response.json_with_raw()?;
        self.check_amount(&invoice, &response)?;
        to_payment(&invoice, self.currency, raw).map_err(|reason| response.decode_error(reason))
    }
}
