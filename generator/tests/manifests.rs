//! Every SDK's manifest declares exactly the runtime libraries its generated code uses, in ranges
//! that admit the API generation targets, and carries the identity from the options. So a
//! template that starts using a library, or a generator bump (prost-build, tonic-prost-build), cannot
//! leave the manifests behind silently.

use std::collections::{BTreeMap, BTreeSet};

use micro_gen::config::SdkOptions;
use micro_gen::lang::Language;
use micro_gen::load::{ProtoSource, load};
use micro_gen::model::Model;
use micro_gen::render::TemplateSet;

fn files(language: Language, options: &SdkOptions) -> BTreeMap<String, String> {
    let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
    micro_gen::generate(&model, language, options, &TemplateSet::embedded(language.name()))
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.contents))
        .collect()
}

fn used(files: &BTreeMap<String, String>, ext: &str, find: impl Fn(&str) -> Option<String>) -> BTreeSet<String> {
    files
        .iter()
        .filter(|(p, _)| p.ends_with(ext))
        .flat_map(|(_, t)| t.lines().filter_map(&find).collect::<Vec<_>>())
        .collect()
}

#[test]
fn typescript_dependencies_are_the_imported_packages() {
    let f = files(Language::Ts, &SdkOptions::default());
    let pkg: serde_json::Value = serde_json::from_str(&f["package.json"]).unwrap();
    let declared: BTreeSet<String> = pkg["dependencies"].as_object().unwrap().keys().cloned().collect();
    let imported = used(&f, ".ts", |line| {
        let spec = line.split(" from \"").nth(1)?.split('"').next()?;
        (!spec.starts_with('.') && !spec.starts_with("node:"))
            .then(|| spec.split('/').take(if spec.starts_with('@') { 2 } else { 1 }).collect::<Vec<_>>().join("/"))
    });
    assert_eq!(declared, imported);
    // The generated code is protobuf-es v2 (codegenv2) and Connect v2.
    assert!(pkg["dependencies"]["@bufbuild/protobuf"].as_str().unwrap().starts_with("^2."));
    assert!(pkg["dependencies"]["@connectrpc/connect"].as_str().unwrap().starts_with("~2."));
}

#[test]
fn python_dependencies_are_the_imported_distributions() {
    let f = files(Language::Python, &SdkOptions::default());
    let project: toml::Table = toml::from_str(&f["pyproject.toml"]).unwrap();
    let declared: BTreeSet<String> = project["project"]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().split(['>', '<', '=', '~']).next().unwrap().to_owned())
        .collect();
    let imported = used(&f, ".py", |line| {
        let line = line.trim_start();
        let module = line.strip_prefix("import ").or_else(|| line.strip_prefix("from "))?.split([' ', '.']).next()?;
        match module {
            "grpc" => Some("grpcio".to_owned()),
            "google" => Some("protobuf".to_owned()),
            _ => None,
        }
    });
    assert_eq!(declared, imported);
}

#[test]
fn ruby_dependencies_are_the_required_gems() {
    let f = files(Language::Ruby, &SdkOptions::default());
    let spec = f.iter().find(|(p, _)| p.ends_with(".gemspec")).unwrap().1;
    let declared: BTreeSet<String> = spec
        .lines()
        .filter_map(|l| l.trim().strip_prefix("spec.add_dependency '")?.split('\'').next().map(str::to_owned))
        .collect();
    let required = used(&f, ".rb", |line| match line.trim() {
        "require 'grpc'" => Some("grpc".to_owned()),
        "require 'google/protobuf'" => Some("google-protobuf".to_owned()),
        _ => None,
    });
    assert_eq!(declared, required);
}

#[test]
fn java_dependencies_cover_the_imported_packages() {
    let f = files(Language::Java, &SdkOptions::default());
    let pom = &f["pom.xml"];
    let declared: BTreeSet<&str> =
        pom.split("<artifactId>").skip(2).filter_map(|s| s.split("</artifactId>").next()).collect();
    let imported = used(&f, ".java", |line| {
        let name = line.strip_prefix("import ")?.trim_start_matches("static ");
        if name.starts_with("com.google.protobuf.util.") {
            Some("protobuf-java-util".to_owned())
        } else if name.starts_with("com.google.protobuf.") {
            Some("protobuf-java".to_owned())
        } else if name.starts_with("io.grpc.stub.") {
            Some("grpc-stub".to_owned())
        } else if name.starts_with("io.grpc.") {
            Some("grpc-api".to_owned())
        } else {
            None
        }
    });
    for artifact in &imported {
        assert!(declared.contains(artifact.as_str()), "pom.xml lacks {artifact}");
    }
}

#[test]
fn rust_dependencies_match_the_generator_and_the_code() {
    let f = files(Language::Rust, &SdkOptions::default());
    let manifest: toml::Table = toml::from_str(&f["Cargo.toml"]).unwrap();
    let deps = manifest["dependencies"].as_table().unwrap();
    let version = |d: &str| match &deps[d] {
        toml::Value::String(s) => s.clone(),
        v => v["version"].as_str().unwrap().to_owned(),
    };
    let declared: BTreeSet<String> = deps.keys().map(|k| k.replace('-', "_")).collect();
    let used_crates = used(&f, ".rs", |line| {
        if line.trim_start().starts_with("//") {
            return None;
        }
        ["prost_types", "prost", "tonic_prost", "tonic", "tokio", "serde_json", "futures_core"]
            .iter()
            .find(|c| line.contains(&format!("{c}::")))
            .map(|c| (*c).to_owned())
    });
    assert!(used_crates.is_subset(&declared), "{used_crates:?} not all in {declared:?}");
    // The code comes from prost-build and tonic-prost-build; the runtime must be their series.
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
    let locked = |name: &str| {
        let at = lock.find(&format!("name = \"{name}\"\nversion = \"")).unwrap();
        let v = lock[at..].split("version = \"").nth(1).unwrap().split('"').next().unwrap();
        v.split('.').take(2).collect::<Vec<_>>().join(".")
    };
    assert_eq!(version("prost"), locked("prost-build"));
    assert_eq!(version("tonic"), locked("tonic-prost-build"));
    assert_eq!(version("tonic-prost"), locked("tonic-prost-build"));
}

#[test]
fn identity_is_stamped_into_every_manifest_and_license() {
    let options = SdkOptions {
        license: "MIT".into(),
        homepage: "https://acme.dev/micro".into(),
        repository: "https://github.com/acme/sdks".into(),
        authors: vec!["Acme SDK team <sdk@acme.dev>".into()],
        description: Some("Acme clients for Micro".into()),
        ..SdkOptions::default()
    };
    for (language, manifest) in [
        (Language::Ts, "package.json"),
        (Language::Python, "pyproject.toml"),
        (Language::Rust, "Cargo.toml"),
        (Language::Ruby, "micro-sdk.gemspec"),
        (Language::Java, "pom.xml"),
    ] {
        let f = files(language, &options);
        let text = &f[manifest];
        for want in
            ["MIT", "https://acme.dev/micro", "https://github.com/acme/sdks", "Acme SDK team", "Acme clients for Micro"]
        {
            assert!(text.contains(want), "{language}: {manifest} lacks {want}");
        }
        assert!(f["LICENSE"].contains("SPDX-License-Identifier: MIT"), "{language}");
        assert!(f["README.md"].contains("## License"), "{language}");
    }
    let go = files(Language::Go, &SdkOptions::default());
    assert!(go["LICENSE"].contains("Apache License") && go["LICENSE"].contains("Version 2.0"));
}
