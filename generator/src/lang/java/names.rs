//! Java naming: Java's case conventions (heck), reserved words escaped with a trailing underscore
//! (protoc's convention), and names that would clash with what generated classes declare or use.

use heck::{ToLowerCamelCase, ToUpperCamelCase};

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

/// Type names the generated code refers to unqualified (java.lang and the nested `Builder`), which
/// a message or enum must not take.
pub const RESERVED_TYPES: &[&str] = &[
    "Object",
    "String",
    "Integer",
    "Long",
    "Float",
    "Double",
    "Boolean",
    "Override",
    "Deprecated",
    "Builder",
    "Class",
    "System",
    "Iterable",
    "Exception",
    "RuntimeException",
    "Enum",
    "Void",
    "Math",
    "Character",
];

/// Property stems whose `get<Stem>()` would clash with a method every generated message declares
/// or inherits (`getClass`, `getDescriptor`, ...).
pub const RESERVED_PROPERTIES: &[&str] =
    &["Class", "Descriptor", "DefaultInstance", "UnknownFields", "SerializedSize", "ParserForType"];

/// Members of the generated client classes and of `Micro`, which an rpc method or service
/// accessor must not take.
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
];

/// Escapes a reserved word with a trailing underscore.
pub fn escape(name: &str) -> String {
    if KEYWORDS.contains(&name) { format!("{name}_") } else { name.to_owned() }
}

/// A message, enum or client class name: the proto name as written (protoc keeps it), escaped
/// against keywords and [`RESERVED_TYPES`].
pub fn type_name(name: &str) -> String {
    if RESERVED_TYPES.contains(&name) { format!("{name}_") } else { escape(name) }
}

/// The `UpperCamel` stem of a field's accessors (`unit_price` → `UnitPrice`, `class` → `Class_`).
pub fn property_stem(field: &str) -> String {
    let stem = field.to_upper_camel_case();
    if RESERVED_PROPERTIES.contains(&stem.as_str()) { format!("{stem}_") } else { stem }
}

/// A Java field, parameter or variable name for a proto field: lowerCamel, escaped.
pub fn variable_name(field: &str) -> String {
    escape(&field.to_lower_camel_case())
}

/// An rpc method or service accessor name: lowerCamel, escaped against keywords and client members.
pub fn member_name(name: &str) -> String {
    let camel = name.to_lower_camel_case();
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

/// An enum constant: the proto value name, escaped.
pub fn constant_name(name: &str) -> String {
    if name == "UNRECOGNIZED" { "UNRECOGNIZED_".to_owned() } else { escape(name) }
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
        }
        for p in RESERVED_PROPERTIES {
            assert_eq!(property_stem(p), format!("{p}_"));
        }
        assert_eq!(property_stem("class"), "Class_");
        assert_eq!(property_stem("unit_price"), "UnitPrice");
        for m in RESERVED_CLIENT_MEMBERS {
            assert_eq!(member_name(m), format!("{m}_"));
        }
        assert_eq!(member_name("Close"), "close_");
        assert_eq!(member_name("GetService"), "getService");
        assert_eq!(member_name("BlobStore"), "blobStore");
        assert_eq!(member_name("New"), "new_");
        assert_eq!(type_name("Order"), "Order");
        assert_eq!(constant_name("UNRECOGNIZED"), "UNRECOGNIZED_");
        assert_eq!(constant_name("KIND_ONLINE"), "KIND_ONLINE");
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
