//! Bad input end to end: every fixture under `tests/protos/bad/` gives a diagnostic with
//! `file:line:col` and a caret, a non-zero exit and an untouched output directory; names and
//! options that would write outside `--out` are rejected before anything renders; and the fuzz
//! corpus (`generator/fuzz/regressions/`) runs through the fuzz targets' code path without a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use micro_gen::load::{ProtoSource, from_descriptor_set, load};
use micro_gen::model::Model;
use prost::Message as _;
use prost_types::source_code_info::Location;
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet, FileOptions, SourceCodeInfo};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn bad_dir() -> PathBuf {
    repo().join("tests/protos/bad")
}

fn micro_gen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micro-gen")).current_dir(dir).args(args).output().unwrap()
}

/// Every file below `dir` with its contents, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Asserts that the report has a `[file:line:col]` header and, under source line `line`, a
/// label whose marker (the caret: `┬`, `▲` or `^`, on an underline) starts exactly at `col`.
fn assert_caret(report: &str, location: &str) {
    assert!(report.contains(&format!("[{location}]")), "no [{location}] header in:\n{report}");
    let mut parts = location.rsplitn(3, ':');
    let col: usize = parts.next().unwrap().parse().unwrap();
    let line: usize = parts.next().unwrap().parse().unwrap();
    let lines: Vec<&str> = report.lines().collect();
    let source_line = lines
        .iter()
        .position(|l| l.trim_start().strip_prefix(&format!("{line} ")).is_some_and(|r| r.starts_with('│')))
        .unwrap_or_else(|| panic!("source line {line} not shown in:\n{report}"));
    let gutter = lines[source_line].chars().position(|c| c == '│').unwrap();
    let underline = lines[source_line + 1];
    let chars: Vec<char> = underline.chars().collect();
    assert_eq!(chars.get(gutter), Some(&'·'), "no label under line {line} in:\n{report}");
    let start = gutter + 2 + (col - 1);
    assert!(chars[gutter + 1..start].iter().all(|c| *c == ' '), "label starts before column {col}:\n{report}");
    let marker = chars.get(start).copied().unwrap_or(' ');
    assert!(matches!(marker, '─' | '┬' | '▲' | '^' | '-'), "no caret at column {col} ({marker:?}) in:\n{report}");
    let rest: String = chars[start..].iter().collect();
    assert!(rest.contains(['┬', '▲', '^']), "no caret in the underline {rest:?}:\n{report}");
}

/// The text without whitespace and miette's margin, so messages compare whatever the wrapping.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '│').collect()
}

/// Runs `micro-gen sdk --lang all` on a fixture into an output directory holding one file of
/// the user's, and asserts failure, the message, the location with its caret, and that the
/// output directory is unchanged.
fn assert_rejected(fixture: &str, location: &str, message: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("ts")).unwrap();
    std::fs::write(out.join("ts/keep.txt"), "mine\n").unwrap();
    let before = snapshot(&out);
    let run = micro_gen(&bad_dir(), &["sdk", "--lang", "all", "--proto", fixture, "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{fixture}: exit code; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{fixture} panicked:\n{stderr}");
    assert!(squash(&stderr).contains(&squash(message)), "{fixture}: no {message:?} in:\n{stderr}");
    assert_caret(&stderr, location);
    assert_eq!(snapshot(&out), before, "{fixture}: the output directory changed");
    assert!(String::from_utf8_lossy(&run.stdout).is_empty(), "{fixture}: nothing may be reported as written");
}

#[test]
fn malformed_protos_are_located_errors() {
    assert_rejected("syntax.proto", "syntax.proto:6:3", "name 'strin' is not defined");
    assert_rejected("unterminated.proto", "unterminated.proto:6:18", "reached end of file");
}

#[test]
fn missing_imports_are_located_errors() {
    assert_rejected("missing_import.proto", "missing_import.proto:5:1", "import 'does/not/exist.proto' not found");
}

#[test]
fn duplicate_names_are_located_errors() {
    assert_rejected("duplicate_name.proto", "duplicate_name.proto:5:9", "name 'bad.dup.Twice' is defined twice");
}

#[test]
fn editions_are_unsupported_with_a_location() {
    assert_rejected("editions.proto", "editions.proto:2:1", "protobuf editions are not supported");
}

#[test]
fn cross_file_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.proto"), "syntax = \"proto3\";\nimport \"b.proto\";\n").unwrap();
    std::fs::write(dir.path().join("b.proto"), "syntax = \"proto3\";\n\nimport \"a.proto\";\n").unwrap();
    std::fs::write(dir.path().join("u.proto"), b"syntax = \"proto3\";\n// caf\xe9\n".as_slice()).unwrap();
    std::fs::write(dir.path().join("d1.proto"), "syntax = \"proto3\";\npackage p;\nmessage A {}\n").unwrap();
    std::fs::write(dir.path().join("d2.proto"), "syntax = \"proto3\";\npackage p;\n\nmessage A {}\n").unwrap();
    for (files, location, message) in [
        (&["a.proto"][..], "b.proto:3:8", "import cycle detected"),
        (&["u.proto"][..], "u.proto:2:7", "not valid UTF-8"),
        (&["d1.proto", "d2.proto"][..], "d2.proto:4:9", "name 'p.A' is already defined in file 'd1.proto'"),
    ] {
        let mut args = vec!["sdk", "--lang", "all", "--out", "out", "--proto"];
        args.extend(files);
        let run = micro_gen(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(squash(&stderr).contains(&squash(message)), "{stderr}");
        assert_caret(&stderr, location);
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn extensions_are_a_warning_and_generation_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run =
        micro_gen(&bad_dir(), &["sdk", "--lang", "all", "--proto", "extensions.proto", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(squash(&stderr).contains(&squash("extensions are not supported, ignored")), "{stderr}");
    assert!(squash(&stderr).contains(&squash("'note' extends 'bad.extensions.Extendable'")), "{stderr}");
    assert_eq!(stderr.matches("extensions are not supported").count(), 1, "one warning per extension field");
    assert_caret(&stderr, "extensions.proto:16:3");
    for language in ["ts", "python", "go", "java", "ruby", "rust"] {
        assert!(out.join(language).join(".micro-gen-manifest").exists(), "{language} was not generated");
    }

    // The library reports the same warning with its position, and the model keeps proto2 fields.
    let loaded =
        load(&ProtoSource::Files { files: vec!["extensions.proto".into()], includes: vec![bad_dir()] }).unwrap();
    let [warning] = &loaded.warnings[..] else { panic!("{:?}", loaded.warnings) };
    assert!(warning.is_warning());
    assert_eq!((warning.file(), warning.line(), warning.column()), ("extensions.proto", Some(16), Some(3)));
    let model = Model::build(&loaded).unwrap();
    let message = &model.file("extensions.proto").unwrap().messages[0];
    assert_eq!(message.fields.len(), 3, "extension fields are not added to the message");
    assert_eq!(message.fields[0].label, micro_gen::model::Label::Required);
}

#[test]
fn path_like_options_are_rejected_before_rendering() {
    for (fixture, option, problem) in [
        ("go_package_parent.proto", "go_package = \"../../outside\"", "contains '..'"),
        ("go_package_absolute.proto", "go_package = \"/tmp/outside;outside\"", "is an absolute path"),
        ("go_package_nul.proto", "go_package = \"example.com/a\\0b\"", "contains a NUL character"),
        ("java_package_slash.proto", "java_package = \"com.acme/../../outside\"", "contains '/'"),
        ("java_package_backslash.proto", "java_package = \"com.acme\\\\outside\"", "contains a backslash"),
        ("java_outer_classname.proto", "java_outer_classname = \"../Outside\"", "contains '/'"),
        ("ruby_package.proto", "ruby_package = \"../../Outside\"", "contains '/'"),
        ("php_namespace.proto", "php_namespace = \"\\\\Absolute\\\\Outside\"", "is an absolute path"),
        ("csharp_namespace.proto", "csharp_namespace = \"Acme/../Outside\"", "contains '/'"),
    ] {
        let file = format!("containment/{fixture}");
        let message = format!("option {option} in '{file}' {problem}");
        let loaded = load(&ProtoSource::Files { files: vec![file.clone().into()], includes: vec![bad_dir()] }).unwrap();
        let err = Model::build(&loaded).unwrap_err();
        assert!(err.is_unsafe_path(), "{fixture}: {err}");
        assert!(err.to_string().starts_with(&message), "{fixture}: {err}");
        assert_rejected(&file, &format!("{file}:4:1"), &message);
    }
}

#[test]
fn file_names_outside_the_include_path_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(tmp.path().join("up.proto"), "syntax = \"proto3\";\nmessage M {}\n").unwrap();
    for proto in ["../up.proto", tmp.path().join("up.proto").to_str().unwrap()] {
        let run = micro_gen(&work, &["sdk", "--lang", "all", "--proto", proto, "--out", "out"]);
        assert_eq!(run.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&run.stderr).contains("is not in any include path"));
        assert!(!work.join("out").exists());
    }
}

fn file(name: &str, package: &str) -> FileDescriptorProto {
    FileDescriptorProto {
        name: Some(name.into()),
        package: Some(package.into()),
        syntax: Some("proto3".into()),
        message_type: vec![DescriptorProto { name: Some("M".into()), ..Default::default() }],
        ..Default::default()
    }
}

fn build(files: Vec<FileDescriptorProto>) -> micro_gen::Result<Model> {
    let bytes = FileDescriptorSet { file: files }.encode_to_vec();
    Model::build(&from_descriptor_set(&bytes)?)
}

#[test]
fn unsafe_file_and_package_names_in_descriptor_sets_are_rejected() {
    for name in [
        "../evil.proto",
        "/etc/evil.proto",
        "a\\evil.proto",
        "a/./evil.proto",
        "a//b.proto",
        "nul\0.proto",
        "c:evil.proto",
        "",
    ] {
        let err = build(vec![file(name, "ok")]).unwrap_err();
        assert!(err.is_unsafe_path(), "{name:?}: {err}");
        assert!(err.to_string().contains(&format!("file name {name:?}")), "{err}");
    }
    for package in ["..evil", "a/b", "a\\b", "/abs", "a..b", "a.b.", "a\0b", "1a"] {
        let err = build(vec![file("ok.proto", package)]).unwrap_err();
        assert!(err.is_unsafe_path(), "{package:?}: {err}");
        assert!(err.to_string().contains(&format!("package name {package:?} in 'ok.proto'")), "{err}");
    }
    // With source info (but no source text) the location is part of the message.
    let mut f = file("ok.proto", "a/b");
    f.source_code_info =
        Some(SourceCodeInfo { location: vec![Location { path: vec![2], span: vec![1, 0, 12], ..Default::default() }] });
    let err = build(vec![f]).unwrap_err();
    assert!(err.to_string().starts_with("ok.proto:2:1: package name \"a/b\""), "{err}");

    let mut f = file("ok.proto", "ok");
    f.options = Some(FileOptions { go_package: Some("../../x".into()), ..Default::default() });
    f.source_code_info = Some(SourceCodeInfo {
        location: vec![Location { path: vec![8, 11], span: vec![3, 0, 4, 2], ..Default::default() }],
    });
    let err = build(vec![f]).unwrap_err();
    assert!(err.is_unsafe_path());
    assert!(err.to_string().starts_with("ok.proto:4:1: option go_package = \"../../x\""), "{err}");
}

#[test]
fn invalid_names_and_references_in_descriptor_sets_are_errors() {
    let mut f = file("ok.proto", "ok");
    f.message_type[0].name = Some("../M".into());
    let err = build(vec![f]).unwrap_err();
    assert!(err.is_invalid_name(), "{err}");

    let mut f = file("ok.proto", "ok");
    f.service.push(prost_types::ServiceDescriptorProto {
        name: Some("S".into()),
        method: vec![prost_types::MethodDescriptorProto {
            name: Some("Get".into()),
            input_type: Some(".ok.Missing".into()),
            output_type: Some(".ok.M".into()),
            ..Default::default()
        }],
        ..Default::default()
    });
    let err = build(vec![f]).unwrap_err();
    assert!(err.is_unsupported() && err.to_string().contains("ok.Missing"), "{err}");

    // A map entry without fields.
    let mut f = file("ok.proto", "ok");
    f.message_type[0].nested_type.push(DescriptorProto {
        name: Some("MEntry".into()),
        options: Some(prost_types::MessageOptions { map_entry: Some(true), ..Default::default() }),
        ..Default::default()
    });
    f.message_type[0].field.push(prost_types::FieldDescriptorProto {
        name: Some("m".into()),
        number: Some(1),
        label: Some(3),
        r#type: Some(11),
        type_name: Some(".ok.M.MEntry".into()),
        ..Default::default()
    });
    let err = build(vec![f]).unwrap_err();
    assert!(err.is_unsupported() && err.to_string().contains("malformed map entry"), "{err}");
}

/// The fuzz targets' code paths (generator/fuzz/fuzz_targets/*.rs), on stable.
fn fuzz_load(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(loaded) = load(&ProtoSource::Memory { files: vec![("fuzz.proto".into(), text.into())] })
    {
        let _ = Model::build(&loaded);
    }
}

fn fuzz_descriptor(data: &[u8]) {
    if let Ok(loaded) = from_descriptor_set(data) {
        let _ = Model::build(&loaded);
    }
}

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = repo().join("generator/fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn fuzz_regression_corpus_never_panics() {
    let load_corpus = corpus("load");
    assert!(load_corpus.len() >= 5, "the load corpus is checked in");
    for path in &load_corpus {
        let data = std::fs::read(path).unwrap();
        let result = std::panic::catch_unwind(|| fuzz_load(&data));
        assert!(result.is_ok(), "load target panicked on {}", path.display());
    }
    let descriptor_corpus = corpus("descriptor");
    assert!(!descriptor_corpus.is_empty(), "the descriptor corpus is checked in");
    for path in &descriptor_corpus {
        let data = std::fs::read(path).unwrap();
        let result = std::panic::catch_unwind(|| fuzz_descriptor(&data));
        assert!(result.is_ok(), "descriptor target panicked on {}", path.display());
    }
    // Every fixture and the core protos, as sources and as descriptor sets, mutated a little.
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for dir in [bad_dir(), bad_dir().join("containment")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "proto") {
                inputs.push(std::fs::read(path).unwrap());
            }
        }
    }
    let core = micro_gen::load::load_encoded(&ProtoSource::Bundled).unwrap();
    fuzz_descriptor(&core);
    for (i, input) in inputs.iter().enumerate() {
        fuzz_load(input);
        for cut in [input.len() / 3, input.len() / 2, input.len() * 2 / 3] {
            fuzz_load(&input[..cut]);
        }
        // flip bytes through the encoded core set
        let mut mutated = core.clone();
        for k in 0..8 {
            let at = (i * 7919 + k * 104_729) % mutated.len();
            mutated[at] ^= 0x5a;
        }
        fuzz_descriptor(&mutated);
        fuzz_descriptor(&core[..core.len() * (i + 1) / (inputs.len() + 1)]);
    }
}
