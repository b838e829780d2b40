//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Accept payments with Payconiq, Fintecture, HUB2, Banq and Paylican: run the whole flow
/// locally, run the provider sandbox, verify captured webhooks.
#[derive(Debug, Parser)]
#[command(name = "payments", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run create → payer pays → webhook verified → status fetched → reconciled, per provider,
    /// against the embedded sandbox (or a provider's real sandbox when its credentials are in
    /// the environment).
    Demo(DemoArgs),
    /// Run the provider sandbox standalone and print how to configure clients against it.
    Sandbox(SandboxArgs),
    /// Webhook tools.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Run only this provider (payconiq, fintecture, hub2, banq, paylican); repeatable.
    #[arg(long = "provider", value_name = "NAME")]
    pub(crate) providers: Vec<String>,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Seconds to wait for each webhook and final status.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Ignore provider credentials in the environment: always use the embedded sandbox.
    #[arg(long)]
    pub(crate) offline: bool,
    /// Inject a fault into the embedded sandbox, as the JSON of `POST /_sandbox/faults`, e.g.
    /// `{"method":"POST","path":"/hub2/payment-intents","fault":{"kind":"status","status":500},"times":1,"phase":"after"}`;
    /// repeatable. Shows how the clients handle it.
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

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Verify a captured webhook offline: print the verified event as JSON, or why it was
    /// rejected (exit status 1).
    Verify(Box<VerifyArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The provider that sent it.
    #[arg(long, value_name = "NAME")]
    pub(crate) provider: String,
    /// File holding the raw body, byte for byte (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) body: PathBuf,
    /// A request header as received, `Name: value`; repeatable.
    #[arg(long = "header", value_name = "'Name: value'")]
    pub(crate) headers: Vec<String>,
    /// The URL the webhook was posted to (path and query matter to Payconiq's signature and to
    /// URL-secret guards).
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://merchant.example/webhook"
    )]
    pub(crate) url: String,
    /// HTTP method of the request.
    #[arg(long, default_value = "POST")]
    pub(crate) method: String,
    /// Verify as of this instant (RFC 3339) instead of now: for captures older than the
    /// provider's freshness window.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    /// Payconiq: the JWKS file (the provider's key set) to verify with.
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks: Option<PathBuf>,
    /// Payconiq: the payment profile id expected as the signature's `sub`.
    #[arg(long, value_name = "ID")]
    pub(crate) profile_id: Option<String>,
    /// Fintecture: the application private key (PEM file) the webhook was encrypted for.
    #[arg(long, value_name = "FILE")]
    pub(crate) private_key: Option<PathBuf>,
    /// Fintecture: the application id expected as `keyId`.
    #[arg(long, value_name = "ID")]
    pub(crate) app_id: Option<String>,
    /// HUB2: the webhook secret returned at registration (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) secret: Option<String>,
    /// HUB2: the previous secret, during a rotation (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) previous_secret: Option<String>,
    /// Banq, Paylican: the shared secret of a URL-secret guard (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) guard_secret: Option<String>,
    /// Banq, Paylican: the previous guard secret, also accepted during a rotation (file, or
    /// `env:NAME`); needs --guard-secret.
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) previous_guard_secret: Option<String>,
    /// Banq, Paylican: the query parameter carrying the guard secret.
    #[arg(long, value_name = "NAME")]
    pub(crate) guard_param: Option<String>,
    /// Paylican: the `user:password` of a basic-auth guard (file, or `env:NAME`).
    #[arg(long, value_name = "FILE|env:NAME")]
    pub(crate) basic_auth: Option<String>,
}
