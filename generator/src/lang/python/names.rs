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
