package conformance

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	micro "github.com/micro/micro-sdk-go"
	errorspb "github.com/micro/micro-sdk-go/gen/errors"
	"github.com/micro/micro-sdk-go/gen/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fakeStore fails Read with the configured errors, in order, then succeeds; it records the
// metadata of the last call.
type fakeStore struct {
	store.UnimplementedStoreServer
	failures []error
	calls    atomic.Int32
	md       atomic.Pointer[metadata.MD]
}

func (f *fakeStore) Read(ctx context.Context, in *store.ReadRequest) (*store.ReadResponse, error) {
	n := int(f.calls.Add(1)) - 1
	md, _ := metadata.FromIncomingContext(ctx)
	f.md.Store(&md)
	if n < len(f.failures) {
		return nil, f.failures[n]
	}
	return &store.ReadResponse{Records: []*store.Record{{Key: in.GetKey()}}}, nil
}

func serve(t *testing.T, impl store.StoreServer) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	store.RegisterStoreServer(s, impl)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func unavailable() error { return status.Error(codes.Unavailable, "down") }

func TestRetriesUnavailableThenSucceeds(t *testing.T) {
	f := &fakeStore{failures: []error{unavailable(), unavailable()}}
	client, err := micro.New(serve(t, f), micro.WithToken("tok"), micro.WithNamespace("ns"), micro.WithMetadata("x-extra", "1"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	start := time.Now()
	if _, err := client.Store.Read(context.Background(), &store.ReadRequest{Key: "k"}); err != nil {
		t.Fatalf("read after two UNAVAILABLE: %v", err)
	}
	if got := f.calls.Load(); got != 3 {
		t.Fatalf("attempts: %d, expected 3", got)
	}
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Fatalf("backoff too short: %v (expected about 100 ms + 200 ms, ±20 %%)", elapsed)
	}
	md := *f.md.Load()
	want := map[string]string{"authorization": "Bearer tok", "micro-namespace": "ns", "x-extra": "1"}
	for k, v := range want {
		if got := md.Get(k); len(got) != 1 || got[0] != v {
			t.Fatalf("metadata %s: %v, expected %q", k, got, v)
		}
	}
	if ua := md.Get("user-agent"); len(ua) != 1 || !strings.HasPrefix(ua[0], "micro-sdk-go/") {
		t.Fatalf("user-agent: %v", ua)
	}
}

func TestRetryLimitAndSwitchOff(t *testing.T) {
	f := &fakeStore{failures: []error{unavailable(), unavailable(), unavailable(), unavailable()}}
	client, _ := micro.New(serve(t, f))
	defer client.Close()
	_, err := client.Store.Read(context.Background(), &store.ReadRequest{Key: "k"})
	if status.Code(err) != codes.Unavailable || f.calls.Load() != 3 {
		t.Fatalf("default policy: %v after %d attempts, expected UNAVAILABLE after 3", err, f.calls.Load())
	}
	f2 := &fakeStore{failures: []error{unavailable()}}
	off, _ := micro.New(serve(t, f2), micro.WithoutRetry())
	defer off.Close()
	if _, err := off.Store.Read(context.Background(), &store.ReadRequest{}); status.Code(err) != codes.Unavailable || f2.calls.Load() != 1 {
		t.Fatalf("WithoutRetry: %v after %d attempts", err, f2.calls.Load())
	}
	f3 := &fakeStore{failures: []error{status.Error(codes.Internal, "no")}}
	c3, _ := micro.New(serve(t, f3))
	defer c3.Close()
	if _, err := c3.Store.Read(context.Background(), &store.ReadRequest{}); status.Code(err) != codes.Internal || f3.calls.Load() != 1 {
		t.Fatalf("INTERNAL is not retried: %v after %d attempts", err, f3.calls.Load())
	}
}

func TestErrorSources(t *testing.T) {
	detailed, err := status.New(codes.NotFound, "not found").WithDetails(&errorspb.Error{Id: "store.Store.Read", Code: 404, Detail: "from detail", Status: "Not Found"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		want micro.Error
	}{
		{"status detail", detailed.Err(), micro.Error{Code: codes.NotFound, ID: "store.Store.Read", MicroCode: 404, Detail: "from detail", Status: "Not Found"}},
		{"json message", status.Error(codes.PermissionDenied, `{"id":"go.micro.auth","code":403,"detail":"denied","status":"Forbidden"}`), micro.Error{Code: codes.PermissionDenied, ID: "go.micro.auth", MicroCode: 403, Detail: "denied", Status: "Forbidden"}},
		{"plain message", status.Error(codes.InvalidArgument, "bad key"), micro.Error{Code: codes.InvalidArgument, Detail: "bad key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client, _ := micro.New(serve(t, &fakeStore{failures: []error{c.err}}))
			defer client.Close()
			_, err := client.Store.Read(context.Background(), &store.ReadRequest{})
			var me *micro.Error
			if !errors.As(err, &me) {
				t.Fatalf("%T is not *micro.Error", err)
			}
			if me.Code != c.want.Code || me.ID != c.want.ID || me.MicroCode != c.want.MicroCode || me.Detail != c.want.Detail || me.Status != c.want.Status {
				t.Fatalf("got %+v, expected %+v", *me, c.want)
			}
		})
	}
}

func TestDefaultDeadline(t *testing.T) {
	blocking := &blockingStore{}
	client, _ := micro.New(serve(t, blocking), micro.WithTimeout(150*time.Millisecond))
	defer client.Close()
	start := time.Now()
	_, err := client.Store.Read(context.Background(), &store.ReadRequest{})
	if status.Code(err) != codes.DeadlineExceeded || time.Since(start) > 5*time.Second {
		t.Fatalf("default deadline: %v after %v", err, time.Since(start))
	}
	if micro.DefaultTimeout != 30*time.Second {
		t.Fatalf("DefaultTimeout is %v", micro.DefaultTimeout)
	}
}

type blockingStore struct{ store.UnimplementedStoreServer }

func (blockingStore) Read(ctx context.Context, _ *store.ReadRequest) (*store.ReadResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
