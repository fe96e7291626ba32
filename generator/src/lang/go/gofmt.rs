//! The parts of gofmt's layout that generated Go code depends on: column alignment (a port of
//! `text/tabwriter` as go/printer drives it) and the composite-literal rule that starts a new
//! alignment section when an element's size jumps (go/printer `exprList`).

/// A line inside an aligned run: `Cells` are gofmt's tab-terminated cells plus the trailing text
/// (the last element); a `Text` line (a comment, a blank line) has no cells and ends every column
/// block, as a comment line does in gofmt.
#[derive(Debug, Clone)]
pub(super) enum Row {
    /// Cells; all but the last are aligned.
    Cells(Vec<String>),
    /// A line printed as is.
    Text(String),
    /// No line, but the end of every column block, as a doc comment gofmt removed (one that
    /// was all blank lines) leaves it.
    Break,
}

impl Row {
    fn cells(&self) -> &[String] {
        match self {
            Row::Cells(c) => c,
            Row::Text(t) => std::slice::from_ref(t),
            Row::Break => &[],
        }
    }
}

/// Aligns rows as gofmt's tabwriter does (padding 1, spaces, empty columns discarded) and
/// prefixes each line with `indent` (Text lines too, unless empty).
pub(super) fn align(rows: &[Row], indent: &str) -> String {
    let mut out = vec![String::new(); rows.len()];
    let mut widths = Vec::new();
    format(rows, 0, rows.len(), &mut widths, &mut out);
    let mut text = String::new();
    for (row, line) in rows.iter().zip(out) {
        if matches!(row, Row::Break) {
            continue;
        }
        if !line.is_empty() {
            text.push_str(indent);
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn format(rows: &[Row], line0: usize, line1: usize, widths: &mut Vec<usize>, out: &mut [String]) {
    let column = widths.len();
    let mut l0 = line0;
    let mut this = line0;
    while this < line1 {
        if column + 1 >= rows[this].cells().len() {
            this += 1;
            continue;
        }
        write_lines(rows, l0, this, widths, out);
        l0 = this;
        let mut w = 0;
        let mut discardable = true;
        while this < line1 {
            let cells = rows[this].cells();
            if column + 1 >= cells.len() {
                break;
            }
            w = w.max(width(&cells[column]) + 1);
            if !cells[column].is_empty() {
                discardable = false;
            }
            this += 1;
        }
        if discardable {
            w = 0;
        }
        widths.push(w);
        format(rows, l0, this, widths, out);
        widths.pop();
        l0 = this;
    }
    write_lines(rows, l0, line1, widths, out);
}

fn write_lines(rows: &[Row], line0: usize, line1: usize, widths: &[usize], out: &mut [String]) {
    for i in line0..line1 {
        let cells = rows[i].cells();
        let mut line = String::new();
        for (j, c) in cells.iter().enumerate() {
            line.push_str(c);
            if j + 1 < cells.len() && j < widths.len() {
                let pad = widths[j].saturating_sub(width(c));
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out[i] = line;
    }
}

/// For the elements of a multi-line composite literal (one per line) with the given sizes (the
/// key's size for `key: value` elements), whether each element starts a new alignment section:
/// go/printer breaks with a formfeed when a size is large (> 40) and differs from the geometric
/// mean of the sizes before it (since the last section start) by a factor of 2.5 or more.
pub(super) fn sections(sizes: &[usize]) -> Vec<bool> {
    let mut out = Vec::with_capacity(sizes.len());
    let mut lnsum = 0.0f64;
    let mut count = 0usize;
    let mut size = 0usize;
    for (i, &s) in sizes.iter().enumerate() {
        let prev = size;
        size = s;
        let mut use_ff = true;
        if prev > 0 && size > 0 {
            if count == 0 || (prev <= 40 && size <= 40) {
                use_ff = false;
            } else {
                let geomean = (lnsum / count as f64).exp();
                let ratio = size as f64 / geomean;
                use_ff = 2.5 * ratio <= 1.0 || 2.5 <= ratio;
            }
        }
        let new_section = i > 0 && use_ff;
        out.push(new_section);
        if new_section {
            // A formfeed is two line breaks to go/printer, which restarts the geometric mean.
            lnsum = 0.0;
            count = 0;
        }
        if size > 0 {
            lnsum += (size as f64).ln();
            count += 1;
        }
    }
    out
}

/// Aligns the lines of a composite literal whose rows are `[element, trailing]` cells, starting a
/// new section where [`sections`] says so; `sizes` are the element sizes.
pub(super) fn align_list(rows: &[Row], sizes: &[usize], indent: &str) -> String {
    let breaks = sections(sizes);
    let mut text = String::new();
    let mut start = 0;
    for i in 1..=rows.len() {
        if i == rows.len() || breaks[i] {
            text.push_str(&align(&rows[start..i], indent));
            start = i;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(c: &[&str]) -> Row {
        Row::Cells(c.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn aligns_like_gofmt() {
        let rows = vec![
            cells(&["Id", "string", "`a`"]),
            cells(&["Kind", "Order_Kind", "`b`"]),
            Row::Text("// comment".into()),
            cells(&["Constructor", "string", "`c`"]),
            cells(&["unknownFields", "protoimpl.UnknownFields"]),
        ];
        assert_eq!(
            align(&rows, "\t"),
            "\tId   string     `a`\n\tKind Order_Kind `b`\n\t// comment\n\tConstructor   string `c`\n\tunknownFields protoimpl.UnknownFields\n"
        );
    }

    #[test]
    fn long_keys_start_sections() {
        assert_eq!(sections(&[3, 5, 4]), [false, false, false]);
        assert_eq!(sections(&[30, 45]), [false, false]);
        assert_eq!(sections(&[10, 50]), [false, true]);
        assert_eq!(sections(&[10, 12, 50]), [false, false, true]);
        // After a section starts the mean restarts: a short element after a long one breaks again.
        assert_eq!(sections(&[9, 13, 20, 66, 20, 3, 27]), [false, false, false, true, true, false, false]);
    }
}

/// A function whose source body fits on its header's line (`func (*T) M() {}`, `func init() {
/// f() }`) as go/printer's `funcBody` prints it: on one line when the header and the body
/// (its statement, if any) take at most 100 columns, else over lines. No trailing newline.
/// (`funcDecl` measures the header from before the blank after `func`: one column more.)
pub(super) fn short_func(header: &str, stmt: Option<&str>) -> String {
    const MAX_SIZE: usize = 100;
    let body = stmt.map_or(0, width);
    match stmt {
        _ if width(header) + 1 + body > MAX_SIZE => match stmt {
            Some(st) => format!("{header} {{\n\t{st}\n}}"),
            None => format!("{header} {{\n}}"),
        },
        Some(st) => format!("{header} {{ {st} }}"),
        None => format!("{header} {{}}"),
    }
}

/// gofmt's reformatting of a top-level doc comment (go/printer `formatDocComment`, through
/// go/doc/comment), for the constructs proto comments use: paragraphs, code blocks (indented
/// lines), bullet and numbered lists, and blank-line clean-up. `lines` are `//` lines.
pub(super) fn doc_comment(lines: &[String]) -> Vec<String> {
    // Directives (`//go:generate`, `//line `, ...) move to the end, after a blank `//` line.
    let (directives, lines): (Vec<&String>, Vec<&String>) =
        lines.iter().partition(|l| l.strip_prefix("//").is_some_and(is_directive));
    if lines.is_empty() {
        return directives.iter().map(|l| l.trim_end().to_owned()).collect();
    }
    let mut out = format_doc(&lines);
    if !directives.is_empty() {
        out.push("//".to_owned());
        out.extend(directives.iter().map(|l| l.trim_end().to_owned()));
    }
    out
}

/// go/ast's `isDirective` (the text after `//`): `line `, `extern `, `export `, or
/// `[a-z0-9]+:[a-z0-9]` at the start.
fn is_directive(c: &str) -> bool {
    if c.starts_with("line ") || c.starts_with("extern ") || c.starts_with("export ") {
        return true;
    }
    let b = c.as_bytes();
    let Some(colon) = c.find(':') else { return false };
    if colon == 0 || colon + 1 >= b.len() {
        return false;
    }
    (0..=colon + 1).filter(|&i| i != colon).all(|i| b[i].is_ascii_lowercase() || b[i].is_ascii_digit())
}

/// go/doc/comment's inline text (`parseText`): two backquotes and two single quotes become
/// typographic quotes (U+201C, U+201D), except inside URLs (`http://...`, kept as written);
/// identifiers are skipped whole, so a URL starts only at a word boundary.
fn quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let t = &s[i..];
        let skip = auto_url(t).or_else(|| ident(t));
        if let Some(n) = skip {
            out.push_str(&t[..n]);
            i += n;
        } else if t.starts_with("``") {
            out.push('\u{201c}');
            i += 2;
        } else if t.starts_with("''") {
            out.push('\u{201d}');
            i += 2;
        } else {
            let c = t.chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// go/doc/comment `ident`: the length of the identifier (`[\pL_][\pL_0-9]*`) `s` starts with.
fn ident(s: &str) -> Option<usize> {
    let mut n = 0;
    for c in s.chars() {
        let ok = if c.is_ascii() {
            c.is_ascii_alphabetic() || c == '_' || (n > 0 && c.is_ascii_digit())
        } else {
            c.is_alphabetic()
        };
        if !ok {
            break;
        }
        n += c.len_utf8();
    }
    (n > 0).then_some(n)
}

/// go/doc/comment `autoURL`: the length of the URL (`scheme://host/path`, without trailing
/// punctuation or unbalanced brackets) `s` starts with.
fn auto_url(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 7 {
        return None;
    }
    let mut i = (3..=6).find(|&i| b[i] == b':')?;
    if i + 3 > b.len() || &s[i..i + 3] != "://" {
        return None;
    }
    if !matches!(&s[..i], "file" | "ftp" | "gopher" | "http" | "https" | "mailto" | "nntp") {
        return None;
    }
    let is_host = |c: u8| c.is_ascii_alphanumeric() || b"_@-.[]:".contains(&c);
    let is_punct = |c: u8| b".,:;?!".contains(&c);
    let is_path = |c: u8| c.is_ascii_alphanumeric() || b"$'()*+&#=@~_/-[]{}%".contains(&c);
    i += 3;
    if i >= b.len() || !is_host(b[i]) || is_punct(b[i]) {
        return None;
    }
    i += 1;
    let mut end = i;
    while i < b.len() && is_host(b[i]) {
        if !is_punct(b[i]) {
            end = i + 1;
        }
        i += 1;
    }
    i = end;
    let mut stack: Vec<u8> = Vec::new();
    while i < b.len() {
        let c = b[i];
        if is_punct(c) {
            i += 1;
            continue;
        }
        if !is_path(c) {
            break;
        }
        match c {
            b'(' => stack.push(b')'),
            b'{' => stack.push(b'}'),
            b'[' => stack.push(b']'),
            b')' | b'}' | b']' => {
                if stack.last() != Some(&c) {
                    break;
                }
                stack.pop();
            }
            _ => {}
        }
        if stack.is_empty() {
            end = i + 1;
        }
        i += 1;
    }
    Some(end)
}

/// go/doc/comment `isHeading`: `# Text`.
fn is_heading(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 2 && b[0] == b'#' && (b[1] == b' ' || b[1] == b'\t') && line.trim() != "#"
}

/// go/doc/comment `isOldHeading`: a line between blank lines, before unindented text, that
/// starts upper-case, ends in a letter or digit and has no punctuation but `(),`, `'s` and
/// inner dots. `all` are the comment's lines; Go's have a trailing empty line.
fn is_old_heading(line: &str, all: &[&str], off: usize) -> bool {
    let at = |i: usize| if i < all.len() { all[i] } else { "" };
    let len = all.len() + 1;
    if off == 0 || !at(off - 1).is_empty() || off + 2 >= len || !at(off + 1).is_empty() {
        return false;
    }
    if at(off + 2).starts_with([' ', '\t']) {
        return false;
    }
    let line = line.trim();
    let Some(first) = line.chars().next() else { return false };
    if !first.is_alphabetic() || !first.is_uppercase() {
        return false;
    }
    let last = line.chars().next_back().unwrap_or_default();
    if !last.is_alphabetic() && !last.is_numeric() {
        return false;
    }
    if line.contains(|c| ";:!?+*/=[]{}_^°&§~%#@<\">\\".contains(c)) {
        return false;
    }
    // What follows each `'` must be `s` then the end of the word; each `.`, a non-space.
    let after = |c: char| line.match_indices(c).map(|(i, _)| &line[i + 1..]);
    !after('\'').any(|b| b != "s" && !b.starts_with("s ")) && !after('.').any(|b| b.is_empty() || b.starts_with(' '))
}

fn format_doc(lines: &[&String]) -> Vec<String> {
    // The text: `//` and one following space removed.
    let text: Vec<String> = lines
        .iter()
        .map(|l| {
            let after = l.strip_prefix("//").unwrap_or(l);
            after.strip_prefix(' ').unwrap_or(after).trim_end().to_owned()
        })
        .collect();
    // Remove the common indentation of the non-blank lines.
    let indent = common_indent(text.iter().filter(|l| !l.is_empty()).map(String::as_str));
    let text: Vec<&str> = text.iter().map(|l| if l.is_empty() { "" } else { &l[indent.len()..] }).collect();

    enum Block {
        Para(Vec<String>),
        Heading(String),
        Code(Vec<String>),
        List { items: Vec<(String, Vec<String>)>, loose: bool, blank_before: bool },
    }
    let is_indented = |l: &str| l.starts_with(' ') || l.starts_with('\t');
    let mut blocks: Vec<Block> = Vec::new();
    let mut i = 0;
    let mut blank_before = true;
    while i < text.len() {
        let line = text[i];
        if line.is_empty() {
            blank_before = true;
            i += 1;
            continue;
        }
        if is_indented(line) {
            // An indented span: indented lines and blank lines followed by more indented lines.
            let mut end = i;
            let mut j = i;
            while j < text.len() {
                if text[j].is_empty() {
                    j += 1;
                    continue;
                }
                if !is_indented(text[j]) {
                    break;
                }
                end = j + 1;
                j += 1;
            }
            let span: Vec<&str> = text[i..end].to_vec();
            if list_marker(span[0].trim_start()).is_some() {
                blocks.push(parse_list(&span, blank_before));
            } else {
                let ind = common_indent(span.iter().copied().filter(|l| !l.is_empty()));
                let code: Vec<String> =
                    span.iter().map(|l| if l.is_empty() { String::new() } else { l[ind.len()..].to_owned() }).collect();
                blocks.push(Block::Code(code));
            }
            i = end;
            blank_before = false;
            continue;
        }
        if blank_before && list_marker(line).is_some() {
            // An unindented list: marker lines and their indented continuations, until a
            // blank line followed by a line that is no list item.
            let mut end = i;
            let mut j = i;
            while j < text.len() {
                let l = text[j];
                if l.is_empty() {
                    j += 1;
                    continue;
                }
                let continues = j == end && (list_marker(l).is_some() || is_indented(l) || j == i);
                let item_after_blank = j > end && (list_marker(l).is_some() || is_indented(l));
                if !(continues || item_after_blank) {
                    break;
                }
                end = j + 1;
                j += 1;
            }
            blocks.push(parse_list(&text[i..end], true));
            i = end;
            blank_before = false;
            continue;
        }
        let start = i;
        let mut para = Vec::new();
        while i < text.len() && !text[i].is_empty() && !is_indented(text[i]) {
            para.push(text[i].to_owned());
            i += 1;
        }
        // A one-line paragraph may be a heading: `# Text`, or an old-style heading.
        if para.len() == 1 && is_heading(&para[0]) {
            blocks.push(Block::Heading(para[0][1..].trim().to_owned()));
        } else if para.len() == 1 && is_old_heading(&para[0], &text, start) {
            blocks.push(Block::Heading(para[0].trim().to_owned()));
        } else {
            blocks.push(Block::Para(para));
        }
        blank_before = false;
    }

    fn parse_list(span: &[&str], blank_before: bool) -> Block {
        let mut items: Vec<(String, Vec<String>)> = Vec::new();
        let mut loose = false;
        let mut pending_blank = false;
        for l in span {
            if l.is_empty() {
                pending_blank = true;
                continue;
            }
            let t = l.trim_start();
            if let Some((marker, rest)) = list_marker(t) {
                if pending_blank && !items.is_empty() {
                    loose = true;
                }
                items.push((marker, vec![rest.to_owned()]));
            } else if let Some(last) = items.last_mut() {
                if pending_blank {
                    loose = true;
                    last.1.push(String::new());
                }
                last.1.push(t.to_owned());
            }
            pending_blank = false;
        }
        Block::List { items, loose, blank_before: blank_before || loose }
    }

    let mut out: Vec<String> = Vec::new();
    for (bi, b) in blocks.iter().enumerate() {
        // A list is preceded by a blank line only when it was in the source or the list is loose.
        let blank = !matches!(b, Block::List { blank_before: false, .. });
        if bi > 0 && blank {
            out.push(String::new());
        }
        match b {
            Block::Para(lines) => out.extend(lines.iter().map(|l| quotes(l))),
            Block::Heading(text) => out.push(format!("# {text}")),
            Block::Code(lines) => {
                out.extend(lines.iter().map(|l| if l.is_empty() { String::new() } else { format!("\t{l}") }))
            }
            Block::List { items, loose, .. } => {
                for (ii, (marker, body)) in items.iter().enumerate() {
                    if ii > 0 && *loose {
                        out.push(String::new());
                    }
                    for (li, l) in body.iter().enumerate() {
                        if li == 0 {
                            out.push(format!(" {marker} {}", quotes(l)));
                        } else if l.is_empty() {
                            out.push(String::new());
                        } else {
                            out.push(format!("    {}", quotes(l)));
                        }
                    }
                }
            }
        }
    }
    out.iter()
        .map(|l| {
            if l.is_empty() {
                "//".to_owned()
            } else if l.starts_with('\t') {
                format!("//{l}")
            } else {
                format!("// {l}")
            }
        })
        .collect()
}

fn common_indent<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut prefix: Option<String> = None;
    for l in lines {
        let lead: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        prefix = Some(match prefix {
            None => lead,
            Some(p) => p.chars().zip(lead.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect(),
        });
    }
    prefix.unwrap_or_default()
}

/// A list item's marker as gofmt prints it (`-` for bullets, `N.` for numbers) and the text
/// after it.
fn list_marker(line: &str) -> Option<(String, &str)> {
    for bullet in ["- ", "* ", "+ ", "• "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some((" -".to_owned(), rest.trim_start()));
        }
    }
    let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() && digits.len() <= 8 {
        let rest = &line[digits.len()..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((format!("{digits}."), rest.trim_start()));
        }
    }
    None
}

#[cfg(test)]
mod doc_tests {
    use super::doc_comment;

    fn fmt(s: &str) -> String {
        let lines: Vec<String> = s.lines().map(str::to_owned).collect();
        doc_comment(&lines).join("\n")
    }

    #[test]
    fn short_funcs_split_past_100_columns() {
        use super::short_func;
        assert_eq!(short_func("func (*A) ProtoMessage()", None), "func (*A) ProtoMessage() {}");
        let long = format!("func (*{}) ProtoMessage()", "A".repeat(76));
        assert_eq!(long.len(), 99);
        assert_eq!(short_func(&long, None), format!("{long} {{}}"));
        let longer = format!("func (*{}) ProtoMessage()", "A".repeat(77));
        assert_eq!(short_func(&longer, None), format!("{longer} {{\n}}"));
        assert_eq!(short_func("func init()", Some("f()")), "func init() { f() }");
        let call = format!("{}()", "f".repeat(87));
        assert_eq!(short_func("func init()", Some(&call)), format!("func init() {{\n\t{call}\n}}"));
    }

    #[test]
    fn formats_like_gofmt() {
        assert_eq!(fmt("// Para one\n// continues."), "// Para one\n// continues.");
        assert_eq!(
            fmt("// Para one\n//   code 1\n//     code 2\n// after."),
            "// Para one\n//\n//\tcode 1\n//\t  code 2\n//\n// after."
        );
        assert_eq!(
            fmt("// Para\n//\n// 1. first\n// 2) second\n//    cont\n//\n// after"),
            "// Para\n//\n//  1. first\n//  2. second\n//     cont\n//\n// after"
        );
        assert_eq!(
            fmt("// Para\n//   - a\n//   - b\n//\n//     more\n// back"),
            "// Para\n//\n//   - a\n//\n//   - b\n//\n//     more\n//\n// back"
        );
        assert_eq!(fmt("// Para\n//\n//\n// two\n//"), "// Para\n//\n// two");
        assert_eq!(fmt("// Para:\n//   - a\n//   - b\n// Next"), "// Para:\n//   - a\n//   - b\n//\n// Next");
        assert_eq!(fmt("// x\n// - not a list"), "// x\n// - not a list");
        assert_eq!(fmt("//\ttab code\n//\n//  two-space code"), "//\t\ttab code\n//\n//\t two-space code");
        assert_eq!(fmt("// a ``b'' '''\n//  ``code''"), "// a \u{201c}b\u{201d} \u{201d}'\n//\n//\t``code''");
        assert_eq!(fmt("//go:generate x\n// Text.  "), "// Text.\n//\n//go:generate x");
        assert_eq!(fmt("//line x\n//Go: no"), "// Go: no\n//\n//line x");
        assert_eq!(fmt("//   \n//"), "");
        assert_eq!(fmt("// See http://x.io/a''b and ''c''."), "// See http://x.io/a''b and \u{201d}c\u{201d}.");
        assert_eq!(
            fmt("// Intro.\n//\n// # New\n//\n// Old Style\n//\n// text"),
            "// Intro.\n//\n// # New\n//\n// # Old Style\n//\n// text"
        );
        assert_eq!(
            fmt("// Intro.\n//\n// Not a heading.\n//\n// text"),
            "// Intro.\n//\n// Not a heading.\n//\n// text"
        );
        assert_eq!(fmt("// Intro.\n//\n// Last Line"), "// Intro.\n//\n// Last Line");
    }
}
