#!/usr/bin/env bash
# Builds, packages and conformance-tests the generated Java SDK (sdks/java).
#
#   MICRO_GEN_BIN=target/debug/micro-gen bash tests/conformance/java/run.sh
#
# Needs a JDK >= 17 and Maven (apt: openjdk-17-jdk-headless maven) and Maven Central for the first
# run; later runs only use ~/.m2. Scratch work lives under ${MICRO_CACHE:-<repo>/.cache}/java-work:
# a copy of the SDK and of this runner, built as one Maven reactor with a single
# `mvn verify` (compile the SDK with -Xlint, package its jar, compile the runner with -Werror,
# run the JUnit 5 conformance cases through the generated `Micro` client, blocking and async
# (case files with "sdk": "kitchen" through the kitchen-sink SDK generated from tests/protos/kitchen,
# in a second runner module; results merged into $CONFORMANCE_RESULTS/java.json, default
# <repo>/.cache/conformance-results; MICRO_CONFORMANCE_CASES overrides the case directory),
# and RuntimeTest against an in-process server: retries, deadlines, cancellation, every stream kind;
# compiler warnings fail the build), then javadoc with doclint over the SDK, then the keyword
# fixture (keywords.proto) generated, compiled with javac -Werror and round-tripped, then the
# keyword-torture set (tests/protos/names/java) and the coverage set (tests/protos/coverage), each
# generated, compiled with javac -Werror and run (names/*.java) against
# `micro-gen serve --echo-unknown`: every rpc kind, proto2 defaults and presence.
# The runtime classpath the SDK needs is left in java-work/classpath.txt for tests/golden/check.sh.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
CACHE="${MICRO_CACHE:-$REPO/.cache}"
WORK="$CACHE/java-work"

: "${MICRO_GEN_BIN:?set MICRO_GEN_BIN to the micro-gen binary (cargo build -p micro-gen)}"
MICRO_GEN_BIN="$(cd "$(dirname "$MICRO_GEN_BIN")" && pwd)/$(basename "$MICRO_GEN_BIN")"
export MICRO_GEN_BIN
[ -x "$MICRO_GEN_BIN" ] || { echo "run.sh: MICRO_GEN_BIN=$MICRO_GEN_BIN is not executable" >&2; exit 1; }
[ -f "$REPO/sdks/java/pom.xml" ] || {
    echo "run.sh: sdks/java/pom.xml is missing; run: micro-gen sdk --lang java" >&2
    exit 1
}
command -v mvn >/dev/null && command -v javac >/dev/null || {
    echo "run.sh: needs a JDK >= 17 and Maven (apt-get install openjdk-17-jdk-headless maven)" >&2
    exit 1
}

# The SDK's coordinates, read from its pom (the first groupId/artifactId/version are the project's).
coordinate() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$REPO/sdks/java/pom.xml" | head -n 1; }
SDK_GROUP="$(coordinate groupId)"
SDK_ARTIFACT="$(coordinate artifactId)"
SDK_VERSION="$(coordinate version)"

echo "== preparing $WORK ($SDK_GROUP:$SDK_ARTIFACT:$SDK_VERSION)"
rm -rf "$WORK"
mkdir -p "$WORK"
cp -R "$REPO/sdks/java" "$WORK/sdk"
mkdir -p "$WORK/conformance"
cp -R "$REPO/tests/conformance/java/pom.xml" "$REPO/tests/conformance/java/src" "$WORK/conformance/"

# The kitchen-sink SDK (tests/protos/kitchen), for case files with "sdk": "kitchen", and a second
# copy of the conformance runner (ConformanceTest, plus KitchenTypedTest from kitchen/) built
# against it: both SDKs have the same runtime classes (dev.micro.sdk.Micro, ...), so each runner
# module sees exactly one of them.
KITCHEN_GROUP="dev.micro.kitchen"
KITCHEN_ARTIFACT="kitchen-sdk"
"$MICRO_GEN_BIN" sdk --lang java --proto "$REPO/tests/protos/kitchen/micro/kitchen/v1/kitchen.proto" \
    -I "$REPO/tests/protos/kitchen" --out "$WORK/kitchen-sdk" --package-name "$KITCHEN_GROUP:$KITCHEN_ARTIFACT" \
    --version "$SDK_VERSION" >/dev/null
mkdir -p "$WORK/kitchen-conformance/src/test/java/dev/micro/conformance"
cp "$REPO/tests/conformance/java/src/test/java/dev/micro/conformance/ConformanceTest.java" \
    "$REPO/tests/conformance/java/kitchen/src/test/java/dev/micro/conformance/KitchenTypedTest.java" \
    "$WORK/kitchen-conformance/src/test/java/dev/micro/conformance/"
sed -e 's:<artifactId>micro-sdk-conformance</artifactId>:<artifactId>micro-kitchen-conformance</artifactId>:' \
    -e "s:\${sdk.groupId}:$KITCHEN_GROUP:" -e "s:\${sdk.artifactId}:$KITCHEN_ARTIFACT:" \
    -e "s:\${sdk.version}:$SDK_VERSION:" -e 's:\${micro.sdk}:kitchen:' \
    -e 's:\${micro.classpath.file}:${project.build.directory}/runtime-classpath.txt:' \
    "$REPO/tests/conformance/java/pom.xml" >"$WORK/kitchen-conformance/pom.xml"
export CONFORMANCE_RESULTS="${CONFORMANCE_RESULTS:-$REPO/.cache/conformance-results}"
mkdir -p "$CONFORMANCE_RESULTS"
rm -f "$CONFORMANCE_RESULTS/java.json"   # each runner module merges its groups into it
cat >"$WORK/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.micro.build</groupId>
  <artifactId>java-conformance-reactor</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <modules>
    <module>sdk</module>
    <module>kitchen-sdk</module>
    <module>conformance</module>
    <module>kitchen-conformance</module>
  </modules>
</project>
POM

echo "== mvn verify (SDK: compile + jar; runner: JUnit 5 conformance and runtime tests)"
(
    cd "$WORK"
    mvn -q -B -T1 -Dstyle.color=never --fail-at-end verify \
        -Dsdk.groupId="$SDK_GROUP" -Dsdk.artifactId="$SDK_ARTIFACT" -Dsdk.version="$SDK_VERSION" \
        -Dmicro.cases="${MICRO_CONFORMANCE_CASES:-$REPO/tests/conformance}" \
        -Dmicro.classpath.file="$WORK/classpath.txt" \
        -Dmaven.compiler.failOnWarning=true \
        -Dsurefire.reportFormat=plain -DtrimStackTrace=true 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d'
) || {  # (Maven 3.8 prints colour resets even in batch mode; pipefail keeps its exit status)
    for module in conformance kitchen-conformance; do
        if [ -s "$WORK/$module/target/conformance-failures.txt" ]; then
            echo "== failed conformance cases ($module): group / case [mode] error"
            cut -c 1-600 "$WORK/$module/target/conformance-failures.txt"
        fi
    done
    exit 1
}

echo "== javadoc (doclint, every generated doc comment)"
find "$WORK/sdk/src/main/java" -name '*.java' >"$WORK/sources.txt"
javadoc -quiet -Xdoclint:all,-missing -d "$WORK/javadoc" -cp "$(cat "$WORK/classpath.txt")" @"$WORK/sources.txt" \
    2>&1 | grep -v '^Loading\|^Constructing\|^Generating\|^Building\|^Standard Doclet' || true
[ -f "$WORK/javadoc/index.html" ] || { echo "run.sh: javadoc failed" >&2; exit 1; }
find "$WORK/kitchen-sdk/src/main/java" -name '*.java' >"$WORK/kitchen-sources.txt"
javadoc -quiet -Xdoclint:all,-missing -d "$WORK/kitchen-javadoc" -cp "$(cat "$WORK/classpath.txt")" \
    @"$WORK/kitchen-sources.txt" 2>&1 | grep -v '^Loading\|^Constructing\|^Generating\|^Building\|^Standard Doclet' || true
[ -f "$WORK/kitchen-javadoc/index.html" ] || { echo "run.sh: javadoc of the kitchen-sink SDK failed" >&2; exit 1; }

echo "== keyword fixture (keywords.proto: generate, javac -Werror, round trip)"
"$MICRO_GEN_BIN" sdk --lang java --out "$WORK/keywords" -I "$REPO/tests/conformance/java" \
    --proto "$REPO/tests/conformance/java/keywords.proto" >/dev/null
find "$WORK/keywords/src" -name '*.java' >"$WORK/keywords/sources.txt"
javac -Xlint:all,-serial,-deprecation -Werror --release 17 -d "$WORK/keywords/classes" \
    -cp "$(cat "$WORK/classpath.txt")" @"$WORK/keywords/sources.txt"
java -cp "$WORK/keywords/classes:$(cat "$WORK/classpath.txt")" "$REPO/tests/conformance/java/KeywordsRoundTrip.java"

echo "== names and coverage sets (tests/protos/names/java, tests/protos/coverage: generate, javac -Werror,"
echo "   round trip through the four rpc kinds against micro-gen serve --echo-unknown)"
: >"$WORK/echo.log"  # exists before the server starts, so polling it never fails
"$MICRO_GEN_BIN" serve --address 127.0.0.1:0 --echo-unknown >"$WORK/echo.log" 2>&1 &
ECHO_PID=$!
trap 'kill "$ECHO_PID" 2>/dev/null || true' EXIT
ECHO_ADDR=""
for _ in $(seq 1 100); do
    ECHO_ADDR="$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/echo.log" | head -n 1)"
    [ -n "$ECHO_ADDR" ] && break
    kill -0 "$ECHO_PID" 2>/dev/null || { cat "$WORK/echo.log" >&2; echo "run.sh: the echo server exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ECHO_ADDR" ] || { cat "$WORK/echo.log" >&2; echo "run.sh: the echo server did not start" >&2; exit 1; }
for set in names:tests/protos/names/java:NamesRoundTrip coverage:tests/protos/coverage:CoverageRoundTrip; do
    IFS=: read -r name root program <<<"$set"
    protos=()
    while IFS= read -r -d '' proto; do protos+=(--proto "$proto"); done \
        < <(find "$REPO/$root" -name '*.proto' -print0 | sort -z)
    "$MICRO_GEN_BIN" sdk --lang java --out "$WORK/$name" -I "$REPO/$root" "${protos[@]}" >/dev/null 2>"$WORK/$name.log" \
        || { cat "$WORK/$name.log" >&2; exit 1; }
    find "$WORK/$name/src" -name '*.java' >"$WORK/$name/sources.txt"
    javac -Xlint:all,-serial,-deprecation -Werror --release 17 -d "$WORK/$name/classes" \
        -cp "$(cat "$WORK/classpath.txt")" @"$WORK/$name/sources.txt"
    java -cp "$WORK/$name/classes:$(cat "$WORK/classpath.txt")" "$REPO/tests/conformance/java/names/$program.java" "$ECHO_ADDR"
done
kill "$ECHO_PID" 2>/dev/null || true

report="$(ls "$WORK"/conformance/target/surefire-reports/*.txt 2>/dev/null | head -n 1 || true)"
[ -n "$report" ] && grep -h "Tests run" "$WORK"/conformance/target/surefire-reports/*.txt \
    "$WORK"/kitchen-conformance/target/surefire-reports/*.txt 2>/dev/null
ls "$WORK"/sdk/target/*.jar "$WORK"/kitchen-sdk/target/*.jar | sed 's:^:   built :'
