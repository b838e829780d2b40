//! `payments sandbox`: the emulator, standalone.

use std::net::SocketAddr;
use std::process::ExitCode;

use payments_sandbox::Sandbox;
use serde_json::Value;

use crate::args::SandboxArgs;

pub(crate) async fn run(args: SandboxArgs) -> Result<ExitCode, String> {
    let sandbox = Sandbox::builder()
        .listen(SocketAddr::new(args.host, args.port))
        .time_divisor(args.time_divisor)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let info = sandbox.info();
    if args.json {
        println!("{info}");
    } else {
        print!("{}", describe(&info));
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    eprintln!("stopping");
    sandbox.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The sandbox description as indented text: every provider's URLs, credentials and keys.
pub(crate) fn describe(info: &Value) -> String {
    let mut out = String::new();
    let base = info.get("base_url").and_then(Value::as_str).unwrap_or("?");
    out.push_str(&format!("payments sandbox listening on {base}\n"));
    out.push_str("control: GET {base}/_sandbox, POST {base}/_sandbox/{provider}/payments/{id}/pay|fail|cancel|expire|require-otp, GET {base}/_sandbox/deliveries\n".replace("{base}", base).as_str());
    if let Some(otp) = info.get("otp").and_then(Value::as_str) {
        out.push_str(&format!("one-time code accepted: {otp}\n"));
    }
    if let Some(Value::Object(providers)) = info.get("providers") {
        for (name, details) in providers {
            out.push_str(&format!("\n[{name}]\n"));
            write_value(&mut out, details, 1);
        }
    }
    out.push_str("\nPress Ctrl-C to stop.\n");
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::Object(_) => {
                        out.push_str(&format!("{indent}{key}:\n"));
                        write_value(out, v, depth + 1);
                    }
                    Value::String(s) if s.contains('\n') => {
                        out.push_str(&format!("{indent}{key}: |\n"));
                        for line in s.lines() {
                            out.push_str(&format!("{indent}  {line}\n"));
                        }
                    }
                    Value::String(s) => out.push_str(&format!("{indent}{key}: {s}\n")),
                    other => out.push_str(&format!("{indent}{key}: {other}\n")),
                }
            }
        }
        other => out.push_str(&format!("{indent}{other}\n")),
    }
}
