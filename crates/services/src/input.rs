//! Small input checks shared by several use cases.

use serde_json::Value;

use crate::ServiceError;

/// Checks that optional free-form JSON (`context`, `metadata`) is an object, defaulting to `{}`.
pub(crate) fn json_object(field: &'static str, value: Option<Value>) -> Result<Value, ServiceError> {
    match value {
        None => Ok(Value::Object(serde_json::Map::new())),
        Some(value) if value.is_object() => Ok(value),
        Some(_) => Err(ServiceError::invalid(field, "must be a JSON object")),
    }
}

/// Checks `raw` has at most `max` characters as sent (what the API document promises) and is
/// not blank; the text trimmed.
pub(crate) fn bounded_text(field: &'static str, raw: &str, max: usize) -> Result<String, ServiceError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    let chars = raw.chars().count();
    if chars > max {
        return Err(ServiceError::invalid(
            field,
            format!("has {chars} characters; at most {max} are allowed"),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_must_be_an_object() {
        assert_eq!(json_object("context", None), Ok(json!({})));
        assert_eq!(json_object("context", Some(json!({"a": 1}))), Ok(json!({"a": 1})));
        assert!(matches!(
            json_object("metadata", Some(json!([1]))),
            Err(ServiceError::Invalid { field: "metadata", .. })
        ));
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded_text("reason", "  done ", 10), Ok("done".to_owned()));
        assert!(matches!(
            bounded_text("reason", " ", 10),
            Err(ServiceError::Invalid { field: "reason", .. })
        ));
        assert!(bounded_text("reason", &"é".repeat(10), 10).is_ok());
        assert!(bounded_text("reason", &"é".repeat(11), 10).is_err());
        assert!(bounded_text("reason", &format!(" {}", "é".repeat(10)), 10).is_err(), "counted as sent");
    }
}
