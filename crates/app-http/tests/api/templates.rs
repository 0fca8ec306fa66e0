//! WhatsApp templates through the API (the one kind of message allowed outside the 24-hour
//! window, stored with its variables) and Twilio accounts with a Messaging Service.

use serde_json::{Value, json};

use crate::support::*;
use crate::webhooks::{form, post_signed, register_account};

const CONTENT_SID: &str = "HX0123456789abcdef0123456789abcdef";
const MESSAGING_SERVICE_SID: &str = "MG0123456789abcdef0123456789abcdef";

/// A WhatsApp conversation the customer never wrote in: outside the window.
async fn whatsapp_conversation(app: &TestApp, key: &str) -> String {
    let body = json!({
        "customer_phone": format!("whatsapp:{}", customer(1)),
        "business_phone": format!("whatsapp:{BUSINESS}")
    });
    let conversation = app.post("/api/v1/conversations", key, &body).await.expect(201);
    assert!(conversation["last_inbound_at"].is_null(), "{conversation}");
    format!("/api/v1/conversations/{}/messages", text(&conversation["id"]))
}

fn template(variables: Value) -> Value {
    json!({"template": {"content_sid": CONTENT_SID, "variables": variables}})
}

#[actix_web::test]
async fn outside_the_window_a_free_form_message_is_refused_naming_templates_and_a_template_is_sent() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let path = whatsapp_conversation(&app, &key).await;

    let problem = app.post(&path, &key, &json!({"body": "Olá!"})).await.problem(422, "rejected");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("24 hours") && detail.contains("template"), "{problem}");

    let sent = app.post(&path, &key, &template(json!({"1": "Maria", "2": "amanhã"}))).await.expect(201);
    let stored = json!({"content_sid": CONTENT_SID, "variables": {"1": "Maria", "2": "amanhã"}});
    assert_eq!(sent["template"], stored, "{sent}");
    assert_eq!((sent["body"].clone(), sent["delivery_status"].clone()), (Value::Null, json!("queued")));
    let read = app.get(&format!("/api/v1/messages/{}", text(&sent["id"])), &key).await.expect(200);
    assert_eq!(read["template"], stored, "the message resource carries it: {read}");
    let listed = app.get(&path, &key).await.expect(200);
    assert_eq!(listed["items"][0]["template"], stored, "{listed}");
}

#[actix_web::test]
async fn a_template_is_validated_and_is_the_whole_content() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let path = whatsapp_conversation(&app, &key).await;
    let bad_sid = json!({"template": {"content_sid": "HX12", "variables": {}}});
    app.post(&path, &key, &bad_sid).await.invalid("template.content_sid");
    app.post(&path, &key, &template(json!({"1": ""}))).await.invalid("template.variables");
    app.post(&path, &key, &template(json!({"a b": "x"}))).await.invalid("template.variables");
    let nested = template(json!({"1": {"first": "Maria"}}));
    app.post(&path, &key, &nested).await.invalid("template.variables.1");
    let both = json!({"body": "Olá", "template": {"content_sid": CONTENT_SID}});
    app.post(&path, &key, &both).await.invalid("template");
    assert_eq!(app.get(&path, &key).await.expect(200)["items"], json!([]), "nothing stored");
}

#[actix_web::test]
async fn an_account_carries_a_messaging_service_set_and_removed_through_the_admin_api() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let body = json!({
        "account_sid": account_sid(1), "auth_token": auth_token(1), "phone_numbers": [BUSINESS],
        "messaging_service_sid": MESSAGING_SERVICE_SID.to_uppercase().replacen("MG", "mg", 1)
    });
    let created = app.post("/api/v1/twilio-accounts", &tenant.admin_key, &body).await.expect(201);
    assert_eq!(created["messaging_service_sid"], MESSAGING_SERVICE_SID, "kept in Twilio's form: {created}");
    let path = format!("/api/v1/twilio-accounts/{}", text(&created["id"]));
    let bad = json!({"messaging_service_sid": "AC0123456789abcdef0123456789abcdef"});
    app.patch(&path, &tenant.admin_key, &bad).await.invalid("messaging_service_sid");
    let removed =
        app.patch(&path, &tenant.admin_key, &json!({"messaging_service_sid": null})).await.expect(200);
    assert_eq!(removed["messaging_service_sid"], Value::Null, "{removed}");
    let again = json!({"messaging_service_sid": MESSAGING_SERVICE_SID});
    let set = app.patch(&path, &tenant.admin_key, &again).await.expect(200);
    assert_eq!(set["messaging_service_sid"], MESSAGING_SERVICE_SID, "{set}");
}

#[actix_web::test]
async fn an_inbound_webhook_through_a_messaging_service_lands_in_the_accounts_tenant() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let path = format!("/api/v1/twilio-accounts/{}", {
        let accounts = app.get("/api/v1/twilio-accounts", &tenant.admin_key).await.expect(200);
        text(&accounts["items"][0]["id"])
    });
    let service = json!({"messaging_service_sid": MESSAGING_SERVICE_SID});
    app.patch(&path, &tenant.admin_key, &service).await.expect(200);

    let from = customer(7);
    let params = form(&[
        ("AccountSid", &twilio.sid),
        ("MessagingServiceSid", MESSAGING_SERVICE_SID),
        ("MessageSid", "SM00000000000000000000000000000777"),
        ("From", &from),
        ("To", BUSINESS),
        ("Body", "Oi"),
        ("NumMedia", "0"),
    ]);
    let answer = post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.text());
    let list = app.get("/api/v1/conversations", &tenant.admin_key).await.expect(200);
    assert_eq!(list["items"][0]["customer_phone"], json!(from), "{list}");
}
