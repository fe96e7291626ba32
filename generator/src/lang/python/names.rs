//! Python naming: PEP 8 case (heck), keywords and soft keywords escaped with a trailing
//! underscore (PEP 8's convention for public names: `class_`, not `_class`, which reads as private).

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Python's hard keywords (`keyword.kwlist`). Soft keywords (`match`, `case`, `type`, `_`) are
/// valid identifiers and are not escaped.
pub const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// Attributes of the generated client classes and of `Micro`/`AsyncMicro` that a method or
/// accessor must not shadow.
pub const RESERVED_CLIENT_MEMBERS: &[&str] = &["close", "channel", "SERVICE_NAME"];

/// Names generated modules bind at module level (imports of the runtime), which a proto
/// package directory or module must not take.
pub const RESERVED_MODULES: &[&str] = &["google", "grpc", "typing", "_runtime", "_micro"];

/// Attributes of `google.protobuf.message.Message`. A field with one of these names (or a
/// `__dunder__` name) is still an attribute at run time (upb looks fields up first), but a stub
/// cannot declare it without contradicting the base class, so the stubs leave it out and it is
/// reached with `getattr(msg, "ListFields")`, as a keyword-named field is.
pub const MESSAGE_MEMBERS: &[&str] = &[
    "DESCRIPTOR",
    "ByteSize",
    "Clear",
    "ClearExtension",
    "ClearField",
    "CopyFrom",
    "DiscardUnknownFields",
    "Extensions",
    "FindInitializationErrors",
    "FromString",
    "HasExtension",
    "HasField",
    "IsInitialized",
    "ListFields",
    "MergeFrom",
    "MergeFromString",
    "ParseFromString",
    "RegisterExtension",
    "SerializePartialToString",
    "SerializeToString",
    "SetInParent",
    "UnknownFields",
    "WhichOneof",
];

/// Attributes of an enum class (`google.protobuf.internal.enum_type_wrapper.EnumTypeWrapper`): a
/// value with one of these names is not a class attribute at run time (`Kind.values` is the
/// method), so the stubs leave it out of the class; `Kind.Value("values")` reaches it.
pub const ENUM_WRAPPER_MEMBERS: &[&str] = &["DESCRIPTOR", "Name", "Value", "ValueType", "keys", "values", "items"];

/// The public names of Python's `builtins` module (3.11). A stub refers to a top-level class of
/// one of these names through its `_global___` alias: mypy binds a forward reference to a name
/// the builtins also have (`print`, `dict`) to the builtin.
pub const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "False",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "None",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "True",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

/// Whether a field is declared as an attribute in the stubs (and is an `__init__` keyword there):
/// not a keyword, not a member of `Message`, not a `__dunder__` name. The others are still
/// fields at run time: `getattr(msg, "class")`, `setattr(msg, "class", v)`, `Msg(**{"class": v})`.
pub fn is_stub_field(name: &str) -> bool {
    let dunder = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
    !(dunder || KEYWORDS.contains(&name) || MESSAGE_MEMBERS.contains(&name))
}

/// Whether an enum value is declared as a class attribute of its enum in the stubs.
pub fn is_stub_enum_value(name: &str) -> bool {
    !KEYWORDS.contains(&name) && !ENUM_WRAPPER_MEMBERS.contains(&name)
}

/// The Python attribute name of a message or enum class: the proto name, or for a keyword (or,
/// `nested` in a message, a member of `Message`, which the nested class replaces on the class)
/// `name_` (more underscores while the name is taken in its scope, which holds the proto names
/// of its siblings, fields and enum values). The generated module binds the escaped name too.
pub fn class_attr(name: &str, nested: bool, taken: &mut std::collections::BTreeSet<String>) -> String {
    let reserved = KEYWORDS.contains(&name) || (nested && MESSAGE_MEMBERS.contains(&name));
    if !reserved {
        taken.insert(name.to_owned());
        return name.to_owned();
    }
    let mut out = format!("{name}_");
    while !taken.insert(out.clone()) {
        out.push('_');
    }
    out
}

/// Escapes a keyword with a trailing underscore.
pub fn escape(name: &str) -> String {
    if KEYWORDS.contains(&name) { format!("{name}_") } else { name.to_owned() }
}

/// A method or accessor name: snake_case, escaped against keywords and client members.
pub fn member_name(name: &str) -> String {
    let snake = name.to_snake_case();
    if RESERVED_CLIENT_MEMBERS.contains(&snake.as_str()) { format!("{snake}_") } else { escape(&snake) }
}

/// A class name: UpperCamelCase, escaped.
pub fn class_name(name: &str) -> String {
    escape(&name.to_upper_camel_case())
}

/// A module or package path segment (directory of a proto file, or its stem): keywords and
/// reserved module names escaped, characters that cannot be in an identifier replaced by `_`.
pub fn module_segment(segment: &str) -> String {
    let mut out: String =
        segment.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if RESERVED_MODULES.contains(&out.as_str()) { format!("{out}_") } else { escape(&out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_escaped_in_every_position() {
        for kw in KEYWORDS {
            assert_eq!(escape(kw), format!("{kw}_"));
            assert_eq!(module_segment(kw), format!("{kw}_"));
        }
        for kw in ["class", "import", "async", "await", "from", "lambda"] {
            assert_eq!(member_name(kw), format!("{kw}_"));
        }
        assert_eq!(class_name("none"), "None_");
        assert_eq!(member_name("type"), "type", "soft keywords are identifiers");
        assert_eq!(member_name("match"), "match");
    }

    #[test]
    fn stub_fields_and_values() {
        for kw in KEYWORDS {
            assert!(!is_stub_field(kw), "{kw}");
            assert!(!is_stub_enum_value(kw), "{kw}");
        }
        for m in MESSAGE_MEMBERS {
            assert!(!is_stub_field(m), "{m}");
        }
        for m in ENUM_WRAPPER_MEMBERS {
            assert!(!is_stub_enum_value(m), "{m}");
            assert!(is_stub_field(m) == (*m != "DESCRIPTOR"), "{m}");
        }
        assert!(!is_stub_field("__init__"));
        assert!(!is_stub_field("__class__"));
        assert!(is_stub_field("__"), "not a dunder");
        assert!(is_stub_field("type"));
        assert!(is_stub_field("self"));
        assert!(is_stub_enum_value("None_"));
    }

    #[test]
    fn class_attrs_escape_keywords_to_free_names() {
        let mut taken = std::collections::BTreeSet::from(["class_".to_owned()]);
        assert_eq!(class_attr("Store", false, &mut taken), "Store");
        assert_eq!(class_attr("class", false, &mut taken), "class__");
        assert_eq!(class_attr("None", false, &mut taken), "None_");
        assert_eq!(class_attr("None", false, &mut taken), "None__");
        assert_eq!(class_attr("self", false, &mut taken), "self", "not a keyword");
        assert_eq!(class_attr("IsInitialized", false, &mut taken), "IsInitialized", "top level");
        assert_eq!(class_attr("IsInitialized", true, &mut taken), "IsInitialized_", "nested");
        for m in MESSAGE_MEMBERS {
            assert_eq!(class_attr(m, true, &mut std::collections::BTreeSet::new()), format!("{m}_"));
        }
    }

    #[test]
    fn client_members_are_escaped() {
        assert_eq!(member_name("Close"), "close_");
        assert_eq!(member_name("channel"), "channel_");
        assert_eq!(member_name("GetService"), "get_service");
        assert_eq!(member_name("BlobStore"), "blob_store");
        assert_eq!(member_name("EventsStore"), "events_store");
    }

    #[test]
    fn module_segments() {
        assert_eq!(module_segment("store"), "store");
        assert_eq!(module_segment("my-protos"), "my_protos");
        assert_eq!(module_segment("1x"), "_1x");
        assert_eq!(module_segment("google"), "google_");
        for m in RESERVED_MODULES {
            assert_eq!(module_segment(m), format!("{m}_"));
        }
    }
}
