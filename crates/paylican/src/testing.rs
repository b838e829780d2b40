//! Webhooks as Paylican sends them, for tests and local sandboxes.
//!
//! The four bodies Paylican documents are here verbatim ([`PAYMENT_INITIATED`], [`PAYMENT_ERROR`],
//! [`PAYMENT_EXECUTED`], [`PAYMENT_REJECTED`]); [`EventBuilder`] starts from one of them and changes
//! what a test needs; [`Delivery`] adds what the merchant's guards expect (a URL secret, basic
//! auth) and gives the [`WebhookRequest`] a handler would see.
//!
//! Paylican signs nothing, so a delivery built here is indistinguishable from a real one: that is
//! exactly why the receiving side must rely on guards and confirm payments out of band.
//!
//! ```
//! use payments_core::webhook::WebhookVerifier;
//! use payments_core::PaymentStatus;
//! use payments_paylican::testing::{Delivery, EventBuilder};
//! use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
//! use payments_core::secret::SecretString;
//!
//! let password = SecretString::from("correct horse battery staple");
//! let verifier = PaylicanWebhookVerifier::new(WebhookGuards::new().basic_auth("paylican", &password)?);
//! let body = EventBuilder::executed().invoice_id("XYZ2024-ade08").id(7).to_json()?;
//! let delivery = Delivery::new("https://shop.example/paylican/webhook", body)
//!     .basic_auth("paylican", "correct horse battery staple");
//! let event = verifier.verify(&delivery.request())?;
//! assert_eq!(event.payment_id.as_deref(), Some("XYZ2024-ade08"));
//! assert_eq!(event.status, Some(PaymentStatus::Succeeded));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::Engine as _;
use payments_core::webhook::WebhookRequest;
use payments_core::{Decimal, Error};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::wire::{AdditionalField, EventType, Invoice, InvoiceStatus, PaylicanEvent, PaymentMode};

/// Paylican's "Payment initiated" example, verbatim.
pub const PAYMENT_INITIATED: &str = r#"{
"createdAt":"2024-03-28T14:32:47.238686329Z",
"data": {
"additionalFields": [],
"bankCode": "GNAFRI",
"collector": "GNAFRI",
"documentNo": "REF-178T876",
"id": "ABC2024-123",
"paymentDate": "2024-03-28T14:34:30.155101Z",
"paymentMode": "BANK_TRANSFER",
"paymentNo": "gup87876f",
"status": "UNPAID",
"totalAmount": 100
},
"id": 41768,
"pendingWebhooks":2,
"type": "invoice.payment_initiated"
}"#;

/// Paylican's "Payment Error" example, verbatim.
pub const PAYMENT_ERROR: &str = r#"{
"createdAt":"2024-03-28T14:32:47.238686329Z",
"data": {
"additionalFields": [],
"documentNo": "REF-178T876",
"id": "ABC2024-123",
"paymentNo": "gup87876f",
"status": "UNPAID",
"totalAmount": 100
},
"id": 41768,
"pendingWebhooks":2,
"type": "invoice.payment_error"
}"#;

/// Paylican's "Payment Executed" example, verbatim (type `invoice.payment_initiated`, status
/// `PAID`).
pub const PAYMENT_EXECUTED: &str = r#"{
"createdAt":"2024-03-28T14:32:47.238686329Z",
"data": {
"additionalFields": [],
"bankCode": "GNAFRI",
"collector": "GNAFRI",
"documentNo": "REF-178T876",
"id": "ABC2024-123",
"paymentDate": "2024-03-28T14:34:30.155101Z",
"paymentMode": "BANK_TRANSFER",
"paymentNo": "gup87876f",
"status": "PAID",
"totalAmount": 100
},
"id": 41768,
"pendingWebhooks":2,
"type": "invoice.payment_initiated"
}"#;

/// Paylican's "Payment rejected" example, verbatim.
pub const PAYMENT_REJECTED: &str = r#"{
"createdAt":"2024-03-28T14:32:47.238686329Z",
"data": {
"additionalFields": [],
"documentNo": "REF-178T876",
"id": "ABC2024-123",
"paymentNo": "gup87876f",
"status": "UNPAID",
"totalAmount": 100
},
"id": 41768,
"pendingWebhooks":2,
"type": "invoice.payment_rejected"
}"#;

/// Builds webhook bodies, starting from a documented example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBuilder {
    event: PaylicanEvent,
}

impl EventBuilder {
    fn documented(event_type: EventType, status: InvoiceStatus, executed: bool) -> Self {
        let paid_fields = executed || event_type == EventType::PaymentInitiated;
        EventBuilder {
            event: PaylicanEvent {
                id: 41768,
                event_type,
                created_at: Some(datetime!(2024-03-28 14:32:47.238686329 UTC)),
                pending_webhooks: Some(2),
                data: Invoice {
                    id: "ABC2024-123".into(),
                    status,
                    total_amount: Decimal::new(100, 0).ok(),
                    document_no: Some("REF-178T876".into()),
                    payment_no: Some("gup87876f".into()),
                    payment_date: paid_fields.then_some(datetime!(2024-03-28 14:34:30.155101 UTC)),
                    payment_mode: paid_fields.then_some(PaymentMode::BankTransfer),
                    collector: paid_fields.then(|| "GNAFRI".into()),
                    bank_code: paid_fields.then(|| "GNAFRI".into()),
                    additional_fields: Vec::new(),
                },
            },
        }
    }

    /// The "Payment initiated" example ([`PAYMENT_INITIATED`]).
    pub fn initiated() -> Self {
        Self::documented(EventType::PaymentInitiated, InvoiceStatus::Unpaid, false)
    }

    /// The "Payment Error" example ([`PAYMENT_ERROR`]).
    pub fn error() -> Self {
        Self::documented(EventType::PaymentError, InvoiceStatus::Unpaid, false)
    }

    /// The "Payment Executed" example ([`PAYMENT_EXECUTED`]).
    pub fn executed() -> Self {
        Self::documented(EventType::PaymentInitiated, InvoiceStatus::Paid, true)
    }

    /// The "Payment rejected" example ([`PAYMENT_REJECTED`]).
    pub fn rejected() -> Self {
        Self::documented(EventType::PaymentRejected, InvoiceStatus::Unpaid, false)
    }

    /// An `invoice.paid` event (seen in production integrations) with `status: PAID`.
    pub fn paid() -> Self {
        Self::documented(EventType::Paid, InvoiceStatus::Paid, true)
    }

    /// Sets the webhook id.
    pub fn id(mut self, id: i64) -> Self {
        self.event.id = id;
        self
    }

    /// Sets the event type.
    pub fn event_type(mut self, event_type: EventType) -> Self {
        self.event.event_type = event_type;
        self
    }

    /// Sets the invoice id (`data.id`).
    pub fn invoice_id(mut self, id: impl Into<String>) -> Self {
        self.event.data.id = id.into();
        self
    }

    /// Sets the invoice status.
    pub fn status(mut self, status: InvoiceStatus) -> Self {
        self.event.data.status = status;
        self
    }

    /// Sets the total amount (major units, written digit for digit).
    pub fn total_amount(mut self, amount: Decimal) -> Self {
        self.event.data.total_amount = Some(amount);
        self
    }

    /// Sets the merchant reference (`data.documentNo`).
    pub fn document_no(mut self, reference: impl Into<String>) -> Self {
        self.event.data.document_no = Some(reference.into());
        self
    }

    /// Sets the transaction reference (`data.paymentNo`).
    pub fn payment_no(mut self, payment_no: impl Into<String>) -> Self {
        self.event.data.payment_no = Some(payment_no.into());
        self
    }

    /// Sets the sending time.
    pub fn created_at(mut self, at: OffsetDateTime) -> Self {
        self.event.created_at = Some(at);
        self
    }

    /// Sets the number of attempts left.
    pub fn pending_webhooks(mut self, pending: u32) -> Self {
        self.event.pending_webhooks = Some(pending);
        self
    }

    /// Adds an additional field.
    pub fn additional_field(mut self, code: impl Into<String>, value: impl Into<String>) -> Self {
        self.event
            .data
            .additional_fields
            .push(AdditionalField::new(code, value));
        self
    }

    /// The event.
    pub fn build(self) -> PaylicanEvent {
        self.event
    }

    /// The JSON body (amounts and nanosecond timestamps written exactly).
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(&self.event)
            .map_err(|e| Error::Config(format!("cannot serialize the webhook: {e}")))
    }
}

/// One webhook delivery: what the merchant's server receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The full URL posted to.
    pub url: String,
    /// Headers as sent.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Delivery {
    /// A `POST` of `body` to `url` with `Content-Type: application/json`.
    pub fn new(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Delivery {
            url: url.into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// Adds `Authorization: Basic base64(username:password)`.
    pub fn basic_auth(mut self, username: &str, password: &str) -> Self {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        self.headers
            .push(("Authorization".into(), format!("Basic {encoded}")));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The request as a web handler would build it.
    pub fn request(&self) -> WebhookRequest<'_> {
        let mut request = WebhookRequest::new("POST", &self.url, &self.body);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }
}
