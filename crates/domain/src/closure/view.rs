//! The pre-analyzed window of recent turns that strategies evaluate.

use chrono::{DateTime, Utc};

use super::cues::{Reply, TurnCues};
use super::text::{NormalizedText, normalize};
use super::{Speaker, Turn};

/// One turn of the window, normalized and analyzed once for every strategy.
#[derive(Debug, Clone)]
pub struct ViewTurn<'a> {
    /// Who wrote it.
    pub speaker: Speaker,
    /// The original text.
    pub text: &'a str,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The text normalized (lowercase, accent-folded, tokenized).
    pub normalized: NormalizedText,
    /// What the lexicons found in it.
    pub cues: TurnCues,
}

/// The most recent turns of a conversation (at most [`ClosureConfig::window`] of them, oldest
/// first) and the time of the assessment.
///
/// [`ClosureConfig::window`]: super::ClosureConfig::window
#[derive(Debug, Clone)]
pub struct ConversationView<'a> {
    turns: Vec<ViewTurn<'a>>,
    now: DateTime<Utc>,
}

impl<'a> ConversationView<'a> {
    /// Normalizes and analyzes the last `window` of `turns` (oldest first).
    #[must_use]
    pub fn new(turns: &[Turn<'a>], window: usize, now: DateTime<Utc>) -> Self {
        let skip = turns.len().saturating_sub(window);
        let turns = turns[skip..]
            .iter()
            .map(|turn| {
                let normalized = normalize(turn.text);
                let cues = TurnCues::analyze(&normalized);
                ViewTurn { speaker: turn.speaker, text: turn.text, at: turn.at, normalized, cues }
            })
            .collect();
        Self { turns, now }
    }

    /// The turns of the window, oldest first.
    #[must_use]
    pub fn turns(&self) -> &[ViewTurn<'a>] {
        &self.turns
    }

    /// The time of the assessment.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Whether the window holds no turn.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// The most recent turn.
    #[must_use]
    pub fn last(&self) -> Option<&ViewTurn<'a>> {
        self.turns.last()
    }

    /// The index (in [`turns`](Self::turns)) of the most recent turn by `speaker`.
    #[must_use]
    pub fn last_index_of(&self, speaker: Speaker) -> Option<usize> {
        self.turns.iter().rposition(|t| t.speaker == speaker)
    }

    /// The most recent turn by `speaker`.
    #[must_use]
    pub fn last_of(&self, speaker: Speaker) -> Option<&ViewTurn<'a>> {
        self.last_index_of(speaker).map(|i| &self.turns[i])
    }

    /// The most recent turn by `speaker` strictly before index `before`, with its index.
    #[must_use]
    pub fn previous_of(&self, speaker: Speaker, before: usize) -> Option<(usize, &ViewTurn<'a>)> {
        let end = before.min(self.turns.len());
        self.turns[..end].iter().rposition(|t| t.speaker == speaker).map(|i| (i, &self.turns[i]))
    }

    /// Seconds between the most recent turn and [`now`](Self::now); 0 for an empty window or
    /// a turn stamped in the future.
    #[must_use]
    pub fn quiet_seconds(&self) -> i64 {
        self.last().map_or(0, |t| (self.now - t.at).num_seconds().max(0))
    }

    /// Whether the customer's last turn only acknowledges or thanks ("Tá bom", "ok",
    /// "valeu") right after the agent said goodbye without asking anything ("Qualquer coisa é
    /// só chamar.").
    #[must_use]
    pub fn acknowledges_agent_goodbye(&self) -> bool {
        let Some(index) = self.last_index_of(Speaker::Customer) else {
            return false;
        };
        let cues = &self.turns[index].cues;
        let acknowledges = matches!(
            cues.reply(),
            Reply::FillerOnly | Reply::Farewell { only: true } | Reply::Decline { only: true }
        ) && cues.openings().is_empty();
        acknowledges
            && index.checked_sub(1).and_then(|i| self.turns.get(i)).is_some_and(|b| {
                b.speaker == Speaker::Business && b.cues.says_goodbye() && !b.cues.open_question()
            })
    }

    /// How clearly the customer's latest messages thank or say goodbye, `0..=1`:
    ///
    /// * the [farewell](TurnCues::farewell) of the customer's last turn, or, when that turn
    ///   is a pure closing (nothing but closing words), the strongest farewell of the run of
    ///   pure closings it ends: a goodbye split over messages ("Obrigado!" then "Tchau", or
    ///   "Valeu!" then "👍") counts as a whole;
    /// * when the last turn answers the agent's goodbye, 1 for a farewell in return ("Você
    ///   também!", 👍) and at least 0.8 for a bare acknowledgement ("Tá bom").
    ///
    /// 0 when there is no customer turn.
    #[must_use]
    pub fn customer_farewell(&self) -> f64 {
        let Some(index) = self.last_index_of(Speaker::Customer) else {
            return 0.0;
        };
        let last = &self.turns[index].cues;
        if self.acknowledges_agent_goodbye() {
            return if matches!(last.reply(), Reply::Farewell { only: true }) {
                1.0
            } else {
                last.farewell().max(0.8)
            };
        }
        if !is_pure_closing(last) {
            return last.farewell();
        }
        self.turns[..=index]
            .iter()
            .rev()
            .take_while(|t| t.speaker == Speaker::Customer && is_pure_closing(&t.cues))
            .map(|t| t.cues.farewell())
            .fold(0.0, f64::max)
    }

    /// How clearly the customer's last turn ends the conversation, `0..=1`: its
    /// [`customer_farewell`](Self::customer_farewell), or 1 when it declines the agent's
    /// closing question ("Posso ajudar em algo mais?" / "Não"). 0 when it also keeps the
    /// conversation open (a question, a request...) or when there is no customer turn.
    #[must_use]
    pub fn customer_closing(&self) -> f64 {
        let Some(index) = self.last_index_of(Speaker::Customer) else {
            return 0.0;
        };
        let turn = &self.turns[index];
        if !turn.cues.openings().is_empty() {
            return 0.0;
        }
        let declines_closing_question = matches!(turn.cues.reply(), Reply::Decline { .. })
            && self
                .previous_of(Speaker::Business, index)
                .is_some_and(|(_, b)| b.cues.closing_question().is_some());
        if declines_closing_question { 1.0 } else { self.customer_farewell() }
    }
}

/// Whether a message is nothing but closing words: no content, nothing that keeps the
/// conversation open.
fn is_pure_closing(cues: &TurnCues) -> bool {
    cues.content_tokens() == 0 && cues.openings().is_empty()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 14, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    #[test]
    fn keeps_only_the_window() {
        let turns: Vec<Turn<'_>> = (0..10).map(|i| Turn::new(Speaker::Customer, "oi", at(i))).collect();
        let view = ConversationView::new(&turns, 4, at(20));
        assert_eq!(view.turns().len(), 4);
        assert_eq!(view.turns()[0].at, at(6));
        assert_eq!(view.quiet_seconds(), 11);
        assert!(ConversationView::new(&turns, 0, at(20)).is_empty());
    }

    #[test]
    fn finds_turns_by_speaker() {
        let turns = [
            Turn::new(Speaker::Business, "Posso ajudar em algo mais?", at(0)),
            Turn::new(Speaker::Customer, "não", at(5)),
            Turn::new(Speaker::Business, "Até mais!", at(10)),
        ];
        let view = ConversationView::new(&turns, 6, at(5));
        assert_eq!(view.last_index_of(Speaker::Customer), Some(1));
        assert_eq!(view.previous_of(Speaker::Business, 1).map(|(i, _)| i), Some(0));
        assert!(view.previous_of(Speaker::Customer, 1).is_none());
        assert_eq!(view.customer_closing(), 1.0);
        assert_eq!(view.quiet_seconds(), 0, "future turns count as no silence");
    }

    #[test]
    fn acknowledging_the_agents_goodbye_closes() {
        let turns = [
            Turn::new(Speaker::Business, "Pronto! Qualquer coisa é só chamar.", at(0)),
            Turn::new(Speaker::Customer, "Tá bom", at(5)),
        ];
        let view = ConversationView::new(&turns, 6, at(5));
        assert!(view.acknowledges_agent_goodbye());
        assert_eq!(view.customer_closing(), 0.8);
        let turns = [
            Turn::new(Speaker::Business, "Até mais! Pode confirmar seu e-mail?", at(0)),
            Turn::new(Speaker::Customer, "ok", at(5)),
        ];
        assert!(!ConversationView::new(&turns, 6, at(5)).acknowledges_agent_goodbye());
    }

    #[test]
    fn goodbye_over_two_messages_counts_as_a_whole() {
        let turns = [
            Turn::new(Speaker::Business, "Seu pedido foi liberado.", at(0)),
            Turn::new(Speaker::Customer, "Muito obrigada!", at(5)),
            Turn::new(Speaker::Customer, "👍", at(8)),
        ];
        assert_eq!(ConversationView::new(&turns, 6, at(8)).customer_farewell(), 1.0);
        let turns = [
            Turn::new(Speaker::Customer, "Obrigado!", at(5)),
            Turn::new(Speaker::Customer, "Ah, e vocês entregam em Campinas?", at(8)),
        ];
        assert_eq!(ConversationView::new(&turns, 6, at(8)).customer_closing(), 0.0);
    }

    #[test]
    fn farewell_in_return_to_the_agents_goodbye_is_full() {
        let turns = [
            Turn::new(Speaker::Business, "Tenha um ótimo dia!", at(0)),
            Turn::new(Speaker::Customer, "Você também!", at(5)),
        ];
        assert_eq!(ConversationView::new(&turns, 6, at(5)).customer_farewell(), 1.0);
    }

    #[test]
    fn bare_no_without_closing_question_does_not_close() {
        let turns = [
            Turn::new(Speaker::Business, "Você recebeu o código?", at(0)),
            Turn::new(Speaker::Customer, "não", at(5)),
        ];
        let view = ConversationView::new(&turns, 6, at(5));
        assert_eq!(view.customer_closing(), 0.0);
    }
}
