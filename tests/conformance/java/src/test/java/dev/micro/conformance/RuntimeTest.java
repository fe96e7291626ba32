package dev.micro.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.micro.sdk.Micro;
import dev.micro.sdk.MicroException;
import dev.micro.sdk.RequestOptions;
import dev.micro.sdk.RetryPolicy;
import dev.micro.sdk.client.ClientClient;
import dev.micro.sdk.client.Request;
import dev.micro.sdk.client.Response;
import dev.micro.sdk.store.BlobStoreClient;
import dev.micro.sdk.store.BlobWriteRequest;
import dev.micro.sdk.store.BlobWriteResponse;
import dev.micro.sdk.store.ListRequest;
import dev.micro.sdk.store.ListResponse;
import dev.micro.sdk.store.ReadRequest;
import dev.micro.sdk.store.ReadResponse;
import dev.micro.sdk.store.Record;
import dev.micro.sdk.store.StoreClient;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The SDK runtime through the typed generated clients, against an in-process grpc-java server
 * built on the SDK's own method descriptors: retries (count, backoff bounded by the deadline,
 * off), metadata, per-call deadlines, cancellation, every streaming kind, and the three sources
 * of Micro's error fields.
 */
class RuntimeTest {
  private static Server server;
  private static String address;
  private static final AtomicInteger attempts = new AtomicInteger();
  private static volatile int failures;
  private static final Map<String, String> lastHeaders = new ConcurrentHashMap<>();
  private static final CountDownLatch cancelled = new CountDownLatch(1);

  @BeforeAll
  static void start() throws IOException {
    ServerServiceDefinition store = ServerServiceDefinition.builder(StoreClient.SERVICE_NAME)
        .addMethod(StoreClient.METHOD_READ, ServerCalls.asyncUnaryCall(RuntimeTest::read))
        .addMethod(StoreClient.METHOD_LIST, ServerCalls.asyncServerStreamingCall(
            (ListRequest request, StreamObserver<ListResponse> out) -> {
              for (int i = 0; i < 3; i++) {
                out.onNext(ListResponse.newBuilder().addKeys(request.getOptions().getPrefix() + i).build());
              }
              out.onCompleted();
            }))
        .build();
    ServerServiceDefinition blobs = ServerServiceDefinition.builder(BlobStoreClient.SERVICE_NAME)
        .addMethod(BlobStoreClient.METHOD_WRITE, ServerCalls.asyncClientStreamingCall(
            (StreamObserver<BlobWriteResponse> out) -> new StreamObserver<BlobWriteRequest>() {
              private final ByteArrayOutputStream data = new ByteArrayOutputStream();
              private String key = "";

              @Override
              public void onNext(BlobWriteRequest value) {
                key = key.isEmpty() ? value.getKey() : key;
                data.writeBytes(value.getBlob().toByteArray());
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                if (data.size() == 0) {
                  out.onError(Status.INVALID_ARGUMENT.withDescription("no data").asRuntimeException());
                  return;
                }
                lastHeaders.put("blob", key + "=" + data);
                out.onNext(BlobWriteResponse.getDefaultInstance());
                out.onCompleted();
              }
            }))
        .build();
    ServerServiceDefinition client = ServerServiceDefinition.builder(ClientClient.SERVICE_NAME)
        .addMethod(ClientClient.METHOD_STREAM, ServerCalls.asyncBidiStreamingCall(
            (StreamObserver<Response> out) -> new StreamObserver<Request>() {
              @Override
              public void onNext(Request value) {
                out.onNext(Response.newBuilder().setBody(ByteString.copyFromUtf8(value.getEndpoint().toUpperCase())).build());
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                out.onCompleted();
              }
            }))
        .build();
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        lastHeaders.clear();
        for (String key : headers.keys()) {
          if (!key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
            lastHeaders.put(key, headers.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER)));
          }
        }
        return next.startCall(call, headers);
      }
    };
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(store, capture))
        .addService(ServerInterceptors.intercept(blobs, capture))
        .addService(ServerInterceptors.intercept(client, capture))
        .build()
        .start();
    address = "127.0.0.1:" + server.getPort();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void reset() {
    attempts.set(0);
    failures = 0;
  }

  /** Read: fails with UNAVAILABLE `failures` times, then answers; key "slow" waits; "error-*" fail. */
  private static void read(ReadRequest request, StreamObserver<ReadResponse> out) {
    int attempt = attempts.incrementAndGet();
    String key = request.getKey();
    if (attempt <= failures) {
      out.onError(Status.UNAVAILABLE.withDescription("try again").asRuntimeException());
      return;
    }
    switch (key) {
      case "slow" -> {
        io.grpc.Context.current().addListener(c -> cancelled.countDown(), Runnable::run);
        return; // never answers
      }
      case "error-details" -> {
        Metadata trailers = new Metadata();
        trailers.put(Metadata.Key.of("grpc-status-details-bin", Metadata.BINARY_BYTE_MARSHALLER), details());
        out.onError(Status.NOT_FOUND.withDescription("not found").asRuntimeException(trailers));
        return;
      }
      case "error-json" -> {
        out.onError(Status.NOT_FOUND
            .withDescription("{\"id\":\"x.y\",\"code\":404,\"detail\":\"gone\",\"status\":\"Not Found\"}")
            .asRuntimeException());
        return;
      }
      case "error-plain" -> {
        out.onError(Status.PERMISSION_DENIED.withDescription("nope").asRuntimeException());
        return;
      }
      default -> { }
    }
    out.onNext(ReadResponse.newBuilder()
        .addRecords(Record.newBuilder().setKey(key).setValue(ByteString.copyFromUtf8("attempt " + attempt)).build())
        .build());
    out.onCompleted();
  }

  /** google.rpc.Status{code=5, message, details=[Any{errors.Error{id, code, detail, status}}]}, by hand. */
  private static byte[] details() {
    try {
      ByteArrayOutputStream error = new ByteArrayOutputStream();
      CodedOutputStream e = CodedOutputStream.newInstance(error);
      e.writeString(1, "store.Store.Read");
      e.writeInt32(2, 404);
      e.writeString(3, "record not found");
      e.writeString(4, "Not Found");
      e.flush();
      ByteArrayOutputStream any = new ByteArrayOutputStream();
      CodedOutputStream a = CodedOutputStream.newInstance(any);
      a.writeString(1, "type.googleapis.com/errors.Error");
      a.writeByteArray(2, error.toByteArray());
      a.flush();
      ByteArrayOutputStream status = new ByteArrayOutputStream();
      CodedOutputStream s = CodedOutputStream.newInstance(status);
      s.writeInt32(1, 5);
      s.writeString(2, "not found");
      s.writeByteArray(3, any.toByteArray());
      s.flush();
      return status.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ReadRequest key(String key) {
    return ReadRequest.newBuilder().setKey(key).build();
  }

  private static Micro micro(RetryPolicy retry) {
    return Micro.builder(address).retry(retry).connect();
  }

  @Test
  void unaryCallsAreRetriedOnUnavailable() {
    failures = 2;
    try (Micro micro = micro(RetryPolicy.DEFAULT.withInitialBackoff(Duration.ofMillis(5)))) {
      ReadResponse response = micro.store().read(key("k"));
      assertEquals("attempt 3", response.getRecordsList().get(0).getValue().toStringUtf8());
      assertEquals(3, attempts.get());
    }
  }

  @Test
  void asyncUnaryCallsAreRetriedToo() throws Exception {
    failures = 2;
    try (Micro micro = micro(RetryPolicy.DEFAULT.withInitialBackoff(Duration.ofMillis(5)))) {
      ReadResponse response = micro.store().readAsync(key("k")).get(10, TimeUnit.SECONDS);
      assertEquals("attempt 3", response.getRecordsList().get(0).getValue().toStringUtf8());
    }
  }

  @Test
  void retriesStopAfterMaxRetriesOrWhenOff() {
    failures = 10;
    try (Micro micro = micro(RetryPolicy.DEFAULT.withInitialBackoff(Duration.ofMillis(1)))) {
      MicroException e = assertThrows(MicroException.class, () -> micro.store().read(key("k")));
      assertEquals(Status.Code.UNAVAILABLE, e.getCode());
      assertEquals("try again", e.getDetail());
      assertEquals(3, attempts.get());
    }
    attempts.set(0);
    try (Micro micro = micro(null)) {
      assertThrows(MicroException.class, () -> micro.store().read(key("k")));
      assertEquals(1, attempts.get());
    }
  }

  @Test
  void backoffNeverPassesTheDeadline() {
    failures = 10;
    RetryPolicy slow = RetryPolicy.DEFAULT.withMaxRetries(5).withInitialBackoff(Duration.ofSeconds(2)).withJitter(0);
    try (Micro micro = micro(slow)) {
      long start = System.nanoTime();
      MicroException e = assertThrows(MicroException.class,
          () -> micro.store().read(key("k"), RequestOptions.builder().timeout(Duration.ofMillis(500)).build()));
      assertEquals(Status.Code.UNAVAILABLE, e.getCode());
      assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(1500), "gave up at the deadline");
      assertEquals(1, attempts.get());
    }
  }

  @Test
  void backoffGrowsWithJitterUpToTheMaximum() {
    RetryPolicy p = RetryPolicy.DEFAULT;
    for (int i = 0; i < 100; i++) {
      long first = p.backoffMillis(0, Status.Code.UNAVAILABLE);
      long second = p.backoffMillis(1, Status.Code.UNAVAILABLE);
      assertTrue(first >= 80 && first <= 120, "first " + first);
      assertTrue(second >= 160 && second <= 240, "second " + second);
    }
    assertEquals(-1, p.backoffMillis(2, Status.Code.UNAVAILABLE));
    assertEquals(-1, p.backoffMillis(0, Status.Code.INTERNAL));
    assertEquals(5000, p.withJitter(0).withMaxRetries(20).backoffMillis(10, Status.Code.UNAVAILABLE));
  }

  @Test
  void deadlinesAndCancellation() throws Exception {
    try (Micro micro = Micro.builder(address).timeout(Duration.ofMillis(200)).connect()) {
      MicroException e = assertThrows(MicroException.class, () -> micro.store().read(key("slow")));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getCode());
      e = assertThrows(MicroException.class,
          () -> micro.store().read(key("slow"), RequestOptions.builder().timeout(Duration.ofMillis(50)).build()));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getCode());
      CompletableFuture<ReadResponse> pending =
          micro.store().readAsync(key("slow"), RequestOptions.builder().timeout(Duration.ZERO).build());
      Thread.sleep(100);
      assertTrue(pending.cancel(true));
      assertTrue(cancelled.await(5, TimeUnit.SECONDS), "the server saw the cancellation");
    }
  }

  @Test
  void metadataTokenNamespaceAndUserAgent() {
    try (Micro micro = Micro.builder(address).token("t0k").namespace("ns1").metadata("x-extra", "1").connect()) {
      micro.store().read(key("k"));
      assertEquals("Bearer t0k", lastHeaders.get("authorization"));
      assertEquals("ns1", lastHeaders.get("micro-namespace"));
      assertEquals("1", lastHeaders.get("x-extra"));
      assertTrue(lastHeaders.get("user-agent").startsWith("micro-sdk-java/"), lastHeaders.get("user-agent"));
      micro.store().read(key("k"), RequestOptions.builder().metadata("x-extra", "2").metadata("X-Call", "c").build());
      assertEquals("2", lastHeaders.get("x-extra"));
      assertEquals("c", lastHeaders.get("x-call"));
    }
    try (Micro micro = Micro.connect(address)) {
      micro.store().read(key("k"), RequestOptions.builder().metadata("authorization", "Basic abc").build());
      assertEquals("Basic abc", lastHeaders.get("authorization"));
    }
  }

  @Test
  void tlsFollowsTheAddressUnlessForced() {
    // The test server is plaintext: TLS on means the handshake fails.
    try (Micro micro = Micro.builder("https://" + address).retry(null).connect()) {
      MicroException e = assertThrows(MicroException.class, () -> micro.store().read(key("k")));
      assertEquals(Status.Code.UNAVAILABLE, e.getCode());
    }
    try (Micro micro = Micro.builder("https://" + address).tls(false).connect()) {
      assertEquals("k", micro.store().read(key("k")).getRecordsList().get(0).getKey());
    }
    try (Micro micro = Micro.builder("http://" + address).connect()) {
      assertEquals("k", micro.store().read(key("k")).getRecordsList().get(0).getKey());
    }
  }

  @Test
  void microErrorFieldsFromDetailsJsonOrMessage() {
    try (Micro micro = micro(null)) {
      MicroException e = assertThrows(MicroException.class, () -> micro.store().read(key("error-details")));
      assertEquals(List.of(Status.Code.NOT_FOUND, "store.Store.Read", 404, "record not found", "Not Found"),
          List.of(e.getCode(), e.getId(), e.getMicroCode(), e.getDetail(), e.getStatus()));
      e = assertThrows(MicroException.class, () -> micro.store().read(key("error-json")));
      assertEquals(List.of(Status.Code.NOT_FOUND, "x.y", 404, "gone", "Not Found"),
          List.of(e.getCode(), e.getId(), e.getMicroCode(), e.getDetail(), e.getStatus()));
      e = assertThrows(MicroException.class, () -> micro.store().read(key("error-plain")));
      assertEquals(List.of(Status.Code.PERMISSION_DENIED, "", 0, "nope", ""),
          List.of(e.getCode(), e.getId(), e.getMicroCode(), e.getDetail(), e.getStatus()));
      ExecutionException async = assertThrows(ExecutionException.class,
          () -> micro.store().readAsync(key("error-json")).get(10, TimeUnit.SECONDS));
      assertEquals("gone", assertInstanceOf(MicroException.class, async.getCause()).getDetail());
    }
  }

  @Test
  void everyStreamingKind() throws Exception {
    try (Micro micro = micro(null)) {
      List<String> keys = new ArrayList<>();
      ListRequest list = ListRequest.newBuilder()
          .setOptions(dev.micro.sdk.store.ListOptions.newBuilder().setPrefix("p").build()).build();
      for (Iterator<ListResponse> it = micro.store().list(list); it.hasNext(); ) {
        keys.addAll(it.next().getKeysList());
      }
      assertEquals(List.of("p0", "p1", "p2"), keys);

      CompletableFuture<List<String>> streamed = new CompletableFuture<>();
      List<String> got = new ArrayList<>();
      micro.store().listAsync(list, new StreamObserver<ListResponse>() {
        @Override
        public void onNext(ListResponse value) {
          got.addAll(value.getKeysList());
        }

        @Override
        public void onError(Throwable t) {
          streamed.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
          streamed.complete(got);
        }
      });
      assertEquals(List.of("p0", "p1", "p2"), streamed.get(10, TimeUnit.SECONDS));

      micro.blobStore().write(List.of(
          BlobWriteRequest.newBuilder().setKey("b").setBlob(ByteString.copyFromUtf8("he")).build(),
          BlobWriteRequest.newBuilder().setBlob(ByteString.copyFromUtf8("llo")).build()));
      assertEquals("b=hello", lastHeaders.get("blob"));
      MicroException e = assertThrows(MicroException.class, () -> micro.blobStore().write(List.of()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getCode());

      CompletableFuture<List<String>> replies = new CompletableFuture<>();
      List<String> bodies = new ArrayList<>();
      StreamObserver<Request> requests = micro.client().stream(new StreamObserver<Response>() {
        @Override
        public void onNext(Response value) {
          bodies.add(value.getBody().toStringUtf8());
        }

        @Override
        public void onError(Throwable t) {
          replies.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
          replies.complete(bodies);
        }
      });
      requests.onNext(Request.newBuilder().setEndpoint("a").build());
      requests.onNext(Request.newBuilder().setEndpoint("b").build());
      requests.onCompleted();
      assertEquals(List.of("A", "B"), replies.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void messagesAreImmutableValuesWithBinaryAndJsonForms() throws Exception {
    Record record = Record.newBuilder().setKey("k").setValue(ByteString.copyFromUtf8("v")).setExpiry(60).build();
    assertEquals(record, Record.parseFrom(record.toByteArray()));
    assertEquals(record, Record.fromJson(record.toJson()));
    assertEquals(record.hashCode(), record.toBuilder().build().hashCode());
    assertEquals("k2", record.toBuilder().setKey("k2").build().getKey());
    assertEquals("k", record.getKey());
    ReadResponse response = ReadResponse.newBuilder().addRecords(record).build();
    assertThrows(UnsupportedOperationException.class, () -> response.getRecordsList().add(record));
    assertTrue(record.toString().contains("key: \"k\""), record.toString());
    // Unknown fields survive a round trip through an older message.
    byte[] withUnknown = com.google.protobuf.UnknownFieldSet.newBuilder()
        .addField(99, com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(7).build())
        .build().toByteArray();
    ByteArrayOutputStream joined = new ByteArrayOutputStream();
    joined.write(record.toByteArray());
    joined.write(withUnknown);
    Record newer = Record.parseFrom(joined.toByteArray());
    assertEquals(joined.size(), newer.toByteArray().length);
    assertTrue(!newer.equals(record), "unknown fields take part in equality");
  }
}
