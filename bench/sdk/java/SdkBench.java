// Per-call latency of the Java SDK's high-level client against the raw gRPC stub.
//
// High level: Micro.connect(address).store().read(request) (deadline, metadata, retry policy,
// MicroException conversion). Raw: ClientCalls.blockingUnaryCall(channel, StoreClient.METHOD_READ,
// CallOptions.DEFAULT, request) on a plain ManagedChannel, which is exactly what a protoc-generated
// StoreGrpc.newBlockingStub(channel).read(request) does (the SDK ships its method descriptors in
// StoreClient rather than a StoreGrpc class). Each has its own channel. Sequential unary calls,
// interleaved in batches (high, raw, raw, high, ...) after a warm-up batch; prints one JSON line: the
// median per-call latency of each in microseconds and the ratio high/raw. raw_deadline_us (not in
// the ratio) is the raw stub with the SDK's default 30 s deadline: the cost of having a deadline at
// all, apart from the SDK's wrapper.
//
// Usage (see bench/run.sh): java -cp SDK.jar:DEPS SdkBench.java ADDRESS [CALLS] [BATCHES]

import dev.micro.sdk.Micro;
import dev.micro.sdk.store.ReadRequest;
import dev.micro.sdk.store.ReadResponse;
import dev.micro.sdk.store.Record;
import dev.micro.sdk.store.StoreClient;
import dev.micro.sdk.store.WriteRequest;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

public final class SdkBench {
  private static final String KEY = "sdk-bench-key";

  private static double medianUs(long[] samples, int n) {
    long[] sorted = Arrays.copyOf(samples, n);
    Arrays.sort(sorted);
    return sorted[n / 2] / 1000.0;
  }

  public static void main(String[] args) throws Exception {
    String address = args[0];
    int calls = args.length > 1 ? Integer.parseInt(args[1]) : 4000;
    int batches = Math.max(1, args.length > 2 ? Integer.parseInt(args[2]) : 20);
    int perBatch = (calls + batches - 1) / batches;

    Micro micro = Micro.connect(address);
    ManagedChannel channel = ManagedChannelBuilder.forTarget(address).usePlaintext().build();
    Record record = Record.newBuilder()
        .setKey(KEY)
        .setValue(com.google.protobuf.ByteString.copyFromUtf8("v".repeat(64)))
        .build();
    ClientCalls.blockingUnaryCall(channel, StoreClient.METHOD_WRITE, CallOptions.DEFAULT,
        WriteRequest.newBuilder().setRecord(record).build());
    ReadRequest request = ReadRequest.newBuilder().setKey(KEY).build();
    StoreClient store = micro.store();

    Supplier<ReadResponse> high = () -> store.read(request);
    Supplier<ReadResponse> raw =
        () -> ClientCalls.blockingUnaryCall(channel, StoreClient.METHOD_READ, CallOptions.DEFAULT, request);

    Supplier<ReadResponse> rawDeadline = () -> ClientCalls.blockingUnaryCall(
        channel, StoreClient.METHOD_READ, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), request);
    List<Supplier<ReadResponse>> calls3 = List.of(high, raw, rawDeadline);

    long[][] samples = new long[3][perBatch * batches];
    int[] counts = new int[3];
    // Batch 0 warms all up (and the JIT) and is not recorded; a longer warm-up for the JVM.
    for (int i = 0; i < 5 * perBatch; i++) {
      for (Supplier<ReadResponse> call : calls3) {
        call.get();
      }
    }
    for (int batch = 0; batch <= batches; batch++) {
      int[] order = batch % 2 == 0 ? new int[] {0, 1, 2} : new int[] {2, 1, 0};
      for (int which : order) {
        Supplier<ReadResponse> call = calls3.get(which);
        for (int i = 0; i < perBatch; i++) {
          long t = System.nanoTime();
          ReadResponse response = call.get();
          long ns = System.nanoTime() - t;
          if (response.getRecordsList().size() != 1) {
            throw new IllegalStateException("expected one record");
          }
          if (batch > 0) {
            samples[which][counts[which]++] = ns;
          }
        }
      }
    }
    int highN = counts[0];
    double highUs = medianUs(samples[0], counts[0]);
    double rawUs = medianUs(samples[1], counts[1]);
    double rawDeadlineUs = medianUs(samples[2], counts[2]);
    System.out.printf(java.util.Locale.ROOT,
        "{\"lang\":\"java\",\"high\":\"Micro.connect(...).store().read\","
            + "\"raw\":\"ClientCalls.blockingUnaryCall(channel, METHOD_READ) (StoreGrpc blocking stub)\","
            + "\"calls\":%d,\"high_us\":%.3f,\"raw_us\":%.3f,\"raw_deadline_us\":%.3f,\"ratio\":%.4f}%n",
        highN, highUs, rawUs, rawDeadlineUs, highUs / rawUs);
    micro.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
