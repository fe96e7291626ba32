//! The Go view model.
//!
//! Output layout (`sdks/go`, one Go module): `gen/<dir>/<stem>.pb.go` and `<stem>_grpc.pb.go` per
//! proto file (package per proto directory: `gen/store` is package `store`, `gen/acme/shop/v1`
//! is `shopv1`), reproducing protoc-gen-go and protoc-gen-go-grpc output from the descriptor set
//! (see [`pb`]; made in Rust rather than templates because the layout is gofmt's); and from
//! templates: `go.mod`, `go.sum`, `micro.go` (the `micro` package: client, options, errors,
//! retries, streams), `services.go` (one typed wrapper per service) and `README.md`.
//!
//! Every file of the descriptor set is generated except `google/protobuf/*` (the well-known
//! types come from `google.golang.org/protobuf/types/...`, by their `go_package`), because Go
//! code of an imported file must exist for the importer to compile. The module path decides
//! import paths; `go_package` options of the input are not used.

mod gofmt;
pub mod names;
mod pb;

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::{Error, Result};
use crate::lang::{example_service, generator_name, service_accessors};
use crate::model::{Model, StreamingKind};
use crate::output::GeneratedFile;
use crate::render::Plan;

pub use pb::{PROTOC_GEN_GO, PROTOC_GEN_GO_GRPC};

/// The module path used when none is configured.
pub const DEFAULT_MODULE: &str = "github.com/micro/micro-sdk-go";
/// The google.golang.org/protobuf version the generated code and go.mod require.
pub const PROTOBUF_VERSION: &str = "v1.36.12";
/// The google.golang.org/grpc version go.mod requires.
pub const GRPC_VERSION: &str = "v1.85.0";

/// Whether `path` is a usable Go module path: slash-separated non-empty elements of letters,
/// digits and `-._~`, the first with a dot (a domain) unless it is the only element.
pub fn is_module_path(path: &str) -> bool {
    let elems: Vec<&str> = path.split('/').collect();
    !path.is_empty()
        && elems.iter().all(|e| {
            !e.is_empty()
                && !e.starts_with('.')
                && !e.ends_with('.')
                && e.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
        })
        && (elems.len() == 1 || elems[0].contains('.'))
}

/// The Go import path of a well-known type's file.
fn well_known(file: &prost_types::FileDescriptorProto) -> Option<String> {
    file.options.as_ref().and_then(|o| o.go_package.clone()).map(|p| p.split(';').next().unwrap_or_default().to_owned())
}

/// Builds the Go plan.
pub(crate) fn plan(model: &Model, options: &SdkOptions) -> Result<Plan> {
    let module = options.package_name.clone().unwrap_or_else(|| DEFAULT_MODULE.to_owned());
    if !is_module_path(&module) {
        return Err(Error::invalid(format!(
            "Go module path '{module}' is not valid (slash-separated elements of letters, digits and '-._~', the first a domain such as github.com)"
        )));
    }
    let set = &model.descriptor_set.file;
    let mut packages = HashMap::new();
    for f in set {
        let name = f.name();
        let pkg = if name.starts_with("google/protobuf/") {
            let Some(path) = well_known(f) else {
                return Err(Error::invalid(format!("{name} has no go_package option")));
            };
            let base = path.rsplit('/').next().unwrap_or_default().to_owned();
            pb::GoPackage { import_path: path, name: base }
        } else {
            let dir = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let import_path = if dir.is_empty() { format!("{module}/gen") } else { format!("{module}/gen/{dir}") };
            pb::GoPackage { import_path, name: names::package_name(if dir.is_empty() { "gen" } else { dir }) }
        };
        packages.insert(name.to_owned(), pkg);
    }
    let universe = pb::Universe::new(set, packages.clone());
    let generator = generator_name();
    let mut files = Vec::new();
    for f in set {
        if f.name().starts_with("google/protobuf/") {
            continue;
        }
        let stem = f.name().trim_end_matches(".proto");
        files.push(GeneratedFile::new(format!("gen/{stem}.pb.go"), pb::pb_go(&universe, f, &generator))?);
        if let Some(text) = pb::grpc_go(&universe, f, &generator) {
            files.push(GeneratedFile::new(format!("gen/{stem}_grpc.pb.go"), text)?);
        }
    }

    // The high-level client: one wrapper per service of the target files.
    let accessors = service_accessors(model);
    let mut aliases: HashMap<String, String> = HashMap::new();
    let mut taken: BTreeSet<String> = RESERVED_ALIASES.iter().map(|s| (*s).to_owned()).collect();
    let mut imports = Vec::new();
    let mut services = Vec::new();
    let mut fields_taken: BTreeSet<String> = CLIENT_MEMBERS.iter().map(|s| (*s).to_owned()).collect();
    let mut types_taken: BTreeSet<String> = RUNTIME_TYPES.iter().map(|s| (*s).to_owned()).collect();
    for file in model.targets() {
        if file.services.is_empty() {
            continue;
        }
        let alias = alias_for(&packages[&file.name], &mut aliases, &mut taken, &mut imports);
        for s in &file.services {
            let go_name = names::go_camel_case(&s.name);
            let mut field = names::export(&accessors[&s.full_name]);
            while !fields_taken.insert(field.clone()) {
                field.push_str("Service");
            }
            let mut class = format!("{field}Client");
            let mut n = 2;
            while !types_taken.insert(class.clone()) {
                class = format!("{field}{n}Client");
                n += 1;
            }
            let mut type_of = |full: &str| -> (String, String) {
                let info = model.type_info(full);
                let p = &packages[&info.file];
                let a = alias_for(p, &mut aliases, &mut taken, &mut imports);
                let ident = names::go_camel_case(&info.nesting.join("."));
                (format!("{a}.{ident}"), format!("{}.{ident}", p.name))
            };
            let mut methods = Vec::new();
            for m in &s.methods {
                let (input, input_public) = type_of(&m.input);
                let (output, output_public) = type_of(&m.output);
                methods.push(json!({
                    "name": names::go_camel_case(&m.name),
                    "proto_name": m.name,
                    "kind": m.kind,
                    "unary": m.kind == StreamingKind::Unary,
                    "server_streaming": m.kind == StreamingKind::ServerStreaming,
                    "client_streaming": m.kind == StreamingKind::ClientStreaming,
                    "bidi": m.kind == StreamingKind::Bidi,
                    "input": input,
                    "output": output,
                    "input_public": input_public,
                    "output_public": output_public,
                    "doc": doc(&m.comments.doc_lines(), m.deprecated),
                    "deprecated": m.deprecated,
                }));
            }
            services.push(json!({
                "accessor": field,
                "full_name": s.full_name,
                "client_class": class,
                "grpc_client": format!("{alias}.{go_name}Client"),
                "new_grpc_client": format!("{alias}.New{go_name}Client"),
                "doc": doc(&s.comments.doc_lines(), s.deprecated),
                "methods": methods,
            }));
        }
    }
    imports.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    let example = example_service(&services);
    let example_methods: Vec<Value> = example
        .as_ref()
        .and_then(|s| s["methods"].as_array().and_then(|m| m.iter().find(|m| m["unary"] == true)).cloned())
        .into_iter()
        .collect();
    let mut root = json!({
        "package_name": module,
        "module": module,
        "version": options.version,
        "user_agent": format!("micro-sdk-go/{}", options.version),
        "generator": generator,
        "protobuf_version": PROTOBUF_VERSION,
        "grpc_version": GRPC_VERSION,
        "protoc_gen_go": PROTOC_GEN_GO,
        "protoc_gen_go_grpc": PROTOC_GEN_GO_GRPC,
        "core": services.iter().any(|s| s["full_name"] == "store.Store"),
        "services": services,
        "imports": imports,
        "example_service": example.clone().unwrap_or(Value::Null),
        "example_services": example.into_iter().collect::<Vec<_>>(),
        "example_methods": example_methods,
    });
    crate::lang::stamp_identity(
        &mut root,
        options,
        "Go clients (google.golang.org/grpc) for the gRPC services of Micro v3",
    );
    Ok(Plan { root, package_dir: String::new(), renders: Vec::new(), files, formatter: None })
}

/// The alias `micro.go` imports a generated package under (`storepb`), made unique.
fn alias_for(
    pkg: &pb::GoPackage,
    aliases: &mut HashMap<String, String>,
    taken: &mut BTreeSet<String>,
    imports: &mut Vec<Value>,
) -> String {
    if let Some(a) = aliases.get(&pkg.import_path) {
        return a.clone();
    }
    // `store` → `storepb`; a package already named like one (`emptypb`, the well-known types) stays.
    let name = pkg.name.trim_end_matches('_');
    let base = if name.ends_with("pb") { name.to_owned() } else { format!("{name}pb") };
    let mut a = base.clone();
    let mut n = 2;
    while !taken.insert(a.clone()) {
        a = format!("{base}{n}");
        n += 1;
    }
    aliases.insert(pkg.import_path.clone(), a.clone());
    imports.push(json!({ "alias": a, "path": pkg.import_path }));
    a
}

/// Go doc comment lines (`//` included) for a method or service, as gofmt formats them.
fn doc(lines: &[String], deprecated: bool) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().map(|l| format!("// {l}")).collect();
    if deprecated {
        if !out.is_empty() {
            out.push("//".to_owned());
        }
        out.push("// Deprecated: Do not use.".to_owned());
    }
    // gofmt is not idempotent on some comments (a code block before a list): format until it
    // is stable, as `gofmt -l` checks the result.
    for _ in 0..4 {
        if out.is_empty() {
            break;
        }
        let next = gofmt::doc_comment(&out);
        if next == out {
            break;
        }
        out = next;
    }
    out
}

/// Package aliases micro.go cannot use for generated packages (its own imports).
const RESERVED_ALIASES: &[&str] = &[
    "context",
    "tls",
    "json",
    "errors",
    "fmt",
    "io",
    "iter",
    "rand",
    "strings",
    "sync",
    "time",
    "grpc",
    "codes",
    "credentials",
    "insecure",
    "metadata",
    "status",
    "proto",
    "protowire",
    "micro",
];

/// Exported members of `micro.Client` a service accessor must not shadow.
const CLIENT_MEMBERS: &[&str] = &["Close", "Conn"];

/// Exported types of the runtime a wrapper type must not be named like.
const RUNTIME_TYPES: &[&str] =
    &["Client", "Option", "CallOption", "Error", "RetryPolicy", "Stream", "ClientStream", "BidiStream"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{ProtoSource, load};

    #[test]
    fn module_paths() {
        assert!(is_module_path(DEFAULT_MODULE));
        assert!(is_module_path("example.com/acme/sdk"));
        assert!(is_module_path("acme"));
        assert!(!is_module_path("acme/sdk"));
        assert!(!is_module_path("example.com//sdk"));
        assert!(!is_module_path("@acme/sdk"));
    }

    #[test]
    fn core_plan_has_every_file_and_service() {
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"gen/store/store.pb.go"));
        assert!(paths.contains(&"gen/store/store_grpc.pb.go"));
        assert!(paths.contains(&"gen/errors/errors.pb.go"));
        assert!(!paths.contains(&"gen/errors/errors_grpc.pb.go"));
        assert_eq!(plan.root["services"].as_array().unwrap().len(), 19);
        let store = plan.root["services"].as_array().unwrap().iter().find(|s| s["full_name"] == "store.Store").unwrap();
        assert_eq!(store["accessor"], "Store");
        assert_eq!(store["grpc_client"], "storepb.StoreClient");
    }

    #[test]
    fn aliases_add_pb_once_and_stay_unique() {
        let (mut aliases, mut imports) = (HashMap::new(), Vec::new());
        let mut taken: BTreeSet<String> = RESERVED_ALIASES.iter().map(|s| (*s).to_owned()).collect();
        let empty = pb::GoPackage {
            import_path: "google.golang.org/protobuf/types/known/emptypb".into(),
            name: "emptypb".into(),
        };
        assert_eq!(alias_for(&empty, &mut aliases, &mut taken, &mut imports), "emptypb");
        assert_eq!(alias_for(&empty, &mut aliases, &mut taken, &mut imports), "emptypb");
        let store = pb::GoPackage { import_path: "example.com/sdk/gen/store".into(), name: "store".into() };
        assert_eq!(alias_for(&store, &mut aliases, &mut taken, &mut imports), "storepb");
        let other = pb::GoPackage { import_path: "example.com/sdk/gen/x/store".into(), name: "store".into() };
        assert_eq!(alias_for(&other, &mut aliases, &mut taken, &mut imports), "storepb2");
        assert_eq!(imports.len(), 3);
    }
}
