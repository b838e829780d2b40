//! `payments demo`: every provider's checkout flow, end to end.

use std::process::ExitCode;
use std::time::Duration;

use payments_sandbox::{FaultRule, Provider, RunningSandbox, Sandbox};

use crate::args::DemoArgs;
use crate::flow::{Flow, render_table};
use crate::providers;
use crate::receiver::Receiver;

/// The steps every provider's flow has, in order (a provider may add its own before them).
pub(crate) const STEPS: [&str; 5] = [
    "create",
    "payer pays",
    "webhook verified",
    "status fetched",
    "reconciled",
];

/// What a provider's flow runs against.
pub(crate) struct DemoContext<'a> {
    /// The embedded sandbox (always running; a provider in real mode ignores it).
    pub(crate) sandbox: &'a RunningSandbox,
    /// The local webhook receiver the sandbox delivers to.
    pub(crate) receiver: &'a Receiver,
    /// How long to wait for a webhook or a final status.
    pub(crate) timeout: Duration,
    /// `--offline`: ignore credentials in the environment.
    pub(crate) offline: bool,
    /// A reference unique to this run, for the order (`demo-<unix seconds>`).
    pub(crate) run_id: String,
}

pub(crate) async fn run(args: DemoArgs) -> Result<ExitCode, String> {
    let selected = if args.providers.is_empty() {
        Provider::ALL.to_vec()
    } else {
        args.providers
            .iter()
            .map(|name| name.parse::<Provider>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?
    };
    let faults = args
        .faults
        .iter()
        .map(|text| {
            serde_json::from_str::<FaultRule>(text).map_err(|e| format!("--fault `{text}`: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sandbox = Sandbox::builder()
        .time_divisor(100)
        .start()
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    for rule in faults {
        sandbox.add_fault(rule);
    }
    let receiver = Receiver::start().await?;
    let run_id = format!("demo-{}", time::OffsetDateTime::now_utc().unix_timestamp());
    let ctx = DemoContext {
        sandbox: &sandbox,
        receiver: &receiver,
        timeout: Duration::from_secs(args.timeout),
        offline: args.offline,
        run_id,
    };
    let progress = !args.json;
    let mut flows = Vec::new();
    for provider in selected {
        let mut flow = Flow::new(provider.as_str(), progress);
        flow.set_target(format!("sandbox ({})", sandbox.provider_url(provider)));
        let outcome = providers::demo(provider, &ctx, &mut flow).await;
        if outcome.is_err() {
            for step in STEPS {
                if !flow.steps.iter().any(|s| s.name == step) {
                    flow.skip(step, "an earlier step failed");
                }
            }
        }
        flows.push(flow);
    }
    sandbox.shutdown().await;
    let passed = flows.iter().all(Flow::passed);
    if args.json {
        let report = serde_json::json!({
            "passed": passed,
            "providers": flows,
        });
        println!("{report}");
    } else {
        print!("{}", render_table(&flows));
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
