//! The throwaway PostgreSQL and HAProxy the high-availability tests stand on: real servers from
//! Debian's packages (scripts/ha_setup.sh). Skipped with a message when a binary is missing,
//! unless ACTIONBOARD_REQUIRE_HA is set (`make test` sets it): then they fail.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use testkit::haproxy::TempHaproxy;
use testkit::harness::or_skip;
use testkit::postgres::{TempPostgres, DATABASE, ROLE};

fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    postgres::Client::connect(url, postgres::NoTls)
}

#[test]
fn postgres_starts_answers_with_the_password_only_and_survives_a_crash() {
    let Some(mut pg) = or_skip(TempPostgres::start()) else {
        return;
    };
    let mut client = connect(&pg.url()).expect("connect with the role's password");
    let row = client
        .query_one(
            "SELECT current_user::text, current_database()::text, 6 * 7",
            &[],
        )
        .expect("a query");
    assert_eq!(row.get::<_, String>(0), ROLE);
    assert_eq!(row.get::<_, String>(1), DATABASE);
    assert_eq!(row.get::<_, i32>(2), 42);
    client
        .batch_execute("CREATE TABLE acts (id int PRIMARY KEY); INSERT INTO acts VALUES (1), (2);")
        .expect("the role owns its database");

    // Host connections need the password (scram-sha-256), so the URL's password is checked.
    let wrong = pg.url().replace(pg.password(), "not-the-password");
    let Err(refused) = connect(&wrong) else {
        panic!("a wrong password is refused");
    };
    assert_eq!(
        refused.code(),
        Some(&postgres::error::SqlState::INVALID_PASSWORD),
        "refused for the password: {refused:?}"
    );

    // A crash (immediate stop) breaks connections; a restart on the same port recovers the
    // committed rows from the WAL.
    pg.kill().expect("immediate stop");
    assert!(!pg.is_running());
    assert!(
        client.query_one("SELECT 1", &[]).is_err(),
        "the old connection is gone"
    );
    assert!(connect(&pg.url()).is_err(), "nothing listens while stopped");
    pg.restart().expect("restart");
    let mut client = connect(&pg.url()).expect("connect after the restart");
    let n: i64 = client
        .query_one("SELECT count(*) FROM acts", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 2, "committed rows survive the crash");

    let data = pg.log_path().parent().expect("the folder").to_owned();
    drop(client);
    drop(pg);
    assert!(
        !data.exists(),
        "the folder {} is removed on drop",
        data.display()
    );
}

/// A tiny HTTP server on a loopback port: `/healthz` answers 200 "ok", any other path 200 with
/// its name; `stop` closes its listener, so connections to it are refused.
struct Backend {
    name: &'static str,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn start(name: &'static str) -> Backend {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let addr = listener.local_addr().expect("its address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => answer(stream, name),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => {}
                }
            }
            // The listener is dropped here: the port refuses connections from now on.
        });
        Backend {
            name,
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the backend thread ends");
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Answers one request per connection (bounded read, then close).
fn answer(mut stream: TcpStream, name: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&request);
    let body = if line.starts_with("GET /healthz ") {
        "ok"
    } else {
        name
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// GET `path` through `addr`: the status and body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to HAProxy");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn haproxy_balances_over_both_servers_and_only_the_live_one_after_one_stops() {
    let mut a = Backend::start("server-a");
    let mut b = Backend::start("server-b");
    let Some(proxy) = or_skip(TempHaproxy::start(&[a.addr, b.addr], "/healthz")) else {
        return;
    };
    let states = proxy
        .wait_for(Duration::from_secs(10), |s| {
            s.len() == 2 && s.iter().all(|s| s.is_up())
        })
        .expect("both backends pass their health check");
    assert_eq!(states[0].addr, a.addr);
    assert_eq!(states[1].addr, b.addr);

    let answers: Vec<String> = (0..8)
        .map(|_| {
            let (status, body) = get(proxy.addr(), "/work");
            assert_eq!(status, 200);
            body
        })
        .collect();
    for name in [a.name, b.name] {
        assert!(
            answers.iter().filter(|b| *b == name).count() >= 3,
            "round robin reaches {name}: {answers:?}"
        );
    }

    // Right after b stops, before any health check noticed: connections to b are refused, and
    // HAProxy sends those requests to a instead of failing them.
    b.stop();
    for _ in 0..10 {
        assert_eq!(get(proxy.addr(), "/work"), (200, a.name.to_owned()));
    }
    // Then the checks mark b down (2 failures 500 ms apart) and a stays up.
    let states = proxy
        .wait_for(Duration::from_secs(10), |s| {
            s.len() == 2 && s[0].is_up() && s[1].status.starts_with("DOWN")
        })
        .expect("the stopped backend is marked down");
    assert_eq!(states[1].addr, b.addr);
    for _ in 0..4 {
        assert_eq!(get(proxy.addr(), "/work"), (200, a.name.to_owned()));
    }
    a.stop();
}

#[test]
fn haproxy_refuses_a_health_path_that_would_break_its_configuration() {
    let err = TempHaproxy::start(&[], "/healthz\n    server evil 127.0.0.1:1")
        .expect_err("a path with a newline");
    assert!(err.to_string().contains("health check path"), "{err}");
}
