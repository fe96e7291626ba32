//! State every service of one server shares: its options, persistence and shutdown signal.

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

use crate::persist::Persist;

/// Micro's default namespace (`util/namespace.DefaultNamespace`, spec B1): used when a request
/// names none, and the issuer of the default `admin` account.
pub(crate) const DEFAULT_NAMESPACE: &str = "micro";

/// `namespace`, or [`DEFAULT_NAMESPACE`] when empty.
pub(crate) fn namespace_or_default(namespace: &str) -> &str {
    if namespace.is_empty() { DEFAULT_NAMESPACE } else { namespace }
}

/// The boxed future the server's tower layers return.
pub(crate) type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

/// What every service of one running server shares. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    /// `--test-hooks`: honour the `x-micro-test-*` metadata (tests/conformance/README.md).
    pub(crate) test_hooks: bool,
    /// `--auth`: tokens are verified and rules and namespaces enforced (spec B1).
    pub(crate) auth: bool,
    /// Write-through persistence (a no-op without `--data`).
    pub(crate) persist: Persist,
    /// Cancelled when graceful shutdown begins: open streams end with `UNAVAILABLE`.
    pub(crate) shutdown: CancellationToken,
    /// Largest message, in bytes, the server decodes or encodes (`--max-message-size`).
    pub(crate) max_message_size: usize,
    /// The address the server is bound to (for in-process routing through `client.Client`).
    pub(crate) local_addr: SocketAddr,
}

impl Shared {
    /// The status with which open streams end when the server shuts down (gRPC: `UNAVAILABLE`
    /// tells the client to retry elsewhere or later).
    pub(crate) fn shutting_down() -> tonic::Status {
        crate::error::MicroError::service_unavailable("micro.server", "server shutting down").into()
    }
}

/// The current time in unix seconds (0 if the clock is before 1970).
pub(crate) fn unix_now() -> u64 {
    unix_now_ms() / 1000
}

/// The current time in unix milliseconds (0 if the clock is before 1970).
pub(crate) fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
