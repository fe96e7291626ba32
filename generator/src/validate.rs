//! Checks on a loaded descriptor set that run before any language renders.
//!
//! Generated SDKs turn proto file names, package names and file options (`go_package`,
//! `java_package`, `ruby_package`, ...) into directories and file names. [`check`] rejects every
//! value that could make a generator write outside `--out` (`..` segments, absolute paths,
//! backslashes, NUL, drive prefixes) and every type, field or service name that is not a proto
//! identifier (possible only in descriptor sets that did not come from protox), with an error that
//! names the file, the option and its `line:col`.
//!
//! Diagnostics are [`SourceDiagnostic`]s: when the file's source text is known (it always is for
//! files compiled from `.proto` sources) they render with `file:line:col`, the offending line and
//! a caret under the offending statement; otherwise the location is part of the message.
//! [`extension_warnings`] produces the warnings for proto2 extensions, which are accepted and
//! ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

use crate::error::{Error, ErrorKind, Result};
use crate::load::Loaded;

/// What a [`SourceDiagnostic`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A proto feature micro-gen cannot generate code for (protobuf editions).
    Unsupported,
    /// Invalid `.proto` source that protox reported without a location (end of file, invalid
    /// UTF-8, import cycles).
    Syntax,
    /// A name or option that would make a generator write outside the output directory.
    Containment,
    /// A name that is not a valid proto identifier.
    InvalidName,
    /// A feature that is accepted and ignored (proto2 extensions); always a warning.
    Ignored,
}

/// A diagnostic that points into a `.proto` file: an error (unsupported feature, unsafe option)
/// or a warning (an ignored extension).
///
/// As a [`miette::Diagnostic`] it carries the file's source and a labelled span, so a report
/// shows `file:line:col`, the line and a caret. [`SourceDiagnostic::line`] and
/// [`SourceDiagnostic::column`] give the 1-based position for programmatic use.
#[derive(Debug, Clone)]
pub struct SourceDiagnostic {
    kind: Kind,
    file: String,
    /// 1-based line and column (in bytes), when the descriptor has source info for the element.
    position: Option<(usize, usize)>,
    message: String,
    label: String,
    help: Option<String>,
    source: Option<NamedSource<Arc<str>>>,
    span: Option<SourceSpan>,
}

impl SourceDiagnostic {
    /// The name of the file the diagnostic is about (as in `FileDescriptorProto.name`).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line of the offending element, if the descriptor had source info for it.
    pub fn line(&self) -> Option<usize> {
        self.position.map(|p| p.0)
    }

    /// The 1-based column (in bytes) of the offending element, if known.
    pub fn column(&self) -> Option<usize> {
        self.position.map(|p| p.1)
    }

    /// The message without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for warnings (the input is accepted), false for errors.
    pub fn is_warning(&self) -> bool {
        self.kind == Kind::Ignored
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }
}

impl fmt::Display for SourceDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // With source text the report header shows `file:line:col`; without it the message does.
        match (&self.source, self.position) {
            (None, Some((line, col))) => write!(f, "{}:{line}:{col}: {}", self.file, self.message),
            (None, None) => write!(f, "{}: {}", self.file, self.message),
            (Some(_), _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SourceDiagnostic {}

impl miette::Diagnostic for SourceDiagnostic {
    fn severity(&self) -> Option<Severity> {
        Some(if self.is_warning() { Severity::Warning } else { Severity::Error })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.span.and(self.source.as_ref()).map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(Some(self.label.clone()), span))))
    }
}

impl From<SourceDiagnostic> for Error {
    fn from(d: SourceDiagnostic) -> Self {
        Error::new(ErrorKind::Located(Box::new(d)))
    }
}

/// Source texts by file name, as recorded while loading.
pub(crate) type Sources = BTreeMap<String, Arc<str>>;

/// Builds diagnostics for one file: finds source info spans and turns them into byte spans.
pub(crate) struct Locator<'a> {
    file: &'a FileDescriptorProto,
    source: Option<&'a Arc<str>>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(file: &'a FileDescriptorProto, sources: &'a Sources) -> Self {
        Locator { file, source: sources.get(file.name()) }
    }

    /// A diagnostic at the element with source info path `path` (or at the file if it has none).
    pub(crate) fn diagnostic(
        &self,
        kind: Kind,
        path: &[i32],
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<&str>,
    ) -> SourceDiagnostic {
        let location = self
            .file
            .source_code_info
            .as_ref()
            .and_then(|info| info.location.iter().find(|l| l.path == path))
            .and_then(|l| span_lines(&l.span));
        let position = location.map(|(line, col, _, _)| (line + 1, col + 1));
        let span = match (self.source, location) {
            (Some(text), Some(lines)) => byte_span(text, lines),
            _ => None,
        };
        SourceDiagnostic {
            kind,
            file: self.file.name().to_owned(),
            position,
            message: message.into(),
            label: label.into(),
            help: help.map(str::to_owned),
            source: span.and(self.source).map(|text| NamedSource::new(self.file.name(), Arc::clone(text))),
            span,
        }
    }

    /// A diagnostic at a byte range of the file's source (for errors found before compiling).
    pub(crate) fn at_bytes(
        kind: Kind,
        file: &str,
        text: &Arc<str>,
        range: std::ops::Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<&str>,
    ) -> SourceDiagnostic {
        let start = floor_char_boundary(text, range.start.min(text.len()));
        let mut end = floor_char_boundary(text, range.end.clamp(start, text.len()));
        if end == start {
            end = text[start..].chars().next().map_or(start, |c| start + c.len_utf8());
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line = text[..start].matches('\n').count() + 1;
        SourceDiagnostic {
            kind,
            file: file.to_owned(),
            position: Some((line, start - line_start + 1)),
            message: message.into(),
            label: label.into(),
            help: help.map(str::to_owned),
            source: Some(NamedSource::new(file, Arc::clone(text))),
            span: Some(SourceSpan::from(start..end)),
        }
    }
}

/// A source info span (`[line, col, end_col]` or `[line, col, end_line, end_col]`, 0-based) as
/// `(line, col, end_line, end_col)`; `None` when malformed.
fn span_lines(span: &[i32]) -> Option<(usize, usize, usize, usize)> {
    let u = |v: i32| usize::try_from(v).ok();
    match *span {
        [line, col, end_col] => Some((u(line)?, u(col)?, u(line)?, u(end_col)?)),
        [line, col, end_line, end_col] => Some((u(line)?, u(col)?, u(end_line)?, u(end_col)?)),
        _ => None,
    }
}

/// Byte range of a source info span in `text` (protox counts columns in bytes, lines split at
/// `\n`), never empty when the line has text, clamped to the text and to char boundaries.
fn byte_span(text: &str, (line, col, end_line, end_col): (usize, usize, usize, usize)) -> Option<SourceSpan> {
    let offset = |line: usize, col: usize| -> Option<usize> {
        let start = if line == 0 { 0 } else { text.match_indices('\n').nth(line - 1)?.0 + 1 };
        let line_len = text[start..].find('\n').unwrap_or(text.len() - start);
        Some(floor_char_boundary(text, start + col.min(line_len)))
    };
    let start = offset(line, col)?;
    let mut end = offset(end_line, end_col).unwrap_or(start).max(start);
    if end == start {
        end = text[start..].chars().next().map_or(start, |c| start + c.len_utf8());
    }
    Some(SourceSpan::from(start..end))
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

// Field numbers in descriptor.proto, for source info paths.
const FILE_PACKAGE: i32 = 2;
const FILE_MESSAGE: i32 = 4;
const FILE_ENUM: i32 = 5;
const FILE_SERVICE: i32 = 6;
const FILE_EXTENSION: i32 = 7;
const FILE_OPTIONS: i32 = 8;
const MESSAGE_NAME: i32 = 1;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_ENUM: i32 = 4;
const MESSAGE_EXTENSION: i32 = 6;
const MESSAGE_ONEOF: i32 = 8;
const FIELD_NAME: i32 = 1;
const ENUM_VALUE: i32 = 2;
const SERVICE_METHOD: i32 = 2;

/// How an option value is split into the parts that become directories or identifiers.
#[derive(Clone, Copy)]
enum Shape {
    /// A Go import path, `/`-separated, optionally followed by `;name`.
    GoImportPath,
    /// Segments separated by `.` (Java, C# and proto packages).
    Dotted,
    /// Segments separated by `::` (Ruby modules).
    RubyModules,
    /// Segments separated by `\` (PHP namespaces).
    PhpNamespace,
    /// One name without separators (class names and prefixes).
    Single,
}

/// The file options whose values generators may turn into paths: (name, field number, shape).
const PATH_OPTIONS: &[(&str, i32, Shape)] = &[
    ("java_package", 1, Shape::Dotted),
    ("java_outer_classname", 8, Shape::Single),
    ("go_package", 11, Shape::GoImportPath),
    ("objc_class_prefix", 36, Shape::Single),
    ("csharp_namespace", 37, Shape::Dotted),
    ("swift_prefix", 39, Shape::Single),
    ("php_class_prefix", 40, Shape::Single),
    ("php_namespace", 41, Shape::PhpNamespace),
    ("php_metadata_namespace", 44, Shape::PhpNamespace),
    ("ruby_package", 45, Shape::RubyModules),
];

const CONTAINMENT_HELP: &str = "names and options become directories and file names in the generated SDKs; use a \
     relative value without '..' or '.' segments, a leading '/', backslashes, ':' or control characters, so \
     nothing is written outside --out";

/// Why `value` could name a path outside the output directory, or `None` when it is safe.
fn path_problem(value: &str, shape: Shape) -> Option<&'static str> {
    if value.contains('\0') {
        return Some("contains a NUL character");
    }
    if value.chars().any(char::is_control) {
        return Some("contains a control character");
    }
    if !matches!(shape, Shape::PhpNamespace) && value.contains('\\') {
        return Some("contains a backslash");
    }
    if value.starts_with('/') || value.starts_with('\\') {
        return Some("is an absolute path");
    }
    let bytes = value.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some("starts with a drive prefix");
    }
    let segments: Vec<&str> = match shape {
        Shape::GoImportPath => {
            let path = value.split(';').next().unwrap_or_default();
            if value.split(';').nth(1).is_some_and(|name| name.contains(['/', '.', ':'])) {
                return Some("has a package name after ';' that is not an identifier");
            }
            if path.contains(':') {
                return Some("contains ':'");
            }
            path.split('/').collect()
        }
        Shape::Dotted => {
            if value.contains(['/', ':']) {
                return Some("contains '/' or ':'");
            }
            value.split('.').collect()
        }
        Shape::RubyModules => {
            if value.contains('/') {
                return Some("contains '/'");
            }
            value.split("::").collect()
        }
        Shape::PhpNamespace => {
            if value.contains(['/', ':']) {
                return Some("contains '/' or ':'");
            }
            value.split('\\').collect()
        }
        Shape::Single => {
            if value.contains(['/', ':', '.']) {
                return Some("contains '/', ':' or '.'");
            }
            vec![value]
        }
    };
    if value.contains("..") {
        return Some("contains '..'");
    }
    if segments.contains(&".") {
        return Some("contains a '.' path segment");
    }
    if !value.is_empty() && segments.iter().any(|s| s.is_empty()) {
        return Some("has an empty segment");
    }
    None
}

/// Why a file name is not a safe relative path, or `None`.
fn file_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.contains('\0') {
        return Some("contains a NUL character");
    }
    if name.chars().any(char::is_control) {
        return Some("contains a control character");
    }
    if name.contains('\\') {
        return Some("contains a backslash");
    }
    if name.starts_with('/') {
        return Some("is an absolute path");
    }
    if name.contains(':') {
        return Some("contains ':'");
    }
    for segment in name.split('/') {
        match segment {
            "" => return Some("has an empty path segment"),
            "." | ".." => return Some("has a '.' or '..' path segment"),
            _ => {}
        }
    }
    None
}

/// True for a proto identifier: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks every file of `loaded` (imports included) before generation.
///
/// # Errors
///
/// [`Error::is_unsafe_path`] when a file name, package name or path-like file option
/// (`go_package`, `java_package`, `java_outer_classname`, `ruby_package`, `csharp_namespace`,
/// `php_namespace`, `php_metadata_namespace`, `objc_class_prefix`, `swift_prefix`,
/// `php_class_prefix`) could make a generator write outside the output directory;
/// [`Error::is_invalid_name`] when a message, enum, field, oneof, service or method name is not a
/// proto identifier. The first problem found is reported, pointing at `file:line:col`.
pub fn check(loaded: &Loaded) -> Result<()> {
    for file in &loaded.set.file {
        check_file(file, &loaded.sources)?;
    }
    Ok(())
}

fn check_file(file: &FileDescriptorProto, sources: &Sources) -> Result<()> {
    let at = Locator::new(file, sources);
    let name = file.name();
    if let Some(problem) = file_name_problem(name) {
        return Err(at
            .diagnostic(
                Kind::Containment,
                &[],
                format!("file name {name:?} {problem}: it would be written outside the output directory"),
                "in this file",
                Some(CONTAINMENT_HELP),
            )
            .into());
    }
    let package = file.package();
    if !package.is_empty() {
        let problem = path_problem(package, Shape::Dotted).or_else(|| {
            (!package.split('.').all(is_identifier)).then_some("is not a dot-separated list of identifiers")
        });
        if let Some(problem) = problem {
            return Err(at
                .diagnostic(
                    Kind::Containment,
                    &[FILE_PACKAGE],
                    format!("package name {package:?} in '{name}' {problem}: it could be written outside the output directory"),
                    "package declared here",
                    Some(CONTAINMENT_HELP),
                )
                .into());
        }
    }
    if let Some(options) = &file.options {
        let values = [
            &options.java_package,
            &options.java_outer_classname,
            &options.go_package,
            &options.objc_class_prefix,
            &options.csharp_namespace,
            &options.swift_prefix,
            &options.php_class_prefix,
            &options.php_namespace,
            &options.php_metadata_namespace,
            &options.ruby_package,
        ];
        for ((option, number, shape), value) in PATH_OPTIONS.iter().zip(values) {
            let Some(value) = value else { continue };
            if let Some(problem) = path_problem(value, *shape) {
                return Err(at
                    .diagnostic(
                        Kind::Containment,
                        &[FILE_OPTIONS, *number],
                        format!(
                            "option {option} = {value:?} in '{name}' {problem}: it could make a generator write outside the output directory"
                        ),
                        format!("{option} set here"),
                        Some(CONTAINMENT_HELP),
                    )
                    .into());
            }
        }
    }
    check_names(file, &at)
}

/// Every declared name must be an identifier (protox guarantees it for sources; a descriptor set
/// from elsewhere may hold anything).
fn check_names(file: &FileDescriptorProto, at: &Locator<'_>) -> Result<()> {
    let bad = |path: Vec<i32>, what: &str, name: &str| -> Error {
        at.diagnostic(
            Kind::InvalidName,
            &path,
            format!("{what} name {name:?} in '{}' is not a proto identifier", file.name()),
            "declared here",
            Some("names must match [A-Za-z_][A-Za-z0-9_]*"),
        )
        .into()
    };
    fn enums(list: &[EnumDescriptorProto], path: &[i32], bad: &dyn Fn(Vec<i32>, &str, &str) -> Error) -> Result<()> {
        for (i, e) in list.iter().enumerate() {
            let p = [path, &[i as i32]].concat();
            if !is_identifier(e.name()) {
                return Err(bad(p, "enum", e.name()));
            }
            for (j, v) in e.value.iter().enumerate() {
                if !is_identifier(v.name()) {
                    return Err(bad([&p[..], &[ENUM_VALUE, j as i32]].concat(), "enum value", v.name()));
                }
            }
        }
        Ok(())
    }
    fn messages(list: &[DescriptorProto], path: &[i32], bad: &dyn Fn(Vec<i32>, &str, &str) -> Error) -> Result<()> {
        for (i, m) in list.iter().enumerate() {
            let p = [path, &[i as i32]].concat();
            if !is_identifier(m.name()) {
                return Err(bad([&p[..], &[MESSAGE_NAME]].concat(), "message", m.name()));
            }
            for (j, f) in m.field.iter().enumerate() {
                if !is_identifier(f.name()) {
                    return Err(bad([&p[..], &[MESSAGE_FIELD, j as i32, FIELD_NAME]].concat(), "field", f.name()));
                }
            }
            for (j, o) in m.oneof_decl.iter().enumerate() {
                if !is_identifier(o.name()) {
                    return Err(bad([&p[..], &[MESSAGE_ONEOF, j as i32]].concat(), "oneof", o.name()));
                }
            }
            messages(&m.nested_type, &[&p[..], &[MESSAGE_NESTED]].concat(), bad)?;
            enums(&m.enum_type, &[&p[..], &[MESSAGE_ENUM]].concat(), bad)?;
        }
        Ok(())
    }
    messages(&file.message_type, &[FILE_MESSAGE], &bad)?;
    enums(&file.enum_type, &[FILE_ENUM], &bad)?;
    for (i, s) in file.service.iter().enumerate() {
        if !is_identifier(s.name()) {
            return Err(bad(vec![FILE_SERVICE, i as i32], "service", s.name()));
        }
        for (j, m) in s.method.iter().enumerate() {
            if !is_identifier(m.name()) {
                return Err(bad(vec![FILE_SERVICE, i as i32, SERVICE_METHOD, j as i32], "method", m.name()));
            }
        }
    }
    Ok(())
}

/// One warning per proto2 extension field (`extend Foo { ... }`) declared in a file code is
/// generated for: extensions are accepted and ignored. Imported files are not reported.
pub(crate) fn extension_warnings(loaded: &Loaded) -> Vec<SourceDiagnostic> {
    let mut warnings = Vec::new();
    for file in loaded.set.file.iter().filter(|f| loaded.targets.iter().any(|t| t == f.name())) {
        let at = Locator::new(file, &loaded.sources);
        let mut warn = |path: Vec<i32>, field: &prost_types::FieldDescriptorProto| {
            warnings.push(at.diagnostic(
                Kind::Ignored,
                &path,
                format!(
                    "extensions are not supported, ignored: '{}' extends '{}'",
                    field.name(),
                    field.extendee().trim_start_matches('.')
                ),
                "extension ignored",
                Some(
                    "the generated SDKs have no typed accessors for extension fields (the Go SDK declares them as \
                     protoc-gen-go does); their values stay unknown fields",
                ),
            ));
        };
        for (i, f) in file.extension.iter().enumerate() {
            warn(vec![FILE_EXTENSION, i as i32], f);
        }
        let mut stack: Vec<(Vec<i32>, &DescriptorProto)> =
            file.message_type.iter().enumerate().map(|(i, m)| (vec![FILE_MESSAGE, i as i32], m)).collect();
        while let Some((path, m)) = stack.pop() {
            for (i, f) in m.extension.iter().enumerate() {
                warn([&path[..], &[MESSAGE_EXTENSION, i as i32]].concat(), f);
            }
            for (i, n) in m.nested_type.iter().enumerate() {
                stack.push(([&path[..], &[MESSAGE_NESTED, i as i32]].concat(), n));
            }
        }
    }
    warnings.sort_by_key(|w| (w.file.clone(), w.position));
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_problems() {
        for (value, shape) in [
            ("example.com/acme/v1;acmev1", Shape::GoImportPath),
            ("github.com/a/b", Shape::GoImportPath),
            ("com.acme.v1", Shape::Dotted),
            ("Acme::V1", Shape::RubyModules),
            ("Acme\\V1", Shape::PhpNamespace),
            ("AcmeProto", Shape::Single),
        ] {
            assert_eq!(path_problem(value, shape), None, "{value}");
        }
        for (value, shape) in [
            ("../../evil", Shape::GoImportPath),
            ("/abs/path", Shape::GoImportPath),
            ("a/./b", Shape::GoImportPath),
            ("a\\b", Shape::GoImportPath),
            ("C:/x", Shape::GoImportPath),
            ("a/b;../x", Shape::GoImportPath),
            ("com..evil", Shape::Dotted),
            ("com/evil", Shape::Dotted),
            ("a\0b", Shape::Dotted),
            ("Acme::../x", Shape::RubyModules),
            ("../Acme", Shape::RubyModules),
            ("\\Acme", Shape::PhpNamespace),
            ("Acme\\..\\x", Shape::PhpNamespace),
            ("../Outer", Shape::Single),
        ] {
            assert!(path_problem(value, shape).is_some(), "{value:?} accepted");
        }
    }

    #[test]
    fn well_known_types_and_usual_option_values_pass() {
        let wkt = [
            "any",
            "api",
            "descriptor",
            "duration",
            "empty",
            "field_mask",
            "source_context",
            "struct",
            "timestamp",
            "type",
            "wrappers",
            "compiler/plugin",
        ];
        let imports: String = wkt.iter().map(|n| format!("import \"google/protobuf/{n}.proto\";\n")).collect();
        let source = format!(
            "syntax = \"proto3\";\npackage google.cloud.acme.v1;\n{imports}\
             option go_package = \"cloud.google.com/go/acme/apiv1/acmepb;acmepb\";\n\
             option java_package = \"com.google.cloud.acme.v1\";\noption java_outer_classname = \"AcmeProto\";\n\
             option csharp_namespace = \"Google.Cloud.Acme.V1\";\noption php_namespace = \"Google\\\\Cloud\\\\Acme\\\\V1\";\n\
             option ruby_package = \"Google::Cloud::Acme::V1\";\noption objc_class_prefix = \"GCA\";\n\
             message M {{ google.protobuf.Timestamp at = 1; }}\n"
        );
        let loaded =
            crate::load::load(&crate::load::ProtoSource::Memory { files: vec![("acme.proto".into(), source)] })
                .unwrap();
        assert!(loaded.set.file.len() > wkt.len());
        check(&loaded).unwrap();
        crate::load::load(&crate::load::ProtoSource::Bundled).map(|l| check(&l).unwrap()).unwrap();
    }

    #[test]
    fn file_name_problems() {
        assert_eq!(file_name_problem("a/b/c.proto"), None);
        for name in ["", "/etc/x.proto", "../x.proto", "a/../x.proto", "a\\x.proto", "a//x.proto", "c:x", "x\0"] {
            assert!(file_name_problem(name).is_some(), "{name:?} accepted");
        }
    }

    #[test]
    fn byte_spans_follow_protox_columns() {
        let text = "ab\ncdé\nf";
        assert_eq!(byte_span(text, (1, 1, 1, 4)), Some(SourceSpan::from(4..7)));
        // an end inside 'é' rounds down to a char boundary
        assert_eq!(byte_span(text, (1, 1, 1, 3)), Some(SourceSpan::from(4..5)));
        // clamped to the line, widened to one character, kept on char boundaries
        assert_eq!(byte_span(text, (1, 3, 1, 3)), Some(SourceSpan::from(5..7)));
        assert_eq!(byte_span(text, (2, 9, 2, 9)), Some(SourceSpan::from(9..9)));
        assert_eq!(byte_span(text, (7, 0, 7, 1)), None);
        assert_eq!(span_lines(&[1, -2, 3]), None);
        assert_eq!(span_lines(&[1]), None);
    }
}
