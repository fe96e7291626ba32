package dev.micro.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.DoubleValue;
import com.google.protobuf.Duration;
import com.google.protobuf.Empty;
import com.google.protobuf.FieldMask;
import com.google.protobuf.Int64Value;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.StringValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;
import dev.micro.sdk.Micro;
import dev.micro.sdk.MicroException;
import dev.micro.sdk.micro.kitchen.v1.Behavior;
import dev.micro.sdk.micro.kitchen.v1.Choice;
import dev.micro.sdk.micro.kitchen.v1.CollectResponse;
import dev.micro.sdk.micro.kitchen.v1.Color;
import dev.micro.sdk.micro.kitchen.v1.EchoRequest;
import dev.micro.sdk.micro.kitchen.v1.EchoResponse;
import dev.micro.sdk.micro.kitchen.v1.Everything;
import dev.micro.sdk.micro.kitchen.v1.Failure;
import dev.micro.sdk.micro.kitchen.v1.KitchenSinkClient;
import dev.micro.sdk.micro.kitchen.v1.Maps;
import dev.micro.sdk.micro.kitchen.v1.Nested;
import dev.micro.sdk.micro.kitchen.v1.Optionals;
import dev.micro.sdk.micro.kitchen.v1.Repeateds;
import dev.micro.sdk.micro.kitchen.v1.Scalars;
import dev.micro.sdk.micro.kitchen.v1.Tree;
import dev.micro.sdk.micro.kitchen.v1.WellKnown;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Drives the kitchen-sink SDK as an application does (typed messages, no JSON, no reflection)
 * against the reference server: a payload of every shape, 4 MiB less framing of bytes included,
 * echoes back equal; every streaming kind; a chosen Micro error; Empty as request and response.
 * run.sh copies this class into the runner module built against the kitchen-sink SDK only.
 */
class KitchenTypedTest {
  @AfterAll
  static void stop() {
    ConformanceTest.stopServer();
  }

  static Everything everything(ByteString blob) {
    Scalars packed = Scalars.newBuilder().setFInt64(-5).setFColor(Color.COLOR_GREEN).build();
    Any any = Any.pack(packed.toDynamic()); // type URL type.googleapis.com/micro.kitchen.v1.Scalars
    Struct struct = Struct.newBuilder()
        .putFields("a", Value.newBuilder().setNumberValue(1.5).build())
        .putFields("b", Value.newBuilder().setListValue(ListValue.newBuilder()
            .addValues(Value.newBuilder().setBoolValue(true))
            .addValues(Value.newBuilder().setNullValue(NullValue.NULL_VALUE))).build())
        .build();
    return Everything.newBuilder()
        .setScalars(Scalars.newBuilder()
            .setFDouble(Double.NEGATIVE_INFINITY).setFFloat(0.5F).setFInt32(Integer.MIN_VALUE).setFInt64(Long.MIN_VALUE)
            .setFUint32(-1).setFUint64(-1L).setFSint32(-7).setFSint64(Long.MIN_VALUE).setFFixed64(-1L)
            .setFSfixed32(-11).setFBool(true).setFString("héllo ✓").setFBytes(blob).setFColor(Color.COLOR_BLUE)
            .build())
        .setOptionals(Optionals.newBuilder().setOInt32(0).setOString("").setOMessage(Scalars.getDefaultInstance()).build())
        .setRepeateds(Repeateds.newBuilder()
            .addPackedSint32(-1).addPackedSint32(1).addPackedUint64(-1L).addUnpackedDouble(2.5)
            .addUnpackedColor(Color.COLOR_RED).addBlobs(ByteString.copyFrom(new byte[] {1})).addBlobs(ByteString.EMPTY)
            .addMessages(Scalars.newBuilder().setFInt32(1).build()).addMessages(Scalars.getDefaultInstance())
            .build())
        .setMaps(Maps.newBuilder()
            .putInt64Key(Long.MIN_VALUE, "min").putUint64Key(-1L, "max").putBoolKey(true, "t").putBoolKey(false, "f")
            .putSfixed32Key(-9, "j").putMessageValue("m", Scalars.newBuilder().setFString("x").build())
            .putEnumValue("e", Color.COLOR_GREEN.getNumber()).putBytesValue("b", ByteString.copyFrom(new byte[] {(byte) 0xff}))
            .build())
        .setNested(Nested.newBuilder()
            .setInner(Nested.Inner.newBuilder()
                .setDeeper(Nested.Inner.Deeper.newBuilder().setLeaf("l").setLevel(Nested.Inner.Deeper.Level.LEVEL_DEEPEST).build())
                .addDeepers(Nested.Inner.Deeper.newBuilder().setLeaf("a").build())
                .build())
            .setLevel(Nested.Inner.Deeper.Level.LEVEL_DEEP)
            .build())
        .setChoice(Choice.newBuilder().setNothing(Empty.getDefaultInstance()).build())
        .setWellKnown(WellKnown.newBuilder()
            .setTimestamp(Timestamp.newBuilder().setSeconds(1709210096).setNanos(789).build())
            .setDuration(Duration.newBuilder().setSeconds(-1).setNanos(-500_000_000).build())
            .setStruct(struct)
            .setValue(Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build())
            .setListValue(ListValue.newBuilder().addValues(Value.newBuilder().setStringValue("two")).build())
            .setAny(any)
            .setEmpty(Empty.getDefaultInstance())
            .setFieldMask(FieldMask.newBuilder().addPaths("a.b").addPaths("c_d").build())
            .setDoubleValue(DoubleValue.of(0))
            .setInt64Value(Int64Value.of(-1))
            .setStringValue(StringValue.of(""))
            .addTimestamps(Timestamp.getDefaultInstance())
            .putValues("n", Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build())
            .build())
        .setTree(Tree.newBuilder()
            .setName("root")
            .addChildren(Tree.newBuilder().setName("c1").addChildren(Tree.newBuilder().setName("c2").build()).build())
            .putByName("k", Tree.newBuilder().setName("m").build())
            .build())
        .build();
  }

  static EchoRequest numbered(long n) {
    return EchoRequest.newBuilder()
        .setPayload(Everything.newBuilder().setChoice(Choice.newBuilder().setNumber(n).build()).build())
        .build();
  }

  @Test
  void typedCalls() throws Exception {
    String address = ConformanceTest.server("kitchen-typed", List.of());
    try (Micro micro = Micro.builder(address).connect()) {
      KitchenSinkClient kitchen = micro.kitchenSink();
      byte[] big = new byte[4 * 1024 * 1024 - 1024];
      for (int i = 0; i < big.length; i++) {
        big[i] = (byte) (i % 251);
      }
      for (ByteString blob : List.of(ByteString.copyFrom(new byte[] {0, 1, 2, (byte) 255}), ByteString.copyFrom(big))) {
        Everything payload = everything(blob);
        EchoResponse response = kitchen.echo(EchoRequest.newBuilder().setPayload(payload).build());
        assertEquals(payload, response.getPayload(), "echo of " + blob.size() + " bytes");
        Optionals o = response.getPayload().getOptionals();
        assertTrue(o.hasOInt32() && o.getOInt32() == 0 && o.hasOString(), "optional presence: " + o);
        assertFalse(o.hasOInt64() || o.hasOColor(), "optional presence: " + o);
        Any any = response.getPayload().getWellKnown().getAny();
        assertEquals("type.googleapis.com/micro.kitchen.v1.Scalars", any.getTypeUrl());
        assertEquals(-5, Scalars.parseFrom(any.getValue().toByteArray()).getFInt64());
        assertEquals(payload, Everything.fromJson(payload.toJson()), "JSON round trip");
      }

      Iterator<EchoResponse> stream = kitchen.echoStream(
          EchoRequest.newBuilder().setPayload(everything(ByteString.EMPTY)).setBehavior(Behavior.newBuilder().setRepeat(3).build()).build());
      List<Integer> indices = new ArrayList<>();
      stream.forEachRemaining(m -> indices.add(m.getIndex()));
      assertEquals(List.of(0, 1, 2), indices);

      CollectResponse collected = kitchen.collect(List.of(numbered(1), numbered(2)));
      assertEquals(2, collected.getCount());
      assertEquals(2, collected.getPayloadsList().get(1).getChoice().getNumber());

      CompletableFuture<List<Long>> answers = new CompletableFuture<>();
      List<Long> received = new ArrayList<>();
      StreamObserver<EchoRequest> chat = kitchen.chat(new StreamObserver<EchoResponse>() {
        @Override
        public void onNext(EchoResponse value) {
          received.add(value.getPayload().getChoice().getNumber() * 10 + value.getIndex());
        }

        @Override
        public void onError(Throwable t) {
          answers.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
          answers.complete(received);
        }
      });
      chat.onNext(numbered(0));
      chat.onNext(numbered(1));
      chat.onCompleted();
      assertEquals(List.of(0L, 11L), answers.get(30, TimeUnit.SECONDS));

      MicroException error = assertThrows(MicroException.class, () -> kitchen.echo(EchoRequest.newBuilder()
          .setBehavior(Behavior.newBuilder().setFail(Failure.newBuilder()
              .setCode(Status.Code.NOT_FOUND.value()).setId("kitchen.typed").setMicroCode(404).setDetail("gone")
              .setStatus("Not Found").build()).build())
          .build()));
      assertEquals(Status.Code.NOT_FOUND, error.getCode());
      assertEquals("kitchen.typed", error.getId());
      assertEquals(404, error.getMicroCode());
      assertEquals("gone", error.getDetail());

      assertEquals(Empty.getDefaultInstance(), kitchen.ping(Empty.getDefaultInstance()));
    }
  }
}
