// Round-trips a message that uses every construct of the features case through the binary
// format and protojson, and checks the high-level client's surface (run as a program in a
// module that replaces github.com/micro/micro-sdk-go with the golden output).
package main

import (
	"fmt"
	"reflect"
	"strings"

	micro "github.com/micro/micro-sdk-go"
	commonv1 "github.com/micro/micro-sdk-go/gen/acme/common/v1"
	shopv1 "github.com/micro/micro-sdk-go/gen/acme/shop/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	line := func(sku string, quantity uint32) *shopv1.Order_Line {
		return &shopv1.Order_Line{Sku: sku, Quantity: quantity, UnitPrice: &commonv1.Money{Currency: "EUR", Units: 3, Nanos: 500}}
	}
	order := &shopv1.Order{
		Id:          "o-1",
		Kind:        shopv1.Order_KIND_ONLINE,
		Lines:       []*shopv1.Order_Line{line("a", 2)},
		Counts:      map[string]int32{"a": 2},
		Payment:     &shopv1.Order_Cash{Cash: &commonv1.Money{Currency: "EUR", Units: 7}},
		Note:        proto.String("leave at door"),
		CreatedAt:   &timestamppb.Timestamp{Seconds: 1767323045},
		LinesById:   map[int64]*shopv1.Order_Line{7: line("b", 1)},
		Attachment:  []byte{0x00, 0xff},
		WeightKg:    1.5,
		Points:      -42,
		Status:      commonv1.Status_STATUS_OK,
		History:     []commonv1.Status{commonv1.Status_STATUS_OK, commonv1.Status_STATUS_FAILED},
		Constructor: "escaped",
	}
	b, err := proto.Marshal(order)
	must(err)
	back := &shopv1.Order{}
	must(proto.Unmarshal(b, back))
	if !proto.Equal(back, order) {
		panic("binary round trip")
	}
	if back.GetCash().GetUnits() != 7 || back.GetCardToken() != "" || back.GetNote() != "leave at door" {
		panic("oneof / optional getters")
	}
	j, err := protojson.Marshal(order)
	must(err)
	must(protojson.Unmarshal(j, back))
	if !proto.Equal(back, order) {
		panic("JSON round trip")
	}
	text := string(j)
	for _, want := range []string{`"kind":"KIND_ONLINE"`, `"createdAt":"2026-01-02T03:04:05Z"`, `"linesById":{"7":`} {
		if !strings.Contains(strings.ReplaceAll(text, " ", ""), want) {
			panic("JSON lacks " + want + ": " + text)
		}
	}
	if shopv1.Order_KIND_IN_STORE.String() != "KIND_IN_STORE" {
		panic("enum String")
	}
	if order.ProtoReflect().Descriptor().FullName() != "acme.shop.v1.Order" {
		panic("descriptor")
	}
	client := micro.NewWithConn(nil)
	if client.ShopService.ServiceName() != "acme.shop.v1.ShopService" {
		panic("service name")
	}
	for _, name := range []string{"GetOrder", "WatchOrders", "ImportOrders", "Chat"} {
		if !reflect.ValueOf(client.ShopService).MethodByName(name).IsValid() {
			panic("missing method " + name)
		}
	}
	fmt.Println("features: Go round trip ok")
}
