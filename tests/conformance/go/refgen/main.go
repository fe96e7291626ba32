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
	"go/token"
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
		importPath := *module + "/gen"
		if dir != "." {
			importPath += "/" + dir
		}
		params = append(params, fmt.Sprintf("M%s=%s;%s", name, importPath, packageName(dir)))
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

// packageName is micro-gen's Go package name for a proto directory (names::package_name): the
// last segment, lower-cased letters and digits, prefixed with the one before it when the last
// is a version (acme/shop/v1 -> shopv1), "gen" for files at the root, then protogen's
// GoSanitized (a keyword or a name not starting with a letter gets a "_" prefix: type -> _type),
// and "_main"/"_init" for main and init (micro-gen's deviation: a package main is not
// importable and cannot build without func main; init cannot be imported by name).
func packageName(dir string) string {
	if dir == "." {
		return "gen"
	}
	segs := strings.Split(dir, "/")
	last := nonAlnum.ReplaceAllString(strings.ToLower(segs[len(segs)-1]), "")
	if version.MatchString(last) && len(segs) > 1 {
		last = nonAlnum.ReplaceAllString(strings.ToLower(segs[len(segs)-2]), "") + last
	}
	if last == "" {
		return "gen"
	}
	if token.Lookup(last).IsKeyword() || last[0] < 'a' || last[0] > 'z' || last == "main" || last == "init" {
		last = "_" + last
	}
	return last
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "refgen:", err)
		os.Exit(1)
	}
}
