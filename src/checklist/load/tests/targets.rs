//! Unit tests of the targets stage: reading `[[target]]` and placing items on targets.

use super::*;
use crate::checklist::load::targets::{place, read};
use crate::checklist::model::{Subject, Target};

fn target(name: &str, groups: &[&str]) -> Target {
    Target {
        name: name.into(),
        ssh: format!("root@{name}"),
        host: name.into(),
        user: Some("root".into()),
        port: None,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        password: None,
        passphrase: None,
        source: "--target".into(),
    }
}

fn items(cx: &mut Ctx, text: &str) -> (Vec<(String, Loc)>, Vec<Arc<Item>>) {
    item_stage(cx, "fleet.toml", text)
}

fn placed(cx: &mut Ctx, targets: &[Target], text: &str) -> Vec<Arc<Item>> {
    let (ids, items) = items(cx, text);
    let (placed_ids, placed) = place(cx, targets, ids, items);
    assert_eq!(placed_ids.len(), placed.len(), "every placed item has its id");
    placed
}

fn ids(items: &[Arc<Item>]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

#[test]
fn host_items_go_to_every_target_and_network_items_stay_here() {
    let mut cx = run();
    let fleet = [target("web-1", &["web"]), target("db-1", &["db"])];
    let items = placed(
        &mut cx,
        &fleet,
        "[[item]]\nid = \"f\"\nprobe = \"file\"\n\n[[item]]\nid = \"h\"\nprobe = \"http\"\n\n[[item]]\nid = \"m\"\nprobe = \"manual\"\n",
    );
    assert!(take(&mut cx).is_empty());
    assert_eq!(ids(&items), ["f@web-1", "f@db-1", "h", "m"]);
    assert_eq!(items[1].target.as_deref(), Some("db-1"));
    assert_eq!(items[1].base_id(), "f");
    assert_eq!(items[2].target, None);
}

#[test]
fn targets_select_by_glob_group_and_local() {
    let mut cx = run();
    let fleet = [target("web-1", &["web"]), target("web-2", &["web"]), target("db-1", &["db", "eu-db"])];
    let items = placed(
        &mut cx,
        &fleet,
        "[[item]]\nid = \"a\"\nprobe = \"http\"\ntargets = [\"web-*\"]\n\n[[item]]\nid = \"b\"\nprobe = \"file\"\ntargets = [\"group:eu-*\", \"local\", \"db-1\"]\n",
    );
    assert!(take(&mut cx).is_empty());
    assert_eq!(ids(&items), ["a@web-1", "a@web-2", "b@db-1", "b"]);
}

#[test]
fn dependencies_and_conditions_point_at_the_same_targets_copy() {
    let mut cx = run();
    let fleet = [target("web-1", &[]), target("web-2", &[])];
    let text = "[[item]]\nid = \"up\"\nprobe = \"systemd\"\n\n\
                [[item]]\nid = \"conf\"\nprobe = \"file\"\ndepends_on = [\"up\"]\nwhen = { item = \"up\", fact = \"active\", is = true }\n\n\
                [[item]]\nid = \"smoke\"\nprobe = \"http\"\ndepends_on = [\"up\"]\n";
    let items = placed(&mut cx, &fleet, text);
    assert!(take(&mut cx).is_empty());
    let by = |id: &str| items.iter().find(|i| i.id == id).unwrap().clone();
    assert_eq!(by("conf@web-2").depends_on, ["up@web-2"]);
    assert!(matches!(&by("conf@web-2").when[0].subject, Subject::Fact { item, .. } if item == "up@web-2"));
    // Where golive runs, an item waits for every copy.
    assert_eq!(by("smoke").depends_on, ["up@web-1", "up@web-2"]);
}

#[test]
fn a_condition_on_an_item_of_several_other_targets_is_an_error() {
    let mut cx = run();
    let fleet = [target("web-1", &[]), target("web-2", &[])];
    placed(
        &mut cx,
        &fleet,
        "[[item]]\nid = \"up\"\nprobe = \"systemd\"\n\n[[item]]\nid = \"smoke\"\nprobe = \"http\"\nwhen = { item = \"up\", fact = \"active\", is = true }\n",
    );
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue]);
    assert!(ds[0].message.contains("runs on 2 targets"), "{}", ds[0].message);
}

#[test]
fn targets_that_name_nothing_are_errors_when_running_and_warnings_when_validating() {
    let text = "[[item]]\nid = \"f\"\nprobe = \"file\"\ntargets = [\"group:web\"]\n";
    for (mut cx, level, kept) in [(run(), Level::Error, 0), (validate(), Level::Warning, 1)] {
        let items = placed(&mut cx, &[target("db-1", &["db"])], text);
        assert_eq!(items.len(), kept, "validating keeps the item, as written, for list and attest");
        let ds = take(&mut cx);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].level, level);
        assert_eq!(pos_of(&cx, &ds[0]), "fleet.toml:4:11");
        assert!(ds[0].hint.as_deref().unwrap().contains("db-1"));
    }
    // A manual item is attested once, never placed on targets.
    let mut cx = run();
    placed(&mut cx, &[target("db-1", &[])], "[[item]]\nid = \"m\"\nprobe = \"manual\"\ntargets = [\"db-1\"]\n");
    assert_eq!(codes(&take(&mut cx)), [Code::InvalidValue]);
}

#[test]
fn without_targets_nothing_moves() {
    let mut cx = run();
    let items = placed(&mut cx, &[], "[[item]]\nid = \"f\"\nprobe = \"file\"\n");
    assert_eq!(ids(&items), ["f"]);
    assert_eq!(items[0].target, None);
}

#[test]
fn target_tables_are_read_checked_and_their_secrets_kept() {
    let mut cx = run();
    let files = set(
        &mut cx,
        &[(
            "fleet.toml",
            "[[target]]\nname = \"web-1\"\nssh = \"deploy@10.0.0.11:2222\"\ngroups = [\"web\"]\npassword = \"s3cret-pw-77\"\n\n\
             [[target]]\nname = \"web-1\"\nssh = \"other\"\n\n\
             [[target]]\nname = \"local\"\nssh = \"x\"\n\n\
             [[target]]\nname = \"bad\"\nssh = \"-oProxyCommand=x\"\n\n\
             [[target]]\nname = \"v6\"\nssh = \"[::1]:2200\"\nport = 1\n",
            &[],
        )],
    );
    let mut vars = no_vars();
    let targets = read(&mut cx, &mut vars, &files, &[target("web-1", &[])]);
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["web-1", "v6"]);
    assert_eq!(
        (targets[0].user.as_deref(), targets[0].host.as_str(), targets[0].port),
        (Some("deploy"), "10.0.0.11", Some(2222))
    );
    assert_eq!((targets[1].host.as_str(), targets[1].port), ("::1", Some(2200)));
    assert_eq!(cx.redactor.redact("pw=s3cret-pw-77"), "pw=***");
    let ds = take(&mut cx);
    let mut found: Vec<(Code, String)> =
        ds.iter().map(|d| (d.code, d.loc.as_ref().map(|l| pos(&cx, l)).unwrap_or_default())).collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    let expected = [
        (Code::DuplicateId, ""),
        (Code::InvalidValue, "fleet.toml:12:8"),
        (Code::InvalidValue, "fleet.toml:17:7"),
        (Code::UnknownKey, "fleet.toml:22:1"),
        (Code::DuplicateId, "fleet.toml:8:8"),
    ];
    assert_eq!(found, expected.map(|(c, p)| (c, p.to_string())));
}
