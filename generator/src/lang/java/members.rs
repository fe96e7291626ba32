//! The per-field members of the generated Java message classes: the message's accessors
//! (`hasX()`, `getX()`, `getXValue()`, `getXList()`, `getXMap()`) and its builder's setters
//! (`setX()`, `addX()`, `addAllX()`, `putX()`, `putAllX()`, `clearX()`), as Java text that the
//! `message` partial places with `{{accessors}}` and `{{builder_methods}}`.
//!
//! Like [`super::codec`]'s statements, these are written here rather than in the partial because
//! there are many per field and every message has them: handlebars spends about a microsecond on
//! each `{{value}}` and `{{#if}}` it evaluates, and these two blocks were more than a third of the
//! Java SDK's rendering on the 10,000-message benchmark set (bench/README.md). The text is what
//! the partial's per-field blocks produced, byte for byte, indented for the class body (members at
//! 2 spaces, builder members at 4).

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
        for text in m.doc {
            let text = text.trim_end();
            if text.is_empty() {
                out.push_str("   *\n");
            } else {
                line(out, &["   * ", text]);
            }
        }
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
                line(&mut out, &["      this.", var, " = java.util.Objects.requireNonNull(value, \"", proto_name, "\");"]);
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
                        &["    public Builder addAll", stem, "(java.lang.Iterable<? extends ", element_type, "> values) {"],
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
