//! The binary as a user runs it: help, one-line errors, keys, and `serve --demo`.

mod common;

use common::process::{Served, bin, output};

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
    let (ok, key, err) = run_in(
        dir.path(),
        &[
            "keys",
            "create",
            "--user",
            "ada@example.com",
            "--first-name",
            "Ada",
        ],
    );
    assert!(ok, "{err}");
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
    let mut server = Served::spawn_demo(bin().current_dir(dir.path()).args([
        "serve",
        "--demo",
        "--demo-jobs",
        "300",
        "--port",
        "0",
    ]));
    let (url, key) = (server.base.clone(), server.demo_key.clone().unwrap());
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

    let status = server.terminate();
    assert!(status.success(), "graceful exit, got {status}");
}

#[test]
fn keys_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run_in(dir.path(), args);
    let (ok, key, err) = run(&[
        "keys",
        "create",
        "--user",
        "root@example.com",
        "--role",
        "admin",
        "--expires-in-days",
        "30",
    ]);
    assert!(ok, "{err}");
    let (prefix, secret) = key.trim().split_once('.').unwrap();

    let (_, list, _) = run(&["keys", "list"]);
    assert!(
        list.contains(prefix) && list.contains("admin") && list.contains("root@example.com"),
        "{list}"
    );
    assert!(!list.contains(secret), "secrets are never shown again");

    let (ok, _, err) = run(&["keys", "revoke", prefix]);
    assert!(ok, "{err}");
    assert!(
        !run(&["keys", "list"]).1.contains(prefix),
        "revoked keys are hidden"
    );
    assert!(run(&["keys", "list", "--all"]).1.contains(prefix));

    let (ok, _, stderr) = run(&["keys", "revoke", prefix]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1);
    assert!(stderr.contains("no active API key with prefix"), "{stderr}");
}

#[test]
fn models_add_is_idempotent_and_never_renames() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run_in(dir.path(), args);
    let add = [
        "models",
        "add",
        "--identifier",
        "abc123",
        "--version",
        "1.0.0",
    ];
    let (ok, out, err) = run(&[&add[..], &["--name", "Sentiment"]].concat());
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "abc123\t1.0.0\tSentiment");
    assert!(err.contains("added model abc123 version 1.0.0"), "{err}");
    let (ok, out, err) = run(&[&add[..], &["--name", "Sentiment"]].concat());
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "abc123\t1.0.0\tSentiment");
    assert!(err.contains("already in the catalogue"), "{err}");
    let (ok, _, err) = run(&[&add[..], &["--name", "Other"]].concat());
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("already exists named \"Sentiment\""), "{err}");
    let (ok, _, err) = run(&[
        "models",
        "add",
        "--identifier",
        " ",
        "--version",
        "1",
        "--name",
        "x",
    ]);
    assert!(
        !ok && err.contains("identifier must be 1 to 200 characters"),
        "{err}"
    );
    let (_, list, _) = run(&["models", "list"]);
    assert_eq!(list.matches("abc123").count(), 1, "{list}");
}

/// Runs the binary in `dir` and returns (success, stdout, stderr).
fn run_in(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    output(bin().current_dir(dir).args(args))
}

#[test]
fn keys_create_says_what_it_created_and_refuses_near_misses() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run_in(dir.path(), args);
    // `keys create --user USER` with `more` arguments.
    let create = |user: &str, more: &[&str]| {
        let mut args = vec!["keys", "create", "--user", user];
        args.extend_from_slice(more);
        run(&args)
    };
    let (ok, _, err) = create("root@example.com", &["--account", "Acme Analytics"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("created account \"Acme Analytics\" and user root@example.com"),
        "{err}"
    );

    // A near miss of an existing account name: refused, nothing created.
    let (ok, out, err) = create("ada@example.com", &["--account", "Acme"]);
    assert!(!ok && out.is_empty(), "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("\"Acme Analytics\"") && err.contains("--new-account"),
        "{err}"
    );
    let (_, list, _) = run(&["keys", "list"]);
    assert!(!list.contains("ada@example.com"), "{list}");

    // The exact name: a new user in the existing account.
    let (ok, out, err) = create("ada@example.com", &["--account", "Acme Analytics"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("created user ada@example.com in account \"Acme Analytics\""),
        "{err}"
    );
    assert_eq!(
        out.trim().lines().count(),
        1,
        "stdout is the key alone: {out}"
    );

    // An existing user keeps its account: another one is refused, none is fine.
    let (ok, _, err) = create("ada@example.com", &["--account", "Globex"]);
    assert!(!ok);
    assert!(
        err.contains("already belongs to account \"Acme Analytics\""),
        "{err}"
    );
    let (ok, _, err) = create("ada@example.com", &[]);
    assert!(ok, "{err}");
    assert!(
        err.contains("existing user ada@example.com of account \"Acme Analytics\""),
        "{err}"
    );

    // Asked for explicitly, the near miss is created and said so.
    let (ok, _, err) = create("bob@example.com", &["--account", "Acme", "--new-account"]);
    assert!(ok, "{err}");
    assert!(err.contains("created account \"Acme\""), "{err}");
    let (_, list, _) = run(&["keys", "list"]);
    let account_of = |email: &str| {
        list.lines()
            .find(|l| l.contains(email))
            .and_then(|l| l.split_once(email))
            .map(|(_, account)| account.trim().to_string())
    };
    assert_eq!(
        account_of("ada@example.com").as_deref(),
        Some("Acme Analytics")
    );
    assert_eq!(account_of("bob@example.com").as_deref(), Some("Acme"));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run_in(dir.path(), &["keys", "create", "--user", "a@example.com"]);
    assert!(ok, "{err}");
    for args in [
        &["keys", "list"][..],
        &["keys", "create", "--user", "b@example.com"],
        &["schema"],
        &["migrate"],
    ] {
        // A pipe whose reader is already gone: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = bin()
            .current_dir(dir.path())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{args:?}: {:?}, stderr: {stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Every boolean flag, wherever it is defined, parses the usual spellings with its own value
/// parser (the one its environment variable goes through too).
#[test]
fn every_boolean_flag_takes_the_usual_spellings() {
    let booleans: Vec<_> = job_history::cli::reference::arguments()
        .into_iter()
        .filter(|(_, arg)| job_history::cli::reference::is_boolean(arg))
        .collect();
    assert!(booleans.len() >= 3, "demo, introspection, …: {booleans:?}");
    for (path, arg) in &booleans {
        let long = arg.get_long().expect("boolean flags are named");
        // The same argument taking a value, so the value parser can be fed any spelling.
        let parse = |spelling: &str| {
            clap::Command::new("probe")
                .arg(arg.clone().action(clap::ArgAction::Set).global(false))
                .try_get_matches_from(["probe", &format!("--{long}={spelling}")])
                .map(|m| m.get_one::<bool>(arg.get_id().as_str()).copied())
        };
        for (spellings, expected) in [
            (["1", "true", "TRUE", "yes", "Yes", "on", "ON"], true),
            (["0", "false", "False", "no", "NO", "off", "Off"], false),
        ] {
            for spelling in spellings {
                let parsed = parse(spelling)
                    .unwrap_or_else(|e| panic!("{path} --{long}: {spelling:?} rejected: {e}"));
                assert_eq!(parsed, Some(expected), "{path} --{long}={spelling}");
            }
        }
        assert!(parse("maybe").is_err(), "{path} --{long}=maybe");
    }
}

#[test]
fn every_flag_but_keys_and_models_has_an_environment_variable() {
    let missing: Vec<String> = job_history::cli::reference::arguments()
        .into_iter()
        .filter(|(path, arg)| {
            arg.get_env().is_none() && !path.starts_with("keys") && !path.starts_with("models")
        })
        .map(|(path, arg)| format!("{path} --{}", arg.get_id()))
        .collect();
    assert!(missing.is_empty(), "flags without env: {missing:?}");
}

/// `simulate` against a demo server on a port that is not 8080: it runs with the right keys
/// and fails at once, non-zero and saying why, with a wrong, swapped or unreachable one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_works_on_any_port_and_fails_fast_on_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::spawn_demo(
        bin()
            .current_dir(dir.path())
            .env("DEMO", "1") // the usual boolean spelling, through the environment
            .args([
                "serve",
                "--demo-jobs",
                "50",
                "--demo-rate",
                "0",
                "--port",
                "0",
            ]),
    );
    let (url, user_key) = (server.base.clone(), server.demo_key.clone().unwrap());
    let viewer = common::post_graphql(
        &format!("{url}/graphql"),
        &user_key,
        "{ viewer { user { email } } }",
        serde_json::json!({}),
    )
    .await;
    let email = viewer["data"]["viewer"]["user"]["email"]
        .as_str()
        .expect("viewer")
        .to_string();
    let (ok, worker_key, err) = run_in(
        dir.path(),
        &["keys", "create", "--user", &email, "--role", "worker"],
    );
    assert!(ok, "{err}");
    let worker_key = worker_key.trim().to_string();

    let simulate = |url: &str, user: &str, worker: &str, extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--url",
            url,
            "--user-key",
            user,
            "--worker-key",
            worker,
        ];
        args.extend_from_slice(extra);
        run_in(dir.path(), &args)
    };
    let fails_with = |(ok, _, err): (bool, String, String), expect: &str| {
        assert!(!ok, "must fail: {expect}");
        assert!(err.contains(expect), "expected {expect:?} in: {err}");
    };
    fails_with(
        simulate(&url, "NoSuchKey0000000000.secret", &worker_key, &[]),
        "--user-key does not work",
    );
    fails_with(
        simulate(&url, &worker_key, &user_key, &[]),
        "the keys are swapped",
    );
    fails_with(
        simulate(&url, &user_key, &user_key, &[]),
        "--worker-key has role USER",
    );
    fails_with(
        simulate("http://127.0.0.1:1", &user_key, &worker_key, &[]),
        "cannot reach http://127.0.0.1:1/graphql",
    );

    let (ok, out, err) = simulate(
        &url,
        &user_key,
        &worker_key,
        &["--rate", "20", "--duration-secs", "1", "--pace", "0.01"],
    );
    assert!(ok, "{err}");
    let submitted: u64 = out
        .trim()
        .strip_prefix("submitted ")
        .and_then(|s| s.strip_suffix(" jobs"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(submitted >= 1, "{out}");
}
