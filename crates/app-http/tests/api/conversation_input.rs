//! How a request body is read: bad values name their field, malformed JSON is 400, a wrong
//! content type 415, an oversized body 413.

use serde_json::json;

use crate::support::{BUSINESS, customer, spawn_app, spawn_app_with_limit};

const PATH: &str = "/api/v1/conversations";

#[actix_web::test]
async fn a_bad_phone_number_is_422_naming_the_field() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let problem = app.post(PATH, &key, &json!({"customer_phone": "5511", "business_phone": BUSINESS})).await;
    let problem = problem.invalid("customer_phone");
    assert!(problem["detail"].as_str().unwrap().contains("customer_phone"), "{problem}");
    app.post(PATH, &key, &json!({"customer_phone": customer(1), "business_phone": "+1 call me"}))
        .await
        .invalid("business_phone");
    app.post(PATH, &key, &json!({"customer_phone": customer(1), "business_phone": BUSINESS, "context": [1]}))
        .await
        .invalid("context");
    // Nothing was opened.
    let list = app.get(PATH, &key).await.expect(200);
    assert_eq!(list["items"], json!([]));
}

#[actix_web::test]
async fn wrong_types_missing_and_unknown_fields_are_422() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let wrong = json!({"customer_phone": 5511, "business_phone": BUSINESS});
    app.post(PATH, &key, &wrong).await.invalid("customer_phone");
    let channel = json!({"customer_phone": customer(1), "business_phone": BUSINESS, "channel": "fax"});
    app.post(PATH, &key, &channel).await.invalid("channel");

    let missing = app.post(PATH, &key, &json!({"customer_phone": customer(1)})).await;
    let problem = missing.problem(422, "invalid_input");
    assert!(problem["detail"].as_str().unwrap().contains("business_phone"), "{problem}");

    let unknown = json!({"customer_phone": customer(1), "business_phone": BUSINESS, "colour": "red"});
    let problem = app.post(PATH, &key, &unknown).await.problem(422, "invalid_input");
    assert!(problem["detail"].as_str().unwrap().contains("colour"), "{problem}");
    assert!(problem["field"].is_string(), "{problem}");
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let trailing = br#"{"customer_phone": "+5511987600001", "business_phone": "+5511940000001"} and more"#;
    let truncated = br#"{"customer_phone": "+5511987600001","#;
    for body in [&b"not json"[..], b"", b"{\"customer_phone\": ", truncated, trailing] {
        let response = app.post_raw(PATH, &key, Some("application/json"), body).await;
        let problem = response.problem(400, "bad_request");
        assert_eq!(problem["title"], "Malformed request");
    }
    assert_eq!(app.get(PATH, &key).await.expect(200)["items"], json!([]), "nothing was opened");
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let body =
        serde_json::to_vec(&json!({"customer_phone": customer(1), "business_phone": BUSINESS})).unwrap();
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let response = app.post_raw(PATH, &key, content_type, &body).await;
        response.problem(415, "unsupported_media_type");
    }
    // A JSON media type with parameters or a +json suffix is fine.
    let response = app.post_raw(PATH, &key, Some("application/json; charset=utf-8"), &body).await;
    response.expect(201);
}

#[actix_web::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app_with_limit(2048).await;
    let key = app.tenant("acme").await.admin_key;
    let big = json!({"customer_phone": customer(1), "business_phone": BUSINESS, "context": {"note": "x".repeat(4096)}});
    let problem = app.post(PATH, &key, &big).await.problem(413, "payload_too_large");
    assert!(problem["detail"].as_str().unwrap().contains("2048"), "{problem}");
    let list = app.get(PATH, &key).await.expect(200);
    assert_eq!(list["items"], json!([]), "nothing was opened");
    // Just under the limit is accepted.
    let small = json!({"customer_phone": customer(1), "business_phone": BUSINESS, "context": {"note": "x".repeat(1500)}});
    app.post(PATH, &key, &small).await.expect(201);
}

#[actix_web::test]
async fn the_nul_character_is_422_naming_where_it_is_and_stores_nothing() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    // serde_json writes "\u0000" for the NUL character: exactly what curl would send.
    let with_nul =
        json!({"customer_phone": customer(1), "business_phone": BUSINESS, "context": {"a": "\u{0}"}});
    let problem = app.post(PATH, &key, &with_nul).await.invalid("context.a");
    assert!(problem["detail"].as_str().unwrap().contains("NUL"), "{problem}");
    let list = app.get(PATH, &key).await.expect(200);
    assert_eq!(list["items"], json!([]), "nothing was opened");

    let opened = app.conversation(&key, 2).await;
    let messages = format!("{PATH}/{}/messages", opened["id"].as_str().unwrap());
    app.post(&messages, &key, &json!({"body": "oi\u{0}"})).await.invalid("body");
    app.post(&messages, &key, &json!({"body": "oi", "metadata": {"k": ["x\u{0}"]}}))
        .await
        .invalid("metadata.k[0]");
    let stored = app.get(&messages, &key).await.expect(200);
    assert_eq!(stored["items"], json!([]), "no half-written message");
}

#[actix_web::test]
async fn extreme_numbers_in_free_form_json_read_back_as_they_were_written() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    // jsonb writes the largest doubles out in full (309 digits) and the smallest as long
    // decimals; both must parse back to the stored value, not fail the read (a 500).
    let context =
        json!({"big": [f64::MAX, -1.797_693_134_862_315_5e308], "small": 5.778_724_294_547_649e-112});
    let body = json!({"customer_phone": customer(1), "business_phone": BUSINESS, "context": context});
    let created = app.post(PATH, &key, &body).await.expect(201);
    assert_eq!(created["context"], context, "{created}");
    let id = created["id"].as_str().unwrap();
    let read = app.get(&format!("{PATH}/{id}"), &key).await.expect(200);
    assert_eq!(read["context"], context, "{read}");
    // An integral number is an integer to JSON Schema, as the document says `seconds` is.
    app.post(&format!("{PATH}/{id}/extend"), &key, &json!({"seconds": 60.0})).await.expect(200);
}
