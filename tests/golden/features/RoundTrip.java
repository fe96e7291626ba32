// Round-trips a message that uses every construct of the features case through binary and JSON
// (run by tests/golden/check.sh against expected/java).
import com.google.protobuf.ByteString;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Timestamp;
import dev.micro.sdk.acme.common.v1.Money;
import dev.micro.sdk.acme.common.v1.Status;
import dev.micro.sdk.acme.shop.v1.Order;
import dev.micro.sdk.acme.shop.v1.ShopServiceClient;
import java.util.Arrays;
import java.util.List;

public final class RoundTrip {
  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError(what);
    }
  }

  public static void main(String[] args) throws Exception {
    Order order = Order.newBuilder()
        .setId("o-1")
        .setKind(Order.Kind.KIND_ONLINE)
        .addLines(Order.Line.newBuilder().setSku("a").setQuantity(2)
            .setUnitPrice(Money.newBuilder().setCurrency("EUR").setUnits(3).setNanos(500).build()).build())
        .putCounts("a", 2)
        .setCardToken("tok")
        .setCash(Money.newBuilder().setCurrency("EUR").setUnits(7).build())
        .setNote("leave at door")
        .setCreatedAt(Timestamp.newBuilder().setSeconds(1767323045).build())
        .putLinesById(7L, Order.Line.newBuilder().setSku("b").setQuantity(1).build())
        .setAttachment(ByteString.copyFrom(new byte[] {0, (byte) 0xff}))
        .setWeightKg(1.5)
        .setPoints(-42)
        .setStatus(Status.STATUS_OK)
        .addHistory(Status.STATUS_OK)
        .addHistory(Status.STATUS_FAILED)
        .setConstructor("escaped")
        .build();
    check(order.getPaymentCase() == Order.PaymentCase.CASH, "oneof case");
    check(order.getCardToken().isEmpty(), "setting cash clears card_token");
    check(order.hasNote() && !Order.getDefaultInstance().hasNote(), "optional presence");
    Order back = Order.parseFrom(order.toByteArray());
    check(back.equals(order) && back.hashCode() == order.hashCode(), "binary round trip");
    // The generated codec agrees with protobuf-java's own (DynamicMessage on the same descriptor).
    DynamicMessage dynamic = DynamicMessage.parseFrom(Order.getDescriptor(), order.toByteArray());
    check(dynamic.equals(order.toDynamic()), "protobuf-java reads what the codec writes");
    check(Order.parseFrom(order.toDynamic().toByteArray()).equals(order), "the codec reads what protobuf-java writes");
    check(order.getSerializedSize() == order.toDynamic().getSerializedSize(), "same size as protobuf-java");
    // A message field that occurs twice is merged (field 6 = cash: currency, then units).
    byte[] twice = {0x32, 0x05, 0x0a, 0x03, 'E', 'U', 'R', 0x32, 0x02, 0x10, 0x07};
    check(Order.parseFrom(twice).getCash().equals(Money.newBuilder().setCurrency("EUR").setUnits(7).build()), "merge");
    // Unpacked repeated enums (as proto2 peers write them) are read too.
    byte[] unpacked = {(byte) 0x78, 1, (byte) 0x78, 2};
    check(Order.parseFrom(unpacked).getHistoryList().equals(List.of(Status.STATUS_OK, Status.STATUS_FAILED)), "unpacked");
    String json = order.toJson();
    check(json.contains("\"kind\": \"KIND_ONLINE\""), "enum as name: " + json);
    check(json.contains("\"units\": \"7\""), "int64 as string: " + json);
    check(json.contains("\"createdAt\": \"2026-01-02T03:04:05Z\""), "timestamp: " + json);
    check(json.contains("\"7\": {"), "map with an int64 key: " + json);
    check(Order.fromJson(json).equals(order), "JSON round trip");
    check(back.getHistoryList().equals(List.of(Status.STATUS_OK, Status.STATUS_FAILED)), "repeated enum");
    check(back.getLinesByIdMap().get(7L).getSku().equals("b"), "message map");
    check(Order.newBuilder().setKindValue(42).build().getKind() == Order.Kind.UNRECOGNIZED, "open enum");
    check(Order.parseFrom(Order.newBuilder().setKindValue(42).build().toByteArray()).getKindValue() == 42, "unknown enum number kept");
    check(ShopServiceClient.SERVICE_NAME.equals("acme.shop.v1.ShopService"), "service name");
    List<String> methods = Arrays.stream(ShopServiceClient.class.getDeclaredMethods()).map(m -> m.getName()).toList();
    for (String m : List.of("getOrder", "getOrderAsync", "watchOrders", "watchOrdersAsync", "importOrders", "chat")) {
      check(methods.contains(m), "client method " + m);
    }
    check(ShopServiceClient.class.isAnnotationPresent(Deprecated.class)
        || ShopServiceClient.class.getMethod("chat", io.grpc.stub.StreamObserver.class).isAnnotationPresent(Deprecated.class),
        "deprecated rpc");
    System.out.println("features: Java round trip ok");
  }
}
