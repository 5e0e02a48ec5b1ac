//! Hostile servers on loopback (support/hostile.rs): a Redis port that announces a 1 GiB
//! reply or answers with invalid RESP. Each ends as `error`, and golive's memory stays
//! bounded (its peak RSS, as the kernel counts it for the golive process alone).

use crate::support;

use support::hostile::{Answer, RawServer, Then, run_measuring_memory};
use support::{Workdir, assert_outcome, item, stderr};

/// golive's peak memory may not go past this, whatever a server sends. A run of a few items
/// takes about 20-40 MiB; buffering the hostile replies below would take gigabytes.
const MEMORY_BOUND_KIB: u64 = 256 * 1024;

fn checklist(body: &str) -> String {
    format!("[checklist]\nname = \"hostile\"\n[defaults]\ntimeout = \"2s\"\n\n{body}")
}

fn reason(report: &serde_json::Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// `golive run golive.toml -o json=report.json`, its report, exit code and peak RSS in KiB.
async fn run_measured(w: &Workdir) -> (serde_json::Value, std::process::Output, u64) {
    let command = w.command(&["run", "golive.toml", "--output", "json=report.json", "--quiet"]);
    let dir = w.dir.path().to_path_buf();
    let (out, rss) = tokio::task::spawn_blocking(move || run_measuring_memory(command, &dir)).await.unwrap();
    let text = std::fs::read_to_string(w.path("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}); stderr: {}", stderr(&out)));
    (serde_json::from_str(&text).expect("report is JSON"), out, rss)
}

fn redis_item(id: &str, port: u16, expect: &str) -> String {
    format!(
        "[[item]]\nid = \"{id}\"\nprobe = \"redis\"\nurl = \"redis://127.0.0.1:{port}\"\nexpect = {{ {expect} }}\n\n"
    )
}

/// A Redis look-alike: PING is answered `+PONG`, every other command with `reply`.
async fn answers_pong_then(reply: &'static [u8]) -> RawServer {
    RawServer::start(move |request| {
        let ping = request.windows(4).any(|w| w == b"PING");
        Answer::new(if ping { b"+PONG\r\n".as_slice() } else { reply }, Then::Continue)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_replies_are_bounded_by_a_documented_size() {
    let filler = |piece: &[u8]| piece.repeat(64 * 1024 / piece.len());
    let huge_bulk =
        RawServer::always(b"$1073741824\r\n".to_vec(), Then::Stream { chunk: filler(b"x"), total: 1 << 30 }).await;
    let huge_array =
        RawServer::always(b"*2000000000\r\n".to_vec(), Then::Stream { chunk: filler(b":1\r\n"), total: 1 << 30 }).await;
    // Each element is small; together they pass the bound.
    let many_elements = RawServer::always(
        b"*1000000\r\n".to_vec(),
        Then::Stream { chunk: [b"$100\r\n".as_slice(), &[b'y'; 100], b"\r\n"].concat().repeat(500), total: 1 << 30 },
    )
    .await;
    // A line that never ends.
    let endless_line = RawServer::always(b"+".to_vec(), Then::Stream { chunk: filler(b"z"), total: 1 << 30 }).await;
    let huge_info = answers_pong_then(b"$1073741824\r\n").await;

    let w = Workdir::new();
    let body = [
        redis_item("huge-bulk", huge_bulk.port(), "reachable = true"),
        redis_item("huge-bulk-auth", huge_bulk.port(), "auth_required = false"),
        redis_item("huge-array", huge_array.port(), "reachable = true"),
        redis_item("many-elements", many_elements.port(), "reachable = true"),
        redis_item("endless-line", endless_line.port(), "reachable = true"),
        redis_item("huge-info", huge_info.port(), "version = \">= 6\""),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out, rss) = run_measured(&w).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for id in ["huge-bulk", "huge-bulk-auth", "huge-array", "many-elements", "huge-info"] {
        assert_outcome(&report, id, "error");
        let why = reason(&report, id);
        assert!(why.contains("larger than 4 MiB") || why.contains("cannot fit in 4 MiB"), "{id}: {why}");
        assert!(why.contains("limit for one Redis reply"), "{id}: {why}");
    }
    assert_outcome(&report, "endless-line", "error");
    assert!(reason(&report, "endless-line").contains("longer than 64 KiB"), "{}", reason(&report, "endless-line"));
    // The bound is met by refusing, not by the timeout.
    for id in ["huge-bulk", "huge-array", "huge-info"] {
        assert!(!reason(&report, id).contains("timed out"), "{id}: {}", reason(&report, id));
    }
    assert!(rss < MEMORY_BOUND_KIB, "golive's peak RSS was {} MiB", rss / 1024);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_resp_is_an_error_never_a_pass_or_a_fail() {
    let negative = RawServer::always(b"*-5\r\n".to_vec(), Then::Continue).await;
    let bad_integer = RawServer::always(b":12abc\r\n".to_vec(), Then::Continue).await;
    let unknown_type = RawServer::always(b"?hello\r\n".to_vec(), Then::Continue).await;
    let bare_newline = RawServer::always(b"+PONG\n".to_vec(), Then::Continue).await;
    let deep = RawServer::always(b"*1\r\n".repeat(100), Then::Continue).await;
    let not_pong = RawServer::always(b"$2\r\nOK\r\n".to_vec(), Then::Continue).await;
    let http = RawServer::always(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(), Then::Close).await;
    let nil_info = answers_pong_then(b"$-1\r\n").await;
    let negative_info = answers_pong_then(b"*-5\r\n").await;
    let not_info = answers_pong_then(b"$11\r\nhello world\r\n").await;
    let odd_config = answers_pong_then(b"*1\r\n$9\r\nmaxmemory\r\n").await;
    let text_dbsize = answers_pong_then(b"+12\r\n").await;

    let w = Workdir::new();
    let mut body = String::new();
    for (id, server) in [
        ("negative", &negative),
        ("bad-integer", &bad_integer),
        ("unknown-type", &unknown_type),
        ("bare-newline", &bare_newline),
        ("deep", &deep),
        ("not-pong", &not_pong),
        ("http", &http),
    ] {
        body += &redis_item(&format!("{id}.reachable"), server.port(), "reachable = true");
        body += &redis_item(&format!("{id}.version"), server.port(), "version = \">= 6\"");
        body += &redis_item(&format!("{id}.auth"), server.port(), "auth_required = false");
    }
    body += &redis_item("nil-info", nil_info.port(), "version = \">= 6\"");
    body += &redis_item("negative-info", negative_info.port(), "version = \">= 6\"");
    body += &redis_item("not-info", not_info.port(), "\"info.server.redis_version\" = \">= 6\"");
    body += &redis_item("odd-config", odd_config.port(), "\"config.maxmemory\" = 0");
    body += &redis_item("text-dbsize", text_dbsize.port(), "keys = 12");
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 26);
    for entry in items {
        let id = entry["id"].as_str().unwrap();
        assert_outcome(&report, id, "error");
        let why = reason(&report, id);
        assert!(!why.contains("timed out") && !why.contains("no answer"), "{id} must be refused at once: {why}");
    }
    for id in ["negative", "bad-integer", "unknown-type", "bare-newline", "deep", "http"] {
        let why = reason(&report, &format!("{id}.version"));
        assert!(why.contains("not the Redis protocol (RESP2)"), "{id}: {why}");
    }
    assert!(
        reason(&report, "negative.reachable").contains("array length -5"),
        "{}",
        reason(&report, "negative.reachable")
    );
    assert!(reason(&report, "not-pong.reachable").contains("not PONG"), "{}", reason(&report, "not-pong.reachable"));
    assert!(
        reason(&report, "nil-info").contains("INFO was answered with a null bulk string"),
        "{}",
        reason(&report, "nil-info")
    );
    assert!(reason(&report, "not-info").contains("not field:value"), "{}", reason(&report, "not-info"));
    assert!(reason(&report, "odd-config").contains("CONFIG GET was answered"), "{}", reason(&report, "odd-config"));
    assert!(reason(&report, "text-dbsize").contains("not an integer"), "{}", reason(&report, "text-dbsize"));
}
