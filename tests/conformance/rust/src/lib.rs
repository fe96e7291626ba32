//! The conformance runner of the generated Rust SDK (`sdks/rust`, crate `micro-client`).
//!
//! Everything is in the integration tests: `tests/conformance.rs` runs every case of
//! `tests/conformance/*.json` through `micro_client::Micro` against the reference server
//! (`micro_server`, in process, with test hooks), and `tests/sdk.rs` checks what the cases
//! cannot (retries, interceptors, deadlines of streams, connection errors). Run them with
//! `cargo test -p micro-client-conformance`, or `bash tests/conformance/rust/run.sh`, which also
//! lints, documents and packages the SDK.
