//! The per-field parts of the generated Java message classes: the message's accessors (`hasX()`,
//! `getX()`, `getXValue()`, `getXList()`, `getXMap()`), its builder's setters (`setX()`, `addX()`,
//! `addAllX()`, `putX()`, `putAllX()`, `clearX()`), and every other place a class lists its fields
//! (members, constructor, `toBuilder()`, `toDynamic()`/`fromDynamic()`, the codec's statements from
//! [`super::codec`], `isInitialized()`, `equals()`, `hashCode()`). [`sections`] joins each over a
//! message's fields into one string that the `message` partial places (`{{field_decls}}`,
//! `{{accessors}}`, `{{builder_methods}}`, ...); the partial keeps the class's own code.
//!
//! They are written here rather than in the partial because there are many per field and every
//! message has them: handlebars spends one to three microseconds on each `{{#each}}` element,
//! `{{value}}` and `{{#if}}` it evaluates, and the partial's fourteen per-field loops were more than
//! half of the Java SDK's rendering on the 10,000-message benchmark set (bench/README.md). The text
//! is what those loops produced, byte for byte, indented for the class body (members at 2 spaces,
//! builder members and statements at 4). The message view still lists its fields (`fields`: proto
//! name, number, accessor stem, storage variable, member type, kind, javadoc) for templates that
//! lay fields out their own way.

/// A field as its members need it (names as the view model has them, already escaped).
pub(super) struct Member<'a> {
    /// The proto field name (for `{@code ...}` and `requireNonNull` messages).
    pub proto_name: &'a str,
    /// The accessor stem (`Title` in `getTitle()`).
    pub stem: &'a str,
    /// The storage variable (`title_`).
    pub var: &'a str,
    /// Javadoc lines (escaped), empty for none.
    pub doc: &'a [String],
    /// Deprecated in the proto definition.
    pub deprecated: bool,
    /// The storage variables of the other members of the field's oneof (cleared by its setter).
    pub siblings: &'a [String],
    /// The field's kind and types.
    pub kind: Kind<'a>,
}

/// A field's kind with the Java types its members use.
pub(super) enum Kind<'a> {
    /// A singular field.
    Single {
        /// Explicit presence: a nullable store and `hasX()`.
        presence: bool,
        /// The getter's type (`int` for enums, whose getter returns `enum_type`).
        java_type: &'a str,
        /// The enum class, for enum fields.
        enum_type: Option<&'a str>,
        /// The value of an unset field (a Java expression).
        default: &'a str,
        /// The number of an unset enum field (a Java expression).
        enum_default: &'a str,
        /// The setter rejects `null`.
        nullable_store: bool,
    },
    /// A repeated field.
    List {
        /// The enum class, for enum fields (then elements are `java.lang.Integer` numbers).
        enum_type: Option<&'a str>,
        /// The element type.
        element_type: &'a str,
    },
    /// A map field.
    Map {
        /// The boxed key type.
        key_type: &'a str,
        /// The boxed value type.
        value_type: &'a str,
    },
}

/// Appends `parts` and a newline.
fn line(out: &mut String, parts: &[&str]) {
    for part in parts {
        out.push_str(part);
    }
    out.push('\n');
}

/// The javadoc (at 2 spaces) and `@Deprecated` of an accessor.
fn doc_block(out: &mut String, m: &Member<'_>) {
    if !m.doc.is_empty() {
        out.push_str("  /**\n");
        crate::lang::push_doc_lines(out, m.doc, "   * ");
        out.push_str("   */\n");
    }
    if m.deprecated {
        out.push_str("  @java.lang.Deprecated\n");
    }
}

/// The message's accessors of field `m`, from the javadoc to the last method's closing brace
/// (no final newline).
pub(super) fn accessors(m: &Member<'_>) -> String {
    let Member { stem, var, .. } = *m;
    let mut out = String::with_capacity(512);
    doc_block(&mut out, m);
    match m.kind {
        Kind::Single { presence, java_type, enum_type, default, enum_default, .. } => {
            if presence {
                line(&mut out, &["  public boolean has", stem, "() {"]);
                line(&mut out, &["    return ", var, " != null;"]);
                out.push_str("  }\n\n");
                doc_block(&mut out, m);
            }
            let value = |out: &mut String, default: &str| {
                if presence {
                    line(out, &["    return ", var, " == null ? ", default, " : ", var, ";"]);
                } else {
                    line(out, &["    return ", var, ";"]);
                }
            };
            match enum_type {
                Some(e) => {
                    line(&mut out, &["  public ", e, " get", stem, "() {"]);
                    line(&mut out, &["    ", e, " value = ", e, ".forNumber(get", stem, "Value());"]);
                    line(&mut out, &["    return value == null ? ", e, ".UNRECOGNIZED : value;"]);
                    out.push_str("  }\n\n");
                    line(
                        &mut out,
                        &["  /** The number of {@link #get", stem, "()}, also when this version does not know it. */"],
                    );
                    line(&mut out, &["  public int get", stem, "Value() {"]);
                    value(&mut out, enum_default);
                }
                None => {
                    line(&mut out, &["  public ", java_type, " get", stem, "() {"]);
                    value(&mut out, default);
                }
            }
        }
        Kind::List { enum_type: Some(e), .. } => {
            line(&mut out, &["  public java.util.List<", e, "> get", stem, "List() {"]);
            line(&mut out, &["    java.util.List<", e, "> out = new java.util.ArrayList<>(", var, ".size());"]);
            line(&mut out, &["    for (java.lang.Integer number : ", var, ") {"]);
            line(&mut out, &["      ", e, " value = ", e, ".forNumber(number);"]);
            line(&mut out, &["      out.add(value == null ? ", e, ".UNRECOGNIZED : value);"]);
            out.push_str("    }\n    return java.util.Collections.unmodifiableList(out);\n  }\n\n");
            line(&mut out, &["  /** The numbers of {@link #get", stem, "List()}. */"]);
            line(&mut out, &["  public java.util.List<java.lang.Integer> get", stem, "ValueList() {"]);
            line(&mut out, &["    return ", var, ";"]);
        }
        Kind::List { enum_type: None, element_type } => {
            line(&mut out, &["  public java.util.List<", element_type, "> get", stem, "List() {"]);
            line(&mut out, &["    return ", var, ";"]);
        }
        Kind::Map { key_type, value_type } => {
            line(&mut out, &["  public java.util.Map<", key_type, ", ", value_type, "> get", stem, "Map() {"]);
            line(&mut out, &["    return ", var, ";"]);
        }
    }
    out.push_str("  }");
    out
}

/// The builder's setters of field `m`, from the first javadoc to the last method's closing brace
/// (no final newline).
pub(super) fn builder_methods(m: &Member<'_>) -> String {
    let Member { proto_name, stem, var, .. } = *m;
    let mut out = String::with_capacity(768);
    let clear = |out: &mut String| {
        line(out, &["    /** Clears {@code ", proto_name, "}. */"]);
        line(out, &["    public Builder clear", stem, "() {"]);
    };
    match m.kind {
        Kind::Single { presence, java_type, enum_type, default, nullable_store, .. } => {
            line(&mut out, &["    /** Sets {@code ", proto_name, "}. */"]);
            match enum_type {
                Some(e) => {
                    line(&mut out, &["    public Builder set", stem, "(", e, " value) {"]);
                    line(&mut out, &["      return set", stem, "Value(value.getNumber());"]);
                    out.push_str("    }\n\n");
                    line(&mut out, &["    /** Sets {@code ", proto_name, "} by number. */"]);
                    line(&mut out, &["    public Builder set", stem, "Value(int value) {"]);
                }
                None => line(&mut out, &["    public Builder set", stem, "(", java_type, " value) {"]),
            }
            if nullable_store {
                line(
                    &mut out,
                    &["      this.", var, " = java.util.Objects.requireNonNull(value, \"", proto_name, "\");"],
                );
            } else {
                line(&mut out, &["      this.", var, " = value;"]);
            }
            for sibling in m.siblings {
                line(&mut out, &["      this.", sibling, " = null;"]);
            }
            out.push_str("      return this;\n    }\n\n");
            clear(&mut out);
            if presence {
                line(&mut out, &["      this.", var, " = null;"]);
            } else {
                line(&mut out, &["      this.", var, " = ", default, ";"]);
            }
        }
        Kind::List { enum_type, element_type } => {
            line(&mut out, &["    /** Appends to {@code ", proto_name, "}. */"]);
            match enum_type {
                Some(e) => {
                    line(&mut out, &["    public Builder add", stem, "(", e, " value) {"]);
                    line(&mut out, &["      this.", var, ".add(value.getNumber());"]);
                    out.push_str("      return this;\n    }\n\n");
                    line(&mut out, &["    /** Appends to {@code ", proto_name, "} by number. */"]);
                    line(&mut out, &["    public Builder add", stem, "Value(int value) {"]);
                    line(&mut out, &["      this.", var, ".add(value);"]);
                }
                None => {
                    line(&mut out, &["    public Builder add", stem, "(", element_type, " value) {"]);
                    line(
                        &mut out,
                        &["      this.", var, ".add(java.util.Objects.requireNonNull(value, \"", proto_name, "\"));"],
                    );
                    out.push_str("      return this;\n    }\n\n");
                    line(&mut out, &["    /** Appends every value to {@code ", proto_name, "}. */"]);
                    line(
                        &mut out,
                        &[
                            "    public Builder addAll",
                            stem,
                            "(java.lang.Iterable<? extends ",
                            element_type,
                            "> values) {",
                        ],
                    );
                    line(&mut out, &["      for (", element_type, " value : values) {"]);
                    line(&mut out, &["        add", stem, "(value);"]);
                    out.push_str("      }\n");
                }
            }
            out.push_str("      return this;\n    }\n\n");
            clear(&mut out);
            line(&mut out, &["      this.", var, ".clear();"]);
        }
        Kind::Map { key_type, value_type } => {
            line(&mut out, &["    /** Puts an entry into {@code ", proto_name, "}. */"]);
            line(&mut out, &["    public Builder put", stem, "(", key_type, " key, ", value_type, " value) {"]);
            line(
                &mut out,
                &[
                    "      this.",
                    var,
                    ".put(java.util.Objects.requireNonNull(key, \"key\"), java.util.Objects.requireNonNull(value, \"",
                    proto_name,
                    "\"));",
                ],
            );
            out.push_str("      return this;\n    }\n\n");
            line(&mut out, &["    /** Puts every entry into {@code ", proto_name, "}. */"]);
            line(
                &mut out,
                &[
                    "    public Builder putAll",
                    stem,
                    "(java.util.Map<? extends ",
                    key_type,
                    ", ? extends ",
                    value_type,
                    "> values) {",
                ],
            );
            line(&mut out, &["      values.forEach(this::put", stem, ");"]);
            out.push_str("      return this;\n    }\n\n");
            clear(&mut out);
            line(&mut out, &["      this.", var, ".clear();"]);
        }
    }
    out.push_str("      return this;\n    }");
    out
}

/// A field's kind as its class's per-field statements tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A singular field.
    Single,
    /// A repeated field.
    List,
    /// A map field.
    Map,
}

/// Everything a field puts into its class: the [`sections`] are made of these.
pub(super) struct FieldCode {
    /// The storage variable (`title_`).
    pub var: String,
    /// The field number.
    pub number: i32,
    /// The member's type in the message and its builder.
    pub member_type: String,
    /// The builder member's initializer (` = 0`), empty for none.
    pub builder_init: String,
    /// The conversion of a `DynamicMessage` value (`Foo::fromDynamic`, or `null` for none).
    pub from_dynamic: String,
    /// The field's kind.
    pub shape: Shape,
    /// A proto2 required field.
    pub required: bool,
    /// The type whose `isInitialized()` a message field's check calls: the element type of a
    /// list, the value type of a map, empty for a singular field; `None` when no check is needed.
    pub check_type: Option<String>,
    /// [`accessors`].
    pub accessors: String,
    /// [`builder_methods`].
    pub builder_methods: String,
    /// The codec's statements (see [`super::codec`]), unindented.
    pub size: String,
    /// As `size`.
    pub write: String,
    /// As `size`.
    pub read: String,
}

/// Appends `text`'s lines, each after `indent` (a blank line stays empty) and trimmed at the end,
/// then a newline: what `{{lines text indent="..."}}` on a line of its own renders.
fn indented(out: &mut String, text: &str, indent: &str) {
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.trim_end();
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
    }
    out.push('\n');
}

/// The per-field sections of a message class, by view key: each holds every field's part in
/// turn, without the final newline (the partial writes `{{#if key}}` / `{{key}}` / `{{/if}}`), or
/// a term list to splice into an expression (`equals_terms`, `hash_terms`).
pub(super) fn sections(fields: &[FieldCode]) -> [(&'static str, String); 14] {
    let mut decls = String::new();
    let mut from_builder = String::new();
    let mut to_builder = String::new();
    let mut accessors = String::new();
    let mut to_dynamic = String::new();
    let mut from_dynamic = String::new();
    let mut size = String::new();
    let mut write = String::new();
    let mut read = String::new();
    let mut init_checks = String::new();
    let mut equals_terms = String::new();
    let mut hash_terms = String::new();
    let mut builder_fields = String::new();
    let mut builder_methods = String::new();
    for f in fields {
        let v = f.var.as_str();
        let number = f.number.to_string();
        line(&mut decls, &["  private final ", &f.member_type, " ", v, ";"]);
        match f.shape {
            Shape::List => {
                line(&mut from_builder, &["    this.", v, " = java.util.List.copyOf(builder.", v, ");"]);
                line(&mut to_builder, &["    builder.", v, " = new java.util.ArrayList<>(this.", v, ");"]);
            }
            Shape::Map => {
                line(
                    &mut from_builder,
                    &[
                        "    this.",
                        v,
                        " = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(builder.",
                        v,
                        "));",
                    ],
                );
                line(&mut to_builder, &["    builder.", v, " = new java.util.LinkedHashMap<>(this.", v, ");"]);
            }
            Shape::Single => {
                line(&mut from_builder, &["    this.", v, " = builder.", v, ";"]);
                line(&mut to_builder, &["    builder.", v, " = this.", v, ";"]);
            }
        }
        accessors.push('\n');
        line(&mut accessors, &[&f.accessors]);
        line(
            &mut to_dynamic,
            &["    dev.micro.sdk.Dyn.set(builder, descriptor.findFieldByNumber(", &number, "), ", v, ");"],
        );
        line(
            &mut from_dynamic,
            &[
                "    builder.",
                v,
                " = dev.micro.sdk.Dyn.get(message, descriptor.findFieldByNumber(",
                &number,
                "), ",
                &f.from_dynamic,
                ");",
            ],
        );
        indented(&mut size, &f.size, "    ");
        indented(&mut write, &f.write, "    ");
        indented(&mut read, &f.read, "        ");
        if f.required {
            line(&mut init_checks, &["    if (", v, " == null) {"]);
            init_checks.push_str("      return false;\n    }\n");
        }
        if let Some(t) = &f.check_type {
            match f.shape {
                Shape::Single => line(&mut init_checks, &["    if (", v, " != null && !", v, ".isInitialized()) {"]),
                Shape::List => line(&mut init_checks, &["    for (", t, " e : ", v, ") {"]),
                Shape::Map => line(&mut init_checks, &["    for (", t, " e : ", v, ".values()) {"]),
            }
            if f.shape == Shape::Single {
                init_checks.push_str("      return false;\n    }\n");
            } else {
                init_checks.push_str("      if (!e.isInitialized()) {\n        return false;\n      }\n    }\n");
            }
        }
        for part in ["\n        && java.util.Objects.equals(", v, ", that.", v, ")"] {
            equals_terms.push_str(part);
        }
        hash_terms.push_str(", ");
        hash_terms.push_str(v);
        line(&mut builder_fields, &["    private ", &f.member_type, " ", v, &f.builder_init, ";"]);
        builder_methods.push('\n');
        line(&mut builder_methods, &[&f.builder_methods]);
    }
    let mut sections = [
        ("field_decls", decls),
        ("from_builder", from_builder),
        ("to_builder", to_builder),
        ("accessors", accessors),
        ("to_dynamic", to_dynamic),
        ("from_dynamic", from_dynamic),
        ("size_code", size),
        ("write_code", write),
        ("read_code", read),
        ("init_checks", init_checks),
        ("builder_fields", builder_fields),
        ("builder_methods", builder_methods),
        ("equals_terms", equals_terms),
        ("hash_terms", hash_terms),
    ];
    for (_, text) in &mut sections[..12] {
        if text.ends_with('\n') {
            text.pop();
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn code(var: &str, number: i32, shape: Shape, check_type: Option<&str>) -> FieldCode {
        FieldCode {
            var: var.to_owned(),
            number,
            member_type: "T".to_owned(),
            builder_init: String::new(),
            from_dynamic: "null".to_owned(),
            shape,
            required: number == 1,
            check_type: check_type.map(str::to_owned),
            accessors: format!("  public T get{number}() {{\n    return {var};\n  }}"),
            builder_methods: String::new(),
            size: "if (x) {\n\n  size += 1;  \n}".to_owned(),
            write: String::new(),
            read: String::new(),
        }
    }

    #[test]
    fn a_message_without_fields_has_empty_sections() {
        assert!(sections(&[]).iter().all(|(_, text)| text.is_empty()));
    }

    #[test]
    fn sections_list_every_field_in_turn() {
        let fields = [
            code("a_", 1, Shape::Single, Some("")),
            code("b_", 2, Shape::List, Some("B")),
            code("c_", 3, Shape::Map, Some("C")),
        ];
        let sections: HashMap<&str, String> = sections(&fields).into_iter().collect();
        assert_eq!(
            sections["init_checks"],
            "    if (a_ == null) {\n      return false;\n    }\n    if (a_ != null && !a_.isInitialized()) {\n      \
             return false;\n    }\n    for (B e : b_) {\n      if (!e.isInitialized()) {\n        return false;\n      \
             }\n    }\n    for (C e : c_.values()) {\n      if (!e.isInitialized()) {\n        return false;\n      }\n    }"
        );
        // As `{{lines size_code indent="    "}}` per field: indented, blank lines empty, trimmed.
        assert_eq!(
            sections["size_code"].lines().take(4).collect::<Vec<_>>(),
            ["    if (x) {", "", "      size += 1;", "    }"]
        );
        assert_eq!(
            sections["accessors"],
            "\n  public T get1() {\n    return a_;\n  }\n\n  public T get2() {\n    return b_;\n  }\n\n  public T get3() {\n    return c_;\n  }"
        );
        assert_eq!(sections["hash_terms"], ", a_, b_, c_");
        assert_eq!(
            sections["from_builder"],
            "    this.a_ = builder.a_;\n    this.b_ = java.util.List.copyOf(builder.b_);\n    this.c_ = \
             java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(builder.c_));"
        );
    }
}
