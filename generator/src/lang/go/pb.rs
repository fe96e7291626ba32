//! The `.pb.go` and `_grpc.pb.go` files: what protoc-gen-go (v1.36, open struct API) and
//! protoc-gen-go-grpc (v1.6) generate for a file, reproduced from the descriptor set, formatted
//! as gofmt leaves them. `tests/conformance/go/run.sh` compares them with the real plugins.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::source_code_info::Location;
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto};

use super::gofmt::{Row, align, align_list, doc_comment};
use super::names::{PREDECLARED, go_camel_case, go_quote, go_sanitized, unexport};

/// The protoc-gen-go release whose output the `.pb.go` files reproduce.
pub const PROTOC_GEN_GO: &str = "v1.36.12";
/// The protoc-gen-go-grpc release whose output the `_grpc.pb.go` files reproduce.
pub const PROTOC_GEN_GO_GRPC: &str = "v1.6.2";

const PROTOREFLECT: &str = "google.golang.org/protobuf/reflect/protoreflect";
const PROTOIMPL: &str = "google.golang.org/protobuf/runtime/protoimpl";
const GRPC: &str = "google.golang.org/grpc";

/// Where a proto file's Go code lives.
#[derive(Debug, Clone)]
pub(super) struct GoPackage {
    /// The import path (`github.com/micro/micro-sdk-go/gen/store`).
    pub(super) import_path: String,
    /// The package name (`store`).
    pub(super) name: String,
}

/// A message or enum as Go code refers to it.
#[derive(Debug, Clone)]
struct GoType {
    file: String,
    ident: String,
    is_enum: bool,
    map_entry: Option<(FieldDescriptorProto, FieldDescriptorProto)>,
    /// Enums: the first value's identifier and number (the zero value getters return).
    first_value: Option<(String, i32)>,
    /// Enums: `protoimpl.X.LegacyEnumName` (`acme.shop.v1.Order_Kind`).
    legacy_name: String,
    /// Enums: what value identifiers start with (the enum's name, or its parent message's).
    value_prefix: String,
}

/// Everything the generators need across files.
pub(super) struct Universe<'a> {
    files: BTreeMap<String, &'a FileDescriptorProto>,
    packages: HashMap<String, GoPackage>,
    types: HashMap<String, GoType>,
    /// Enum values (name, number) by enum full name, for proto2 defaults.
    enum_values: HashMap<String, Vec<(String, i32)>>,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

impl<'a> Universe<'a> {
    /// Indexes every file of the set; `packages` maps file names to their Go packages.
    pub(super) fn new(set: &'a [FileDescriptorProto], packages: HashMap<String, GoPackage>) -> Self {
        let mut types = HashMap::new();
        for f in set {
            let pkg = f.package();
            for e in &f.enum_type {
                types.insert(join(pkg, e.name()), enum_type(f, e, e.name(), go_camel_case(e.name()), pkg));
            }
            fn walk(
                f: &FileDescriptorProto,
                pkg: &str,
                prefix: &str,
                rel: &str,
                m: &DescriptorProto,
                types: &mut HashMap<String, GoType>,
            ) {
                let full = join(prefix, m.name());
                let rel = if rel.is_empty() { m.name().to_owned() } else { format!("{rel}.{}", m.name()) };
                let ident = go_camel_case(&rel);
                let map_entry =
                    m.options.as_ref().is_some_and(|o| o.map_entry()).then(|| (m.field[0].clone(), m.field[1].clone()));
                types.insert(
                    full.clone(),
                    GoType {
                        file: f.name().to_owned(),
                        ident: ident.clone(),
                        is_enum: false,
                        map_entry,
                        first_value: None,
                        legacy_name: String::new(),
                        value_prefix: String::new(),
                    },
                );
                for e in &m.enum_type {
                    let erel = format!("{rel}.{}", e.name());
                    let mut t = enum_type(f, e, &erel, go_camel_case(&erel), pkg);
                    // Values of a nested enum are prefixed with the parent message's name.
                    t.first_value = e.value.first().map(|v| (format!("{ident}_{}", v.name()), v.number()));
                    t.value_prefix = ident.clone();
                    types.insert(join(&full, e.name()), t);
                }
                for n in &m.nested_type {
                    walk(f, pkg, &full, &rel, n, types);
                }
            }
            for m in &f.message_type {
                walk(f, pkg, pkg, "", m, &mut types);
            }
        }
        let mut enum_values = HashMap::new();
        fn enums(
            prefix: &str,
            es: &[EnumDescriptorProto],
            ms: &[DescriptorProto],
            out: &mut HashMap<String, Vec<(String, i32)>>,
        ) {
            for e in es {
                out.insert(join(prefix, e.name()), e.value.iter().map(|v| (v.name().to_owned(), v.number())).collect());
            }
            for m in ms {
                enums(&join(prefix, m.name()), &m.enum_type, &m.nested_type, out);
            }
        }
        for f in set {
            enums(f.package(), &f.enum_type, &f.message_type, &mut enum_values);
        }
        Universe { files: set.iter().map(|f| (f.name().to_owned(), f)).collect(), packages, types, enum_values }
    }

    fn ty(&self, type_name: &str) -> &GoType {
        self.types.get(type_name.trim_start_matches('.')).unwrap_or_else(|| panic!("unknown type {type_name}"))
    }

    fn package_of(&self, file: &str) -> &GoPackage {
        &self.packages[file]
    }
}

fn enum_type(f: &FileDescriptorProto, e: &EnumDescriptorProto, rel: &str, ident: String, pkg: &str) -> GoType {
    let legacy = if pkg.is_empty() { rel.replace('.', "_") } else { format!("{pkg}.{}", rel.replace('.', "_")) };
    GoType {
        file: f.name().to_owned(),
        first_value: e.value.first().map(|v| (format!("{ident}_{}", v.name()), v.number())),
        value_prefix: ident.clone(),
        ident,
        is_enum: true,
        map_entry: None,
        legacy_name: legacy,
    }
}

/// Import bookkeeping as protogen does it: an alias per import path, the path's base name made
/// unique against the names already taken (every predeclared identifier is taken).
struct Imports {
    own: String,
    names: BTreeMap<String, String>,
    used: HashSet<String>,
}

impl Imports {
    fn new(own: &str) -> Self {
        Imports {
            own: own.to_owned(),
            names: BTreeMap::new(),
            used: PREDECLARED.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn q(&mut self, path: &str, ident: &str) -> String {
        if path == self.own {
            return ident.to_owned();
        }
        if let Some(n) = self.names.get(path) {
            return format!("{n}.{ident}");
        }
        let base = go_sanitized(path.rsplit('/').next().unwrap_or(path));
        let mut name = base.clone();
        let mut i = 1;
        while self.used.contains(&name) {
            name = format!("{base}{i}");
            i += 1;
        }
        self.used.insert(name.clone());
        self.names.insert(path.to_owned(), name.clone());
        format!("{name}.{ident}")
    }

    fn block(&self) -> String {
        let mut s = String::from("import (\n");
        for (path, name) in &self.names {
            s.push_str(&format!("\t{name} {}\n", go_quote(path.as_bytes())));
        }
        s.push_str(")\n");
        s
    }
}

/// `protogen.Comments(s).String()`: every line prefixed with `//`.
fn comment_lines(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.strip_suffix('\n').unwrap_or(s).split('\n').map(|l| format!("//{l}")).collect()
}

fn comment_block(s: &str) -> String {
    comment_lines(s).iter().map(|l| format!("{l}\n")).collect()
}

/// A leading comment as gofmt leaves it (every comment protogen prints abuts the next token at
/// column 1 before formatting, so gofmt treats it as a doc comment), as lines.
fn doc_lines(text: &str) -> Vec<String> {
    let lines = comment_lines(text);
    if lines.is_empty() { lines } else { doc_comment(&lines) }
}

/// A top-level doc comment as gofmt leaves it (`text` is `//` lines, each ending in a newline).
fn doc_block(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        return String::new();
    }
    doc_comment(&lines).iter().map(|l| format!("{l}\n")).collect()
}

/// protoc-gen-go's trailing comment: single-line trailing comments only.
fn trailing(s: Option<&str>) -> Option<String> {
    let lines = comment_lines(s.unwrap_or_default());
    (lines.len() == 1).then(|| lines[0].clone())
}

/// `appendDeprecationSuffix`.
fn with_deprecation(leading: &str, file: &FileDescriptorProto, deprecated: bool) -> String {
    let file_deprecated = file.options.as_ref().is_some_and(|o| o.deprecated());
    if !deprecated && !file_deprecated {
        return leading.to_owned();
    }
    let mut s = leading.to_owned();
    if !s.is_empty() {
        s.push('\n');
    }
    if file_deprecated {
        s.push_str(&format!(" Deprecated: The entire proto file {} is marked as deprecated.\n", file.name()));
    } else {
        s.push_str(&format!(" Deprecated: Marked as deprecated in {}.\n", file.name()));
    }
    s
}

/// The `var` part of a file's descriptor identifiers: `acme/shop/v1/shop.proto` → `acme_shop_v1_shop_proto`.
fn file_var(name: &str) -> String {
    go_sanitized(name).trim_end_matches('_').to_owned()
}

struct Comments<'a>(HashMap<Vec<i32>, &'a Location>);

impl<'a> Comments<'a> {
    fn new(f: &'a FileDescriptorProto) -> Self {
        let mut map = HashMap::new();
        if let Some(info) = &f.source_code_info {
            for loc in &info.location {
                map.entry(loc.path.clone()).or_insert(loc);
            }
        }
        Comments(map)
    }
    fn leading(&self, path: &[i32]) -> &str {
        self.0.get(path).and_then(|l| l.leading_comments.as_deref()).unwrap_or_default()
    }
    fn trailing(&self, path: &[i32]) -> Option<&str> {
        self.0.get(path).and_then(|l| l.trailing_comments.as_deref())
    }
    /// genStandaloneComments / genLeadingComments: detached comments, then the leading comment,
    /// each followed by a blank line.
    fn standalone(&self, path: &[i32]) -> String {
        let mut s = String::new();
        if let Some(loc) = self.0.get(path) {
            for d in &loc.leading_detached_comments {
                s.push_str(&comment_block(d));
                s.push('\n');
            }
            if let Some(l) = loc.leading_comments.as_deref().filter(|l| !l.is_empty()) {
                s.push_str(&comment_block(l));
                s.push('\n');
            }
        }
        s
    }
}

struct MsgInfo<'a> {
    desc: &'a DescriptorProto,
    full: String,
    ident: String,
    index: Vec<usize>,
    path: Vec<i32>,
    map_entry: bool,
}

struct EnumInfo<'a> {
    desc: &'a EnumDescriptorProto,
    full: String,
    ident: String,
    value_prefix: String,
    index: Vec<usize>,
    path: Vec<i32>,
}

/// A field as the struct declares it.
struct FieldInfo<'a> {
    desc: &'a FieldDescriptorProto,
    go_name: String,
    path: Vec<i32>,
    /// Index of its real oneof.
    oneof: Option<usize>,
    /// The oneof wrapper type (`Order_Cash`) for oneof members.
    wrapper: String,
}

struct OneofInfo {
    name: String,
    go_name: String,
    iface: String,
    path: Vec<i32>,
    fields: Vec<usize>,
}

fn is_map_entry(m: &DescriptorProto) -> bool {
    m.options.as_ref().is_some_and(|o| o.map_entry())
}

/// One generated file's state.
struct Gen<'u, 'a> {
    u: &'u Universe<'a>,
    f: &'a FileDescriptorProto,
    pkg: GoPackage,
    imports: Imports,
    proto3: bool,
    comments: Comments<'a>,
}

impl<'u, 'a> Gen<'u, 'a> {
    fn new(u: &'u Universe<'a>, f: &'a FileDescriptorProto) -> Self {
        let pkg = u.package_of(f.name()).clone();
        Gen {
            u,
            f,
            imports: Imports::new(&pkg.import_path),
            pkg,
            proto3: f.syntax() == "proto3",
            comments: Comments::new(f),
        }
    }

    fn q(&mut self, path: &str, ident: &str) -> String {
        self.imports.q(path, ident)
    }

    /// A message or enum by its `.full.Name`, qualified as needed.
    fn type_ref(&mut self, type_name: &str) -> String {
        let t = self.u.ty(type_name);
        let path = self.u.package_of(&t.file).import_path.clone();
        let ident = t.ident.clone();
        self.q(&path, &ident)
    }

    fn has_presence(&self, fd: &FieldDescriptorProto) -> bool {
        if fd.label() == Label::Repeated {
            return false;
        }
        match fd.r#type() {
            Type::Message | Type::Group => true,
            _ => !self.proto3 || fd.proto3_optional() || fd.oneof_index.is_some(),
        }
    }

    /// `fieldGoType`: the Go type and whether the field is a pointer to it.
    fn field_go_type(&mut self, fd: &FieldDescriptorProto) -> (String, bool) {
        let mut pointer = self.has_presence(fd);
        let ty = match fd.r#type() {
            Type::Bool => "bool".to_owned(),
            Type::Enum => self.type_ref(fd.type_name()),
            Type::Int32 | Type::Sint32 | Type::Sfixed32 => "int32".to_owned(),
            Type::Uint32 | Type::Fixed32 => "uint32".to_owned(),
            Type::Int64 | Type::Sint64 | Type::Sfixed64 => "int64".to_owned(),
            Type::Uint64 | Type::Fixed64 => "uint64".to_owned(),
            Type::Float => "float32".to_owned(),
            Type::Double => "float64".to_owned(),
            Type::String => "string".to_owned(),
            Type::Bytes => {
                pointer = false;
                "[]byte".to_owned()
            }
            Type::Message | Type::Group => {
                pointer = false;
                format!("*{}", self.type_ref(fd.type_name()))
            }
        };
        if fd.label() == Label::Repeated {
            if fd.r#type() == Type::Message
                && let Some((k, v)) = self.u.ty(fd.type_name()).map_entry.clone()
            {
                let (kt, _) = self.field_go_type(&k);
                let (vt, _) = self.field_go_type(&v);
                return (format!("map[{kt}]{vt}"), false);
            }
            return (format!("[]{ty}"), false);
        }
        (ty, pointer)
    }

    /// `tag.Marshal`: the `protobuf:"..."` struct tag value.
    fn tag(&self, fd: &FieldDescriptorProto, syntax_proto3: bool) -> String {
        let mut t = vec![
            match fd.r#type() {
                Type::Bool | Type::Enum | Type::Int32 | Type::Uint32 | Type::Int64 | Type::Uint64 => "varint",
                Type::Sint32 => "zigzag32",
                Type::Sint64 => "zigzag64",
                Type::Sfixed32 | Type::Fixed32 | Type::Float => "fixed32",
                Type::Sfixed64 | Type::Fixed64 | Type::Double => "fixed64",
                Type::String | Type::Bytes | Type::Message => "bytes",
                Type::Group => "group",
            }
            .to_owned(),
            fd.number().to_string(),
            match fd.label() {
                Label::Optional => "opt",
                Label::Required => "req",
                Label::Repeated => "rep",
            }
            .to_owned(),
        ];
        let is_map = fd.r#type() == Type::Message && self.u.ty(fd.type_name()).map_entry.is_some();
        let packable = !matches!(fd.r#type(), Type::String | Type::Bytes | Type::Message | Type::Group);
        let packed = fd.label() == Label::Repeated
            && packable
            && !is_map
            && fd.options.as_ref().and_then(|o| o.packed).unwrap_or(syntax_proto3);
        if packed {
            t.push("packed".to_owned());
        }
        t.push(format!("name={}", fd.name()));
        let json = fd.json_name.clone().unwrap_or_else(|| crate::model::json_name(fd.name()));
        if !json.is_empty() && json != fd.name() {
            t.push(format!("json={json}"));
        }
        if syntax_proto3 {
            t.push("proto3".to_owned());
        }
        if fd.r#type() == Type::Enum {
            t.push(format!("enum={}", self.u.ty(fd.type_name()).legacy_name));
        }
        if fd.oneof_index.is_some() {
            t.push("oneof".to_owned());
        }
        if let Some(def) = &fd.default_value {
            let def = match fd.r#type() {
                Type::Bool => if def == "true" { "1" } else { "0" }.to_owned(),
                Type::Enum => self.enum_value_number(fd.type_name(), def).to_string(),
                _ => def.clone(),
            };
            t.push(format!("def={def}"));
        }
        t.join(",")
    }

    fn enum_value_number(&self, type_name: &str, value: &str) -> i32 {
        self.u
            .enum_values
            .get(type_name.trim_start_matches('.'))
            .and_then(|vs| vs.iter().find(|(n, _)| n == value))
            .map(|(_, v)| *v)
            .unwrap_or_default()
    }

    fn default_value(&mut self, fd: &FieldDescriptorProto, owner: &str, go_name: &str) -> String {
        if fd.label() == Label::Repeated {
            return "nil".to_owned();
        }
        if fd.default_value.is_some() {
            let name = format!("Default_{owner}_{go_name}");
            return if fd.r#type() == Type::Bytes { format!("append([]byte(nil), {name}...)") } else { name };
        }
        match fd.r#type() {
            Type::Bool => "false".to_owned(),
            Type::String => "\"\"".to_owned(),
            Type::Message | Type::Group | Type::Bytes => "nil".to_owned(),
            Type::Enum => {
                let t = self.u.ty(fd.type_name()).clone();
                let path = self.u.package_of(&t.file).import_path.clone();
                let (value, number) = t.first_value.clone().unwrap_or_default();
                if path == self.pkg.import_path { value } else { format!("{}({number})", self.q(&path, &t.ident)) }
            }
            _ => "0".to_owned(),
        }
    }

    fn flatten(&self) -> (Vec<EnumInfo<'a>>, Vec<MsgInfo<'a>>) {
        let f = self.f;
        let pkg = f.package();
        let mut enums = Vec::new();
        let mut msgs = Vec::new();
        for (i, e) in f.enum_type.iter().enumerate() {
            let ident = go_camel_case(e.name());
            enums.push(EnumInfo {
                desc: e,
                full: join(pkg, e.name()),
                value_prefix: ident.clone(),
                ident,
                index: vec![i],
                path: vec![5, i as i32],
            });
        }
        for (i, m) in f.message_type.iter().enumerate() {
            msgs.push(MsgInfo {
                desc: m,
                full: join(pkg, m.name()),
                ident: go_camel_case(m.name()),
                index: vec![i],
                path: vec![4, i as i32],
                map_entry: is_map_entry(m),
            });
        }
        // Pre-order walk over messages; each visit appends the message's nested enums and messages.
        fn walk<'a>(
            m: &'a DescriptorProto,
            full: &str,
            ident: &str,
            index: &[usize],
            path: &[i32],
            enums: &mut Vec<EnumInfo<'a>>,
            msgs: &mut Vec<MsgInfo<'a>>,
        ) {
            for (i, e) in m.enum_type.iter().enumerate() {
                let mut idx = index.to_vec();
                idx.push(i);
                let mut p = path.to_vec();
                p.extend([4, i as i32]);
                enums.push(EnumInfo {
                    desc: e,
                    full: join(full, e.name()),
                    ident: format!("{ident}_{}", go_camel_case(e.name())),
                    value_prefix: ident.to_owned(),
                    index: idx,
                    path: p,
                });
            }
            for (i, n) in m.nested_type.iter().enumerate() {
                let mut idx = index.to_vec();
                idx.push(i);
                let mut p = path.to_vec();
                p.extend([3, i as i32]);
                msgs.push(MsgInfo {
                    desc: n,
                    full: join(full, n.name()),
                    ident: go_camel_case(&format!("{ident}.{}", n.name())),
                    index: idx,
                    path: p,
                    map_entry: is_map_entry(n),
                });
            }
            for (i, n) in m.nested_type.iter().enumerate() {
                let mut idx = index.to_vec();
                idx.push(i);
                let mut p = path.to_vec();
                p.extend([3, i as i32]);
                let nid = go_camel_case(&format!("{ident}.{}", n.name()));
                walk(n, &join(full, n.name()), &nid, &idx, &p, enums, msgs);
            }
        }
        for (i, m) in f.message_type.iter().enumerate() {
            walk(m, &join(pkg, m.name()), &go_camel_case(m.name()), &[i], &[4, i as i32], &mut enums, &mut msgs);
        }
        (enums, msgs)
    }

    fn fields(&self, m: &MsgInfo<'a>) -> (Vec<FieldInfo<'a>>, Vec<OneofInfo>) {
        let mut used: HashMap<String, bool> = [
            "Reset",
            "String",
            "ProtoMessage",
            "Marshal",
            "Unmarshal",
            "ExtensionRangeArray",
            "ExtensionMap",
            "Descriptor",
        ]
        .iter()
        .map(|s| ((*s).to_owned(), true))
        .collect();
        let unique = |name: String, getter: bool, used: &mut HashMap<String, bool>| {
            let mut n = name;
            while used.contains_key(&n) || (getter && used.get(&format!("Get{n}")).copied().unwrap_or(false)) {
                n.push('_');
            }
            used.insert(n.clone(), true);
            used.insert(format!("Get{n}"), getter);
            n
        };
        // Real oneofs: those with a member that is not proto3 optional.
        let real: Vec<bool> = (0..m.desc.oneof_decl.len())
            .map(|i| m.desc.field.iter().any(|f| f.oneof_index == Some(i as i32) && !f.proto3_optional()))
            .collect();
        let mut oneofs: Vec<OneofInfo> = Vec::new();
        let mut oneof_index: HashMap<i32, usize> = HashMap::new();
        let nested: HashSet<String> = m
            .desc
            .nested_type
            .iter()
            .map(|n| go_camel_case(&format!("{}.{}", m.ident, n.name())))
            .chain(m.desc.enum_type.iter().map(|e| format!("{}_{}", m.ident, go_camel_case(e.name()))))
            .collect();
        let mut fields = Vec::new();
        for (i, fd) in m.desc.field.iter().enumerate() {
            let go_name = unique(go_camel_case(fd.name()), true, &mut used);
            let mut path = m.path.clone();
            path.extend([2, i as i32]);
            let mut oneof = None;
            let mut wrapper = String::new();
            if let Some(oi) = fd.oneof_index.filter(|oi| real[*oi as usize]) {
                let idx = match oneof_index.get(&oi) {
                    Some(idx) => *idx,
                    None => {
                        let decl = &m.desc.oneof_decl[oi as usize];
                        let go = unique(go_camel_case(decl.name()), false, &mut used);
                        let mut p = m.path.clone();
                        p.extend([8, oi]);
                        oneofs.push(OneofInfo {
                            name: decl.name().to_owned(),
                            iface: format!("is{}_{go}", m.ident),
                            go_name: go,
                            path: p,
                            fields: Vec::new(),
                        });
                        oneof_index.insert(oi, oneofs.len() - 1);
                        oneofs.len() - 1
                    }
                };
                oneofs[idx].fields.push(i);
                oneof = Some(idx);
                wrapper = format!("{}_{go_name}", m.ident);
                while nested.contains(&wrapper) {
                    wrapper.push('_');
                }
            }
            fields.push(FieldInfo { desc: fd, go_name, path, oneof, wrapper });
        }
        (fields, oneofs)
    }

    fn header(&self, tool: &str, version_lines: &str, generator: &str) -> String {
        let mut s = self.comments.standalone(&[12]);
        s.push_str(&format!("// Code generated by {generator} ({tool} output). DO NOT EDIT.\n"));
        s.push_str("// versions:\n");
        s.push_str(version_lines);
        if self.f.options.as_ref().is_some_and(|o| o.deprecated()) {
            s.push_str(&format!("// {} is a deprecated file.\n", self.f.name()));
        } else {
            s.push_str(&format!("// source: {}\n", self.f.name()));
        }
        s.push('\n');
        s.push_str(&self.comments.standalone(&[2]));
        s.push_str(&format!("package {}\n\n", self.pkg.name));
        s
    }
}

/// Renders `<stem>.pb.go` for a file.
pub(super) fn pb_go(u: &Universe<'_>, f: &FileDescriptorProto, generator: &str) -> String {
    let mut g = Gen::new(u, f);
    let fv = file_var(f.name());
    let (enums, msgs) = g.flatten();
    let mut body = String::new();
    let pi = g.q(PROTOIMPL, "EnforceVersion");
    body.push_str(&format!(
        "const (\n\t// Verify that this generated code is sufficiently up-to-date.\n\t_ = {pi}(20 - {0}.MinVersion)\n\t// Verify that runtime/protoimpl is sufficiently up-to-date.\n\t_ = {pi}({0}.MaxVersion - 20)\n)\n\n",
        "protoimpl"
    ));
    for (ei, e) in enums.iter().enumerate() {
        gen_enum(&mut g, e, ei, &fv, &mut body);
    }
    let msg_index: HashMap<String, usize> = msgs.iter().enumerate().map(|(i, m)| (m.full.clone(), i)).collect();
    for m in &msgs {
        if m.map_entry {
            continue;
        }
        gen_message(&mut g, m, msg_index[&m.full], &fv, &mut body);
    }
    gen_reflect(&mut g, &enums, &msgs, &fv, &mut body);

    let mut out = g.header(
        "protoc-gen-go",
        &format!("// \tprotoc-gen-go {PROTOC_GEN_GO}\n// \tprotoc        (unknown)\n"),
        generator,
    );
    out.push_str(&g.imports.block());
    out.push('\n');
    out.push_str(&body);
    out.trim_end().to_owned() + "\n"
}

fn gen_enum(g: &mut Gen<'_, '_>, e: &EnumInfo<'_>, ei: usize, fv: &str, body: &mut String) {
    let f = g.f;
    let dep = e.desc.options.as_ref().is_some_and(|o| o.deprecated());
    body.push_str(&doc_block(&comment_block(&with_deprecation(g.comments.leading(&e.path), f, dep))));
    body.push_str(&format!("type {} int32\n\n", e.ident));
    let mut rows = Vec::new();
    for (i, v) in e.desc.value.iter().enumerate() {
        let mut p = e.path.clone();
        p.extend([2, i as i32]);
        let vdep = v.options.as_ref().is_some_and(|o| o.deprecated());
        for l in doc_lines(&with_deprecation(g.comments.leading(&p), f, vdep)) {
            rows.push(Row::Text(l));
        }
        let mut cells = vec![format!("{}_{}", e.value_prefix, v.name()), e.ident.clone(), format!("= {}", v.number())];
        if let Some(t) = trailing(g.comments.trailing(&p)) {
            cells.push(t);
        }
        rows.push(Row::Cells(cells));
    }
    body.push_str("const (\n");
    body.push_str(&align(&rows, "\t"));
    body.push_str(")\n\n");
    body.push_str(&format!("// Enum value maps for {}.\nvar (\n", e.ident));
    body.push_str(&format!("\t{}_name = map[int32]string{{\n", e.ident));
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    let mut sizes = Vec::new();
    for v in &e.desc.value {
        let key = format!("{}:", v.number());
        let val = format!("{},", go_quote(v.name().as_bytes()));
        if seen.insert(v.number()) {
            sizes.push(key.len() - 1);
            rows.push(Row::Cells(vec![key, val]));
        } else {
            sizes.push(0);
            rows.push(Row::Text(format!("// Duplicate value: {key} {val}")));
        }
    }
    body.push_str(&align_list(&rows, &sizes, "\t\t"));
    body.push_str("\t}\n");
    body.push_str(&format!("\t{}_value = map[string]int32{{\n", e.ident));
    let rows: Vec<Row> = e
        .desc
        .value
        .iter()
        .map(|v| Row::Cells(vec![format!("{}:", go_quote(v.name().as_bytes())), format!("{},", v.number())]))
        .collect();
    let sizes: Vec<usize> = e.desc.value.iter().map(|v| go_quote(v.name().as_bytes()).chars().count()).collect();
    body.push_str(&align_list(&rows, &sizes, "\t\t"));
    body.push_str("\t}\n)\n\n");
    let id = &e.ident;
    let pr = g.q(PROTOREFLECT, "EnumNumber");
    let pi = g.q(PROTOIMPL, "X");
    let ed = g.q(PROTOREFLECT, "EnumDescriptor");
    let et = g.q(PROTOREFLECT, "EnumType");
    body.push_str(&format!(
        "func (x {id}) Enum() *{id} {{\n\tp := new({id})\n\t*p = x\n\treturn p\n}}\n\n\
         func (x {id}) String() string {{\n\treturn {pi}.EnumStringOf(x.Descriptor(), {pr}(x))\n}}\n\n\
         func ({id}) Descriptor() {ed} {{\n\treturn file_{fv}_enumTypes[{ei}].Descriptor()\n}}\n\n\
         func ({id}) Type() {et} {{\n\treturn &file_{fv}_enumTypes[{ei}]\n}}\n\n\
         func (x {id}) Number() {pr} {{\n\treturn {pr}(x)\n}}\n\n"
    ));
    if !g.proto3 {
        // proto2 enums are closed: protoc-gen-go adds the legacy JSON unmarshaler.
        body.push_str(&format!(
            "// Deprecated: Do not use.\nfunc (x *{id}) UnmarshalJSON(b []byte) error {{\n\tnum, err := {pi}.UnmarshalJSONEnum(x.Descriptor(), b)\n\tif err != nil {{\n\t\treturn err\n\t}}\n\t*x = {id}(num)\n\treturn nil\n}}\n\n"
        ));
    }
    body.push_str(&format!(
        "// Deprecated: Use {id}.Descriptor instead.\n\
         func ({id}) EnumDescriptor() ([]byte, []int) {{\n\treturn file_{fv}_rawDescGZIP(), []int{{{}}}\n}}\n\n",
        e.index.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
    ));
}

fn gen_message(g: &mut Gen<'_, '_>, m: &MsgInfo<'_>, mi: usize, fv: &str, body: &mut String) {
    let f = g.f;
    let id = m.ident.clone();
    let (fields, oneofs) = g.fields(m);
    let dep = m.desc.options.as_ref().is_some_and(|o| o.deprecated());
    body.push_str(&doc_block(&comment_block(&with_deprecation(g.comments.leading(&m.path), f, dep))));
    body.push_str(&format!("type {id} struct {{\n"));
    let ms = g.q(PROTOIMPL, "MessageState");
    let mut rows = vec![Row::Cells(vec!["state".into(), ms, "`protogen:\"open.v1\"`".into()])];
    let proto3 = g.proto3;
    for fi in &fields {
        if let Some(oi) = fi.oneof {
            let o = &oneofs[oi];
            if o.fields[0] != fi.path[fi.path.len() - 1] as usize {
                continue;
            }
            let mut lead = g.comments.leading(&o.path).to_owned();
            if !lead.is_empty() {
                lead.push('\n');
            }
            lead.push_str(&format!(" Types that are valid to be assigned to {}:\n\n", o.go_name));
            for &k in &o.fields {
                lead.push_str(&format!("\t*{}\n", fields[k].wrapper));
            }
            for l in doc_lines(&lead) {
                rows.push(Row::Text(gofmt_struct_comment(l)));
            }
            rows.push(Row::Cells(vec![o.go_name.clone(), o.iface.clone(), format!("`protobuf_oneof:\"{}\"`", o.name)]));
            continue;
        }
        let (ty, ptr) = g.field_go_type(fi.desc);
        let ty = if ptr { format!("*{ty}") } else { ty };
        let mut tags =
            format!("protobuf:{} json:\"{},omitempty\"", go_quote(g.tag(fi.desc, proto3).as_bytes()), fi.desc.name());
        if fi.desc.r#type() == Type::Message
            && let Some((k, v)) = g.u.ty(fi.desc.type_name()).map_entry.clone()
        {
            tags.push_str(&format!(" protobuf_key:\"{}\" protobuf_val:\"{}\"", g.tag(&k, false), g.tag(&v, false)));
        }
        let fdep = fi.desc.options.as_ref().is_some_and(|o| o.deprecated());
        for l in doc_lines(&with_deprecation(g.comments.leading(&fi.path), f, fdep)) {
            rows.push(Row::Text(l));
        }
        let mut cells = vec![fi.go_name.clone(), ty, format!("`{tags}`")];
        if let Some(t) = trailing(g.comments.trailing(&fi.path)) {
            cells.push(t);
        }
        rows.push(Row::Cells(cells));
    }
    rows.push(Row::Cells(vec!["unknownFields".into(), g.q(PROTOIMPL, "UnknownFields")]));
    rows.push(Row::Cells(vec!["sizeCache".into(), g.q(PROTOIMPL, "SizeCache")]));
    body.push_str(&align(&rows, "\t"));
    body.push_str("}\n\n");
    gen_default_decls(g, &id, &fields, body);

    let pi = g.q(PROTOIMPL, "X");
    let pm = g.q(PROTOREFLECT, "Message");
    let ptr = g.q(PROTOIMPL, "Pointer");
    let index = m.index.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    body.push_str(&format!(
        "func (x *{id}) Reset() {{\n\t*x = {id}{{}}\n\tmi := &file_{fv}_msgTypes[{mi}]\n\tms := {pi}.MessageStateOf({ptr}(x))\n\tms.StoreMessageInfo(mi)\n}}\n\n\
         func (x *{id}) String() string {{\n\treturn {pi}.MessageStringOf(x)\n}}\n\n\
         func (*{id}) ProtoMessage() {{}}\n\n\
         func (x *{id}) ProtoReflect() {pm} {{\n\tmi := &file_{fv}_msgTypes[{mi}]\n\tif x != nil {{\n\t\tms := {pi}.MessageStateOf({ptr}(x))\n\t\tif ms.LoadMessageInfo() == nil {{\n\t\t\tms.StoreMessageInfo(mi)\n\t\t}}\n\t\treturn ms\n\t}}\n\treturn mi.MessageOf(x)\n}}\n\n\
         // Deprecated: Use {id}.ProtoReflect.Descriptor instead.\n\
         func (*{id}) Descriptor() ([]byte, []int) {{\n\treturn file_{fv}_rawDescGZIP(), []int{{{index}}}\n}}\n\n"
    ));
    for fi in &fields {
        if let Some(oi) = fi.oneof {
            let o = &oneofs[oi];
            if o.fields[0] == fi.path[fi.path.len() - 1] as usize {
                body.push_str(&format!(
                    "func (x *{id}) Get{0}() {1} {{\n\tif x != nil {{\n\t\treturn x.{0}\n\t}}\n\treturn nil\n}}\n\n",
                    o.go_name, o.iface
                ));
            }
        }
        let (ty, ptr) = g.field_go_type(fi.desc);
        let def = g.default_value(fi.desc, &id, &fi.go_name);
        let fdep = fi.desc.options.as_ref().is_some_and(|o| o.deprecated());
        body.push_str(&comment_block(&with_deprecation("", f, fdep)));
        let n = &fi.go_name;
        if let Some(oi) = fi.oneof {
            let o = &oneofs[oi];
            body.push_str(&format!(
                "func (x *{id}) Get{n}() {ty} {{\n\tif x != nil {{\n\t\tif x, ok := x.{0}.(*{1}); ok {{\n\t\t\treturn x.{n}\n\t\t}}\n\t}}\n\treturn {def}\n}}\n\n",
                o.go_name, fi.wrapper
            ));
        } else if !g.has_presence(fi.desc) || def == "nil" {
            body.push_str(&format!(
                "func (x *{id}) Get{n}() {ty} {{\n\tif x != nil {{\n\t\treturn x.{n}\n\t}}\n\treturn {def}\n}}\n\n"
            ));
        } else {
            let star = if ptr { "*" } else { "" };
            body.push_str(&format!(
                "func (x *{id}) Get{n}() {ty} {{\n\tif x != nil && x.{n} != nil {{\n\t\treturn {star}x.{n}\n\t}}\n\treturn {def}\n}}\n\n"
            ));
        }
    }
    for o in &oneofs {
        body.push_str(&format!("type {0} interface {{\n\t{0}()\n}}\n\n", o.iface));
        for &k in &o.fields {
            let fi = &fields[k];
            let (ty, _) = g.field_go_type(fi.desc);
            let fdep = fi.desc.options.as_ref().is_some_and(|o| o.deprecated());
            body.push_str(&format!("type {} struct {{\n", fi.wrapper));
            for l in doc_lines(&with_deprecation(g.comments.leading(&fi.path), f, fdep)) {
                body.push_str(&format!("\t{l}\n"));
            }
            let tag = g.tag(fi.desc, proto3);
            let tr = trailing(g.comments.trailing(&fi.path)).map(|t| format!(" {t}")).unwrap_or_default();
            body.push_str(&format!("\t{} {ty} `protobuf:\"{tag}\"`{tr}\n}}\n\n", fi.go_name));
        }
        for &k in &o.fields {
            body.push_str(&format!("func (*{}) {}() {{}}\n\n", fields[k].wrapper, o.iface));
        }
    }
}

/// `genMessageDefaultDecls`: the `Default_<Message>_<Field>` constants and variables of proto2
/// defaults.
fn gen_default_decls(g: &mut Gen<'_, '_>, id: &str, fields: &[FieldInfo<'_>], body: &mut String) {
    let mut consts: Vec<Row> = Vec::new();
    let mut vars: Vec<Row> = Vec::new();
    for fi in fields {
        let Some(def) = fi.desc.default_value.clone() else { continue };
        let name = format!("Default_{id}_{}", fi.go_name);
        let (go_type, _) = g.field_go_type(fi.desc);
        match fi.desc.r#type() {
            Type::String => consts.push(Row::Cells(vec![name, format!("= string({})", go_quote(def.as_bytes()))])),
            Type::Bytes => vars.push(Row::Cells(vec![name, format!("= []byte({})", go_quote(&c_unescape(&def)))])),
            Type::Enum => {
                let t = g.u.ty(fi.desc.type_name()).clone();
                let path = g.u.package_of(&t.file).import_path.clone();
                let value_ident = format!("{}_{def}", t.value_prefix);
                if path == g.pkg.import_path {
                    consts.push(Row::Cells(vec![name, format!("= {value_ident}")]));
                } else {
                    let number = g.enum_value_number(fi.desc.type_name(), &def);
                    let e = g.q(&path, &t.ident);
                    let v = g.q(&path, &value_ident);
                    consts.push(Row::Cells(vec![name, format!("= {e}({number})"), format!("// {v}")]));
                }
            }
            Type::Float | Type::Double if matches!(def.as_str(), "inf" | "-inf" | "nan") => {
                let (func, arg) = match def.as_str() {
                    "inf" => ("Inf", "+1"),
                    "-inf" => ("Inf", "-1"),
                    _ => ("NaN", ""),
                };
                let f = g.q("math", func);
                vars.push(Row::Cells(vec![name, format!("= {go_type}({f}({arg}))")]));
            }
            Type::Bool => consts.push(Row::Cells(vec![name, format!("= bool({def})")])),
            _ => consts.push(Row::Cells(vec![name, format!("= {go_type}({def})")])),
        }
    }
    if !consts.is_empty() {
        body.push_str(&format!("// Default values for {id} fields.\nconst (\n{})\n\n", align(&consts, "\t")));
    }
    if !vars.is_empty() {
        body.push_str(&format!("// Default values for {id} fields.\nvar (\n{})\n\n", align(&vars, "\t")));
    }
}

/// Decodes protoc's C-escaped `default_value` of a bytes field.
fn c_unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 && i < b.len() && b[i].is_ascii_hexdigit() {
                    v = v * 16 + (b[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    out
}

/// Inside a struct, gofmt keeps comments as written except that it does not reformat them; the
/// oneof list's `\t*Type` lines stay `//\t*Type`.
fn gofmt_struct_comment(l: String) -> String {
    l
}

fn gen_reflect(g: &mut Gen<'_, '_>, enums: &[EnumInfo<'_>], msgs: &[MsgInfo<'_>], fv: &str, body: &mut String) {
    let f = g.f;
    let fd_ty = g.q(PROTOREFLECT, "FileDescriptor");
    body.push_str(&format!("var File_{fv} {fd_ty}\n\n"));
    // The raw descriptor: the file without source info, fields in number order (as Go's
    // deterministic marshal writes them), split after every 0x0a byte.
    let mut clean = f.clone();
    clean.source_code_info = None;
    let raw = canonical(&clean.encode_to_vec(), Kind::File);
    body.push_str(&format!("const file_{fv}_rawDesc = \"\" +\n"));
    let parts: Vec<&[u8]> = raw.split_inclusive(|b| *b == b'\n').collect();
    for (i, p) in parts.iter().enumerate() {
        let sep = if i + 1 < parts.len() { " +" } else { "" };
        body.push_str(&format!("\t{}{sep}\n", go_quote(p)));
    }
    body.push('\n');
    let once = g.q("sync", "Once");
    body.push_str(&format!("var (\n\tfile_{fv}_rawDescOnce {once}\n\tfile_{fv}_rawDescData []byte\n)\n\n"));
    let pi = g.q(PROTOIMPL, "X");
    let us = g.q("unsafe", "Slice");
    let sd = g.q("unsafe", "StringData");
    body.push_str(&format!(
        "func file_{fv}_rawDescGZIP() []byte {{\n\tfile_{fv}_rawDescOnce.Do(func() {{\n\t\tfile_{fv}_rawDescData = {pi}.CompressGZIP({us}({sd}(file_{fv}_rawDesc), len(file_{fv}_rawDesc)))\n\t}})\n\treturn file_{fv}_rawDescData\n}}\n\n"
    ));
    if !enums.is_empty() {
        let ei = g.q(PROTOIMPL, "EnumInfo");
        body.push_str(&format!("var file_{fv}_enumTypes = make([]{ei}, {})\n", enums.len()));
    }
    if !msgs.is_empty() {
        let mi = g.q(PROTOIMPL, "MessageInfo");
        body.push_str(&format!("var file_{fv}_msgTypes = make([]{mi}, {})\n", msgs.len()));
    }
    // goTypes: local enums, local messages, then dependencies in order of first reference.
    let mut go_types: Vec<(String, String)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in enums {
        index.insert(e.full.clone(), go_types.len());
        go_types.push((format!("({})(0)", e.ident), e.full.clone()));
    }
    for m in msgs {
        index.insert(m.full.clone(), go_types.len());
        let elem = if m.map_entry { "nil".to_owned() } else { format!("(*{})(nil)", m.ident) };
        go_types.push((elem, m.full.clone()));
    }
    let mut deps: Vec<(usize, String, String)> = Vec::new();
    let mut dep = |g: &mut Gen<'_, '_>,
                   type_name: &str,
                   source: String,
                   go_types: &mut Vec<(String, String)>,
                   deps: &mut Vec<(usize, String, String)>| {
        let full = type_name.trim_start_matches('.').to_owned();
        let i = match index.get(&full) {
            Some(i) => *i,
            None => {
                let t = g.u.ty(type_name).clone();
                let r = g.type_ref(type_name);
                let elem = if t.is_enum { format!("({r})(0)") } else { format!("(*{r})(nil)") };
                go_types.push((elem, full.clone()));
                index.insert(full.clone(), go_types.len() - 1);
                go_types.len() - 1
            }
        };
        deps.push((i, source, full));
    };
    for m in msgs {
        for fd in &m.desc.field {
            if matches!(fd.r#type(), Type::Enum | Type::Message | Type::Group) {
                dep(g, fd.type_name(), format!("{}.{}:type_name", m.full, fd.name()), &mut go_types, &mut deps);
            }
        }
    }
    let n_fields = deps.len();
    let pkg = f.package().to_owned();
    for s in &f.service {
        for mth in &s.method {
            dep(
                g,
                mth.input_type(),
                format!("{}.{}:input_type", join(&pkg, s.name()), mth.name()),
                &mut go_types,
                &mut deps,
            );
        }
    }
    let n_inputs = deps.len();
    for s in &f.service {
        for mth in &s.method {
            dep(
                g,
                mth.output_type(),
                format!("{}.{}:output_type", join(&pkg, s.name()), mth.name()),
                &mut go_types,
                &mut deps,
            );
        }
    }
    let n_outputs = deps.len();
    body.push_str(&format!("var file_{fv}_goTypes = []any{{\n"));
    let rows: Vec<Row> = go_types
        .iter()
        .enumerate()
        .map(|(i, (e, full))| Row::Cells(vec![format!("{e},"), format!("// {i}: {full}")]))
        .collect();
    let sizes: Vec<usize> = go_types.iter().map(|(e, _)| e.chars().count()).collect();
    body.push_str(&align_list(&rows, &sizes, "\t"));
    body.push_str("}\n");
    body.push_str(&format!("var file_{fv}_depIdxs = []int32{{\n"));
    let mut rows: Vec<Row> = deps
        .iter()
        .enumerate()
        .map(|(i, (t, src, full))| Row::Cells(vec![format!("{t},"), format!("// {i}: {src} -> {full}")]))
        .collect();
    let subs = [
        (n_inputs, n_outputs, "method output_type"),
        (n_fields, n_inputs, "method input_type"),
        (n_fields, n_fields, "extension type_name"),
        (n_fields, n_fields, "extension extendee"),
        (0, n_fields, "field type_name"),
    ];
    for (a, b, what) in subs {
        rows.push(Row::Cells(vec![format!("{a},"), format!("// [{a}:{b}] is the sub-list for {what}")]));
    }
    let sizes: Vec<usize> = rows
        .iter()
        .map(|r| match r {
            Row::Cells(c) => c[0].len() - 1,
            Row::Text(_) => 0,
        })
        .collect();
    body.push_str(&align_list(&rows, &sizes, "\t"));
    body.push_str("}\n\n");

    body.push_str(&format!(
        "func init() {{ file_{fv}_init() }}\nfunc file_{fv}_init() {{\n\tif File_{fv} != nil {{\n\t\treturn\n\t}}\n"
    ));
    let own = g.pkg.import_path.clone();
    for d in &f.dependency {
        if let Some(df) = g.u.files.get(d)
            && g.u.packages.get(df.name()).is_some_and(|p| p.import_path == own)
        {
            body.push_str(&format!("\tfile_{}_init()\n", file_var(d)));
        }
    }
    for (i, m) in msgs.iter().enumerate() {
        if m.desc.oneof_decl.is_empty() {
            continue;
        }
        let (fields, _) = g.fields(m);
        let wrappers: Vec<&str> = fields.iter().filter(|fi| fi.oneof.is_some()).map(|fi| fi.wrapper.as_str()).collect();
        if wrappers.is_empty() {
            body.push_str(&format!("\tfile_{fv}_msgTypes[{i}].OneofWrappers = []any{{}}\n"));
        } else {
            body.push_str(&format!("\tfile_{fv}_msgTypes[{i}].OneofWrappers = []any{{\n"));
            for w in wrappers {
                body.push_str(&format!("\t\t(*{w})(nil),\n"));
            }
            body.push_str("\t}\n");
        }
    }
    let x = g.q("reflect", "TypeOf");
    let tb = g.q(PROTOIMPL, "TypeBuilder");
    let db = g.q(PROTOIMPL, "DescBuilder");
    let us = g.q("unsafe", "Slice");
    let sd = g.q("unsafe", "StringData");
    body.push_str("\ttype x struct{}\n");
    body.push_str(&format!("\tout := {tb}{{\n\t\tFile: {db}{{\n"));
    body.push_str(&format!(
        "\t\t\tGoPackagePath: {x}(x{{}}).PkgPath(),\n\t\t\tRawDescriptor: {us}({sd}(file_{fv}_rawDesc), len(file_{fv}_rawDesc)),\n\t\t\tNumEnums:      {},\n\t\t\tNumMessages:   {},\n\t\t\tNumExtensions: 0,\n\t\t\tNumServices:   {},\n\t\t}},\n",
        enums.len(),
        msgs.len(),
        f.service.len()
    ));
    let mut rows = vec![
        Row::Cells(vec!["GoTypes:".into(), format!("file_{fv}_goTypes,")]),
        Row::Cells(vec!["DependencyIndexes:".into(), format!("file_{fv}_depIdxs,")]),
    ];
    if !enums.is_empty() {
        rows.push(Row::Cells(vec!["EnumInfos:".into(), format!("file_{fv}_enumTypes,")]));
    }
    if !msgs.is_empty() {
        rows.push(Row::Cells(vec!["MessageInfos:".into(), format!("file_{fv}_msgTypes,")]));
    }
    body.push_str(&align(&rows, "\t\t"));
    body.push_str("\t}.Build()\n");
    body.push_str(&format!("\tFile_{fv} = out.File\n\tfile_{fv}_goTypes = nil\n\tfile_{fv}_depIdxs = nil\n}}\n"));
}

/// Message kinds of descriptor.proto whose fields the canonical encoding recurses into.
#[derive(Clone, Copy)]
enum Kind {
    File,
    Message,
    Field,
    Enum,
    EnumValue,
    Service,
    Method,
    Plain,
}

fn child(kind: Kind, number: u64) -> Option<Kind> {
    use Kind::*;
    match (kind, number) {
        (File, 4) => Some(Message),
        (File, 5) => Some(Enum),
        (File, 6) => Some(Service),
        (File, 7) => Some(Field),
        (File, 8) => Some(Plain),
        (Message, 2 | 6) => Some(Field),
        (Message, 3) => Some(Message),
        (Message, 4) => Some(Enum),
        (Message, 5 | 7 | 8 | 9) => Some(Plain),
        (Field, 8) => Some(Plain),
        (Enum, 2) => Some(EnumValue),
        (Enum, 3 | 4) => Some(Plain),
        (EnumValue, 3) => Some(Plain),
        (Service, 2) => Some(Method),
        (Service, 3) => Some(Plain),
        (Method, 4) => Some(Plain),
        _ => None,
    }
}

fn read_varint(b: &[u8], i: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while *i < b.len() {
        let byte = b[*i];
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    v
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Re-encodes a descriptor message with its fields in field-number order (stable), recursively,
/// as Go's deterministic marshal writes them (prost writes declaration order).
fn canonical(b: &[u8], kind: Kind) -> Vec<u8> {
    let mut fields: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let key = read_varint(b, &mut i);
        let (number, wt) = (key >> 3, key & 7);
        let encoded = match wt {
            0 => {
                read_varint(b, &mut i);
                b[start..i].to_vec()
            }
            1 => {
                i += 8;
                b[start..i].to_vec()
            }
            5 => {
                i += 4;
                b[start..i].to_vec()
            }
            2 => {
                let len = read_varint(b, &mut i) as usize;
                let payload = &b[i..i + len];
                i += len;
                match child(kind, number) {
                    Some(k) => {
                        let inner = canonical(payload, k);
                        let mut e = Vec::new();
                        write_varint(&mut e, key);
                        write_varint(&mut e, inner.len() as u64);
                        e.extend(inner);
                        e
                    }
                    None => b[start..i].to_vec(),
                }
            }
            _ => b[start..].to_vec(),
        };
        fields.push((number, encoded));
    }
    fields.sort_by_key(|(n, _)| *n);
    fields.into_iter().flat_map(|(_, e)| e).collect()
}

/// Renders `<stem>_grpc.pb.go` for a file with services.
pub(super) fn grpc_go(u: &Universe<'_>, f: &FileDescriptorProto, generator: &str) -> Option<String> {
    if f.service.is_empty() {
        return None;
    }
    let mut g = Gen::new(u, f);
    let mut b = String::new();
    let v9 = g.q(GRPC, "SupportPackageIsVersion9");
    b.push_str(&format!(
        "// This is a compile-time assertion to ensure that this generated file\n// is compatible with the grpc package it is being compiled against.\n// Requires gRPC-Go v1.64.0 or later.\nconst _ = {v9}\n\n"
    ));
    const DEPRECATED: &str = "// Deprecated: Do not use.\n";
    for (si, s) in f.service.iter().enumerate() {
        let svc = go_camel_case(s.name());
        let full = join(f.package(), s.name());
        let sdep = s.options.as_ref().is_some_and(|o| o.deprecated());
        let spath = vec![6, si as i32];
        let scomment = g.comments.leading(&spath).to_owned();
        let service_comments =
            if scomment.is_empty() { String::new() } else { format!("//\n{}\n", comment_block(&scomment).trim()) };
        struct M {
            name: String,
            proto: String,
            input: String,
            output: String,
            cs: bool,
            ss: bool,
            dep: bool,
            lead: String,
        }
        let mut ms = Vec::new();
        for (mi, m) in s.method.iter().enumerate() {
            ms.push(M {
                name: go_camel_case(m.name()),
                proto: m.name().to_owned(),
                input: m.input_type().to_owned(),
                output: m.output_type().to_owned(),
                cs: m.client_streaming(),
                ss: m.server_streaming(),
                dep: m.options.as_ref().is_some_and(|o| o.deprecated()),
                lead: doc_block(&comment_block(g.comments.leading(&[6, si as i32, 2, mi as i32]))),
            });
        }
        if !ms.is_empty() {
            let rows: Vec<Row> = ms
                .iter()
                .map(|m| {
                    Row::Cells(vec![format!("{svc}_{}_FullMethodName", m.name), format!("= \"/{full}/{}\"", m.proto)])
                })
                .collect();
            b.push_str("const (\n");
            b.push_str(&align(&rows, "\t"));
            b.push_str(")\n\n");
        }
        let client = format!("{svc}Client");
        let mut doc = format!(
            "// {client} is the client API for {svc} service.\n//\n// For semantics around ctx use and closing/ending streaming RPCs, please refer to https://pkg.go.dev/google.golang.org/grpc/?tab=doc#ClientConn.NewStream.\n{service_comments}"
        );
        if sdep {
            doc.push_str("//\n");
            doc.push_str(DEPRECATED);
        }
        b.push_str(&doc_block(&doc));
        b.push_str(&format!("type {client} interface {{\n"));
        let mut sigs = Vec::new();
        for m in &ms {
            let ctx = g.q("context", "Context");
            let co = g.q(GRPC, "CallOption");
            let mut s = format!("{}(ctx {ctx}", m.name);
            if !m.cs {
                s.push_str(&format!(", in *{}", g.type_ref(&m.input)));
            }
            s.push_str(&format!(", opts ...{co}) ("));
            if !m.cs && !m.ss {
                s.push_str(&format!("*{}", g.type_ref(&m.output)));
            } else {
                s.push_str(&client_stream_iface(&mut g, m.cs, m.ss, &m.input, &m.output));
            }
            s.push_str(", error)");
            sigs.push(s);
        }
        for (m, sig) in ms.iter().zip(&sigs) {
            if m.dep {
                b.push_str(&format!("\t{DEPRECATED}"));
            }
            for l in m.lead.lines() {
                b.push_str(&format!("\t{l}\n"));
            }
            b.push_str(&format!("\t{sig}\n"));
        }
        b.push_str("}\n\n");
        let unexp = unexport(&client);
        let cci = g.q(GRPC, "ClientConnInterface");
        b.push_str(&format!("type {unexp} struct {{\n\tcc {cci}\n}}\n\n"));
        if sdep {
            b.push_str(DEPRECATED);
        }
        b.push_str(&format!("func New{client}(cc {cci}) {client} {{\n\treturn &{unexp}{{cc}}\n}}\n\n"));
        let (mut mi, mut si_) = (0, 0);
        for (m, sig) in ms.iter().zip(&sigs) {
            let index = if !m.cs && !m.ss {
                mi += 1;
                mi - 1
            } else {
                si_ += 1;
                si_ - 1
            };
            if m.dep {
                b.push_str(DEPRECATED);
            }
            let co = g.q(GRPC, "CallOption");
            let sm = g.q(GRPC, "StaticMethod");
            let fm = format!("{svc}_{}_FullMethodName", m.name);
            b.push_str(&format!("func (c *{unexp}) {sig} {{\n\tcOpts := append([]{co}{{{sm}()}}, opts...)\n"));
            if !m.cs && !m.ss {
                let out = g.type_ref(&m.output);
                b.push_str(&format!(
                    "\tout := new({out})\n\terr := c.cc.Invoke(ctx, {fm}, in, out, cOpts...)\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n\treturn out, nil\n}}\n\n"
                ));
                continue;
            }
            let (i, o) = (g.type_ref(&m.input), g.type_ref(&m.output));
            let gcs = g.q(GRPC, "GenericClientStream");
            b.push_str(&format!(
                "\tstream, err := c.cc.NewStream(ctx, &{svc}_ServiceDesc.Streams[{index}], {fm}, cOpts...)\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n\tx := &{gcs}[{i}, {o}]{{ClientStream: stream}}\n"
            ));
            if !m.cs {
                b.push_str("\tif err := x.ClientStream.SendMsg(in); err != nil {\n\t\treturn nil, err\n\t}\n\tif err := x.ClientStream.CloseSend(); err != nil {\n\t\treturn nil, err\n\t}\n");
            }
            b.push_str("\treturn x, nil\n}\n\n");
            let iface = client_stream_iface(&mut g, m.cs, m.ss, &m.input, &m.output);
            b.push_str(&format!(
                "// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.\ntype {svc}_{}Client = {iface}\n\n",
                m.name
            ));
        }
        let server = format!("{svc}Server");
        let mut doc = format!(
            "// {server} is the server API for {svc} service.\n// All implementations must embed Unimplemented{server}\n// for forward compatibility.\n{service_comments}"
        );
        if sdep {
            doc.push_str("//\n");
            doc.push_str(DEPRECATED);
        }
        b.push_str(&doc_block(&doc));
        b.push_str(&format!("type {server} interface {{\n"));
        let mut ssigs = Vec::new();
        for m in &ms {
            let mut args = Vec::new();
            let mut ret = "error".to_owned();
            if !m.cs && !m.ss {
                args.push(g.q("context", "Context"));
                ret = format!("(*{}, error)", g.type_ref(&m.output));
            }
            if !m.cs {
                args.push(format!("*{}", g.type_ref(&m.input)));
            }
            if m.cs || m.ss {
                args.push(server_stream_iface(&mut g, m.cs, m.ss, &m.input, &m.output));
            }
            ssigs.push(format!("{}({}) {ret}", m.name, args.join(", ")));
        }
        for (m, sig) in ms.iter().zip(&ssigs) {
            if m.dep {
                b.push_str(&format!("\t{DEPRECATED}"));
            }
            for l in m.lead.lines() {
                b.push_str(&format!("\t{l}\n"));
            }
            b.push_str(&format!("\t{sig}\n"));
        }
        b.push_str(&format!("\tmustEmbedUnimplemented{server}()\n}}\n\n"));
        b.push_str(&format!(
            "// Unimplemented{server} must be embedded to have\n// forward compatible implementations.\n//\n// NOTE: this should be embedded by value instead of pointer to avoid a nil\n// pointer dereference when methods are called.\ntype Unimplemented{server} struct{{}}\n\n"
        ));
        for (m, sig) in ms.iter().zip(&ssigs) {
            let nil = if !m.cs && !m.ss { "nil, " } else { "" };
            let se = g.q("google.golang.org/grpc/status", "Error");
            let cu = g.q("google.golang.org/grpc/codes", "Unimplemented");
            b.push_str(&format!(
                "func (Unimplemented{server}) {sig} {{\n\treturn {nil}{se}({cu}, \"method {} not implemented\")\n}}\n",
                m.name
            ));
        }
        // gofmt aligns the bodies of these two adjacent one-line funcs.
        let must = format!("func (Unimplemented{server}) mustEmbedUnimplemented{server}()");
        let test = format!("func (Unimplemented{server}) testEmbeddedByValue()");
        let pad = " ".repeat(must.len().saturating_sub(test.len()));
        b.push_str(&format!("{must} {{}}\n{test}{pad} {{}}\n\n"));
        b.push_str(&format!(
            "// Unsafe{server} may be embedded to opt out of forward compatibility for this service.\n// Use of this interface is not recommended, as added methods to {server} will\n// result in compilation errors.\ntype Unsafe{server} interface {{\n\tmustEmbedUnimplemented{server}()\n}}\n\n"
        ));
        if sdep {
            b.push_str(DEPRECATED);
        }
        let sr = g.q(GRPC, "ServiceRegistrar");
        b.push_str(&format!(
            "func Register{svc}Server(s {sr}, srv {server}) {{\n\t// If the following call panics, it indicates Unimplemented{server} was\n\t// embedded by pointer and is nil.  This will cause panics if an\n\t// unimplemented method is ever invoked, so we test this at initialization\n\t// time to prevent it from happening at runtime later due to I/O.\n\tif t, ok := srv.(interface{{ testEmbeddedByValue() }}); ok {{\n\t\tt.testEmbeddedByValue()\n\t}}\n\ts.RegisterService(&{svc}_ServiceDesc, srv)\n}}\n\n"
        ));
        let mut handlers = Vec::new();
        for m in &ms {
            let h = format!("_{svc}_{}_Handler", m.name);
            let fm = format!("{svc}_{}_FullMethodName", m.name);
            if !m.cs && !m.ss {
                let ctx = g.q("context", "Context");
                let usi = g.q(GRPC, "UnaryServerInterceptor");
                let i = g.type_ref(&m.input);
                let info = g.q(GRPC, "UnaryServerInfo");
                b.push_str(&format!(
                    "func {h}(srv interface{{}}, ctx {ctx}, dec func(interface{{}}) error, interceptor {usi}) (interface{{}}, error) {{\n\tin := new({i})\n\tif err := dec(in); err != nil {{\n\t\treturn nil, err\n\t}}\n\tif interceptor == nil {{\n\t\treturn srv.({server}).{0}(ctx, in)\n\t}}\n\tinfo := &{info}{{\n\t\tServer:     srv,\n\t\tFullMethod: {fm},\n\t}}\n\thandler := func(ctx {ctx}, req interface{{}}) (interface{{}}, error) {{\n\t\treturn srv.({server}).{0}(ctx, req.(*{i}))\n\t}}\n\treturn interceptor(ctx, in, info, handler)\n}}\n\n",
                    m.name
                ));
            } else {
                let ss = g.q(GRPC, "ServerStream");
                let (i, o) = (g.type_ref(&m.input), g.type_ref(&m.output));
                let gss = g.q(GRPC, "GenericServerStream");
                b.push_str(&format!("func {h}(srv interface{{}}, stream {ss}) error {{\n"));
                if !m.cs {
                    b.push_str(&format!(
                        "\tm := new({i})\n\tif err := stream.RecvMsg(m); err != nil {{\n\t\treturn err\n\t}}\n\treturn srv.({server}).{}(m, &{gss}[{i}, {o}]{{ServerStream: stream}})\n",
                        m.name
                    ));
                } else {
                    b.push_str(&format!(
                        "\treturn srv.({server}).{}(&{gss}[{i}, {o}]{{ServerStream: stream}})\n",
                        m.name
                    ));
                }
                b.push_str("}\n\n");
                let iface = server_stream_iface(&mut g, m.cs, m.ss, &m.input, &m.output);
                b.push_str(&format!(
                    "// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.\ntype {svc}_{}Server = {iface}\n\n",
                    m.name
                ));
            }
            handlers.push(h);
        }
        let sd = g.q(GRPC, "ServiceDesc");
        let md = g.q(GRPC, "MethodDesc");
        let stdesc = g.q(GRPC, "StreamDesc");
        b.push_str(&format!(
            "// {svc}_ServiceDesc is the {sd} for {svc} service.\n// It's only intended for direct use with {},\n// and not to be introspected or modified (even as a copy)\nvar {svc}_ServiceDesc = {sd}{{\n\tServiceName: {},\n\tHandlerType: (*{server})(nil),\n",
            g.q(GRPC, "RegisterService"),
            go_quote(full.as_bytes())
        ));
        let unary: Vec<usize> = (0..ms.len()).filter(|&i| !ms[i].cs && !ms[i].ss).collect();
        let streams: Vec<usize> = (0..ms.len()).filter(|&i| ms[i].cs || ms[i].ss).collect();
        if unary.is_empty() {
            b.push_str(&format!("\tMethods:     []{md}{{}},\n"));
        } else {
            b.push_str(&format!("\tMethods: []{md}{{\n"));
            for &i in &unary {
                b.push_str(&format!(
                    "\t\t{{\n\t\t\tMethodName: {},\n\t\t\tHandler:    {},\n\t\t}},\n",
                    go_quote(ms[i].proto.as_bytes()),
                    handlers[i]
                ));
            }
            b.push_str("\t},\n");
        }
        if streams.is_empty() {
            // Aligned with Metadata below (and with the lines above when Methods is empty too).
            let pad = if unary.is_empty() { "     " } else { "  " };
            let mpad = if unary.is_empty() { "    " } else { " " };
            b.push_str(&format!("\tStreams:{pad}[]{stdesc}{{}},\n\tMetadata:{mpad}\"{}\",\n}}\n\n", f.name()));
            continue;
        } else {
            b.push_str(&format!("\tStreams: []{stdesc}{{\n"));
            for &i in &streams {
                b.push_str(&format!(
                    "\t\t{{\n\t\t\tStreamName:    {},\n\t\t\tHandler:       {},\n",
                    go_quote(ms[i].proto.as_bytes()),
                    handlers[i]
                ));
                if ms[i].ss {
                    b.push_str("\t\t\tServerStreams: true,\n");
                }
                if ms[i].cs {
                    b.push_str("\t\t\tClientStreams: true,\n");
                }
                b.push_str("\t\t},\n");
            }
            b.push_str("\t},\n");
        }
        b.push_str(&format!("\tMetadata: \"{}\",\n}}\n\n", f.name()));
    }
    let mut out = g.header(
        "protoc-gen-go-grpc",
        &format!("// - protoc-gen-go-grpc {PROTOC_GEN_GO_GRPC}\n// - protoc             (unknown)\n"),
        generator,
    );
    out.push_str(&g.imports.block());
    out.push('\n');
    out.push_str(&b);
    Some(out.trim_end().to_owned() + "\n")
}

fn client_stream_iface(g: &mut Gen<'_, '_>, cs: bool, ss: bool, input: &str, output: &str) -> String {
    let (i, o) = (g.type_ref(input), g.type_ref(output));
    if cs && ss {
        format!("{}[{i}, {o}]", g.q(GRPC, "BidiStreamingClient"))
    } else if cs {
        format!("{}[{i}, {o}]", g.q(GRPC, "ClientStreamingClient"))
    } else {
        format!("{}[{o}]", g.q(GRPC, "ServerStreamingClient"))
    }
}

fn server_stream_iface(g: &mut Gen<'_, '_>, cs: bool, ss: bool, input: &str, output: &str) -> String {
    let (i, o) = (g.type_ref(input), g.type_ref(output));
    if cs && ss {
        format!("{}[{i}, {o}]", g.q(GRPC, "BidiStreamingServer"))
    } else if cs {
        format!("{}[{i}, {o}]", g.q(GRPC, "ClientStreamingServer"))
    } else {
        format!("{}[{o}]", g.q(GRPC, "ServerStreamingServer"))
    }
}
