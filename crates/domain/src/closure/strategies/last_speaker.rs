//! Who spoke last, and what they said.

use super::super::{ClosureConfig, ClosureStrategy, ConversationView, Signal, Speaker};
use super::LAST_SPEAKER;

/// Looks at who owes the next message:
///
/// * a step is still owed after the agent's latest message (see
///   [`ConversationView::owed`]): `-0.9`, a veto with the default config, because the
///   customer's "ok, obrigado" only acknowledges it. The agent promised to come back ("um
///   momento", "vou verificar e te retorno", "I'll get back to you", "le aviso en un rato")
///   without a farewell; or asked the customer to do or send something ("me manda o
///   número do pedido?", "can you send a screenshot?", "¿me pasa su número de cliente?")
///   and the customer only acknowledged; or the customer took up the agent's offer;
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
        if let Some(owed) = view.owed() {
            return Some(Signal::new(LAST_SPEAKER, config.weights.last_speaker, -0.9, owed.detail));
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
        let turns = [(Business, "Le aviso en un rato."), (Customer, "dale, gracias")];
        assert_eq!(last(&turns), Some(-0.9));
    }

    #[test]
    fn agent_request_only_acknowledged() {
        let turns = [(Business, "Me manda o número do pedido?"), (Customer, "ok, valeu")];
        assert_eq!(last(&turns), Some(-0.9));
        let turns = [(Business, "Can you send a screenshot?"), (Customer, "Sent it, thanks!")];
        assert_eq!(last(&turns), Some(1.0), "sending it is doing it");
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
