//! The binary codec of the generated Java message classes: per field, the Java statements that
//! size, write and read it with protobuf-java's `CodedOutputStream` / `CodedInputStream`, as
//! protoc's Java code does (proto3 packs repeated numeric fields; both forms are read).

use crate::model::{Field, FieldType, Label, Model, Scalar};

const COS: &str = "com.google.protobuf.CodedOutputStream";

/// How a field travels besides its type: as a proto2 group (start and end tags around the
/// message instead of a length prefix), and whether a repeated scalar field is packed (proto3's
/// default, or the field's explicit `[packed = ...]`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Wire {
    /// The field is a proto2 group.
    pub group: bool,
    /// A repeated numeric field is written packed.
    pub packed: bool,
}

/// How a value type is written: the protobuf-java method suffix, the wire type, and for messages
/// whether the class is a protobuf-java one (`MessageLite`) or a generated lean class.
#[derive(Debug, Clone)]
enum Value {
    Scalar { suffix: &'static str, read: &'static str, wire: u32, java: Scalar },
    Message { class: String, lite: bool },
    Group { class: String },
}

fn scalar(s: Scalar, proto3: bool) -> Value {
    let (suffix, wire) = match s {
        Scalar::Double => ("Double", 1),
        Scalar::Float => ("Float", 5),
        Scalar::Int32 => ("Int32", 0),
        Scalar::Int64 => ("Int64", 0),
        Scalar::Uint32 => ("UInt32", 0),
        Scalar::Uint64 => ("UInt64", 0),
        Scalar::Sint32 => ("SInt32", 0),
        Scalar::Sint64 => ("SInt64", 0),
        Scalar::Fixed32 => ("Fixed32", 5),
        Scalar::Fixed64 => ("Fixed64", 1),
        Scalar::Sfixed32 => ("SFixed32", 5),
        Scalar::Sfixed64 => ("SFixed64", 1),
        Scalar::Bool => ("Bool", 0),
        Scalar::String => ("String", 2),
        Scalar::Bytes => ("Bytes", 2),
    };
    let read = if s == Scalar::String && proto3 { "StringRequireUtf8" } else { suffix };
    Value::Scalar { suffix, read, wire, java: s }
}

fn value_of(model: &Model, ty: &FieldType, proto3: bool, group: bool, class_of: &dyn Fn(&str) -> String) -> Value {
    match ty {
        FieldType::Message(n) if group => Value::Group { class: class_of(n) },
        FieldType::Scalar(s) => scalar(*s, proto3),
        // Enums travel as their int32 number (open enums keep unknown numbers).
        FieldType::Enum(_) => Value::Scalar { suffix: "Enum", read: "Enum", wire: 0, java: Scalar::Int32 },
        FieldType::Message(n) => {
            Value::Message { class: class_of(n), lite: model.type_info(n).file.starts_with("google/protobuf/") }
        }
        FieldType::Map { .. } => unreachable!("map values are never maps"),
    }
}

impl Value {
    fn wire(&self) -> u32 {
        match self {
            Value::Scalar { wire, .. } => *wire,
            Value::Message { .. } => 2,
            Value::Group { .. } => 3,
        }
    }

    fn packable(&self) -> bool {
        matches!(self, Value::Scalar { wire, .. } if *wire != 2)
    }

    /// The encoded size of `v` with the tag of field `n`.
    fn size(&self, n: i32, v: &str) -> String {
        match self {
            Value::Scalar { suffix, .. } => format!("{COS}.compute{suffix}Size({n}, {v})"),
            Value::Message { lite: true, .. } => format!("{COS}.computeMessageSize({n}, {v})"),
            Value::Message { lite: false, .. } => format!(
                "{COS}.computeTagSize({n}) + {COS}.computeUInt32SizeNoTag({v}.getSerializedSize()) + {v}.getSerializedSize()"
            ),
            Value::Group { .. } => format!("2 * {COS}.computeTagSize({n}) + {v}.getSerializedSize()"),
        }
    }

    /// Statements writing `v` as field `n`.
    fn write(&self, n: i32, v: &str) -> String {
        match self {
            Value::Scalar { suffix, .. } => format!("output.write{suffix}({n}, {v});"),
            Value::Message { lite: true, .. } => format!("output.writeMessage({n}, {v});"),
            Value::Message { lite: false, .. } => format!(
                "output.writeTag({n}, 2);\noutput.writeUInt32NoTag({v}.getSerializedSize());\n{v}.writeTo(output);"
            ),
            Value::Group { .. } => format!("output.writeTag({n}, 3);\n{v}.writeTo(output);\noutput.writeTag({n}, 4);"),
        }
    }

    /// An expression reading one value of field `n` (the tag already read).
    fn read(&self, n: i32) -> String {
        match self {
            Value::Scalar { read, .. } => format!("input.read{read}()"),
            Value::Message { class, lite: true } => {
                format!(
                    "input.readMessage({class}.parser(), com.google.protobuf.ExtensionRegistryLite.getEmptyRegistry())"
                )
            }
            Value::Message { class, lite: false } => {
                format!("dev.micro.sdk.Wire.readMessage(input, {class}::readFrom)")
            }
            Value::Group { class } => format!("dev.micro.sdk.Wire.readGroup(input, {n}, {class}::readFrom)"),
        }
    }

    /// A Java condition true when `v` (a non-presence singular) differs from its default.
    fn non_default(&self, v: &str) -> String {
        match self {
            Value::Scalar { java: Scalar::Double, .. } => format!("java.lang.Double.doubleToRawLongBits({v}) != 0L"),
            Value::Scalar { java: Scalar::Float, .. } => format!("java.lang.Float.floatToRawIntBits({v}) != 0"),
            Value::Scalar { java: Scalar::Bool, .. } => v.to_owned(),
            Value::Scalar { java: Scalar::String | Scalar::Bytes, .. } => format!("!{v}.isEmpty()"),
            Value::Scalar { java, .. } if java.is_64bit_int() => format!("{v} != 0L"),
            Value::Scalar { .. } => format!("{v} != 0"),
            Value::Message { .. } | Value::Group { .. } => format!("{v} != null"),
        }
    }

    /// The default of a map value.
    fn default(&self) -> String {
        match self {
            Value::Scalar { java: Scalar::Double, .. } => "0D".into(),
            Value::Scalar { java: Scalar::Float, .. } => "0F".into(),
            Value::Scalar { java: Scalar::Bool, .. } => "false".into(),
            Value::Scalar { java: Scalar::String, .. } => "\"\"".into(),
            Value::Scalar { java: Scalar::Bytes, .. } => "com.google.protobuf.ByteString.EMPTY".into(),
            Value::Scalar { java, .. } if java.is_64bit_int() => "0L".into(),
            Value::Scalar { .. } => "0".into(),
            Value::Message { class, .. } | Value::Group { class } => format!("{class}.getDefaultInstance()"),
        }
    }
}

/// The tag of field `n` as `CodedInputStream.readTag()` returns it: an `int`, negative for field
/// numbers from 2^28 (the shift overflows as Java's does).
fn tag(n: i32, wire: u32) -> i32 {
    (((n as u32) << 3) | wire) as i32
}

/// `head {`, `body`'s lines indented by two spaces, and `}` (no final newline).
fn block(head: &str, body: &str) -> String {
    let mut out = String::with_capacity(head.len() + body.len() + 32);
    out.push_str(head);
    out.push_str(" {\n");
    let mut empty = true;
    for line in body.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
        empty = false;
    }
    if empty {
        out.push('\n');
    }
    out.push('}');
    out
}

/// The codec statements of one field: (size, write, read cases). `var` is the field's storage
/// (`builder.<var>` when reading); `element` and the map types are the Java storage types;
/// `siblings` are the other members of its oneof, cleared when it is read.
pub(super) struct FieldCodec {
    pub size: String,
    pub write: String,
    pub read: String,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn field_codec(
    model: &Model,
    f: &Field,
    proto3: bool,
    wire: Wire,
    var: &str,
    element: &str,
    map_types: Option<(&str, &str)>,
    siblings: &[String],
    class_of: &dyn Fn(&str) -> String,
) -> FieldCodec {
    let n = f.number;
    match (&f.label, &f.ty) {
        (Label::Map, FieldType::Map { key, value }) => {
            let k = scalar(*key, proto3);
            let v = value_of(model, value, proto3, false, class_of);
            let (kt, vt) = map_types.expect("map types");
            let entry = format!("{} + {}", k.size(1, "e.getKey()"), v.size(2, "e.getValue()"));
            let each = format!("for (java.util.Map.Entry<{kt}, {vt}> e : {var}.entrySet())");
            let size = block(
                &each,
                &format!(
                    "int entry = {entry};\nsize += {COS}.computeTagSize({n}) + {COS}.computeUInt32SizeNoTag(entry) + entry;"
                ),
            );
            let write = block(
                &each,
                &format!(
                    "int entry = {entry};\noutput.writeTag({n}, 2);\noutput.writeUInt32NoTag(entry);\n{}\n{}",
                    k.write(1, "e.getKey()"),
                    v.write(2, "e.getValue()")
                ),
            );
            let loop_body = format!(
                "int t = input.readTag();\nif (t == 0) {{\n  break;\n}} else if (t == {}) {{\n  key = {};\n}} else if (t == {}) {{\n  value = {};\n}} else if (!input.skipField(t)) {{\n  break;\n}}",
                tag(1, k.wire()),
                k.read(1),
                tag(2, v.wire()),
                v.read(2)
            );
            let read = format!(
                "case {}: {{\n  int limit = input.pushLimit(input.readRawVarint32());\n  {kt} key = {};\n  {vt} value = {};\n{}\n  input.checkLastTagWas(0);\n  input.popLimit(limit);\n  builder.{var}.put(key, value);\n  break;\n}}",
                tag(n, 2),
                k.default(),
                v.default(),
                block("while (true)", &loop_body).lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
            );
            FieldCodec { size, write, read }
        }
        (Label::Repeated, ty) => {
            let v = value_of(model, ty, proto3, wire.group, class_of);
            let each = format!("for ({element} e : {var})");
            let (size, write) = if v.packable() && wire.packed {
                let Value::Scalar { suffix, .. } = &v else { unreachable!() };
                let data = block(&each, &format!("data += {COS}.compute{suffix}SizeNoTag(e);"));
                (
                    block(
                        &format!("if (!{var}.isEmpty())"),
                        &format!(
                            "int data = 0;\n{data}\nsize += {COS}.computeTagSize({n}) + {COS}.computeUInt32SizeNoTag(data) + data;"
                        ),
                    ),
                    block(
                        &format!("if (!{var}.isEmpty())"),
                        &format!(
                            "int data = 0;\n{data}\noutput.writeTag({n}, 2);\noutput.writeUInt32NoTag(data);\n{}",
                            block(&each, &format!("output.write{suffix}NoTag(e);"))
                        ),
                    ),
                )
            } else {
                (block(&each, &format!("size += {};", v.size(n, "e"))), block(&each, &v.write(n, "e")))
            };
            let mut read = format!("case {}:\n  builder.{var}.add({});\n  break;", tag(n, v.wire()), v.read(n));
            if v.packable() {
                read.push_str(&format!(
                    "\ncase {}: {{\n  int limit = input.pushLimit(input.readRawVarint32());\n  while (input.getBytesUntilLimit() > 0) {{\n    builder.{var}.add({});\n  }}\n  input.popLimit(limit);\n  break;\n}}",
                    tag(n, 2),
                    v.read(n)
                ));
            }
            FieldCodec { size, write, read }
        }
        (label, ty) => {
            let v = value_of(model, ty, proto3, wire.group, class_of);
            let presence = super::has_presence(*label, ty, proto3);
            let cond = if presence { format!("{var} != null") } else { v.non_default(var) };
            let size = block(&format!("if ({cond})"), &format!("size += {};", v.size(n, var)));
            let write = block(&format!("if ({cond})"), &v.write(n, var));
            // A message field that occurs twice is merged, as protobuf does.
            let read = match &v {
                Value::Message { class, lite: false } => {
                    format!(
                        "dev.micro.sdk.Wire.mergeMessage(input, builder.{var}, {class}::readFrom, {class}::toByteArray)"
                    )
                }
                Value::Message { lite: true, .. } => {
                    format!(
                        "builder.{var} == null ? {r} : builder.{var}.toBuilder().mergeFrom({r}).build()",
                        r = v.read(n)
                    )
                }
                Value::Group { class } => {
                    format!(
                        "dev.micro.sdk.Wire.mergeGroup(input, {n}, builder.{var}, {class}::readFrom, {class}::toByteArray)"
                    )
                }
                Value::Scalar { .. } => v.read(n),
            };
            let mut body = format!("builder.{var} = {read};");
            for s in siblings {
                body.push_str(&format!("\nbuilder.{s} = null;"));
            }
            let read = format!(
                "case {}:\n{}\n  break;",
                tag(n, v.wire()),
                body.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
            );
            FieldCodec { size, write, read }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_wire_types() {
        assert_eq!(tag(1, 2), 10);
        assert_eq!(tag(15, 0), 120);
        assert_eq!(tag(536_870_911, 2), -6, "the largest field number");
        assert_eq!(tag(268_435_456, 0), i32::MIN);
        assert_eq!(scalar(Scalar::Sfixed64, true).wire(), 1);
        assert_eq!(scalar(Scalar::Float, true).wire(), 5);
        assert!(scalar(Scalar::Bool, true).packable());
        assert!(!scalar(Scalar::Bytes, true).packable());
        assert_eq!(scalar(Scalar::String, true).read(1), "input.readStringRequireUtf8()");
        assert_eq!(scalar(Scalar::String, false).read(1), "input.readString()");
        assert_eq!(scalar(Scalar::Double, true).non_default("x_"), "java.lang.Double.doubleToRawLongBits(x_) != 0L");
    }

    #[test]
    fn groups_travel_between_start_and_end_tags() {
        let g = Value::Group { class: "a.G".into() };
        assert_eq!(g.wire(), 3);
        assert_eq!(g.write(8, "g_"), "output.writeTag(8, 3);\ng_.writeTo(output);\noutput.writeTag(8, 4);");
        assert_eq!(g.read(8), "dev.micro.sdk.Wire.readGroup(input, 8, a.G::readFrom)");
        assert!(g.size(8, "g_").starts_with("2 * "));
    }
}
