//! Compiles the 13 Micro core protos in `../proto` with protox (no `protoc`)
//! and generates prost messages plus tonic clients and servers for all of them.
//!
//! The encoded `FileDescriptorSet` is also written to
//! `$OUT_DIR/micro_descriptor_set.bin` so the library can embed it.

use std::{env, fs, path::PathBuf};

use prost::Message as _;

/// The core protos, relative to the include root `../proto`.
const PROTOS: [&str; 13] = [
    "api/api.proto",
    "auth/auth.proto",
    "broker/broker.proto",
    "client/client.proto",
    "config/config.proto",
    "debug/debug.proto",
    "errors/errors.proto",
    "events/events.proto",
    "network/network.proto",
    "registry/registry.proto",
    "router/router.proto",
    "runtime/runtime.proto",
    "store/store.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../proto");
    println!("cargo:rerun-if-changed=../proto");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed=../proto/{proto}");
    }

    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    let fds = protox::compile(&files, [&root])?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("micro_descriptor_set.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // network.Network has an rpc named `Connect`, which would clash with the generated
        // `connect` constructor of the clients; build clients with `new(channel)` instead.
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
