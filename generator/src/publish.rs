//! Packaging and publishing the generated SDKs with each ecosystem's own tools.
//!
//! This is the one module of the library that runs other programs: `npm pack`/`npm publish`,
//! `python -m build`/`twine upload`, `cargo package`/`cargo publish`, `gem build`/`gem push`,
//! `mvn package`/`mvn deploy:deploy-file`. Go has no upload tool: a Go module is published by a
//! tag, so [`package`] writes the module zip, `.mod` and `.info` a module proxy serves, and
//! [`publish`] lays them out under a `file://` `GOPROXY` directory (or prints the tag to push).
//!
//! Every build runs in a scratch copy of the SDK directory (nothing is written inside `sdks/`);
//! artifacts land in one output directory with a `SHA256SUMS` file over all of them.
//!
//! Credentials come only from the environment variables each tool already reads
//! (`NODE_AUTH_TOKEN` for npm, `TWINE_USERNAME`/`TWINE_PASSWORD`, `CARGO_REGISTRY_TOKEN`,
//! `GEM_HOST_API_KEY`, `MAVEN_USERNAME`/`MAVEN_PASSWORD` through a generated settings file that
//! refers to them by name). They are passed through, never read into arguments, and never
//! printed: every URL shown is stripped of its `user:password@` part.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::lang::Language;

/// What one SDK is called on its registry, read from its own manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The package name (npm, PyPI, crates.io, RubyGems), `groupId:artifactId` (Maven) or the
    /// module path (Go).
    pub name: String,
    /// The version, `X.Y.Z` (Go: without the `v`).
    pub version: String,
}

/// Options for [`package`] and [`publish`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The generated SDK (default `sdks/<lang>`).
    pub sdk_dir: PathBuf,
    /// Where artifacts and `SHA256SUMS` go (default `dist/`).
    pub out_dir: PathBuf,
    /// Print every command run (with URLs redacted) and the tools' output.
    pub verbose: bool,
}

/// What [`publish`] sent to a registry.
#[derive(Debug, Clone)]
pub struct Published {
    /// The SDK's name and version.
    pub identity: Identity,
    /// The artifact file names uploaded (or, with a dry run, checked).
    pub artifacts: Vec<String>,
    /// The registry, with any credentials in the URL removed.
    pub registry: String,
    /// True when nothing was uploaded (a dry run, or Go without a `file://` proxy).
    pub dry_run: bool,
    /// A note for the user (Go tag instructions).
    pub note: Option<String>,
}

/// Reads an SDK's name and version from its manifest.
///
/// # Errors
///
/// The manifest is missing or has no name or version.
pub fn identity(language: Language, sdk_dir: &Path) -> Result<Identity> {
    let read = |name: &str| {
        let path = sdk_dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| Error::io("failed to read", path, e))
    };
    let missing = |what: &str| Error::invalid(format!("'{}' has no {what}", sdk_dir.display()));
    let toml_str = |text: &str, table: &str, key: &str| -> Option<String> {
        let value: toml::Table = toml::from_str(text).ok()?;
        value.get(table)?.get(key)?.as_str().map(str::to_owned)
    };
    let between = |text: &str, open: &str, close: &str| -> Option<String> {
        let start = text.find(open)? + open.len();
        let end = text[start..].find(close)? + start;
        Some(text[start..end].trim().to_owned())
    };
    let id = match language {
        Language::Ts => {
            let v: serde_json::Value = serde_json::from_str(&read("package.json")?)?;
            Identity {
                name: v["name"].as_str().ok_or_else(|| missing("package.json name"))?.to_owned(),
                version: v["version"].as_str().ok_or_else(|| missing("package.json version"))?.to_owned(),
            }
        }
        Language::Python => {
            let text = read("pyproject.toml")?;
            Identity {
                name: toml_str(&text, "project", "name").ok_or_else(|| missing("project.name"))?,
                version: toml_str(&text, "project", "version").ok_or_else(|| missing("project.version"))?,
            }
        }
        Language::Rust => {
            let text = read("Cargo.toml")?;
            Identity {
                name: toml_str(&text, "package", "name").ok_or_else(|| missing("package.name"))?,
                version: toml_str(&text, "package", "version").ok_or_else(|| missing("package.version"))?,
            }
        }
        Language::Ruby => {
            let gemspec = gemspec(sdk_dir)?;
            let version = read("lib/micro/version.rb")?;
            Identity {
                name: gemspec.trim_end_matches(".gemspec").to_owned(),
                version: between(&version, "VERSION = '", "'").ok_or_else(|| missing("Micro::VERSION"))?,
            }
        }
        Language::Java => {
            // The project's coordinates are the first groupId/artifactId/version of the pom.
            let pom = read("pom.xml")?;
            let group = between(&pom, "<groupId>", "</groupId>").ok_or_else(|| missing("groupId"))?;
            let artifact = between(&pom, "<artifactId>", "</artifactId>").ok_or_else(|| missing("artifactId"))?;
            let version = between(&pom, "<version>", "</version>").ok_or_else(|| missing("version"))?;
            Identity { name: format!("{group}:{artifact}"), version }
        }
        Language::Go => {
            let module = read("go.mod")?;
            let name = module
                .lines()
                .find_map(|l| l.strip_prefix("module "))
                .map(|m| m.trim().to_owned())
                .ok_or_else(|| missing("module line in go.mod"))?;
            let micro = read("micro.go")?;
            let version = between(&micro, "\"micro-sdk-go/", "\"").ok_or_else(|| missing("UserAgent in micro.go"))?;
            Identity { name, version }
        }
    };
    Ok(id)
}

fn gemspec(sdk_dir: &Path) -> Result<String> {
    let entries = std::fs::read_dir(sdk_dir).map_err(|e| Error::io("failed to read", sdk_dir, e))?;
    let specs: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n.ends_with(".gemspec"))
        .collect();
    match specs.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::invalid(format!("expected one .gemspec in '{}'", sdk_dir.display()))),
    }
}

/// The file names [`package`] writes for an SDK, in a fixed order.
pub fn artifact_names(language: Language, id: &Identity) -> Vec<String> {
    let v = &id.version;
    match language {
        // npm pack: `@scope/name` → `scope-name-1.0.0.tgz`.
        Language::Ts => vec![format!("{}-{v}.tgz", id.name.trim_start_matches('@').replace('/', "-"))],
        Language::Python => {
            // PEP 625 / wheel file names: the normalized name with `_`.
            let stem: String =
                id.name.to_lowercase().chars().map(|c| if c == '-' || c == '.' { '_' } else { c }).collect();
            vec![format!("{stem}-{v}.tar.gz"), format!("{stem}-{v}-py3-none-any.whl")]
        }
        Language::Rust => vec![format!("{}-{v}.crate", id.name)],
        Language::Ruby => vec![format!("{}-{v}.gem", id.name)],
        Language::Java => {
            let artifact = id.name.split_once(':').map_or(id.name.as_str(), |(_, a)| a);
            vec![
                format!("{artifact}-{v}.pom"),
                format!("{artifact}-{v}.jar"),
                format!("{artifact}-{v}-sources.jar"),
                format!("{artifact}-{v}-javadoc.jar"),
            ]
        }
        Language::Go => {
            let last = id.name.rsplit('/').next().unwrap_or(&id.name);
            ["zip", "mod", "info"].iter().map(|ext| format!("{last}@v{v}.{ext}")).collect()
        }
    }
}

/// Builds one SDK's artifacts with its ecosystem's tool, in a scratch copy of `sdk_dir`, into
/// `out_dir`, and rewrites `out_dir/SHA256SUMS`. Returns the artifacts' paths.
///
/// # Errors
///
/// A missing tool, a failed build, or an artifact the tool did not produce.
pub fn package(language: Language, options: &Options) -> Result<Vec<PathBuf>> {
    let id = identity(language, &options.sdk_dir)?;
    let names = artifact_names(language, &id);
    std::fs::create_dir_all(&options.out_dir).map_err(|e| Error::io("failed to create", &options.out_dir, e))?;
    let out = absolute(&options.out_dir)?;
    let scratch = Scratch::new(language)?;
    let work = scratch.path.join("sdk");
    copy_sdk(&options.sdk_dir, &work)?;
    let run = |cmd: &mut Command| run(cmd, options.verbose);
    match language {
        Language::Ts => {
            run(npm(&work).args(["install", "--no-audit", "--no-fund", "--loglevel=error"]))?;
            run(npm(&work).args(["pack", "--loglevel=warn", "--pack-destination"]).arg(&out))?;
        }
        Language::Python => {
            let py = python();
            let isolated =
                !Command::new(&py).args(["-c", "import build, hatchling"]).output().is_ok_and(|o| o.status.success());
            let mut cmd = Command::new(&py);
            cmd.args(["-m", "build", "--sdist", "--wheel", "--outdir"]).arg(&out);
            if !isolated {
                cmd.arg("--no-isolation");
            }
            run(cmd.arg(&work))?;
        }
        Language::Rust => {
            // Its own workspace: the scratch copy may sit inside another workspace.
            append(&work.join("Cargo.toml"), "\n[workspace]\n")?;
            let target = scratch.path.join("target");
            let mut cmd = Command::new("cargo");
            cmd.current_dir(&work).args(["package", "--allow-dirty", "--no-verify", "--quiet"]);
            if std::env::var_os("CARGO_TARGET_DIR").is_none() {
                cmd.env("CARGO_TARGET_DIR", &target);
            }
            run(&mut cmd)?;
            let dir = std::env::var_os("CARGO_TARGET_DIR").map_or(target, PathBuf::from);
            copy_file(&dir.join("package").join(&names[0]), &out.join(&names[0]))?;
        }
        Language::Ruby => {
            let spec = gemspec(&work)?;
            let output = run(Command::new("gem").current_dir(&work).arg("build").arg(&spec))?;
            if output.to_lowercase().contains("warning") {
                return Err(Error::tool(format!("gem build warned:\n{}", redact(&output))));
            }
            copy_file(&work.join(&names[0]), &out.join(&names[0]))?;
        }
        Language::Java => {
            run(Command::new("mvn").current_dir(&work).args([
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-Prelease",
                "-DskipTests",
                "package",
            ]))?;
            copy_file(&work.join("pom.xml"), &out.join(&names[0]))?;
            for name in &names[1..] {
                copy_file(&work.join("target").join(name), &out.join(name))?;
            }
        }
        Language::Go => {
            let version = format!("v{}", id.version);
            let zip = go_module_zip(&work, &id.name, &version)?;
            write(&out.join(&names[0]), &zip)?;
            copy_file(&work.join("go.mod"), &out.join(&names[1]))?;
            let info = format!("{{\"Version\":\"{version}\",\"Time\":\"{}\"}}\n", rfc3339_now());
            write(&out.join(&names[2]), info.as_bytes())?;
        }
    }
    let paths: Vec<PathBuf> = names.iter().map(|n| out.join(n)).collect();
    for p in &paths {
        if !p.is_file() {
            return Err(Error::tool(format!("{language}: packaging did not produce '{}'", p.display())));
        }
    }
    write_checksums(&out)?;
    write(&out.join(format!(".{language}.source")), source_digest(&options.sdk_dir)?.as_bytes())?;
    Ok(paths)
}

/// Uploads one SDK to `registry` with its ecosystem's tool, packaging it first unless `out_dir`
/// already holds artifacts built from this very SDK directory.
///
/// `registry` is the npm registry URL, the PyPI upload URL (twine's repository URL), a Maven
/// repository URL (`file://` or `https://`), a RubyGems host (`https://`) or a local gem
/// directory (`file://`), a Cargo registry name (`crates-io` for crates.io), or a `file://` Go
/// module proxy directory (anything else prints the tag to push).
///
/// # Errors
///
/// The version is already on the registry (checked before uploading; nothing is changed), a tool
/// is missing, or the upload fails.
pub fn publish(language: Language, options: &Options, registry: &str, dry_run: bool) -> Result<Published> {
    let id = identity(language, &options.sdk_dir)?;
    let names = artifact_names(language, &id);
    let out = absolute(&options.out_dir)?;
    let fresh = std::fs::read_to_string(out.join(format!(".{language}.source")))
        .is_ok_and(|d| d == source_digest(&options.sdk_dir).unwrap_or_default())
        && names.iter().all(|n| out.join(n).is_file());
    if !fresh {
        package(language, options)?;
    }
    let files: Vec<PathBuf> = names.iter().map(|n| out.join(n)).collect();
    let shown = redact(registry);
    let exists = || Error::already_published(language.name(), &id.name, &id.version, &shown);
    let run = |cmd: &mut Command| run(cmd, options.verbose);
    let scratch = Scratch::new(language)?;
    let mut note = None;
    let mut uploaded = !dry_run;
    match language {
        Language::Ts => {
            let spec = format!("{}@{}", id.name, id.version);
            let mut view = npm(&scratch.path);
            view.args(["view", &spec, "version", "--registry", registry]);
            let npmrc = npm_auth(&scratch.path, registry)?;
            if let Some(rc) = &npmrc {
                view.arg("--userconfig").arg(rc);
            }
            if let Ok(found) = run(&mut view) {
                if found.trim() == id.version {
                    return Err(exists());
                }
            }
            let mut cmd = npm(&scratch.path);
            cmd.arg("publish").arg(&files[0]).args(["--registry", registry, "--access", "public"]);
            if let Some(rc) = &npmrc {
                cmd.arg("--userconfig").arg(rc);
            }
            if dry_run {
                cmd.arg("--dry-run");
            }
            let output = run(&mut cmd)?;
            if output.contains("npm warn") || output.contains("npm WARN") {
                let warnings: Vec<&str> = output
                    .lines()
                    .filter(|l| l.to_lowercase().starts_with("npm warn") && !l.contains("Unknown user config"))
                    .collect();
                if !warnings.is_empty() {
                    return Err(Error::tool(format!("npm publish warned:\n{}", redact(&warnings.join("\n")))));
                }
            }
        }
        Language::Python => {
            let py = python();
            run(Command::new(&py).args(["-m", "twine", "check", "--strict"]).args(&files))?;
            if pypi_has(registry, &names)? {
                return Err(exists());
            }
            if !dry_run {
                run(Command::new(&py)
                    .args(["-m", "twine", "upload", "--non-interactive", "--disable-progress-bar", "--repository-url"])
                    .arg(registry)
                    .args(&files))?;
            }
        }
        Language::Rust => {
            // cargo asks the registry's index itself and refuses an existing version, dry run or not.
            let work = scratch.path.join("sdk");
            copy_sdk(&options.sdk_dir, &work)?;
            append(&work.join("Cargo.toml"), "\n[workspace]\n")?;
            let mut cmd = Command::new("cargo");
            cmd.current_dir(&work).args(["publish", "--allow-dirty", "--quiet"]);
            if registry != "crates-io" && registry != "crates.io" {
                cmd.args(["--registry", registry]);
            }
            if dry_run {
                cmd.arg("--dry-run");
            }
            if std::env::var_os("CARGO_TARGET_DIR").is_none() {
                cmd.env("CARGO_TARGET_DIR", scratch.path.join("target"));
            }
            if let Err(e) = run(&mut cmd) {
                if e.to_string().contains("already exists") {
                    return Err(exists());
                }
                return Err(e);
            }
        }
        Language::Ruby => {
            if let Some(dir) = local_dir(registry) {
                // A local gem repository: `gem install --local` from it.
                let dest = dir.join("gems").join(&names[0]);
                if dest.exists() {
                    return Err(exists());
                }
                if !dry_run {
                    copy_file(&files[0], &dest)?;
                }
            } else {
                let url = format!("{}/api/v1/versions/{}.json", registry.trim_end_matches('/'), id.name);
                if http_get(&url)?.is_some_and(|body| body.contains(&format!("\"number\":\"{}\"", id.version))) {
                    return Err(exists());
                }
                if !dry_run {
                    run(Command::new("gem").arg("push").arg(&files[0]).args(["--host", registry]))?;
                }
            }
        }
        Language::Java => {
            let (group, artifact) = id.name.split_once(':').unwrap_or((&id.name, &id.name));
            let path = format!("{}/{artifact}/{}/{}", group.replace('.', "/"), id.version, names[0]);
            let present = match local_dir(registry) {
                Some(dir) => dir.join(&path).exists(),
                None => http_get(&format!("{}/{path}", registry.trim_end_matches('/')))?.is_some(),
            };
            if present {
                return Err(exists());
            }
            if !dry_run {
                let settings = scratch.path.join("settings.xml");
                // Names the variables, never their values; Maven reads them at run time.
                write(
                    &settings,
                    b"<settings><servers><server><id>micro-gen-target</id>\
                      <username>${env.MAVEN_USERNAME}</username><password>${env.MAVEN_PASSWORD}</password>\
                      </server></servers></settings>\n",
                )?;
                let mut cmd = Command::new("mvn");
                cmd.current_dir(&scratch.path).args([
                    "-q",
                    "-B",
                    "-Dstyle.color=never",
                    "org.apache.maven.plugins:maven-deploy-plugin:3.1.2:deploy-file",
                    "-DrepositoryId=micro-gen-target",
                ]);
                if std::env::var_os("MAVEN_USERNAME").is_some() {
                    cmd.arg("-s").arg(&settings);
                }
                let arg = |k: &str, p: &Path| format!("-D{k}={}", p.display());
                cmd.arg(format!("-Durl={registry}"))
                    .arg(arg("pomFile", &files[0]))
                    .arg(arg("file", &files[1]))
                    .arg(arg("sources", &files[2]))
                    .arg(arg("javadoc", &files[3]));
                run(&mut cmd)?;
            }
        }
        Language::Go => {
            let version = format!("v{}", id.version);
            match local_dir(registry) {
                Some(dir) => {
                    let at_v = dir.join(escape_module_path(&id.name)).join("@v");
                    if at_v.join(format!("{version}.info")).exists() {
                        return Err(exists());
                    }
                    if !dry_run {
                        std::fs::create_dir_all(&at_v).map_err(|e| Error::io("failed to create", &at_v, e))?;
                        for (file, ext) in files.iter().zip(["zip", "mod", "info"]) {
                            copy_file(file, &at_v.join(format!("{version}.{ext}")))?;
                        }
                        let list = at_v.join("list");
                        let mut versions = std::fs::read_to_string(&list).unwrap_or_default();
                        let _ = writeln!(versions, "{version}");
                        write(&list, versions.as_bytes())?;
                    }
                }
                None => {
                    uploaded = false;
                    note = Some(format!(
                        "Go modules are published by a tag: push the SDK to the repository of {} and run \
                         `git tag {version} && git push origin {version}` there (in a subdirectory, tag <dir>/{version}); \
                         the module zip is {}",
                        id.name,
                        files[0].display()
                    ));
                }
            }
        }
    }
    Ok(Published { identity: id, artifacts: names, registry: shown, dry_run: !uploaded, note })
}

/// Removes `user:password@` from every URL in `text`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '\'')).unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Runs a command; returns its stdout and stderr together. On failure the error carries the
/// (redacted) command line and output. Only the command line is printed with `verbose`, and the
/// environment never is.
fn run(cmd: &mut Command, verbose: bool) -> Result<String> {
    let line = redact(&format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    ));
    if verbose {
        eprintln!("+ {line}");
    }
    let output = cmd.output().map_err(|e| {
        Error::tool(format!("failed to run '{line}': {e} (is {} installed?)", cmd.get_program().to_string_lossy()))
    })?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if verbose && !text.is_empty() {
        eprintln!("{}", redact(&text));
    }
    if !output.status.success() {
        return Err(Error::tool(format!("'{line}' failed ({}):\n{}", output.status, redact(text.trim_end()))));
    }
    Ok(text)
}

fn npm(dir: &Path) -> Command {
    let mut cmd = Command::new("npm");
    cmd.current_dir(dir)
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false");
    cmd
}

/// With `NODE_AUTH_TOKEN` set, a scratch `.npmrc` that refers to it by name for `registry`.
fn npm_auth(dir: &Path, registry: &str) -> Result<Option<PathBuf>> {
    if std::env::var_os("NODE_AUTH_TOKEN").is_none() {
        return Ok(None);
    }
    let host = registry.split_once("://").map_or(registry, |(_, rest)| rest);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h).trim_end_matches('/');
    let rc = dir.join("publish.npmrc");
    write(&rc, format!("//{host}/:_authToken=${{NODE_AUTH_TOKEN}}\n").as_bytes())?;
    Ok(Some(rc))
}

fn python() -> String {
    std::env::var("MICRO_GEN_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Whether a PyPI-style index already lists one of `files`: asks its simple API
/// (`https://upload.pypi.org/legacy/` → `https://pypi.org/simple/<name>/`, else `<registry>/simple/<name>/`).
fn pypi_has(registry: &str, files: &[String]) -> Result<bool> {
    let base = if registry.contains("upload.pypi.org") {
        "https://pypi.org/simple".to_owned()
    } else if registry.contains("test.pypi.org") {
        "https://test.pypi.org/simple".to_owned()
    } else {
        format!("{}/simple", registry.trim_end_matches('/').trim_end_matches("/legacy"))
    };
    let project = files[0].split('-').next().unwrap_or_default().replace('_', "-");
    Ok(http_get(&format!("{base}/{project}/"))?.is_some_and(|page| files.iter().any(|f| page.contains(f.as_str()))))
}

/// GET with curl: `Some(body)` on 2xx, `None` on 404 and the like.
fn http_get(url: &str) -> Result<Option<String>> {
    let output = Command::new("curl")
        .args(["-fsSL", "--max-time", "30", url])
        .output()
        .map_err(|e| Error::tool(format!("failed to run curl: {e}")))?;
    Ok(output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// `file:///dir` or a plain path → the directory.
fn local_dir(registry: &str) -> Option<PathBuf> {
    if let Some(path) = registry.strip_prefix("file://") {
        Some(PathBuf::from(path))
    } else if registry.contains("://") {
        None
    } else {
        Some(PathBuf::from(registry))
    }
}

/// The module proxy's case encoding: `!` before each upper-case letter, lowered.
fn escape_module_path(module: &str) -> String {
    module.chars().fold(String::new(), |mut s, c| {
        if c.is_ascii_uppercase() {
            s.push('!');
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
        s
    })
}

/// A module zip as `go mod download` expects: every file under `<module>@<version>/`, sorted,
/// stored (not compressed), without VCS directories or `vendor/`.
fn go_module_zip(dir: &Path, module: &str, version: &str) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.retain(|rel| {
        !rel.split('/').any(|c| matches!(c, ".git" | ".hg" | ".svn" | ".bzr" | "vendor"))
            && rel != ".micro-gen-manifest"
    });
    files.sort();
    let mut entries = Vec::new();
    for rel in files {
        let data = std::fs::read(dir.join(&rel)).map_err(|e| Error::io("failed to read", dir.join(&rel), e))?;
        entries.push((format!("{module}@{version}/{rel}"), data));
    }
    Ok(zip_stored(&entries))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("failed to read", dir, e))? {
        let entry = entry.map_err(|e| Error::io("failed to read", dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// A minimal ZIP archive (method 0, stored) with fixed timestamps, so it is reproducible.
fn zip_stored(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (2020 - 1980) << 9 | 1 << 5 | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let header = |sig: u32, central_entry: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central_entry {
                h.extend_from_slice(&20u16.to_le_bytes()); // version made by
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&DOS_TIME.to_le_bytes());
            h.extend_from_slice(&DOS_DATE.to_le_bytes());
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central_entry {
                h.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
                h.extend_from_slice(&0o100644u32.wrapping_shl(16).to_le_bytes()); // external
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let start = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A SHA-256 over every file of the SDK directory (paths and contents).
fn source_digest(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.retain(|f| !f.starts_with("node_modules/") && !f.starts_with("target/") && !f.starts_with("dist/"));
    files.sort();
    let mut hash = Sha256::new();
    for f in files {
        hash.update(f.as_bytes());
        hash.update([0]);
        hash.update(std::fs::read(dir.join(&f)).map_err(|e| Error::io("failed to read", dir.join(&f), e))?);
    }
    Ok(hex(&hash.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `SHA256SUMS` over every artifact in `out` (the `sha256sum -c` format).
fn write_checksums(out: &Path) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| Error::io("failed to read", out, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n != "SHA256SUMS" && !n.starts_with('.'))
        .collect();
    names.sort();
    let mut sums = String::new();
    for n in names {
        let data = std::fs::read(out.join(&n)).map_err(|e| Error::io("failed to read", out.join(&n), e))?;
        let _ = writeln!(sums, "{}  {n}", hex(&Sha256::digest(&data)));
    }
    write(&out.join("SHA256SUMS"), sums.as_bytes())
}

/// Copies an SDK directory, leaving out build output and micro-gen's manifest.
fn copy_sdk(from: &Path, to: &Path) -> Result<()> {
    let mut files = Vec::new();
    walk(from, from, &mut files)?;
    for rel in files {
        let skip = rel.split('/').any(|c| matches!(c, "node_modules" | "target" | "dist" | "__pycache__"))
            || matches!(rel.as_str(), ".micro-gen-manifest" | "Cargo.lock")
            || rel.ends_with(".gem");
        if !skip {
            copy_file(&from.join(&rel), &to.join(&rel))?;
        }
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("failed to create", parent, e))?;
    }
    std::fs::copy(from, to).map_err(|e| Error::io("failed to copy", from, e))?;
    Ok(())
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).map_err(|e| Error::io("failed to write", path, e))
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut s = std::fs::read_to_string(path).map_err(|e| Error::io("failed to read", path, e))?;
    s.push_str(text);
    write(path, s.as_bytes())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(path).map_err(|e| Error::io("failed to create", path, e))?;
    std::fs::canonicalize(path).map_err(|e| Error::io("failed to resolve", path, e))
}

/// A scratch directory under the system's temporary directory, removed on drop.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(language: Language) -> Result<Scratch> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("micro-gen-{language}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| Error::io("failed to create", &path, e))?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo() {
        assert_eq!(
            redact("npm publish --registry https://me:s3cret@reg.example/npm/"),
            "npm publish --registry https://***@reg.example/npm/"
        );
        assert_eq!(redact("http://127.0.0.1:4873/ and file:///tmp/x"), "http://127.0.0.1:4873/ and file:///tmp/x");
        assert_eq!(redact("x https://tok@h"), "x https://***@h");
    }

    #[test]
    fn artifact_names_follow_each_tool() {
        let id = |n: &str| Identity { name: n.into(), version: "1.2.3".into() };
        assert_eq!(artifact_names(Language::Ts, &id("@micro/sdk")), ["micro-sdk-1.2.3.tgz"]);
        assert_eq!(artifact_names(Language::Python, &id("micro-sdk"))[1], "micro_sdk-1.2.3-py3-none-any.whl");
        assert_eq!(artifact_names(Language::Java, &id("dev.micro:micro-sdk"))[3], "micro-sdk-1.2.3-javadoc.jar");
        assert_eq!(artifact_names(Language::Go, &id("github.com/micro/micro-sdk-go"))[0], "micro-sdk-go@v1.2.3.zip");
        assert_eq!(escape_module_path("github.com/Acme/x"), "github.com/!acme/x");
    }

    #[test]
    fn checksums_and_zip() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let zip = zip_stored(&[("m@v1.0.0/go.mod".into(), b"module m\n".to_vec())]);
        assert_eq!(&zip[..4], b"PK\x03\x04");
        assert!(rfc3339_now().ends_with('Z'));
    }

    #[test]
    fn reads_identities_of_the_checked_in_sdks() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdks");
        for lang in Language::ALL {
            let id = identity(lang, &root.join(lang.name())).unwrap();
            assert!(!id.name.is_empty() && id.version.split('.').count() == 3, "{lang}: {id:?}");
        }
    }
}
