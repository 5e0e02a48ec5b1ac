//! The YAML inventory format, read as Ansible's `yaml` inventory plugin reads it: the top
//! level maps group names to groups, and a group has `hosts:` (host patterns to their
//! variables), `children:` (groups, nested to any depth) and `vars:`; any of them may be
//! empty. This is also the shape `ansible-inventory --list --yaml` prints.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::{DYNAMIC_HINT, ErrorKind, Inventory, InventoryError, Place, Raw, Vars, pattern};

/// Nesting deeper than this is refused (the document is walked recursively).
const MAX_DEPTH: usize = 128;

type Node<'a> = MarkedYaml<'a>;

fn place(node: &Node) -> Place {
    Place { line: node.span.start.line().max(1), column: node.span.start.col() + 1 }
}

fn error(kind: ErrorKind, node: &Node, message: impl Into<String>) -> InventoryError {
    let at = place(node);
    InventoryError::at(kind, at.line, at.column, message)
}

pub(super) fn parse(text: &str, inventory: &mut Inventory) -> Result<(), InventoryError> {
    let scan_error = |e: saphyr::ScanError| {
        InventoryError::at(
            ErrorKind::Syntax,
            e.marker().line().max(1),
            e.marker().col() + 1,
            format!("invalid YAML: {}", e.info()),
        )
    };
    // saphyr's loader recurses once per level of nesting: the events are counted first.
    let mut depth = 0usize;
    for event in saphyr_parser::Parser::new_from_str(text) {
        let (event, span) = event.map_err(scan_error)?;
        match event {
            saphyr_parser::Event::MappingStart(..) | saphyr_parser::Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(InventoryError::at(
                        ErrorKind::Structure,
                        span.start.line(),
                        span.start.col() + 1,
                        format!("the inventory is nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
            }
            saphyr_parser::Event::MappingEnd | saphyr_parser::Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let docs = MarkedYaml::load_from_str(text).map_err(scan_error)?;
    let root = match docs.as_slice() {
        [] => return Ok(()),
        [root] => root,
        [_, second, ..] => {
            return Err(error(
                ErrorKind::Structure,
                second,
                "a YAML inventory is one document: this file has a second one (after `---`)",
            ));
        }
    };
    let groups = match &root.data {
        YamlData::Value(Scalar::Null) => return Ok(()),
        YamlData::Mapping(_) => entries(root),
        _ => {
            return Err(error(
                ErrorKind::Structure,
                root,
                "a YAML inventory is a mapping of group names to groups (`all:`, `web:`, …), each with `hosts:`, \
                 `children:` or `vars:`",
            ));
        }
    };
    for (key, _) in &groups {
        match text_key(key) {
            Some("plugin") => {
                return Err(error(
                    ErrorKind::NotStatic,
                    key,
                    format!("this is the configuration of an inventory plugin, not an inventory; {DYNAMIC_HINT}"),
                ));
            }
            Some("_meta") => {
                return Err(error(
                    ErrorKind::NotStatic,
                    key,
                    "this is a dynamic inventory's JSON (`ansible-inventory --list` or a script's output), which \
                     golive does not read: add `--yaml` to write the YAML inventory golive reads",
                ));
            }
            _ => {}
        }
    }
    for (key, value) in groups {
        group(key, value, None, inventory, 1)?;
    }
    Ok(())
}

/// A mapping's entries in file order, `<<` merge keys expanded under the keys written here.
fn entries<'n, 'a>(node: &'n Node<'a>) -> Vec<(&'n Node<'a>, &'n Node<'a>)> {
    let YamlData::Mapping(map) = &node.data else { return Vec::new() };
    let mut own: Vec<(&Node, &Node)> = Vec::new();
    let mut merged: Vec<(&Node, &Node)> = Vec::new();
    for (k, v) in map {
        if text_key(k) == Some("<<") {
            let sources: Vec<&Node> = match &v.data {
                YamlData::Sequence(items) => items.iter().collect(),
                _ => vec![v],
            };
            for source in sources {
                merged.extend(entries(source));
            }
        } else {
            own.push((k, v));
        }
    }
    for (k, v) in merged {
        if !own.iter().any(|(o, _)| o.data == k.data) {
            own.push((k, v));
        }
    }
    own
}

fn text_key<'n>(node: &'n Node) -> Option<&'n str> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.as_ref()),
        YamlData::Representation(s, _, _) => Some(s.as_ref()),
        _ => None,
    }
}

/// A group's or host's name: a string (a number must be quoted, as Ansible requires).
fn name<'n>(node: &'n Node, what: &str) -> Result<&'n str, InventoryError> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Ok(s.as_ref()),
        YamlData::Representation(s, _, _) => Ok(s.as_ref()),
        YamlData::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_) | Scalar::Boolean(_)) => {
            Err(error(ErrorKind::Structure, node, format!("a {what} name must be a string: put it in quotes")))
        }
        _ => Err(error(ErrorKind::Structure, node, format!("a {what} name must be a string"))),
    }
}

fn is_null(node: &Node) -> bool {
    matches!(node.data, YamlData::Value(Scalar::Null))
}

/// One group: its name's node and its body (null, or a mapping of `hosts`, `children`,
/// `vars`), inside `parent` if it is listed in a `children:`.
fn group(
    key: &Node,
    body: &Node,
    parent: Option<usize>,
    inventory: &mut Inventory,
    depth: usize,
) -> Result<usize, InventoryError> {
    let group_name = name(key, "group")?;
    let id = inventory.group(group_name);
    if let Some(parent) = parent {
        inventory.add_child(parent, id, place(key))?;
    }
    if depth > MAX_DEPTH {
        return Err(error(ErrorKind::Structure, key, format!("groups are nested more than {MAX_DEPTH} levels deep")));
    }
    if is_null(body) {
        return Ok(id);
    }
    if !matches!(body.data, YamlData::Mapping(_)) {
        return Err(error(
            ErrorKind::Structure,
            body,
            format!("group `{group_name}` must be a mapping with `hosts:`, `children:` or `vars:` (or be empty)"),
        ));
    }
    for (section, content) in entries(body) {
        let section_name = text_key(section).unwrap_or_default();
        match section_name {
            "hosts" | "children" | "vars" => {}
            _ => {
                let hint = ["hosts", "children", "vars"]
                    .into_iter()
                    .map(|s| (s, strsim::jaro_winkler(section_name, s)))
                    .filter(|&(_, score)| score > 0.8)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or(String::new(), |(s, _)| format!(" (did you mean `{s}`?)"));
                return Err(error(
                    ErrorKind::Structure,
                    section,
                    format!(
                        "unexpected key in group `{group_name}`{hint}: a group has only `hosts:`, `children:` and \
                         `vars:`"
                    ),
                ));
            }
        }
        if is_null(content) {
            continue;
        }
        let items: Vec<(&Node, Option<&Node>)> = match &content.data {
            // `hosts: web-1` and `children: web` name one.
            YamlData::Value(Scalar::String(_)) | YamlData::Representation(..) if section_name != "vars" => {
                vec![(content, None)]
            }
            YamlData::Mapping(_) => entries(content).into_iter().map(|(k, v)| (k, Some(v))).collect(),
            _ => {
                return Err(error(
                    ErrorKind::Structure,
                    content,
                    format!(
                        "`{section_name}` of group `{group_name}` must be a mapping ({})",
                        match section_name {
                            "hosts" => "each host name followed by `:` and its variables, if any",
                            "children" => "each child group's name followed by `:` and its body, if any",
                            _ => "each variable's name followed by `:` and its value",
                        }
                    ),
                ));
            }
        };
        match section_name {
            "hosts" => {
                for (pattern_node, vars_node) in items {
                    host(pattern_node, vars_node, id, inventory)?;
                }
            }
            "children" => {
                for (child_key, child_body) in items {
                    let null = MarkedYaml::value_from_str("~");
                    group(child_key, child_body.unwrap_or(&null), Some(id), inventory, depth + 1)?;
                }
            }
            _ => {
                for (var, value) in items {
                    let Some(key) = text_key(var) else { continue };
                    let at = place(var);
                    let value = value.expect("vars is a mapping");
                    inventory.group_vars(id).set(key, || raw(value), at.line, at.column)?;
                }
            }
        }
    }
    Ok(id)
}

/// One entry of `hosts:`: a pattern and its variables (null or a mapping).
fn host(
    pattern_node: &Node,
    vars_node: Option<&Node>,
    group: usize,
    inventory: &mut Inventory,
) -> Result<(), InventoryError> {
    let text = name(pattern_node, "host")?;
    let at = place(pattern_node);
    let (names, port) = pattern::expand(text, &mut inventory.budget).map_err(|e| {
        InventoryError::at(ErrorKind::HostPattern, at.line, at.column + e.offset.unwrap_or(0), e.message)
    })?;
    let mut vars = Vars::default();
    match vars_node {
        None => {}
        Some(node) if is_null(node) => {}
        Some(node) if matches!(node.data, YamlData::Mapping(_)) => {
            for (var, value) in entries(node) {
                let Some(key) = text_key(var) else { continue };
                let var_at = place(var);
                vars.set(key, || raw(value), var_at.line, var_at.column)?;
            }
        }
        Some(node) => {
            return Err(error(
                ErrorKind::Structure,
                node,
                format!("the variables of host `{text}` must be a mapping (`KEY: VALUE` lines), or nothing"),
            ));
        }
    }
    for name in names {
        inventory.add_host(&name, group, at.line, port, &vars);
    }
    Ok(())
}

/// A connection variable's YAML value.
fn raw(node: &Node) -> Raw {
    match &node.data {
        YamlData::Value(Scalar::Null) => Raw::Null,
        YamlData::Value(Scalar::String(s)) => Raw::Text(s.to_string()),
        YamlData::Representation(s, _, _) => Raw::Text(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Raw::Int(*i),
        YamlData::Value(Scalar::FloatingPoint(_)) => Raw::Other("a number with a fraction"),
        YamlData::Value(Scalar::Boolean(_)) => Raw::Other("true or false"),
        YamlData::Mapping(_) => Raw::Other("a mapping (a Jinja template `{{ … }}` must be quoted in YAML)"),
        YamlData::Sequence(_) => Raw::Other("a list"),
        YamlData::Tagged(..) | YamlData::BadValue | YamlData::Alias(_) => {
            Raw::Other("a tagged value (golive does not decrypt `!vault` values)")
        }
    }
}
