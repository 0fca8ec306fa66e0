//! The API tour (`scripts/examples.sh`) against the real service, set up as `scripts/run` sets
//! it up: migrated, seeded with the demo data, served, and the tour run with the demo API key.
//! Twilio is a fake that accepts the demo account's sends, so the tour cannot rot unnoticed.

mod support;

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use support::{Env, describe, text};
use test_db::TestDb;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The demo Twilio account `conversa seed` registers for the demo tenant.
const DEMO_ACCOUNT_SID: &str = "AC00000000000000000000000000000a01";

/// The headings the tour prints, in order.
const STEPS: [&str; 13] = [
    "== 1. Is the service up?",
    "== 2. Open a conversation",
    "== 3. Opening it again is safe",
    "== 4. An agent writes to the customer",
    "== 5. Follow the message's delivery",
    "== 6. List the messages, a page at a time",
    "== 7. Read the conversation",
    "== 8. List conversations by status",
    "== 9. Extend it",
    "== 10. Close it",
    "== 11. Find it among the closed ones",
    "== 12. A closed conversation refuses messages",
    "== 13. Unknown ids answer 404",
];

/// Twilio accepting a send, with a MessageSid of its own each time (`SMtour1`, `SMtour2`, …).
struct AcceptSends(AtomicUsize);

impl Respond for AcceptSends {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(201).set_body_json(json!({"sid": format!("SMtour{n}"), "status": "queued"}))
    }
}

/// Runs `bash scripts/examples.sh` from the workspace root with only the tour's inputs set.
async fn run_tour(base_url: &str, key: &str) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("scripts/examples.sh");
    assert!(script.is_file(), "no tour at {}", script.display());
    let mut command = Env::clean_command("bash");
    command.arg(&script).current_dir(&root).env("CONVERSA_URL", base_url).env("CONVERSA_API_KEY", key);
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run bash (is it installed?): {e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_tour_runs_against_a_seeded_service() {
    let db = TestDb::new().await;
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages.json")))
        .respond_with(AcceptSends(AtomicUsize::new(0)))
        .expect(2)
        .mount(&twilio)
        .await;
    let env = Env::new(&db, &twilio.uri());
    env.run_json(&["migrate"]).await;
    let seeded = env.run_json(&["seed"]).await;
    let key = text(&seeded["demo_api_key"]).to_owned();
    let _server = env.serve("tour").await;

    let output = run_tour(&env.base_url(), &key).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "the tour failed (is curl or jq missing?): {}", describe(&output));
    let mut rest = stdout.as_ref();
    for heading in STEPS {
        let at = rest.find(heading).unwrap_or_else(|| panic!("no step `{heading}` (in order) in:\n{stdout}"));
        rest = &rest[at + heading.len()..];
    }
    for shown in [r#""code": "conversation_closed""#, r#""code": "not_found""#, "application/problem+json"] {
        assert!(stdout.contains(shown), "the tour did not show {shown}:\n{stdout}");
    }
    let done = stdout.lines().last().unwrap_or_default();
    assert!(
        done.starts_with("Tour complete: conversation ") && done.ends_with(" is agent_closed."),
        "{done}"
    );

    // The service agrees: the tour's conversation is closed, with both messages sent through
    // (fake) Twilio, and the tour's later refused message stored nothing.
    let api = env.api();
    let closed = api.get("/api/v1/conversations?status=agent_closed", &key).await.expect(200);
    let items = closed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{closed}");
    let conversation = text(&items[0]["id"]);
    assert!(done.contains(conversation), "{done}");
    assert_eq!(items[0]["close_reason"], "customer question answered", "{closed}");
    assert_eq!(items[0]["message_count"], 2, "{closed}");
    let messages = format!("/api/v1/conversations/{conversation}/messages");
    let all_sent = |page: &serde_json::Value| {
        page["items"].as_array().is_some_and(|m| {
            m.len() == 2
                && m.iter().all(|m| m["provider_sid"].as_str().is_some_and(|s| s.starts_with("SMtour")))
        })
    };
    let page = api.poll(&messages, &key, Duration::from_secs(10), all_sent).await;
    assert!(all_sent(&page), "not both sent through Twilio: {page}");
    twilio.verify().await;
}
