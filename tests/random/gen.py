#!/usr/bin/env python3
"""Seeded generator of valid, nasty proto sets (Python 3 stdlib only).

    python3 tests/random/gen.py --seed S --out DIR
    python3 tests/random/gen.py --seed S --count N --out DIR   # DIR/r<S>, ..., DIR/r<S+N-1>

writes a proto root to DIR (every .proto under it is one set; imports are relative to DIR). The
same seed always gives the same files. --protoc PYTHON checks every set with that interpreter's
grpc_tools.protoc (exit 1 if protoc rejects one). See tests/random/README.md for what a set contains and which
validity rules of protoc the generator keeps.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys

# ----------------------------------------------------------------------------------------------
# Name pools: keywords and names the runtimes of the six targets already use.
TS_NAMES = """break case catch class const continue debugger default delete do else enum export extends
false finally for function if import in instanceof new null return super switch this throw true try typeof
var void while with yield let static implements interface package private protected public await async of
any boolean number string symbol never unknown object undefined constructor prototype toString valueOf
hasOwnProperty __proto__ toJSON toBinary fromBinary fromJson equals clone Object Array Promise Error Map Set
Date JSON Symbol then arguments eval require module exports""".split()
PY_NAMES = """False None True and as assert async await break class continue def del elif else except finally
for from global if import in is lambda nonlocal not or pass raise return try while with yield self cls match
case type print list dict str int float bytes object property staticmethod classmethod ListFields
SerializeToString ParseFromString Clear HasField ClearField WhichOneof CopyFrom MergeFrom Extensions ByteSize
IsInitialized FromString Descriptor typing Optional Union grpc""".split()
GO_NAMES = """break default func interface select case defer go map struct chan else goto package switch const
fallthrough if range type continue for import return var string int error bool byte rune nil iota len cap
make new append close copy delete panic recover Reset ProtoMessage ProtoReflect Descriptor String GetName
Unwrap Error context fmt proto grpc""".split()
JAVA_NAMES = """abstract assert boolean break byte case catch char class const continue default do double else
enum extends final finally float for goto if implements import instanceof int interface long native new
package private protected public return short static strictfp super switch synchronized this throw throws
transient try void volatile while true false null var record yield sealed permits Object String Integer Long
Class getClass hashCode equals toString clone finalize notify wait Builder newBuilder getDefaultInstance
parseFrom getDescriptor Descriptor Override Deprecated List Map java lang""".split()
RUBY_NAMES = """BEGIN END alias and begin break case class def do else elsif end ensure false for if in module
next nil not or redo rescue retry return self super then true undef unless until when while yield __FILE__
__LINE__ object_id send method initialize to_s to_h inspect hash freeze dup Kernel Object Module Class
Comparable Struct Google Protobuf GRPC""".split()
RUST_NAMES = """as break const continue crate else enum extern false fn for if impl in let loop match mod move
mut pub ref return self Self static struct super trait true type unsafe use where while async await dyn
abstract become box do final macro override priv typeof unsized virtual yield try union Clone Drop Copy
Default Debug Send Sync Option Result Some None Ok Err Box Vec String Into From Iterator Fn prost tonic
std core alloc""".split()
MICRO_NAMES = """micro runtime client version Micro Client Error MicroError RetryPolicy options transport
interceptors index gen errors retry descriptor Channel channel metadata timeout Cancellation Dyn Wire
MicroMessage RequestOptions MicroOptions Transport services""".split()
POOL = sorted(set(TS_NAMES + PY_NAMES + GO_NAMES + JAVA_NAMES + RUBY_NAMES + RUST_NAMES + MICRO_NAMES))
# Identifiers that are literals in the proto language, kept out where the grammar would read them so.
LITERALS = {"true", "false", "inf", "nan", "infinity"}
WORDS = """id name value count items data kind status state info item entry key label note price amount
order user account event record node tree link child parent owner group page token limit offset total
flag mode level color shape point size weight score rank title body text message request response result
detail summary config setting option filter query cursor range span unit code reason source target""".split()
VERBS = """Get List Create Update Delete Watch Stream Upload Download Sync Echo Ping Send Fetch Put Chat
Batch Check""".split()
PKG_SEGMENTS = sorted({n.lower() for n in POOL if re.fullmatch(r"[a-z][a-z0-9]*", n.lower())} |
                      {"acme", "shop", "core", "common", "api", "types", "foo", "bar"})

SCALARS = ["double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
           "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"]
MAP_KEYS = ["int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32",
            "sfixed64", "bool", "string"]
PACKABLE = [s for s in SCALARS if s not in ("string", "bytes")]
WKT = {  # type -> import
    "google.protobuf.Timestamp": "google/protobuf/timestamp.proto",
    "google.protobuf.Duration": "google/protobuf/duration.proto",
    "google.protobuf.Any": "google/protobuf/any.proto",
    "google.protobuf.Struct": "google/protobuf/struct.proto",
    "google.protobuf.Value": "google/protobuf/struct.proto",
    "google.protobuf.ListValue": "google/protobuf/struct.proto",
    "google.protobuf.FieldMask": "google/protobuf/field_mask.proto",
    "google.protobuf.Empty": "google/protobuf/empty.proto",
    **{f"google.protobuf.{w}": "google/protobuf/wrappers.proto" for w in
       ["DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue",
        "StringValue", "BytesValue"]},
}
WKT_ENUMS = {"google.protobuf.NullValue": "google/protobuf/struct.proto"}

DEFAULTS = {
    "int32": ["0", "-1", "42", "2147483647", "-2147483648", "0x7fffffff", "-0x80000000", "017"],
    "sint32": ["-7", "2147483647", "-2147483648"],
    "sfixed32": ["-2147483648", "123"],
    "int64": ["-9223372036854775808", "9223372036854775807", "-1", "0x7fffffffffffffff"],
    "sint64": ["-9223372036854775808", "5"],
    "sfixed64": ["9223372036854775807", "-42"],
    "uint32": ["0", "4294967295", "0xffffffff"],
    "fixed32": ["4294967295", "7"],
    "uint64": ["18446744073709551615", "0xffffffffffffffff", "1"],
    "fixed64": ["18446744073709551615", "3"],
    "float": ["1.5", "-0.25", "inf", "-inf", "nan", "3.4028235e38", "1e-10", "0", "-0.0"],
    "double": ["2.718281828459045", "-inf", "inf", "nan", "1.7976931348623157e308", "2.2250738585072014e-308", "-1", "1E6"],
    "bool": ["true", "false"],
    "string": ['""', '"hello"', r'"quote \" backslash \\ tab \t nl \n"', r'"\x41\101\u00e9 unicode \U0001F600"',
               '"*/ {{x}} ${y} #{z} %s"', "'single'", r'"\0 nul"'],
    "bytes": ['""', r'"\000\001\377"', r'"\xde\xad\xbe\xef"', '"text"', r'"\"\\"'],
}

COMMENTS = [
    "A plain comment.",
    "Comment with */ a block terminator and /* an opener.",
    "Comment with \"double\" and 'single' quotes and a backslash \\ at the end \\",
    "Comment with {{handlebars}} {{{triple}}} and ${template} #{interp} %s %d {0}.",
    "Comment with <b>html</b> & entities &amp; </script> <!-- -->.",
    'Comment with """triple quotes""" and \'\'\' too.',
    "=begin",
    "=end",
    "Comment with a Java unicode escape \\u000a and \\u002a/ in it.",
    "Unicode: héllo wörld — ünïcödé ✓ 日本語 🚀.",
    "@param x @return y @deprecated {@link Foo} @see bar",
    "#!/bin/sh and # hash and -- dashes",
    "TODO(someone): trailing whitespace   ",
    "`code` *emphasis* _under_ [link](http://example.com) | table |",
    "",
    "Line one.\nLine two.\n\nAfter a blank line.",
    "   leading spaces and\ttab",
    "//// many slashes ////",
    "Ends with a backslash \\",
]


def camel(words):
    return "".join(w[:1].upper() + w[1:] for w in words)


def json_name(name):
    out, up = [], False
    for ch in name:
        if ch == "_":
            up = True
        elif up:
            out.append(ch.upper())
            up = False
        else:
            out.append(ch)
    return "".join(out)


def upper_snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return s.upper()


def variants(name):
    """Case variants of a name (foo_bar, FooBar, fooBar, FOO_BAR, Foo_Bar)."""
    parts = [p for p in re.split(r"_|(?<=[a-z0-9])(?=[A-Z])", name) if p]
    if not parts:
        return []
    low = [p.lower() for p in parts]
    out = {
        "_".join(low),
        camel(low),
        low[0] + camel(low[1:]),
        "_".join(low).upper(),
        "_".join(p[:1].upper() + p[1:] for p in low),
    }
    out.discard(name)
    return sorted(x for x in out if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", x))


class Scope:
    """One symbol scope of protoc: a package or a message. Names are case-sensitive."""

    def __init__(self, parent=None):
        self.used = set()
        self.parent = parent

    def free(self, name):
        return name not in self.used


class Enum:
    def __init__(self, name, full, syntax, file):
        self.name, self.full, self.syntax, self.file = name, full, syntax, file
        self.values = []  # (name, number, options, comment)
        self.allow_alias = False
        self.deprecated = False
        self.reserved = []
        self.comment = None


class Message:
    def __init__(self, name, full, syntax, file, depth, parent):
        self.name, self.full, self.syntax, self.file, self.depth = name, full, syntax, file, depth
        self.parent = parent
        self.scope = Scope()
        self.fields = []  # dicts
        self.oneofs = []  # (name, [field dicts], comment)
        self.messages = []
        self.enums = []
        self.deprecated = False
        self.reserved_numbers = []
        self.reserved_names = []
        self.ext_range = None
        self.json = set()
        self.numbers = set()
        self.comment = None


class File:
    def __init__(self, path, package, syntax):
        self.path, self.package, self.syntax = path, package, syntax
        self.messages, self.enums, self.services, self.extends = [], [], [], []
        self.imports = set()
        self.deprecated = False


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.seed = seed
        self.pkg_scopes = {}
        self.files = []
        self.all_messages = []
        self.all_enums = []

    # -- names ---------------------------------------------------------------------------------
    def chance(self, p):
        return self.r.random() < p

    def raw_pool_name(self):
        return self.r.choice(POOL)

    def type_name(self, scope):
        """A message/enum/service name not yet used in the scope."""
        for _ in range(200):
            roll = self.r.random()
            if roll < 0.35:
                n = self.raw_pool_name()
            elif roll < 0.5:
                p = self.raw_pool_name()
                n = p[:1].upper() + p[1:]
            elif roll < 0.65 and scope.used:
                base = self.r.choice(sorted(scope.used))
                vs = variants(base)
                n = self.r.choice(vs) if vs else camel(self.r.sample(WORDS, 2))
            else:
                n = camel(self.r.sample(WORDS, self.r.randint(1, 3)))
            if n in LITERALS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n):
                continue
            if scope.free(n):
                return n
        raise RuntimeError("no free name")

    def field_name(self, msg):
        for _ in range(400):
            roll = self.r.random()
            if roll < 0.45:
                n = self.raw_pool_name()
            elif roll < 0.55 and msg.scope.used:
                vs = variants(self.r.choice(sorted(msg.scope.used)))
                if not vs:
                    continue
                n = self.r.choice(vs)
            else:
                n = "_".join(self.r.sample(WORDS, self.r.randint(1, 2)))
            if n in LITERALS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) or n.startswith("_"):
                continue
            j = json_name(n).lower()
            if msg.scope.free(n) and j not in msg.json and j:
                # The synthetic oneof of a proto3 optional field (_name) and map entries (NameEntry)
                # also live in the message scope.
                return n
        raise RuntimeError("no free field name")

    def claim_field(self, msg, n):
        msg.scope.used.add(n)
        msg.json.add(json_name(n).lower())

    def enum_value_name(self, enum, scope, canon):
        prefix = upper_snake(enum.name).strip("_")
        for _ in range(400):
            roll = self.r.random()
            if roll < 0.5:
                n = f"{prefix}_{self.r.choice(WORDS).upper()}"
            elif roll < 0.75:
                n = self.raw_pool_name().upper()
            else:
                n = self.raw_pool_name()
            if n.lower() in LITERALS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n):
                continue
            # protoc: values must stay unique once the enum-name prefix is stripped, ignoring case
            # and underscores.
            c = n.lower().replace("_", "")
            p = enum.name.lower().replace("_", "")
            stripped = c[len(p):] if c.startswith(p) and len(c) > len(p) else c
            if scope.free(n) and c not in canon and stripped not in canon and stripped:
                canon.add(c)
                canon.add(stripped)
                return n
        raise RuntimeError("no free enum value name")

    def comment(self, p=0.5):
        if not self.chance(p):
            return None
        return self.r.choice(COMMENTS)

    # -- declarations ----------------------------------------------------------------------------
    def build(self):
        r = self.r
        npkg = r.randint(1, 3)
        packages = []
        while len(packages) < npkg:
            segs = r.sample(PKG_SEGMENTS, 2)
            pkg = f"{segs[0]}.{segs[1]}.v{r.randint(1, 3)}"
            if pkg not in packages:
                packages.append(pkg)
        nfiles = r.randint(max(1, npkg), 4)
        used_paths = set()
        for i in range(nfiles):
            pkg = packages[i] if i < npkg else r.choice(packages)
            syntax = "proto2" if self.chance(0.35) else "proto3"
            for _ in range(100):
                base = r.choice(PKG_SEGMENTS + WORDS)
                d = pkg.replace(".", "/") if self.chance(0.85) else ""
                path = f"{d}/{base}.proto" if d else f"{base}.proto"
                if path not in used_paths:
                    break
            used_paths.add(path)
            f = File(path, pkg, syntax)
            f.deprecated = self.chance(0.1)
            self.files.append(f)
            scope = self.pkg_scopes.setdefault(pkg, Scope())
            if self.chance(0.3) and scope.free(pkg.split(".")[1].capitalize()):
                # A message named like its package.
                self.declare_message(f, scope, pkg, 1, None, name=pkg.split(".")[1].capitalize())
            for _ in range(r.randint(1, 4)):
                self.declare_message(f, scope, pkg, 1, None)
            for _ in range(r.randint(0, 2)):
                self.declare_enum(f, scope, pkg, None)

    def declare_message(self, f, scope, prefix, depth, parent, name=None):
        name = name or self.type_name(scope)
        scope.used.add(name)
        m = Message(name, f"{prefix}.{name}", f.syntax, f, depth, parent)
        m.deprecated = self.chance(0.1)
        m.comment = self.comment()
        (parent.messages if parent else f.messages).append(m)
        self.all_messages.append(m)
        if depth < 4:
            for _ in range(self.r.choice([0, 0, 1, 1, 2])):
                self.declare_message(f, m.scope, m.full, depth + 1, m)
        for _ in range(self.r.choice([0, 0, 1])):
            self.declare_enum(f, m.scope, m.full, m)
        return m

    def declare_enum(self, f, scope, prefix, parent):
        name = self.type_name(scope)
        scope.used.add(name)
        e = Enum(name, f"{prefix}.{name}", f.syntax, f)
        e.deprecated = self.chance(0.1)
        e.comment = self.comment()
        canon = set()
        n = self.r.randint(1, 5)
        numbers = [0] if f.syntax == "proto3" else [self.r.choice([0, 1, -1, 5])]
        while len(numbers) < n:
            x = self.r.choice([numbers[-1] + 1, numbers[-1] + self.r.randint(2, 9), 2147483647,
                               -2147483648, -self.r.randint(1, 100)])
            if -2147483648 <= x <= 2147483647:
                numbers.append(x)
        seen = set()
        nums = [x for x in numbers if not (x in seen or seen.add(x))]
        for num in nums:
            vn = self.enum_value_name(e, scope, canon)
            scope.used.add(vn)
            opts = ["deprecated = true"] if self.chance(0.1) else []
            e.values.append((vn, num, opts, self.comment(0.3)))
        if self.chance(0.15):
            e.allow_alias = True
            vn = self.enum_value_name(e, scope, canon)
            scope.used.add(vn)
            e.values.append((vn, e.values[0][1], [], "An alias."))
        if self.chance(0.2):
            used = {v[1] for v in e.values}
            e.reserved = [next(x for x in (12345, 777, -777, 4242) if x not in used)]
        (parent.enums if parent else f.enums).append(e)
        self.all_enums.append(e)
        return e

    # -- fields --------------------------------------------------------------------------------
    def visible_files(self, f):
        i = self.files.index(f)
        return self.files[: i + 1]

    def pick_message(self, f):
        r = self.r
        if self.chance(0.12):
            return r.choice(sorted(WKT))
        cands = [m for m in self.all_messages if m.file in self.visible_files(f)]
        return r.choice(cands).full

    def pick_enum(self, m):
        f = m.file
        cands = [e for e in self.all_enums if e.file in self.visible_files(f)
                 and (m.syntax == "proto2" or e.syntax == "proto3")]
        if m.syntax == "proto3" and self.chance(0.2):
            cands = cands + ["google.protobuf.NullValue"]
        if not cands:
            return None
        c = self.r.choice(cands)
        return c if isinstance(c, str) else c.full

    def use(self, f, typ):
        if typ in WKT:
            f.imports.add(WKT[typ])
        elif typ in WKT_ENUMS:
            f.imports.add(WKT_ENUMS[typ])
        else:
            for t in self.all_messages + self.all_enums:
                if t.full == typ and t.file is not f:
                    f.imports.add(t.file.path)

    def number(self, m):
        r = self.r
        for _ in range(1000):
            roll = r.random()
            if roll < 0.85:
                n = (max(m.numbers) if m.numbers else 0) + r.choice([1, 1, 1, 2, 3, 10])
            elif roll < 0.9:
                n = r.choice([536870911, 18999, 20000, 2 ** 28, 65535, 16, 2047, 2048])
            else:
                n = r.randint(1, 5000)
            if 19000 <= n <= 19999 or n in m.numbers or n in m.reserved_numbers or 100000 <= n < 100100:
                continue
            if n > 536870911:
                continue
            m.numbers.add(n)
            return n
        raise RuntimeError("no free number")

    def value_type(self, m, map_value=False):
        """A field type: (kind, type) with kind in scalar/enum/message."""
        roll = self.r.random()
        if roll < 0.5:
            return "scalar", self.r.choice(SCALARS)
        if roll < 0.7:
            e = self.pick_enum(m)
            if e and map_value and e in self.enums_by_full and self.enums_by_full[e].values[0][1] != 0:
                e = None  # a map value's enum must start with 0
            if e:
                return "enum", e
            return "scalar", self.r.choice(SCALARS)
        return "message", self.pick_message(m.file)

    def enum_values_of(self, full):
        return self.enums_by_full.get(full)

    def make_field(self, m, in_oneof=False):
        r = self.r
        f = m.file
        name = self.field_name(m)
        fld = {"name": name, "number": self.number(m), "opts": [], "label": "", "comment": self.comment(0.4),
               "trailing": self.comment(0.15)}
        if not in_oneof and self.chance(0.15):
            key = r.choice(MAP_KEYS)
            kind, val = self.value_type(m, map_value=True)
            entry = name[:1].upper() + json_name(name)[1:] + "Entry"
            if not m.scope.free(entry):
                return None
            m.scope.used.add(entry)
            self.use(f, val)
            fld["type"] = f"map<{key}, {self.ref(val)}>"
        else:
            kind, typ = self.value_type(m)
            self.use(f, typ)
            fld["type"] = self.ref(typ)
            if not in_oneof:
                roll = r.random()
                if roll < 0.25:
                    fld["label"] = "repeated"
                    if kind == "enum" or (kind == "scalar" and typ in PACKABLE):
                        if f.syntax == "proto2" and self.chance(0.5):
                            fld["opts"].append("packed = true")
                        elif f.syntax == "proto2" and self.chance(0.3):
                            fld["opts"].append("packed = false")
                        elif f.syntax == "proto3" and self.chance(0.4):
                            fld["opts"].append("packed = false")
                elif f.syntax == "proto2":
                    fld["label"] = "required" if roll < 0.4 else "optional"
                    if fld["label"] == "optional" and self.chance(0.6):
                        d = self.default(kind, typ)
                        if d is not None:
                            fld["opts"].append(f"default = {d}")
                elif roll < 0.45:
                    fld["label"] = "optional"
        if self.chance(0.1):
            fld["opts"].append("deprecated = true")
        self.claim_field(m, name)
        if fld["label"] == "optional" and f.syntax == "proto3":
            m.scope.used.add("_" + name)
        return fld

    def default(self, kind, typ):
        if kind == "scalar":
            return self.r.choice(DEFAULTS[typ])
        if kind == "enum":
            e = self.enum_values_of(typ)
            if e is None:
                return None
            return self.r.choice(e.values)[0]
        return None

    @staticmethod
    def ref(typ):
        return typ if typ in SCALARS else "." + typ

    def fill_message(self, m):
        r = self.r
        if m.file.syntax == "proto2" and self.chance(0.3):
            m.ext_range = (100000, 100099)
        if self.chance(0.2):
            m.reserved_numbers = [50000 + r.randint(0, 50)]
            rn = self.field_name(m)
            m.reserved_names = [rn]
            self.claim_field(m, rn)
        for _ in range(r.randint(0, 7)):
            fld = self.make_field(m)
            if fld:
                m.fields.append(fld)
        if self.chance(0.15):
            # Recursive: a field of the message's own type (or its parent's).
            target = m if (m.parent is None or self.chance(0.5)) else m.parent
            name = self.field_name(m)
            self.claim_field(m, name)
            lbl = "repeated" if self.chance(0.5) else ("optional" if m.file.syntax == "proto2" else "")
            m.fields.append({"name": name, "number": self.number(m), "opts": [], "label": lbl,
                             "type": self.ref(target.full), "comment": "Recursive.", "trailing": None})
        for _ in range(r.choice([0, 0, 1, 2])):
            oname = self.field_name(m)
            self.claim_field(m, oname)
            fields = [x for x in (self.make_field(m, in_oneof=True) for _ in range(r.randint(1, 4))) if x]
            if fields:
                m.oneofs.append((oname, fields, self.comment(0.3)))
        for sub in m.messages:
            self.fill_message(sub)

    def services(self):
        r = self.r
        for _ in range(r.randint(0, 3)):
            f = r.choice(self.files)
            scope = self.pkg_scopes[f.package]
            name = self.type_name(scope)
            scope.used.add(name)
            rpcs, rscope = [], Scope()
            for _ in range(r.randint(1, 5)):
                roll = r.random()
                if roll < 0.4:
                    rn = self.raw_pool_name()
                    rn = rn[:1].upper() + rn[1:] if self.chance(0.5) else rn
                elif roll < 0.5 and rscope.used:
                    vs = variants(r.choice(sorted(rscope.used)))
                    rn = r.choice(vs) if vs else r.choice(VERBS) + camel(r.sample(WORDS, 1))
                else:
                    rn = r.choice(VERBS) + camel(r.sample(WORDS, r.randint(1, 2)))
                if rn in LITERALS or not rscope.free(rn) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rn):
                    continue
                rscope.used.add(rn)
                req = "google.protobuf.Empty" if self.chance(0.15) else self.pick_message(f)
                rsp = "google.protobuf.Empty" if self.chance(0.15) else self.pick_message(f)
                self.use(f, req)
                self.use(f, rsp)
                rpcs.append({"name": rn, "req": req, "rsp": rsp, "cs": self.chance(0.35), "ss": self.chance(0.35),
                             "deprecated": self.chance(0.1), "comment": self.comment(0.4)})
            f.services.append({"name": name, "rpcs": rpcs, "deprecated": self.chance(0.1),
                               "comment": self.comment(0.5)})

    def extends(self):
        for f in self.files:
            if f.syntax != "proto2":
                continue
            targets = [m for m in self.all_messages if m.ext_range and m.file in self.visible_files(f)]
            if not targets or not self.chance(0.5):
                continue
            t = self.r.choice(targets)
            scope = self.pkg_scopes[f.package]
            for _ in range(50):
                n = "ext_" + "_".join(self.r.sample(WORDS, 1))
                if scope.free(n):
                    break
            else:
                continue
            scope.used.add(n)
            if t.file is not f:
                f.imports.add(t.file.path)
            num = 100000 + len([1 for x in self.files for e in x.extends if e[0] is t])
            f.extends.append((t, n, num))

    def generate(self):
        self.build()
        self.enums_by_full = {e.full: e for e in self.all_enums}
        for m in list(self.all_messages):
            if m.parent is None:
                self.fill_message(m)
        self.services()
        self.extends()
        return {f.path: self.render(f) for f in self.files}

    # -- rendering -------------------------------------------------------------------------------
    def render_comment(self, text, ind, style=None):
        if text is None:
            return []
        style = style or self.r.choice(["line", "line", "line", "block"])
        lines = text.split("\n")
        if style == "block" and "*/" not in text and "/*" not in text:
            if len(lines) == 1:
                return [f"{ind}/* {text} */"]
            return [f"{ind}/*"] + [f"{ind} * {ln}".rstrip() for ln in lines] + [f"{ind} */"]
        return [f"{ind}//{(' ' + ln) if ln else ''}" for ln in lines]

    def detached(self, ind):
        if self.chance(0.15):
            return self.render_comment(self.r.choice(COMMENTS) or "Detached.", ind) + [""]
        return []

    def trailing(self, text):
        if text is None or "\n" in text:
            return ""
        if "*/" in text or "/*" in text or self.chance(0.6):
            return f"  // {text}"
        return f"  /* {text} */"

    def render_field(self, fld, ind):
        out = self.detached(ind) + self.render_comment(fld["comment"], ind)
        opts = f" [{', '.join(fld['opts'])}]" if fld["opts"] else ""
        label = f"{fld['label']} " if fld["label"] else ""
        out.append(f"{ind}{label}{fld['type']} {fld['name']} = {fld['number']}{opts};{self.trailing(fld['trailing'])}")
        return out

    def render_enum(self, e, ind):
        out = self.detached(ind) + self.render_comment(e.comment, ind)
        out.append(f"{ind}enum {e.name} {{")
        i2 = ind + "  "
        if e.allow_alias:
            out.append(f"{i2}option allow_alias = true;")
        if e.deprecated:
            out.append(f"{i2}option deprecated = true;")
        for vn, num, opts, c in e.values:
            out += self.render_comment(c, i2)
            o = f" [{', '.join(opts)}]" if opts else ""
            out.append(f"{i2}{vn} = {num}{o};")
        if e.reserved:
            out.append(f"{i2}reserved {', '.join(map(str, e.reserved))};")
        if self.chance(0.1):
            out += self.render_comment(self.r.choice(COMMENTS) or "End of enum.", i2)
        out.append(f"{ind}}}")
        return out

    def render_message(self, m, ind):
        out = self.detached(ind) + self.render_comment(m.comment, ind)
        out.append(f"{ind}message {m.name} {{")
        i2 = ind + "  "
        if m.deprecated:
            out.append(f"{i2}option deprecated = true;")
        items = [("f", x) for x in m.fields] + [("o", x) for x in m.oneofs] + \
                [("m", x) for x in m.messages] + [("e", x) for x in m.enums]
        self.r.shuffle(items)
        for kind, x in items:
            if kind == "f":
                out += self.render_field(x, i2)
            elif kind == "o":
                oname, fields, c = x
                out += self.render_comment(c, i2)
                out.append(f"{i2}oneof {oname} {{")
                for fld in fields:
                    out += self.render_field(fld, i2 + "  ")
                out.append(f"{i2}}}")
            elif kind == "m":
                out += self.render_message(x, i2)
            else:
                out += self.render_enum(x, i2)
        if m.reserved_numbers:
            out.append(f"{i2}reserved {', '.join(map(str, m.reserved_numbers))};")
        if m.reserved_names:
            out.append(f"{i2}reserved {', '.join(chr(34) + n + chr(34) for n in m.reserved_names)};")
        if m.ext_range:
            out.append(f"{i2}extensions {m.ext_range[0]} to {m.ext_range[1]};")
        if self.chance(0.1):
            out += self.render_comment(self.r.choice(COMMENTS) or "End of message.", i2)
        out.append(f"{ind}}}")
        return out

    def render(self, f):
        out = [f"// Generated by tests/random/gen.py --seed {self.seed}: {f.path}", ""]
        out += self.render_comment(self.comment(0.5), "")
        out.append(f'syntax = "{f.syntax}";')
        out.append("")
        out += self.render_comment(self.comment(0.3), "")
        out.append(f"package {f.package};")
        out.append("")
        for imp in sorted(f.imports):
            out += self.render_comment(self.comment(0.1), "")
            out.append(f'import "{imp}";')
        if f.imports:
            out.append("")
        if f.deprecated:
            out.append("option deprecated = true;")
            out.append("")
        items = [("m", x) for x in f.messages] + [("e", x) for x in f.enums] + [("s", x) for x in f.services]
        self.r.shuffle(items)
        for kind, x in items:
            if kind == "m":
                out += self.render_message(x, "")
            elif kind == "e":
                out += self.render_enum(x, "")
            else:
                out += self.detached("") + self.render_comment(x["comment"], "")
                out.append(f"service {x['name']} {{")
                if x["deprecated"]:
                    out.append("  option deprecated = true;")
                for rpc in x["rpcs"]:
                    out += self.render_comment(rpc["comment"], "  ")
                    cs = "stream " if rpc["cs"] else ""
                    ss = "stream " if rpc["ss"] else ""
                    body = " {\n    option deprecated = true;\n  }" if rpc["deprecated"] else ";"
                    out.append(f"  rpc {rpc['name']}({cs}.{rpc['req']}) returns ({ss}.{rpc['rsp']}){body}")
                out.append("}")
            out.append("")
        for t, n, num in f.extends:
            out.append(f"extend .{t.full} {{")
            out.append(f"  optional int32 {n} = {num};")
            out.append("}")
            out.append("")
        out += self.render_comment(self.comment(0.2), "")
        return "\n".join(out).rstrip("\n") + "\n"


def write_set(seed, out):
    files = Gen(seed).generate()
    os.makedirs(out, exist_ok=True)
    for root, _, names in os.walk(out):
        for n in names:
            if n.endswith(".proto"):
                os.remove(os.path.join(root, n))
    for path, text in files.items():
        p = os.path.join(out, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(text)
    return sorted(files)


PROTOC_CHECK = """
import os, sys
from grpc_tools import protoc
wkt = os.path.join(os.path.dirname(protoc.__file__), "_proto")
bad = 0
for line in sys.stdin:
    root, *files = line.split()
    rc = protoc.main(["protoc", "-I" + root, "-I" + wkt, "--descriptor_set_out=/dev/null"] + [root + "/" + f for f in files])
    if rc != 0:
        print("protoc rejects " + root, file=sys.stderr)
        bad = 1
sys.exit(bad)
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--count", type=int, help="write COUNT sets DIR/r<seed>.. from seed on")
    ap.add_argument("--out", required=True, help="output proto root (created; existing .proto files removed)")
    ap.add_argument("--protoc", metavar="PYTHON", help="check every set with PYTHON -m grpc_tools.protoc")
    a = ap.parse_args(argv)
    if a.count is None:
        sets = [(a.out, write_set(a.seed, a.out))]
    else:
        sets = [(os.path.join(a.out, f"r{s}"), write_set(s, os.path.join(a.out, f"r{s}")))
                for s in range(a.seed, a.seed + a.count)]
    if a.protoc:
        import subprocess
        lines = "".join(" ".join([os.path.abspath(root)] + files) + "\n" for root, files in sets)
        return subprocess.run([a.protoc, "-c", PROTOC_CHECK], input=lines, text=True).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
