package dev.micro.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
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
 * Runs every case of {@code tests/conformance/*.json} (format: tests/conformance/README.md)
 * through the generated high-level client {@link Micro}, blocking and asynchronous, against the
 * reference server {@code $MICRO_GEN_BIN serve --test-hooks}: one server per (case file, mode),
 * cases in file order. Environment: {@code MICRO_GEN_BIN} (required),
 * {@code MICRO_CONFORMANCE_CASES} (the directory of case files).
 */
class ConformanceTest {
  private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");
  private static final Set<String> CLIENT_KEYS = Set.of("token", "namespace", "timeoutMs", "metadata", "headers", "retry", "tls");
  private static final Set<String> CALL_KEYS =
      Set.of("service", "method", "request", "requests", "timeoutMs", "metadata", "expect", "name", "comment");
  private static final Set<String> EXPECT_KEYS = Set.of("response", "responses", "error", "headers", "headersMatch");
  private static final Set<String> ERROR_KEYS = Set.of("code", "id", "microCode", "status", "detail", "message");

  private static String currentKey;
  private static Process currentServer;
  private static String currentAddress;

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
      JsonObject doc = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
      String service = doc.has("service") ? doc.get("service").getAsString() : "";
      for (String mode : List.of("sync", "async")) {
        List<DynamicTest> tests = new ArrayList<>();
        JsonArray cases = doc.getAsJsonArray("cases");
        for (int i = 0; i < cases.size(); i++) {
          JsonObject data = cases.get(i).getAsJsonObject();
          String name = data.has("name") ? data.get("name").getAsString() : "case " + i;
          String key = file + "|" + mode;
          tests.add(DynamicTest.dynamicTest(name + " [" + mode + "]", () -> runCase(server(key), service, data, mode)));
        }
        nodes.add(DynamicContainer.dynamicContainer(file.getFileName() + " [" + mode + "]", tests));
      }
    }
    return nodes;
  }

  @AfterAll
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
  static synchronized String server(String key) throws Exception {
    if (key.equals(currentKey)) {
      return currentAddress;
    }
    stopServer();
    String binary = System.getenv("MICRO_GEN_BIN");
    assertNotNull(binary, "MICRO_GEN_BIN is not set: it must name the micro-gen binary");
    Process process = new ProcessBuilder(binary, "serve", "--address", "127.0.0.1:0", "--test-hooks")
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

  /** Records the headers and trailers of the last call (first value of a key wins). */
  static final class Capture implements ClientInterceptor {
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

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<Q, R>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          synchronized (Capture.this) {
            values.clear();
          }
          super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<R>(listener) {
            @Override
            public void onHeaders(Metadata metadata) {
              merge(metadata);
              super.onHeaders(metadata);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
              merge(trailers);
              super.onClose(status, trailers);
            }
          }, headers);
        }
      };
    }
  }

  // --- running a case --------------------------------------------------------------------------

  static void runCase(String address, String defaultService, JsonObject data, String mode) throws Exception {
    Capture capture = new Capture();
    try (Micro micro = clientOptions(address, data, capture).connect()) {
      JsonArray calls = data.getAsJsonArray("calls");
      for (int i = 0; i < calls.size(); i++) {
        JsonObject call = calls.get(i).getAsJsonObject();
        for (String key : call.keySet()) {
          assertTrue(CALL_KEYS.contains(key), "unsupported call key " + key);
        }
        String service = call.has("service") ? call.get("service").getAsString() : defaultService;
        String method = call.get("method").getAsString();
        runCall(micro, capture, "call " + i + " (" + service + "." + method + ")", service, method, call, mode);
      }
    }
  }

  static MicroOptions.Builder clientOptions(String address, JsonObject data, Capture capture) {
    MicroOptions.Builder options = Micro.builder(address).interceptor(capture);
    JsonObject spec = data.has("client") ? data.getAsJsonObject("client") : new JsonObject();
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

  /** The method of a client taking (request, RequestOptions) for {@code rpc}, or with {@code suffix}. */
  static Method findMethod(Object client, String rpc, String suffix, int params) {
    String base = Character.toLowerCase(rpc.charAt(0)) + rpc.substring(1);
    for (String name : List.of(base + suffix, base + "_" + suffix)) {
      for (Method m : client.getClass().getMethods()) {
        if (m.getName().equals(name) && m.getParameterCount() == params
            && m.getParameterTypes()[params - 1] == RequestOptions.class) {
          return m;
        }
      }
    }
    throw new AssertionError(client.getClass().getSimpleName() + " has no method " + base + suffix + " for rpc " + rpc);
  }

  static Object fromJson(Class<?> type, String json) throws Exception {
    return type.getMethod("fromJson", String.class).invoke(null, json);
  }

  static JsonElement asJson(Object message) {
    return JsonParser.parseString(((MicroMessage) message).toJson());
  }

  static void runCall(Micro micro, Capture capture, String label, String service, String rpc, JsonObject call, String mode)
      throws Exception {
    JsonObject expect = call.has("expect") ? call.getAsJsonObject("expect") : new JsonObject();
    for (String key : expect.keySet()) {
      assertTrue(EXPECT_KEYS.contains(key), label + ": unsupported expect key " + key);
    }
    long outcomes = Stream.of("response", "responses", "error").filter(expect::has).count();
    assertEquals(1, outcomes, label + ": expect needs exactly one of response/responses/error");
    Object client = findClient(micro, service);
    Method sync = findMethod(client, rpc, "", 2);
    Class<?> input = sync.getParameterTypes()[0];
    boolean streaming = Iterator.class.isAssignableFrom(sync.getReturnType());
    assertFalse(StreamObserver.class.isAssignableFrom(sync.getReturnType()), label + ": client streams are not in the case format");
    Class<?> output = streaming
        ? (Class<?>) ((ParameterizedType) sync.getGenericReturnType()).getActualTypeArguments()[0]
        : sync.getReturnType();
    assertTrue(!call.has("requests"), label + ": 'requests' needs a client-streaming rpc");
    Object request = fromJson(input, (call.has("request") ? call.get("request") : new JsonObject()).toString());
    RequestOptions.Builder options = RequestOptions.builder();
    if (call.has("timeoutMs")) {
      options.timeout(Duration.ofMillis(call.get("timeoutMs").getAsLong()));
    }
    if (call.has("metadata")) {
      call.getAsJsonObject("metadata").entrySet().forEach(e -> options.metadata(e.getKey(), e.getValue().getAsString()));
    }

    Object result = null;
    List<Object> results = null;
    MicroException error = null;
    try {
      if (mode.equals("sync")) {
        Object outcome = invoke(sync, client, request, options.build());
        if (streaming) {
          results = new ArrayList<>();
          for (Iterator<?> it = (Iterator<?>) outcome; it.hasNext(); ) {
            results.add(it.next());
          }
        } else {
          result = outcome;
        }
      } else if (streaming) {
        Method async = findMethod(client, rpc, "Async", 3);
        CompletableFuture<List<Object>> done = new CompletableFuture<>();
        List<Object> received = new ArrayList<>();
        invoke(async, client, request, new StreamObserver<Object>() {
          @Override
          public void onNext(Object value) {
            received.add(value);
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(received);
          }
        }, options.build());
        results = unwrap(done);
      } else {
        Method async = findMethod(client, rpc, "Async", 2);
        result = unwrap((CompletableFuture<?>) invoke(async, client, request, options.build()));
      }
    } catch (MicroException e) {
      error = e;
    }

    Map<String, String> headers = capture.snapshot();
    if (expect.has("error")) {
      JsonObject want = expect.getAsJsonObject("error");
      for (String key : want.keySet()) {
        assertTrue(ERROR_KEYS.contains(key), label + ": unsupported error key " + key);
      }
      String code = want.get("code").getAsString();
      assertNotNull(error, label + ": expected " + code + ", got a response " + (results != null ? results : result));
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
      if (expect.has("response")) {
        assertNotNull(result, label + ": no response");
        JsonElement want = asJson(fromJson(output, expect.get("response").toString()));
        assertEquals(want, asJson(result), label + ": response");
      } else {
        assertNotNull(results, label + ": expected a stream of responses");
        List<JsonElement> want = new ArrayList<>();
        for (JsonElement item : expect.getAsJsonArray("responses")) {
          want.add(asJson(fromJson(output, item.toString())));
        }
        List<JsonElement> got = results.stream().map(ConformanceTest::asJson).toList();
        assertEquals(want, got, label + ": responses");
      }
    }
    if (expect.has("headers")) {
      for (Map.Entry<String, JsonElement> e : expect.getAsJsonObject("headers").entrySet()) {
        assertEquals(e.getValue().getAsString(), headers.get(e.getKey()), label + ": header " + e.getKey() + " in " + headers);
      }
    }
    if (expect.has("headersMatch")) {
      for (Map.Entry<String, JsonElement> e : expect.getAsJsonObject("headersMatch").entrySet()) {
        String got = headers.get(e.getKey());
        assertTrue(got != null && Pattern.compile(e.getValue().getAsString()).matcher(got).find(),
            label + ": header " + e.getKey() + " is " + got + ", expected a match of " + e.getValue());
      }
    }
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

  @SuppressWarnings("unchecked")
  static <T> T unwrap(CompletableFuture<?> future) throws Exception {
    try {
      return (T) future.get(120, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof MicroException cause) {
        throw cause;
      }
      throw new AssertionError("the call failed without a MicroException", e.getCause());
    }
  }
}
