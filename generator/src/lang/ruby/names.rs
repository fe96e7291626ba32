//! Ruby naming: constants (modules, classes) in UpperCamelCase as protoc's Ruby generator makes
//! them (`acme.shop.v1` → `Acme::Shop::V1`, a message `order` → `Order`), methods in snake_case.
//! Keywords and names the Ruby runtime or the SDK already use are escaped with a trailing
//! underscore (`end_`, `send_`, `String_`).

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Ruby's keywords (the `Keywords` of the Ruby grammar, `defined?` included).
pub const KEYWORDS: &[&str] = &[
    "BEGIN",
    "END",
    "alias",
    "and",
    "begin",
    "break",
    "case",
    "class",
    "def",
    "defined?",
    "do",
    "else",
    "elsif",
    "end",
    "ensure",
    "false",
    "for",
    "if",
    "in",
    "module",
    "next",
    "nil",
    "not",
    "or",
    "redo",
    "rescue",
    "retry",
    "return",
    "self",
    "super",
    "then",
    "true",
    "undef",
    "unless",
    "until",
    "when",
    "while",
    "yield",
    "__FILE__",
    "__LINE__",
    "__ENCODING__",
];

/// Methods of `Object`/`Kernel`/`BasicObject` that a generated client method or a `Micro::Client`
/// accessor would shadow (the grpc gem and the SDK call some of them), and the SDK's own members
/// of the client classes (`channel`, `close`).
pub const RESERVED_METHODS: &[&str] = &[
    "send",
    "public_send",
    "__send__",
    "method",
    "methods",
    "class",
    "hash",
    "object_id",
    "__id__",
    "initialize",
    "freeze",
    "dup",
    "clone",
    "display",
    "inspect",
    "to_s",
    "tap",
    "then",
    "extend",
    "instance_variables",
    "instance_variable_get",
    "instance_variable_set",
    "singleton_class",
    "itself",
    "equal",
    "instance_eval",
    "instance_exec",
    "define_singleton_method",
    "public_method",
    "singleton_method",
    "respond_to_missing",
    "method_missing",
    "enum_for",
    "to_enum",
    "format",
    "raise",
    "fail",
    "puts",
    "print",
    "p",
    "require",
    "require_relative",
    "load",
    "loop",
    "lambda",
    "proc",
    "sleep",
    "exit",
    "abort",
    "binding",
    "catch",
    "throw",
    "channel",
    "close",
];

/// Constants a proto package or type must not take: Ruby's core classes and modules (a proto
/// package `string` would otherwise reopen `String` as a module), the libraries generated code
/// uses, and the SDK's own namespace.
pub const RESERVED_CONSTANTS: &[&str] = &[
    "Object",
    "BasicObject",
    "Kernel",
    "Module",
    "Class",
    "Comparable",
    "Enumerable",
    "Enumerator",
    "String",
    "Symbol",
    "Integer",
    "Float",
    "Numeric",
    "Rational",
    "Complex",
    "Array",
    "Hash",
    "Range",
    "Struct",
    "Proc",
    "Method",
    "Exception",
    "StandardError",
    "RuntimeError",
    "ArgumentError",
    "TypeError",
    "NameError",
    "IO",
    "File",
    "Dir",
    "Time",
    "Math",
    "Process",
    "Thread",
    "Mutex",
    "Queue",
    "Fiber",
    "Ractor",
    "Set",
    "Random",
    "Signal",
    "GC",
    "ObjectSpace",
    "Marshal",
    "Encoding",
    "Data",
    "Regexp",
    "MatchData",
    "Binding",
    "Errno",
    "Warning",
    "RubyVM",
    "NilClass",
    "TrueClass",
    "FalseClass",
    "ENV",
    "ARGV",
    "ARGF",
    "STDIN",
    "STDOUT",
    "STDERR",
    "DATA",
    "JSON",
    "Forwardable",
    "GRPC",
    "Micro",
];

/// Escapes a Ruby keyword or a reserved method with a trailing underscore.
pub fn escape_method(name: &str) -> String {
    if KEYWORDS.contains(&name) || RESERVED_METHODS.contains(&name) { format!("{name}_") } else { name.to_owned() }
}

/// A client method or `Micro::Client` accessor: snake_case, escaped (`GetService` →
/// `get_service`, `End` → `end_`, `Send` → `send_`).
pub fn method_name(name: &str) -> String {
    escape_method(&name.to_snake_case())
}

/// A top-level constant from a proto type name, as protoc's Ruby generator makes it: the first
/// letter upper-cased, a name that does not start with a letter prefixed with `PB_`; then escaped
/// against keywords (`END`) and reserved constants (`String` → `String_`), which a top-level
/// constant would reopen or replace.
pub fn type_constant(name: &str) -> String {
    escape_constant(rubify_constant(name))
}

/// A constant inside a module or class (a message or enum of a package, a nested type, a
/// service's module): as protoc makes it, escaped against keywords only (`END` → `END_`);
/// `Acme::String` and `Order::Hash` leave Ruby's own classes alone, as protoc's output does.
pub fn member_constant(name: &str) -> String {
    let out = rubify_constant(name);
    if KEYWORDS.contains(&out.as_str()) { format!("{out}_") } else { out }
}

/// protoc's `RubifyConstant`: the first letter upper-cased, `PB_` before a name that does not
/// start with a letter.
fn rubify_constant(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => c.to_ascii_uppercase().to_string() + chars.as_str(),
        _ => format!("PB_{name}"),
    }
}

/// A module name from one proto package segment: UpperCamelCase (`foo_bar` → `FooBar`, `v1` →
/// `V1`), escaped like [`type_constant`].
pub fn package_module(segment: &str) -> String {
    let camel = segment.to_upper_camel_case();
    if camel.starts_with(|c: char| c.is_ascii_alphabetic()) {
        escape_constant(camel)
    } else {
        escape_constant(format!("PB_{camel}"))
    }
}

/// The modules of a proto package (`acme.shop.v1` → `["Acme", "Shop", "V1"]`, `""` → `[]`).
/// `google.protobuf` maps to `Google::Protobuf`, where google-protobuf defines the well-known types.
pub fn package_modules(package: &str) -> Vec<String> {
    if package.is_empty() {
        return Vec::new();
    }
    package.split('.').map(package_module).collect()
}

/// The modules of a `ruby_package` option (`Acme::Shop::V1`), each as protoc's Ruby generator
/// makes a constant of it (first letter upper-cased, `PB_` before a non-letter), then escaped
/// like [`type_constant`].
pub fn ruby_package_modules(ruby_package: &str) -> Vec<String> {
    ruby_package.split("::").filter(|s| !s.is_empty()).map(type_constant).collect()
}

fn escape_constant(name: String) -> String {
    if KEYWORDS.contains(&name.as_str()) || RESERVED_CONSTANTS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// A file path segment (directory or file stem): characters other than ASCII letters, digits and
/// `_` become `_`.
pub fn path_segment(segment: &str) -> String {
    segment.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_escaped_as_a_method() {
        for kw in KEYWORDS {
            assert_eq!(escape_method(kw), format!("{kw}_"), "{kw}");
        }
        for kw in KEYWORDS.iter().filter(|k| k.chars().all(|c| c.is_ascii_lowercase())) {
            // A proto rpc `End` or `end` becomes the snake_case keyword, escaped.
            assert_eq!(method_name(kw), format!("{kw}_"), "{kw}");
            assert_eq!(method_name(&kw.to_upper_camel_case()), format!("{kw}_"), "{kw}");
        }
    }

    #[test]
    fn every_reserved_method_is_escaped() {
        for m in RESERVED_METHODS {
            assert_eq!(escape_method(m), format!("{m}_"), "{m}");
            // As an rpc name, in either case (`ObjectId` for `object_id`); `__send__` and `__id__`
            // have no such form.
            if !m.starts_with('_') {
                assert_eq!(method_name(m), format!("{m}_"), "{m}");
                assert_eq!(method_name(&m.to_upper_camel_case()), format!("{m}_"), "{m}");
            }
        }
        assert_eq!(method_name("__send__"), "send_", "snake_case drops the underscores, then escapes");
        assert_eq!(method_name("Read"), "read");
        assert_eq!(method_name("GetService"), "get_service");
        assert_eq!(method_name("BlobStore"), "blob_store");
        assert_eq!(method_name("EventsStore"), "events_store");
        assert_eq!(method_name("Send"), "send_");
        assert_eq!(method_name("Initialize"), "initialize_");
        assert_eq!(method_name("ObjectId"), "object_id_");
    }

    #[test]
    fn every_keyword_and_reserved_constant_is_escaped_as_a_constant() {
        for kw in ["BEGIN", "END"] {
            assert_eq!(type_constant(kw), format!("{kw}_"));
            assert_eq!(package_module(kw), kw.to_upper_camel_case(), "a package segment is camel-cased first");
        }
        for c in RESERVED_CONSTANTS {
            assert_eq!(type_constant(c), format!("{c}_"), "{c}");
        }
        for c in RESERVED_CONSTANTS.iter().filter(|c| c.to_upper_camel_case() == **c) {
            assert_eq!(package_module(&c.to_snake_case()), format!("{c}_"), "{c}");
        }
        assert_eq!(package_module("string"), "String_");
        assert_eq!(package_module("micro"), "Micro_");
        assert_eq!(package_module("grpc"), "Grpc", "only the exact constant GRPC is taken");
        assert_eq!(type_constant("__FILE__"), "PB___FILE__");
    }

    #[test]
    fn constants_follow_protoc() {
        assert_eq!(type_constant("ReadRequest"), "ReadRequest");
        assert_eq!(type_constant("order"), "Order");
        assert_eq!(type_constant("_x"), "PB__x");
        assert_eq!(package_modules("acme.shop.v1"), ["Acme", "Shop", "V1"]);
        assert_eq!(package_modules("foo_bar.baz"), ["FooBar", "Baz"]);
        assert_eq!(package_modules("google.protobuf"), ["Google", "Protobuf"]);
        assert_eq!(package_modules("store"), ["Store"]);
        assert!(package_modules("").is_empty());
        assert_eq!(package_modules("class.end"), ["Class_", "End"]);
        assert_eq!(package_module("1x"), "PB_1x");
    }

    #[test]
    fn member_constants_only_escape_keywords() {
        for c in RESERVED_CONSTANTS {
            assert_eq!(member_constant(c), *c, "{c}");
        }
        assert_eq!(member_constant("END"), "END_");
        assert_eq!(member_constant("BEGIN"), "BEGIN_");
        assert_eq!(member_constant("end"), "End");
        assert_eq!(member_constant("self"), "Self");
        assert_eq!(member_constant("__FILE__"), "PB___FILE__");
        assert_eq!(member_constant("string"), "String");
    }

    #[test]
    fn ruby_packages_keep_their_modules() {
        assert_eq!(ruby_package_modules("Acme::Shop::V1"), ["Acme", "Shop", "V1"]);
        assert_eq!(ruby_package_modules("acme::shop_v1"), ["Acme", "Shop_v1"]);
        assert_eq!(ruby_package_modules("Nil::Undef::Legacy"), ["Nil", "Undef", "Legacy"]);
        assert_eq!(ruby_package_modules("::String::End"), ["String_", "End"]);
    }

    #[test]
    fn path_segments() {
        assert_eq!(path_segment("store"), "store");
        assert_eq!(path_segment("my-protos"), "my_protos");
    }
}
