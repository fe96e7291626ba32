//! The Go view model.
//!
//! Output layout (`sdks/go`, one Go module): `gen/<dir>/<stem>.pb.go` and `<stem>_grpc.pb.go` per
//! proto file (package per proto directory: `gen/store` is package `store`, `gen/acme/shop/v1`
//! is `shopv1`; directories that import each other in a cycle get a package per file, see
//! `break_import_cycles`), reproducing protoc-gen-go and protoc-gen-go-grpc output from the
//! descriptor set (see `pb`; made in Rust rather than templates because the layout is gofmt's),
//! names included (see [`names`] for the few deviations); and from
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

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::{Error, Result};
use crate::lang::{example_service, generator_name, parallel_map, service_accessors, with_kind_flags};
use crate::model::Model;
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
    break_import_cycles(set, &mut packages);
    let universe = pb::Universe::new(set, packages.clone());
    let generator = generator_name();
    // Each proto file's Go files depend only on the (read-only) universe: made on all cores.
    let sources: Vec<_> = set.iter().filter(|f| !f.name().starts_with("google/protobuf/")).collect();
    // Each file's descriptor without source info, as the model encoded it.
    let descriptors: HashMap<&str, &[u8]> =
        model.files.iter().map(|f| (f.name.as_str(), f.descriptor.as_slice())).collect();
    let per_file = parallel_map(
        sources,
        |f| f.message_type.len() + f.service.len(),
        |f| {
            // `gen/<dir>/<stem>.pb.go`, in the directory of the file's Go package.
            let dir = packages[f.name()].import_path.strip_prefix(&format!("{module}/")).unwrap_or("gen").to_owned();
            let base = f.name().rsplit('/').next().unwrap_or_default();
            let stem = base.strip_suffix(".proto").unwrap_or(base);
            let mut out = vec![GeneratedFile::new(
                format!("{dir}/{stem}.pb.go"),
                pb::pb_go(&universe, f, descriptors[f.name()], &generator),
            )?];
            if let Some(text) = pb::grpc_go(&universe, f, &generator) {
                out.push(GeneratedFile::new(format!("{dir}/{stem}_grpc.pb.go"), text)?);
            }
            Ok(out)
        },
    )?;
    let files: Vec<GeneratedFile> = per_file.into_iter().flatten().collect();

    // The high-level client: one wrapper per service of the target files.
    let accessors = service_accessors(model);
    let mut aliases: HashMap<String, String> = HashMap::new();
    let mut taken: BTreeSet<String> = names::RESERVED_ALIASES.iter().map(|s| (*s).to_owned()).collect();
    let mut imports = Vec::new();
    let mut services = Vec::new();
    let mut fields_taken: BTreeSet<String> = names::CLIENT_MEMBERS.iter().map(|s| (*s).to_owned()).collect();
    let mut types_taken: BTreeSet<String> = names::RUNTIME_TYPES.iter().map(|s| (*s).to_owned()).collect();
    for file in model.targets() {
        if file.services.is_empty() {
            continue;
        }
        let alias = alias_for(&packages[&file.name], &mut aliases, &mut taken, &mut imports);
        for s in &file.services {
            let go_name = universe.service_ident(&s.full_name).to_owned();
            // GoCamelCase as the plugins name the service (`foo_bar` → `FooBar`, `_x` → `XX`), so
            // the accessor is exported whatever the proto spelling.
            let mut field = names::go_camel_case(&accessors[&s.full_name]);
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
                let ident = universe.ident(full);
                (format!("{a}.{ident}"), format!("{}.{ident}", p.name))
            };
            let mut methods = Vec::new();
            let raw_names = names::method_names(s.methods.iter().map(|m| m.name.as_str()));
            let mut wrapper_taken: BTreeSet<String> = names::WRAPPER_MEMBERS.iter().map(|s| (*s).to_owned()).collect();
            for (m, raw_name) in s.methods.iter().zip(raw_names) {
                let (input, input_public) = type_of(&m.input);
                let (output, output_public) = type_of(&m.output);
                // The wrapper's own methods (ServiceName, Raw) keep their names; an rpc named
                // like one gets protogen's `_` suffix on the wrapper (the raw client keeps it).
                let mut name = raw_name.clone();
                while !wrapper_taken.insert(name.clone()) {
                    name.push('_');
                }
                methods.push(with_kind_flags(
                    json!({
                        "name": name,
                        "raw_name": raw_name,
                        "proto_name": m.name,
                        "kind": m.kind,
                        "input": input,
                        "output": output,
                        "input_public": input_public,
                        "output_public": output_public,
                        "doc": doc(&m.comments.doc_lines(), m.deprecated),
                        "deprecated": m.deprecated,
                    }),
                    m.kind,
                ));
            }
            services.push(json!({
                "accessor": field,
                "full_name": s.full_name,
                // One-line funcs as gofmt prints them (split past 100 columns).
                "service_name_func": gofmt::short_func(
                    &format!("func (*{class}) ServiceName() string"),
                    Some(&format!("return {}", names::go_quote(s.full_name.as_bytes()))),
                ),
                "raw_func": gofmt::short_func(
                    &format!("func (s *{class}) Raw() {alias}.{go_name}Client"),
                    Some("return s.raw"),
                ),
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

/// Deviation from protoc-gen-go, whose packages (one per proto directory) would import each
/// other in a cycle when files of two directories import each other's files (`a/v1/three.proto`
/// imports `b/v1/two.proto`, which imports `a/v1/one.proto`), which Go does not compile: every
/// file of the directories on such a cycle gets a package of its own, `gen/a/v1/onepb`
/// (package `onepb`; a digit is added if the path is taken). Proto files never import each other
/// in a cycle, so these packages cannot; other directories keep their packages.
fn break_import_cycles(set: &[prost_types::FileDescriptorProto], packages: &mut HashMap<String, pb::GoPackage>) {
    let generated = |name: &str| !name.starts_with("google/protobuf/");
    let mut nodes: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut node = |path: &str, nodes: &mut Vec<String>| -> usize {
        *index.entry(path.to_owned()).or_insert_with(|| {
            nodes.push(path.to_owned());
            nodes.len() - 1
        })
    };
    let mut edges: Vec<BTreeSet<usize>> = Vec::new();
    for f in set.iter().filter(|f| generated(f.name())) {
        let from = node(&packages[f.name()].import_path, &mut nodes);
        for d in f.dependency.iter().filter(|d| generated(d)) {
            let to = node(&packages[d.as_str()].import_path, &mut nodes);
            edges.resize(nodes.len(), BTreeSet::new());
            if to != from {
                edges[from].insert(to);
            }
        }
        edges.resize(nodes.len(), BTreeSet::new());
    }
    let cyclic: HashSet<usize> = cyclic_nodes(&edges);
    if cyclic.is_empty() {
        return;
    }
    let mut used: HashSet<String> = packages.values().map(|p| p.import_path.clone()).collect();
    let mut names: Vec<&str> = set.iter().map(|f| f.name()).filter(|n| generated(n)).collect();
    names.sort_unstable();
    for name in names {
        let pkg = &packages[name];
        if !cyclic.contains(&index[&pkg.import_path]) {
            continue;
        }
        let base = name.rsplit('/').next().unwrap_or_default();
        let stem: String =
            base.strip_suffix(".proto").unwrap_or(base).chars().filter(char::is_ascii_alphanumeric).collect();
        let leaf = format!("{}pb", stem.to_ascii_lowercase());
        let mut path = format!("{}/{leaf}", pkg.import_path);
        let mut n = 2;
        while used.contains(&path) {
            path = format!("{}/{leaf}{n}", pkg.import_path);
            n += 1;
        }
        used.insert(path.clone());
        let leaf_name = path.rsplit('/').next().unwrap_or_default().to_owned();
        packages.insert(name.to_owned(), pb::GoPackage { import_path: path, name: names::package_name(&leaf_name) });
    }
}

/// The nodes on a cycle of a directed graph (members of a strongly connected component of more
/// than one node; self-edges are not kept), by Kosaraju's algorithm, iteratively.
fn cyclic_nodes(edges: &[BTreeSet<usize>]) -> HashSet<usize> {
    let n = edges.len();
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, edges[start].iter().copied().collect())];
        while let Some((v, next)) = stack.last_mut() {
            if let Some(w) = next.pop() {
                if !seen[w] {
                    seen[w] = true;
                    stack.push((w, edges[w].iter().copied().collect()));
                }
            } else {
                order.push(*v);
                stack.pop();
            }
        }
    }
    let mut reverse = vec![Vec::new(); n];
    for (v, ws) in edges.iter().enumerate() {
        for &w in ws {
            reverse[w].push(v);
        }
    }
    let mut component = vec![usize::MAX; n];
    let mut out = HashSet::new();
    for (c, &root) in order.iter().rev().enumerate() {
        if component[root] != usize::MAX {
            continue;
        }
        component[root] = c;
        let mut members = vec![root];
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            for &w in &reverse[v] {
                if component[w] == usize::MAX {
                    component[w] = c;
                    members.push(w);
                    stack.push(w);
                }
            }
        }
        if members.len() > 1 {
            out.extend(members);
        }
    }
    out
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
    let name = pkg.name.trim_matches('_');
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
        // The wrapper's own methods, names::WRAPPER_MEMBERS.
        assert_eq!(store["service_name_func"], "func (*StoreClient) ServiceName() string { return \"store.Store\" }");
        assert_eq!(store["raw_func"], "func (s *StoreClient) Raw() storepb.StoreClient { return s.raw }");
    }

    /// The Go keyword-torture set (tests/protos/names/go): protogen's `_` suffixes, and micro-gen's
    /// deviations where protoc-gen-go's output would not compile.
    #[test]
    fn torture_set_names() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/protos/names/go");
        let files = ["type/chan/chan.proto", "type/chan/legacy.proto", "go/select/select.proto", "main/main.proto"];
        let source =
            ProtoSource::Files { files: files.iter().map(|f| root.join(f)).collect(), includes: vec![root.clone()] };
        let model = Model::build(&load(&source).unwrap()).unwrap();
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        let text = |path: &str| plan.files.iter().find(|f| f.path == path).unwrap().contents.clone();
        let chan = text("gen/type/chan/chan.pb.go");
        assert!(chan.starts_with("// Go keyword torture") && chan.contains("\npackage _chan\n"));
        for decl in ["\tXVar_ ", "\tReset_ ", "\tGetX_ ", "\tY_ ", "\tSwitch isChan_Switch", "type Chan_Struct_ struct"]
        {
            assert!(chan.contains(decl), "{decl}");
        }
        let legacy = text("gen/type/chan/legacy.pb.go");
        assert!(legacy.contains("\tFooBar_ ") && legacy.contains("Default_Legacy_String_ "));
        assert!(legacy.contains("name=Result,json=result"));
        let main = text("gen/main/main.pb.go");
        assert!(main.contains("\npackage _main\n") && main.contains("init1 \""));
        for decl in
            ["\tKind_name_ ", "\tKind_name = map", "\tProtoReflect_ ", "\tGetSwitch_ ", "type PromiseThen_ struct"]
        {
            assert!(main.contains(decl), "{decl}");
        }
        let grpc = text("gen/main/main_grpc.pb.go");
        assert!(grpc.contains("type Main_Client interface") && grpc.contains("type Main__Client interface"));
        assert!(grpc.contains("\tClose_(ctx context.Context") && grpc.contains("\"/go.main.Main/close\""));
        let services = plan.root["services"].as_array().unwrap();
        let accessors: Vec<&str> = services.iter().map(|s| s["accessor"].as_str().unwrap()).collect();
        assert!(accessors.contains(&"MainService") && accessors.contains(&"Client") && accessors.contains(&"Error"));
        let go = services.iter().find(|s| s["full_name"] == "go.select.Go").unwrap();
        let methods: Vec<(&str, &str)> = go["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["name"].as_str().unwrap(), m["raw_name"].as_str().unwrap()))
            .collect();
        assert!(methods.contains(&("Raw_", "Raw")) && methods.contains(&("ServiceName_", "ServiceName")));
        assert!(methods.contains(&("Interface", "Interface")) && methods.contains(&("String", "String")));
    }

    #[test]
    fn cycles_are_found() {
        let g = |e: &[&[usize]]| e.iter().map(|ws| ws.iter().copied().collect::<BTreeSet<usize>>()).collect::<Vec<_>>();
        assert!(cyclic_nodes(&g(&[&[1], &[2], &[]])).is_empty());
        assert_eq!(cyclic_nodes(&g(&[&[1], &[0], &[0]])), HashSet::from([0, 1]));
        assert_eq!(cyclic_nodes(&g(&[&[1], &[2], &[0, 3], &[]])), HashSet::from([0, 1, 2]));
    }

    #[test]
    fn aliases_add_pb_once_and_stay_unique() {
        let (mut aliases, mut imports) = (HashMap::new(), Vec::new());
        let mut taken: BTreeSet<String> = names::RESERVED_ALIASES.iter().map(|s| (*s).to_owned()).collect();
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
