//! The Python view model.
//!
//! Output layout (`sdks/python`): `src/<import>/<dir>/<stem>_pb2.py` per proto file, built from
//! the embedded serialized file descriptor with `google.protobuf.internal.builder` as modern
//! protoc output is, with a `.pyi` stub beside it; `<stem>_client.py` with a sync and an asyncio
//! client class per service; `__init__.py` in every package directory; `_micro.py` with `Micro`
//! and `AsyncMicro`; the runtime `_runtime.py`. Imports inside the package are relative only.

pub mod names;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::Result;
use crate::lang::{
    ascii_literal, example_service, generator_name, parallel_map, service_accessors, with_deprecation, with_kind_flags,
};
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

/// The file descriptor as a `_pb2` module embeds it: as the model holds it, except that a float
/// or double default written out in full decimal (protox writes `5e-324` as 327 characters,
/// which upb rejects: "Default too long") is shortened to exponent form, as protoc writes it.
fn python_descriptor(bytes: &[u8]) -> Vec<u8> {
    use prost::Message as _;
    use prost_types::field_descriptor_proto::Type;
    use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto};

    fn fix_field(f: &mut FieldDescriptorProto, changed: &mut bool) {
        let single = match f.r#type() {
            Type::Float => true,
            Type::Double => false,
            _ => return,
        };
        if let Some(text) = &f.default_value {
            let short = shortest_float(text, single);
            if short.len() < text.len() {
                f.default_value = Some(short);
                *changed = true;
            }
        }
    }
    fn fix_message(m: &mut DescriptorProto, changed: &mut bool) {
        m.field.iter_mut().chain(m.extension.iter_mut()).for_each(|f| fix_field(f, changed));
        m.nested_type.iter_mut().for_each(|n| fix_message(n, changed));
    }
    let Ok(mut file) = FileDescriptorProto::decode(bytes) else { return bytes.to_vec() };
    let mut changed = false;
    file.message_type.iter_mut().for_each(|m| fix_message(m, &mut changed));
    file.extension.iter_mut().for_each(|f| fix_field(f, &mut changed));
    if changed { file.encode_to_vec() } else { bytes.to_vec() }
}

/// The shorter of the plain and exponent forms of a float default (`5e-324`), or `text` when it
/// is not a finite number (`inf`, `-inf`, `nan`).
fn shortest_float(text: &str, single: bool) -> String {
    let (plain, exp) = if single {
        match text.parse::<f32>() {
            Ok(v) if v.is_finite() => (format!("{v}"), format!("{v:e}")),
            _ => return text.to_owned(),
        }
    } else {
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => (format!("{v}"), format!("{v:e}")),
            _ => return text.to_owned(),
        }
    };
    if exp.len() < plain.len() { exp } else { plain }
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

/// The prefix of the module-level aliases (`_global___Outer = Outer`) a stub declares for its
/// top-level classes and names its own types through: inside a class body a field or nested
/// class of the same name would shadow the plain name (mypy-protobuf does the same). Private:
/// the module has no such attribute at run time.
const STUB_GLOBAL: &str = "_global___";

/// Builds the Python plan.
pub(crate) fn plan(model: &Model, options: &SdkOptions) -> Result<Plan> {
    let version = options.version.clone();
    let accessors = service_accessors(model);
    let classes = ClassNames::build(model);
    let mut renders = Vec::new();
    let mut dirs: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut services = Vec::new();
    // `_micro.py` imports every client class and `Micro` has an attribute per service: both
    // kinds of names are allocated across all files (`FooBar` and `foo_bar` services differ).
    let mut taken = Taken {
        classes: BTreeSet::new(),
        accessors: RESERVED_CLIENT_MEMBERS.iter().map(|m| (*m).to_owned()).collect(),
    };
    // Each file's message view depends only on the model and class names: made on all cores.
    let targets: Vec<&File> = model.targets().collect();
    let views = parallel_map(
        targets.clone(),
        |file| file.messages.len() + file.enums.len(),
        |file| {
            let segments = module_segments(&file.name, "_pb2");
            let view = pb2_view(model, &classes, file, &segments[..segments.len() - 1]);
            Ok((segments, view))
        },
    )?;
    for (file, (segments, view)) in targets.into_iter().zip(views) {
        let pkg: Vec<String> = segments[..segments.len() - 1].to_vec();
        for i in 1..=pkg.len() {
            dirs.insert(pkg[..i].to_vec());
        }
        let base_path = format!("src/{IMPORT_NAME}/{}", segments.join("/"));
        // The `.py` module needs only the header and the descriptor, not the message views.
        let module: serde_json::Map<String, Value> =
            ["proto_name", "generator", "descriptor_literal", "dep_imports", "aliases"]
                .into_iter()
                .map(|key| (key.to_owned(), view[key].clone()))
                .collect();
        renders.push(("proto/pb2.py.hbs".to_owned(), format!("{base_path}.py"), Value::Object(module)));
        renders.push(("proto/pb2.pyi.hbs".to_owned(), format!("{base_path}.pyi"), view));
        if !file.services.is_empty() {
            let client_segments = module_segments(&file.name, "_client");
            let client = client_view(model, &classes, file, &pkg, &accessors, &mut taken);
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

/// The Python classes of the model's messages and enums: the attribute path of each from its
/// module (`Outer.class` → `["Outer", "class_"]`: a keyword is escaped), and per file the
/// escaped names its module binds, as (proto path of the parent, proto name, escaped name).
#[derive(Default)]
struct ClassNames {
    paths: HashMap<String, Vec<String>>,
    aliases: HashMap<String, Vec<(Vec<String>, String, String)>>,
}

impl ClassNames {
    fn build(model: &Model) -> Self {
        let mut out = Self::default();
        for file in &model.files {
            let mut taken: BTreeSet<String> = file
                .messages
                .iter()
                .map(|m| m.name.clone())
                .chain(
                    file.enums
                        .iter()
                        .flat_map(|e| std::iter::once(e.name.clone()).chain(e.values.iter().map(|v| v.name.clone()))),
                )
                .collect();
            let mut aliases = Vec::new();
            out.walk(&file.messages, &file.enums, &[], &[], &mut taken, &mut aliases);
            out.aliases.insert(file.name.clone(), aliases);
        }
        out
    }

    fn walk(
        &mut self,
        messages: &[Message],
        enums: &[Enum],
        proto_parent: &[String],
        py_parent: &[String],
        taken: &mut BTreeSet<String>,
        aliases: &mut Vec<(Vec<String>, String, String)>,
    ) {
        let nested_scope = !proto_parent.is_empty();
        let mut enter = |name: &str, full_name: &str, taken: &mut BTreeSet<String>| {
            let attr = class_attr(name, nested_scope, taken);
            if attr != name {
                aliases.push((proto_parent.to_vec(), name.to_owned(), attr.clone()));
            }
            let mut path = py_parent.to_vec();
            path.push(attr);
            self.paths.insert(full_name.to_owned(), path.clone());
            path
        };
        let mut nested = Vec::new();
        for m in messages {
            nested.push((m, enter(&m.name, &m.full_name, taken)));
        }
        for e in enums {
            enter(&e.name, &e.full_name, taken);
        }
        for (m, py_path) in nested {
            let mut inner: BTreeSet<String> = m
                .fields
                .iter()
                .map(|f| f.name.clone())
                .chain(m.messages.iter().map(|n| n.name.clone()))
                .chain(
                    m.enums
                        .iter()
                        .flat_map(|e| std::iter::once(e.name.clone()).chain(e.values.iter().map(|v| v.name.clone()))),
                )
                .collect();
            let mut proto_path = proto_parent.to_vec();
            proto_path.push(m.name.clone());
            self.walk(&m.messages, &m.enums, &proto_path, &py_path, &mut inner, aliases);
        }
    }

    /// The attribute path of a message or enum class from its module.
    fn path(&self, model: &Model, full_name: &str) -> Vec<String> {
        self.paths.get(full_name).cloned().unwrap_or_else(|| model.type_info(full_name).nesting.clone())
    }
}

/// The statements a `_pb2` module runs to bind escaped names (`class_`) to the classes whose
/// proto names are keywords, which Python code cannot name as attributes.
fn alias_statements(aliases: &[(Vec<String>, String, String)]) -> Vec<String> {
    aliases
        .iter()
        .map(|(parent, name, alias)| match parent.split_first() {
            None => format!("_globals['{alias}'] = _globals['{name}']"),
            Some((top, rest)) => {
                let expr = rest.iter().fold(format!("_globals['{top}']"), |e, p| format!("getattr({e}, '{p}')"));
                format!("setattr({expr}, '{alias}', getattr({expr}, '{name}'))")
            }
        })
        .collect()
}

/// Resolves type names as seen from one generated module, recording the imports they need.
struct Types<'a> {
    model: &'a Model,
    classes: &'a ClassNames,
    file: &'a str,
    pkg: &'a [String],
    /// alias → import line
    imports: BTreeMap<String, String>,
    /// Names declared inside the file's class bodies (fields, nested classes, enum values): a
    /// top-level class of one of these names is referred to through its `_global___` alias.
    shadowed: BTreeSet<String>,
}

/// The names declared inside the class bodies of a file's stub (nested classes under their
/// proto and their escaped names).
fn class_body_names(model: &Model, classes: &ClassNames, file: &File) -> BTreeSet<String> {
    fn walk(model: &Model, classes: &ClassNames, m: &Message, out: &mut BTreeSet<String>) {
        out.extend(m.fields.iter().map(|f| f.name.clone()));
        let nested =
            m.messages.iter().map(|n| (&n.name, &n.full_name)).chain(m.enums.iter().map(|e| (&e.name, &e.full_name)));
        for (name, full_name) in nested {
            out.insert(name.clone());
            out.extend(classes.path(model, full_name).pop());
        }
        for e in &m.enums {
            out.extend(e.values.iter().map(|v| v.name.clone()));
        }
        for n in &m.messages {
            walk(model, classes, n, out);
        }
    }
    let mut out = BTreeSet::new();
    for m in &file.messages {
        walk(model, classes, m, &mut out);
    }
    for e in &file.enums {
        out.extend(e.values.iter().map(|v| v.name.clone()));
    }
    out
}

impl Types<'_> {
    /// The Python expression naming a message or enum class (`Record`, `Outer.Inner`,
    /// `router_dot_router__pb2.Route`). `local` is false in client modules, where every type is
    /// qualified by its `_pb2` module.
    fn class(&mut self, full_name: &str, local: bool) -> String {
        let info = self.model.type_info(full_name);
        let path = self.classes.path(self.model, full_name);
        if local && info.file == self.file {
            if self.shadowed.contains(&path[0]) || BUILTINS.contains(&path[0].as_str()) {
                // Through the module-level alias, which no field or nested name can shadow.
                return format!("{STUB_GLOBAL}{}", path.join("."));
            }
            return path.join(".");
        }
        let nested = path.join(".");
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

    /// The stub type of an enum value: the enum class, or `Enum.ValueType` for the enums of the
    /// well-known types, whose stubs (typeshed's, mypy-protobuf style) type values that way.
    fn enum_value(&mut self, full_name: &str) -> String {
        let class = self.class(full_name, true);
        if self.model.type_info(full_name).file.starts_with("google/protobuf/") {
            format!("{class}.ValueType")
        } else {
            class
        }
    }

    fn value(&mut self, ty: &FieldType) -> String {
        match ty {
            FieldType::Scalar(s) => scalar_type(*s).to_owned(),
            FieldType::Enum(n) => self.enum_value(n),
            FieldType::Message(n) => self.class(n, true),
            FieldType::Map { .. } => unreachable!("map values are never maps"),
        }
    }
}

fn pb2_view(model: &Model, classes: &ClassNames, file: &File, pkg: &[String]) -> Value {
    let mut types = Types {
        model,
        classes,
        file: &file.name,
        pkg,
        imports: BTreeMap::new(),
        shadowed: class_body_names(model, classes, file),
    };
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
    let enums: Vec<Value> = file.enums.iter().map(|e| enum_view(e, &mut types)).collect();
    // Top-level enum values are module attributes: only keywords cannot be.
    let top_values: Vec<Value> = file
        .enums
        .iter()
        .flat_map(|e| e.values.iter().map(move |v| (e, v)))
        .filter(|(_, v)| !KEYWORDS.contains(&v.name.as_str()))
        .map(|(e, v)| json!({ "name": v.name, "enum": types.class(&e.full_name, true) }))
        .collect();
    let globals: Vec<Value> = file
        .messages
        .iter()
        .map(|m| &m.full_name)
        .chain(file.enums.iter().map(|e| &e.full_name))
        .map(|n| classes.path(model, n).join("."))
        .filter(|attr| types.shadowed.contains(attr) || BUILTINS.contains(&attr.as_str()))
        .map(|attr| json!({ "alias": format!("{STUB_GLOBAL}{attr}"), "name": attr }))
        .collect();
    // A top-level message, enum or enum value named DESCRIPTOR replaces the file descriptor.
    let descriptor_taken = file.messages.iter().any(|m| m.name == "DESCRIPTOR")
        || file.enums.iter().any(|e| e.name == "DESCRIPTOR" || e.values.iter().any(|v| v.name == "DESCRIPTOR"));
    // `json!` serializes each value it is given (a deep copy): the big parts are moved in after.
    let mut view = json!({
        "proto_name": file.name,
        "generator": generator_name(),
        "doc": doc(&file.comments, file.deprecated),
        "descriptor_literal": bytes_literal(&python_descriptor(&file.descriptor)),
        "dep_imports": dep_imports,
        "stub_imports": types.imports.values().cloned().collect::<Vec<_>>(),
        "descriptor_taken": descriptor_taken,
        "aliases": alias_statements(&classes.aliases[&file.name]),
    });
    view["messages"] = Value::Array(messages);
    view["enums"] = Value::Array(enums);
    view["enum_values"] = Value::Array(top_values);
    view["globals"] = Value::Array(globals);
    view
}

fn enum_view(e: &Enum, types: &mut Types<'_>) -> Value {
    let path = types.classes.path(types.model, &e.full_name);
    json!({
        "name": path.last(),
        "qualified": types.class(&e.full_name, true),
        "doc": doc(&e.comments, e.deprecated),
        "values": e.values.iter().filter(|v| is_stub_enum_value(&v.name)).map(|v| json!({ "name": v.name, "number": v.number })).collect::<Vec<_>>(),
    })
}

/// The parts of a message's stub class that repeat per field, joined once here rather than by
/// `{{#each fields}}` loops in the template (handlebars spends microseconds per element, which
/// adds up to seconds on proto sets with tens of thousands of fields).
#[derive(Default)]
struct StubSections {
    /// `    NAME_FIELD_NUMBER: _ClassVar[_builtins.int]` lines, one per distinct constant.
    consts: String,
    /// `    name: type` lines, the attributes.
    attrs: String,
    /// `, name: type = ...` for each field: `__init__`'s keyword parameters.
    init_params: String,
}

fn message_view(m: &Message, types: &mut Types<'_>) -> Value {
    let mut fields = Vec::new();
    let mut sections = StubSections::default();
    let mut consts: Vec<String> = Vec::new();
    for f in &m.fields {
        if !is_stub_field(&f.name) {
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
                let c = types.enum_value(n);
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
                let c = types.enum_value(n);
                (c.clone(), format!("_Optional[_Union[{c}, _builtins.str]]"))
            }
            (_, ty) => {
                let t = types.value(ty);
                (t.clone(), format!("_Optional[{t}]"))
            }
        };
        // `foo_bar` and `fooBar` share one constant (the runtime sets it twice).
        let number_const = format!("{}_FIELD_NUMBER", f.name.to_uppercase());
        let first_const = !consts.contains(&number_const);
        if first_const {
            sections.consts.push_str(&format!("    {number_const}: _ClassVar[_builtins.int]\n"));
            consts.push(number_const.clone());
        }
        sections.attrs.push_str(&format!("    {}: {attr}\n", f.name));
        sections.init_params.push_str(&format!(", {}: {init} = ...", f.name));
        fields.push(json!({
            "name": f.name,
            "declare_const": first_const,
            "number_const": number_const,
            "attr_type": attr,
            "init_type": init,
        }));
    }
    // `self` names the instance in `__init__` unless a field takes it.
    let mut this = "self".to_owned();
    while m.fields.iter().any(|f| f.name == this) {
        this.push('_');
    }
    let path = types.classes.path(types.model, &m.full_name);
    let enum_values: Vec<Value> = m
        .enums
        .iter()
        .flat_map(|e| e.values.iter().map(move |v| (e, v)))
        .filter(|(_, v)| is_stub_field(&v.name))
        .map(|(e, v)| json!({ "name": v.name, "enum": types.class(&e.full_name, true) }))
        .collect();
    let mut view = json!({
        "name": path.last(),
        "doc": doc(&m.comments, m.deprecated),
        "self": this,
        "slots": m.fields.iter().filter(|f| is_stub_field(&f.name)).map(|f| format!("{:?}", f.name)).collect::<Vec<_>>().join(", "),
        "is_empty": m.fields.is_empty() && m.messages.is_empty() && m.enums.is_empty(),
        // Without their last newline: templates place them as `{{field_attrs}}` on a line of its own.
        "field_consts": sections.consts.trim_end_matches('\n'),
        "field_attrs": sections.attrs.trim_end_matches('\n'),
        "init_params": sections.init_params,
    });
    // Moved in after: `json!` would serialize (deep-copy) them.
    view["fields"] = Value::Array(fields);
    view["messages"] = Value::Array(m.messages.iter().map(|n| message_view(n, types)).collect());
    view["enums"] = Value::Array(m.enums.iter().map(|e| enum_view(e, types)).collect());
    view["enum_values"] = Value::Array(enum_values);
    view
}

/// Client class names and `Micro` attribute names already given out.
struct Taken {
    classes: BTreeSet<String>,
    accessors: BTreeSet<String>,
}

/// `name`, or `name_`, `name__`, ... the first one not in `taken`, which it is added to.
fn allocate(name: String, taken: &mut BTreeSet<String>) -> String {
    let mut name = name;
    while !taken.insert(name.clone()) {
        name.push('_');
    }
    name
}

fn client_view(
    model: &Model,
    classes: &ClassNames,
    file: &File,
    pkg: &[String],
    accessors: &HashMap<String, String>,
    taken: &mut Taken,
) -> Value {
    let mut types =
        Types { model, classes, file: &file.name, pkg, imports: BTreeMap::new(), shadowed: BTreeSet::new() };
    let mut services = Vec::new();
    for s in &file.services {
        let base = &accessors[&s.full_name];
        let mut taken_methods = BTreeSet::new();
        let methods: Vec<Value> = s
            .methods
            .iter()
            .map(|m| {
                let name = allocate(member_name(&m.name), &mut taken_methods);
                with_kind_flags(
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
                        "input_name": classes.path(model, &m.input).join("."),
                        "output_name": classes.path(model, &m.output).join("."),
                        "messages_module": format!("{IMPORT_NAME}.{}", module_segments(&model.type_info(&m.input).file, "_pb2").join(".")),
                        "doc": doc(&m.comments, m.deprecated),
                    }),
                    m.kind,
                )
            })
            .collect();
        let (client_class, async_client_class) = loop {
            let sync = allocate(class_name(&format!("{base}Client")), &mut taken.classes);
            if taken.classes.insert(format!("Async{sync}")) {
                break (sync.clone(), format!("Async{sync}"));
            }
        };
        let service_doc = doc(&s.comments, s.deprecated);
        let summary = service_doc.iter().take_while(|l| !l.is_empty()).cloned().collect::<Vec<_>>().join(" ");
        services.push(json!({
            "summary": if summary.is_empty() { format!("The ``{}`` service.", s.full_name) } else { summary },
            "accessor": allocate(member_name(base), &mut taken.accessors),
            "client_class": client_class,
            "async_client_class": async_client_class,
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
    use crate::model::memory_model;

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
    fn keyword_classes_get_escaped_aliases_bound_at_run_time() {
        let proto = r#"
            syntax = "proto3";
            package p;
            message lambda {
              message assert { message del {} }
              string assert_ = 1;
              assert.del x = 2;
            }
            enum None { A = 0; }
        "#;
        let model = memory_model(&[("t.proto", proto)]);
        let classes = ClassNames::build(&model);
        assert_eq!(classes.path(&model, "p.lambda"), ["lambda_"]);
        assert_eq!(classes.path(&model, "p.lambda.assert"), ["lambda_", "assert__"], "the field assert_ takes assert_");
        assert_eq!(classes.path(&model, "p.lambda.assert.del"), ["lambda_", "assert__", "del_"]);
        assert_eq!(classes.path(&model, "p.None"), ["None_"]);
        assert_eq!(
            alias_statements(&classes.aliases["t.proto"]),
            [
                "_globals['lambda_'] = _globals['lambda']",
                "_globals['None_'] = _globals['None']",
                "setattr(_globals['lambda'], 'assert__', getattr(_globals['lambda'], 'assert'))",
                "setattr(getattr(_globals['lambda'], 'assert'), 'del_', getattr(getattr(_globals['lambda'], 'assert'), 'del'))",
            ]
        );
    }

    #[test]
    fn stub_classes_declare_each_constant_once_and_every_attribute() {
        let proto = r#"
            syntax = "proto2";
            package p;
            message M {
              optional string foo_bar = 1;
              repeated int32 FOO_BAR = 2;
              map<string, M> by_name = 3;
            }
            message Empty {}
        "#;
        let model = memory_model(&[("t.proto", proto)]);
        let classes = ClassNames::build(&model);
        let view = pb2_view(&model, &classes, model.file("t.proto").unwrap(), &["p".to_owned()]);
        let m = &view["messages"][0];
        assert_eq!(
            m["field_consts"],
            "    FOO_BAR_FIELD_NUMBER: _ClassVar[_builtins.int]\n    BY_NAME_FIELD_NUMBER: _ClassVar[_builtins.int]"
        );
        assert_eq!(
            m["field_attrs"],
            "    foo_bar: _builtins.str\n    FOO_BAR: _containers.RepeatedScalarFieldContainer[_builtins.int]\n    \
             by_name: _containers.MessageMap[_builtins.str, M]"
        );
        assert_eq!(
            m["init_params"],
            ", foo_bar: _Optional[_builtins.str] = ..., FOO_BAR: _Optional[_Iterable[_builtins.int]] = ..., \
             by_name: _Optional[_Mapping[_builtins.str, M]] = ..."
        );
        let empty = &view["messages"][1];
        assert_eq!(
            (&empty["field_consts"], &empty["field_attrs"], &empty["init_params"]),
            (&"".into(), &"".into(), &"".into())
        );
    }

    #[test]
    fn float_defaults_are_shortened_for_upb() {
        assert_eq!(shortest_float(&format!("{}", 5e-324_f64), false), "5e-324");
        assert_eq!(shortest_float(&format!("{}", f64::MAX), false), "1.7976931348623157e308");
        assert_eq!(shortest_float(&format!("{}", 1e-45_f32), true), "1e-45");
        assert_eq!(shortest_float("1.5", false), "1.5");
        assert_eq!(shortest_float("-2.25", true), "-2.25");
        for text in ["inf", "-inf", "nan"] {
            assert_eq!(shortest_float(text, false), text);
        }
    }

    #[test]
    fn bytes_literals_escape_everything_unsafe() {
        assert_eq!(bytes_literal(b"a'\\\n\x00\xff"), "b'a\\'\\\\\\n\\x00\\xff'");
    }
}
