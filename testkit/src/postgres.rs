//! A throwaway PostgreSQL server for tests: Debian's binaries (`/usr/lib/postgresql/*/bin`),
//! `initdb` into a fresh temporary folder, a free loopback port, a database and a role with a
//! password, and everything gone when the value is dropped.
//!
//! PostgreSQL refuses to run as root: as root the folder is handed to the `postgres` user (Debian's
//! package creates it) and every PostgreSQL program runs as that user; otherwise as this one.
//! The server listens on 127.0.0.1 only, with its unix socket inside the folder, so it never
//! meets a system cluster. `fsync` is off: a test may crash the server (`kill`), not the machine.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::harness::{self, command_as, HarnessError};

/// The database and role every [`TempPostgres`] creates (the superuser is `postgres`, reachable
/// only through the unix socket).
pub const DATABASE: &str = "actionboard";
pub const ROLE: &str = "actionboard";

/// How many ports to try when another process takes the free one first.
const PORT_ATTEMPTS: usize = 3;

#[derive(Debug)]
pub struct TempPostgres {
    /// Removed on drop, after the server stopped.
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The OS user PostgreSQL runs as (`postgres` when this process is root).
    os_user: Option<&'static str>,
    port: u16,
    password: String,
    server: Option<Child>,
}

impl TempPostgres {
    /// Creates the cluster, starts it and waits (at most [`harness::START_TIMEOUT`]) until it
    /// accepts connections, then creates [`DATABASE`] owned by [`ROLE`].
    pub fn start() -> Result<TempPostgres, HarnessError> {
        let bin = find_bin()?;
        let os_user = harness::is_root().then_some("postgres");
        let dir = tempfile::Builder::new()
            .prefix("actionboard-pg-")
            .tempdir()
            .map_err(HarnessError::io(
                "creating a temporary folder for PostgreSQL",
            ))?;
        let sock = dir.path().join("sock");
        std::fs::create_dir(&sock).map_err(HarnessError::io(format!(
            "creating the socket folder {}",
            sock.display()
        )))?;
        if let Some(user) = os_user {
            let mut chown = std::process::Command::new("chown");
            chown.arg("-R").arg(format!("{user}:")).arg(dir.path());
            harness::run(chown)?;
        }
        let mut pg = TempPostgres {
            dir,
            bin,
            os_user,
            port: 0,
            password: random_hex(),
            server: None,
        };
        pg.initdb()?;
        pg.start_on_free_port()?;
        pg.create_database()?;
        Ok(pg)
    }

    /// `postgres://actionboard:PASSWORD@127.0.0.1:PORT/actionboard`
    pub fn url(&self) -> String {
        self.url_of(DATABASE)
    }

    pub fn addr(&self) -> SocketAddr {
        harness::loopback(self.port)
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The server's log (start-up failures name it too).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.server.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Stops the server the way a crash would (`pg_ctl stop -m immediate`: no checkpoint, so the
    /// next start recovers from the WAL). Connections break at once.
    pub fn kill(&mut self) -> Result<(), HarnessError> {
        self.stop_server()
    }

    /// Starts the server again on the same port and data (after [`TempPostgres::kill`], or
    /// stopping it first), waiting until it accepts connections.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop_server()?;
        self.spawn_and_wait()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    fn tool(&self, name: &str) -> std::process::Command {
        command_as(self.os_user, &self.bin.join(name))
    }

    fn initdb(&self) -> Result<(), HarnessError> {
        let mut cmd = self.tool("initdb");
        cmd.arg("-D").arg(self.data()).args([
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
        ]);
        harness::run(cmd)?;
        let conf = self.data().join("postgresql.conf");
        let settings = format!(
            "\n# testkit::postgres::TempPostgres\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             fsync = off\n\
             full_page_writes = off\n\
             max_connections = 400\n\
             shared_buffers = 32MB\n",
            self.sock().display()
        );
        OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(HarnessError::io(format!("appending to {}", conf.display())))
    }

    fn start_on_free_port(&mut self) -> Result<(), HarnessError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.port = harness::free_port()?;
            match self.spawn_and_wait() {
                Err(HarnessError::Exited { tail, .. })
                    if attempt < PORT_ATTEMPTS && tail.contains("could not bind") => {}
                other => return other,
            }
        }
    }

    fn spawn_and_wait(&mut self) -> Result<(), HarnessError> {
        let log_path = self.log_path();
        let mut cmd = self.tool("postgres");
        cmd.arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(self.port.to_string());
        let mut child = harness::spawn_logging(cmd, &log_path)?;
        // pg_isready answers 0 only once the server accepts connections (not while it starts
        // up or recovers), over TCP as the clients will connect.
        harness::wait_until(&mut child, "PostgreSQL", &log_path, || {
            let mut probe = std::process::Command::new(self.bin.join("pg_isready"));
            probe
                .args(["-q", "-h", "127.0.0.1", "-t", "1", "-p"])
                .arg(self.port.to_string());
            probe.status().is_ok_and(|s| s.success())
        })?;
        self.server = Some(child);
        Ok(())
    }

    fn create_database(&self) -> Result<(), HarnessError> {
        self.as_superuser(&[
            format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{}'", self.password),
            format!("CREATE DATABASE {DATABASE} OWNER {ROLE}"),
        ])
    }

    /// A new empty database owned by [`ROLE`], and its address: one per test, on one server.
    pub fn fresh_database(&self) -> Result<String, HarnessError> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("t_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.as_superuser(&[format!("CREATE DATABASE {name} OWNER {ROLE}")])?;
        Ok(self.url_of(&name))
    }

    /// Runs `statements` through `psql` as the superuser, over the unix socket, stopping at the
    /// first error. Each is its own `-c`: `CREATE DATABASE` cannot run inside the one transaction
    /// of a multi-statement `-c`.
    fn as_superuser(&self, statements: &[String]) -> Result<(), HarnessError> {
        let mut psql = self.tool("psql");
        psql.arg("-h")
            .arg(self.sock())
            .arg("-p")
            .arg(self.port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
            ]);
        for statement in statements {
            psql.arg("-c").arg(statement);
        }
        harness::run(psql).map(drop)
    }

    /// The address of the database `name` for [`ROLE`].
    fn url_of(&self, name: &str) -> String {
        format!(
            "postgres://{ROLE}:{}@127.0.0.1:{}/{name}",
            self.password, self.port
        )
    }

    fn stop_server(&mut self) -> Result<(), HarnessError> {
        let Some(mut child) = self.server.take() else {
            return Ok(());
        };
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(());
        }
        let mut stop = self.tool("pg_ctl");
        stop.arg("stop")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "-t", "10"]);
        let stopped = harness::run(stop);
        // Bounded: pg_ctl waited already; the postmaster exits right after.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return stopped.map(drop);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        stopped.map(drop)
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop_server() {
            eprintln!("testkit: stopping the test PostgreSQL: {e}");
        }
    }
}

/// The newest `/usr/lib/postgresql/<major>/bin` with the programs this module runs.
fn find_bin() -> Result<PathBuf, HarnessError> {
    const ROOT: &str = "/usr/lib/postgresql";
    const NEEDED: [&str; 5] = ["initdb", "postgres", "pg_ctl", "pg_isready", "psql"];
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            NEEDED
                .iter()
                .all(|p| bin.join(p).is_file())
                .then_some((major, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or(HarnessError::Missing {
            tool: "PostgreSQL",
            looked: format!("no {ROOT}/*/bin with {}", NEEDED.join(", ")),
        })
}

/// 32 hex digits from the process's random hash keys: a password no other test guesses.
fn random_hex() -> String {
    use std::hash::{BuildHasher, RandomState};
    let a = RandomState::new().hash_one(std::process::id());
    let b = RandomState::new().hash_one(a);
    format!("{a:016x}{b:016x}")
}

/// Which database the state's behaviour tests of this process run on:
/// `ACTIONBOARD_TEST_STATE=postgres` (as `make test` sets for its second run of them) for one
/// PostgreSQL server started for the whole process, each test on a [`TempPostgres::fresh_database`];
/// unset, SQLite files. A server that cannot start fails the test that asked.
pub fn state_test_server() -> Option<&'static TempPostgres> {
    if std::env::var("ACTIONBOARD_TEST_STATE").as_deref() != Ok("postgres") {
        return None;
    }
    static SERVER: OnceLock<Result<&'static TempPostgres, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| {
        remove_stopped_servers();
        // Started on a thread that lives as long as the process: the server is bound to the
        // thread that started it (it stops when that thread ends), and tests' threads end.
        let (sent, started) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let server = TempPostgres::start().map(|pg| &*Box::leak(Box::new(pg)));
            let failed = server.is_err();
            let _ = sent.send(server.map_err(|e| e.to_string()));
            if !failed {
                loop {
                    std::thread::park();
                }
            }
        });
        started
            .recv()
            .unwrap_or_else(|_| Err("the PostgreSQL starter thread ended".to_string()))
    });
    match server {
        Ok(server) => Some(server),
        Err(e) => panic!("ACTIONBOARD_TEST_STATE=postgres, but PostgreSQL did not start: {e}"),
    }
}

/// The folders of earlier processes' [`state_test_server`]s whose server has stopped (the
/// process ended without dropping it), so repeated test runs do not fill the disk.
fn remove_stopped_servers() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let is_ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("actionboard-pg-"));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(600)));
        if !is_ours || !old {
            continue;
        }
        let running = std::fs::read_to_string(dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|pid| pid.lines().next().map(str::trim).map(str::to_owned))
            .is_some_and(|pid| std::path::Path::new("/proc").join(pid).exists());
        if !running {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Each migration recorded in the database at `url` with how many times it was applied (the
/// shared state's `schema_migrations`), in order: servers starting together must apply each
/// once.
pub fn applied_migrations(url: &str) -> Vec<(i64, i64)> {
    let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    client
        .query(
            "SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}
