// Conformance runner for the generated TypeScript SDK (node:test).
//
// For every tests/conformance/*.json file it starts one reference server
// (`$MICRO_GEN_BIN serve --address 127.0.0.1:0 --test-hooks [server.args...]`) and runs each case,
// in order, as one test named `<file> › <case name>`, through the SDK's high-level client
// `new Micro(...)`: the core SDK, or the kitchen-sink SDK for files with `"sdk": "kitchen"`. The
// format, with its extensions (streams in both directions, parallel calls, take, cancelAfterMs,
// save and ${...} substitution, responseIncludes), is described in tests/conformance/README.md.
// When every file has run, the results are written to $CONFORMANCE_RESULTS/ts.json.
//
// Environment:
//   MICRO_GEN_BIN             path of the built micro-gen binary (required)
//   CONFORMANCE_DIR           directory of the case files (default: the parent of this file's directory)
//   CONFORMANCE_RESULTS       directory of the results file ts.json (default: <CONFORMANCE_DIR>/../../.cache/conformance-results)
//   MICRO_SDK_MODULE          module specifier of the installed core SDK (default: "micro-sdk")
//   MICRO_KITCHEN_SDK_MODULE  module specifier of the installed kitchen-sink SDK (default: "micro-kitchen-sdk")
//
// Run through run.sh, which builds and packs both SDKs first.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { createRegistry, fromJson, toJson } from "@bufbuild/protobuf";
import * as wkt from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";

const CONFORMANCE_DIR = resolve(process.env.CONFORMANCE_DIR ?? fileURLToPath(new URL("..", import.meta.url)));
const RESULTS_DIR = resolve(process.env.CONFORMANCE_RESULTS ?? join(CONFORMANCE_DIR, "..", "..", ".cache", "conformance-results"));
const BIN = process.env.MICRO_GEN_BIN;
const SERVER_START_TIMEOUT_MS = 30_000;
const CASE_TIMEOUT_MS = 120_000;

/** Rejects when `promise` takes longer than `ms` milliseconds. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The SDK modules, loaded on first use: `core` and `kitchen`. */
const SDK_MODULES = {
  core: process.env.MICRO_SDK_MODULE ?? "micro-sdk",
  kitchen: process.env.MICRO_KITCHEN_SDK_MODULE ?? "micro-kitchen-sdk",
};
const loadedSdks = new Map();
function loadSdk(kind) {
  const specifier = SDK_MODULES[kind];
  assert.ok(specifier, `unknown "sdk": ${JSON.stringify(kind)} (expected "core" or "kitchen")`);
  if (!loadedSdks.has(kind)) loadedSdks.set(kind, import(specifier));
  return loadedSdks.get(kind);
}

/** Client option keys a case may set, mapped to MicroOptions keys. */
const CLIENT_OPTION_KEYS = new Set(["token", "namespace", "timeoutMs", "tls", "headers", "retry"]);
/** Call keys the format allows. */
const CALL_KEYS = new Set([
  "service", "method", "request", "requests", "timeoutMs", "metadata", "expect",
  "parallel", "take", "cancelAfterMs", "save", "name", "comment",
]);
const EXPECT_KEYS = new Set(["response", "responseIncludes", "responses", "responsesIncludes", "error", "headers", "headersMatch"]);
const ERROR_KEYS = new Set(["code", "id", "microCode", "status", "detail"]);
const FILE_KEYS = new Set(["service", "cases", "server", "sdk", "comment"]);

/** `Code.NotFound` → `NOT_FOUND` (gRPC canonical names; connect spells CANCELLED as Canceled). */
function codeName(code) {
  if (code === Code.Canceled) return "CANCELLED";
  const name = Code[code];
  return name === undefined ? `CODE_${code}` : name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function lowerFirst(s) {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Starts the reference server with `args` appended and resolves with `{ address, stop }` once it
 * prints its `listening on HOST:PORT` line.
 */
function startServer(args) {
  return new Promise((resolvePromise, reject) => {
    if (!BIN) {
      reject(new Error("MICRO_GEN_BIN is not set"));
      return;
    }
    const child = spawn(BIN, ["serve", "--address", "127.0.0.1:0", "--test-hooks", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let settled = false;
    const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
    };
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`server did not print "listening on" within ${SERVER_START_TIMEOUT_MS} ms; stderr:\n${stderr}`)),
      SERVER_START_TIMEOUT_MS,
    );
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("error", (err) => fail(new Error(`cannot start ${BIN}: ${err.message}`)));
    child.once("exit", (code, signal) =>
      fail(new Error(`server exited early (code ${code}, signal ${signal}); stderr:\n${stderr}`)),
    );
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const match = /listening on (\S+)/.exec(line);
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        resolvePromise({ address: match[1], stop });
      }
    });
  });
}

/** Finds the client of a fully-qualified service among the properties of a Micro instance. */
function findClient(micro, fullName) {
  for (const value of Object.values(micro)) {
    if (value !== null && typeof value === "object" && value.constructor?.service?.typeName === fullName) {
      return value;
    }
  }
  throw new Error(`no client for service ${fullName} on Micro (properties: ${Object.keys(micro).join(", ")})`);
}

/** Every message reachable from a service's methods, plus the well-known types (for Any). */
const registries = new WeakMap();
function registryFor(service) {
  let registry = registries.get(service);
  if (registry) return registry;
  const seen = new Map();
  const visit = (desc) => {
    if (!desc || seen.has(desc.typeName)) return;
    seen.set(desc.typeName, desc);
    for (const field of desc.fields) {
      if (field.message) visit(field.message);
    }
    for (const nested of desc.nestedMessages ?? []) visit(nested);
  };
  for (const method of service.methods) {
    visit(method.input);
    visit(method.output);
  }
  for (const value of Object.values(wkt)) {
    if (value && typeof value === "object" && value.kind === "message" && typeof value.typeName === "string") visit(value);
  }
  registry = createRegistry(...seen.values());
  registries.set(service, registry);
  return registry;
}

function checkKeys(what, obj, allowed) {
  for (const key of Object.keys(obj)) {
    assert.ok(allowed.has(key), `unknown key "${key}" in ${what}`);
  }
}

function describeError(err) {
  if (err instanceof Error) {
    const fields = "microCode" in err ? ` {id: ${JSON.stringify(err.id)}, microCode: ${err.microCode}, detail: ${JSON.stringify(err.detail)}, status: ${JSON.stringify(err.status)}}` : "";
    return `${err.constructor?.name ?? "Error"}${typeof err.code === "number" ? ` ${codeName(err.code)}` : ""}: ${err.message}${fields}`;
  }
  return String(err);
}

// --- Saved values and substitution ----------------------------------------------------------------

/** Standard base64 (with padding) of `n` bytes where byte i is `i % 256`. */
function patternBytes(n) {
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = i % 256;
  return bytes.toString("base64");
}

/** Replaces `${name}` and `${bytes:N}` in every string of `value` (see the README). */
function substitute(value, saved) {
  if (typeof value === "string") {
    const exact = /^\$\{([^}]+)\}$/.exec(value);
    if (exact) {
      const bytes = /^bytes:(\d+)$/.exec(exact[1]);
      if (bytes) return patternBytes(Number(bytes[1]));
      assert.ok(saved.has(exact[1]), `substitution: no saved value named "${exact[1]}"`);
      return structuredClone(saved.get(exact[1]));
    }
    return value.replace(/\$\{([^}]+)\}/g, (_, name) => {
      const bytes = /^bytes:(\d+)$/.exec(name);
      if (bytes) return patternBytes(Number(bytes[1]));
      assert.ok(saved.has(name), `substitution: no saved value named "${name}"`);
      const v = saved.get(name);
      return typeof v === "string" ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, saved));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, saved)]));
  }
  return value;
}

/** The text of a saved value where a string is needed: strings as they are, others as JSON. */
function textOf(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * An expectation with its placeholders replaced; expected headers and error id/status/detail are
 * strings, so a placeholder there becomes the saved value's text.
 */
function substituteExpect(expect, saved) {
  const out = substitute(expect, saved);
  for (const key of ["headers", "headersMatch"]) {
    if (out[key] && typeof out[key] === "object") {
      out[key] = Object.fromEntries(Object.entries(out[key]).map(([k, v]) => [k, textOf(v)]));
    }
  }
  if (out.error && typeof out.error === "object") {
    for (const key of ["id", "status", "detail"]) {
      if (key in out.error) out.error[key] = textOf(out.error[key]);
    }
  }
  return out;
}

/** The value at a dot path (`token.accessToken`, `0.event.id`) of a JSON value. */
function atPath(value, path, where) {
  let current = value;
  for (const segment of path.split(".")) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) {
      assert.ok(Number(segment) < current.length, `${where}: save path "${path}": index ${segment} out of range`);
      current = current[Number(segment)];
    } else if (current !== null && typeof current === "object" && segment in current) {
      current = current[segment];
    } else {
      assert.fail(`${where}: save path "${path}": no "${segment}" in ${JSON.stringify(current)}`);
    }
  }
  return current;
}

// --- Comparison -----------------------------------------------------------------------------------

/** True when `got` contains `want`: objects as subsets, arrays element-wise, other values equal. */
function includes(got, want) {
  if (Array.isArray(want)) {
    return Array.isArray(got) && got.length === want.length && want.every((w, i) => includes(got[i], w));
  }
  if (want !== null && typeof want === "object") {
    return (
      got !== null && typeof got === "object" && !Array.isArray(got) &&
      Object.entries(want).every(([k, w]) => k in got && includes(got[k], w))
    );
  }
  return got === want;
}

function headersToObject(headers) {
  return Object.fromEntries(headers.entries());
}

function checkHeaders(where, expect, captured) {
  const got = headersToObject(captured);
  for (const [key, want] of Object.entries(expect.headers ?? {})) {
    assert.equal(captured.get(key), want, `${where}: response header ${key} (all headers: ${JSON.stringify(got)})`);
  }
  for (const [key, pattern] of Object.entries(expect.headersMatch ?? {})) {
    const value = captured.get(key);
    assert.ok(value !== null, `${where}: response header ${key} is missing (all headers: ${JSON.stringify(got)})`);
    assert.match(value, new RegExp(pattern), `${where}: response header ${key}`);
  }
}

// --- Running calls --------------------------------------------------------------------------------

/** Resolves a call against the SDK and validates its shape; returns what running it needs. */
function prepareCall(micro, fileService, call, index) {
  const where = `call #${index + 1} (${call.service ?? fileService}/${call.method})`;
  checkKeys(where, call, CALL_KEYS);
  const expect = call.expect;
  assert.ok(expect && typeof expect === "object", `${where}: missing "expect"`);
  checkKeys(`${where} expect`, expect, EXPECT_KEYS);
  const bodies = ["response", "responseIncludes", "responses", "responsesIncludes"].filter((k) => k in expect);
  assert.ok(bodies.length <= 1, `${where}: expect has more than one of ${bodies.join(", ")}`);
  assert.ok(bodies.length === 1 || "error" in expect, `${where}: expect needs a response, responses or error`);

  const serviceName = call.service ?? fileService;
  assert.ok(serviceName, `${where}: no service given for the call or the file`);
  const client = findClient(micro, serviceName);
  const service = client.constructor.service;
  const method = service.method[lowerFirst(call.method)] ?? service.methods.find((m) => m.name === call.method);
  assert.ok(method, `${where}: service ${serviceName} has no method ${call.method}`);
  const fn = client[method.localName] ?? client[lowerFirst(call.method)];
  assert.equal(typeof fn, "function", `${where}: client ${client.constructor.name} has no method for ${call.method}`);
  const streamingOut = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  const streamingIn = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  if (bodies.length === 1 && "error" in expect) {
    assert.ok(streamingOut && bodies[0].startsWith("responses"), `${where}: only streaming calls pair responses with error`);
  }
  if ("response" in expect || "responseIncludes" in expect) {
    assert.ok(!streamingOut, `${where}: "response"/"responseIncludes" are for calls with one response; use "responses"`);
  }
  if ("responses" in expect || "responsesIncludes" in expect) {
    assert.ok(streamingOut, `${where}: "responses"/"responsesIncludes" are for streaming responses`);
  }
  if ("take" in call) {
    assert.ok(streamingOut, `${where}: "take" is for server-streaming and bidi calls`);
    assert.ok(!("error" in expect), `${where}: a call with "take" succeeds; no "error"`);
  }
  if (streamingIn) assert.ok(!("request" in call) && Array.isArray(call.requests), `${where}: ${method.methodKind} calls take "requests" (an array)`);
  else assert.ok(!("requests" in call), `${where}: "requests" is for client-streaming and bidi calls`);
  return { where, expect, client, fn, method, registry: registryFor(service), streamingIn, streamingOut };
}

/**
 * Starts a call and resolves, never rejecting, with its outcome `{ responses, error, headers }`.
 * `controller` aborts it (take, cancelAfterMs, end of the case).
 */
async function startCall(prepared, call, saved, controller) {
  const { method, fn, client, registry, streamingIn, streamingOut } = prepared;
  const headers = new Headers();
  const options = {
    signal: controller.signal,
    onHeader: (h) => h.forEach((v, k) => headers.set(k, v)),
    onTrailer: (h) => h.forEach((v, k) => (headers.has(k) ? undefined : headers.set(k, v))),
  };
  if (call.timeoutMs !== undefined) options.timeoutMs = call.timeoutMs;
  if (call.metadata !== undefined) {
    options.headers = Object.fromEntries(Object.entries(substitute(call.metadata, saved)).map(([k, v]) => [k, textOf(v)]));
  }
  let input;
  if (streamingIn) {
    const requests = substitute(call.requests ?? [], saved).map((r) => fromJson(method.input, r, { registry }));
    input = (async function* () {
      yield* requests;
    })();
  } else {
    input = fromJson(method.input, substitute(call.request ?? {}, saved), { registry });
  }
  let timer;
  if (call.cancelAfterMs !== undefined) timer = setTimeout(() => controller.abort(), call.cancelAfterMs);
  const responses = [];
  let error;
  try {
    if (streamingOut) {
      const take = call.take;
      if (take === 0) {
        controller.abort();
      } else {
        for await (const message of fn.call(client, input, options)) {
          responses.push(message);
          if (take !== undefined && responses.length >= take) break;
        }
      }
      if (take !== undefined) controller.abort();
    } else {
      responses.push(await fn.call(client, input, options));
    }
  } catch (err) {
    error = err;
  } finally {
    clearTimeout(timer);
  }
  if (error && error.metadata instanceof Headers) {
    error.metadata.forEach((v, k) => (headers.has(k) ? undefined : headers.set(k, v)));
  }
  return { responses, error, headers };
}

/** Compares the outcome of a call with its expectation; saves values when asked. */
function checkOutcome(prepared, call, outcome, saved) {
  const { where, method, registry } = prepared;
  const expect = substituteExpect(prepared.expect, saved);
  const { responses, error, headers } = outcome;
  const json = (m) => toJson(method.output, m, { registry });
  const normalize = (value) => json(fromJson(method.output, value, { registry }));
  const got = responses.map(json);
  if ("error" in expect) {
    const want = expect.error;
    checkKeys(`${where} expect.error`, want, ERROR_KEYS);
    assert.ok(error !== undefined, `${where}: expected ${want.code}, but the call succeeded with ${JSON.stringify(got)}`);
    assert.ok("microCode" in error && typeof error.code === "number", `${where}: expected a MicroError, got ${describeError(error)}`);
    assert.equal(codeName(error.code), want.code, `${where}: status code (${describeError(error)})`);
    if ("id" in want) assert.equal(error.id, want.id, `${where}: MicroError.id (${describeError(error)})`);
    if ("microCode" in want) assert.equal(error.microCode, want.microCode, `${where}: MicroError.microCode (${describeError(error)})`);
    if ("status" in want) assert.equal(error.status, want.status, `${where}: MicroError.status (${describeError(error)})`);
    if ("detail" in want) assert.equal(error.detail, want.detail, `${where}: MicroError.detail (${describeError(error)})`);
  } else if (error !== undefined) {
    assert.fail(`${where}: expected success, but the call failed: ${describeError(error)}${got.length ? ` after ${JSON.stringify(got)}` : ""}`);
  }
  if ("response" in expect) {
    assert.deepStrictEqual(got[0], normalize(expect.response), `${where}: response`);
  } else if ("responseIncludes" in expect) {
    const want = normalize(expect.responseIncludes);
    assert.ok(includes(got[0], want), `${where}: response ${JSON.stringify(got[0])} does not include ${JSON.stringify(want)}`);
  } else if ("responses" in expect) {
    assert.ok(Array.isArray(expect.responses), `${where}: "responses" must be an array`);
    assert.deepStrictEqual(got, expect.responses.map(normalize), `${where}: responses`);
  } else if ("responsesIncludes" in expect) {
    assert.ok(Array.isArray(expect.responsesIncludes), `${where}: "responsesIncludes" must be an array`);
    const want = expect.responsesIncludes.map(normalize);
    assert.ok(
      got.length === want.length && want.every((w, i) => includes(got[i], w)),
      `${where}: responses ${JSON.stringify(got)} do not include ${JSON.stringify(want)}`,
    );
  }
  checkHeaders(where, expect, headers);
  if (call.save !== undefined && error === undefined) {
    const document = prepared.streamingOut ? got : got[0];
    for (const [name, path] of Object.entries(call.save)) {
      saved.set(name, atPath(document, path, where));
    }
  }
}

/** Runs the calls of one case: sequential ones checked at once, parallel ones at the end. */
async function runCase(micro, fileService, calls, saved) {
  const pending = [];
  const controllers = [];
  try {
    for (const [index, call] of calls.entries()) {
      const prepared = prepareCall(micro, fileService, call, index);
      const controller = new AbortController();
      controllers.push(controller);
      const outcome = startCall(prepared, call, saved, controller);
      if (call.parallel) {
        outcome.catch(() => {}); // awaited (and its rejection reported) at the end of the case
        pending.push({ prepared, call, outcome });
      } else {
        checkOutcome(prepared, call, await outcome, saved);
      }
    }
    for (const { prepared, call, outcome } of pending) {
      checkOutcome(prepared, call, await outcome, saved);
    }
  } finally {
    for (const controller of controllers) controller.abort();
    await Promise.allSettled(pending.map((p) => p.outcome));
  }
}

// --- The tests ------------------------------------------------------------------------------------

const files = readdirSync(CONFORMANCE_DIR)
  .filter((name) => name.endsWith(".json"))
  .sort();

/** group → { passed, failed, failures } */
const results = {};

test("conformance case files are present", () => {
  assert.ok(existsSync(CONFORMANCE_DIR), `no directory ${CONFORMANCE_DIR}`);
  assert.ok(files.length > 0, `no *.json case files in ${CONFORMANCE_DIR}`);
});

after(() => {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const out = join(RESULTS_DIR, "ts.json");
  writeFileSync(out, `${JSON.stringify({ language: "ts", groups: results }, null, 2)}\n`);
});

for (const file of files) {
  const group = file.replace(/\.json$/, "");
  const groupResult = (results[group] = { passed: 0, failed: 0, failures: [] });
  let suite;
  try {
    suite = JSON.parse(readFileSync(join(CONFORMANCE_DIR, file), "utf8"));
    assert.ok(suite !== null && typeof suite === "object" && !Array.isArray(suite), "not a JSON object");
  } catch (err) {
    // A case file the runner cannot read counts as one failed case named after the file.
    test(`${file} is a readable case file`, () => {
      groupResult.failed += 1;
      groupResult.failures.push(file);
      assert.fail(`${file}: ${err.message}`);
    });
    continue;
  }
  describe(file, () => {
    let server;
    /** Values saved by the cases of this file. */
    const saved = new Map();
    before(() => {
      const args = suite.server?.args ?? [];
      server = Array.isArray(args) ? startServer(args.map(String)) : Promise.reject(new Error(`${file}: "server.args" must be an array`));
      // Every test awaits it and fails with its error; keep the rejection from being unhandled.
      server.catch(() => {});
    });
    after(async () => {
      const started = await server.catch(() => undefined);
      await started?.stop();
    });

    const cases = Array.isArray(suite.cases) ? suite.cases : [];
    for (const testCase of cases) {
      test(`${file} › ${testCase.name}`, { timeout: CASE_TIMEOUT_MS + 10_000 }, async () => {
        try {
          checkKeys(file, suite, FILE_KEYS);
          const { address } = await server;
          const { Micro } = await loadSdk(suite.sdk ?? "core");
          const clientOptions = substitute(testCase.client ?? {}, saved);
          checkKeys("client", clientOptions, CLIENT_OPTION_KEYS);
          const micro = new Micro({ address, ...clientOptions });
          try {
            assert.ok(Array.isArray(testCase.calls) && testCase.calls.length > 0, "a case needs at least one call");
            await withTimeout(runCase(micro, suite.service, testCase.calls, saved), CASE_TIMEOUT_MS, "the case");
          } finally {
            micro.close();
          }
          groupResult.passed += 1;
        } catch (err) {
          groupResult.failed += 1;
          groupResult.failures.push(testCase.name);
          throw err;
        }
      });
    }
    if (!Array.isArray(suite.cases)) {
      test(`${file} › "cases" is an array`, () => {
        groupResult.failed += 1;
        groupResult.failures.push('"cases" is not an array');
        assert.fail(`${file}: "cases" must be an array`);
      });
    }
  });
}
