//! An endpoint's URL: parsed once, with the scheme rule applied. Whether its address may be
//! reached is decided elsewhere (at registration and again at every connection), since names
//! resolve differently over time.

/// The longest URL accepted, in bytes.
pub const MAX_WEBHOOK_URL_LEN: usize = 2048;

/// Why a URL was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    /// Not an absolute URL.
    #[error("is not an absolute URL ({0})")]
    Unparsable(String),
    /// Longer than [`MAX_WEBHOOK_URL_LEN`].
    #[error("is longer than {MAX_WEBHOOK_URL_LEN} bytes")]
    TooLong,
    /// Not `https` (nor `http` where private targets are allowed).
    #[error("must use https")]
    Scheme,
    /// Without a host.
    #[error("must name a host")]
    NoHost,
    /// With a user name or password, which would be stored and shown in clear.
    #[error("must not carry a user name or password")]
    Credentials,
}

/// An absolute `https` URL (or `http`, where allowed), without credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(::url::Url);

impl WebhookUrl {
    /// Parses `raw`; `allow_http` also admits `http` (local development and tests only).
    ///
    /// ```
    /// # use domain::WebhookUrl;
    /// assert!(WebhookUrl::parse("https://crm.example/hooks", false).is_ok());
    /// assert!(WebhookUrl::parse("http://crm.example/hooks", false).is_err());
    /// assert!(WebhookUrl::parse("http://crm.example/hooks", true).is_ok());
    /// ```
    ///
    /// # Errors
    /// [`WebhookUrlError`].
    pub fn parse(raw: &str, allow_http: bool) -> Result<Self, WebhookUrlError> {
        if raw.len() > MAX_WEBHOOK_URL_LEN {
            return Err(WebhookUrlError::TooLong);
        }
        let url = ::url::Url::parse(raw.trim()).map_err(|e| WebhookUrlError::Unparsable(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            _ => return Err(WebhookUrlError::Scheme),
        }
        if url.host().is_none() {
            return Err(WebhookUrlError::NoHost);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WebhookUrlError::Credentials);
        }
        // The serialised form may grow (percent-encoding); the bound holds for what is stored.
        if url.as_str().len() > MAX_WEBHOOK_URL_LEN {
            return Err(WebhookUrlError::TooLong);
        }
        Ok(Self(url))
    }

    /// The URL, serialised.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL.
    #[must_use]
    pub const fn url(&self) -> &::url::Url {
        &self.0
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_cannot_be_delivered_to_safely() {
        let refused = [
            ("crm.example/hooks", false),
            ("ftp://crm.example/hooks", true),
            ("http://crm.example/hooks", false),
            ("https://user:pw@crm.example/hooks", false),
            ("file:///etc/passwd", true),
        ];
        for (raw, allow_http) in refused {
            assert!(WebhookUrl::parse(raw, allow_http).is_err(), "{raw}");
        }
        let long = format!("https://crm.example/{}", "a".repeat(MAX_WEBHOOK_URL_LEN));
        assert_eq!(WebhookUrl::parse(&long, false), Err(WebhookUrlError::TooLong));
        let ok = WebhookUrl::parse(" https://crm.example/hooks?x=1 ", false).unwrap();
        assert_eq!(ok.as_str(), "https://crm.example/hooks?x=1");
    }
}
