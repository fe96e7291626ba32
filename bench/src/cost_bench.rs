//! The cost of big inputs: `micro-gen sdk --lang all` on synthetic proto sets of growing size
//! (wall time, CPU time and peak RSS of the whole process into an empty output directory, median
//! of a few runs), the time per stage in-process, and micro-gen against protoc on Google's public
//! API protos (googleapis, from the npm package google-proto-files).
//!
//! ```text
//! micro-gen-cost-bench --micro-gen target/release/micro-gen [--sizes 1000,5000,10000] [--runs 3]
//!     [--work DIR] [--json FILE]
//!     [--googleapis node_modules/google-proto-files --python PY [--googleapis-runs N] [--no-googleapis-sdk]]
//! micro-gen-cost-bench --write-synth MESSAGES DIR     # writes a synthetic set, prints its files
//! ```
//!
//! The synthetic sets come from `synth.rs` (deterministic). PY is a Python with grpcio-tools (its
//! protoc runs in-process). Target: 10,000 messages and 1,000 services under 5 s for all six SDKs.
//! Exit status 0 when the target is met, 1 when missed, 2 when something could not run.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use micro_gen::config::SdkOptions;
use micro_gen::lang::Language;
use micro_gen::load::{ProtoSource, load, load_encoded};
use micro_gen::model::Model;
use micro_gen::render::TemplateSet;
use serde_json::{Value, json};

mod synth;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 10,000 messages and 1,000 services, every SDK: at most this many milliseconds.
const TARGET_MS: f64 = 5000.0;

/// Options from the command line.
struct Args {
    micro_gen: PathBuf,
    sizes: Vec<usize>,
    runs: usize,
    work: PathBuf,
    json: Option<PathBuf>,
    googleapis: Option<PathBuf>,
    python: Option<PathBuf>,
    googleapis_runs: usize,
    googleapis_sdk: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: micro-gen-cost-bench --micro-gen BIN [--sizes 1000,5000,10000] [--runs N] [--work DIR] \
         [--json FILE] [--googleapis PACKAGE_DIR --python PY [--googleapis-runs N] [--no-googleapis-sdk]]\n       \
         micro-gen-cost-bench --write-synth MESSAGES DIR   (writes the synthetic set, prints its files)"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        micro_gen: PathBuf::new(),
        sizes: vec![1000, 5000, 10000],
        runs: 3,
        work: std::env::temp_dir().join(format!("micro-gen-cost-{}", std::process::id())),
        json: None,
        googleapis: None,
        python: None,
        googleapis_runs: 3,
        googleapis_sdk: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--micro-gen" => args.micro_gen = PathBuf::from(value()),
            "--sizes" => {
                args.sizes = value().split(',').map(|s| s.trim().parse().unwrap_or_else(|_| usage())).collect();
            }
            "--runs" => args.runs = value().parse().unwrap_or_else(|_| usage()),
            "--work" => args.work = PathBuf::from(value()),
            "--json" => args.json = Some(PathBuf::from(value())),
            "--googleapis" => args.googleapis = Some(PathBuf::from(value())),
            "--python" => args.python = Some(PathBuf::from(value())),
            "--googleapis-runs" => args.googleapis_runs = value().parse().unwrap_or_else(|_| usage()),
            "--no-googleapis-sdk" => args.googleapis_sdk = false,
            _ => usage(),
        }
    }
    if args.micro_gen.as_os_str().is_empty() || args.sizes.is_empty() || args.runs == 0 {
        usage();
    }
    // The children run in the work directory: every path they get must be absolute.
    args.micro_gen = std::path::absolute(&args.micro_gen).unwrap_or(args.micro_gen);
    args.work = std::path::absolute(&args.work).unwrap_or(args.work);
    args.googleapis = args.googleapis.map(|p| std::path::absolute(&p).unwrap_or(p));
    args.python = args.python.map(|p| std::path::absolute(&p).unwrap_or(p));
    args
}

/// One child process: wall time and CPU time (user + system) in ms, peak RSS in KiB.
#[derive(Clone, Copy)]
struct Sample {
    ms: f64,
    cpu_ms: f64,
    rss_kib: u64,
}

/// `--rusage PROGRAM ARG...` (internal): runs the program as this process's only child and prints
/// `ms rss_kib cpu_ms` (its wall time, `getrusage(RUSAGE_CHILDREN)`'s `ru_maxrss` and user +
/// system time), so that every sample gets the peak of its own child and not the largest of all
/// children so far.
fn rusage_wrapper(argv: &[String]) -> ExitCode {
    let Some((program, rest)) = argv.split_first() else { return ExitCode::from(2) };
    let t = Instant::now();
    let status = Command::new(program).args(rest).stdout(Stdio::null()).status();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let (rss, cpu_ms) = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map(|u| {
            let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1000.0 + t.tv_usec() as f64 / 1000.0;
            (u.max_rss(), tv(u.user_time()) + tv(u.system_time()))
        })
        .unwrap_or((0, 0.0));
    match status {
        Ok(s) if s.success() => {
            println!("{ms} {rss} {cpu_ms}");
            ExitCode::SUCCESS
        }
        Ok(s) => {
            eprintln!("{program} failed: {s}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot run {program}: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs `program args` through the `--rusage` wrapper.
fn measure(program: &Path, args: &[&str], cwd: &Path) -> Result<Sample, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(me)
        .arg("--rusage")
        .arg(program)
        .args(args)
        .current_dir(cwd)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    match (out.status.success(), &fields[..]) {
        (true, &[ms, rss_kib, cpu_ms]) => Ok(Sample { ms, cpu_ms, rss_kib: rss_kib as u64 }),
        _ => Err(format!(
            "{} {} failed:\n{}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).lines().take(20).collect::<Vec<_>>().join("\n")
        )),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Writes the synthetic set for `messages` under `dir`; returns the files' relative names.
fn write_synth(dir: &Path, messages: usize) -> Vec<String> {
    let _ = std::fs::remove_dir_all(dir);
    synth::generate(messages)
        .into_iter()
        .map(|f| {
            let path = dir.join(&f.name);
            std::fs::create_dir_all(path.parent().expect("file in a directory")).expect("create proto dir");
            std::fs::write(&path, f.text).expect("write proto");
            f.name
        })
        .collect()
}

/// This process's resident set size in MiB (`VmRSS` of `/proc/self/status`; 0 where there is none).
/// The allocator keeps freed memory for reuse, so a stage's growth is the new memory it touched.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .map_or(0.0, |kib: f64| kib / 1024.0)
}

/// Milliseconds of each stage of `sdk --lang all`, in-process, once, with the resident set size
/// (MiB) after each step.
fn stages(source: &ProtoSource, out: &Path) -> Result<Value, String> {
    let t = Instant::now();
    let loaded = load(source).map_err(|e| format!("{e:?}"))?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let load_rss = rss_mib();
    let t = Instant::now();
    let model = Model::from_loaded(loaded).map_err(|e| format!("{e:?}"))?;
    let model_ms = t.elapsed().as_secs_f64() * 1000.0;
    let model_rss = rss_mib();
    let mut langs = serde_json::Map::new();
    for language in Language::ALL {
        let options = SdkOptions::default();
        let templates = TemplateSet::embedded(language.name());
        let t = Instant::now();
        let plan = language.plan(&model, &options).map_err(|e| format!("{e:?}"))?;
        let plan_ms = t.elapsed().as_secs_f64() * 1000.0;
        let plan_rss = rss_mib();
        let t = Instant::now();
        let files = micro_gen::render::render_owned(&templates, plan).map_err(|e| format!("{e:?}"))?;
        let render_ms = t.elapsed().as_secs_f64() * 1000.0;
        let render_rss = rss_mib();
        let t = Instant::now();
        micro_gen::output::write(&out.join(language.name()), &files).map_err(|e| format!("{e:?}"))?;
        let write_ms = t.elapsed().as_secs_f64() * 1000.0;
        let bytes: usize = files.iter().map(|f| f.contents.len()).sum();
        langs.insert(
            language.name().to_owned(),
            json!({ "plan_ms": plan_ms, "render_ms": render_ms, "write_ms": write_ms, "files": files.len(),
                    "bytes": bytes, "plan_rss_mib": plan_rss, "render_rss_mib": render_rss }),
        );
    }
    Ok(json!({ "load_ms": load_ms, "model_ms": model_ms, "load_rss_mib": load_rss, "model_rss_mib": model_rss,
               "languages": langs }))
}

/// The synthetic part: one row per size.
fn synthetic(args: &Args) -> Result<Vec<Value>, String> {
    let mut rows = Vec::new();
    for &messages in &args.sizes {
        let dir = args.work.join(format!("synth-{messages}"));
        let protos = dir.join("protos");
        let names = write_synth(&protos, messages);
        let argv_for = |out: &Path| -> Vec<String> {
            let mut argv: Vec<String> = vec!["sdk".into(), "--lang".into(), "all".into(), "--out".into()];
            argv.push(out.to_string_lossy().into_owned());
            argv.push("-I".into());
            argv.push(protos.to_string_lossy().into_owned());
            argv.push("--proto".into());
            argv.extend(names.iter().cloned());
            argv
        };
        let sample = |out: &Path| {
            let argv = argv_for(out);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            measure(&args.micro_gen, &argv, &dir)
        };
        // Every measured run writes into its own new, empty directory: every file is written.
        // Nothing is deleted between runs: for a while after many files were deleted, ext4 takes
        // much longer to create new ones, which would measure the previous run's clean-up.
        let mut samples = Vec::new();
        for run in 0..=args.runs {
            let s = sample(&dir.join(format!("out-{run}")))?;
            if run > 0 {
                samples.push(s); // run 0 is a warm-up
            }
        }
        // Regenerating over an up-to-date tree (every file read and compared, none written).
        let regen = sample(&dir.join("out-1"))?;
        let files_out = count_files(&dir.join("out-1"));
        let ms = median(samples.iter().map(|s| s.ms).collect());
        let cpu_ms = median(samples.iter().map(|s| s.cpu_ms).collect());
        let rss_mib = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        let stage = stages(
            &ProtoSource::Files { files: names.iter().map(PathBuf::from).collect(), includes: vec![protos.clone()] },
            &dir.join("out-inproc"),
        )?;
        let row = json!({
            "messages": messages, "services": synth::services(messages), "proto_files": names.len(),
            "ms": ms, "cpu_ms": cpu_ms, "ms_per_1k": ms / (messages as f64 / 1000.0), "peak_rss_mib": rss_mib,
            "output_files": files_out, "runs": args.runs, "stages": stage,
            "regen_ms": regen.ms, "regen_cpu_ms": regen.cpu_ms,
        });
        eprintln!(
            "  {messages} messages: {ms:.0} ms (median of {}), peak RSS {rss_mib:.0} MiB, {files_out} files written",
            args.runs
        );
        rows.push(row);
        // Free the disk (10k messages write about 0.5 GB per run), then, on a real disk, let ext4's
        // "recently deleted" window (dirty_expire, 30 s) pass before the next size creates files.
        let _ = std::fs::remove_dir_all(&dir);
        if messages != *args.sizes.last().unwrap_or(&messages) && !args.work.starts_with("/dev/shm") {
            eprintln!("  (waiting 30 s after deleting the outputs)");
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
    }
    Ok(rows)
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { count_files(&p) } else { 1 }
        })
        .sum()
}

/// Lays out the proto root of the googleapis benchmark under `dir`: symbolic links to every
/// directory of `package/google` except `google/protobuf`, and to `package/grafeas` (which
/// `google/cloud/binaryauthorization` imports). `google/protobuf` is left out because both
/// compilers bring their own well-known types, and because the package's copy of
/// `google/protobuf/descriptor.proto` is newer than protox 0.10 parses (extension declarations,
/// `extensions 536000000 [declaration = {...}]`). Returns the root and every `.proto` under
/// `root/google`, sorted, relative to the root.
fn googleapis_root(package: &Path, dir: &Path) -> Result<(PathBuf, Vec<String>), String> {
    let root = dir.join("root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("google")).map_err(|e| e.to_string())?;
    let package = std::path::absolute(package).map_err(|e| e.to_string())?;
    let entries = std::fs::read_dir(package.join("google"))
        .map_err(|e| format!("{}: {e} (is it the google-proto-files package?)", package.join("google").display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if entry.path().is_dir() && name != "protobuf" {
            std::os::unix::fs::symlink(entry.path(), root.join("google").join(&name)).map_err(|e| e.to_string())?;
        }
    }
    if package.join("grafeas").is_dir() {
        std::os::unix::fs::symlink(package.join("grafeas"), root.join("grafeas")).map_err(|e| e.to_string())?;
    }
    let mut files = Vec::new();
    let mut stack = vec![root.join("google")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "proto") {
                files.push(p.strip_prefix(&root).expect("below root").to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    Ok((root, files))
}

/// protoc (grpcio-tools) in-process, timed by Python: prints the median ms of `runs` runs after a
/// warm-up, or fails with protoc's messages.
const PROTOC_SCRIPT: &str = r#"
import json, statistics, sys, time
import grpc_tools
from grpc_tools import protoc
from importlib import resources
root, out, runs, listing = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
files = open(listing).read().split()
wkt = str(resources.files(grpc_tools) / "_proto")
args = ["protoc", f"-I{root}", f"-I{wkt}", f"--descriptor_set_out={out}", "--include_source_info",
        "--include_imports", *files]
samples = []
for i in range(runs + 1):
    t = time.perf_counter()
    code = protoc.main(args)
    if code != 0:
        sys.exit(f"protoc failed with {code}")
    if i:
        samples.append((time.perf_counter() - t) * 1000)
print(json.dumps({"ms": statistics.median(samples)}))
"#;

/// googleapis: micro-gen vs protoc (descriptor set, imports and source info), then `sdk --lang
/// all` on the same files (and, when that fails, each language alone, to say which fail).
fn googleapis(args: &Args, package: &Path, python: &Path) -> Result<Value, String> {
    let dir = args.work.join("googleapis");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (root, files) = googleapis_root(package, &dir)?;
    if files.is_empty() {
        return Err(format!("no .proto files under {}", package.join("google").display()));
    }
    let version = std::fs::read_to_string(package.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let listing = dir.join("files.txt");
    std::fs::write(&listing, files.join("\n")).map_err(|e| e.to_string())?;
    let runs = args.googleapis_runs.max(1);
    eprintln!("  googleapis (google-proto-files {version}): {} files", files.len());

    // protoc, in-process.
    let protoc = Command::new(python)
        .arg("-c")
        .arg(PROTOC_SCRIPT)
        .arg(&root)
        .arg(dir.join("protoc.binpb"))
        .arg(runs.to_string())
        .arg(&listing)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let protoc_ms = if protoc.status.success() {
        serde_json::from_slice::<Value>(&protoc.stdout).ok().and_then(|v| v["ms"].as_f64())
    } else {
        None
    };
    let protoc_error = (!protoc.status.success()).then(|| first_lines(&protoc.stderr, 20));

    // micro-gen, in-process (the library call behind `micro-gen descriptor`).
    let source = ProtoSource::Files { files: files.iter().map(PathBuf::from).collect(), includes: vec![root.clone()] };
    let mut micro_error = None;
    let mut samples = Vec::new();
    for i in 0..=runs {
        let t = Instant::now();
        match load_encoded(&source) {
            Ok(bytes) => {
                std::fs::write(dir.join("micro.binpb"), bytes).map_err(|e| e.to_string())?;
                if i > 0 {
                    samples.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            Err(e) => {
                micro_error = Some(format!("{:?}", miette::Report::new(e)));
                break;
            }
        }
    }
    let micro_ms = (!samples.is_empty()).then(|| median(samples));

    // Whole processes: `micro-gen descriptor` (median of runs) and `sdk --lang all` (once: it is
    // long), with peak RSS.
    let with_protos = |mut argv: Vec<String>| -> Vec<String> {
        argv.extend(["-I".to_owned(), root.to_string_lossy().into_owned(), "--proto".to_owned()]);
        argv.extend(files.iter().cloned());
        argv
    };
    let run = |argv: Vec<String>, times: usize| -> Result<Sample, String> {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut s = Vec::new();
        for _ in 0..times {
            s.push(measure(&args.micro_gen, &argv, &dir)?);
        }
        Ok(Sample {
            ms: median(s.iter().map(|x| x.ms).collect()),
            cpu_ms: median(s.iter().map(|x| x.cpu_ms).collect()),
            rss_kib: s.iter().map(|x| x.rss_kib).max().unwrap_or(0),
        })
    };
    let out = dir.join("sdks").to_string_lossy().into_owned();
    let mut descriptor = None;
    let mut sdk = None;
    let mut per_language = serde_json::Map::new();
    if micro_error.is_none() {
        let binpb = dir.join("process.binpb").to_string_lossy().into_owned();
        descriptor = Some(run(with_protos(vec!["descriptor".into(), "-o".into(), binpb]), runs));
        if args.googleapis_sdk {
            let all =
                run(with_protos(vec!["sdk".into(), "--lang".into(), "all".into(), "--out".into(), out.clone()]), 1);
            if all.is_err() {
                for language in Language::ALL {
                    let name = language.name();
                    let argv =
                        with_protos(vec!["sdk".into(), "--lang".into(), name.into(), "--out".into(), out.clone()]);
                    per_language.insert(name.to_owned(), sample_json(Some(run(argv, 1))));
                    let _ = std::fs::remove_dir_all(dir.join("sdks"));
                }
            }
            sdk = Some(all);
        }
    }
    let _ = std::fs::remove_dir_all(dir.join("sdks"));
    let ratio = match (micro_ms, protoc_ms) {
        (Some(m), Some(p)) => Some(m / p),
        _ => None,
    };
    Ok(json!({
        "package": format!("google-proto-files {version}"), "files": files.len(), "runs": runs,
        "protoc_ms": protoc_ms, "protoc_error": protoc_error,
        "micro_ms": micro_ms, "micro_error": micro_error, "ratio": ratio,
        "descriptor_process": sample_json(descriptor), "sdk_all_process": sample_json(sdk),
        "sdk_per_language": per_language,
    }))
}

fn sample_json(s: Option<Result<Sample, String>>) -> Value {
    match s {
        Some(Ok(s)) => json!({ "ms": s.ms, "cpu_ms": s.cpu_ms, "peak_rss_mib": s.rss_kib as f64 / 1024.0 }),
        Some(Err(e)) => json!({ "error": e }),
        None => Value::Null,
    }
}

fn first_lines(bytes: &[u8], n: usize) -> String {
    String::from_utf8_lossy(bytes).lines().take(n).collect::<Vec<_>>().join("\n")
}

fn print_table(rows: &[Value]) {
    println!("synthetic sets: micro-gen sdk --lang all (all six SDKs, whole process, release), median of runs");
    println!(
        "{:>9} {:>9} {:>7} {:>9} {:>12} {:>9} {:>14} {:>13} {:>10}",
        "messages", "services", "files", "ms", "ms/1k msgs", "CPU ms", "peak RSS MiB", "output files", "regen ms"
    );
    for r in rows {
        let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
        println!(
            "{:>9} {:>9} {:>7} {:>9.0} {:>12.1} {:>9.0} {:>14.1} {:>13} {:>10.0}",
            r["messages"],
            r["services"],
            r["proto_files"],
            f("ms"),
            f("ms_per_1k"),
            f("cpu_ms"),
            f("peak_rss_mib"),
            r["output_files"],
            f("regen_ms"),
        );
    }
    println!("  (ms: into an empty directory; regen ms: again over the up-to-date output, nothing written)");
    println!(
        "in-process, one language at a time (ms): load, model, then plan+render+write per language \
         [resident MiB after the step]"
    );
    for r in rows {
        let s = &r["stages"];
        let g = |k: &str| s[k].as_f64().unwrap_or(0.0);
        let mut line = format!(
            "  {:>6} msgs: load {:.0} [{:.0}], model {:.0} [{:.0}]",
            r["messages"],
            g("load_ms"),
            g("load_rss_mib"),
            g("model_ms"),
            g("model_rss_mib")
        );
        if let Some(langs) = s["languages"].as_object() {
            for (name, l) in langs {
                let f = |k: &str| l[k].as_f64().unwrap_or(0.0);
                line.push_str(&format!(
                    "; {name} {:.0} [{:.0}] + {:.0} [{:.0}] + {:.0}",
                    f("plan_ms"),
                    f("plan_rss_mib"),
                    f("render_ms"),
                    f("render_rss_mib"),
                    f("write_ms")
                ));
            }
        }
        println!("{line}");
    }
}

fn print_googleapis(v: &Value) {
    let f = |k: &str| v[k].as_f64();
    println!(
        "googleapis: {} .proto files of {} (google/**, google/protobuf excluded), median of {} runs",
        v["files"],
        v["package"].as_str().unwrap_or(""),
        v["runs"]
    );
    match f("protoc_ms") {
        Some(p) => println!("protoc descriptor set (grpcio-tools, in-process) {p:9.1} ms"),
        None => println!("protoc descriptor set: FAILED\n{}", v["protoc_error"].as_str().unwrap_or("")),
    }
    match (f("micro_ms"), f("ratio")) {
        (Some(m), Some(r)) => {
            println!(
                "micro-gen descriptor set (in-process)           {m:9.1} ms   ratio {r:.2}x protoc (lower is better)"
            )
        }
        (Some(m), None) => println!("micro-gen descriptor set (in-process)           {m:9.1} ms"),
        _ => println!("micro-gen descriptor set: FAILED\n{}", v["micro_error"].as_str().unwrap_or("")),
    }
    let process = |label: &str, p: &Value| {
        if let Some(ms) = p["ms"].as_f64() {
            println!(
                "{label:<48}{ms:9.1} ms   CPU {:.0} ms, peak RSS {:.0} MiB",
                p["cpu_ms"].as_f64().unwrap_or(0.0),
                p["peak_rss_mib"].as_f64().unwrap_or(0.0)
            );
        } else if let Some(e) = p["error"].as_str() {
            println!("{label}: FAILED\n{e}");
        }
    };
    process("micro-gen descriptor (whole process)", &v["descriptor_process"]);
    process("micro-gen sdk --lang all (whole process, once)", &v["sdk_all_process"]);
    if let Some(langs) = v["sdk_per_language"].as_object() {
        for (name, p) in langs {
            process(&format!("  sdk --lang {name}"), p);
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--rusage") {
        return rusage_wrapper(&argv[1..]);
    }
    if let [flag, messages, dir] = &argv[..]
        && flag == "--write-synth"
    {
        // For profiling by hand: `micro-gen-cost-bench --write-synth 10000 DIR` writes the set.
        let Ok(messages) = messages.parse() else { usage() };
        let names = write_synth(Path::new(dir), messages);
        println!("{}", names.join(" "));
        return ExitCode::SUCCESS;
    }
    let args = parse_args();
    let _ = std::fs::create_dir_all(&args.work);
    let mut result = serde_json::Map::new();
    let mut ok = true;
    let mut failed = false;

    eprintln!("==> synthetic sets: {:?} messages, {} runs each", args.sizes, args.runs);
    match synthetic(&args) {
        Ok(rows) => {
            print_table(&rows);
            let ms_of = |n: usize| rows.iter().find(|r| r["messages"] == n).and_then(|r| r["ms"].as_f64());
            let (small, large) = (args.sizes.iter().min().copied(), args.sizes.iter().max().copied());
            if let (Some(s), Some(l)) = (small, large)
                && s < l
                && let (Some(a), Some(b)) = (ms_of(s), ms_of(l))
            {
                let linearity = (b / a) / (l as f64 / s as f64);
                println!("linearity: ({l} msgs / {s} msgs time) / {} = {linearity:.2} (1.00 = linear)", l / s);
                result.insert("linearity".into(), json!(linearity));
            }
            if let Some(ms) = ms_of(10000) {
                let met = ms < TARGET_MS;
                ok &= met;
                println!(
                    "10,000 messages / 1,000 services, all six SDKs: {ms:.0} ms (target < {TARGET_MS:.0} ms) {}",
                    if met { "ok" } else { "MISSED" }
                );
                result.insert("target_ms".into(), json!(TARGET_MS));
            }
            result.insert("synthetic".into(), Value::Array(rows));
        }
        Err(e) => {
            eprintln!("synthetic benchmark failed: {e}");
            failed = true;
        }
    }

    if let Some(package) = &args.googleapis {
        let Some(python) = &args.python else { usage() };
        eprintln!("==> googleapis: micro-gen vs protoc");
        match googleapis(&args, package, python) {
            Ok(v) => {
                failed |= v["ratio"].is_null();
                print_googleapis(&v);
                result.insert("googleapis".into(), v);
            }
            Err(e) => {
                eprintln!("googleapis benchmark failed: {e}");
                failed = true;
            }
        }
    }

    result.insert("ok".into(), json!(ok && !failed));
    if let Some(path) = &args.json {
        let _ = std::fs::write(path, format!("{}\n", Value::Object(result)));
    }
    let _ = std::fs::remove_dir_all(&args.work);
    if failed {
        ExitCode::from(2)
    } else if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
