//! Golden-directory tests: every case under `tests/golden/<case>/input` is generated for every
//! language and compared, file by file, with `tests/golden/<case>/expected/<lang>`. Extra,
//! missing and changed files all fail.
//!
//! Regenerate the expected directories with `MICRO_GEN_BLESS=1 cargo test -p micro-gen --test golden`,
//! then review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use micro_gen::config::SdkOptions;
use micro_gen::lang::Language;
use micro_gen::load::{ProtoSource, load};
use micro_gen::model::Model;
use micro_gen::render::TemplateSet;
use micro_gen::{generate, output};

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// Every file below `dir`, as paths relative to it, sorted.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

fn protos_under(dir: &Path) -> Vec<PathBuf> {
    files_below(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "proto")).collect()
}

fn files_on_disk(dir: &Path) -> BTreeMap<String, String> {
    files_below(dir)
        .into_iter()
        .map(|rel| {
            let text = std::fs::read_to_string(dir.join(&rel)).unwrap();
            (rel.to_string_lossy().replace('\\', "/"), text)
        })
        .collect()
}

fn case_model(case: &str) -> Model {
    let input = golden_root().join(case).join("input");
    let loaded = load(&ProtoSource::Files { files: protos_under(&input), includes: vec![input] }).unwrap();
    Model::build(&loaded).unwrap()
}

#[test]
fn golden_directories() {
    let bless = std::env::var_os("MICRO_GEN_BLESS").is_some();
    let mut failures = Vec::new();
    let mut cases: Vec<_> =
        std::fs::read_dir(golden_root()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases found");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let model = case_model(&name);
        for language in Language::ALL {
            let files =
                generate(&model, language, &SdkOptions::default(), &TemplateSet::embedded(language.name())).unwrap();
            let expected_dir = case.join("expected").join(language.name());
            if bless {
                let _ = std::fs::remove_dir_all(&expected_dir);
                output::write(&expected_dir, &files).unwrap();
                continue;
            }
            let mut expected = files_on_disk(&expected_dir);
            expected.remove(output::MANIFEST);
            for file in &files {
                match expected.remove(&file.path) {
                    None => failures.push(format!("{name}/{language}: unexpected file {}", file.path)),
                    Some(text) if text != file.contents => {
                        let line =
                            text.lines().zip(file.contents.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
                        failures.push(format!("{name}/{language}: {} differs (first at line {line})", file.path));
                    }
                    Some(_) => {}
                }
            }
            for missing in expected.keys() {
                failures.push(format!("{name}/{language}: expected file {missing} was not generated"));
            }
        }
    }
    assert!(failures.is_empty(), "golden mismatches (MICRO_GEN_BLESS=1 regenerates):\n{}", failures.join("\n"));
}

#[test]
fn generation_is_deterministic() {
    let model = case_model("features");
    for language in Language::ALL {
        let set = TemplateSet::embedded(language.name());
        let a = generate(&model, language, &SdkOptions::default(), &set).unwrap();
        let b = generate(&case_model("features"), language, &SdkOptions::default(), &set).unwrap();
        assert_eq!(a, b, "{language} output differs between runs");
    }
}

#[test]
fn model_snapshot() {
    insta::assert_yaml_snapshot!("features_model", case_model("features"));
}
