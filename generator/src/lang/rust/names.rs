//! Rust naming for the hand-written half of the crate (the `Micro` wrapper), and rustdoc text.
//!
//! The generated half is named by prost-build and tonic-prost-build themselves; the wrapper only
//! refers to their items, using the names prost hands its service generator (see
//! `super::plan`). What is decided here: the crate and library names, the `Micro` accessor of
//! each service, the file of each module, and how proto comments become rustdoc.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Rust's keywords (strict and reserved, every edition up to 2024). Escaped as raw identifiers
/// (`r#type`), except those that cannot be raw, see [`NOT_RAW`].
pub const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn", "else", "enum",
    "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut",
    "override", "priv", "pub", "ref", "return", "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe",
    "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; escaped with a trailing underscore, as prost does.
pub const NOT_RAW: &[&str] = &["_", "crate", "extern", "self", "Self", "super"];

/// Associated functions and methods of `Micro` (and the traits it implements) that a service
/// accessor must not shadow; such an accessor gets a trailing underscore. `into` and `try_into`
/// are the prelude's blanket `Into`/`TryInto` methods: they take `self` by value, so method
/// resolution finds them before an accessor taking `&self` (seed 1495 of tests/random/gen.py).
pub const RESERVED_ACCESSORS: &[&str] = &[
    "builder",
    "clone",
    "clone_from",
    "connect",
    "connect_lazy",
    "fmt",
    "from_channel",
    "into",
    "transport",
    "try_into",
];

/// Types and traits that tonic's generated server module (`<service>_server`) names without a
/// path, from `use tonic::codegen::*` (`Arc`, `Body`, `BoxFuture`, ...), the prelude (`Box`,
/// `Option`, `Clone`, ...) and its own generic parameters (`T`, `B`, `F`): a service whose trait
/// would be named like one of them shadows it, so it is renamed (see `super::rename`). Derive
/// macros (`Debug`) and associated types it defines (`Future`) are not affected.
pub const TONIC_SERVER_NAMES: &[&str] = &[
    "Arc",
    "B",
    "Body",
    "Box",
    "BoxFuture",
    "Bytes",
    "Clone",
    "CompressionEncoding",
    "Context",
    "Default",
    "EnabledCompressionEncodings",
    "F",
    "GrpcMethod",
    "InterceptedService",
    "Into",
    "None",
    "Ok",
    "Option",
    "Poll",
    "Some",
    "StdError",
    "T",
];

/// Methods of tonic's generated clients (`<Service>Client`, built without the transport
/// constructor `connect`) and of the SDK's typed clients (`new`): an rpc named like one of them is
/// renamed.
pub const TONIC_CLIENT_METHODS: &[&str] = &[
    "accept_compressed",
    "max_decoding_message_size",
    "max_encoding_message_size",
    "new",
    "send_compressed",
    "with_interceptor",
    "with_origin",
];

/// The Rust primitive types prost maps wrapper messages to (`google.protobuf.BoolValue` → `bool`).
pub const PRIMITIVES: &[&str] = &["bool", "f32", "f64", "i32", "i64", "u32", "u64"];

/// Crate names cargo rejects besides keywords (`cargo new` refuses them).
const RESERVED_CRATES: &[&str] = &["alloc", "core", "proc_macro", "std", "test"];

/// Escapes a keyword as prost-build does (`type` → `r#type`, `self` → `self_`) and a leading digit
/// with an underscore.
pub fn sanitize(ident: &str) -> String {
    if KEYWORDS.contains(&ident) {
        format!("r#{ident}")
    } else if NOT_RAW.contains(&ident) {
        format!("{ident}_")
    } else if ident.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{ident}")
    } else {
        ident.to_owned()
    }
}

/// A snake_case identifier, escaped (prost-build's `to_snake`).
pub fn to_snake(name: &str) -> String {
    sanitize(&name.to_snake_case())
}

/// An UpperCamelCase type identifier, escaped (prost-build's `to_upper_camel`: `foo_bar` →
/// `FooBar`, `self` → `Self_`).
pub fn to_upper_camel(name: &str) -> String {
    sanitize(&name.to_upper_camel_case())
}

/// prost-build's enum variant name: `value` (already UpperCamelCase) without the enum's name
/// `prefix` (`ColorRed` in `Color` → `Red`), unless what is left would not start with an upper-case
/// letter (`Foobar` keeps `Foo`), escaped.
pub fn strip_enum_prefix(prefix: &str, value: &str) -> String {
    let stripped = value.strip_prefix(prefix).unwrap_or(value);
    let stripped = if stripped.starts_with(char::is_uppercase) { stripped } else { value };
    sanitize(stripped)
}

/// `name` with the number `n` appended, the collision suffix (`foo_bar` → `foo_bar2`, `r#type` →
/// `type2`); kept as is for `n` < 2.
pub fn numbered(name: &str, n: usize) -> String {
    if n < 2 { name.to_owned() } else { sanitize(&format!("{}{n}", unraw(name))) }
}

/// tonic-build's module name for a service's client and server (`BlobStore` → `blob_store`): lower
/// case with an underscore before each upper-case letter.
pub fn naive_snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c.to_ascii_lowercase());
        if chars.peek().is_some_and(|n| n.is_uppercase()) {
            out.push('_');
        }
    }
    out
}

/// The `Micro` accessor of a service, from its accessor base (`BlobStore` → `blob_store`).
pub fn accessor(base: &str) -> String {
    let snake = base.to_snake_case();
    if RESERVED_ACCESSORS.contains(&snake.as_str()) { format!("{snake}_") } else { sanitize(&snake) }
}

/// An identifier without its raw prefix (`r#type` → `type`), as in a module's file name.
pub fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// The file name (without `.rs`) of a generated module: the module's name unraw (`r#type` →
/// `type.rs`), except `mod`, whose file would be a directory's `mod.rs` (the file of the parent
/// module, or the module tree's root `src/gen/mod.rs`): `mod_.rs`, which no package's module can
/// be (prost's snake_case never ends with `_`).
pub fn file_stem(module: &str) -> &str {
    match unraw(module) {
        "mod" => "mod_",
        other => other,
    }
}

/// The `#[path]` a module declaration needs, if any, relative to the declaring file's directory:
/// `parent` is the module whose file declares `module` (empty for the tree's root, `src/gen/mod.rs`).
/// A module named `mod` lives in `mod_.rs` (see [`file_stem`]), so rustc cannot find it by its
/// name, and rustc looks for the children of a file loaded with `#[path]` next to it rather than
/// in its directory, so every module under one named `mod` needs a `#[path]` too
/// (`mod_/v1.rs`).
pub fn module_path_attribute(parent: &[String], module: &str) -> Option<String> {
    let renamed = |m: &str| file_stem(m) != unraw(m);
    if !renamed(module) && !parent.iter().any(|p| renamed(p)) {
        return None;
    }
    Some(match parent.last() {
        None => format!("{}.rs", file_stem(module)),
        Some(last) => format!("{}/{}.rs", file_stem(last), file_stem(module)),
    })
}

/// Whether crates.io accepts `name` as a crate name: ASCII letters, digits, `-` and `_`, starting
/// with a letter, at most 64 characters, and neither a keyword nor a reserved name once `-`
/// becomes `_`.
pub fn is_crate_name(name: &str) -> bool {
    let lib = lib_name(name);
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !KEYWORDS.contains(&lib.as_str())
        && !NOT_RAW.contains(&lib.as_str())
        && !RESERVED_CRATES.contains(&lib.as_str())
}

/// The library (import) name of a crate: `micro-client` → `micro_client`.
pub fn lib_name(crate_name: &str) -> String {
    crate_name.replace('-', "_")
}

/// Turns proto comment lines (markers removed, dedented) into rustdoc Markdown lines that
/// `cargo doc` and `cargo test --doc` accept whatever the comment says:
///
/// - code blocks (fenced, or indented by four spaces after a blank line) become ```` ```text ````
///   blocks, so they are shown as written and never compiled as doctests;
/// - outside code, `[`, `]` and `<` are escaped (no broken intra-doc links, no stray HTML tags)
///   and bare `http(s)://` URLs become autolinks;
/// - inline code spans (`` `...` ``) are left alone.
pub fn rustdoc_lines(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None; // the closing marker of the open fenced block
    let mut indented = false; // inside an indented code block turned into a fence
    let mut previous_blank = true;
    for line in lines {
        let trimmed = line.trim_start();
        if let Some(marker) = &fence {
            if trimmed.starts_with(marker.as_str()) {
                out.push(marker.clone());
                fence = None;
            } else {
                out.push(line.clone());
            }
            previous_blank = false;
            continue;
        }
        if indented {
            if line.trim().is_empty() || line.starts_with("    ") || line.starts_with('\t') {
                out.push(line.strip_prefix("    ").or_else(|| line.strip_prefix('\t')).unwrap_or("").to_owned());
                continue;
            }
            close_indented(&mut out);
            indented = false;
            previous_blank = true;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let marker: String = trimmed.chars().take_while(|&c| c == '`' || c == '~').collect();
            out.push(format!("{marker}text"));
            fence = Some(marker);
            previous_blank = false;
            continue;
        }
        if previous_blank && !line.trim().is_empty() && (line.starts_with("    ") || line.starts_with('\t')) {
            out.push("```text".to_owned());
            out.push(line.strip_prefix("    ").or_else(|| line.strip_prefix('\t')).unwrap_or("").to_owned());
            indented = true;
            continue;
        }
        previous_blank = line.trim().is_empty();
        out.push(escape_markdown(line));
    }
    if indented {
        close_indented(&mut out);
    }
    if let Some(marker) = fence {
        out.push(marker);
    }
    out
}

/// Closes an indented block turned into a fence, keeping its trailing blank lines outside.
fn close_indented(out: &mut Vec<String>) {
    let mut blanks = 0;
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
        blanks += 1;
    }
    out.push("```".to_owned());
    out.extend(std::iter::repeat_n(String::new(), blanks));
}

/// Escapes one line of Markdown text outside code spans (see [`rustdoc_lines`]).
fn escape_markdown(line: &str) -> String {
    let ticks = line.matches('`').count();
    let mut out = String::with_capacity(line.len() + 8);
    for (i, part) in line.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 && i < ticks {
            out.push_str(part); // inside a closed code span
            continue;
        }
        let mut rest = part;
        while !rest.is_empty() {
            let Some(at) = ["https://", "http://"].iter().filter_map(|p| rest.find(p)).min() else {
                escape_text(rest, &mut out);
                break;
            };
            let end = rest[at..]
                .find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '\'' | ']' | '<' | '`'))
                .map_or(rest.len(), |e| at + e);
            let url = rest[at..end].trim_end_matches(['.', ',', ';', ':']);
            let text = &rest[..at];
            let after = &rest[at + url.len()..];
            if let (Some(before), Some(after)) = (text.strip_suffix('<'), after.strip_prefix('>')) {
                escape_text(before, &mut out); // already an autolink
                rest = after;
            } else {
                escape_text(text, &mut out);
                rest = after;
            }
            out.push('<');
            out.push_str(url);
            out.push('>');
        }
    }
    out
}

/// Escapes the characters rustdoc would read as a link or an HTML tag.
fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '<' => out.push_str("&lt;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn sanitizes_like_prost() {
        for kw in KEYWORDS {
            assert_eq!(sanitize(kw), format!("r#{kw}"));
        }
        for kw in NOT_RAW {
            assert_eq!(sanitize(kw), format!("{kw}_"));
        }
        assert_eq!(sanitize("0day"), "_0day");
        assert_eq!(sanitize("store"), "store");
        assert_eq!(to_snake("AddToBlockList"), "add_to_block_list");
        assert_eq!(to_snake("Type"), "r#type");
        assert_eq!(to_snake("Self"), "self_");
    }

    #[test]
    fn converts_like_prost() {
        assert_eq!(to_upper_camel("foo_bar"), "FooBar");
        assert_eq!(to_upper_camel("FOO_BAR"), "FooBar");
        assert_eq!(to_upper_camel("Vec_"), "Vec");
        assert_eq!(to_upper_camel("self"), "Self_");
        assert_eq!(to_upper_camel("foo_bar2"), "FooBar2");
        assert_eq!(to_upper_camel("RED_2"), "Red2");
        assert_eq!(to_snake("FooBar2"), "foo_bar2");
        assert_eq!(to_snake("FOO_BAR"), "foo_bar");
        assert_eq!(to_snake("type2"), "type2");
        assert_eq!(strip_enum_prefix("Color", "ColorRed"), "Red");
        assert_eq!(strip_enum_prefix("Color", "Colorful"), "Colorful");
        assert_eq!(strip_enum_prefix("Color", "ColorSelf"), "Self_");
        assert_eq!(strip_enum_prefix("Color", "Color2"), "Color2");
        assert_eq!(numbered("foo_bar", 1), "foo_bar");
        assert_eq!(numbered("foo_bar", 2), "foo_bar2");
        assert_eq!(numbered("r#type", 3), "type3");
        assert_eq!(numbered("Self_", 2), "Self_2");
    }

    #[test]
    fn reserved_lists_are_sorted_and_unique() {
        for list in [KEYWORDS, RESERVED_ACCESSORS, TONIC_SERVER_NAMES, TONIC_CLIENT_METHODS, PRIMITIVES] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
        // Each tonic server name is a Rust type name prost could give a service.
        for name in TONIC_SERVER_NAMES {
            assert_eq!(to_upper_camel(name), *name);
        }
        for name in TONIC_CLIENT_METHODS {
            assert_eq!(to_snake(name), *name);
        }
    }

    #[test]
    fn module_files() {
        assert_eq!((file_stem("store"), file_stem("r#type"), file_stem("self_")), ("store", "type", "self_"));
        assert_eq!(file_stem("r#mod"), "mod_");
        let parts = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(module_path_attribute(&[], "r#mod").as_deref(), Some("mod_.rs"));
        assert_eq!(module_path_attribute(&[], "r#type"), None);
        assert_eq!(module_path_attribute(&parts(&["wire"]), "r#mod").as_deref(), Some("wire/mod_.rs"));
        assert_eq!(module_path_attribute(&parts(&["wire"]), "v1"), None);
        assert_eq!(module_path_attribute(&parts(&["r#mod"]), "v1").as_deref(), Some("mod_/v1.rs"));
        assert_eq!(module_path_attribute(&parts(&["r#mod", "v1"]), "x").as_deref(), Some("v1/x.rs"));
        assert_eq!(to_snake("mod_"), "r#mod", "no package's module is named mod_");
    }

    #[test]
    fn tonic_module_names() {
        assert_eq!(naive_snake_case("BlobStore"), "blob_store");
        assert_eq!(naive_snake_case("Store"), "store");
        assert_eq!(naive_snake_case("ShopService"), "shop_service");
        assert_eq!(naive_snake_case("API"), "a_p_i");
    }

    #[test]
    fn accessors_avoid_micro_members_and_keywords() {
        assert_eq!(accessor("BlobStore"), "blob_store");
        assert_eq!(accessor("EventsStore"), "events_store");
        assert_eq!(accessor("Connect"), "connect_");
        assert_eq!(accessor("Transport"), "transport_");
        assert_eq!(accessor("Builder"), "builder_");
        assert_eq!(accessor("Type"), "r#type");
        assert_eq!(accessor("Self"), "self_");
    }

    #[test]
    fn crate_names() {
        assert!(is_crate_name("micro-client") && is_crate_name("acme_micro2"));
        assert!(!is_crate_name("") && !is_crate_name("2micro") && !is_crate_name("@micro/sdk"));
        assert!(!is_crate_name("a.b") && !is_crate_name("type") && !is_crate_name("std") && !is_crate_name("self"));
        assert!(!is_crate_name(&"a".repeat(65)));
        assert_eq!(lib_name("micro-client"), "micro_client");
        assert_eq!(unraw("r#type"), "type");
        assert_eq!(unraw("store"), "store");
    }

    #[test]
    fn rustdoc_escapes_outside_code() {
        assert_eq!(
            rustdoc_lines(&lines("See [the docs] at https://micro.dev/docs. Use `a[0] <b>` or <T>.")),
            ["See \\[the docs\\] at <https://micro.dev/docs>. Use `a[0] <b>` or &lt;T>."]
        );
        assert_eq!(rustdoc_lines(&lines("<https://a.b/c> and (http://x.y)")), ["<https://a.b/c> and (<http://x.y>)"]);
        assert_eq!(rustdoc_lines(&lines("an unclosed `span [x]")), ["an unclosed `span \\[x\\]"]);
    }

    #[test]
    fn rustdoc_code_blocks_are_text() {
        let got = rustdoc_lines(&lines("Example:\n\n    let x = [1];\n      y\n\nafter [a]"));
        assert_eq!(got, ["Example:", "", "```text", "let x = [1];", "  y", "```", "", "after \\[a\\]"]);
        let got = rustdoc_lines(&lines("```go\nx := []int{}\n```\ntext"));
        assert_eq!(got, ["```text", "x := []int{}", "```", "text"]);
        // An indented line continuing a paragraph is not code.
        assert_eq!(rustdoc_lines(&lines("a\n    b")), ["a", "    b"]);
        // An unclosed fence is closed.
        assert_eq!(rustdoc_lines(&lines("~~~\nx")), ["~~~text", "x", "~~~"]);
    }
}
