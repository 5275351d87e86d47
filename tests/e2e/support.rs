//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The default rule set.
pub fn default_rules() -> PathBuf {
    repo().join("rules")
}

/// Runs `redress` with `args` in `dir`.
pub fn redress_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the redress binary runs")
}

/// Runs `redress` with `args` in the repository root.
pub fn redress(args: &[&str]) -> Output {
    redress_in(&repo(), args)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Copies a directory tree (rule sets into temporary directories).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A `redress serve` process on a free loopback port, in a temporary
/// directory holding copies of the default rules and plugins. Killed when
/// dropped.
pub struct Daemon {
    pub child: std::process::Child,
    pub base: String,
    pub dir: tempfile::TempDir,
    agent: ureq::Agent,
    token: Option<String>,
    launch: Launch,
}

/// How a daemon's process is started.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Where its log goes (at `info`); otherwise errors only, to the test's
    /// output.
    pub log: Option<PathBuf>,
    /// Its limit on open files (soft and hard), as `ulimit -n` would set.
    pub open_files: Option<u64>,
}

impl Daemon {
    /// Starts a daemon with `config` (TOML) in a fresh directory.
    pub fn start(config: &str) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&default_rules(), &dir.path().join("rules"));
        let plugins = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        for name in ["sentiment", "classify", "goodwill"] {
            for ext in ["toml", "wasm"] {
                std::fs::copy(
                    repo().join(format!("plugins/{name}.{ext}")),
                    plugins.join(format!("{name}.{ext}")),
                )
                .unwrap();
            }
        }
        Daemon::start_in(dir, config)
    }

    /// Starts a daemon in `dir` (which holds `rules/` and `plugins/`).
    pub fn start_in(dir: tempfile::TempDir, config: &str) -> Daemon {
        Daemon::launch(dir, config, Launch::default())
    }

    /// Starts a daemon in `dir`, its log (`info` and up) written to `log`.
    pub fn start_logging(dir: tempfile::TempDir, config: &str, log: Option<PathBuf>) -> Daemon {
        Daemon::launch(
            dir,
            config,
            Launch {
                log,
                ..Launch::default()
            },
        )
    }

    /// Starts a daemon in `dir`, its process started as `launch` says.
    pub fn launch(dir: tempfile::TempDir, config: &str, launch: Launch) -> Daemon {
        let config_path = dir.path().join("redress.toml");
        std::fs::write(&config_path, format!("listen = \"127.0.0.1:0\"\n{config}")).unwrap();
        let (child, base) = spawn_serve(dir.path(), &launch);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        Daemon {
            child,
            base,
            dir,
            agent,
            token: None,
            launch,
        }
    }

    /// The daemon's resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kilobytes: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        kilobytes * 1024
    }

    /// Kills the daemon with SIGKILL (no shutdown of any kind) and starts
    /// it again on the same directories. The address changes.
    pub fn crash_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let (child, base) = spawn_serve(self.dir.path(), &self.launch);
        self.child = child;
        self.base = base;
    }

    /// Kills the daemon with SIGKILL (no shutdown of any kind), leaving it
    /// down.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends requests with this bearer token from now on.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `(status, body as JSON (or the text as a JSON string))`
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}{path}", self.base);
        let token = token.map(str::to_string).or_else(|| self.token.clone());
        let mut response = match (method, body) {
            ("GET", _) => {
                let mut request = self.agent.get(&url);
                if let Some(token) = &token {
                    request = request.header("Authorization", &format!("Bearer {token}"));
                }
                request.call()
            }
            (_, body) => {
                let mut request = self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json");
                if let Some(token) = &token {
                    request = request.header("Authorization", &format!("Bearer {token}"));
                }
                request.send(body.unwrap_or(""))
            }
        }
        .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, value)
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.request("GET", path, None, None)
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        self.request("POST", path, Some(body), None)
    }

    /// Every entry of the audit log, page by page.
    pub fn audit_log(&self) -> Vec<serde_json::Value> {
        let mut entries = Vec::new();
        let mut after = 0;
        loop {
            let (status, page) = self.get(&format!("/v1/decisions?after={after}&limit=1000"));
            assert_eq!(status, 200, "{page}");
            entries.extend(page["decisions"].as_array().unwrap().iter().cloned());
            match page["next"].as_i64() {
                Some(next) => after = next,
                None => return entries,
            }
        }
    }

    /// The Prometheus text of `GET /metrics`.
    pub fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        body.as_str().unwrap().to_string()
    }

    /// The `ruleset_version` serving now.
    pub fn ruleset_version(&self) -> String {
        self.get("/v1/ruleset").1["ruleset_version"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits (up to 10 s) until `/v1/ruleset` satisfies `done`.
    pub fn wait_for(
        &self,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, ruleset) = self.get("/v1/ruleset");
            if done(&ruleset) {
                return ruleset;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}: {ruleset:#}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Sends `signal` (`HUP`, `TERM`) to the daemon.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// Runs `redress serve --config redress.toml` in `dir`; returns once it
/// listens, with its base URL.
fn spawn_serve(dir: &Path, launch: &Launch) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let (filter, stderr) = match &launch.log {
        Some(path) => (
            "info",
            std::process::Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap(),
            ),
        ),
        None => ("error", std::process::Stdio::inherit()),
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_redress"));
    command
        .args(["serve", "--config", "redress.toml"])
        .current_dir(dir)
        .env("RUST_LOG", filter)
        .env_remove("REDRESS_TOKENS")
        .env_remove("REDRESS_ADMIN_TOKENS")
        .stdout(std::process::Stdio::piped())
        .stderr(stderr);
    if let Some(open_files) = launch.open_files {
        use std::os::unix::process::CommandExt as _;
        // SAFETY: setrlimit is async-signal-safe and touches only the
        // child, between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: open_files,
                    rlim_max: open_files,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split("on http://")
        .nth(1)
        .map(|rest| format!("http://{}", rest.trim()))
        .unwrap_or_else(|| panic!("the daemon did not start: {line:?}"));
    (child, base)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces `path` the way most editors save: write a temporary file next
/// to it, then rename it over the original.
pub fn save_atomically(path: &Path, text: &[u8]) {
    let temporary = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}
