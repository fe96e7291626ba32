//! Stage 1: compile `.proto` sources into a descriptor set with protox (no protoc).
//!
//! Two sources are supported: the Micro core protos bundled into the binary (so `micro-gen` works
//! from any directory), and a user's own files resolved against protoc-style include directories.
//! Either way the result is a [`prost_types::FileDescriptorSet`] with source info (comments) and
//! every imported file included, sorted topologically (imports before importers).
//!
//! Sources may also be given in memory ([`ProtoSource::Memory`]), and an encoded descriptor set
//! can be read back with [`from_descriptor_set`]. Whatever the input, loading never panics: bad
//! input is an [`Error`] with `file:line:col` and a caret where the source is known, and a panic
//! inside protox itself is caught at this boundary and reported as an error.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use prost::Message as _;
use prost_types::FileDescriptorSet;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver};
use rust_embed::Embed;

use crate::error::{Error, Result};
use crate::validate::{self, Kind, Locator, SourceDiagnostic};

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
    /// Sources held in memory, as `(name, text)` pairs (e.g. `("a/b.proto", "syntax = ...")`):
    /// every one is generated, imports resolve among them and to Google's well-known types.
    Memory {
        /// The files, by name (a relative path with `/` separators).
        files: Vec<(String, String)>,
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
    /// The source text of every file compiled from `.proto` source, by name, so diagnostics about
    /// the descriptors can show the offending line. Empty for [`from_descriptor_set`].
    pub sources: BTreeMap<String, Arc<str>>,
    /// Warnings about accepted but ignored input (proto2 extensions in the generated files), in
    /// file and line order; each renders as a miette report with `file:line:col` and a caret.
    pub warnings: Vec<SourceDiagnostic>,
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
    parsed: Mutex<HashMap<String, Result<File, protox::Error>>>,
    google: OnceLock<GoogleFileResolver>,
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
        BundledResolver { parsed: Mutex::new(parsed.into_iter().collect()), google: Default::default() }
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

/// Resolves in-memory sources, then Google's well-known types.
struct MemoryResolver {
    files: HashMap<String, String>,
    google: OnceLock<GoogleFileResolver>,
}

impl FileResolver for MemoryResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if let Some(source) = self.files.get(name) {
            return File::from_source(name, source);
        }
        if name.starts_with("google/protobuf/") {
            return self.google.get_or_init(GoogleFileResolver::new).open_file(name);
        }
        Err(protox::Error::file_not_found(name))
    }
}

/// Parses a user's files on a second thread ahead of protox, which opens them one at a time and
/// links each into its descriptor pool before it opens the next. Parsing is about half of
/// compiling, so the two halves overlap. Files are only ever parsed once, by whichever thread gets
/// to them first; protox receives exactly what the include resolvers would have given it, in its
/// own order, so errors (and which error comes first) are unchanged.
struct ParseAhead {
    inner: Box<dyn FileResolver>,
    shared: Arc<(Mutex<Ahead>, Condvar)>,
}

/// The files [`ParseAhead`] is working on.
#[derive(Default)]
struct Ahead {
    /// Names still to parse, in the order protox will likely ask for them.
    queue: VecDeque<String>,
    /// The names of `queue` nobody has started (protox takes a queued file over if it asks for it
    /// first).
    queued: HashSet<String>,
    /// Names being parsed on the helper thread.
    parsing: HashSet<String>,
    /// Finished parses (a result per name, errors included), taken out by protox.
    parsed: HashMap<String, std::result::Result<File, protox::Error>>,
}

fn lock(state: &Mutex<Ahead>) -> MutexGuard<'_, Ahead> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ParseAhead {
    /// The helper thread's loop: parses the queued files in turn with `includes` (as
    /// `IncludeFileResolver`s chained in order would), until the queue is empty. A name found in
    /// no include directory is left to protox's own resolver (Google's well-known types).
    fn run(shared: &(Mutex<Ahead>, Condvar), includes: &[PathBuf]) {
        let (state, ready) = shared;
        loop {
            let name = {
                let mut ahead = lock(state);
                let mut next = None;
                while let Some(name) = ahead.queue.pop_front() {
                    if ahead.queued.remove(&name) {
                        ahead.parsing.insert(name.clone());
                        next = Some(name);
                        break;
                    }
                }
                next
            };
            let Some(name) = name else { return };
            // A panic in the parser is left for protox's own call to hit again on the calling
            // thread, where `compile` reports it (a waiting `open_file` must not hang).
            let result = catch_unwind(AssertUnwindSafe(|| {
                includes.iter().find_map(|include| match IncludeFileResolver::new(include.clone()).open_file(&name) {
                    Err(e) if e.is_file_not_found() => None,
                    result => Some(result),
                })
            }))
            .unwrap_or(None);
            let mut ahead = lock(state);
            ahead.parsing.remove(&name);
            if let Some(result) = result {
                ahead.parsed.insert(name, result);
            }
            drop(ahead);
            ready.notify_all();
        }
    }

    /// Stops the helper thread after the file it is parsing.
    fn stop(shared: &(Mutex<Ahead>, Condvar)) {
        let mut ahead = lock(&shared.0);
        ahead.queue.clear();
        ahead.queued.clear();
    }
}

impl FileResolver for ParseAhead {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        self.inner.resolve_path(path)
    }

    fn open_file(&self, name: &str) -> std::result::Result<File, protox::Error> {
        let (state, ready) = &*self.shared;
        let mut ahead = lock(state);
        loop {
            if let Some(result) = ahead.parsed.remove(name) {
                return result;
            }
            if !ahead.parsing.contains(name) {
                break;
            }
            ahead = ready.wait(ahead).unwrap_or_else(PoisonError::into_inner);
        }
        // Not started (or found in no include directory): parse it here.
        ahead.queued.remove(name);
        drop(ahead);
        self.inner.open_file(name)
    }
}

/// The name protox gives a file passed as `path` ([`FileResolver::resolve_path`], else the path's
/// own components joined by `/`, as protox does), or `None` when protox would reject the path.
fn input_name(resolver: &dyn FileResolver, path: &Path) -> Option<String> {
    resolver.resolve_path(path).or_else(|| {
        let parts: Option<Vec<&str>> = path
            .components()
            .map(|c| match c {
                std::path::Component::Normal(part) => part.to_str(),
                _ => None,
            })
            .collect();
        parts.filter(|p| !p.is_empty()).map(|p| p.join("/"))
    })
}

/// Reads a file's bytes by name.
type Reread = Box<dyn Fn(&str) -> Option<Vec<u8>>>;

/// Wraps a resolver and records the source text of every file it opens (also of files that fail
/// to parse), for diagnostics that point into the source after compiling.
struct Recording {
    inner: Box<dyn FileResolver>,
    /// Reads a file's bytes again when the inner resolver failed on it.
    reread: Reread,
    recorded: Arc<Mutex<Recorded>>,
}

/// What [`Recording`] saw.
#[derive(Default)]
struct Recorded {
    /// Source text by file name (lossily decoded when the file is not UTF-8).
    sources: BTreeMap<String, Arc<str>>,
    /// Byte offset of the first invalid UTF-8 sequence, by file name.
    invalid_utf8: HashMap<String, usize>,
}

impl Recording {
    fn record(&self, name: &str, text: Arc<str>, invalid_utf8: Option<usize>) {
        if let Ok(mut recorded) = self.recorded.lock() {
            recorded.sources.entry(name.to_owned()).or_insert(text);
            if let Some(offset) = invalid_utf8 {
                recorded.invalid_utf8.insert(name.to_owned(), offset);
            }
        }
    }
}

impl FileResolver for Recording {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        self.inner.resolve_path(path)
    }

    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        let result = self.inner.open_file(name);
        match &result {
            Ok(file) => {
                if let Some(text) = file.source() {
                    self.record(name, Arc::from(text), None);
                }
            }
            Err(e) if !e.is_file_not_found() => {
                if let Some(bytes) = (self.reread)(name) {
                    let invalid = std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to());
                    self.record(name, Arc::from(String::from_utf8_lossy(&bytes)), invalid);
                }
            }
            Err(_) => {}
        }
        result
    }
}

/// Compiles the protos of `source` into a descriptor set.
///
/// # Errors
///
/// A syntax error, an unresolved import, a duplicate name or any other invalid input is returned
/// as a protox diagnostic that points at `file:line:col` in the offending source
/// ([`Error::is_proto`]). Proto editions are reported as unsupported ([`Error::is_unsupported`]),
/// pointing at the `edition` statement. A panic inside protox is caught and returned as an error.
pub fn load(source: &ProtoSource) -> Result<Loaded> {
    let (compiler, sources) = compile(source)?;
    let targets: Vec<String> = compiler.files().filter(|f| !f.is_import()).map(|f| f.name().to_owned()).collect();
    let mut loaded = Loaded { set: compiler.file_descriptor_set(), targets, sources, warnings: Vec::new() };
    loaded.warnings = validate::extension_warnings(&loaded);
    Ok(loaded)
}

/// Compiles the protos of `source` straight to an encoded descriptor set (protobuf binary
/// `FileDescriptorSet`, imports and source info included), as `protoc --descriptor_set_out
/// --include_imports --include_source_info` writes it.
///
/// # Errors
///
/// As [`load`].
pub fn load_encoded(source: &ProtoSource) -> Result<Vec<u8>> {
    Ok(compile(source)?.0.encode_file_descriptor_set())
}

/// Reads an encoded `FileDescriptorSet` (as [`load_encoded`] or `protoc --descriptor_set_out`
/// write it); every file in it is a target. The descriptors are taken as they are: names and
/// references are checked when the model is built ([`crate::model::Model::build`]).
///
/// # Errors
///
/// [`Error`] when the bytes are not a valid protobuf encoding of a `FileDescriptorSet`.
pub fn from_descriptor_set(bytes: &[u8]) -> Result<Loaded> {
    let set = FileDescriptorSet::decode(bytes)
        .map_err(|e| Error::invalid(format!("the input is not an encoded FileDescriptorSet: {e}")))?;
    let targets = set.file.iter().map(|f| f.name().to_owned()).collect();
    let mut loaded = Loaded { set, targets, sources: BTreeMap::new(), warnings: Vec::new() };
    loaded.warnings = validate::extension_warnings(&loaded);
    Ok(loaded)
}

fn compile(source: &ProtoSource) -> Result<(protox::Compiler, BTreeMap<String, Arc<str>>)> {
    let shared = Arc::new(Mutex::new(Recorded::default()));
    let recorded = Arc::clone(&shared);
    let taken = move || std::mem::take(&mut *recorded.lock().unwrap_or_else(|e| e.into_inner()));
    // protox is a dependency: should it panic on some input, report an error instead of crashing.
    let result = catch_unwind(AssertUnwindSafe(|| compile_recording(source, shared)));
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            return Err(Error::invalid(format!(
                "the proto compiler (protox) panicked on this input: {message}; please report it"
            )));
        }
    };
    let recorded = taken();
    let sources = recorded.sources;
    match outcome? {
        Ok(compiler) => {
            let pool = compiler.descriptor_pool();
            if let Some(file) = pool.files().find(|f| f.file_descriptor_proto().syntax.as_deref() == Some("editions")) {
                return Err(editions_error(file.name(), &sources).unwrap_or_else(|| {
                    Locator::new(file.file_descriptor_proto(), &sources)
                        .diagnostic(Kind::Unsupported, &[12], EDITIONS, "edition declared here", Some(EDITIONS_HELP))
                        .into()
                }));
            }
            Ok((compiler, sources))
        }
        Err(e) => {
            // protox cannot parse editions: turn its parse error into a clear "not supported".
            let located = e.file().and_then(|f| editions_error(f, &sources));
            let located = located.or_else(|| sources.keys().find_map(|f| editions_error(f, &sources)));
            Err(located.unwrap_or_else(|| locate(e, &sources, &recorded.invalid_utf8)))
        }
    }
}

/// Gives a location to the protox errors that have none (end of file, invalid UTF-8, import
/// cycles), so every error about a file's contents shows `file:line:col` and a caret.
fn locate(e: protox::Error, sources: &BTreeMap<String, Arc<str>>, invalid_utf8: &HashMap<String, usize>) -> Error {
    let message = e.to_string();
    if let Some(cycle) = message.strip_prefix("import cycle detected: ") {
        let names: Vec<String> = cycle.split(" -> ").map(str::to_owned).collect();
        if let [.., importer, imported] = &names[..]
            && let Some(text) = sources.get(importer)
            && let Some(at) = text.find(&format!("\"{imported}\""))
        {
            let range = at..at + imported.len() + 2;
            let help = Some("move what the files share into a third file that both import");
            return Locator::at_bytes(
                Kind::Syntax,
                importer,
                text,
                range,
                message,
                "this import closes the cycle",
                help,
            )
            .into();
        }
        return e.into();
    }
    let Some(name) = e.file().map(str::to_owned) else { return e.into() };
    let Some(text) = sources.get(&name) else { return e.into() };
    if let Some(&offset) = invalid_utf8.get(&name) {
        let message = format!("file '{name}' is not valid UTF-8");
        return Locator::at_bytes(Kind::Syntax, &name, text, offset..offset + 1, message, "invalid UTF-8 here", None)
            .into();
    }
    let unlabelled = miette::Diagnostic::labels(&e).is_none_or(|mut labels| labels.next().is_none());
    if e.is_parse() && unlabelled {
        // The one parse error without a span: the file ended in the middle of a declaration.
        let end = text.trim_end().len();
        let start = text[..end].char_indices().next_back().map_or(0, |(i, _)| i);
        let help = Some("close every '{' and end every statement with ';'");
        return Locator::at_bytes(Kind::Syntax, &name, text, start..end, message, "the file ends here", help).into();
    }
    e.into()
}

const EDITIONS: &str = "protobuf editions are not supported (protox cannot compile them yet)";
const EDITIONS_HELP: &str = "declare `syntax = \"proto3\";` (or proto2) instead of an edition";

/// The "not supported" error for a file whose first statement is `edition = "...";`.
fn editions_error(name: &str, sources: &BTreeMap<String, Arc<str>>) -> Option<Error> {
    let text = sources.get(name)?;
    let range = edition_statement(text)?;
    Some(
        Locator::at_bytes(Kind::Unsupported, name, text, range, EDITIONS, "edition declared here", Some(EDITIONS_HELP))
            .into(),
    )
}

/// The byte range of a leading `edition ...;` statement (after whitespace and comments), if any.
fn edition_statement(text: &str) -> Option<std::ops::Range<usize>> {
    let mut i = text.strip_prefix('\u{feff}').map_or(0, |_| 3);
    loop {
        let rest = &text[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            i += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if let Some(body) = trimmed.strip_prefix("/*") {
            i += 2 + body.find("*/").map_or(body.len(), |e| e + 2);
        } else {
            break;
        }
    }
    let rest = &text[i..];
    let after = rest.strip_prefix("edition")?;
    if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let end = rest[..line_end].find(';').map_or(line_end, |e| e + 1);
    Some(i..i + end.max("edition".len()))
}

/// Compiles with a recording resolver. The outer error is micro-gen's own (no input), the inner
/// one protox's.
fn compile_recording(
    source: &ProtoSource,
    recorded: Arc<Mutex<Recorded>>,
) -> Result<Result<protox::Compiler, protox::Error>> {
    let (inner, reread, inputs): (Box<dyn FileResolver>, Reread, Vec<PathBuf>) = match source {
        ProtoSource::Bundled => (
            Box::new(BundledResolver::new()),
            Box::new(|name: &str| bundled_source(name).map(String::into_bytes)),
            bundled_files().into_iter().map(PathBuf::from).collect(),
        ),
        ProtoSource::Files { files, includes } => {
            if files.is_empty() {
                return Err(Error::invalid("no proto files given (pass --proto FILE)"));
            }
            let includes = if includes.is_empty() { vec![PathBuf::from(".")] } else { includes.clone() };
            let mut chain = ChainFileResolver::new();
            for include in &includes {
                chain.add(IncludeFileResolver::new(include.clone()));
            }
            chain.add(GoogleFileResolver::new());
            let mut ahead = Ahead::default();
            for name in files.iter().filter_map(|path| input_name(&chain, path)) {
                if ahead.queued.insert(name.clone()) {
                    ahead.queue.push_back(name);
                }
            }
            let shared = Arc::new((Mutex::new(ahead), Condvar::new()));
            let resolver = ParseAhead { inner: Box::new(chain), shared: Arc::clone(&shared) };
            let reread_includes = includes.clone();
            let reread = move |name: &str| reread_includes.iter().find_map(|i| std::fs::read(i.join(name)).ok());
            return Ok(std::thread::scope(|scope| {
                scope.spawn(|| ParseAhead::run(&shared, &includes));
                let compiled = open_recording(Box::new(resolver), Box::new(reread), files, recorded);
                ParseAhead::stop(&shared);
                compiled
            }));
        }
        ProtoSource::Memory { files } => {
            if files.is_empty() {
                return Err(Error::invalid("no proto files given"));
            }
            let map: HashMap<String, String> = files.iter().cloned().collect();
            let reread_map = map.clone();
            (
                Box::new(MemoryResolver { files: map, google: OnceLock::new() }),
                Box::new(move |name: &str| reread_map.get(name).map(|s| s.clone().into_bytes())),
                files.iter().map(|(name, _)| PathBuf::from(name)).collect(),
            )
        }
    };
    Ok(open_recording(inner, reread, &inputs, recorded))
}

/// Opens `inputs` with protox through `inner`, recording every source it reads.
fn open_recording(
    inner: Box<dyn FileResolver>,
    reread: Reread,
    inputs: &[PathBuf],
    recorded: Arc<Mutex<Recorded>>,
) -> Result<protox::Compiler, protox::Error> {
    let mut compiler = protox::Compiler::with_file_resolver(Recording { inner, reread, recorded });
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(inputs)?;
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
    fn edition_statements_are_found_after_comments() {
        assert_eq!(edition_statement("edition = \"2023\";\npackage a;"), Some(0..17));
        assert_eq!(edition_statement("// c\n/* d */\n  edition=\"2024\"; x"), Some(15..30));
        assert_eq!(edition_statement("syntax = \"proto3\";"), None);
        assert_eq!(edition_statement("editions = 1;"), None);
        assert_eq!(edition_statement("/* unterminated"), None);
        assert_eq!(edition_statement("\u{feff}edition"), Some(3..10));
    }

    #[test]
    fn memory_sources_resolve_imports_and_record_text() {
        let loaded = load(&ProtoSource::Memory {
            files: vec![
                (
                    "a/a.proto".into(),
                    "syntax = \"proto3\";\npackage a;\nimport \"b.proto\";\nmessage A { b.B b = 1; }\n".into(),
                ),
                (
                    "b.proto".into(),
                    "syntax = \"proto3\";\npackage b;\nimport \"google/protobuf/empty.proto\";\nmessage B {}\n".into(),
                ),
            ],
        })
        .unwrap();
        assert_eq!(loaded.targets, ["b.proto", "a/a.proto"]);
        assert!(loaded.sources["a/a.proto"].contains("message A"));
        assert!(loaded.warnings.is_empty());
        let decoded = from_descriptor_set(&encode_set(&loaded.set)).unwrap();
        assert_eq!(decoded.set, loaded.set);
        assert!(from_descriptor_set(b"\xff\xff").is_err());
    }

    /// 40 files in two include directories, each importing the one before (and one a well-known
    /// type), listed in an order unlike protox's (imports first): what the files source loads,
    /// parsed ahead on another thread, is what the same sources load from memory.
    fn chain_of_files(broken: Option<usize>) -> (tempfile::TempDir, Vec<(String, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for i in 0..40 {
            let import =
                if i == 0 { "google/protobuf/timestamp.proto".to_owned() } else { format!("p/f{}.proto", i - 1) };
            let field = if i == 0 { "google.protobuf.Timestamp".to_owned() } else { format!("M{}", i - 1) };
            let body = if broken == Some(i) {
                "message {".to_owned()
            } else {
                format!("message M{i} {{ {field} prev = 1; }}")
            };
            let text = format!("syntax = \"proto3\";\npackage p;\nimport \"{import}\";\n// M{i}\n{body}\n");
            let root = dir.path().join(if i % 2 == 0 { "even" } else { "odd" });
            std::fs::create_dir_all(root.join("p")).unwrap();
            std::fs::write(root.join(format!("p/f{i}.proto")), &text).unwrap();
            files.push((format!("p/f{i}.proto"), text));
        }
        files.reverse();
        (dir, files)
    }

    fn files_source(dir: &tempfile::TempDir, files: &[(String, String)]) -> ProtoSource {
        ProtoSource::Files {
            files: files.iter().map(|(name, _)| PathBuf::from(name)).collect(),
            includes: vec![dir.path().join("even"), dir.path().join("odd")],
        }
    }

    #[test]
    fn files_parsed_ahead_load_as_from_memory() {
        let (dir, files) = chain_of_files(None);
        let from_files = load(&files_source(&dir, &files)).unwrap();
        let from_memory = load(&ProtoSource::Memory { files: files.clone() }).unwrap();
        assert_eq!(from_files.set, from_memory.set);
        assert_eq!(from_files.targets, from_memory.targets);
        assert_eq!(from_files.sources, from_memory.sources);
        assert_eq!(from_files.targets.first().map(String::as_str), Some("p/f0.proto"));
    }

    #[test]
    fn files_parsed_ahead_report_the_error_protox_meets_first() {
        // f30 is listed 10th: protox reaches f12 first (through the imports of f39).
        for broken in [12, 30] {
            let (dir, files) = chain_of_files(Some(broken));
            let from_files = load(&files_source(&dir, &files)).unwrap_err();
            let from_memory = load(&ProtoSource::Memory { files: files.clone() }).unwrap_err();
            let report = |e: Error| format!("{:?}", miette::Report::new(e));
            let (from_files, from_memory) = (report(from_files), report(from_memory));
            assert!(from_files.contains(&format!("p/f{broken}.proto:5:9")), "{from_files}");
            assert_eq!(from_files, from_memory);
        }
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
