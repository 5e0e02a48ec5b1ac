//! Unit tests of the graph stage.

use super::*;
use crate::checklist::load::graph::check;

/// Every `[[item]]` of a text through the item stage: the valid ids and the items.
fn items(cx: &mut Ctx, text: &str) -> (Vec<(String, Loc)>, Vec<Arc<Item>>) {
    item_stage(cx, "graph.toml", text)
}

fn manual(id: &str, deps: &[&str]) -> String {
    let deps: Vec<String> = deps.iter().map(|d| format!("{d:?}")).collect();
    format!("[[item]]\nid = {id:?}\nprobe = \"manual\"\ndepends_on = [{}]\n\n", deps.join(", "))
}

fn ids_in<'a>(items: &'a [Arc<Item>], order: &[usize]) -> Vec<&'a str> {
    order.iter().map(|&i| items[i].id.as_str()).collect()
}

#[test]
fn duplicate_ids_point_at_the_first() {
    let mut cx = validate();
    let text = format!("{}{}{}", manual("a", &[]), manual("b", &[]), manual("a", &[]));
    let (ids, items) = items(&mut cx, &text);
    let order = check(&mut cx, &ids, &items);
    assert_eq!(order.len(), 3);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::DuplicateId]);
    assert_eq!(ds[0].message, "duplicate item id `a`");
    assert_eq!(pos_of(&cx, &ds[0]), "graph.toml:11:1");
    assert_eq!(ds[0].related.len(), 1);
    assert_eq!(pos(&cx, &ds[0].related[0].0), "graph.toml:1:1");
    assert_eq!(ds[0].related[0].1, "first defined here");
}

#[test]
fn an_id_counts_even_when_its_item_is_invalid() {
    let mut cx = validate();
    // The first `a` has no probe: no item, but its id is taken.
    let text = format!("[[item]]\nid = \"a\"\n\n{}", manual("a", &[]));
    let (ids, items) = items(&mut cx, &text);
    assert_eq!((ids.len(), items.len()), (2, 1));
    take(&mut cx);
    check(&mut cx, &ids, &items);
    assert_eq!(codes(&take(&mut cx)), [Code::DuplicateId]);
}

#[test]
fn an_unknown_dependency_suggests_a_known_id() {
    let mut cx = validate();
    let text = format!("{}{}", manual("db.migrations", &[]), manual("app", &["db.migratoins", "zzz"]));
    let (ids, items) = items(&mut cx, &text);
    check(&mut cx, &ids, &items);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownDependency, Code::UnknownDependency]);
    assert_eq!(ds[0].message, "item `app`: `depends_on` names unknown item `db.migratoins`");
    assert_eq!(ds[0].hint.as_deref(), Some("did you mean `db.migrations`?"));
    assert_eq!(pos_of(&cx, &ds[0]), "graph.toml:9:14");
    assert_eq!(ds[1].hint.as_deref(), Some("depends_on lists ids of items in this checklist or its includes"));
}

#[test]
fn a_cycle_is_reported_once_and_every_item_still_ordered() {
    let mut cx = validate();
    let text =
        format!("{}{}{}{}", manual("a", &["b"]), manual("b", &["c"]), manual("c", &["a"]), manual("d", &["a", "c"]));
    let (ids, items) = items(&mut cx, &text);
    let order = check(&mut cx, &ids, &items);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 2, 3]);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::DependencyCycle]);
    assert_eq!(ds[0].message, "dependency cycle: a → b → c → a");
}

#[test]
fn the_order_puts_dependencies_first() {
    let mut cx = validate();
    let text = format!(
        "{}{}{}{}{}",
        manual("app", &["db", "net"]),
        manual("db", &["net"]),
        manual("net", &[]),
        manual("docs", &[]),
        manual("smoke", &["app"])
    );
    let (ids, items) = items(&mut cx, &text);
    let order = check(&mut cx, &ids, &items);
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(ids_in(&items, &order), ["net", "db", "app", "docs", "smoke"]);
    for (at, &i) in order.iter().enumerate() {
        for dep in &items[i].depends_on {
            let dep_at = order.iter().position(|&j| items[j].id == *dep).unwrap();
            assert!(dep_at < at, "{dep} before {}", items[i].id);
        }
    }
}

#[test]
fn a_long_chain_is_ordered_without_recursion() {
    let mut cx = validate();
    let n = 5_000;
    let text: String = (0..n)
        .map(|i| {
            let next = format!("i{}", i + 1);
            let deps: &[&str] = if i + 1 < n { &[next.as_str()] } else { &[] };
            manual(&format!("i{i}"), deps)
        })
        .collect();
    let (ids, items) = items(&mut cx, &text);
    let order = check(&mut cx, &ids, &items);
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(order.first(), Some(&(n - 1)));
    assert_eq!(order.last(), Some(&0));
}
