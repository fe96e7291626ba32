// Command names round-trips messages of the Go keyword-torture SDK (tests/protos/names/go,
// module microgen.local/names-go) and of the coverage SDK (tests/protos/coverage, module
// microgen.local/coverage-go) through every rpc kind of their high-level clients against
// `micro-gen serve --echo-unknown`, which answers each call with the last request it received.
// It checks that what comes back equals what was sent (keyword-named fields, oneof members,
// map entries, nested messages, keyword enum values, the names micro-gen escapes where
// protoc-gen-go's would not compile), proto2 defaults and required fields, and proto3 presence.
//
//	names -addr 127.0.0.1:PORT
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	coverage "microgen.local/coverage-go"
	commonv1 "microgen.local/coverage-go/gen/coverage/common/v1"
	legacyv1 "microgen.local/coverage-go/gen/coverage/legacy/v1"
	shopv1 "microgen.local/coverage-go/gen/coverage/shop/v1"
	names "microgen.local/names-go"
	selectpb "microgen.local/names-go/gen/go/select"
	initpb "microgen.local/names-go/gen/init"
	mainpb "microgen.local/names-go/gen/main"
	chanpb "microgen.local/names-go/gen/type/chan"
)

var calls int

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go names: "+format+"\n", args...)
	os.Exit(1)
}

// echoed checks one call: no error, and the echo equals what was sent.
func echoed(what string, sent, got proto.Message, err error) {
	if err != nil {
		fail("%s: %v", what, err)
	}
	if !proto.Equal(sent, got) {
		fail("%s: echoed %v, sent %v", what, got, sent)
	}
	calls++
}

func main() {
	addr := flag.String("addr", "", "host:port of micro-gen serve --echo-unknown")
	flag.Parse()
	if *addr == "" {
		fail("-addr is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	torture(ctx, "http://"+*addr)
	covered(ctx, "http://"+*addr)
	fmt.Printf("go names: %d echoed calls ok\n", calls)
}

// tortureStreams calls a server-streaming, a client-streaming and a bidi rpc of the torture
// SDK with in; the client stream first sends a different message (the echo is the last one).
func tortureStreams[T any, PT interface {
	*T
	proto.Message
}](ctx context.Context, what string, in PT,
	server func(context.Context, *T, ...names.CallOption) (*names.Stream[T], error),
	client func(context.Context, ...names.CallOption) (*names.ClientStream[T, T], error),
	bidi func(context.Context, ...names.CallOption) (*names.BidiStream[T, T], error),
) {
	ss, err := server(ctx, in)
	if err != nil {
		fail("%s server stream: %v", what, err)
	}
	n := 0
	for got, err := range ss.All() {
		echoed(what+" server stream", in, PT(got), err)
		n++
	}
	if n != 1 {
		fail("%s server stream: %d messages, want 1", what, n)
	}
	cs, err := client(ctx)
	if err != nil {
		fail("%s client stream: %v", what, err)
	}
	if err := cs.Send(new(T)); err != nil {
		fail("%s client stream send: %v", what, err)
	}
	if err := cs.Send(in); err != nil {
		fail("%s client stream send: %v", what, err)
	}
	got, err := cs.CloseAndRecv()
	echoed(what+" client stream", in, PT(got), err)
	bs, err := bidi(ctx)
	if err != nil {
		fail("%s bidi: %v", what, err)
	}
	if err := bs.Send(in); err != nil {
		fail("%s bidi send: %v", what, err)
	}
	if err := bs.CloseSend(); err != nil {
		fail("%s bidi close: %v", what, err)
	}
	got, err = bs.Recv()
	echoed(what+" bidi", in, PT(got), err)
	if _, err := bs.Recv(); !errors.Is(err, io.EOF) {
		fail("%s bidi: after the echo got %v, want io.EOF", what, err)
	}
}

func torture(ctx context.Context, addr string) {
	c, err := names.New(addr)
	if err != nil {
		fail("names.New: %v", err)
	}
	defer func() { _ = c.Close() }()

	legacy := &chanpb.Legacy{
		FooBar:   proto.String("foo_bar"),
		FooBar_:  proto.String("Foo_bar"),
		Required: proto.Int32(0),
		Select:   &chanpb.Legacy_Defer{Defer: chanpb.Legacy_false},
		Result:   &chanpb.Legacy_Result{Reset_: proto.String("reset")},
		Ints:     []int32{1, -1},
		Loose:    []int32{2},
	}
	// proto2 defaults on fields whose Go names are escaped, read through the getters.
	if legacy.GetString_() != "s\"tr" || legacy.GetNil() != chanpb.Legacy_true || legacy.GetType() != chanpb.Type_func ||
		!bytesEqual(legacy.GetBytes(), []byte("\x01\x02z")) || !math.IsInf(legacy.GetFloat64(), 1) || !legacy.GetBool() {
		fail("legacy defaults: %v %v %v %q %v %v", legacy.GetString_(), legacy.GetNil(), legacy.GetType(),
			legacy.GetBytes(), legacy.GetFloat64(), legacy.GetBool())
	}
	if legacy.String_ != nil || legacy.Nil != nil {
		fail("legacy: unset optional fields are not nil")
	}
	if _, err := proto.Marshal(&chanpb.Legacy{}); err == nil {
		fail("legacy: marshalling without the required field succeeded")
	}

	ch := &chanpb.Chan{
		Type:   "type",
		Func:   -7,
		Go:     true,
		Select: []string{"select", ""},
		Map:    map[string]int64{"map": -1, "": math.MaxInt64},
		Interface: &chanpb.Chan_Struct_Interface{
			Map: &chanpb.Chan_Struct_Interface_Map{
				Range:  chanpb.Chan_Struct_Interface_Map_break,
				Goto:   "goto",
				Ranges: []chanpb.Chan_Struct_Interface_Map_Range{chanpb.Chan_Struct_Interface_Map_fallthrough, chanpb.Chan_Struct_Interface_Map_continue},
			},
			Defer: "defer",
		},
		Switch:               &chanpb.Chan_Struct_{Struct: &chanpb.Chan_Struct{Return: "return"}},
		Var:                  proto.String(""),
		XVar_:                "x_var",
		Reset_:               "reset",
		String_:              "string",
		Descriptor_:          "descriptor",
		ProtoMessage_:        "proto_message",
		Marshal_:             "marshal",
		Unmarshal_:           "unmarshal",
		ExtensionRangeArray_: "extension_range_array",
		ExtensionMap_:        "extension_map",
		X:                    "x",
		GetX_:                "get_x",
		GetY:                 "get_y",
		Y_:                   "y",
		Nil:                  []byte{0, 0xff},
		Iota:                 math.MaxUint64,
		Time:                 timestamppb.New(time.Unix(1700000000, 5)),
		Const:                map[int32]*chanpb.Chan_Struct{-1: {Return: "const"}},
		Range:                map[bool]chanpb.Type{true: chanpb.Type_chan, false: chanpb.Type_iota},
		Kinds:                map[uint64]chanpb.Chan_Kind{1: chanpb.Chan_import, 2: chanpb.Chan_fallthrough},
		Ranges:               []chanpb.Chan_Struct_Interface_Map_Range{chanpb.Chan_Struct_Interface_Map_break},
		Error:                durationpb.New(1500 * time.Millisecond),
		If:                   "if",
		Select2:              &chanpb.Chan_Chan{Chan: &chanpb.Chan_Struct2{Value: &chanpb.Chan_Struct2FooBar{FooBar: 3}}},
		Children:             map[string]*chanpb.Chan{"child": {Type: "child", Switch: &chanpb.Chan_Default{Default: chanpb.Type_select}}},
		Packed:               []int32{-1, 2, -3},
		Unpacked:             []int64{-5, 6},
		XUnderscore:          "_underscore",
		Any:                  "any",
	}
	if ch.GetVar() != "" || ch.Var == nil {
		fail("proto3 optional var: presence lost")
	}
	sel := &selectpb.Select{
		Chan:    ch,
		Types:   []chanpb.Type{chanpb.Type_func, chanpb.Type_String, chanpb.Type_default, chanpb.Type_nil},
		ByName:  map[string]*chanpb.Chan_Struct{"k": {Return: "v"}},
		Func:    &selectpb.Select_Kind{Kind: chanpb.Chan_package},
		Legacy:  legacy,
		String_: "string",
		Nested:  &selectpb.SelectFooBar{Type: "type"},
	}

	got, err := c.Go.Type(ctx, sel)
	echoed("Go.Type", sel, got, err)
	if got.GetChan().GetSwitch().(*chanpb.Chan_Struct_).Struct.GetReturn() != "return" || got.GetLegacy().GetDefer() != chanpb.Legacy_false {
		fail("Go.Type: oneof members lost")
	}
	tortureStreams(ctx, "Go", sel, c.Go.Func, c.Go.Chan, c.Go.Select)
	for what, call := range map[string]func(context.Context, *selectpb.Select, ...names.CallOption) (*selectpb.Select, error){
		"Go.String": c.Go.String, "Go.Raw_": c.Go.Raw_, "Go.ServiceName_": c.Go.ServiceName_, "Go.Interface": c.Go.Interface,
		"Client.Close": c.Client.Close, "Client.Conn": c.Client.Conn, "Stream.Error": c.Stream.Error, "Error.Option": c.Error.Option,
	} {
		got, err := call(ctx, sel)
		echoed(what, sel, got, err)
	}
	if c.Go.ServiceName() != "go.select.Go" || c.Error.ServiceName() != "go.select.error" {
		fail("ServiceName: %q %q", c.Go.ServiceName(), c.Error.ServiceName())
	}
	bs, err := c.Client.Raw_(ctx)
	if err != nil {
		fail("Client.Raw_: %v", err)
	}
	if err := bs.Send(sel); err != nil {
		fail("Client.Raw_ send: %v", err)
	}
	_ = bs.CloseSend()
	got, err = bs.Recv()
	echoed("Client.Raw_ bidi", sel, got, err)

	gotChan, err := c.Chan2.Make(ctx, ch)
	echoed("Chan2.Make", ch, gotChan, err)
	tortureStreams(ctx, "Chan2", ch, c.Chan2.New, c.Chan2.Close, c.Chan2.Recover)

	// The names micro-gen gives where protoc-gen-go's output would not compile.
	req := &mainpb.Request{
		ProtoReflect_: "proto_reflect",
		Switch:        &mainpb.Request_B{B: -2},
		GetSwitch_:    &mainpb.Request_C{C: "c"},
		Init:          &initpb.Init{Main: "main", Init: []string{"init"}},
		Kind:          mainpb.Kind_name_,
		Then:          &mainpb.PromiseThen_{Value: "Promise.then"},
		PromiseThen:   &mainpb.PromiseThen{Value: "Promise_then"},
	}
	if mainpb.Kind_name[int32(mainpb.Kind_value_)] != "value" || mainpb.Kind_value["name"] != int32(mainpb.Kind_name_) {
		fail("Kind maps: %v %v", mainpb.Kind_name, mainpb.Kind_value)
	}
	gotReq, err := c.Main.Close(ctx, req)
	echoed("Main.Close", req, gotReq, err)
	gotReq, err = c.Main.Close_(ctx, req)
	echoed("Main.Close_ (rpc close)", req, gotReq, err)
	gotReq, err = c.Main.MarshalJSON_(ctx, req)
	echoed("Main.MarshalJSON_ (rpc MarshalJSON)", req, gotReq, err)
	gotReq, err = c.MainService.Get(ctx, req)
	echoed("MainService.Get (service main)", req, gotReq, err)
	tortureStreams(ctx, "Main", req, c.Main.Watch, c.Main.Upload, c.Main.Chat)
	if c.MainService.ServiceName() != "go.main.main" {
		fail("service main: %q", c.MainService.ServiceName())
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// coverageStreams is tortureStreams for the coverage SDK (another module, other stream types).
func coverageStreams[T any, PT interface {
	*T
	proto.Message
}](ctx context.Context, what string, in PT,
	server func(context.Context, *T, ...coverage.CallOption) (*coverage.Stream[T], error),
	client func(context.Context, ...coverage.CallOption) (*coverage.ClientStream[T, T], error),
	bidi func(context.Context, ...coverage.CallOption) (*coverage.BidiStream[T, T], error),
) {
	ss, err := server(ctx, in)
	if err != nil {
		fail("%s server stream: %v", what, err)
	}
	n := 0
	for got, err := range ss.All() {
		echoed(what+" server stream", in, PT(got), err)
		n++
	}
	if n != 1 {
		fail("%s server stream: %d messages, want 1", what, n)
	}
	cs, err := client(ctx)
	if err != nil {
		fail("%s client stream: %v", what, err)
	}
	if err := cs.Send(in); err != nil {
		fail("%s client stream send: %v", what, err)
	}
	got, err := cs.CloseAndRecv()
	echoed(what+" client stream", in, PT(got), err)
	bs, err := bidi(ctx)
	if err != nil {
		fail("%s bidi: %v", what, err)
	}
	if err := bs.Send(in); err != nil {
		fail("%s bidi send: %v", what, err)
	}
	if err := bs.CloseSend(); err != nil {
		fail("%s bidi close: %v", what, err)
	}
	got, err = bs.Recv()
	echoed(what+" bidi", in, PT(got), err)
}

func covered(ctx context.Context, addr string) {
	c, err := coverage.New(addr)
	if err != nil {
		fail("coverage.New: %v", err)
	}
	defer func() { _ = c.Close() }()

	rec := &legacyv1.Record{Id: proto.String("r1"), Revision: proto.Int32(0), Packed: []int32{1, 2}, Unpacked: []int32{-3}}
	// proto2: required fields, [default = ...] read through getters while the fields stay unset.
	if _, err := proto.Marshal(&legacyv1.Record{Revision: proto.Int32(1)}); err == nil {
		fail("record: marshalling without the required id succeeded")
	}
	if rec.FDouble != nil || rec.GetFDouble() != 1.5 || rec.GetFFloat() != -2.25 || rec.GetFInt32() != -7 ||
		rec.GetFInt64() != 9007199254740993 || rec.GetFUint32() != 4000000000 || rec.GetFUint64() != math.MaxUint64 ||
		rec.GetFSint32() != -32 || rec.GetFSint64() != -64 || rec.GetFFixed32() != 32 || rec.GetFFixed64() != 64 ||
		rec.GetFSfixed32() != -320 || rec.GetFSfixed64() != -640 || !rec.GetFBool() || rec.GetFString() != "h\"i\\\n\u00e9" ||
		!bytesEqual(rec.GetFBytes(), []byte("\x00\x01\xffz")) || rec.GetStatus() != legacyv1.Status_STATUS_SOLD_OUT ||
		!math.IsInf(rec.GetFInf(), 1) || !math.IsNaN(float64(rec.GetFNan())) || rec.GetPlain() != "" ||
		rec.GetLevel1().GetLevel2().GetLevel3().GetDepth() != legacyv1.Record_Level1_Level2_Level3_DEPTH_FOUR {
		fail("record defaults: %v", rec)
	}
	rec.FBool = proto.Bool(false)
	rec.Status = legacyv1.Status_STATUS_IN_STOCK.Enum()
	rec.Audit = &legacyv1.Record_Audit{By: proto.String("by"), At: proto.Int64(-1)}
	rec.Level1 = &legacyv1.Record_Level1{Level2: &legacyv1.Record_Level1_Level2{Level3: &legacyv1.Record_Level1_Level2_Level3{Leaf: proto.String("leaf")}}}
	rec.Choice = &legacyv1.Record_Number{Number: 0}
	rec.Notes = map[string]*commonv1.Note{"n": {Text: "note", Kind: commonv1.Note_Kind(1), Severity: commonv1.Severity_SEVERITY_HIGH}}
	got, err := c.Legacy.Put(ctx, rec)
	echoed("Legacy.Put", rec, got, err)
	if got.FBool == nil || got.GetFBool() || got.FDouble != nil || got.GetFDouble() != 1.5 || got.GetNumber() != 0 ||
		got.GetLevel1().GetLevel2().GetLevel3().GetDepth() != legacyv1.Record_Level1_Level2_Level3_DEPTH_FOUR {
		fail("Legacy.Put: presence or defaults lost: %v", got)
	}
	coverageStreams(ctx, "Legacy", rec, c.Legacy.Scan, c.Legacy.Load, c.Legacy.Sync)

	st, _ := structpb.NewStruct(map[string]any{"a": 1.5, "b": []any{"x", true, nil}})
	val := structpb.NewStringValue("v")
	list, _ := structpb.NewList([]any{1.0, "two"})
	anyMsg, _ := anypb.New(&commonv1.Money{Currency: "EUR", Units: 1, Nanos: 5})
	item := &shopv1.Item{
		Id:       "item",
		Label:    proto.String(""),
		Stock:    proto.Int64(0),
		Price:    &commonv1.Money{Currency: "USD", Units: -1, Nanos: -500000000},
		Record:   rec,
		Pick:     &shopv1.Item_Level{Level: commonv1.Severity_SEVERITY_UNSPECIFIED},
		MInt32:   map[int32]string{math.MinInt32: "min"},
		MInt64:   map[int64]string{math.MaxInt64: "max"},
		MUint32:  map[uint32]string{math.MaxUint32: "u32"},
		MUint64:  map[uint64]string{math.MaxUint64: "u64"},
		MSint32:  map[int32]string{-1: "s32"},
		MSint64:  map[int64]string{-2: "s64"},
		MFixed32: map[uint32]string{3: "f32"}, MFixed64: map[uint64]string{4: "f64"},
		MSfixed32: map[int32]string{-5: "sf32"}, MSfixed64: map[int64]string{-6: "sf64"},
		MBool:      map[bool]string{true: "t", false: "f"},
		MString:    map[string]string{"": "empty", "é": "utf8"},
		MMessage:   map[string]*commonv1.Money{"m": {Currency: "JPY"}},
		MEnum:      map[string]commonv1.Severity{"e": commonv1.Severity_SEVERITY_LOW},
		MBytes:     map[string][]byte{"b": {0, 1, 2}},
		Packed:     []int64{1, -1},
		Unpacked:   []int64{2, -2},
		Children:   []*shopv1.Item{{Id: "child"}},
		Severities: []commonv1.Severity{commonv1.Severity_SEVERITY_HIGH},
		Created:    timestamppb.New(time.Unix(0, 1)),
		Ttl:        durationpb.New(-time.Second),
		Attributes: st,
		Value:      val,
		List:       list,
		Any:        anyMsg,
		Mask:       &fieldmaskpb.FieldMask{Paths: []string{"a.b", "c"}},
		Empty:      &emptypb.Empty{},
		WDouble:    wrapperspb.Double(0), WFloat: wrapperspb.Float(1.5), WInt64: wrapperspb.Int64(-1),
		WUint64: wrapperspb.UInt64(1), WInt32: wrapperspb.Int32(0), WUint32: wrapperspb.UInt32(2),
		WBool: wrapperspb.Bool(false), WString: wrapperspb.String(""), WBytes: wrapperspb.Bytes(nil),
	}
	gotItem, err := c.Shop.Put(ctx, item)
	echoed("Shop.Put", item, gotItem, err)
	// proto3 presence: optional fields set to zero values stay set; unset ones stay unset.
	if gotItem.Label == nil || gotItem.Stock == nil || gotItem.Severity != nil || gotItem.GetPick() == nil ||
		gotItem.GetWBool() == nil || gotItem.GetWString() == nil {
		fail("Shop.Put: presence lost: %v", gotItem)
	}
	coverageStreams(ctx, "Shop", item, c.Shop.Watch, c.Shop.Upload, c.Shop.Exchange)
	note := &commonv1.Note{Text: "note", Severity: commonv1.Severity_SEVERITY_LOW}
	gotNote, err := c.Admin.Annotate(ctx, note)
	echoed("Admin.Annotate", note, gotNote, err)
	coverageStreams(ctx, "Admin", note, c.Admin.Tail, c.Admin.Gather, c.Admin.Relay)
	gotEmpty, err := c.Admin.Ping(ctx, &emptypb.Empty{})
	echoed("Admin.Ping", &emptypb.Empty{}, gotEmpty, err)
}
