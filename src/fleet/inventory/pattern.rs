//! Host patterns as both inventory formats write them: a name with an optional `:PORT`
//! (`web-1:2222`, `[2001:db8::1]:2222`) and `[begin:end(:step)]` ranges that stand for many
//! names (`web[01:03].example.com`, `db-[a:c]`), expanded the way Ansible expands them.

use std::net::Ipv6Addr;

/// The most hosts one inventory may expand to: a range such as `h[0:99999999]` is refused
/// instead of filling memory.
pub const MAX_HOSTS: usize = 100_000;

/// What is wrong with a pattern, and the column (0-based, in characters, within the
/// pattern) it is at when one place is to blame.
#[derive(Debug, PartialEq, Eq)]
pub struct PatternError {
    pub offset: Option<usize>,
    pub message: String,
}

fn error(offset: Option<usize>, message: impl Into<String>) -> PatternError {
    PatternError { offset, message: message.into() }
}

/// A pattern's host names (ranges expanded, in Ansible's order) and the port its `:PORT`
/// suffix gives. `budget` is how many more hosts may be made; it is lowered by the count.
pub fn expand(pattern: &str, budget: &mut usize) -> Result<(Vec<String>, Option<u16>), PatternError> {
    if pattern.contains('=') {
        return Err(error(
            None,
            "a host name cannot contain `=`: a host's variables follow its name on the same line \
             (`web-1 ansible_port=2222`), and a group's go in a `[GROUP:vars]` section",
        ));
    }
    check_brackets(pattern)?;
    let (host, port) = split_port(pattern)?;
    let names = if host.contains('[') { expand_ranges(&host, budget)? } else { take(budget, vec![host])? };
    Ok((names, port))
}

fn take(budget: &mut usize, names: Vec<String>) -> Result<Vec<String>, PatternError> {
    if names.len() > *budget {
        return Err(error(
            None,
            format!("the inventory expands to more than {MAX_HOSTS} hosts, more than golive reads"),
        ));
    }
    *budget -= names.len();
    Ok(names)
}

/// Every `[` is closed by a `]` before the next `[`, and every `]` opened.
fn check_brackets(pattern: &str) -> Result<(), PatternError> {
    let mut open: Option<usize> = None;
    for (i, c) in pattern.chars().enumerate() {
        match c {
            '[' if open.is_some() => {
                return Err(error(Some(i), "unbalanced brackets: a `[` inside a range; ranges cannot be nested"));
            }
            '[' => open = Some(i),
            ']' if open.is_none() => {
                return Err(error(Some(i), "unbalanced brackets: this `]` closes no `[`"));
            }
            ']' => open = None,
            _ => {}
        }
    }
    match open {
        Some(i) => Err(error(Some(i), "unbalanced brackets: this `[` has no closing `]`")),
        None => Ok(()),
    }
}

/// Separates `HOST:PORT` (a colon outside brackets followed by digits) and `[IPV6]:PORT`;
/// a bare IPv6 address (several colons) has no port.
fn split_port(pattern: &str) -> Result<(String, Option<u16>), PatternError> {
    if let Some(rest) = pattern.strip_prefix('[')
        && let Some((inside, port)) = rest.split_once("]:")
        && inside.parse::<Ipv6Addr>().is_ok()
    {
        return Ok((inside.to_string(), Some(port_number(port, inside.chars().count() + 3)?)));
    }
    let mut depth = 0;
    let colons: Vec<usize> = pattern
        .char_indices()
        .filter(|&(_, c)| {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            c == ':' && depth == 0
        })
        .map(|(i, _)| i)
        .collect();
    match colons.as_slice() {
        [] => Ok((pattern.to_string(), None)),
        [at] => {
            let (host, port) = (&pattern[..*at], &pattern[at + 1..]);
            let offset = pattern[..*at].chars().count() + 1;
            if port.is_empty() {
                return Err(error(
                    Some(offset - 1),
                    "a host pattern cannot end in `:`: the colon is followed by a port (`web-1:2222`)",
                ));
            }
            if host.is_empty() {
                return Err(error(Some(0), "a host pattern needs a name before its `:PORT`"));
            }
            Ok((host.to_string(), Some(port_number(port, offset)?)))
        }
        _ if pattern.parse::<Ipv6Addr>().is_ok() => Ok((pattern.to_string(), None)),
        _ => Err(error(
            None,
            "more than one `:` outside brackets: write `NAME:PORT`, an IPv6 address, or `[IPV6]:PORT` for an \
             IPv6 address with a port",
        )),
    }
}

fn port_number(text: &str, offset: usize) -> Result<u16, PatternError> {
    parse_port(text).ok_or_else(|| error(Some(offset), format!("the port `{text}` is not a number in 1..65535")))
}

/// A port written in decimal digits, 1..65535.
pub fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|&p| p != 0)
}

/// Expands the first `[…]` range, then the ranges of each result, so `a[1:2]b[x:y]` gives
/// `a1bx a1by a2bx a2by`.
fn expand_ranges(pattern: &str, budget: &mut usize) -> Result<Vec<String>, PatternError> {
    let Some(open) = pattern.find('[') else { return take(budget, vec![pattern.to_string()]) };
    let close = open + pattern[open..].find(']').expect("brackets are balanced");
    let (head, range, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let offset = Some(pattern[..open].chars().count());
    let values = range_values(range, *budget).map_err(|m| error(offset, m))?;
    let mut names = Vec::new();
    for value in values {
        let name = format!("{head}{value}{tail}");
        if tail.contains('[') {
            names.extend(expand_ranges(&name, budget)?);
        } else {
            names.extend(take(budget, vec![name])?);
        }
    }
    Ok(names)
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The values of one range's inside (`01:10`, `a:c`, `1:10:2`, `:3`); at most `budget` of
/// them are made.
fn range_values(range: &str, budget: usize) -> Result<Vec<String>, String> {
    let bounds: Vec<&str> = range.split(':').collect();
    let (begin, end, step) = match bounds.as_slice() {
        [b, e] => (*b, *e, 1usize),
        [b, e, s] => {
            let step = s
                .parse::<usize>()
                .ok()
                .filter(|&s| s > 0)
                .ok_or_else(|| format!("the step of the range [{range}] must be a whole number of at least 1"))?;
            (*b, *e, step)
        }
        _ => return Err(format!("a range is [BEGIN:END] or [BEGIN:END:STEP], not [{range}]")),
    };
    let begin = if begin.is_empty() { "0" } else { begin };
    if end.is_empty() {
        return Err(format!("the range [{range}] has no end: write [BEGIN:END]"));
    }
    let too_many = || format!("the range [{range}] makes more than {MAX_HOSTS} hosts, more than golive reads");
    if let (Some(b), Some(e)) = (single_letter(begin), single_letter(end)) {
        if b > e {
            return Err(format!("the range [{range}] is empty: its beginning comes after its end"));
        }
        return Ok(LETTERS[b..=e].chars().step_by(step).map(String::from).collect());
    }
    let number = |s: &str| s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse::<u64>().ok()).flatten();
    let (Some(b), Some(e)) = (number(begin), number(end)) else {
        return Err(format!("the bounds of the range [{range}] must both be numbers or both be single letters"));
    };
    let width = if begin.len() > 1 && begin.starts_with('0') {
        if begin.len() != end.len() {
            return Err(format!(
                "the range [{range}] pads with zeros, so its beginning and end must have the same number of digits"
            ));
        }
        begin.len()
    } else {
        0
    };
    if b > e {
        return Err(format!("the range [{range}] is empty: its beginning is greater than its end"));
    }
    if (e - b) / step as u64 >= budget as u64 {
        return Err(too_many());
    }
    Ok((b..=e).step_by(step).map(|n| format!("{n:0width$}")).collect())
}

fn single_letter(s: &str) -> Option<usize> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => LETTERS.find(c),
        _ => None,
    }
}

/// Whether a value is a Jinja template, which golive does not render.
pub fn is_template(value: &str) -> bool {
    value.contains("{{") || value.contains("{%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(pattern: &str) -> Vec<String> {
        expand(pattern, &mut MAX_HOSTS.clone()).unwrap().0
    }

    fn fails(pattern: &str) -> PatternError {
        expand(pattern, &mut MAX_HOSTS.clone()).unwrap_err()
    }

    #[test]
    fn a_plain_name_is_itself() {
        assert_eq!(expand("web-1.example.com", &mut 10).unwrap(), (vec!["web-1.example.com".to_string()], None));
    }

    #[test]
    fn numeric_ranges_keep_their_zero_padding() {
        assert_eq!(names("web[01:03].example.com"), ["web01.example.com", "web02.example.com", "web03.example.com"]);
        assert_eq!(names("z[08:10]"), ["z08", "z09", "z10"]);
        assert_eq!(names("h[9:11]"), ["h9", "h10", "h11"]);
    }

    #[test]
    fn ranges_take_a_stride_and_an_empty_beginning_is_zero() {
        assert_eq!(names("h[1:10:3]"), ["h1", "h4", "h7", "h10"]);
        assert_eq!(names("x[a:e:2]y"), ["xay", "xcy", "xey"]);
        assert_eq!(names("h[:2]"), ["h0", "h1", "h2"]);
    }

    #[test]
    fn letter_ranges_and_several_ranges_in_one_name() {
        assert_eq!(names("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(names("m[1:2]n[a:b]"), ["m1na", "m1nb", "m2na", "m2nb"]);
        assert_eq!(names("r[y:B]"), ["ry", "rz", "rA", "rB"], "Ansible's letters run a..z then A..Z");
    }

    #[test]
    fn a_port_suffix_is_split_off_ranges_included() {
        assert_eq!(expand("web-1:2222", &mut 10).unwrap(), (vec!["web-1".to_string()], Some(2222)));
        assert_eq!(expand("w[1:2]:22", &mut 10).unwrap(), (vec!["w1".to_string(), "w2".to_string()], Some(22)));
        assert_eq!(expand("[2001:db8::1]:2222", &mut 10).unwrap(), (vec!["2001:db8::1".to_string()], Some(2222)));
        assert_eq!(expand("2001:db8::1", &mut 10).unwrap(), (vec!["2001:db8::1".to_string()], None));
    }

    #[test]
    fn bad_ports_are_errors() {
        assert!(fails("web-1:").message.contains("cannot end in `:`"));
        assert!(fails("web-1:70000").message.contains("not a number in 1..65535"));
        assert!(fails("web-1:0").message.contains("not a number in 1..65535"));
        assert!(fails("web-1:ssh").message.contains("`ssh` is not a number"));
        assert!(fails("a:b:c").message.contains("more than one `:`"));
    }

    #[test]
    fn unbalanced_brackets_say_which_bracket() {
        let e = fails("web[01:03.example.com");
        assert_eq!(e.offset, Some(3));
        assert!(e.message.contains("has no closing `]`"), "{}", e.message);
        let e = fails("web01:03].example.com");
        assert_eq!(e.offset, Some(8));
        assert!(e.message.contains("closes no `[`"), "{}", e.message);
        assert!(fails("a[[1:2]]").message.contains("cannot be nested"));
    }

    #[test]
    fn malformed_ranges_are_errors() {
        assert!(fails("h[3:1]").message.contains("is empty"));
        assert!(fails("h[c:a]").message.contains("is empty"));
        assert!(fails("h[01:100]").message.contains("same number of digits"));
        assert!(fails("h[1:]").message.contains("has no end"));
        assert!(fails("h[1:5:0]").message.contains("step"));
        assert!(fails("h[a:5]").message.contains("both be numbers or both be single letters"));
        assert!(fails("h[1]").message.contains("[BEGIN:END]"));
        assert!(fails("h[1:2:3:4]").message.contains("[BEGIN:END]"));
    }

    #[test]
    fn expansion_is_bounded() {
        assert!(fails("h[0:99999999]").message.contains("more than 100000 hosts"));
        let mut budget = 5;
        assert!(expand("h[1:3]", &mut budget).is_ok());
        assert_eq!(budget, 2);
        assert!(expand("h[1:3]", &mut budget).unwrap_err().message.contains("more than"));
        let mut budget = 3;
        assert!(expand("a[1:2]b[1:2]", &mut budget).is_err(), "4 hosts do not fit in 3");
    }

    #[test]
    fn a_host_name_with_an_equals_sign_is_refused() {
        assert!(fails("ansible_password=hunter22").message.contains("cannot contain `=`"));
    }

    #[test]
    fn ports_and_templates() {
        assert_eq!(parse_port("22"), Some(22));
        assert_eq!(parse_port("65535"), Some(65535));
        assert_eq!(parse_port("65536"), None);
        assert_eq!(parse_port("+22"), None);
        assert_eq!(parse_port(""), None);
        assert!(is_template("{{ inventory_hostname }}.example.com"));
        assert!(is_template("{% if x %}a{% endif %}"));
        assert!(!is_template("web-{1}.example.com"));
    }
}
