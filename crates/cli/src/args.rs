//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The demo's ledger when `--db` is not given: a SQLite file in the current directory.
pub(crate) const DEFAULT_DB: &str = "sqlite://payments-demo.db";

/// `webhook verify --url` when not given.
pub(crate) const DEFAULT_VERIFY_URL: &str = "https://merchant.example/webhook";

/// Accept payments with Payconiq, Fintecture, HUB2, Banq and Paylican: run the whole flow
/// locally over a durable ledger, run the provider sandbox, read the ledger, verify captured
/// webhooks.
#[derive(Debug, Parser)]
#[command(name = "payments", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run create once → payer pays → webhook received → stored → applied → handler notified →
    /// reconciled, per provider, against the embedded sandbox (or a provider's real sandbox
    /// when its credentials are in the environment), over a ledger; or show what the ledger
    /// guarantees with --scenario.
    Demo(DemoArgs),
    /// Run the provider sandbox standalone and print how to configure clients against it.
    Sandbox(SandboxArgs),
    /// Read the ledger (the demo's, or any): payments, their history, what needs review,
    /// dead-lettered notifications; retry one; reconcile.
    Ledger(LedgerArgs),
    /// Webhook tools.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

/// What `payments demo` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    /// The whole checkout, step by step (the default).
    Checkout,
    /// One webhook delivered three times (its answer lost twice): stored and applied once.
    Duplicate,
    /// The webhooks of one payment reach the ledger newest first: the older ones are kept, not
    /// applied.
    OutOfOrder,
    /// Every delivery fails: the reconciler finds the payment paid.
    LostWebhook,
    /// The provider processed the creation and its answer was lost: found by reference, not
    /// created twice (Banq and Paylican, which cannot be searched: held for review).
    #[value(name = "create-500")]
    Create500,
    /// Every scenario above but the checkout.
    All,
}

impl Scenario {
    /// The name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Checkout => "checkout",
            Scenario::Duplicate => "duplicate",
            Scenario::OutOfOrder => "out-of-order",
            Scenario::LostWebhook => "lost-webhook",
            Scenario::Create500 => "create-500",
            Scenario::All => "all",
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Run only this provider (payconiq, fintecture, hub2, banq, paylican); repeatable.
    #[arg(long = "provider", value_name = "NAME")]
    pub(crate) providers: Vec<String>,
    /// What to show.
    #[arg(long, value_enum, default_value_t = Scenario::Checkout, value_name = "NAME")]
    pub(crate) scenario: Scenario,
    /// The ledger's database: `sqlite://FILE` or `postgres://...`.
    #[arg(long, value_name = "URL", default_value = DEFAULT_DB)]
    pub(crate) db: String,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Seconds to wait for each webhook, status or notification (at least 1).
    #[arg(long, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,
    /// Ignore provider credentials in the environment: always use the embedded sandbox.
    #[arg(long)]
    pub(crate) offline: bool,
    /// Inject a fault into the embedded sandbox, as the JSON of `POST /_sandbox/faults`, e.g.
    /// `{"method":"POST","path":"/hub2/payment-intents","fault":{"kind":"status","status":500},"times":1,"phase":"after"}`;
    /// repeatable. Its path starts with a provider's prefix (/payconiq, /fintecture, /hub2,
    /// /banq, /paylican).
    #[arg(long = "fault", value_name = "JSON")]
    pub(crate) faults: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8787)]
    pub(crate) port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: std::net::IpAddr,
    /// Divide webhook retry delays and magic-amount delays by this.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) time_divisor: u32,
    /// Print the sandbox description as JSON (one line) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LedgerArgs {
    /// The ledger's database: `sqlite://FILE` or `postgres://...` (the demo's file in the current
    /// directory unless given).
    #[arg(long, value_name = "URL", default_value = DEFAULT_DB, global = true)]
    pub(crate) db: String,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: LedgerCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCommand {
    /// The payments, newest first.
    List {
        /// Only payments in this unified status (pending, succeeded, failed, ...).
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..))]
        limit: i64,
    },
    /// One payment, by its merchant reference.
    Show(PaymentRef),
    /// Every observation of one payment (creation, webhooks, fetches, reviews), oldest first.
    History(PaymentRef),
    /// The payments a person must look at.
    NeedsReview,
    /// The change notifications that failed too often.
    DeadLetters,
    /// Delivers a dead-lettered notification again.
    Retry {
        /// The notification's id (from `dead-letters`).
        id: i64,
    },
    /// Fetches the payments that are due and not final from their providers (credentials from
    /// the environment, as `demo` reads them) and applies what they report.
    Reconcile {
        /// One pass, then exit (without it: until Ctrl-C).
        #[arg(long)]
        once: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct PaymentRef {
    /// The merchant reference (the order).
    pub(crate) reference: String,
    /// The provider, when the reference exists at several.
    #[arg(long, value_name = "NAME")]
    pub(crate) provider: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Verify a captured webhook offline: print the verified event as JSON, or why it was
    /// rejected (exit status 1).
    #[command(subcommand)]
    Verify(VerifyCommand),
}

/// One subcommand per provider, each with the options its scheme needs.
#[derive(Debug, Subcommand)]
pub(crate) enum VerifyCommand {
    /// A Payconiq callback: detached JWS (ES256) checked against the key set.
    Payconiq(PayconiqVerifyArgs),
    /// A Fintecture webhook: the signing string decrypted with the application's key.
    Fintecture(FintectureVerifyArgs),
    /// A HUB2 webhook: HMAC-SHA256 with the secret its registration returned.
    Hub2(Hub2VerifyArgs),
    /// A Banq notice (unsigned): its format and the URL secret.
    Banq(BanqVerifyArgs),
    /// A Paylican webhook (unsigned): its format and the guards.
    Paylican(PaylicanVerifyArgs),
}

/// The captured request, common to every provider.
#[derive(Debug, Clone, Args)]
pub(crate) struct CaptureArgs {
    /// File holding the raw body, byte for byte (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) body: PathBuf,
    /// A request header as received, `Name: value`; repeatable.
    #[arg(long = "header", value_name = "'Name: value'")]
    pub(crate) headers: Vec<String>,
    /// The URL the webhook was posted to (path and query matter to Payconiq's signature and to
    /// URL-secret guards).
    #[arg(long, value_name = "URL", default_value = DEFAULT_VERIFY_URL)]
    pub(crate) url: String,
    /// HTTP method of the request.
    #[arg(long, default_value = "POST")]
    pub(crate) method: String,
    /// Verify as of this instant (RFC 3339) instead of now: for captures older than the
    /// provider's freshness window.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PayconiqVerifyArgs {
    #[command(flatten)]
    pub(crate) capture: CaptureArgs,
    /// The JWKS file (the provider's key set) to verify with.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) jwks: PathBuf,
    /// The payment profile id expected as the signature's `sub`.
    #[arg(long, value_name = "ID", required = true)]
    pub(crate) profile_id: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct FintectureVerifyArgs {
    #[command(flatten)]
    pub(crate) capture: CaptureArgs,
    /// The application private key (PEM file) the webhook was encrypted for.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) private_key: PathBuf,
    /// The application id expected as `keyId`.
    #[arg(long, value_name = "ID", required = true)]
    pub(crate) app_id: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct Hub2VerifyArgs {
    #[command(flatten)]
    pub(crate) capture: CaptureArgs,
    /// The webhook secret returned at registration: a file holding it, or `env:NAME`.
    #[arg(long, value_name = "FILE|env:NAME", required = true)]
    pub(crate) secret: String,
    /// The previous secret, during a rotation (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) previous_secret: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct BanqVerifyArgs {
    #[command(flatten)]
    pub(crate) capture: CaptureArgs,
    /// The shared secret of the URL-secret guard (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) guard_secret: Option<String>,
    /// The previous guard secret, also accepted during a rotation (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME", requires = "guard_secret")]
    pub(crate) previous_guard_secret: Option<String>,
    /// The query parameter carrying the guard secret (default `token`).
    #[arg(long, value_name = "NAME", requires = "guard_secret")]
    pub(crate) guard_param: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PaylicanVerifyArgs {
    #[command(flatten)]
    pub(crate) capture: CaptureArgs,
    /// The shared secret of a URL-secret guard, the URL's last path segment unless
    /// --guard-param names a query parameter (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) guard_secret: Option<String>,
    /// The previous guard secret, also accepted during a rotation (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME", requires = "guard_secret")]
    pub(crate) previous_guard_secret: Option<String>,
    /// The query parameter carrying the guard secret.
    #[arg(long, value_name = "NAME", requires = "guard_secret")]
    pub(crate) guard_param: Option<String>,
    /// The `user:password` of a basic-auth guard (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) basic_auth: Option<String>,
}
