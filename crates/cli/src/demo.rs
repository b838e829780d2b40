//! `payments demo`: every provider's checkout over a durable ledger, end to end, or what the
//! ledger guarantees when things go wrong (`--scenario`).
//!
//! The demo starts the embedded sandbox (retries and magic-amount delays 1000 times faster), a
//! ledger (`--db`, by default `payments-demo.db` in the current directory) and a webhook
//! receiver in front of it, then runs one flow per provider and scenario: the same flow for
//! every provider, over its hooks (`payments_sandbox::hooks`), or over a real provider's
//! (`crate::providers`) when its credentials are in the environment (checkout only: the
//! scenarios need the sandbox's faults and payer).

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use payments_core::http::HttpConfig;
use payments_core::webhook::Authenticity;
use payments_ledger::{
    Change, ChangeHandler, CheckPolicy, HandlerError, Ledger, LedgerOptions, NotifyPolicy,
};
use payments_sandbox::{FaultRule, Provider, RunningSandbox, Sandbox};

use crate::args::{DemoArgs, Scenario};
use crate::flow::{Flow, Progress, render_table};
use crate::providers::{self, Target};
use crate::receiver::Receiver;
use crate::{checkout, scenarios};

/// What every flow of one run shares.
pub(crate) struct Run<'a> {
    /// The embedded sandbox (always running; a real provider's hooks ignore it).
    pub(crate) sandbox: &'a RunningSandbox,
    /// The webhook endpoint in front of the ledger.
    pub(crate) receiver: &'a Receiver,
    pub(crate) ledger: &'a Ledger,
    /// The merchant's change handler: records what it is told.
    pub(crate) handler: &'a Recorder,
    /// How long to wait for a webhook, a status or a notification.
    pub(crate) timeout: Duration,
    /// Unique to this run, for the orders' references.
    pub(crate) run_id: String,
}

impl Run<'_> {
    /// HTTP settings for the clients: a request never waits longer than the step may.
    pub(crate) fn http(&self) -> HttpConfig {
        HttpConfig::default().request_timeout(self.timeout.min(Duration::from_secs(15)))
    }
}

/// The demo's change handler: a shop would ship the order; this one keeps what it was told.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    changes: Mutex<Vec<Change>>,
}

impl Recorder {
    /// The changes of `provider`'s payment `reference`, in the order they were handled.
    pub(crate) fn changes(&self, provider: Provider, reference: &str) -> Vec<Change> {
        self.changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|c| c.payment.provider == provider.as_str() && c.payment.reference == reference)
            .cloned()
            .collect()
    }
}

#[payments_core::async_trait]
impl ChangeHandler for Recorder {
    async fn handle(&self, change: &Change) -> Result<(), HandlerError> {
        self.changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(change.clone());
        Ok(())
    }
}

/// The providers to run, in order, each once.
fn selected(names: &[String]) -> Result<Vec<Provider>, String> {
    if names.is_empty() {
        return Ok(Provider::ALL.to_vec());
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for name in names {
        let provider: Provider = name
            .parse()
            .map_err(|e: payments_sandbox::UnknownProvider| e.to_string())?;
        if seen.insert(provider) {
            out.push(provider);
        }
    }
    Ok(out)
}

/// The `--fault` rules, each on a route of the sandbox.
fn faults(texts: &[String]) -> Result<Vec<FaultRule>, String> {
    texts
        .iter()
        .map(|text| {
            let rule = serde_json::from_str::<FaultRule>(text)
                .map_err(|e| format!("--fault `{text}`: {e}"))?;
            if Provider::from_path(&rule.path).is_none() {
                let prefixes: Vec<String> = Provider::ALL.iter().map(|p| format!("/{p}")).collect();
                return Err(format!(
                    "--fault path `{}` matches no sandbox route: provider routes start with {}",
                    rule.path,
                    prefixes.join(", ")
                ));
            }
            Ok(rule)
        })
        .collect()
}

/// `sqlite://payments-demo.db`, or a URL without its password.
pub(crate) fn shown_db(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user_info, host)) if !user_info.contains('/') => {
                let user = user_info.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{host}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The ledger of a demo run: every provider checked eagerly, notifications retried quickly,
/// `trust` where a real provider's webhooks apply at another authenticity than the default.
fn ledger_options(trust: impl IntoIterator<Item = (Provider, Authenticity)>) -> LedgerOptions {
    let mut options = LedgerOptions::default()
        .notify(NotifyPolicy::default().backoff(Duration::from_millis(50), Duration::from_secs(1)));
    for provider in Provider::ALL {
        let name = provider.as_str();
        options = options.policy(
            name,
            CheckPolicy::for_provider(name).eager(Duration::from_millis(200)),
        );
    }
    for (provider, least) in trust {
        options = options.trust(provider.as_str(), least);
    }
    options
}

/// A reference prefix unique to this run: the time in base 36 and 4 random hex digits (short:
/// Payconiq takes 35 characters).
fn run_id() -> String {
    let mut seconds = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let mut base36 = Vec::new();
    while seconds > 0 {
        let digit = u32::try_from(seconds % 36).unwrap_or(0);
        base36.push(char::from_digit(digit, 36).unwrap_or('0'));
        seconds /= 36;
    }
    let stamp: String = base36.into_iter().rev().collect();
    let random = providers::random_secret();
    format!("demo-{stamp}-{}", random.get(..4).unwrap_or("0000"))
}

pub(crate) async fn run(args: DemoArgs) -> Result<ExitCode, String> {
    let selected = selected(&args.providers)?;
    let faults = faults(&args.faults)?;
    let progress = Progress::for_stderr(args.json);
    let scenarios: Vec<Scenario> = match args.scenario {
        Scenario::All => vec![
            Scenario::Duplicate,
            Scenario::OutOfOrder,
            Scenario::LostWebhook,
            Scenario::Create500,
        ],
        one => vec![one],
    };
    // Real providers only for the checkout, and only when their credentials are set.
    let mut real: Vec<(Provider, Result<Target, String>)> = Vec::new();
    if !args.offline && args.scenario == Scenario::Checkout {
        for &provider in &selected {
            if let Some(target) = providers::real_target(provider) {
                real.push((provider, target));
            }
        }
    }
    let options = ledger_options(real.iter().filter_map(|(_, target)| {
        let target = target.as_ref().ok()?;
        Some((target.provider, target.trust?))
    }));
    let ledger = Ledger::open_with(&args.db, options)
        .await
        .map_err(|e| format!("the ledger {}: {e}", shown_db(&args.db)))?;
    let sandbox = Sandbox::builder()
        .time_divisor(1000)
        .start()
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    for rule in faults {
        sandbox.add_fault(rule);
    }
    let receiver = Receiver::start(ledger.clone()).await?;
    let handler = Recorder::default();
    let run = Run {
        sandbox: &sandbox,
        receiver: &receiver,
        ledger: &ledger,
        handler: &handler,
        timeout: Duration::from_secs(args.timeout),
        run_id: run_id(),
    };
    let mut real: std::collections::HashMap<Provider, Result<Target, String>> =
        real.into_iter().collect();
    let mut flows = Vec::new();
    for scenario in scenarios {
        for &provider in &selected {
            let mut flow = Flow::new(provider.as_str(), scenario.name(), progress);
            let target = match real.remove(&provider) {
                Some(target) => target,
                None => Ok(providers::sandbox_target(provider, &sandbox, &receiver)),
            };
            let target = match target {
                Ok(target) => target,
                Err(cause) => {
                    flow.set_target(format!("{provider} (real; configuration incomplete)"));
                    let _ = flow
                        .step::<(), _>("connect", async move { Err(cause) })
                        .await;
                    flows.push(flow);
                    continue;
                }
            };
            flow.set_target(target.description.clone());
            let _ = match scenario {
                Scenario::Checkout | Scenario::All => {
                    checkout::checkout(&run, &target, &mut flow).await
                }
                Scenario::Duplicate => scenarios::duplicate(&run, &target, &mut flow).await,
                Scenario::OutOfOrder => scenarios::out_of_order(&run, &target, &mut flow).await,
                Scenario::LostWebhook => scenarios::lost_webhook(&run, &target, &mut flow).await,
                Scenario::Create500 => scenarios::create_500(&run, &target, &mut flow).await,
            };
            flows.push(flow);
        }
    }
    drop(receiver);
    sandbox.shutdown().await;
    ledger.close().await;
    let passed = flows.iter().all(Flow::passed);
    if args.json {
        let report = serde_json::json!({
            "passed": passed,
            "ledger": shown_db(&args.db),
            "flows": flows,
        });
        println!("{report}");
    } else {
        print!("{}", render_table(&flows));
        println!(
            "ledger: {} (read it with `payments ledger list`)",
            shown_db(&args.db)
        );
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_named_twice_runs_once_and_an_unknown_one_is_refused() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            selected(&names(&["hub2", "HUB2", "banq"])),
            Ok(vec![Provider::Hub2, Provider::Banq])
        );
        assert!(selected(&names(&["stripe"])).is_err());
        assert_eq!(selected(&[]).map(|v| v.len()), Ok(5));
    }

    #[test]
    fn a_fault_must_name_a_providers_route() {
        let ok = r#"{"path":"/hub2/payment-intents","fault":{"kind":"drop"}}"#;
        assert!(faults(&[ok.to_owned()]).is_ok());
        let wrong = r#"{"path":"/hub3/payment-intents","fault":{"kind":"drop"}}"#;
        let err = faults(&[wrong.to_owned()]).err().unwrap_or_default();
        assert!(err.contains("/hub3/payment-intents"), "{err}");
        assert!(
            err.contains("/payconiq, /fintecture, /hub2, /banq, /paylican"),
            "{err}"
        );
    }

    #[test]
    fn a_database_password_is_never_shown() {
        assert_eq!(
            shown_db("postgres://app:s3cret@db.example:5432/payments"),
            "postgres://app:***@db.example:5432/payments"
        );
        assert_eq!(
            shown_db("sqlite://payments-demo.db"),
            "sqlite://payments-demo.db"
        );
    }

    #[test]
    fn run_ids_are_short_and_distinct() {
        let a = run_id();
        assert!(a.len() <= 16, "{a}");
        assert_ne!(a, run_id());
    }
}
