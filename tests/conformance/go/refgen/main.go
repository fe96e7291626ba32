// Command refgen feeds a descriptor set written by `micro-gen descriptor` to protoc-gen-go and
// protoc-gen-go-grpc (plugins on PATH, no protoc) and writes their output under -out, so run.sh
// can compare the checked-in SDK against what the real plugins generate.
//
//	refgen -set x.binpb -module github.com/micro/micro-sdk-go -out DIR
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	set := flag.String("set", "", "descriptor set (binary FileDescriptorSet)")
	module := flag.String("module", "", "Go module path of the SDK")
	out := flag.String("out", "", "output directory")
	flag.Parse()
	raw, err := os.ReadFile(*set)
	check(err)
	var fds descriptorpb.FileDescriptorSet
	check(proto.Unmarshal(raw, &fds))
	var params []string
	var targets []string
	for _, f := range fds.File {
		name := f.GetName()
		if strings.HasPrefix(name, "google/protobuf/") {
			continue
		}
		targets = append(targets, name)
		dir := path.Dir(name)
		params = append(params, fmt.Sprintf("M%s=%s/gen/%s;%s", name, *module, dir, packageName(dir)))
	}
	for _, plugin := range []string{"protoc-gen-go", "protoc-gen-go-grpc"} {
		p := append([]string{"module=" + *module}, params...)
		req := &pluginpb.CodeGeneratorRequest{
			FileToGenerate:  targets,
			Parameter:       proto.String(strings.Join(p, ",")),
			ProtoFile:       fds.File,
			CompilerVersion: nil,
		}
		in, err := proto.Marshal(req)
		check(err)
		cmd := exec.Command(plugin)
		cmd.Stdin = bytes.NewReader(in)
		cmd.Stderr = os.Stderr
		respBytes, err := cmd.Output()
		check(err)
		var resp pluginpb.CodeGeneratorResponse
		check(proto.Unmarshal(respBytes, &resp))
		if resp.Error != nil {
			check(fmt.Errorf("%s: %s", plugin, resp.GetError()))
		}
		for _, f := range resp.File {
			dst := filepath.Join(*out, f.GetName())
			check(os.MkdirAll(filepath.Dir(dst), 0o755))
			check(os.WriteFile(dst, []byte(f.GetContent()), 0o644))
		}
	}
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]`)
var version = regexp.MustCompile(`^v[0-9]+([a-z]+[0-9]*)*$`)

// packageName is micro-gen's Go package name for a proto directory: the last segment, prefixed
// with the one before it when the last is a version (acme/shop/v1 -> shopv1).
func packageName(dir string) string {
	segs := strings.Split(dir, "/")
	last := segs[len(segs)-1]
	if version.MatchString(last) && len(segs) > 1 {
		last = segs[len(segs)-2] + last
	}
	return nonAlnum.ReplaceAllString(strings.ToLower(last), "")
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "refgen:", err)
		os.Exit(1)
	}
}
