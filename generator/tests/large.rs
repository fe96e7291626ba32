//! A large input end to end (no timing: bench/run.sh cost measures that): a synthetic set of
//! 1,000 messages and 100 services in 10 files of 3 packages, with imports across files and
//! packages, nested types, maps, oneofs, optionals and a well-known type, is generated in memory
//! for all six languages, and each language's output must declare a type for every message and a
//! client for every service.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use micro_gen::config::SdkOptions;
use micro_gen::generate;
use micro_gen::lang::Language;
use micro_gen::load::{ProtoSource, load};
use micro_gen::model::Model;
use micro_gen::render::TemplateSet;

const FILES: usize = 10;
const PER_FILE: usize = 100;
const SERVICES_PER_FILE: usize = 10;

fn package(f: usize) -> String {
    format!("large.p{}.v1", f / 4)
}

fn file_name(f: usize) -> String {
    format!("large/p{}/v1/f{f}.proto", f / 4)
}

/// File `f` of the set: 100 messages `Msg<n>`, an enum and 10 services `Service<n>` of 4 rpcs.
fn synthetic_file(f: usize) -> String {
    let mut t = format!("// File {f}.\nsyntax = \"proto3\";\npackage {};\n", package(f));
    t.push_str("import \"google/protobuf/timestamp.proto\";\n");
    if f > 0 {
        let _ = writeln!(t, "import \"{}\";", file_name(f - 1));
    }
    let _ = writeln!(t, "enum Kind{f} {{ KIND{f}_UNSPECIFIED = 0; KIND{f}_ONE = 1; }}");
    for m in f * PER_FILE..(f + 1) * PER_FILE {
        let _ = writeln!(t, "// Message {m}.\nmessage Msg{m} {{\n  string title = 1;\n  int64 ident = 2;");
        let _ = writeln!(t, "  Kind{f} kind = 3;\n  repeated string tags = 4;");
        if m % 2 == 0 {
            t.push_str("  google.protobuf.Timestamp at = 5;\n");
        }
        if m % 3 == 0 {
            t.push_str("  map<string, Inner> inners = 6;\n  message Inner { double value = 1; }\n");
        }
        if m % 4 == 0 {
            t.push_str("  optional bool flag = 7;\n  oneof choice { string text = 8; bytes data = 9; }\n");
        }
        if m % PER_FILE != 0 {
            let _ = writeln!(t, "  Msg{} previous = 10;", m - 1);
        } else if f > 0 {
            let _ = writeln!(t, "  .{}.Msg{} imported = 10;", package(f - 1), m - 1);
        }
        t.push_str("}\n");
    }
    for s in f * SERVICES_PER_FILE..(f + 1) * SERVICES_PER_FILE {
        let m = f * PER_FILE + (s % SERVICES_PER_FILE) * 10;
        let _ = writeln!(t, "// Service {s}.\nservice Service{s} {{");
        let _ = writeln!(t, "  rpc Get{s}(Msg{m}) returns (Msg{});", m + 1);
        let _ = writeln!(t, "  rpc List{s}(Msg{}) returns (stream Msg{});", m + 1, m + 2);
        let _ = writeln!(t, "  rpc Send{s}(stream Msg{}) returns (Msg{});", m + 2, m + 3);
        let _ = writeln!(t, "  rpc Chat{s}(stream Msg{}) returns (stream Msg{m});\n}}", m + 3);
    }
    t
}

/// The numbers `n` of every type `<prefix><n><suffix>` that `text` declares: after `class `,
/// `struct ` or `type ` (TS, Python, Go, Java, Ruby clients, Rust), or assigned from the
/// descriptor pool (Ruby messages).
fn declared(text: &str, prefix: &str, suffix: &str, into: &mut BTreeSet<usize>) {
    let mut from = 0;
    while let Some(at) = text[from..].find(prefix).map(|i| from + i) {
        from = at + prefix.len();
        let digits = text[from..].bytes().take_while(u8::is_ascii_digit).count();
        let Ok(n) = text[from..from + digits].parse() else { continue };
        let Some(after) = text[from + digits..].strip_prefix(suffix) else { continue };
        let before = &text[..at];
        let keyword = ["class ", "struct ", "type "].iter().any(|k| before.ends_with(k));
        let ruby_message = after.starts_with(" = ::Google::Protobuf::DescriptorPool");
        if (keyword || ruby_message) && !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            into.insert(n);
        }
    }
}

#[test]
fn thousand_messages_and_hundred_services_in_every_language() {
    let files: Vec<(String, String)> = (0..FILES).map(|f| (file_name(f), synthetic_file(f))).collect();
    let loaded = load(&ProtoSource::Memory { files }).unwrap();
    assert_eq!(loaded.targets.len(), FILES);
    let model = Model::build(&loaded).unwrap();
    let model = &model;
    // Languages are independent: generate them on all cores, as `micro-gen sdk --lang all` does.
    let outputs: Vec<_> = std::thread::scope(|scope| {
        let jobs: Vec<_> = Language::ALL
            .into_iter()
            .map(|language| {
                scope.spawn(move || {
                    let files =
                        generate(model, language, &SdkOptions::default(), &TemplateSet::embedded(language.name()));
                    (language, files)
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let all_messages: BTreeSet<usize> = (0..FILES * PER_FILE).collect();
    let all_services: BTreeSet<usize> = (0..FILES * SERVICES_PER_FILE).collect();
    for (language, files) in outputs {
        let files = files.unwrap_or_else(|e| panic!("{language}: {e:?}"));
        let (mut messages, mut services) = (BTreeSet::new(), BTreeSet::new());
        for file in &files {
            declared(&file.contents, "Msg", "", &mut messages);
            declared(&file.contents, "Service", "Client", &mut services);
        }
        let missing: Vec<_> = all_messages.difference(&messages).take(10).collect();
        assert!(missing.is_empty(), "{language}: messages not declared in the output: {missing:?}");
        let missing: Vec<_> = all_services.difference(&services).take(10).collect();
        assert!(missing.is_empty(), "{language}: service clients not declared in the output: {missing:?}");
    }
}
