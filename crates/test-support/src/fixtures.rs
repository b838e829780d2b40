//! Fixture files: `tests/fixtures/` of the crate whose tests read them.

use std::path::PathBuf;

use serde_json::Value;
use wiremock::{MockBuilder, MockServer, ResponseTemplate};

/// The fixture directory of one crate: `{manifest_dir}/tests/fixtures`.
///
/// Made with [`fixtures!`](crate::fixtures) (the calling crate's directory) or
/// [`Fixtures::new`] with an explicit `env!("CARGO_MANIFEST_DIR")` or another crate's directory.
/// Every reader panics with the file's path when it cannot read or parse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixtures {
    manifest_dir: &'static str,
}

/// The calling crate's [`Fixtures`]: `Fixtures::new(env!("CARGO_MANIFEST_DIR"))`, expanded where
/// it is written, so the directory is that of the crate whose test uses it.
#[macro_export]
macro_rules! fixtures {
    () => {
        $crate::Fixtures::new(env!("CARGO_MANIFEST_DIR"))
    };
}

impl Fixtures {
    /// The fixtures under `{manifest_dir}/tests/fixtures`; pass `env!("CARGO_MANIFEST_DIR")`.
    pub const fn new(manifest_dir: &'static str) -> Self {
        Fixtures { manifest_dir }
    }

    /// The path of fixture `name` (which need not exist).
    pub fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(self.manifest_dir)
            .join("tests")
            .join("fixtures")
            .join(name)
    }

    /// The fixture's exact bytes.
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        let path = self.path(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// The fixture's exact text (numbers such as `100.10` stay as written).
    pub fn text(&self, name: &str) -> String {
        let path = self.path(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// The fixture parsed as JSON.
    pub fn json(&self, name: &str) -> Value {
        serde_json::from_str(&self.text(name))
            .unwrap_or_else(|e| panic!("parsing {} as JSON: {e}", self.path(name).display()))
    }

    /// A wiremock answer: `status` with fixture `name` re-serialised as JSON (`content-type:
    /// application/json`).
    pub fn json_answer(&self, status: u16, name: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(self.json(name))
    }

    /// Mounts `mock` answering 200 with fixture `name` as JSON, expected exactly `times` times
    /// (checked when `server` drops).
    pub async fn mount(&self, server: &MockServer, mock: MockBuilder, name: &str, times: u64) {
        let answer = self.json_answer(200, name);
        mock.respond_with(answer).expect(times).mount(server).await;
    }

    /// A wiremock answer: `status` with fixture `name` byte for byte (numbers as written).
    pub fn text_answer(&self, status: u16, name: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_string(self.text(name))
    }
}

#[cfg(test)]
mod tests {
    use super::Fixtures;

    #[test]
    #[should_panic(expected = "tests/fixtures/missing.json")]
    fn a_missing_fixture_names_its_path() {
        let _ = Fixtures::new(env!("CARGO_MANIFEST_DIR")).text("missing.json");
    }
}
