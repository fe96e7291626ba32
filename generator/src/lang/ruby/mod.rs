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
//!
//! Names follow protoc's Ruby generator: modules from the file's `ruby_package`, else from its
//! package (`acme.shop.v1` → `Acme::Shop::V1`), constants with their first letter upper-cased.
//! Only what Ruby refuses is changed: keywords (`END_`), a top-level constant that would reopen a
//! core class (`String_`), two types that would take one constant (`fn` and `Fn` → `Fn`, `Fn_`)
//! or a module's constant. Client methods are snake_case, escaped against keywords and the
//! methods of `Object`/`Kernel` (`end_`, `send_`, `initialize_`, `method_`).

pub mod names;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::{Error, Result};
use crate::lang::{
    ascii_literal, example_service, generator_name, service_accessors, with_deprecation, with_kind_flags,
};
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

/// The Ruby names of one plan, allocated once: the modules of every file (its `ruby_package`, else
/// its proto package, as protoc's Ruby generator makes them), the constant of every message and
/// enum (salted with `_` when two of a module or class would take the same constant, as `fn` and
/// `Fn` would), and the module of every service (salted against the types of its module).
struct Names<'a> {
    model: &'a Model,
    /// Module names by proto file.
    modules: HashMap<String, Vec<String>>,
    /// Constant path from the top level (`::Acme::Shop::V1::Order::Line`) by proto type name.
    constants: HashMap<String, String>,
    /// Module (one constant, inside the file's modules) by service full name.
    services: HashMap<String, String>,
    /// `Micro::Client` accessor by service full name (unique).
    accessors: HashMap<String, String>,
    /// Typed client class in `Micro` by service full name (unique).
    clients: HashMap<String, String>,
}

impl<'a> Names<'a> {
    fn new(model: &'a Model) -> Self {
        let mut names = Names {
            model,
            modules: HashMap::new(),
            constants: HashMap::new(),
            services: HashMap::new(),
            accessors: HashMap::new(),
            clients: HashMap::new(),
        };
        let mut taken: HashMap<Vec<String>, BTreeSet<String>> = HashMap::new();
        let files: Vec<&File> = model.files.iter().filter(|f| !f.name.starts_with("google/protobuf/")).collect();
        // Module paths first: a message or enum cannot take the constant of a module nested in its
        // own (`Type::Sub` of the package `type.sub` beside a message `Sub` in `type`).
        for file in &files {
            names.modules.insert(file.name.clone(), file_modules(model, file));
        }
        for modules in names.modules.values() {
            for i in 0..modules.len() {
                taken.entry(modules[..i].to_vec()).or_default().insert(modules[i].clone());
            }
        }
        for file in &files {
            let modules = names.modules[&file.name].clone();
            let prefix = if modules.is_empty() { String::new() } else { format!("::{}", modules.join("::")) };
            let set = taken.entry(modules.clone()).or_default();
            let constant = if modules.is_empty() { type_constant } else { member_constant };
            for m in &file.messages {
                let name = allocate(set, constant(&m.name));
                names.nest(m, &format!("{prefix}::{name}"));
            }
            for e in &file.enums {
                let name = allocate(set, constant(&e.name));
                names.constants.insert(e.full_name.clone(), format!("{prefix}::{name}"));
            }
        }
        for file in &files {
            let modules = names.modules[&file.name].clone();
            let constant = if modules.is_empty() { type_constant } else { member_constant };
            let set = taken.entry(modules).or_default();
            for s in &file.services {
                names.services.insert(s.full_name.clone(), allocate(set, constant(&s.name)));
            }
        }
        let accessors = service_accessors(model);
        let (mut members, mut classes) = (BTreeSet::new(), BTreeSet::new());
        for s in model.targets().flat_map(|f| &f.services) {
            let base = accessors.get(&s.full_name).cloned().unwrap_or_else(|| s.name.clone());
            names.accessors.insert(s.full_name.clone(), allocate(&mut members, method_name(&base)));
            names.clients.insert(s.full_name.clone(), allocate(&mut classes, type_constant(&format!("{base}Client"))));
        }
        names
    }

    fn nest(&mut self, m: &Message, path: &str) {
        self.constants.insert(m.full_name.clone(), path.to_owned());
        let mut taken = BTreeSet::new();
        for n in &m.messages {
            let name = allocate(&mut taken, member_constant(&n.name));
            self.nest(n, &format!("{path}::{name}"));
        }
        for e in &m.enums {
            let name = allocate(&mut taken, member_constant(&e.name));
            self.constants.insert(e.full_name.clone(), format!("{path}::{name}"));
        }
    }

    /// The Ruby constant path of a message or enum, from the top level
    /// (`::Acme::Shop::V1::Order::Line`; well-known types are google-protobuf's).
    fn type_ref(&self, full_name: &str) -> String {
        if let Some(c) = self.constants.get(full_name) {
            return c.clone();
        }
        let info = self.model.type_info(full_name);
        let package = self.model.file(&info.file).map(|f| f.package.as_str()).unwrap_or_default();
        let mut parts = package_modules(package);
        parts.extend(info.nesting.iter().map(|n| member_constant(n)));
        format!("::{}", parts.join("::"))
    }

    /// The modules of a file.
    fn file_modules(&self, file: &File) -> Vec<String> {
        self.modules.get(&file.name).cloned().unwrap_or_else(|| package_modules(&file.package))
    }
}

/// The modules of a file: its `ruby_package`, else its proto package's.
fn file_modules(model: &Model, file: &File) -> Vec<String> {
    let ruby_package = model
        .descriptor_set
        .file
        .iter()
        .find(|d| d.name() == file.name)
        .and_then(|d| d.options.as_ref())
        .and_then(|o| o.ruby_package.clone())
        .filter(|p| !p.is_empty());
    match ruby_package {
        Some(p) => ruby_package_modules(&p),
        None => package_modules(&file.package),
    }
}

/// Appends `_` to `name` until `taken` does not hold it, then takes it.
fn allocate(taken: &mut BTreeSet<String>, mut name: String) -> String {
    while taken.contains(&name) {
        name.push('_');
    }
    taken.insert(name.clone());
    name
}

/// The module nesting of a package as lines to open, lines to close and the body's indentation.
/// With `package`, each module gets a YARD comment naming its proto package.
fn module_frame(modules: &[String], package: Option<&str>) -> (Vec<String>, Vec<String>, String) {
    let mut segments: Vec<&str> = package.map(|p| p.split('.').collect()).unwrap_or_default();
    let mut open = Vec::new();
    // Modules from a `ruby_package` do not follow the package's segments.
    let own = segments.len() != modules.len();
    if own && package.is_some() {
        segments.clear();
    }
    for (i, m) in modules.iter().enumerate() {
        let indent = "  ".repeat(i);
        if own && let Some(p) = package {
            if i + 1 == modules.len() {
                open.push(format!(
                    "{indent}# Messages, enums and services of the proto package `{p}` (its `ruby_package`)."
                ));
            } else {
                open.push(format!("{indent}# The modules of the `ruby_package` of the proto package `{p}`."));
            }
        } else if !segments.is_empty() {
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
    let names = Names::new(model);
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
        renders.push(("proto/pb.rb.hbs".to_owned(), format!("lib/micro/{pb}.rb"), pb_view(&names, file, &pb)));
        requires.push(format!("micro/{pb}"));
        if !file.services.is_empty() {
            let svc = lib_path(&file.name, "_services_pb");
            let client = lib_path(&file.name, "_client");
            renders.push((
                "proto/services_pb.rb.hbs".to_owned(),
                format!("lib/micro/{svc}.rb"),
                services_view(&names, file, &svc, &pb),
            ));
            let view = client_view(&names, file, &client, &svc, &accessors);
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

/// The serialized descriptor a `_pb.rb` file embeds, and the fields it had to change.
///
/// google-protobuf before 3.25 (upb) keeps field names, oneof names and JSON names in one table
/// and refuses a file where a field's JSON name is another field's or oneof's name, or another
/// field's JSON name (proto2 allows `foo_bar` next to `fooBar`; a proto2 field `choice_b` next
/// to a oneof `choiceB`). Such a field gets its own name as JSON name, the one change that lets
/// the file load: its JSON output uses the proto name (which every JSON parser accepts too).
/// A floating-point default too long for upb is written in its shortest form (same value), a
/// subnormal one (which upb refuses) as zero.
/// Every other file is embedded byte for byte.
fn ruby_descriptor(file: &File) -> (Vec<u8>, Vec<String>) {
    use prost::Message as _;
    use prost_types::field_descriptor_proto::Type;
    use prost_types::{DescriptorProto, FileDescriptorProto};
    fn fix(m: &mut DescriptorProto, prefix: &str, changed: &mut Vec<String>) {
        let full = format!("{prefix}.{}", m.name());
        let mut table: BTreeSet<String> = m.field.iter().map(|f| f.name().to_owned()).collect();
        table.extend(m.oneof_decl.iter().map(|o| o.name().to_owned()));
        for f in &mut m.field {
            let json = f.json_name.clone().unwrap_or_else(|| crate::model::json_name(f.name()));
            if json != f.name() && !table.insert(json) {
                f.json_name = Some(f.name().to_owned());
                changed.push(format!("{full}.{}", f.name()));
            }
            // upb reads a default of at most 63 characters (protox writes extreme floating-point
            // defaults in full, `1.8e308` as 179…0.0; protoc in the shortest form, as here), and
            // refuses a subnormal one (strtod reports it out of range): that becomes zero.
            let min_normal = if f.r#type() == Type::Float { f64::from(f32::MIN_POSITIVE) } else { f64::MIN_POSITIVE };
            let name = f.name().to_owned();
            if matches!(f.r#type(), Type::Double | Type::Float)
                && let Some(d) = f.default_value.as_mut()
                && let Ok(v) = d.parse::<f64>()
            {
                let subnormal = v != 0.0 && v.abs() < min_normal;
                if subnormal || d.len() > 63 {
                    *d = if subnormal { (if v < 0.0 { "-0" } else { "0" }).to_owned() } else { format!("{v:e}") };
                    changed.push(format!("{full}.{name} (default {d})"));
                }
            }
        }
        for n in &mut m.nested_type {
            fix(n, &full, changed);
        }
    }
    let Ok(mut proto) = FileDescriptorProto::decode(file.descriptor.as_slice()) else {
        return (file.descriptor.clone(), Vec::new());
    };
    let mut changed = Vec::new();
    let package = proto.package().to_owned();
    for m in &mut proto.message_type {
        fix(m, &package, &mut changed);
    }
    if changed.is_empty() { (file.descriptor.clone(), changed) } else { (proto.encode_to_vec(), changed) }
}

fn pb_view(names: &Names<'_>, file: &File, path: &str) -> Value {
    let mut requires = Vec::new();
    for dep in &file.dependencies {
        if let Some(wkt) = dep.strip_prefix("google/protobuf/") {
            requires.push(format!("require 'google/protobuf/{}_pb'", wkt.trim_end_matches(".proto")));
        } else {
            requires.push(format!("require_relative '{}'", relative(path, &lib_path(dep, "_pb"))));
        }
    }
    let modules = names.file_modules(file);
    let (open, close, indent) = module_frame(&modules, Some(&file.package));
    let prefix = if modules.is_empty() { "::".to_owned() } else { format!("::{}::", modules.join("::")) };
    let relative_name = |full_name: &str| {
        let path = names.type_ref(full_name);
        path.strip_prefix(&prefix).map(str::to_owned).unwrap_or(path)
    };
    // Messages depth first (a class, its nested messages, then its enums), then the file's enums.
    let mut order: Vec<(&str, &Comments, bool, Option<&Enum>)> = Vec::new();
    fn walk<'m>(m: &'m Message, order: &mut Vec<(&'m str, &'m Comments, bool, Option<&'m Enum>)>) {
        order.push((&m.full_name, &m.comments, m.deprecated, None));
        for n in &m.messages {
            walk(n, order);
        }
        order.extend(m.enums.iter().map(|e| (e.full_name.as_str(), &e.comments, e.deprecated, Some(e))));
    }
    for m in &file.messages {
        walk(m, &mut order);
    }
    order.extend(file.enums.iter().map(|e| (e.full_name.as_str(), &e.comments, e.deprecated, Some(e))));
    let constants: Vec<Value> = order
        .into_iter()
        .map(|(full_name, comments, deprecated, e)| {
            // google-protobuf makes a constant of every enum value that starts with a letter and
            // warns about the others (`__FILE__`), which stay reachable through `lookup`/`resolve`.
            let quiet =
                e.is_some_and(|e| e.values.iter().any(|v| !v.name.starts_with(|c: char| c.is_ascii_alphabetic())));
            json!({
                "name": relative_name(full_name),
                "full_name": full_name,
                "accessor": if e.is_some() { "enummodule" } else { "msgclass" },
                "doc": doc(comments, deprecated),
                "quiet": quiet,
            })
        })
        .collect();
    let (descriptor, changed) = ruby_descriptor(file);
    json!({
        "proto_name": file.name,
        "generator": generator_name(),
        "doc": doc(&file.comments, file.deprecated),
        "descriptor_literal": string_literal(&descriptor),
        "json_name_changes": changed,
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

fn services_view(names: &Names<'_>, file: &File, path: &str, pb: &str) -> Value {
    let modules = names.file_modules(file);
    let (open, close, indent) = module_frame(&modules, None);
    let services: Vec<Value> = file
        .services
        .iter()
        .map(|s| {
            // The grpc gem defines a method per rpc (its snake_case name) on the service and its
            // stub; rpcs whose names meet there (`Close` and `close`), or meet the stub's own
            // `initialize`, redefine one.
            let mut seen = BTreeSet::from(["initialize".to_owned()]);
            let quiet = !s.methods.iter().all(|m| seen.insert(grpc_underscore(&m.name)));
            json!({
                "module": names.services[&s.full_name],
                "quiet": quiet,
                "full_name": s.full_name,
                "doc": doc(&s.comments, s.deprecated),
                "methods": s.methods.iter().map(|m| {
                    let input = names.type_ref(&m.input);
                    let output = names.type_ref(&m.output);
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

fn client_view(names: &Names<'_>, file: &File, path: &str, svc: &str, accessors: &HashMap<String, String>) -> Value {
    let package_prefix = {
        let m = names.file_modules(file);
        if m.is_empty() { "::".to_owned() } else { format!("::{}::", m.join("::")) }
    };
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
                with_kind_flags(
                    json!({
                        "name": name,
                        "proto_name": m.name,
                        "path": format!("/{}/{}", s.full_name, m.name),
                        "kind": kind(m.kind),
                        "input": names.type_ref(&m.input),
                        "output": names.type_ref(&m.output),
                        "doc": doc(&m.comments, m.deprecated),
                    }),
                    m.kind,
                )
            })
            .collect();
        services.push(json!({
            "accessor": names.accessors.get(&s.full_name).cloned().unwrap_or_else(|| method_name(base)),
            "client_class": names.clients.get(&s.full_name).cloned().unwrap_or_else(|| type_constant(&format!("{base}Client"))),
            "full_name": s.full_name,
            "service": format!("{package_prefix}{}::Service", names.services[&s.full_name]),
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

/// The method name the grpc gem gives an rpc (`GenericService.underscore`: `GetFoo` → `get_foo`).
fn grpc_underscore(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::memory_model;

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
    fn constants_modules_and_ruby_package() {
        let model = memory_model(&[
            (
                "t/a.proto",
                "syntax = \"proto3\";\npackage t;\nmessage fn {}\nmessage Fn {}\nmessage Sub {}\n\
                 message String { message Hash {} }\nmessage END {}\nservice Fn2 {}\nservice String2 {}\n",
            ),
            ("t/sub/b.proto", "syntax = \"proto3\";\npackage t.sub;\nmessage B {}\n"),
            ("t/c.proto", "syntax = \"proto3\";\npackage t.c;\noption ruby_package = \"Acme::Nil\";\nmessage C {}\n"),
            ("top.proto", "syntax = \"proto3\";\nmessage String {}\n"),
        ]);
        let names = Names::new(&model);
        assert_eq!(names.type_ref("t.fn"), "::T::Fn");
        assert_eq!(names.type_ref("t.Fn"), "::T::Fn_", "salted, not redefined");
        assert_eq!(names.type_ref("t.Sub"), "::T::Sub_", "the module T::Sub of t.sub keeps its name");
        assert_eq!(names.type_ref("t.sub.B"), "::T::Sub::B");
        assert_eq!(names.type_ref("t.String"), "::T::String", "as protoc: inside a module");
        assert_eq!(names.type_ref("t.String.Hash"), "::T::String::Hash");
        assert_eq!(names.type_ref("t.END"), "::T::END_");
        assert_eq!(names.type_ref("t.c.C"), "::Acme::Nil::C", "ruby_package");
        assert_eq!(names.type_ref("String"), "::String_", "a top-level constant would reopen String");
    }

    #[test]
    fn json_names_old_upb_refuses_are_replaced() {
        let model = memory_model(&[(
            "j.proto",
            "syntax = \"proto2\";\npackage j;\nmessage M {\n  optional int32 foo_bar = 1;\n\
             optional int32 fooBar = 2 [json_name = \"x\"];\n  optional int32 plain_name = 3;\n}\n",
        )]);
        let (bytes, changed) = ruby_descriptor(&model.files[0]);
        assert_eq!(changed, ["j.M.foo_bar"]);
        use prost::Message as _;
        let proto = prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap();
        let json: Vec<&str> = proto.message_type[0].field.iter().map(|f| f.json_name()).collect();
        assert_eq!(json, ["foo_bar", "x", "plainName"]);
        let clean = memory_model(&[("k.proto", "syntax = \"proto3\";\npackage k;\nmessage M { int32 a_b = 1; }\n")]);
        assert_eq!(ruby_descriptor(&clean.files[0]), (clean.files[0].descriptor.clone(), vec![]), "byte for byte");
        let floats = memory_model(&[(
            "f.proto",
            "syntax = \"proto2\";\npackage f;\nmessage M {\n  optional double big = 1 [default = 1.7976931348623157e308];\n\
             optional double tiny = 2 [default = -5e-324];\n  optional float x = 3 [default = 1.5];\n}\n",
        )]);
        let (bytes, changed) = ruby_descriptor(&floats.files[0]);
        assert_eq!(changed, ["f.M.big (default 1.7976931348623157e308)", "f.M.tiny (default -0)"]);
        let proto = prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(proto.message_type[0].field[2].default_value(), "1.5", "others stay");
    }

    #[test]
    fn grpc_method_names() {
        assert_eq!(grpc_underscore("GetService"), "get_service");
        assert_eq!(grpc_underscore("Close"), "close");
        assert_eq!(grpc_underscore("close"), "close");
        assert_eq!(grpc_underscore("HTTPGet"), "http_get");
        assert_eq!(grpc_underscore("Initialize"), "initialize");
    }

    #[test]
    fn string_literals_escape_everything_unsafe() {
        assert_eq!(string_literal(b"a\"\\#{\n\x00\xff"), "\"a\\\"\\\\\\#{\\n\\x00\\xFF\"");
    }
}
