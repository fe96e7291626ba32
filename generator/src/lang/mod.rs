//! Stage 3a: per-language view models.
//!
//! Each language module turns the [`Model`] into a [`Plan`]: JSON view models with every name
//! precomputed, escaped and idiomatic, plus the per-file renders to perform. Templates only
//! format what the plan gives them. Rust's plan also carries files made without templates (the
//! prost-build and tonic-prost-build output, see [`rust`]).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::config::SdkOptions;
use crate::error::{Error, Result};
use crate::model::{Model, Service, StreamingKind};
use crate::render::Plan;

pub mod go;
pub mod java;
pub mod python;
pub mod ruby;
pub mod rust;
pub mod ts;

/// A target language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// TypeScript (npm package, ESM, @bufbuild/protobuf v2 + @connectrpc/connect v2).
    Ts,
    /// Python (PyPI package, protobuf + grpcio).
    Python,
    /// Rust (crates.io crate; prost messages and tonic clients from prost-build and
    /// tonic-prost-build, with a hand-written `Micro` wrapper rendered from templates).
    Rust,
    /// Go (a Go module; protoc-gen-go style messages on google.golang.org/protobuf, grpc-go clients).
    Go,
    /// Java (a Maven project; protobuf-java messages, grpc-java clients).
    Java,
    /// Ruby (a gem; google-protobuf messages from the serialized descriptor, grpc gem stubs).
    Ruby,
}

impl Language {
    /// Every language, in a stable order.
    pub const ALL: [Language; 6] =
        [Language::Ts, Language::Python, Language::Rust, Language::Ruby, Language::Java, Language::Go];

    /// The short name used on the command line and as the templates directory (`ts`, `python`,
    /// `rust`).
    pub fn name(self) -> &'static str {
        match self {
            Language::Ts => "ts",
            Language::Python => "python",
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Java => "java",
            Language::Ruby => "ruby",
        }
    }

    /// The CPU time this language's generation takes relative to the others (a unitless weight,
    /// from the 10,000-message synthetic set of `bench/`): [`crate::generate_all`] starts the
    /// costliest first so the cheap ones fill the cores at the end.
    pub fn relative_cost(self) -> usize {
        match self {
            Language::Rust => 24,
            Language::Java => 17,
            Language::Go => 6,
            Language::Python => 5,
            Language::Ts => 4,
            Language::Ruby => 2,
        }
    }

    /// Builds the plan (view models) for this language.
    ///
    /// # Errors
    ///
    /// Invalid options (see [`SdkOptions::validate`]).
    pub fn plan(self, model: &Model, options: &SdkOptions) -> Result<Plan> {
        options.validate()?;
        match self {
            Language::Ts => ts::plan(model, options),
            Language::Python => python::plan(model, options),
            Language::Rust => rust::plan(model, options),
            Language::Go => go::plan(model, options),
            Language::Java => java::plan(model, options),
            Language::Ruby => ruby::plan(model, options),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Language {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ts" | "typescript" => Ok(Language::Ts),
            "python" | "py" => Ok(Language::Python),
            "rust" | "rs" => Ok(Language::Rust),
            "go" | "golang" => Ok(Language::Go),
            "java" => Ok(Language::Java),
            "ruby" | "rb" => Ok(Language::Ruby),
            other => {
                Err(Error::invalid(format!("unknown language '{other}' (expected ts, python, rust, go, java or ruby)")))
            }
        }
    }
}

/// The name of micro-gen with its version, as written into generated headers.
pub(crate) fn generator_name() -> String {
    format!("micro-gen {}", env!("CARGO_PKG_VERSION"))
}

/// The Apache License 2.0, written as each SDK's LICENSE when the license is `Apache-2.0`.
const APACHE_2_0: &str = include_str!("licenses/Apache-2.0.txt");

/// Adds the SDK's identity to a language's root view model, the same keys for every language:
/// `license`, `license_text` (the LICENSE file's contents), `homepage`, `repository`,
/// `repository_git` (the URL without a trailing `.git`, plus `.git`), `authors` (list),
/// `authors_names` (names without emails), `author_first` and `description` (the configured one,
/// or `default_description`). Manifest templates read these and nothing else for identity.
pub(crate) fn stamp_identity(root: &mut serde_json::Value, options: &SdkOptions, default_description: &str) {
    let license_text = if options.license == "Apache-2.0" {
        APACHE_2_0.to_owned()
    } else {
        format!(
            "This software is licensed under the {0} license (SPDX-License-Identifier: {0}).\n\
             See https://spdx.org/licenses/{0}.html for the license text.\n",
            options.license
        )
    };
    let repository = options.repository.trim_end_matches('/').trim_end_matches(".git").to_owned();
    let names: Vec<&str> =
        options.authors.iter().map(|a| a.split_once(" <").map_or(a.as_str(), |(n, _)| n).trim()).collect();
    let emails: Vec<serde_json::Value> = options
        .authors
        .iter()
        .map(|a| {
            let (name, email) = a.split_once(" <").map_or((a.as_str(), ""), |(n, e)| (n, e.trim_end_matches('>')));
            serde_json::json!({ "name": name.trim(), "email": email })
        })
        .collect();
    let fields = serde_json::json!({
        "license": options.license,
        "license_text": license_text,
        "license_apache": options.license == "Apache-2.0",
        "homepage": options.homepage,
        "repository": repository,
        "repository_git": format!("{repository}.git"),
        "authors": options.authors,
        "author_names": names,
        "author_entries": emails,
        "author_first": names.first().copied().unwrap_or_default(),
        "description": options.description.clone().unwrap_or_else(|| default_description.to_owned()),
    });
    if let (Some(root), serde_json::Value::Object(fields)) = (root.as_object_mut(), fields) {
        root.extend(fields);
    }
}

/// The accessor base name of every generated service, in PascalCase, keyed by full name.
///
/// A service is reached from the high-level `Micro` client by its own name when that name is
/// unique among the generated services (`Store` → `micro.store`). When names collide, the service
/// named like its package keeps the plain name (`store.Store` → `store`) and the others are
/// prefixed with their package (`events.Store` → `eventsStore`).
pub(crate) fn service_accessors(model: &Model) -> HashMap<String, String> {
    use heck::ToUpperCamelCase;
    let services: Vec<(&str, &Service)> =
        model.targets().flat_map(|f| f.services.iter().map(move |s| (f.package.as_str(), s))).collect();
    let mut out = HashMap::new();
    for (package, s) in &services {
        let clashes = services.iter().filter(|(_, o)| o.name == s.name).count() > 1;
        let last = package.rsplit('.').next().unwrap_or_default();
        let base = if !clashes || last.eq_ignore_ascii_case(&s.name) {
            s.name.clone()
        } else {
            format!("{}{}", package.replace('.', "_").to_upper_camel_case(), s.name)
        };
        out.insert(s.full_name.clone(), base);
    }
    out
}

/// The service README examples show: `store.Store` when it is generated (the core protos), else
/// the first service by accessor.
pub(crate) fn example_service(services: &[serde_json::Value]) -> Option<serde_json::Value> {
    services.iter().find(|s| s["full_name"] == "store.Store").or_else(|| services.first()).cloned()
}

/// A method view (a JSON object) with its streaming kind also as four flags, `unary`,
/// `server_streaming`, `client_streaming` and `bidi`, of which one is true: templates test
/// `{{#if unary}}`, which costs a fraction of `{{#if (eq kind "unary")}}` (a helper call) in the
/// per-method loops of proto sets with thousands of rpcs.
pub(crate) fn with_kind_flags(mut method: serde_json::Value, kind: StreamingKind) -> serde_json::Value {
    method["unary"] = (kind == StreamingKind::Unary).into();
    method["server_streaming"] = (kind == StreamingKind::ServerStreaming).into();
    method["client_streaming"] = (kind == StreamingKind::ClientStreaming).into();
    method["bidi"] = (kind == StreamingKind::Bidi).into();
    method
}

/// Appends `lines` (a comment's doc lines) each after `prefix` and trimmed at the end, a blank
/// one as `prefix` trimmed, each ending in a newline: what the `lines` helper renders
/// (render.rs) on a line of its own, for views that lay out doc comments themselves.
pub(crate) fn push_doc_lines(out: &mut String, lines: &[String], prefix: &str) {
    for text in lines {
        let text = text.trim_end();
        if text.is_empty() {
            out.push_str(prefix.trim_end());
        } else {
            out.push_str(prefix);
            out.push_str(text);
        }
        out.push('\n');
    }
}

/// `lines` (a comment's doc lines, already escaped), followed by `note` after a blank line when
/// the element is deprecated.
pub(crate) fn with_deprecation(mut lines: Vec<String>, deprecated: bool, note: &str) -> Vec<String> {
    if deprecated {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push(note.to_owned());
    }
    lines
}

/// `data` as an ASCII-only quoted literal in a language with C-style escapes (Python bytes, Ruby
/// strings): printable ASCII as is, except `\`, the quote character and the bytes in `also`,
/// which are backslash-escaped; `\n`, `\r`, `\t`; any other byte as `\xNN` (upper-case hex
/// when `upper_hex`).
pub(crate) fn ascii_literal(data: &[u8], quote: u8, also: &[u8], upper_hex: bool) -> String {
    let mut out = String::with_capacity(data.len() * 2 + 2);
    out.push(quote as char);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b if b == quote || also.contains(&b) => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => push_hex_escape(&mut out, b, upper_hex),
        }
    }
    out.push(quote as char);
    out
}

/// Appends the escape `\xNN` of a byte (upper- or lower-case hex digits), as string literals of
/// most target languages write it.
pub(crate) fn push_hex_escape(out: &mut String, b: u8, upper: bool) {
    let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    out.push_str("\\x");
    out.push(char::from(digits[usize::from(b >> 4)]));
    out.push(char::from(digits[usize::from(b & 0xf)]));
}

/// Makes `s` safe inside a `/** ... */` block.
pub(crate) fn escape_block_comment(s: &str) -> String {
    s.replace("*/", "*\\/")
}

/// Applies `f` to every item on all cores (at most 8 threads), biggest first by `weight`, and
/// returns the results in the items' order. Used for work that is independent per item and big
/// in total (formatting the modules of a large crate).
///
/// # Errors
///
/// The first error of `f` in item order; items after an error may or may not have been processed.
pub(crate) fn parallel_map<T: Send, R: Send>(
    items: Vec<T>,
    weight: impl Fn(&T) -> usize,
    f: impl Fn(T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    parallel_each(items, weight, f).into_iter().collect()
}

/// [`parallel_map`] for work whose results are kept apart: every item is processed, and each
/// result (errors included) comes back in the items' order. A panic in `f` is resumed on the
/// calling thread.
pub(crate) fn parallel_each<T: Send, R: Send>(
    items: Vec<T>,
    weight: impl Fn(&T) -> usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let count = items.len();
    let mut queue: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    queue.sort_by_key(|(_, item)| std::cmp::Reverse(weight(item)));
    let queue = std::sync::Mutex::new(std::collections::VecDeque::from(queue));
    let work = || {
        let mut done = Vec::new();
        loop {
            // The lock is released before `f` runs (in a `while let` scrutinee the guard would
            // live through the loop body and serialize the workers).
            let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front();
            let Some((i, item)) = next else { break };
            done.push((i, f(item)));
        }
        done
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8).min(count.max(1));
    let parts: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let jobs: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        jobs.into_iter().map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let mut results: Vec<(usize, R)> = parts.into_iter().flatten().collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{ProtoSource, load};

    #[test]
    fn accessors_for_core_services() {
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let acc = service_accessors(&model);
        assert_eq!(acc["store.Store"], "Store");
        assert_eq!(acc["events.Store"], "EventsStore");
        assert_eq!(acc["store.BlobStore"], "BlobStore");
        assert_eq!(acc["auth.Accounts"], "Accounts");
        assert_eq!(acc.len(), 19);
    }
}
