//! Tenant administration: users, API keys, features, Twilio accounts.

use serde_json::json;

use crate::support::{account_sid, auth_token, ids, spawn_app, text};

const UNKNOWN: &str = "0190f3c4-0000-7000-8000-000000000000";

#[actix_web::test]
async fn users_are_created_listed_and_read() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let key = &tenant.admin_key;
    let input = json!({"name": "Bruno Lima", "email": "Bruno@Acme.example", "role": "agent"});
    let user = app.post("/api/v1/users", key, &input).await.expect(201);
    assert_eq!(user["name"], "Bruno Lima");
    assert_eq!(user["email"], "bruno@acme.example", "addresses are stored lower-case");
    assert_eq!(user["role"], "agent");
    assert_eq!(user["active"], true);

    let duplicate = json!({"name": "Other Bruno", "email": "bruno@acme.example", "role": "viewer"});
    app.post("/api/v1/users", key, &duplicate).await.problem(409, "email_taken");
    let bad_email = json!({"name": "X", "email": "not-an-address", "role": "agent"});
    app.post("/api/v1/users", key, &bad_email).await.invalid("email");
    let bad_role = json!({"name": "X", "email": "x@acme.example", "role": "owner"});
    app.post("/api/v1/users", key, &bad_role).await.invalid("role");
    let blank = json!({"name": "  ", "email": "y@acme.example", "role": "agent"});
    app.post("/api/v1/users", key, &blank).await.invalid("name");

    let listed = app.get("/api/v1/users", key).await.expect(200);
    let mut listed = ids(&listed);
    listed.sort();
    let mut expected = vec![tenant.admin_id.clone(), text(&user["id"])];
    expected.sort();
    assert_eq!(listed, expected);

    let fetched = app.get(&format!("/api/v1/users/{}", text(&user["id"])), key).await.expect(200);
    assert_eq!(fetched, user);
    let admin = app.get(&format!("/api/v1/users/{}", tenant.admin_id), key).await.expect(200);
    assert_eq!(admin["role"], "admin");
    app.get(&format!("/api/v1/users/{UNKNOWN}"), key).await.problem(404, "not_found");
    app.get("/api/v1/users/bruno", key).await.problem(404, "not_found");
}

#[actix_web::test]
async fn an_api_key_is_shown_once_authenticates_and_stops_when_revoked() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let admin = &tenant.admin_key;
    let user = json!({"name": "Ana", "email": "ana@acme.example", "role": "agent"});
    let user_id = text(&app.post("/api/v1/users", admin, &user).await.expect(201)["id"]);

    let created =
        app.post("/api/v1/api-keys", admin, &json!({"user_id": user_id, "name": "crm"})).await.expect(201);
    let key = text(&created["key"]);
    assert!(key.starts_with("cnv_"), "{key}");
    assert!(key.starts_with(created["prefix"].as_str().unwrap()), "{created}");
    assert_eq!(created["user_id"], user_id);
    assert_eq!(created["name"], "crm");
    assert!(created["revoked_at"].is_null());

    let listed = app.get("/api/v1/api-keys", admin).await.expect(200);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the admin's first key and the new one: {listed}");
    for item in items {
        assert!(item.get("key").is_none(), "a listing shows a key: {item}");
        assert!(item["prefix"].as_str().is_some_and(|p| p.starts_with("cnv_")));
    }
    assert!(!listed.to_string().contains(&key), "the key appears in the listing");
    let listed_key = items.iter().find(|k| k["id"] == created["id"]).expect("the new key is listed");
    assert_eq!(listed_key["prefix"], created["prefix"]);

    // The key acts as its user: an agent may read and write, not administer.
    app.get("/api/v1/conversations", &key).await.expect(200);
    app.get("/api/v1/api-keys", &key).await.problem(403, "forbidden");

    let revoke = format!("/api/v1/api-keys/{}/revoke", text(&created["id"]));
    let revoked = app.post(&revoke, admin, &json!({})).await.expect(200);
    assert!(!revoked["revoked_at"].is_null());
    assert!(revoked.get("key").is_none());
    app.get("/api/v1/conversations", &key).await.problem(401, "unauthorized");
    app.post(&revoke, admin, &json!({})).await.expect(200);
    app.get("/api/v1/conversations", admin).await.expect(200);

    app.post(&format!("/api/v1/api-keys/{UNKNOWN}/revoke"), admin, &json!({}))
        .await
        .problem(404, "not_found");
    app.post("/api/v1/api-keys/x/revoke", admin, &json!({})).await.problem(404, "not_found");
    let unknown_user = json!({"user_id": UNKNOWN, "name": "ghost"});
    app.post("/api/v1/api-keys", admin, &unknown_user).await.invalid("user_id");
    let bad_id = json!({"user_id": "ana", "name": "ghost"});
    app.post("/api/v1/api-keys", admin, &bad_id).await.invalid("user_id");
}

#[actix_web::test]
async fn features_are_configured_checked_read_and_switched() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let path = "/api/v1/features/closure_detection";
    let config = json!({"threshold": 0.7, "window": 8});
    let put = app.put(path, &key, &json!({"config": config})).await.expect(200);
    assert_eq!(put["name"], "closure_detection");
    assert_eq!(put["enabled"], true, "on by default");
    assert_eq!(put["config"], config);

    let problem = app.put(path, &key, &json!({"config": {"threshold": 5}})).await.invalid("config");
    assert!(problem["detail"].as_str().unwrap().contains("closure_detection"), "{problem}");
    app.put(path, &key, &json!({"config": {"treshold": 0.5}})).await.invalid("config");
    app.put(path, &key, &json!({"config": [1]})).await.invalid("config");
    app.put("/api/v1/features/Bad-Name", &key, &json!({"config": {}})).await.invalid("name");

    let fetched = app.get(path, &key).await.expect(200);
    assert_eq!(fetched["config"], config, "refused configurations changed nothing");

    let custom = json!({"enabled": false, "config": {"anything": [1, 2]}});
    app.put("/api/v1/features/crm_sync", &key, &custom).await.expect(200);
    let listed = app.get("/api/v1/features", &key).await.expect(200);
    let mut names: Vec<_> = listed["items"].as_array().unwrap().iter().map(|f| text(&f["name"])).collect();
    names.sort();
    assert_eq!(names, ["closure_detection", "crm_sync"]);

    let switch = format!("{path}/enabled");
    let off = app.post(&switch, &key, &json!({"enabled": false})).await.expect(200);
    assert_eq!(off["enabled"], false);
    assert_eq!(off["config"], config);
    assert_eq!(app.get(path, &key).await.expect(200)["enabled"], false);
    app.post(&switch, &key, &json!({"enabled": "yes"})).await.invalid("enabled");

    app.get("/api/v1/features/auto_reply", &key).await.problem(404, "not_found");
    let unknown = "/api/v1/features/auto_reply/enabled";
    app.post(unknown, &key, &json!({"enabled": true})).await.problem(404, "not_found");
}

#[actix_web::test]
async fn twilio_accounts_are_registered_without_ever_showing_the_token() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let token = auth_token(1);
    let input = json!({
        "account_sid": account_sid(1), "auth_token": token, "friendly_name": "main",
        "phone_numbers": ["+14155550100", "whatsapp:+14155550100"]
    });
    let response = app.post("/api/v1/twilio-accounts", &key, &input).await;
    let created = response.expect(201);
    assert!(!response.text().contains(&token) && !response.text().contains("auth_token"), "{created}");
    assert_eq!(created["account_sid"], account_sid(1));
    assert_eq!(created["friendly_name"], "main");
    assert_eq!(created["phone_numbers"], json!(["+14155550100", "whatsapp:+14155550100"]));
    assert_eq!(created["active"], true);

    let again = json!({"account_sid": account_sid(1), "auth_token": auth_token(2), "phone_numbers": ["+14155550101"]});
    app.post("/api/v1/twilio-accounts", &key, &again).await.problem(409, "account_sid_taken");
    let bad_sid = json!({"account_sid": "AC123", "auth_token": token, "phone_numbers": ["+14155550101"]});
    app.post("/api/v1/twilio-accounts", &key, &bad_sid).await.invalid("account_sid");
    let bad_token =
        json!({"account_sid": account_sid(3), "auth_token": "short", "phone_numbers": ["+14155550101"]});
    app.post("/api/v1/twilio-accounts", &key, &bad_token).await.invalid("auth_token");
    let no_numbers = json!({"account_sid": account_sid(4), "auth_token": token, "phone_numbers": []});
    app.post("/api/v1/twilio-accounts", &key, &no_numbers).await.invalid("phone_numbers");

    let listed = app.get("/api/v1/twilio-accounts", &key).await;
    assert!(!listed.text().contains(&token) && !listed.text().contains("auth_token"));
    assert_eq!(ids(&listed.expect(200)), [text(&created["id"])]);

    let path = format!("/api/v1/twilio-accounts/{}", text(&created["id"]));
    let fetched = app.get(&path, &key).await;
    assert!(!fetched.text().contains(&token) && !fetched.text().contains("auth_token"));
    assert_eq!(fetched.expect(200), created);
    app.get(&format!("/api/v1/twilio-accounts/{UNKNOWN}"), &key).await.problem(404, "not_found");
    app.get("/api/v1/twilio-accounts/AC1", &key).await.problem(404, "not_found");
}

#[actix_web::test]
async fn tenant_configuration_is_bounded() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    // A 1 MiB configuration does not get past the body limit; 20 KiB gets past it and is refused
    // by the configuration's own bound; 11 levels of nesting too.
    let huge = json!({"config": {"blob": "x".repeat(1024 * 1024)}});
    app.put("/api/v1/features/crm_sync", &key, &huge).await.problem(413, "payload_too_large");
    let large = json!({"config": {"blob": "x".repeat(20 * 1024)}});
    let problem = app.put("/api/v1/features/crm_sync", &key, &large).await.invalid("config");
    assert!(problem["detail"].as_str().unwrap().contains("16384"), "{problem}");
    let deep = (1..11).fold(json!({}), |inner, _| json!({ "a": inner }));
    app.put("/api/v1/features/crm_sync", &key, &json!({"config": deep})).await.invalid("config");
    app.get("/api/v1/features/crm_sync", &key).await.problem(404, "not_found");

    for n in 0..64 {
        app.put(&format!("/api/v1/features/custom_{n}"), &key, &json!({"config": {}})).await.expect(200);
    }
    let problem = app.put("/api/v1/features/custom_64", &key, &json!({"config": {}})).await.invalid("name");
    assert!(problem["detail"].as_str().unwrap().contains("64 features"), "{problem}");
    let replaced = app.put("/api/v1/features/custom_0", &key, &json!({"config": {"v": 1}})).await.expect(200);
    assert_eq!(replaced["config"], json!({"v": 1}), "replacing one of the 64 is allowed");
}
