//! `network.Network`: the network as this single node sees it.
//!
//! The server is a network of one node: `{id: <the router's node id, a UUID made at start>,
//! address: <the bound address>, network: "micro"}` with no peers. Its routes are the routing
//! table of `router.Table` (see [`crate::router`]), which starts with one local route per
//! micro service the server speaks.
//!
//! - `Nodes` → that one node (whatever `depth`); `Graph` → `{root: {node}}` without peers.
//! - `Routes` → the table's routes that match the non-empty `query` fields (`service`,
//!   `address`, `gateway`, `router`, `network`; `*` matches anything), sorted; no match is an
//!   empty response, as Micro's handler.
//! - `Services` → the sorted, distinct service names of the routes.
//! - `Status` → `{status: {error: {count: 0}}}`: the node has no peer links that could fail.
//! - With `--auth`, `Connect` requires an admin of namespace `micro`; the other methods only
//!   read.
//! - `Connect` with no nodes succeeds and does nothing (as Micro); with nodes it is 501
//!   `network.Network.Connect` / `connecting to other nodes is not supported: this server is a
//!   single-node network` (`UNIMPLEMENTED`) — Micro would add them as peers and dial them.

use std::collections::BTreeSet;

use tonic::{Request, Response, Status};

use crate::{
    auth::authorize_namespace,
    error::MicroError,
    pb::network::{
        ConnectRequest, ConnectResponse, Error, GraphRequest, GraphResponse, Node, NodesRequest, NodesResponse, Peer,
        RoutesRequest, RoutesResponse, ServicesRequest, ServicesResponse, Status as NodeStatus, StatusRequest,
        StatusResponse, network_server::Network,
    },
    router::{NETWORK, RouteTable, matches},
};

/// The `network.Network` service.
#[derive(Debug, Clone)]
pub(crate) struct NetworkService {
    table: RouteTable,
}

impl NetworkService {
    /// The service reporting `table`'s node and routes.
    pub(crate) fn new(table: &RouteTable) -> Self {
        Self { table: table.clone() }
    }

    /// This node.
    fn node(&self) -> Node {
        Node {
            id: self.table.node_id().to_owned(),
            address: self.table.address().to_owned(),
            network: NETWORK.to_owned(),
            metadata: Default::default(),
            status: Some(healthy()),
        }
    }
}

/// A status without errors.
fn healthy() -> NodeStatus {
    NodeStatus { error: Some(Error { count: 0, msg: String::new() }) }
}

#[tonic::async_trait]
impl Network for NetworkService {
    async fn connect(&self, request: Request<ConnectRequest>) -> Result<Response<ConnectResponse>, Status> {
        authorize_namespace(request.extensions(), self.table.shared(), "micro", "network.Network.Connect")?;
        if request.get_ref().nodes.is_empty() {
            return Ok(Response::new(ConnectResponse {}));
        }
        Err(MicroError::not_implemented(
            "network.Network.Connect",
            "connecting to other nodes is not supported: this server is a single-node network",
        )
        .into())
    }

    async fn graph(&self, _request: Request<GraphRequest>) -> Result<Response<GraphResponse>, Status> {
        Ok(Response::new(GraphResponse { root: Some(Peer { node: Some(self.node()), peers: Vec::new() }) }))
    }

    async fn nodes(&self, _request: Request<NodesRequest>) -> Result<Response<NodesResponse>, Status> {
        Ok(Response::new(NodesResponse { nodes: vec![self.node()] }))
    }

    async fn routes(&self, request: Request<RoutesRequest>) -> Result<Response<RoutesResponse>, Status> {
        let query = request.into_inner().query.unwrap_or_default();
        let routes = self.table.select(|route| {
            matches(&query.service, &route.service)
                && matches(&query.address, &route.address)
                && matches(&query.gateway, &route.gateway)
                && matches(&query.router, &route.router)
                && matches(&query.network, &route.network)
        });
        Ok(Response::new(RoutesResponse { routes }))
    }

    async fn services(&self, _request: Request<ServicesRequest>) -> Result<Response<ServicesResponse>, Status> {
        let services: BTreeSet<String> = self.table.select(|_| true).into_iter().map(|route| route.service).collect();
        Ok(Response::new(ServicesResponse { services: services.into_iter().collect() }))
    }

    async fn status(&self, _request: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        Ok(Response::new(StatusResponse { status: Some(healthy()) }))
    }
}
