//! The inventory reader's tests: small inventories in, hosts or an error out; the fixture
//! fleet in both formats and as `ansible-inventory` printed it.

use std::path::{Path, PathBuf};

use super::*;

fn ini(text: &str) -> Vec<InventoryHost> {
    parse_ini(text).unwrap_or_else(|e| panic!("{}:{:?}: {e}", e.line.unwrap_or(0), e.column))
}

fn yaml(text: &str) -> Vec<InventoryHost> {
    parse_yaml(text).unwrap_or_else(|e| panic!("{}:{:?}: {e}", e.line.unwrap_or(0), e.column))
}

fn ini_err(text: &str) -> InventoryError {
    parse_ini(text).expect_err("an error")
}

fn yaml_err(text: &str) -> InventoryError {
    parse_yaml(text).expect_err("an error")
}

fn names(hosts: &[InventoryHost]) -> Vec<&str> {
    hosts.iter().map(|h| h.name.as_str()).collect()
}

fn find<'a>(hosts: &'a [InventoryHost], name: &str) -> &'a InventoryHost {
    hosts.iter().find(|h| h.name == name).unwrap_or_else(|| panic!("no host {name} in {:?}", names(hosts)))
}

fn where_(e: &InventoryError) -> (Option<usize>, Option<usize>) {
    (e.line, e.column)
}

// ── INI ──────────────────────────────────────────────────────────────────────────────

#[test]
fn ini_ungrouped_hosts_groups_comments_and_file_order() {
    let hosts = ini("# comment\n; another\nlonely\n\n[web]\nweb-2\nweb-1   # trailing comment\n[db]\ndb-1\n");
    assert_eq!(names(&hosts), ["lonely", "web-2", "web-1", "db-1"]);
    assert_eq!(find(&hosts, "lonely").groups, Vec::<String>::new());
    assert_eq!(find(&hosts, "web-1").groups, ["web"]);
    assert_eq!((find(&hosts, "lonely").line, find(&hosts, "web-1").line, find(&hosts, "db-1").line), (3, 7, 9));
    assert_eq!(find(&hosts, "db-1").host, None);
}

#[test]
fn ini_host_variables_quoted_values_and_the_port_shorthand() {
    let hosts = ini(concat!(
        "[web]\n",
        "a ansible_host=10.0.0.1 ansible_port=2222 ansible_user=deploy other='x y'\n",
        "b:2200 ansible_user=\"ops\"\n",
        "c ansible_user=\"'quoted'\" ansible_host='h.example.com'\n",
        "d:2200 ansible_port=2300\n",
    ));
    let a = find(&hosts, "a");
    assert_eq!((a.host.as_deref(), a.port, a.user.as_deref()), (Some("10.0.0.1"), Some(2222), Some("deploy")));
    let b = find(&hosts, "b");
    assert_eq!((b.port, b.user.as_deref()), (Some(2200), Some("ops")));
    let c = find(&hosts, "c");
    assert_eq!((c.user.as_deref(), c.host.as_deref()), (Some("quoted"), Some("h.example.com")));
    assert_eq!(find(&hosts, "d").port, Some(2300), "a variable on the line comes after the shorthand");
    // Ansible takes the shorthand's port only where a host is first declared.
    let hosts = ini("[g]\na ansible_port=1\nb\n[k]\na:2\nb:3\nb:4\n");
    assert_eq!((find(&hosts, "a").port, find(&hosts, "b").port), (Some(1), None));
    let hosts = yaml("g:\n  hosts:\n    a:2:\n    a:3:\n      ansible_user: u\n");
    assert_eq!((hosts[0].port, hosts[0].user.as_deref()), (Some(2), Some("u")));
}

#[test]
fn ini_ranges_expand_in_place() {
    let hosts = ini("[web]\nweb[01:03].example.com ansible_user=u\n[db]\ndb-[a:c]\n[odd]\nn[1:10:2]\n");
    assert_eq!(
        names(&hosts),
        [
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "db-a",
            "db-b",
            "db-c",
            "n1",
            "n3",
            "n5",
            "n7",
            "n9"
        ]
    );
    assert!(hosts[..3].iter().all(|h| h.user.as_deref() == Some("u") && h.line == 2));
}

#[test]
fn ini_children_make_hosts_members_of_every_ancestor() {
    let hosts = ini("[prod:children]\napp\n[app:children]\nweb\n[web]\nw1\n[app]\n[other]\nw1\n");
    assert_eq!(find(&hosts, "w1").groups, ["app", "other", "prod", "web"]);
}

#[test]
fn ini_children_may_name_a_group_declared_later() {
    let hosts = ini("[parent:children]\nchild\n[child]\nh1\n");
    assert_eq!(find(&hosts, "h1").groups, ["child", "parent"]);
    let hosts = ini("[parent:children]\nmiddle\n[middle:children]\nleaf\n[leaf]\nh1\n");
    assert_eq!(find(&hosts, "h1").groups, ["leaf", "middle", "parent"]);
}

#[test]
fn ini_all_vars_and_group_vars_with_ansible_precedence() {
    let hosts = ini(concat!(
        "[zeta]\nh1\n[alpha]\nh1\n[child]\nh2\n[parent:children]\nchild\n",
        "[zeta:vars]\nansible_user=zeta\n[alpha:vars]\nansible_user=alpha\n",
        "[parent:vars]\nansible_user=parent\nansible_port=1\n[child:vars]\nansible_port=2\n",
        "[all:vars]\nansible_port=3\nansible_host=all.example.com\n",
        "[own]\nh3 ansible_port=4\n[own:vars]\nansible_port=5\n",
    ));
    let h1 = find(&hosts, "h1");
    // Same depth: the later name wins (as `ansible-inventory` shows it).
    assert_eq!((h1.user.as_deref(), h1.port), (Some("zeta"), Some(3)));
    let h2 = find(&hosts, "h2");
    assert_eq!((h2.user.as_deref(), h2.port), (Some("parent"), Some(2)), "the child's port over the parent's");
    assert_eq!(h2.host.as_deref(), Some("all.example.com"));
    assert_eq!(find(&hosts, "h3").port, Some(4), "host vars over group vars");
}

#[test]
fn ini_group_priority_orders_groups_of_the_same_depth() {
    let hosts = ini(concat!(
        "[zeta]\nh1\n[alpha]\nh1\n[zeta:vars]\nansible_user=zeta\n",
        "[alpha:vars]\nansible_user=alpha\nansible_group_priority=10\n"
    ));
    assert_eq!(find(&hosts, "h1").user.as_deref(), Some("alpha"));
}

#[test]
fn ini_a_host_in_several_groups_is_one_host_with_merged_vars() {
    let hosts = ini("[g]\nh1 ansible_port=22\n[k]\nh1 ansible_port=23 ansible_user=a\n[g:vars]\nx=1\n");
    assert_eq!(hosts.len(), 1);
    let h1 = &hosts[0];
    assert_eq!((h1.port, h1.user.as_deref(), h1.line), (Some(23), Some("a"), 2));
    assert_eq!(h1.groups, ["g", "k"]);
}

#[test]
fn ini_legacy_ssh_variables_and_which_wins() {
    let hosts = ini(concat!(
        "[g]\nold ansible_ssh_host=10.0.0.9 ansible_ssh_port=2022 ansible_ssh_user=legacy\n",
        "both ansible_host=a ansible_ssh_host=b ansible_user=ua ansible_ssh_user=ub ansible_port=1 ansible_ssh_port=2\n",
    ));
    let old = find(&hosts, "old");
    assert_eq!((old.host.as_deref(), old.port, old.user.as_deref()), (Some("10.0.0.9"), Some(2022), Some("legacy")));
    // Ansible's ssh connection reads ansible_X, then ansible_ssh_X: the latter wins.
    let both = find(&hosts, "both");
    assert_eq!((both.host.as_deref(), both.port, both.user.as_deref()), (Some("b"), Some(2), Some("ub")));
}

#[test]
fn ini_vars_sections_take_the_rest_of_the_line_as_in_ansible() {
    let hosts =
        ini("[g]\nh1\n[g:vars]\nansible_port = 2022 # a number, then a comment\nansible_host = \"h.example\" # c\n");
    assert_eq!((hosts[0].port, hosts[0].host.as_deref()), (Some(2022), Some("h.example")));
    // Python's int() allows spaces, literal_eval reads hex and joins adjacent strings.
    let hosts = ini("[g]\nh1\nh2 ansible_port=0x16\n[g:vars]\nansible_port = ' 2222'\nansible_user = \"x\" \"y\"\n");
    assert_eq!((hosts[0].port, hosts[0].user.as_deref(), hosts[1].port), (Some(2222), Some("xy"), Some(22)));
    // `deploy # comment` is not a Python literal, so Ansible keeps it whole: a user with a
    // space, which golive refuses with the reason.
    let e = ini_err("[g]\nh1\n[g:vars]\nansible_user = deploy # the deploy user\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Variable, (Some(4), Some(1))));
    assert!(e.message.contains("contains a space") && e.message.contains("comments on their own line"), "{e}");
}

#[test]
fn ini_none_unsets_a_value_of_a_lower_level() {
    let hosts = ini("[g]\nh1 ansible_user=None\n[g:vars]\nansible_user=deploy\n");
    assert_eq!(hosts[0].user, None);
}

#[test]
fn ini_other_variables_are_accepted_and_ignored() {
    let hosts =
        ini("[g]\nh1 http_port=8080 ansible_connection=ssh foo='{{ not_ours }}' list=[1,2]\n[g:vars]\nx={{ y }}\n");
    assert_eq!(hosts[0].port, None);
}

#[test]
fn ini_ipv6_addresses() {
    let hosts = ini("[g]\n[2001:db8::1]:2222\n2001:db8::2\n");
    assert_eq!(names(&hosts), ["2001:db8::1", "2001:db8::2"]);
    assert_eq!((hosts[0].port, hosts[1].port), (Some(2222), None));
}

#[test]
fn ini_indented_lines_and_crlf() {
    let hosts = ini("[web]\r\n   web-1 ansible_port=22\r\n\t[db]\r\n db-1\r\n");
    assert_eq!(names(&hosts), ["web-1", "db-1"]);
    assert_eq!(find(&hosts, "db-1").groups, ["db"]);
}

#[test]
fn ini_a_semicolon_after_a_host_is_not_a_comment() {
    // Ansible: "Expected key=value host variable assignment, got: ;"
    let e = ini_err("[g]\nh1 ; comment\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Syntax, (Some(2), Some(4))));
}

#[test]
fn ini_hosts_of_the_all_section_and_empty_groups() {
    let hosts = ini("[all]\nh1\n[empty]\n[empty:vars]\nansible_port=2\n");
    assert_eq!(hosts[0].groups, Vec::<String>::new());
    assert_eq!(hosts[0].port, None);
}

// INI errors

#[test]
fn ini_unbalanced_brackets_in_a_host_pattern() {
    let e = ini_err("[web]\nweb[01:03.example.com\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::HostPattern, (Some(2), Some(4))));
    assert!(e.message.contains("unbalanced brackets"), "{e}");
    let e = ini_err("[web]\n  web01:03].example.com\n");
    assert_eq!(where_(&e), (Some(2), Some(11)));
}

#[test]
fn ini_unbalanced_or_malformed_section_headers() {
    let e = ini_err("[web\nh1\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Syntax, (Some(1), Some(1))));
    assert!(e.message.contains("unbalanced brackets"), "{e}");
    let e = ini_err("h0\n[web servers]\nh1\n");
    assert_eq!(where_(&e), (Some(2), Some(1)));
    assert!(e.message.contains("not a section header") && e.message.contains("no spaces"), "{e}");
    let e = ini_err("[web:hosts_and_more]\nh1\n");
    assert!(e.message.contains("unknown section type `hosts_and_more`"), "{e}");
    assert_eq!(e.column, Some(6));
}

#[test]
fn ini_bad_ranges() {
    for (pattern, says) in [
        ("h[3:1]", "is empty"),
        ("h[01:100]", "same number of digits"),
        ("h[1:]", "has no end"),
        ("h[1:9:0]", "step"),
        ("h[a:9]", "both be numbers or both be single letters"),
        ("h[0:9999999]", "more than 100000 hosts"),
    ] {
        let e = ini_err(&format!("[g]\n{pattern}\n"));
        assert_eq!((e.kind, e.line, e.column), (ErrorKind::HostPattern, Some(2), Some(2)), "{pattern}");
        assert!(e.message.contains(says), "{pattern}: {e}");
    }
}

#[test]
fn ini_the_host_count_is_bounded_across_lines() {
    let text = format!("[g]\n{}", (0..11).map(|i| format!("h{i}-[0:9999]\n")).collect::<String>());
    let e = ini_err(&text);
    assert_eq!((e.kind, e.line), (ErrorKind::HostPattern, Some(12)));
}

#[test]
fn ini_bad_ports() {
    let e = ini_err("[g]\nh1 ansible_port=abc\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Variable, (Some(2), Some(4))));
    assert!(e.message.contains("ansible_port `abc` is not a port number in 1..65535"), "{e}");
    assert!(ini_err("[g]\nh1 ansible_ssh_port=70000\n").message.contains("`70000`"));
    assert!(ini_err("[g]\nh1 ansible_port=0\n").message.contains("1..65535"));
    let e = ini_err("[g]\nh1\n[g:vars]\nansible_port=22.5\n");
    assert_eq!((e.kind, e.line), (ErrorKind::Variable, Some(4)));
    let e = ini_err("[g]\n  h1:99999\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::HostPattern, (Some(2), Some(6))));
    let e = ini_err("[g]\nh1:\n");
    assert!(e.message.contains("cannot end in `:`"), "{e}");
}

#[test]
fn ini_jinja_in_connection_variables_is_refused() {
    for var in ["ansible_host", "ansible_ssh_host", "ansible_user", "ansible_port"] {
        let e = ini_err(&format!("[g]\nh1 {var}=\"{{{{ lookup('env', 'X') }}}}\"\n"));
        assert_eq!((e.kind, where_(&e)), (ErrorKind::Template, (Some(2), Some(4))), "{var}");
        assert!(e.message.contains("golive does not render Jinja") && e.message.contains(var), "{e}");
        assert!(!e.message.contains("lookup"), "the template is not quoted: {e}");
    }
    let e = ini_err("[g]\nh1\n[g:vars]\nansible_user={% if x %}a{% endif %}\n");
    assert_eq!((e.kind, e.line), (ErrorKind::Template, Some(4)));
}

#[test]
fn ini_empty_connection_values_are_refused() {
    let e = ini_err("[g]\nh1 ansible_host=\n");
    assert!(e.message.contains("ansible_host is empty"), "{e}");
    assert!(ini_err("[g]\nh1 ansible_user=True\n").message.contains("must be a string"));
}

#[test]
fn ini_children_naming_an_undefined_group_is_an_error_as_in_ansible() {
    let e = ini_err("[web]\nh1\n[prod:children]\nweb\nghost\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::UndefinedGroup, (Some(5), Some(1))));
    assert!(e.message.contains("`[prod:children]` names `ghost`") && e.message.contains("add a `[ghost]` section"));
}

#[test]
fn ini_vars_for_an_undefined_group_is_an_error_as_in_ansible() {
    let e = ini_err("h1\n[g:vars]\na=1\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::UndefinedGroup, (Some(2), Some(2))));
    assert!(e.message.contains("`[g:vars]`"), "{e}");
    // Declared after its vars is fine.
    assert_eq!(names(&ini("[g:vars]\na=1\n[g]\nh1\n")), ["h1"]);
}

#[test]
fn ini_cycles_in_children_are_errors() {
    let e = ini_err("[a:children]\nb\n[b:children]\nc\n[c:children]\na\n[a]\nh1\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Cycle, (Some(6), Some(1))));
    assert!(e.message.contains("`c` → `a` → `b` → `c`"), "{e}");
    let e = ini_err("[a:children]\na\n");
    assert!(e.message.contains("cannot be a child of itself"), "{e}");
    let e = ini_err("[a:children]\nall\n");
    assert!(e.message.contains("`all` cannot be a child"), "{e}");
}

#[test]
fn ini_lines_that_are_not_host_definitions() {
    let e = ini_err("[g]\nh1 ansible_port=22 stray\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Syntax, (Some(2), Some(20))));
    assert!(e.message.contains("expected `KEY=VALUE`"), "{e}");
    let e = ini_err("[g]\nh1 =x\n");
    assert!(e.message.contains("a name before its `=`"), "{e}");
    let e = ini_err("[g]\nh1\n[g:vars]\njust words\n");
    assert_eq!((e.kind, e.line), (ErrorKind::Syntax, Some(4)));
    let e = ini_err("[g]\nh1\n[p:children]\ng extra\n");
    assert_eq!(where_(&e), (Some(4), Some(2)));
    let e = ini_err("[g]\nh1 a=\"open\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Syntax, (Some(2), Some(6))));
}

#[test]
fn ini_an_empty_inventory_has_no_hosts() {
    for text in ["", "# only a comment\n", "[web]\n[db:children]\nweb\n"] {
        let e = ini_err(text);
        assert_eq!(e.kind, ErrorKind::NoHosts, "{text:?}");
        assert!(e.message.contains("no hosts"), "{e}");
    }
}

// ── YAML ─────────────────────────────────────────────────────────────────────────────

#[test]
fn yaml_groups_hosts_children_and_vars() {
    let hosts = yaml(concat!(
        "all:\n",
        "  hosts:\n",
        "    top1:\n",
        "    \"top2:2200\":\n",
        "      ansible_user: u\n",
        "  vars:\n",
        "    ansible_user: alluser\n",
        "  children:\n",
        "    web:\n",
        "      hosts:\n",
        "        web[01:02].example.com:\n",
        "          ansible_port: 22\n",
        "      children:\n",
        "        nginx:\n",
        "          hosts: n1\n",
        "    empty:\n",
        "    db:\n",
        "      hosts:\n",
        "        db-[a:b]:\n",
        "      vars:\n",
        "        ansible_port: \"5432\"\n",
        "web:\n",
        "  hosts:\n",
        "    extra:\n",
        "other:\n",
        "  hosts:\n",
        "    top1:\n",
        "      ansible_host: 1.2.3.4\n",
    ));
    assert_eq!(
        names(&hosts),
        ["top1", "top2", "web01.example.com", "web02.example.com", "n1", "db-a", "db-b", "extra"]
    );
    let top1 = find(&hosts, "top1");
    assert_eq!((top1.host.as_deref(), top1.user.as_deref(), top1.line), (Some("1.2.3.4"), Some("alluser"), 3));
    assert_eq!(top1.groups, ["other"]);
    let top2 = find(&hosts, "top2");
    assert_eq!((top2.port, top2.user.as_deref(), top2.line), (Some(2200), Some("u"), 4));
    assert_eq!(find(&hosts, "n1").groups, ["nginx", "web"]);
    assert_eq!(find(&hosts, "db-b").port, Some(5432));
    assert_eq!(find(&hosts, "web02.example.com").line, 11);
    assert_eq!(find(&hosts, "extra").groups, ["web"]);
}

#[test]
fn yaml_precedence_matches_ini() {
    let hosts = yaml(concat!(
        "all:\n  vars: {ansible_port: 3, ansible_host: all.example.com}\n",
        "zeta: {hosts: {h1: }, vars: {ansible_user: zeta}}\n",
        "alpha: {hosts: {h1: }, vars: {ansible_user: alpha}}\n",
        "parent:\n  vars: {ansible_user: parent, ansible_port: 1}\n  children:\n    child:\n",
        "      hosts: {h2: }\n      vars: {ansible_port: 2}\n",
        "own: {hosts: {h3: {ansible_port: 4}}, vars: {ansible_port: 5}}\n",
    ));
    assert_eq!((find(&hosts, "h1").user.as_deref(), find(&hosts, "h1").port), (Some("zeta"), Some(3)));
    let h2 = find(&hosts, "h2");
    assert_eq!((h2.user.as_deref(), h2.port, h2.host.as_deref()), (Some("parent"), Some(2), Some("all.example.com")));
    assert_eq!(find(&hosts, "h3").port, Some(4));
}

#[test]
fn yaml_null_and_empty_values() {
    let hosts = yaml("all:\n  hosts:\n  children:\n  vars:\nweb:\n  hosts:\n    w1: ~\n    w2: {}\n  vars: ~\ndb:\n");
    assert_eq!(names(&hosts), ["w1", "w2"]);
    let hosts = yaml("web:\n  hosts:\n    w1:\n      ansible_user: null\n  vars:\n    ansible_user: deploy\n");
    assert_eq!(hosts[0].user, None, "null over a group's value unsets it, as in Ansible");
}

#[test]
fn yaml_children_are_merged_wherever_a_group_is_written() {
    let hosts = yaml(concat!(
        "all:\n  children:\n    prod:\n      children:\n        web:\n",
        "    web:\n      hosts:\n        w1:\n      vars:\n        ansible_user: deploy\n",
        "prod:\n  vars:\n    ansible_port: 2222\n",
    ));
    let w1 = find(&hosts, "w1");
    assert_eq!((w1.user.as_deref(), w1.port), (Some("deploy"), Some(2222)));
    assert_eq!(w1.groups, ["prod", "web"]);
}

#[test]
fn yaml_types_of_connection_values() {
    let hosts = yaml(
        "g:\n  hosts:\n    h1:\n      ansible_port: 2222\n      ansible_host: 10.0.0.1\n      ansible_user: 1000\n",
    );
    assert_eq!(
        (hosts[0].port, hosts[0].host.as_deref(), hosts[0].user.as_deref()),
        (Some(2222), Some("10.0.0.1"), Some("1000"))
    );
    let e = yaml_err("g:\n  hosts:\n    h1:\n      ansible_port: [22]\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Variable, (Some(4), Some(7))));
    let e = yaml_err("g:\n  hosts:\n    h1:\n      ansible_user: true\n");
    assert!(e.message.contains("must be a string, not true or false"), "{e}");
    let e = yaml_err("g:\n  hosts:\n    h1:\n      ansible_port: 22.5\n");
    assert!(e.message.contains("not a number with a fraction"), "{e}");
}

#[test]
fn yaml_vault_values_are_not_decrypted() {
    let vault = "!vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        62313365396662343061393464336163383764373764613633653634306231386433626436623361\n";
    let hosts = yaml(&format!("g:\n  hosts:\n    h1:\n      ansible_password: {vault}"));
    assert_eq!(names(&hosts), ["h1"], "a vaulted password is ignored like any other variable");
    let e = yaml_err(&format!("g:\n  hosts:\n    h1:\n      ansible_user: {vault}"));
    assert_eq!((e.kind, e.line), (ErrorKind::Variable, Some(4)));
    assert!(e.message.contains("does not decrypt `!vault`"), "{e}");
}

#[test]
fn yaml_anchors_and_merge_keys() {
    let hosts = yaml(concat!(
        "web:\n  hosts:\n    w1: &common\n      ansible_user: deploy\n      ansible_port: 2222\n",
        "    w2:\n      <<: *common\n      ansible_port: 2200\n",
    ));
    let w2 = find(&hosts, "w2");
    assert_eq!((w2.user.as_deref(), w2.port), (Some("deploy"), Some(2200)));
}

#[test]
fn yaml_other_variables_are_ignored_whatever_their_type() {
    let hosts = yaml("g:\n  hosts:\n    h1:\n      tags: [a, b]\n      nested: {x: {{y}}}\n      t: \"{{ x }}\"\n");
    assert_eq!(names(&hosts), ["h1"]);
}

#[test]
fn yaml_a_string_names_one_host_or_child() {
    let hosts = yaml("p:\n  children: web\nweb:\n  hosts: w1\n");
    assert_eq!(find(&hosts, "w1").groups, ["p", "web"]);
}

// YAML errors

#[test]
fn yaml_invalid_yaml_has_its_line_and_column() {
    let e = yaml_err("web:\n  hosts: [h1\n");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(e.message.starts_with("invalid YAML: "), "{e}");
    assert_eq!(e.line, Some(3));
    let e = yaml_err("web:\n  hosts:\n    h1:\n   bad: indent\n");
    assert_eq!((e.kind, e.line, e.column), (ErrorKind::Syntax, Some(4), Some(4)), "{e}");
    let e = yaml_err("web:\n  hosts:\n    h1:\n    h1:\n");
    assert!(e.message.contains("duplicated key"), "{e}");
    assert_eq!(e.line, Some(4));
}

#[test]
fn yaml_shapes_that_are_not_an_inventory() {
    let e = yaml_err("- h1\n- h2\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Structure, (Some(1), Some(1))));
    let e = yaml_err("web:\n  hosts:\n    - h1\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Structure, (Some(3), Some(5))));
    assert!(e.message.contains("`hosts` of group `web` must be a mapping"), "{e}");
    let e = yaml_err("web: foo\n");
    assert!(e.message.contains("group `web` must be a mapping"), "{e}");
    let e = yaml_err("web:\n  hosts:\n    h1: just-a-string\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Structure, (Some(3), Some(9))));
    let e = yaml_err("web:\n  hosts:\n    80:\n");
    assert!(e.message.contains("must be a string: put it in quotes"), "{e}");
    let e = yaml_err("web:\n  vars: [a]\n");
    assert!(e.message.contains("`vars` of group `web`"), "{e}");
    let e = yaml_err("a:\n  hosts:\n    h1:\n---\nb:\n");
    assert!(e.message.contains("one document"), "{e}");
}

#[test]
fn yaml_unknown_keys_in_a_group_are_errors_with_a_suggestion() {
    let e = yaml_err("all:\n  chldren:\n    a:\n      hosts:\n        h1:\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Structure, (Some(2), Some(3))));
    assert!(e.message.contains("did you mean `children`?"), "{e}");
    let e = yaml_err("web:\n  host:\n    h1:\n");
    assert!(e.message.contains("did you mean `hosts`?"), "{e}");
}

#[test]
fn yaml_ranges_and_ports_in_host_names() {
    let hosts = yaml("g:\n  hosts:\n    \"w[1:3:2]:2022\":\n    db-[x:z]:\n");
    assert_eq!(names(&hosts), ["w1", "w3", "db-x", "db-y", "db-z"]);
    assert_eq!(hosts[0].port, Some(2022));
    let e = yaml_err("g:\n  hosts:\n    w[1:3:\n");
    assert_eq!(e.kind, ErrorKind::HostPattern);
    assert_eq!(e.line, Some(3));
    let e = yaml_err("g:\n  hosts:\n    w[1:3]]:\n");
    assert!(e.message.contains("unbalanced brackets"), "{e}");
}

#[test]
fn yaml_bad_ports_and_templates() {
    let e = yaml_err("g:\n  hosts:\n    h1:\n      ansible_port: http\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Variable, (Some(4), Some(7))));
    assert!(e.message.contains("`http` is not a port number in 1..65535"), "{e}");
    assert!(yaml_err("g:\n  vars:\n    ansible_ssh_port: 65536\n").message.contains("65536"));
    let e = yaml_err("g:\n  hosts:\n    h1:\n      ansible_host: \"{{ inventory_hostname }}.example.com\"\n");
    assert_eq!((e.kind, e.line), (ErrorKind::Template, Some(4)));
    assert!(e.message.contains("golive does not render Jinja"), "{e}");
    let e = yaml_err("g:\n  hosts:\n    h1:\n      ansible_user: {{ user }}\n");
    assert!(e.message.contains("must be quoted"), "an unquoted template is a YAML mapping: {e}");
}

#[test]
fn yaml_cycles_in_children_are_errors() {
    let e = yaml_err("all:\n  children:\n    a:\n      children:\n        b:\n    b:\n      children:\n        a:\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::Cycle, (Some(8), Some(9))));
    assert!(e.message.contains("`b` → `a` → `b`"), "{e}");
    let e = yaml_err("a:\n  children:\n    a:\n");
    assert!(e.message.contains("cannot be a child of itself"), "{e}");
}

#[test]
fn yaml_an_empty_inventory_has_no_hosts() {
    for text in ["", "# nothing\n", "---\n", "all:\n", "all:\n  children:\n    web:\n    db:\n      vars: {a: 1}\n"] {
        assert_eq!(yaml_err(text).kind, ErrorKind::NoHosts, "{text:?}");
    }
}

#[test]
fn yaml_dynamic_inventories_are_refused_with_the_command_that_exports_them() {
    let e = yaml_err("plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n");
    assert_eq!((e.kind, where_(&e)), (ErrorKind::NotStatic, (Some(1), Some(1))));
    assert!(e.message.contains("ansible-inventory -i SOURCE --list --yaml"), "{e}");
    let e = yaml_err("{\"_meta\": {\"hostvars\": {}}, \"all\": {\"children\": [\"ungrouped\"]}}");
    assert_eq!(e.kind, ErrorKind::NotStatic);
    assert!(e.message.contains("--yaml"), "{e}");
}

#[test]
fn yaml_nesting_is_bounded() {
    // saphyr's parser limits flow nesting itself, block mappings are counted here.
    let text: String = (0..200).map(|depth| format!("{}g{depth}:\n", "  ".repeat(depth))).collect();
    let e = yaml_err(&text);
    assert_eq!((e.kind, e.line), (ErrorKind::Structure, Some(129)));
    assert!(e.message.contains("nested more than 128 levels"), "{e}");
    assert_eq!(yaml_err(&format!("{}x\n", "[".repeat(500))).kind, ErrorKind::Syntax);
}

// ── Secrets never show ───────────────────────────────────────────────────────────────

const SECRET: &str = "Pa55-w0rd-never-shown";

/// Broken inventories with a secret next to (or inside) the mistake.
fn broken_with_secrets() -> Vec<(&'static str, String)> {
    let s = SECRET;
    vec![
        ("ini", format!("[g]\nh1 ansible_password={s} stray\n")),
        ("ini", format!("[g]\nh1 ansible_password={s} other\n")),
        ("ini", format!("[g]\nh1 ansible_password=\"{s}\n")),
        ("ini", format!("[g]\nh1 ansible_become_password='{s}\n")),
        ("ini", format!("[g]\nh1 ansible_ssh_pass={s} ansible_port=nope\n")),
        ("ini", format!("[g]\nh1 ansible_ssh_pass={s} ansible_host={{{{x}}}}\n")),
        ("ini", format!("[g]\nansible_password={s}\n")),
        ("ini", format!("[g]\nh1\n[p:children]\nansible_password={s}\n")),
        ("ini", format!("[g]\nh1\n[g:vars]\nansible_password {s}\n")),
        ("ini", format!("[g] ansible_password={s}\nh1\n")),
        ("ini", format!("[g]\nh1 ansible_password={s} ansible_user=\n")),
        ("ini", format!("[g]\nh1 ansible_password={s}\\")),
        ("ini", format!("[g]\nh1 ansible_password={s}\n[g:vars]\nansible_port=0\n")),
        ("ini", format!("ansible_become_password={s}\n")),
        ("yaml", format!("g:\n  hosts:\n    h1: {s}\n")),
        ("yaml", format!("g:\n  hosts:\n    h1:\n      ansible_password: {s}\n      ansible_port: x\n")),
        ("yaml", format!("g:\n  vars: {s}\n")),
        ("yaml", format!("g: {s}\n")),
        ("yaml", format!("g:\n  hosts:\n    h1:\n      ansible_password: \"{s}\n")),
        ("yaml", format!("g:\n  hosts:\n    h1:\n      ansible_password: {s}: x\n")),
        ("yaml", format!("g:\n  hosts:\n    ansible_password={s}:\n")),
        ("yaml", format!("g:\n  {s}:\n")),
        ("yaml", format!("g:\n  hosts:\n    h1:\n      ansible_become_password: {s}\n      ansible_user: [x]\n")),
    ]
}

#[test]
fn secrets_never_appear_in_error_messages() {
    for (format, text) in broken_with_secrets() {
        let error = if format == "ini" { ini_err(&text) } else { yaml_err(&text) };
        let shown = format!("{error} {error:?} {}", error.located(Path::new("inv")));
        // No piece of it either: not the whole, not the part after a quote.
        for piece in [SECRET, &SECRET[..8], &SECRET[8..]] {
            assert!(!shown.contains(piece), "{format} inventory {text:?} shows a secret: {shown}");
        }
    }
}

#[test]
fn secrets_are_not_kept_in_the_hosts() {
    let hosts = ini(&format!("[g]\nh1 ansible_password={SECRET} ansible_become_password={SECRET}\n"));
    assert!(!format!("{hosts:?}").contains(SECRET));
}

// ── Files: the fixture fleet in INI, YAML and as ansible-inventory printed it ────────

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory").join(name)
}

/// What every reading of the fixture fleet must give: (name, host, port, user, groups).
type Expected = (&'static str, Option<&'static str>, Option<u16>, Option<&'static str>, Vec<&'static str>);

fn fleet() -> Vec<Expected> {
    let web = vec!["app", "prod", "web"];
    let db = |g: &'static str| vec!["db", g, "prod"];
    vec![
        ("bastion.example.com", None, Some(22), Some("jump"), vec![]),
        ("web01.example.com", None, Some(9022), Some("deploy"), vec!["app", "monitoring", "prod", "web"]),
        ("web02.example.com", None, Some(22), Some("deploy"), web.clone()),
        ("web03.example.com", None, Some(22), Some("deploy"), web.clone()),
        ("web-canary.example.com", None, Some(2222), Some("canary"), web),
        ("api-a.example.com", Some("10.0.1.11"), Some(22), Some("ops"), vec!["api", "app", "prod"]),
        ("api-b.example.com", Some("10.0.1.12"), Some(2201), Some("ops"), vec!["api", "app", "prod"]),
        ("db-1.example.com", Some("10.0.2.11"), Some(2022), Some("postgres"), db("db_primary")),
        ("db-2.example.com", None, Some(2022), Some("postgres"), db("db_replica")),
        ("db-4.example.com", None, Some(2022), Some("postgres"), db("db_replica")),
        ("db-6.example.com", None, Some(2022), Some("postgres"), db("db_replica")),
    ]
}

type Summary = Vec<(String, Option<String>, Option<u16>, Option<String>, Vec<String>)>;

fn summary(hosts: &[InventoryHost]) -> Summary {
    hosts.iter().map(|h| (h.name.clone(), h.host.clone(), h.port, h.user.clone(), h.groups.clone())).collect()
}

fn expected() -> Summary {
    fleet()
        .into_iter()
        .map(|(n, h, p, u, g)| {
            (n.into(), h.map(Into::into), p, u.map(Into::into), g.into_iter().map(Into::into).collect())
        })
        .collect()
}

#[test]
fn the_fixture_fleet_reads_the_same_from_ini_and_yaml() {
    let from_ini = load(&fixture("fleet.ini")).unwrap();
    let from_yaml = load(&fixture("fleet.yml")).unwrap();
    assert_eq!(summary(&from_ini), expected());
    assert_eq!(summary(&from_yaml), expected());
    assert_eq!(from_ini.iter().map(|h| h.line).collect::<Vec<_>>(), [3, 6, 6, 6, 7, 21, 22, 25, 28, 28, 28]);
    assert_eq!(find(&from_yaml, "db-6.example.com").line, 40);
}

#[test]
fn ansible_inventory_output_reads_as_the_same_fleet() {
    // Written by `ansible-inventory -i fleet.ini --list --yaml [--export]` (ansible-core
    // 2.19): hosts sorted by group, group vars pushed into hosts without --export.
    for name in ["fleet.list.yml", "fleet.export.yml"] {
        let mut hosts = summary(&load(&fixture(name)).unwrap());
        let mut want = expected();
        hosts.sort();
        want.sort();
        assert_eq!(hosts, want, "{name}");
    }
}

#[test]
fn load_tells_the_format_from_the_name_or_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let ini_text = std::fs::read_to_string(fixture("fleet.ini")).unwrap();
    let yaml_text = std::fs::read_to_string(fixture("fleet.yml")).unwrap();
    for (name, text) in [("hosts", &ini_text), ("inventory", &yaml_text), ("prod.cfg", &ini_text)] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        assert_eq!(summary(&load(&path).unwrap()), expected(), "{name}");
    }
    assert!(looks_like_yaml("---\nall:\n"));
    assert!(looks_like_yaml("# c\nall: # c\n  hosts:\n"));
    assert!(looks_like_yaml("{\"all\": {}}"));
    assert!(!looks_like_yaml("[web]\nall:\n"));
    assert!(!looks_like_yaml("web-1:2222 ansible_user=x\n"));
}

#[test]
fn load_refuses_scripts_toml_and_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("ec2");
    std::fs::write(&script, "#!/usr/bin/env python3\nprint('{}')\n").unwrap();
    let e = load(&script).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotStatic);
    assert!(e.message.contains("inventory script") && e.message.contains("ansible-inventory"), "{e}");
    let toml = dir.path().join("hosts.toml");
    std::fs::write(&toml, "[web.hosts]\n").unwrap();
    assert_eq!(load(&toml).unwrap_err().kind, ErrorKind::NotStatic);
    let missing = load(&dir.path().join("missing.ini")).unwrap_err();
    assert_eq!((missing.kind, missing.line), (ErrorKind::Read, None));
    assert!(missing.located(Path::new("missing.ini")).starts_with("missing.ini: cannot read the inventory"));
    let binary = dir.path().join("bin.ini");
    std::fs::write(&binary, b"[g]\nh1\n\xff\xfe\n").unwrap();
    let e = load(&binary).unwrap_err();
    assert_eq!((e.kind, e.line), (ErrorKind::Read, Some(3)));
    assert_eq!(load(dir.path()).unwrap_err().kind, ErrorKind::Read);
}

#[test]
fn located_errors_read_file_line_column() {
    let e = ini_err("[g]\nh1 ansible_port=abc\n");
    assert_eq!(e.located(Path::new("inv/hosts")), format!("inv/hosts:2:4: {}", e.message));
    let e = ini_err("[g]\n");
    assert_eq!(e.located(Path::new("hosts")), format!("hosts: {}", e.message));
}
