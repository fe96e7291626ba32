// Round-trips the keyword fixture (keywords.proto) through the generated codec, protobuf-java's
// DynamicMessage and JSON; run by run.sh as a source-file program.
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Int64Value;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;
import dev.micro.sdk.class_.import_.v1.PublicClient;
import dev.micro.sdk.class_.import_.v1.String_;
import dev.micro.sdk.class_.import_.v1.enum_;

public final class KeywordsRoundTrip {
  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError(what);
    }
  }

  public static void main(String[] args) throws Exception {
    String_ s = String_.newBuilder()
        .setClass_("c").setInt(-7).setDescriptor_("d").setUnknownFields_("u").setBuilder("b").setMessage("m")
        .setValue("v").setSerializedSize_("z").setDefaultInstance_("i")
        .setGoto(1L << 40).setCase("case wins").setFinal(false)
        .putThis(true, enum_.null_.getNumber()).putThis(false, 99)
        .addSuper(enum_.UNRECOGNIZED_).addSuperValue(42)
        .setNew(Timestamp.newBuilder().setSeconds(1).setNanos(2).build())
        .setNative(Struct.newBuilder().putFields("k", Value.newBuilder().setBoolValue(true).build()).build())
        .setVolatile(Int64Value.of(0))
        .setWhile(String_.Builder_.newBuilder().setFor("f").build())
        .setThrows(String_.Object_.OBJECT_UNSPECIFIED)
        .setVar(com.google.protobuf.ByteString.copyFromUtf8("\u0000"))
        .putRecord("n", Value.newBuilder().setNumberValue(1.5).build())
        .build();
    check(s.getSwitchCase() == String_.SwitchCase.CASE && !s.hasGoto(), "oneof: the last set member wins");
    check(s.hasFinal() && !s.getFinal(), "optional false is present");
    check(s.hasVolatile() && s.getVolatile().getValue() == 0, "wrapper with a default value is present");
    check(String_.parseFrom(s.toByteArray()).equals(s), "binary round trip");
    DynamicMessage dynamic = DynamicMessage.parseFrom(String_.getDescriptor(), s.toByteArray());
    check(dynamic.equals(s.toDynamic()), "protobuf-java agrees");
    check(String_.parseFrom(dynamic.toByteArray()).equals(s), "reads protobuf-java's bytes");
    check(String_.fromJson(s.toJson()).equals(s), "JSON round trip: " + s.toJson());
    check(s.getSuperList().get(1) == enum_.UNRECOGNIZED, "unknown enum number");
    check(PublicClient.SERVICE_NAME.equals("class.import.v1.public"), "service name");
    System.out.println("keywords: Java round trip ok");
  }
}
