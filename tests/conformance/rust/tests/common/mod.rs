//! Starts the reference server in process, on a free port.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use micro_server::{Options, Server};
use tokio::sync::oneshot;

/// A server running in the background; stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Running {
    /// Starts a server on 127.0.0.1:0, with the test hooks of tests/conformance/README.md.
    pub async fn start() -> Self {
        Self::start_with(Options { test_hooks: true, ..Options::default() }).await
    }

    /// Starts a server with `options`, on 127.0.0.1:0 whatever `options.address` says.
    pub async fn start_with(options: Options) -> Self {
        let options = Options { address: "127.0.0.1:0".parse().expect("address"), ..options };
        let server = Server::bind(options).await.expect("bind");
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.serve_with_shutdown(async {
            let _ = stopped.await;
        }));
        Running { addr, stop: Some(stop) }
    }

    /// The address as a client gives it.
    pub fn address(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}
