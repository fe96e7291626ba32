//! The `.pb.go` and `_grpc.pb.go` files: what protoc-gen-go (v1.36, open struct API) and
//! protoc-gen-go-grpc (v1.6) generate for a file, reproduced from the descriptor set, formatted
//! as gofmt leaves them. `tests/conformance/go/run.sh` compares them with the real plugins.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::source_code_info::Location;
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto};

use super::gofmt::{Row, align, align_list, doc_comment, short_func};
use super::names::{
    MESSAGE_METHODS, ONEOF_GETTER_TAKEN, PREDECLARED, STRUCT_FIELD_RESERVED, go_camel_case, go_quote, go_sanitized,
    method_names, unexport,
};

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
    /// Enums: the Go constant of each value, in declaration order (`<prefix>_<value>`, made
    /// unique in the Go package, see [`Universe::resolve`]).
    values: Vec<String>,
}

/// Everything the generators need across files.
pub(super) struct Universe<'a> {
    files: BTreeMap<String, &'a FileDescriptorProto>,
    packages: HashMap<String, GoPackage>,
    types: HashMap<String, GoType>,
    /// Enum values (name, number) by enum full name, for proto2 defaults.
    enum_values: HashMap<String, Vec<(String, i32)>>,
    /// Package-level Go names declared per import path (types, enum value maps and constants,
    /// the gRPC declarations of services).
    taken: HashMap<String, HashSet<String>>,
    /// Services' Go names (`GoCamelCase`, made unique) by full name.
    services: HashMap<String, String>,
    /// The oneof declarations of every message (by full name) of the generated files.
    decls: HashMap<String, OneofDecls>,
    /// The field and oneof names of every message (by full name) of the generated files, worked
    /// out once here and reused when the message's file is generated.
    names: HashMap<String, MessageNames>,
}

/// The package-level names protoc-gen-go-grpc declares for a service named `go`.
fn service_decls(go: &str) -> [String; 7] {
    [
        format!("{go}Client"),
        format!("{go}Server"),
        format!("New{go}Client"),
        format!("Register{go}Server"),
        format!("Unimplemented{go}Server"),
        format!("Unsafe{go}Server"),
        format!("{go}_ServiceDesc"),
    ]
}

/// A file's messages (full name, descriptor) in protoc-gen-go's flattened order.
fn flat_messages(f: &FileDescriptorProto) -> Vec<(String, &DescriptorProto)> {
    let pkg = f.package();
    let mut out: Vec<(String, &DescriptorProto)> = f.message_type.iter().map(|m| (join(pkg, m.name()), m)).collect();
    fn walk<'a>(m: &'a DescriptorProto, full: &str, out: &mut Vec<(String, &'a DescriptorProto)>) {
        out.extend(m.nested_type.iter().map(|n| (join(full, n.name()), n)));
        for n in &m.nested_type {
            walk(n, &join(full, n.name()), out);
        }
    }
    for m in &f.message_type {
        walk(m, &join(pkg, m.name()), &mut out);
    }
    out
}

/// A file's messages and enums in protoc-gen-go's flattened order (`allMessages`: the file's
/// messages, then each message's nested ones in pre-order; `allEnums` likewise), as full names.
fn flat_names(f: &FileDescriptorProto) -> (Vec<String>, Vec<String>) {
    let pkg = f.package();
    let mut msgs: Vec<String> = f.message_type.iter().map(|m| join(pkg, m.name())).collect();
    let mut enums: Vec<String> = f.enum_type.iter().map(|e| join(pkg, e.name())).collect();
    fn walk(m: &DescriptorProto, full: &str, msgs: &mut Vec<String>, enums: &mut Vec<String>) {
        enums.extend(m.enum_type.iter().map(|e| join(full, e.name())));
        msgs.extend(m.nested_type.iter().map(|n| join(full, n.name())));
        for n in &m.nested_type {
            walk(n, &join(full, n.name()), msgs, enums);
        }
    }
    for m in &f.message_type {
        walk(m, &join(pkg, m.name()), &mut msgs, &mut enums);
    }
    (msgs, enums)
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
                types.insert(join(pkg, e.name()), enum_type(f, e, go_camel_case(e.name()), pkg));
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
                        values: Vec::new(),
                    },
                );
                for e in &m.enum_type {
                    let erel = format!("{rel}.{}", e.name());
                    let mut t = enum_type(f, e, go_camel_case(&erel), pkg);
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
        let mut u = Universe {
            files: set.iter().map(|f| (f.name().to_owned(), f)).collect(),
            packages,
            types,
            enum_values,
            taken: HashMap::new(),
            services: HashMap::new(),
            decls: HashMap::new(),
            names: HashMap::new(),
        };
        u.resolve(set);
        u
    }

    /// Makes the package-level names of each Go package unique, a deviation from protoc-gen-go
    /// (which declares such names twice, so its output does not compile) that changes nothing
    /// else: every name keeps protogen's spelling unless an earlier declaration of the same Go
    /// package (files in descriptor-set order, messages before enums in flattened order) has it,
    /// and then gets `_` suffixes (`Promise_then` and `Promise.then` are both `PromiseThen`:
    /// the second becomes `PromiseThen_`). Enum value constants come after every type and
    /// every `<Enum>_name`/`<Enum>_value` map (enum `Kind` with a value `name` gets
    /// `Kind_name_`). The well-known types are not generated and keep their names.
    fn resolve(&mut self, set: &[FileDescriptorProto]) {
        let files: Vec<&FileDescriptorProto> =
            set.iter().filter(|f| !f.name().starts_with("google/protobuf/")).collect();
        let order: Vec<(String, Vec<String>, Vec<String>)> = files
            .iter()
            .map(|f| {
                let (m, e) = flat_names(f);
                (self.packages[f.name()].import_path.clone(), m, e)
            })
            .collect();
        for (path, msgs, enums) in &order {
            let taken = self.taken.entry(path.clone()).or_default();
            for full in msgs.iter().chain(enums) {
                let Some(t) = self.types.get_mut(full) else { continue };
                if t.map_entry.is_some() {
                    continue;
                }
                while !taken.insert(t.ident.clone()) {
                    t.ident.push('_');
                }
            }
        }
        for (path, _, enums) in &order {
            let taken = self.taken.entry(path.clone()).or_default();
            for full in enums {
                let ident = &self.types[full].ident;
                taken.insert(format!("{ident}_name"));
                taken.insert(format!("{ident}_value"));
            }
        }
        for (path, _, enums) in &order {
            for full in enums {
                let parent = full.rsplit_once('.').map(|(p, _)| p).unwrap_or_default();
                let prefix = match self.types.get(parent) {
                    Some(p) if !p.is_enum => p.ident.clone(),
                    _ => self.types[full].ident.clone(),
                };
                let taken = self.taken.entry(path.clone()).or_default();
                let mut values = Vec::new();
                for (name, _) in &self.enum_values[full] {
                    let mut v = format!("{prefix}_{name}");
                    while !taken.insert(v.clone()) {
                        v.push('_');
                    }
                    values.push(v);
                }
                let t = self.types.get_mut(full).expect("enum");
                t.first_value = t.first_value.take().map(|(_, n)| (values[0].clone(), n));
                t.value_prefix = prefix;
                t.values = values;
            }
        }
        // Oneof wrapper types and interfaces: protogen checks a wrapper against the message's
        // nested types only; micro-gen also against every name declared so far in the package
        // (`A.B_C` and `A.B.C` are both `A_B_C`).
        for f in &files {
            let path = self.packages[f.name()].import_path.clone();
            for (full, desc) in flat_messages(f) {
                if desc.options.as_ref().is_some_and(|o| o.map_entry()) {
                    continue;
                }
                let ident = self.types[&full].ident.clone();
                let names = message_names(desc);
                let nested: HashSet<String> = desc
                    .nested_type
                    .iter()
                    .map(|n| join(&full, n.name()))
                    .chain(desc.enum_type.iter().map(|e| join(&full, e.name())))
                    .map(|n| self.types[&n].ident.clone())
                    .collect();
                let taken = self.taken.entry(path.clone()).or_default();
                let mut decls = OneofDecls::default();
                let mut oneof_ids: Vec<&i32> = names.oneofs.keys().collect();
                oneof_ids.sort();
                for oi in oneof_ids {
                    let mut iface = format!("is{ident}_{}", names.oneofs[oi]);
                    while !taken.insert(iface.clone()) {
                        iface.push('_');
                    }
                    decls.ifaces.insert(*oi, iface);
                }
                for (i, fd) in desc.field.iter().enumerate() {
                    if fd.oneof_index.is_some_and(|oi| names.real[oi as usize]) {
                        let mut w = format!("{ident}_{}", names.fields[i]);
                        while nested.contains(&w) || !taken.insert(w.clone()) {
                            w.push('_');
                        }
                        decls.wrappers.insert(i, w);
                    }
                }
                self.names.insert(full.clone(), names);
                self.decls.insert(full, decls);
            }
        }
        // Services last: `Foo` and `foo` in one Go package, or a service `Foo` next to a message
        // `FooClient`, get `_` suffixes until none of their declarations is taken.
        for f in &files {
            let taken = self.taken.entry(self.packages[f.name()].import_path.clone()).or_default();
            for s in &f.service {
                let mut go = go_camel_case(s.name());
                while service_decls(&go).iter().any(|d| taken.contains(d)) {
                    go.push('_');
                }
                taken.extend(service_decls(&go));
                self.services.insert(join(f.package(), s.name()), go);
            }
        }
    }

    /// The Go name of a service (`pkg.Service`): `GoCamelCase`, made unique in its Go package.
    pub(super) fn service_ident(&self, full: &str) -> &str {
        &self.services[full]
    }

    /// The Go identifier of a message or enum (`.pkg.Outer.Inner` or `pkg.Outer.Inner`).
    pub(super) fn ident(&self, full: &str) -> &str {
        &self.ty(full).ident
    }

    fn ty(&self, type_name: &str) -> &GoType {
        self.types.get(type_name.trim_start_matches('.')).unwrap_or_else(|| panic!("unknown type {type_name}"))
    }

    fn package_of(&self, file: &str) -> &GoPackage {
        &self.packages[file]
    }
}

fn enum_type(f: &FileDescriptorProto, e: &EnumDescriptorProto, ident: String, pkg: &str) -> GoType {
    // `protoimpl.X.LegacyEnumName`: the package, then GoCamelCase of the relative name.
    let legacy = join(pkg, &ident);
    GoType {
        file: f.name().to_owned(),
        first_value: e.value.first().map(|v| (format!("{ident}_{}", v.name()), v.number())),
        value_prefix: ident.clone(),
        ident,
        is_enum: true,
        map_entry: None,
        legacy_name: legacy,
        values: Vec::new(),
    }
}

/// Import bookkeeping as protogen does it: an alias per import path, the path's base name
/// ([`go_sanitized`]) made unique against the names already taken (every predeclared identifier
/// is taken). Deviation: `init` is taken too (protoc-gen-go would import a directory `init` as
/// `init`, which does not compile); micro-gen imports it as `init1`.
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
            used: PREDECLARED.iter().chain(&["init"]).map(|s| (*s).to_owned()).collect(),
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
    // go/printer trims trailing white space from every `//` comment.
    s.strip_suffix('\n').unwrap_or(s).split('\n').map(|l| format!("//{l}").trim_end().to_owned()).collect()
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

/// A leading comment inside an aligned block as rows: its lines, or, when gofmt removes it
/// (only blank lines), a [`Row::Break`], as the removed comment still ends the column block.
fn doc_rows(text: &str) -> Vec<Row> {
    let lines = doc_lines(text);
    if lines.is_empty() && !comment_lines(text).is_empty() {
        return vec![Row::Break];
    }
    lines.into_iter().map(Row::Text).collect()
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
    go_sanitized(name)
}

/// A file's source locations by path (the first one of each path), borrowed from the file.
struct Comments<'a>(HashMap<&'a [i32], &'a Location>);

impl<'a> Comments<'a> {
    fn new(f: &'a FileDescriptorProto) -> Self {
        let mut map = HashMap::new();
        if let Some(info) = &f.source_code_info {
            map.reserve(info.location.len());
            for loc in &info.location {
                map.entry(loc.path.as_slice()).or_insert(loc);
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

/// The Go names of a message's fields and oneofs.
struct MessageNames {
    /// Per field, in declaration order.
    fields: Vec<String>,
    /// Real oneofs (not proto3 optional) by declaration index.
    oneofs: HashMap<i32, String>,
    /// Per oneof declaration: whether it is real.
    real: Vec<bool>,
}

/// protogen's conflict resolution (newMessage): fields in declaration order, each oneof when its
/// first field is met, `_` until the name, and for a getter-bearing name `Get<Name>`, is not
/// taken. micro-gen's deviations (names::STRUCT_FIELD_RESERVED, names::ONEOF_GETTER_TAKEN) change
/// a name only where protoc-gen-go would declare a struct field named like a method of the
/// message: a field or real oneof named `ProtoReflect`, or `Get<O>` for a real oneof `O`.
fn message_names(desc: &DescriptorProto) -> MessageNames {
    /// What a name declares, which decides the deviations that apply.
    #[derive(PartialEq)]
    enum Decl {
        /// A struct field and its getter.
        Field,
        /// A oneof member: a getter and a field of its wrapper type.
        Member,
        /// A real oneof: a struct field and its getter (protogen assumes no getter).
        Oneof,
        /// A synthetic oneof (proto3 optional): nothing is declared.
        Synthetic,
    }
    let mut used: HashMap<String, bool> = MESSAGE_METHODS.iter().map(|s| ((*s).to_owned(), true)).collect();
    let mut struct_fields: HashSet<String> = HashSet::new();
    let mut oneof_getters: HashSet<String> = HashSet::new();
    let mut unique = |name: String, decl: Decl| {
        let mut n = name;
        // As protogen's map of bools: a `Get<Name>` recorded for a oneof is false, not taken.
        let taken = |k: &str, used: &HashMap<String, bool>| used.get(k).copied().unwrap_or(false);
        let getter = matches!(decl, Decl::Field | Decl::Member);
        let field = matches!(decl, Decl::Field | Decl::Oneof);
        while taken(&n, &used)
            || (getter && taken(&format!("Get{n}"), &used))
            || (field && (STRUCT_FIELD_RESERVED.contains(&n.as_str()) || oneof_getters.contains(&n)))
            || (decl == Decl::Oneof && ONEOF_GETTER_TAKEN && struct_fields.contains(&format!("Get{n}")))
        {
            n.push('_');
        }
        used.insert(n.clone(), true);
        used.insert(format!("Get{n}"), getter);
        if field {
            struct_fields.insert(n.clone());
        }
        if decl == Decl::Oneof && ONEOF_GETTER_TAKEN {
            oneof_getters.insert(format!("Get{n}"));
        }
        n
    };
    // Real oneofs: those with a member that is not proto3 optional.
    let real: Vec<bool> = (0..desc.oneof_decl.len())
        .map(|i| desc.field.iter().any(|f| f.oneof_index == Some(i as i32) && !f.proto3_optional()))
        .collect();
    let mut fields = Vec::new();
    let mut oneofs = HashMap::new();
    let mut seen = HashSet::new();
    for fd in &desc.field {
        let member = fd.oneof_index.is_some_and(|oi| real[oi as usize]);
        fields.push(unique(go_camel_case(fd.name()), if member { Decl::Member } else { Decl::Field }));
        // A synthetic oneof takes its name too (`_var` → `XVar`), as protogen makes every oneof's
        // name unique when it meets its first field, though none is generated.
        if let Some(oi) = fd.oneof_index
            && seen.insert(oi)
        {
            let decl = if real[oi as usize] { Decl::Oneof } else { Decl::Synthetic };
            let go = unique(go_camel_case(desc.oneof_decl[oi as usize].name()), decl);
            if real[oi as usize] {
                oneofs.insert(oi, go);
            }
        }
    }
    MessageNames { fields, oneofs, real }
}

/// The package-level types a message's oneofs declare: wrapper types (`Msg_Field`) by field
/// index, interfaces (`isMsg_Oneof`) by oneof index.
#[derive(Default)]
struct OneofDecls {
    wrappers: HashMap<usize, String>,
    ifaces: HashMap<i32, String>,
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
        // A group field's name is its message's name lower-cased; the tag keeps the message's
        // capitalization (`name=Result,json=result`).
        let name = if fd.r#type() == Type::Group {
            fd.type_name().rsplit('.').next().unwrap_or_default().to_owned()
        } else {
            fd.name().to_owned()
        };
        t.push(format!("name={name}"));
        let json = fd.json_name.clone().unwrap_or_else(|| crate::model::json_name(fd.name()));
        // Extensions carry neither `json=` nor `proto3` (tag.Marshal).
        let ext = fd.extendee.is_some();
        if !json.is_empty() && json != name && !ext {
            t.push(format!("json={json}"));
        }
        if syntax_proto3 && !ext {
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
                // defval.Marshal: strconv.FormatFloat(f, 'g', -1, 32 or 64).
                Type::Float if !matches!(def.as_str(), "inf" | "-inf" | "nan") => {
                    format_float_g(f64::from(parse_float(def) as f32), true)
                }
                Type::Double if !matches!(def.as_str(), "inf" | "-inf" | "nan") => {
                    format_float_g(parse_float(def), false)
                }
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
        // Go names are `GoCamelCase` of the name relative to the package, as protogen's
        // newGoIdent makes them (`a.b` → `AB`, `A.b` → `AB`, `A.B` → `A_B`), never built from
        // the parent's Go name.
        fn walk<'a>(
            m: &'a DescriptorProto,
            full: &str,
            rel: &str,
            index: &[usize],
            path: &[i32],
            enums: &mut Vec<EnumInfo<'a>>,
            msgs: &mut Vec<MsgInfo<'a>>,
        ) {
            let ident = go_camel_case(rel);
            for (i, e) in m.enum_type.iter().enumerate() {
                let mut idx = index.to_vec();
                idx.push(i);
                let mut p = path.to_vec();
                p.extend([4, i as i32]);
                enums.push(EnumInfo {
                    desc: e,
                    full: join(full, e.name()),
                    ident: go_camel_case(&format!("{rel}.{}", e.name())),
                    value_prefix: ident.clone(),
                    index: idx,
                    path: p,
                });
            }
            for (i, n) in m.nested_type.iter().enumerate() {
                let mut idx = index.to_vec();
                idx.push(i);
                let mut p = path.to_vec();
                p.extend([3, i as i32]);
                let nrel = format!("{rel}.{}", n.name());
                msgs.push(MsgInfo {
                    desc: n,
                    full: join(full, n.name()),
                    ident: go_camel_case(&nrel),
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
                walk(n, &join(full, n.name()), &format!("{rel}.{}", n.name()), &idx, &p, enums, msgs);
            }
        }
        for (i, m) in f.message_type.iter().enumerate() {
            walk(m, &join(pkg, m.name()), m.name(), &[i], &[4, i as i32], &mut enums, &mut msgs);
        }
        // The names as the universe made them unique in the Go package.
        for e in &mut enums {
            let t = self.u.ty(&e.full);
            e.ident = t.ident.clone();
            e.value_prefix = t.value_prefix.clone();
        }
        for m in msgs.iter_mut().filter(|m| !m.map_entry) {
            m.ident = self.u.ident(&m.full).to_owned();
        }
        (enums, msgs)
    }

    fn fields(&self, m: &MsgInfo<'a>) -> (Vec<FieldInfo<'a>>, Vec<OneofInfo>) {
        let computed;
        let names = match self.u.names.get(&m.full) {
            Some(names) => names,
            None => {
                computed = message_names(m.desc);
                &computed
            }
        };
        let decls = &self.u.decls[&m.full];
        let mut oneofs: Vec<OneofInfo> = Vec::new();
        let mut oneof_index: HashMap<i32, usize> = HashMap::new();
        let mut fields = Vec::new();
        for (i, fd) in m.desc.field.iter().enumerate() {
            let mut path = m.path.clone();
            path.extend([2, i as i32]);
            let mut oneof = None;
            let mut wrapper = String::new();
            if let Some(oi) = fd.oneof_index.filter(|oi| names.real[*oi as usize]) {
                let idx = *oneof_index.entry(oi).or_insert_with(|| {
                    let mut p = m.path.clone();
                    p.extend([8, oi]);
                    oneofs.push(OneofInfo {
                        name: m.desc.oneof_decl[oi as usize].name().to_owned(),
                        iface: decls.ifaces[&oi].clone(),
                        go_name: names.oneofs[&oi].clone(),
                        path: p,
                        fields: Vec::new(),
                    });
                    oneofs.len() - 1
                });
                oneofs[idx].fields.push(i);
                oneof = Some(idx);
                wrapper = decls.wrappers[&i].clone();
            }
            fields.push(FieldInfo { desc: fd, go_name: names.fields[i].clone(), path, oneof, wrapper });
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
/// `descriptor` is the file's encoded descriptor without source info ([`crate::model::File::descriptor`]).
pub(super) fn pb_go(u: &Universe<'_>, f: &FileDescriptorProto, descriptor: &[u8], generator: &str) -> String {
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
    let exts = extensions(u, f);
    gen_extensions(&mut g, &exts, &fv, &mut body);
    gen_reflect(&mut g, &enums, &msgs, &exts, &fv, descriptor, &mut body);

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
    let value_idents = g.u.ty(&e.full).values.clone();
    for (i, v) in e.desc.value.iter().enumerate() {
        let mut p = e.path.clone();
        p.extend([2, i as i32]);
        let vdep = v.options.as_ref().is_some_and(|o| o.deprecated());
        rows.extend(doc_rows(&with_deprecation(g.comments.leading(&p), f, vdep)));
        let mut cells = vec![value_idents[i].clone(), e.ident.clone(), format!("= {}", v.number())];
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
        rows.extend(doc_rows(&with_deprecation(g.comments.leading(&fi.path), f, fdep)));
        let mut cells = vec![fi.go_name.clone(), ty, format!("`{tags}`")];
        if let Some(t) = trailing(g.comments.trailing(&fi.path)) {
            cells.push(t);
        }
        rows.push(Row::Cells(cells));
    }
    if !m.desc.extension_range.is_empty() {
        rows.push(Row::Cells(vec!["extensionFields".into(), g.q(PROTOIMPL, "ExtensionFields")]));
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
    let proto_message = short_func(&format!("func (*{id}) ProtoMessage()"), None);
    body.push_str(&format!(
        "func (x *{id}) Reset() {{\n\t*x = {id}{{}}\n\tmi := &file_{fv}_msgTypes[{mi}]\n\tms := {pi}.MessageStateOf({ptr}(x))\n\tms.StoreMessageInfo(mi)\n}}\n\n\
         func (x *{id}) String() string {{\n\treturn {pi}.MessageStringOf(x)\n}}\n\n\
         {proto_message}\n\n\
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
            body.push_str(&short_func(&format!("func (*{}) {}()", fields[k].wrapper, o.iface), None));
            body.push_str("\n\n");
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
                let full = fi.desc.type_name().trim_start_matches('.');
                let at = g.u.enum_values[full].iter().position(|(n, _)| *n == def).unwrap_or_default();
                let value_ident = t.values[at].clone();
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
            // `%v` of the float64 value (a float's float32 value, widened).
            Type::Float => {
                let v = f64::from(parse_float(&def) as f32);
                consts.push(Row::Cells(vec![name, format!("= {go_type}({})", format_float_g(v, false))]));
            }
            Type::Double => {
                let v = parse_float(&def);
                consts.push(Row::Cells(vec![name, format!("= {go_type}({})", format_float_g(v, false))]));
            }
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

/// A float default as the descriptor spells it (`1.5`, `1e10`, `-0.25`).
fn parse_float(s: &str) -> f64 {
    s.parse().unwrap_or_default()
}

/// Go's `strconv.FormatFloat(v, 'g', -1, bits)` (and `fmt`'s `%v`): the shortest digits that
/// round-trip (as a float32 when `bits32`), in `%e` form when the decimal exponent is < -4 or
/// >= 6 (strconv's rule for the shortest precision), else in `%f` form.
fn format_float_g(v: f64, bits32: bool) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".to_owned() } else { "0".to_owned() };
    }
    // Rust's `{:e}` prints the shortest round-trip digits: `d.ddde-X`.
    let sci = if bits32 { format!("{:e}", v as f32) } else { format!("{v:e}") };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or_default();
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    // %f with just the digits needed.
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{sign}{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{sign}{int}.{frac}")
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

/// An extension field (`extend` at file level or inside a message), in protoc-gen-go's order:
/// the file's, then each message's in pre-order.
struct ExtInfo<'a> {
    desc: &'a FieldDescriptorProto,
    /// `pkg.name` or `pkg.Msg.name`.
    full: String,
    /// `E_` + this: `Name`, or `<Msg ident>_Name` for one declared in a message.
    ident: String,
    path: Vec<i32>,
}

fn extensions<'a>(u: &Universe<'_>, f: &'a FileDescriptorProto) -> Vec<ExtInfo<'a>> {
    let pkg = f.package();
    let mut out: Vec<ExtInfo<'_>> = f
        .extension
        .iter()
        .enumerate()
        .map(|(i, x)| ExtInfo {
            desc: x,
            full: join(pkg, x.name()),
            ident: go_camel_case(x.name()),
            path: vec![7, i as i32],
        })
        .collect();
    fn walk<'a>(u: &Universe<'_>, m: &'a DescriptorProto, full: &str, path: &[i32], out: &mut Vec<ExtInfo<'a>>) {
        let ident = u.ident(full);
        for (i, x) in m.extension.iter().enumerate() {
            let mut p = path.to_vec();
            p.extend([6, i as i32]);
            out.push(ExtInfo {
                desc: x,
                full: join(full, x.name()),
                ident: format!("{ident}_{}", go_camel_case(x.name())),
                path: p,
            });
        }
        for (i, n) in m.nested_type.iter().enumerate() {
            let mut p = path.to_vec();
            p.extend([3, i as i32]);
            walk(u, n, &join(full, n.name()), &p, out);
        }
    }
    for (i, m) in f.message_type.iter().enumerate() {
        walk(u, m, &join(pkg, m.name()), &[4, i as i32], &mut out);
    }
    out
}

/// `genExtensions`: the `ExtensionInfo` table and the `E_<Name>` variables, grouped by the
/// extended message.
fn gen_extensions(g: &mut Gen<'_, '_>, exts: &[ExtInfo<'_>], fv: &str, body: &mut String) {
    if exts.is_empty() {
        return;
    }
    let f = g.f;
    let ei = g.q(PROTOIMPL, "ExtensionInfo");
    body.push_str(&format!("var file_{fv}_extTypes = []{ei}{{\n"));
    for x in exts {
        let target = g.type_ref(x.desc.extendee());
        let (ty, ptr) = g.field_go_type(x.desc);
        let ty = if ptr { format!("*{ty}") } else { ty };
        let rows = vec![
            Row::Cells(vec!["ExtendedType:".into(), format!("(*{target})(nil),")]),
            Row::Cells(vec!["ExtensionType:".into(), format!("({ty})(nil),")]),
            Row::Cells(vec!["Field:".into(), format!("{},", x.desc.number())]),
            Row::Cells(vec!["Name:".into(), format!("{},", go_quote(x.full.as_bytes()))]),
            Row::Cells(vec!["Tag:".into(), format!("{},", go_quote(g.tag(x.desc, false).as_bytes()))]),
            Row::Cells(vec!["Filename:".into(), format!("{},", go_quote(f.name().as_bytes()))]),
        ];
        body.push_str("\t{\n");
        body.push_str(&align(&rows, "\t\t"));
        body.push_str("\t},\n");
    }
    body.push_str("}\n\n");
    let mut targets: Vec<String> = Vec::new();
    let mut by_target: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, x) in exts.iter().enumerate() {
        let t = x.desc.extendee().trim_start_matches('.').to_owned();
        if !by_target.contains_key(&t) {
            targets.push(t.clone());
        }
        by_target.entry(t).or_default().push(i);
    }
    for t in &targets {
        let target = g.type_ref(t);
        body.push_str(&format!("// Extension fields to {target}.\nvar (\n"));
        let mut rows = Vec::new();
        for &i in &by_target[t] {
            let x = &exts[i];
            let xd = x.desc;
            let type_name = match xd.r#type() {
                Type::Enum | Type::Message | Type::Group => xd.type_name().trim_start_matches('.').to_owned(),
                other => kind_name(other).to_owned(),
            };
            let card = match xd.label() {
                Label::Optional => "optional",
                Label::Required => "required",
                Label::Repeated => "repeated",
            };
            let mut lead = g.comments.leading(&x.path).to_owned();
            if !lead.is_empty() {
                lead.push('\n');
            }
            lead.push_str(&format!(" {card} {type_name} {} = {};\n", xd.name(), xd.number()));
            let dep = xd.options.as_ref().is_some_and(|o| o.deprecated());
            rows.extend(doc_rows(&with_deprecation(&lead, f, dep)));
            let mut cells = vec![format!("E_{}", x.ident), format!("= &file_{fv}_extTypes[{i}]")];
            if let Some(tr) = trailing(g.comments.trailing(&x.path)) {
                cells.push(tr);
            }
            rows.push(Row::Cells(cells));
        }
        body.push_str(&align(&rows, "\t"));
        body.push_str(")\n\n");
    }
}

/// `protoreflect.Kind.String()` of a scalar kind.
fn kind_name(t: Type) -> &'static str {
    match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Group => "group",
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    }
}

fn gen_reflect(
    g: &mut Gen<'_, '_>,
    enums: &[EnumInfo<'_>],
    msgs: &[MsgInfo<'_>],
    exts: &[ExtInfo<'_>],
    fv: &str,
    descriptor: &[u8],
    body: &mut String,
) {
    let f = g.f;
    let fd_ty = g.q(PROTOREFLECT, "FileDescriptor");
    body.push_str(&format!("var File_{fv} {fd_ty}\n\n"));
    // The raw descriptor: the file without source info, fields in number order (as Go's
    // deterministic marshal writes them), split after every 0x0a byte.
    let raw = canonical(descriptor, Kind::File);
    body.push_str(&format!("const file_{fv}_rawDesc = \"\" +\n"));
    let parts: Vec<&[u8]> = raw.split_inclusive(|b| *b == b'\n').collect();
    for (i, p) in parts.iter().enumerate() {
        let sep = if i + 1 < parts.len() { " +" } else { "" };
        body.push_str(&format!("\t{}{sep}\n", go_quote(p)));
    }
    body.push('\n');
    // The GZIP'd descriptor serves the legacy Descriptor methods of enums and messages only.
    if !enums.is_empty() || !msgs.is_empty() {
        let once = g.q("sync", "Once");
        body.push_str(&format!("var (\n\tfile_{fv}_rawDescOnce {once}\n\tfile_{fv}_rawDescData []byte\n)\n\n"));
        let pi = g.q(PROTOIMPL, "X");
        let us = g.q("unsafe", "Slice");
        let sd = g.q("unsafe", "StringData");
        body.push_str(&format!(
            "func file_{fv}_rawDescGZIP() []byte {{\n\tfile_{fv}_rawDescOnce.Do(func() {{\n\t\tfile_{fv}_rawDescData = {pi}.CompressGZIP({us}({sd}(file_{fv}_rawDesc), len(file_{fv}_rawDesc)))\n\t}})\n\treturn file_{fv}_rawDescData\n}}\n\n"
        ));
    }
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
    for x in exts {
        dep(g, x.desc.extendee(), format!("{}:extendee", x.full), &mut go_types, &mut deps);
    }
    let n_extendees = deps.len();
    for x in exts {
        if matches!(x.desc.r#type(), Type::Enum | Type::Message | Type::Group) {
            dep(g, x.desc.type_name(), format!("{}:type_name", x.full), &mut go_types, &mut deps);
        }
    }
    let n_ext_types = deps.len();
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
        (n_ext_types, n_inputs, "method input_type"),
        (n_extendees, n_ext_types, "extension type_name"),
        (n_fields, n_extendees, "extension extendee"),
        (0, n_fields, "field type_name"),
    ];
    for (a, b, what) in subs {
        rows.push(Row::Cells(vec![format!("{a},"), format!("// [{a}:{b}] is the sub-list for {what}")]));
    }
    let sizes: Vec<usize> = rows
        .iter()
        .map(|r| match r {
            Row::Cells(c) => c[0].len() - 1,
            Row::Text(_) | Row::Break => 0,
        })
        .collect();
    body.push_str(&align_list(&rows, &sizes, "\t"));
    body.push_str("}\n\n");

    body.push_str(&format!(
        "{}\nfunc file_{fv}_init() {{\n\tif File_{fv} != nil {{\n\t\treturn\n\t}}\n",
        short_func("func init()", Some(&format!("file_{fv}_init()")))
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
        "\t\t\tGoPackagePath: {x}(x{{}}).PkgPath(),\n\t\t\tRawDescriptor: {us}({sd}(file_{fv}_rawDesc), len(file_{fv}_rawDesc)),\n\t\t\tNumEnums:      {},\n\t\t\tNumMessages:   {},\n\t\t\tNumExtensions: {},\n\t\t\tNumServices:   {},\n\t\t}},\n",
        enums.len(),
        msgs.len(),
        exts.len(),
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
    if !exts.is_empty() {
        rows.push(Row::Cells(vec!["ExtensionInfos:".into(), format!("file_{fv}_extTypes,")]));
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

/// Re-encodes a descriptor message with its fields in field-number order (stable), recursively,
/// as Go's deterministic marshal writes them (prost writes declaration order).
fn canonical(b: &[u8], kind: Kind) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    canonical_into(b, kind, &mut out);
    out
}

/// [`canonical`], appending to `out`. Reordering fields keeps every field's encoding and so every
/// message's length: each field is copied from `b` as it is (its tag and length prefix included),
/// except that a message field's payload is itself written in order.
fn canonical_into(b: &[u8], kind: Kind, out: &mut Vec<u8>) {
    /// A field of `b`: its number, where it starts and ends, and where its payload starts when it
    /// is a message to put in order too.
    struct Range {
        number: u64,
        start: usize,
        child: Option<(usize, Kind)>,
        end: usize,
    }
    let mut fields: Vec<Range> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let key = read_varint(b, &mut i);
        let (number, wt) = (key >> 3, key & 7);
        let child = match wt {
            0 => {
                read_varint(b, &mut i);
                None
            }
            1 => {
                i += 8;
                None
            }
            5 => {
                i += 4;
                None
            }
            2 => {
                let len = read_varint(b, &mut i) as usize;
                let payload = i;
                i += len;
                child(kind, number).map(|k| (payload, k))
            }
            // Descriptors hold no groups: keep anything else, and the rest, as it is.
            _ => {
                i = b.len();
                None
            }
        };
        fields.push(Range { number, start, child, end: i.min(b.len()) });
    }
    fields.sort_by_key(|f| f.number);
    for Range { start, child, end, .. } in fields {
        match child {
            Some((payload, k)) => {
                out.extend_from_slice(&b[start..payload]);
                canonical_into(&b[payload..end], k, out);
            }
            None => out.extend_from_slice(&b[start..end]),
        }
    }
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
        let full = join(f.package(), s.name());
        let svc = u.service_ident(&full).to_owned();
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
        let go_names = method_names(s.method.iter().map(|m| m.name()));
        for (mi, m) in s.method.iter().enumerate() {
            ms.push(M {
                name: go_names[mi].clone(),
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
        // gofmt aligns the bodies of these two adjacent one-line funcs (when both are one-liners).
        let must = format!("func (Unimplemented{server}) mustEmbedUnimplemented{server}()");
        let test = format!("func (Unimplemented{server}) testEmbeddedByValue()");
        let (must_fn, test_fn) = (short_func(&must, None), short_func(&test, None));
        if must_fn.contains('\n') {
            b.push_str(&format!("{must_fn}\n{test_fn}\n\n"));
        } else {
            let pad = " ".repeat(must.len().saturating_sub(test.len()));
            b.push_str(&format!("{must} {{}}\n{test}{pad} {{}}\n\n"));
        }
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

#[cfg(test)]
mod tests {
    use super::format_float_g;

    #[test]
    fn floats_format_like_go_g() {
        let cases = [
            (1.5, false, "1.5"),
            (-2.25, false, "-2.25"),
            (100.0, false, "100"),
            (123456.0, false, "123456"),
            (1234567.0, false, "1.234567e+06"),
            (1e10, false, "1e+10"),
            (0.0001, false, "0.0001"),
            (0.00001, false, "1e-05"),
            (2.2250738585072014e-308, false, "2.2250738585072014e-308"),
            (1.7976931348623157e308, false, "1.7976931348623157e+308"),
            (f64::from(1.175_494_4e-38_f32), false, "1.1754943508222875e-38"),
            (f64::from(1.175_494_4e-38_f32), true, "1.1754944e-38"),
            (f64::from(0.1_f32), true, "0.1"),
            (f64::from(0.1_f32), false, "0.10000000149011612"),
            (0.0, false, "0"),
        ];
        for (v, bits32, want) in cases {
            assert_eq!(format_float_g(v, bits32), want, "{v}");
        }
    }
}
