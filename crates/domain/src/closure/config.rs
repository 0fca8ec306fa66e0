//! Tenant-tunable settings of the closure detector.
//!
//! Tenants tune detection through their JSON feature config, for example
//! `{"threshold": 0.7, "weights": {"farewell": 0.4}, "grace_seconds": 300}`. Every field
//! is optional (missing fields take their default) and unknown fields are refused, so a typo
//! such as `"treshold"` is reported instead of silently ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The largest accepted [`ClosureConfig::window`].
pub const MAX_WINDOW: usize = 50;

/// The largest accepted [`ClosureConfig::grace_seconds`]: one day.
pub const MAX_GRACE_SECONDS: u64 = 86_400;

/// Settings of a [`ClosureDetector`](super::ClosureDetector).
///
/// Build it with [`Default`] or [`ClosureConfig::from_json`], which also runs
/// [`ClosureConfig::validate`]. The detector never panics on an invalid config, but its answers
/// are only meaningful for a valid one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClosureConfig {
    /// Score (`0..=1`) at or above which a conversation should be closed. Default `0.65`.
    pub threshold: f64,
    /// How much each factor counts in the score.
    pub weights: FactorWeights,
    /// How many of the most recent turns are looked at. Default `6`, at most [`MAX_WINDOW`].
    pub window: usize,
    /// Seconds of silence after a farewell at which the quiet-time factor is fully confident.
    /// The factor ramps linearly from 0 at the last message to 1 at this age. Default `120`,
    /// the default [`grace_seconds`](Self::grace_seconds), so that the sweep of a pending
    /// closure sees the factor at full strength: keep it at most `grace_seconds`, or a
    /// goodbye that needs silence to count ("ok" after "anything else?") never closes.
    pub quiet_after_seconds: u64,
    /// Pending closure: the seconds a conversation waits, after a customer message that looks
    /// like an ending, before the lifecycle sweeper re-assesses it on its latest turns (now
    /// with that much silence, so the quiet-time factor counts) and closes it if the detector
    /// still says so and no newer customer message arrived. The service decides whether to
    /// open a pending closure by assessing the conversation projected to this much silence.
    /// `0` assesses at the message's arrival and closes at once. Default `120`, at most
    /// [`MAX_GRACE_SECONDS`]. The detector itself never reads it: the time of each
    /// assessment is passed in.
    pub grace_seconds: u64,
    /// Never close while the last message is younger than this many seconds, whatever the
    /// score: a floor under every assessment, including one made at a message's arrival with
    /// `grace_seconds` 0 or a sweep that runs early. A sweep assessed after only
    /// `grace_seconds` of silence cannot close while this is larger, so a pending closure
    /// should wait the longer of the two. Default `0` (no floor).
    pub min_quiet_seconds: u64,
    /// A signal whose value is at or below this (for example an open question in the
    /// customer's last message, `-1.0`) vetoes closing whatever the score. `null` disables
    /// vetoes. Default `-0.8`; must be within `-1..=0`.
    pub veto_at: Option<f64>,
}

impl Default for ClosureConfig {
    fn default() -> Self {
        Self {
            threshold: 0.65,
            weights: FactorWeights::default(),
            window: 6,
            quiet_after_seconds: 120,
            grace_seconds: 120,
            min_quiet_seconds: 0,
            veto_at: Some(-0.8),
        }
    }
}

/// The weight of each factor of the score. Every weight must be a finite number `>= 0`; a
/// weight of `0` switches its factor off (its signal is still reported but neither counts in
/// the score nor vetoes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FactorWeights {
    /// Thanks or farewell in the customer's last message. Default `0.35`.
    pub farewell: f64,
    /// The customer declining the agent's closing question ("anything else?"). Default `0.4`.
    pub closing_question: f64,
    /// An open question, request or complaint in the customer's last message (only ever
    /// lowers the score). Default `0.5`.
    pub open_request: f64,
    /// Silence since the last message, once someone said goodbye. Default `0.2`: enough to
    /// carry a tentative goodbye (a bare 👍, "ok" after "anything else?") over the threshold
    /// after the grace period, not enough to hold back a clear goodbye at its arrival.
    pub quiet_time: f64,
    /// Who spoke last, and whether that was a farewell or an unanswered question.
    /// Default `0.2`.
    pub last_speaker: f64,
    /// Weights of custom strategies plugged in with
    /// [`ClosureDetector::with_strategies`](super::ClosureDetector::with_strategies), by
    /// factor name. Custom strategies read them with [`FactorWeights::get`].
    pub custom: BTreeMap<String, f64>,
}

impl Default for FactorWeights {
    fn default() -> Self {
        Self {
            farewell: 0.35,
            closing_question: 0.4,
            open_request: 0.5,
            quiet_time: 0.2,
            last_speaker: 0.2,
            custom: BTreeMap::new(),
        }
    }
}

impl FactorWeights {
    /// The weight of a factor by name: one of the built-in factors, else a `custom` entry.
    #[must_use]
    pub fn get(&self, factor: &str) -> Option<f64> {
        match factor {
            "farewell" => Some(self.farewell),
            "closing_question" => Some(self.closing_question),
            "open_request" => Some(self.open_request),
            "quiet_time" => Some(self.quiet_time),
            "last_speaker" => Some(self.last_speaker),
            other => self.custom.get(other).copied(),
        }
    }

    /// Every weight with its factor name, built-in factors first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        [
            ("farewell", self.farewell),
            ("closing_question", self.closing_question),
            ("open_request", self.open_request),
            ("quiet_time", self.quiet_time),
            ("last_speaker", self.last_speaker),
        ]
        .into_iter()
        .chain(self.custom.iter().map(|(name, weight)| (name.as_str(), *weight)))
    }
}

/// Why a [`ClosureConfig`] was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClosureConfigError {
    /// The JSON could not be read (syntax error, wrong type or unknown field).
    #[error("invalid closure config: {0}")]
    Json(String),
    /// `threshold` is not within `0..=1`.
    #[error("threshold must be between 0 and 1, got {0}")]
    Threshold(f64),
    /// A weight is negative, infinite or not a number.
    #[error("weight `{factor}` must be a finite number >= 0, got {value}")]
    Weight {
        /// The factor whose weight is wrong.
        factor: String,
        /// The refused weight.
        value: f64,
    },
    /// Every weight is zero, so no factor could ever count.
    #[error("at least one weight must be greater than 0")]
    AllWeightsZero,
    /// `window` is 0 or larger than [`MAX_WINDOW`].
    #[error("window must be between 1 and {MAX_WINDOW}, got {0}")]
    Window(usize),
    /// `quiet_after_seconds` is 0.
    #[error("quiet_after_seconds must be greater than 0")]
    QuietAfter,
    /// `grace_seconds` is larger than [`MAX_GRACE_SECONDS`].
    #[error("grace_seconds must be at most {MAX_GRACE_SECONDS}, got {0}")]
    GraceSeconds(u64),
    /// `veto_at` is not within `-1..=0`.
    #[error("veto_at must be between -1 and 0 (or null), got {0}")]
    VetoAt(f64),
}

impl ClosureConfig {
    /// Reads a tenant's JSON config (missing fields take their default) and validates it.
    ///
    /// # Errors
    /// [`ClosureConfigError::Json`] for malformed JSON, a wrong type or an unknown field, or
    /// any error of [`ClosureConfig::validate`].
    pub fn from_json(json: &str) -> Result<Self, ClosureConfigError> {
        let config: Self = serde_json::from_str(json).map_err(|e| ClosureConfigError::Json(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting is within its documented range.
    ///
    /// # Errors
    /// The first setting found out of range.
    pub fn validate(&self) -> Result<(), ClosureConfigError> {
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(ClosureConfigError::Threshold(self.threshold));
        }
        for (factor, value) in self.weights.iter() {
            if !value.is_finite() || value < 0.0 {
                return Err(ClosureConfigError::Weight { factor: factor.to_owned(), value });
            }
        }
        if self.weights.iter().all(|(_, weight)| weight == 0.0) {
            return Err(ClosureConfigError::AllWeightsZero);
        }
        if self.window == 0 || self.window > MAX_WINDOW {
            return Err(ClosureConfigError::Window(self.window));
        }
        if self.quiet_after_seconds == 0 {
            return Err(ClosureConfigError::QuietAfter);
        }
        if self.grace_seconds > MAX_GRACE_SECONDS {
            return Err(ClosureConfigError::GraceSeconds(self.grace_seconds));
        }
        if let Some(veto) = self.veto_at
            && !(-1.0..=0.0).contains(&veto)
        {
            return Err(ClosureConfigError::VetoAt(veto));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(ClosureConfig::default().validate(), Ok(()));
    }

    #[test]
    fn empty_json_gives_defaults() {
        assert_eq!(ClosureConfig::from_json("{}"), Ok(ClosureConfig::default()));
    }

    #[test]
    fn partial_json_keeps_other_defaults() {
        let config = ClosureConfig::from_json(
            r#"{"threshold":0.7,"weights":{"farewell":0.4},"quiet_after_seconds":900}"#,
        )
        .unwrap();
        assert_eq!(config.threshold, 0.7);
        assert_eq!(config.weights.farewell, 0.4);
        assert_eq!(config.weights.closing_question, 0.4);
        assert_eq!(config.quiet_after_seconds, 900);
        assert_eq!(config.window, 6);
        assert_eq!(config.veto_at, Some(-0.8));
    }

    #[test]
    fn grace_seconds_defaults_to_two_minutes() {
        let config = ClosureConfig::default();
        assert_eq!(config.grace_seconds, 120);
        assert!(
            config.quiet_after_seconds <= config.grace_seconds,
            "the sweep must see the quiet-time factor at full strength"
        );
    }

    #[test]
    fn grace_seconds_parses() {
        let config = ClosureConfig::from_json(r#"{"grace_seconds":0}"#).unwrap();
        assert_eq!(config.grace_seconds, 0);
        let config = ClosureConfig::from_json(r#"{"grace_seconds":86400}"#).unwrap();
        assert_eq!(config.grace_seconds, MAX_GRACE_SECONDS);
        assert_eq!(config.threshold, 0.65, "other fields keep their default");
    }

    #[test]
    fn grace_seconds_out_of_range_is_refused() {
        let err = ClosureConfig::from_json(r#"{"grace_seconds":86401}"#).unwrap_err();
        assert_eq!(err, ClosureConfigError::GraceSeconds(86_401));
        assert!(err.to_string().contains("grace_seconds"), "{err}");
        let err = ClosureConfig::from_json(r#"{"grace_seconds":-1}"#).unwrap_err();
        assert!(matches!(err, ClosureConfigError::Json(_)), "{err}");
    }

    #[test]
    fn null_veto_disables_vetoes() {
        let config = ClosureConfig::from_json(r#"{"veto_at":null}"#).unwrap();
        assert_eq!(config.veto_at, None);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = ClosureConfig::from_json(r#"{"treshold":0.7}"#).unwrap_err();
        assert!(matches!(&err, ClosureConfigError::Json(m) if m.contains("treshold")), "{err}");
        let err = ClosureConfig::from_json(r#"{"weights":{"farwell":0.4}}"#).unwrap_err();
        assert!(matches!(&err, ClosureConfigError::Json(m) if m.contains("farwell")), "{err}");
    }

    #[test]
    fn wrong_types_are_refused() {
        let err = ClosureConfig::from_json(r#"{"window":"six"}"#).unwrap_err();
        assert!(matches!(err, ClosureConfigError::Json(_)));
        let err = ClosureConfig::from_json(r#"{"quiet_after_seconds":-5}"#).unwrap_err();
        assert!(matches!(err, ClosureConfigError::Json(_)));
    }

    #[test]
    fn custom_weights_are_readable() {
        let config = ClosureConfig::from_json(r#"{"weights":{"custom":{"vip":0.3}}}"#).unwrap();
        assert_eq!(config.weights.get("vip"), Some(0.3));
        assert_eq!(config.weights.get("farewell"), Some(0.35));
        assert_eq!(config.weights.get("nope"), None);
    }

    #[test]
    fn validate_refuses_out_of_range_settings() {
        let check = |json: &str| ClosureConfig::from_json(json).unwrap_err();
        assert_eq!(check(r#"{"threshold":1.5}"#), ClosureConfigError::Threshold(1.5));
        assert_eq!(check(r#"{"threshold":-0.1}"#), ClosureConfigError::Threshold(-0.1));
        assert_eq!(
            check(r#"{"weights":{"quiet_time":-1}}"#),
            ClosureConfigError::Weight { factor: "quiet_time".into(), value: -1.0 }
        );
        assert!(matches!(
            check(r#"{"weights":{"custom":{"x":-0.5}}}"#),
            ClosureConfigError::Weight { factor, .. } if factor == "x"
        ));
        assert_eq!(check(r#"{"window":0}"#), ClosureConfigError::Window(0));
        assert_eq!(check(r#"{"window":51}"#), ClosureConfigError::Window(51));
        assert_eq!(check(r#"{"quiet_after_seconds":0}"#), ClosureConfigError::QuietAfter);
        assert_eq!(check(r#"{"veto_at":0.5}"#), ClosureConfigError::VetoAt(0.5));
        assert_eq!(
            check(
                r#"{"weights":{"farewell":0,"closing_question":0,"open_request":0,
                "quiet_time":0,"last_speaker":0}}"#
            ),
            ClosureConfigError::AllWeightsZero
        );
    }

    #[test]
    fn validate_refuses_nan() {
        let config = ClosureConfig { threshold: f64::NAN, ..ClosureConfig::default() };
        assert!(matches!(config.validate(), Err(ClosureConfigError::Threshold(_))));
        let mut config = ClosureConfig::default();
        config.weights.farewell = f64::INFINITY;
        assert!(matches!(config.validate(), Err(ClosureConfigError::Weight { .. })));
    }

    #[test]
    fn round_trips_through_json() {
        let config = ClosureConfig::default();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(ClosureConfig::from_json(&json), Ok(config));
    }
}
