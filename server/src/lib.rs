//! The micro-gen reference server: an in-memory gRPC server for Micro v3's core services.
//!
//! Every SDK that micro-gen generates is tested against this server (through
//! `micro-gen serve`, which runs it) with the data-driven cases in `tests/conformance/`. It
//! speaks the wire protocol of a Go Micro service called directly over gRPC (spec §B3), and
//! implements, in memory:
//!
//! - `store.Store` — `Read`, `Write`, `Delete`, `List` (server-streaming, one message),
//!   `Databases`, `Tables`; records isolated by database and table (see [`store` semantics]);
//! - `config.Config` — `Get`, `Set`, `Delete`, `Read` over a JSON tree per namespace, with
//!   secrets (see [`config` semantics]);
//! - `debug.Debug` — `Health` (`{status: "ok"}`), `Stats`, and empty `Log`/`Trace`.
//!
//! Every other service of the 13 core protos answers `UNIMPLEMENTED`. The generated messages,
//! clients and servers of all 13 protos are in [`pb`].
//!
//! # Errors on the wire
//!
//! Handlers fail with a [`MicroError`] `{id, code, detail, status}` (e.g. `store.Store.Read`,
//! 404, `not found`, `Not Found`), sent as the gRPC code mapped from `code` (404 →
//! `NOT_FOUND`, 400 → `INVALID_ARGUMENT`, …), `grpc-message` = the error's JSON text and
//! `grpc-status-details-bin` = a `google.rpc.Status` carrying the `errors.Error`; see
//! [`error`].
//!
//! # Metadata
//!
//! Every call may carry `authorization` (`Bearer <token>`; any token is accepted for now, any
//! other scheme is rejected with 401 `micro-server` / `invalid authorization header. expected
//! Bearer schema` → `UNAUTHENTICATED`) and `micro-namespace`. A call's deadline
//! (`grpc-timeout`) is honoured: when it passes the call fails with `DEADLINE_EXCEEDED` and no
//! Micro error. With [`Options::test_hooks`] the server also honours the test-only metadata of
//! `tests/conformance/README.md`: `x-micro-test-delay-ms: <ms>` waits before handling the call,
//! and `x-micro-test-echo` returns the received `authorization`, `micro-namespace` and
//! `user-agent` as response headers `x-micro-echo-authorization`, `x-micro-echo-namespace` and
//! `x-micro-echo-user-agent`.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), micro_server::Error> {
//! use micro_server::{Options, Server};
//!
//! let server = Server::bind(Options {
//!     address: "127.0.0.1:0".parse().unwrap(),
//!     test_hooks: true,
//! })
//! .await?;
//! println!("listening on {}", server.local_addr());
//! server
//!     .serve_with_shutdown(async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! The library never prints; the `micro-server` binary prints `micro-server listening on
//! ADDR` once it accepts connections.
//!
//! [`store` semantics]: crate#store-semantics
//! [`config` semantics]: crate#config-semantics
//!
//! # Store semantics
//!
//! Records live in `options.database` / `options.table` (each `micro` when empty). `Read` of a
//! key returns it or fails with 404 `store.Store.Read` / `not found`; with `prefix`/`suffix`
//! the key is a filter, matches come back sorted by key (`order: "desc"` reverses), `offset`
//! skipped, at most `limit` (0 = all), and no match is an empty response. `order` other than
//! empty/`asc`/`desc` is 400. `Write` without a record is 400 `store.Store.Write` / `no record
//! specified`; `expiry` is seconds from now (0 never, negative already expired) and expired
//! records are invisible; a read record's `expiry` is its remaining seconds rounded up.
//! Metadata reads back with type `string` (as Micro). `Delete` of a missing key succeeds.
//! `List` sends one `ListResponse` with all matching keys. `Databases`/`Tables` list those
//! holding at least one record, sorted.
//!
//! # Config semantics
//!
//! One JSON tree per namespace (`micro` when empty), addressed by dot-separated paths (empty
//! = whole tree); values are `Value{data: <compact JSON, keys sorted>, format: "json"}`. `Set`
//! merges at the path (objects merge key by key, other values replace; intermediate objects
//! are created) and rejects invalid JSON with 400 `config.Config.Set`. `Get` of a namespace
//! with nothing, or of a missing path, is 404 `config.Config.Get` / `not found`. A value set
//! with `options.secret` reads as `"[secret]"` unless `Get` also sets `options.secret`.
//! `Delete` of a missing path succeeds. `Read` returns the legacy `Change`/`ChangeSet` with
//! `source: "micro-server"`, the unix-seconds `timestamp` of the last change and the hex
//! SHA-256 `checksum` of `data`.

use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;
use tokio_stream::{StreamExt as _, wrappers::TcpListenerStream};

pub mod error;

mod config;
mod debug;
mod middleware;
mod store;

pub use error::MicroError;

/// Generated prost messages and tonic clients/servers for the 13 Micro core protos, one
/// module per proto package (`pb::store`, `pb::config`, …), and their encoded descriptor set
/// (`pb::FILE_DESCRIPTOR_SET`, without source info): the `pb` module of the Rust SDK
/// (`sdks/rust`, crate `micro-client`, with its `server` feature), so server and SDKs come from
/// one descriptor set.
pub use micro_client::pb;

/// How to run the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Address to listen on; port 0 picks a free port (see [`Server::local_addr`]).
    /// Default `127.0.0.1:8081`, the address of Micro's gRPC proxy.
    pub address: SocketAddr,
    /// Honour the test-only metadata `x-micro-test-delay-ms` and `x-micro-test-echo`.
    /// Default `false`.
    pub test_hooks: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { address: SocketAddr::from(([127, 0, 0, 1], 8081)), test_hooks: false }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound (address in use, no permission, …).
    #[error("cannot listen on {address}")]
    Bind {
        /// The address from [`Options::address`].
        address: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The bound socket's address could not be read.
    #[error("cannot read the listening address")]
    LocalAddr(#[source] std::io::Error),
    /// The gRPC server failed while serving.
    #[error("the gRPC server failed")]
    Serve(#[source] tonic::transport::Error),
}

/// A bound, not yet serving, reference server.
///
/// [`Server::bind`] opens the listening socket, so the address (and a port chosen for port 0)
/// is known before serving; [`Server::serve_with_shutdown`] then serves until a signal. All
/// state is in memory and starts empty.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    test_hooks: bool,
}

impl Server {
    /// Binds a TCP listener on `options.address`.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] when the address cannot be bound, [`Error::LocalAddr`] when the bound
    /// address cannot be read.
    pub async fn bind(options: Options) -> Result<Server, Error> {
        let listener = TcpListener::bind(options.address)
            .await
            .map_err(|source| Error::Bind { address: options.address, source })?;
        let local_addr = listener.local_addr().map_err(Error::LocalAddr)?;
        Ok(Server { listener, local_addr, test_hooks: options.test_hooks })
    }

    /// The address the server listens on, with the actual port when port 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves gRPC (HTTP/2 without TLS) on the bound socket until `signal` completes, then
    /// stops accepting calls and waits for the calls in flight to finish.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] when the gRPC server fails.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let stats = Arc::new(middleware::Stats::new());
        let incoming = TcpListenerStream::new(self.listener).map(|stream| {
            stream.inspect(|tcp| {
                // Small request/response messages: don't let Nagle's algorithm delay them.
                let _ = tcp.set_nodelay(true);
            })
        });
        tonic::transport::Server::builder()
            .layer(middleware::MicroLayer::new(self.test_hooks, stats.clone()))
            .add_service(pb::store::store_server::StoreServer::new(store::StoreService::default()))
            .add_service(pb::config::config_server::ConfigServer::new(config::ConfigService::default()))
            .add_service(pb::debug::debug_server::DebugServer::new(debug::DebugService::new(stats)))
            .serve_with_incoming_shutdown(incoming, signal)
            .await
            .map_err(Error::Serve)
    }
}
