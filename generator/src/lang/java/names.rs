//! Java naming: protoc's case conventions (`UnderscoresToCamelCase`), reserved words escaped with a
//! trailing underscore (protoc's convention), and names that would clash with what generated
//! classes declare or use.

/// Java's reserved keywords and literals (JLS 3.9), plus the contextual words that cannot name a
/// type (`var`, `yield`, `record`, `sealed`, `permits`) — escaped in every position.
pub const KEYWORDS: &[&str] = &[
    "abstract",
    "assert",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extends",
    "final",
    "finally",
    "float",
    "for",
    "goto",
    "if",
    "implements",
    "import",
    "instanceof",
    "int",
    "interface",
    "long",
    "native",
    "new",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "short",
    "static",
    "strictfp",
    "super",
    "switch",
    "synchronized",
    "this",
    "throw",
    "throws",
    "transient",
    "try",
    "void",
    "volatile",
    "while",
    "true",
    "false",
    "null",
    "_",
    "var",
    "yield",
    "record",
    "sealed",
    "permits",
    "non-sealed",
];

/// Simple names a message, enum or enum constant must not take: the first segments of the
/// packages generated code names fully qualified (`java.lang.String`, `com.google.protobuf...`,
/// `dev.micro.sdk...`; a type or constant of that name would obscure the package), and `Builder`,
/// the nested class every message declares. java.lang classes (`String`, `Object`, ...) stay as
/// protoc keeps them: generated code names java.lang fully qualified.
pub const RESERVED_TYPES: &[&str] = &["java", "javax", "com", "dev", "Builder"];

/// Property stems whose `get<Stem>()` would clash with a method every generated message declares
/// or inherits: protoc's list (`kForbiddenWordList`: `getClass`, `getSerializedSize`,
/// `getUnknownFields`, ...) plus the static `getDescriptor()` and `getDefaultInstance()` the SDK's
/// classes declare.
pub const RESERVED_PROPERTIES: &[&str] = &[
    "Class",
    "DefaultInstanceForType",
    "ParserForType",
    "SerializedSize",
    "AllFields",
    "DescriptorForType",
    "InitializationErrorString",
    "UnknownFields",
    "CachedSize",
    "Descriptor",
    "DefaultInstance",
];

/// Members of the generated client classes and of `Micro`, which an rpc method or service
/// accessor must not take (the methods of `java.lang.Object` among them).
pub const RESERVED_CLIENT_MEMBERS: &[&str] = &[
    "close",
    "channel",
    "transport",
    "options",
    "getClass",
    "hashCode",
    "equals",
    "toString",
    "wait",
    "notify",
    "notifyAll",
    "clone",
    "finalize",
];

/// Escapes a reserved word with a trailing underscore.
pub fn escape(name: &str) -> String {
    if KEYWORDS.contains(&name) { format!("{name}_") } else { name.to_owned() }
}

/// protoc's `UnderscoresToCamelCase`: `_` and other non-alphanumerics drop and upper-case the
/// next letter, a digit upper-cases the letter after it, other letters keep their case
/// (`serialVersionUID` → `SerialVersionUID`, `foo2bar` → `Foo2Bar`); the first letter is
/// upper-cased with `cap_first`, lower-cased without.
pub fn camel_case(name: &str, cap_first: bool) -> String {
    let mut out = String::with_capacity(name.len());
    let mut cap_next = cap_first;
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_lowercase() {
            out.push(if cap_next { c.to_ascii_uppercase() } else { c });
            cap_next = false;
        } else if c.is_ascii_uppercase() {
            out.push(if i == 0 && !cap_first { c.to_ascii_lowercase() } else { c });
            cap_next = false;
        } else if c.is_ascii_digit() {
            out.push(c);
            cap_next = true;
        } else {
            cap_next = true;
        }
    }
    out
}

/// A message, enum or client class name: the proto name as written (protoc keeps it), escaped
/// against keywords and [`RESERVED_TYPES`].
pub fn type_name(name: &str) -> String {
    if RESERVED_TYPES.contains(&name) { format!("{name}_") } else { escape(name) }
}

/// The `UpperCamel` stem of a field's accessors as protoc makes it (`unit_price` → `UnitPrice`,
/// `class` → `Class_`).
pub fn property_stem(field: &str) -> String {
    let stem = camel_case(field, true);
    if RESERVED_PROPERTIES.contains(&stem.as_str()) { format!("{stem}_") } else { stem }
}

/// A Java field, parameter or variable name for a proto field: lowerCamel, escaped.
pub fn variable_name(field: &str) -> String {
    escape(&camel_case(field, false))
}

/// An rpc method or service accessor name: lowerCamel (as grpc-java's generator makes it),
/// escaped against keywords and client members.
pub fn member_name(name: &str) -> String {
    let camel = camel_case(name, false);
    if RESERVED_CLIENT_MEMBERS.contains(&camel.as_str()) { format!("{camel}_") } else { escape(&camel) }
}

/// A package segment: lower-case letters, digits and `_` (anything else becomes `_`), escaped
/// against keywords, a leading digit prefixed with `_`.
pub fn package_segment(segment: &str) -> String {
    let mut out: String = segment
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_lowercase() } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    escape(&out)
}

/// An enum constant: the proto value name, escaped against keywords, `UNRECOGNIZED` (which every
/// generated enum declares) and the package roots of [`RESERVED_TYPES`].
pub fn constant_name(name: &str) -> String {
    if name == "UNRECOGNIZED" || RESERVED_TYPES.contains(&name) { format!("{name}_") } else { escape(name) }
}

/// The default outer class of a proto file, as protoc's Java generator names it: the file's base
/// name without `.proto` in [`camel_case`] (`blob_store.proto` → `BlobStore`).
pub fn default_outer_class(proto: &str) -> String {
    let base = proto.rsplit('/').next().unwrap_or(proto);
    let stem = base.strip_suffix(".proto").unwrap_or(base);
    camel_case(stem, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_escaped_in_every_position() {
        for kw in KEYWORDS {
            assert_eq!(escape(kw), format!("{kw}_"), "escape");
            assert_eq!(type_name(kw), format!("{kw}_"), "type");
            assert_eq!(constant_name(kw), format!("{kw}_"), "constant");
            if !kw.contains('-') && *kw != "_" {
                assert_eq!(variable_name(kw), format!("{kw}_"), "variable");
                assert_eq!(member_name(kw), format!("{kw}_"), "member");
                assert_eq!(package_segment(kw), format!("{kw}_"), "package");
            }
        }
    }

    #[test]
    fn reserved_types_properties_and_members() {
        for t in RESERVED_TYPES {
            assert_eq!(type_name(t), format!("{t}_"));
            assert_eq!(constant_name(t), format!("{t}_"));
        }
        for t in ["String", "Object", "Override", "Integer", "Deprecated", "Class"] {
            assert_eq!(type_name(t), t, "java.lang names stay, as protoc keeps them");
        }
        for p in RESERVED_PROPERTIES {
            assert_eq!(property_stem(p), format!("{p}_"));
        }
        assert_eq!(property_stem("class"), "Class_");
        assert_eq!(property_stem("serialized_size"), "SerializedSize_");
        assert_eq!(property_stem("unknown_fields"), "UnknownFields_");
        assert_eq!(property_stem("default_instance_for_type"), "DefaultInstanceForType_");
        assert_eq!(property_stem("unit_price"), "UnitPrice");
        assert_eq!(property_stem("hash_code"), "HashCode");
        for m in RESERVED_CLIENT_MEMBERS {
            assert_eq!(member_name(m), format!("{m}_"));
        }
        assert_eq!(member_name("Close"), "close_");
        assert_eq!(member_name("GetService"), "getService");
        assert_eq!(member_name("BlobStore"), "blobStore");
        assert_eq!(member_name("New"), "new_");
        assert_eq!(member_name("getClass"), "getClass_");
        assert_eq!(type_name("Order"), "Order");
        assert_eq!(constant_name("UNRECOGNIZED"), "UNRECOGNIZED_");
        assert_eq!(constant_name("KIND_ONLINE"), "KIND_ONLINE");
        assert_eq!(constant_name("null"), "null_");
    }

    #[test]
    fn camel_case_is_protocs() {
        assert_eq!(camel_case("serialVersionUID", true), "SerialVersionUID");
        assert_eq!(camel_case("foo2bar", true), "Foo2Bar");
        assert_eq!(camel_case("foo_bar", true), "FooBar");
        assert_eq!(camel_case("fooBar", true), "FooBar");
        assert_eq!(camel_case("FooBar", false), "fooBar");
        assert_eq!(camel_case("HTTPServer", true), "HTTPServer");
        assert_eq!(camel_case("_x__y", false), "XY");
        assert_eq!(variable_name("unit_price"), "unitPrice");
        assert_eq!(variable_name("class"), "class_");
        assert_eq!(default_outer_class("a/b/blob_store.proto"), "BlobStore");
        assert_eq!(default_outer_class("object.proto"), "Object");
        assert_eq!(default_outer_class("v1/foo-bar.2x.proto"), "FooBar2X");
    }

    #[test]
    fn package_segments() {
        assert_eq!(package_segment("store"), "store");
        assert_eq!(package_segment("v1"), "v1");
        assert_eq!(package_segment("my-protos"), "my_protos");
        assert_eq!(package_segment("1x"), "_1x");
        assert_eq!(package_segment("Acme"), "acme");
        assert_eq!(package_segment("import"), "import_");
    }
}
