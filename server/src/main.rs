//! `micro-server`: runs the micro-gen reference gRPC server until ctrl-c or SIGTERM.
//!
//! Prints `micro-server listening on ADDR` once it accepts connections.

use std::{net::SocketAddr, process::ExitCode};

use clap::Parser;
use micro_server::{Options, Server};

/// Reference gRPC server for every Micro core service, in memory or persisted with --data.
#[derive(Debug, Parser)]
#[command(name = "micro-server", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081")]
    address: SocketAddr,
    /// Honour the test-only metadata x-micro-test-* (tests/conformance/README.md).
    #[arg(long)]
    test_hooks: bool,
    /// Enforce auth: verify bearer tokens, evaluate rules, keep namespaces apart (Micro's spec B1).
    #[arg(long)]
    auth: bool,
    /// Keep store, blobs, config, auth and events in DIR (an embedded redb database) across restarts.
    #[arg(long, value_name = "DIR")]
    data: Option<std::path::PathBuf>,
    /// Largest message decoded or encoded, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = micro_server::DEFAULT_MAX_MESSAGE_SIZE)]
    max_message_size: usize,
    /// Answer calls to services not implemented here with their last request message (to try out
    /// SDKs generated from any proto set) instead of UNIMPLEMENTED.
    #[arg(long)]
    echo_unknown: bool,
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
    let options = Options {
        address: args.address,
        test_hooks: args.test_hooks,
        auth: args.auth,
        data_dir: args.data,
        max_message_size: args.max_message_size,
        echo_unknown: args.echo_unknown,
    };
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
