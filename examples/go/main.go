// Quickstart: write, read and list records, read config, and handle a Micro error.
//
// Run inside a module that requires github.com/micro/micro-sdk-go, with a platform listening on
// MICRO_ADDRESS (default 127.0.0.1:8081).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	micro "github.com/micro/micro-sdk-go"
	"github.com/micro/micro-sdk-go/gen/config"
	"github.com/micro/micro-sdk-go/gen/store"
	"google.golang.org/grpc/codes"
)

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func main() {
	opts := []micro.Option{micro.WithNamespace(getenv("MICRO_NAMESPACE", "micro")), micro.WithTimeout(5 * time.Second)}
	if token := os.Getenv("MICRO_TOKEN"); token != "" {
		opts = append(opts, micro.WithToken(token))
	}
	client, err := micro.New(getenv("MICRO_ADDRESS", "127.0.0.1:8081"), opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	if _, err := client.Store.Write(ctx, &store.WriteRequest{Record: &store.Record{Key: "quickstart/greeting", Value: []byte("hello")}}); err != nil {
		log.Fatal(err)
	}
	rsp, err := client.Store.Read(ctx, &store.ReadRequest{Key: "quickstart/greeting"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read %s = %s\n", rsp.GetRecords()[0].GetKey(), rsp.GetRecords()[0].GetValue())

	pages, err := client.Store.List(ctx, &store.ListRequest{Options: &store.ListOptions{Prefix: "quickstart/"}})
	if err != nil {
		log.Fatal(err)
	}
	for page, err := range pages.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("listed %v\n", page.GetKeys())
	}

	if _, err := client.Config.Set(ctx, &config.SetRequest{Namespace: "quickstart", Path: "db.port", Value: &config.Value{Data: "5432"}}); err != nil {
		log.Fatal(err)
	}
	value, err := client.Config.Get(ctx, &config.GetRequest{Namespace: "quickstart", Path: "db"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("config db = %s\n", value.GetValue().GetData())

	_, err = client.Store.Read(ctx, &store.ReadRequest{Key: "quickstart/missing"})
	var me *micro.Error
	if !errors.As(err, &me) || me.Code != codes.NotFound {
		log.Fatalf("expected NOT_FOUND, got %v", err)
	}
	fmt.Printf("missing key: %s %s %d %s\n", me.Code, me.ID, me.MicroCode, me.Status)
}
