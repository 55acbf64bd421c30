//! A throwaway HAProxy for tests: Debian's `haproxy`, a frontend on a free loopback port balancing
//! round-robin over the given backends, each checked with `GET <health_path>` every 500 ms (down
//! after 2 failures, up after 1 success). A request that cannot connect to its server is sent to
//! another one (`retry-on conn-failure`, `option redispatch`), so only requests already sent to a
//! dying server fail. Runs in the foreground as a child, stopped on drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::harness::{self, command_as, HarnessError};

const PORT_ATTEMPTS: usize = 3;

#[derive(Debug)]
pub struct TempHaproxy {
    dir: tempfile::TempDir,
    port: u16,
    backends: Vec<SocketAddr>,
    child: Child,
}

/// One backend server as HAProxy sees it (`show stat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerState {
    /// `s0`, `s1`, … in the order of the backends given to [`TempHaproxy::start`].
    pub name: String,
    pub addr: SocketAddr,
    /// `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/1` (going up), `no check`, …
    pub status: String,
}

impl ServerState {
    pub fn is_up(&self) -> bool {
        self.status == "UP"
    }
}

impl TempHaproxy {
    /// Writes the configuration, checks it (`haproxy -c`), starts HAProxy and waits (at most
    /// [`harness::START_TIMEOUT`]) until its frontend accepts connections. `health_path` is the
    /// path of each backend's health check, e.g. `/readyz`.
    pub fn start(backends: &[SocketAddr], health_path: &str) -> Result<TempHaproxy, HarnessError> {
        if !health_path.starts_with('/')
            || health_path
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '#')
        {
            return Err(HarnessError::InvalidArgument {
                what: format!("the health check path {health_path:?} (must start with / and have no spaces or #)"),
            });
        }
        let bin = find_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("actionboard-haproxy-")
            .tempdir()
            .map_err(HarnessError::io("creating a temporary folder for HAProxy"))?;
        let config = dir.path().join("haproxy.cfg");
        let log = dir.path().join("haproxy.log");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = harness::free_port()?;
            let text = config_text(port, backends, health_path, &dir.path().join("admin.sock"));
            std::fs::write(&config, text)
                .map_err(HarnessError::io(format!("writing {}", config.display())))?;
            let mut check = command_as(None, &bin);
            check.arg("-c").arg("-q").arg("-f").arg(&config);
            harness::run(check)?;
            match spawn_and_wait(&bin, &config, &log, port) {
                Ok(child) => {
                    return Ok(TempHaproxy {
                        dir,
                        port,
                        backends: backends.to_vec(),
                        child,
                    })
                }
                Err(HarnessError::Exited { tail, .. })
                    if attempt < PORT_ATTEMPTS && tail.contains("cannot bind") => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        harness::loopback(self.port)
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("haproxy.cfg")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("haproxy.log")
    }

    /// The backends' states now, read from HAProxy's admin socket (`show stat`).
    pub fn server_states(&self) -> Result<Vec<ServerState>, HarnessError> {
        let sock = self.dir.path().join("admin.sock");
        let what = format!(
            "asking HAProxy's admin socket {} for `show stat`",
            sock.display()
        );
        let mut stream = UnixStream::connect(&sock).map_err(HarnessError::io(what.clone()))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(HarnessError::io(what.clone()))?;
        stream
            .write_all(b"show stat\n")
            .map_err(HarnessError::io(what.clone()))?;
        let mut csv = String::new();
        stream
            .take(1 << 20)
            .read_to_string(&mut csv)
            .map_err(HarnessError::io(what.clone()))?;
        parse_stat(&csv, &self.backends).ok_or(HarnessError::InvalidArgument {
            what: format!("HAProxy's `show stat` answer (no pxname/svname/status columns): {csv}"),
        })
    }

    /// Polls [`TempHaproxy::server_states`] every 100 ms until `done` holds, at most `timeout`;
    /// the error shows the last states seen.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ServerState]) -> bool,
    ) -> Result<Vec<ServerState>, HarnessError> {
        let started = Instant::now();
        loop {
            let states = self.server_states()?;
            if done(&states) {
                return Ok(states);
            }
            if started.elapsed() >= timeout {
                return Err(HarnessError::NotReady {
                    what: "HAProxy's backends (the awaited states)",
                    waited: timeout,
                    log: self.log_path(),
                    tail: format!("last states: {states:?}"),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for TempHaproxy {
    fn drop(&mut self) {
        // HAProxy keeps no state: killing it is a complete stop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(port: u16, backends: &[SocketAddr], health_path: &str, admin: &Path) -> String {
    let mut servers = String::new();
    for (i, addr) in backends.iter().enumerate() {
        servers.push_str(&format!("    server s{i} {addr} check\n"));
    }
    format!(
        "# Written by testkit::haproxy::TempHaproxy.
global
    maxconn 1000
    stats socket {admin} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    # Longer than /readyz's own 2 s limit: a slow answer is a 503, not a silent timeout.
    timeout check 3s
    # A request that could not reach its server is retried on another one; a request already
    # sent is never retried (it may have been acted on).
    retries 3
    retry-on conn-failure
    option redispatch 1

frontend actionboard
    bind 127.0.0.1:{port}
    default_backend servers

backend servers
    balance roundrobin
    option httpchk GET {health_path}
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1
{servers}",
        admin = admin.display()
    )
}

fn spawn_and_wait(bin: &Path, config: &Path, log: &Path, port: u16) -> Result<Child, HarnessError> {
    let mut cmd = command_as(None, bin);
    cmd.arg("-db").arg("-f").arg(config);
    let mut child = harness::spawn_logging(cmd, log)?;
    harness::wait_until(&mut child, "HAProxy", log, || {
        TcpStream::connect_timeout(&harness::loopback(port), Duration::from_millis(200)).is_ok()
    })?;
    Ok(child)
}

/// `haproxy` on PATH, else Debian's `/usr/sbin/haproxy` (not on a non-root user's PATH).
fn find_bin() -> Result<PathBuf, HarnessError> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("haproxy"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/haproxy")])
        .find(|p| p.is_file())
        .ok_or(HarnessError::Missing {
            tool: "HAProxy",
            looked: "no haproxy on PATH or at /usr/sbin/haproxy".to_owned(),
        })
}

/// The `servers` backend's rows of `show stat` (CSV with a `# pxname,svname,…` header).
fn parse_stat(csv: &str, backends: &[SocketAddr]) -> Option<Vec<ServerState>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (px, sv, st) = (col("pxname")?, col("svname")?, col("status")?);
    let states = lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|f| f.get(px) == Some(&"servers"))
        .filter_map(|f| {
            let name = *f.get(sv)?;
            let index: usize = name.strip_prefix('s')?.parse().ok()?;
            Some(ServerState {
                name: name.to_owned(),
                addr: *backends.get(index)?,
                status: (*f.get(st)?).to_owned(),
            })
        })
        .collect();
    Some(states)
}
