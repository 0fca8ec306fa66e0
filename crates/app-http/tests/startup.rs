//! `conversa serve` refuses an application role that would void row-level security, naming what
//! is wrong: at once when the database answers at start-up, and as soon as it answers when it
//! did not (the service started meanwhile, to spool webhooks).

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{Env, describe};
use test_db::TestDb;

/// The process's exit, waited for at most `limit`.
async fn exit_within(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!("conversa serve did not stop within {limit:?}: {}", describe(&output));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.wait_with_output().expect("output")
}

#[track_caller]
fn assert_refused_as_superuser(output: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{}", describe(output));
    assert!(
        stderr.contains("refusing to serve") && stderr.contains("is a superuser"),
        "{}",
        describe(output)
    );
}

fn serve(env: &Env) -> std::process::Child {
    env.command(&["serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start conversa serve")
}

#[tokio::test]
async fn serve_refuses_a_superuser_as_the_application_role_naming_it() {
    let db = TestDb::new().await;
    // The schema owner (a superuser in the tests) where the application role belongs.
    let env = Env::with_database(db.owner_url(), db.owner_url(), "http://127.0.0.1:9");
    let output = exit_within(serve(&env), Duration::from_secs(20)).await;
    assert_refused_as_superuser(&output);
}

#[tokio::test]
async fn a_serve_started_while_the_database_was_away_stops_once_it_answers_and_refuses_the_role() {
    let db = TestDb::new().await;
    let database = db.name().to_owned();
    let away = format!("{database}_away");
    let away_url = db.owner_url().replace(&format!("/{database}"), &format!("/{away}"));
    assert_ne!(away_url, db.owner_url());
    let env = Env::with_database(away_url.clone(), away_url, "http://127.0.0.1:9");
    let child = serve(&env);

    // It serves (liveness answers) while its database does not exist.
    let client = app_http::simulate::http_client().expect("a client");
    let health = format!("{}/health", env.base_url());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client.get(&health).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "conversa serve did not come up without its database");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The database appears (under the name it was given); the deferred check refuses the role.
    let rename = |from: &str, to: &str| format!("ALTER DATABASE {from} RENAME TO {to}");
    db.execute_on_server(&rename(&database, &away)).await;
    let output = exit_within(child, Duration::from_secs(20)).await;
    db.execute_on_server(&rename(&away, &database)).await;
    assert_refused_as_superuser(&output);
}
