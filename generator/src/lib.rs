//! micro-gen: client SDKs for Micro's gRPC core services, or any protos, in several languages.
//!
//! Generation runs in three stages, each a plain function:
//!
//! 1. [`load::load`] compiles `.proto` sources with protox into a descriptor set (source info
//!    included, so comments become docs). The Micro core protos are bundled.
//! 2. [`model::Model::build`] checks the descriptor set ([`validate::check`]: nothing may name a
//!    path outside `--out`) and turns it into a language-neutral model: files, services, methods
//!    with their streaming kind, messages, fields, enums, comments.
//! 3. [`lang::Language::plan`] builds a language's view model (idiomatic, escaped names, import
//!    lists) and [`render::render`] renders it through handlebars templates.
//!
//! [`generate`] chains 2 and 3 and returns the files in memory; [`output::write`] and
//! [`output::check`] are the only functions that touch the output directory. [`publish`] packages
//! and uploads generated SDKs with each ecosystem's own tools.
//!
//! ```no_run
//! use micro_gen::{generate, lang::Language, load, model::Model, config::SdkOptions, render::TemplateSet};
//!
//! let loaded = load::load(&load::ProtoSource::Bundled)?;
//! let model = Model::build(&loaded)?;
//! let files = generate(&model, Language::Ts, &SdkOptions::default(), &TemplateSet::embedded("ts"))?;
//! micro_gen::output::write("sdks/ts".as_ref(), &files)?;
//! # Ok::<(), micro_gen::Error>(())
//! ```

pub mod config;
mod error;
pub mod lang;
pub mod load;
pub mod model;
pub mod output;
pub mod publish;
pub mod render;
pub mod validate;

pub use error::{Error, Result};

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid(format!("failed to build a view model: {e}"))
    }
}

/// Generates one language's SDK from a model: a pure function returning every file, sorted by
/// path, with paths relative to the SDK's output directory.
///
/// # Errors
///
/// Invalid options, a template that does not parse, or a render that references a value the
/// view model does not have.
pub fn generate(
    model: &model::Model,
    language: lang::Language,
    options: &config::SdkOptions,
    templates: &render::TemplateSet,
) -> Result<Vec<output::GeneratedFile>> {
    let plan = language.plan(model, options)?;
    render::render_owned(templates, plan)
}

/// Generates several languages' SDKs from one model ([`generate`] for each `(language, options,
/// templates)` job), returning the results in the order of `jobs`.
///
/// The languages run on as many worker threads as there are cores (at most one per job and 8),
/// the costliest first ([`lang::Language::relative_cost`]); each language also splits its own work
/// over the cores. Running every language at once instead would hold every language's view
/// models in memory together, and first-touching that memory costs more than it saves.
pub fn generate_all(
    model: &model::Model,
    jobs: &[(lang::Language, &config::SdkOptions, &render::TemplateSet)],
) -> Vec<Result<Vec<output::GeneratedFile>>> {
    lang::parallel_each(
        jobs.iter().collect(),
        |(language, _, _)| language.relative_cost(),
        |&(language, options, templates)| generate(model, language, options, templates),
    )
}
