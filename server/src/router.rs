//! `router.Router` and `router.Table`: this server's routing table, a single-node view.
//!
//! The table starts with one local route per micro service this server speaks ([`SERVED`]):
//! `{service, address: <the bound address>, network: "micro", router: <this node's id>, link:
//! "local", metric: 1}` (Micro's default network, local link and local metric). `router.Table`
//! edits it and `network.Network` reports it. Routes are identified, as Micro's `Route.Hash`,
//! by `(service, address, gateway, network, router, link)`; `metric` and `metadata` are
//! payload. Listings are sorted by that identity.
//!
//! - `Table.Create` adds a route; one that exists is 409 `router.Table.Create` / `duplicate
//!   route` (Micro: `ErrDuplicateRoute`). `Table.Update` replaces a route or adds it (Micro's
//!   upsert). `Table.Delete` removes one; a missing route is 404 `router.Table.Delete` / `route
//!   not found` (Micro: `ErrRouteNotFound`). A route without `service` is 400 (`route service
//!   required`). Each change is sent to every `Watch`er as an `Event` (Create / Update /
//!   Delete; Micro sends Update only for a route that was new).
//! - `Table.Read` returns the routes of `service`, or all of them when it is empty; no route is
//!   an empty response.
//! - `Router.Lookup` returns the routes of `service` (`*` = every service) that match the
//!   non-empty `options` filters (`address`, `gateway`, `network`, `router`, `link`; `*`
//!   matches anything, as Micro's query); no match is 404 `router.Router.Lookup` / `route not
//!   found` (Micro's router returns `ErrRouteNotFound`; the Go handler of Micro v2 wrapped it in
//!   a 500).
//! - `Router.Watch` streams an `Event` (`id` a fresh UUID, `type`, `timestamp` in unix seconds,
//!   the `route`) for every change made after the call started, until the client cancels; it
//!   ends with `UNAVAILABLE` when the server shuts down.
//! - With `--auth`, `Table.Create`, `Table.Update` and `Table.Delete` require an admin of
//!   namespace `micro` (Micro's `AuthorizeAdmin`); reads need no account.
//! - Test hook (`--test-hooks`): `x-micro-test-await-subscribers: N` on `Table.Create`,
//!   `Table.Update` and `Table.Delete` waits (at most 10 s, or the call's deadline) until at
//!   least N `Watch` calls are open.
//! - The table lives in memory only (Micro v3.19.0 starts no router service at all; its
//!   router keeps the table in memory too).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::{
    auth::authorize_namespace,
    error::MicroError,
    pb::router::{
        CreateResponse, DeleteResponse, Event, EventType, LookupRequest, LookupResponse, ReadRequest, ReadResponse,
        Route, UpdateResponse, WatchRequest, router_server::Router, table_server::Table,
    },
    shared::Shared,
    shared::unix_now,
};

/// The micro service names this server speaks (the first part of its gRPC paths): its local
/// routes.
pub(crate) const SERVED: [&str; 12] = [
    "api", "auth", "broker", "client", "config", "debug", "events", "network", "registry", "router", "runtime", "store",
];

/// The name of the (only) network, Micro's `router.DefaultNetwork`.
pub(crate) const NETWORK: &str = "micro";

/// Metadata key of the test hook that waits for watchers.
const AWAIT_HOOK: &str = "x-micro-test-await-subscribers";

/// Longest wait of the await hook.
const AWAIT_LIMIT: Duration = Duration::from_secs(10);

/// A route's identity, as Micro's `Route.Hash`: service, address, gateway, network, router, link.
type RouteKey = (String, String, String, String, String, String);

fn key_of(route: &Route) -> RouteKey {
    (
        route.service.clone(),
        route.address.clone(),
        route.gateway.clone(),
        route.network.clone(),
        route.router.clone(),
        route.link.clone(),
    )
}

/// Whether `value` passes the filter `want` (empty or `*` = anything).
pub(crate) fn matches(want: &str, value: &str) -> bool {
    want.is_empty() || want == "*" || want == value
}

/// The routing table shared by `router.Router`, `router.Table` and `network.Network`.
#[derive(Debug, Clone)]
pub(crate) struct RouteTable {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// This node's id (a UUID made at start).
    node_id: String,
    /// This node's address, `host:port`.
    address: String,
    routes: std::sync::Mutex<BTreeMap<RouteKey, Route>>,
    events: broadcast::Sender<Event>,
    /// Open `Watch` calls.
    watchers: watch::Sender<usize>,
    shared: Shared,
}

impl RouteTable {
    /// The table of a server: its local routes.
    pub(crate) fn new(shared: &Shared) -> Self {
        let node_id = crate::debug::uuid();
        let address = shared.local_addr.to_string();
        let routes = SERVED
            .iter()
            .map(|service| Route {
                service: (*service).to_owned(),
                address: address.clone(),
                network: NETWORK.to_owned(),
                router: node_id.clone(),
                link: "local".to_owned(),
                metric: 1,
                ..Route::default()
            })
            .map(|route| (key_of(&route), route))
            .collect();
        let (events, _) = broadcast::channel(1024);
        let (watchers, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                node_id,
                address,
                routes: std::sync::Mutex::new(routes),
                events,
                watchers,
                shared: shared.clone(),
            }),
        }
    }

    /// This node's id.
    pub(crate) fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// The server's shared state.
    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// This node's address, `host:port`.
    pub(crate) fn address(&self) -> &str {
        &self.inner.address
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, BTreeMap<RouteKey, Route>> {
        self.inner.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every route for which `keep` holds, sorted.
    pub(crate) fn select(&self, keep: impl Fn(&Route) -> bool) -> Vec<Route> {
        self.routes().values().filter(|route| keep(route)).cloned().collect()
    }

    fn emit(&self, kind: EventType, route: Route) {
        let event = Event {
            id: crate::debug::uuid(),
            r#type: kind as i32,
            timestamp: i64::try_from(unix_now()).unwrap_or(0),
            route: Some(route),
        };
        // No receiver (no watcher) is fine.
        let _ = self.inner.events.send(event);
    }

    /// With test hooks, waits as `x-micro-test-await-subscribers` asks.
    async fn await_watchers<T>(&self, request: &Request<T>) {
        if !self.inner.shared.test_hooks {
            return;
        }
        let want = request
            .metadata()
            .get(AWAIT_HOOK)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        if let Some(want) = want {
            let mut watchers = self.inner.watchers.subscribe();
            let _ = tokio::time::timeout(AWAIT_LIMIT, watchers.wait_for(|open| *open >= want)).await;
        }
    }
}

/// Checks that a route names its service.
fn validate(route: &Route, id: &str) -> Result<(), Status> {
    if route.service.is_empty() {
        return Err(MicroError::bad_request(id, "route service required").into());
    }
    Ok(())
}

/// The `router.Router` service.
#[derive(Debug, Clone)]
pub(crate) struct RouterService {
    table: RouteTable,
}

impl RouterService {
    /// The service over `table`.
    pub(crate) fn new(table: &RouteTable) -> Self {
        Self { table: table.clone() }
    }
}

/// Decrements the watcher count when a `Watch` ends.
struct WatcherGuard(watch::Sender<usize>);

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.0.send_modify(|open| *open = open.saturating_sub(1));
    }
}

#[tonic::async_trait]
impl Router for RouterService {
    type WatchStream = ReceiverStream<Result<Event, Status>>;

    async fn lookup(&self, request: Request<LookupRequest>) -> Result<Response<LookupResponse>, Status> {
        let LookupRequest { service, options } = request.into_inner();
        let options = options.unwrap_or_default();
        let routes = self.table.select(|route| {
            (service == "*" || route.service == service)
                && matches(&options.address, &route.address)
                && matches(&options.gateway, &route.gateway)
                && matches(&options.network, &route.network)
                && matches(&options.router, &route.router)
                && matches(&options.link, &route.link)
        });
        if routes.is_empty() {
            return Err(MicroError::not_found("router.Router.Lookup", "route not found").into());
        }
        Ok(Response::new(LookupResponse { routes }))
    }

    async fn watch(&self, _request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let mut events = self.table.inner.events.subscribe();
        let shutdown = self.table.inner.shared.shutdown.clone();
        self.table.inner.watchers.send_modify(|open| *open += 1);
        let guard = WatcherGuard(self.table.inner.watchers.clone());
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let _guard = guard;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => {
                        let _ = tx.send(Err(Shared::shutting_down())).await;
                        return;
                    }
                    () = tx.closed() => return,
                    event = events.recv() => match event {
                        Ok(event) => {
                            if tx.send(Ok(event)).await.is_err() {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// The `router.Table` service.
#[derive(Debug, Clone)]
pub(crate) struct TableService {
    table: RouteTable,
}

impl TableService {
    /// The service over `table`.
    pub(crate) fn new(table: &RouteTable) -> Self {
        Self { table: table.clone() }
    }
}

#[tonic::async_trait]
impl Table for TableService {
    async fn create(&self, request: Request<Route>) -> Result<Response<CreateResponse>, Status> {
        const ID: &str = "router.Table.Create";
        authorize_namespace(request.extensions(), self.table.shared(), "micro", ID)?;
        self.table.await_watchers(&request).await;
        let route = request.into_inner();
        validate(&route, ID)?;
        {
            let mut routes = self.table.routes();
            let key = key_of(&route);
            if routes.contains_key(&key) {
                return Err(MicroError::conflict(ID, "duplicate route").into());
            }
            routes.insert(key, route.clone());
        }
        self.table.emit(EventType::Create, route);
        Ok(Response::new(CreateResponse {}))
    }

    async fn delete(&self, request: Request<Route>) -> Result<Response<DeleteResponse>, Status> {
        const ID: &str = "router.Table.Delete";
        authorize_namespace(request.extensions(), self.table.shared(), "micro", ID)?;
        self.table.await_watchers(&request).await;
        let route = request.into_inner();
        validate(&route, ID)?;
        let removed = self.table.routes().remove(&key_of(&route));
        let Some(removed) = removed else {
            return Err(MicroError::not_found(ID, "route not found").into());
        };
        self.table.emit(EventType::Delete, removed);
        Ok(Response::new(DeleteResponse {}))
    }

    async fn update(&self, request: Request<Route>) -> Result<Response<UpdateResponse>, Status> {
        const ID: &str = "router.Table.Update";
        authorize_namespace(request.extensions(), self.table.shared(), "micro", ID)?;
        self.table.await_watchers(&request).await;
        let route = request.into_inner();
        validate(&route, ID)?;
        self.table.routes().insert(key_of(&route), route.clone());
        self.table.emit(EventType::Update, route);
        Ok(Response::new(UpdateResponse {}))
    }

    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        let service = request.into_inner().service;
        let routes = self.table.select(|route| service.is_empty() || route.service == service);
        Ok(Response::new(ReadResponse { routes }))
    }
}
