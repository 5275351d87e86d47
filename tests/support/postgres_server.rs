//! A real PostgreSQL server for the tests, from the installed server
//! binaries: `initdb` into a temporary directory, `postgres` on a free
//! loopback port, one server per test process, a fresh database per test.
//! PostgreSQL refuses to run as root, so under root it runs as `nobody`.
//! It stops when the test process exits (a shell beside it waits for the
//! test process's end of a pipe to close).
//!
//! Without the binaries the tests that need it are skipped with a message
//! naming the command that installs them; with `REDRESS_REQUIRE_POSTGRES=1`
//! (as `.ci/run` sets) that is an error instead.
//!
//! Shared by the library's store tests and the end-to-end tests
//! (`#[path]`-included by both).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// What installs the server binaries on Debian.
pub const INSTALL: &str = "apt-get install -y postgresql";

/// A running server.
pub struct PostgresServer {
    bin: PathBuf,
    port: u16,
    _keeper: Child,
}

/// The directory of `initdb` and `postgres`, if installed.
fn server_binaries() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let mut candidates: Vec<PathBuf> = from_pg_config.into_iter().collect();
    if let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<PathBuf> = versions
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .collect();
        found.sort();
        candidates.extend(found.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program` with `args`, as `nobody` when the tests run as root.
fn unprivileged(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--"]).arg(program).args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

fn start() -> Result<PostgresServer, String> {
    let bin = server_binaries().ok_or_else(|| {
        format!("the PostgreSQL server binaries (initdb, postgres) are not installed; `{INSTALL}` installs them")
    })?;
    let dir = std::env::temp_dir().join(format!("redress-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if is_root() {
        let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
            .map_err(|e| e.to_string())?;
        // SAFETY: a valid NUL-terminated path; 65534 is `nobody`.
        if unsafe { libc::chown(path.as_ptr(), 65534, 65534) } != 0 {
            return Err(format!(
                "cannot give {} to nobody: {}",
                dir.display(),
                std::io::Error::last_os_error()
            ));
        }
    }
    let data = dir.join("data");
    let data_arg = data.to_string_lossy().to_string();
    let initdb = unprivileged(
        &bin.join("initdb"),
        &[
            "-D",
            &data_arg,
            "-U",
            "redress",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )
    .output()
    .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }
    let port = free_port();
    let postgres = bin.join("postgres");
    // The keeper starts the server, waits for its own stdin (held by this
    // process) to close, then stops the server and removes its files.
    let script = format!(
        "'{postgres}' -D '{data}' -p {port} -k '{dir}' -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=on -c max_connections=300 -c shared_buffers=128MB >'{dir}/server.log' 2>&1 &
         server=$!; read _ignored; kill -INT $server; wait $server; rm -rf '{dir}'",
        postgres = postgres.display(),
        data = data.display(),
        dir = dir.display(),
    );
    let keeper = unprivileged(Path::new("/bin/sh"), &["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let server = PostgresServer {
        bin,
        port,
        _keeper: keeper,
    };
    for _ in 0..300 {
        let ready = Command::new(server.bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
            .status()
            .is_ok_and(|status| status.success());
        if ready {
            return Ok(server);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    Err(format!("postgres did not start on port {port}:\n{log}"))
}

/// The test process's server, started on first use; `None` (with a
/// message saying which test is skipped and why) when it cannot run here.
pub fn server(test: &str) -> Option<&'static PostgresServer> {
    static SERVER: OnceLock<Result<PostgresServer, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(server) => Some(server),
        Err(why) => {
            let required = std::env::var_os("REDRESS_REQUIRE_POSTGRES").is_some_and(|v| v == "1");
            assert!(!required, "{test}: REDRESS_REQUIRE_POSTGRES=1 but {why}");
            let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
            None
        }
    }
}

impl PostgresServer {
    /// The URL of a new, empty database.
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.database(&name)
    }

    /// Runs `sql` with `psql` in the database at `url` (a URL this server
    /// gave), as an operator would by hand.
    // The library's tests use it; the end-to-end tests do not.
    #[allow(dead_code)]
    pub fn psql(&self, url: &str, sql: &str) {
        let output = Command::new(self.bin.join("psql"))
            .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The URL of the database `name`, created if it does not exist.
    pub fn database(&self, name: &str) -> String {
        let port = self.port.to_string();
        let output = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "redress", name])
            .output()
            .expect("createdb runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() || stderr.contains("already exists"),
            "createdb {name}: {stderr}"
        );
        format!("postgres://redress@127.0.0.1:{}/{name}", self.port)
    }
}
