//! Go names: protoc-gen-go's identifier rules and micro-gen's Go package names.

/// Go's keywords: a package name (or any identifier) may not be one.
pub const KEYWORDS: &[&str] = &[
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

/// Go's predeclared identifiers (the universe scope). protogen treats them as taken package names
/// when it picks import aliases, so `string` or `error` never shadow the builtins.
pub const PREDECLARED: &[&str] = &[
    "any",
    "append",
    "bool",
    "byte",
    "cap",
    "clear",
    "close",
    "comparable",
    "complex",
    "complex128",
    "complex64",
    "copy",
    "delete",
    "error",
    "false",
    "float32",
    "float64",
    "imag",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "iota",
    "len",
    "make",
    "max",
    "min",
    "new",
    "nil",
    "panic",
    "print",
    "println",
    "real",
    "recover",
    "rune",
    "string",
    "true",
    "uint",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "uintptr",
];

/// protoc-gen-go's `strs.GoCamelCase`: `foo_bar` → `FooBar`, `Outer.Inner` → `Outer_Inner`,
/// `_x` → `XX`, digits kept, a lower-case letter after `_` or `.` upper-cased.
pub fn go_camel_case(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next_lower = i + 1 < b.len() && b[i + 1].is_ascii_lowercase();
        if c == b'.' && next_lower {
            // skip
        } else if c == b'.' {
            out.push('_');
        } else if c == b'_' && (i == 0 || b[i - 1] == b'.') {
            out.push('X');
        } else if c == b'_' && next_lower {
            // skip
        } else if c.is_ascii_digit() {
            out.push(c as char);
        } else {
            out.push(c.to_ascii_uppercase() as char);
            while i + 1 < b.len() && b[i + 1].is_ascii_lowercase() {
                out.push(b[i + 1] as char);
                i += 1;
            }
        }
        i += 1;
    }
    out
}

/// protogen's `GoSanitized`: invalid characters become `_`, a leading digit gets a `_` prefix,
/// and a keyword (or predeclared identifier) gets a `_` suffix.
pub fn go_sanitized(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) || PREDECLARED.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// The Go package name of a proto directory: its last segment, lower-cased, letters and digits
/// only, prefixed with the segment before when the last is a version (`acme/shop/v1` → `shopv1`,
/// `store` → `store`); a name that would be a keyword or builtin gets a `_` suffix (`type` → `type_`).
pub fn package_name(dir: &str) -> String {
    let segs: Vec<&str> = dir.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let Some(last) = segs.last() else { return "gen".to_owned() };
    let clean =
        |s: &str| -> String { s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase() };
    let mut name = clean(last);
    if is_version(&name) && segs.len() > 1 {
        name = format!("{}{name}", clean(segs[segs.len() - 2]));
    }
    if name.is_empty() {
        name = "gen".to_owned();
    }
    go_sanitized(&name)
}

/// `v1`, `v2beta1`, `v1alpha`: a version segment as buf names them.
fn is_version(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'v' && b[1].is_ascii_digit() && b.iter().all(u8::is_ascii_alphanumeric)
}

/// The `protoc-gen-go-grpc` unexported client type name: the service's Go name with its first
/// letter lower-cased (`ShopService` → `shopServiceClient`).
pub fn unexport(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The exported name of a high-level accessor (`store` → `Store`, `blobStore` → `BlobStore`).
pub fn export(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Go's `strconv.Quote` of a byte string (the protoc-gen-go raw descriptor lines): printable
/// ASCII as is, `\a\b\f\n\r\t\v`, other control bytes and invalid UTF-8 as `\xNN`, valid
/// non-ASCII runes as is when printable, else `\uNNNN`.
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                0x07 => out.push_str("\\a"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x0b => out.push_str("\\v"),
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
            i += 1;
            continue;
        }
        let len = match b {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 0,
        };
        let decoded = (len > 0 && i + len <= bytes.len())
            .then(|| std::str::from_utf8(&bytes[i..i + len]).ok())
            .flatten()
            .and_then(|s| s.chars().next());
        match decoded {
            Some(c) if !c.is_control() && !c.is_whitespace() && !is_format(c) => {
                out.push(c);
                i += len;
            }
            Some(c) if (c as u32) < 0x10000 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
                i += len;
            }
            Some(c) => {
                out.push_str(&format!("\\U{:08x}", c as u32));
                i += len;
            }
            None => {
                out.push_str(&format!("\\x{b:02x}"));
                i += 1;
            }
        }
    }
    out.push('"');
    out
}

/// Unicode format characters Go does not print literally (zero-width and bidi controls).
fn is_format(c: char) -> bool {
    matches!(c as u32, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_follows_protoc_gen_go() {
        let cases = [
            ("foo_bar", "FooBar"),
            ("Order.Line", "Order_Line"),
            ("Order.line", "OrderLine"),
            ("_x", "XX"),
            ("a._b", "A_XB"),
            ("lines_by_id", "LinesById"),
            ("weight_kg", "WeightKg"),
            ("HTTPServer", "HTTPServer"),
            ("foo_1", "Foo_1"),
            ("v1_2", "V1_2"),
            ("__x", "XX"),
            ("ttl", "Ttl"),
        ];
        for (input, want) in cases {
            assert_eq!(go_camel_case(input), want, "{input}");
        }
    }

    #[test]
    fn every_reserved_word_is_escaped_in_every_position() {
        for word in KEYWORDS.iter().chain(PREDECLARED) {
            assert_eq!(go_sanitized(word), format!("{word}_"), "sanitized {word}");
            assert_eq!(package_name(word), format!("{word}_"), "package {word}");
            assert_eq!(package_name(&format!("a/{word}")), format!("{word}_"), "last segment {word}");
            // Only the last segment names the package; a reserved word elsewhere is harmless.
            assert_eq!(package_name(&format!("{word}/store")), "store", "first segment {word}");
            // Exported identifiers never collide with a keyword (they start upper-case).
            let camel = go_camel_case(word);
            assert!(!KEYWORDS.contains(&camel.as_str()) && !PREDECLARED.contains(&camel.as_str()), "{camel}");
        }
    }

    #[test]
    fn package_names() {
        assert_eq!(package_name("store"), "store");
        assert_eq!(package_name("acme/shop/v1"), "shopv1");
        assert_eq!(package_name("acme/common/v1beta2"), "commonv1beta2");
        assert_eq!(package_name("my-pkg"), "mypkg");
        assert_eq!(package_name("v1"), "v1");
        assert_eq!(package_name("3d"), "_3d");
        assert_eq!(package_name("."), "gen");
    }

    #[test]
    fn quote_matches_strconv() {
        assert_eq!(go_quote(b"\n\x17a\"\\\x7f\x00"), "\"\\n\\x17a\\\"\\\\\\x7f\\x00\"");
        assert_eq!(go_quote("é".as_bytes()), "\"é\"");
        assert_eq!(go_quote(&[0xff, b'a']), "\"\\xffa\"");
        assert_eq!(go_quote("\u{200b}".as_bytes()), "\"\\u200b\"");
    }

    #[test]
    fn export_and_unexport() {
        assert_eq!(unexport("ShopService"), "shopService");
        assert_eq!(export("blobStore"), "BlobStore");
    }
}
