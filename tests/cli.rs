//! The binary as a user runs it: help, one-line errors, keys, and `serve --demo`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_job-history"));
    c.env_remove("DATABASE_URL").env("LOG_LEVEL", "warn");
    c
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["seed", "--help"],
        &["schema", "--help"],
        &["keys", "create", "--help"],
    ] {
        let out = bin().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let out = bin().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for env in [
        "DATABASE_URL",
        "PORT",
        "HOST",
        "DATABASE_POOL_SIZE",
        "LOG_FORMAT",
    ] {
        assert!(help.contains(env), "serve --help names {env}");
    }
}

fn one_line_failure(url: &str, expect: &str) {
    let out = bin()
        .arg("migrate")
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line, got: {stderr}");
    assert!(stderr.contains(expect), "{stderr}");
    assert!(!stderr.contains("hunter2"), "password leaked: {stderr}");
}

#[test]
fn bad_database_urls_fail_with_one_clear_line() {
    one_line_failure(
        "mysql://root:hunter2@localhost/x",
        "unsupported DATABASE_URL",
    );
    one_line_failure(
        "postgres://app:hunter2@127.0.0.1:1/jobs",
        "cannot open database postgres://app:***@127.0.0.1:1/jobs",
    );
    one_line_failure("sqlite:///no/such/dir/x.db", "does not exist");
}

#[test]
fn keys_create_prints_a_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args([
            "keys",
            "create",
            "--user",
            "ada@example.com",
            "--first-name",
            "Ada",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap();
    let (prefix, secret) = key.trim().split_once('.').expect("PREFIX.SECRET");
    assert_eq!((prefix.len(), secret.len()), (20, 32));
    assert!(
        dir.path().join("job-history.db").exists(),
        "embedded default database"
    );
}

#[test]
fn schema_prints_the_sdl() {
    let out = bin().arg("schema").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        job_history::graphql::sdl()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_seeds_prints_a_key_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .current_dir(dir.path())
        .args(["serve", "--demo", "--demo-jobs", "300", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let serving = lines.next().unwrap().unwrap();
    let url = serving
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL")
        .to_string();
    assert!(lines.next().unwrap().unwrap().contains("demo API key"));
    let key = lines.next().unwrap().unwrap();
    assert!(key.contains('.'), "{key}");

    let health = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let client = reqwest::Client::new();
    let body: serde_json::Value = client
        .post(format!("{url}/graphql"))
        .header("authorization", format!("ApiKey {key}"))
        .json(&serde_json::json!({"query": "{ models { name } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["data"]["models"]
            .as_array()
            .is_some_and(|m| m.len() >= 20),
        "{body}"
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit, got {status}");
}

#[test]
fn keys_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| bin().current_dir(dir.path()).args(args).output().unwrap();
    let out = run(&[
        "keys",
        "create",
        "--user",
        "root@example.com",
        "--role",
        "admin",
        "--expires-in-days",
        "30",
    ]);
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (prefix, secret) = key.split_once('.').unwrap();

    let list = String::from_utf8(run(&["keys", "list"]).stdout).unwrap();
    assert!(
        list.contains(prefix) && list.contains("admin") && list.contains("root@example.com"),
        "{list}"
    );
    assert!(!list.contains(secret), "secrets are never shown again");

    let out = run(&["keys", "revoke", prefix]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8(run(&["keys", "list"]).stdout)
            .unwrap()
            .contains(prefix),
        "revoked keys are hidden"
    );
    assert!(
        String::from_utf8(run(&["keys", "list", "--all"]).stdout)
            .unwrap()
            .contains(prefix)
    );

    let out = run(&["keys", "revoke", prefix]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1);
    assert!(stderr.contains("no active API key with prefix"), "{stderr}");
}
