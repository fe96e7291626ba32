//! The Java view model.
//!
//! Output layout (`sdks/java`, a Maven project): `src/main/java/dev/micro/sdk/` holds the runtime
//! (`Micro`, `MicroOptions`, `RetryPolicy`, `RequestOptions`, `MicroException`, `Transport`, `Wire`,
//! `Dyn`, `MicroMessage`); each proto package becomes the Java package `dev.micro.sdk.<package>`
//! with one class per top-level message and enum, a `<Stem>Proto` class per proto file holding the
//! embedded file descriptor, and a `<Service>Client` per service.
//!
//! Messages are lean, immutable classes (typed fields, builders, `equals`/`hashCode`). Their
//! binary form is generated code on protobuf-java's `CodedOutputStream`/`CodedInputStream`
//! (`codec.rs`: the statements per field, as protoc's Java code writes them); their JSON form goes
//! through a `DynamicMessage` of the embedded descriptor and `JsonFormat` (whose type registry,
//! built in `Dyn`, holds every message of the SDK's files and the well-known types, so a
//! `google.protobuf.Any` of any of them prints and parses), so no `protoc` and no
//! `GeneratedMessageV3` machinery is needed. proto2 `optional` fields have presence, and their
//! getters fall back to the descriptor's default (`[default = ...]`).

mod codec;
pub mod names;

use serde_json::{Value, json};

use crate::config::SdkOptions;
use crate::error::{Error, Result};
use crate::lang::{escape_block_comment, example_service, generator_name, service_accessors};
use crate::model::{Comments, Enum, Field, FieldType, File, Label, Message, Model, Scalar, StreamingKind, Syntax};
use crate::render::Plan;

use names::*;

/// The Maven coordinates used when none are configured.
pub const DEFAULT_PACKAGE_NAME: &str = "dev.micro:micro-sdk";
/// The Java package of the runtime; proto packages go below it.
pub const BASE_PACKAGE: &str = "dev.micro.sdk";

/// The Java package of a proto package (`acme.shop.v1` → `dev.micro.sdk.acme.shop.v1`).
fn java_package(proto_package: &str) -> String {
    if proto_package.is_empty() {
        return format!("{BASE_PACKAGE}.proto");
    }
    let segments: Vec<String> = proto_package.split('.').map(package_segment).collect();
    format!("{BASE_PACKAGE}.{}", segments.join("."))
}

/// The class holding a proto file's descriptor (`store/store.proto` → `StoreProto`).
fn outer_class(proto: &str) -> String {
    use heck::ToUpperCamelCase;
    let stem = proto.rsplit('/').next().unwrap_or(proto).trim_end_matches(".proto");
    format!("{}Proto", stem.to_upper_camel_case())
}

/// The protobuf-java class holding a well-known type file's descriptor.
fn wkt_outer(proto: &str) -> Option<&'static str> {
    Some(match proto.strip_prefix("google/protobuf/")? {
        "any.proto" => "AnyProto",
        "api.proto" => "ApiProto",
        "descriptor.proto" => "DescriptorProtos",
        "duration.proto" => "DurationProto",
        "empty.proto" => "EmptyProto",
        "field_mask.proto" => "FieldMaskProto",
        "source_context.proto" => "SourceContextProto",
        "struct.proto" => "StructProto",
        "timestamp.proto" => "TimestampProto",
        "type.proto" => "TypeProto",
        "wrappers.proto" => "WrappersProto",
        _ => return None,
    })
}

/// The expression of a proto file's `FileDescriptor`.
fn file_descriptor_expr(model: &Model, proto: &str) -> Result<String> {
    if proto.starts_with("google/protobuf/") {
        return wkt_outer(proto)
            .map(|o| format!("com.google.protobuf.{o}.getDescriptor()"))
            .ok_or_else(|| Error::invalid(format!("java: unsupported well-known file {proto}")));
    }
    let file = model.file(proto).ok_or_else(|| Error::invalid(format!("java: unknown file {proto}")))?;
    Ok(format!("{}.{}.getDescriptor()", java_package(&file.package), outer_class(proto)))
}

/// The fully-qualified Java class of a message or enum.
fn class_of(model: &Model, full_name: &str) -> String {
    let info = model.type_info(full_name);
    if info.file == "google/protobuf/descriptor.proto" {
        return format!("com.google.protobuf.DescriptorProtos.{}", info.nesting.join("."));
    }
    if info.file.starts_with("google/protobuf/") {
        return format!("com.google.protobuf.{}", info.nesting.join("."));
    }
    let package = model.file(&info.file).map(|f| f.package.as_str()).unwrap_or_default();
    let nested: Vec<String> = info.nesting.iter().map(|n| type_name(n)).collect();
    format!("{}.{}", java_package(package), nested.join("."))
}

/// A Java string literal of `data` read as ISO-8859-1, split into lines of at most 80 bytes.
fn bytes_literals(data: &[u8]) -> Vec<String> {
    data.chunks(80)
        .map(|chunk| {
            let mut out = String::from("\"");
            for &b in chunk {
                match b {
                    b'\\' => out.push_str("\\\\"),
                    b'"' => out.push_str("\\\""),
                    0x20..=0x7e => out.push(b as char),
                    _ => out.push_str(&format!("\\{b:03o}")),
                }
            }
            out.push('"');
            out
        })
        .collect()
}

/// Javadoc lines: `*/` cannot end the comment, HTML specials are escaped, `@` cannot start a tag.
fn doc(comments: &Comments, deprecated: bool) -> Vec<String> {
    let mut lines: Vec<String> = comments
        .doc_lines()
        .iter()
        .map(|l| {
            escape_block_comment(&l.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"))
                .replace('@', "&#64;")
        })
        .collect();
    // A blank line starts a new paragraph, which Javadoc (HTML) only sees with <p>.
    for i in 1..lines.len() {
        if lines[i].is_empty() && !lines[i - 1].is_empty() && lines.get(i + 1).is_some_and(|l| !l.is_empty()) {
            lines[i] = "<p>".to_owned();
        }
    }
    if deprecated {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push("@deprecated this element is deprecated in the proto definition.".to_owned());
    }
    lines
}

fn scalar_types(s: Scalar) -> (&'static str, &'static str, &'static str) {
    // (java type, boxed type, default)
    match s {
        Scalar::Double => ("double", "Double", "0D"),
        Scalar::Float => ("float", "Float", "0F"),
        Scalar::Bool => ("boolean", "Boolean", "false"),
        Scalar::String => ("String", "String", "\"\""),
        Scalar::Bytes => {
            ("com.google.protobuf.ByteString", "com.google.protobuf.ByteString", "com.google.protobuf.ByteString.EMPTY")
        }
        s if s.is_64bit_int() => ("long", "Long", "0L"),
        _ => ("int", "Integer", "0"),
    }
}

/// Whether a singular field has explicit presence (a nullable store and `hasX()`): message
/// fields, proto3 `optional` and oneof members, and every proto2 `optional` or `required` field.
fn has_presence(label: Label, ty: &FieldType, proto3: bool) -> bool {
    matches!(ty, FieldType::Message(_))
        || matches!(label, Label::Optional | Label::Required)
        || (!proto3 && label == Label::Singular)
}

/// The conversion of a message value read from a `DynamicMessage` into its Java class.
fn from_dynamic(model: &Model, ty: &FieldType) -> String {
    match ty {
        FieldType::Message(n) => {
            let class = class_of(model, n);
            if model.type_info(n).file.starts_with("google/protobuf/") {
                format!("m -> {class}.newBuilder().mergeFrom(m).build()")
            } else {
                format!("{class}::fromDynamic")
            }
        }
        _ => "null".to_owned(),
    }
}

fn field_view(model: &Model, m: &Message, f: &Field, proto3: bool) -> Value {
    let stem = property_stem(&f.name);
    let var = format!("{}_", f.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    let mut v = json!({
        "proto_name": f.name,
        "number": f.number,
        "stem": stem,
        "var": var,
        "doc": doc(&f.comments, f.deprecated),
        "deprecated": f.deprecated,
        "from_dynamic": from_dynamic(model, match &f.ty { FieldType::Map { value, .. } => value, t => t }),
        "oneof_const": Value::Null,
        "oneof_stem": Value::Null,
        "siblings": Value::Array(vec![]),
    });
    if let Some(i) = f.oneof {
        let group = &m.oneofs[i];
        v["oneof_const"] = json!(f.name.to_uppercase());
        v["oneof_stem"] = json!(property_stem(&group.name));
        v["siblings"] = json!(
            m.fields
                .iter()
                .filter(|o| o.oneof == Some(i) && o.number != f.number)
                .map(|o| format!("{}_", o.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")))
                .collect::<Vec<_>>()
        );
    }
    match (&f.label, &f.ty) {
        (Label::Map, FieldType::Map { key, value }) => {
            let (_, kb, _) = scalar_types(*key);
            let vb = match value.as_ref() {
                FieldType::Scalar(s) => scalar_types(*s).1.to_owned(),
                FieldType::Enum(_) => "Integer".to_owned(),
                FieldType::Message(n) => class_of(model, n),
                FieldType::Map { .. } => unreachable!("map values are never maps"),
            };
            v["kind"] = json!("map");
            v["key_type"] = json!(kb);
            v["value_type"] = json!(vb);
            v["enum_values"] = json!(matches!(value.as_ref(), FieldType::Enum(_)));
        }
        (Label::Repeated, ty) => {
            v["kind"] = json!("list");
            match ty {
                FieldType::Enum(n) => {
                    v["is_enum"] = json!(true);
                    v["enum_type"] = json!(class_of(model, n));
                    v["element_type"] = json!("Integer");
                }
                FieldType::Message(n) => {
                    v["is_enum"] = json!(false);
                    v["element_type"] = json!(class_of(model, n));
                }
                FieldType::Scalar(s) => {
                    v["is_enum"] = json!(false);
                    v["element_type"] = json!(scalar_types(*s).1);
                }
                FieldType::Map { .. } => unreachable!(),
            }
        }
        (label, ty) => {
            let presence = has_presence(*label, ty, proto3);
            v["kind"] = json!("single");
            v["presence"] = json!(presence);
            let (java, boxed, default, is_enum, enum_type) = match ty {
                FieldType::Scalar(s) => {
                    let (j, b, d) = scalar_types(*s);
                    (j.to_owned(), b.to_owned(), d.to_owned(), false, String::new())
                }
                FieldType::Enum(n) => {
                    ("int".to_owned(), "Integer".to_owned(), "0".to_owned(), true, class_of(model, n))
                }
                FieldType::Message(n) => {
                    let c = class_of(model, n);
                    (c.clone(), c.clone(), format!("{c}.getDefaultInstance()"), false, String::new())
                }
                FieldType::Map { .. } => unreachable!(),
            };
            // proto2 defaults (`[default = ...]`, else the first enum value) come from the
            // descriptor, which protobuf-java has already parsed.
            let (default, enum_default) = match ty {
                FieldType::Scalar(_) if !proto3 => (
                    format!("(({boxed}) getDescriptor().findFieldByNumber({}).getDefaultValue())", f.number),
                    "0".to_owned(),
                ),
                FieldType::Enum(_) if !proto3 => {
                    let e = format!(
                        "((com.google.protobuf.Descriptors.EnumValueDescriptor) getDescriptor().findFieldByNumber({}).getDefaultValue()).getNumber()",
                        f.number
                    );
                    (e.clone(), e)
                }
                _ => (default, "0".to_owned()),
            };
            v["enum_default"] = json!(enum_default);
            // Storage: the primitive without presence, the boxed type (null = unset) with it.
            v["store_type"] = json!(if presence { boxed.clone() } else { java.clone() });
            v["java_type"] = json!(java);
            v["boxed_type"] = json!(boxed);
            v["default"] = json!(default);
            v["is_enum"] = json!(is_enum);
            v["enum_type"] = json!(enum_type);
            v["is_message"] = json!(matches!(ty, FieldType::Message(_)));
            v["nullable_store"] = json!(presence || matches!(ty, FieldType::Scalar(Scalar::String | Scalar::Bytes)));
        }
    }
    let element = v["element_type"].as_str().unwrap_or_default().to_owned();
    let key_type = v["key_type"].as_str().unwrap_or_default().to_owned();
    let value_type = v["value_type"].as_str().unwrap_or_default().to_owned();
    let map_types = if f.label == Label::Map { Some((key_type.as_str(), value_type.as_str())) } else { None };
    let siblings: Vec<String> =
        v["siblings"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect();
    let var = v["var"].as_str().unwrap_or_default().to_owned();
    let class = |n: &str| class_of(model, n);
    let codec = codec::field_codec(model, f, proto3, &var, &element, map_types, &siblings, &class);
    v["size_code"] = json!(codec.size.lines().collect::<Vec<_>>());
    v["write_code"] = json!(codec.write.lines().collect::<Vec<_>>());
    v["read_code"] = json!(codec.read.lines().collect::<Vec<_>>());
    v
}

fn enum_view(e: &Enum, modifier: &str, descriptor: String) -> Value {
    json!({
        "name": type_name(&e.name),
        "modifier": modifier,
        "doc": doc(&e.comments, e.deprecated),
        "descriptor": descriptor,
        "deprecated": e.deprecated,
        "values": e.values.iter().map(|v| json!({
            "name": constant_name(&v.name),
            "number": v.number,
            "doc": doc(&v.comments, v.deprecated),
            "deprecated": v.deprecated,
        })).collect::<Vec<_>>(),
    })
}

fn message_view(model: &Model, m: &Message, proto3: bool, modifier: &str, descriptor: String) -> Value {
    let class = class_of(model, &m.full_name);
    let fields: Vec<Value> = m.fields.iter().map(|f| field_view(model, m, f, proto3)).collect();
    let oneofs: Vec<Value> = m
        .oneofs
        .iter()
        .enumerate()
        .filter(|(i, _)| m.fields.iter().any(|f| f.oneof == Some(*i)))
        .map(|(i, o)| {
            json!({
                "stem": property_stem(&o.name),
                "none_const": format!("{}_NOT_SET", o.name.to_uppercase()),
                "members": m.fields.iter().filter(|f| f.oneof == Some(i)).map(|f| json!({
                    "const": f.name.to_uppercase(),
                    "number": f.number,
                    "var": format!("{}_", f.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "name": type_name(&m.name),
        "class": class,
        "modifier": modifier,
        "doc": doc(&m.comments, m.deprecated),
        "deprecated": m.deprecated,
        "descriptor": descriptor,
        "full_name": m.full_name,
        "fields": fields,
        "oneofs": oneofs,
        "messages": m.messages.iter().map(|n| message_view(model, n, proto3, "public static final class", format!("{class}.getDescriptor().findNestedTypeByName(\"{}\")", n.name))).collect::<Vec<_>>(),
        "enums": m.enums.iter().map(|e| enum_view(e, "public enum", format!("{class}.getDescriptor().findEnumTypeByName(\"{}\")", e.name))).collect::<Vec<_>>(),
    })
}

/// Builds the Java plan.
pub(crate) fn plan(model: &Model, options: &SdkOptions) -> Result<Plan> {
    let version = options.version.clone();
    let package_name = options.package_name.clone().unwrap_or_else(|| DEFAULT_PACKAGE_NAME.to_owned());
    let (group_id, artifact_id) = package_name
        .split_once(':')
        .filter(|(g, a)| {
            [g, a]
                .iter()
                .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        })
        .ok_or_else(|| Error::invalid(format!("java: package name '{package_name}' is not groupId:artifactId")))?;
    let accessors = service_accessors(model);
    let mut renders = Vec::new();
    let mut services = Vec::new();
    let mut descriptor_files = Vec::new();
    for file in model.targets() {
        let package = java_package(&file.package);
        let dir = format!("src/main/java/{}", package.replace('.', "/"));
        let outer = outer_class(&file.name);
        descriptor_files.push(format!("{package}.{outer}.getDescriptor()"));
        let deps = file.dependencies.iter().map(|d| file_descriptor_expr(model, d)).collect::<Result<Vec<_>>>()?;
        let header = json!({ "generator": generator_name(), "proto_name": file.name, "package": package });
        let mut outer_view = header.clone();
        outer_view["class"] = json!(outer);
        outer_view["doc"] = json!(doc(&file.comments, false));
        outer_view["descriptor_literals"] = json!(bytes_literals(&file.descriptor));
        outer_view["dependencies"] = json!(deps);
        renders.push(("proto/outer.java.hbs".to_owned(), format!("{dir}/{outer}.java"), outer_view));
        for m in &file.messages {
            let mut view = header.clone();
            view["message"] = message_view(
                model,
                m,
                file.syntax == Syntax::Proto3,
                "public final class",
                format!("{package}.{outer}.getDescriptor().findMessageTypeByName(\"{}\")", m.name),
            );
            renders.push(("proto/message.java.hbs".to_owned(), format!("{dir}/{}.java", type_name(&m.name)), view));
        }
        for e in &file.enums {
            let mut view = header.clone();
            view["enum"] = enum_view(
                e,
                "public enum",
                format!("{package}.{outer}.getDescriptor().findEnumTypeByName(\"{}\")", e.name),
            );
            renders.push(("proto/enum.java.hbs".to_owned(), format!("{dir}/{}.java", type_name(&e.name)), view));
        }
        for s in &file.services {
            let view = client_view(model, file, s, &accessors[&s.full_name], &header);
            let class = view["client_class"].as_str().unwrap_or_default().to_owned();
            let mut entry = view.clone();
            entry["qualified_class"] = json!(format!("{package}.{class}"));
            services.push(entry);
            renders.push(("proto/client.java.hbs".to_owned(), format!("{dir}/{class}.java"), view));
        }
    }
    services.sort_by(|a, b| a["accessor"].as_str().cmp(&b["accessor"].as_str()));
    // The usage example calls a method, so it shows a service that has one.
    let with_methods: Vec<Value> =
        services.iter().filter(|s| s["methods"].as_array().is_some_and(|m| !m.is_empty())).cloned().collect();
    let mut root = json!({
        "package_name": package_name,
        "group_id": group_id,
        "artifact_id": artifact_id,
        "java_package": BASE_PACKAGE,
        "version": version,
        "user_agent": format!("micro-sdk-java/{version}"),
        "generator": generator_name(),
        "services": services,
        "descriptor_files": descriptor_files,
        "example_service": example_service(&with_methods).unwrap_or(Value::Null),
    });
    crate::lang::stamp_identity(
        &mut root,
        options,
        &format!("Typed gRPC clients for Micro services, generated by {}.", generator_name()),
    );
    Ok(Plan { root, package_dir: BASE_PACKAGE.replace('.', "/"), renders, files: Vec::new(), formatter: None })
}

fn client_view(model: &Model, file: &File, s: &crate::model::Service, base: &str, header: &Value) -> Value {
    let mut taken = std::collections::BTreeSet::new();
    let methods: Vec<Value> = s
        .methods
        .iter()
        .map(|m| {
            let mut name = member_name(&m.name);
            while !taken.insert(name.clone()) || taken.contains(&format!("{name}Async")) {
                name.push('_');
            }
            taken.insert(format!("{name}Async"));
            json!({
                "name": name,
                "proto_name": m.name,
                "const": format!("METHOD_{}", heck::ToShoutySnakeCase::to_shouty_snake_case(m.name.as_str())),
                "kind": match m.kind {
                    StreamingKind::Unary => "unary",
                    StreamingKind::ServerStreaming => "server_streaming",
                    StreamingKind::ClientStreaming => "client_streaming",
                    StreamingKind::Bidi => "bidi",
                },
                "grpc_type": match m.kind {
                    StreamingKind::Unary => "UNARY",
                    StreamingKind::ServerStreaming => "SERVER_STREAMING",
                    StreamingKind::ClientStreaming => "CLIENT_STREAMING",
                    StreamingKind::Bidi => "BIDI_STREAMING",
                },
                "unary": matches!(m.kind, StreamingKind::Unary),
                "server_streaming": matches!(m.kind, StreamingKind::ServerStreaming),
                "client_streaming": matches!(m.kind, StreamingKind::ClientStreaming | StreamingKind::Bidi),
                "input": class_of(model, &m.input),
                "output": class_of(model, &m.output),
                "doc": doc(&m.comments, m.deprecated),
                "deprecated": m.deprecated,
            })
        })
        .collect();
    let _ = file;
    let mut v = header.clone();
    v["client_class"] = json!(type_name(&format!("{}Client", heck::ToUpperCamelCase::to_upper_camel_case(base))));
    v["accessor"] = json!(member_name(base));
    v["full_name"] = json!(s.full_name);
    v["doc"] = json!(doc(&s.comments, s.deprecated));
    v["deprecated"] = json!(s.deprecated);
    v["methods"] = json!(methods);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_and_outer_classes() {
        assert_eq!(java_package("store"), "dev.micro.sdk.store");
        assert_eq!(java_package("acme.shop.v1"), "dev.micro.sdk.acme.shop.v1");
        assert_eq!(java_package("a.class.import"), "dev.micro.sdk.a.class_.import_");
        assert_eq!(outer_class("store/store.proto"), "StoreProto");
        assert_eq!(outer_class("acme/shop/v1/blob_store.proto"), "BlobStoreProto");
        assert_eq!(wkt_outer("google/protobuf/timestamp.proto"), Some("TimestampProto"));
    }

    #[test]
    fn descriptor_literals_escape_everything_unsafe() {
        assert_eq!(bytes_literals(b"a\"\\\n\x00\xff"), vec!["\"a\\\"\\\\\\012\\000\\377\"".to_owned()]);
        assert_eq!(bytes_literals(&[b'x'; 81]).len(), 2);
    }

    #[test]
    fn core_plan_has_every_service_and_maven_coordinates() {
        use crate::load::{ProtoSource, load};
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        assert_eq!(plan.root["group_id"], "dev.micro");
        assert_eq!(plan.root["artifact_id"], "micro-sdk");
        assert_eq!(plan.root["user_agent"], "micro-sdk-java/0.1.0");
        let services = plan.root["services"].as_array().unwrap();
        assert_eq!(services.len(), 19);
        let store = services.iter().find(|s| s["full_name"] == "store.Store").unwrap();
        assert_eq!(store["accessor"], "store");
        assert_eq!(store["qualified_class"], "dev.micro.sdk.store.StoreClient");
        let events = services.iter().find(|s| s["full_name"] == "events.Store").unwrap();
        assert_eq!(events["accessor"], "eventsStore");
        assert!(
            plan.renders.iter().any(
                |(t, p, _)| t == "proto/outer.java.hbs" && p == "src/main/java/dev/micro/sdk/store/StoreProto.java"
            )
        );
        let bad = SdkOptions { package_name: Some("no-colon".into()), ..SdkOptions::default() };
        assert!(plan_err(&model, &bad));
        let bad = SdkOptions { package_name: Some("a:b:c".into()), ..SdkOptions::default() };
        assert!(plan_err(&model, &bad));
        let ok = SdkOptions { package_name: Some("com.acme:acme-micro".into()), ..SdkOptions::default() };
        assert_eq!(super::plan(&model, &ok).unwrap().root["group_id"], "com.acme");
    }

    #[test]
    fn any_registry_and_example_cover_the_plan() {
        use crate::load::{ProtoSource, load};
        let model = Model::build(&load(&ProtoSource::Bundled).unwrap()).unwrap();
        let plan = plan(&model, &SdkOptions::default()).unwrap();
        let files = plan.root["descriptor_files"].as_array().unwrap();
        assert!(files.iter().any(|f| f == "dev.micro.sdk.store.StoreProto.getDescriptor()"));
        assert_eq!(files.len(), model.targets().count());
        assert_eq!(plan.root["example_service"]["full_name"], "store.Store");
    }

    #[test]
    fn proto2_singular_fields_have_presence() {
        let int = FieldType::Scalar(Scalar::Int32);
        assert!(!has_presence(Label::Singular, &int, true));
        assert!(has_presence(Label::Singular, &int, false));
        assert!(has_presence(Label::Optional, &int, true));
        assert!(has_presence(Label::Required, &int, false));
        assert!(has_presence(Label::Singular, &FieldType::Message("a.B".into()), true));
    }

    #[test]
    fn proto2_files_and_services_without_methods_render() {
        use crate::load::{ProtoSource, load};
        let source = "syntax = \"proto2\";\npackage p2;\nenum Mode { MODE_A = 1; MODE_B = 2; }\n\
                      message Old {\n  optional int32 count = 1 [default = 7];\n  optional Mode mode = 2;\n\
                      required int64 id = 3;\n}\nservice Nothing {}\nservice Real { rpc Get(Old) returns (Old); }\n";
        let files = vec![("p2/old.proto".to_owned(), source.to_owned())];
        let model = Model::build(&load(&ProtoSource::Memory { files }).unwrap()).unwrap();
        let templates = crate::render::TemplateSet::embedded("java");
        let out = crate::generate(&model, crate::lang::Language::Java, &SdkOptions::default(), &templates).unwrap();
        let text = |path: &str| out.iter().find(|f| f.path == path).map(|f| f.contents.clone()).unwrap();
        let old = text("src/main/java/dev/micro/sdk/p2/Old.java");
        assert!(old.contains("public boolean hasCount()"));
        assert!(old.contains("((Integer) getDescriptor().findFieldByNumber(1).getDefaultValue())"));
        assert!(old.contains("getDescriptor().findFieldByNumber(2).getDefaultValue()).getNumber()"));
        assert!(text("src/main/java/dev/micro/sdk/Micro.java").contains("micro.real().get(...)"));
        assert!(out.iter().any(|f| f.path == "src/main/java/dev/micro/sdk/p2/NothingClient.java"));
    }

    fn plan_err(model: &Model, options: &SdkOptions) -> bool {
        super::plan(model, options).is_err()
    }

    #[test]
    fn javadoc_is_escaped() {
        let c = Comments { leading: Some(" a */ <b> & @c\n".into()), ..Default::default() };
        assert_eq!(doc(&c, false), vec!["a *\\/ &lt;b&gt; &amp; &#64;c"]);
        let c = Comments { leading: Some(" one\n\n two\n".into()), ..Default::default() };
        assert_eq!(
            doc(&c, true),
            vec!["one", "<p>", "two", "", "@deprecated this element is deprecated in the proto definition."]
        );
    }
}
