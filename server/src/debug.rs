//! `debug.Debug`: health and statistics of this server.
//!
//! - `Health` → `{status: "ok"}`.
//! - `Stats` → `timestamp` (now) and `started` in unix seconds, `uptime` in seconds, `requests`
//!   (calls received, this one included) and `errors` (calls answered with a non-OK status in
//!   their response headers, which covers every handler error), `memory` (resident set size in
//!   bytes) and `threads` from `/proc/self/status` on Linux (0 elsewhere), `gc` 0.
//! - `Log` and `Trace` → empty responses (this server records neither).

use std::sync::{Arc, atomic::Ordering};

use tonic::{Request, Response, Status};

use crate::{
    middleware::{Stats, unix_now},
    pb::debug::{
        HealthRequest, HealthResponse, LogRequest, LogResponse, StatsRequest, StatsResponse, TraceRequest,
        TraceResponse, debug_server::Debug,
    },
};

/// The `debug.Debug` service.
#[derive(Debug, Clone)]
pub(crate) struct DebugService {
    stats: Arc<Stats>,
}

impl DebugService {
    /// A debug service reporting `stats`.
    pub(crate) fn new(stats: Arc<Stats>) -> Self {
        Self { stats }
    }
}

/// `(resident bytes, threads)` of this process from `/proc/self/status`, zeros if unknown.
fn process_status() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:") * 1024, field("Threads:"))
}

#[tonic::async_trait]
impl Debug for DebugService {
    async fn log(&self, _request: Request<LogRequest>) -> Result<Response<LogResponse>, Status> {
        Ok(Response::new(LogResponse::default()))
    }

    async fn health(&self, _request: Request<HealthRequest>) -> Result<Response<HealthResponse>, Status> {
        Ok(Response::new(HealthResponse { status: "ok".to_owned() }))
    }

    async fn stats(&self, _request: Request<StatsRequest>) -> Result<Response<StatsResponse>, Status> {
        let (memory, threads) = process_status();
        Ok(Response::new(StatsResponse {
            timestamp: unix_now(),
            started: self.stats.started,
            uptime: self.stats.started_at.elapsed().as_secs(),
            memory,
            threads,
            gc: 0,
            requests: self.stats.requests.load(Ordering::Relaxed),
            errors: self.stats.errors.load(Ordering::Relaxed),
        }))
    }

    async fn trace(&self, _request: Request<TraceRequest>) -> Result<Response<TraceResponse>, Status> {
        Ok(Response::new(TraceResponse::default()))
    }
}
