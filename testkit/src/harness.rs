//! What the PostgreSQL and HAProxy test servers share: their error, the free loopback port they
//! listen on, the rule for a missing binary (skip, or fail under `ACTIONBOARD_REQUIRE_HA`) and
//! how a child server is started so it dies with the test that started it.
//!
//! Servers are started in the foreground as children under `setpriv --pdeathsig KILL`: a test
//! that panics or is killed leaves no server behind. The signal follows the *thread* that spawned
//! the child, so keep a server on the thread that started it (a `#[test]` or `#[tokio::test]`
//! body is one thread).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set (to anything but `0` or empty) by `make test`: a missing PostgreSQL or HAProxy then fails
/// the tests instead of skipping them, so CI cannot pass without running them.
pub const REQUIRE_ENV: &str = "ACTIONBOARD_REQUIRE_HA";

/// How long a server may take to accept connections before the start fails.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{tool} is not installed ({looked}); run `bash scripts/ha_setup.sh` (Debian's postgresql and haproxy packages)")]
    Missing { tool: &'static str, looked: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    #[error("{what} did not accept connections within {} s; its log is {log}:\n{tail}", .waited.as_secs())]
    NotReady {
        what: &'static str,
        waited: Duration,
        log: PathBuf,
        tail: String,
    },
    #[error("invalid {what}")]
    InvalidArgument { what: String },
    #[error("{what} exited during start-up ({status}); its log is {log}:\n{tail}")]
    Exited {
        what: &'static str,
        status: String,
        log: PathBuf,
        tail: String,
    },
}

impl HarnessError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
        let what = what.into();
        move |source| HarnessError::Io { what, source }
    }
}

/// Whether `make test` (or CI) asked for the HA tests to run for sure.
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The tests' rule for a server that could not start: `None` (and a message saying why the test
/// is skipped) only when its binary is missing and [`REQUIRE_ENV`] is unset; any other failure,
/// or a missing binary under [`REQUIRE_ENV`], fails the test with the error.
pub fn or_skip<T>(started: Result<T, HarnessError>) -> Option<T> {
    match skip_or_fail(started, required()) {
        Ok(server) => server,
        Err(e) => panic!("{e}"),
    }
}

fn skip_or_fail<T>(
    started: Result<T, HarnessError>,
    required: bool,
) -> Result<Option<T>, HarnessError> {
    match started {
        Ok(server) => Ok(Some(server)),
        Err(e @ HarnessError::Missing { .. }) if !required => {
            // To the process's stderr, past the test harness's capture: a skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {e} (set {REQUIRE_ENV}=1 to make this a failure, as `make test` does)"
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A loopback port nobody listens on now (the OS's pick for port 0). Another process may take it
/// before the server binds it: the starts retry on "address in use".
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(HarnessError::io(
        "binding a loopback port to find a free one",
    ))?;
    let port = listener
        .local_addr()
        .map_err(HarnessError::io("reading the free port's address"))?
        .port();
    Ok(port)
}

pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Whether this process runs as root (then PostgreSQL must run as another user).
pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A command for `program`, run as `user` when given (this process must be root), dying with the
/// thread that spawns it.
pub(crate) fn command_as(user: Option<&str>, program: &Path) -> Command {
    let mut cmd = Command::new("setpriv");
    if let Some(user) = user {
        cmd.args([
            &format!("--reuid={user}"),
            &format!("--regid={user}"),
            "--init-groups",
        ]);
    }
    cmd.args(["--pdeathsig", "KILL", "--"]).arg(program);
    cmd
}

/// Runs `cmd` to its end; an error carries its status and output.
pub(crate) fn run(mut cmd: Command) -> Result<String, HarnessError> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(HarnessError::io(format!("starting {shown}")))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(HarnessError::Command {
            command: shown,
            status: out.status.to_string(),
            output: text.trim().to_owned(),
        })
    }
}

/// Starts `cmd` with no input and its output appended to `log`.
pub(crate) fn spawn_logging(mut cmd: Command, log: &Path) -> Result<Child, HarnessError> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(HarnessError::io(format!("opening {}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(HarnessError::io("duplicating the log's handle"))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    cmd.spawn()
        .map_err(HarnessError::io(format!("starting {cmd:?}")))
}

/// Polls `ready` until it holds, at most [`START_TIMEOUT`]; fails as soon as `child` exits. On
/// failure the child is stopped and the error names its `log` with its last lines.
pub(crate) fn wait_until(
    child: &mut Child,
    what: &'static str,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) -> Result<(), HarnessError> {
    let started = Instant::now();
    let failure = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break HarnessError::Exited {
                what,
                status: status.to_string(),
                log: log.to_owned(),
                tail: tail(log),
            };
        }
        if ready() {
            return Ok(());
        }
        if started.elapsed() >= START_TIMEOUT {
            break HarnessError::NotReady {
                what,
                waited: START_TIMEOUT,
                log: log.to_owned(),
                tail: tail(log),
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    Err(failure)
}

/// The last lines of a log file, for an error message.
pub(crate) fn tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(20)..].join("\n")
        }
        Err(e) => format!("(cannot read it: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing() -> Result<(), HarnessError> {
        Err(HarnessError::Missing {
            tool: "HAProxy",
            looked: "nowhere".to_owned(),
        })
    }

    #[test]
    fn a_missing_binary_skips_only_when_not_required() {
        assert!(matches!(skip_or_fail(missing(), false), Ok(None)));
        assert!(matches!(
            skip_or_fail(missing(), true),
            Err(HarnessError::Missing { .. })
        ));
        let broken: Result<(), _> = Err(HarnessError::InvalidArgument {
            what: "x".to_owned(),
        });
        assert!(
            skip_or_fail(broken, false).is_err(),
            "other failures never skip"
        );
        assert!(matches!(skip_or_fail(Ok(7), true), Ok(Some(7))));
    }
}
