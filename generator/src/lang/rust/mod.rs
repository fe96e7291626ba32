//! The Rust crate: prost messages and tonic clients and servers from prost-build and
//! tonic-prost-build, with the `Micro` wrapper around them rendered from templates.
//!
//! Output layout (`sdks/rust`, a standalone crate with no build script):
//!
//! - `src/gen/<package>.rs`, one file per proto package (`store` → `src/gen/store.rs`,
//!   `acme.shop.v1` → `src/gen/acme/shop/v1.rs`, parent modules declaring their children): what
//!   prost-build and tonic-prost-build generate for the package, run on the model's descriptor
//!   set (no protoc) through `prost_build::Config::generate`, in memory, in prost-build's own
//!   layout (its `format` option off: rustfmt-like, indented, one field per line; tonic's code is
//!   formatted by tonic-prost-build with prettyplease). Parsing prost's code again with syn to
//!   print it with prettyplease (50 MB on a 10,000-message set) took a fifth of the CPU time of
//!   `sdk --lang all`, and changed only where derive lists and lines over 100 columns wrap.
//!   Clients are built without tonic's transport constructors (`connect` would clash
//!   with an rpc named `Connect`, as `network.Network` has); client modules sit behind the crate
//!   feature `client`, server modules behind `server`.
//! - `src/gen/mod.rs` (template `proto/gen_mod.rs.hbs`): the module tree, mounted as the crate's
//!   `pb` module, and `src/gen/descriptor_set.bin.rs`: the encoded descriptor set, without source
//!   info, as a byte string (`FILE_DESCRIPTOR_SET`).
//! - `files/` templates: `Cargo.toml`, `README.md`, `src/lib.rs`, the wrapper (`Micro`, one typed
//!   client per service, options, retries, deadlines, `Error`, `Streaming`) and an example.
//!
//! The names the wrapper uses for generated items (method names, request and response types) are
//! the ones prost hands to its service generator, captured while generating, so wrapper and
//! generated code cannot disagree. Proto names that prost-build and tonic-build would turn into
//! the same Rust item are made distinct first (see [`rename`]; the crate README states the rule
//! and lists what was renamed).

pub mod names;
mod rename;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use prost_build::{Module, ServiceGenerator};
use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::lang::{example_service, generator_name, parallel_map, service_accessors, with_kind_flags};
use crate::model::{Comments, Model};
use crate::output::GeneratedFile;
use crate::render::Plan;

/// The crate name used when none is configured.
pub const DEFAULT_PACKAGE_NAME: &str = "micro-client";

/// The directory of the generated modules, relative to the crate root.
const GEN_DIR: &str = "src/gen";

/// The file holding `FILE_DESCRIPTOR_SET` (two dots: it cannot clash with a package's file).
const DESCRIPTOR_FILE: &str = "descriptor_set.bin.rs";

/// Generated code by module: the module's path (escaped parts, empty for files without a
/// package) → its code.
type Modules = BTreeMap<Vec<String>, String>;

/// Names every service prost hands to the service generator (see [`Capture::name`]), records
/// it, and leaves a placeholder item ([`service_placeholder`]) where tonic's code for it goes:
/// [`run_prost`] has tonic generate every service afterwards, on all cores.
struct Capture {
    seen: Rc<RefCell<Vec<prost_build::Service>>>,
    /// Per package module, the module names taken in it (see [`rename::Renamed::modules`]), to
    /// which each service adds its client and server modules.
    modules: HashMap<Vec<String>, BTreeSet<String>>,
    /// Per package module, the Rust names of its services so far.
    traits: HashMap<Vec<String>, BTreeSet<String>>,
    renames: Rc<RefCell<Vec<rename::Rename>>>,
}

impl Capture {
    /// Gives `service` and its methods Rust names that compile (the gRPC paths tonic builds use
    /// the proto names, which stay as they are): the service is UpperCamelCase (prost passes the
    /// proto name as it is), and numbered (`Arc2`) when the name is one tonic's server module
    /// uses ([`names::TONIC_SERVER_NAMES`]), an earlier service's, or its `<name>_client` /
    /// `<name>_server` module is taken; a method is numbered (`new2`, `foo_bar2`) when tonic's
    /// client already has a method of that name ([`names::TONIC_CLIENT_METHODS`]) or an earlier
    /// rpc of the service took it.
    fn name(&mut self, service: &mut prost_build::Service) {
        let key = rename::module_key(&service.package);
        let modules = self.modules.entry(key.clone()).or_default();
        let traits = self.traits.entry(key).or_default();
        let svc_structs: Vec<String> = service.methods.iter().map(|m| format!("{}Svc", m.proto_name)).collect();
        let base = names::to_upper_camel(&service.proto_name);
        let name = (1..)
            .map(|n| names::numbered(&base, n))
            .find(|c| {
                let snake = names::naive_snake_case(c);
                !c.is_empty()
                    && !names::TONIC_SERVER_NAMES.contains(&c.as_str())
                    && !traits.contains(c)
                    && !svc_structs.contains(c)
                    && !modules.contains(&format!("{snake}_client"))
                    && !modules.contains(&format!("{snake}_server"))
            })
            .unwrap_or(base);
        let full = if service.package.is_empty() {
            service.proto_name.clone()
        } else {
            format!("{}.{}", service.package, service.proto_name)
        };
        if name != service.name {
            self.renames.borrow_mut().push(rename::Rename { kind: "service", proto: full.clone(), rust: name.clone() });
        }
        let snake = names::naive_snake_case(&name);
        modules.insert(format!("{snake}_client"));
        modules.insert(format!("{snake}_server"));
        traits.insert(name.clone());
        service.name = name;
        let mut taken: BTreeSet<String> = names::TONIC_CLIENT_METHODS.iter().map(|m| (*m).to_owned()).collect();
        for method in &mut service.methods {
            // prost maps the wrapper types to Rust primitives (`google.protobuf.Int32Value` →
            // `i32`), which tonic would look up in the package's module (`super::i32`).
            for ty in [&mut method.input_type, &mut method.output_type] {
                if names::PRIMITIVES.contains(&ty.as_str()) {
                    *ty = format!("::core::primitive::{ty}");
                }
            }
            let name = (1..)
                .map(|n| names::numbered(&method.name, n))
                .find(|c| !c.is_empty() && !taken.contains(names::unraw(c)))
                .unwrap_or_else(|| method.name.clone());
            if name != method.name {
                self.renames.borrow_mut().push(rename::Rename {
                    kind: "rpc",
                    proto: format!("{full}.{}", method.proto_name),
                    rust: name.clone(),
                });
                method.name = name;
            }
            taken.insert(names::unraw(&method.name).to_owned());
        }
    }
}

impl ServiceGenerator for Capture {
    fn generate(&mut self, mut service: prost_build::Service, buf: &mut String) {
        self.name(&mut service);
        let mut seen = self.seen.borrow_mut();
        buf.push_str(&service_placeholder(seen.len()));
        buf.push('\n');
        seen.push(service);
    }
    // tonic-prost-build's generator has no `finalize` or `finalize_package` of its own.
}

/// The item standing for service `index` (in generation order) in a module's code until tonic's
/// code for it replaces it: an item macro call, written by [`Capture`] as this one line at the
/// start of a line (services are items of their package's module, which prost-build does not
/// indent), and which prost-build's output cannot contain otherwise (proto text only reaches it
/// inside doc comments and string literals).
fn service_placeholder(index: usize) -> String {
    format!("__micro_gen_service!({index});")
}

/// tonic-prost-build's service generator as the crate uses it: clients and servers, each behind
/// its crate feature.
fn tonic_generator() -> Box<dyn ServiceGenerator> {
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // No `connect` constructors: they clash with an rpc named `Connect` (network.Network),
        // and `Micro` makes the connection.
        .build_transport(false)
        .client_mod_attribute(".", "#[cfg(feature = \"client\")]")
        .client_mod_attribute(".", "#[cfg_attr(docsrs, doc(cfg(feature = \"client\")))]")
        .server_mod_attribute(".", "#[cfg(feature = \"server\")]")
        .server_mod_attribute(".", "#[cfg_attr(docsrs, doc(cfg(feature = \"server\")))]")
        .service_generator()
}

/// Runs prost-build and tonic-prost-build on the model's descriptor set, with colliding names
/// made distinct (see [`rename`]); returns each module's code (without prost's own header), the
/// services prost described, and what was renamed.
fn run_prost(model: &Model) -> Result<(Modules, Vec<prost_build::Service>, Vec<rename::Rename>)> {
    let mut renamed = rename::resolve(&model.descriptor_set.file);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let renames = Rc::new(RefCell::new(renamed.renames.clone()));
    let mut config = prost_build::Config::new();
    // prost-build's code is kept as prost-build lays it out (see the module docs); tonic's is
    // formatted by tonic-prost-build.
    config.format(false);
    config.service_generator(Box::new(Capture {
        seen: seen.clone(),
        modules: renamed.modules.clone(),
        traits: HashMap::new(),
        renames: renames.clone(),
    }));
    // The renamed copy of the set is prost-build's alone: moved into its requests, not copied.
    let requests: Vec<(Module, prost_types::FileDescriptorProto)> = std::mem::take(&mut renamed.files)
        .into_iter()
        .map(|f| (Module::from_protobuf_package_name(f.package()), f))
        .collect();
    let generated = config.generate(requests).map_err(|e| Error::invalid(format!("prost-build failed: {e}")))?;
    let generated = generated
        .into_iter()
        .map(|(module, code)| {
            let code = match code.strip_prefix("// This file is @generated by prost-build.\n") {
                Some(rest) => rest.to_owned(),
                None => code,
            };
            (module.parts().map(str::to_owned).collect::<Vec<String>>(), code)
        })
        .collect();
    let services = seen.borrow().clone();
    let renames = renames.borrow().clone();
    // tonic's code for each service (tonic formats it with prettyplease itself), on all cores,
    // then put in place of the services' placeholders in each module's code.
    let service_code = parallel_map(
        services.clone(),
        |s| s.methods.len(),
        |service| {
            let mut code = String::new();
            tonic_generator().generate(service, &mut code);
            Ok(code)
        },
    )?;
    let modules = parallel_map(
        generated,
        |(_, code)| code.len(),
        |(parts, code)| Ok((parts, renamed.restore(lay_out(&code, &service_code)))),
    )?;
    Ok((modules.into_iter().collect(), services, renames))
}

/// `code`, a module as prost-build wrote it, with every [`service_placeholder`] line replaced by
/// that service's code, and the braces of an empty message closed on its line
/// (`pub struct Empty {}`, as rustfmt writes it; prost-build puts the `}` on the next line).
fn lay_out(code: &str, service_code: &[String]) -> String {
    let mut out = String::with_capacity(code.len());
    let mut lines = code.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let index = line
            .trim_end_matches('\n')
            .strip_prefix("__micro_gen_service!(")
            .and_then(|rest| rest.strip_suffix(");"))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(text) = index.and_then(|i| service_code.get(i)) {
            out.push_str(text);
            continue;
        }
        let item = line.trim_start_matches(' ');
        let indent = &line[..line.len() - item.len()];
        if item.starts_with("pub struct ") && item.ends_with(" {\n") {
            let close = lines.peek().and_then(|next| next.strip_prefix(indent)).filter(|rest| rest.trim_end() == "}");
            if let Some(close) = close {
                out.push_str(line.trim_end_matches('\n'));
                out.push_str(close);
                lines.next();
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

/// A type as the wrapper names it: prost's path, relative to the package's module, made
/// absolute (`super::router::Route` from `network` → `crate::pb::router::Route`). Types prost
/// maps to Rust or `prost_types` (`()`, `::prost_types::Timestamp`) are kept as they are.
fn absolute_type(package: &[String], prost_type: &str) -> String {
    if prost_type.starts_with("::") || prost_type.starts_with('(') || prost_type.starts_with("crate::") {
        return prost_type.to_owned();
    }
    let mut path: Vec<&str> = package.iter().map(String::as_str).collect();
    let mut segments = prost_type.split("::").peekable();
    while segments.peek() == Some(&"super") {
        segments.next();
        path.pop();
    }
    path.extend(segments);
    format!("crate::pb::{}", path.join("::"))
}

/// The same type as seen from outside the crate (`micro_client::pb::store::ReadRequest`).
fn public_type(lib: &str, absolute: &str) -> String {
    match absolute.strip_prefix("crate::") {
        Some(rest) => format!("{lib}::{rest}"),
        None => absolute.trim_start_matches("::").to_owned(),
    }
}

/// Rustdoc lines for an element's comments, with a deprecation note.
fn doc(comments: &Comments, deprecated: bool) -> Vec<String> {
    let mut lines = names::rustdoc_lines(&comments.doc_lines());
    if deprecated {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push("Deprecated in the proto definition.".to_owned());
    }
    lines
}

/// Rustdoc lines for a file: its header comments (detached from the `syntax` statement, as
/// licence and overview comments usually are), then its own.
fn file_doc(comments: &Comments, deprecated: bool) -> Vec<String> {
    let mut text = Vec::new();
    for block in &comments.detached {
        let lines: Vec<&str> = block.trim_end_matches('\n').split('\n').map(str::trim_end).collect();
        let indent = lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min();
        if !text.is_empty() {
            text.push(String::new());
        }
        text.extend(lines.iter().map(|l| l.get(indent.unwrap_or(0)..).unwrap_or("").to_owned()));
    }
    let own = comments.doc_lines();
    if !text.is_empty() && !own.is_empty() {
        text.push(String::new());
    }
    text.extend(own);
    let mut lines = names::rustdoc_lines(&text);
    if deprecated {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push("Deprecated in the proto definition.".to_owned());
    }
    lines
}

/// The encoded descriptor set as the body of a Rust byte string: printable ASCII as is, other
/// bytes escaped, split into lines with `\` continuations (so spaces are escaped too: a
/// continuation skips leading whitespace).
fn byte_string_lines(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 3);
    let mut line = 0;
    for &b in data {
        let width = match b {
            b'"' | b'\\' => 2,
            0x21..=0x7e => 1,
            _ => 4,
        };
        if line + width > 96 {
            out.push_str("\\\n");
            line = 0;
        }
        line += width;
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x21..=0x7e => out.push(char::from(b)),
            _ => crate::lang::push_hex_escape(&mut out, b, false),
        }
    }
    out
}

fn descriptor_file(model: &Model) -> Result<GeneratedFile> {
    // The set's encoding, from each file's descriptor as the model encoded it (without source
    // info): field 1 (`file`) once per file, in the set's order.
    let descriptors: HashMap<&str, &Vec<u8>> = model.files.iter().map(|f| (f.name.as_str(), &f.descriptor)).collect();
    let mut set = Vec::with_capacity(descriptors.values().map(|d| d.len() + 8).sum());
    for file in &model.descriptor_set.file {
        prost::encoding::bytes::encode(1, descriptors[file.name()], &mut set);
    }
    let contents = format!(
        "// @generated by {generator}; do not edit.\n\n\
         /// The encoded `google.protobuf.FileDescriptorSet` this crate was generated from: every\n\
         /// proto file, imports included, without source info (comments), as protox compiled it.\n\
         /// Decode it with `prost-reflect` or `prost_types::FileDescriptorSet::decode`.\n\
         pub const FILE_DESCRIPTOR_SET: &[u8] = b\"\\\n{body}\";\n",
        generator = generator_name(),
        body = byte_string_lines(&set),
    );
    GeneratedFile::new(format!("{GEN_DIR}/{DESCRIPTOR_FILE}"), contents)
}

/// The module tree: every package module and its ancestors (parts → code, `None` for a module
/// that only holds child modules).
fn module_tree(modules: &Modules) -> BTreeMap<Vec<String>, Option<&String>> {
    let mut tree: BTreeMap<Vec<String>, Option<&String>> = BTreeMap::new();
    for (parts, code) in modules {
        for i in 1..parts.len() {
            tree.entry(parts[..i].to_vec()).or_insert(None);
        }
        if !parts.is_empty() {
            tree.insert(parts.clone(), Some(code));
        }
    }
    tree
}

fn children<'a>(tree: &'a BTreeMap<Vec<String>, Option<&String>>, parent: &[String]) -> Vec<&'a str> {
    tree.keys()
        .filter(|k| k.len() == parent.len() + 1 && k.starts_with(parent))
        .map(|k| k[parent.len()].as_str())
        .collect()
}

/// The files of the package modules (`src/gen/store.rs`, ...), each with a header and module
/// docs.
fn module_files(model: &Model, modules: &Modules) -> Result<Vec<GeneratedFile>> {
    let tree = module_tree(modules);
    let mut files = Vec::new();
    for (parts, code) in &tree {
        let package = parts.iter().map(|p| names::unraw(p)).collect::<Vec<_>>().join(".");
        let mut text =
            format!("// @generated by {} with prost-build and tonic-prost-build; do not edit.\n", generator_name());
        let sources: Vec<&crate::model::File> = model.files.iter().filter(|f| f.package == package).collect();
        if code.is_some() {
            let names: Vec<String> = sources.iter().map(|f| format!("`{}`", f.name)).collect();
            text.push_str(&format!("//! The proto package `{package}`, from {}.\n", names.join(", ")));
            for file in &sources {
                let lines = file_doc(&file.comments, file.deprecated);
                if !lines.is_empty() {
                    text.push_str("//!\n");
                    for line in lines {
                        text.push_str(format!("//! {line}").trim_end());
                        text.push('\n');
                    }
                }
            }
        } else {
            text.push_str(&format!("//! The proto packages under `{package}`.\n"));
        }
        let kids = children(&tree, parts);
        if !kids.is_empty() {
            text.push('\n');
            for kid in kids {
                if let Some(file) = names::module_path_attribute(parts, kid) {
                    text.push_str(&format!("#[path = \"{file}\"]\n"));
                }
                text.push_str(&format!("pub mod {kid};\n"));
            }
        }
        if let Some(code) = code {
            text.push('\n');
            text.push_str(code);
        }
        let path = parts.iter().map(|p| names::file_stem(p)).collect::<Vec<_>>().join("/");
        files.push(GeneratedFile::new(format!("{GEN_DIR}/{path}.rs"), text)?);
    }
    if let Some(code) = modules.get(&Vec::new()) {
        let text = format!(
            "// @generated by {} with prost-build and tonic-prost-build; do not edit.\n// The types and services of proto files without a package.\n\n{code}",
            generator_name()
        );
        files.push(GeneratedFile::new(format!("{GEN_DIR}/_.rs"), text)?);
    }
    Ok(files)
}

/// Checks that a rendered `.rs` file parses as Rust (prost-build's own output is checked and
/// formatted by prost-build), so that a template that renders invalid Rust fails here, with the
/// line and the lines around it, rather than in the user's build. The text is kept as the
/// template wrote it (laid out like rustfmt's output, comments kept). Other files pass as they are.
fn check_rust(path: &str, text: String) -> Result<String> {
    if !path.ends_with(".rs") {
        return Ok(text);
    }
    if let Err(e) = syn::parse_file(&text) {
        let line = e.span().start().line;
        let excerpt: Vec<String> = text
            .lines()
            .enumerate()
            .skip(line.saturating_sub(4))
            .take(7)
            .map(|(i, l)| format!("{:>5} | {l}", i + 1))
            .collect();
        return Err(Error::new(ErrorKind::Render {
            name: path.to_owned(),
            message: format!("the rendered Rust does not parse at line {line}: {e}\n{}", excerpt.join("\n")),
        }));
    }
    Ok(text)
}

/// Builds the Rust plan.
pub(crate) fn plan(model: &Model, options: &SdkOptions) -> Result<Plan> {
    let package_name = options.package_name.clone().unwrap_or_else(|| DEFAULT_PACKAGE_NAME.to_owned());
    if !names::is_crate_name(&package_name) {
        return Err(Error::invalid(format!(
            "crate name '{package_name}' is not valid on crates.io (ASCII letters, digits, '-' and '_', starting with a letter, at most 64 characters, not a keyword)"
        )));
    }
    let lib = names::lib_name(&package_name);
    let version = options.version.clone();
    let (modules, prost_services, renames) = run_prost(model)?;

    // The wrapper's services: those of the generated (target) files, as prost named them.
    let accessors = service_accessors(model);
    let by_name: HashMap<String, &prost_build::Service> =
        prost_services.iter().map(|s| (format!("{}.{}", s.package, s.proto_name), s)).collect();
    let mut taken_classes = BTreeSet::new();
    let mut taken_accessors = BTreeSet::new();
    let mut services = Vec::new();
    for file in model.targets() {
        for service in &file.services {
            let Some(prost) = by_name.get(&service.full_name) else {
                return Err(Error::invalid(format!("prost-build did not generate service '{}'", service.full_name)));
            };
            // The wrapper's names: `<Base>Client` (UpperCamelCase) and the accessor `base`,
            // numbered when an earlier service took them (`FooBar` and `foo_bar`).
            let base = heck::ToUpperCamelCase::to_upper_camel_case(accessors[&service.full_name].as_str());
            let class = (1..)
                .map(|n| if n < 2 { format!("{base}Client") } else { format!("{base}{n}Client") })
                .find(|c| taken_classes.insert(c.clone()))
                .unwrap_or_default();
            let accessor = (1..)
                .map(|n| names::accessor(&if n < 2 { base.clone() } else { format!("{base}{n}") }))
                .find(|a| taken_accessors.insert(a.clone()))
                .unwrap_or_default();
            let package: Vec<String> =
                Module::from_protobuf_package_name(&prost.package).parts().map(str::to_owned).collect();
            let module =
                if package.is_empty() { "crate::pb".to_owned() } else { format!("crate::pb::{}", package.join("::")) };
            let tonic_module = format!("{}_client", names::naive_snake_case(&prost.name));
            let server_module = format!("{module}::{}_server", names::naive_snake_case(&prost.name));
            let methods: Vec<Value> = service
                .methods
                .iter()
                .zip(&prost.methods)
                .map(|(m, p)| {
                    let input = absolute_type(&package, &p.input_type);
                    let output = absolute_type(&package, &p.output_type);
                    with_kind_flags(
                        json!({
                            "name": p.name,
                            "proto_name": m.name,
                            "kind": m.kind,
                            "path": format!("/{}/{}", service.full_name, m.name),
                            "input": input,
                            "output": output,
                            "input_local": input.strip_prefix("crate::").unwrap_or(&input),
                            "output_local": output.strip_prefix("crate::").unwrap_or(&output),
                            "input_public": public_type(&lib, &input),
                            "output_public": public_type(&lib, &output),
                            "doc": doc(&m.comments, m.deprecated),
                            "deprecated": m.deprecated,
                        }),
                        m.kind,
                    )
                })
                .collect();
            services.push(json!({
                "accessor": accessor,
                "full_name": service.full_name,
                "client_class": class,
                "tonic_client": format!("{}::{tonic_module}::{}Client", module.trim_start_matches("crate::"), prost.name),
                "tonic_client_public": public_type(&lib, &format!("{module}::{tonic_module}::{}Client", prost.name)),
                "server_module_public": public_type(&lib, &server_module),
                "server_trait": prost.name,
                "doc": doc(&service.comments, service.deprecated),
                "deprecated": service.deprecated,
                "methods": methods,
            }));
        }
    }
    services.sort_by(|a, b| a["accessor"].as_str().cmp(&b["accessor"].as_str()));

    let tree = module_tree(&modules);
    let top: Vec<Value> = children(&tree, &[])
        .into_iter()
        .map(|m| json!({ "name": m, "path": names::module_path_attribute(&[], m) }))
        .collect();
    let uses_prost_types = modules.values().any(|code| code.contains("::prost_types::"))
        || services.iter().flat_map(|s| s["methods"].as_array().into_iter().flatten()).any(|m| {
            m["input"].as_str().is_some_and(|t| t.contains("prost_types"))
                || m["output"].as_str().is_some_and(|t| t.contains("prost_types"))
        });

    let mut files = module_files(model, &modules)?;
    files.push(descriptor_file(model)?);
    let renders = vec![(
        "proto/gen_mod.rs.hbs".to_owned(),
        format!("{GEN_DIR}/mod.rs"),
        json!({
            "generator": generator_name(),
            "modules": top,
            "root_package": modules.contains_key(&Vec::new()),
            "descriptor_file": DESCRIPTOR_FILE,
        }),
    )];
    let example = example_service(&services);
    // README and doc examples: the example service's first unary method, with the service's
    // accessor; as arrays of zero or one element, so templates can `#each` them in strict mode.
    let example_methods: Vec<Value> = example
        .iter()
        .filter_map(|s| {
            let method = s["methods"].as_array()?.iter().find(|m| m["kind"] == "unary")?;
            let mut method = method.clone();
            method["accessor"] = s["accessor"].clone();
            Some(method)
        })
        .collect();
    // The quickstart uses store.Store (Write, Read, List) and config.Config (Set, Get) of the core
    // protos when they are generated; other proto sets get a one-call quickstart.
    let has = |service: &str, accessor: &str, methods: &[&str]| {
        services.iter().any(|s| {
            s["full_name"] == service
                && s["accessor"] == accessor
                && methods.iter().all(|m| s["methods"].as_array().into_iter().flatten().any(|x| x["name"] == *m))
        })
    };
    let quickstart_core =
        has("store.Store", "store", &["write", "read", "list"]) && has("config.Config", "config", &["set", "get"]);
    // Whether every call helper of the runtime (unary, client-streaming, server-streaming or bidi)
    // has a caller; when not, the runtime modules allow dead code.
    let kinds: BTreeSet<&str> = services
        .iter()
        .flat_map(|s| s["methods"].as_array().into_iter().flatten())
        .filter_map(|m| m["kind"].as_str())
        .collect();
    let runtime_used = kinds.contains("unary")
        && kinds.contains("client_streaming")
        && (kinds.contains("server_streaming") || kinds.contains("bidi"));
    let mut root = json!({
        "package_name": package_name,
        "lib_name": lib,
        "version": version,
        "user_agent": format!("micro-sdk-rust/{version}"),
        "generator": generator_name(),
        "services": services,
        "example_services": example.iter().cloned().collect::<Vec<_>>(),
        "example_service": example.unwrap_or(Value::Null),
        "example_methods": example_methods,
        "quickstart_core": quickstart_core,
        "runtime_used": runtime_used,
        "prost_types": uses_prost_types,
        "renames": renames
            .iter()
            .map(|r| json!({ "kind": r.kind, "proto": r.proto, "rust": r.rust }))
            .collect::<Vec<_>>(),
    });
    crate::lang::stamp_identity(
        &mut root,
        options,
        &format!(
            "Rust client for the gRPC services of Micro v3 (store, config, registry, auth, events, ...): prost messages and tonic clients, generated by {}",
            generator_name()
        ),
    );
    Ok(Plan { root, package_dir: String::new(), renders, files, formatter: Some(check_rust) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::memory_model;

    #[test]
    fn core_protos_plan() {
        use crate::load::{ProtoSource, load};
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths.len(), 14, "13 packages and the descriptor set: {paths:?}");
        assert!(paths.contains(&"src/gen/store.rs") && paths.contains(&"src/gen/descriptor_set.bin.rs"));
        let network = plan.files.iter().find(|f| f.path == "src/gen/network.rs").unwrap();
        assert!(network.contents.starts_with("// @generated by micro-gen "));
        // No transport constructor, so the `Connect` rpc does not clash with it.
        assert!(
            network.contents.contains("pub async fn connect(") && !network.contents.contains("pub async fn connect<D>")
        );
        assert!(network.contents.contains("#[cfg(feature = \"client\")]\n"));
        assert!(network.contents.contains("#[cfg(feature = \"server\")]\n"));
        let services = plan.root["services"].as_array().unwrap();
        assert_eq!(services.len(), 19);
        let store = services.iter().find(|s| s["full_name"] == "store.Store").unwrap();
        assert_eq!(store["accessor"], "store");
        assert_eq!(store["tonic_client"], "pb::store::store_client::StoreClient");
        let list = store["methods"].as_array().unwrap().iter().find(|m| m["proto_name"] == "List").unwrap();
        assert_eq!(
            (list["kind"].as_str(), list["output"].as_str()),
            (Some("server_streaming"), Some("crate::pb::store::ListResponse"))
        );
        assert!(plan.root["quickstart_core"].as_bool().unwrap());
        assert!(plan.root["runtime_used"].as_bool().unwrap());
        assert_eq!(plan.root["example_methods"][0]["name"], "read");
        assert_eq!(plan.root["example_methods"][0]["accessor"], "store");

        let bad = SdkOptions { package_name: Some("1abc".into()), ..SdkOptions::default() };
        assert!(super::plan(&model, &bad).is_err());
    }

    #[test]
    fn services_and_rpcs_get_names_that_compile() {
        let source = "syntax = \"proto3\";\npackage k;\nmessage M {}\nmessage FooClient { oneof o { int32 a = 1; } }\n\
                      service Arc { rpc New(M) returns (M); rpc foo_bar(M) returns (M); rpc FooBar(M) returns (M); }\n\
                      service arc { rpc Get(M) returns (M); }\nservice Foo { rpc type(M) returns (M); }\n";
        let model = memory_model(&[("k.proto", source)]);
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        let services = plan.root["services"].as_array().unwrap();
        type Summary = (String, String, Vec<(String, String)>);
        let summary: Vec<Summary> = services
            .iter()
            .map(|s| {
                let methods = s["methods"].as_array().unwrap();
                let methods = methods.iter().map(|m| (m["name"].to_string(), m["path"].to_string())).collect();
                (s["server_trait"].to_string(), s["client_class"].to_string(), methods)
            })
            .collect();
        let q = |s: &str| format!("\"{s}\"");
        assert_eq!(
            summary,
            [
                // `Arc` is imported by tonic's server module; `arc` is `Arc` too.
                (
                    q("Arc2"),
                    q("ArcClient"),
                    vec![
                        (q("new2"), q("/k.Arc/New")),
                        (q("foo_bar"), q("/k.Arc/foo_bar")),
                        (q("foo_bar2"), q("/k.Arc/FooBar"))
                    ]
                ),
                (q("Arc3"), q("Arc2Client"), vec![(q("get"), q("/k.arc/Get"))]),
                // The module `foo_client` is message `FooClient`'s.
                (q("Foo2"), q("FooClient"), vec![(q("r#type"), q("/k.Foo/type"))]),
            ]
        );
        let renames = plan.root["renames"].as_array().unwrap();
        assert_eq!(renames.len(), 5, "{renames:?}");
        // tonic's clients and servers keep the proto names in the gRPC paths.
        let code = &plan.files.iter().find(|f| f.path == "src/gen/k.rs").unwrap().contents;
        assert!(code.contains("pub async fn new2(") && code.contains("\"/k.Arc/New\""), "{code}");
        assert!(code.contains("pub mod arc2_server") && code.contains("pub trait Arc2:"));
        assert!(code.contains("\"/k.arc/Get\"") && code.contains("\"/k.Arc/FooBar\""));
    }

    #[test]
    fn wrapper_types_in_rpcs_are_absolute() {
        let source = "syntax = \"proto3\";\npackage w;\nimport \"google/protobuf/wrappers.proto\";\n\
                      service W { rpc A(google.protobuf.Int32Value) returns (google.protobuf.BoolValue); }\n";
        let model = memory_model(&[("w.proto", source)]);
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        let method = &plan.root["services"][0]["methods"][0];
        assert_eq!(
            (method["input"].as_str(), method["output"].as_str()),
            (Some("::core::primitive::i32"), Some("::core::primitive::bool"))
        );
        let code = &plan.files.iter().find(|f| f.path == "src/gen/w.rs").unwrap().contents;
        assert!(!code.contains("super::i32") && code.contains("::core::primitive::i32"), "{code}");
    }

    #[test]
    fn types_resolve_to_crate_paths() {
        let pkg = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(absolute_type(&pkg(&["store"]), "ReadRequest"), "crate::pb::store::ReadRequest");
        assert_eq!(absolute_type(&pkg(&["network"]), "super::router::Route"), "crate::pb::router::Route");
        assert_eq!(
            absolute_type(&pkg(&["acme", "shop", "v1"]), "super::super::common::v1::Money"),
            "crate::pb::acme::common::v1::Money"
        );
        assert_eq!(
            absolute_type(&pkg(&["acme", "shop", "v1"]), "order::Line"),
            "crate::pb::acme::shop::v1::order::Line"
        );
        assert_eq!(absolute_type(&pkg(&["a"]), "()"), "()");
        assert_eq!(absolute_type(&pkg(&["a"]), "::prost_types::Timestamp"), "::prost_types::Timestamp");
        assert_eq!(
            public_type("micro_client", "crate::pb::store::ReadRequest"),
            "micro_client::pb::store::ReadRequest"
        );
        assert_eq!(public_type("micro_client", "::prost_types::Any"), "prost_types::Any");
        assert_eq!(public_type("micro_client", "()"), "()");
    }

    #[test]
    fn rendered_rust_must_parse() {
        let text = "// @generated\npub fn f( ) -> u8 { 1 }\n".to_owned();
        assert_eq!(check_rust("src/a.rs", text.clone()).unwrap(), text);
        assert_eq!(check_rust("README.md", "fn (".into()).unwrap(), "fn (");
        let err = check_rust("src/b.rs", "fn ok() {}\nfn broken( {\n".into()).unwrap_err();
        assert!(err.is_template());
        assert!(err.to_string().contains("src/b.rs") && err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn modules_get_their_services_and_empty_messages_close_on_their_line() {
        let code = "/// A.\n#[derive(Clone)]\npub struct A {\n}\n/// pub struct D {\npub struct B {\n    pub x: i32,\n}\n\
                    __micro_gen_service!(1);\npub mod b {\n    pub struct C {\n    }\n}\n__micro_gen_service!(7);\npub struct E {\n}";
        let services = ["zero\n".to_owned(), "pub mod s_client {}\n".to_owned()];
        assert_eq!(
            lay_out(code, &services),
            "/// A.\n#[derive(Clone)]\npub struct A {}\n/// pub struct D {\npub struct B {\n    pub x: i32,\n}\n\
             pub mod s_client {}\npub mod b {\n    pub struct C {}\n}\n__micro_gen_service!(7);\npub struct E {}"
        );
    }

    #[test]
    fn byte_strings_escape_and_wrap() {
        let text = byte_string_lines(b"a \"b\"\\\x00\n");
        assert_eq!(text, "a\\x20\\\"b\\\"\\\\\\x00\\x0a");
        let long = byte_string_lines(&[b'x'; 200]);
        assert!(long.lines().all(|l| l.len() <= 97));
        assert_eq!(long.replace("\\\n", ""), "x".repeat(200));
    }
}
