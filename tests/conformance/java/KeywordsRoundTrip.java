// Round-trips the keyword fixture (keywords.proto) through the generated codec, protobuf-java's
// DynamicMessage and JSON; run by run.sh as a source-file program. Names follow protoc's Java
// code: the message `String` keeps its name (java.lang is spelled out), the nested `Builder`
// (taken by every message's builder) is `Builder_`, field accessors escape `getClass_()`.
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Int64Value;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;
import dev.micro.sdk.class_.import_.v1.PublicClient;
import dev.micro.sdk.class_.import_.v1.enum_;

public final class KeywordsRoundTrip {
  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError(what);
    }
  }

  public static void main(String[] args) throws Exception {
    dev.micro.sdk.class_.import_.v1.String s = dev.micro.sdk.class_.import_.v1.String.newBuilder()
        .setClass_("c").setInt(-7).setDescriptor_("d").setUnknownFields_("u").setBuilder("b").setMessage("m")
        .setValue("v").setSerializedSize_("z").setDefaultInstance_("i")
        .setGoto(1L << 40).setCase("case wins").setFinal(false)
        .putThis(true, enum_.null_.getNumber()).putThis(false, 99)
        .addSuper(enum_.UNRECOGNIZED_).addSuperValue(42)
        .setNew(Timestamp.newBuilder().setSeconds(1).setNanos(2).build())
        .setNative(Struct.newBuilder().putFields("k", Value.newBuilder().setBoolValue(true).build()).build())
        .setVolatile(Int64Value.of(0))
        .setWhile(dev.micro.sdk.class_.import_.v1.String.Builder_.newBuilder().setFor("f").build())
        .setThrows(dev.micro.sdk.class_.import_.v1.String.Object.OBJECT_UNSPECIFIED)
        .setVar(com.google.protobuf.ByteString.copyFromUtf8("\u0000"))
        .putRecord("n", Value.newBuilder().setNumberValue(1.5).build())
        .build();
    check(s.getSwitchCase() == dev.micro.sdk.class_.import_.v1.String.SwitchCase.CASE && !s.hasGoto(), "oneof: the last set member wins");
    check(s.hasFinal() && !s.getFinal(), "optional false is present");
    check(s.hasVolatile() && s.getVolatile().getValue() == 0, "wrapper with a default value is present");
    check(dev.micro.sdk.class_.import_.v1.String.parseFrom(s.toByteArray()).equals(s), "binary round trip");
    DynamicMessage dynamic = DynamicMessage.parseFrom(dev.micro.sdk.class_.import_.v1.String.getDescriptor(), s.toByteArray());
    check(dynamic.equals(s.toDynamic()), "protobuf-java agrees");
    check(dev.micro.sdk.class_.import_.v1.String.parseFrom(dynamic.toByteArray()).equals(s), "reads protobuf-java's bytes");
    check(dev.micro.sdk.class_.import_.v1.String.fromJson(s.toJson()).equals(s), "JSON round trip: " + s.toJson());
    check(s.getSuperList().get(1) == enum_.UNRECOGNIZED, "unknown enum number");
    check(PublicClient.SERVICE_NAME.equals("class.import.v1.public"), "service name");
    System.out.println("keywords: Java round trip ok");
  }
}
