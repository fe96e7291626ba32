//! Stage 3b: rendering view models through handlebars templates.
//!
//! Templates live in `templates/<lang>/` and are embedded in the binary. Within a language:
//!
//! - `files/**.hbs` render once each with the language's root view model; the output path is the
//!   template's path under `files/` without `.hbs`, with the segment `__pkg__` replaced by the
//!   language's package directory (e.g. the Python import name).
//! - `proto/*.hbs` render once per generated proto file (or per package), as the language's
//!   [`Plan`] says, with that file's view model.
//! - `partials/*.hbs` are partials, named by their file stem. A plan may also render one as a
//!   file's root template, by its full name (`partials/message.hbs`): handlebars copies the
//!   context of every partial it includes, and then every `{{#each}}` element inside it, so a
//!   big per-proto view model is cheaper rendered as the root than included. For the same
//!   reason templates include recursive partials (nested messages) with the `embed` helper,
//!   `{{embed "message"~}}`, which renders the partial with the current context in place.
//!
//! Helpers besides handlebars' own: `lines` (an array or a multi-line string, one line each,
//! with an indent and a prefix), `json` (a value as a JSON literal) and `embed`.
//!
//! A plan may also carry files made without templates ([`Plan::files`]), returned as they are,
//! and a check every rendered file goes through ([`Plan::formatter`]).
//!
//! The registry is strict (a missing value is an error, not an empty string) and does no HTML
//! escaping. An override directory (`--templates DIR`) laid out like `templates/` replaces any
//! embedded template by name, or adds new `files/` templates.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::{
    BlockContext, Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderErrorReason,
    Renderable, StringOutput, Template,
};
use rust_embed::Embed;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::output::GeneratedFile;

#[derive(Embed)]
#[folder = "../templates"]
#[include = "**/*.hbs"]
struct EmbeddedTemplates;

/// A language's template sources by name (`files/package.json.hbs`, `proto/pb.ts.hbs`, ...).
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    sources: BTreeMap<String, String>,
}

impl TemplateSet {
    /// The templates embedded for `lang` (`ts`, `python`, `rust`).
    pub fn embedded(lang: &str) -> TemplateSet {
        let prefix = format!("{lang}/");
        let mut sources = BTreeMap::new();
        for name in EmbeddedTemplates::iter() {
            if let Some(rel) = name.strip_prefix(&prefix)
                && let Some(file) = EmbeddedTemplates::get(&name)
            {
                sources.insert(rel.to_owned(), String::from_utf8_lossy(&file.data).into_owned());
            }
        }
        TemplateSet { sources }
    }

    /// Replaces or adds templates from `dir/<lang>/**.hbs`. A missing `dir/<lang>` is no error.
    ///
    /// # Errors
    ///
    /// Fails when a template file cannot be read.
    pub fn override_from(&mut self, dir: &Path, lang: &str) -> Result<()> {
        let root = dir.join(lang);
        if !root.is_dir() {
            return Ok(());
        }
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| Error::io("failed to read directory", &d, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("failed to read directory", &d, e))?;
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "hbs") {
                    let rel = path.strip_prefix(&root).unwrap_or(&path);
                    let name = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("failed to read", &path, e))?;
                    self.sources.insert(name, text);
                }
            }
        }
        Ok(())
    }

    /// Template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }
}

/// What a language asks the renderer to produce.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The context for every `files/` template.
    pub root: Value,
    /// What `__pkg__` path segments in `files/` template paths become.
    pub package_dir: String,
    /// Renders of `proto/` templates, or of `partials/` ones as a root: (template name, output
    /// path, context).
    pub renders: Vec<(String, String, Value)>,
    /// Files the language produced without templates (Rust: the prost-build and tonic-prost-build
    /// output), added to the result as they are.
    pub files: Vec<GeneratedFile>,
    /// Applied to every rendered file (not to [`Plan::files`]) after the whitespace clean-up, with
    /// the file's path: a language's check of what its templates produced (Rust: the syntax).
    pub formatter: Option<fn(&str, String) -> Result<String>>,
}

/// Renders a plan with a template set into generated files, sorted by path.
///
/// # Errors
///
/// A template that does not parse, or a render that references a missing value (strict mode).
pub fn render(templates: &TemplateSet, plan: &Plan) -> Result<Vec<GeneratedFile>> {
    render_owned(templates, plan.clone())
}

/// [`render`], consuming the plan: each view model moves into its template's context instead of
/// being copied, and is freed as soon as its file is rendered (big SDKs have thousands).
///
/// # Errors
///
/// As [`render`].
pub fn render_owned(templates: &TemplateSet, plan: Plan) -> Result<Vec<GeneratedFile>> {
    let Plan { root, package_dir, renders, files: plain, formatter } = plan;
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("lines", Box::new(lines_helper));
    hb.register_helper("json", Box::new(json_helper));
    hb.register_helper("embed", Box::new(EmbedHelper));
    for (name, source) in &templates.sources {
        // Compiled once; a partial is registered under its stem too (handlebars looks partials up
        // among the templates).
        let template = Template::compile_with_name(source, name.clone())
            .map_err(|e| Error::new(ErrorKind::Template { name: name.clone(), source: Box::new(e) }))?;
        if let Some(partial) = name.strip_prefix("partials/") {
            hb.register_template(partial.trim_end_matches(".hbs"), template.clone());
        }
        hb.register_template(name, template);
    }
    let render_one = |name: &str, ctx: &Context| {
        hb.render_with_context(name, ctx)
            .map_err(|e| Error::new(ErrorKind::Render { name: name.to_owned(), message: e.to_string() }))
    };
    let format = |path: &str, text: String| match formatter {
        Some(formatter) => formatter(path, text),
        None => Ok(text),
    };
    let mut files = Vec::new();
    let root = Context::from(root);
    for name in templates.sources.keys() {
        if let Some(rel) = name.strip_prefix("files/") {
            let path = rel
                .trim_end_matches(".hbs")
                .split('/')
                .map(|s| if s == "__pkg__" { package_dir.as_str() } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let text = format(&path, finish(render_one(name, &root)?))?;
            files.push(GeneratedFile::new(path, text)?);
        }
    }
    drop(root);
    if let Some((name, _, _)) = renders.iter().find(|(name, _, _)| !templates.sources.contains_key(name)) {
        return Err(Error::new(ErrorKind::Render { name: name.clone(), message: "no such template".into() }));
    }
    // Per-proto renders are independent: split them over the cores in contiguous chunks, and keep
    // their order (then the first error is the same as rendering them in turn would give).
    let render_all = |chunk: Vec<(String, String, Value)>| -> Result<Vec<GeneratedFile>> {
        let mut out = Vec::with_capacity(chunk.len());
        for (name, path, ctx) in chunk {
            let ctx = Context::from(ctx);
            let text = format(&path, finish(render_one(&name, &ctx)?))?;
            drop(ctx);
            out.push(GeneratedFile::new(path, text)?);
        }
        Ok(out)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = renders.len().div_ceil(threads).max(64);
    if renders.len() <= chunk {
        files.extend(render_all(renders)?);
    } else {
        let mut chunks = Vec::new();
        let mut rest = renders;
        while rest.len() > chunk {
            let tail = rest.split_off(chunk);
            chunks.push(rest);
            rest = tail;
        }
        chunks.push(rest);
        let rendered: Vec<Result<Vec<GeneratedFile>>> = std::thread::scope(|scope| {
            let jobs: Vec<_> = chunks.into_iter().map(|c| scope.spawn(|| render_all(c))).collect();
            jobs.into_iter().map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
        });
        for part in rendered {
            files.extend(part?);
        }
    }
    files.extend(plain);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = files.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(Error::invalid(format!("two templates generate '{}'", w[0].path)));
    }
    Ok(files)
}

/// Normalises a rendered file: no trailing spaces, no runs of more than two blank lines (PEP 8 separates top-level definitions with two), exactly
/// one final newline. Templates can then be written for readability.
fn finish(text: String) -> String {
    // Most files are already in shape: then they are kept as they are, not copied line by line.
    if is_finished(&text) { text } else { normalize(&text) }
}

/// [`finish`]'s rules applied line by line to a copy.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 2 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Whether [`finish`] would return `text` unchanged: it ends with one newline, does not start
/// with one, and has no line with trailing whitespace (or a carriage return) and no run of more
/// than two blank lines.
fn is_finished(text: &str) -> bool {
    if text.starts_with('\n') || !text.ends_with('\n') || text.ends_with("\n\n") {
        return false;
    }
    let bytes = text.as_bytes();
    let mut blank = 0;
    let mut start = 0;
    // Every file passes through here: find the line ends with memchr (SIMD) and look only at the
    // byte before each one (a line ending in a multi-byte character is decoded, in case it is
    // Unicode whitespace, which `normalize`'s `trim_end` would remove).
    for end in memchr::memchr_iter(b'\n', bytes) {
        if end == start {
            blank += 1;
            if blank > 2 {
                return false;
            }
        } else {
            blank = 0;
            let last = bytes[end - 1];
            let trailing_space = if last.is_ascii() {
                last.is_ascii_whitespace() || last == 0x0b
            } else {
                text[start..end].chars().next_back().is_some_and(char::is_whitespace)
            };
            if trailing_space {
                return false;
            }
        }
        start = end + 1;
    }
    true
}

/// `{{lines doc prefix=" * " indent="  "}}`: each string of the array (or each line of a
/// multi-line string) on its own line, prefixed by `indent` and `prefix`, with trailing spaces
/// trimmed, joined by newlines (the template supplies the final one).
/// Formatting only; the lines come escaped from the view model.
fn lines_helper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let lines = h.param(0).map(|p| p.value()).ok_or(RenderErrorReason::ParamNotFoundForIndex("lines", 0))?;
    let prefix = h.hash_get("prefix").and_then(|v| v.value().as_str()).unwrap_or("");
    let indent = h.hash_get("indent").and_then(|v| v.value().as_str()).unwrap_or("");
    let mut write_line = |i: usize, text: &str| -> HelperResult {
        if i > 0 {
            out.write("\n")?;
        }
        let text = text.trim_end();
        if text.is_empty() {
            out.write(format!("{indent}{prefix}").trim_end())?;
        } else {
            out.write(indent)?;
            out.write(prefix)?;
            out.write(text)?;
        }
        Ok(())
    };
    match lines {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                write_line(i, item.as_str().unwrap_or_default())?;
            }
        }
        Value::String(text) => {
            for (i, line) in text.lines().enumerate() {
                write_line(i, line)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `{{embed "message" indent="    "}}`: the partial `partials/message.hbs` rendered with the
/// current context, each line prefixed by `indent` (default none). Unlike `{{> message}}`, which
/// copies the current context into the partial's (and then, inside it, every `{{#each}}` element
/// on every loop), the partial reads the context in place: what makes recursive partials (nested
/// messages) cheap on big proto sets. The output ends with the partial's last newline; the
/// newline after the tag is the template's, so templates write `{{embed "x"~}}` on a line of its
/// own.
struct EmbedHelper;

impl HelperDef for EmbedHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let name =
            h.param(0).and_then(|p| p.value().as_str()).ok_or(RenderErrorReason::ParamNotFoundForIndex("embed", 0))?;
        let template_name = format!("partials/{name}.hbs");
        let template =
            r.get_template(&template_name).ok_or_else(|| RenderErrorReason::PartialNotFound(template_name.clone()))?;
        let indent = h.hash_get("indent").and_then(|v| v.value().as_str()).unwrap_or("");
        // The partial's block: the current context by its path from the root (or, when the current
        // context is a computed value, that value), and the enclosing block's @index/@first/@last,
        // as a `{{> partial}}` include has them.
        let mut block = BlockContext::new();
        if let Some(parent) = rc.block() {
            block.local_variables_mut().clone_from(parent.local_variables());
            match parent.base_value() {
                Some(value) => block.set_base_value(value.clone()),
                None => block.base_path_mut().clone_from(parent.base_path()),
            }
        }
        rc.push_block(block);
        let result = if indent.is_empty() {
            template.render(r, ctx, rc, out)
        } else {
            let mut text = StringOutput::new();
            template.render(r, ctx, rc, &mut text).and_then(|()| {
                for line in text.into_string()?.split_inclusive('\n') {
                    if line != "\n" {
                        out.write(indent)?;
                    }
                    out.write(line)?;
                }
                Ok(())
            })
        };
        rc.pop_block();
        result
    }
}

/// `{{json value}}`: the value as a JSON literal (a quoted, escaped string for strings), usable as
/// a string literal in TypeScript and Python.
fn json_helper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h.param(0).map(|p| p.value()).ok_or(RenderErrorReason::ParamNotFoundForIndex("json", 0))?;
    out.write(&serde_json::to_string(value).unwrap_or_default())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan of `files/` templates only: `root` as their context, `__pkg__` as `package_dir`.
    fn plan_of(root: Value, package_dir: &str) -> Plan {
        Plan { root, package_dir: package_dir.into(), renders: vec![], files: vec![], formatter: None }
    }

    #[test]
    fn finished_text_is_kept_exactly_when_normalizing_would_not_change_it() {
        let samples = [
            "",
            "\n",
            "a",
            "a\n",
            "a\n\n",
            "\na\n",
            "a \n",
            "a\t\n",
            "a\r\n",
            "a\u{3000}\n",
            "a\u{e9}\n",
            "a\x0b\n",
            "a\x0c\n",
            "a\u{a0}\n",
            "a\u{85}\n",
            "\u{e9}\u{3000}\nb\n",
            "b\n\u{e9}\n",
            "a\n\nb\n",
            "a\n\n\nb\n",
            "a\n\n\n\nb\n",
            "a\n \nb\n",
            "a\nb",
            "a\rb\n",
            "  a\n  b\n",
        ];
        for sample in samples {
            let normalized = normalize(sample);
            // The empty text is left to `normalize` (which keeps it empty).
            assert_eq!(is_finished(sample), !sample.is_empty() && normalized == sample, "{sample:?}");
            assert_eq!(finish(sample.to_owned()), normalized, "{sample:?}");
        }
    }

    #[test]
    fn embed_renders_recursive_partials_in_place_and_indented() {
        let mut set = TemplateSet::default();
        set.sources
            .insert("files/tree.txt.hbs".into(), "{{#each items}}\n{{embed \"item\"~}}\n{{/each}}\nend\n".into());
        set.sources.insert(
            "partials/item.hbs".into(),
            "- {{name}} ({{@index}})\n{{#each kids}}\n{{embed \"item\" indent=\"  \"~}}\n{{/each}}\n".into(),
        );
        let leaf = |name: &str| serde_json::json!({ "name": name, "kids": [] });
        let plan = plan_of(
            serde_json::json!({ "items": [
                { "name": "a", "kids": [leaf("b"), { "name": "c", "kids": [leaf("d")] }] },
                leaf("e"),
            ] }),
            "p",
        );
        let files = render(&set, &plan).unwrap();
        assert_eq!(files[0].contents, "- a (0)\n  - b (0)\n  - c (1)\n    - d (0)\n- e (1)\nend\n");
        // The same tree through handlebars' own partial include.
        set.sources.insert("files/tree.txt.hbs".into(), "{{#each items}}\n{{> item}}\n{{/each}}\nend\n".into());
        set.sources.insert(
            "partials/item.hbs".into(),
            "- {{name}} ({{@index}})\n{{#each kids}}\n  {{> item}}\n{{/each}}\n".into(),
        );
        assert_eq!(render(&set, &plan).unwrap()[0].contents, files[0].contents);
        // A missing partial is a render error.
        set.sources.insert("files/tree.txt.hbs".into(), "{{embed \"nope\"}}".into());
        assert!(render(&set, &plan).unwrap_err().is_template());
    }

    #[test]
    fn strict_mode_rejects_missing_values() {
        let mut set = TemplateSet::default();
        set.sources.insert("files/a.txt.hbs".into(), "{{nope}}".into());
        let plan = plan_of(serde_json::json!({}), "p");
        assert!(render(&set, &plan).unwrap_err().is_template());
    }

    #[test]
    fn no_html_escaping_and_pkg_placeholder() {
        let mut set = TemplateSet::default();
        set.sources.insert("files/src/__pkg__/a.py.hbs".into(), "x = {{v}}  \n\n\n\n\ny\n\n".into());
        let plan = plan_of(serde_json::json!({"v": "<a & 'b'>"}), "micro");
        let files = render(&set, &plan).unwrap();
        assert_eq!(files[0].path, "src/micro/a.py");
        assert_eq!(files[0].contents, "x = <a & 'b'>\n\n\ny\n");
    }

    #[test]
    fn lines_helper_prefixes_and_trims() {
        let mut set = TemplateSet::default();
        set.sources.insert("files/a.hbs".into(), "{{lines doc prefix=\" * \" indent=\"  \"}}".into());
        let plan = plan_of(serde_json::json!({"doc": ["a", "", "b"]}), "p");
        assert_eq!(render(&set, &plan).unwrap()[0].contents, "   * a\n   *\n   * b\n");
        // A multi-line string gives the same lines as the array of them.
        let plan = Plan { root: serde_json::json!({"doc": "a\n\nb \n"}), ..plan };
        assert_eq!(render(&set, &plan).unwrap()[0].contents, "   * a\n   *\n   * b\n");
    }
}
