package dev.micro.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.micro.sdk.Micro;
import dev.micro.sdk.MicroException;
import dev.micro.sdk.MicroMessage;
import dev.micro.sdk.MicroOptions;
import dev.micro.sdk.RequestOptions;
import dev.micro.sdk.RetryPolicy;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every case of {@code tests/conformance/*.json} (format, extensions included:
 * tests/conformance/README.md) through the generated high-level client {@link Micro}, blocking and
 * asynchronous, against the reference server {@code $MICRO_GEN_BIN serve --test-hooks [server.args]}:
 * one server per (case file, mode), cases in file order. This class is compiled twice by run.sh:
 * against the core SDK (files without {@code "sdk"} or with {@code "sdk": "core"}) and against the
 * kitchen-sink SDK ({@code "sdk": "kitchen"}); both SDKs have the same runtime classes.
 * Environment: {@code MICRO_GEN_BIN} (required), {@code MICRO_CONFORMANCE_CASES} (the directory of
 * case files), {@code MICRO_CONFORMANCE_SDK} ({@code core} or {@code kitchen}: which files to run),
 * {@code CONFORMANCE_RESULTS} (optional: the directory of {@code java.json}, into which this run's
 * groups are merged; a case passes when it passes in both modes).
 */
class ConformanceTest {
  private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)\\}");
  private static final Set<String> FILE_KEYS = Set.of("service", "sdk", "server", "cases", "comment");
  private static final Set<String> CASE_KEYS = Set.of("name", "comment", "client", "calls");
  private static final Set<String> CLIENT_KEYS = Set.of("token", "namespace", "timeoutMs", "metadata", "headers", "retry", "tls");
  private static final Set<String> CALL_KEYS = Set.of("service", "method", "request", "requests", "timeoutMs", "metadata",
      "expect", "name", "comment", "parallel", "take", "cancelAfterMs", "save");
  private static final Set<String> EXPECT_KEYS =
      Set.of("response", "responses", "responseIncludes", "responsesIncludes", "error", "headers", "headersMatch");
  private static final Set<String> ERROR_KEYS = Set.of("code", "id", "microCode", "status", "detail", "message");
  private static final long WAIT_SECONDS = 120;

  private static final ExecutorService CALLS = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "conformance-call");
    thread.setDaemon(true);
    return thread;
  });
  private static final ScheduledExecutorService TIMERS = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "conformance-timer");
    thread.setDaemon(true);
    return thread;
  });

  private static String currentKey;
  private static Process currentServer;
  private static String currentAddress;
  /** Saved values per (case file, mode); they live until the end of the file. */
  private static final Map<String, Map<String, JsonElement>> SAVED = new ConcurrentHashMap<>();
  /** Per group, per case: its name and in how many modes it passed. */
  private static final Map<String, List<CaseResult>> RESULTS = new LinkedHashMap<>();

  private static final class CaseResult {
    final String name;
    int passedModes;
    final List<String> problems = new ArrayList<>();

    CaseResult(String name) {
      this.name = name;
    }
  }

  static String sdk() {
    String sdk = System.getenv("MICRO_CONFORMANCE_SDK");
    return sdk == null || sdk.isEmpty() ? "core" : sdk;
  }

  static Path casesDir() {
    String dir = System.getenv("MICRO_CONFORMANCE_CASES");
    assertNotNull(dir, "MICRO_CONFORMANCE_CASES is not set");
    return Path.of(dir);
  }

  static List<Path> caseFiles() throws IOException {
    try (Stream<Path> files = Files.list(casesDir())) {
      return files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
  }

  @Test
  void caseFilesExist() throws IOException {
    assertFalse(caseFiles().isEmpty(), "no conformance case files (*.json) in " + casesDir());
  }

  @TestFactory
  List<DynamicNode> conformance() throws IOException {
    List<DynamicNode> nodes = new ArrayList<>();
    for (Path file : caseFiles()) {
      String group = file.getFileName().toString().replaceAll("\\.json$", "");
      JsonObject doc;
      try {
        doc = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
      } catch (RuntimeException e) {
        List<CaseResult> broken = new ArrayList<>(List.of(new CaseResult("(the case file does not parse: " + e.getMessage() + ")")));
        nodes.add(DynamicTest.dynamicTest(file.getFileName() + " parses", () -> {
          throw new AssertionError(file + " does not parse", e);
        }));
        if (sdk().equals("core")) {
          RESULTS.put(group, broken);
        }
        continue;
      }
      String fileSdk = doc.has("sdk") ? doc.get("sdk").getAsString() : "core";
      if (!Set.of("core", "kitchen").contains(fileSdk) && sdk().equals("core")) {
        RESULTS.put(group, new ArrayList<>(List.of(new CaseResult("(unknown sdk " + fileSdk + ")"))));
        nodes.add(DynamicTest.dynamicTest(file.getFileName() + " names a known sdk", () -> fail("unknown sdk " + fileSdk)));
        continue;
      }
      if (!fileSdk.equals(sdk())) {
        continue;
      }
      List<String> args = new ArrayList<>();
      if (doc.has("server")) {
        doc.getAsJsonObject("server").getAsJsonArray("args").forEach(a -> args.add(a.getAsString()));
      }
      String service = doc.has("service") ? doc.get("service").getAsString() : "";
      JsonArray cases = doc.getAsJsonArray("cases");
      List<CaseResult> results = new ArrayList<>();
      for (int i = 0; i < cases.size(); i++) {
        JsonObject data = cases.get(i).getAsJsonObject();
        results.add(new CaseResult(data.has("name") ? data.get("name").getAsString() : "case " + i));
      }
      RESULTS.put(group, results);
      for (String mode : List.of("sync", "async")) {
        List<DynamicTest> tests = new ArrayList<>();
        String key = file + "|" + mode;
        for (int i = 0; i < cases.size(); i++) {
          JsonObject data = cases.get(i).getAsJsonObject();
          CaseResult result = results.get(i);
          tests.add(DynamicTest.dynamicTest(result.name + " [" + mode + "]", () -> {
            for (String k : doc.keySet()) {
              assertTrue(FILE_KEYS.contains(k), "unsupported file key " + k);
            }
            for (String k : data.keySet()) {
              assertTrue(CASE_KEYS.contains(k), "unsupported case key " + k);
            }
            Map<String, JsonElement> saved = SAVED.computeIfAbsent(key, k -> new ConcurrentHashMap<>());
            try {
              runCase(server(key, args), service, data, mode, saved);
            } catch (Throwable t) {
              synchronized (RESULTS) {
                result.problems.add("[" + mode + "] " + t);
              }
              throw t;
            }
            synchronized (RESULTS) {
              result.passedModes++;
            }
          }));
        }
        nodes.add(DynamicContainer.dynamicContainer(file.getFileName() + " [" + mode + "]", tests));
      }
    }
    return nodes;
  }

  @AfterAll
  static void finish() throws IOException {
    stopServer();
    // Every failure with its case name, for run.sh to show (surefire names dynamic tests poorly).
    StringBuilder report = new StringBuilder();
    synchronized (RESULTS) {
      for (Map.Entry<String, List<CaseResult>> e : RESULTS.entrySet()) {
        for (CaseResult r : e.getValue()) {
          for (String problem : r.problems) {
            report.append(e.getKey()).append(" / ").append(r.name).append(' ').append(problem).append('\n');
          }
        }
      }
    }
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target", "conformance-failures.txt"), report.toString());
    String dir = System.getenv("CONFORMANCE_RESULTS");
    if (dir == null || dir.isEmpty()) {
      return;
    }
    Path out = Path.of(dir, "java.json");
    Files.createDirectories(out.getParent());
    JsonObject doc = Files.exists(out) ? JsonParser.parseString(Files.readString(out)).getAsJsonObject() : new JsonObject();
    doc.addProperty("language", "java");
    JsonObject groups = doc.has("groups") ? doc.getAsJsonObject("groups") : new JsonObject();
    synchronized (RESULTS) {
      for (Map.Entry<String, List<CaseResult>> e : RESULTS.entrySet()) {
        JsonObject group = new JsonObject();
        JsonArray failures = new JsonArray();
        int passed = 0;
        for (CaseResult r : e.getValue()) {
          if (r.passedModes == 2) {
            passed++;
          } else {
            failures.add(r.name);
          }
        }
        group.addProperty("passed", passed);
        group.addProperty("failed", failures.size());
        group.add("failures", failures);
        groups.add(e.getKey(), group);
      }
    }
    doc.add("groups", groups);
    Gson gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
    Files.writeString(out, gson.toJson(doc) + "\n");
  }

  static void stopServer() {
    if (currentServer != null) {
      currentServer.destroy();
      try {
        if (!currentServer.waitFor(10, TimeUnit.SECONDS)) {
          currentServer.destroyForcibly();
        }
      } catch (InterruptedException e) {
        currentServer.destroyForcibly();
      }
      currentServer = null;
      currentKey = null;
    }
  }

  /** The address of the server for {@code key}, starting it (and stopping the previous one). */
  static synchronized String server(String key, List<String> args) throws Exception {
    if (key.equals(currentKey)) {
      return currentAddress;
    }
    stopServer();
    String binary = System.getenv("MICRO_GEN_BIN");
    assertNotNull(binary, "MICRO_GEN_BIN is not set: it must name the micro-gen binary");
    List<String> command = new ArrayList<>(List.of(binary, "serve", "--address", "127.0.0.1:0", "--test-hooks"));
    command.addAll(args);
    Process process = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> address = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            address.complete(m.group(1));
          }
        }
        address.completeExceptionally(new IllegalStateException("the server exited without a listening line"));
      } catch (IOException e) {
        address.completeExceptionally(e);
      }
    });
    reader.setDaemon(true);
    reader.start();
    currentServer = process;
    currentKey = key;
    currentAddress = address.get(60, TimeUnit.SECONDS);
    return currentAddress;
  }

  // --- response headers ------------------------------------------------------------------------

  /** The headers and trailers of one call (first value of a key wins). */
  static final class Headers {
    final Map<String, String> values = new LinkedHashMap<>();

    synchronized void merge(Metadata metadata) {
      for (String key : metadata.keys()) {
        if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX) || values.containsKey(key)) {
          continue;
        }
        String value = metadata.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
        if (value != null) {
          values.put(key, value);
        }
      }
    }

    synchronized Map<String, String> snapshot() {
      return new LinkedHashMap<>(values);
    }
  }

  /**
   * Records each call's headers and trailers into the {@link Headers} of the call being started on
   * this thread; a call started elsewhere (an asynchronous retry) records into the latest one.
   */
  static final class Capture implements ClientInterceptor {
    static final ThreadLocal<Headers> CURRENT = new ThreadLocal<>();
    volatile Headers latest = new Headers();

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      Headers into = CURRENT.get() != null ? CURRENT.get() : latest;
      return new ForwardingClientCall.SimpleForwardingClientCall<Q, R>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<R>(listener) {
            @Override
            public void onHeaders(Metadata metadata) {
              into.merge(metadata);
              super.onHeaders(metadata);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
              into.merge(trailers);
              super.onClose(status, trailers);
            }
          }, headers);
        }
      };
    }
  }

  // --- saved values and substitution -------------------------------------------------------------

  static String fillBytes(int n) {
    byte[] bytes = new byte[n];
    for (int i = 0; i < n; i++) {
      bytes[i] = (byte) (i % 256);
    }
    return Base64.getEncoder().encodeToString(bytes);
  }

  static JsonElement lookup(String name, Map<String, JsonElement> saved) {
    if (name.startsWith("bytes:")) {
      return new JsonPrimitive(fillBytes(Integer.parseInt(name.substring("bytes:".length()))));
    }
    JsonElement value = saved.get(name);
    if (value == null) {
      throw new AssertionError("unknown saved value ${" + name + "}");
    }
    return value.deepCopy();
  }

  static String text(JsonElement value) {
    return value.isJsonPrimitive() ? value.getAsString() : value.toString();
  }

  static JsonElement substitute(JsonElement element, Map<String, JsonElement> saved) {
    if (element == null) {
      return null;
    }
    if (element.isJsonPrimitive() && element.getAsJsonPrimitive().isString()) {
      return substituteString(element.getAsString(), saved);
    }
    if (element.isJsonArray()) {
      JsonArray out = new JsonArray();
      element.getAsJsonArray().forEach(e -> out.add(substitute(e, saved)));
      return out;
    }
    if (element.isJsonObject()) {
      JsonObject out = new JsonObject();
      element.getAsJsonObject().entrySet().forEach(e -> out.add(e.getKey(), substitute(e.getValue(), saved)));
      return out;
    }
    return element;
  }

  static JsonElement substituteString(String s, Map<String, JsonElement> saved) {
    Matcher m = PLACEHOLDER.matcher(s);
    if (m.matches()) {
      return lookup(m.group(1), saved);
    }
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(text(lookup(m.group(1), saved))));
    }
    m.appendTail(out);
    return new JsonPrimitive(out.toString());
  }

  static JsonElement atPath(JsonElement doc, String path) {
    JsonElement v = doc;
    for (String seg : path.split("\\.", -1)) {
      if (v != null && v.isJsonObject()) {
        v = v.getAsJsonObject().get(seg);
      } else if (v != null && v.isJsonArray() && seg.matches("\\d+") && Integer.parseInt(seg) < v.getAsJsonArray().size()) {
        v = v.getAsJsonArray().get(Integer.parseInt(seg));
      } else {
        v = null;
      }
      if (v == null) {
        throw new AssertionError("no value at " + path + " (segment " + seg + ") in " + shorten(doc));
      }
    }
    return v;
  }

  // --- messages as JSON ---------------------------------------------------------------------------

  private static final Map<Descriptor, JsonFormat.TypeRegistry> REGISTRIES = new ConcurrentHashMap<>();

  /** The well-known types and the types of {@code descriptor}'s file and its imports, for Any. */
  static JsonFormat.TypeRegistry registry(Descriptor descriptor) {
    return REGISTRIES.computeIfAbsent(descriptor, d -> JsonFormat.TypeRegistry.newBuilder()
        .add(com.google.protobuf.Any.getDescriptor())
        .add(com.google.protobuf.Duration.getDescriptor())
        .add(com.google.protobuf.Empty.getDescriptor())
        .add(com.google.protobuf.FieldMask.getDescriptor())
        .add(com.google.protobuf.Struct.getDescriptor())
        .add(com.google.protobuf.Timestamp.getDescriptor())
        .add(com.google.protobuf.DoubleValue.getDescriptor())
        .add(d)
        .build());
  }

  static Message protobuf(Object message) {
    return message instanceof MicroMessage m ? m.toDynamic() : (Message) message;
  }

  /** A message of {@code type} (a generated class or a protobuf-java WKT) from proto3 JSON. */
  static Object fromJson(Class<?> type, String json) throws Exception {
    if (MicroMessage.class.isAssignableFrom(type)) {
      return invoke(type.getMethod("fromJson", String.class), null, json);
    }
    Message.Builder builder = (Message.Builder) type.getMethod("newBuilder").invoke(null);
    JsonFormat.parser().usingTypeRegistry(registry(builder.getDescriptorForType())).merge(json, builder);
    return builder.build();
  }

  /** The proto3 JSON of a message (default values omitted), as the SDK prints it. */
  static JsonElement asJson(Object message) throws InvalidProtocolBufferException {
    if (message instanceof MicroMessage m) {
      return JsonParser.parseString(m.toJson());
    }
    Message m = (Message) message;
    return JsonParser.parseString(JsonFormat.printer().usingTypeRegistry(registry(m.getDescriptorForType())).print(m));
  }

  /** The proto3 JSON of a message with default values printed, for includes and saved values. */
  @SuppressWarnings("deprecation")
  static JsonElement fullJson(Object message) throws InvalidProtocolBufferException {
    Message m = protobuf(message);
    return JsonParser.parseString(
        JsonFormat.printer().includingDefaultValueFields().usingTypeRegistry(registry(m.getDescriptorForType())).print(m));
  }

  static String shorten(Object value) {
    String s = String.valueOf(value);
    return s.length() > 1500 ? s.substring(0, 1500) + "…" : s;
  }

  // --- running a case --------------------------------------------------------------------------

  /** What a call did. */
  static final class Outcome {
    final List<Object> responses = new ArrayList<>();
    boolean streaming;
    Class<?> output;
    MicroException error;
    Map<String, String> headers = Map.of();
  }

  static void runCase(String address, String defaultService, JsonObject data, String mode, Map<String, JsonElement> saved)
      throws Exception {
    Capture capture = new Capture();
    JsonObject client = data.has("client") ? substitute(data.get("client"), saved).getAsJsonObject() : new JsonObject();
    List<Map.Entry<String, CompletableFuture<Outcome>>> parallel = new ArrayList<>();
    List<JsonObject> parallelCalls = new ArrayList<>();
    try (Micro micro = clientOptions(address, client, capture).connect()) {
      JsonArray calls = data.getAsJsonArray("calls");
      for (int i = 0; i < calls.size(); i++) {
        JsonObject call = calls.get(i).getAsJsonObject();
        for (String key : call.keySet()) {
          assertTrue(CALL_KEYS.contains(key), "unsupported call key " + key);
        }
        String service = call.has("service") ? call.get("service").getAsString() : defaultService;
        String label = "call " + i + " (" + service + "." + call.get("method").getAsString() + ")";
        validate(label, call);
        boolean isParallel = call.has("parallel") && call.get("parallel").getAsBoolean();
        CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        CALLS.execute(() -> {
          try {
            outcome.complete(execute(micro, capture, service, call, mode, saved));
          } catch (Throwable t) {
            outcome.completeExceptionally(t);
          }
        });
        if (isParallel) {
          parallel.add(Map.entry(label, outcome));
          parallelCalls.add(call);
        } else {
          check(label, await(label, outcome), call, saved);
        }
      }
      for (int i = 0; i < parallel.size(); i++) {
        String label = parallel.get(i).getKey();
        check(label, await(label, parallel.get(i).getValue()), parallelCalls.get(i), saved);
      }
    }
  }

  static Outcome await(String label, CompletableFuture<Outcome> outcome) throws Exception {
    try {
      return outcome.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw new AssertionError(label + ": " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError(label + ": the call did not end within " + WAIT_SECONDS + " s");
    }
  }

  static void validate(String label, JsonObject call) {
    JsonObject expect = call.has("expect") ? call.getAsJsonObject("expect") : new JsonObject();
    for (String key : expect.keySet()) {
      assertTrue(EXPECT_KEYS.contains(key), label + ": unsupported expect key " + key);
    }
    long outcomes = Stream.of("response", "responses", "responseIncludes", "responsesIncludes", "error").filter(expect::has).count();
    boolean streamPlusError = outcomes == 2 && expect.has("error") && (expect.has("responses") || expect.has("responsesIncludes"));
    assertTrue(outcomes == 1 || streamPlusError,
        label + ": expect needs exactly one of response/responseIncludes/responses/responsesIncludes/error (or responses + error)");
    assertFalse(call.has("request") && call.has("requests"), label + ": a call has request or requests, not both");
  }

  static MicroOptions.Builder clientOptions(String address, JsonObject spec, Capture capture) {
    MicroOptions.Builder options = Micro.builder(address).interceptor(capture);
    for (String key : spec.keySet()) {
      assertTrue(CLIENT_KEYS.contains(key), "unsupported client option " + key);
    }
    if (spec.has("token")) {
      options.token(spec.get("token").getAsString());
    }
    if (spec.has("namespace")) {
      options.namespace(spec.get("namespace").getAsString());
    }
    if (spec.has("tls")) {
      options.tls(spec.get("tls").getAsBoolean());
    }
    if (spec.has("timeoutMs")) {
      options.timeout(Duration.ofMillis(spec.get("timeoutMs").getAsLong()));
    }
    for (String key : List.of("metadata", "headers")) {
      if (spec.has(key)) {
        spec.getAsJsonObject(key).entrySet().forEach(e -> options.metadata(e.getKey(), e.getValue().getAsString()));
      }
    }
    if (spec.has("retry")) {
      options.retry(retryPolicy(spec.get("retry")));
    }
    return options;
  }

  static RetryPolicy retryPolicy(JsonElement spec) {
    if (spec.isJsonNull() || (spec.isJsonPrimitive() && !spec.getAsBoolean())) {
      return null;
    }
    RetryPolicy policy = RetryPolicy.DEFAULT;
    for (Map.Entry<String, JsonElement> e : spec.getAsJsonObject().entrySet()) {
      JsonElement v = e.getValue();
      switch (e.getKey()) {
        case "maxRetries" -> policy = policy.withMaxRetries(v.getAsInt());
        case "initialBackoffMs" -> policy = policy.withInitialBackoff(Duration.ofMillis(v.getAsLong()));
        case "maxBackoffMs" -> policy = policy.withMaxBackoff(Duration.ofMillis(v.getAsLong()));
        case "multiplier" -> policy = policy.withMultiplier(v.getAsDouble());
        case "jitter" -> policy = policy.withJitter(v.getAsDouble());
        case "retryableCodes" -> {
          Set<Status.Code> codes = EnumSet.noneOf(Status.Code.class);
          v.getAsJsonArray().forEach(c -> codes.add(Status.Code.valueOf(c.getAsString())));
          policy = policy.withRetryableCodes(codes);
        }
        default -> fail("unsupported retry option " + e.getKey());
      }
    }
    return policy;
  }

  /** The client of {@code service}: the accessor of {@link Micro} whose class has that SERVICE_NAME. */
  static Object findClient(Micro micro, String service) throws Exception {
    for (Method m : Micro.class.getMethods()) {
      if (m.getParameterCount() != 0 || m.getDeclaringClass() != Micro.class) {
        continue;
      }
      try {
        if (service.equals(m.getReturnType().getField("SERVICE_NAME").get(null))) {
          return m.invoke(micro);
        }
      } catch (NoSuchFieldException ignored) {
        // not a client
      }
    }
    throw new AssertionError("Micro has no client with SERVICE_NAME " + service);
  }

  /** The methods of a client named for {@code rpc} (+ {@code suffix}) whose last parameter is RequestOptions. */
  static List<Method> findMethods(Object client, String rpc, String suffix, int params) {
    String base = Character.toLowerCase(rpc.charAt(0)) + rpc.substring(1);
    for (String name : List.of(base + suffix, base + "_" + suffix)) {
      List<Method> found = new ArrayList<>();
      for (Method m : client.getClass().getMethods()) {
        if (m.getName().equals(name) && m.getParameterCount() == params
            && m.getParameterTypes()[params - 1] == RequestOptions.class) {
          found.add(m);
        }
      }
      if (!found.isEmpty()) {
        return found;
      }
    }
    throw new AssertionError(client.getClass().getSimpleName() + " has no method " + base + suffix + " for rpc " + rpc);
  }

  static Class<?> typeArgument(Type type) {
    Type arg = ((ParameterizedType) type).getActualTypeArguments()[0];
    if (arg instanceof java.lang.reflect.WildcardType w) {
      arg = w.getUpperBounds()[0];
    }
    return (Class<?>) arg;
  }

  /** Collects a response stream; with {@code take}, cancels the call (the SDK's call cancel) after that many. */
  static final class Collector implements ClientResponseObserver<Object, Object> {
    final List<Object> received = new ArrayList<>();
    final CompletableFuture<Void> done = new CompletableFuture<>();
    final Integer take;
    volatile ClientCallStreamObserver<Object> requestStream;

    Collector(Integer take) {
      this.take = take;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<Object> stream) {
      this.requestStream = stream;
    }

    @Override
    public synchronized void onNext(Object value) {
      if (done.isDone()) {
        return;
      }
      received.add(value);
      if (take != null && received.size() >= take) {
        done.complete(null);
        requestStream.cancel("the case took the messages it wanted", null);
      }
    }

    @Override
    public void onError(Throwable t) {
      done.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      done.complete(null);
    }

    synchronized List<Object> snapshot() {
      return new ArrayList<>(received);
    }
  }

  /** The method whose first parameter is {@code type} ({@code is}), or is neither kind of request stream. */
  static Method pick(List<Method> methods, Class<?> type, boolean is) {
    for (Method m : methods) {
      Class<?> first = m.getParameterTypes()[0];
      if (is ? first == type : first != StreamObserver.class && first != Iterable.class) {
        return m;
      }
    }
    return null;
  }

  /** Runs one call in {@code mode}; a MicroException is the call's outcome, any other failure the runner's. */
  static Outcome execute(Micro micro, Capture capture, String service, JsonObject call, String mode,
      Map<String, JsonElement> saved) throws Exception {
    String rpc = call.get("method").getAsString();
    Object client = findClient(micro, service);
    List<Method> methods = findMethods(client, rpc, "", 2);
    Method streamingRequests = pick(methods, StreamObserver.class, true);
    Method iterableRequests = pick(methods, Iterable.class, true);
    Method single = pick(methods, null, false);
    Integer take = call.has("take") ? call.get("take").getAsInt() : null;
    RequestOptions.Builder options = RequestOptions.builder();
    if (call.has("timeoutMs")) {
      options.timeout(Duration.ofMillis(call.get("timeoutMs").getAsLong()));
    }
    if (call.has("metadata")) {
      for (Map.Entry<String, JsonElement> e : call.getAsJsonObject("metadata").entrySet()) {
        options.metadata(e.getKey(), text(substituteString(e.getValue().getAsString(), saved)));
      }
    }
    RequestOptions requestOptions = options.build();

    Outcome outcome = new Outcome();
    Headers headers = new Headers();
    capture.latest = headers;
    Context.CancellableContext context = Context.current().withCancellation();
    if (call.has("cancelAfterMs")) {
      TIMERS.schedule(() -> {
        context.cancel(null);
      }, call.get("cancelAfterMs").getAsLong(), TimeUnit.MILLISECONDS);
    }
    Capture.CURRENT.set(headers);
    try {
      if (single != null) {
        assertFalse(call.has("requests"), "'requests' needs a client-streaming or bidi rpc");
        Object request = fromJson(single.getParameterTypes()[0],
            (call.has("request") ? substitute(call.get("request"), saved) : new JsonObject()).toString());
        boolean serverStreaming = Iterator.class.isAssignableFrom(single.getReturnType());
        outcome.streaming = serverStreaming;
        outcome.output = serverStreaming ? typeArgument(single.getGenericReturnType()) : single.getReturnType();
        if (mode.equals("sync")) {
          Object result = context.call(() -> invoke(single, client, request, requestOptions));
          Capture.CURRENT.remove();
          if (serverStreaming) {
            Iterator<?> it = (Iterator<?>) result;
            while (take == null || outcome.responses.size() < take) {
              if (!it.hasNext()) {
                break;
              }
              outcome.responses.add(it.next());
            }
            if (take != null) {
              context.cancel(null);
            }
          } else {
            outcome.responses.add(result);
          }
        } else if (serverStreaming) {
          Method async = findMethods(client, rpc, "Async", 3).get(0);
          Collector collector = new Collector(take);
          context.run(() -> invokeUnchecked(async, client, request, collector, requestOptions));
          Capture.CURRENT.remove();
          try {
            collector.done.get(WAIT_SECONDS, TimeUnit.SECONDS);
          } finally {
            outcome.responses.addAll(collector.snapshot());
          }
        } else {
          Method async = findMethods(client, rpc, "Async", 2).get(0);
          CompletableFuture<?> future = context.call(() -> (CompletableFuture<?>) invoke(async, client, request, requestOptions));
          Capture.CURRENT.remove();
          outcome.responses.add(future.get(WAIT_SECONDS, TimeUnit.SECONDS));
        }
      } else {
        assertNotNull(streamingRequests, "no method for rpc " + rpc);
        assertFalse(call.has("request"), "a client-streaming or bidi rpc takes 'requests'");
        Method observerMethod = streamingRequests;
        Class<?> input = typeArgument(observerMethod.getGenericReturnType());
        outcome.output = typeArgument(observerMethod.getGenericParameterTypes()[0]);
        outcome.streaming = iterableRequests == null;
        List<Object> requests = new ArrayList<>();
        if (call.has("requests")) {
          for (JsonElement r : call.getAsJsonArray("requests")) {
            requests.add(fromJson(input, substitute(r, saved).toString()));
          }
        }
        if (mode.equals("sync") && iterableRequests != null) {
          Method blocking = iterableRequests;
          Object result = context.call(() -> invoke(blocking, client, requests, requestOptions));
          Capture.CURRENT.remove();
          outcome.responses.add(result);
        } else {
          Collector collector = new Collector(take);
          @SuppressWarnings("unchecked")
          StreamObserver<Object> out =
              (StreamObserver<Object>) context.call(() -> invoke(observerMethod, client, collector, requestOptions));
          Capture.CURRENT.remove();
          try {
            for (Object r : requests) {
              if (collector.done.isDone()) {
                break;
              }
              out.onNext(r);
            }
            if (!collector.done.isDone()) {
              out.onCompleted();
            }
          } catch (IllegalStateException ignored) {
            // the call ended while sending: its status is what the collector received
          }
          try {
            collector.done.get(WAIT_SECONDS, TimeUnit.SECONDS);
          } finally {
            outcome.responses.addAll(collector.snapshot());
          }
        }
      }
    } catch (ExecutionException e) {
      if (e.getCause() instanceof MicroException me) {
        outcome.error = me;
      } else {
        throw new AssertionError("the call failed without a MicroException", e.getCause());
      }
    } catch (MicroException e) {
      outcome.error = e;
    } finally {
      Capture.CURRENT.remove();
      context.cancel(null);
    }
    outcome.headers = headers.snapshot();
    return outcome;
  }

  /** Compares an outcome with the call's expectations (after substitution), then saves the values asked for. */
  static void check(String label, Outcome outcome, JsonObject call, Map<String, JsonElement> saved) throws Exception {
    JsonObject expect = call.has("expect") ? substitute(call.get("expect"), saved).getAsJsonObject() : new JsonObject();
    MicroException error = outcome.error;
    if (expect.has("error")) {
      JsonObject want = expect.getAsJsonObject("error");
      for (String key : want.keySet()) {
        assertTrue(ERROR_KEYS.contains(key), label + ": unsupported error key " + key);
      }
      String code = want.get("code").getAsString();
      assertNotNull(error, label + ": expected " + code + ", got " + shorten(jsonList(outcome.responses)));
      assertEquals(code, error.getCode().name(), label + ": code (" + error + ")");
      if (want.has("id")) {
        assertEquals(want.get("id").getAsString(), error.getId(), label + ": error id (" + error + ")");
      }
      if (want.has("microCode")) {
        assertEquals(want.get("microCode").getAsInt(), error.getMicroCode(), label + ": error microCode (" + error + ")");
      }
      if (want.has("status")) {
        assertEquals(want.get("status").getAsString(), error.getStatus(), label + ": error status (" + error + ")");
      }
      if (want.has("detail")) {
        assertEquals(want.get("detail").getAsString(), error.getDetail(), label + ": error detail (" + error + ")");
      }
      if (want.has("message")) {
        assertEquals(want.get("message").getAsString(), error.getGrpcStatus().getDescription(), label + ": error message");
      }
    } else {
      assertNull(error, label + ": unexpected error " + error);
    }
    List<Object> got = outcome.responses;
    if (expect.has("response")) {
      assertEquals(1, got.size(), label + ": expected one response, got " + got.size());
      JsonElement want = expected(label, outcome.output, expect.get("response"));
      assertEquals(want, asJson(got.get(0)), label + ": response");
    } else if (expect.has("responseIncludes")) {
      assertEquals(1, got.size(), label + ": expected one response, got " + got.size());
      JsonElement full = fullJson(got.get(0));
      includes(label, expect.get("responseIncludes"), full, "$", full);
    } else if (expect.has("responses")) {
      List<JsonElement> want = new ArrayList<>();
      for (JsonElement item : expect.getAsJsonArray("responses")) {
        want.add(expected(label, outcome.output, item));
      }
      assertEquals(want, jsonList(got), label + ": responses");
    } else if (expect.has("responsesIncludes")) {
      JsonArray want = expect.getAsJsonArray("responsesIncludes");
      assertEquals(want.size(), got.size(), label + ": " + got.size() + " responses, expected " + want.size() + ": "
          + shorten(jsonList(got)));
      for (int i = 0; i < want.size(); i++) {
        JsonElement full = fullJson(got.get(i));
        includes(label + ": response " + i, want.get(i), full, "$", full);
      }
    }
    Map<String, String> headers = outcome.headers;
    if (expect.has("headers")) {
      for (Map.Entry<String, JsonElement> e : expect.getAsJsonObject("headers").entrySet()) {
        assertEquals(e.getValue().getAsString(), headers.get(e.getKey()), label + ": header " + e.getKey() + " in " + headers);
      }
    }
    if (expect.has("headersMatch")) {
      for (Map.Entry<String, JsonElement> e : expect.getAsJsonObject("headersMatch").entrySet()) {
        String value = headers.get(e.getKey());
        assertTrue(value != null && Pattern.compile(e.getValue().getAsString()).matcher(value).find(),
            label + ": header " + e.getKey() + " is " + value + ", expected a match of " + e.getValue());
      }
    }
    if (call.has("save")) {
      assertNull(error, label + ": 'save' needs a successful call");
      JsonElement doc;
      if (outcome.streaming) {
        JsonArray all = new JsonArray();
        for (Object m : got) {
          all.add(fullJson(m));
        }
        doc = all;
      } else {
        doc = fullJson(got.get(0));
      }
      for (Map.Entry<String, JsonElement> e : call.getAsJsonObject("save").entrySet()) {
        saved.put(e.getKey(), atPath(doc, e.getValue().getAsString()).deepCopy());
      }
    }
  }

  /** An expected message, read as {@code type} and printed again (defaults omitted). */
  static JsonElement expected(String label, Class<?> type, JsonElement json) throws Exception {
    try {
      return asJson(fromJson(type, json.toString()));
    } catch (Exception e) {
      throw new AssertionError(label + ": the expected message is not a " + type.getSimpleName() + ": " + e, e);
    }
  }

  static List<JsonElement> jsonList(List<Object> messages) throws InvalidProtocolBufferException {
    List<JsonElement> out = new ArrayList<>();
    for (Object m : messages) {
      out.add(asJson(m));
    }
    return out;
  }

  /** protoc's json_name of a proto field name. */
  static String lowerCamel(String name) {
    StringBuilder out = new StringBuilder();
    boolean upper = false;
    for (char c : name.toCharArray()) {
      if (c == '_') {
        upper = true;
      } else {
        out.append(upper ? Character.toUpperCase(c) : c);
        upper = false;
      }
    }
    return out.toString();
  }

  /** {@code got} contains {@code want}: objects as subsets, arrays element by element, other values equal. */
  static void includes(String label, JsonElement want, JsonElement got, String at, JsonElement whole) {
    String where = label + ": " + at;
    if (want.isJsonObject()) {
      assertTrue(got != null && got.isJsonObject(), where + ": " + got + ", expected an object; response " + shorten(whole));
      JsonObject g = got.getAsJsonObject();
      for (Map.Entry<String, JsonElement> e : want.getAsJsonObject().entrySet()) {
        String key = g.has(e.getKey()) ? e.getKey() : lowerCamel(e.getKey());
        assertTrue(g.has(key), where + ": no field " + e.getKey() + "; response " + shorten(whole));
        includes(label, e.getValue(), g.get(key), at + "." + e.getKey(), whole);
      }
      return;
    }
    if (want.isJsonArray()) {
      assertTrue(got != null && got.isJsonArray(), where + ": " + got + ", expected an array; response " + shorten(whole));
      JsonArray w = want.getAsJsonArray();
      JsonArray g = got.getAsJsonArray();
      assertEquals(w.size(), g.size(), where + ": element count; response " + shorten(whole));
      for (int i = 0; i < w.size(); i++) {
        includes(label, w.get(i), g.get(i), at + "[" + i + "]", whole);
      }
      return;
    }
    if (want.equals(got)) {
      return;
    }
    // int64 values are strings in proto3 JSON; a case may write them as numbers (and the reverse).
    if (want.isJsonPrimitive() && got != null && got.isJsonPrimitive()) {
      try {
        if (new java.math.BigDecimal(want.getAsString()).compareTo(new java.math.BigDecimal(got.getAsString())) == 0
            && (want.getAsJsonPrimitive().isNumber() || got.getAsJsonPrimitive().isNumber())) {
          return;
        }
      } catch (NumberFormatException ignored) {
        // not numbers
      }
    }
    fail(where + ": " + shorten(got) + ", expected " + shorten(want) + "; response " + shorten(whole));
  }

  static Object invoke(Method method, Object target, Object... args) throws Exception {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  static void invokeUnchecked(Method method, Object target, Object... args) {
    try {
      invoke(method, target, args);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
