//! The `micro-gen` command line: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use micro_gen::config::{CONFIG_FILE, ConfigFile, DEFAULT_VERSION, SdkOptions};
use micro_gen::lang::Language;
use micro_gen::load::{ProtoSource, load};
use micro_gen::model::Model;
use micro_gen::render::TemplateSet;
use micro_gen::{generate_all, output};

/// Generate client SDKs for Micro's gRPC services, or any protos.
#[derive(Debug, Parser)]
#[command(name = "micro-gen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LangArg {
    /// TypeScript (npm package)
    Ts,
    /// Python (PyPI package)
    Python,
    /// Rust (crates.io crate)
    Rust,
    /// Go (Go module)
    Go,
    /// Java (Maven project)
    Java,
    /// Ruby (gem)
    Ruby,
    /// Every language
    All,
}

#[derive(Debug, clap::Args)]
struct ProtoArgs {
    /// Proto files to compile (default: the bundled Micro core protos)
    #[arg(long = "proto", value_name = "FILE", num_args = 1..)]
    protos: Vec<PathBuf>,
    /// Include directory for resolving imports, as protoc's -I (repeatable)
    #[arg(short = 'I', long = "include", visible_alias = "proto_path", value_name = "DIR")]
    includes: Vec<PathBuf>,
}

impl ProtoArgs {
    fn source(&self) -> ProtoSource {
        if self.protos.is_empty() {
            ProtoSource::Bundled
        } else {
            ProtoSource::Files { files: self.protos.clone(), includes: self.includes.clone() }
        }
    }
}

#[derive(Debug, clap::Args)]
struct PublishDirs {
    /// The generated SDK (default sdks/<lang>; with --lang all, <DIR>/<lang>)
    #[arg(long, value_name = "DIR")]
    sdk_dir: Option<PathBuf>,
    /// Where artifacts and SHA256SUMS go
    #[arg(long, value_name = "DIR", default_value = "dist")]
    out_dir: PathBuf,
    /// Print each command run (URLs without credentials) and the tools' output
    #[arg(long, short)]
    verbose: bool,
}

impl PublishDirs {
    fn options(&self, language: Language, all: bool) -> micro_gen::publish::Options {
        let sdk_dir = match (&self.sdk_dir, all) {
            (Some(d), true) => d.join(language.name()),
            (Some(d), false) => d.clone(),
            (None, _) => PathBuf::from("sdks").join(language.name()),
        };
        micro_gen::publish::Options { sdk_dir, out_dir: self.out_dir.clone(), verbose: self.verbose }
    }
}

impl LangArg {
    fn languages(self) -> Vec<Language> {
        match self {
            LangArg::Ts => vec![Language::Ts],
            LangArg::Python => vec![Language::Python],
            LangArg::Rust => vec![Language::Rust],
            LangArg::Go => vec![Language::Go],
            LangArg::Java => vec![Language::Java],
            LangArg::Ruby => vec![Language::Ruby],
            LangArg::All => Language::ALL.to_vec(),
        }
    }
}

/// The SDKs' identity; each flag overrides the same key of micro-gen.toml.
#[derive(Debug, clap::Args)]
struct IdentityArgs {
    /// SPDX license id (default Apache-2.0)
    #[arg(long, value_name = "SPDX")]
    license: Option<String>,
    /// Home page URL
    #[arg(long, value_name = "URL")]
    homepage: Option<String>,
    /// Source repository URL
    #[arg(long, value_name = "URL")]
    repository: Option<String>,
    /// An author, `Name` or `Name <email>` (repeatable)
    #[arg(long = "author", value_name = "AUTHOR")]
    authors: Vec<String>,
    /// One-line description
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
}

impl IdentityArgs {
    /// micro-gen.toml with these flags laid over it.
    fn over(&self, mut config: ConfigFile) -> ConfigFile {
        config.license = self.license.clone().or(config.license);
        config.homepage = self.homepage.clone().or(config.homepage);
        config.repository = self.repository.clone().or(config.repository);
        if !self.authors.is_empty() {
            config.authors = Some(self.authors.clone());
        }
        config.description = self.description.clone().or(config.description);
        config
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate an SDK
    #[command(after_help = "Examples:
  micro-gen sdk --lang ts                      # sdks/ts from the bundled core protos
  micro-gen sdk --lang all --check             # fail if sdks/ differs from what would be generated
  micro-gen sdk --lang python --out out/py --package-name acme-micro --version 1.2.0
  micro-gen sdk --lang rust --package-name acme-micro       # sdks/rust, crate acme-micro
  micro-gen sdk --lang ts --proto api/v1/greeter.proto -I protos

Package name and version may also come from micro-gen.toml in the working directory.")]
    Sdk {
        /// Language to generate
        #[arg(long, value_enum)]
        lang: LangArg,
        /// Output directory (default: sdks/<lang>; with --lang all, <DIR>/<lang>)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        protos: ProtoArgs,
        /// Package name on the registry (npm, PyPI, crates.io)
        #[arg(long, value_name = "NAME")]
        package_name: Option<String>,
        /// SDK version, X.Y.Z
        #[arg(long, value_name = "X.Y.Z")]
        version: Option<String>,
        #[command(flatten)]
        identity: IdentityArgs,
        /// Directory laid out like templates/ whose templates replace the bundled ones by name
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// Write nothing; exit 1 and list the differences if the output directory is not up to date
        #[arg(long)]
        check: bool,
    },
    /// Build each SDK's registry artifacts with its ecosystem's tool, into one folder with SHA256SUMS
    #[command(after_help = "Examples:
  micro-gen package --lang all                 # dist/: .tgz, sdist + wheel, .crate, .gem, jars + pom, Go module zip
  micro-gen package --lang python --out-dir out

Tools: npm, python -m build (MICRO_GEN_PYTHON, default python3), cargo, gem, mvn; Go needs none.")]
    Package {
        /// Language to package
        #[arg(long, value_enum)]
        lang: LangArg,
        #[command(flatten)]
        dirs: PublishDirs,
    },
    /// Upload each SDK to a registry with its ecosystem's tool (packaging it first when needed)
    #[command(after_help = "Examples:
  micro-gen publish --lang ts --registry http://127.0.0.1:4873/
  micro-gen publish --lang python --registry https://upload.pypi.org/legacy/
  micro-gen publish --lang rust --registry crates-io --dry-run
  micro-gen publish --lang java --registry file:///srv/maven
  micro-gen publish --lang ruby --registry file:///srv/gems      # a local gem repository directory
  micro-gen publish --lang go --registry file:///srv/goproxy     # a GOPROXY=file:// layout

Credentials come only from the tools' own environment variables: NODE_AUTH_TOKEN (npm),
TWINE_USERNAME/TWINE_PASSWORD, CARGO_REGISTRY_TOKEN, GEM_HOST_API_KEY, MAVEN_USERNAME/MAVEN_PASSWORD.
They are never printed. A version the registry already has fails before anything is uploaded.")]
    Publish {
        /// Language to publish
        #[arg(long, value_enum)]
        lang: LangArg,
        /// Registry URL (npm, PyPI upload, Maven repository, RubyGems host or file:// gem directory,
        /// file:// Go proxy), or a Cargo registry name (crates-io)
        #[arg(long, value_name = "URL")]
        registry: String,
        /// Check everything, upload nothing
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        dirs: PublishDirs,
    },
    /// Write the compiled descriptor set (protobuf binary FileDescriptorSet)
    #[command(after_help = "Examples:
  micro-gen descriptor -o core.binpb
  micro-gen descriptor --proto greeter.proto -I protos -o greeter.binpb")]
    Descriptor {
        /// Output file
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        protos: ProtoArgs,
    },
    /// Run the reference server that implements every Micro core service (a local platform)
    #[cfg(feature = "serve")]
    #[command(after_help = "Examples:
  micro-gen serve                              # 127.0.0.1:8081, Micro's proxy port; open, in memory
  micro-gen serve --address 127.0.0.1:0        # a free port; the bound address is printed
  micro-gen serve --auth --data ./micro-data   # tokens and rules enforced; state kept across restarts
  micro-gen serve --echo-unknown               # also echo calls to your own services (SDK smoke tests)")]
    Serve {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8081")]
        address: std::net::SocketAddr,
        /// Honour the test-only metadata keys (x-micro-test-*); see tests/conformance/README.md
        #[arg(long)]
        test_hooks: bool,
        /// Enforce auth: verify bearer tokens, evaluate rules, keep namespaces apart (default account admin/micro)
        #[arg(long)]
        auth: bool,
        /// Keep store, blobs, config, auth and events in DIR (an embedded redb database) across restarts
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Largest message decoded or encoded, in bytes (larger: RESOURCE_EXHAUSTED)
        #[arg(long, value_name = "BYTES", default_value_t = micro_server::DEFAULT_MAX_MESSAGE_SIZE)]
        max_message_size: usize,
        /// Answer calls to services not implemented here with their last request message (to try
        /// out SDKs generated from your own protos) instead of UNIMPLEMENTED
        #[arg(long)]
        echo_unknown: bool,
    },
}

// Compiling protos allocates many small objects; mimalloc makes that markedly cheaper than the
// system allocator (see bench/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of mimalloc's `mi_option_e` (mimalloc.h, v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// `mi_option_allow_thp` of mimalloc's `mi_option_e` (mimalloc.h, v3).
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// Memory settings for `sdk`, a short-lived command that builds and frees gigabytes of view models
/// and rendered files on large inputs:
///
/// - Freed memory stays in the process for reuse instead of going back to the OS 10 ms after it
///   is freed (mimalloc's default purge delay): returning it and faulting it in again (every page
///   zeroed by the kernel) cost more than a third of the run on a 10,000-message set.
/// - No transparent huge pages. mimalloc asks for them (`madvise(MADV_HUGEPAGE)`), and with the
///   kernel's usual `defrag=madvise` setting a fault on such memory waits for the kernel to compact
///   memory into a free 2 MiB page. On a machine whose memory is fragmented (a big page cache,
///   after builds) that made the kernel time of `sdk --lang all` on the 10,000-message set
///   2.4–3.6 s instead of 1.0–1.2 s with 4 KiB pages, and varying from run to run (bench/README.md).
///
/// `serve` keeps the defaults, so a long-running server gives memory back.
fn tune_memory_for_sdk() {
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table, which mimalloc reads
    // atomically; -1 is the documented "never purge" value and 0 turns `allow_thp` off (mimalloc
    // then no longer advises huge pages for new OS memory); any thread may call it at any time.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
    }
    // The memory mimalloc reserved before `main` was already advised: the process-wide switch
    // (prctl(2), Linux 3.15+) also covers it. Failure only leaves the kernel's default.
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes one integer argument (the others must be 0) and only sets a
    // flag of this process, which its children inherit (`sdk` starts none).
    #[allow(unsafe_code)]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    miette::set_panic_hook();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> miette::Result<ExitCode> {
    match cli.command {
        Command::Sdk { lang, out, protos, package_name, version, identity, templates, check } => {
            tune_memory_for_sdk();
            let config = identity.over(ConfigFile::read(CONFIG_FILE.as_ref())?);
            let languages = lang.languages();
            let loaded = load(&protos.source())?;
            for warning in &loaded.warnings {
                eprintln!("{:?}", miette::Report::new(warning.clone()));
            }
            // The model keeps the loaded descriptor set (moved, not copied).
            let model = Model::from_loaded(loaded)?;
            // Render every language before writing anything, so an error leaves the disk untouched.
            let mut outputs = Vec::new();
            for language in languages {
                let lang_config = match language {
                    Language::Ts => &config.ts,
                    Language::Python => &config.python,
                    Language::Rust => &config.rust,
                    Language::Go => &config.go,
                    Language::Java => &config.java,
                    Language::Ruby => &config.ruby,
                };
                let options = SdkOptions {
                    package_name: package_name.clone().or_else(|| lang_config.package_name.clone()),
                    version: version
                        .clone()
                        .or_else(|| lang_config.version.clone())
                        .or_else(|| config.version.clone())
                        .unwrap_or_else(|| DEFAULT_VERSION.to_owned()),
                    ..SdkOptions::default()
                }
                .with_identity(&config);
                let mut set = TemplateSet::embedded(language.name());
                if let Some(dir) = &templates {
                    set.override_from(dir, language.name())?;
                }
                let dir = match (&out, lang) {
                    (Some(o), LangArg::All) => o.join(language.name()),
                    (Some(o), _) => o.clone(),
                    (None, _) => PathBuf::from("sdks").join(language.name()),
                };
                outputs.push((language, dir, options, set));
            }
            // Languages are independent: render them on all cores, then report in language order.
            let jobs: Vec<_> = outputs.iter().map(|(language, _, options, set)| (*language, options, set)).collect();
            let rendered = generate_all(&model, &jobs);
            // The model is not needed any more, and freeing its millions of small allocations
            // one by one would only delay the exit: the OS takes the memory back at once.
            std::mem::forget(model);
            let mut generated = Vec::new();
            for ((language, dir, _, _), files) in outputs.into_iter().zip(rendered) {
                generated.push((language, dir, files?));
            }
            let outputs = generated;
            let mut clean = true;
            if check {
                for (language, dir, files) in &outputs {
                    let drift = output::check(dir, files)?;
                    if drift.is_clean() {
                        println!("{language}: {} is up to date ({} files)", dir.display(), files.len());
                    } else {
                        clean = false;
                        println!("{language}: {} is out of date:\n{drift}", dir.display());
                    }
                }
            } else {
                // Each language into its own directory, all at once (most of writing is the
                // kernel copying text into files, which runs on every core); reported, and the
                // first error returned, in language order.
                let reports: Vec<_> = std::thread::scope(|scope| {
                    let writers: Vec<_> =
                        outputs.iter().map(|(_, dir, files)| scope.spawn(move || output::write(dir, files))).collect();
                    writers.into_iter().map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
                });
                for ((language, dir, files), report) in outputs.iter().zip(reports) {
                    let report = report?;
                    println!(
                        "{language}: wrote {} of {} files to {}{}",
                        report.written.len(),
                        files.len(),
                        dir.display(),
                        if report.removed.is_empty() {
                            String::new()
                        } else {
                            format!(", removed {} stale", report.removed.len())
                        }
                    );
                }
            }
            // As the model: the generated files are freed by the OS at exit.
            std::mem::forget(outputs);
            if !clean {
                println!("run `micro-gen sdk --lang all` to regenerate");
            }
            Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Package { lang, dirs } => {
            let all = matches!(lang, LangArg::All);
            for language in lang.languages() {
                let paths = micro_gen::publish::package(language, &dirs.options(language, all))?;
                let names: Vec<String> =
                    paths.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
                println!("{language}: packaged {} into {}", names.join(", "), dirs.out_dir.display());
            }
            println!("checksums: {}", dirs.out_dir.join("SHA256SUMS").display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Publish { lang, registry, dry_run, dirs } => {
            let all = matches!(lang, LangArg::All);
            for language in lang.languages() {
                let p = micro_gen::publish::publish(language, &dirs.options(language, all), &registry, dry_run)?;
                println!(
                    "{language}: {} {}@{} to {}: {}",
                    if p.dry_run { "checked (dry run)" } else { "published" },
                    p.identity.name,
                    p.identity.version,
                    p.registry,
                    p.artifacts.join(", ")
                );
                if let Some(note) = p.note {
                    println!("{language}: {note}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Descriptor { out, protos } => {
            let bytes = micro_gen::load::load_encoded(&protos.source())?;
            std::fs::write(&out, bytes).map_err(|e| miette::miette!("failed to write '{}': {e}", out.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "serve")]
        Command::Serve { address, test_hooks, auth, data, max_message_size, echo_unknown } => {
            let runtime = tokio::runtime::Runtime::new().map_err(|e| miette::miette!("failed to start tokio: {e}"))?;
            runtime.block_on(async move {
                let server = micro_server::Server::bind(micro_server::Options {
                    address,
                    test_hooks,
                    auth,
                    data_dir: data,
                    max_message_size,
                    echo_unknown,
                })
                .await
                .map_err(|e| miette::miette!("{e}"))?;
                println!("micro-gen serve listening on {}", server.local_addr());
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
                server.serve_with_shutdown(shutdown_signal()).await.map_err(|e| miette::miette!("{e}"))?;
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

#[cfg(feature = "serve")]
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
