//! The INI inventory format, read as Ansible's `ini` inventory plugin reads it: hosts before
//! any section are ungrouped; `[GROUP]` lists hosts (a pattern, then `KEY=VALUE` variables
//! split as a POSIX shell splits words), `[GROUP:children]` lists groups, `[GROUP:vars]`
//! sets one `KEY = VALUE` per line; `#` and `;` start comment lines.

use std::collections::HashSet;

use super::{ErrorKind, Inventory, InventoryError, Place, Raw, UNGROUPED, Vars, pattern};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Hosts,
    Children,
    Vars,
}

pub(super) fn parse(text: &str, inventory: &mut Inventory) -> Result<(), InventoryError> {
    let mut group = UNGROUPED;
    let mut section = Section::Hosts;
    // `[GROUP]` and `[GROUP:children]` declare a group; `[GROUP:vars]` and a child line
    // need the group declared somewhere in the file (Ansible's rule).
    let mut declared: HashSet<usize> = HashSet::from([super::ALL, UNGROUPED]);
    let mut needs_declaring: Vec<(usize, Option<usize>, Place)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        let syntax = |column: usize, message: String| InventoryError::at(ErrorKind::Syntax, line, column, message);
        if trimmed.starts_with('[') {
            match section_header(trimmed) {
                Header::Section(name, tag) => {
                    section = match tag {
                        None | Some("hosts") => Section::Hosts,
                        Some("children") => Section::Children,
                        Some("vars") => Section::Vars,
                        Some(other) => {
                            return Err(syntax(
                                indent + name.chars().count() + 3,
                                format!(
                                    "unknown section type `{other}` in `[{name}:{other}]`: a section is `[GROUP]`, \
                                     `[GROUP:children]` or `[GROUP:vars]`"
                                ),
                            ));
                        }
                    };
                    group = inventory.group(name);
                    if section == Section::Vars {
                        needs_declaring.push((group, None, Place { line, column: indent + 2 }));
                    } else {
                        declared.insert(group);
                    }
                    continue;
                }
                Header::Invalid(message) => return Err(syntax(indent + 1, message)),
                Header::NotOne => {}
            }
        }
        match section {
            Section::Hosts => host_line(trimmed, line, indent, group, inventory)?,
            Section::Vars => {
                let Some((key, value)) = trimmed.split_once('=') else {
                    return Err(syntax(
                        indent + 1,
                        format!(
                            "expected `KEY = VALUE` in `[{}:vars]`: a vars section sets one variable per line",
                            inventory.group_name(group)
                        ),
                    ));
                };
                let key = key.trim();
                if key.is_empty() {
                    return Err(syntax(indent + 1, "a variable needs a name before its `=`".into()));
                }
                inventory.group_vars(group).set(key, || literal(value), line, indent + 1)?;
            }
            Section::Children => {
                let name: String =
                    trimmed.chars().take_while(|c| !(*c == ':' || *c == ']' || c.is_whitespace())).collect();
                let rest = trimmed[name.len()..].trim_start();
                let parent = inventory.group_name(group).to_string();
                if name.contains('=') {
                    return Err(syntax(
                        indent + 1,
                        format!(
                            "a group name cannot contain `=`: `[{parent}:children]` lists group names, one per line; \
                             variables go in `[{parent}:vars]`"
                        ),
                    ));
                }
                if name.is_empty() || !(rest.is_empty() || rest.starts_with('#')) {
                    return Err(syntax(
                        indent + 1 + name.chars().count(),
                        format!("expected one group name per line in `[{parent}:children]`"),
                    ));
                }
                let child = inventory.group(&name);
                let at = Place { line, column: indent + 1 };
                inventory.add_child(group, child, at)?;
                needs_declaring.push((child, Some(group), at));
            }
        }
    }
    if let Some((group, parent, at)) = needs_declaring.into_iter().find(|(g, _, _)| !declared.contains(g)) {
        let name = inventory.group_name(group).to_string();
        let message = match parent {
            Some(parent) => format!(
                "`[{}:children]` names `{name}`, a group this inventory does not declare: add a `[{name}]` section \
                 (it may be empty) or remove the line (Ansible refuses it too)",
                inventory.group_name(parent)
            ),
            None => format!(
                "`[{name}:vars]` is for a group this inventory does not declare: add a `[{name}]` section (it may be \
                 empty) or list `{name}` in a `[GROUP:children]` section that has its own `[{name}]`"
            ),
        };
        return Err(InventoryError::at(ErrorKind::UndefinedGroup, at.line, at.column, message));
    }
    Ok(())
}

enum Header<'a> {
    Section(&'a str, Option<&'a str>),
    Invalid(String),
    /// A host line that starts with `[` (`[2001:db8::1]:2222`).
    NotOne,
}

/// `[NAME]` or `[NAME:TAG]`, then nothing but a `#` comment. NAME has no `:`, `]` or space.
fn section_header(line: &str) -> Header<'_> {
    let inner = &line[1..];
    let name_end = inner.find(|c: char| c == ':' || c == ']' || c.is_whitespace()).unwrap_or(inner.len());
    let name = &inner[..name_end];
    let mut rest = &inner[name_end..];
    let mut tag = None;
    if let Some(after) = rest.strip_prefix(':') {
        let tag_end = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        tag = Some(&after[..tag_end]);
        rest = &after[tag_end..];
    }
    if !name.is_empty()
        && tag.is_none_or(|t| !t.is_empty())
        && let Some(after) = rest.strip_prefix(']')
        && (after.trim().is_empty() || after.trim_start().starts_with('#'))
    {
        return Header::Section(name, tag);
    }
    if let Some((inside, _)) = inner.split_once("]:")
        && inside.parse::<std::net::Ipv6Addr>().is_ok()
    {
        return Header::NotOne;
    }
    if !line.contains(']') {
        return Header::Invalid(
            "unbalanced brackets: this `[` has no closing `]`; a section is `[GROUP]`, `[GROUP:children]` or \
             `[GROUP:vars]`"
                .into(),
        );
    }
    Header::Invalid(format!(
        "`{}` is not a section header: write `[GROUP]`, `[GROUP:children]` or `[GROUP:vars]` with no spaces inside \
         the brackets, and nothing after them but a `#` comment",
        line.split_inclusive(']').next().unwrap_or(line).escape_debug()
    ))
}

/// `PATTERN [KEY=VALUE]...`: the hosts of the pattern join `group` with these variables.
fn host_line(
    text: &str,
    line: usize,
    indent: usize,
    group: usize,
    inventory: &mut Inventory,
) -> Result<(), InventoryError> {
    let at =
        |column: usize, kind: ErrorKind, message: String| InventoryError::at(kind, line, indent + column + 1, message);
    let tokens = split_words(text).map_err(|(column, message)| at(column, ErrorKind::Syntax, message.into()))?;
    let Some((first, rest)) = tokens.split_first() else { return Ok(()) };
    if first.text.is_empty() {
        return Err(at(first.column, ErrorKind::HostPattern, "a host line needs a host name first".into()));
    }
    let (names, port) = pattern::expand(&first.text, &mut inventory.budget)
        .map_err(|e| at(first.column + e.offset.unwrap_or(0), ErrorKind::HostPattern, e.message))?;
    let mut vars = Vars::default();
    for token in rest {
        let Some((key, value)) = token.text.split_once('=') else {
            return Err(at(
                token.column,
                ErrorKind::Syntax,
                "expected `KEY=VALUE` after the host name: a host's variables are `KEY=VALUE` words \
                 (quote a value that has spaces)"
                    .into(),
            ));
        };
        if key.is_empty() {
            return Err(at(token.column, ErrorKind::Syntax, "a variable needs a name before its `=`".into()));
        }
        let column = indent + token.column + 1;
        vars.set(key, || literal(value), line, column)?;
    }
    for name in names {
        inventory.add_host(&name, group, line, port, &vars);
    }
    Ok(())
}

#[derive(Debug)]
struct Word {
    text: String,
    /// Where the word starts (0-based, in characters).
    column: usize,
}

/// Splits a host line into words as Python's `shlex.split(line, comments=True)` does (what
/// Ansible uses): spaces separate words, `'…'` and `"…"` quote, a backslash escapes the next
/// character (inside `"…"` only `"` and `\`), and `#` outside quotes ends the line. An
/// error is where, and what; it never quotes the line, which may hold a password.
fn split_words(line: &str) -> Result<Vec<Word>, (usize, &'static str)> {
    let chars: Vec<char> = line.chars().collect();
    let space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut words = Vec::new();
    let mut i = 0;
    'words: while i < chars.len() {
        while i < chars.len() && space(chars[i]) {
            i += 1;
        }
        if i == chars.len() || chars[i] == '#' {
            break;
        }
        let column = i;
        let mut text = String::new();
        while i < chars.len() && !space(chars[i]) {
            match chars[i] {
                '#' => {
                    words.push(Word { text, column });
                    break 'words;
                }
                '\\' => {
                    let Some(&next) = chars.get(i + 1) else {
                        return Err((i, "a `\\` at the end of the line escapes nothing"));
                    };
                    text.push(next);
                    i += 2;
                }
                '\'' => {
                    let Some(close) = chars[i + 1..].iter().position(|&c| c == '\'') else {
                        return Err((i, "this `'` quote is not closed on its line"));
                    };
                    text.extend(&chars[i + 1..i + 1 + close]);
                    i += close + 2;
                }
                '"' => {
                    let open = i;
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err((open, "this `\"` quote is not closed on its line")),
                            Some('"') => {
                                i += 1;
                                break;
                            }
                            Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\')) => {
                                text.push(chars[i + 1]);
                                i += 2;
                            }
                            Some(&c) => {
                                text.push(c);
                                i += 1;
                            }
                        }
                    }
                }
                c => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        words.push(Word { text, column });
    }
    Ok(words)
}

/// A value as Ansible's `ast.literal_eval` reads it, for what matters here: a quoted string
/// (a `#` comment may follow it) is its contents, a whole number is a number, `None` is
/// null, and anything else is the text as written, comments and all.
fn literal(value: &str) -> Raw {
    let value = value.trim();
    if value.starts_with(['\'', '"']) {
        return quoted(value).map_or_else(|| Raw::Text(value.to_string()), Raw::Text);
    }
    let code = value.split('#').next().unwrap_or(value).trim();
    if code == "None" {
        return Raw::Null;
    }
    if code == "True" || code == "False" {
        return Raw::Other("true or false");
    }
    let digits = code.replace('_', "");
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(number) = digits.to_ascii_lowercase().strip_prefix(prefix)
            && let Ok(number) = i64::from_str_radix(number, radix)
            && !code.ends_with('_')
        {
            return Raw::Int(number);
        }
    }
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && !code.starts_with('_')
        && !code.ends_with('_')
        && let Ok(number) = digits.parse::<i64>()
    {
        return Raw::Int(number);
    }
    Raw::Text(value.to_string())
}

/// One or more adjacent Python string literals (`'a'`, `"b"`, `'a' "b"`) and an optional
/// `#` comment: their joined contents; `None` when the value is anything else.
fn quoted(value: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = value;
    loop {
        let quote = rest.chars().next()?;
        let mut chars = rest[1..].char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => {
                    let (_, e) = chars.next()?;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '\\' | '\'' | '"' => out.push(e),
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c if c == quote => break 1 + i + 1,
                c => out.push(c),
            }
        };
        rest = rest[end..].trim_start();
        if rest.is_empty() || rest.starts_with('#') {
            return Some(out);
        }
        if !rest.starts_with(['\'', '"']) {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_words(line).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn words_split_like_shlex() {
        assert_eq!(words("a#b c"), ["a"]);
        assert_eq!(words(r#"x="a#b" y"#), ["x=a#b", "y"]);
        assert_eq!(words(r"x=a\ b z"), ["x=a b", "z"]);
        assert_eq!(words(r#"x="a\"b\n""#), [r#"x=a"b\n"#]);
        assert_eq!(words(r"x='a\b'"), [r"x=a\b"]);
        assert_eq!(words(r#"x=""  y=1"#), ["x=", "y=1"]);
        assert_eq!(words("h1   # a comment"), ["h1"]);
    }

    #[test]
    fn word_columns_count_characters() {
        let w = split_words("ünï  k=v").unwrap();
        assert_eq!((w[0].column, w[1].column), (0, 5));
    }

    #[test]
    fn unclosed_quotes_and_a_trailing_backslash_are_errors_at_their_column() {
        assert_eq!(split_words(r#"h1 a="open"#).unwrap_err().0, 5);
        assert_eq!(split_words("h1 a='open").unwrap_err().0, 5);
        assert!(split_words("h1 a\\").unwrap_err().1.contains("escapes nothing"));
    }

    #[test]
    fn literals_read_as_ansible_reads_them() {
        assert_eq!(literal(r#""x" # c"#), Raw::Text("x".into()));
        assert_eq!(literal("'a' 'b'"), Raw::Text("ab".into()));
        assert_eq!(literal(r#""a\tb""#), Raw::Text("a\tb".into()));
        assert_eq!(literal("22 # c"), Raw::Int(22));
        assert_eq!(literal("2_2"), Raw::Int(22));
        assert_eq!(literal("022"), Raw::Text("022".into()));
        assert_eq!((literal("0x16"), literal("0o26"), literal("0b10110")), (Raw::Int(22), Raw::Int(22), Raw::Int(22)));
        assert_eq!(literal("0xZZ"), Raw::Text("0xZZ".into()));
        assert_eq!(literal("deploy # c"), Raw::Text("deploy # c".into()));
        assert_eq!(literal("None"), Raw::Null);
        assert_eq!(literal("True"), Raw::Other("true or false"));
        assert_eq!(literal("'unclosed"), Raw::Text("'unclosed".into()));
        assert_eq!(literal("'a'x"), Raw::Text("'a'x".into()));
    }

    #[test]
    fn section_headers() {
        assert!(matches!(section_header("[web]"), Header::Section("web", None)));
        assert!(matches!(section_header("[web:vars]  # c"), Header::Section("web", Some("vars"))));
        assert!(matches!(section_header("[2001:db8::1]:22"), Header::NotOne));
        assert!(matches!(section_header("[web servers]"), Header::Invalid(m) if m.contains("no spaces")));
        assert!(matches!(section_header("[web"), Header::Invalid(m) if m.contains("unbalanced brackets")));
        assert!(matches!(section_header("[:vars]"), Header::Invalid(_)));
        assert!(matches!(section_header("[web:]"), Header::Invalid(_)));
    }
}
