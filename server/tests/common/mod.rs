//! Helpers shared by the integration tests: start a server on port 0 and connect to it.

#![allow(dead_code, unreachable_pub)]

pub mod cases;

use std::net::SocketAddr;

use micro_server::{Options, Server};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, Endpoint};

/// The user agent the tests present, shaped like the SDKs' (`micro-sdk-<lang>/<version>`).
pub const USER_AGENT: &str = "micro-sdk-rust-tests/0.1.0";

/// A server running in the background; stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), micro_server::Error>>>,
}

impl Running {
    /// Starts a server on 127.0.0.1:0.
    pub async fn start(test_hooks: bool) -> Self {
        Self::start_with(Options { test_hooks, ..Options::default() }).await
    }

    /// Starts a server with `options`, on 127.0.0.1:0 whatever `options.address` says.
    pub async fn start_with(options: Options) -> Self {
        let server =
            Server::bind(Options { address: "127.0.0.1:0".parse().expect("address"), ..options }).await.expect("bind");
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0, "port 0 must be resolved to the bound port");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve_with_shutdown(async {
            let _ = stopped.await;
        }));
        Self { addr, stop: Some(stop), task: Some(task) }
    }

    /// A new channel to the server.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .user_agent(USER_AGENT)
            .expect("user agent")
            .connect()
            .await
            .expect("connect")
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("join").expect("serve");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
