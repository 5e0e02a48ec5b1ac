//! Hostile servers on loopback (support/hostile.rs): a Redis port that announces a 1 GiB
//! reply or answers with invalid RESP, an HTTP server that sends a body of 1 GiB, and
//! servers that break the protocol of every probe that speaks one (Redis, PostgreSQL, HTTP,
//! TLS, DNS). Each ends as `error` within its timeout, and golive's memory stays bounded
//! (its peak RSS, as the kernel counts it for the golive process alone).

use crate::support;

use sha2::Digest;

use support::hostile::{Answer, RawServer, Then, run_measuring_memory};
use support::{HttpServer, Route, Workdir, assert_outcome, fact, item, stderr};

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

const GIB: u64 = 1 << 30;

/// An HTTP server that announces a 1 GiB body and sends 512 MiB of it as fast as it can,
/// then nothing more: no item can read the whole body, whatever the machine's speed.
async fn gigabyte_body() -> RawServer {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {GIB}\r\n\r\n");
    RawServer::always(head.into_bytes(), Then::Stream { chunk: vec![b'a'; 64 * 1024], total: GIB / 2 }).await
}

fn http_item(id: &str, port: u16, extra: &str, expect: &str) -> String {
    format!(
        "[[item]]\nid = \"{id}\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:{port}/\"\n{extra}\nexpect = {{ {expect} }}\n\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gigabyte_body_ends_at_the_timeout_with_bounded_memory() {
    let server = gigabyte_body().await;
    let w = Workdir::new();
    let max = "max_body = 2147483648";
    let body = [
        http_item("hash", server.port(), max, &format!("body_sha256 = \"{}\"", "0".repeat(64))),
        http_item("length", server.port(), max, "body_bytes = \">= 1GiB\""),
        http_item("excerpt", server.port(), max, "body_excerpt = { contains = \"b\" }"),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out, rss) = run_measured(&w).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for id in ["hash", "length", "excerpt"] {
        assert_outcome(&report, id, "error");
        assert!(reason(&report, id).contains("timed out after 2s"), "{id}: {}", reason(&report, id));
        // The timeout covers reading the body: the engine stops the item at 2 s and waits at
        // most 2 s more for it to wind down, well before 3 × the timeout.
        let took = item(&report, id)["duration_ms"].as_f64().unwrap();
        assert!(took < 6000.0, "{id} took {took} ms");
    }
    assert!(rss < MEMORY_BOUND_KIB, "golive's peak RSS was {} MiB while streaming the body", rss / 1024);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gigabyte_body_that_an_expectation_needs_still_ends_at_the_timeout() {
    let server = gigabyte_body().await;
    let w = Workdir::new();
    let max = "max_body = 2147483648";
    let body = [
        http_item("body", server.port(), max, "body = { contains = \"needle\" }"),
        http_item("json", server.port(), max, "\"body_json./ok\" = true"),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for id in ["body", "json"] {
        assert_outcome(&report, id, "error");
        assert!(reason(&report, id).contains("timed out after 2s"), "{id}: {}", reason(&report, id));
        let took = item(&report, id)["duration_ms"].as_f64().unwrap();
        assert!(took < 6000.0, "{id} took {took} ms");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn body_facts_are_streamed_and_the_body_is_kept_only_when_asked_for() {
    let text = "ok: ".to_string() + &"0123456789".repeat(100);
    let server = HttpServer::start(vec![Route::new("/page").body(text.clone())]).await;
    let url = server.url("/page");
    let w = Workdir::new();
    let item = |id: &str, extra: &str, expect: &str| {
        format!("[[item]]\nid = \"{id}\"\nprobe = \"http\"\nurl = \"{url}\"\n{extra}\nexpect = {{ {expect} }}\n\n")
    };
    let sha = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    let first_100 = hex::encode(sha2::Sha256::digest(&text.as_bytes()[..100]));
    let body = [
        item("streamed", "", &format!("body_sha256 = \"{sha}\", body_bytes = {}, body_truncated = false", text.len())),
        item(
            "capped",
            "max_body = 100",
            &format!("body_sha256 = \"{first_100}\", body_bytes = 100, body_truncated = true"),
        ),
        item("kept", "", "body = { contains = \"ok: 0123\" }"),
        item("excerpt", "", "body_excerpt = { matches = \"^ok: 0123\" }"),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for id in ["streamed", "capped", "kept", "excerpt"] {
        assert_outcome(&report, id, "pass");
    }
    // Only an item that names `body` keeps it; the excerpt is bounded.
    for id in ["streamed", "capped", "excerpt"] {
        assert!(fact(&report, id, "body").is_null(), "{id} kept the body");
    }
    assert_eq!(fact(&report, "kept", "body").as_str(), Some(text.as_str()));
    let excerpt = fact(&report, "streamed", "body_excerpt").as_str().unwrap();
    assert_eq!(excerpt, format!("{}…", &text[..512]));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_protocol_violations_are_errors() {
    let not_http = RawServer::always(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec(), Then::Close).await;
    let bad_length = RawServer::always(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n".to_vec(), Then::Close).await;
    let cut_short =
        RawServer::always(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort".to_vec(), Then::Close).await;
    let bad_chunks = RawServer::always(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n".to_vec(),
        Then::Close,
    )
    .await;
    let w = Workdir::new();
    let body = [
        http_item("not-http", not_http.port(), "", "status = 200"),
        http_item("bad-length", bad_length.port(), "", "status = 200"),
        http_item("cut-short", cut_short.port(), "", "body = { contains = \"short\" }"),
        http_item("cut-short-hash", cut_short.port(), "", "body_bytes = 5"),
        http_item("bad-chunks", bad_chunks.port(), "", "body_bytes = 0"),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for id in ["not-http", "bad-length", "cut-short", "cut-short-hash", "bad-chunks"] {
        assert_outcome(&report, id, "error");
        assert!(!reason(&report, id).contains("timed out"), "{id}: {}", reason(&report, id));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_postgres_and_dns_protocol_violations_are_errors() {
    let http = RawServer::always(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(), Then::Close).await;
    // A TLS record header that announces a handshake, then bytes that are not one.
    let broken_tls = RawServer::always(b"\x16\x03\x03\x00\x05hello".to_vec(), Then::Hang).await;
    // A PostgreSQL-style message of an unknown type, and a well-formed authentication
    // request of a kind that does not exist.
    let unknown_message = RawServer::always(b"~\x00\x00\x00\x04".to_vec(), Then::Hang).await;
    let bad_auth = RawServer::always(b"R\x00\x00\x00\x08\x00\x00\x00\x63".to_vec(), Then::Hang).await;
    let dns = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dns_port = dns.local_addr().unwrap().port();
    let dns_task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = dns.recv_from(&mut buf).await {
            // The query's id, then garbage that is no DNS message.
            let mut answer = buf[..2.min(n)].to_vec();
            answer.extend_from_slice(b"\x81\x80\xff\xff\xff\xffnot dns");
            let _ = dns.send_to(&answer, from).await;
        }
    });
    let w = Workdir::new();
    let tls_item = |id: &str, port: u16| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{port}\"\nexpect = {{ chain_trusted = false }}\n\n"
        )
    };
    let pg_item = |id: &str, port: u16| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"postgres\"\nurl = \"postgres://app:pw@127.0.0.1:{port}/app?sslmode=disable\"\nexpect = {{ reachable = true }}\n\n"
        )
    };
    let body = [
        tls_item("tls.http", http.port()),
        tls_item("tls.broken", broken_tls.port()),
        pg_item("postgres.http", http.port()),
        pg_item("postgres.unknown-message", unknown_message.port()),
        pg_item("postgres.bad-auth", bad_auth.port()),
        format!(
            "[[item]]\nid = \"dns.garbage\"\nprobe = \"dns\"\nname = \"api.example.test\"\nserver = \"127.0.0.1:{dns_port}\"\nexpect = {{ resolves = false }}\n\n"
        ),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    dns_task.abort();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for id in
        ["tls.http", "tls.broken", "postgres.http", "postgres.unknown-message", "postgres.bad-auth", "dns.garbage"]
    {
        assert_outcome(&report, id, "error");
    }
}

/// A server that answers each ClientHello with a TLS 1.0 ServerHello, one byte every
/// 200 ms: a whole answer would take about 16 s.
async fn trickling_server_hello() -> (u16, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut body = vec![3u8, 1];
    body.extend_from_slice(&[7; 32]);
    body.extend_from_slice(&[0, 0xC0, 0x13, 0]);
    let mut answer = vec![22u8, 3, 1, 0, (body.len() + 4) as u8, 2, 0, 0, body.len() as u8];
    answer.extend_from_slice(&body);
    let task = tokio::spawn(async move {
        let mut sessions = tokio::task::JoinSet::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            sessions.spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                for byte in answer {
                    if stream.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            });
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_tls_answers_that_are_not_tls_or_never_end_are_errors_with_bounded_memory() {
    let http = RawServer::always(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(), Then::Close).await;
    // A record announcing more than TLS allows.
    let huge_record = RawServer::always(b"\x16\x03\x01\xff\xff".to_vec(), Then::Hang).await;
    // Handshake records of empty HelloRequests, 1 GiB of them: never a ServerHello.
    let hello_requests = RawServer::always(
        Vec::new(),
        Then::Stream { chunk: [b"\x16\x03\x01\x00\x04", &[0u8; 4][..]].concat().repeat(4096), total: 1 << 30 },
    )
    .await;
    // A ServerHello announcing 16 MiB.
    let huge_hello = RawServer::always(b"\x16\x03\x01\x00\x04\x02\xff\xff\xff".to_vec(), Then::Hang).await;
    let silent = RawServer::always(Vec::new(), Then::Hang).await;
    let (trickle_port, trickle) = trickling_server_hello().await;
    let w = Workdir::new();
    let legacy_item = |id: &str, port: u16| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{port}\"\nexpect = {{ accepts_tls10 = false }}\n\n"
        )
    };
    let cases = [
        ("http", http.port(), "the answer is not a TLS handshake or alert (it starts 48 54 54 50"),
        ("huge-record", huge_record.port(), "a TLS record announces 65535 bytes"),
        ("hello-requests", hello_requests.port(), "with more than 20 KiB before its first message ended"),
        ("huge-hello", huge_hello.port(), "the ServerHello announces 16777215 bytes"),
        ("silent", silent.port(), "did not answer the TLS 1.0 ClientHello in time (0 bytes"),
        ("trickle", trickle_port, "did not answer the TLS 1.0 ClientHello in time ("),
    ];
    let body: String = cases.iter().map(|(id, port, _)| legacy_item(id, *port)).collect();
    w.write("golive.toml", &checklist(&body));
    let started = std::time::Instant::now();
    let (report, out, rss) = run_measured(&w).await;
    trickle.abort();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Items run concurrently with a 2 s timeout; the trickle would take 16 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "took {:?}", started.elapsed());
    for (id, _, why) in cases {
        assert_outcome(&report, id, "error");
        assert!(reason(&report, id).contains(why), "{id}: {}", reason(&report, id));
    }
    assert!(rss < MEMORY_BOUND_KIB, "golive's peak RSS was {} MiB", rss / 1024);
}
