//! The TypeScript view model.
//!
//! Output layout (`sdks/ts`): `src/gen/<dir>/<stem>_pb.ts` per proto file in the shape
//! protoc-gen-es v2 generates (file descriptor embedded, `XSchema` consts, `X` types, enums,
//! `GenService` consts); `src/gen/<dir>/<stem>_client.ts` with one client class per service;
//! `src/micro.ts` with the high-level `Micro` class; `src/index.ts`; the runtime in `src/runtime/`.

pub mod names;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::Serialize;
use serde_json::json;

use crate::config::SdkOptions;
use crate::error::Result;
use crate::lang::{escape_block_comment, example_service, generator_name, service_accessors};
use crate::model::{Comments, Enum, Field, FieldType, File, Label, Message, Model, Scalar, StreamingKind};
use crate::render::Plan;

use names::*;

/// The npm package name used when none is configured.
pub const DEFAULT_PACKAGE_NAME: &str = "@micro/sdk";

/// Builds the TypeScript plan.
pub(crate) fn plan(model: &Model, options: &SdkOptions) -> Result<Plan> {
    let version = options.version.clone();
    let accessors = service_accessors(model);
    let mut renders = Vec::new();
    let mut services = Vec::new();
    let mut packages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in model.targets() {
        let view = file_view(model, file);
        renders.push((
            "proto/pb.ts.hbs".to_owned(),
            format!("src/{}.ts", module_path(&file.name)),
            serde_json::to_value(&view)?,
        ));
        packages.entry(file.package.clone()).or_default().push(format!("./{}.js", module_path(&file.name)));
        if !file.services.is_empty() {
            let client = client_view(model, file, &accessors);
            for s in &client.services {
                services.push(json!({
                    "accessor": client_member(&lower_first(&s.accessor_base)),
                    "full_name": s.full_name,
                    "client_class": s.class_name,
                    "module": format!("./{}.js", client_module_path(&file.name)),
                    "doc": s.doc,
                    "methods": s.methods,
                }));
            }
            renders.push((
                "proto/client.ts.hbs".to_owned(),
                format!("src/{}.ts", client_module_path(&file.name)),
                serde_json::to_value(&client)?,
            ));
        }
    }
    services.sort_by(|a, b| a["accessor"].as_str().cmp(&b["accessor"].as_str()));
    let mut namespaces = Vec::new();
    let mut taken = BTreeSet::new();
    for (package, modules) in &packages {
        let base = if package.is_empty() { "root".to_owned() } else { package.replace('.', "_") };
        let name = allocate(&safe_identifier(&base), &mut taken);
        let module = if modules.len() == 1 {
            modules[0].clone()
        } else {
            let path = format!("packages/{base}");
            renders.push((
                "proto/package.ts.hbs".to_owned(),
                format!("src/{path}.ts"),
                json!({ "generator": generator_name(), "package": package, "modules": modules.iter().map(|m| format!("../{}", m.trim_start_matches("./"))).collect::<Vec<_>>() }),
            ));
            format!("./{path}.js")
        };
        namespaces.push(json!({ "name": name, "package": package, "module": module }));
    }
    let package_name = options.package_name.clone().unwrap_or_else(|| DEFAULT_PACKAGE_NAME.to_owned());
    let root = json!({
        "package_name": package_name,
        "version": version,
        "user_agent": format!("micro-sdk-ts/{version}"),
        "generator": generator_name(),
        "services": services,
        "example_service": example_service(&services).unwrap_or(serde_json::Value::Null),
        "namespaces": namespaces,
    });
    Ok(Plan { root, package_dir: String::new(), renders, files: Vec::new(), formatter: None })
}

/// `store/store.proto` → `gen/store/store_pb`.
fn module_path(proto: &str) -> String {
    format!("gen/{}_pb", proto.trim_end_matches(".proto"))
}

/// `store/store.proto` → `gen/store/store_client`.
fn client_module_path(proto: &str) -> String {
    format!("gen/{}_client", proto.trim_end_matches(".proto"))
}

/// The import path of module `to` (a path under `src/`, without extension) from module `from`.
fn relative_import(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = {
        let mut v: Vec<&str> = from.split('/').collect();
        v.pop();
        v
    };
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from_dir.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let ups = from_dir.len() - common;
    let mut out = if ups == 0 { "./".to_owned() } else { "../".repeat(ups) };
    out.push_str(&to_parts[common..].join("/"));
    out.push_str(".js");
    out
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Returns `base`, or `base$`, `base$1`, ... the first one not taken, and marks it taken.
fn allocate(base: &str, taken: &mut BTreeSet<String>) -> String {
    let mut i = 0;
    loop {
        let candidate = match i {
            0 => base.to_owned(),
            1 => format!("{base}$"),
            n => format!("{base}${}", n - 1),
        };
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        i += 1;
    }
}

fn doc(comments: &Comments, deprecated: bool, generated_from: String) -> Vec<String> {
    let mut lines: Vec<String> = comments.doc_lines().iter().map(|l| escape_block_comment(l)).collect();
    if !lines.is_empty() {
        lines.push(String::new());
    }
    lines.push(escape_block_comment(&generated_from));
    if deprecated {
        lines.push("@deprecated".to_owned());
    }
    lines
}

/// Names of the runtime symbols a generated file imports, aliased when a proto name takes them.
#[derive(Debug, Serialize)]
struct RuntimeNames {
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "GenFile")]
    gen_file: String,
    #[serde(rename = "GenMessage")]
    gen_message: String,
    #[serde(rename = "GenEnum")]
    gen_enum: String,
    #[serde(rename = "GenService")]
    gen_service: String,
    #[serde(rename = "fileDesc")]
    file_desc: String,
    #[serde(rename = "messageDesc")]
    message_desc: String,
    #[serde(rename = "enumDesc")]
    enum_desc: String,
    #[serde(rename = "serviceDesc")]
    service_desc: String,
}

/// Allocates local names in one generated module: its own declarations first, then imports.
#[derive(Default)]
struct Scope {
    taken: BTreeSet<String>,
    /// (module, exported name) → local name
    imported: BTreeMap<(String, String), (String, bool)>,
}

impl Scope {
    fn declare(&mut self, base: &str) -> String {
        allocate(&safe_identifier(base), &mut self.taken)
    }

    /// Imports `name` from `module`; `type_only` imports are erased at run time.
    fn import(&mut self, module: &str, name: &str, type_only: bool) -> String {
        let key = (module.to_owned(), name.to_owned());
        if let Some((local, t)) = self.imported.get_mut(&key) {
            *t &= type_only;
            return local.clone();
        }
        let local = if self.taken.insert(name.to_owned()) {
            name.to_owned()
        } else {
            allocate(&format!("{name}$"), &mut self.taken)
        };
        self.imported.insert(key, (local.clone(), type_only));
        local
    }

    fn import_lines(&self) -> Vec<serde_json::Value> {
        let mut by_module: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for ((module, name), (local, type_only)) in &self.imported {
            let spec = if name == local { name.clone() } else { format!("{name} as {local}") };
            let entry = by_module.entry(module).or_default();
            if *type_only { entry.1.push(spec) } else { entry.0.push(spec) }
        }
        let mut lines = Vec::new();
        for (module, (values, types)) in by_module {
            if !types.is_empty() {
                lines.push(json!({ "type_only": true, "names": types.join(", "), "from": module }));
            }
            if !values.is_empty() {
                lines.push(json!({ "type_only": false, "names": values.join(", "), "from": module }));
            }
        }
        lines
    }
}

/// Where a file's symbols are imported from, seen from the module `from`.
fn file_module(proto: &str, from: &str) -> String {
    if proto.starts_with("google/protobuf/") {
        "@bufbuild/protobuf/wkt".to_owned()
    } else {
        relative_import(from, &module_path(proto))
    }
}

/// The exported names protobuf-es gives a file's declarations: shape and schema per message and
/// enum (keyed by full name), service consts (keyed by full name), and the file const.
struct FileNames {
    file_var: String,
    shapes: BTreeMap<String, String>,
    schemas: BTreeMap<String, String>,
    services: BTreeMap<String, String>,
}

fn file_names(file: &File) -> FileNames {
    let mut taken = BTreeSet::new();
    let file_var = allocate(&safe_identifier(&format!("file_{}", sanitize_file_name(&file.name))), &mut taken);
    let mut shapes = BTreeMap::new();
    let mut schemas = BTreeMap::new();
    let mut services = BTreeMap::new();
    fn walk(
        messages: &[Message],
        enums: &[Enum],
        prefix: &str,
        taken: &mut BTreeSet<String>,
        shapes: &mut BTreeMap<String, String>,
        schemas: &mut BTreeMap<String, String>,
    ) {
        for m in messages {
            let id = format!("{prefix}{}", m.name);
            shapes.insert(m.full_name.clone(), allocate(&safe_identifier(&id), taken));
            schemas.insert(m.full_name.clone(), allocate(&safe_identifier(&format!("{id}Schema")), taken));
            walk(&m.messages, &m.enums, &format!("{id}_"), taken, shapes, schemas);
        }
        for e in enums {
            let id = format!("{prefix}{}", e.name);
            shapes.insert(e.full_name.clone(), allocate(&safe_identifier(&id), taken));
            schemas.insert(e.full_name.clone(), allocate(&safe_identifier(&format!("{id}Schema")), taken));
        }
    }
    walk(&file.messages, &file.enums, "", &mut taken, &mut shapes, &mut schemas);
    for s in &file.services {
        services.insert(s.full_name.clone(), allocate(&safe_identifier(&s.name), &mut taken));
    }
    FileNames { file_var, shapes, schemas, services }
}

fn sanitize_file_name(name: &str) -> String {
    let stem = name.trim_end_matches(".proto");
    let mut out = String::new();
    let mut last_us = false;
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            last_us = false;
        } else if !last_us {
            out.push('_');
            last_us = true;
        }
    }
    out
}

#[derive(Debug, Serialize)]
struct FileView {
    proto_name: String,
    package: String,
    syntax: crate::model::Syntax,
    generator: String,
    doc: Vec<String>,
    file_var: String,
    descriptor_b64: String,
    dep_vars: Vec<String>,
    runtime: RuntimeNames,
    imports: Vec<serde_json::Value>,
    messages: Vec<MessageView>,
    enums: Vec<EnumView>,
    services: Vec<ServiceView>,
}

#[derive(Debug, Serialize)]
struct MessageView {
    shape: String,
    schema: String,
    type_name: String,
    index_args: String,
    doc: Vec<String>,
    members: Vec<MemberView>,
}

#[derive(Debug, Serialize)]
struct MemberView {
    is_oneof: bool,
    name: String,
    ts_type: String,
    optional: bool,
    doc: Vec<String>,
    cases: Vec<CaseView>,
}

#[derive(Debug, Serialize)]
struct CaseView {
    case: String,
    ts_type: String,
    doc: Vec<String>,
}

#[derive(Debug, Serialize)]
struct EnumView {
    shape: String,
    schema: String,
    index_args: String,
    doc: Vec<String>,
    values: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct ServiceView {
    name: String,
    index: usize,
    doc: Vec<String>,
    methods: Vec<serde_json::Value>,
}

struct TypeResolver<'a> {
    model: &'a Model,
    module: String,
    own_file: &'a str,
    own: &'a FileNames,
    foreign: BTreeMap<String, FileNames>,
}

impl TypeResolver<'_> {
    /// The local name of the shape (`schema == false`) or schema of a message or enum.
    fn name(&mut self, scope: &mut Scope, full_name: &str, schema: bool, type_only: bool) -> String {
        let info = self.model.type_info(full_name);
        if info.file == self.own_file {
            let names = if schema { &self.own.schemas } else { &self.own.shapes };
            return names[full_name].clone();
        }
        let model = self.model;
        let names = self
            .foreign
            .entry(info.file.clone())
            .or_insert_with(|| file_names(model.file(&info.file).expect("type file exists")));
        let exported = if schema { &names.schemas } else { &names.shapes };
        let exported = exported[full_name].clone();
        let module = file_module(&info.file, &self.module);
        scope.import(&module, &exported, type_only)
    }

    fn value_type(&mut self, scope: &mut Scope, ty: &FieldType) -> String {
        match ty {
            FieldType::Scalar(s) => scalar_type(*s).to_owned(),
            FieldType::Enum(n) | FieldType::Message(n) => self.name(scope, n, false, true),
            FieldType::Map { value, .. } => {
                let v = self.value_type(scope, value);
                format!("{{ [key: string]: {v} }}")
            }
        }
    }
}

fn scalar_type(s: Scalar) -> &'static str {
    match s {
        Scalar::Bool => "boolean",
        Scalar::String => "string",
        Scalar::Bytes => "Uint8Array",
        s if s.is_64bit_int() => "bigint",
        _ => "number",
    }
}

fn index_args(path: &[usize]) -> String {
    path.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

fn field_decl(field: &Field) -> String {
    let label = match field.label {
        Label::Repeated => "repeated ",
        Label::Optional if field.oneof.is_none() => "optional ",
        Label::Required => "required ",
        _ => "",
    };
    let ty = match &field.ty {
        FieldType::Scalar(s) => s.proto_name().to_owned(),
        FieldType::Enum(n) | FieldType::Message(n) => n.clone(),
        FieldType::Map { key, value } => {
            let v = match value.as_ref() {
                FieldType::Scalar(s) => s.proto_name().to_owned(),
                FieldType::Enum(n) | FieldType::Message(n) => n.clone(),
                FieldType::Map { .. } => String::new(),
            };
            format!("map<{}, {v}>", key.proto_name())
        }
    };
    format!("{label}{ty} {} = {};", field.name, field.number)
}

fn file_view(model: &Model, file: &File) -> FileView {
    let own = file_names(file);
    let module = module_path(&file.name);
    let mut scope = Scope::default();
    scope.taken.insert(own.file_var.clone());
    scope.taken.extend(own.shapes.values().cloned());
    scope.taken.extend(own.schemas.values().cloned());
    scope.taken.extend(own.services.values().cloned());
    let runtime = RuntimeNames {
        message: scope.import("@bufbuild/protobuf", "Message", true),
        gen_file: scope.import("@bufbuild/protobuf/codegenv2", "GenFile", true),
        gen_message: scope.import("@bufbuild/protobuf/codegenv2", "GenMessage", true),
        gen_enum: scope.import("@bufbuild/protobuf/codegenv2", "GenEnum", true),
        gen_service: scope.import("@bufbuild/protobuf/codegenv2", "GenService", true),
        file_desc: scope.import("@bufbuild/protobuf/codegenv2", "fileDesc", false),
        message_desc: scope.import("@bufbuild/protobuf/codegenv2", "messageDesc", false),
        enum_desc: scope.import("@bufbuild/protobuf/codegenv2", "enumDesc", false),
        service_desc: scope.import("@bufbuild/protobuf/codegenv2", "serviceDesc", false),
    };
    let mut resolver =
        TypeResolver { model, module: module.clone(), own_file: &file.name, own: &own, foreign: BTreeMap::new() };
    let dep_vars = file
        .dependencies
        .iter()
        .map(|dep| {
            let names = file_names(model.file(dep).expect("dependency is in the set"));
            let from = file_module(dep, &module);
            scope.import(&from, &names.file_var, false)
        })
        .collect();
    let mut messages = Vec::new();
    let mut enums = Vec::new();
    fn walk(
        ms: &[Message],
        es: &[Enum],
        resolver: &mut TypeResolver<'_>,
        scope: &mut Scope,
        messages: &mut Vec<MessageView>,
        enums: &mut Vec<EnumView>,
    ) {
        for m in ms {
            let mut members = Vec::new();
            let mut seen_oneofs = BTreeSet::new();
            for f in &m.fields {
                if let Some(o) = f.oneof {
                    if !seen_oneofs.insert(o) {
                        continue;
                    }
                    let oneof = &m.oneofs[o];
                    let cases = m
                        .fields
                        .iter()
                        .filter(|g| g.oneof == Some(o))
                        .map(|g| CaseView {
                            case: oneof_case_name(&g.name),
                            ts_type: resolver.value_type(scope, &g.ty),
                            doc: doc(&g.comments, g.deprecated, format!("@generated from field: {}", field_decl(g))),
                        })
                        .collect();
                    members.push(MemberView {
                        is_oneof: true,
                        name: field_name(&oneof.name),
                        ts_type: String::new(),
                        optional: false,
                        doc: doc(
                            &oneof.comments,
                            false,
                            format!("@generated from oneof {}.{}", m.full_name, oneof.name),
                        ),
                        cases,
                    });
                    continue;
                }
                let base = resolver.value_type(scope, &f.ty);
                let (ts_type, optional) = match (&f.label, &f.ty) {
                    (Label::Repeated, _) => (format!("{base}[]"), false),
                    (Label::Map, _) => (base, false),
                    (_, FieldType::Message(_)) => (base, true),
                    (Label::Optional, _) => (base, true),
                    (Label::Required | Label::Singular, _) => (base, false),
                };
                members.push(MemberView {
                    is_oneof: false,
                    name: field_name(&f.name),
                    ts_type,
                    optional,
                    doc: doc(&f.comments, f.deprecated, format!("@generated from field: {}", field_decl(f))),
                    cases: Vec::new(),
                });
            }
            messages.push(MessageView {
                shape: resolver.own.shapes[&m.full_name].clone(),
                schema: resolver.own.schemas[&m.full_name].clone(),
                type_name: m.full_name.clone(),
                index_args: index_args(&m.index_path),
                doc: doc(&m.comments, m.deprecated, format!("@generated from message {}", m.full_name)),
                members,
            });
            walk(&m.messages, &m.enums, resolver, scope, messages, enums);
        }
        for e in es {
            let value_names = enum_value_names(&e.name, &e.values.iter().map(|v| v.name.as_str()).collect::<Vec<_>>());
            enums.push(EnumView {
                shape: resolver.own.shapes[&e.full_name].clone(),
                schema: resolver.own.schemas[&e.full_name].clone(),
                index_args: index_args(&e.index_path),
                doc: doc(&e.comments, e.deprecated, format!("@generated from enum {}", e.full_name)),
                values: e
                    .values
                    .iter()
                    .zip(value_names)
                    .map(|(v, name)| {
                        json!({
                            "name": name,
                            "number": v.number,
                            "doc": doc(&v.comments, v.deprecated, format!("@generated from enum value: {} = {};", v.name, v.number)),
                        })
                    })
                    .collect(),
            });
        }
    }
    walk(&file.messages, &file.enums, &mut resolver, &mut scope, &mut messages, &mut enums);
    let services = file
        .services
        .iter()
        .map(|s| ServiceView {
            name: own.services[&s.full_name].clone(),
            index: s.index,
            doc: doc(&s.comments, s.deprecated, format!("@generated from service {}", s.full_name)),
            methods: s
                .methods
                .iter()
                .map(|m| {
                    json!({
                        "name": method_name(&m.name),
                        "kind": match m.kind {
                            StreamingKind::Unary => "unary",
                            StreamingKind::ServerStreaming => "server_streaming",
                            StreamingKind::ClientStreaming => "client_streaming",
                            StreamingKind::Bidi => "bidi_streaming",
                        },
                        "input": resolver.name(&mut scope, &m.input, true, true),
                        "output": resolver.name(&mut scope, &m.output, true, true),
                        "doc": doc(&m.comments, m.deprecated, format!("@generated from rpc {}.{}", s.full_name, m.name)),
                    })
                })
                .collect(),
        })
        .collect();
    FileView {
        proto_name: file.name.clone(),
        package: file.package.clone(),
        syntax: file.syntax,
        generator: generator_name(),
        doc: file
            .comments
            .detached
            .iter()
            .chain(&file.comments.leading)
            .flat_map(|c| crate::model::Comments { leading: Some(c.clone()), ..Default::default() }.doc_lines())
            .map(|l| escape_block_comment(&l))
            .collect(),
        file_var: own.file_var.clone(),
        descriptor_b64: base64::engine::general_purpose::STANDARD.encode(&file.descriptor),
        dep_vars,
        runtime,
        imports: scope.import_lines(),
        messages,
        enums,
        services,
    }
}

#[derive(Debug, Serialize)]
struct ClientFileView {
    proto_name: String,
    generator: String,
    runtime_module: String,
    imports: Vec<serde_json::Value>,
    connect: serde_json::Value,
    services: Vec<ClientView>,
}

#[derive(Debug, Serialize)]
struct ClientView {
    class_name: String,
    accessor_base: String,
    full_name: String,
    service_const: String,
    doc: Vec<String>,
    methods: Vec<serde_json::Value>,
}

fn client_view(model: &Model, file: &File, accessors: &std::collections::HashMap<String, String>) -> ClientFileView {
    let own = file_names(file);
    let module = client_module_path(&file.name);
    let mut scope = Scope::default();
    let classes: Vec<String> =
        file.services.iter().map(|s| scope.declare(&format!("{}Client", accessors[&s.full_name]))).collect();
    let connect = json!({
        "createClient": scope.import("@connectrpc/connect", "createClient", false),
        "Client": scope.import("@connectrpc/connect", "Client", true),
        "Transport": scope.import("@connectrpc/connect", "Transport", true),
        "CallOptions": scope.import("@connectrpc/connect", "CallOptions", true),
        "MessageInitShape": scope.import("@bufbuild/protobuf", "MessageInitShape", true),
    });
    let runtime_module = relative_import(&module, "runtime/index");
    let pb_module = relative_import(&module, &module_path(&file.name));
    let mut resolver =
        TypeResolver { model, module: module.clone(), own_file: "", own: &own, foreign: BTreeMap::new() };
    let mut services = Vec::new();
    for (s, class_name) in file.services.iter().zip(classes) {
        let service_const = scope.import(&pb_module, &own.services[&s.full_name], false);
        let mut taken_methods = BTreeSet::new();
        let methods = s
            .methods
            .iter()
            .map(|m| {
                let input_schema = resolver.name(&mut scope, &m.input, true, true);
                let input_info = model.type_info(&m.input);
                let input_shape =
                    file_names(model.file(&input_info.file).expect("type file exists")).shapes[&m.input].clone();
                let output = resolver.name(&mut scope, &m.output, false, true);
                let name = allocate(&client_member(&method_name(&m.name)), &mut taken_methods);
                json!({
                    "name": name,
                    "local_name": method_name(&m.name),
                    "proto_name": m.name,
                    "kind": match m.kind {
                        StreamingKind::Unary => "unary",
                        StreamingKind::ServerStreaming => "server_streaming",
                        StreamingKind::ClientStreaming => "client_streaming",
                        StreamingKind::Bidi => "bidi",
                    },
                    "input_schema": input_schema,
                    "input": input_shape,
                    "output": output,
                    "doc": doc(&m.comments, m.deprecated, format!("Calls `/{}/{}`.", s.full_name, m.name)),
                })
            })
            .collect();
        services.push(ClientView {
            class_name,
            accessor_base: accessors[&s.full_name].clone(),
            full_name: s.full_name.clone(),
            service_const,
            doc: doc(&s.comments, s.deprecated, format!("A client for the service `{}`.", s.full_name)),
            methods,
        });
    }
    ClientFileView {
        proto_name: file.name.clone(),
        generator: generator_name(),
        runtime_module,
        imports: scope.import_lines(),
        connect,
        services,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_imports() {
        assert_eq!(relative_import("gen/network/network_pb", "gen/router/router_pb"), "../router/router_pb.js");
        assert_eq!(relative_import("gen/store/store_client", "gen/store/store_pb"), "./store_pb.js");
        assert_eq!(relative_import("gen/a/b/c_client", "runtime/index"), "../../../runtime/index.js");
        assert_eq!(relative_import("gen/x_pb", "gen/x_client"), "./x_client.js");
    }

    #[test]
    fn file_vars_follow_protobuf_es() {
        assert_eq!(sanitize_file_name("store/store.proto"), "store_store");
        assert_eq!(sanitize_file_name("a/b-c.d/e.proto"), "a_b_c_d_e");
    }

    #[test]
    fn allocation_salts() {
        let mut taken = BTreeSet::new();
        assert_eq!(allocate("A", &mut taken), "A");
        assert_eq!(allocate("A", &mut taken), "A$");
        assert_eq!(allocate("A", &mut taken), "A$1");
    }
}
