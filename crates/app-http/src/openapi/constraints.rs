//! What the parsers refuse, stated in the document's schemas so a client (and a fuzzer) knows
//! it before asking. The parsers (`domain`, `services`, `extract.rs`) stay the truth; each
//! statement here names the one it mirrors, and schemathesis checks the two agree both ways
//! (`scripts/schemathesis`). Patterns are ECMA-262, as JSON Schema reads them.
//!
//! They are written here, on the collected document, rather than as `#[schema(…)]` attributes,
//! because most of them are built from shared pieces (whitespace as Rust's `trim` reads it, the
//! NUL that PostgreSQL cannot store) and some are beyond what the attributes can say (`anyOf`,
//! `if`/`then`, a recursive JSON value).

use domain::template::{MAX_TEMPLATE_VARIABLE_NAME, MAX_TEMPLATE_VARIABLE_VALUE, MAX_TEMPLATE_VARIABLES};
use domain::{MAX_FEATURE_CONFIG_DEPTH, MessageBody, MessageSid, NewMessage};
use serde_json::{Value, json};
use services::{MAX_CLOSE_REASON_CHARS, MAX_FRIENDLY_NAME_CHARS};

use crate::pagination::MAX_LIMIT;

/// The characters `str::trim` removes (Unicode `White_Space`), for use inside a class.
const WS: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Text without NUL, which every JSON body refuses (`extract::parse_json`).
const NO_NUL: &str = r"^[^\u0000]*$";

/// Text without NUL that is not blank once trimmed (`services::input::bounded_text`,
/// `domain::parse_name`, `MessageBody::new`).
fn non_blank() -> String {
    format!(r"^[^\u0000]*[^{WS}\u0000][^\u0000]*$")
}

/// A number as `ChannelAddress::parse` takes it: trimmed, an optional `whatsapp:` prefix, `+`,
/// then 8 to 15 digits (the first not 0) among the separators it drops (` -.()`).
fn phone() -> String {
    format!(r"^[{WS}]*(whatsapp:[{WS}]*)?\+[-. ()]*[1-9]([-. ()]*[0-9]){{7,14}}[-. ()]*[{WS}]*$")
}

/// `AccountSid::parse`: `AC` and 32 hexadecimal digits, in any letter case.
const ACCOUNT_SID: &str = "^[Aa][Cc][0-9A-Fa-f]{32}$";
/// `MessagingServiceSid::parse`: `MG` and 32 hexadecimal digits, in any letter case.
const MESSAGING_SERVICE_SID: &str = "^[Mm][Gg][0-9A-Fa-f]{32}$";
/// `ContentSid::parse`: `HX` and 32 hexadecimal digits, in any letter case.
const CONTENT_SID: &str = "^[Hh][Xx][0-9A-Fa-f]{32}$";
/// `twilio_account::parse_auth_token`: 32 hexadecimal digits.
const AUTH_TOKEN: &str = "^[0-9A-Fa-f]{32}$";
/// `FeatureName::parse`.
const FEATURE_NAME: &str = "^[a-z][a-z0-9_]{0,63}$";
/// A cursor as `pagination::encode_cursor` writes it: 16 bytes in unpadded base64url, whose
/// last character carries no stray bits (the decoder refuses those).
const CURSOR: &str = "^[A-Za-z0-9_-]{21}[AQgw]$";

/// The states `ConversationStatus` parses.
const STATUSES: [&str; 8] = [
    "pending",
    "progress",
    "agent_closed",
    "support_closed",
    "user_closed",
    "expired",
    "idle_timeout",
    "failed",
];

/// The component naming free-form JSON as the store keeps it: any value, no NUL in a string or
/// a key (`extract::parse_json`), nested as deep as the JSON parser goes.
const JSON_VALUE: &str = "JsonValue";

fn json_value_schema() -> Value {
    let reference = json!({"$ref": format!("#/components/schemas/{JSON_VALUE}")});
    json!({
        "description": "Any JSON value without the NUL character (`\\u0000`) in a string or a key.",
        "anyOf": [
            {"type": ["null", "boolean", "number"]},
            {"type": "string", "pattern": NO_NUL},
            {"type": "array", "items": reference},
            {"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": reference},
        ]
    })
}

/// Free-form JSON nested at most `levels` levels (a scalar is 0, an array or object of
/// scalars 1), as `domain::validate_feature_config` counts them.
fn bounded_json_value(levels: usize) -> Value {
    let scalars = json!({"type": ["null", "boolean", "number"]});
    let text = json!({"type": "string", "pattern": NO_NUL});
    if levels == 0 {
        return json!({"anyOf": [scalars, text]});
    }
    let inner = bounded_json_value(levels - 1);
    json!({"anyOf": [
        scalars,
        text,
        {"type": "array", "items": inner},
        {"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": inner},
    ]})
}

/// A JSON object of free-form values (`context`, `metadata`), `null` too when `nullable`.
fn json_object(nullable: bool) -> Value {
    let types = if nullable { json!(["object", "null"]) } else { json!("object") };
    json!({
        "type": types,
        "propertyNames": {"pattern": NO_NUL},
        "additionalProperties": {"$ref": format!("#/components/schemas/{JSON_VALUE}")}
    })
}

/// Merges `constraints` into each named property of the component schema `schema`.
fn properties(document: &mut Value, schema: &str, constraints: &[(&str, Value)]) {
    let target = &mut document["components"]["schemas"][schema];
    assert!(target.is_object(), "no component schema {schema}");
    for (name, constraint) in constraints {
        let property = &mut target["properties"][*name];
        assert!(property.is_object(), "{schema} has no property {name}");
        merge(property, constraint);
    }
}

fn merge(into: &mut Value, from: &Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (key, value) in from {
            into.insert(key.clone(), value.clone());
        }
    }
}

/// Merges `constraint` into the schema of the parameter `name` of every operation that has one.
fn parameter(document: &mut Value, name: &str, constraint: &Value) {
    let Some(paths) = document["paths"].as_object_mut() else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for parameter in parameters.iter_mut().filter(|p| p["name"] == name) {
            merge(&mut parameter["schema"], constraint);
        }
    }
}

/// A text field: not blank, at most `max` characters as sent (the parsers count the text as
/// sent, then keep it trimmed).
fn text(max: usize) -> Value {
    json!({"pattern": non_blank(), "maxLength": max})
}

/// States every constraint in `document` (a serialized, path-complete document).
pub fn state(document: &mut Value) {
    let number = json!({"pattern": phone()});
    document["components"]["schemas"][JSON_VALUE] = json_value_schema();
    let nullable_object = json_object(true);

    properties(
        document,
        "CreateConversationIn",
        &[
            ("customer_phone", number.clone()),
            ("business_phone", number),
            ("channel", json!({"enum": ["sms", "whatsapp", null]})),
            ("context", nullable_object.clone()),
            ("metadata", nullable_object.clone()),
        ],
    );
    // `services::conversations::new_conversation`: an explicit `sms` contradicts a
    // `whatsapp:` number.
    let not_whatsapp = json!({"not": {"pattern": format!("^[{WS}]*whatsapp:")}});
    document["components"]["schemas"]["CreateConversationIn"]["if"] =
        json!({"properties": {"channel": {"const": "sms"}}, "required": ["channel"]});
    document["components"]["schemas"]["CreateConversationIn"]["then"] =
        json!({"properties": {"customer_phone": not_whatsapp, "business_phone": not_whatsapp}});

    // `ConversationService::close`: only the closed states an agent may set.
    properties(
        document,
        "CloseIn",
        &[
            ("reason", text(MAX_CLOSE_REASON_CHARS)),
            ("status", json!({"enum": ["agent_closed", "support_closed", "user_closed", "failed", null]})),
        ],
    );
    properties(document, "ExtendIn", &[("seconds", json!({"minimum": 1}))]);

    // `services::messages`: the sender is not the customer, there is text or an attachment.
    properties(
        document,
        "AddMessageIn",
        &[
            ("sender", json!({"enum": ["agent", "support", "system", "tool", null]})),
            ("body", json!({"pattern": non_blank(), "maxLength": MessageBody::MAX_CHARS})),
            ("media", json!({"maxItems": NewMessage::MAX_MEDIA})),
            ("context", nullable_object.clone()),
            ("metadata", nullable_object.clone()),
        ],
    );
    document["components"]["schemas"]["AddMessageIn"]["anyOf"] = json!([
        {"required": ["body"], "properties": {"body": {"type": "string"}}},
        {"required": ["media"], "properties": {"media": {"minItems": 1}}},
        {"required": ["template"], "properties": {"template": {"type": "object"}}},
    ]);
    // A template is the whole content: no body, no attachments beside it.
    document["components"]["schemas"]["AddMessageIn"]["if"] =
        json!({"required": ["template"], "properties": {"template": {"type": "object"}}});
    document["components"]["schemas"]["AddMessageIn"]["then"] =
        json!({"properties": {"body": {"type": "null"}, "media": {"maxItems": 0}}});
    // `ContentSid::parse`, `MessageTemplate::new`.
    properties(
        document,
        "TemplateDto",
        &[
            ("content_sid", json!({"pattern": CONTENT_SID})),
            (
                "variables",
                json!({
                    "maxProperties": MAX_TEMPLATE_VARIABLES,
                    "propertyNames": {"pattern": format!("^[A-Za-z0-9_]{{1,{MAX_TEMPLATE_VARIABLE_NAME}}}$")},
                    "additionalProperties": {
                        "type": "string",
                        "pattern": NO_NUL,
                        "minLength": 1,
                        "maxLength": MAX_TEMPLATE_VARIABLE_VALUE
                    }
                }),
            ),
        ],
    );
    properties(
        document,
        "MediaDto",
        &[
            ("url", json!({"pattern": r"^https?://[^\u0000]*$"})),
            ("content_type", json!({"pattern": NO_NUL})),
        ],
    );
    // `NewAiResult::validate`.
    properties(
        document,
        "AddAiResultIn",
        &[
            ("kind", text(64)),
            ("model", json!({"pattern": NO_NUL})),
            ("content", json!({"$ref": format!("#/components/schemas/{JSON_VALUE}")})),
            ("score", json!({"minimum": 0, "maximum": 1})),
        ],
    );

    // `domain::parse_name`, `Email::parse`, `UserRole`.
    properties(
        document,
        "CreateUserIn",
        &[
            ("name", text(200)),
            (
                "email",
                json!({
                    "pattern": format!(r"^[{WS}]*[^{WS}@\u0000]+@[^{WS}@.\u0000]+(\.[^{WS}@.\u0000]+)+[{WS}]*$"),
                    "maxLength": 254
                }),
            ),
            ("role", json!({"enum": ["admin", "agent", "viewer"]})),
        ],
    );
    properties(document, "CreateApiKeyIn", &[("name", text(200))]);

    // `NewTwilioAccount::parse`, `TwilioAccountChanges::parse`.
    let numbers = json!({"minItems": 1, "items": {"type": "string", "pattern": phone()}});
    // `twilio_accounts::friendly_name`: a blank label is no label.
    let friendly_name = json!({"pattern": NO_NUL, "maxLength": MAX_FRIENDLY_NAME_CHARS});
    properties(
        document,
        "CreateTwilioAccountIn",
        &[
            ("account_sid", json!({"pattern": ACCOUNT_SID})),
            ("auth_token", json!({"pattern": AUTH_TOKEN})),
            ("friendly_name", friendly_name.clone()),
            ("phone_numbers", numbers.clone()),
            ("messaging_service_sid", json!({"pattern": MESSAGING_SERVICE_SID})),
        ],
    );
    properties(
        document,
        "UpdateTwilioAccountIn",
        &[
            ("auth_token", json!({"pattern": AUTH_TOKEN})),
            ("friendly_name", friendly_name),
            ("phone_numbers", numbers),
            ("messaging_service_sid", json!({"pattern": MESSAGING_SERVICE_SID})),
        ],
    );
    // `WebhookUrl::parse`, `services::webhook_endpoints` (whether the host is public is not a
    // property of the text: a 422 naming `url`).
    let webhook = [
        ("url", json!({"pattern": "^https?://[^\\u0000]+$", "maxLength": domain::MAX_WEBHOOK_URL_LEN})),
        (
            "events",
            json!({"items": {"type": "string", "enum": domain::EventType::ALL.map(domain::EventType::as_str)}}),
        ),
        ("description", json!({"pattern": NO_NUL, "maxLength": services::MAX_WEBHOOK_DESCRIPTION_CHARS})),
    ];
    properties(document, "CreateWebhookEndpointIn", &webhook);
    properties(document, "UpdateWebhookEndpointIn", &webhook);
    // `domain::validate_feature_config`: an object, at most 10 levels deep (itself the first).
    let config = json!({
        "type": "object",
        "propertyNames": {"pattern": NO_NUL},
        "additionalProperties": bounded_json_value(MAX_FEATURE_CONFIG_DEPTH - 1),
    });
    properties(document, "PutFeatureIn", &[("config", config)]);

    parameter(document, "limit", &json!({"minimum": 1, "maximum": MAX_LIMIT}));
    parameter(document, "cursor", &json!({"pattern": CURSOR}));
    parameter(document, "name", &json!({"pattern": FEATURE_NAME}));
    // `routes::conversations::list`: comma-separated states, blanks between commas ignored.
    let state = format!("[{WS}]*({})?[{WS}]*", STATUSES.join("|"));
    parameter(document, "status", &json!({"pattern": format!("^{state}(,{state})*$")}));

    webhook_forms(document);
}

/// Twilio's form fields, as `services::webhooks` reads them. Only `AccountSid` is read before
/// the signature is checked; the others are read from verified requests.
fn webhook_forms(document: &mut Value) {
    let sid = json!({"type": "string", "pattern": format!("^[^{WS}]{{1,{}}}$", MessageSid::MAX_CHARS)});
    let inbound = json!({
        "type": "object",
        "required": ["AccountSid", "MessageSid", "From", "To"],
        "properties": {
            "AccountSid": {"type": "string", "pattern": ACCOUNT_SID},
            "MessageSid": sid,
            "From": {"type": "string", "pattern": phone()},
            "To": {"type": "string", "pattern": phone(), "description": "One of the account's numbers"},
            "Body": {"type": "string", "maxLength": MessageBody::MAX_CHARS},
            "NumMedia": {"type": "integer", "minimum": 0, "maximum": NewMessage::MAX_MEDIA},
            "ProfileName": {"type": "string"},
            "WaId": {"type": "string"},
        },
    });
    let status = json!({
        "type": "object",
        "required": ["AccountSid", "MessageSid", "MessageStatus"],
        "properties": {
            "AccountSid": {"type": "string", "pattern": ACCOUNT_SID},
            "MessageSid": sid,
            "MessageStatus": {"type": "string"},
            "ErrorCode": {"type": "integer"},
            "ErrorMessage": {"type": "string"},
        },
    });
    for (path, schema) in [("/webhooks/twilio/inbound", inbound), ("/webhooks/twilio/status", status)] {
        let body = &mut document["paths"][path]["post"]["requestBody"];
        body["required"] = json!(true);
        body["content"]["application/x-www-form-urlencoded"]["schema"] = schema;
    }
}
