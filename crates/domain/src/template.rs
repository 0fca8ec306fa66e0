//! WhatsApp message templates: content approved in advance through Twilio's Content API
//! (`ContentSid` `HX…`), filled in with variables. The one kind of message WhatsApp delivers
//! outside the 24-hour window after the customer's last message.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most variables one template message may carry.
pub const MAX_TEMPLATE_VARIABLES: usize = 50;
/// The longest variable name, in characters.
pub const MAX_TEMPLATE_VARIABLE_NAME: usize = 64;
/// The longest variable value, in characters.
pub const MAX_TEMPLATE_VARIABLE_VALUE: usize = 1_024;

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Content SIDs are `HX` followed by 32 hex digits.
    #[error("content_sid must be 'HX' followed by 32 hexadecimal digits")]
    InvalidContentSid,
    /// Too many variables.
    #[error("at most {MAX_TEMPLATE_VARIABLES} variables are accepted (got {0})")]
    TooManyVariables(usize),
    /// A name that is empty, too long, or not made of `A-Z`, `a-z`, `0-9` and `_`.
    #[error("variable name `{0}` must be 1-{MAX_TEMPLATE_VARIABLE_NAME} characters of A-Z, a-z, 0-9 and '_'")]
    InvalidVariableName(String),
    /// An empty or too long value (Twilio refuses an empty one).
    #[error("variable `{0}` must be 1-{MAX_TEMPLATE_VARIABLE_VALUE} characters")]
    InvalidVariableValue(String),
}

crate::sid::twilio_sid!(
    /// A Twilio Content SID (`HX…`), in Twilio's form: `HX` and 32 lower-case hex digits.
    ///
    /// ```
    /// # use domain::ContentSid;
    /// assert!(ContentSid::parse("HX0123456789abcdef0123456789abcdef").is_ok());
    /// assert!(ContentSid::parse("MG0123456789abcdef0123456789abcdef").is_err());
    /// ```
    ContentSid,
    "HX",
    TemplateError,
    TemplateError::InvalidContentSid
);

/// A template and the values of its variables, as stored with the message and sent to Twilio
/// (`ContentSid`, and `ContentVariables` as a JSON object of strings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTemplate {
    /// The approved content.
    pub content_sid: ContentSid,
    /// Variable name (`"1"`, `"first_name"`) → value; ordered, so it is stored and sent alike.
    pub variables: BTreeMap<String, String>,
}

impl MessageTemplate {
    /// Validates a template's variables.
    ///
    /// ```
    /// # use domain::{ContentSid, MessageTemplate};
    /// let sid = ContentSid::parse("HX0123456789abcdef0123456789abcdef").unwrap();
    /// let template = MessageTemplate::new(sid, [("1".to_owned(), "Maria".to_owned())].into()).unwrap();
    /// assert_eq!(template.content_variables(), r#"{"1":"Maria"}"#);
    /// ```
    ///
    /// # Errors
    /// [`TemplateError`] naming the variable at fault.
    pub fn new(content_sid: ContentSid, variables: BTreeMap<String, String>) -> Result<Self, TemplateError> {
        if variables.len() > MAX_TEMPLATE_VARIABLES {
            return Err(TemplateError::TooManyVariables(variables.len()));
        }
        for (name, value) in &variables {
            let name_ok = (1..=MAX_TEMPLATE_VARIABLE_NAME).contains(&name.chars().count())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !name_ok {
                return Err(TemplateError::InvalidVariableName(name.clone()));
            }
            if !(1..=MAX_TEMPLATE_VARIABLE_VALUE).contains(&value.chars().count()) {
                return Err(TemplateError::InvalidVariableValue(name.clone()));
            }
        }
        Ok(Self { content_sid, variables })
    }

    /// Twilio's `ContentVariables`: the variables as a JSON object, as text.
    #[must_use]
    pub fn content_variables(&self) -> String {
        serde_json::to_string(&self.variables).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "HX0123456789abcdef0123456789abcdef";

    fn template(variables: &[(&str, &str)]) -> Result<MessageTemplate, TemplateError> {
        let variables = variables.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        MessageTemplate::new(ContentSid::parse(SID).unwrap(), variables)
    }

    #[test]
    fn content_sids_are_hx_and_32_hex_digits() {
        assert_eq!(ContentSid::parse(&SID.to_uppercase().replacen("HX", "hx", 1)).unwrap().as_str(), SID);
        for bad in ["HX123", "AC0123456789abcdef0123456789abcdef", "HX0123456789abcdef0123456789abcdeg", ""] {
            assert_eq!(ContentSid::parse(bad), Err(TemplateError::InvalidContentSid), "{bad}");
        }
    }

    #[test]
    fn variables_are_bounded_named_and_non_empty() {
        assert!(template(&[("1", "Maria"), ("first_name", "Ana")]).is_ok());
        assert!(template(&[]).is_ok());
        assert_eq!(template(&[("1", "")]), Err(TemplateError::InvalidVariableValue("1".into())));
        let long = "x".repeat(MAX_TEMPLATE_VARIABLE_VALUE + 1);
        assert_eq!(template(&[("1", &long)]), Err(TemplateError::InvalidVariableValue("1".into())));
        assert_eq!(template(&[("a b", "x")]), Err(TemplateError::InvalidVariableName("a b".into())));
        assert_eq!(template(&[("", "x")]), Err(TemplateError::InvalidVariableName(String::new())));
        let many: Vec<(String, String)> =
            (0..=MAX_TEMPLATE_VARIABLES).map(|i| (i.to_string(), "v".to_owned())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(template(&many), Err(TemplateError::TooManyVariables(MAX_TEMPLATE_VARIABLES + 1)));
    }

    #[test]
    fn content_variables_are_a_json_object_of_strings_in_name_order() {
        let t = template(&[("2", "segunda"), ("1", "Maria \"M\"")]).unwrap();
        assert_eq!(t.content_variables(), r#"{"1":"Maria \"M\"","2":"segunda"}"#);
    }
}
