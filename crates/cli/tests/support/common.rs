//! Helpers shared by the integration tests: running the `wsspec` binary and reading what it wrote.

// Test code: lets the helpers below unwrap, as clippy.toml allows in tests.
#![cfg(test)]
// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use serde_json::Value;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `wsspec` with these arguments and waits for it.
pub fn wsspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the wsspec binary runs")
}

/// Starts the built-in reference server (tokio-tungstenite, no compression) on a free port of this
/// runtime; returns its `host:port`. It serves until the runtime is dropped.
pub fn reference_server(runtime: &tokio::runtime::Runtime) -> String {
    let config = wsspec_reference::EchoConfig::default();
    let server = runtime
        .block_on(wsspec_reference::EchoServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            config,
        ))
        .unwrap();
    let (addr, _) = runtime.block_on(async { server.spawn() });
    addr.to_string()
}

/// A handshake policy that the mutant servers do not keep (they support no subprotocol, refuse no
/// origin and serve every path): declared, it makes the policy cases (14.3) fail against them.
pub const UNKEPT_POLICY: [&str; 8] = [
    "--subprotocol",
    "chat.v1",
    "--forbidden-origin",
    "https://evil.example",
    "--allowed-origin",
    "https://good.example",
    "--missing-path",
    "/wsspec-missing",
];

/// A port that nothing listens on (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A process's stderr, as text.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh output folder for one test.
pub fn out_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("wsspec-test-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `wsspec server URL` into a fresh folder and returns (exit code, results.json, stderr).
pub fn run_server(name: &str, url: Option<&str>, extra: &[&str]) -> (i32, Value, String) {
    let out = out_dir(name);
    let out_str = out.to_string_lossy().into_owned();
    let mut args = vec!["server"];
    args.extend(url);
    args.extend(["--out", out_str.as_str()]);
    args.extend(extra);
    let output = wsspec(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let results = std::fs::read_to_string(out.join("results.json"))
        .map(|text| serde_json::from_str(&text).expect("results.json is JSON"))
        .unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), results, stderr)
}

/// Runs `wsspec client` with these arguments into a fresh folder and returns (exit code,
/// results.json, stderr). It listens on a free port (`--listen 127.0.0.1:0`) unless told otherwise.
pub fn run_client(name: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = out_dir(name);
    let out_str = out.to_string_lossy().into_owned();
    let mut args = vec!["client", "--out", out_str.as_str()];
    if !extra.contains(&"--listen") {
        args.extend(["--listen", "127.0.0.1:0"]);
    }
    args.extend(extra);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(&args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the wsspec binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let results = std::fs::read_to_string(out.join("results.json"))
        .map(|text| serde_json::from_str(&text).expect("results.json is JSON"))
        .unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), results, stderr)
}

/// Whether a peer installed by `scripts/install-peers` is there; when it is not, the test says so and
/// passes, unless `WSSPEC_REQUIRE_PEERS` is set (as in CI), when it fails.
pub fn peer_installed(installed: &str) -> bool {
    if root().join(installed).exists() {
        return true;
    }
    assert!(
        std::env::var_os("WSSPEC_REQUIRE_PEERS").is_none(),
        "{installed} is missing: run scripts/install-peers"
    );
    eprintln!("skipped: {installed} is not installed (run scripts/install-peers)");
    false
}

/// A peer process, killed when dropped.
pub struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program script PORT ARGS..` (a script of `scripts/peers/`), waits for it to print
/// `ready`, and returns it with its URL.
pub fn start_peer(program: &str, script: &str, args: &[&str]) -> (Peer, String) {
    let port = free_port();
    let mut child = Command::new(program)
        .arg(root().join(script))
        .arg(port.to_string())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {program}: {err}"));
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "{script} did not start");
    (Peer(child), format!("ws://127.0.0.1:{port}/"))
}

/// Debian's Chromium, installed by `scripts/install-peers`.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser, or `None` (after saying so) when it is not installed and not required.
pub fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from(CHROMIUM);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("WSSPEC_REQUIRE_PEERS").is_none(),
        "{CHROMIUM} is missing: run scripts/install-peers"
    );
    eprintln!("skipped: {CHROMIUM} is not installed (run scripts/install-peers)");
    None
}

/// Headless Chromium with a fresh profile in `profile`, and without the background services that
/// reach for the network.
pub fn headless(browser: &Path, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// `(id, verdict)` for every case in a results.json.
pub fn verdicts(results: &Value) -> Vec<(String, String)> {
    results["cases"]
        .as_array()
        .map(|cases| {
            cases
                .iter()
                .map(|c| {
                    (
                        c["id"].as_str().unwrap_or_default().to_owned(),
                        c["verdict"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The result of case `id` in a results.json.
pub fn case<'a>(results: &'a Value, id: &str) -> &'a Value {
    let cases = results["cases"].as_array().expect("results.json has cases");
    let case = cases.iter().find(|case| case["id"] == id);
    case.unwrap_or_else(|| panic!("no case {id} in the results"))
}

/// The ids whose verdict is `verdict`.
pub fn ids_with(results: &Value, verdict: &str) -> Vec<String> {
    verdicts(results)
        .into_iter()
        .filter(|(_, v)| v == verdict)
        .map(|(id, _)| id)
        .collect()
}

/// A folder holding copies of the named case files (`12-deflate-echo.toml`, ...) in which every family
/// that sends `{ messages = 1000 }` sends `messages` instead: sections 12 and 13 at a volume a test can
/// afford (the full run moves gigabytes through zlib), with the same cases, sizes and parameters.
pub fn scaled_cases(name: &str, files: &[&str], messages: u32) -> PathBuf {
    let dir = out_dir(&format!("cases-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    for file in files {
        let text = std::fs::read_to_string(root().join("cases").join(file)).unwrap();
        let scaled = text.replace(
            "[{ messages = 1000 }]",
            &format!("[{{ messages = {messages} }}]"),
        );
        std::fs::write(dir.join(file), scaled).unwrap();
    }
    dir
}

/// [`scaled_cases`] of every case file: the whole suite, with sections 12 and 13 at `messages` a case.
pub fn scaled_suite(name: &str, messages: u32) -> PathBuf {
    let mut files: Vec<String> = std::fs::read_dir(root().join("cases"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    files.sort();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    scaled_cases(name, &files, messages)
}

/// A `wsspec client` waiting for a driver on a port the system chose, killed if the test ends first.
pub struct Listener {
    child: Child,
    /// Its `ws://HOST:PORT` base URL.
    pub base: String,
    out: PathBuf,
}

impl Listener {
    /// Starts `wsspec client` with these extra arguments, its reports in the test's folder `name`.
    /// It listens on port 0, and its URL is the one it prints once it is listening: no port is
    /// picked ahead (another process could take it) and no probe connection is made.
    pub fn start<S: AsRef<std::ffi::OsStr>>(name: &str, extra: &[S]) -> Listener {
        let out = out_dir(name);
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsspec"))
            .args(["client", "--listen", "127.0.0.1:0", "--idle", "60", "--out"])
            .arg(&out)
            .args(extra)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut said = String::new();
        let base = loop {
            let mut line = String::new();
            let read = stderr.read_line(&mut line).unwrap();
            said.push_str(&line);
            assert!(read > 0, "wsspec client ended before it listened: {said}");
            // "wsspec: serving N cases on ws://HOST:PORT/ : ..."
            if let Some((_, url)) = line.split_once(" cases on ") {
                let url = url.split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_owned();
            }
        };
        // The rest of its stderr is read, so that a long run never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Listener { child, base, out }
    }

    /// Starts `wsspec client --tls` as [`Listener::start`] does, with the extra arguments, and
    /// returns it with its self-signed certificate (PEM) and a base URL through the name
    /// `localhost` (a client sends SNI for a name, never for an address).
    pub fn start_tls(name: &str, extra: &[&str]) -> (Listener, String) {
        let dir = out_dir(&format!("{name}-cert"));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("cert.pem");
        let tls = ["--tls", "--write-cert", cert.to_str().unwrap()];
        let mut listener = Listener::start(name, &[extra, &tls].concat());
        let pem = std::fs::read_to_string(&cert).unwrap();
        listener.base = listener.base.replace("127.0.0.1", "localhost");
        (listener, pem)
    }

    /// Waits for the run to end (after the driver's /updateReports); (exit code, results of `agent`).
    pub fn finish(mut self, agent: &str) -> (i32, Value) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(300);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < until,
                "wsspec client did not end"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let results = read_json(&self.out.join("results.json"));
        assert_eq!(results["agent"], agent);
        (status.code().unwrap_or(-1), results)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
