//! A deterministic synthetic proto set: `messages` messages in files of [`PER_FILE`] messages, four
//! files per package (`synth.g<k>.v1`), each file importing the one before it (often in another
//! package) and `google/protobuf/timestamp.proto`, plus `messages / 10` services of four rpcs each
//! (unary, server-streaming, client-streaming, bidi).
//!
//! Every message has scalars, an enum, a repeated field and a comment; by index some also have a
//! nested message, a map, a oneof, a proto3 `optional`, a `google.protobuf.Timestamp` and a field
//! whose type lives in the imported file of another package. The same `messages` always gives the
//! same text.

use std::fmt::Write as _;

/// Messages per file.
pub(crate) const PER_FILE: usize = 100;
/// Files per proto package.
const FILES_PER_PACKAGE: usize = 4;

/// One generated file: its name (relative to the proto root) and text.
pub(crate) struct SynthFile {
    /// Relative path, `/`-separated.
    pub(crate) name: String,
    /// The `.proto` source.
    pub(crate) text: String,
}

/// The proto package of file `f`.
fn package(f: usize) -> String {
    format!("synth.g{}.v1", f / FILES_PER_PACKAGE)
}

/// The file name of file `f`.
fn file_name(f: usize) -> String {
    format!("synth/g{}/v1/f{f}.proto", f / FILES_PER_PACKAGE)
}

/// The synthetic set for `messages` messages (rounded up to whole files) and `messages / 10`
/// services.
pub(crate) fn generate(messages: usize) -> Vec<SynthFile> {
    let files = messages.div_ceil(PER_FILE).max(1);
    let services_per_file = PER_FILE / 10;
    (0..files)
        .map(|f| {
            let mut t = String::with_capacity(64 * 1024);
            let pkg = package(f);
            let _ = writeln!(t, "// Synthetic file {f} of {files} (bench/src/synth.rs).");
            let _ = writeln!(t, "syntax = \"proto3\";\n\npackage {pkg};\n");
            t.push_str("import \"google/protobuf/timestamp.proto\";\n");
            // The previous file: the same package three times in four, another package otherwise.
            let prev = f.checked_sub(1);
            if let Some(p) = prev {
                let _ = writeln!(t, "import \"{}\";", file_name(p));
            }
            t.push('\n');
            let first = f * PER_FILE;
            // One top-level enum per file, used by every message of the file.
            let _ = writeln!(t, "// Kind{f} says what a record of file {f} is.");
            let _ = writeln!(
                t,
                "enum Kind{f} {{\n  KIND{f}_UNSPECIFIED = 0;\n  // The first kind.\n  KIND{f}_ALPHA = 1;\n  \
                 KIND{f}_BETA = 2;\n  KIND{f}_GAMMA = 3; // trailing comment\n}}\n"
            );
            for m in first..first + PER_FILE {
                message(&mut t, f, m, prev);
            }
            for s in 0..services_per_file {
                service(&mut t, f, s);
            }
            SynthFile { name: file_name(f), text: t }
        })
        .collect()
}

/// Message `m` of file `f`.
fn message(t: &mut String, f: usize, m: usize, prev: Option<usize>) {
    let _ = writeln!(t, "// Msg{m} is synthetic message {m}.\n// It has a two-line leading comment.");
    let _ = writeln!(t, "message Msg{m} {{");
    t.push_str("  // The record's title.\n  string title = 1;\n  int64 ident = 2;\n  double score = 3;\n");
    t.push_str("  bool flag = 4;\n  bytes payload = 5;\n  uint32 count = 6; // trailing\n");
    let _ = writeln!(t, "  Kind{f} kind = 7;\n  repeated string tags = 8;\n  repeated sint64 samples = 9;");
    if m % 2 == 0 {
        t.push_str("  google.protobuf.Timestamp created_at = 10;\n");
    }
    if m % 3 == 0 {
        t.push_str("  map<string, int32> counts = 11;\n");
        let _ = writeln!(t, "  map<int64, Msg{m}.Inner> inners = 12;");
    }
    if m % 4 == 0 {
        t.push_str("  optional int32 maybe = 13;\n  optional string label = 14;\n");
    }
    if m % 5 == 0 {
        t.push_str("  // Exactly one of these.\n  oneof choice {\n    string text = 15;\n    fixed32 code = 16;\n");
        if m % PER_FILE != 0 {
            let _ = writeln!(t, "    Msg{} other = 17;", m - 1);
        }
        t.push_str("  }\n");
    }
    if m % 3 == 0 || m % 7 == 0 {
        t.push_str(
            "  // A nested message.\n  message Inner {\n    string value = 1;\n    repeated uint64 values = 2;\n",
        );
        t.push_str(
            "    enum Level {\n      LEVEL_UNSPECIFIED = 0;\n      LEVEL_HIGH = 1;\n    }\n    Level level = 3;\n  }\n",
        );
        let _ = writeln!(t, "  Inner inner = 18;\n  repeated Inner items = 19;");
    }
    if m % PER_FILE != 0 && m % 6 == 1 {
        let _ = writeln!(t, "  Msg{} previous = 20;", m - 1);
    }
    if let Some(p) = prev
        && m % 10 == 0
    {
        // A type from the imported file (often another package).
        let _ = writeln!(t, "  .{}.Msg{} imported = 21;", package(p), p * PER_FILE + m % PER_FILE + 1);
    }
    t.push_str("}\n\n");
}

/// Service `s` of file `f`: four rpcs, one of each streaming kind, over the file's messages.
fn service(t: &mut String, f: usize, s: usize) {
    let id = f * (PER_FILE / 10) + s;
    let base = f * PER_FILE + s * 10;
    let (a, b, c, d) = (base, base + 1, base + 2, base + 3);
    let _ = writeln!(t, "// Service{id} is synthetic service {id}.");
    let _ = writeln!(t, "service Service{id} {{");
    let _ = writeln!(t, "  // Gets one.\n  rpc Get{id}(Msg{a}) returns (Msg{b});");
    let _ = writeln!(t, "  rpc List{id}(Msg{b}) returns (stream Msg{c});");
    let _ = writeln!(t, "  rpc Upload{id}(stream Msg{c}) returns (Msg{d});");
    let _ = writeln!(t, "  // Talks.\n  rpc Chat{id}(stream Msg{d}) returns (stream Msg{a});");
    t.push_str("}\n\n");
}

/// The number of services [`generate`] writes for `messages` messages.
pub(crate) fn services(messages: usize) -> usize {
    messages.div_ceil(PER_FILE).max(1) * (PER_FILE / 10)
}
