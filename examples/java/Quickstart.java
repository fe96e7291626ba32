// Quickstart: write, read and list records, read config, and handle a Micro error.
//
// Run with the SDK jar and its dependencies on the class path and a platform listening on
// MICRO_ADDRESS (Java 17 runs a single source file directly):
//   java -cp micro-sdk-0.1.0.jar:<dependencies> Quickstart.java
import com.google.protobuf.ByteString;
import dev.micro.sdk.Micro;
import dev.micro.sdk.MicroException;
import dev.micro.sdk.config.GetRequest;
import dev.micro.sdk.config.SetRequest;
import dev.micro.sdk.config.Value;
import dev.micro.sdk.store.ListOptions;
import dev.micro.sdk.store.ListRequest;
import dev.micro.sdk.store.ListResponse;
import dev.micro.sdk.store.ReadRequest;
import dev.micro.sdk.store.Record;
import dev.micro.sdk.store.WriteRequest;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;

public final class Quickstart {
  public static void main(String[] args) {
    String address = System.getenv().getOrDefault("MICRO_ADDRESS", "127.0.0.1:8081");
    try (Micro micro = Micro.builder(address)
        .token(System.getenv("MICRO_TOKEN"))
        .namespace(System.getenv().getOrDefault("MICRO_NAMESPACE", "micro"))
        .timeout(Duration.ofSeconds(5))
        .connect()) {
      micro.store().write(WriteRequest.newBuilder()
          .setRecord(Record.newBuilder().setKey("quickstart/greeting").setValue(ByteString.copyFromUtf8("hello")).build())
          .build());
      Record record = micro.store().read(ReadRequest.newBuilder().setKey("quickstart/greeting").build()).getRecordsList().get(0);
      System.out.println("read " + record.getKey() + " = " + record.getValue().toString(StandardCharsets.UTF_8));

      Iterator<ListResponse> pages = micro.store().list(
          ListRequest.newBuilder().setOptions(ListOptions.newBuilder().setPrefix("quickstart/").build()).build());
      while (pages.hasNext()) {
        System.out.println("listed " + String.join(", ", pages.next().getKeysList()));
      }

      micro.config().set(SetRequest.newBuilder()
          .setNamespace("quickstart").setPath("db.port").setValue(Value.newBuilder().setData("5432").build()).build());
      Value value = micro.config().getAsync(GetRequest.newBuilder().setNamespace("quickstart").setPath("db").build())
          .join().getValue();
      System.out.println("config db = " + value.getData());

      try {
        micro.store().read(ReadRequest.newBuilder().setKey("quickstart/missing").build());
        throw new IllegalStateException("expected NOT_FOUND");
      } catch (MicroException e) {
        if (e.getCode() != Status.Code.NOT_FOUND) {
          throw e;
        }
        System.out.println("missing key: " + e.getCode() + " " + e.getId() + " " + e.getMicroCode() + " " + e.getStatus());
      }
    }
  }
}
