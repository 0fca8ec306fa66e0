//! The customer's answer to the agent's closing question.

use super::super::cues::{ClosingKind, Reply};
use super::super::lexicon::is_negator;
use super::super::{ClosureConfig, ClosureStrategy, ConversationView, Signal, Speaker};
use super::CLOSING_QUESTION;

/// How the customer answered the agent's last question before the customer's last message,
/// when that question is a closing one.
///
/// * "Anything else?" ("posso ajudar em algo mais?", "¿necesitas algo más?") answered "não",
///   "no thanks", "nada más", "só isso": `1` (`0.5` when more text follows); answered with
///   thanks only, or only acknowledged ("ok", "blz", "sure"): `0.8`; with "sim" / "yes":
///   `-0.7`; with something new: `-0.5`. A bare acknowledgement is a goodbye only if nothing
///   follows: its farewell is weak, so it closes only once the quiet-time factor counts (at
///   the pending-closure sweep), not at its arrival.
/// * "Did that solve it?" ("consegui te ajudar?", "did that help?", "¿te sirvió?") answered
///   "sim", "deu certo", "thanks": `0.9`; answered "não...": `-0.8`.
///
/// No signal when the agent's turn is not a closing question or the customer has not
/// answered it yet (see [`LastSpeakerStrategy`](super::LastSpeakerStrategy) for that).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClosingQuestionStrategy;

impl ClosureStrategy for ClosingQuestionStrategy {
    fn name(&self) -> &'static str {
        CLOSING_QUESTION
    }

    fn evaluate(&self, view: &ConversationView<'_>, config: &ClosureConfig) -> Option<Signal> {
        let last_customer = view.last_index_of(Speaker::Customer)?;
        let (asked, question) = view.previous_of(Speaker::Business, last_customer)?;
        let kind = question.cues.closing_question()?;
        let answer = view.turns()[asked + 1..].iter().find(|t| t.speaker == Speaker::Customer)?;
        let starts_negative = answer.normalized.tokens().first().is_some_and(|t| is_negator(&t.key));
        let (value, detail) = match (kind, answer.cues.reply()) {
            (ClosingKind::AnythingElse, Reply::Decline { only: true }) => {
                (1.0, "customer declined the agent's closing question")
            }
            (ClosingKind::AnythingElse, Reply::Decline { only: false }) => {
                (0.5, "customer declined the agent's closing question, then wrote more")
            }
            (ClosingKind::AnythingElse, Reply::Farewell { only: true }) => {
                (0.8, "customer said farewell after the agent's closing question")
            }
            (ClosingKind::AnythingElse, Reply::Farewell { only: false }) => {
                (0.4, "customer said farewell after the agent's closing question, then wrote more")
            }
            (ClosingKind::AnythingElse, Reply::FillerOnly) => {
                (0.8, "customer acknowledged the agent's closing question")
            }
            (ClosingKind::AnythingElse, Reply::Affirm) => {
                (-0.7, "customer said yes to the agent's closing question")
            }
            (ClosingKind::AnythingElse, Reply::Other) => {
                (-0.5, "customer answered the agent's closing question with something new")
            }
            (ClosingKind::Resolved, Reply::Decline { .. }) if starts_negative => {
                (-0.8, "customer said the agent's solution did not work")
            }
            (ClosingKind::Resolved, Reply::Affirm)
            | (ClosingKind::Resolved, Reply::Decline { only: true })
            | (ClosingKind::Resolved, Reply::Farewell { only: true }) => {
                (0.9, "customer confirmed the agent's solution")
            }
            (ClosingKind::Resolved, Reply::Decline { only: false })
            | (ClosingKind::Resolved, Reply::Farewell { only: false })
            | (ClosingKind::Resolved, Reply::FillerOnly) => {
                (0.5, "customer seems satisfied with the agent's solution")
            }
            (ClosingKind::Resolved, Reply::Other) => {
                (-0.5, "customer answered the agent's check with something new")
            }
        };
        Some(Signal::new(CLOSING_QUESTION, config.weights.closing_question, value, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::value;
    use super::*;
    use Speaker::{Business, Customer};

    fn answer(question: &str, reply: &str) -> Option<f64> {
        value(&ClosingQuestionStrategy, &[(Business, question), (Customer, reply)], 0)
    }

    #[test]
    fn declined_closing_questions() {
        for (q, a) in [
            ("Posso ajudar em algo mais?", "Não, obrigado"),
            ("Mais alguma coisa?", "nao"),
            ("Precisa de mais alguma coisa?", "só isso mesmo"),
            ("Can I help with anything else?", "nope, that's it"),
            ("Is there anything else?", "No thanks"),
            ("¿Puedo ayudarte en algo más?", "No, gracias"),
            ("¿Necesitas algo más?", "nada más"),
            ("algo mais?", "tudo certo"),
        ] {
            assert_eq!(answer(q, a), Some(1.0), "{q} / {a}");
        }
    }

    #[test]
    fn every_required_closing_question_and_negative_answer() {
        let questions = [
            "posso ajudar em algo mais?",
            "mais alguma coisa?",
            "algo mais?",
            "precisa de mais alguma coisa?",
            "anything else?",
            "can I help with anything else?",
            "is there anything else",
            "algo más?",
            "¿puedo ayudarte en algo más?",
            "¿necesitas algo más?",
        ];
        let answers = [
            "não",
            "nao",
            "não, obrigado",
            "só isso",
            "nada",
            "no",
            "nope",
            "no thanks",
            "that's it",
            "nada más",
            "no, gracias",
            "eso es todo",
            "tudo certo",
        ];
        for q in questions {
            for a in answers {
                assert_eq!(answer(q, a), Some(1.0), "{q} / {a}");
            }
        }
    }

    #[test]
    fn other_answers() {
        let q = "Posso ajudar em algo mais?";
        assert_eq!(answer(q, "Obrigado!"), Some(0.8));
        assert_eq!(answer(q, "Sim, tenho outra dúvida"), Some(-0.7));
        assert_eq!(answer(q, "Meu boleto venceu ontem"), Some(-0.5));
        assert_eq!(answer(q, "Não recebi o código"), Some(-0.5));
        assert_eq!(answer(q, "Não, obrigado. Vou aguardar a entrega"), Some(0.5));
        assert_eq!(answer(q, "ok"), Some(0.8));
        assert_eq!(answer("Anything else?", "sure"), Some(0.8), "\"sure\" agrees, it asks nothing");
    }

    #[test]
    fn resolved_questions() {
        assert_eq!(answer("Consegui te ajudar?", "Sim, obrigado!"), Some(0.9));
        assert_eq!(answer("Deu certo?", "Tudo certo, valeu"), Some(0.9));
        assert_eq!(answer("Did that help?", "yes, thanks"), Some(0.9));
        assert_eq!(answer("Funcionou?", "Não, continua dando erro"), Some(-0.8));
    }

    #[test]
    fn no_signal_without_a_closing_question_or_answer() {
        assert_eq!(answer("Você recebeu o código?", "não"), None);
        let turns = [(Customer, "obrigado"), (Business, "Posso ajudar em algo mais?")];
        assert_eq!(value(&ClosingQuestionStrategy, &turns, 0), None);
    }

    #[test]
    fn first_answer_counts_and_later_turns_do_not_hide_it() {
        let turns = [
            (Business, "Algo mais?"),
            (Customer, "não"),
            (Customer, "obrigado"),
            (Business, "De nada, até mais!"),
        ];
        assert_eq!(value(&ClosingQuestionStrategy, &turns, 0), Some(1.0));
    }
}
