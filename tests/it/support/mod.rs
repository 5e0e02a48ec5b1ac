//! The harness of golive's integration tests: local test servers, a throwaway PKI, and a
//! working directory to run the real `golive` binary in (workdir.rs).
//! Everything binds 127.0.0.1 on a random port and stops when its handle is
//! dropped: the in-process servers run on the current tokio runtime, Redis
//! and PostgreSQL are real server processes (redis.rs, pg.rs), which also stop when the
//! test binary ends (reaper.rs).
//!
//! Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod certs;
pub mod dns;
pub mod hostile;
pub mod http;
pub mod hung;
pub mod openssl;
pub mod pg;
pub mod proxy;
pub mod python;
pub mod ready;
pub mod reaper;
pub mod redis;
pub mod sshd;
pub mod tls;
pub mod workdir;

pub use certs::{LeafCert, TestPki, leaf_params};
pub use dns::{DnsServer, TestRecord};
pub use http::{HttpServer, RecordedRequest, Route};
pub use hung::{HungListener, closed_port};
pub use pg::{PgFixture, PgServer};
pub use proxy::ConnectProxy;
pub use ready::ReadyAfter;
pub use redis::{Monitor, RedisConfig, RedisServer, Resp, RespConn, Seen};
pub use tls::TlsServer;
pub use workdir::{
    Workdir, assert_outcome, assert_report_matches_schema, every_format, fact, git, golive_binary, item, outcome,
    stderr, stdout,
};
