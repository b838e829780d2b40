//! Finding contract test targets in `cargo metadata` output.
//!
//! Everything here is pure: it works on the JSON text, so it can be unit
//! tested without running cargo (running cargo lives in [`crate::runner`]).

use serde_json::Value;

/// Prefix stripped from a package name to obtain its provider name.
const PACKAGE_PREFIX: &str = "payments-";

/// Prefix a `test` target's name must start with to count as a contract test.
const CONTRACT_PREFIX: &str = "contract";

/// A workspace package that has at least one contract test target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Provider {
    /// Provider name: the package name without the `payments-` prefix.
    pub(crate) name: String,
    /// Cargo package name, as passed to `cargo test --package`.
    pub(crate) package: String,
    /// Names of the package's contract test targets, sorted.
    pub(crate) targets: Vec<String>,
    /// Cargo's package id (`path+file:///...#payments-core@0.1.0`), as build messages name it.
    pub(crate) id: String,
    /// The package's directory: where `cargo test` runs its test binaries.
    pub(crate) dir: String,
}

/// The parts of the workspace this tool cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Workspace {
    /// Workspace root directory; contract tests are run from there.
    pub(crate) root: String,
    /// Packages with contract tests, sorted by provider name.
    pub(crate) providers: Vec<Provider>,
}

/// Derives the provider name of a package (`payments-core` -> `core`).
///
/// Package names without the `payments-` prefix are used unchanged.
pub(crate) fn provider_name(package: &str) -> &str {
    package.strip_prefix(PACKAGE_PREFIX).unwrap_or(package)
}

/// Parses `cargo metadata --format-version 1` JSON and collects every
/// workspace package that has contract test targets.
///
/// A contract test is a target of kind `test` whose name starts with
/// `contract`. Packages without such targets are skipped.
pub(crate) fn discover(metadata_json: &str) -> Result<Workspace, String> {
    let metadata: Value = serde_json::from_str(metadata_json)
        .map_err(|err| format!("cannot parse `cargo metadata` output: {err}"))?;
    let root = metadata
        .get("workspace_root")
        .and_then(Value::as_str)
        .ok_or("`cargo metadata` output has no `workspace_root`")?;
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("`cargo metadata` output has no `packages` list")?;
    // With `--no-deps` every listed package is a member already; filtering on
    // `workspace_members` (when present) keeps this correct without it too.
    let members: Option<Vec<&str>> = metadata
        .get("workspace_members")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect());

    let mut providers = Vec::new();
    for package in packages {
        if let Some(members) = &members {
            let id = package.get("id").and_then(Value::as_str);
            if !id.is_some_and(|id| members.contains(&id)) {
                continue;
            }
        }
        if let Some(provider) = package_provider(package)? {
            providers.push(provider);
        }
    }
    providers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Workspace {
        root: root.to_owned(),
        providers,
    })
}

/// Builds the [`Provider`] for one package entry, or `None` if the package
/// has no contract test targets.
fn package_provider(package: &Value) -> Result<Option<Provider>, String> {
    let name = package
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a package in `cargo metadata` output has no `name`")?;
    let targets = package
        .get("targets")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("package `{name}` has no `targets` list"))?;
    let mut contract_targets: Vec<String> = targets
        .iter()
        .filter_map(contract_target_name)
        .map(str::to_owned)
        .collect();
    if contract_targets.is_empty() {
        return Ok(None);
    }
    contract_targets.sort();
    let id = package
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let dir = package
        .get("manifest_path")
        .and_then(Value::as_str)
        .and_then(|path| std::path::Path::new(path).parent())
        .and_then(|dir| dir.to_str())
        .unwrap_or_default();
    Ok(Some(Provider {
        name: provider_name(name).to_owned(),
        package: name.to_owned(),
        targets: contract_targets,
        id: id.to_owned(),
        dir: dir.to_owned(),
    }))
}

/// Reads the JSON messages of `cargo test --no-run --message-format=json`: the executable of
/// each contract test target built, keyed by (package id, target name). Lines that are not
/// `compiler-artifact` messages of a `test` target with an executable are skipped.
pub(crate) fn test_executables(
    messages: &str,
) -> std::collections::HashMap<(String, String), String> {
    executables(messages, contract_target_name)
}

/// The example executables in `cargo build --message-format=json` output, keyed by (package
/// id, example name).
pub(crate) fn example_executables(
    messages: &str,
) -> std::collections::HashMap<(String, String), String> {
    executables(messages, |target| {
        target_of_kind(target, "example").then_some(target.get("name")?.as_str()?)
    })
}

/// The executables of the `compiler-artifact` messages whose target `select` names, keyed by
/// (package id, that name).
fn executables(
    messages: &str,
    select: impl Fn(&Value) -> Option<&str>,
) -> std::collections::HashMap<(String, String), String> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m.get("reason").and_then(Value::as_str) == Some("compiler-artifact"))
        .filter_map(|m| {
            let name = select(m.get("target")?)?;
            Some((
                (m.get("package_id")?.as_str()?.to_owned(), name.to_owned()),
                m.get("executable")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Whether a build message's target is of `kind` (`test`, `example`, ...).
fn target_of_kind(target: &Value, kind: &str) -> bool {
    target
        .get("kind")
        .and_then(Value::as_array)
        .is_some_and(|kinds| kinds.iter().any(|k| k.as_str() == Some(kind)))
}

/// Whether a package id names the package `name`: `path+file:///...#payments-core@0.1.0`,
/// `path+file:///.../ledger#0.1.0` (the directory is the name) or the older
/// `payments-core 0.1.0 (path+file:///...)`.
pub(crate) fn is_package(id: &str, name: &str) -> bool {
    match id.split_once('#') {
        Some((url, fragment)) => match fragment.split_once('@') {
            Some((package, _)) => package == name,
            None => url.rsplit('/').next() == Some(name),
        },
        None => id
            .split_once(' ')
            .is_some_and(|(package, _)| package == name),
    }
}

/// Returns the target's name if it is a contract test target.
fn contract_target_name(target: &Value) -> Option<&str> {
    let name = target.get("name").and_then(Value::as_str)?;
    (target_of_kind(target, "test") && name.starts_with(CONTRACT_PREFIX)).then_some(name)
}

/// Keeps only the provider called `wanted`, or all of them if `None`.
///
/// An unknown name is an error whose message lists the available providers.
pub(crate) fn select(
    providers: Vec<Provider>,
    wanted: Option<&str>,
) -> Result<Vec<Provider>, String> {
    let Some(wanted) = wanted else {
        return Ok(providers);
    };
    let available: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
    let available = if available.is_empty() {
        "none (no workspace package has contract tests yet)".to_owned()
    } else {
        available.join(", ")
    };
    let selected: Vec<Provider> = providers.into_iter().filter(|p| p.name == wanted).collect();
    if selected.is_empty() {
        Err(format!(
            "unknown provider `{wanted}`; available providers: {available}"
        ))
    } else {
        Ok(selected)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A trimmed-down `cargo metadata --no-deps` document with three
    /// packages: two providers and one package without contract tests.
    const METADATA: &str = r#"{
        "packages": [
            {
                "name": "payments-payconiq",
                "id": "path+file:///ws/crates/payconiq#payments-payconiq@0.1.0",
                "manifest_path": "/ws/crates/payconiq/Cargo.toml",
                "targets": [
                    {"name": "payments_payconiq", "kind": ["lib"]},
                    {"name": "contract", "kind": ["test"]}
                ]
            },
            {
                "name": "payments-core",
                "id": "path+file:///ws/crates/core#payments-core@0.1.0",
                "manifest_path": "/ws/crates/core/Cargo.toml",
                "targets": [
                    {"name": "payments_core", "kind": ["lib"]},
                    {"name": "contract_token", "kind": ["test"]},
                    {"name": "contract_http", "kind": ["test"]},
                    {"name": "money", "kind": ["test"]},
                    {"name": "contract_bench", "kind": ["bench"]}
                ]
            },
            {
                "name": "xtask",
                "id": "path+file:///ws/xtask#0.1.0",
                "targets": [{"name": "xtask", "kind": ["bin"]}]
            }
        ],
        "workspace_members": [
            "path+file:///ws/crates/payconiq#payments-payconiq@0.1.0",
            "path+file:///ws/crates/core#payments-core@0.1.0",
            "path+file:///ws/xtask#0.1.0"
        ],
        "workspace_root": "/ws",
        "version": 1
    }"#;

    fn provider(name: &str, package: &str, targets: &[&str]) -> Provider {
        Provider {
            name: name.to_owned(),
            package: package.to_owned(),
            targets: targets.iter().map(|t| (*t).to_owned()).collect(),
            id: format!("path+file:///ws/crates/{name}#{package}@0.1.0"),
            dir: format!("/ws/crates/{name}"),
        }
    }

    #[test]
    fn test_executables_come_from_artifact_messages() {
        let messages = r#"{"reason":"compiler-artifact","package_id":"path+file:///ws/crates/core#payments-core@0.1.0","target":{"name":"contract_http","kind":["test"]},"executable":"/ws/target/debug/deps/contract_http-1"}
{"reason":"compiler-artifact","package_id":"path+file:///ws/crates/core#payments-core@0.1.0","target":{"name":"payments_core","kind":["lib"]},"executable":null}
{"reason":"build-finished","success":true}
not json"#;
        let found = test_executables(messages);
        assert_eq!(found.len(), 1);
        let key = (
            "path+file:///ws/crates/core#payments-core@0.1.0".to_owned(),
            "contract_http".to_owned(),
        );
        assert_eq!(
            found.get(&key).map(String::as_str),
            Some("/ws/target/debug/deps/contract_http-1")
        );
    }

    #[test]
    fn example_executables_come_from_artifact_messages() {
        let messages = r#"{"reason":"compiler-artifact","package_id":"path+file:///ws/crates/bench#payments-bench@0.1.0","target":{"name":"verify","kind":["example"]},"executable":"/ws/target/debug/examples/verify"}
{"reason":"compiler-artifact","package_id":"path+file:///ws/crates/core#payments-core@0.1.0","target":{"name":"contract_http","kind":["test"]},"executable":"/ws/target/debug/deps/contract_http-1"}
{"reason":"compiler-artifact","package_id":"path+file:///ws/crates/bench#payments-bench@0.1.0","target":{"name":"payments_bench","kind":["lib"]},"executable":null}"#;
        let found = example_executables(messages);
        assert_eq!(found.len(), 1);
        let ((id, name), executable) = found.into_iter().next().unwrap();
        assert!(is_package(&id, "payments-bench"));
        assert!(!is_package(&id, "payments"));
        assert_eq!(
            (name.as_str(), executable.as_str()),
            ("verify", "/ws/target/debug/examples/verify")
        );
        assert!(is_package(
            "payments-ledger 0.1.0 (path+file:///ws/crates/ledger)",
            "payments-ledger"
        ));
        assert!(is_package("path+file:///ws/crates/ledger#0.1.0", "ledger"));
    }

    #[test]
    fn provider_name_strips_payments_prefix() {
        assert_eq!(provider_name("payments-core"), "core");
        assert_eq!(provider_name("payments-payconiq"), "payconiq");
        assert_eq!(provider_name("xtask"), "xtask");
        assert_eq!(provider_name("my-payments-thing"), "my-payments-thing");
    }

    #[test]
    fn discover_finds_contract_test_targets_sorted() {
        let workspace = discover(METADATA).unwrap();
        assert_eq!(
            workspace,
            Workspace {
                root: "/ws".to_owned(),
                providers: vec![
                    provider(
                        "core",
                        "payments-core",
                        &["contract_http", "contract_token"]
                    ),
                    provider("payconiq", "payments-payconiq", &["contract"]),
                ],
            }
        );
    }

    #[test]
    fn discover_skips_non_members() {
        // Drop payconiq from `workspace_members` only (it stays in `packages`).
        let json = METADATA.replace(
            r#""workspace_members": [
            "path+file:///ws/crates/payconiq#payments-payconiq@0.1.0","#,
            r#""workspace_members": ["#,
        );
        assert_ne!(json, METADATA);
        let names: Vec<String> = discover(&json)
            .unwrap()
            .providers
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["core"]);
    }

    #[test]
    fn discover_with_no_contract_tests_is_empty() {
        let json = r#"{"packages": [{"name": "xtask", "targets": [{"name": "xtask", "kind": ["bin"]}]}],
                       "workspace_root": "/ws"}"#;
        assert_eq!(discover(json).unwrap().providers, []);
    }

    #[test]
    fn discover_rejects_malformed_json() {
        assert!(discover("not json").is_err());
        assert!(discover(r#"{"workspace_root": "/ws"}"#).is_err());
        assert!(discover(r#"{"packages": []}"#).is_err());
    }

    #[test]
    fn select_filters_by_provider_name() {
        let providers = discover(METADATA).unwrap().providers;
        assert_eq!(select(providers.clone(), None).unwrap(), providers);
        let only = select(providers, Some("payconiq")).unwrap();
        assert_eq!(
            only,
            [provider("payconiq", "payments-payconiq", &["contract"])]
        );
    }

    #[test]
    fn select_unknown_provider_lists_available_ones() {
        let providers = discover(METADATA).unwrap().providers;
        let err = select(providers, Some("nope")).unwrap_err();
        assert_eq!(
            err,
            "unknown provider `nope`; available providers: core, payconiq"
        );
        let err = select(Vec::new(), Some("nope")).unwrap_err();
        assert!(err.contains("none"), "{err}");
    }
}
