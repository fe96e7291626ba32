package conformance

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	micro "github.com/micro/micro-sdk-go"
	"github.com/micro/micro-sdk-go/gen/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestTypedUsage drives the SDK the way an application does (no reflection): unary calls, a
// server stream read with Recv and with range over All, *micro.Error with errors.As, a deadline.
func TestTypedUsage(t *testing.T) {
	client, err := micro.New(startServer(t), micro.WithNamespace("typed"), micro.WithToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	for _, key := range []string{"a", "b"} {
		if _, err := client.Store.Write(ctx, &store.WriteRequest{Record: &store.Record{Key: key, Value: []byte(key)}}); err != nil {
			t.Fatal(err)
		}
	}
	rsp, err := client.Store.Read(ctx, &store.ReadRequest{Key: "a"})
	if err != nil || len(rsp.GetRecords()) != 1 || string(rsp.GetRecords()[0].GetValue()) != "a" {
		t.Fatalf("read: %v %v", rsp, err)
	}
	if _, err := protojson.Marshal(rsp); err != nil {
		t.Fatal(err)
	}

	stream, err := client.Store.List(ctx, &store.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var recvKeys []string
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recvKeys = append(recvKeys, m.GetKeys()...)
	}
	stream, err = client.Store.List(ctx, &store.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var iterKeys []string
	for m, err := range stream.All() {
		if err != nil {
			t.Fatal(err)
		}
		iterKeys = append(iterKeys, m.GetKeys()...)
	}
	if len(recvKeys) != 2 || len(iterKeys) != 2 {
		t.Fatalf("list: Recv %v, All %v", recvKeys, iterKeys)
	}

	_, err = client.Store.Read(ctx, &store.ReadRequest{Key: "missing"})
	var me *micro.Error
	if !errors.As(err, &me) || me.Code != codes.NotFound || status.Code(err) != codes.NotFound {
		t.Fatalf("missing key: %v", err)
	}

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = client.Store.Read(short, &store.ReadRequest{Key: "a"}, micro.CallMetadata("x-micro-test-delay-ms", "1000"))
	if !errors.As(err, &me) || me.Code != codes.DeadlineExceeded {
		t.Fatalf("deadline: %v", err)
	}
}
