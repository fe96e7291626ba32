//! The Ruby view model.
//!
//! Output layout (`sdks/ruby`, a gem, `micro-sdk` by default): `lib/micro/<dir>/<stem>_pb.rb`
//! per proto file, built from the embedded serialized file descriptor with
//! `DescriptorPool#add_serialized_file` as protoc's Ruby output is (constants such as
//! `Store::ReadRequest`, modules from the proto package); `<stem>_services_pb.rb` with the grpc
//! gem's `GRPC::GenericService` and `Stub` per service, as grpc_tools_ruby_protoc writes them;
//! `<stem>_client.rb` with the SDK's typed client per service (`Micro::StoreClient`);
//! `lib/micro/client.rb` with `Micro::Client`; the runtime `lib/micro/runtime.rb`. Files inside
//! the gem load each other with `require_relative` only.

pub mod names;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::{Error, Result};
use crate::lang::{ascii_literal, example_service, generator_name, service_accessors, with_deprecation};
use crate::model::{Comments, Enum, File, Message, Model, StreamingKind};
use crate::render::Plan;

use names::*;

/// The gem name used when none is configured.
pub const DEFAULT_PACKAGE_NAME: &str = "micro-sdk";

/// The path of a proto file's generated file with `suffix`, relative to `lib/micro`
/// (`store/store.proto`, `_pb` → `store/store_pb`), without `.rb`.
fn lib_path(proto: &str, suffix: &str) -> String {
    let stem = proto.trim_end_matches(".proto");
    let parts: Vec<String> = stem.split('/').map(path_segment).collect();
    format!("{}{suffix}", parts.join("/"))
}

/// `require_relative` target from the file at `from` (relative to `lib/micro`, no extension) to
/// `to` (same form).
fn relative(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = from.split('/').collect::<Vec<_>>()[..from.split('/').count() - 1].to_vec();
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from_dir.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let mut out: Vec<String> = vec!["..".to_owned(); from_dir.len() - common];
    out.extend(to_parts[common..].iter().map(|s| (*s).to_owned()));
    out.join("/")
}

/// A double-quoted Ruby string literal for `data`, ASCII-only, with no interpolation (`#` escaped).
fn string_literal(data: &[u8]) -> String {
    ascii_literal(data, b'"', b"#", true)
}

/// YARD comment text lines (without the `# ` prefix), with `@deprecated` when deprecated.
fn doc(comments: &Comments, deprecated: bool) -> Vec<String> {
    with_deprecation(
        comments.doc_lines(),
        deprecated,
        "@deprecated This element is deprecated in the proto definition.",
    )
}

/// The Ruby constant path of a message or enum, from the top level (`::Acme::Shop::V1::Order::Line`).
fn type_ref(model: &Model, full_name: &str) -> String {
    let info = model.type_info(full_name);
    let package = model.file(&info.file).map(|f| f.package.as_str()).unwrap_or_default();
    let mut parts = package_modules(package);
    parts.extend(info.nesting.iter().map(|n| type_constant(n)));
    format!("::{}", parts.join("::"))
}

/// The module name of each service of a package: its constant, salted with `_` when a message or
/// enum of the package takes it (both live in the package's module).
fn service_modules(model: &Model, package: &str) -> HashMap<String, String> {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for f in model.files.iter().filter(|f| f.package == package) {
        taken.extend(f.messages.iter().map(|m| type_constant(&m.name)));
        taken.extend(f.enums.iter().map(|e| type_constant(&e.name)));
    }
    let mut out = HashMap::new();
    for f in model.files.iter().filter(|f| f.package == package) {
        for s in &f.services {
            let mut name = type_constant(&s.name);
            while !taken.insert(name.clone()) {
                name.push('_');
            }
            out.insert(s.full_name.clone(), name);
        }
    }
    out
}

/// The module nesting of a package as lines to open, lines to close and the body's indentation.
/// With `package`, each module gets a YARD comment naming its proto package.
fn module_frame(modules: &[String], package: Option<&str>) -> (Vec<String>, Vec<String>, String) {
    let segments: Vec<&str> = package.map(|p| p.split('.').collect()).unwrap_or_default();
    let mut open = Vec::new();
    for (i, m) in modules.iter().enumerate() {
        let indent = "  ".repeat(i);
        if !segments.is_empty() {
            let name = segments[..=i].join(".");
            if i + 1 == modules.len() {
                open.push(format!("{indent}# Messages, enums and services of the proto package `{name}`."));
            } else {
                open.push(format!("{indent}# The proto packages under `{name}`."));
            }
        }
        open.push(format!("{indent}module {m}"));
    }
    let close = (0..modules.len()).rev().map(|i| format!("{}end", "  ".repeat(i))).collect();
    (open, close, "  ".repeat(modules.len()))
}

/// Builds the Ruby plan.
pub(crate) fn plan(model: &Model, options: &SdkOptions) -> Result<Plan> {
    let version = options.version.clone();
    let accessors = service_accessors(model);
    let mut renders = Vec::new();
    let mut services = Vec::new();
    let mut requires = Vec::new();
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    for file in model.targets() {
        let pb = lib_path(&file.name, "_pb");
        for p in [pb.clone(), lib_path(&file.name, "_services_pb"), lib_path(&file.name, "_client")] {
            if let Some(other) = paths.insert(p.clone(), file.name.clone()) {
                return Err(Error::invalid(format!(
                    "'{other}' and '{}' would both generate 'lib/micro/{p}.rb'; rename one of them",
                    file.name
                )));
            }
        }
        renders.push(("proto/pb.rb.hbs".to_owned(), format!("lib/micro/{pb}.rb"), pb_view(file, &pb)));
        requires.push(format!("micro/{pb}"));
        if !file.services.is_empty() {
            let svc = lib_path(&file.name, "_services_pb");
            let client = lib_path(&file.name, "_client");
            renders.push((
                "proto/services_pb.rb.hbs".to_owned(),
                format!("lib/micro/{svc}.rb"),
                services_view(model, file, &svc, &pb),
            ));
            let view = client_view(model, file, &client, &svc, &accessors);
            services.extend(view["services"].as_array().cloned().unwrap_or_default());
            renders.push(("proto/client.rb.hbs".to_owned(), format!("lib/micro/{client}.rb"), view));
            requires.push(format!("micro/{svc}"));
            requires.push(format!("micro/{client}"));
        }
    }
    services.sort_by(|a, b| a["accessor"].as_str().cmp(&b["accessor"].as_str()));
    let client_requires: BTreeSet<String> = services
        .iter()
        .filter_map(|s| s["module"].as_str().and_then(|m| m.strip_prefix("micro/")).map(str::to_owned))
        .collect();
    let package_name = options.package_name.clone().unwrap_or_else(|| DEFAULT_PACKAGE_NAME.to_owned());
    let mut root = json!({
        "package_name": package_name.clone(),
        "version": version,
        "user_agent": format!("micro-sdk-ruby/{version}"),
        "generator": generator_name(),
        "requires": requires,
        "client_requires": client_requires,
        "services": services,
        "example_service": example_service(&services).unwrap_or(Value::Null),
    });
    crate::lang::stamp_identity(&mut root, options, "Typed Ruby clients (grpc gem) for the gRPC services of Micro v3");
    renders.push(("proto/gemspec.hbs".to_owned(), format!("{package_name}.gemspec"), root.clone()));
    Ok(Plan { root, package_dir: package_name, renders, files: Vec::new(), formatter: None })
}

fn pb_view(file: &File, path: &str) -> Value {
    let mut requires = Vec::new();
    for dep in &file.dependencies {
        if let Some(wkt) = dep.strip_prefix("google/protobuf/") {
            requires.push(format!("require 'google/protobuf/{}_pb'", wkt.trim_end_matches(".proto")));
        } else {
            requires.push(format!("require_relative '{}'", relative(path, &lib_path(dep, "_pb"))));
        }
    }
    let modules = package_modules(&file.package);
    let (open, close, indent) = module_frame(&modules, Some(&file.package));
    let mut constants = Vec::new();
    fn walk_enum(e: &Enum, prefix: &str, out: &mut Vec<Value>) {
        out.push(json!({
            "name": format!("{prefix}{}", type_constant(&e.name)),
            "full_name": e.full_name,
            "accessor": "enummodule",
            "doc": doc(&e.comments, e.deprecated),
        }));
    }
    fn walk(m: &Message, prefix: &str, out: &mut Vec<Value>) {
        let name = format!("{prefix}{}", type_constant(&m.name));
        out.push(json!({
            "name": name,
            "full_name": m.full_name,
            "accessor": "msgclass",
            "doc": doc(&m.comments, m.deprecated),
        }));
        let inner = format!("{name}::");
        for n in &m.messages {
            walk(n, &inner, out);
        }
        for e in &m.enums {
            walk_enum(e, &inner, out);
        }
    }
    for m in &file.messages {
        walk(m, "", &mut constants);
    }
    for e in &file.enums {
        walk_enum(e, "", &mut constants);
    }
    json!({
        "proto_name": file.name,
        "generator": generator_name(),
        "doc": doc(&file.comments, file.deprecated),
        "descriptor_literal": string_literal(&file.descriptor),
        "requires": requires,
        "open": open,
        "close": close,
        "indent": indent,
        "constants": constants,
    })
}

fn kind(k: StreamingKind) -> &'static str {
    match k {
        StreamingKind::Unary => "unary",
        StreamingKind::ServerStreaming => "server_streaming",
        StreamingKind::ClientStreaming => "client_streaming",
        StreamingKind::Bidi => "bidi",
    }
}

fn services_view(model: &Model, file: &File, path: &str, pb: &str) -> Value {
    let modules = package_modules(&file.package);
    let (open, close, indent) = module_frame(&modules, None);
    let service_modules = service_modules(model, &file.package);
    let services: Vec<Value> = file
        .services
        .iter()
        .map(|s| {
            json!({
                "module": service_modules[&s.full_name],
                "full_name": s.full_name,
                "doc": doc(&s.comments, s.deprecated),
                "methods": s.methods.iter().map(|m| {
                    let input = type_ref(model, &m.input);
                    let output = type_ref(model, &m.output);
                    let (input, output) = match m.kind {
                        StreamingKind::Unary => (input, output),
                        StreamingKind::ServerStreaming => (input, format!("stream({output})")),
                        StreamingKind::ClientStreaming => (format!("stream({input})"), output),
                        StreamingKind::Bidi => (format!("stream({input})"), format!("stream({output})")),
                    };
                    json!({ "proto_name": m.name, "input": input, "output": output, "doc": doc(&m.comments, m.deprecated) })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "proto_name": file.name,
        "generator": generator_name(),
        "pb_require": relative(path, pb),
        "open": open,
        "close": close,
        "method_indent": format!("{indent}    "),
        "indent": indent,
        "services": services,
    })
}

fn client_view(model: &Model, file: &File, path: &str, svc: &str, accessors: &HashMap<String, String>) -> Value {
    let package_prefix = {
        let m = package_modules(&file.package);
        if m.is_empty() { "::".to_owned() } else { format!("::{}::", m.join("::")) }
    };
    let service_modules = service_modules(model, &file.package);
    let mut services = Vec::new();
    for s in &file.services {
        let base = &accessors[&s.full_name];
        let mut taken = BTreeSet::new();
        let methods: Vec<Value> = s
            .methods
            .iter()
            .map(|m| {
                let mut name = method_name(&m.name);
                while !taken.insert(name.clone()) {
                    name.push('_');
                }
                json!({
                    "name": name,
                    "proto_name": m.name,
                    "path": format!("/{}/{}", s.full_name, m.name),
                    "kind": kind(m.kind),
                    "input": type_ref(model, &m.input),
                    "output": type_ref(model, &m.output),
                    "doc": doc(&m.comments, m.deprecated),
                })
            })
            .collect();
        services.push(json!({
            "accessor": method_name(base),
            "client_class": type_constant(&format!("{base}Client")),
            "full_name": s.full_name,
            "service": format!("{package_prefix}{}::Service", service_modules[&s.full_name]),
            "module": format!("micro/{path}"),
            "doc": doc(&s.comments, s.deprecated),
            "methods": methods,
        }));
    }
    json!({
        "proto_name": file.name,
        "generator": generator_name(),
        "runtime_require": relative(path, "runtime"),
        "services_require": relative(path, svc),
        "services": services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_requires() {
        assert_eq!(lib_path("store/store.proto", "_pb"), "store/store_pb");
        assert_eq!(lib_path("acme/shop/v1/shop.proto", "_client"), "acme/shop/v1/shop_client");
        assert_eq!(lib_path("my-x/a.b.proto", "_pb"), "my_x/a_b_pb");
        assert_eq!(relative("store/store_client", "runtime"), "../runtime");
        assert_eq!(relative("store/store_client", "store/store_services_pb"), "store_services_pb");
        assert_eq!(relative("acme/shop/v1/shop_pb", "acme/common/v1/types_pb"), "../../common/v1/types_pb");
        assert_eq!(relative("x_pb", "runtime"), "runtime");
    }

    #[test]
    fn string_literals_escape_everything_unsafe() {
        assert_eq!(string_literal(b"a\"\\#{\n\x00\xff"), "\"a\\\"\\\\\\#{\\n\\x00\\xFF\"");
    }
}
