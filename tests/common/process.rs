//! The `job-history` binary as a child process: a command with a known environment, and a
//! `serve` process on a free port that printed its URL (and, with `--demo`, its key), killed
//! when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::Duration;

use job_history::db::{DatabaseUrl, Db};
use serde_json::Value;

/// The binary, with `DATABASE_URL` unset and quiet logs.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_job-history"));
    c.env_remove("DATABASE_URL").env("LOG_LEVEL", "warn");
    c
}

/// The binary's `DATABASE_URL` for `db`.
pub fn database_url(db: &Db) -> String {
    match db.url() {
        DatabaseUrl::Postgres(url) => url.clone(),
        DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
    }
}

/// A running `job-history serve`, killed when dropped.
pub struct Served {
    child: Child,
    /// `http://host:port`, as the server printed it.
    pub base: String,
    /// The key `serve --demo` printed.
    pub demo_key: Option<String>,
    http: reqwest::Client,
}

impl Served {
    /// Runs `command` (`serve …`, or anything that ends up exec'ing it) and waits for the URL
    /// it prints.
    pub fn spawn(command: &mut Command) -> Self {
        Self::launch(command, false)
    }

    /// Runs `command` (`serve --demo …`) and waits for the URL and the demo key it prints.
    pub fn spawn_demo(command: &mut Command) -> Self {
        Self::launch(command, true)
    }

    fn launch(command: &mut Command, demo: bool) -> Self {
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let serving = next_line(&mut lines);
        let base = serving
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("the server prints its URL, got {serving:?}"))
            .to_string();
        let demo_key = demo.then(|| {
            let heading = next_line(&mut lines);
            assert!(heading.contains("demo API key"), "{heading}");
            next_line(&mut lines)
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Self {
            child,
            base,
            demo_key,
            http,
        }
    }

    /// The GraphQL endpoint.
    pub fn graphql(&self) -> String {
        format!("{}/graphql", self.base)
    }

    /// The websocket endpoint.
    pub fn ws(&self) -> String {
        format!("{}/graphql/ws", self.base.replace("http://", "ws://"))
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Posts a document as `key`; a transport failure (the process killed) is `None`.
    pub async fn try_post(&self, key: &str, query: &str, variables: Value) -> Option<Value> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let response = self
            .http
            .post(self.graphql())
            .header("authorization", format!("ApiKey {key}"))
            .json(&body)
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    /// Posts a document as `key`, failing the test when the server does not answer.
    pub async fn post(&self, key: &str, query: &str, variables: Value) -> Value {
        self.try_post(key, query, variables)
            .await
            .expect("the server answers")
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        self.child.wait().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    lines.next().expect("serve prints a line").expect("utf-8")
}

/// Runs `command` to its end: (success, stdout, stderr).
pub fn output(command: &mut Command) -> (bool, String, String) {
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
