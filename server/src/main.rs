//! `micro-server`: runs the micro-gen reference gRPC server until ctrl-c or SIGTERM.
//!
//! Prints `micro-server listening on ADDR` once it accepts connections.

use std::{net::SocketAddr, process::ExitCode};

use clap::Parser;
use micro_server::{Options, Server};

/// In-memory reference gRPC server for Micro's core services (store, config, debug).
#[derive(Debug, Parser)]
#[command(name = "micro-server", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081")]
    address: SocketAddr,
    /// Honour the test-only metadata x-micro-test-delay-ms and x-micro-test-echo.
    #[arg(long)]
    test_hooks: bool,
}

/// Completes on ctrl-c or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    () = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let options = Options { address: args.address, test_hooks: args.test_hooks };
    let result = async {
        let server = Server::bind(options).await?;
        println!("micro-server listening on {}", server.local_addr());
        server.serve_with_shutdown(shutdown_signal()).await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut message = format!("error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
