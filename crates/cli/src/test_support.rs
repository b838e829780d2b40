//! Helpers for the unit tests of the provider modules.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

/// A temporary directory of files (keys, secrets, bodies), removed on drop.
pub(crate) struct Files(PathBuf);

impl Files {
    /// A fresh directory whose name says which test made it.
    pub(crate) fn new(label: &str) -> Files {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "payments-cli-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Files(dir)
    }

    /// Writes `bytes` to `name` in the directory; returns the path.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
