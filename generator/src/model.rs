//! Stage 2: the language-neutral model built from the descriptor set.
//!
//! The model is what every language's view model is built from; templates never see descriptors.
//! Names here are the proto names (`ReadRequest`, `access_token`, `Read`); each language turns
//! them into its own idiomatic, escaped identifiers in `lang::<x>::names`.
//! Iteration order is declaration order within a file and file-name order across files, so
//! generation is deterministic.

use std::collections::{BTreeMap, HashMap};

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label as PbLabel, Type as PbType};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto, ServiceDescriptorProto,
    SourceCodeInfo,
};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::load::Loaded;

/// The whole input: every file of the descriptor set, imports included.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    /// Files sorted by name. Files with `generate == false` are imports, described so that
    /// references to their types resolve, but not generated unless a language needs them.
    pub files: Vec<File>,
    /// Every message and enum by fully-qualified name (no leading dot), with the file that holds it.
    #[serde(skip)]
    pub types: BTreeMap<String, TypeInfo>,
    /// The descriptor set the model was built from, as loaded (imports before importers, source
    /// info included), for the generators that work on descriptors themselves (Rust: prost-build
    /// and tonic-prost-build).
    #[serde(skip)]
    pub descriptor_set: prost_types::FileDescriptorSet,
}

/// What a fully-qualified type name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// The file that declares the type (e.g. `store/store.proto`).
    pub file: String,
    /// Whether the type is a message or an enum.
    pub is_enum: bool,
    /// Names from the outermost message down to the type itself (`["Outer", "Inner"]`).
    pub nesting: Vec<String>,
}

/// The proto syntax a file declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Syntax {
    /// `syntax = "proto2";` (also the default when a file declares none).
    Proto2,
    /// `syntax = "proto3";`.
    Proto3,
}

/// One `.proto` file.
#[derive(Debug, Clone, Serialize)]
pub struct File {
    /// The file's name relative to its include directory, e.g. `store/store.proto`.
    pub name: String,
    /// The proto package, e.g. `store` or `a.b.v1`; may be empty.
    pub package: String,
    /// The declared syntax.
    pub syntax: Syntax,
    /// Names of the files this one imports, in declaration order.
    pub dependencies: Vec<String>,
    /// True when code is generated for this file (it was asked for, not only imported).
    pub generate: bool,
    /// Top-level messages in declaration order (map entry types excluded).
    pub messages: Vec<Message>,
    /// Top-level enums in declaration order.
    pub enums: Vec<Enum>,
    /// Services in declaration order.
    pub services: Vec<Service>,
    /// Comments attached to the `syntax` statement (the file's header comment), if any.
    pub comments: Comments,
    /// `option deprecated = true;` on the file.
    pub deprecated: bool,
    /// The `go_package` option, if set.
    pub go_package: Option<String>,
    /// The file descriptor encoded in protobuf binary without source code info: what generated
    /// code embeds so that the runtime can rebuild the descriptors (as protoc plugins do).
    #[serde(skip)]
    pub descriptor: Vec<u8>,
}

/// Comments attached to an element in the `.proto` source, with the comment markers removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Comments {
    /// Detached comments above the element (separated from it by a blank line).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detached: Vec<String>,
    /// The comment directly above the element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leading: Option<String>,
    /// The comment on the same line as the element, or directly below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trailing: Option<String>,
}

impl Comments {
    /// The documentation text: the leading comment, then the trailing one, as lines with common
    /// indentation removed and surrounding blank lines trimmed. Empty when there is no comment.
    pub fn doc_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for text in [&self.leading, &self.trailing].into_iter().flatten() {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.extend(dedent(text));
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        while lines.first().is_some_and(|l| l.is_empty()) {
            lines.remove(0);
        }
        lines
    }
}

fn dedent(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.trim_end_matches('\n').split('\n').map(|l| l.trim_end()).collect();
    // Indentation is ASCII spaces and tabs only, so cutting it off never splits a character.
    let indent_of = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let indent = lines.iter().filter(|l| !l.is_empty()).map(|l| indent_of(l)).min().unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or_default().to_owned()).collect()
}

/// A message type.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// The simple name, e.g. `ReadRequest` or `Inner`.
    pub name: String,
    /// The fully-qualified name without a leading dot, e.g. `store.ReadRequest`.
    pub full_name: String,
    /// Indices from the file's top-level messages down to this one (`[0]`, `[2, 1]`): the path
    /// generated code uses to find the descriptor in the embedded file descriptor.
    pub index_path: Vec<usize>,
    /// Fields in declaration order, map fields included.
    pub fields: Vec<Field>,
    /// Real oneofs (synthetic proto3-optional oneofs are not listed).
    pub oneofs: Vec<Oneof>,
    /// Nested messages (map entry types excluded).
    pub messages: Vec<Message>,
    /// Nested enums.
    pub enums: Vec<Enum>,
    /// Source comments.
    pub comments: Comments,
    /// `option deprecated = true;`.
    pub deprecated: bool,
}

/// A field of a message.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// The proto name, e.g. `access_token`.
    pub name: String,
    /// The JSON name (lowerCamelCase unless set with `json_name`), e.g. `accessToken`.
    pub json_name: String,
    /// The field number.
    pub number: i32,
    /// The value type.
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Cardinality and presence.
    pub label: Label,
    /// Index into the message's [`Message::oneofs`] when the field is part of a real oneof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oneof: Option<usize>,
    /// Source comments.
    pub comments: Comments,
    /// `[deprecated = true]`.
    pub deprecated: bool,
}

/// Cardinality and presence of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// A singular field without explicit presence (proto3 scalars and enums); message-typed
    /// singular fields also use this label and always have presence.
    Singular,
    /// A singular field with explicit presence: proto3 `optional`, proto2 `optional`, or a oneof member.
    Optional,
    /// A proto2 `required` field.
    Required,
    /// A `repeated` field.
    Repeated,
    /// A `map<K, V>` field; [`Field::ty`] is [`FieldType::Map`].
    Map,
}

/// The value type of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A scalar value.
    Scalar(Scalar),
    /// An enum, by fully-qualified name.
    Enum(String),
    /// A message, by fully-qualified name.
    Message(String),
    /// A map: the key is a scalar (integral, bool or string), the value anything but a map.
    Map {
        /// The key type.
        key: Scalar,
        /// The value type.
        value: Box<FieldType>,
    },
}

/// The protobuf scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    /// The scalar's name as written in a `.proto` file (`int64`, `bytes`, ...).
    pub fn proto_name(self) -> &'static str {
        match self {
            Scalar::Double => "double",
            Scalar::Float => "float",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Uint32 => "uint32",
            Scalar::Uint64 => "uint64",
            Scalar::Sint32 => "sint32",
            Scalar::Sint64 => "sint64",
            Scalar::Fixed32 => "fixed32",
            Scalar::Fixed64 => "fixed64",
            Scalar::Sfixed32 => "sfixed32",
            Scalar::Sfixed64 => "sfixed64",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
        }
    }

    /// True for the 64-bit integer types.
    pub fn is_64bit_int(self) -> bool {
        matches!(self, Scalar::Int64 | Scalar::Uint64 | Scalar::Sint64 | Scalar::Fixed64 | Scalar::Sfixed64)
    }
}

/// A oneof group.
#[derive(Debug, Clone, Serialize)]
pub struct Oneof {
    /// The proto name.
    pub name: String,
    /// Source comments.
    pub comments: Comments,
}

/// An enum type.
#[derive(Debug, Clone, Serialize)]
pub struct Enum {
    /// The simple name.
    pub name: String,
    /// The fully-qualified name without a leading dot.
    pub full_name: String,
    /// Indices from the file's top-level declarations down to this enum: all but the last index
    /// select messages, the last selects the enum within its parent.
    pub index_path: Vec<usize>,
    /// Values in declaration order.
    pub values: Vec<EnumValue>,
    /// Source comments.
    pub comments: Comments,
    /// `option deprecated = true;`.
    pub deprecated: bool,
}

/// A value of an enum.
#[derive(Debug, Clone, Serialize)]
pub struct EnumValue {
    /// The proto name, e.g. `GRANTED`.
    pub name: String,
    /// The number.
    pub number: i32,
    /// Source comments.
    pub comments: Comments,
    /// `[deprecated = true]`.
    pub deprecated: bool,
}

/// A service.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    /// The simple name, e.g. `Store`.
    pub name: String,
    /// The fully-qualified name, e.g. `store.Store`; the gRPC path is `/{full_name}/{method}`.
    pub full_name: String,
    /// Index of the service within its file.
    pub index: usize,
    /// Methods in declaration order.
    pub methods: Vec<Method>,
    /// Source comments.
    pub comments: Comments,
    /// `option deprecated = true;`.
    pub deprecated: bool,
}

/// How many messages each side of a call sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamingKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    Bidi,
}

/// A method (rpc) of a service.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    /// The proto name, e.g. `Read`.
    pub name: String,
    /// The request message's fully-qualified name.
    pub input: String,
    /// The response message's fully-qualified name.
    pub output: String,
    /// The streaming kind.
    pub kind: StreamingKind,
    /// Source comments.
    pub comments: Comments,
    /// `option deprecated = true;`.
    pub deprecated: bool,
}

impl Model {
    /// Builds the model from a loaded descriptor set.
    ///
    /// # Errors
    ///
    /// Fails first with the errors of [`crate::validate::check`] (names or options that would
    /// write outside the output directory, names that are not identifiers), then with
    /// [`Error::is_unsupported`] for inputs the generators cannot represent (protobuf editions, a
    /// type reference that does not resolve, a malformed map entry). Never panics, whatever the
    /// descriptor set holds.
    pub fn build(loaded: &Loaded) -> Result<Model> {
        let (files, types) = Self::build_parts(loaded)?;
        Ok(Model { files, types, descriptor_set: loaded.set.clone() })
    }

    /// [`Model::build`], keeping the loaded descriptor set instead of copying it (big sets hold
    /// hundreds of megabytes of source info).
    ///
    /// # Errors
    ///
    /// As [`Model::build`].
    pub fn from_loaded(loaded: Loaded) -> Result<Model> {
        let (files, types) = Self::build_parts(&loaded)?;
        Ok(Model { files, types, descriptor_set: loaded.set })
    }

    /// The files (sorted by name, built on all cores) and the type index of a loaded set.
    fn build_parts(loaded: &Loaded) -> Result<(Vec<File>, BTreeMap<String, TypeInfo>)> {
        crate::validate::check(loaded)?;
        let mut types = BTreeMap::new();
        for file in &loaded.set.file {
            collect_types(file, &mut types);
        }
        let targets: std::collections::HashSet<&str> = loaded.targets.iter().map(String::as_str).collect();
        let mut files: Vec<File> = crate::lang::parallel_map(
            loaded.set.file.iter().collect(),
            |f| f.message_type.len() + f.service.len(),
            |f| build_file(f, targets.contains(f.name()), &types),
        )?;
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((files, types))
    }

    /// The files code is generated for, sorted by name.
    pub fn targets(&self) -> impl Iterator<Item = &File> {
        self.files.iter().filter(|f| f.generate)
    }

    /// A file by name.
    pub fn file(&self, name: &str) -> Option<&File> {
        self.files.iter().find(|f| f.name == name)
    }

    /// What a fully-qualified type name refers to. Every name the model contains resolves.
    pub fn type_info(&self, full_name: &str) -> &TypeInfo {
        &self.types[full_name]
    }
}

fn collect_types(file: &FileDescriptorProto, types: &mut BTreeMap<String, TypeInfo>) {
    fn walk(
        file: &str,
        prefix: &str,
        nesting: &[String],
        messages: &[DescriptorProto],
        enums: &[EnumDescriptorProto],
        types: &mut BTreeMap<String, TypeInfo>,
    ) {
        for e in enums {
            let mut n = nesting.to_vec();
            n.push(e.name().to_owned());
            types.insert(join(prefix, e.name()), TypeInfo { file: file.to_owned(), is_enum: true, nesting: n });
        }
        for m in messages {
            let full = join(prefix, m.name());
            let mut n = nesting.to_vec();
            n.push(m.name().to_owned());
            walk(file, &full, &n, &m.nested_type, &m.enum_type, types);
            types.insert(full, TypeInfo { file: file.to_owned(), is_enum: false, nesting: n });
        }
    }
    walk(file.name(), file.package(), &[], &file.message_type, &file.enum_type, types);
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

/// Comments by source path.
struct SourceInfo(HashMap<Vec<i32>, Comments>);

impl SourceInfo {
    fn new(info: Option<&SourceCodeInfo>) -> Self {
        let mut map = HashMap::new();
        for loc in info.map(|i| i.location.as_slice()).unwrap_or_default() {
            let c = Comments {
                detached: loc.leading_detached_comments.clone(),
                leading: loc.leading_comments.clone(),
                trailing: loc.trailing_comments.clone(),
            };
            if c != Comments::default() {
                map.insert(loc.path.clone(), c);
            }
        }
        SourceInfo(map)
    }

    fn get(&self, path: &[i32]) -> Comments {
        self.0.get(path).cloned().unwrap_or_default()
    }
}

// Field numbers in descriptor.proto, used to build SourceCodeInfo paths.
const FILE_MESSAGE: i32 = 4;
const FILE_ENUM: i32 = 5;
const FILE_SERVICE: i32 = 6;
const FILE_SYNTAX: i32 = 12;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_ENUM: i32 = 4;
const MESSAGE_ONEOF: i32 = 8;
const ENUM_VALUE: i32 = 2;
const SERVICE_METHOD: i32 = 2;

fn build_file(f: &FileDescriptorProto, generate: bool, types: &BTreeMap<String, TypeInfo>) -> Result<File> {
    let syntax = match f.syntax() {
        "" | "proto2" => Syntax::Proto2,
        "proto3" => Syntax::Proto3,
        other => return Err(Error::unsupported(f.name(), format!("syntax '{other}'"))),
    };
    let info = SourceInfo::new(f.source_code_info.as_ref());
    let ctx = Ctx { file: f.name(), info: &info, types };
    let messages = f
        .message_type
        .iter()
        .enumerate()
        .filter(|(_, m)| !is_map_entry(m))
        .map(|(i, m)| ctx.message(m, f.package(), vec![i], vec![FILE_MESSAGE, i as i32]))
        .collect::<Result<_>>()?;
    let enums = f
        .enum_type
        .iter()
        .enumerate()
        .map(|(i, e)| ctx.enumeration(e, f.package(), vec![i], vec![FILE_ENUM, i as i32]))
        .collect();
    let services = f.service.iter().enumerate().map(|(i, s)| ctx.service(s, f.package(), i)).collect::<Result<_>>()?;
    Ok(File {
        name: f.name().to_owned(),
        package: f.package().to_owned(),
        syntax,
        dependencies: f.dependency.clone(),
        generate,
        messages,
        enums,
        services,
        comments: info.get(&[FILE_SYNTAX]),
        deprecated: f.options.as_ref().is_some_and(|o| o.deprecated()),
        go_package: f.options.as_ref().and_then(|o| o.go_package.clone()),
        descriptor: without_source_info(f).encode_to_vec(),
    })
}

fn is_map_entry(m: &DescriptorProto) -> bool {
    m.options.as_ref().is_some_and(|o| o.map_entry())
}

struct Ctx<'a> {
    file: &'a str,
    info: &'a SourceInfo,
    types: &'a BTreeMap<String, TypeInfo>,
}

impl Ctx<'_> {
    fn message(&self, m: &DescriptorProto, prefix: &str, index_path: Vec<usize>, path: Vec<i32>) -> Result<Message> {
        let full_name = join(prefix, m.name());
        let sub = |kind: i32, i: usize| {
            let mut p = path.clone();
            p.extend([kind, i as i32]);
            p
        };
        let mut oneofs = Vec::new();
        let mut oneof_index = HashMap::new();
        for (i, o) in m.oneof_decl.iter().enumerate() {
            let synthetic = m.field.iter().any(|fd| fd.oneof_index == Some(i as i32) && fd.proto3_optional());
            if !synthetic {
                oneof_index.insert(i as i32, oneofs.len());
                oneofs.push(Oneof { name: o.name().to_owned(), comments: self.info.get(&sub(MESSAGE_ONEOF, i)) });
            }
        }
        let fields = m
            .field
            .iter()
            .enumerate()
            .map(|(i, fd)| self.field(m, fd, &oneof_index, sub(MESSAGE_FIELD, i)))
            .collect::<Result<_>>()?;
        let messages = m
            .nested_type
            .iter()
            .enumerate()
            .filter(|(_, n)| !is_map_entry(n))
            .map(|(i, n)| {
                let mut ip = index_path.clone();
                ip.push(i);
                self.message(n, &full_name, ip, sub(MESSAGE_NESTED, i))
            })
            .collect::<Result<_>>()?;
        let enums = m
            .enum_type
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut ip = index_path.clone();
                ip.push(i);
                self.enumeration(e, &full_name, ip, sub(MESSAGE_ENUM, i))
            })
            .collect();
        Ok(Message {
            name: m.name().to_owned(),
            full_name,
            index_path,
            fields,
            oneofs,
            messages,
            enums,
            comments: self.info.get(&path),
            deprecated: m.options.as_ref().is_some_and(|o| o.deprecated()),
        })
    }

    fn field(
        &self,
        parent: &DescriptorProto,
        fd: &FieldDescriptorProto,
        oneof_index: &HashMap<i32, usize>,
        path: Vec<i32>,
    ) -> Result<Field> {
        let mut label = match fd.label() {
            PbLabel::Repeated => Label::Repeated,
            PbLabel::Required => Label::Required,
            PbLabel::Optional => {
                if fd.proto3_optional() || fd.oneof_index.is_some() {
                    Label::Optional
                } else {
                    Label::Singular
                }
            }
        };
        let mut ty = self.value_type(fd)?;
        if label == Label::Repeated
            && let FieldType::Message(name) = &ty
            && let Some(entry) =
                parent.nested_type.iter().find(|n| is_map_entry(n) && name.rsplit('.').next() == Some(n.name()))
        {
            let malformed = || Error::unsupported(self.file, format!("malformed map entry of field '{}'", fd.name()));
            let (Some(key), Some(value)) = (entry.field.first(), entry.field.get(1)) else {
                return Err(malformed());
            };
            let key = self.value_type(key)?;
            let value = self.value_type(value)?;
            let FieldType::Scalar(key) = key else {
                return Err(Error::unsupported(self.file, format!("map key type of field '{}'", fd.name())));
            };
            if matches!(key, Scalar::Double | Scalar::Float | Scalar::Bytes) {
                return Err(Error::unsupported(self.file, format!("map key type of field '{}'", fd.name())));
            }
            ty = FieldType::Map { key, value: Box::new(value) };
            label = Label::Map;
        }
        // proto2 `optional` scalars have presence; proto3 plain scalars do not.
        Ok(Field {
            name: fd.name().to_owned(),
            json_name: fd.json_name.clone().unwrap_or_else(|| json_name(fd.name())),
            number: fd.number(),
            ty,
            label,
            oneof: fd.oneof_index.and_then(|i| oneof_index.get(&i).copied()),
            comments: self.info.get(&path),
            deprecated: fd.options.as_ref().is_some_and(|o| o.deprecated()),
        })
    }

    fn value_type(&self, fd: &FieldDescriptorProto) -> Result<FieldType> {
        let resolve = |is_enum: bool| -> Result<String> {
            let name = fd.type_name().trim_start_matches('.').to_owned();
            match self.types.get(&name) {
                Some(t) if t.is_enum == is_enum => Ok(name),
                _ => Err(Error::unsupported(self.file, format!("unresolved type '{name}' of field '{}'", fd.name()))),
            }
        };
        Ok(match fd.r#type() {
            PbType::Double => FieldType::Scalar(Scalar::Double),
            PbType::Float => FieldType::Scalar(Scalar::Float),
            PbType::Int64 => FieldType::Scalar(Scalar::Int64),
            PbType::Uint64 => FieldType::Scalar(Scalar::Uint64),
            PbType::Int32 => FieldType::Scalar(Scalar::Int32),
            PbType::Fixed64 => FieldType::Scalar(Scalar::Fixed64),
            PbType::Fixed32 => FieldType::Scalar(Scalar::Fixed32),
            PbType::Bool => FieldType::Scalar(Scalar::Bool),
            PbType::String => FieldType::Scalar(Scalar::String),
            PbType::Bytes => FieldType::Scalar(Scalar::Bytes),
            PbType::Uint32 => FieldType::Scalar(Scalar::Uint32),
            PbType::Sfixed32 => FieldType::Scalar(Scalar::Sfixed32),
            PbType::Sfixed64 => FieldType::Scalar(Scalar::Sfixed64),
            PbType::Sint32 => FieldType::Scalar(Scalar::Sint32),
            PbType::Sint64 => FieldType::Scalar(Scalar::Sint64),
            PbType::Enum => FieldType::Enum(resolve(true)?),
            PbType::Message | PbType::Group => FieldType::Message(resolve(false)?),
        })
    }

    fn enumeration(&self, e: &EnumDescriptorProto, prefix: &str, index_path: Vec<usize>, path: Vec<i32>) -> Enum {
        Enum {
            name: e.name().to_owned(),
            full_name: join(prefix, e.name()),
            index_path,
            values: e
                .value
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut p = path.clone();
                    p.extend([ENUM_VALUE, i as i32]);
                    EnumValue {
                        name: v.name().to_owned(),
                        number: v.number(),
                        comments: self.info.get(&p),
                        deprecated: v.options.as_ref().is_some_and(|o| o.deprecated()),
                    }
                })
                .collect(),
            comments: self.info.get(&path),
            deprecated: e.options.as_ref().is_some_and(|o| o.deprecated()),
        }
    }

    fn service(&self, s: &ServiceDescriptorProto, prefix: &str, index: usize) -> Result<Service> {
        let path = [FILE_SERVICE, index as i32];
        let message = |method: &str, name: &str| -> Result<String> {
            let name = name.trim_start_matches('.');
            match self.types.get(name) {
                Some(t) if !t.is_enum => Ok(name.to_owned()),
                _ => Err(Error::unsupported(
                    self.file,
                    format!("unresolved message type '{name}' of method '{}.{method}'", s.name()),
                )),
            }
        };
        Ok(Service {
            name: s.name().to_owned(),
            full_name: join(prefix, s.name()),
            index,
            methods: s
                .method
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    Ok(Method {
                        name: m.name().to_owned(),
                        input: message(m.name(), m.input_type())?,
                        output: message(m.name(), m.output_type())?,
                        kind: match (m.client_streaming(), m.server_streaming()) {
                            (false, false) => StreamingKind::Unary,
                            (false, true) => StreamingKind::ServerStreaming,
                            (true, false) => StreamingKind::ClientStreaming,
                            (true, true) => StreamingKind::Bidi,
                        },
                        comments: self.info.get(&[FILE_SERVICE, index as i32, SERVICE_METHOD, i as i32]),
                        deprecated: m.options.as_ref().is_some_and(|o| o.deprecated()),
                    })
                })
                .collect::<Result<_>>()?,
            comments: self.info.get(&path),
            deprecated: s.options.as_ref().is_some_and(|o| o.deprecated()),
        })
    }
}

/// A copy of a file descriptor without its source info (comments and spans), as protoc's plugins
/// embed descriptors. The source info, the bulk of a descriptor, is not copied only to be dropped.
pub fn without_source_info(file: &FileDescriptorProto) -> FileDescriptorProto {
    FileDescriptorProto {
        name: file.name.clone(),
        package: file.package.clone(),
        dependency: file.dependency.clone(),
        public_dependency: file.public_dependency.clone(),
        weak_dependency: file.weak_dependency.clone(),
        message_type: file.message_type.clone(),
        enum_type: file.enum_type.clone(),
        service: file.service.clone(),
        extension: file.extension.clone(),
        options: file.options.clone(),
        source_code_info: None,
        syntax: file.syntax.clone(),
    }
}

/// The default JSON name of a field, as protoc computes it: underscores removed and the letter
/// after each underscore upper-cased (`access_token` → `accessToken`).
pub fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The model of `files` (name, text), loaded from memory; panics on any error. For unit tests.
#[cfg(test)]
pub(crate) fn memory_model(files: &[(&str, &str)]) -> Model {
    let files = files.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect();
    Model::build(&crate::load::load(&crate::load::ProtoSource::Memory { files }).unwrap()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{ProtoSource, load};

    #[test]
    fn json_names_follow_protoc() {
        assert_eq!(json_name("access_token"), "accessToken");
        assert_eq!(json_name("statusCode"), "statusCode");
        assert_eq!(json_name("foo__bar"), "fooBar");
        assert_eq!(json_name("a_1b"), "a1b");
    }

    #[test]
    fn core_model_has_streaming_kinds_and_maps() {
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let store = model.file("store/store.proto").unwrap();
        let svc = &store.services[0];
        assert_eq!(svc.full_name, "store.Store");
        let list = svc.methods.iter().find(|m| m.name == "List").unwrap();
        assert_eq!(list.kind, StreamingKind::ServerStreaming);
        let blob = &store.services[1];
        assert_eq!(blob.methods.iter().find(|m| m.name == "Write").unwrap().kind, StreamingKind::ClientStreaming);
        let client = model.file("client/client.proto").unwrap();
        assert_eq!(client.services[0].methods[1].kind, StreamingKind::Bidi);
        let record = store.messages.iter().find(|m| m.name == "Record").unwrap();
        let metadata = record.fields.iter().find(|f| f.name == "metadata").unwrap();
        assert_eq!(metadata.label, Label::Map);
        assert_eq!(
            metadata.ty,
            FieldType::Map { key: Scalar::String, value: Box::new(FieldType::Message("store.Field".into())) }
        );
        assert!(!record.comments.doc_lines().is_empty(), "core protos carry doc comments");
    }

    #[test]
    fn dedent_never_splits_a_character() {
        // Unicode whitespace used to count as indentation, so a common indent of two bytes split
        // U+3000 and panicked (generator/fuzz/regressions/load/unicode_comment_indent.proto).
        let c = Comments { leading: Some("\u{3000}a\n  b\n\u{3000}\n".into()), ..Default::default() };
        assert_eq!(c.doc_lines(), ["\u{3000}a", "  b"]);
    }

    #[test]
    fn dedent_keeps_relative_indentation() {
        let c = Comments { leading: Some(" a\n   b\n".into()), ..Default::default() };
        assert_eq!(c.doc_lines(), ["a", "  b"]);
    }
}
