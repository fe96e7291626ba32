//! The micro-gen reference server: a single-process gRPC server for every Micro v3 core service.
//!
//! Every SDK that micro-gen generates is tested against this server (through
//! `micro-gen serve`, which runs it) with the data-driven cases in `tests/conformance/`, and app
//! developers use it as a local platform. It speaks the wire protocol of a Go Micro service
//! called directly over gRPC (spec §B3) and implements every rpc of the 13 core protos with
//! Micro v3.19's behaviour; each module's documentation (`server/src/<service>.rs`) lists where
//! and why it differs:
//!
//! | proto services | what they keep |
//! |---|---|
//! | `auth.Auth`, `auth.Accounts`, `auth.Rules` | accounts (secrets hashed with argon2id), signed JWT access tokens with expiry, refresh tokens, rules (`auth.rs`) |
//! | `store.Store`, `store.BlobStore` | records per database/table with expiry, prefix/suffix/limit/offset/order ([`store` semantics]); blobs streamed in chunks (`blob.rs`) |
//! | `config.Config` | a JSON tree per namespace with secrets ([`config` semantics]) |
//! | `registry.Registry` | services per domain with TTL expiry; `Watch` streams create/update/delete (`registry.rs`) |
//! | `broker.Broker` | topics; `Subscribe` fans out to every subscriber, queues split (`broker.rs`) |
//! | `events.Stream`, `events.Store` | persisted events with groups, offsets, acks as far as a server stream allows (`events.rs`) |
//! | `runtime.Runtime`, `runtime.Source`, `runtime.Build` | service records and their log lines; no processes run (`runtime.rs`) |
//! | `api.Api` | the block list (`api.rs`) |
//! | `debug.Debug` | `Health`, `Stats`, and the recent calls as `Log` records and `Trace` spans (`debug.rs`) |
//! | `client.Client` | `Call`/`Stream`/`Publish` routed in process to the named service (`client.rs`) |
//! | `network.Network`, `router.Router`, `router.Table` | the server's own single-node view and route table (`network.rs`, `router.rs`) |
//! | `micro.kitchen.v1.KitchenSink` | nothing: the conformance kitchen-sink service (`tests/protos/kitchen/`, `kitchen.rs`) |
//!
//! Unknown services and methods answer `UNIMPLEMENTED` (no Micro error, as grpc-go), or, with
//! [`Options::echo_unknown`], unknown services echo the last request message back. The
//! generated messages, clients and servers of all 13 protos are in [`pb`].
//!
//! State is in memory unless [`Options::data_dir`] names a directory: then store, blobs,
//! config, auth (accounts, rules, the token signing key) and events are kept in an embedded
//! redb database and a restart loses nothing. Messages over [`Options::max_message_size`] fail
//! with `RESOURCE_EXHAUSTED`. Shutdown is graceful: calls in flight finish, open streams end
//! with `UNAVAILABLE`.
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
//! Every call may carry `authorization` (`Bearer <token>`; any other scheme is rejected with 401
//! `micro-server` / `invalid authorization header. expected Bearer schema` → `UNAUTHENTICATED`)
//! and `micro-namespace`. Tokens come from `auth.Auth/Token` (default account `admin` /
//! `micro`); they are checked, with Micro's rules and namespace isolation, only with
//! [`Options::auth`] (spec B1: invalid or expired token → `UNAUTHENTICATED`, a call the rules
//! forbid → `PERMISSION_DENIED` with an account, `UNAUTHENTICATED` without; an account of
//! namespace A on namespace B's store, config, registry, events … → `PERMISSION_DENIED`, while
//! `micro` admins may access any). A call's deadline
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
//!     ..Options::default()
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

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc};

use tokio::net::TcpListener;
use tokio_stream::{StreamExt as _, wrappers::TcpListenerStream};

pub mod error;

mod api;
mod auth;
mod blob;
mod broker;
mod client;
mod config;
mod debug;
mod echo;
mod events;
mod kitchen;
mod limits;
mod middleware;
mod network;
mod persist;
mod registry;
mod router;
mod runtime;
mod shared;
mod store;

pub use error::MicroError;
pub use persist::PersistError;

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
    /// Honour the test-only metadata `x-micro-test-*` (tests/conformance/README.md).
    /// Default `false`.
    pub test_hooks: bool,
    /// Enforce auth (spec B1): verify bearer tokens, evaluate rules, keep namespaces apart.
    /// Default `false`: every call is allowed, as with Micro's noop auth.
    pub auth: bool,
    /// Keep store, blobs, config, auth and events in an embedded database (redb) in this
    /// directory, so a restart loses nothing. Default `None`: memory only.
    pub data_dir: Option<PathBuf>,
    /// Largest message the server decodes or encodes, in bytes; a larger one fails the call with
    /// `RESOURCE_EXHAUSTED` (gRPC spec). Default 4 MiB (4,194,304), gRPC's usual default.
    pub max_message_size: usize,
    /// Answer calls to services the server does not implement with their last request message
    /// (see the `echo` module: unary and server-streaming calls get their request back,
    /// client-streaming and bidi calls their last request, once the client half-closes), instead
    /// of `UNIMPLEMENTED`. For exercising SDKs generated from any proto set. Default `false`.
    pub echo_unknown: bool,
}

/// [`Options::max_message_size`]'s default: 4 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

impl Default for Options {
    fn default() -> Self {
        Self {
            address: SocketAddr::from(([127, 0, 0, 1], 8081)),
            test_hooks: false,
            auth: false,
            data_dir: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            echo_unknown: false,
        }
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
    /// The `--data` directory could not be opened.
    #[error(transparent)]
    Data(#[from] PersistError),
}

/// A bound, not yet serving, reference server.
///
/// [`Server::bind`] opens the listening socket, so the address (and a port chosen for port 0)
/// is known before serving; [`Server::serve_with_shutdown`] then serves until a signal. State
/// is in memory and starts empty, unless [`Options::data_dir`] names a directory whose database
/// holds the state of an earlier run.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    options: Options,
    persist: persist::Persist,
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
        let persist = match &options.data_dir {
            Some(dir) => persist::Persist::open(dir)?,
            None => persist::Persist::memory(),
        };
        Ok(Server { listener, local_addr, options, persist })
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
        let shared = shared::Shared {
            test_hooks: self.options.test_hooks,
            auth: self.options.auth,
            persist: self.persist,
            shutdown: tokio_util::sync::CancellationToken::new(),
            max_message_size: self.options.max_message_size,
            local_addr: self.local_addr,
        };
        let stats = Arc::new(middleware::Stats::new());
        let auth = auth::AuthState::new(&shared);
        let incoming = TcpListenerStream::new(self.listener).map(|stream| {
            stream.inspect(|tcp| {
                // Small request/response messages: don't let Nagle's algorithm delay them.
                let _ = tcp.set_nodelay(true);
            })
        });
        // Graceful shutdown: first end every open stream with UNAVAILABLE (they would otherwise
        // keep their connections, and the server, alive forever), then let tonic stop accepting
        // and wait for the calls in flight.
        let shutdown = shared.shutdown.clone();
        let signal = async move {
            signal.await;
            shutdown.cancel();
        };
        let max = shared.max_message_size;
        macro_rules! limited {
            ($server:expr) => {
                $server.max_decoding_message_size(max).max_encoding_message_size(max)
            };
        }
        let recorder = Arc::new(debug::Recorder::new());
        let routes = router::RouteTable::new(&shared);
        let events = events::EventsService::new(&shared);
        let runtime = runtime::RuntimeService::new(&shared);
        let layers = tower::ServiceBuilder::new()
            .layer(debug::RecordLayer::new(recorder.clone()))
            .layer(limits::TooLargeLayer)
            .layer(middleware::MicroLayer::new(self.options.test_hooks, stats.clone(), auth.clone()));
        let mut routes = tonic::service::Routes::new(limited!(pb::auth::auth_server::AuthServer::new(
            auth::AuthService::new(&auth)
        )))
        .add_service(limited!(pb::auth::accounts_server::AccountsServer::new(auth::AccountsService::new(&auth))))
        .add_service(limited!(pb::auth::rules_server::RulesServer::new(auth::RulesService::new(&auth))))
        .add_service(limited!(pb::store::store_server::StoreServer::new(store::StoreService::new(&shared))))
        .add_service(limited!(pb::store::blob_store_server::BlobStoreServer::new(blob::BlobService::new(&shared))))
        .add_service(limited!(pb::api::api_server::ApiServer::new(api::ApiService::new(&shared))))
        .add_service(limited!(pb::client::client_server::ClientServer::new(client::ClientService::new(&shared))))
        .add_service(limited!(pb::network::network_server::NetworkServer::new(network::NetworkService::new(&routes))))
        .add_service(limited!(pb::router::router_server::RouterServer::new(router::RouterService::new(&routes))))
        .add_service(limited!(pb::router::table_server::TableServer::new(router::TableService::new(&routes))))
        .add_service(limited!(pb::config::config_server::ConfigServer::new(config::ConfigService::new(&shared))))
        .add_service(limited!(pb::debug::debug_server::DebugServer::new(debug::DebugService::new(stats, recorder))))
        .add_service(limited!(pb::registry::registry_server::RegistryServer::new(registry::RegistryService::new(
            &shared
        ))))
        .add_service(limited!(pb::broker::broker_server::BrokerServer::new(broker::BrokerService::new(&shared))))
        .add_service(limited!(pb::events::stream_server::StreamServer::new(events.clone())))
        .add_service(limited!(pb::events::store_server::StoreServer::new(events)))
        .add_service(limited!(pb::runtime::runtime_server::RuntimeServer::new(runtime.clone())))
        .add_service(limited!(pb::runtime::source_server::SourceServer::new(runtime.clone())))
        .add_service(limited!(pb::runtime::build_server::BuildServer::new(runtime)))
        // The kitchen-sink conformance service (tests/protos/kitchen), with its own size limits.
        .add_service(kitchen::service(&shared));
        if self.options.echo_unknown {
            // Unknown services: tonic's router falls back to UNIMPLEMENTED; echo instead.
            let router = std::mem::take(routes.axum_router_mut());
            *routes.axum_router_mut() =
                router.fallback_service(tower::service_fn(move |request| echo::handle(request, max)));
        }
        tonic::transport::Server::builder()
            .layer(layers.into_inner())
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, signal)
            .await
            .map_err(Error::Serve)
    }
}
