//! Errors starting the sandbox.

/// The sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A key could not be generated or loaded.
    #[error("sandbox keys: {0}")]
    Keys(String),
    /// The webhook HTTP client could not be built.
    #[error("webhook client: {0}")]
    Client(String),
}
