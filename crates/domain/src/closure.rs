//! Closure detection: is a conversation over?
//!
//! The [`ClosureDetector`] reads the recent turns of a conversation (oldest first) and scores
//! how confident it is that the customer is done, in pt-BR first, then en and es. Several
//! [`ClosureStrategy`]s each give a [`Signal`] for one factor:
//!
//! | factor | strategy | what it looks at |
//! |---|---|---|
//! | `farewell` | [`FarewellStrategy`] | thanks, praise or goodbye in the customer's last messages |
//! | `closing_question` | [`ClosingQuestionStrategy`] | the answer to the agent's "anything else?" |
//! | `open_request` | [`OpenRequestStrategy`] | a question, request or complaint (negative only) |
//! | `quiet_time` | [`QuietTimeStrategy`] | silence since the goodbye |
//! | `last_speaker` | [`LastSpeakerStrategy`] | who owes the next message: a step still owed, a goodbye, an unanswered question |
//!
//! The score is the weighted mean of the signals given, clamped to `0..=1`; a strongly
//! negative signal (an open question, a "but...", a request, a step still owed) vetoes
//! closing. See [`ClosureAssessment::combine`].
//!
//! Thanks are read for what they are owed for: thanks in advance ("obrigado desde já") and
//! sarcastic thanks ("valeu por nada") keep the conversation open; a promise of the agent
//! ("vou verificar e te retorno") or a request to the customer ("me manda o print?") that the
//! customer only acknowledges keeps it open too ([`ConversationView::owed`]).
//!
//! **Pending closure.** The service assesses a customer message projected to
//! [`ClosureConfig::grace_seconds`] of silence (`assess(turns, arrival + grace)`); if that says
//! close, the conversation waits that long and the lifecycle sweeper re-assesses its latest
//! turns when due. Meanwhile [`outbound_keeps_pending_closure`] tells whether an agent's
//! message keeps the pending closure; a customer message cancels it. Goodbyes that need
//! silence to count (a bare 👍, "ok" after "anything else?") close only at the sweep.
//!
//! Messages are normalized with an own fold table (no Unicode tables): lowercase, Latin
//! accents stripped, words and emoji as tokens, repeated letters collapsed for matching
//! ("Obrigadooo" matches "obrigado"). Phrases are matched as whole tokens, never substrings.
//! Nothing here reads the clock: the time of the assessment is passed in.
//!
//! Tenants tune the detector with a JSON [`ClosureConfig`]; further strategies plug in with
//! [`ClosureDetector::with_strategies`].

mod assessment;
mod config;
mod cues;
mod lexicon;
mod outbound;
mod owed;
mod phrases;
mod qualifiers;
pub mod strategies;
pub mod text;
mod view;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use assessment::{ClosureAssessment, Signal};
pub use config::{ClosureConfig, ClosureConfigError, FactorWeights, MAX_GRACE_SECONDS, MAX_WINDOW};
pub use cues::{ClosingKind, Opening, Reply, TurnCues};
pub use lexicon::{Cue, CueMatch};
pub use outbound::{Commitment, outbound_keeps_pending_closure};
pub use owed::Owed;
pub use strategies::{
    ClosingQuestionStrategy, FarewellStrategy, LastSpeakerStrategy, OpenRequestStrategy, QuietTimeStrategy,
    default_strategies,
};
pub use view::{ConversationView, ViewTurn};

/// Who wrote a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The tenant's customer (the contact on SMS or WhatsApp).
    Customer,
    /// The tenant: an agent, a bot or an automation.
    Business,
}

/// One message of a conversation, as seen by the detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Turn<'a> {
    /// Who wrote it.
    pub speaker: Speaker,
    /// Its text (empty for media without caption).
    pub text: &'a str,
    /// When it was sent.
    pub at: DateTime<Utc>,
}

impl<'a> Turn<'a> {
    /// A turn of `speaker` saying `text` at `at`.
    #[must_use]
    pub const fn new(speaker: Speaker, text: &'a str, at: DateTime<Utc>) -> Self {
        Self { speaker, text, at }
    }
}

/// One factor of closure detection. Implement it to plug a rule of your own into
/// [`ClosureDetector::with_strategies`].
pub trait ClosureStrategy: Send + Sync + std::fmt::Debug {
    /// The factor's name, used as [`Signal::factor`] and to look up its weight.
    fn name(&self) -> &'static str;

    /// The strategy's opinion on the conversation, or `None` when it has none (which leaves
    /// the score untouched). Must not panic, whatever the turns.
    fn evaluate(&self, conversation: &ConversationView<'_>, config: &ClosureConfig) -> Option<Signal>;
}

/// Decides whether a conversation is over. Build it once and reuse it: it is immutable,
/// `Send` and `Sync`.
#[derive(Debug)]
pub struct ClosureDetector {
    config: ClosureConfig,
    strategies: Vec<Box<dyn ClosureStrategy>>,
}

impl ClosureDetector {
    /// A detector with the [default strategies](default_strategies). The config is used as
    /// given: validate tenant input first (see [`ClosureConfig::from_json`]).
    #[must_use]
    pub fn new(config: ClosureConfig) -> Self {
        lexicon::warm_up();
        Self::with_strategies(config, default_strategies())
    }

    /// A detector with exactly these strategies, evaluated in order.
    #[must_use]
    pub fn with_strategies(config: ClosureConfig, strategies: Vec<Box<dyn ClosureStrategy>>) -> Self {
        Self { config, strategies }
    }

    /// The detector's config.
    #[must_use]
    pub fn config(&self) -> &ClosureConfig {
        &self.config
    }

    /// The names of the detector's strategies, in evaluation order.
    #[must_use]
    pub fn strategy_names(&self) -> Vec<&'static str> {
        self.strategies.iter().map(|s| s.name()).collect()
    }

    /// Assesses a conversation from its recent `turns` (oldest first; only the last
    /// [`ClosureConfig::window`] are looked at) at time `now`. No turns: score 0, keep open.
    #[must_use]
    pub fn assess(&self, turns: &[Turn<'_>], now: DateTime<Utc>) -> ClosureAssessment {
        let view = ConversationView::new(turns, self.config.window, now);
        if view.is_empty() {
            return ClosureAssessment::empty();
        }
        let signals = self.strategies.iter().filter_map(|s| s.evaluate(&view, &self.config)).collect();
        ClosureAssessment::combine(signals, &self.config, view.quiet_seconds())
    }
}

#[cfg(test)]
mod tests;
