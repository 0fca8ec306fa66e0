//! Twilio's resource identifiers: two upper-case letters naming the kind (`AC` account, `MG`
//! Messaging Service, `HX` content template) and 32 hexadecimal digits.

/// `raw` in Twilio's form (the prefix in upper case, the digits in lower case) when it is
/// `prefix` followed by 32 hex digits, in any letter case; `None` otherwise.
pub(crate) fn canonical(raw: &str, prefix: &str) -> Option<String> {
    // ASCII first: the slices below must fall on character boundaries.
    let valid = raw.len() == 34
        && raw.is_ascii()
        && raw[..2].eq_ignore_ascii_case(prefix)
        && raw[2..].chars().all(|c| c.is_ascii_hexdigit());
    valid.then(|| format!("{prefix}{}", raw[2..].to_ascii_lowercase()))
}

/// A Twilio SID newtype: `$name::parse` validates `$prefix` and 32 hex digits in any letter
/// case and keeps Twilio's form; serde reads and writes it as a string through `parse`.
macro_rules! twilio_sid {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $error:ty, $invalid:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Validates a SID (`", $prefix, "` and 32 hex digits, in any letter case) into Twilio's form.")]
            ///
            /// # Errors
            #[doc = concat!("`", stringify!($invalid), "`.")]
            pub fn parse(raw: &str) -> Result<Self, $error> {
                crate::sid::canonical(raw, $prefix).map(Self).ok_or($invalid)
            }

            /// The SID.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(sid: $name) -> Self {
                sid.0
            }
        }
    };
}
pub(crate) use twilio_sid;

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn a_sid_is_its_prefix_and_32_hex_digits_in_any_case() {
        let digits = "0123456789ABCDEF0123456789abcdef";
        assert_eq!(canonical(&format!("mg{digits}"), "MG").unwrap(), format!("MG{}", digits.to_lowercase()));
        for bad in [
            format!("HX{digits}"),
            format!("MG{}", &digits[1..]),
            format!("MG{digits}0"),
            format!("MG{}g", &digits[1..]),
            format!("MGé{}", &digits[2..]),
        ] {
            assert_eq!(canonical(&bad, "MG"), None, "{bad}");
        }
    }
}
