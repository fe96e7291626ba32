#!/usr/bin/env bash
# The publish round trip, end to end against real registries on 127.0.0.1:
#
#   MICRO_GEN_BIN=target/debug/micro-gen bash tests/publish/run.sh
#
# Starts Verdaccio (npm, from its npm package) and pypiserver (PyPI, from its PyPI package) on free
# ports with their configuration and storage in a temporary directory, then for every SDK:
# `micro-gen package` (artifacts + SHA256SUMS in one folder), `micro-gen publish` (npm publish with
# a token from NODE_AUTH_TOKEN, twine upload, mvn deploy:deploy-file to a file:// Maven
# repository, the .gem into a local gem repository, the Go module into a GOPROXY=file:// layout,
# cargo publish --dry-run for crates.io), checks that publishing the same version again fails
# cleanly and changes nothing, then runs a fresh app per language (examples/registry/<lang>/) that
# installs the SDK from its registry only and calls a running `micro-gen serve`.
#
# State lives under ${MICRO_CACHE:-<repo>/.cache}: publish-tools (Verdaccio), pub-venv (pypiserver,
# twine, build, hatchling), pub-work (artifacts, registries' storage, example apps).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
: "${MICRO_GEN_BIN:?set MICRO_GEN_BIN to the micro-gen binary (cargo build -p micro-gen)}"
MICRO_GEN_BIN="$(cd "$(dirname "$MICRO_GEN_BIN")" && pwd)/$(basename "$MICRO_GEN_BIN")"
CACHE="${MICRO_CACHE:-$REPO/.cache}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"
TOOLS="$CACHE/publish-tools"
VENV="$CACHE/pub-venv"
WORK="$CACHE/pub-work"
DIST="$WORK/dist"
REG="$WORK/registries"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
export PIP_DISABLE_PIP_VERSION_CHECK=1 GOTOOLCHAIN=local

rm -rf "$WORK"
mkdir -p "$DIST" "$REG"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "== tools: Verdaccio (npm), pypiserver + twine + build (pip)"
mkdir -p "$TOOLS"
cat >"$TOOLS/package.json" <<'JSON'
{
  "name": "micro-gen-publish-tools",
  "private": true,
  "version": "0.0.0",
  "dependencies": { "verdaccio": "6.8.0" },
  "overrides": { "node-fetch": "2.7.0" }
}
JSON
# (node-fetch: some registries lack the `cjs` dist-tag a Verdaccio dependency asks for.)
grep -q '"version": "6.8.0"' "$TOOLS/node_modules/verdaccio/package.json" 2>/dev/null || (cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "pypiserver==2.4.2" "passlib==1.7.4" "twine==7.0.0" "build==1.6.1" "hatchling==1.33.0"
export MICRO_GEN_PYTHON="$VENV/bin/python"

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 150); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "error: $1 did not come up" >&2; return 1; }

echo "== starting Verdaccio and pypiserver on 127.0.0.1"
NPM_PORT="$(free_port)"
mkdir -p "$REG/verdaccio/storage"
cat >"$REG/verdaccio/config.yaml" <<YAML
storage: $REG/verdaccio/storage
auth:
  htpasswd:
    file: $REG/verdaccio/htpasswd
    max_users: 10
uplinks:
  npmjs:
    url: $(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
packages:
  '@micro/*':
    access: \$all
    publish: \$authenticated
  '**':
    access: \$all
    publish: \$authenticated
    proxy: npmjs
log: { type: stdout, format: pretty, level: warn }
YAML
"$TOOLS/node_modules/.bin/verdaccio" --config "$REG/verdaccio/config.yaml" --listen "127.0.0.1:$NPM_PORT" >"$REG/verdaccio.log" 2>&1 &
pids+=($!)
PYPI_PORT="$(free_port)"
mkdir -p "$REG/pypi"
"$VENV/bin/pypi-server" run -i 127.0.0.1 -p "$PYPI_PORT" -a . -P . --disable-fallback "$REG/pypi" >"$REG/pypiserver.log" 2>&1 &
pids+=($!)
NPM_URL="http://127.0.0.1:$NPM_PORT/"
PYPI_URL="http://127.0.0.1:$PYPI_PORT/"
wait_http "$NPM_URL-/ping"
wait_http "${PYPI_URL}simple/"
echo "   npm $NPM_URL | PyPI $PYPI_URL"

# A Verdaccio user; its token reaches npm only through NODE_AUTH_TOKEN.
NODE_AUTH_TOKEN="$(curl -fsS -X PUT -H 'content-type: application/json' \
    -d '{"name":"ci","password":"ci-password-1"}' "${NPM_URL}-/user/org.couchdb.user:ci" |
    "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
export NODE_AUTH_TOKEN
export TWINE_USERNAME=ci TWINE_PASSWORD=ci-password-1   # pypiserver runs with -a . -P . (no auth)

declare -A REGISTRY=(
    [ts]="$NPM_URL"
    [python]="$PYPI_URL"
    [rust]="crates-io"
    [ruby]="file://$REG/gems"
    [java]="file://$REG/maven"
    [go]="file://$REG/goproxy"
)
declare -A RECEIVED
passed=0
failed=0
failures=()
cd "$REPO"

echo "== micro-gen package --lang all"
"$MICRO_GEN_BIN" package --lang all --out-dir "$DIST"
(cd "$DIST" && sha256sum -c --quiet SHA256SUMS)
echo "   SHA256SUMS verified ($(wc -l <"$DIST/SHA256SUMS") artifacts)"

echo "== metadata checks"
tar -tzf "$DIST"/*.crate | sed 's:^[^/]*/::' | sort >"$WORK/crate-files.txt"
for f in Cargo.toml LICENSE README.md src/lib.rs examples/quickstart.rs; do
    grep -qx "$f" "$WORK/crate-files.txt" || { echo "error: the .crate lacks $f" >&2; exit 1; }
done
mkdir -p "$WORK/crate-list"
tar -C "$REPO/sdks/rust" --exclude=./target --exclude=./Cargo.lock --exclude=./.micro-gen-manifest -cf - . | tar -C "$WORK/crate-list" -xf -
printf '\n[workspace]\n' >>"$WORK/crate-list/Cargo.toml"
(cd "$WORK/crate-list" && cargo package --list --allow-dirty --quiet) | grep -v '^Cargo.toml.orig$\|^\.cargo_vcs_info.json$\|^Cargo.lock$' | sort >"$WORK/cargo-list.txt"
grep -v '^Cargo.lock$' "$WORK/crate-files.txt" | grep -v '^Cargo.toml.orig$\|^\.cargo_vcs_info.json$' | diff -u "$WORK/cargo-list.txt" - ||
    { echo "error: the .crate differs from cargo package --list" >&2; exit 1; }
echo "   .crate: $(wc -l <"$WORK/crate-files.txt") files, LICENSE and README included, as cargo package --list says"
for tag in url licenses developers scm description name; do
    grep -q "<$tag>" "$DIST"/*.pom || { echo "error: the pom has no <$tag> (Maven Central requires it)" >&2; exit 1; }
done
echo "   pom: name, description, url, licenses, developers, scm (Maven Central's required fields)"
tar -tzf "$DIST"/*.tgz | grep -x 'package/LICENSE' >/dev/null || { echo "error: the npm tarball lacks LICENSE" >&2; exit 1; }

publish_one() { # publish_one LANG [extra args]
    local lang="$1"
    shift
    local out
    if out="$("$MICRO_GEN_BIN" publish --lang "$lang" --registry "${REGISTRY[$lang]}" --out-dir "$DIST" "$@" 2>&1)"; then
        echo "$out" | sed 's/^/   /'
        RECEIVED[$lang]="$(echo "$out" | sed -n "s/^$lang: //p" | head -n 1)"
        return 0
    fi
    echo "$out" | sed 's/^/   /' >&2
    return 1
}

republish_fails() { # republish_fails LANG: the same version again must fail and change nothing
    local lang="$1" before after out
    before="$(find "$REG" -type f -not -name '*.log' -exec sha256sum {} + 2>/dev/null | sort)"
    if out="$("$MICRO_GEN_BIN" publish --lang "$lang" --registry "${REGISTRY[$lang]}" --out-dir "$DIST" 2>&1)"; then
        echo "error: $lang: publishing the same version twice succeeded" >&2
        return 1
    fi
    after="$(find "$REG" -type f -not -name '*.log' -exec sha256sum {} + 2>/dev/null | sort)"
    out="$(tr -s ' \n│×' ' ' <<<"$out")"
    grep -q "is already on .*nothing was uploaded" <<<"$out" || { echo "error: $lang: unclear failure: $out" >&2; return 1; }
    [ "$before" = "$after" ] || { echo "error: $lang: the failed publish changed the registry" >&2; return 1; }
    echo "   again: refused before uploading (the version is already there), registry unchanged"
}

echo "== publish --dry-run --verbose (npm publish --dry-run must not warn; twine check --strict; nothing uploaded)"
for lang in ts python java ruby go; do
    out="$("$MICRO_GEN_BIN" publish --lang "$lang" --registry "${REGISTRY[$lang]}" --out-dir "$DIST" --dry-run --verbose 2>&1)" ||
        { echo "$out" >&2; echo "error: $lang: publish --dry-run failed" >&2; exit 1; }
    echo "$out" | grep "^$lang: " | sed 's/^/   /'
    if grep -qF -e "$NODE_AUTH_TOKEN" -e "$TWINE_PASSWORD" <<<"$out"; then
        echo "error: $lang: publish --verbose printed a credential" >&2
        exit 1
    fi
done
[ -z "$(ls -A "$REG/pypi")" ] && [ ! -e "$REG/maven" ] && [ ! -e "$REG/gems" ] && [ ! -e "$REG/goproxy" ] ||
    { echo "error: a dry run wrote to a registry" >&2; exit 1; }

for lang in ts python java ruby go rust; do
    echo "== publish $lang -> ${REGISTRY[$lang]}"
    if [ "$lang" = rust ]; then
        if publish_one rust --dry-run; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=(rust); fi
        continue
    fi
    if publish_one "$lang" && republish_fails "$lang"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$lang")
    fi
done

# Credentials never reach the output: the token must not appear in any log we made.
if grep -rqF "$NODE_AUTH_TOKEN" "$WORK" --include='*.log' 2>/dev/null; then
    echo "error: the npm token appears in a log" >&2
    exit 1
fi

echo "== starting micro-gen serve"
log="$WORK/serve.log"
"$MICRO_GEN_BIN" serve --address 127.0.0.1:0 >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
MICRO_ADDRESS="$(sed -n 's/.*listening on //p' "$log")"
[ -n "$MICRO_ADDRESS" ] || { echo "error: micro-gen serve did not start" >&2; exit 1; }
export MICRO_ADDRESS

fill() { # fill SRC DEST: replaces @KEY@ placeholders from the environment of this function
    sed -e "s|@VERSION@|$VERSION|g" -e "s|@SDK_NAME@|$SDK_NAME|g" -e "s|@REGISTRY@|${FILL_REGISTRY:-}|g" \
        -e "s|@MODULE@|${MODULE:-}|g" -e "s|@GROUP@|${GROUP:-}|g" -e "s|@ARTIFACT@|${ARTIFACT:-}|g" \
        -e "s|@CRATE_DIR@|${CRATE_DIR:-}|g" "$1" >"$2"
}
APPS="$WORK/apps"
mkdir -p "$APPS"
examples_ok=0
example() { # example LANG: runs a registry example, counts it
    local lang="$1"
    if [ "$lang" = rust ]; then
        echo "== example rust (crates.io is a dry run: the packaged .crate, unpacked, is its one path dependency)"
    else
        echo "== example $lang (installs from ${REGISTRY[$lang]} only)"
    fi
    if "example_$lang" >"$APPS/$lang.log" 2>&1; then
        sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^/   /' "$APPS/$lang.log" | tail -n 4
        examples_ok=$((examples_ok + 1))
    else
        sed 's/^/   /' "$APPS/$lang.log" >&2
        failed=$((failed + 1))
        failures+=("example-$lang")
    fi
}

example_ts() {
    local app="$APPS/ts"
    mkdir -p "$app"
    SDK_NAME="$(node -p 'require(process.argv[1]).name' "$REPO/sdks/ts/package.json")"
    VERSION="$(node -p 'require(process.argv[1]).version' "$REPO/sdks/ts/package.json")"
    fill "$REPO/examples/registry/ts/package.json" "$app/package.json"
    cp "$REPO/examples/ts/quickstart.mjs" "$app/"
    (cd "$app" && npm install --no-audit --no-fund --loglevel=error --registry "$NPM_URL" >/dev/null &&
        [ "$(node -p "require('$SDK_NAME/package.json').version")" = "$VERSION" ] &&
        node -e '
            // The installed package is the very tarball micro-gen packaged and published.
            const fs = require("fs"), crypto = require("crypto");
            const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
            const want = "sha512-" + crypto.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64");
            if (lock.packages["node_modules/" + process.argv[2]].integrity !== want) { console.error("integrity differs"); process.exit(1); }
        ' "$(ls "$DIST"/*.tgz)" "$SDK_NAME" && node quickstart.mjs)
}

example_python() {
    local app="$APPS/python"
    SDK_NAME="$(sed -n 's/^name = "\(.*\)"/\1/p' "$REPO/sdks/python/pyproject.toml" | head -n 1)"
    VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/sdks/python/pyproject.toml" | head -n 1)"
    python3 -m venv "$app/venv"
    fill "$REPO/examples/registry/python/requirements.txt" "$app/requirements.txt"
    # The runtime dependencies from the usual index first; the SDK itself only from pypiserver.
    "$app/venv/bin/pip" install -q "grpcio>=1.62" "protobuf>=5.26,<8"
    PIP_FIND_LINKS="" "$app/venv/bin/pip" install -q --index-url "${PYPI_URL}simple/" -r "$app/requirements.txt"
    (cd "$app" && venv/bin/python "$REPO/examples/python/quickstart.py")
}

example_java() {
    local app="$APPS/java"
    mkdir -p "$app"
    local id
    id="$(sed -n 's:.*<\(groupId\|artifactId\|version\)>\(.*\)</.*:\2:p' "$REPO/sdks/java/pom.xml" | head -n 3 | tr '\n' ' ')"
    read -r GROUP ARTIFACT VERSION <<<"$id"
    SDK_NAME="$GROUP:$ARTIFACT" FILL_REGISTRY="${REGISTRY[java]}" fill "$REPO/examples/registry/java/pom.xml" "$app/pom.xml"
    # Nothing of the SDK in the local Maven repository: it must come from the file:// registry.
    rm -rf "$HOME/.m2/repository/${GROUP//.//}/$ARTIFACT/$VERSION"
    (cd "$app" && mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
        -Dmdep.outputFile="$app/cp.txt" >/dev/null &&
        grep -q "$ARTIFACT-$VERSION.jar" cp.txt && java -cp "$(cat cp.txt)" "$REPO/examples/java/Quickstart.java")
}

example_ruby() {
    local gems="$APPS/ruby-gems"
    local gem
    gem="$(ls "$REG"/gems/gems/*.gem | head -n 1)"
    SDK_NAME="$(basename "$gem" | sed 's/-[0-9][^-]*\.gem$//')"
    VERSION="$(basename "$gem" .gem | sed "s/^$SDK_NAME-//")"
    mkdir -p "$APPS/ruby"
    fill "$REPO/examples/registry/ruby/Gemfile" "$APPS/ruby/Gemfile"
    (cd "$REG/gems/gems" && GEM_HOME="$gems" gem install --local --no-document "$SDK_NAME" -v "$VERSION" >/dev/null)
    (cd "$APPS/ruby" && GEM_HOME="$gems" ruby -w "$REPO/examples/ruby/quickstart.rb")
}

example_go() {
    local app="$APPS/go"
    mkdir -p "$app"
    MODULE="$(sed -n 's/^module //p' "$REPO/sdks/go/go.mod")"
    VERSION="$(sed -n 's/.*"micro-sdk-go\/\(.*\)".*/\1/p' "$REPO/sdks/go/micro.go" | head -n 1)"
    SDK_NAME="$MODULE" fill "$REPO/examples/registry/go/go.mod" "$app/go.mod"
    cp "$REPO/examples/go/main.go" "$app/"
    (cd "$app" && export GOPROXY="file://$REG/goproxy,$(go env GOPROXY)" GONOSUMDB="$MODULE" GOFLAGS=-mod=mod \
        GOMODCACHE="$APPS/go-modcache" &&
        go mod tidy && grep -q "$MODULE v$VERSION" go.mod && go run .)
}

example_rust() {
    local app="$APPS/rust"
    mkdir -p "$app/src" "$app/crate"
    tar -xzf "$DIST"/*.crate -C "$app/crate"
    CRATE_DIR="$(ls -d "$app"/crate/*)"
    SDK_NAME="" VERSION="" CRATE_DIR="$CRATE_DIR" fill "$REPO/examples/registry/rust/Cargo.toml" "$app/Cargo.toml"
    local lib
    lib="$(sed -n 's/^name = "\(.*\)"/\1/p' "$CRATE_DIR/Cargo.toml" | head -n 1)"
    sed -i "s/^micro-client = /$lib = /" "$app/Cargo.toml"
    cp "$CRATE_DIR/examples/quickstart.rs" "$app/src/main.rs"
    cp "$REPO/Cargo.lock" "$app/Cargo.lock"
    (cd "$app" && cargo run --quiet)
}

for lang in ts python java ruby go rust; do
    example "$lang"
done

echo
echo "what each registry received:"
for lang in ts python rust ruby java go; do
    printf '   %-6s %s\n' "$lang" "${RECEIVED[$lang]:-nothing}"
done
echo "examples: $examples_ok of 6 installed their SDK from the registry and called micro-gen serve"
echo "publish: $passed passed, $failed failed${failures:+ (${failures[*]})}"
[ "$failed" -eq 0 ]
