//! The Java view model.
//!
//! Output layout (`sdks/java`, a Maven project): `src/main/java/dev/micro/sdk/` holds the runtime
//! (`Micro`, `MicroOptions`, `RetryPolicy`, `RequestOptions`, `MicroException`, `Transport`, `Wire`,
//! `Dyn`, `MicroMessage`); each proto file's types go to its `java_package`, else to
//! `dev.micro.sdk.<package>`, with one class per top-level message and enum (or, with
//! `java_multiple_files = false`, nested in the outer class), an outer class per proto file holding
//! the embedded file descriptor, and a `<Service>Client` per service.
//!
//! Names follow protoc's Java generator, so users find what they expect: the outer class is the
//! file's `java_outer_classname`, else its camel-cased base name (`blob_store.proto` →
//! `BlobStore`) with `OuterClass` when a type of the file takes that name; message and enum names
//! stay as written (java.lang is spelled out in generated code, so a message may be `String`);
//! accessors use protoc's camel case, `_` after a name whose getter every message has
//! (`getClass_()`), and the field number after names whose accessors would meet
//! (`getFooBar6()`). What Java itself forbids is salted with `_`: keywords, a nested class named
//! like an enclosing one, `Builder`, a oneof's `<Name>Case`, the package roots `java`/`com`/`dev`.
//!
//! Messages are lean, immutable classes (typed fields, builders, `equals`/`hashCode`). Their
//! binary form is generated code on protobuf-java's `CodedOutputStream`/`CodedInputStream`
//! (`codec.rs`: the statements per field, as protoc's Java code writes them); their JSON form goes
//! through a `DynamicMessage` of the embedded descriptor and `JsonFormat` (whose type registry,
//! built in `Dyn`, holds every message of the SDK's files and the well-known types, so a
//! `google.protobuf.Any` of any of them prints and parses), so no `protoc` and no
//! `GeneratedMessageV3` machinery is needed. proto2 `optional` fields have presence, and their
//! getters fall back to the descriptor's default (`[default = ...]`).

mod codec;
mod members;
pub mod names;

use std::collections::{BTreeSet, HashMap, HashSet};

use prost_types::field_descriptor_proto::Type as PbType;
use prost_types::{DescriptorProto, FileDescriptorProto};
use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::{Error, Result};
use crate::lang::{escape_block_comment, example_service, generator_name, parallel_map, service_accessors};
use crate::model::{Comments, Enum, Field, FieldType, File, Label, Message, Model, Scalar, StreamingKind, Syntax};
use crate::render::Plan;

use names::*;

/// The Maven coordinates used when none are configured.
pub const DEFAULT_PACKAGE_NAME: &str = "dev.micro:micro-sdk";
/// The Java package of the runtime; proto packages go below it.
pub const BASE_PACKAGE: &str = "dev.micro.sdk";
/// The classes of the runtime, in [`BASE_PACKAGE`].
const RUNTIME_CLASSES: &[&str] = &[
    "Micro",
    "MicroOptions",
    "MicroException",
    "MicroMessage",
    "Transport",
    "Wire",
    "Dyn",
    "RequestOptions",
    "RetryPolicy",
];

/// The Java package of a proto package (`acme.shop.v1` → `dev.micro.sdk.acme.shop.v1`).
fn java_package(proto_package: &str) -> String {
    if proto_package.is_empty() {
        return format!("{BASE_PACKAGE}.proto");
    }
    let segments: Vec<String> = proto_package.split('.').map(package_segment).collect();
    format!("{BASE_PACKAGE}.{}", segments.join("."))
}

/// The Java names of one plan, allocated once: the class of every message and enum (names that
/// Java cannot take as is salted with `_`), the outer class of every file (protoc's name, with
/// `OuterClass` when a type of the file takes it), the client class of every service, and the
/// descriptor facts the model does not carry (group fields, explicit `packed` options).
struct Names<'a> {
    model: &'a Model,
    /// Fully-qualified Java class by proto type name.
    classes: HashMap<String, String>,
    /// Java package by proto file (its `java_package`, else below [`BASE_PACKAGE`]).
    packages: HashMap<String, String>,
    /// Outer class (simple name) by proto file.
    outer: HashMap<String, String>,
    /// Files with `java_multiple_files = false`, whose types are nested in the outer class.
    nested: HashSet<String>,
    /// Client class (simple name) by service full name.
    clients: HashMap<String, String>,
    /// `Micro` accessor by service full name (unique across the plan).
    accessors: HashMap<String, String>,
    /// `(message full name, field number)` of every group field.
    groups: HashSet<(String, i32)>,
    /// Explicit `[packed = ...]` options by `(message full name, field number)`.
    packed: HashMap<(String, i32), bool>,
    /// Messages with a required field, themselves or in a message they hold (at any depth).
    required: HashSet<String>,
}

/// Appends `_` to `name` until `taken` does not hold it, then takes it.
fn allocate(taken: &mut BTreeSet<String>, mut name: String) -> String {
    while taken.contains(&name) {
        name.push('_');
    }
    taken.insert(name.clone());
    name
}

/// The `<Stem>Case` enum names of a message's oneofs (salted against each other).
fn oneof_stems(m: &Message) -> Vec<String> {
    let mut taken = BTreeSet::new();
    m.oneofs.iter().map(|o| allocate(&mut taken, property_stem(&o.name))).collect()
}

impl<'a> Names<'a> {
    fn new(model: &'a Model) -> Self {
        let mut names = Names {
            model,
            classes: HashMap::new(),
            packages: HashMap::new(),
            outer: HashMap::new(),
            nested: HashSet::new(),
            clients: HashMap::new(),
            accessors: HashMap::new(),
            groups: HashSet::new(),
            packed: HashMap::new(),
            required: HashSet::new(),
        };
        let files: Vec<&File> = model.files.iter().filter(|f| !f.name.starts_with("google/protobuf/")).collect();
        for file in &files {
            names.packages.insert(file.name.clone(), file_java_package(model, file));
            let options =
                model.descriptor_set.file.iter().find(|d| d.name() == file.name).and_then(|d| d.options.as_ref());
            if options.is_some_and(|o| o.java_multiple_files == Some(false)) {
                names.nested.insert(file.name.clone());
            }
        }
        // Top-level names per Java package, across its files: types first, then outer classes,
        // then clients, so a type keeps its proto name whenever Java allows it.
        let mut taken: HashMap<String, BTreeSet<String>> = HashMap::new();
        // A `java_package` of the runtime's own package cannot take the runtime's classes.
        taken.insert(BASE_PACKAGE.to_owned(), RUNTIME_CLASSES.iter().map(|c| (*c).to_owned()).collect());
        // A class cannot take the name of a package beside it (`sub` of the package `a.sub`).
        for file in &files {
            let package = names.package(file);
            let mut parent = String::new();
            for segment in package.split('.') {
                if !parent.is_empty() {
                    taken.entry(parent.clone()).or_default().insert(segment.to_owned());
                    parent.push('.');
                }
                parent.push_str(segment);
            }
        }
        let nested = names.nested.clone();
        for file in files.iter().filter(|f| !nested.contains(&f.name)) {
            let package = names.package(file);
            let set = taken.entry(package.clone()).or_default();
            for m in &file.messages {
                let name = allocate(set, type_name(&m.name));
                names.nest_message(m, &format!("{package}.{name}"), vec![name]);
            }
            for e in &file.enums {
                let name = allocate(set, type_name(&e.name));
                names.classes.insert(e.full_name.clone(), format!("{package}.{name}"));
            }
        }
        for file in &files {
            let descriptor = model.descriptor_set.file.iter().find(|d| d.name() == file.name);
            let explicit = descriptor
                .and_then(|d| d.options.as_ref())
                .and_then(|o| o.java_outer_classname.clone())
                .filter(|n| !n.is_empty());
            let mut outer = explicit.as_deref().map(identifier).unwrap_or_else(|| default_outer_class(&file.name));
            if explicit.is_none() && file_declares(file, &outer) {
                outer.push_str("OuterClass");
            }
            let package = names.package(file);
            let set = taken.entry(package.clone()).or_default();
            let outer = allocate(set, type_name(&outer));
            names.outer.insert(file.name.clone(), outer.clone());
            if let Some(d) = descriptor {
                names.scan_descriptor(d);
            }
            // `java_multiple_files = false`: the file's types are nested classes of its outer class.
            if names.nested.contains(&file.name) {
                let class = format!("{package}.{outer}");
                let mut inner = BTreeSet::from([outer.clone()]);
                for m in &file.messages {
                    let name = allocate(&mut inner, type_name(&m.name));
                    names.nest_message(m, &format!("{class}.{name}"), vec![outer.clone(), name]);
                }
                for e in &file.enums {
                    let name = allocate(&mut inner, type_name(&e.name));
                    names.classes.insert(e.full_name.clone(), format!("{class}.{name}"));
                }
            }
        }
        names.required = required_messages(&files);
        let accessors = service_accessors(model);
        let mut members = BTreeSet::new();
        for file in model.targets() {
            let set = taken.entry(names.package(file)).or_default();
            for s in &file.services {
                let base = accessors.get(&s.full_name).cloned().unwrap_or_else(|| s.name.clone());
                let class = allocate(set, type_name(&format!("{}Client", camel_case(&base, true))));
                names.clients.insert(s.full_name.clone(), class);
                names.accessors.insert(s.full_name.clone(), allocate(&mut members, member_name(&base)));
            }
        }
        names
    }

    /// Names the nested types of `m` (whose class is `class`, inside `enclosing`): a nested class
    /// cannot take the name of an enclosing class, `Builder` or one of the oneof case enums.
    fn nest_message(&mut self, m: &Message, class: &str, enclosing: Vec<String>) {
        self.classes.insert(m.full_name.clone(), class.to_owned());
        let mut taken: BTreeSet<String> = enclosing.iter().cloned().collect();
        taken.insert("Builder".to_owned());
        taken.extend(oneof_stems(m).into_iter().map(|s| format!("{s}Case")));
        for e in &m.enums {
            let name = allocate(&mut taken, type_name(&e.name));
            self.classes.insert(e.full_name.clone(), format!("{class}.{name}"));
        }
        for n in &m.messages {
            let name = allocate(&mut taken, type_name(&n.name));
            let mut inner = enclosing.clone();
            inner.push(name.clone());
            self.nest_message(n, &format!("{class}.{name}"), inner);
        }
    }

    /// Records the group fields and explicit `packed` options of a file's messages.
    fn scan_descriptor(&mut self, file: &FileDescriptorProto) {
        fn walk(names: &mut Names<'_>, m: &DescriptorProto, prefix: &str) {
            let full = if prefix.is_empty() { m.name().to_owned() } else { format!("{prefix}.{}", m.name()) };
            for f in &m.field {
                if f.r#type() == PbType::Group {
                    names.groups.insert((full.clone(), f.number()));
                }
                if let Some(packed) = f.options.as_ref().and_then(|o| o.packed) {
                    names.packed.insert((full.clone(), f.number()), packed);
                }
            }
            for n in &m.nested_type {
                walk(names, n, &full);
            }
        }
        for m in &file.message_type {
            walk(self, m, file.package());
        }
    }

    /// The fully-qualified Java class of a message or enum.
    fn class_of(&self, full_name: &str) -> String {
        let info = self.model.type_info(full_name);
        if info.file == "google/protobuf/descriptor.proto" {
            return format!("com.google.protobuf.DescriptorProtos.{}", info.nesting.join("."));
        }
        if info.file.starts_with("google/protobuf/") {
            return format!("com.google.protobuf.{}", info.nesting.join("."));
        }
        self.classes.get(full_name).cloned().unwrap_or_else(|| full_name.to_owned())
    }

    /// The simple name of a class (its last segment).
    fn simple(&self, full_name: &str) -> String {
        self.class_of(full_name).rsplit('.').next().unwrap_or_default().to_owned()
    }

    /// The Java package of a proto file.
    fn package(&self, file: &File) -> String {
        self.packages.get(&file.name).cloned().unwrap_or_else(|| java_package(&file.package))
    }

    /// The outer class of a proto file (simple name).
    fn outer_class(&self, proto: &str) -> String {
        self.outer.get(proto).cloned().unwrap_or_else(|| default_outer_class(proto))
    }
}

/// A file's Java package: its `java_package` option as protoc uses it (each segment made an
/// identifier, keywords escaped), else the proto package below [`BASE_PACKAGE`].
fn file_java_package(model: &Model, file: &File) -> String {
    let option = model
        .descriptor_set
        .file
        .iter()
        .find(|d| d.name() == file.name)
        .and_then(|d| d.options.as_ref())
        .and_then(|o| o.java_package.clone());
    match option {
        Some(p) if p.split('.').any(|s| !s.is_empty()) => {
            p.split('.').filter(|s| !s.is_empty()).map(|s| escape(&identifier(s))).collect::<Vec<_>>().join(".")
        }
        _ => java_package(&file.package),
    }
}

/// `name` as a Java identifier: other characters as `_`, `_` before a leading digit.
fn identifier(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The messages that have a required field, or hold (as a field, list element or map value) a
/// message that has one: their `isInitialized()` has something to check.
fn required_messages(files: &[&File]) -> HashSet<String> {
    fn all<'m>(m: &'m Message, out: &mut Vec<&'m Message>) {
        out.push(m);
        for n in &m.messages {
            all(n, out);
        }
    }
    let mut messages = Vec::new();
    for f in files {
        for m in &f.messages {
            all(m, &mut messages);
        }
    }
    let held = |f: &Field| match &f.ty {
        FieldType::Message(n) => Some(n.clone()),
        FieldType::Map { value, .. } => match value.as_ref() {
            FieldType::Message(n) => Some(n.clone()),
            _ => None,
        },
        _ => None,
    };
    let mut out: HashSet<String> = messages
        .iter()
        .filter(|m| m.fields.iter().any(|f| f.label == Label::Required))
        .map(|m| m.full_name.clone())
        .collect();
    loop {
        let before = out.len();
        for m in &messages {
            if !out.contains(&m.full_name) && m.fields.iter().any(|f| held(f).is_some_and(|n| out.contains(&n))) {
                out.insert(m.full_name.clone());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// Whether a file declares a message (at any depth), enum or service named `name`, which makes
/// protoc add `OuterClass` to the file's default outer class.
fn file_declares(file: &File, name: &str) -> bool {
    fn in_message(m: &Message, name: &str) -> bool {
        m.name == name || m.enums.iter().any(|e| e.name == name) || m.messages.iter().any(|n| in_message(n, name))
    }
    file.enums.iter().any(|e| e.name == name)
        || file.services.iter().any(|s| s.name == name)
        || file.messages.iter().any(|m| in_message(m, name))
}

/// The protobuf-java class holding a well-known type file's descriptor.
fn wkt_outer(proto: &str) -> Option<&'static str> {
    Some(match proto.strip_prefix("google/protobuf/")? {
        "any.proto" => "AnyProto",
        "api.proto" => "ApiProto",
        "descriptor.proto" => "DescriptorProtos",
        "duration.proto" => "DurationProto",
        "empty.proto" => "EmptyProto",
        "field_mask.proto" => "FieldMaskProto",
        "source_context.proto" => "SourceContextProto",
        "struct.proto" => "StructProto",
        "timestamp.proto" => "TimestampProto",
        "type.proto" => "TypeProto",
        "wrappers.proto" => "WrappersProto",
        _ => return None,
    })
}

/// The expression of a proto file's `FileDescriptor`.
fn file_descriptor_expr(names: &Names<'_>, proto: &str) -> Result<String> {
    if proto.starts_with("google/protobuf/") {
        return wkt_outer(proto)
            .map(|o| format!("com.google.protobuf.{o}.getDescriptor()"))
            .ok_or_else(|| Error::invalid(format!("java: unsupported well-known file {proto}")));
    }
    let file = names.model.file(proto).ok_or_else(|| Error::invalid(format!("java: unknown file {proto}")))?;
    Ok(format!("{}.{}.getDescriptor()", names.package(file), names.outer_class(proto)))
}

/// A Java string literal of `data` read as ISO-8859-1, split into lines of at most 80 bytes.
fn bytes_literals(data: &[u8]) -> Vec<String> {
    data.chunks(80)
        .map(|chunk| {
            let mut out = String::from("\"");
            for &b in chunk {
                match b {
                    b'\\' => out.push_str("\\\\"),
                    b'"' => out.push_str("\\\""),
                    0x20..=0x7e => out.push(b as char),
                    _ => {
                        out.push('\\');
                        for shift in [6, 3, 0] {
                            out.push(char::from(b'0' + ((b >> shift) & 7)));
                        }
                    }
                }
            }
            out.push('"');
            out
        })
        .collect()
}

/// Javadoc lines: `*/` cannot end the comment, HTML specials are escaped, `@` cannot start a tag.
fn doc(comments: &Comments, deprecated: bool) -> Vec<String> {
    let mut lines: Vec<String> = comments
        .doc_lines()
        .iter()
        .map(|l| {
            // javac reads `\uXXXX` escapes before comments end (`\u000a` would end a `*` line,
            // `\u002a/` the comment): every backslash becomes its HTML entity.
            escape_block_comment(
                &l.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\\', "&#92;"),
            )
            .replace('@', "&#64;")
        })
        .collect();
    // A blank line starts a new paragraph, which Javadoc (HTML) only sees with <p>.
    for i in 1..lines.len() {
        if lines[i].is_empty() && !lines[i - 1].is_empty() && lines.get(i + 1).is_some_and(|l| !l.is_empty()) {
            lines[i] = "<p>".to_owned();
        }
    }
    if deprecated {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push("@deprecated this element is deprecated in the proto definition.".to_owned());
    }
    lines
}

fn scalar_types(s: Scalar) -> (&'static str, &'static str, &'static str) {
    // (java type, boxed type, default); java.lang fully qualified, as protoc writes it, so a
    // message named `String` or `Integer` keeps its name.
    match s {
        Scalar::Double => ("double", "java.lang.Double", "0D"),
        Scalar::Float => ("float", "java.lang.Float", "0F"),
        Scalar::Bool => ("boolean", "java.lang.Boolean", "false"),
        Scalar::String => ("java.lang.String", "java.lang.String", "\"\""),
        Scalar::Bytes => {
            ("com.google.protobuf.ByteString", "com.google.protobuf.ByteString", "com.google.protobuf.ByteString.EMPTY")
        }
        s if s.is_64bit_int() => ("long", "java.lang.Long", "0L"),
        _ => ("int", "java.lang.Integer", "0"),
    }
}

/// Whether a singular field has explicit presence (a nullable store and `hasX()`): message
/// fields, proto3 `optional` and oneof members, and every proto2 `optional` or `required` field.
fn has_presence(label: Label, ty: &FieldType, proto3: bool) -> bool {
    matches!(ty, FieldType::Message(_))
        || matches!(label, Label::Optional | Label::Required)
        || (!proto3 && label == Label::Singular)
}

/// The conversion of a message value read from a `DynamicMessage` into its Java class.
fn from_dynamic(names: &Names<'_>, ty: &FieldType) -> String {
    match ty {
        FieldType::Message(n) => {
            let class = names.class_of(n);
            if names.model.type_info(n).file.starts_with("google/protobuf/") {
                format!("m -> {class}.newBuilder().mergeFrom(m).build()")
            } else {
                format!("{class}::fromDynamic")
            }
        }
        _ => "null".to_owned(),
    }
}

/// The accessor and builder methods a field's stem gives it.
fn field_methods(f: &Field, stem: &str) -> Vec<String> {
    let is_enum = |t: &FieldType| matches!(t, FieldType::Enum(_));
    match f.label {
        Label::Map => {
            vec![format!("get{stem}Map"), format!("put{stem}"), format!("putAll{stem}"), format!("clear{stem}")]
        }
        Label::Repeated => {
            let mut m = vec![format!("get{stem}List"), format!("add{stem}"), format!("clear{stem}")];
            if is_enum(&f.ty) {
                m.extend([format!("get{stem}ValueList"), format!("add{stem}Value")]);
            } else {
                m.push(format!("addAll{stem}"));
            }
            m
        }
        _ => {
            let mut m = vec![format!("get{stem}"), format!("has{stem}"), format!("set{stem}"), format!("clear{stem}")];
            if is_enum(&f.ty) {
                m.extend([format!("get{stem}Value"), format!("set{stem}Value")]);
            }
            m
        }
    }
}

/// The accessor stem of every field of `m`, as protoc's Java generator makes them: protoc's
/// camel case, `_` after a name whose getter a message already has (`getClass_()`), and the field
/// number appended to fields whose accessors would take another field's (`foo_bar` and `fooBar`
/// → `getFooBar6()`, `getFooBar7()`; repeated `items` and `items_count` → `getItems27List()`,
/// `getItemsCount28()`), or the case getter of a oneof (`getSwitchCase()`).
fn field_stems(m: &Message) -> Vec<String> {
    let stems: Vec<String> = m.fields.iter().map(|f| property_stem(&f.name)).collect();
    let methods: Vec<Vec<String>> = m.fields.iter().zip(&stems).map(|(f, s)| field_methods(f, s)).collect();
    let oneof_getters: BTreeSet<String> = oneof_stems(m).iter().map(|s| format!("get{s}Case")).collect();
    // How many fields declare each method (a field's methods are distinct), the oneofs' case
    // getters counting as one more: a field conflicts when one of its methods has two owners.
    let mut owners: HashMap<&str, usize> = HashMap::new();
    for name in methods.iter().flatten().chain(&oneof_getters) {
        *owners.entry(name.as_str()).or_default() += 1;
    }
    let mut conflict: Vec<bool> = methods.iter().map(|ms| ms.iter().any(|name| owners[name.as_str()] > 1)).collect();
    // protoc's own rule (`IsConflicting`) also numbers a repeated `x` against a singular
    // `x_count` or `x_list`, whose getters protoc's API would share.
    let repeated = |f: &Field| matches!(f.label, Label::Repeated | Label::Map);
    let mut singular: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, f) in m.fields.iter().enumerate() {
        if !repeated(f) {
            singular.entry(stems[i].as_str()).or_default().push(i);
        }
    }
    for (r, f) in m.fields.iter().enumerate() {
        if !repeated(f) {
            continue;
        }
        for suffix in ["Count", "List"] {
            if let Some(others) = singular.get(format!("{}{suffix}", stems[r]).as_str()) {
                conflict[r] = true;
                for &o in others {
                    conflict[o] = true;
                }
            }
        }
    }
    stems
        .into_iter()
        .zip(&m.fields)
        .zip(conflict)
        .map(|((s, f), c)| if c { format!("{s}{}", f.number) } else { s })
        .collect()
}

/// A field's storage variable: its proto name (other characters as `_`) and a trailing `_`, so
/// it never meets a local variable or a member of the generated class.
fn storage_var(f: &Field) -> String {
    format!("{}_", f.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
}

/// A field's view (its names, member type and kind, for templates that lay fields out their own
/// way) and what it puts into its class ([`members::sections`]).
fn field_view(names: &Names<'_>, m: &Message, f: &Field, stem: &str, proto3: bool) -> (Value, members::FieldCode) {
    let model = names.model;
    let var = storage_var(f);
    let doc_lines = doc(&f.comments, f.deprecated);
    let siblings: Vec<String> = match f.oneof {
        Some(i) => m.fields.iter().filter(|o| o.oneof == Some(i) && o.number != f.number).map(storage_var).collect(),
        None => Vec::new(),
    };
    let check_message = match &f.ty {
        FieldType::Message(n) => names.required.contains(n),
        FieldType::Map { value, .. } => matches!(value.as_ref(), FieldType::Message(n) if names.required.contains(n)),
        _ => false,
    };
    let member = |kind| members::Member {
        proto_name: &f.name,
        stem,
        var: &var,
        doc: &doc_lines,
        deprecated: f.deprecated,
        siblings: &siblings,
        kind,
    };
    // The member's type (in the message and its builder), the builder's initializer, the
    // accessors and setters, and the element, key and value types the codec needs.
    let (shape, member_type, builder_init, accessors, builder_methods, element, map_types) = match (&f.label, &f.ty) {
        (Label::Map, FieldType::Map { key, value }) => {
            let (_, kb, _) = scalar_types(*key);
            let vb = match value.as_ref() {
                FieldType::Scalar(s) => scalar_types(*s).1.to_owned(),
                FieldType::Enum(_) => "java.lang.Integer".to_owned(),
                FieldType::Message(n) => names.class_of(n),
                FieldType::Map { .. } => unreachable!("map values are never maps"),
            };
            let m = member(members::Kind::Map { key_type: kb, value_type: &vb });
            let (accessors, builder_methods) = (members::accessors(&m), members::builder_methods(&m));
            let member_type = format!("java.util.Map<{kb}, {vb}>");
            let init = " = new java.util.LinkedHashMap<>()".to_owned();
            (
                members::Shape::Map,
                member_type,
                init,
                accessors,
                builder_methods,
                String::new(),
                Some((kb.to_owned(), vb)),
            )
        }
        (Label::Repeated, ty) => {
            let (enum_type, element) = match ty {
                FieldType::Enum(n) => (Some(names.class_of(n)), "java.lang.Integer".to_owned()),
                FieldType::Message(n) => (None, names.class_of(n)),
                FieldType::Scalar(s) => (None, scalar_types(*s).1.to_owned()),
                FieldType::Map { .. } => unreachable!(),
            };
            let m = member(members::Kind::List { enum_type: enum_type.as_deref(), element_type: &element });
            let (accessors, builder_methods) = (members::accessors(&m), members::builder_methods(&m));
            let member_type = format!("java.util.List<{element}>");
            let init = " = new java.util.ArrayList<>()".to_owned();
            (members::Shape::List, member_type, init, accessors, builder_methods, element, None)
        }
        (label, ty) => {
            let presence = has_presence(*label, ty, proto3);
            let (java, boxed, default, enum_type) = match ty {
                FieldType::Scalar(s) => {
                    let (j, b, d) = scalar_types(*s);
                    (j.to_owned(), b.to_owned(), d.to_owned(), None)
                }
                FieldType::Enum(n) => {
                    ("int".to_owned(), "java.lang.Integer".to_owned(), "0".to_owned(), Some(names.class_of(n)))
                }
                FieldType::Message(n) => {
                    let c = names.class_of(n);
                    (c.clone(), c.clone(), format!("{c}.getDefaultInstance()"), None)
                }
                FieldType::Map { .. } => unreachable!(),
            };
            // proto2 defaults (`[default = ...]`, else the first enum value) come from the
            // descriptor, which protobuf-java has already parsed.
            let (default, enum_default) = match ty {
                FieldType::Scalar(_) if !proto3 => (
                    format!("(({boxed}) getDescriptor().findFieldByNumber({}).getDefaultValue())", f.number),
                    "0".to_owned(),
                ),
                FieldType::Enum(_) if !proto3 => {
                    let e = format!(
                        "((com.google.protobuf.Descriptors.EnumValueDescriptor) getDescriptor().findFieldByNumber({}).getDefaultValue()).getNumber()",
                        f.number
                    );
                    (e.clone(), e)
                }
                _ => (default, "0".to_owned()),
            };
            let m = member(members::Kind::Single {
                presence,
                java_type: &java,
                enum_type: enum_type.as_deref(),
                default: &default,
                enum_default: &enum_default,
                nullable_store: presence || matches!(ty, FieldType::Scalar(Scalar::String | Scalar::Bytes)),
            });
            let (accessors, builder_methods) = (members::accessors(&m), members::builder_methods(&m));
            // Storage: the primitive without presence, the boxed type (null = unset) with it.
            let store_type = if presence { boxed } else { java };
            let init = if presence { String::new() } else { format!(" = {default}") };
            (members::Shape::Single, store_type, init, accessors, builder_methods, String::new(), None)
        }
    };
    let key = (m.full_name.clone(), f.number);
    let wire =
        codec::Wire { group: names.groups.contains(&key), packed: names.packed.get(&key).copied().unwrap_or(proto3) };
    let class = |n: &str| names.class_of(n);
    let map_refs = map_types.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
    let codec = codec::field_codec(model, f, proto3, wire, &var, &element, map_refs, &siblings, &class);
    let view = json!({
        "proto_name": f.name,
        "number": f.number,
        "stem": stem,
        "var": var,
        "member_type": member_type,
        "kind": match shape { members::Shape::Single => "single", members::Shape::List => "list", members::Shape::Map => "map" },
        "doc": doc_lines,
        "deprecated": f.deprecated,
    });
    let check_type = match shape {
        members::Shape::Map => map_types.map(|(_, v)| v),
        members::Shape::List => Some(element),
        members::Shape::Single => Some(String::new()),
    };
    let code = members::FieldCode {
        var,
        number: f.number,
        member_type,
        builder_init,
        from_dynamic: from_dynamic(
            names,
            match &f.ty {
                FieldType::Map { value, .. } => value,
                t => t,
            },
        ),
        shape,
        required: f.label == Label::Required,
        check_type: check_type.filter(|_| check_message),
        accessors,
        builder_methods,
        size: codec.size,
        write: codec.write,
        read: codec.read,
    };
    (view, code)
}

/// A top-level message's or enum's view as its file's root: the partial renders the file header
/// (`generator`, `proto_name`, `package` from `header`) when `file_header` is set. The partial is
/// rendered as the root template, not included, so handlebars does not copy the view.
fn file_root(mut view: Value, header: &Value) -> Value {
    view["file_header"] = json!(true);
    for key in ["generator", "proto_name", "package"] {
        view[key] = header[key].clone();
    }
    view
}

fn enum_view(names: &Names<'_>, e: &Enum, modifier: &str, descriptor: String) -> Value {
    json!({
        "file_header": false,
        "name": names.simple(&e.full_name),
        "modifier": modifier,
        "doc": doc(&e.comments, e.deprecated),
        "descriptor": descriptor,
        "deprecated": e.deprecated,
        "values": e.values.iter().map(|v| json!({
            "name": constant_name(&v.name),
            "number": v.number,
            "doc": doc(&v.comments, v.deprecated),
            "deprecated": v.deprecated,
        })).collect::<Vec<_>>(),
    })
}

fn message_view(names: &Names<'_>, m: &Message, proto3: bool, modifier: &str, descriptor: String) -> Value {
    let class = names.class_of(&m.full_name);
    let stems = field_stems(m);
    let (fields, code): (Vec<Value>, Vec<members::FieldCode>) =
        m.fields.iter().zip(&stems).map(|(f, s)| field_view(names, m, f, s, proto3)).unzip();
    let oneof_stems = oneof_stems(m);
    let oneofs: Vec<Value> = m
        .oneofs
        .iter()
        .enumerate()
        .filter(|(i, _)| m.fields.iter().any(|f| f.oneof == Some(*i)))
        .map(|(i, o)| {
            let members: Vec<&Field> = m.fields.iter().filter(|f| f.oneof == Some(i)).collect();
            let mut none = format!("{}_NOT_SET", o.name.to_uppercase());
            while members.iter().any(|f| f.name.to_uppercase() == none) {
                none.push('_');
            }
            let mut view = json!({ "stem": oneof_stems[i], "none_const": none });
            view["members"] = Value::Array(
                members
                    .iter()
                    .map(|f| json!({ "const": f.name.to_uppercase(), "number": f.number, "var": storage_var(f) }))
                    .collect(),
            );
            view
        })
        .collect();
    let messages = m
        .messages
        .iter()
        .map(|n| {
            let descriptor = format!("{class}.getDescriptor().findNestedTypeByName(\"{}\")", n.name);
            message_view(names, n, proto3, "public static final class", descriptor)
        })
        .collect();
    let enums = m
        .enums
        .iter()
        .map(|e| {
            enum_view(names, e, "public enum", format!("{class}.getDescriptor().findEnumTypeByName(\"{}\")", e.name))
        })
        .collect();
    // `json!` serializes each value it is given (a deep copy): the big parts are moved in after.
    let mut view = json!({
        "file_header": false,
        "name": names.simple(&m.full_name),
        "class": class,
        "modifier": modifier,
        "doc": doc(&m.comments, m.deprecated),
        "deprecated": m.deprecated,
        "descriptor": descriptor,
        "full_name": m.full_name,
    });
    view["fields"] = Value::Array(fields);
    for (key, text) in members::sections(&code) {
        view[key] = Value::String(text);
    }
    view["oneofs"] = Value::Array(oneofs);
    view["messages"] = Value::Array(messages);
    view["enums"] = Value::Array(enums);
    view
}

/// One proto file's part of the Java plan: its renders (template, output path, view model), its
/// services' entries for the root view, and its `getDescriptor()` expression.
type FileViews = (Vec<(String, String, Value)>, Vec<Value>, String);

/// The renders of one proto file (outer class, then its messages, enums and clients), its
/// services' entries for the root view, and its `getDescriptor()` expression.
fn file_views(names: &Names<'_>, accessors: &HashMap<String, String>, file: &crate::model::File) -> Result<FileViews> {
    let mut renders = Vec::new();
    let mut services = Vec::new();
    let package = names.package(file);
    let dir = format!("src/main/java/{}", package.replace('.', "/"));
    let outer = names.outer_class(&file.name);
    let descriptor_file = format!("{package}.{outer}.getDescriptor()");
    let deps = file.dependencies.iter().map(|d| file_descriptor_expr(names, d)).collect::<Result<Vec<_>>>()?;
    let header = json!({ "generator": generator_name(), "proto_name": file.name, "package": package });
    // With `java_multiple_files = false` the outer class holds the file's types; else each
    // top-level type is a file of its own, rendered from its partial as the root.
    let nested = names.nested.contains(&file.name);
    let message_modifier = if nested { "public static final class" } else { "public final class" };
    let (mut nested_messages, mut nested_enums) = (Vec::new(), Vec::new());
    let mut place = |view: Value, full_name: &str, partial: &str, nested_views: &mut Vec<Value>| {
        if nested {
            nested_views.push(view);
        } else {
            let path = format!("{dir}/{}.java", names.simple(full_name));
            renders.push((partial.to_owned(), path, file_root(view, &header)));
        }
    };
    for m in &file.messages {
        let descriptor = format!("{package}.{outer}.getDescriptor().findMessageTypeByName(\"{}\")", m.name);
        let view = message_view(names, m, file.syntax == Syntax::Proto3, message_modifier, descriptor);
        place(view, &m.full_name, "partials/message.hbs", &mut nested_messages);
    }
    for e in &file.enums {
        let descriptor = format!("{package}.{outer}.getDescriptor().findEnumTypeByName(\"{}\")", e.name);
        place(enum_view(names, e, "public enum", descriptor), &e.full_name, "partials/enum.hbs", &mut nested_enums);
    }
    let mut outer_view = header.clone();
    outer_view["class"] = json!(outer);
    outer_view["doc"] = json!(doc(&file.comments, false));
    outer_view["descriptor_literals"] = json!(bytes_literals(&file.descriptor));
    outer_view["dependencies"] = json!(deps);
    outer_view["messages"] = Value::Array(nested_messages);
    outer_view["enums"] = Value::Array(nested_enums);
    // The outer class first, as the file's other renders follow it.
    renders.insert(0, ("proto/outer.java.hbs".to_owned(), format!("{dir}/{outer}.java"), outer_view));
    for s in &file.services {
        let view = client_view(names, s, &accessors[&s.full_name], &header);
        let class = view["client_class"].as_str().unwrap_or_default().to_owned();
        let mut entry = view.clone();
        entry["qualified_class"] = json!(format!("{package}.{class}"));
        services.push(entry);
        renders.push(("proto/client.java.hbs".to_owned(), format!("{dir}/{class}.java"), view));
    }
    Ok((renders, services, descriptor_file))
}

/// Builds the Java plan.
pub(crate) fn plan(model: &Model, options: &SdkOptions) -> Result<Plan> {
    let version = options.version.clone();
    let package_name = options.package_name.clone().unwrap_or_else(|| DEFAULT_PACKAGE_NAME.to_owned());
    let (group_id, artifact_id) = package_name
        .split_once(':')
        .filter(|(g, a)| {
            [g, a]
                .iter()
                .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        })
        .ok_or_else(|| Error::invalid(format!("java: package name '{package_name}' is not groupId:artifactId")))?;
    let names = Names::new(model);
    let accessors = service_accessors(model);
    // Each proto file's views depend only on the (read-only) names: made on all cores.
    let per_file = parallel_map(
        model.targets().collect(),
        |file: &&crate::model::File| file.messages.len() + file.services.len(),
        |file| file_views(&names, &accessors, file),
    )?;
    let mut renders = Vec::new();
    let mut services = Vec::new();
    let mut descriptor_files = Vec::new();
    for (file_renders, file_services, descriptor_file) in per_file {
        renders.extend(file_renders);
        services.extend(file_services);
        descriptor_files.push(descriptor_file);
    }
    services.sort_by(|a, b| a["accessor"].as_str().cmp(&b["accessor"].as_str()));
    // The usage example calls a method, so it shows a service that has one.
    let with_methods: Vec<Value> =
        services.iter().filter(|s| s["methods"].as_array().is_some_and(|m| !m.is_empty())).cloned().collect();
    let mut root = json!({
        "package_name": package_name,
        "group_id": group_id,
        "artifact_id": artifact_id,
        "java_package": BASE_PACKAGE,
        "version": version,
        "user_agent": format!("micro-sdk-java/{version}"),
        "generator": generator_name(),
        "services": services,
        "descriptor_files": descriptor_files,
        "example_service": example_service(&with_methods).unwrap_or(Value::Null),
    });
    crate::lang::stamp_identity(
        &mut root,
        options,
        &format!("Typed gRPC clients for Micro services, generated by {}.", generator_name()),
    );
    Ok(Plan { root, package_dir: BASE_PACKAGE.replace('.', "/"), renders, files: Vec::new(), formatter: None })
}

fn client_view(names: &Names<'_>, s: &crate::model::Service, base: &str, header: &Value) -> Value {
    let mut taken = BTreeSet::new();
    let mut consts = BTreeSet::new();
    let methods: Vec<Value> = s
        .methods
        .iter()
        .map(|m| {
            let mut name = member_name(&m.name);
            while taken.contains(&name) || taken.contains(&format!("{name}Async")) {
                name.push('_');
            }
            taken.insert(name.clone());
            taken.insert(format!("{name}Async"));
            let constant = allocate(
                &mut consts,
                format!("METHOD_{}", heck::ToShoutySnakeCase::to_shouty_snake_case(m.name.as_str())),
            );
            json!({
                "name": name,
                "proto_name": m.name,
                "const": constant,
                "kind": match m.kind {
                    StreamingKind::Unary => "unary",
                    StreamingKind::ServerStreaming => "server_streaming",
                    StreamingKind::ClientStreaming => "client_streaming",
                    StreamingKind::Bidi => "bidi",
                },
                "grpc_type": match m.kind {
                    StreamingKind::Unary => "UNARY",
                    StreamingKind::ServerStreaming => "SERVER_STREAMING",
                    StreamingKind::ClientStreaming => "CLIENT_STREAMING",
                    StreamingKind::Bidi => "BIDI_STREAMING",
                },
                "unary": matches!(m.kind, StreamingKind::Unary),
                "server_streaming": matches!(m.kind, StreamingKind::ServerStreaming),
                "client_streaming": matches!(m.kind, StreamingKind::ClientStreaming | StreamingKind::Bidi),
                "input": names.class_of(&m.input),
                "output": names.class_of(&m.output),
                "doc": doc(&m.comments, m.deprecated),
                "deprecated": m.deprecated,
            })
        })
        .collect();
    let mut v = header.clone();
    v["client_class"] = json!(names.clients.get(&s.full_name).cloned().unwrap_or_else(|| format!("{base}Client")));
    v["accessor"] = json!(names.accessors.get(&s.full_name).cloned().unwrap_or_else(|| member_name(base)));
    v["full_name"] = json!(s.full_name);
    v["doc"] = json!(doc(&s.comments, s.deprecated));
    v["deprecated"] = json!(s.deprecated);
    v["methods"] = json!(methods);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::memory_model;

    #[test]
    fn packages_and_outer_classes() {
        assert_eq!(java_package("store"), "dev.micro.sdk.store");
        assert_eq!(java_package("acme.shop.v1"), "dev.micro.sdk.acme.shop.v1");
        assert_eq!(java_package("a.class.import"), "dev.micro.sdk.a.class_.import_");
        assert_eq!(wkt_outer("google/protobuf/timestamp.proto"), Some("TimestampProto"));
    }

    #[test]
    fn descriptor_literals_escape_everything_unsafe() {
        assert_eq!(bytes_literals(b"a\"\\\n\x00\xff"), vec!["\"a\\\"\\\\\\012\\000\\377\"".to_owned()]);
        assert_eq!(bytes_literals(&[b'x'; 81]).len(), 2);
    }

    #[test]
    fn core_plan_has_every_service_and_maven_coordinates() {
        use crate::load::{ProtoSource, load};
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        assert_eq!(plan.root["group_id"], "dev.micro");
        assert_eq!(plan.root["artifact_id"], "micro-sdk");
        assert_eq!(plan.root["user_agent"], "micro-sdk-java/0.1.0");
        let services = plan.root["services"].as_array().unwrap();
        assert_eq!(services.len(), 19);
        let store = services.iter().find(|s| s["full_name"] == "store.Store").unwrap();
        assert_eq!(store["accessor"], "store");
        assert_eq!(store["qualified_class"], "dev.micro.sdk.store.StoreClient");
        let events = services.iter().find(|s| s["full_name"] == "events.Store").unwrap();
        assert_eq!(events["accessor"], "eventsStore");
        assert!(
            plan.renders.iter().any(|(t, p, _)| t == "proto/outer.java.hbs"
                && p == "src/main/java/dev/micro/sdk/store/StoreOuterClass.java")
        );
        let bad = SdkOptions { package_name: Some("no-colon".into()), ..SdkOptions::default() };
        assert!(plan_err(&model, &bad));
        let bad = SdkOptions { package_name: Some("a:b:c".into()), ..SdkOptions::default() };
        assert!(plan_err(&model, &bad));
        let ok = SdkOptions { package_name: Some("com.acme:acme-micro".into()), ..SdkOptions::default() };
        assert_eq!(super::plan(&model, &ok).unwrap().root["group_id"], "com.acme");
    }

    #[test]
    fn any_registry_and_example_cover_the_plan() {
        use crate::load::{ProtoSource, load};
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        let files = plan.root["descriptor_files"].as_array().unwrap();
        assert!(files.iter().any(|f| f == "dev.micro.sdk.store.StoreOuterClass.getDescriptor()"));
        assert_eq!(files.len(), model.targets().count());
        assert_eq!(plan.root["example_service"]["full_name"], "store.Store");
    }

    #[test]
    fn proto2_singular_fields_have_presence() {
        let int = FieldType::Scalar(Scalar::Int32);
        assert!(!has_presence(Label::Singular, &int, true));
        assert!(has_presence(Label::Singular, &int, false));
        assert!(has_presence(Label::Optional, &int, true));
        assert!(has_presence(Label::Required, &int, false));
        assert!(has_presence(Label::Singular, &FieldType::Message("a.B".into()), true));
    }

    #[test]
    fn proto2_files_and_services_without_methods_render() {
        let source = "syntax = \"proto2\";\npackage p2;\nenum Mode { MODE_A = 1; MODE_B = 2; }\n\
                      message Old {\n  optional int32 count = 1 [default = 7];\n  optional Mode mode = 2;\n\
                      required int64 id = 3;\n}\nservice Nothing {}\nservice Real { rpc Get(Old) returns (Old); }\n";
        let model = memory_model(&[("p2/old.proto", source)]);
        let templates = crate::render::TemplateSet::embedded("java");
        let out = crate::generate(&model, crate::lang::Language::Java, &SdkOptions::default(), &templates).unwrap();
        let text = |path: &str| out.iter().find(|f| f.path == path).map(|f| f.contents.clone()).unwrap();
        let old = text("src/main/java/dev/micro/sdk/p2/Old.java");
        assert!(old.contains("public boolean hasCount()"));
        assert!(old.contains("((java.lang.Integer) getDescriptor().findFieldByNumber(1).getDefaultValue())"));
        assert!(old.contains("getDescriptor().findFieldByNumber(2).getDefaultValue()).getNumber()"));
        assert!(text("src/main/java/dev/micro/sdk/Micro.java").contains("micro.real().get(...)"));
        assert!(out.iter().any(|f| f.path == "src/main/java/dev/micro/sdk/p2/NothingClient.java"));
    }

    #[test]
    fn outer_classes_follow_protoc() {
        let model = memory_model(&[
            ("a/object.proto", "syntax = \"proto3\";\npackage a;\nmessage Object {}\n"),
            ("a/blob_store.proto", "syntax = \"proto3\";\npackage a;\nmessage Blob {}\n"),
            (
                "a/named.proto",
                "syntax = \"proto3\";\npackage a;\noption java_outer_classname = \"Named\";\n\
                 option java_package = \"com.acme.x\";\nmessage Named2 {}\n",
            ),
            (
                "a/deep.proto",
                "syntax = \"proto3\";\npackage a;\nmessage Outer { message Deep { enum Deep { D = 0; } } }\n",
            ),
            ("a/nest.proto", "syntax = \"proto2\";\npackage a;\noption java_multiple_files = false;\nmessage M {}\n"),
        ]);
        let names = Names::new(&model);
        assert_eq!(names.outer_class("a/object.proto"), "ObjectOuterClass", "a type of the file takes the name");
        assert_eq!(names.outer_class("a/blob_store.proto"), "BlobStore");
        assert_eq!(names.outer_class("a/named.proto"), "Named");
        assert_eq!(names.outer_class("a/deep.proto"), "DeepOuterClass", "nested types count too");
        assert_eq!(names.class_of("a.Named2"), "com.acme.x.Named2", "java_package");
        assert_eq!(names.class_of("a.Outer.Deep.Deep"), "dev.micro.sdk.a.Outer.Deep.Deep_", "not its enclosing name");
        assert_eq!(names.class_of("a.M"), "dev.micro.sdk.a.Nest.M", "java_multiple_files = false");
        assert_eq!(names.class_of("a.Object"), "dev.micro.sdk.a.Object", "java.lang names stay");
    }

    #[test]
    fn colliding_accessors_are_numbered_as_protoc_does() {
        let model = memory_model(&[(
            "c.proto",
            "syntax = \"proto2\";\npackage c;\nenum E { A = 0; }\nmessage M {\n\
             optional int32 foo_bar = 1;\n  optional int32 fooBar = 2 [json_name = \"x\"];\n\
             repeated string items = 3;\n  optional int32 items_count = 4;\n\
             optional E kind = 5;\n  optional int32 kind_value = 6;\n\
             optional string class = 7;\n  optional string plain = 8;\n\
             oneof pick { string a = 9; }\n  optional string pick_case = 10;\n\
             optional group Result = 11 { optional string url = 12; }\n}\n",
        )]);
        let m = &model.files[0].messages[0];
        assert_eq!(
            field_stems(m),
            [
                "FooBar1",
                "FooBar2",
                "Items3",
                "ItemsCount4",
                "Kind5",
                "KindValue6",
                "Class_",
                "Plain",
                "A",
                "PickCase10",
                "Result"
            ]
        );
        let names = Names::new(&model);
        assert!(names.groups.contains(&("c.M".to_owned(), 11)));
    }

    fn plan_err(model: &Model, options: &SdkOptions) -> bool {
        super::plan(model, options).is_err()
    }

    #[test]
    fn javadoc_is_escaped() {
        let c = Comments { leading: Some(" a */ <b> & @c\n".into()), ..Default::default() };
        assert_eq!(doc(&c, false), vec!["a *\\/ &lt;b&gt; &amp; &#64;c"]);
        let c = Comments { leading: Some(" \\u000a and \\u002a/\n".into()), ..Default::default() };
        assert_eq!(doc(&c, false), vec!["&#92;u000a and &#92;u002a/"]);
        let c = Comments { leading: Some(" one\n\n two\n".into()), ..Default::default() };
        assert_eq!(
            doc(&c, true),
            vec!["one", "<p>", "two", "", "@deprecated this element is deprecated in the proto definition."]
        );
    }
}
