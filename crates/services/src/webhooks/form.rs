//! The fields of a form-encoded webhook.

use crate::ServiceError;

/// The fields of a form-encoded webhook, in order (repeated names kept).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The fields as received.
    #[must_use]
    pub const fn new(fields: Vec<(String, String)>) -> Self {
        Self(fields)
    }

    /// Every field, as the signature covers them.
    #[must_use]
    pub fn fields(&self) -> &[(String, String)] {
        &self.0
    }

    /// The fields, given back.
    #[must_use]
    pub fn into_fields(self) -> Vec<(String, String)> {
        self.0
    }

    /// The first value of `name`, even empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The first non-empty value of `name`.
    #[must_use]
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// [`Form::non_empty`], owned.
    #[must_use]
    pub fn owned(&self, name: &str) -> Option<String> {
        self.non_empty(name).map(str::to_owned)
    }

    /// A field that must be there and not empty.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming the field.
    pub fn required(&self, name: &'static str) -> Result<&str, ServiceError> {
        self.non_empty(name).ok_or_else(|| ServiceError::invalid(name, "is required"))
    }

    /// An optional number.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] naming the field when it is not a number.
    pub fn number<T: std::str::FromStr>(&self, name: &'static str) -> Result<Option<T>, ServiceError> {
        self.non_empty(name)
            .map(|raw| raw.parse().map_err(|_| ServiceError::invalid(name, "must be a number")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_decode_and_keep_their_order() {
        let pairs = [("To", "+5511"), ("Body", ""), ("NumMedia", "2"), ("Body", "second"), ("X", "a b")];
        let form = Form::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        assert_eq!(form.get("Body"), Some(""));
        assert_eq!(form.non_empty("Body"), None);
        assert_eq!(form.owned("X").as_deref(), Some("a b"));
        assert_eq!(form.number::<usize>("NumMedia"), Ok(Some(2)));
        assert!(form.number::<usize>("X").is_err());
        assert!(form.required("Body").is_err());
        assert_eq!(form.fields().len(), 5);
    }
}
