//! The validator agrees with Twilio's official Python helper on every vector of
//! `fixtures/signatures.json` (made by `fixtures/make_signatures.py`), and refuses any change
//! to what was signed.

use adapters_twilio::signature::{compute_signature, validate, validate_json_body};
use domain::SecretString;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Fixtures {
    generated_by: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    auth_token: String,
    signing_token: String,
    signed_url: String,
    url: String,
    params: Option<Vec<(String, String)>>,
    json_body: Option<String>,
    signature: String,
    valid: bool,
}

impl Case {
    fn token(&self) -> SecretString {
        SecretString::new(&self.auth_token)
    }

    /// The Rust verdict for this case with some part replaced.
    fn verdict(&self, token: &SecretString, url: &str, params: &[(String, String)], signature: &str) -> bool {
        match &self.json_body {
            Some(body) => validate_json_body(token, url, body.as_bytes(), signature),
            None => validate(token, url, params, signature),
        }
    }

    fn params(&self) -> Vec<(String, String)> {
        self.params.clone().unwrap_or_default()
    }
}

fn fixtures() -> Fixtures {
    let fixtures: Fixtures = serde_json::from_str(include_str!("fixtures/signatures.json")).unwrap();
    assert!(fixtures.generated_by.starts_with("twilio-python"), "{}", fixtures.generated_by);
    assert!(fixtures.cases.len() >= 10);
    fixtures
}

fn valid_cases() -> Vec<Case> {
    fixtures().cases.into_iter().filter(|case| case.valid).collect()
}

#[test]
fn every_vector_gets_the_official_verdict() {
    for case in fixtures().cases {
        let verdict = case.verdict(&case.token(), &case.url, &case.params(), &case.signature);
        assert_eq!(verdict, case.valid, "{}", case.name);
    }
}

#[test]
fn signatures_are_computed_like_the_official_helper() {
    for case in fixtures().cases.iter().filter(|case| case.params.is_some()) {
        let token = SecretString::new(&case.signing_token);
        assert_eq!(
            compute_signature(&token, &case.signed_url, &case.params()),
            case.signature,
            "{}",
            case.name
        );
    }
}

#[test]
fn parameter_order_does_not_matter() {
    for case in valid_cases() {
        let mut params = case.params();
        params.reverse();
        let middle = params.len() / 2;
        params.rotate_left(middle);
        assert!(case.verdict(&case.token(), &case.url, &params, &case.signature), "{}", case.name);
    }
}

#[test]
fn a_changed_parameter_fails() {
    for case in valid_cases().into_iter().filter(|case| case.params.as_ref().is_some_and(|p| !p.is_empty())) {
        let token = case.token();
        for index in 0..case.params().len() {
            let mut changed = case.params();
            changed[index].1.push('x');
            assert!(!validate(&token, &case.url, &changed, &case.signature), "{} value {index}", case.name);

            let mut renamed = case.params();
            renamed[index].0.push('x');
            assert!(!validate(&token, &case.url, &renamed, &case.signature), "{} name {index}", case.name);

            let mut dropped = case.params();
            let pair = dropped.remove(index);
            // An identical pair posted twice is signed once, so dropping one copy changes nothing.
            let still_there = dropped.contains(&pair);
            assert_eq!(
                validate(&token, &case.url, &dropped, &case.signature),
                still_there,
                "{} drop {index}",
                case.name
            );
        }
    }
}

#[test]
fn an_added_parameter_fails() {
    for case in valid_cases().into_iter().filter(|case| case.params.is_some()) {
        let mut added = case.params();
        added.push(("Extra".to_owned(), "1".to_owned()));
        assert!(!validate(&case.token(), &case.url, &added, &case.signature), "{}", case.name);
    }
}

#[test]
fn a_changed_url_fails() {
    for case in valid_cases() {
        let token = case.token();
        let params = case.params();
        let path_changed = case.url.replacen("/webhooks/", "/webhookz/", 1);
        assert_ne!(path_changed, case.url, "{}", case.name);
        assert!(!case.verdict(&token, &path_changed, &params, &case.signature), "{} path", case.name);

        let host_changed = case.url.replacen("://", "://evil.", 1);
        assert!(!case.verdict(&token, &host_changed, &params, &case.signature), "{} host", case.name);

        let scheme_changed = match case.url.strip_prefix("https://") {
            Some(rest) => format!("http://{rest}"),
            None => case.url.replacen("http://", "https://", 1),
        };
        assert!(!case.verdict(&token, &scheme_changed, &params, &case.signature), "{} scheme", case.name);

        let with_query =
            if case.url.contains('?') { format!("{}&x=1", case.url) } else { format!("{}?x=1", case.url) };
        assert!(!case.verdict(&token, &with_query, &params, &case.signature), "{} query", case.name);
    }
}

#[test]
fn another_token_fails() {
    for case in valid_cases() {
        let mut token = case.auth_token.clone();
        token.replace_range(0..1, if token.starts_with('0') { "1" } else { "0" });
        let token = SecretString::new(token);
        assert!(!case.verdict(&token, &case.url, &case.params(), &case.signature), "{}", case.name);
    }
}

#[test]
fn a_changed_signature_fails() {
    for case in valid_cases() {
        let token = case.token();
        let params = case.params();
        let mut flipped = case.signature.clone();
        let first = if flipped.starts_with('A') { "B" } else { "A" };
        flipped.replace_range(0..1, first);
        for signature in
            [flipped, String::new(), format!("{} ", case.signature), case.signature[..27].to_owned()]
        {
            assert!(!case.verdict(&token, &case.url, &params, &signature), "{} {signature:?}", case.name);
        }
    }
}

#[test]
fn a_changed_json_body_fails() {
    for case in valid_cases() {
        let Some(body) = &case.json_body else { continue };
        let token = case.token();
        for changed in [format!("{body} "), body.replacen('{', "{\"x\":1,", 1), String::new()] {
            assert!(!validate_json_body(&token, &case.url, changed.as_bytes(), &case.signature), "{changed}");
        }
        // `validate` signs the URL alone and never looks at a body: JSON webhooks need
        // `validate_json_body`, which also checks the hash.
        assert!(validate(&token, &case.url, &[], &case.signature));
    }
}
