//! The `micro-gen` binary end to end: exit codes, diagnostics, `--check`, containment.

use std::path::Path;
use std::process::{Command, Output};

fn micro_gen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micro-gen")).current_dir(dir).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_proto_reports_file_line_col_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.proto"),
        "syntax = \"proto3\";\npackage x;\nmessage A {\n  strin name = 1;\n}\n",
    )
    .unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "all", "--proto", "bad.proto", "--out", "out"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.proto:4:3"), "no file:line:col in:\n{err}");
    assert!(err.contains("strin name = 1;"), "no offending source in:\n{err}");
    assert!(!dir.path().join("out").exists(), "nothing may be written on error");

    let out = micro_gen(dir.path(), &["descriptor", "--proto", "bad.proto", "-o", "set.binpb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("set.binpb").exists());
}

#[test]
fn missing_import_points_at_the_import() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.proto"), "syntax = \"proto3\";\nimport \"nope.proto\";\n").unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "ts", "--proto", "a.proto", "--out", "out"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("a.proto:2:1") && err.contains("nope.proto"), "{err}");
}

#[test]
fn editions_are_reported_as_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.proto"), "edition = \"2023\";\npackage e;\nmessage M {}\n").unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "ts", "--proto", "e.proto", "--out", "out"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("protobuf editions are not supported") && err.contains("[e.proto:1:1]"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn unsafe_go_package_is_rejected_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("g.proto"),
        "syntax = \"proto3\";\npackage g;\noption go_package = \"../../escape\";\nmessage M {}\nservice S { rpc Get(M) returns (M); }\n",
    )
    .unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "go", "--proto", "g.proto", "--out", "out"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("[g.proto:3:1]") && err.contains("go_package"), "{err}");
    assert!(!dir.path().join("out").exists());
    assert!(!dir.path().parent().unwrap().join("escape").exists());
}

#[test]
fn extension_warnings_do_not_fail_generation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.proto"),
        "syntax = \"proto2\";\npackage x;\nmessage M { extensions 10 to 20; }\nextend M { optional int32 n = 10; }\nservice S { rpc Get(M) returns (M); }\n",
    )
    .unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "ts", "--proto", "x.proto", "--out", "out"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("extensions are not supported, ignored") && err.contains("[x.proto:4:12]"), "{err}");
    assert!(dir.path().join("out/package.json").exists());
}

#[test]
fn check_detects_drift_and_write_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "all", "--out", "sdks"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = micro_gen(dir.path(), &["sdk", "--lang", "all", "--out", "sdks", "--check"]);
    assert!(out.status.success());

    let index = dir.path().join("sdks/ts/src/index.ts");
    std::fs::write(&index, "// edited\n").unwrap();
    std::fs::write(dir.path().join("sdks/python/src/micro/stale.py"), "").unwrap();
    let manifest = dir.path().join("sdks/python/.micro-gen-manifest");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("src/micro/stale.py\n");
    std::fs::write(&manifest, text).unwrap();

    let out = micro_gen(dir.path(), &["sdk", "--lang", "all", "--out", "sdks", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("changed: src/index.ts"), "{stdout}");
    assert!(stdout.contains("stale: src/micro/stale.py"), "{stdout}");

    assert!(micro_gen(dir.path(), &["sdk", "--lang", "all", "--out", "sdks"]).status.success());
    assert!(!dir.path().join("sdks/python/src/micro/stale.py").exists());
    assert!(micro_gen(dir.path(), &["sdk", "--lang", "all", "--out", "sdks", "--check"]).status.success());
}

#[test]
fn config_file_and_flags_set_name_and_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("micro-gen.toml"), "version = \"2.3.4\"\n[ts]\npackage-name = \"@acme/micro\"\n")
        .unwrap();
    assert!(micro_gen(dir.path(), &["sdk", "--lang", "ts", "--out", "ts"]).status.success());
    let pkg = std::fs::read_to_string(dir.path().join("ts/package.json")).unwrap();
    assert!(pkg.contains("\"@acme/micro\"") && pkg.contains("\"2.3.4\""), "{pkg}");
    assert!(micro_gen(dir.path(), &["sdk", "--lang", "python", "--out", "py", "--version", "3.0.0"]).status.success());
    let py = std::fs::read_to_string(dir.path().join("py/pyproject.toml")).unwrap();
    assert!(py.contains("version = \"3.0.0\""), "{py}");

    std::fs::write(dir.path().join("micro-gen.toml"), "versoin = \"1\"\n").unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "ts", "--out", "ts2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("micro-gen.toml"));
    assert!(!dir.path().join("ts2").exists());

    let out = micro_gen(dir.path(), &["sdk", "--lang", "ts", "--out", "ts3", "--version", "1.0"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn template_override_replaces_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tpl/ts/files")).unwrap();
    std::fs::write(dir.path().join("tpl/ts/files/NOTICE.hbs"), "{{package_name}} {{version}}\n").unwrap();
    std::fs::write(dir.path().join("tpl/ts/files/README.md.hbs"), "custom readme\n").unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "ts", "--out", "ts", "--templates", "tpl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.path().join("ts/NOTICE")).unwrap(), "@micro/sdk 0.1.0\n");
    assert_eq!(std::fs::read_to_string(dir.path().join("ts/README.md")).unwrap(), "custom readme\n");

    std::fs::write(dir.path().join("tpl/ts/files/README.md.hbs"), "{{missing_value}}\n").unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "ts", "--out", "ts4", "--templates", "tpl"]);
    assert_eq!(out.status.code(), Some(1), "strict mode rejects a missing value");
    assert!(!dir.path().join("ts4").exists());
}

#[test]
fn descriptor_writes_a_file_descriptor_set() {
    use prost::Message as _;
    let dir = tempfile::tempdir().unwrap();
    let out = micro_gen(dir.path(), &["descriptor", "-o", "core.binpb"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(dir.path().join("core.binpb")).unwrap();
    let set = prost_types::FileDescriptorSet::decode(bytes.as_slice()).unwrap();
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    assert_eq!(set.file.len(), 13, "{names:?}");
    assert!(names.contains(&"store/store.proto"));
    assert!(set.file.iter().all(|f| f.source_code_info.is_some()), "source info is kept");
}

#[test]
fn rust_crate_name_comes_from_flags_and_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("micro-gen.toml"), "version = \"1.2.3\"\n[rust]\npackage-name = \"acme-micro\"\n")
        .unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "rust", "--out", "rs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(dir.path().join("rs/Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"acme-micro\"") && manifest.contains("version = \"1.2.3\""), "{manifest}");
    let readme = std::fs::read_to_string(dir.path().join("rs/README.md")).unwrap();
    assert!(readme.contains("use acme_micro::"), "the library name follows the crate name");
    assert!(dir.path().join("rs/src/gen/store.rs").exists());

    let out = micro_gen(dir.path(), &["sdk", "--lang", "rust", "--out", "rs2", "--package-name", "@acme/micro"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not valid on crates.io"), "{}", stderr(&out));
    assert!(!dir.path().join("rs2").exists());
}

#[test]
fn rust_templates_must_render_valid_rust() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tpl/rust/files/src")).unwrap();
    std::fs::write(dir.path().join("tpl/rust/files/src/extra.rs.hbs"), "pub fn {{lib_name}}( {\n").unwrap();
    let out = micro_gen(dir.path(), &["sdk", "--lang", "rust", "--out", "rs", "--templates", "tpl"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("src/extra.rs") && err.contains("line"), "{err}");
    assert!(!dir.path().join("rs").exists());
}
