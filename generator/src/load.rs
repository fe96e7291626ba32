//! Stage 1: compile `.proto` sources into a descriptor set with protox (no protoc).
//!
//! Two sources are supported: the Micro core protos bundled into the binary (so `micro-gen` works
//! from any directory), and a user's own files resolved against protoc-style include directories.
//! Either way the result is a [`prost_types::FileDescriptorSet`] with source info (comments) and
//! every imported file included, sorted topologically (imports before importers).

use std::path::PathBuf;

use prost::Message as _;
use prost_types::FileDescriptorSet;
use protox::file::{File, FileResolver, GoogleFileResolver};
use rust_embed::Embed;

use crate::error::{Error, Result};

/// The Micro v3 core protos, embedded from the workspace's `proto/` directory.
#[derive(Embed)]
#[folder = "../proto"]
#[include = "*.proto"]
#[include = "**/*.proto"]
struct CoreProtos;

/// Where the `.proto` sources come from.
#[derive(Debug, Clone, Default)]
pub enum ProtoSource {
    /// The Micro core protos bundled in the binary (`api/api.proto` ... `store/store.proto`).
    #[default]
    Bundled,
    /// A user's files, as with `protoc FILE... -I DIR...`: each file is either relative to one of
    /// the include directories or a path under one of them. Google's well-known types
    /// (`google/protobuf/*.proto`) are always importable.
    Files {
        /// The files to generate code for.
        files: Vec<PathBuf>,
        /// Include directories, searched in order. Empty means the current directory.
        includes: Vec<PathBuf>,
    },
}

/// The compiled input: the descriptor set plus which of its files were asked for (the rest are
/// imports, which are described but not generated unless asked for).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Every file, imports first, with source code info.
    pub set: FileDescriptorSet,
    /// Names (as in `FileDescriptorProto.name`) of the files to generate code for.
    pub targets: Vec<String>,
}

/// The names of the bundled core proto files, sorted (`api/api.proto`, `auth/auth.proto`, ...).
pub fn bundled_files() -> Vec<String> {
    let mut names: Vec<String> = CoreProtos::iter().map(|n| n.into_owned()).collect();
    names.sort();
    names
}

/// The source text of a bundled core proto, by name (e.g. `store/store.proto`).
pub fn bundled_source(name: &str) -> Option<String> {
    CoreProtos::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned())
}

/// Resolves the bundled core protos, then Google's well-known types.
///
/// The bundled files are parsed up front on two threads (parsing is a third of the cost of
/// compiling them, and each is parsed exactly once either way). The well-known types'
/// descriptor pool is only built when a `google/protobuf/` file is imported: the core protos
/// import none.
struct BundledResolver {
    parsed: std::sync::Mutex<std::collections::HashMap<String, Result<File, protox::Error>>>,
    google: std::sync::OnceLock<GoogleFileResolver>,
}

impl BundledResolver {
    fn new() -> Self {
        let names = bundled_files();
        let parse = |names: &[String]| -> Vec<(String, Result<File, protox::Error>)> {
            names.iter().map(|n| (n.clone(), File::from_source(n, &bundled_source(n).unwrap_or_default()))).collect()
        };
        let (first, second) = names.split_at(names.len() / 2);
        let parsed = std::thread::scope(|scope| {
            let other = scope.spawn(|| parse(second));
            let mut all = parse(first);
            all.extend(other.join().unwrap_or_default());
            all
        });
        BundledResolver { parsed: std::sync::Mutex::new(parsed.into_iter().collect()), google: Default::default() }
    }
}

impl FileResolver for BundledResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        let cached = self.parsed.lock().map(|mut p| p.remove(name)).unwrap_or(None);
        if let Some(file) = cached {
            return file;
        }
        if let Some(source) = bundled_source(name) {
            return File::from_source(name, &source);
        }
        if name.starts_with("google/protobuf/") {
            return self.google.get_or_init(GoogleFileResolver::new).open_file(name);
        }
        Err(protox::Error::file_not_found(name))
    }
}

/// Compiles the protos of `source` into a descriptor set.
///
/// # Errors
///
/// A syntax error, an unresolved import, a duplicate name or any other invalid input is returned
/// as a protox diagnostic that points at `file:line:col` in the offending source
/// ([`Error::is_proto`]). Proto editions are reported as unsupported ([`Error::is_unsupported`]).
pub fn load(source: &ProtoSource) -> Result<Loaded> {
    let compiler = compile(source)?;
    let targets: Vec<String> = compiler.files().filter(|f| !f.is_import()).map(|f| f.name().to_owned()).collect();
    Ok(Loaded { set: compiler.file_descriptor_set(), targets })
}

/// Compiles the protos of `source` straight to an encoded descriptor set (protobuf binary
/// `FileDescriptorSet`, imports and source info included), as `protoc --descriptor_set_out
/// --include_imports --include_source_info` writes it.
///
/// # Errors
///
/// As [`load`].
pub fn load_encoded(source: &ProtoSource) -> Result<Vec<u8>> {
    Ok(compile(source)?.encode_file_descriptor_set())
}

fn compile(source: &ProtoSource) -> Result<protox::Compiler> {
    let (mut compiler, inputs) = match source {
        ProtoSource::Bundled => (
            protox::Compiler::with_file_resolver(BundledResolver::new()),
            bundled_files().into_iter().map(PathBuf::from).collect(),
        ),
        ProtoSource::Files { files, includes } => {
            if files.is_empty() {
                return Err(Error::invalid("no proto files given (pass --proto FILE)"));
            }
            let includes = if includes.is_empty() { vec![PathBuf::from(".")] } else { includes.clone() };
            (protox::Compiler::new(includes)?, files.clone())
        }
    };
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(&inputs)?;
    let pool = compiler.descriptor_pool();
    if let Some(file) = pool.files().find(|f| f.file_descriptor_proto().syntax.as_deref() == Some("editions")) {
        return Err(Error::unsupported(file.name(), "protobuf editions are not supported yet"));
    }
    Ok(compiler)
}

/// Encodes a descriptor set in the protobuf binary format, as `protoc --descriptor_set_out` does.
pub fn encode_set(set: &FileDescriptorSet) -> Vec<u8> {
    set.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_protos_are_the_thirteen_core_files() {
        let names = bundled_files();
        assert_eq!(
            names,
            [
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
            ]
        );
    }

    #[test]
    fn bundled_protos_compile_with_source_info() {
        let loaded = load(&ProtoSource::Bundled).unwrap();
        assert_eq!(loaded.targets.len(), 13);
        let store = loaded.set.file.iter().find(|f| f.name() == "store/store.proto").unwrap();
        assert_eq!(store.package(), "store");
        assert!(store.source_code_info.is_some());
        // router is imported by network and comes first
        let pos = |n: &str| loaded.set.file.iter().position(|f| f.name() == n).unwrap();
        assert!(pos("router/router.proto") < pos("network/network.proto"));
    }
}
