// Conformance runner for the generated TypeScript SDK (node:test).
//
// For every tests/conformance/*.json file it starts one reference server
// (`$MICRO_GEN_BIN serve --address 127.0.0.1:0 --test-hooks`) and runs each case, in order, as one
// test named `<file> › <case name>`, through the SDK's high-level client `new Micro(...)`. The
// format is described in tests/conformance/README.md.
//
// Environment:
//   MICRO_GEN_BIN     path of the built micro-gen binary (required)
//   CONFORMANCE_DIR   directory of the case files (default: the parent of this file's directory)
//   MICRO_SDK_MODULE  module specifier of the installed SDK (default: "micro-sdk"; run.sh installs
//                     the packed SDK under that alias)
//
// Run through run.sh, which builds and packs the SDK first.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { fromJson, toJson } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";

const sdk = await import(process.env.MICRO_SDK_MODULE ?? "micro-sdk");
const { Micro, MicroError } = sdk;

const CONFORMANCE_DIR = resolve(process.env.CONFORMANCE_DIR ?? fileURLToPath(new URL("..", import.meta.url)));
const BIN = process.env.MICRO_GEN_BIN;
const SERVER_START_TIMEOUT_MS = 30_000;
const CASE_TIMEOUT_MS = 120_000;

/** Client option keys a case may set, mapped to MicroOptions keys. */
const CLIENT_OPTION_KEYS = new Set(["token", "namespace", "timeoutMs", "tls", "headers", "retry"]);
/** Call keys the format allows. */
const CALL_KEYS = new Set(["service", "method", "request", "timeoutMs", "metadata", "expect"]);
const EXPECT_KEYS = new Set(["response", "responses", "error", "headers", "headersMatch"]);
const ERROR_KEYS = new Set(["code", "id", "microCode", "status", "detail"]);

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
 * Starts the reference server and resolves with `{ address, stop }` once it prints its
 * `listening on HOST:PORT` line.
 */
function startServer() {
  return new Promise((resolvePromise, reject) => {
    if (!BIN) {
      reject(new Error("MICRO_GEN_BIN is not set"));
      return;
    }
    const child = spawn(BIN, ["serve", "--address", "127.0.0.1:0", "--test-hooks"], {
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

/** Well-known types have their own JSON form; their content is not renamed. */
function isWellKnown(desc) {
  return desc.typeName.startsWith("google.protobuf.");
}

/**
 * Renames the keys of an expected proto3 JSON object from proto names to json names (lowerCamel),
 * guided by the message descriptor, so that `access_token` and `accessToken` both compare equal
 * to what toJson prints. Map keys and unknown keys are left as they are.
 */
function jsonNames(desc, value) {
  if (value === null || typeof value !== "object" || Array.isArray(value) || isWellKnown(desc)) {
    return value;
  }
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
    if (!field) {
      out[key] = v;
      continue;
    }
    let converted = v;
    if (field.fieldKind === "message") {
      converted = jsonNames(field.message, v);
    } else if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(v)) {
      converted = v.map((item) => jsonNames(field.message, item));
    } else if (field.fieldKind === "map" && field.mapKind === "message" && v !== null && typeof v === "object") {
      converted = Object.fromEntries(Object.entries(v).map(([k, item]) => [k, jsonNames(field.message, item)]));
    }
    out[field.jsonName] = converted;
  }
  return out;
}

function checkKeys(what, obj, allowed) {
  for (const key of Object.keys(obj)) {
    assert.ok(allowed.has(key), `unknown key "${key}" in ${what}`);
  }
}

function headersToObject(headers) {
  return headers ? Object.fromEntries(headers.entries()) : undefined;
}

function checkHeaders(expect, captured) {
  const got = headersToObject(captured);
  for (const [key, want] of Object.entries(expect.headers ?? {})) {
    assert.ok(captured, `expected response header ${key}, but no response headers were captured`);
    assert.equal(captured.get(key), want, `response header ${key} (all headers: ${JSON.stringify(got)})`);
  }
  for (const [key, pattern] of Object.entries(expect.headersMatch ?? {})) {
    assert.ok(captured, `expected response header ${key}, but no response headers were captured`);
    const value = captured.get(key);
    assert.ok(value !== null, `response header ${key} is missing (all headers: ${JSON.stringify(got)})`);
    assert.match(value, new RegExp(pattern), `response header ${key}`);
  }
}

function describeError(err) {
  if (err instanceof Error) {
    const fields = err instanceof MicroError ? ` {id: ${JSON.stringify(err.id)}, microCode: ${err.microCode}, detail: ${JSON.stringify(err.detail)}, status: ${JSON.stringify(err.status)}}` : "";
    return `${err.constructor?.name ?? "Error"}${typeof err.code === "number" ? ` ${codeName(err.code)}` : ""}: ${err.message}${fields}`;
  }
  return String(err);
}

/** Runs one call of a case and checks its expectation. */
async function runCall(micro, capture, fileService, call, index) {
  const where = `call #${index + 1} (${call.service ?? fileService}/${call.method})`;
  checkKeys(where, call, CALL_KEYS);
  const expect = call.expect;
  assert.ok(expect && typeof expect === "object", `${where}: missing "expect"`);
  checkKeys(`${where} expect`, expect, EXPECT_KEYS);
  const outcomes = ["response", "responses", "error"].filter((k) => k in expect);
  assert.equal(outcomes.length, 1, `${where}: expect must have exactly one of response, responses, error`);

  const serviceName = call.service ?? fileService;
  assert.ok(serviceName, `${where}: no service given for the call or the file`);
  const client = findClient(micro, serviceName);
  const service = client.constructor.service;
  const method =
    service.method[lowerFirst(call.method)] ?? service.methods.find((m) => m.name === call.method);
  assert.ok(method, `${where}: service ${serviceName} has no method ${call.method}`);
  const fn = client[method.localName] ?? client[lowerFirst(call.method)];
  assert.equal(typeof fn, "function", `${where}: client ${client.constructor.name} has no method for ${call.method}`);

  const request = fromJson(method.input, call.request ?? {});
  const options = {};
  if (call.timeoutMs !== undefined) options.timeoutMs = call.timeoutMs;
  if (call.metadata !== undefined) options.headers = call.metadata;

  capture.headers = undefined;
  let responses;
  let error;
  try {
    switch (method.methodKind) {
      case "unary":
        responses = [await fn.call(client, request, options)];
        break;
      case "server_streaming": {
        responses = [];
        for await (const message of fn.call(client, request, options)) {
          responses.push(message);
        }
        break;
      }
      default:
        throw new Error(`${where}: ${method.methodKind} methods are not supported by the case format`);
    }
  } catch (err) {
    error = err;
  }

  if ("error" in expect) {
    const want = expect.error;
    checkKeys(`${where} expect.error`, want, ERROR_KEYS);
    assert.ok(error !== undefined, `${where}: expected ${want.code}, but the call succeeded with ${JSON.stringify(responses?.map((m) => toJson(method.output, m)))}`);
    assert.ok(error instanceof MicroError, `${where}: expected a MicroError, got ${describeError(error)}`);
    assert.equal(codeName(error.code), want.code, `${where}: status code (${describeError(error)})`);
    if ("id" in want) assert.equal(error.id, want.id, `${where}: MicroError.id (${describeError(error)})`);
    if ("microCode" in want) assert.equal(error.microCode, want.microCode, `${where}: MicroError.microCode (${describeError(error)})`);
    if ("status" in want) assert.equal(error.status, want.status, `${where}: MicroError.status (${describeError(error)})`);
    if ("detail" in want) assert.equal(error.detail, want.detail, `${where}: MicroError.detail (${describeError(error)})`);
  } else {
    if (error !== undefined) {
      assert.fail(`${where}: expected a response, but the call failed: ${describeError(error)}`);
    }
    const got = responses.map((m) => toJson(method.output, m));
    if ("response" in expect) {
      assert.equal(method.methodKind, "unary", `${where}: "response" is for unary calls, use "responses"`);
      assert.deepStrictEqual(got[0], jsonNames(method.output, expect.response), `${where}: response`);
    } else {
      assert.ok(Array.isArray(expect.responses), `${where}: "responses" must be an array`);
      assert.equal(method.methodKind, "server_streaming", `${where}: "responses" is for server-streaming calls`);
      assert.deepStrictEqual(got, expect.responses.map((r) => jsonNames(method.output, r)), `${where}: responses`);
    }
  }
  checkHeaders(expect, capture.headers);
}

const files = readdirSync(CONFORMANCE_DIR)
  .filter((name) => name.endsWith(".json"))
  .sort();

test("conformance case files are present", () => {
  assert.ok(existsSync(CONFORMANCE_DIR), `no directory ${CONFORMANCE_DIR}`);
  assert.ok(files.length > 0, `no *.json case files in ${CONFORMANCE_DIR}`);
});

for (const file of files) {
  const suite = JSON.parse(readFileSync(join(CONFORMANCE_DIR, file), "utf8"));
  describe(file, () => {
    let server;
    before(() => {
      server = startServer();
      // Every test awaits it and fails with its error; keep the rejection from being unhandled.
      server.catch(() => {});
    });
    after(async () => {
      const started = await server.catch(() => undefined);
      await started?.stop();
    });

    assert.ok(Array.isArray(suite.cases), `${file}: "cases" must be an array`);
    for (const testCase of suite.cases) {
      test(`${file} › ${testCase.name}`, { timeout: CASE_TIMEOUT_MS }, async () => {
        const { address } = await server;
        const clientOptions = testCase.client ?? {};
        checkKeys("client", clientOptions, CLIENT_OPTION_KEYS);
        const capture = { headers: undefined };
        /** Records the response headers of the call (or the metadata of its error). */
        const captureHeaders = (next) => async (req) => {
          try {
            const res = await next(req);
            capture.headers = res.header;
            return res;
          } catch (err) {
            if (err && err.metadata instanceof Headers) capture.headers = err.metadata;
            throw err;
          }
        };
        const micro = new Micro({ address, ...clientOptions, interceptors: [captureHeaders] });
        try {
          assert.ok(Array.isArray(testCase.calls) && testCase.calls.length > 0, "a case needs at least one call");
          for (const [index, call] of testCase.calls.entries()) {
            await runCall(micro, capture, suite.service, call, index);
          }
        } finally {
          micro.close();
        }
      });
    }
  });
}
