//! Signals of the strategies and how they combine into an assessment.

use serde::{Deserialize, Serialize};

use super::config::ClosureConfig;

/// One factor's opinion about closing the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Name of the factor (the strategy), for example `farewell`.
    pub factor: String,
    /// How much the factor counts (from [`FactorWeights`](super::FactorWeights)), `>= 0`.
    pub weight: f64,
    /// The factor's opinion, `-1..=1`: positive pushes towards closing, negative keeps the
    /// conversation open.
    pub value: f64,
    /// What the factor saw, in English, for example `customer said goodbye ("tchau")`.
    pub detail: String,
}

impl Signal {
    /// A signal with `value` clamped to `-1..=1` and `weight` to `>= 0` (a value or weight
    /// that is not a finite number becomes 0).
    #[must_use]
    pub fn new(factor: impl Into<String>, weight: f64, value: f64, detail: impl Into<String>) -> Self {
        let finite_or_zero = |x: f64| if x.is_finite() { x } else { 0.0 };
        Self {
            factor: factor.into(),
            weight: finite_or_zero(weight).max(0.0),
            value: finite_or_zero(value).clamp(-1.0, 1.0),
            detail: detail.into(),
        }
    }

    /// `weight * value`: the signal's share of the score before normalization.
    #[must_use]
    pub fn contribution(&self) -> f64 {
        self.weight * self.value
    }
}

/// The detector's verdict on a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosureAssessment {
    /// How confident the detector is that the conversation is over, `0..=1`.
    pub score: f64,
    /// Whether the conversation should be closed: the score reaches the threshold, no signal
    /// vetoes and the last message is at least
    /// [`min_quiet_seconds`](ClosureConfig::min_quiet_seconds) old.
    pub should_close: bool,
    /// A short English sentence naming the dominant factors.
    pub reason: String,
    /// Every signal the strategies gave, in strategy order.
    pub signals: Vec<Signal>,
}

impl ClosureAssessment {
    /// The assessment of a conversation without turns: score 0, keep open.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            score: 0.0,
            should_close: false,
            reason: "Keep open: no turns to assess.".to_owned(),
            signals: Vec::new(),
        }
    }

    /// Combines signals into an assessment.
    ///
    /// The score is the weighted mean of the values of the signals that were given (a
    /// strategy with no opinion gives none, so it neither raises nor dilutes the score),
    /// clamped to `0..=1`. Signals of weight 0 are reported but ignored. The conversation
    /// should close when the score reaches [`ClosureConfig::threshold`], unless a signal's
    /// value is at or below [`ClosureConfig::veto_at`] (a hard blocker, such as an open
    /// question in the customer's last message) or the last message is younger than
    /// [`ClosureConfig::min_quiet_seconds`].
    #[must_use]
    pub fn combine(signals: Vec<Signal>, config: &ClosureConfig, quiet_seconds: i64) -> Self {
        let active: Vec<&Signal> = signals.iter().filter(|s| s.weight > 0.0).collect();
        let total_weight: f64 = active.iter().map(|s| s.weight).sum();
        let mean = active.iter().map(|s| s.contribution()).sum::<f64>() / total_weight;
        let score = if mean.is_finite() { mean.clamp(0.0, 1.0) } else { 0.0 };
        let veto = config.veto_at.and_then(|limit| {
            active.iter().filter(|s| s.value <= limit).min_by(|a, b| a.value.total_cmp(&b.value))
        });
        let min_quiet = i64::try_from(config.min_quiet_seconds).unwrap_or(i64::MAX);
        let in_grace = quiet_seconds < min_quiet;
        let should_close = score >= config.threshold && veto.is_none() && !in_grace;

        let mut ranked = active.clone();
        ranked.sort_by(|a, b| b.contribution().abs().total_cmp(&a.contribution().abs()));
        let details = |positive: bool, n: usize| {
            ranked
                .iter()
                .filter(|s| (s.value > 0.0) == positive && s.value != 0.0)
                .take(n)
                .map(|s| s.detail.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let reason = if should_close {
            format!("Close: {} (score {score:.2}).", details(true, 2))
        } else if let Some(veto) = veto {
            format!("Keep open: {}.", veto.detail)
        } else if in_grace && score >= config.threshold {
            format!(
                "Keep open: the last message is only {quiet_seconds}s old \
                 (grace period {min_quiet}s)."
            )
        } else if ranked.iter().all(|s| s.value == 0.0) {
            "Keep open: no closing cue found.".to_owned()
        } else {
            let against = details(false, 1);
            let strongest = if against.is_empty() { details(true, 1) } else { against };
            format!(
                "Keep open: score {score:.2} is below the threshold {:.2}; {strongest}.",
                config.threshold
            )
        };
        Self { score, should_close, reason, signals }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(factor: &str, weight: f64, value: f64) -> Signal {
        Signal::new(factor, weight, value, format!("{factor} said {value}"))
    }

    #[test]
    fn signal_clamps_its_inputs() {
        let s = Signal::new("x", -1.0, 3.0, "");
        assert_eq!((s.weight, s.value), (0.0, 1.0));
        let s = Signal::new("x", f64::NAN, f64::NAN, "");
        assert_eq!((s.weight, s.value), (0.0, 0.0));
    }

    #[test]
    fn score_is_the_weighted_mean_clamped() {
        let config = ClosureConfig::default();
        let a = ClosureAssessment::combine(vec![signal("a", 0.3, 1.0), signal("b", 0.1, 0.0)], &config, 0);
        assert!((a.score - 0.75).abs() < 1e-9, "{a:?}");
        assert!(a.should_close);
        assert!(a.reason.starts_with("Close: a said 1"), "{}", a.reason);

        let a = ClosureAssessment::combine(vec![signal("a", 0.3, -0.5)], &config, 0);
        assert_eq!(a.score, 0.0);
        assert!(!a.should_close);
    }

    #[test]
    fn no_signal_or_zero_weights_score_zero() {
        let config = ClosureConfig::default();
        let a = ClosureAssessment::combine(Vec::new(), &config, 0);
        assert_eq!(a.score, 0.0);
        assert_eq!(a.reason, "Keep open: no closing cue found.");
        let a = ClosureAssessment::combine(vec![signal("a", 0.0, 1.0)], &config, 0);
        assert_eq!(a.score, 0.0);
        assert_eq!(a.signals.len(), 1, "zero-weight signals are still reported");
    }

    #[test]
    fn strong_negative_vetoes() {
        let config = ClosureConfig::default();
        let signals = vec![
            signal("a", 1.0, 1.0),
            signal("b", 1.0, 1.0),
            signal("c", 1.0, 1.0),
            signal("veto", 0.1, -0.9),
        ];
        let a = ClosureAssessment::combine(signals.clone(), &config, 0);
        assert!(a.score > config.threshold);
        assert!(!a.should_close);
        assert_eq!(a.reason, "Keep open: veto said -0.9.");

        let no_vetoes = ClosureConfig { veto_at: None, ..ClosureConfig::default() };
        assert!(ClosureAssessment::combine(signals, &no_vetoes, 0).should_close);
    }

    #[test]
    fn grace_period_holds_closing() {
        let config = ClosureConfig { min_quiet_seconds: 120, ..ClosureConfig::default() };
        let a = ClosureAssessment::combine(vec![signal("a", 1.0, 1.0)], &config, 30);
        assert!(!a.should_close);
        assert!(a.reason.contains("grace period 120s"), "{}", a.reason);
        assert!(ClosureAssessment::combine(vec![signal("a", 1.0, 1.0)], &config, 120).should_close);
    }

    #[test]
    fn below_threshold_names_the_strongest_factor() {
        let config = ClosureConfig::default();
        let a = ClosureAssessment::combine(vec![signal("a", 0.3, 0.5), signal("b", 0.1, -0.2)], &config, 0);
        assert!(!a.should_close);
        assert!(a.reason.contains("below the threshold 0.65; b said -0.2"), "{}", a.reason);
    }

    #[test]
    fn serializes() {
        let a = ClosureAssessment::combine(vec![signal("a", 0.3, 1.0)], &ClosureConfig::default(), 0);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["signals"][0]["factor"], "a");
        let back: ClosureAssessment = serde_json::from_value(json).unwrap();
        assert_eq!(back, a);
    }
}
