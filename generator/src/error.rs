//! The error type of micro-gen.
//!
//! Like protox, the public [`Error`] is opaque: callers branch on predicates such as
//! [`Error::is_proto`], never on variants. Every error is a [`miette::Diagnostic`]; errors in
//! `.proto` sources carry the source and a labelled span, so a terminal renders them with
//! `file:line:col`, the offending line and a caret.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error as ThisError;

/// An error raised while loading protos, building the model, rendering templates or writing files.
#[derive(Debug, ThisError, Diagnostic)]
#[error(transparent)]
#[diagnostic(transparent)]
pub struct Error {
    kind: Box<ErrorKind>,
}

#[derive(Debug, ThisError, Diagnostic)]
pub(crate) enum ErrorKind {
    /// A protox error: parse errors, unresolved imports, duplicate names. Carries its own spans.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Proto(protox::Error),

    /// An error that points into a `.proto` file: editions, unsafe names or options.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Located(Box<crate::validate::SourceDiagnostic>),

    #[error("unsupported proto feature in '{file}': {what}")]
    #[diagnostic(help("micro-gen supports proto2 and proto3 files; remove or replace the feature"))]
    Unsupported { file: String, what: String },

    #[error("invalid template '{name}'")]
    #[diagnostic(help("fix the template syntax; templates are handlebars in strict mode"))]
    Template {
        name: String,
        #[source]
        source: Box<handlebars::TemplateError>,
    },

    #[error("failed to render template '{name}': {message}")]
    #[diagnostic(help("a template referenced a value the view model does not have, or a helper failed"))]
    Render { name: String, message: String },

    #[error("unsafe output path '{path}'")]
    #[diagnostic(help(
        "generated paths must be relative, without '..' or absolute components, so nothing is written outside --out"
    ))]
    UnsafePath { path: String },

    #[error("{action} '{path}'")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid configuration in '{path}'")]
    #[diagnostic(help("see README.md for the keys micro-gen.toml accepts"))]
    Config {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },

    #[error("invalid option: {message}")]
    Invalid { message: String },

    #[error("{language}: {name} {version} is already on {registry}; nothing was uploaded")]
    #[diagnostic(help(
        "bump the version (micro-gen.toml `version` or --version), regenerate with `micro-gen sdk`, then publish"
    ))]
    AlreadyPublished { language: String, name: String, version: String, registry: String },

    #[error("{message}")]
    Tool { message: String },
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error { kind: Box::new(kind) }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::new(ErrorKind::Io { action, path: path.into(), source })
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Invalid { message: message.into() })
    }

    pub(crate) fn tool(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Tool { message: message.into() })
    }

    pub(crate) fn already_published(language: &str, name: &str, version: &str, registry: &str) -> Self {
        Error::new(ErrorKind::AlreadyPublished {
            language: language.to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
            registry: registry.to_owned(),
        })
    }

    pub(crate) fn unsupported(file: impl Into<String>, what: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported { file: file.into(), what: what.into() })
    }

    /// True when the error comes from compiling `.proto` sources (syntax, imports, names).
    pub fn is_proto(&self) -> bool {
        match &*self.kind {
            ErrorKind::Proto(_) => true,
            ErrorKind::Located(d) => d.kind() == crate::validate::Kind::Syntax,
            _ => false,
        }
    }

    /// True when the input uses a proto feature micro-gen does not support.
    pub fn is_unsupported(&self) -> bool {
        match &*self.kind {
            ErrorKind::Unsupported { .. } => true,
            ErrorKind::Located(d) => d.kind() == crate::validate::Kind::Unsupported,
            _ => false,
        }
    }

    /// True when a name in the input (a message, field, service or method name from a
    /// descriptor set) is not a proto identifier.
    pub fn is_invalid_name(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Located(d) if d.kind() == crate::validate::Kind::InvalidName)
    }

    /// True when a template failed to parse or render.
    pub fn is_template(&self) -> bool {
        matches!(*self.kind, ErrorKind::Template { .. } | ErrorKind::Render { .. })
    }

    /// True when a generated path would escape the output directory, or a name or file option of
    /// the input (`go_package`, `java_package`, a package or file name, ...) could make one.
    pub fn is_unsafe_path(&self) -> bool {
        match &*self.kind {
            ErrorKind::UnsafePath { .. } => true,
            ErrorKind::Located(d) => d.kind() == crate::validate::Kind::Containment,
            _ => false,
        }
    }

    /// True when publishing stopped because the registry already has the version.
    pub fn is_already_published(&self) -> bool {
        matches!(*self.kind, ErrorKind::AlreadyPublished { .. })
    }

    /// True when a packaging or publishing tool (npm, twine, cargo, gem, mvn) failed or is missing.
    pub fn is_tool(&self) -> bool {
        matches!(*self.kind, ErrorKind::Tool { .. })
    }

    /// True when reading or writing a file failed.
    pub fn is_io(&self) -> bool {
        matches!(*self.kind, ErrorKind::Io { .. })
    }
}

impl From<protox::Error> for Error {
    fn from(error: protox::Error) -> Self {
        Error::new(ErrorKind::Proto(error))
    }
}

/// The result type of micro-gen's library functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;
