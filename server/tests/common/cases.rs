//! The conformance case format of `tests/conformance/README.md`, shared by the reference runner
//! (`server/tests/conformance.rs`) and the Rust SDK's runner (`tests/conformance/rust`, which
//! includes this file by path): the case model (unknown keys are errors), `${…}` substitution,
//! `save` paths, `responseIncludes` comparison, header checks, `server.args` → server options,
//! the list of case files and the results file of a runner.

#![allow(dead_code, unreachable_pub)]

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use base64::Engine as _;
use micro_server::Options;
use serde::Deserialize;
use serde_json::Value;
use tonic::{Code, metadata::MetadataMap};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    pub service: String,
    #[serde(default)]
    pub server: ServerSpec,
    pub sdk: Option<String>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default = "empty_object")]
    pub client: Value,
    pub calls: Vec<Call>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientOptions {
    pub token: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Call {
    pub service: Option<String>,
    pub method: String,
    pub request: Option<Value>,
    pub requests: Option<Vec<Value>>,
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub parallel: bool,
    pub take: Option<usize>,
    pub cancel_after_ms: Option<u64>,
    #[serde(default)]
    pub save: BTreeMap<String, String>,
    pub expect: Expect,
}

pub fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    pub response: Option<Value>,
    pub response_includes: Option<Value>,
    pub responses: Option<Vec<Value>>,
    pub responses_includes: Option<Vec<Value>>,
    pub error: Option<ExpectError>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub headers_match: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectError {
    pub code: String,
    pub id: Option<String>,
    pub micro_code: Option<i32>,
    pub status: Option<String>,
    pub detail: Option<String>,
}

/// The canonical gRPC name of a status code.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

pub const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// `responseIncludes`: objects are subsets (recursively), arrays have the same length and
/// compare element by element, other values are equal.
pub fn includes(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(got), Value::Object(want)) => {
            want.iter().all(|(key, want)| got.get(key).is_some_and(|got| includes(got, want)))
        }
        (Value::Array(got), Value::Array(want)) => {
            got.len() == want.len() && got.iter().zip(want).all(|(got, want)| includes(got, want))
        }
        _ => got == want,
    }
}

/// The text a saved value stands for inside a longer string (a string as is, else its JSON).
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The value of one `${…}` reference: a saved name or `bytes:N`.
pub fn lookup(name: &str, saved: &HashMap<String, Value>) -> Result<Value, String> {
    if let Some(count) = name.strip_prefix("bytes:") {
        let count: usize = count.parse().map_err(|_| format!("bad byte count in ${{{name}}}"))?;
        let bytes: Vec<u8> = (0..count).map(|i| (i % 256) as u8).collect();
        return Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)));
    }
    saved.get(name).cloned().ok_or_else(|| format!("unknown saved name ${{{name}}}"))
}

/// Substitutes `${name}` and `${bytes:N}` in one string (README "Substitution").
pub fn substitute_str(text: &str, saved: &HashMap<String, Value>) -> Result<Value, String> {
    if let Some(name) = text.strip_prefix("${").and_then(|rest| rest.strip_suffix('}')) {
        if !name.contains("${") && !name.contains('}') {
            return lookup(name, saved);
        }
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| format!("unterminated ${{ in {text:?}"))?;
        out.push_str(&text_of(&lookup(&after[..end], saved)?));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// Substitutes every string of a JSON value.
pub fn substitute(value: &Value, saved: &HashMap<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => substitute_str(text, saved)?,
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, saved)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| Ok((k.clone(), substitute(v, saved)?))).collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// `expect` with every `${…}` substituted (README "Substitution": expected messages, headers and
/// error fields).
pub fn substitute_expect(expect: &Expect, saved: &HashMap<String, Value>) -> Result<Expect, String> {
    let value = |v: &Value| substitute(v, saved);
    let values = |vs: &Vec<Value>| vs.iter().map(value).collect::<Result<Vec<_>, _>>();
    let text = |t: &String| substitute_str(t, saved).map(|v| text_of(&v));
    let texts = |map: &BTreeMap<String, String>| {
        map.iter().map(|(k, v)| Ok((k.clone(), text(v)?))).collect::<Result<BTreeMap<_, _>, String>>()
    };
    let error = match &expect.error {
        Some(error) => Some(ExpectError {
            code: error.code.clone(),
            id: error.id.as_ref().map(text).transpose()?,
            micro_code: error.micro_code,
            status: error.status.as_ref().map(text).transpose()?,
            detail: error.detail.as_ref().map(text).transpose()?,
        }),
        None => None,
    };
    Ok(Expect {
        response: expect.response.as_ref().map(value).transpose()?,
        response_includes: expect.response_includes.as_ref().map(value).transpose()?,
        responses: expect.responses.as_ref().map(values).transpose()?,
        responses_includes: expect.responses_includes.as_ref().map(values).transpose()?,
        error,
        headers: texts(&expect.headers)?,
        headers_match: texts(&expect.headers_match)?,
    })
}

/// The value at a dot path (`token.accessToken`, `0.event.id`) of a JSON value.
pub fn at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |value, segment| match value {
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|index| items.get(index)),
        Value::Object(map) => map.get(segment),
        _ => None,
    })
}

/// The server options for a file's `server.args`.
pub fn server_options(args: &[String]) -> Result<Options, String> {
    let mut options =
        Options { address: "127.0.0.1:0".parse().expect("address"), test_hooks: true, ..Options::default() };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next().cloned()).ok_or(format!("{flag} needs a value"));
        match flag {
            "--auth" if inline.is_none() => options.auth = true,
            "--max-message-size" => {
                let value = value()?;
                options.max_message_size =
                    value.parse().map_err(|_| format!("--max-message-size {value:?} is not a byte count"))?;
            }
            "--data" => options.data_dir = Some(PathBuf::from(value()?)),
            _ => {
                return Err(format!(
                    "unknown server argument {arg:?} (known: --auth, --max-message-size N, --data DIR)"
                ));
            }
        }
    }
    Ok(options)
}

pub fn check_headers(expect: &Expect, headers: &MetadataMap, failures: &mut Vec<String>) {
    for (key, want) in &expect.headers {
        match headers.get(key.as_str()).map(|v| v.to_str()) {
            Some(Ok(got)) if got == want => {}
            got => failures.push(format!("header {key}: want {want:?}, got {got:?}")),
        }
    }
    for (key, pattern) in &expect.headers_match {
        let Ok(regex) = regex::Regex::new(pattern) else { continue };
        match headers.get(key.as_str()).map(|v| v.to_str()) {
            Some(Ok(got)) if regex.is_match(got) => {}
            got => failures.push(format!("header {key}: want match {pattern:?}, got {got:?}")),
        }
    }
}

/// The case files: `MICRO_CONFORMANCE_CASES` (a directory or one file) or
/// `tests/conformance/*.json`.
pub fn case_files(default_dir: &Path) -> Vec<PathBuf> {
    let source = std::env::var_os("MICRO_CONFORMANCE_CASES").map_or_else(|| default_dir.to_path_buf(), PathBuf::from);
    if source.is_file() {
        return vec![source];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&source)
        .unwrap_or_else(|err| panic!("{}: {err}", source.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// The result of one case file (a group of the results file).
#[derive(Debug, Default)]
pub struct FileReport {
    /// The file's base name.
    pub group: String,
    /// Cases that passed.
    pub passed: usize,
    /// Calls in the file.
    pub calls: usize,
    /// Names of the failed cases (`<file>` when the file itself is broken).
    pub failed_cases: Vec<String>,
    /// One line per failure.
    pub details: Vec<String>,
    /// How long the file took, server start included.
    pub elapsed: std::time::Duration,
}

impl FileReport {
    /// A report for a file that could not run at all.
    pub fn broken(group: &str, problem: String) -> Self {
        FileReport {
            group: group.to_owned(),
            failed_cases: vec!["<file>".into()],
            details: vec![format!("{group}: {problem}")],
            ..FileReport::default()
        }
    }
}

/// Reads and parses one case file.
pub fn read_case_file(path: &Path) -> Result<CaseFile, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))
}

/// The group (base name) of a case file.
pub fn group_of(path: &Path) -> String {
    path.file_stem().unwrap_or_default().to_string_lossy().into_owned()
}

/// Prints one line per group and a total; returns every failure line.
pub fn print_reports(runner: &str, reports: &[FileReport]) -> Vec<String> {
    let (mut passed, mut failed, mut calls) = (0, 0, 0);
    for report in reports {
        let failures =
            if report.failed_cases.is_empty() { String::new() } else { format!("  FAILED: {:?}", report.failed_cases) };
        println!(
            "{:<16} {:>4} passed {:>3} failed {:>4} calls {:>6.2}s{failures}",
            report.group,
            report.passed,
            report.failed_cases.len(),
            report.calls,
            report.elapsed.as_secs_f64()
        );
        passed += report.passed;
        failed += report.failed_cases.len();
        calls += report.calls;
    }
    println!("conformance ({runner}): {} files, {passed} cases passed, {failed} failed, {calls} calls", reports.len());
    reports.iter().flat_map(|r| r.details.iter().cloned()).collect()
}

/// Writes `$CONFORMANCE_RESULTS/<language>.json` (default directory
/// `<repo>/.cache/conformance-results`), README "Results and the matrix"; returns its path.
pub fn write_results(repo: &Path, language: &str, reports: &[FileReport]) -> PathBuf {
    let dir =
        std::env::var_os("CONFORMANCE_RESULTS").map_or_else(|| repo.join(".cache/conformance-results"), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    let groups: serde_json::Map<String, Value> = reports
        .iter()
        .map(|r| {
            let group =
                serde_json::json!({ "passed": r.passed, "failed": r.failed_cases.len(), "failures": r.failed_cases });
            (r.group.clone(), group)
        })
        .collect();
    let path = dir.join(format!("{language}.json"));
    let text = serde_json::to_string_pretty(&serde_json::json!({ "language": language, "groups": groups }))
        .expect("results JSON");
    std::fs::write(&path, text + "\n").unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    path
}
