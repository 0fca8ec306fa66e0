//! Who spoke last, and what they said.

use super::super::lexicon::Cue;
use super::super::{ClosureConfig, ClosureStrategy, ConversationView, Signal, Speaker};
use super::LAST_SPEAKER;

/// Looks at who owes the next message:
///
/// * the agent's latest message promises to come back ("um momento", "vou verificar",
///   "let me check", "déjame revisar") without saying goodbye: `-0.9`, whoever spoke last
///   (a veto with the default config: the customer's "ok, obrigado" only acknowledges);
/// * the customer, closing (farewell, or declining the closing question): positive, the
///   strength of that closing;
/// * the agent, saying goodbye ("De nada, até mais!") after the customer closed: `1`;
///   saying goodbye on their own: `0.4`; writing anything else after the customer closed:
///   `0.3`;
/// * the agent, asking a question the customer has not answered: `-1` (a veto with the
///   default config), softened to `-0.3` for a closing question asked after the customer
///   already said goodbye, and to `-0.6` for any other closing question.
///
/// No signal otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastSpeakerStrategy;

impl ClosureStrategy for LastSpeakerStrategy {
    fn name(&self) -> &'static str {
        LAST_SPEAKER
    }

    fn evaluate(&self, view: &ConversationView<'_>, config: &ClosureConfig) -> Option<Signal> {
        let last = view.last()?;
        let pending = view.last_of(Speaker::Business).and_then(|b| {
            let promise = b.cues.matches().iter().find(|m| m.cue == Cue::Pending)?;
            (!b.cues.says_goodbye()).then_some(promise)
        });
        if let Some(promise) = pending {
            let detail = format!("agent said they would come back (\"{}\")", promise.phrase);
            return Some(Signal::new(LAST_SPEAKER, config.weights.last_speaker, -0.9, detail));
        }
        let customer_closing = view.customer_closing();
        let (value, detail) = match last.speaker {
            Speaker::Customer if customer_closing > 0.0 => {
                (customer_closing, "customer spoke last, closing the conversation")
            }
            Speaker::Customer => return None,
            Speaker::Business if last.cues.open_question() => {
                match (last.cues.closing_question(), customer_closing > 0.0) {
                    (Some(_), true) => (-0.3, "agent asked a closing question after the customer's farewell"),
                    (Some(_), false) => (-0.6, "agent's closing question is unanswered"),
                    (None, _) => (-1.0, "agent's question is still unanswered"),
                }
            }
            Speaker::Business if last.cues.says_goodbye() => {
                if customer_closing > 0.0 {
                    (1.0, "agent said goodbye after the customer's farewell")
                } else {
                    (0.4, "agent said goodbye")
                }
            }
            Speaker::Business if customer_closing > 0.0 => {
                (0.3, "agent wrote last, after the customer's farewell")
            }
            Speaker::Business => return None,
        };
        Some(Signal::new(LAST_SPEAKER, config.weights.last_speaker, value, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::value;
    use super::*;
    use Speaker::{Business, Customer};

    fn last(turns: &[(Speaker, &str)]) -> Option<f64> {
        value(&LastSpeakerStrategy, turns, 0)
    }

    #[test]
    fn customer_farewell_last() {
        assert_eq!(last(&[(Customer, "valeu, tchau")]), Some(1.0));
        assert_eq!(last(&[(Business, "Algo mais?"), (Customer, "não")]), Some(1.0));
        assert_eq!(last(&[(Customer, "valeu, mas e o reembolso?")]), None);
    }

    #[test]
    fn agent_goodbye_last() {
        assert_eq!(last(&[(Customer, "obrigado!"), (Business, "De nada, até mais!")]), Some(1.0));
        assert_eq!(last(&[(Customer, "quero cancelar"), (Business, "Cancelado. Até mais!")]), Some(0.4));
        assert_eq!(last(&[(Customer, "obrigado!"), (Business, "Protocolo 123.")]), Some(0.3));
    }

    #[test]
    fn agent_promise_to_come_back() {
        let turns = [(Business, "Estamos verificando, só um momento."), (Customer, "Ok, obrigado")];
        assert_eq!(last(&turns), Some(-0.9));
        assert_eq!(
            last(&[(Customer, "cadê meu pedido"), (Business, "Let me check that for you")]),
            Some(-0.9)
        );
        let turns = [(Business, "Vou encaminhar ao financeiro. Até mais!"), (Customer, "ok, obrigado")];
        assert_eq!(last(&turns), Some(1.0));
    }

    #[test]
    fn agent_question_last() {
        assert_eq!(
            last(&[(Customer, "meu pedido atrasou"), (Business, "Qual o número do pedido?")]),
            Some(-1.0)
        );
        assert_eq!(last(&[(Customer, "obrigado!"), (Business, "Por nada! Algo mais?")]), Some(-0.3));
        assert_eq!(
            last(&[(Customer, "meu pedido chegou"), (Business, "Posso ajudar em algo mais?")]),
            Some(-0.6)
        );
        assert_eq!(
            last(&[(Customer, "meu pedido atrasou"), (Business, "Seu pedido está em separação.")]),
            None
        );
    }
}
