//! TypeScript naming: the rules of protobuf-es v2 (`@bufbuild/protobuf/reflect` names.ts and
//! `@bufbuild/protoplugin` safe-identifier.ts), so the property names of generated types match
//! the names the runtime computes from the descriptor at run time.

/// Names that cannot be identifiers (type, const or class names) in generated TypeScript:
/// ECMAScript keywords and future reserved words, TypeScript type keywords, and runtime names
/// generated code relies on. Escaped by appending `$`.
pub const RESERVED_IDENTIFIERS: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "enum",
    "implements",
    "interface",
    "let",
    "package",
    "private",
    "protected",
    "public",
    "static",
    "Object",
    "bigint",
    "number",
    "boolean",
    "string",
    "object",
    "globalThis",
    "Uint8Array",
    "Partial",
    // Beyond protobuf-es: TypeScript's other predefined type names, which no type alias or
    // enum may take ("Type alias name cannot be 'undefined'").
    "undefined",
    "any",
    "unknown",
    "never",
    "symbol",
    // Beyond protobuf-es: reserved in modules and strict code (`await` at the top level of a
    // module; `eval` and `arguments` cannot be bound, and `arguments` inside a function is the
    // function's arguments object).
    "await",
    "eval",
    "arguments",
];

/// Names that cannot be object properties because JavaScript objects already have them.
/// Escaped by appending `$`.
pub const RESERVED_PROPERTIES: &[&str] = &["constructor", "toString", "toJSON", "valueOf"];

/// Property names of the generated client classes and of `Micro` that a method or accessor must
/// not shadow, escaped by appending `$`: the members of `Object.prototype`, `then` (an object with
/// a `then` method is a thenable, so `await` and `Promise.resolve` would call the rpc), and the
/// members the classes declare (`service`, `transport`, `close`).
pub const RESERVED_CLIENT_MEMBERS: &[&str] = &[
    "constructor",
    "toString",
    "toJSON",
    "valueOf",
    "toLocaleString",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "then",
    "service",
    "transport",
    "close",
];

/// Names the package root (`src/index.ts`) exports besides the proto namespaces: the `Micro` class
/// and the runtime's exports. A namespace (one per proto package) that would take one is salted.
pub const RESERVED_ROOT_EXPORTS: &[&str] = &[
    "Micro",
    "RetryPolicy",
    "MicroOptions",
    "MicroTransport",
    "createMicroTransport",
    "MicroError",
    "USER_AGENT",
    "CallOptions",
];

/// Members of `Object.prototype` that protobuf-es does not escape but this SDK does: every object
/// literal has them, so a message property of that name makes `create(Schema, { ... })` read the
/// inherited method (and TypeScript reject the literal). Escaped by appending `$`; the generated
/// module renames the field in the descriptor so the runtime uses the same property.
pub const OBJECT_PROTOTYPE_PROPERTIES: &[&str] =
    &["hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString"];

/// Escapes a reserved identifier (`class` → `class$`).
pub fn safe_identifier(name: &str) -> String {
    if RESERVED_IDENTIFIERS.contains(&name) { format!("{name}$") } else { name.to_owned() }
}

/// Escapes a reserved object property (`constructor` → `constructor$`).
pub fn safe_object_property(name: &str) -> String {
    if RESERVED_PROPERTIES.contains(&name) { format!("{name}$") } else { name.to_owned() }
}

/// A property name as written in a type literal: as is when it is an identifier, else a quoted
/// string (protoc's camelCase of `_` is empty and of `_1x` is `1x`, which the runtime still uses
/// as property names).
pub fn property_key(name: &str) -> String {
    let mut chars = name.chars();
    let ident = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident { name.to_owned() } else { format!("{name:?}") }
}

/// protoc's lowerCamelCase for field names (`access_token` → `accessToken`, `a_1b` → `a1b`).
pub fn proto_camel_case(name: &str) -> String {
    crate::model::json_name(name)
}

/// The property name protobuf-es gives a field that is not in a oneof, or a oneof group.
pub fn es_field_name(proto_name: &str) -> String {
    safe_object_property(&proto_camel_case(proto_name))
}

/// The property name of a field that is not in a oneof, or of a oneof group: protobuf-es's, also
/// escaped when it is one of [`OBJECT_PROTOTYPE_PROPERTIES`].
pub fn field_name(proto_name: &str) -> String {
    let name = es_field_name(proto_name);
    if OBJECT_PROTOTYPE_PROPERTIES.contains(&name.as_str()) { format!("{name}$") } else { name }
}

/// The `case` value of a oneof member (not escaped: it is a string literal).
pub fn oneof_case_name(proto_name: &str) -> String {
    proto_camel_case(proto_name)
}

/// The method name in a `GenService` and on a client (`GetService` → `getService`).
pub fn method_name(proto_name: &str) -> String {
    let mut chars = proto_name.chars();
    let lower = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    safe_object_property(&lower)
}

/// A client member name (method or `Micro` accessor), escaped against the client's own members.
pub fn client_member(name: &str) -> String {
    if RESERVED_CLIENT_MEMBERS.contains(&name) { format!("{name}$") } else { name.to_owned() }
}

/// The local name of an enum value: the shared `ENUM_NAME_` prefix stripped when every value has
/// it and no stripped name would be empty or start with a digit, as protobuf-es does.
pub fn enum_value_names(enum_name: &str, values: &[&str]) -> Vec<String> {
    let prefix = {
        let mut snake = String::new();
        for (i, c) in enum_name.chars().enumerate() {
            if i > 0 && c.is_ascii_uppercase() {
                snake.push('_');
            }
            snake.push(c);
        }
        snake.to_lowercase() + "_"
    };
    let strip = values.iter().all(|v| {
        v.to_lowercase().starts_with(&prefix)
            && v.len() > prefix.len()
            && !v[prefix.len()..].starts_with(|c: char| c.is_ascii_digit())
    });
    values.iter().map(|v| safe_object_property(if strip { &v[prefix.len()..] } else { v })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_identifier_is_escaped() {
        for name in RESERVED_IDENTIFIERS {
            assert_eq!(safe_identifier(name), format!("{name}$"));
        }
        assert_eq!(safe_identifier("Store"), "Store");
        assert_eq!(safe_identifier("constructor"), "constructor", "a property word is a fine identifier");
    }

    #[test]
    fn every_reserved_property_is_escaped() {
        for name in RESERVED_PROPERTIES {
            assert_eq!(safe_object_property(name), format!("{name}$"));
            assert_eq!(field_name(name), format!("{name}$"));
        }
        assert_eq!(field_name("to_string"), "toString$");
        for name in OBJECT_PROTOTYPE_PROPERTIES {
            assert_eq!(field_name(name), format!("{name}$"));
            assert_eq!(es_field_name(name), *name, "protobuf-es keeps it");
        }
        assert_eq!(field_name("has_own_property"), "hasOwnProperty$");
        assert_eq!(field_name("class"), "class", "keywords are valid property names");
    }

    #[test]
    fn client_members_are_escaped() {
        for name in RESERVED_CLIENT_MEMBERS {
            assert_eq!(client_member(name), format!("{name}$"));
        }
        assert_eq!(client_member("read"), "read");
    }

    #[test]
    fn property_keys_are_quoted_unless_identifiers() {
        assert_eq!(property_key("fooBar"), "fooBar");
        assert_eq!(property_key("$x_1"), "$x_1");
        assert_eq!(property_key(&field_name("_")), "\"\"");
        assert_eq!(property_key(&field_name("_1x")), "\"1x\"");
        assert_eq!(property_key(&field_name("__proto__")), "Proto");
    }

    #[test]
    fn field_and_method_names() {
        assert_eq!(field_name("access_token"), "accessToken");
        assert_eq!(field_name("statusCode"), "statusCode");
        assert_eq!(field_name("EphemeralStorage"), "EphemeralStorage");
        assert_eq!(method_name("GetService"), "getService");
        assert_eq!(method_name("ToString"), "toString$");
        assert_eq!(oneof_case_name("to_string"), "toString");
    }

    #[test]
    fn enum_prefixes() {
        assert_eq!(enum_value_names("SpanType", &["INBOUND", "OUTBOUND"]), ["INBOUND", "OUTBOUND"]);
        assert_eq!(enum_value_names("SpanType", &["SPAN_TYPE_INBOUND", "SPAN_TYPE_OUTBOUND"]), ["INBOUND", "OUTBOUND"]);
        assert_eq!(enum_value_names("Foo", &["FOO_1", "FOO_BAR"]), ["FOO_1", "FOO_BAR"]);
        assert_eq!(enum_value_names("Foo", &["FOO_", "FOO_BAR"]), ["FOO_", "FOO_BAR"]);
    }
}
