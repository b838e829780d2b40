//! Replays the saved fuzz inputs on stable Rust: every file of `fuzz/corpus/<target>/` (the
//! minimised corpus libFuzzer built) and of `fuzz/regressions/<target>/` (each input that once
//! crashed a target) runs through the target's function, which must not panic. Part of
//! `cargo test --workspace`, hence of `.ci/run`; no nightly, no libFuzzer.
//!
//! A target without a corpus fails: the corpus is what makes the replay mean something.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

use payments_fuzz_targets::TARGETS;

/// The cargo-fuzz project at the repository's root.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted (none when it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every saved input of `name` through its function; returns how many ran.
fn replay(name: &str) -> usize {
    let Some((_, target)) = TARGETS.iter().find(|(known, _)| *known == name) else {
        panic!("no fuzz target {name}");
    };
    let corpus = files(&fuzz_dir().join("corpus").join(name));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{name}/ is missing or empty (seed it with fuzz/seed.sh, see docs/fuzzing.md)"
    );
    let regressions = files(&fuzz_dir().join("regressions").join(name));
    for path in corpus.iter().chain(&regressions) {
        let data =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        eprintln!("{name}: {}", path.display());
        target(&data);
    }
    corpus.len() + regressions.len()
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                assert!(replay(stringify!($name)) > 0);
            }
        )*

        /// Every target has a test above, a `fuzz/fuzz_targets/<name>.rs` that calls its
        /// function, and every file there is a target.
        #[test]
        fn every_target_is_replayed_and_fuzzed() {
            let tested = [$(stringify!($name)),*];
            for (name, _) in TARGETS {
                assert!(tested.contains(name), "no replay test for {name}");
                let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
                let text = std::fs::read_to_string(&source)
                    .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
                assert!(
                    text.contains(&format!("payments_fuzz_targets::{name}(data)")),
                    "{} does not call payments_fuzz_targets::{name}",
                    source.display()
                );
            }
            for source in files(&fuzz_dir().join("fuzz_targets")) {
                let stem = source.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                assert!(
                    TARGETS.iter().any(|(name, _)| *name == stem),
                    "{} is not in TARGETS",
                    source.display()
                );
            }
        }
    };
}

replay_tests!(
    core_parsers,
    payconiq,
    fintecture,
    hub2,
    banq,
    paylican,
    sandbox_control,
);
