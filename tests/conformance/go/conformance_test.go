// Conformance runner for the generated Go SDK (sdks/go, module github.com/micro/micro-sdk-go).
//
// Runs every case of tests/conformance/*.json (format: tests/conformance/README.md) through the
// high-level client (micro.New), dispatching by service full name (the accessor whose
// ServiceName() matches) and method name, with requests and responses in proto3 JSON
// (protojson). One `$MICRO_GEN_BIN serve --test-hooks` per case file. Environment:
// MICRO_GEN_BIN (required), MICRO_CONFORMANCE_CASES (optional directory of case files).
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	micro "github.com/micro/micro-sdk-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

type caseFile struct {
	Service string     `json:"service"`
	Cases   []caseSpec `json:"cases"`
}

type caseSpec struct {
	Name    string      `json:"name"`
	Comment string      `json:"comment"`
	Client  *clientSpec `json:"client"`
	Calls   []callSpec  `json:"calls"`
}

type clientSpec struct {
	Token     *string           `json:"token"`
	Namespace *string           `json:"namespace"`
	TimeoutMs *int64            `json:"timeoutMs"`
	Metadata  map[string]string `json:"metadata"`
	Headers   map[string]string `json:"headers"`
	TLS       *bool             `json:"tls"`
	Retry     json.RawMessage   `json:"retry"`
}

type callSpec struct {
	Name      string            `json:"name"`
	Comment   string            `json:"comment"`
	Service   string            `json:"service"`
	Method    string            `json:"method"`
	Request   json.RawMessage   `json:"request"`
	Requests  []json.RawMessage `json:"requests"`
	TimeoutMs *int64            `json:"timeoutMs"`
	Metadata  map[string]string `json:"metadata"`
	Expect    expectSpec        `json:"expect"`
}

type expectSpec struct {
	Response     json.RawMessage   `json:"response"`
	Responses    []json.RawMessage `json:"responses"`
	Error        *errorSpec        `json:"error"`
	Headers      map[string]string `json:"headers"`
	HeadersMatch map[string]string `json:"headersMatch"`
}

type errorSpec struct {
	Code      string  `json:"code"`
	ID        *string `json:"id"`
	MicroCode *int32  `json:"microCode"`
	Status    *string `json:"status"`
	Detail    *string `json:"detail"`
	Message   *string `json:"message"`
}

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
	codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
	codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func caseFiles(t *testing.T) []string {
	dir := os.Getenv("MICRO_CONFORMANCE_CASES")
	if dir == "" {
		dir = ".."
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files in %s (%v)", dir, err)
	}
	sort.Strings(files)
	return files
}

var listening = regexp.MustCompile(`listening on (\S+)`)

// startServer runs `$MICRO_GEN_BIN serve --address 127.0.0.1:0 --test-hooks` until the test ends.
func startServer(t *testing.T) string {
	bin := os.Getenv("MICRO_GEN_BIN")
	if bin == "" {
		t.Fatal("MICRO_GEN_BIN is not set: it must name the micro-gen binary")
	}
	cmd := exec.Command(bin, "serve", "--address", "127.0.0.1:0", "--test-hooks")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		sent := false
		for scanner.Scan() {
			if m := listening.FindStringSubmatch(scanner.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case address := <-found:
		return address
	case <-time.After(60 * time.Second):
		t.Fatal("the server printed no 'listening on HOST:PORT' line within 60 s")
	}
	return ""
}

func TestConformance(t *testing.T) {
	total := 0
	for _, path := range caseFiles(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var file caseFile
		if err := decodeStrict(raw, &file); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		total += len(file.Cases)
		t.Run(filepath.Base(path), func(t *testing.T) {
			address := startServer(t)
			for i, c := range file.Cases {
				name := c.Name
				if name == "" {
					name = fmt.Sprintf("case %d", i)
				}
				t.Run(name, func(t *testing.T) { runCase(t, address, file.Service, c) })
			}
		})
	}
	t.Logf("%d cases", total)
}

func clientOptions(t *testing.T, spec *clientSpec) []micro.Option {
	var opts []micro.Option
	if spec == nil {
		return opts
	}
	if spec.Token != nil {
		opts = append(opts, micro.WithToken(*spec.Token))
	}
	if spec.Namespace != nil {
		opts = append(opts, micro.WithNamespace(*spec.Namespace))
	}
	if spec.TimeoutMs != nil {
		opts = append(opts, micro.WithTimeout(time.Duration(*spec.TimeoutMs)*time.Millisecond))
	}
	if spec.TLS != nil {
		opts = append(opts, micro.WithTLS(*spec.TLS))
	}
	for _, md := range []map[string]string{spec.Metadata, spec.Headers} {
		for k, v := range md {
			opts = append(opts, micro.WithMetadata(k, v))
		}
	}
	if len(spec.Retry) > 0 {
		if string(spec.Retry) == "false" || string(spec.Retry) == "null" {
			opts = append(opts, micro.WithoutRetry())
		} else {
			var r struct {
				MaxRetries       *int     `json:"maxRetries"`
				InitialBackoffMs *int64   `json:"initialBackoffMs"`
				MaxBackoffMs     *int64   `json:"maxBackoffMs"`
				Multiplier       *float64 `json:"multiplier"`
				Jitter           *float64 `json:"jitter"`
				RetryableCodes   []string `json:"retryableCodes"`
			}
			if err := decodeStrict(spec.Retry, &r); err != nil {
				t.Fatalf("retry option: %v", err)
			}
			p := micro.DefaultRetryPolicy()
			if r.MaxRetries != nil {
				p.MaxRetries = *r.MaxRetries
			}
			if r.InitialBackoffMs != nil {
				p.InitialBackoff = time.Duration(*r.InitialBackoffMs) * time.Millisecond
			}
			if r.MaxBackoffMs != nil {
				p.MaxBackoff = time.Duration(*r.MaxBackoffMs) * time.Millisecond
			}
			if r.Multiplier != nil {
				p.Multiplier = *r.Multiplier
			}
			if r.Jitter != nil {
				p.Jitter = *r.Jitter
			}
			if r.RetryableCodes != nil {
				p.RetryableCodes = nil
				for _, name := range r.RetryableCodes {
					p.RetryableCodes = append(p.RetryableCodes, codeByName(t, name))
				}
			}
			opts = append(opts, micro.WithRetry(p))
		}
	}
	return opts
}

func codeByName(t *testing.T, name string) codes.Code {
	for c, n := range codeNames {
		if n == name {
			return c
		}
	}
	t.Fatalf("unknown status code %q", name)
	return 0
}

// serviceClient is the accessor field of client whose ServiceName() is service.
func serviceClient(t *testing.T, client *micro.Client, service string) reflect.Value {
	v := reflect.ValueOf(client).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || f.Kind() != reflect.Pointer {
			continue
		}
		if m := f.MethodByName("ServiceName"); m.IsValid() && m.Call(nil)[0].String() == service {
			return f
		}
	}
	t.Fatalf("micro.Client has no client with ServiceName %q", service)
	return reflect.Value{}
}

// goName is protoc-gen-go-grpc's method name (GoCamelCase of the rpc name).
func goName(method string) string {
	var b strings.Builder
	upper := true
	for _, r := range method {
		if r == '_' {
			upper = true
			continue
		}
		if upper && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		upper = false
		b.WriteRune(r)
	}
	return b.String()
}

func newMessage(t *testing.T, ptrType reflect.Type, raw json.RawMessage) proto.Message {
	m, ok := reflect.New(ptrType.Elem()).Interface().(proto.Message)
	if !ok {
		t.Fatalf("%s is not a proto.Message", ptrType)
	}
	if len(raw) > 0 {
		if err := protojson.Unmarshal(raw, m); err != nil {
			t.Fatalf("request %s: %v", raw, err)
		}
	}
	return m
}

// canonical is a message as proto3 JSON, decoded for comparison.
func canonical(t *testing.T, m proto.Message) any {
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func runCase(t *testing.T, address, fileService string, c caseSpec) {
	client, err := micro.New(address, clientOptions(t, c.Client)...)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for i, call := range c.Calls {
		service := call.Service
		if service == "" {
			service = fileService
		}
		label := fmt.Sprintf("call %d (%s.%s)", i, service, call.Method)
		outcomes := 0
		for _, set := range []bool{len(call.Expect.Response) > 0, call.Expect.Responses != nil, call.Expect.Error != nil} {
			if set {
				outcomes++
			}
		}
		if outcomes != 1 {
			t.Fatalf("%s: expect needs exactly one of response/responses/error", label)
		}
		runCall(t, client, label, service, call)
	}
}

func runCall(t *testing.T, client *micro.Client, label, service string, call callSpec) {
	method := serviceClient(t, client, service).MethodByName(goName(call.Method))
	if !method.IsValid() {
		t.Fatalf("%s: no method %s", label, goName(call.Method))
	}
	ctx := context.Background()
	if call.TimeoutMs != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*call.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	var header, trailer metadata.MD
	opts := []micro.CallOption{micro.Header(&header), micro.Trailer(&trailer)}
	for k, v := range call.Metadata {
		opts = append(opts, micro.CallMetadata(k, v))
	}
	args := []reflect.Value{reflect.ValueOf(ctx)}
	mt := method.Type()
	streamingRequests := mt.NumIn() == 2 // (ctx, ...CallOption): client-streaming or bidi
	if !streamingRequests {
		args = append(args, reflect.ValueOf(newMessage(t, mt.In(1), call.Request)))
	}
	for _, o := range opts {
		args = append(args, reflect.ValueOf(o))
	}
	out := method.Call(args)
	var responses []proto.Message
	var callErr error
	if e, _ := out[1].Interface().(error); e != nil {
		callErr = e
	} else {
		result := out[0]
		if m, ok := result.Interface().(proto.Message); ok {
			responses = append(responses, m)
		} else {
			if streamingRequests {
				reqs := call.Requests
				if reqs == nil {
					reqs = []json.RawMessage{call.Request}
				}
				send := result.MethodByName("Send")
				for _, r := range reqs {
					res := send.Call([]reflect.Value{reflect.ValueOf(newMessage(t, send.Type().In(0), r))})
					if e, _ := res[0].Interface().(error); e != nil {
						break
					}
				}
			}
			if cr := result.MethodByName("CloseAndRecv"); cr.IsValid() {
				res := cr.Call(nil)
				if e, _ := res[1].Interface().(error); e != nil {
					callErr = e
				} else {
					responses = append(responses, res[0].Interface().(proto.Message))
				}
			} else {
				if cs := result.MethodByName("CloseSend"); cs.IsValid() {
					cs.Call(nil)
				}
				recv := result.MethodByName("Recv")
				for {
					res := recv.Call(nil)
					e, _ := res[1].Interface().(error)
					if e == io.EOF {
						break
					}
					if e != nil {
						callErr = e
						break
					}
					responses = append(responses, res[0].Interface().(proto.Message))
				}
			}
			if h := result.MethodByName("Header"); h.IsValid() {
				if md, ok := h.Call(nil)[0].Interface().(metadata.MD); ok {
					header = metadata.Join(header, md)
				}
			}
			trailer = metadata.Join(trailer, result.MethodByName("Trailer").Call(nil)[0].Interface().(metadata.MD))
		}
	}
	expect := call.Expect
	got := metadata.Join(header, trailer)
	if expect.Error != nil {
		want := expect.Error
		if callErr == nil {
			t.Fatalf("%s: expected %s, got responses %v", label, want.Code, responses)
		}
		var me *micro.Error
		if !errors.As(callErr, &me) {
			t.Fatalf("%s: error %v (%T) is not a *micro.Error", label, callErr, callErr)
		}
		if codeNames[me.Code] != want.Code {
			t.Fatalf("%s: code %s, expected %s (%v)", label, codeNames[me.Code], want.Code, me)
		}
		check := func(what string, got, want any) {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: error %s %#v, expected %#v (%v)", label, what, got, want, me)
			}
		}
		if want.ID != nil {
			check("id", me.ID, *want.ID)
		}
		if want.MicroCode != nil {
			check("microCode", me.MicroCode, *want.MicroCode)
		}
		if want.Status != nil {
			check("status", me.Status, *want.Status)
		}
		if want.Detail != nil {
			check("detail", me.Detail, *want.Detail)
		}
		if want.Message != nil {
			check("message", me.Message, *want.Message)
		}
		got = metadata.Join(got, me.Header, me.Trailer)
	} else {
		if callErr != nil {
			t.Fatalf("%s: unexpected error %v", label, callErr)
		}
		if len(expect.Response) > 0 {
			if len(responses) != 1 {
				t.Fatalf("%s: expected one response, got %d", label, len(responses))
			}
			want := canonical(t, newMessage(t, reflect.TypeOf(responses[0]), expect.Response))
			if g := canonical(t, responses[0]); !reflect.DeepEqual(g, want) {
				t.Fatalf("%s: response %v, expected %v", label, g, want)
			}
		} else {
			var gotAll, wantAll []any
			for _, m := range responses {
				gotAll = append(gotAll, canonical(t, m))
			}
			for _, raw := range expect.Responses {
				// The stream's message type: the Recv result type of the stream.
				wantAll = append(wantAll, canonical(t, newMessage(t, streamType(method), raw)))
			}
			if len(gotAll) != len(wantAll) || (len(gotAll) > 0 && !reflect.DeepEqual(gotAll, wantAll)) {
				t.Fatalf("%s: responses %v, expected %v", label, gotAll, wantAll)
			}
		}
	}
	for k, want := range expect.Headers {
		if v := got.Get(k); len(v) == 0 || v[0] != want {
			t.Fatalf("%s: header %q is %v, expected %q", label, k, v, want)
		}
	}
	for k, pattern := range expect.HeadersMatch {
		v := got.Get(k)
		if len(v) == 0 || !regexp.MustCompile(pattern).MatchString(v[0]) {
			t.Fatalf("%s: header %q is %v, expected a match of %q", label, k, v, pattern)
		}
	}
}

// streamType is *Resp for a method returning (*micro.Stream[Resp], error) or a bidi stream.
func streamType(method reflect.Value) reflect.Type {
	recv, ok := method.Type().Out(0).MethodByName("Recv")
	if !ok {
		panic("no Recv")
	}
	return recv.Type.Out(0)
}
