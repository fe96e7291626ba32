package conformance

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	kitchen "microgen.local/kitchen-sdk"
	kv1 "microgen.local/kitchen-sdk/gen/micro/kitchen/v1"
)

// everything is a kitchen-sink payload built the way an application writes it: every
// well-known type as google.golang.org/protobuf's own Go type, proto3 optional fields set to
// their defaults (presence kept), a oneof, maps with integer and bool keys, recursion.
func everything(t *testing.T, blob []byte) *kv1.Everything {
	packed, err := anypb.New(&kv1.Scalars{FInt64: -5, FColor: kv1.Color_COLOR_GREEN})
	if err != nil {
		t.Fatal(err)
	}
	st, err := structpb.NewStruct(map[string]any{"a": 1.5, "b": []any{true, nil, "x"}, "c": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := structpb.NewList([]any{1.0, "two"})
	if err != nil {
		t.Fatal(err)
	}
	return &kv1.Everything{
		Scalars: &kv1.Scalars{
			FDouble: math.Inf(-1), FFloat: 0.5, FInt32: math.MinInt32, FInt64: math.MinInt64, FUint32: math.MaxUint32,
			FUint64: math.MaxUint64, FSint32: -7, FSint64: math.MinInt64, FFixed32: 9, FFixed64: math.MaxUint64,
			FSfixed32: -11, FSfixed64: -12, FBool: true, FString: "héllo ✓", FBytes: blob, FColor: kv1.Color_COLOR_BLUE,
		},
		Optionals: &kv1.Optionals{OInt32: proto.Int32(0), OString: proto.String(""), OBytes: []byte{}, OMessage: &kv1.Scalars{}},
		Repeateds: &kv1.Repeateds{
			PackedSint32: []int32{-1, 1}, PackedUint64: []uint64{math.MaxUint64}, UnpackedDouble: []float64{2.5},
			UnpackedColor: []kv1.Color{kv1.Color_COLOR_RED}, Blobs: [][]byte{{1}, {}}, Messages: []*kv1.Scalars{{FInt32: 1}, {}},
		},
		Maps: &kv1.Maps{
			Int64Key: map[int64]string{math.MinInt64: "min"}, Uint64Key: map[uint64]string{math.MaxUint64: "max"},
			BoolKey: map[bool]string{true: "t", false: "f"}, Sfixed32Key: map[int32]string{-9: "j"},
			MessageValue: map[string]*kv1.Scalars{"m": {FString: "x"}}, EnumValue: map[string]kv1.Color{"e": kv1.Color_COLOR_GREEN},
			BytesValue: map[string][]byte{"b": {0xff}},
		},
		Nested: &kv1.Nested{
			Inner: &kv1.Nested_Inner{
				Deeper:  &kv1.Nested_Inner_Deeper{Leaf: "l", Level: kv1.Nested_Inner_Deeper_LEVEL_DEEPEST},
				Deepers: []*kv1.Nested_Inner_Deeper{{Leaf: "a"}, {Level: kv1.Nested_Inner_Deeper_LEVEL_DEEP}},
			},
			Level: kv1.Nested_Inner_Deeper_LEVEL_DEEP,
		},
		Choice: &kv1.Choice{Value: &kv1.Choice_Nothing{Nothing: &emptypb.Empty{}}},
		WellKnown: &kv1.WellKnown{
			Timestamp: timestamppb.New(time.Date(2024, 2, 29, 12, 34, 56, 789, time.UTC)), Duration: durationpb.New(-1500 * time.Millisecond),
			Struct: st, Value: structpb.NewNullValue(), ListValue: list, Any: packed, Empty: &emptypb.Empty{},
			FieldMask: &fieldmaskpb.FieldMask{Paths: []string{"a.b", "c_d"}}, DoubleValue: wrapperspb.Double(0),
			FloatValue: wrapperspb.Float(1.5), Int64Value: wrapperspb.Int64(-1), Uint64Value: wrapperspb.UInt64(2),
			Int32Value: wrapperspb.Int32(0), Uint32Value: wrapperspb.UInt32(4), BoolValue: wrapperspb.Bool(false),
			StringValue: wrapperspb.String(""), BytesValue: wrapperspb.Bytes(nil),
			Timestamps: []*timestamppb.Timestamp{{Seconds: 0}, {Seconds: 253402300799, Nanos: 999999999}},
			Values:     map[string]*structpb.Value{"n": structpb.NewNullValue(), "x": structpb.NewNumberValue(1.5)},
		},
		Tree: &kv1.Tree{
			Name:     "root",
			Children: []*kv1.Tree{{Name: "c1", Children: []*kv1.Tree{{Name: "c2"}}}},
			ByName:   map[string]*kv1.Tree{"k": {Name: "m", ByName: map[string]*kv1.Tree{"z": {}}}},
		},
	}
}

// TestKitchenTyped drives the kitchen-sink SDK as an application does (typed messages, no JSON,
// no reflection) against the reference server: a payload of every shape, including 4 MiB less
// framing of bytes, echoes back equal; every streaming kind; a chosen Micro error; Empty as
// request and response type.
func TestKitchenTyped(t *testing.T) {
	client, err := kitchen.New(startServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	big := make([]byte, 4*1024*1024-1024)
	for i := range big {
		big[i] = byte(i % 251)
	}
	for _, blob := range [][]byte{{0, 1, 2, 255}, big} {
		payload := everything(t, blob)
		rsp, err := client.KitchenSink.Echo(ctx, &kv1.EchoRequest{Payload: payload})
		if err != nil {
			t.Fatalf("echo (%d bytes): %v", len(blob), err)
		}
		if !proto.Equal(rsp.GetPayload(), payload) {
			t.Fatalf("echo (%d bytes) changed the payload", len(blob))
		}
		o := rsp.GetPayload().GetOptionals()
		if o.OInt32 == nil || *o.OInt32 != 0 || o.OString == nil || o.OInt64 != nil || o.OColor != nil {
			t.Fatalf("optional presence was not kept: %v", o)
		}
		var inner kv1.Scalars
		if err := rsp.GetPayload().GetWellKnown().GetAny().UnmarshalTo(&inner); err != nil || inner.GetFInt64() != -5 {
			t.Fatalf("Any: %v %v", &inner, err)
		}
	}

	stream, err := client.KitchenSink.EchoStream(ctx, &kv1.EchoRequest{Payload: everything(t, nil), Behavior: &kv1.Behavior{Repeat: 3}})
	if err != nil {
		t.Fatal(err)
	}
	var indices []uint32
	for m, err := range stream.All() {
		if err != nil {
			t.Fatal(err)
		}
		indices = append(indices, m.GetIndex())
	}
	if len(indices) != 3 || indices[0] != 0 || indices[2] != 2 {
		t.Fatalf("EchoStream indices %v", indices)
	}

	collect, err := client.KitchenSink.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if err := collect.Send(&kv1.EchoRequest{Payload: &kv1.Everything{Tree: &kv1.Tree{Name: name}}}); err != nil {
			t.Fatal(err)
		}
	}
	collected, err := collect.CloseAndRecv()
	if err != nil || collected.GetCount() != 2 || collected.GetPayloads()[1].GetTree().GetName() != "b" {
		t.Fatalf("Collect: %v %v", collected, err)
	}

	chat, err := client.KitchenSink.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := chat.Send(&kv1.EchoRequest{Payload: &kv1.Everything{Choice: &kv1.Choice{Value: &kv1.Choice_Number{Number: int64(i)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var answers []int64
	for {
		m, err := chat.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, m.GetPayload().GetChoice().GetNumber()*10+int64(m.GetIndex()))
	}
	if len(answers) != 2 || answers[0] != 0 || answers[1] != 11 {
		t.Fatalf("Chat answers %v", answers)
	}

	_, err = client.KitchenSink.Echo(ctx, &kv1.EchoRequest{Behavior: &kv1.Behavior{Fail: &kv1.Failure{
		Code: int32(codes.NotFound), Id: "kitchen.typed", MicroCode: 404, Detail: "gone", Status: "Not Found",
	}}})
	var me *kitchen.Error
	if !errors.As(err, &me) || me.Code != codes.NotFound || me.ID != "kitchen.typed" || me.MicroCode != 404 || me.Detail != "gone" {
		t.Fatalf("chosen failure: %v", err)
	}

	if _, err := client.KitchenSink.Ping(ctx, &emptypb.Empty{}); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
