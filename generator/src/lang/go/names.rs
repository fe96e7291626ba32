//! Go names: protoc-gen-go's identifier rules and micro-gen's Go package names.
//!
//! The `gen/` packages are byte-identical to protoc-gen-go and protoc-gen-go-grpc output
//! (`tests/conformance/go/run.sh` compares them for the core protos, the golden case, the edge
//! cases, the kitchen sink, every keyword-torture set under `tests/protos/names/` and
//! `tests/protos/coverage`), names included: [`go_camel_case`], [`go_sanitized`], protogen's
//! field/oneof conflict resolution (`pb::message_names`: `_` suffixes, `Get<Name>` clashes,
//! synthetic oneof names), oneof wrappers renamed against nested types.
//!
//! Deviations, each only where protoc-gen-go's own output would not compile or not pass `go vet`
//! (run.sh vets the plugins' package to prove it for every file that differs;
//! `tests/protos/names/go/main` has one case of each); the later declaration gets a `_` suffix:
//!
//! 1. a struct field named `ProtoReflect` ([`STRUCT_FIELD_RESERVED`]);
//! 2. a struct field named like a oneof's getter `Get<Oneof>` ([`ONEOF_GETTER_TAKEN`]);
//! 3. two rpcs of a service with one Go name, and an rpc named like a method `go vet` holds to
//!    a standard signature (`MarshalJSON`: the plugins' output compiles but fails `go vet`)
//!    ([`method_names`]);
//! 4. two package-level declarations of a Go package with one name (`pb::Universe::resolve`):
//!    messages and enums (`Promise.then` / `Promise_then`, or two files of one directory with
//!    different proto packages), an enum value and the enum's `_name`/`_value` maps (`Kind_name_`),
//!    oneof wrapper types and interfaces, a service's declarations (`FooClient`, `NewFooClient`,
//!    `Foo_ServiceDesc`, ... of services `Foo` and `foo`, or next to a message `FooClient`);
//! 5. package names `main` and `init` ([`UNIMPORTABLE`]) and an import of a directory `init`
//!    (imported as `init1`);
//! 6. directories whose files import each other in a cycle (`a/v1` -> `b/v1` -> `a/v1`, through
//!    different files): each of their files gets a Go package of its own, `gen/a/v1/onepb`
//!    (`break_import_cycles` in mod.rs), where protoc-gen-go's packages would import each other.
//!
//! Not resolved (protoc-gen-go's output would not compile either): `Default_<Message>_<Field>`
//! constants and `E_<Extension>` variables colliding with a message of that very name, and
//! generated-code locals (`x`, `in`) shadowing an imported package named like them.

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

/// The names protogen takes before a message's fields and oneofs are named (newMessage's
/// `usedNames`: methods generated messages had or have).
pub const MESSAGE_METHODS: &[&str] =
    &["Reset", "String", "ProtoMessage", "Marshal", "Unmarshal", "ExtensionRangeArray", "ExtensionMap", "Descriptor"];

/// Names a struct field of a message may not have although protogen gives them: `ProtoReflect`
/// is a method of every message, which protogen does not reserve, so protoc-gen-go names a field
/// (or oneof) `proto_reflect` `ProtoReflect` and its output does not compile. Deviation:
/// micro-gen names it `ProtoReflect_` (a oneof member, which is no struct field, keeps its name).
pub const STRUCT_FIELD_RESERVED: &[&str] = &["ProtoReflect"];

/// Whether a real oneof's getter `Get<Oneof>` keeps struct fields from that name. protogen
/// assumes oneofs have no getter ("for historical reasons ... this is incorrect, but fixing it
/// breaks existing code"), so a oneof `kind` with a field `get_kind` gives a field `GetKind`
/// next to the method `GetKind` and protoc-gen-go's output does not compile. Deviation: the
/// field becomes `GetKind_` (or, the field first, the oneof `Kind_`); names change only where
/// protoc-gen-go's output would not compile (oneof members have no struct field and keep theirs).
pub const ONEOF_GETTER_TAKEN: bool = true;

/// Method names `go vet` (stdmethods) holds to a standard signature whatever the receiver
/// (`MarshalJSON() ([]byte, error)`, ...); the checks of `Format`, `ReadFrom`, `Scan`, `Seek`,
/// `WriteTo`, `Is`, `As` and `Unwrap` do not apply to rpc methods (other first parameter, no
/// `error` receiver).
pub const VET_CANONICAL_METHODS: &[&str] = &[
    "GobDecode",
    "GobEncode",
    "MarshalJSON",
    "MarshalXML",
    "ReadByte",
    "ReadRune",
    "UnmarshalJSON",
    "UnmarshalXML",
    "UnreadByte",
    "UnreadRune",
    "WriteByte",
];

/// The Go names of a service's methods: protoc-gen-go-grpc's `GoCamelCase`, and, deviations,
/// a `_` suffix on a name an earlier method of the service already has (`close` after `Close`
/// → `Close_`), where protoc-gen-go-grpc's output would declare the method twice, and on a
/// name in [`VET_CANONICAL_METHODS`] (`MarshalJSON_`), where its output fails `go vet`.
pub fn method_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    names
        .into_iter()
        .map(|n| {
            let mut go = go_camel_case(n);
            while VET_CANONICAL_METHODS.contains(&go.as_str()) || !taken.insert(go.clone()) {
                go.push('_');
            }
            go
        })
        .collect()
}

/// Package aliases micro.go cannot use for generated packages (its own imports).
pub const RESERVED_ALIASES: &[&str] = &[
    "context",
    "tls",
    "json",
    "errors",
    "fmt",
    "io",
    "iter",
    "math",
    "rand",
    "strings",
    "sync",
    "time",
    "grpc",
    "codes",
    "credentials",
    "insecure",
    "metadata",
    "status",
    "proto",
    "protowire",
    "micro",
];

/// Exported methods of `micro.Client` (micro.go) a service accessor field must not be named like
/// (a service `Close` is `client.CloseService`).
pub const CLIENT_MEMBERS: &[&str] = &["Close", "Conn"];

/// Methods of every service wrapper (services.go) an rpc's wrapper method must not take (an rpc
/// `Raw` is `client.Foo.Raw_`; the plain gRPC client keeps `Raw`).
pub const WRAPPER_MEMBERS: &[&str] = &["ServiceName", "Raw"];

/// Exported types of the `micro` package (micro.go) a service wrapper type must not be named
/// like.
pub const RUNTIME_TYPES: &[&str] =
    &["Client", "Option", "CallOption", "Error", "RetryPolicy", "Stream", "ClientStream", "BidiStream"];

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

/// protogen's `GoSanitized` (`internal/strs`): characters other than letters and digits become
/// `_`, and a keyword or a name not starting with a letter gets a `_` prefix (`chan` → `_chan`,
/// `3d` → `_3d`). Predeclared identifiers are left alone (they are legal names; protogen avoids
/// them only as import aliases, see [`PREDECLARED`]).
pub fn go_sanitized(s: &str) -> String {
    let out: String = s.chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    if KEYWORDS.contains(&out.as_str()) || !out.starts_with(char::is_alphabetic) { format!("_{out}") } else { out }
}

/// Package names micro-gen escapes although protoc-gen-go would not: a package `main` cannot be
/// imported (and does not build without `func main`), a package cannot be imported as `init`.
/// They get protogen's `_` prefix like keywords (`_main`, `_init`); a documented deviation.
pub const UNIMPORTABLE: &[&str] = &["main", "init"];

/// The Go package name of a proto directory: its last segment, lower-cased, letters and digits
/// only, prefixed with the segment before when the last is a version (`acme/shop/v1` → `shopv1`,
/// `store` → `store`), then [`go_sanitized`] as protoc-gen-go names a package from its import
/// path (`type` → `_type`, `3d` → `_3d`); [`UNIMPORTABLE`] names get the same `_` prefix.
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
    if UNIMPORTABLE.contains(&name.as_str()) { format!("_{name}") } else { go_sanitized(&name) }
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
                _ => crate::lang::push_hex_escape(&mut out, b, false),
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
                crate::lang::push_hex_escape(&mut out, b, false);
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
        for word in KEYWORDS {
            assert_eq!(go_sanitized(word), format!("_{word}"), "sanitized {word}");
            assert_eq!(package_name(word), format!("_{word}"), "package {word}");
            assert_eq!(package_name(&format!("a/{word}")), format!("_{word}"), "last segment {word}");
            // Only the last segment names the package; a reserved word elsewhere is harmless.
            assert_eq!(package_name(&format!("{word}/store")), "store", "first segment {word}");
        }
        for word in PREDECLARED {
            // Legal package names (protogen keeps them); only import aliases avoid them.
            assert_eq!(go_sanitized(word), *word, "sanitized {word}");
            assert_eq!(package_name(word), *word, "package {word}");
        }
        for word in UNIMPORTABLE {
            assert_eq!(go_sanitized(word), *word, "protogen keeps {word}");
            assert_eq!(package_name(word), format!("_{word}"), "package {word}");
        }
        for word in KEYWORDS.iter().chain(PREDECLARED).chain(UNIMPORTABLE) {
            // Exported identifiers never collide with a keyword (they start upper-case).
            let camel = go_camel_case(word);
            assert!(!KEYWORDS.contains(&camel.as_str()) && !PREDECLARED.contains(&camel.as_str()), "{camel}");
        }
        assert_eq!(KEYWORDS.len(), 25);
    }

    #[test]
    fn sanitized_matches_protogen() {
        assert_eq!(go_sanitized("acme/shop/v1/shop.proto"), "acme_shop_v1_shop_proto");
        assert_eq!(go_sanitized("3d"), "_3d");
        assert_eq!(go_sanitized("_x"), "__x");
        assert_eq!(go_sanitized("my-pkg"), "my_pkg");
        assert_eq!(go_sanitized("type"), "_type");
        assert_eq!(go_sanitized("types"), "types");
        assert_eq!(go_sanitized(""), "_");
    }

    #[test]
    fn package_names() {
        assert_eq!(package_name("store"), "store");
        assert_eq!(package_name("acme/shop/v1"), "shopv1");
        assert_eq!(package_name("acme/common/v1beta2"), "commonv1beta2");
        assert_eq!(package_name("my-pkg"), "mypkg");
        assert_eq!(package_name("v1"), "v1");
        assert_eq!(package_name("3d"), "_3d");
        assert_eq!(package_name("type/chan"), "_chan");
        assert_eq!(package_name("go/select/v1"), "selectv1");
        assert_eq!(package_name("cmd/main"), "_main");
        assert_eq!(package_name("string"), "string");
        assert_eq!(package_name("."), "gen");
    }

    #[test]
    fn quote_matches_strconv() {
        assert_eq!(go_quote(b"\n\x17a\"\\\x7f\x00"), "\"\\n\\x17a\\\"\\\\\\x7f\\x00\"");
        assert_eq!(go_quote("é".as_bytes()), "\"é\"");
        assert_eq!(go_quote(&[0xff, b'a']), "\"\\xffa\"");
        assert_eq!(go_quote("\u{200b}".as_bytes()), "\"\\u200b\"");
    }

    /// The high-level layer's lists match what its templates declare.
    #[test]
    fn runtime_lists_match_the_templates() {
        let micro = include_str!("../../../../templates/go/files/micro.go.hbs");
        let services = include_str!("../../../../templates/go/files/services.go.hbs");
        let exported = |rest: &str| -> Option<String> {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            name.starts_with(char::is_uppercase).then_some(name)
        };
        let mut methods = Vec::new();
        let mut types = Vec::new();
        for line in micro.lines() {
            if let Some(m) = line.strip_prefix("func (c *Client) ").and_then(exported) {
                methods.push(m);
            }
            if let Some(t) = line.strip_prefix("type ").and_then(exported) {
                types.push(t);
            }
        }
        methods.sort();
        types.sort();
        let mut want_methods: Vec<&str> = CLIENT_MEMBERS.to_vec();
        want_methods.sort_unstable();
        let mut want_types: Vec<&str> = RUNTIME_TYPES.to_vec();
        want_types.sort_unstable();
        assert_eq!(methods, want_methods);
        assert_eq!(types, want_types);
        // The wrapper's own methods come from the view model (mod.rs, `*_func`), one per member.
        let wrapper: Vec<String> = services
            .lines()
            .filter_map(|l| {
                l.strip_prefix("func (s *{{client_class}}) ").or(l.strip_prefix("func (*{{client_class}}) "))
            })
            .filter_map(exported)
            .collect();
        assert!(wrapper.is_empty(), "{wrapper:?}");
        assert!(services.contains("{{service_name_func}}") && services.contains("{{raw_func}}"));
        assert_eq!(WRAPPER_MEMBERS, ["ServiceName", "Raw"]);
        for line in micro.lines().skip_while(|l| *l != "import (").take_while(|l| *l != ")").skip(1) {
            let path = line.trim().trim_matches('"');
            if let Some(base) =
                path.rsplit('/').find(|s| !s.starts_with('v') || !s[1..].chars().all(|c| c.is_ascii_digit()))
            {
                assert!(base.is_empty() || RESERVED_ALIASES.contains(&base), "{base}");
            }
        }
    }

    #[test]
    fn method_names_are_unique_per_service() {
        assert_eq!(method_names(["Close", "close", "Close_", "get_x"]), ["Close", "Close_", "Close__", "GetX"]);
        assert_eq!(method_names(["type", "func", "String"]), ["Type", "Func", "String"]);
        assert_eq!(method_names(["MarshalJSON", "marshal_j_s_o_n", "Seek"]), ["MarshalJSON_", "MarshalJSON__", "Seek"]);
        for m in VET_CANONICAL_METHODS {
            assert_eq!(method_names([*m]), [format!("{m}_")]);
        }
    }

    #[test]
    fn message_methods_are_protogens_and_proto_reflect_is_reserved() {
        assert_eq!(MESSAGE_METHODS.len(), 8);
        assert!(MESSAGE_METHODS.contains(&"Descriptor") && !MESSAGE_METHODS.contains(&"ProtoReflect"));
        assert_eq!(STRUCT_FIELD_RESERVED, ["ProtoReflect"]);
        const { assert!(ONEOF_GETTER_TAKEN) };
    }

    #[test]
    fn unexport_lowers_the_first_letter() {
        assert_eq!(unexport("ShopService"), "shopService");
    }
}
