// Conformance runner for the generated Go SDKs: the core SDK (sdks/go, module
// github.com/micro/micro-sdk-go) and the kitchen-sink SDK that run.sh generates from
// tests/protos/kitchen (module microgen.local/kitchen-sdk, for case files with "sdk": "kitchen").
//
// Runs every case of tests/conformance/*.json (format, extensions included:
// tests/conformance/README.md) through the high-level client (micro.New), dispatching by service
// full name (the accessor whose ServiceName() matches) and method name, with requests and
// responses in proto3 JSON (protojson). One `$MICRO_GEN_BIN serve --test-hooks [server.args]` per
// case file. Environment: MICRO_GEN_BIN (required), MICRO_CONFORMANCE_CASES (optional directory
// of case files), CONFORMANCE_RESULTS (optional: directory where go.json, the per-group results,
// is written).
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
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
	"strconv"
	"strings"
	"testing"
	"time"

	micro "github.com/micro/micro-sdk-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	kitchen "microgen.local/kitchen-sdk"
)

type caseFile struct {
	Service string      `json:"service"`
	SDK     string      `json:"sdk"`
	Server  *serverSpec `json:"server"`
	Comment string      `json:"comment"`
	Cases   []caseSpec  `json:"cases"`
}

type serverSpec struct {
	Args []string `json:"args"`
}

type caseSpec struct {
	Name    string          `json:"name"`
	Comment string          `json:"comment"`
	Client  json.RawMessage `json:"client"`
	Calls   []callSpec      `json:"calls"`
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

type retrySpec struct {
	MaxRetries       *int     `json:"maxRetries"`
	InitialBackoffMs *int64   `json:"initialBackoffMs"`
	MaxBackoffMs     *int64   `json:"maxBackoffMs"`
	Multiplier       *float64 `json:"multiplier"`
	Jitter           *float64 `json:"jitter"`
	RetryableCodes   []string `json:"retryableCodes"`
}

type callSpec struct {
	Name          string            `json:"name"`
	Comment       string            `json:"comment"`
	Service       string            `json:"service"`
	Method        string            `json:"method"`
	Request       json.RawMessage   `json:"request"`
	Requests      []json.RawMessage `json:"requests"`
	TimeoutMs     *int64            `json:"timeoutMs"`
	Metadata      map[string]string `json:"metadata"`
	Parallel      bool              `json:"parallel"`
	Take          *int              `json:"take"`
	CancelAfterMs *int64            `json:"cancelAfterMs"`
	Save          map[string]string `json:"save"`
	Expect        json.RawMessage   `json:"expect"` // an expectSpec, before substitution
}

type expectSpec struct {
	Response          json.RawMessage   `json:"response"`
	Responses         []json.RawMessage `json:"responses"`
	ResponseIncludes  json.RawMessage   `json:"responseIncludes"`
	ResponsesIncludes []json.RawMessage `json:"responsesIncludes"`
	Error             *errorSpec        `json:"error"`
	Headers           map[string]string `json:"headers"`
	HeadersMatch      map[string]string `json:"headersMatch"`
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

// startServer runs `$MICRO_GEN_BIN serve --address 127.0.0.1:0 --test-hooks [args]` until the
// test ends.
func startServer(t *testing.T, args ...string) string {
	bin := os.Getenv("MICRO_GEN_BIN")
	if bin == "" {
		t.Fatal("MICRO_GEN_BIN is not set: it must name the micro-gen binary")
	}
	cmd := exec.Command(bin, append([]string{"serve", "--address", "127.0.0.1:0", "--test-hooks"}, args...)...)
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

// groupResult is one case file's line of $CONFORMANCE_RESULTS/go.json.
type groupResult struct {
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
	Failures []string `json:"failures"`
}

func TestConformance(t *testing.T) {
	total := 0
	groups := map[string]*groupResult{}
	for _, path := range caseFiles(t) {
		group := strings.TrimSuffix(filepath.Base(path), ".json")
		result := &groupResult{Failures: []string{}}
		groups[group] = result
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var file caseFile
		if err := decodeStrict(raw, &file); err != nil {
			t.Errorf("%s: %v", path, err)
			result.Failed++
			result.Failures = append(result.Failures, "(the case file does not parse: "+err.Error()+")")
			continue
		}
		total += len(file.Cases)
		t.Run(filepath.Base(path), func(t *testing.T) {
			ad, ok := adapters[file.SDK]
			if !ok {
				t.Fatalf("unknown sdk %q", file.SDK)
			}
			var args []string
			if file.Server != nil {
				args = file.Server.Args
			}
			address := startServer(t, args...)
			saved := map[string]any{}
			for i, c := range file.Cases {
				name := c.Name
				if name == "" {
					name = fmt.Sprintf("case %d", i)
				}
				if t.Run(name, func(t *testing.T) { runCase(t, ad, address, file.Service, c, saved) }) {
					result.Passed++
				} else {
					result.Failed++
					result.Failures = append(result.Failures, name)
				}
			}
		})
		for i := result.Passed + result.Failed; i < len(file.Cases); i++ {
			result.Failed++
			result.Failures = append(result.Failures, file.Cases[i].Name+" (not run)")
		}
	}
	t.Logf("%d cases", total)
	if dir := os.Getenv("CONFORMANCE_RESULTS"); dir != "" {
		out, err := json.MarshalIndent(map[string]any{"language": "go", "groups": groups}, "", "  ")
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "go.json"), append(out, '\n'), 0o644)
		}
		if err != nil {
			t.Errorf("writing the results: %v", err)
		}
	}
}

// --- the two SDKs -------------------------------------------------------------------------------

// errInfo is an SDK's *Error, whichever SDK made it.
type errInfo struct {
	Code            codes.Code
	Message         string
	ID              string
	MicroCode       int32
	Detail          string
	Status          string
	Header, Trailer metadata.MD
	text            string
}

// adapter is what the runner needs of a generated SDK's `micro` package.
type adapter struct {
	// connect builds a client; client is its *Client.
	connect func(address string, spec *clientSpec) (client reflect.Value, closer func(), err error)
	// callOptions are Header, Trailer and CallMetadata options.
	callOptions func(header, trailer *metadata.MD, md map[string]string) []reflect.Value
	// asError reads the SDK's *Error out of err (nil when err is not one).
	asError func(err error) *errInfo
}

var adapters = map[string]*adapter{
	"":     coreAdapter,
	"core": coreAdapter,
	"kitchen": {
		connect: func(address string, spec *clientSpec) (reflect.Value, func(), error) {
			var opts []kitchen.Option
			if spec != nil {
				if spec.Token != nil {
					opts = append(opts, kitchen.WithToken(*spec.Token))
				}
				if spec.Namespace != nil {
					opts = append(opts, kitchen.WithNamespace(*spec.Namespace))
				}
				if spec.TimeoutMs != nil {
					opts = append(opts, kitchen.WithTimeout(time.Duration(*spec.TimeoutMs)*time.Millisecond))
				}
				if spec.TLS != nil {
					opts = append(opts, kitchen.WithTLS(*spec.TLS))
				}
				for _, md := range []map[string]string{spec.Metadata, spec.Headers} {
					for k, v := range md {
						opts = append(opts, kitchen.WithMetadata(k, v))
					}
				}
				off, r, err := parseRetry(spec.Retry)
				if err != nil {
					return reflect.Value{}, nil, err
				}
				if off {
					opts = append(opts, kitchen.WithoutRetry())
				} else if r != nil {
					p := kitchen.DefaultRetryPolicy()
					if err := applyRetry(r, &p.MaxRetries, &p.InitialBackoff, &p.MaxBackoff, &p.Multiplier, &p.Jitter, &p.RetryableCodes); err != nil {
						return reflect.Value{}, nil, err
					}
					opts = append(opts, kitchen.WithRetry(p))
				}
			}
			c, err := kitchen.New(address, opts...)
			if err != nil {
				return reflect.Value{}, nil, err
			}
			return reflect.ValueOf(c), func() { _ = c.Close() }, nil
		},
		callOptions: func(header, trailer *metadata.MD, md map[string]string) []reflect.Value {
			out := []reflect.Value{reflect.ValueOf(kitchen.Header(header)), reflect.ValueOf(kitchen.Trailer(trailer))}
			for k, v := range md {
				out = append(out, reflect.ValueOf(kitchen.CallMetadata(k, v)))
			}
			return out
		},
		asError: func(err error) *errInfo {
			var e *kitchen.Error
			if !errors.As(err, &e) {
				return nil
			}
			return &errInfo{e.Code, e.Message, e.ID, e.MicroCode, e.Detail, e.Status, e.Header, e.Trailer, e.Error()}
		},
	},
}

var coreAdapter = &adapter{
	connect: func(address string, spec *clientSpec) (reflect.Value, func(), error) {
		var opts []micro.Option
		if spec != nil {
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
			off, r, err := parseRetry(spec.Retry)
			if err != nil {
				return reflect.Value{}, nil, err
			}
			if off {
				opts = append(opts, micro.WithoutRetry())
			} else if r != nil {
				p := micro.DefaultRetryPolicy()
				if err := applyRetry(r, &p.MaxRetries, &p.InitialBackoff, &p.MaxBackoff, &p.Multiplier, &p.Jitter, &p.RetryableCodes); err != nil {
					return reflect.Value{}, nil, err
				}
				opts = append(opts, micro.WithRetry(p))
			}
		}
		c, err := micro.New(address, opts...)
		if err != nil {
			return reflect.Value{}, nil, err
		}
		return reflect.ValueOf(c), func() { _ = c.Close() }, nil
	},
	callOptions: func(header, trailer *metadata.MD, md map[string]string) []reflect.Value {
		out := []reflect.Value{reflect.ValueOf(micro.Header(header)), reflect.ValueOf(micro.Trailer(trailer))}
		for k, v := range md {
			out = append(out, reflect.ValueOf(micro.CallMetadata(k, v)))
		}
		return out
	},
	asError: func(err error) *errInfo {
		var e *micro.Error
		if !errors.As(err, &e) {
			return nil
		}
		return &errInfo{e.Code, e.Message, e.ID, e.MicroCode, e.Detail, e.Status, e.Header, e.Trailer, e.Error()}
	},
}

// parseRetry reads the `retry` client option: off for false/null, else the policy changes.
func parseRetry(raw json.RawMessage) (off bool, r *retrySpec, err error) {
	if len(raw) == 0 {
		return false, nil, nil
	}
	if s := string(raw); s == "false" || s == "null" {
		return true, nil, nil
	}
	r = &retrySpec{}
	if err := decodeStrict(raw, r); err != nil {
		return false, nil, fmt.Errorf("retry option: %w", err)
	}
	return false, r, nil
}

func applyRetry(r *retrySpec, maxRetries *int, initial, maxBackoff *time.Duration, multiplier, jitter *float64, retryable *[]codes.Code) error {
	if r.MaxRetries != nil {
		*maxRetries = *r.MaxRetries
	}
	if r.InitialBackoffMs != nil {
		*initial = time.Duration(*r.InitialBackoffMs) * time.Millisecond
	}
	if r.MaxBackoffMs != nil {
		*maxBackoff = time.Duration(*r.MaxBackoffMs) * time.Millisecond
	}
	if r.Multiplier != nil {
		*multiplier = *r.Multiplier
	}
	if r.Jitter != nil {
		*jitter = *r.Jitter
	}
	if r.RetryableCodes != nil {
		*retryable = nil
		for _, name := range r.RetryableCodes {
			c, ok := codeByName(name)
			if !ok {
				return fmt.Errorf("unknown status code %q", name)
			}
			*retryable = append(*retryable, c)
		}
	}
	return nil
}

func codeByName(name string) (codes.Code, bool) {
	for c, n := range codeNames {
		if n == name {
			return c, true
		}
	}
	return 0, false
}

// serviceClient is the accessor field of client (a *Client) whose ServiceName() is service.
func serviceClient(client reflect.Value, service string) (reflect.Value, error) {
	v := client.Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || f.Kind() != reflect.Pointer {
			continue
		}
		if m := f.MethodByName("ServiceName"); m.IsValid() && m.Call(nil)[0].String() == service {
			return f, nil
		}
	}
	return reflect.Value{}, fmt.Errorf("the Client has no client with ServiceName %q", service)
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

func newMessage(ptrType reflect.Type, raw json.RawMessage) (proto.Message, error) {
	m, ok := reflect.New(ptrType.Elem()).Interface().(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%s is not a proto.Message", ptrType)
	}
	if len(raw) > 0 {
		if err := protojson.Unmarshal(raw, m); err != nil {
			return nil, fmt.Errorf("message %.300s: %w", raw, err)
		}
	}
	return m, nil
}

// toJSON is a message as proto3 JSON, decoded (numbers as float64); with all, default values too.
func toJSON(m proto.Message, all bool) (any, error) {
	b, err := protojson.MarshalOptions{EmitUnpopulated: all}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// --- substitution and saved values ------------------------------------------------------------

var (
	placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)
	exactVar    = regexp.MustCompile(`^\$\{([^}]*)\}$`)
)

// fillBytes is the standard base64 of n bytes where byte i is i % 256.
func fillBytes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 256)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// lookup resolves one `${...}` name: `bytes:N` or a saved value.
func lookup(name string, saved map[string]any) (any, error) {
	if n, ok := strings.CutPrefix(name, "bytes:"); ok {
		count, err := strconv.Atoi(n)
		if err != nil || count < 0 {
			return nil, fmt.Errorf("bad placeholder ${%s}", name)
		}
		return fillBytes(count), nil
	}
	v, ok := saved[name]
	if !ok {
		return nil, fmt.Errorf("unknown saved value ${%s}", name)
	}
	return v, nil
}

func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// substituteString replaces `${name}` placeholders in s: exactly one yields the value itself.
func substituteString(s string, saved map[string]any) (any, error) {
	if m := exactVar.FindStringSubmatch(s); m != nil {
		return lookup(m[1], saved)
	}
	var failure error
	out := placeholder.ReplaceAllStringFunc(s, func(p string) string {
		v, err := lookup(p[2:len(p)-1], saved)
		if err != nil {
			failure = err
			return p
		}
		return text(v)
	})
	return out, failure
}

func substituteValue(v any, saved map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		return substituteString(x, saved)
	case []any:
		for i := range x {
			s, err := substituteValue(x[i], saved)
			if err != nil {
				return nil, err
			}
			x[i] = s
		}
	case map[string]any:
		for k := range x {
			s, err := substituteValue(x[k], saved)
			if err != nil {
				return nil, err
			}
			x[k] = s
		}
	}
	return v, nil
}

// substitute applies the placeholders to a JSON document (numbers keep their exact text).
func substitute(raw json.RawMessage, saved map[string]any) (json.RawMessage, error) {
	if len(raw) == 0 {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v, err := substituteValue(v, saved)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// atPath is the value at a dot path (numeric segments index arrays).
func atPath(v any, path string) (any, error) {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[seg]
			if !ok {
				return nil, fmt.Errorf("no %q at %q", seg, path)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no index %q (of %d) at %q", seg, len(x), path)
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("%q does not lead into an object or array at %q", seg, path)
		}
	}
	return v, nil
}

// --- running a case ---------------------------------------------------------------------------

// outcome is what a call did.
type outcome struct {
	responses []proto.Message
	// respType is the response message type (*T).
	respType  reflect.Type
	streaming bool
	err       error
	header    metadata.MD
	trailer   metadata.MD
}

func runCase(t *testing.T, ad *adapter, address, fileService string, c caseSpec, saved map[string]any) {
	var spec *clientSpec
	if len(c.Client) > 0 {
		raw, err := substitute(c.Client, saved)
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		spec = &clientSpec{}
		if err := decodeStrict(raw, spec); err != nil {
			t.Fatalf("client: %v", err)
		}
	}
	client, closer, err := ad.connect(address, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	type pending struct {
		label string
		call  callSpec
		done  chan outcome
	}
	var parallel []pending
	defer func() {
		// Parallel calls still running when a case fails end with the client.
		for _, p := range parallel {
			select {
			case <-p.done:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	for i, call := range c.Calls {
		service := call.Service
		if service == "" {
			service = fileService
		}
		label := fmt.Sprintf("call %d (%s.%s)", i, service, call.Method)
		if err := validate(call); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if !call.Parallel {
			o, err := execute(ad, client, service, call, saved)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			if err := check(ad, o, call, saved); err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			continue
		}
		done := make(chan outcome, 1)
		failed := make(chan error, 1)
		go func() {
			o, err := execute(ad, client, service, call, saved)
			if err != nil {
				failed <- err
				close(done)
				return
			}
			done <- o
		}()
		parallel = append(parallel, pending{label, call, done})
		// A runner error (bad request, unknown placeholder) shows at once when it happens at start.
		select {
		case err := <-failed:
			t.Fatalf("%s: %v", label, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, p := range parallel {
		o, ok := <-p.done
		if !ok {
			t.Fatalf("%s: the parallel call could not run", p.label)
		}
		if err := check(ad, o, p.call, saved); err != nil {
			t.Fatalf("%s: %v", p.label, err)
		}
	}
}

func validate(call callSpec) error {
	var e expectSpec
	if err := decodeStrict(call.Expect, &e); err != nil {
		return fmt.Errorf("expect: %w", err)
	}
	n := 0
	for _, set := range []bool{len(e.Response) > 0, e.Responses != nil, len(e.ResponseIncludes) > 0, e.ResponsesIncludes != nil, e.Error != nil} {
		if set {
			n++
		}
	}
	streamPlusError := n == 2 && e.Error != nil && (e.Responses != nil || e.ResponsesIncludes != nil)
	if n != 1 && !streamPlusError {
		return errors.New("expect needs exactly one of response/responseIncludes/responses/responsesIncludes/error (or responses + error)")
	}
	if call.Request != nil && call.Requests != nil {
		return errors.New("a call has request or requests, not both")
	}
	return nil
}

// execute runs one call; the error is the runner's own (the case fails), not the call's.
func execute(ad *adapter, client reflect.Value, service string, call callSpec, saved map[string]any) (o outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("runner panic: %v", r)
		}
	}()
	svc, err := serviceClient(client, service)
	if err != nil {
		return o, err
	}
	method := svc.MethodByName(goName(call.Method))
	if !method.IsValid() {
		return o, fmt.Errorf("no method %s", goName(call.Method))
	}
	request, err := substitute(call.Request, saved)
	if err != nil {
		return o, err
	}
	var requests []json.RawMessage
	for _, r := range call.Requests {
		s, err := substitute(r, saved)
		if err != nil {
			return o, err
		}
		requests = append(requests, s)
	}
	md := map[string]string{}
	for k, v := range call.Metadata {
		s, err := substituteString(v, saved)
		if err != nil {
			return o, err
		}
		md[k] = text(s)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if call.TimeoutMs != nil {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, time.Duration(*call.TimeoutMs)*time.Millisecond)
		defer stop()
	}
	if call.CancelAfterMs != nil {
		timer := time.AfterFunc(time.Duration(*call.CancelAfterMs)*time.Millisecond, cancel)
		defer timer.Stop()
	}
	var header, trailer metadata.MD
	args := []reflect.Value{reflect.ValueOf(ctx)}
	mt := method.Type()
	streamingRequests := mt.NumIn() == 2 // (ctx, ...CallOption): client-streaming or bidi
	if !streamingRequests {
		if requests != nil {
			return o, errors.New("'requests' needs a client-streaming or bidi method")
		}
		m, err := newMessage(mt.In(1), request)
		if err != nil {
			return o, err
		}
		args = append(args, reflect.ValueOf(m))
	} else if request != nil {
		return o, errors.New("a client-streaming or bidi method takes 'requests'")
	}
	args = append(args, ad.callOptions(&header, &trailer, md)...)
	result := method.Call(args)
	res := result[0]
	out := mt.Out(0) // *T, *Stream[T], *ClientStream[Req, T] or *BidiStream[Req, T]
	switch {
	case out.Implements(reflect.TypeOf((*proto.Message)(nil)).Elem()):
		o.respType = out
	case hasMethod(out, "CloseAndRecv"):
		m, _ := out.MethodByName("CloseAndRecv")
		o.respType = m.Type.Out(0)
	default:
		m, _ := out.MethodByName("Recv")
		o.respType = m.Type.Out(0)
		o.streaming = true
	}
	if e, _ := result[1].Interface().(error); e != nil {
		o.err = e
		o.header, o.trailer = header, trailer
		return o, nil
	}
	if !o.streaming && !streamingRequests {
		o.responses = append(o.responses, res.Interface().(proto.Message))
		o.header, o.trailer = header, trailer
		return o, nil
	}
	if streamingRequests {
		send := res.MethodByName("Send")
		for _, r := range requests {
			m, err := newMessage(send.Type().In(0), r)
			if err != nil {
				return o, err
			}
			if e, _ := send.Call([]reflect.Value{reflect.ValueOf(m)})[0].Interface().(error); e != nil {
				break // the call's status comes from CloseAndRecv / Recv
			}
		}
	}
	taken := false
	if cr := res.MethodByName("CloseAndRecv"); cr.IsValid() {
		r := cr.Call(nil)
		if e, _ := r[1].Interface().(error); e != nil {
			o.err = e
		} else {
			o.responses = append(o.responses, r[0].Interface().(proto.Message))
		}
	} else {
		if cs := res.MethodByName("CloseSend"); cs.IsValid() {
			cs.Call(nil)
		}
		recv := res.MethodByName("Recv")
		for {
			if call.Take != nil && len(o.responses) >= *call.Take {
				res.MethodByName("Close").Call(nil)
				taken = true
				break
			}
			r := recv.Call(nil)
			e, _ := r[1].Interface().(error)
			if e == io.EOF {
				break
			}
			if e != nil {
				o.err = e
				break
			}
			o.responses = append(o.responses, r[0].Interface().(proto.Message))
		}
	}
	if o.err == nil || len(o.responses) > 0 {
		if h := res.MethodByName("Header"); h.IsValid() {
			if md, ok := h.Call(nil)[0].Interface().(metadata.MD); ok {
				header = metadata.Join(header, md)
			}
		}
	}
	if !taken {
		trailer = metadata.Join(trailer, res.MethodByName("Trailer").Call(nil)[0].Interface().(metadata.MD))
	}
	o.header, o.trailer = header, trailer
	return o, nil
}

func hasMethod(t reflect.Type, name string) bool {
	_, ok := t.MethodByName(name)
	return ok
}

// check compares an outcome with the call's expectations (after substitution), then saves the
// values asked for.
func check(ad *adapter, o outcome, call callSpec, saved map[string]any) error {
	raw, err := substitute(call.Expect, saved)
	if err != nil {
		return fmt.Errorf("expect: %w", err)
	}
	var expect expectSpec
	if err := decodeStrict(raw, &expect); err != nil {
		return fmt.Errorf("expect: %w", err)
	}
	got := metadata.Join(o.header, o.trailer)
	if expect.Error != nil {
		want := expect.Error
		if o.err == nil {
			return fmt.Errorf("expected %s, got responses %v", want.Code, o.responses)
		}
		me := ad.asError(o.err)
		if me == nil {
			return fmt.Errorf("error %v (%T) is not the SDK's *Error", o.err, o.err)
		}
		if codeNames[me.Code] != want.Code {
			return fmt.Errorf("code %s, expected %s (%s)", codeNames[me.Code], want.Code, me.text)
		}
		for _, c := range []struct {
			what      string
			got, want any
			set       bool
		}{
			{"id", me.ID, deref(want.ID), want.ID != nil},
			{"microCode", me.MicroCode, deref(want.MicroCode), want.MicroCode != nil},
			{"status", me.Status, deref(want.Status), want.Status != nil},
			{"detail", me.Detail, deref(want.Detail), want.Detail != nil},
			{"message", me.Message, deref(want.Message), want.Message != nil},
		} {
			if c.set && !reflect.DeepEqual(c.got, c.want) {
				return fmt.Errorf("error %s %#v, expected %#v (%s)", c.what, c.got, c.want, me.text)
			}
		}
		got = metadata.Join(got, me.Header, me.Trailer)
	} else if o.err != nil {
		return fmt.Errorf("unexpected error %v", o.err)
	}
	switch {
	case len(expect.Response) > 0:
		if len(o.responses) != 1 {
			return fmt.Errorf("expected one response, got %d", len(o.responses))
		}
		if err := compareExact(o.respType, o.responses[0], expect.Response); err != nil {
			return err
		}
	case len(expect.ResponseIncludes) > 0:
		if len(o.responses) != 1 {
			return fmt.Errorf("expected one response, got %d", len(o.responses))
		}
		if err := compareIncludes(o.responses[0], expect.ResponseIncludes); err != nil {
			return err
		}
	case expect.Responses != nil:
		if len(o.responses) != len(expect.Responses) {
			return fmt.Errorf("%d responses, expected %d: %v", len(o.responses), len(expect.Responses), jsonList(o.responses))
		}
		for i, raw := range expect.Responses {
			if err := compareExact(o.respType, o.responses[i], raw); err != nil {
				return fmt.Errorf("response %d: %w", i, err)
			}
		}
	case expect.ResponsesIncludes != nil:
		if len(o.responses) != len(expect.ResponsesIncludes) {
			return fmt.Errorf("%d responses, expected %d: %v", len(o.responses), len(expect.ResponsesIncludes), jsonList(o.responses))
		}
		for i, raw := range expect.ResponsesIncludes {
			if err := compareIncludes(o.responses[i], raw); err != nil {
				return fmt.Errorf("response %d: %w", i, err)
			}
		}
	}
	for k, want := range expect.Headers {
		if v := got.Get(k); len(v) == 0 || v[0] != want {
			return fmt.Errorf("header %q is %v, expected %q", k, v, want)
		}
	}
	for k, pattern := range expect.HeadersMatch {
		v := got.Get(k)
		if len(v) == 0 || !regexp.MustCompile(pattern).MatchString(v[0]) {
			return fmt.Errorf("header %q is %v, expected a match of %q", k, v, pattern)
		}
	}
	if len(call.Save) > 0 {
		if o.err != nil {
			return errors.New("'save' needs a successful call")
		}
		var doc any
		if o.streaming {
			all := []any{}
			for _, m := range o.responses {
				v, err := toJSON(m, true)
				if err != nil {
					return err
				}
				all = append(all, v)
			}
			doc = all
		} else {
			v, err := toJSON(o.responses[0], true)
			if err != nil {
				return err
			}
			doc = v
		}
		for name, path := range call.Save {
			v, err := atPath(doc, path)
			if err != nil {
				return fmt.Errorf("save %s: %w", name, err)
			}
			saved[name] = v
		}
	}
	return nil
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func jsonList(ms []proto.Message) string {
	var parts []string
	for _, m := range ms {
		b, _ := protojson.Marshal(m)
		parts = append(parts, string(b))
	}
	s := "[" + strings.Join(parts, ", ") + "]"
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 1500 {
		return string(b[:1500]) + "…"
	}
	return string(b)
}

// compareExact: the expected JSON, read as the response type and printed again, equals the response.
func compareExact(respType reflect.Type, got proto.Message, raw json.RawMessage) error {
	want, err := newMessage(respType, raw)
	if err != nil {
		return err
	}
	w, err := toJSON(want, false)
	if err != nil {
		return err
	}
	g, err := toJSON(got, false)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(g, w) {
		return fmt.Errorf("response %s, expected %s", short(g), short(w))
	}
	return nil
}

// compareIncludes: the response's JSON (default values included) contains the expected fields.
func compareIncludes(got proto.Message, raw json.RawMessage) error {
	g, err := toJSON(got, true)
	if err != nil {
		return err
	}
	var want any
	if err := json.Unmarshal(raw, &want); err != nil {
		return err
	}
	if err := includes(want, g, "$"); err != nil {
		return fmt.Errorf("%w; response %s", err, short(g))
	}
	return nil
}

// lowerCamel is protoc's json_name of a proto field name.
func lowerCamel(s string) string {
	var b strings.Builder
	upper := false
	for _, r := range s {
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

func includes(want, got any, at string) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s, expected an object", at, short(got))
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				gv, ok = g[lowerCamel(k)]
			}
			if !ok {
				return fmt.Errorf("%s: no field %q", at, k)
			}
			if err := includes(wv, gv, at+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: %s, expected an array", at, short(got))
		}
		if len(g) != len(w) {
			return fmt.Errorf("%s: %d elements, expected %d", at, len(g), len(w))
		}
		for i := range w {
			if err := includes(w[i], g[i], fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if reflect.DeepEqual(want, got) {
		return nil
	}
	// int64 values are strings in proto3 JSON; a case may write them as numbers.
	if wn, ok := want.(float64); ok {
		if gs, ok := got.(string); ok {
			if gn, err := strconv.ParseFloat(gs, 64); err == nil && gn == wn {
				return nil
			}
		}
	}
	if ws, ok := want.(string); ok {
		if gn, ok := got.(float64); ok {
			if wn, err := strconv.ParseFloat(ws, 64); err == nil && gn == wn {
				return nil
			}
		}
	}
	return fmt.Errorf("%s: %s, expected %s", at, short(got), short(want))
}
