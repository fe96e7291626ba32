//! Names that prost-build and tonic-build would turn into the same Rust item, made distinct.
//!
//! prost-build converts proto names (`FooBar`, `foo_bar` and `FOO_BAR` are all the struct
//! `FooBar`; `Vec_` is `Vec`; fields `foo_bar` and `FOO_BAR` are both `foo_bar`; `COLOR_RED` and
//! `RED` in `enum Color` are both `Color::Red`) and emits accessor methods (`set_color()` for an
//! enum field `color`), and tonic-build names services and rpcs the same way, in modules that
//! import `tonic::codegen::*`. Proto allows all of those together, and prost-build either writes
//! Rust that does not compile or (for enum variants) panics.
//!
//! The rule, applied per Rust scope (a package's module, a message's module, a message's fields
//! and methods, an enum's variants, a oneof's variants, a service's methods) in declaration order
//! (files in the order protox lists them, messages before enums): the first element keeps its
//! name, and an element whose Rust name is already taken gets the smallest number from 2 on
//! appended to its proto name (`foo_bar` → `FooBar2`, `RED` → `RED_2` → `Color::Red2`, rpc `New`
//! → `new2`). Names the generated code itself uses in that scope count as taken (see
//! [`super::names::TONIC_SERVER_NAMES`] and [`super::names::TONIC_CLIENT_METHODS`]).
//!
//! Messages, enums, fields, oneofs and enum values are renamed in a copy of the descriptor set
//! handed to prost-build (with every reference updated); services and rpcs are renamed in what
//! prost hands to tonic's service generator, whose gRPC paths use the proto names. Nothing on the
//! wire changes: field numbers, gRPC paths, the crate's `FILE_DESCRIPTOR_SET` (the original) and
//! enum values' `as_str_name()`/`from_str_name()` (restored by [`Renamed::restore`]) all keep the
//! proto names.

use std::collections::{BTreeSet, HashMap, HashSet};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto};

use super::names;

/// One element whose Rust name differs from what prost-build would have given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rename {
    /// What was renamed: `message`, `enum`, `field`, `oneof`, `enum value`, `service`, `rpc`.
    pub(crate) kind: &'static str,
    /// The element's fully-qualified proto name.
    pub(crate) proto: String,
    /// Its Rust name.
    pub(crate) rust: String,
}

/// The descriptor set prost-build is run on, and what was renamed in it.
#[derive(Debug, Default)]
pub(crate) struct Renamed {
    /// The files, with colliding elements renamed.
    pub(crate) files: Vec<FileDescriptorProto>,
    /// Every rename, in declaration order.
    pub(crate) renames: Vec<Rename>,
    /// Renamed enum values: (name given to prost, proto name).
    enum_values: Vec<(String, String)>,
    /// Per package module (see [`module_key`]), the module names taken in it (sub-packages and
    /// messages with nested items), which service modules must avoid.
    pub(crate) modules: HashMap<Vec<String>, BTreeSet<String>>,
}

impl Renamed {
    /// Restores the proto names of renamed enum values in prost-build's output: the string
    /// literals of `as_str_name` (`Self::Red2 => "RED_2",`) and `from_str_name`
    /// (`"RED_2" => Some(Self::Red2),`). The names given to prost are unique among all enum value
    /// names of the set, so these literals stand for nothing else. One pass over the code.
    pub(crate) fn restore(&self, code: String) -> String {
        if self.enum_values.is_empty() {
            return code;
        }
        let given: HashMap<&str, &str> = self.enum_values.iter().map(|(g, p)| (g.as_str(), p.as_str())).collect();
        let is_ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let mut out = String::with_capacity(code.len());
        let mut rest = code.as_str();
        // Each literal: `"` + identifier + `"`, preceded by `=> ` or followed by ` =>`.
        while let Some(at) = rest.find('"') {
            let after = &rest[at + 1..];
            let end = after.find('"').unwrap_or(after.len());
            let literal = &after[..end];
            let arm = rest[..at].ends_with("=> ") || after[end..].starts_with("\" =>");
            out.push_str(&rest[..=at]);
            match given.get(literal) {
                Some(proto) if arm && is_ident(literal) && end < after.len() => {
                    out.push_str(proto);
                    out.push('"');
                    rest = &after[end + 1..];
                }
                // Not a renamed value: go on after the opening quote only, so that a closing
                // quote is never taken for an opening one.
                _ if is_ident(literal) && end < after.len() => {
                    out.push_str(literal);
                    out.push('"');
                    rest = &after[end + 1..];
                }
                _ => rest = after,
            }
        }
        out.push_str(rest);
        out
    }
}

/// The packages whose types prost-build does not generate (mapped to `prost_types`).
const EXTERN_PACKAGES: &[&str] = &["google.protobuf"];

/// Renames what collides in `files` (see the module docs).
pub(crate) fn resolve(files: &[FileDescriptorProto]) -> Renamed {
    let mut files = files.to_vec();
    let mut all_values = HashSet::new();
    for file in &files {
        for e in &file.enum_type {
            all_values.extend(e.value.iter().map(|v| v.name().to_owned()));
        }
        for m in &file.message_type {
            collect_values(m, &mut all_values);
        }
    }
    // Packages that differ only in case (`Foo.v1`, `foo.v1`) share one Rust module: one scope.
    let mut keys: Vec<Vec<String>> = Vec::new();
    for file in &files {
        let key = module_key(file.package());
        if !keys.contains(&key) && !EXTERN_PACKAGES.contains(&file.package()) {
            keys.push(key);
        }
    }
    let mut cx = Cx { all_values, ..Cx::default() };
    let mut modules = HashMap::new();
    for key in &keys {
        let mut scope = Scope::default();
        // Sub-packages are modules of this package's module.
        for other in &keys {
            if other.len() > key.len() && other.starts_with(key) {
                scope.modules.insert(other[key.len()].clone());
            }
        }
        let in_scope = |f: &FileDescriptorProto| &module_key(f.package()) == key;
        for file in files.iter().filter(|f| in_scope(f)) {
            scope.protos.extend(file.message_type.iter().map(|m| m.name().to_owned()));
            scope.protos.extend(file.enum_type.iter().map(|e| e.name().to_owned()));
            scope.protos.extend(file.enum_type.iter().flat_map(|e| e.value.iter().map(|v| v.name().to_owned())));
            scope.protos.extend(file.service.iter().map(|s| s.name().to_owned()));
            scope.protos.extend(file.extension.iter().map(|x| x.name().to_owned()));
        }
        for file in files.iter_mut().filter(|f| in_scope(f)) {
            cx.proto3 = file.syntax() == "proto3";
            let prefix = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
            for message in &mut file.message_type {
                cx.message(message, &prefix, &prefix, &mut scope);
            }
            for e in &mut file.enum_type {
                cx.enumeration(e, &prefix, &prefix, &mut scope);
            }
        }
        modules.insert(key.clone(), scope.modules);
    }
    for file in &mut files {
        for message in &mut file.message_type {
            cx.rewrite_message(message);
        }
        for field in &mut file.extension {
            cx.rewrite_field(field);
        }
        for service in &mut file.service {
            for method in &mut service.method {
                for ty in [&mut method.input_type, &mut method.output_type].into_iter().flatten() {
                    if let Some(new) = cx.types.get(ty.as_str()) {
                        *ty = new.clone();
                    }
                }
            }
        }
    }
    Renamed { files, renames: cx.renames, enum_values: cx.enum_values, modules }
}

/// The Rust module of a package, as prost-build names it (`acme.Shop.v1` → `acme::shop::v1`).
pub(crate) fn module_key(package: &str) -> Vec<String> {
    package.split('.').filter(|s| !s.is_empty()).map(names::to_snake).collect()
}

fn collect_values(message: &DescriptorProto, out: &mut HashSet<String>) {
    for e in &message.enum_type {
        out.extend(e.value.iter().map(|v| v.name().to_owned()));
    }
    for nested in &message.nested_type {
        collect_values(nested, out);
    }
}

/// The Rust names taken in one module, and the proto names of the proto scope it mirrors (a new
/// proto name must not clash with them either).
#[derive(Debug, Default)]
struct Scope {
    types: BTreeSet<String>,
    modules: BTreeSet<String>,
    protos: HashSet<String>,
}

impl Scope {
    /// Whether `name` is a type or a module of the scope (one namespace in Rust).
    fn taken(&self, name: &str) -> bool {
        self.types.contains(name) || self.modules.contains(name)
    }
}

#[derive(Debug, Default)]
struct Cx {
    renames: Vec<Rename>,
    enum_values: Vec<(String, String)>,
    /// Every enum value name of the set.
    all_values: HashSet<String>,
    /// Old → new fully-qualified type names (with the leading dot), for renamed types and the
    /// types nested in them.
    types: HashMap<String, String>,
    /// (old enum type name, old value name) → new value name, for fields' defaults.
    values: HashMap<(String, String), String>,
    /// Whether the file being named is proto3 (whose singular fields without `optional` have no
    /// presence, hence no accessor).
    proto3: bool,
}

/// Whether prost-build emits a module for `message` (for its nested messages, enums or oneofs).
fn has_module(message: &DescriptorProto) -> bool {
    !message.enum_type.is_empty()
        || message.nested_type.iter().any(|n| !is_map_entry(n))
        || real_oneofs(message).next().is_some()
}

fn is_map_entry(message: &DescriptorProto) -> bool {
    message.options.as_ref().and_then(|o| o.map_entry).unwrap_or(false)
}

/// The indexes of the oneofs prost-build generates (not the synthetic ones of proto3 optional).
fn real_oneofs(message: &DescriptorProto) -> impl Iterator<Item = usize> + '_ {
    (0..message.oneof_decl.len()).filter(move |&i| {
        message.field.iter().any(|f| f.oneof_index == Some(i as i32) && !f.proto3_optional.unwrap_or(false))
    })
}

/// The first of `name`, `name2`, `name3`, ... (`name_2`, ... when `separator`) that `free` accepts
/// and that is not a proto name of the scope. A name made of underscores only converts to an empty
/// Rust name, so it never is free (`_` becomes `_2`).
fn first_free(name: &str, separator: bool, protos: &HashSet<String>, free: impl Fn(&str) -> bool) -> String {
    // A name made of underscores only (`_`) converts to nothing, so it counts as taken.
    let free = |c: &str| c.chars().any(|ch| ch != '_') && free(c);
    if free(name) {
        return name.to_owned();
    }
    numbered_free(name, separator, protos, free)
}

/// The first of `base2`, `base3`, ... (`base_2`, ... when `separator`) that `free` accepts and that
/// is not a proto name of the scope.
fn numbered_free(base: &str, separator: bool, protos: &HashSet<String>, free: impl Fn(&str) -> bool) -> String {
    (2..)
        .map(|n| if separator { format!("{base}_{n}") } else { format!("{base}{n}") })
        .find(|c| !protos.contains(c) && free(c))
        .unwrap_or_default()
}

impl Cx {
    fn renamed(&mut self, kind: &'static str, proto: String, rust: String) {
        self.renames.push(Rename { kind, proto, rust });
    }

    /// Names `message` (declared in `old_parent`, now `new_parent`) in `scope`, then its nested
    /// items, fields and oneofs.
    fn message(&mut self, message: &mut DescriptorProto, old_parent: &str, new_parent: &str, scope: &mut Scope) {
        let old_full = format!("{old_parent}.{}", message.name());
        let module = has_module(message);
        // Types and modules share Rust's type namespace; they differ by case only, so a message
        // with a module needs a letter in its name (`_2` would be both).
        let free = |c: &str| {
            let (ty, md) = (names::to_upper_camel(c), names::to_snake(c));
            !scope.taken(&ty) && !(module && (scope.taken(&md) || ty == md))
        };
        let name = if message.name().chars().any(|c| c.is_ascii_alphabetic()) {
            first_free(message.name(), false, &scope.protos, free)
        } else if !scope.protos.contains("Message") && free("Message") {
            "Message".to_owned() // `_`
        } else {
            numbered_free("Message", false, &scope.protos, free)
        };
        if name != message.name() {
            self.renamed("message", old_full.trim_start_matches('.').to_owned(), names::to_upper_camel(&name));
            scope.protos.insert(name.clone());
            message.name = Some(name.clone());
        }
        scope.types.insert(names::to_upper_camel(&name));
        if module {
            scope.modules.insert(names::to_snake(&name));
        }
        let new_full = format!("{new_parent}.{name}");
        if new_full != old_full {
            self.types.insert(old_full.clone(), new_full.clone());
        }

        let mut inner = Scope::default();
        inner.protos.extend(message.field.iter().map(|f| f.name().to_owned()));
        inner.protos.extend(message.nested_type.iter().map(|m| m.name().to_owned()));
        inner.protos.extend(message.enum_type.iter().map(|e| e.name().to_owned()));
        inner.protos.extend(message.enum_type.iter().flat_map(|e| e.value.iter().map(|v| v.name().to_owned())));
        inner.protos.extend(message.oneof_decl.iter().map(|o| o.name().to_owned()));
        inner.protos.extend(message.extension.iter().map(|x| x.name().to_owned()));
        for nested in &mut message.nested_type {
            if is_map_entry(nested) {
                let old = format!("{old_full}.{}", nested.name());
                let new = format!("{new_full}.{}", nested.name());
                if old != new {
                    self.types.insert(old, new);
                }
            } else {
                self.message(nested, &old_full, &new_full, &mut inner);
            }
        }
        for e in &mut message.enum_type {
            self.enumeration(e, &old_full, &new_full, &mut inner);
        }
        self.fields(message, &old_full, &mut inner);
    }

    /// Names the fields (struct fields and accessor methods) and oneofs (struct fields, enums in
    /// the message's module, and their variants) of `message`, whose proto name (as its fields'
    /// type names still refer to it) is `full`.
    fn fields(&mut self, message: &mut DescriptorProto, full: &str, inner: &mut Scope) {
        let full = full.trim_start_matches('.');
        let map_enum_values: HashSet<String> = message
            .nested_type
            .iter()
            .filter(|n| is_map_entry(n) && n.field.get(1).is_some_and(|v| v.r#type() == Type::Enum))
            .map(|n| format!(".{full}.{}", n.name()))
            .collect();
        let proto3_optional_oneofs: HashSet<i32> =
            message.field.iter().filter(|f| f.proto3_optional.unwrap_or(false)).filter_map(|f| f.oneof_index).collect();
        let mut fields = BTreeSet::new();
        let mut methods = BTreeSet::new();
        for field in &mut message.field {
            let oneof_member = field.oneof_index.is_some_and(|i| !proto3_optional_oneofs.contains(&i));
            if oneof_member {
                continue;
            }
            let map_enum = field.type_name.as_ref().is_some_and(|t| map_enum_values.contains(t.as_str()));
            let kind = accessor_kind(field, map_enum, self.proto3);
            let name = first_free(field.name(), false, &inner.protos, |c| {
                let rust = names::to_snake(c);
                // prost-derive's `get_r#type()` for a map of enums would not be an identifier.
                let raw_map = map_enum && rust.starts_with("r#");
                !fields.contains(&rust) && !raw_map && accessors(&rust, kind).iter().all(|m| !methods.contains(m))
            });
            if name != field.name() {
                self.renamed("field", format!("{full}.{}", field.name()), names::to_snake(&name));
                inner.protos.insert(name.clone());
                field.name = Some(name.clone());
            }
            let rust = names::to_snake(&name);
            methods.extend(accessors(&rust, kind));
            fields.insert(rust);
        }
        for index in real_oneofs(message).collect::<Vec<_>>() {
            let nested: Vec<String> = message
                .nested_type
                .iter()
                .map(|n| n.name())
                .chain(message.enum_type.iter().map(|e| e.name()))
                .map(names::to_upper_camel)
                .collect();
            let type_name = |name: &str| {
                let ty = names::to_upper_camel(name);
                if nested.contains(&ty) { format!("{ty}OneOf") } else { ty }
            };
            let decl = &mut message.oneof_decl[index];
            let name = first_free(decl.name(), false, &inner.protos, |c| {
                !fields.contains(&names::to_snake(c)) && !inner.taken(&type_name(c))
            });
            if name != decl.name() {
                self.renamed("oneof", format!("{full}.{}", decl.name()), names::to_snake(&name));
                inner.protos.insert(name.clone());
                decl.name = Some(name.clone());
            }
            fields.insert(names::to_snake(&name));
            inner.types.insert(type_name(&name));
            let mut variants = BTreeSet::new();
            for field in message.field.iter_mut().filter(|f| f.oneof_index == Some(index as i32)) {
                let name =
                    first_free(field.name(), false, &inner.protos, |c| !variants.contains(&names::to_upper_camel(c)));
                if name != field.name() {
                    self.renamed("field", format!("{full}.{}", field.name()), names::to_upper_camel(&name));
                    inner.protos.insert(name.clone());
                    field.name = Some(name.clone());
                }
                variants.insert(names::to_upper_camel(&name));
            }
        }
    }

    /// Names enum `e` in `scope`, then its variants.
    fn enumeration(&mut self, e: &mut EnumDescriptorProto, old_parent: &str, new_parent: &str, scope: &mut Scope) {
        let old_full = format!("{old_parent}.{}", e.name());
        let name = first_free(e.name(), false, &scope.protos, |c| !scope.taken(&names::to_upper_camel(c)));
        if name != e.name() {
            self.renamed("enum", old_full.trim_start_matches('.').to_owned(), names::to_upper_camel(&name));
            scope.protos.insert(name.clone());
            e.name = Some(name.clone());
        }
        scope.types.insert(names::to_upper_camel(&name));
        let new_full = format!("{new_parent}.{name}");
        if new_full != old_full {
            self.types.insert(old_full.clone(), new_full.clone());
        }
        let prefix = names::to_upper_camel(&name);
        let mut numbers: HashMap<i32, String> = HashMap::new();
        let mut variants = BTreeSet::new();
        for value in &mut e.value {
            if let Some(first) = numbers.get(&value.number()) {
                // An alias: prost-build skips it, so a field default naming it names the value
                // it aliases (the same number) instead.
                self.values.insert((old_full.clone(), value.name().to_owned()), first.clone());
                continue;
            }
            let variant = |c: &str| names::strip_enum_prefix(&prefix, &names::to_upper_camel(c));
            let all_values = &self.all_values;
            let given = first_free(value.name(), true, &scope.protos, |c| {
                !variants.contains(&variant(c)) && (c == value.name() || !all_values.contains(c))
            });
            if given != value.name() {
                let parent = new_parent.trim_start_matches('.');
                let proto =
                    if parent.is_empty() { value.name().to_owned() } else { format!("{parent}.{}", value.name()) };
                self.renamed("enum value", proto, format!("{}::{}", names::to_upper_camel(&name), variant(&given)));
                self.enum_values.push((given.clone(), value.name().to_owned()));
                self.values.insert((old_full.clone(), value.name().to_owned()), given.clone());
                scope.protos.insert(given.clone());
                value.name = Some(given.clone());
            }
            variants.insert(variant(&given));
            numbers.insert(value.number(), given);
        }
    }

    /// Points the type names and enum defaults of `message`'s fields (nested ones too) at the
    /// renamed types and values.
    fn rewrite_message(&self, message: &mut DescriptorProto) {
        for field in message.field.iter_mut().chain(message.extension.iter_mut()) {
            self.rewrite_field(field);
        }
        for nested in &mut message.nested_type {
            self.rewrite_message(nested);
        }
    }

    fn rewrite_field(&self, field: &mut FieldDescriptorProto) {
        if let (Some(ty), Some(default)) = (&field.type_name, &field.default_value)
            && let Some(new) = self.values.get(&(ty.clone(), default.clone()))
        {
            field.default_value = Some(new.clone());
        }
        for name in [&mut field.type_name, &mut field.extendee].into_iter().flatten() {
            if let Some(new) = self.types.get(name.as_str()) {
                *name = new.clone();
            }
        }
    }
}

/// Which accessor methods prost-derive gives a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accessors {
    None,
    /// `name()` (optional scalars).
    Get,
    /// `name()` and `set_name()` (enums).
    GetSet,
    /// `name()` and `push_name()` (repeated enums).
    GetPush,
    /// `get_name()` and `insert_name()` (maps with enum values).
    Map,
}

fn accessor_kind(field: &FieldDescriptorProto, map_enum: bool, proto3: bool) -> Accessors {
    let repeated = field.label() == Label::Repeated;
    let optional = field.proto3_optional.unwrap_or(false) || (!proto3 && field.label() == Label::Optional);
    match field.r#type() {
        _ if map_enum => Accessors::Map,
        Type::Enum if repeated => Accessors::GetPush,
        Type::Enum => Accessors::GetSet,
        Type::Message | Type::Group => Accessors::None,
        _ if repeated => Accessors::None,
        _ if optional => Accessors::Get,
        _ => Accessors::None,
    }
}

/// The method names prost-derive gives a field named `rust` (possibly raw).
fn accessors(rust: &str, kind: Accessors) -> Vec<String> {
    let bare = names::unraw(rust);
    match kind {
        Accessors::None => Vec::new(),
        Accessors::Get => vec![bare.to_owned()],
        Accessors::GetSet => vec![bare.to_owned(), format!("set_{bare}")],
        Accessors::GetPush => vec![bare.to_owned(), format!("push_{bare}")],
        Accessors::Map => vec![format!("get_{rust}"), format!("insert_{rust}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{ProtoSource, load};
    use crate::model::{Model, memory_model};

    fn resolve_memory(files: &[(&str, &str)]) -> (Renamed, Model) {
        let model = memory_model(files);
        (resolve(&model.descriptor_set.file), model)
    }

    fn file<'a>(renamed: &'a Renamed, name: &str) -> &'a FileDescriptorProto {
        renamed.files.iter().find(|f| f.name() == name).unwrap()
    }

    fn rust_names(renamed: &Renamed) -> Vec<(&str, &str, &str)> {
        renamed.renames.iter().map(|r| (r.kind, r.proto.as_str(), r.rust.as_str())).collect()
    }

    #[test]
    fn nothing_changes_without_collisions() {
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let renamed = resolve(&model.descriptor_set.file);
        assert!(renamed.renames.is_empty(), "{:?}", renamed.renames);
        assert_eq!(renamed.files, model.descriptor_set.file);
    }

    #[test]
    fn colliding_types_are_numbered_and_references_follow() {
        let (renamed, _) = resolve_memory(&[
            (
                "a/a.proto",
                "syntax = \"proto3\";\npackage a;\nmessage FooBar { int32 x = 1; }\n\
                 message foo_bar { message In { int32 y = 1; } In in = 1; }\n\
                 message FOO_BAR {}\nmessage Vec_ {}\nmessage Vec {}\n\
                 enum foo_bar_kind { FOO_BAR_KIND_A = 0; }\nmessage FooBarKind {}\n\
                 message Use { foo_bar a = 1; foo_bar.In b = 2; FOO_BAR c = 3; foo_bar_kind d = 4; }\n\
                 service S { rpc Get(foo_bar) returns (FOO_BAR); }\n",
            ),
            ("a/b/b.proto", "syntax = \"proto3\";\npackage a.b;\nmessage X {}\n"),
            (
                "a/c.proto",
                "syntax = \"proto3\";\npackage a;\nmessage B { message N {} N n = 1; }\nmessage C { B b = 1; }\n",
            ),
        ]);
        assert_eq!(
            rust_names(&renamed),
            [
                ("message", "a.foo_bar", "FooBar2"),
                ("message", "a.FOO_BAR", "FooBar3"),
                ("message", "a.Vec", "Vec2"),
                ("enum", "a.foo_bar_kind", "FooBarKind2"),
                // The module `b` of message `B` would be the sub-package `a.b`.
                ("message", "a.B", "B2"),
            ]
        );
        let a = file(&renamed, "a/a.proto");
        let names: Vec<&str> = a.message_type.iter().map(|m| m.name()).collect();
        assert_eq!(names, ["FooBar", "foo_bar2", "FOO_BAR3", "Vec_", "Vec2", "FooBarKind", "Use"]);
        let types: Vec<&str> = a.message_type[6].field.iter().map(|f| f.type_name()).collect();
        assert_eq!(types, [".a.foo_bar2", ".a.foo_bar2.In", ".a.FOO_BAR3", ".a.foo_bar_kind2"]);
        assert_eq!(a.message_type[1].field[0].type_name(), ".a.foo_bar2.In");
        let method = &a.service[0].method[0];
        assert_eq!((method.input_type(), method.output_type()), (".a.foo_bar2", ".a.FOO_BAR3"));
        assert_eq!(file(&renamed, "a/c.proto").message_type[1].field[0].type_name(), ".a.B2");
        let a = &renamed.modules[&vec!["a".to_owned()]];
        assert!(a.contains("b") && a.contains("b2"));
    }

    #[test]
    fn packages_differing_in_case_share_a_module() {
        let (renamed, _) = resolve_memory(&[
            ("a.proto", "syntax = \"proto3\";\npackage x.V1;\nmessage M {}\n"),
            (
                "b.proto",
                "syntax = \"proto3\";\npackage x.v1;\nimport \"a.proto\";\nmessage M {}\nmessage N { x.V1.M a = 1; M b = 2; }\n",
            ),
        ]);
        assert_eq!(rust_names(&renamed), [("message", "x.v1.M", "M2")]);
        let n = &file(&renamed, "b.proto").message_type[1];
        assert_eq!((n.field[0].type_name(), n.field[1].type_name()), (".x.V1.M", ".x.v1.M2"));
    }

    #[test]
    fn names_without_letters() {
        let (renamed, _) = resolve_memory(&[(
            "u.proto",
            "syntax = \"proto2\";\npackage u;\nmessage _ { message X {} optional string _ = 1; }\n\
             message __ { message Y {} }\nenum ___ { A = 0; }\n",
        )]);
        assert_eq!(
            rust_names(&renamed),
            [
                ("message", "u._", "Message"),
                ("field", "u._._", "_2"),
                ("message", "u.__", "Message2"),
                ("enum", "u.___", "_2"),
            ]
        );
    }

    #[test]
    fn fields_oneofs_and_accessors() {
        let (renamed, _) = resolve_memory(&[(
            "p.proto",
            "syntax = \"proto2\";\npackage p;\nenum E { E_A = 0; }\n\
             message M {\n  optional string foo_bar = 1;\n  optional string FOO_BAR = 2;\n\
               optional E color = 3;\n  optional E set_color = 4;\n  repeated E kind = 5;\n\
               optional int32 push_kind = 6;\n  map<string, E> type = 7;\n  optional string _ = 8;\n\
               oneof choice_a { string a = 9; string A = 10; }\n  oneof choiceA { string b = 11; }\n\
               message Choice {}\n  oneof choice { string c = 12; }\n}\n",
        )]);
        assert_eq!(
            rust_names(&renamed),
            [
                ("field", "p.M.FOO_BAR", "foo_bar2"),
                ("field", "p.M.set_color", "set_color2"),
                ("field", "p.M.push_kind", "push_kind2"),
                // prost-derive's `get_r#type()` would not be an identifier.
                ("field", "p.M.type", "type2"),
                ("field", "p.M._", "_2"),
                ("field", "p.M.A", "A2"),
                ("oneof", "p.M.choiceA", "choice_a2"),
            ]
        );
        let m = &file(&renamed, "p.proto").message_type[0];
        let fields: Vec<(&str, i32)> = m.field.iter().map(|f| (f.name(), f.number())).collect();
        assert_eq!(fields[1], ("FOO_BAR2", 2));
        assert_eq!(fields[6], ("type2", 7));
        // A oneof named like a nested type is prost-build's own case (`ChoiceOneOf`): kept.
        assert_eq!(m.oneof_decl.iter().map(|o| o.name()).collect::<Vec<_>>(), ["choice_a", "choiceA2", "choice"]);
    }

    #[test]
    fn enum_values_keep_their_proto_names_in_strings() {
        let (renamed, _) = resolve_memory(&[(
            "e.proto",
            "syntax = \"proto2\";\npackage e;\nenum Color { option allow_alias = true; COLOR_RED = 0; RED = 1; ALIAS = 1; Red = 2; }\n\
             message M { optional Color c = 1 [default = RED]; optional Color d = 2 [default = ALIAS]; }\n",
        )]);
        assert_eq!(
            rust_names(&renamed),
            [("enum value", "e.RED", "Color::Red2"), ("enum value", "e.Red", "Color::Red3")]
        );
        let f = file(&renamed, "e.proto");
        let values: Vec<&str> = f.enum_type[0].value.iter().map(|v| v.name()).collect();
        assert_eq!(values, ["COLOR_RED", "RED_2", "ALIAS", "Red_3"]);
        assert_eq!(f.message_type[0].field[0].default_value(), "RED_2");
        assert_eq!(f.message_type[0].field[1].default_value(), "RED_2");
        let code = "Self::Red2 => \"RED_2\",\n\"RED_2\" => Some(Self::Red2),\nlet s = \"RED_2\";\n\
                    #[prost(string, default = \"a \\\" => \\\"RED_2\\\" b\")]\nx => \"Red_3\", \"x\" => 1";
        let want = "Self::Red2 => \"RED\",\n\"RED\" => Some(Self::Red2),\nlet s = \"RED_2\";\n\
                    #[prost(string, default = \"a \\\" => \\\"RED_2\\\" b\")]\nx => \"Red\", \"x\" => 1";
        assert_eq!(renamed.restore(code.to_owned()), want);
    }
}
