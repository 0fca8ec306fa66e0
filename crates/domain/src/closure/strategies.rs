//! The built-in closure strategies, one per factor of the score.
//!
//! Each strategy looks at the pre-analyzed [`ConversationView`](super::ConversationView) and
//! gives at most one [`Signal`](super::Signal), weighted by its entry in
//! [`FactorWeights`](super::FactorWeights). A strategy with nothing to say returns `None`, which
//! leaves the score untouched (see [`ClosureAssessment::combine`](super::ClosureAssessment::combine)).

mod closing_question;
mod farewell;
mod last_speaker;
mod open_request;
mod quiet_time;

pub use closing_question::ClosingQuestionStrategy;
pub use farewell::FarewellStrategy;
pub use last_speaker::LastSpeakerStrategy;
pub use open_request::OpenRequestStrategy;
pub use quiet_time::QuietTimeStrategy;

use super::ClosureStrategy;

/// Factor name of [`FarewellStrategy`].
pub const FAREWELL: &str = "farewell";
/// Factor name of [`ClosingQuestionStrategy`].
pub const CLOSING_QUESTION: &str = "closing_question";
/// Factor name of [`OpenRequestStrategy`].
pub const OPEN_REQUEST: &str = "open_request";
/// Factor name of [`QuietTimeStrategy`].
pub const QUIET_TIME: &str = "quiet_time";
/// Factor name of [`LastSpeakerStrategy`].
pub const LAST_SPEAKER: &str = "last_speaker";

/// The strategies of [`ClosureDetector::new`](super::ClosureDetector::new), in evaluation
/// order. Extend this list and pass it to
/// [`ClosureDetector::with_strategies`](super::ClosureDetector::with_strategies) to add one.
#[must_use]
pub fn default_strategies() -> Vec<Box<dyn ClosureStrategy>> {
    vec![
        Box::new(FarewellStrategy),
        Box::new(ClosingQuestionStrategy),
        Box::new(OpenRequestStrategy),
        Box::new(QuietTimeStrategy),
        Box::new(LastSpeakerStrategy),
    ]
}

/// `"a", "b"` for the first `n` phrases.
fn quote(phrases: &[String], n: usize) -> String {
    phrases.iter().take(n).map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
pub(crate) mod test_support {
    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::super::{ClosureConfig, ClosureStrategy, ConversationView, Signal, Speaker, Turn};

    /// 2026-03-01 14:00:00 UTC plus `seconds`.
    pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 14, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    /// Runs `strategy` on turns given as `(speaker, text)`, 30 seconds apart, assessed
    /// `quiet` seconds after the last one.
    pub(crate) fn run(
        strategy: &dyn ClosureStrategy,
        turns: &[(Speaker, &str)],
        quiet: i64,
    ) -> Option<Signal> {
        let turns: Vec<Turn<'_>> =
            turns.iter().zip(0..).map(|((speaker, text), i)| Turn::new(*speaker, text, at(30 * i))).collect();
        let last = turns.last().map_or(at(0), |t| t.at);
        let view = ConversationView::new(&turns, 6, last + Duration::seconds(quiet));
        strategy.evaluate(&view, &ClosureConfig::default())
    }

    /// The value of the signal, or `None`.
    pub(crate) fn value(
        strategy: &dyn ClosureStrategy,
        turns: &[(Speaker, &str)],
        quiet: i64,
    ) -> Option<f64> {
        run(strategy, turns, quiet).map(|s| s.value)
    }
}
