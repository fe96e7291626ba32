// Per-call latency of the Go SDK's high-level client (micro.New(...).Store.Read) against the
// raw generated stub (storepb.NewStoreClient(conn).Read), each on its own connection to the
// server at ADDRESS. Sequential unary calls, interleaved in batches (high, raw, raw,
// high, ...) after a warm-up batch; prints one JSON line: the median per-call latency of each in
// microseconds and the ratio high/raw. raw_deadline_us (not in the ratio) is the raw stub with
// the SDK's default 30 s deadline: the cost of having a deadline at all, apart from the wrapper.
// Run by bench/run.sh:
//
//	go run . ADDRESS [CALLS] [BATCHES]
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"time"

	micro "github.com/micro/micro-sdk-go"
	storepb "github.com/micro/micro-sdk-go/gen/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const key = "sdk-bench-key"

func argInt(i int, def int) int {
	if len(os.Args) > i {
		if v, err := strconv.Atoi(os.Args[i]); err == nil && v > 0 {
			return v
		}
	}
	return def
}

func median(samples []time.Duration) float64 {
	slices.Sort(samples)
	return float64(samples[len(samples)/2].Nanoseconds()) / 1000
}

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: go run . ADDRESS [CALLS] [BATCHES]")
	}
	address := os.Args[1]
	calls := argInt(2, 4000)
	batches := argInt(3, 20)
	perBatch := (calls + batches - 1) / batches

	client, err := micro.New(address)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	raw := storepb.NewStoreClient(conn)
	ctx := context.Background()
	record := &storepb.Record{Key: key, Value: []byte("vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv")}
	if _, err := raw.Write(ctx, &storepb.WriteRequest{Record: record}); err != nil {
		log.Fatal(err)
	}
	request := &storepb.ReadRequest{Key: key}
	high := func() error {
		r, err := client.Store.Read(ctx, request)
		if err == nil && len(r.Records) != 1 {
			err = fmt.Errorf("%d records", len(r.Records))
		}
		return err
	}
	rawCall := func() error {
		r, err := raw.Read(ctx, request)
		if err == nil && len(r.Records) != 1 {
			err = fmt.Errorf("%d records", len(r.Records))
		}
		return err
	}
	rawDeadline := func() error {
		callCtx, cancel := context.WithTimeout(ctx, micro.DefaultTimeout)
		defer cancel()
		r, err := raw.Read(callCtx, request)
		if err == nil && len(r.Records) != 1 {
			err = fmt.Errorf("%d records", len(r.Records))
		}
		return err
	}
	calls3 := []func() error{high, rawCall, rawDeadline}
	samples := make([][]time.Duration, 3)
	for batch := 0; batch <= batches; batch++ { // batch 0 warms all up and is not recorded
		order := []int{0, 1, 2}
		if batch%2 == 1 {
			order = []int{2, 1, 0}
		}
		for _, which := range order {
			call, out := calls3[which], &samples[which]
			for i := 0; i < perBatch; i++ {
				start := time.Now()
				if err := call(); err != nil {
					log.Fatal(err)
				}
				if batch > 0 {
					*out = append(*out, time.Since(start))
				}
			}
		}
	}
	highSamples := samples[0]
	highUs, rawUs := median(samples[0]), median(samples[1])
	line, _ := json.Marshal(map[string]any{
		"lang": "go", "high": "micro.New(...).Store.Read", "raw": "storepb.NewStoreClient(conn).Read",
		"calls": len(highSamples), "high_us": highUs, "raw_us": rawUs, "raw_deadline_us": median(samples[2]), "ratio": highUs / rawUs,
	})
	fmt.Println(string(line))
}
