//! The Python view model.
//!
//! Output layout (`sdks/python`): `src/<import>/<dir>/<stem>_pb2.py` per proto file, built from
//! the embedded serialized file descriptor with `google.protobuf.internal.builder` as modern
//! protoc output is, with a `.pyi` stub beside it; `<stem>_client.py` with a sync and an asyncio
//! client class per service; `__init__.py` in every package directory; `_micro.py` with `Micro`
//! and `AsyncMicro`; the runtime `_runtime.py`. Imports inside the package are relative only.

pub mod names;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::Result;
use crate::lang::{ascii_literal, example_service, generator_name, service_accessors, with_deprecation};
use crate::model::{Comments, Enum, FieldType, File, Label, Message, Model, Scalar, StreamingKind};
use crate::render::Plan;

use names::*;

/// The PyPI distribution name used when none is configured.
pub const DEFAULT_PACKAGE_NAME: &str = "micro-sdk";
/// The import name of the generated package.
pub const IMPORT_NAME: &str = "micro";

/// The module path segments (under the import package) of a proto file's generated module with
/// `suffix` (`store/store.proto`, `_pb2` → `["store", "store_pb2"]`).
fn module_segments(proto: &str, suffix: &str) -> Vec<String> {
    let stem = proto.trim_end_matches(".proto");
    let mut parts: Vec<String> = stem.split('/').map(module_segment).collect();
    if let Some(last) = parts.last_mut() {
        *last = format!("{}{suffix}", last.trim_end_matches('_'));
        if KEYWORDS.contains(&last.as_str()) {
            last.push('_');
        }
    }
    parts
}

/// `from <dots><pkg> import <module> as <alias>` from a module in package `from_pkg` (segments
/// below the import package) to the module `to` (segments, last is the module).
fn relative_import(from_pkg: &[String], to: &[String], alias: &str) -> String {
    let dots = ".".repeat(from_pkg.len() + 1);
    let (pkg, module) = to.split_at(to.len() - 1);
    format!("from {dots}{} import {} as {alias}", pkg.join("."), module[0])
}

/// protoc's alias for an imported `_pb2` module (`router/router.proto` → `router_dot_router__pb2`).
fn pb2_alias(proto: &str) -> String {
    let stem = proto.trim_end_matches(".proto");
    format!("{}__pb2", stem.replace('_', "__").replace('/', "_dot_").replace('-', "_"))
}

/// A Python `bytes` literal for `data`, ASCII-only.
fn bytes_literal(data: &[u8]) -> String {
    format!("b{}", ascii_literal(data, b'\'', &[], false))
}

/// Docstring lines: escaped so no line can end the docstring early.
fn doc(comments: &Comments, deprecated: bool) -> Vec<String> {
    let lines =
        comments.doc_lines().iter().map(|l| l.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")).collect();
    with_deprecation(lines, deprecated, ".. deprecated:: this element is deprecated in the proto definition.")
}

/// The stub type of a scalar, through `builtins` so a field named `str` or `int` cannot shadow it.
fn scalar_type(s: Scalar) -> &'static str {
    match s {
        Scalar::Double | Scalar::Float => "_builtins.float",
        Scalar::Bool => "_builtins.bool",
        Scalar::String => "_builtins.str",
        Scalar::Bytes => "_builtins.bytes",
        _ => "_builtins.int",
    }
}

/// Builds the Python plan.
pub(crate) fn plan(model: &Model, options: &SdkOptions) -> Result<Plan> {
    let version = options.version.clone();
    let accessors = service_accessors(model);
    let mut renders = Vec::new();
    let mut dirs: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut services = Vec::new();
    for file in model.targets() {
        let segments = module_segments(&file.name, "_pb2");
        let pkg: Vec<String> = segments[..segments.len() - 1].to_vec();
        for i in 1..=pkg.len() {
            dirs.insert(pkg[..i].to_vec());
        }
        let base_path = format!("src/{IMPORT_NAME}/{}", segments.join("/"));
        let view = pb2_view(model, file, &pkg);
        renders.push(("proto/pb2.py.hbs".to_owned(), format!("{base_path}.py"), view.clone()));
        renders.push(("proto/pb2.pyi.hbs".to_owned(), format!("{base_path}.pyi"), view));
        if !file.services.is_empty() {
            let client_segments = module_segments(&file.name, "_client");
            let client = client_view(model, file, &pkg, &accessors);
            for s in client["services"].as_array().into_iter().flatten() {
                let mut entry = s.clone();
                entry["module"] = json!(format!(".{}", client_segments.join(".")));
                services.push(entry);
            }
            renders.push((
                "proto/client.py.hbs".to_owned(),
                format!("src/{IMPORT_NAME}/{}.py", client_segments.join("/")),
                client,
            ));
        }
    }
    for dir in dirs {
        let packages: Vec<&File> = model.targets().filter(|f| module_segments(&f.name, "").starts_with(&dir)).collect();
        let proto_packages: BTreeSet<&str> = packages.iter().map(|f| f.package.as_str()).collect();
        renders.push((
            "proto/package_init.py.hbs".to_owned(),
            format!("src/{IMPORT_NAME}/{}/__init__.py", dir.join("/")),
            json!({
                "generator": generator_name(),
                "dotted": dir.join("."),
                "proto_packages": proto_packages.into_iter().collect::<Vec<_>>(),
            }),
        ));
    }
    services.sort_by(|a, b| a["accessor"].as_str().cmp(&b["accessor"].as_str()));
    let package_name = options.package_name.clone().unwrap_or_else(|| DEFAULT_PACKAGE_NAME.to_owned());
    let mut root = json!({
        "package_name": package_name,
        "version": version,
        "user_agent": format!("micro-sdk-python/{version}"),
        "generator": generator_name(),
        "import_name": IMPORT_NAME,
        "services": services,
        "example_service": example_service(&services).unwrap_or(Value::Null),
    });
    crate::lang::stamp_identity(
        &mut root,
        options,
        "Typed Python clients (grpcio, sync and asyncio) for the gRPC services of Micro v3",
    );
    Ok(Plan { root, package_dir: IMPORT_NAME.to_owned(), renders, files: Vec::new(), formatter: None })
}

/// Resolves type names as seen from one generated module, recording the imports they need.
struct Types<'a> {
    model: &'a Model,
    file: &'a str,
    pkg: &'a [String],
    /// alias → import line
    imports: BTreeMap<String, String>,
}

impl Types<'_> {
    /// The Python expression naming a message or enum class (`Record`, `Outer.Inner`,
    /// `router_dot_router__pb2.Route`). `local` is false in client modules, where every type is
    /// qualified by its `_pb2` module.
    fn class(&mut self, full_name: &str, local: bool) -> String {
        let info = self.model.type_info(full_name);
        let nested = info.nesting.join(".");
        if local && info.file == self.file {
            return nested;
        }
        let alias = pb2_alias(&info.file);
        if !self.imports.contains_key(&alias) {
            let line = if let Some(wkt) = info.file.strip_prefix("google/protobuf/") {
                format!("from google.protobuf import {}_pb2 as {alias}", wkt.trim_end_matches(".proto"))
            } else {
                relative_import(self.pkg, &module_segments(&info.file, "_pb2"), &alias)
            };
            self.imports.insert(alias.clone(), line);
        }
        format!("{alias}.{nested}")
    }

    fn value(&mut self, ty: &FieldType) -> String {
        match ty {
            FieldType::Scalar(s) => scalar_type(*s).to_owned(),
            FieldType::Enum(n) | FieldType::Message(n) => self.class(n, true),
            FieldType::Map { .. } => unreachable!("map values are never maps"),
        }
    }
}

fn pb2_view(model: &Model, file: &File, pkg: &[String]) -> Value {
    let mut types = Types { model, file: &file.name, pkg, imports: BTreeMap::new() };
    // Every dependency is imported so its descriptors are in the pool before this file's.
    let mut dep_imports = Vec::new();
    for dep in &file.dependencies {
        let alias = pb2_alias(dep);
        let line = if let Some(wkt) = dep.strip_prefix("google/protobuf/") {
            format!("from google.protobuf import {}_pb2 as {alias}", wkt.trim_end_matches(".proto"))
        } else {
            relative_import(pkg, &module_segments(dep, "_pb2"), &alias)
        };
        types.imports.insert(alias.clone(), line.clone());
        dep_imports.push(line);
    }
    let messages: Vec<Value> = file.messages.iter().map(|m| message_view(m, &mut types)).collect();
    let enums: Vec<Value> = file.enums.iter().map(|e| enum_view(e, model)).collect();
    let top_values: Vec<Value> = file
        .enums
        .iter()
        .flat_map(|e| {
            e.values
                .iter()
                .filter(|v| !KEYWORDS.contains(&v.name.as_str()))
                .map(move |v| json!({ "name": v.name, "enum": e.name }))
        })
        .collect();
    json!({
        "proto_name": file.name,
        "generator": generator_name(),
        "doc": doc(&file.comments, file.deprecated),
        "descriptor_literal": bytes_literal(&file.descriptor),
        "dep_imports": dep_imports,
        "stub_imports": types.imports.values().cloned().collect::<Vec<_>>(),
        "messages": messages,
        "enums": enums,
        "enum_values": top_values,
    })
}

fn enum_view(e: &Enum, model: &Model) -> Value {
    json!({
        "name": e.name,
        "qualified": model.type_info(&e.full_name).nesting.join("."),
        "doc": doc(&e.comments, e.deprecated),
        "values": e.values.iter().filter(|v| !KEYWORDS.contains(&v.name.as_str())).map(|v| json!({ "name": v.name, "number": v.number })).collect::<Vec<_>>(),
    })
}

fn message_view(m: &Message, types: &mut Types<'_>) -> Value {
    let mut fields = Vec::new();
    for f in &m.fields {
        if KEYWORDS.contains(&f.name.as_str()) {
            continue; // not expressible as an attribute; reachable with getattr()
        }
        let (attr, init) = match (&f.label, &f.ty) {
            (Label::Map, FieldType::Map { key, value }) => {
                let k = scalar_type(*key);
                let v = types.value(value);
                let container =
                    if matches!(value.as_ref(), FieldType::Message(_)) { "MessageMap" } else { "ScalarMap" };
                (format!("_containers.{container}[{k}, {v}]"), format!("_Optional[_Mapping[{k}, {v}]]"))
            }
            (Label::Repeated, FieldType::Message(n)) => {
                let c = types.class(n, true);
                (
                    format!("_containers.RepeatedCompositeFieldContainer[{c}]"),
                    format!("_Optional[_Iterable[_Union[{c}, _Mapping[_builtins.str, _Any]]]]"),
                )
            }
            (Label::Repeated, FieldType::Enum(n)) => {
                let c = types.class(n, true);
                (
                    format!("_containers.RepeatedScalarFieldContainer[{c}]"),
                    format!("_Optional[_Iterable[_Union[{c}, _builtins.str]]]"),
                )
            }
            (Label::Repeated, ty) => {
                let t = types.value(ty);
                (format!("_containers.RepeatedScalarFieldContainer[{t}]"), format!("_Optional[_Iterable[{t}]]"))
            }
            (_, FieldType::Message(n)) => {
                let c = types.class(n, true);
                (c.clone(), format!("_Optional[_Union[{c}, _Mapping[_builtins.str, _Any]]]"))
            }
            (_, FieldType::Enum(n)) => {
                let c = types.class(n, true);
                (c.clone(), format!("_Optional[_Union[{c}, _builtins.str]]"))
            }
            (_, ty) => {
                let t = types.value(ty);
                (t.clone(), format!("_Optional[{t}]"))
            }
        };
        fields.push(json!({
            "name": f.name,
            "number_const": format!("{}_FIELD_NUMBER", f.name.to_uppercase()),
            "attr_type": attr,
            "init_type": init,
        }));
    }
    json!({
        "name": m.name,
        "doc": doc(&m.comments, m.deprecated),
        "slots": m.fields.iter().filter(|f| !KEYWORDS.contains(&f.name.as_str())).map(|f| format!("{:?}", f.name)).collect::<Vec<_>>().join(", "),
        "fields": fields,
        "messages": m.messages.iter().map(|n| message_view(n, types)).collect::<Vec<_>>(),
        "enums": m.enums.iter().map(|e| enum_view(e, types.model)).collect::<Vec<_>>(),
        "enum_values": m.enums.iter().flat_map(|e| {
            let qualified = types.model.type_info(&e.full_name).nesting.join(".");
            e.values.iter().filter(|v| !KEYWORDS.contains(&v.name.as_str())).map(move |v| json!({ "name": v.name, "enum": qualified.clone() }))
        }).collect::<Vec<_>>(),
        "is_empty": m.fields.is_empty() && m.messages.is_empty() && m.enums.is_empty(),
    })
}

fn client_view(
    model: &Model,
    file: &File,
    pkg: &[String],
    accessors: &std::collections::HashMap<String, String>,
) -> Value {
    let mut types = Types { model, file: &file.name, pkg, imports: BTreeMap::new() };
    let mut services = Vec::new();
    for s in &file.services {
        let base = &accessors[&s.full_name];
        let mut taken = BTreeSet::new();
        let methods: Vec<Value> = s
            .methods
            .iter()
            .map(|m| {
                let mut name = member_name(&m.name);
                while !taken.insert(name.clone()) {
                    name.push('_');
                }
                json!({
                    "name": name,
                    "proto_name": m.name,
                    "path": format!("/{}/{}", s.full_name, m.name),
                    "kind": match m.kind {
                        StreamingKind::Unary => "unary",
                        StreamingKind::ServerStreaming => "server_streaming",
                        StreamingKind::ClientStreaming => "client_streaming",
                        StreamingKind::Bidi => "bidi",
                    },
                    "input": types.class(&m.input, false),
                    "output": types.class(&m.output, false),
                    "input_name": model.type_info(&m.input).nesting.join("."),
                    "output_name": model.type_info(&m.output).nesting.join("."),
                    "messages_module": format!("{IMPORT_NAME}.{}", module_segments(&model.type_info(&m.input).file, "_pb2").join(".")),
                    "doc": doc(&m.comments, m.deprecated),
                })
            })
            .collect();
        let service_doc = doc(&s.comments, s.deprecated);
        let summary = service_doc.iter().take_while(|l| !l.is_empty()).cloned().collect::<Vec<_>>().join(" ");
        services.push(json!({
            "summary": if summary.is_empty() { format!("The ``{}`` service.", s.full_name) } else { summary },
            "accessor": member_name(base),
            "client_class": class_name(&format!("{base}Client")),
            "async_client_class": class_name(&format!("Async{base}Client")),
            "full_name": s.full_name,
            "doc": doc(&s.comments, s.deprecated),
            "methods": methods,
        }));
    }
    json!({
        "proto_name": file.name,
        "generator": generator_name(),
        "runtime_import": format!("from {} import _runtime", ".".repeat(pkg.len() + 1)),
        "imports": types.imports.values().cloned().collect::<Vec<_>>(),
        "services": services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_and_imports() {
        assert_eq!(module_segments("store/store.proto", "_pb2"), ["store", "store_pb2"]);
        assert_eq!(module_segments("a/class/import.proto", "_client"), ["a", "class_", "import_client"]);
        let from = vec!["network".to_owned()];
        assert_eq!(
            relative_import(&from, &module_segments("router/router.proto", "_pb2"), "router_dot_router__pb2"),
            "from ..router import router_pb2 as router_dot_router__pb2"
        );
        assert_eq!(relative_import(&[], &["x_pb2".to_owned()], "x__pb2"), "from . import x_pb2 as x__pb2");
        assert_eq!(pb2_alias("google/protobuf/timestamp.proto"), "google_dot_protobuf_dot_timestamp__pb2");
    }

    #[test]
    fn bytes_literals_escape_everything_unsafe() {
        assert_eq!(bytes_literal(b"a'\\\n\x00\xff"), "b'a\\'\\\\\\n\\x00\\xff'");
    }
}
