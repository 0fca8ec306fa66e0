//! Changing and removing Twilio accounts over the API: `PATCH` (merge semantics, the token
//! never shown), `DELETE` (refused while conversations are active unless `force=true`), the
//! webhooks that follow a change at once, and Account SIDs in any letter case.

use serde_json::{Value, json};

use crate::support::{BUSINESS, Tenant, TestApp, account_sid, auth_token, customer, spawn_app, text};
use crate::webhooks::{Twilio, inbound, post_signed, register_account};

const UNKNOWN: &str = "0190f3c4-0000-7000-8000-000000000000";
const NEW_TOKEN: &str = "fedcba9876543210fedcba9876543210";

fn path(account: &Value) -> String {
    format!("/api/v1/twilio-accounts/{}", text(&account["id"]))
}

/// Registers account `n` on [`BUSINESS`]; its credentials and the account as the API shows it.
async fn registered(app: &TestApp, tenant: &Tenant, n: u32) -> (Twilio, Value) {
    let twilio = register_account(app, tenant, n).await;
    let list = app.get("/api/v1/twilio-accounts", &tenant.admin_key).await.expect(200);
    let account = list["items"].as_array().unwrap().iter().find(|a| a["account_sid"] == account_sid(n));
    (twilio, account.expect("listed").clone())
}

#[actix_web::test]
async fn an_admin_changes_label_numbers_token_and_switch_with_merge_semantics() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let key = &tenant.admin_key;
    let (_, account) = registered(&app, &tenant, 1).await;

    let renamed = app.patch(&path(&account), key, &json!({"friendly_name": "Main line"})).await.expect(200);
    assert_eq!(
        (renamed["friendly_name"].clone(), renamed["phone_numbers"].clone()),
        (json!("Main line"), json!([BUSINESS]))
    );

    let numbers = json!({"phone_numbers": ["whatsapp:+5511940000001", "+55 11 94000-0001"]});
    let renumbered = app.patch(&path(&account), key, &numbers).await.expect(200);
    assert_eq!(renumbered["phone_numbers"], json!([BUSINESS, "whatsapp:+5511940000001"]));
    assert_eq!(renumbered["friendly_name"], "Main line", "a field left out stays");

    let response = app.patch(&path(&account), key, &json!({"auth_token": NEW_TOKEN, "active": false})).await;
    let changed = response.expect(200);
    assert!(!response.text().contains(NEW_TOKEN) && !response.text().contains("auth_token"), "{changed}");
    assert_eq!(
        (changed["active"].clone(), changed["account_sid"].clone()),
        (json!(false), json!(account_sid(1)))
    );

    let unlabelled = app.patch(&path(&account), key, &json!({"friendly_name": null})).await.expect(200);
    assert_eq!(unlabelled["friendly_name"], Value::Null, "null removes the label");
    let unchanged = app.patch(&path(&account), key, &json!({})).await.expect(200);
    assert_eq!(unchanged, unlabelled, "an empty patch changes nothing");
    assert_eq!(app.get(&path(&account), key).await.expect(200), unlabelled);

    // The merge-patch media type is accepted like JSON.
    let merge = actix_web::test::TestRequest::patch()
        .uri(&path(&account))
        .insert_header(crate::support::bearer(key))
        .insert_header(("content-type", "application/merge-patch+json"))
        .set_payload(r#"{"active": true}"#);
    assert_eq!(app.send(merge).await.expect(200)["active"], true);
}

#[actix_web::test]
async fn bad_patches_are_problems_naming_the_field() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let key = &tenant.admin_key;
    let (_, account) = registered(&app, &tenant, 1).await;
    let other = json!({"account_sid": account_sid(3), "auth_token": auth_token(3), "phone_numbers": ["+5511940000009"]});
    app.post("/api/v1/twilio-accounts", key, &other).await.expect(201);

    let cases = [
        (json!({"auth_token": "short"}), "auth_token"),
        (json!({"auth_token": null}), "auth_token"),
        (json!({"phone_numbers": []}), "phone_numbers"),
        (json!({"phone_numbers": ["5511"]}), "phone_numbers"),
        (json!({"phone_numbers": null}), "phone_numbers"),
        (json!({"active": null}), "active"),
        (json!({"active": "no"}), "active"),
        (json!({"friendly_name": "x".repeat(201)}), "friendly_name"),
        (json!({"account_sid": account_sid(9)}), "account_sid"),
    ];
    for (body, field) in cases {
        let response = app.patch(&path(&account), key, &body).await;
        let problem = response.invalid(field);
        assert!(!response.text().contains("short"), "{problem}");
    }
    let taken = app.patch(&path(&account), key, &json!({"phone_numbers": ["+5511940000009"]})).await;
    assert_eq!(taken.problem(409, "number_taken")["field"], "phone_numbers");
    let malformed = actix_web::test::TestRequest::patch()
        .uri(&path(&account))
        .insert_header(crate::support::bearer(key))
        .insert_header(("content-type", "application/json"))
        .set_payload("{");
    app.send(malformed).await.problem(400, "bad_request");
    assert_eq!(app.get(&path(&account), key).await.expect(200), account, "nothing changed");
}

#[actix_web::test]
async fn only_admins_change_or_remove_and_only_their_tenants_accounts() {
    let app = spawn_app().await;
    let acme = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let (_, account) = registered(&app, &acme, 1).await;
    for role in ["viewer", "agent"] {
        let member = app.member(&acme, role).await;
        app.patch(&path(&account), &member.key, &json!({"active": false})).await.problem(403, "forbidden");
        app.delete(&path(&account), &member.key).await.problem(403, "forbidden");
    }
    app.patch(&path(&account), &beta.admin_key, &json!({"active": false})).await.problem(404, "not_found");
    app.delete(&path(&account), &beta.admin_key).await.problem(404, "not_found");
    app.delete(&format!("{}?force=true", path(&account)), &beta.admin_key).await.problem(404, "not_found");
    let unknown = format!("/api/v1/twilio-accounts/{UNKNOWN}");
    app.patch(&unknown, &acme.admin_key, &json!({"active": false})).await.problem(404, "not_found");
    app.delete(&unknown, &acme.admin_key).await.problem(404, "not_found");
    app.delete("/api/v1/twilio-accounts/AC1", &acme.admin_key).await.problem(404, "not_found");
    let unchanged = app.get(&path(&account), &acme.admin_key).await.expect(200);
    assert_eq!(unchanged, account, "still active, still there");
}

#[actix_web::test]
async fn an_account_in_use_is_kept_unless_forced_and_one_without_conversations_is_deleted() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let key = &tenant.admin_key;
    let (_, account) = registered(&app, &tenant, 1).await;
    let conversation = app.conversation(key, 1).await;

    let in_use = app.delete(&path(&account), key).await.problem(409, "account_in_use");
    assert!(in_use["detail"].as_str().unwrap().contains("1 active conversation"), "{in_use}");
    assert_eq!(app.get(&path(&account), key).await.expect(200)["active"], true, "nothing changed");
    app.delete(&format!("{}?force=maybe", path(&account)), key).await.invalid("force");
    app.delete(&format!("{}?forced=true", path(&account)), key).await.problem(422, "invalid_input");

    let forced = app.delete(&format!("{}?force=true", path(&account)), key).await.expect(200);
    assert_eq!((forced["id"].clone(), forced["active"].clone()), (account["id"].clone(), json!(false)));
    assert_eq!(app.get(&path(&account), key).await.expect(200)["active"], false, "deactivated, kept");

    let close = format!("/api/v1/conversations/{}/close", text(&conversation["id"]));
    app.post(&close, key, &json!({"status": "agent_closed", "reason": "answered"})).await.expect(200);
    let deleted = app.delete(&path(&account), key).await;
    assert_eq!(deleted.status.as_u16(), 204, "{}", deleted.text());
    assert!(deleted.body.is_empty());
    app.get(&path(&account), key).await.problem(404, "not_found");
    app.delete(&path(&account), key).await.problem(404, "not_found");
    let kept = app.get(&format!("/api/v1/conversations/{}", text(&conversation["id"])), key).await;
    assert_eq!(kept.expect(200)["status"], "agent_closed", "its conversations stay readable");
}

#[actix_web::test]
async fn webhooks_follow_a_new_token_and_a_deactivation_at_once() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let (old, account) = registered(&app, &tenant, 1).await;
    let webhook = "/webhooks/twilio/inbound";
    let first = inbound(&old, "SM0001", &customer(1), "Oi");
    assert_eq!(
        post_signed(&app, webhook, &old.token, &first).await.status.as_u16(),
        200,
        "cached with the old token"
    );

    app.patch(&path(&account), &tenant.admin_key, &json!({"auth_token": NEW_TOKEN})).await.expect(200);
    let second = inbound(&old, "SM0002", &customer(1), "Ainda aí?");
    let refused = post_signed(&app, webhook, &old.token, &second).await;
    refused.problem(403, "invalid_signature");
    let accepted = post_signed(&app, webhook, NEW_TOKEN, &second).await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.text());

    app.patch(&path(&account), &tenant.admin_key, &json!({"active": false})).await.expect(200);
    let third = inbound(&old, "SM0003", &customer(1), "Alô?");
    post_signed(&app, webhook, NEW_TOKEN, &third).await.problem(403, "invalid_signature");
    app.patch(&path(&account), &tenant.admin_key, &json!({"active": true})).await.expect(200);
    assert_eq!(post_signed(&app, webhook, NEW_TOKEN, &third).await.status.as_u16(), 200, "active again");
}

#[actix_web::test]
async fn account_sids_are_one_whatever_their_letter_case() {
    let app = spawn_app().await;
    let acme = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let canonical = format!("AC{}", "abcdef0123456789".repeat(2));
    let shouted = canonical.to_ascii_uppercase();
    let body = json!({"account_sid": shouted, "auth_token": auth_token(1), "phone_numbers": [BUSINESS]});
    let created = app.post("/api/v1/twilio-accounts", &acme.admin_key, &body).await.expect(201);
    assert_eq!(created["account_sid"], canonical, "stored and shown in Twilio's form");
    let again =
        json!({"account_sid": canonical, "auth_token": auth_token(2), "phone_numbers": ["+14155550100"]});
    app.post("/api/v1/twilio-accounts", &beta.admin_key, &again).await.problem(409, "account_sid_taken");
    let lower_prefix = json!({"account_sid": format!("ac{}", &canonical[2..]), "auth_token": auth_token(2), "phone_numbers": ["+14155550100"]});
    app.post("/api/v1/twilio-accounts", &acme.admin_key, &lower_prefix)
        .await
        .problem(409, "account_sid_taken");

    // A webhook naming the account in another case finds it; the signature covers the fields
    // exactly as sent.
    let twilio = Twilio { sid: shouted.clone(), token: auth_token(1) };
    let params = inbound(&twilio, "SM0001", &customer(1), "Oi");
    let response = post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.text());
    let list = app.get("/api/v1/conversations", &acme.admin_key).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}
