//! `registry.Registry`: service discovery in memory, with Micro's semantics.
//!
//! Registrations live in a domain (`options.domain`, `micro` when empty); domains are isolated
//! from each other. A service is registered per `(name, version)` with its metadata, endpoints
//! and nodes. Behaviour, as Micro v3's registry handler over its memory registry, except where
//! noted:
//!
//! - `Register` of a new `(name, version)` records it with its nodes and sends watchers a
//!   `create` result. Registering an existing version adds the nodes it does not have yet (a
//!   `update` result when it added any) and refreshes the time to live of the nodes it names; the
//!   version's metadata and endpoints stay as first registered (as Micro).
//! - `options.ttl` (seconds, 0 = forever) applies to the nodes registered by the call: a node
//!   not re-registered within its TTL expires; a version whose nodes have all expired (or, when
//!   registered without nodes, whose own TTL passed) is removed. Expiry is exact at every call
//!   and swept every [`SWEEP`] in the background. Micro sweeps every second, sends no watch
//!   result on expiry, and removes a version registered without nodes at the next sweep; this
//!   server sends `update`/`delete` results on expiry and keeps a node-less version until its
//!   own TTL (if any) passes.
//! - `Deregister` removes the nodes it names from that version; when none are left the version
//!   is removed (`delete` result), otherwise the version stays (`update` result, only when a node
//!   was removed — Micro sends it always). Deregistering something unknown succeeds.
//! - `Register` and `Deregister` without a service name are 400 `registry.Registry.Register` /
//!   `.Deregister` with `service name is required` (Micro accepts them).
//! - `GetService` returns every version of the named service, sorted by version, or fails with
//!   404 `registry.Registry.GetService` / `service not found`. `ListServices` returns every
//!   version of every service of the domain, sorted by name then version (Micro: map order).
//!   The domain `*` reads across all domains (as Micro's wildcard domain).
//! - Returned services carry the metadata key `domain` (as Micro sets it); nodes are sorted by
//!   id and keep their `port` (Micro drops it); `options` is not set (Micro sends an empty
//!   `Options`).
//! - `Watch` streams a `Result{action, service, timestamp}` for every change, from the moment
//!   the call is accepted, of the named service (empty: all) in the watched domain (`*`: all),
//!   until the client cancels. `service` is the version as registered after the change (for
//!   `delete`, before it); `timestamp` is the change's unix time in seconds (Micro leaves it 0).
//!   A watcher that does not read keeps at most [`crate::broker::BUFFER`] results; further ones
//!   are dropped for it (Micro drops a result a watcher does not take within 10 ms).
//! - With test hooks, `Register` and `Deregister` honour `x-micro-test-await-subscribers: N`:
//!   they first wait (at most 10 s, never past the deadline) until N watchers of the call's
//!   domain (or of `*`) are open, whatever service they watch.
//! - Open watches end with 503 `UNAVAILABLE` when the server shuts down.
//!
//! Registrations are kept in memory only, as Micro's memory registry (services re-register).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use crate::{
    auth::authorize_namespace,
    broker::{BUFFER, BoxStream, Presence, PresenceGuard, channel_stream, lock},
    error::MicroError,
    pb::registry::{
        EmptyResponse, Endpoint, GetRequest, GetResponse, ListRequest, ListResponse, Node, Result as WatchResult,
        Service, WatchRequest, registry_server::Registry,
    },
    shared::Shared,
    shared::unix_now,
};

/// How often expired registrations are swept (so watchers hear of them).
pub(crate) const SWEEP: Duration = Duration::from_millis(100);

/// The domain used when a request names none.
const DEFAULT_DOMAIN: &str = "micro";
/// The domain that reads across all domains.
const WILDCARD: &str = "*";

/// A registered node and when it expires (`None` = never).
#[derive(Debug, Clone)]
struct NodeEntry {
    node: Node,
    expires: Option<Instant>,
}

/// One registered version of a service.
#[derive(Debug, Clone)]
struct VersionEntry {
    metadata: HashMap<String, String>,
    endpoints: Vec<Endpoint>,
    nodes: BTreeMap<String, NodeEntry>,
    /// The TTL of the latest registration, for a version without nodes.
    expires: Option<Instant>,
}

impl VersionEntry {
    fn to_service(&self, name: &str, version: &str, domain: &str) -> Service {
        let mut metadata = self.metadata.clone();
        metadata.insert("domain".to_owned(), domain.to_owned());
        Service {
            name: name.to_owned(),
            version: version.to_owned(),
            metadata,
            endpoints: self.endpoints.clone(),
            nodes: self.nodes.values().map(|n| n.node.clone()).collect(),
            options: None,
        }
    }
}

/// name → version → entry.
type Domain = BTreeMap<String, BTreeMap<String, VersionEntry>>;

/// An open `Watch`.
#[derive(Debug)]
struct Watcher {
    id: u64,
    service: String,
    domain: String,
    tx: mpsc::Sender<WatchResult>,
}

#[derive(Debug, Default)]
struct State {
    domains: HashMap<String, Domain>,
    watchers: Vec<Watcher>,
    next_watcher: u64,
}

impl State {
    /// Sends a change to the interested watchers.
    fn notify(&self, action: &str, service: Service, domain: &str) {
        let result = WatchResult {
            action: action.to_owned(),
            service: Some(service),
            timestamp: i64::try_from(unix_now()).unwrap_or(i64::MAX),
        };
        for watcher in &self.watchers {
            let name = result.service.as_ref().map_or("", |s| s.name.as_str());
            let service_matches = watcher.service.is_empty() || watcher.service == name;
            let domain_matches = watcher.domain == WILDCARD || watcher.domain == domain;
            if service_matches && domain_matches {
                let _ = watcher.tx.try_send(result.clone());
            }
        }
    }

    /// Removes expired nodes and versions, telling watchers.
    fn sweep(&mut self, now: Instant) {
        let mut changes = Vec::new();
        for (domain_name, domain) in &mut self.domains {
            for (name, versions) in domain.iter_mut() {
                versions.retain(|version, entry| {
                    let expired = |at: &Option<Instant>| at.is_some_and(|at| at <= now);
                    let due = if entry.nodes.is_empty() {
                        expired(&entry.expires)
                    } else {
                        entry.nodes.values().any(|node| expired(&node.expires))
                    };
                    if !due {
                        return true;
                    }
                    let before = entry.clone();
                    let had_nodes = !entry.nodes.is_empty();
                    entry.nodes.retain(|_, node| node.expires.is_none_or(|at| at > now));
                    let removed_nodes = entry.nodes.len() != before.nodes.len();
                    let keep =
                        if had_nodes { !entry.nodes.is_empty() } else { entry.expires.is_none_or(|at| at > now) };
                    if !keep {
                        changes.push(("delete", before.to_service(name, version, domain_name), domain_name.clone()));
                    } else if removed_nodes {
                        changes.push(("update", entry.to_service(name, version, domain_name), domain_name.clone()));
                    }
                    keep
                });
            }
            domain.retain(|_, versions| !versions.is_empty());
        }
        for (action, service, domain) in changes {
            self.notify(action, service, &domain);
        }
    }

    /// The services of `domain` (`*`: every domain) matching `name` (`None`: all), sorted.
    fn services(&self, domain: &str, name: Option<&str>) -> Vec<Service> {
        let mut domains: Vec<&String> = if domain == WILDCARD {
            self.domains.keys().collect()
        } else {
            self.domains.keys().filter(|d| *d == domain).collect()
        };
        domains.sort();
        let mut services = Vec::new();
        for domain_name in domains {
            for (service, versions) in &self.domains[domain_name] {
                if name.is_some_and(|n| n != service) {
                    continue;
                }
                for (version, entry) in versions {
                    services.push(entry.to_service(service, version, domain_name));
                }
            }
        }
        services
    }
}

/// The domain a request names, `micro` when empty.
fn domain_of(options: Option<&crate::pb::registry::Options>) -> String {
    options.map(|o| o.domain.as_str()).filter(|d| !d.is_empty()).unwrap_or(DEFAULT_DOMAIN).to_owned()
}

/// Removes a watcher when its stream is dropped.
#[derive(Debug)]
struct WatchGuard {
    state: Arc<Mutex<State>>,
    id: u64,
    _presence: PresenceGuard,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        lock(&self.state).watchers.retain(|w| w.id != self.id);
    }
}

/// The `registry.Registry` service.
#[derive(Debug, Clone)]
pub(crate) struct RegistryService {
    shared: Shared,
    state: Arc<Mutex<State>>,
    presence: Arc<Presence>,
}

impl RegistryService {
    /// An empty registry; starts the background sweep of expired registrations, which stops
    /// with the server (shutdown) or when the service is dropped. Must be called within a
    /// tokio runtime.
    pub(crate) fn new(shared: &Shared) -> Self {
        let state: Arc<Mutex<State>> = Arc::default();
        let weak: Weak<Mutex<State>> = Arc::downgrade(&state);
        let shutdown = shared.shutdown.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SWEEP);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = ticker.tick() => {}
                }
                let Some(state) = weak.upgrade() else { return };
                lock(&state).sweep(Instant::now());
            }
        });
        Self { shared: shared.clone(), state, presence: Presence::new() }
    }
}

#[tonic::async_trait]
impl Registry for RegistryService {
    async fn get_service(&self, request: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let request = request.into_inner();
        let domain = domain_of(request.options.as_ref());
        let mut state = lock(&self.state);
        state.sweep(Instant::now());
        let services = state.services(&domain, Some(&request.service));
        if services.is_empty() {
            return Err(MicroError::not_found("registry.Registry.GetService", "service not found").into());
        }
        Ok(Response::new(GetResponse { services }))
    }

    async fn register(&self, request: Request<Service>) -> Result<Response<EmptyResponse>, Status> {
        let domain = domain_of(request.get_ref().options.as_ref());
        authorize_namespace(request.extensions(), &self.shared, &domain, "registry.Registry.Register")?;
        self.presence.await_hook(&self.shared, request.metadata(), &[&domain, WILDCARD]).await;
        let service = request.into_inner();
        if service.name.is_empty() {
            return Err(MicroError::bad_request("registry.Registry.Register", "service name is required").into());
        }
        let now = Instant::now();
        let ttl = service.options.as_ref().map_or(0, |o| o.ttl);
        let expires = u64::try_from(ttl).ok().filter(|&t| t > 0).map(|t| now + Duration::from_secs(t));
        let mut state = lock(&self.state);
        state.sweep(now);
        let versions = state.domains.entry(domain.clone()).or_default().entry(service.name.clone()).or_default();
        let change = match versions.get_mut(&service.version) {
            None => {
                let nodes = service
                    .nodes
                    .iter()
                    .map(|node| (node.id.clone(), NodeEntry { node: node.clone(), expires }))
                    .collect();
                let entry = VersionEntry {
                    metadata: service.metadata.clone(),
                    endpoints: service.endpoints.clone(),
                    nodes,
                    expires,
                };
                let out = entry.to_service(&service.name, &service.version, &domain);
                versions.insert(service.version.clone(), entry);
                Some(("create", out))
            }
            Some(entry) => {
                let mut added = false;
                for node in &service.nodes {
                    match entry.nodes.get_mut(&node.id) {
                        Some(existing) => existing.expires = expires,
                        None => {
                            entry.nodes.insert(node.id.clone(), NodeEntry { node: node.clone(), expires });
                            added = true;
                        }
                    }
                }
                entry.expires = expires;
                added.then(|| ("update", entry.to_service(&service.name, &service.version, &domain)))
            }
        };
        if let Some((action, out)) = change {
            state.notify(action, out, &domain);
        }
        Ok(Response::new(EmptyResponse {}))
    }

    async fn deregister(&self, request: Request<Service>) -> Result<Response<EmptyResponse>, Status> {
        let domain = domain_of(request.get_ref().options.as_ref());
        authorize_namespace(request.extensions(), &self.shared, &domain, "registry.Registry.Deregister")?;
        self.presence.await_hook(&self.shared, request.metadata(), &[&domain, WILDCARD]).await;
        let service = request.into_inner();
        if service.name.is_empty() {
            return Err(MicroError::bad_request("registry.Registry.Deregister", "service name is required").into());
        }
        let mut state = lock(&self.state);
        state.sweep(Instant::now());
        let Some(versions) = state.domains.get_mut(&domain).and_then(|d| d.get_mut(&service.name)) else {
            return Ok(Response::new(EmptyResponse {}));
        };
        let Some(entry) = versions.get_mut(&service.version) else {
            return Ok(Response::new(EmptyResponse {}));
        };
        let before = entry.to_service(&service.name, &service.version, &domain);
        let count = entry.nodes.len();
        for node in &service.nodes {
            entry.nodes.remove(&node.id);
        }
        let change = if entry.nodes.is_empty() {
            versions.remove(&service.version);
            if versions.is_empty() {
                if let Some(d) = state.domains.get_mut(&domain) {
                    d.remove(&service.name);
                }
            }
            Some(("delete", before))
        } else if entry.nodes.len() != count {
            Some(("update", entry.to_service(&service.name, &service.version, &domain)))
        } else {
            None
        };
        if let Some((action, out)) = change {
            state.notify(action, out, &domain);
        }
        Ok(Response::new(EmptyResponse {}))
    }

    async fn list_services(&self, request: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let domain = domain_of(request.get_ref().options.as_ref());
        let mut state = lock(&self.state);
        state.sweep(Instant::now());
        Ok(Response::new(ListResponse { services: state.services(&domain, None) }))
    }

    type WatchStream = BoxStream<WatchResult>;

    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        let domain = domain_of(request.options.as_ref());
        let (tx, rx) = mpsc::channel(BUFFER);
        let id = {
            let mut state = lock(&self.state);
            state.next_watcher += 1;
            let id = state.next_watcher;
            state.watchers.push(Watcher { id, service: request.service, domain: domain.clone(), tx });
            id
        };
        let guard = WatchGuard { state: self.state.clone(), id, _presence: self.presence.enter(&domain) };
        Ok(Response::new(channel_stream(rx, self.shared.shutdown.clone(), guard)))
    }
}
