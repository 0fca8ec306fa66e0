//! What a conversation still owes after the agent's latest message: a conversation is not
//! over while someone owes the next step, however politely the customer acknowledges.

use super::Speaker;
use super::cues::{Reply, SOLVED, TurnCues};
use super::lexicon::{Cue, is_negator};
use super::outbound::Commitment;
use super::view::{ConversationView, ViewTurn};

/// A next step still owed. See [`ConversationView::owed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    /// Who owes it: the business (a follow-up it promised, an offer the customer took up) or
    /// the customer (something the agent asked them to do or send).
    pub by: Speaker,
    /// What is owed, in English, for example `agent said they would come back ("vou verificar")`.
    pub detail: String,
}

impl ConversationView<'_> {
    /// The step still owed after the agent's latest message, if any:
    ///
    /// * the agent promised to come back ([`Commitment::FollowUp`]), whoever spoke since,
    ///   unless the customer waived it ("não precisa", "no need") or reported the matter
    ///   solved;
    /// * the agent asked the customer to do or send something
    ///   ([`Commitment::ActionRequest`]) and the customer has not answered, or only
    ///   acknowledged ("ok, valeu", "sure thing, thanks", "dale, gracias"): no content, no
    ///   media, no "done";
    /// * the customer took up the agent's offer ([`Commitment::Offer`]) with a yes or an "ok".
    #[must_use]
    pub fn owed(&self) -> Option<Owed> {
        let index = self.last_index_of(Speaker::Business)?;
        let agent = &self.turns()[index].cues;
        let replies = &self.turns()[index + 1..];
        let phrase = |cue: Cue| agent.matches().iter().find(|m| m.cue == cue).map_or("", |m| &m.phrase);
        match agent.commitment()? {
            Commitment::FollowUp if !replies.iter().any(releases_follow_up) => Some(Owed {
                by: Speaker::Business,
                detail: format!("agent said they would come back (\"{}\")", phrase(Cue::Pending)),
            }),
            Commitment::ActionRequest if replies.iter().all(only_acknowledges) => {
                let since = if replies.is_empty() { "" } else { "; the customer only acknowledged" };
                Some(Owed {
                    by: Speaker::Customer,
                    detail: format!(
                        "agent asked the customer for something (\"{}\"){since}",
                        phrase(Cue::Instruction)
                    ),
                })
            }
            Commitment::Offer if replies.first().is_some_and(|t| accepts(&t.cues)) => Some(Owed {
                by: Speaker::Business,
                detail: format!("customer took up the agent's offer (\"{}\")", phrase(Cue::Offer)),
            }),
            _ => None,
        }
    }
}

/// Whether a customer turn waives a promised follow-up ("não precisa, obrigado", "no need")
/// or makes it moot by reporting the matter solved ("já funcionou aqui").
fn releases_follow_up(turn: &ViewTurn<'_>) -> bool {
    let cues = &turn.cues;
    let waives = matches!(cues.reply(), Reply::Decline { .. })
        && turn.normalized.tokens().first().is_some_and(|t| is_negator(&t.key));
    let solved = cues.matches().iter().any(|m| m.cue == Cue::Resolution && m.strength >= SOLVED);
    cues.openings().is_empty() && (waives || solved)
}

/// Whether a customer turn only acknowledges what the agent asked for, without doing it: an
/// "ok", thanks or a yes with nothing else. A media message (no text) or a "done" ("feito",
/// "listo", "that worked") does something.
fn only_acknowledges(turn: &ViewTurn<'_>) -> bool {
    let cues = &turn.cues;
    !turn.normalized.is_empty()
        && cues.content_tokens() == 0
        && cues.openings().is_empty()
        && !cues.has(Cue::Resolution)
        && matches!(cues.reply(), Reply::FillerOnly | Reply::Affirm | Reply::Farewell { only: true })
}

/// Whether a reply takes up an offer: it starts with a yes or an acknowledgement ("sim",
/// "sure", "ok") and declines nothing. Thanks alone ("Obrigado!") decline politely.
fn accepts(cues: &TurnCues) -> bool {
    let leading_ack = cues.matches().iter().any(|m| m.start == 0 && m.cue == Cue::Ack);
    (cues.reply() == Reply::Affirm || leading_ack) && !cues.has(Cue::Decline)
}

#[cfg(test)]
mod tests {
    use super::super::Turn;
    use super::super::strategies::test_support::at;
    use super::*;
    use Speaker::{Business, Customer};

    fn owed(turns: &[(Speaker, &str)]) -> Option<Owed> {
        let turns: Vec<Turn<'_>> =
            turns.iter().zip(0..).map(|((speaker, text), i)| Turn::new(*speaker, text, at(30 * i))).collect();
        ConversationView::new(&turns, 6, at(600)).owed()
    }

    #[test]
    fn promised_follow_up_is_owed_by_the_business() {
        for reply in ["ok, valeu", "Sure thing, thanks!", "dale, gracias", "👍"] {
            let found = owed(&[(Business, "Vou consultar o estoque e já te retorno"), (Customer, reply)]);
            assert_eq!(found.map(|o| o.by), Some(Business), "{reply}");
        }
        let found = owed(&[(Customer, "e meu pedido?"), (Business, "I'll get back to you shortly")]).unwrap();
        assert_eq!(found.detail, "agent said they would come back (\"i'll get back to you\")");
    }

    #[test]
    fn a_waived_or_moot_follow_up_is_not_owed() {
        for reply in ["Não precisa, obrigado", "No need, thanks", "Ah, já funcionou aqui. Valeu!"] {
            assert_eq!(owed(&[(Business, "Vou verificar e te retorno"), (Customer, reply)]), None, "{reply}");
        }
        assert_eq!(owed(&[(Business, "Vou encaminhar ao financeiro. Até mais!"), (Customer, "ok")]), None);
    }

    #[test]
    fn acknowledged_action_request_is_owed_by_the_customer() {
        for (request, reply) in [
            ("Me manda o número do pedido?", "ok, valeu"),
            ("Can you send a screenshot?", "sure, thanks"),
            ("¿Me pasa su número de cliente?", "sí, gracias"),
            ("Envie uma foto da nota fiscal, por favor.", "Tá bom"),
        ] {
            let found = owed(&[(Business, request), (Customer, reply)]);
            assert_eq!(found.map(|o| o.by), Some(Customer), "{request} / {reply}");
        }
        assert_eq!(owed(&[(Business, "Please send a screenshot")]).map(|o| o.by), Some(Customer));
    }

    #[test]
    fn an_action_done_is_not_owed() {
        for reply in ["É o 48213, obrigado", "", "That worked, thanks!", "Listo, ya funciona"] {
            let found = owed(&[(Business, "Reinicie o roteador e me diga se funcionou"), (Customer, reply)]);
            assert_eq!(found, None, "{reply:?}");
        }
        assert_eq!(owed(&[(Business, "Se precisar, me manda uma mensagem."), (Customer, "ok, valeu")]), None);
    }

    #[test]
    fn accepted_offer_is_owed_by_the_business() {
        let offer = "Would you like to upgrade to the annual plan?";
        assert_eq!(owed(&[(Business, offer), (Customer, "sure, thanks")]).map(|o| o.by), Some(Business));
        assert_eq!(owed(&[(Business, offer), (Customer, "yes please")]).map(|o| o.by), Some(Business));
        assert_eq!(owed(&[(Business, offer), (Customer, "No thanks, bye")]), None);
        assert_eq!(owed(&[(Business, offer), (Customer, "Thanks!")]), None);
        assert_eq!(owed(&[(Business, offer)]), None, "an offer nobody took up owes nothing");
    }
}
