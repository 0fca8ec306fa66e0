//! What an agent's message commits the conversation to, and the pending-closure rule for
//! outbound messages built on it.

use super::cues::TurnCues;
use super::lexicon::Cue;
use super::text::normalize;

/// A next step that an agent's message makes someone owe. See [`TurnCues::commitment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commitment {
    /// Asks the customer to do or send something ("me manda o número do pedido", "please send
    /// a screenshot", "envíeme una foto"), as a question or not: the customer owes it. A
    /// request made only for if the need arises ("se precisar, me manda uma mensagem") is not
    /// one.
    ActionRequest,
    /// Promises to come back ("vou verificar e te retorno", "I'll get back to you", "le aviso
    /// en un rato"): the business owes it. A promise in a farewell ("Vou encaminhar ao
    /// financeiro. Até mais!") hands the matter over instead and is not one; mere courtesy
    /// ("De nada! Vou verificar e te retorno", "qualquer dúvida, estou aqui") does not.
    FollowUp,
    /// Makes a new offer ("temos uma promoção", "would you like to upgrade", "le ofrecemos").
    Offer,
    /// Asks the customer anything else: any real question, "anything else?" included, expects
    /// an answer.
    Question,
}

impl Commitment {
    /// The commitment of an analyzed message, the most specific first: an action request, a
    /// follow-up, an offer, then any other question.
    pub(crate) fn of(cues: &TurnCues) -> Option<Self> {
        if cues.has(Cue::Instruction) {
            Some(Self::ActionRequest)
        } else if cues.has(Cue::Pending) && !cues.has(Cue::Farewell) {
            Some(Self::FollowUp)
        } else if cues.has(Cue::Offer) {
            Some(Self::Offer)
        } else if cues.open_question() || cues.closing_question().is_some() {
            Some(Self::Question)
        } else {
            None
        }
    }
}

/// Whether an agent's (business) message, sent while a closure is pending, keeps that pending
/// closure.
///
/// It keeps it unless the message makes someone owe a next step (a [`Commitment`]):
///
/// * it asks the customer something, any real question (a `?` clause that is more than a tag
///   such as "ok?"), "anything else?" / "algo mais?" included: it expects an answer;
/// * it makes a new offer ("temos uma promoção…", "would you like to upgrade…", "le
///   ofrecemos…");
/// * it promises a follow-up ("vou verificar e te retorno", "I'll get back to you", "le aviso
///   en un rato"), unless it also says farewell ("Até mais!"), which hands the matter over;
/// * it asks the customer to do or send something ("me manda o número do pedido", "please
///   send a screenshot", "envíeme una foto"), unless only for if the need arises ("se
///   precisar, me manda uma mensagem", "if the problem persists, send us a screenshot").
///
/// Acknowledgements, goodbyes and information ("De nada! Até mais 😊", "Your ticket number is
/// 4471.", "¡Que tenga buen día!") keep it. Phrases match as whole tokens after the same
/// normalization as the detector's, in pt-BR, en and es.
#[must_use]
pub fn outbound_keeps_pending_closure(text: &str) -> bool {
    TurnCues::analyze(&normalize(text)).commitment().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeps(texts: &[&str]) {
        for text in texts {
            assert!(outbound_keeps_pending_closure(text), "should keep the pending closure: {text}");
        }
    }

    fn cancels(texts: &[&str]) {
        for text in texts {
            assert!(!outbound_keeps_pending_closure(text), "should cancel the pending closure: {text}");
        }
    }

    #[test]
    fn portuguese_outbound() {
        keeps(&[
            "De nada! Até mais 😊",
            "Imagina, foi um prazer ajudar.",
            "O número do seu protocolo é 88213.",
            "Seu pedido será entregue amanhã.",
            "Obrigado pelo contato, tenha uma ótima semana!",
            "Se precisar de algo, é só me mandar uma mensagem.",
            "Vou encaminhar para o financeiro, eles cuidam do resto. Até logo!",
        ]);
        cancels(&[
            "Posso ajudar em algo mais?",
            "Temos uma promoção de fibra com 30% de desconto, quer conhecer?",
            "Vou consultar o estoque e te retorno em seguida.",
            "Me manda o número do pedido, por favor.",
            "Pode me enviar uma foto da etiqueta",
            "Tudo certo por aí?",
            "Um momento, estou verificando.",
        ]);
    }

    #[test]
    fn english_outbound() {
        keeps(&[
            "You're welcome! Have a great day.",
            "Your ticket number is 4471.",
            "Glad I could help, take care!",
            "The refund will show up within 5 business days.",
            "If the problem persists, just send us a message. Bye!",
            "Thanks for reaching out, see you!",
        ]);
        cancels(&[
            "Anything else?",
            "Would you like to upgrade to the annual plan?",
            "We have a special offer on premium this week, 20% off.",
            "I'll check with the warehouse and get back to you.",
            "Please send a screenshot of the error.",
            "Can you confirm the email on the account?",
            "Let me know if it works now.",
        ]);
    }

    #[test]
    fn spanish_outbound() {
        keeps(&[
            "¡Que tenga buen día!",
            "Con gusto, hasta luego.",
            "Su número de caso es 5521.",
            "El envío llega el jueves.",
            "Cualquier cosa, me escribes por aquí. ¡Saludos!",
            "Gracias por su paciencia, que tenga buena tarde.",
        ]);
        cancels(&[
            "¿Algo más en que pueda ayudarle?",
            "Le ofrecemos un mes gratis si renueva hoy.",
            "Lo consulto con el área técnica y le aviso en un rato.",
            "Envíeme una foto del producto, por favor.",
            "¿Me pasa su número de cliente?",
            "¿Le llegó el correo?",
        ]);
    }

    #[test]
    fn commitment_kinds() {
        let kind = |text: &str| TurnCues::analyze(&normalize(text)).commitment();
        assert_eq!(kind("Can you send a screenshot?"), Some(Commitment::ActionRequest));
        assert_eq!(kind("Vou verificar e já retorno"), Some(Commitment::FollowUp));
        assert_eq!(kind("De nada! Vou verificar e te retorno."), Some(Commitment::FollowUp));
        assert_eq!(kind("Vou encaminhar ao financeiro. Até mais!"), None, "a farewell hands it over");
        assert_eq!(kind("Would you like to try premium?"), Some(Commitment::Offer));
        assert_eq!(kind("Algo mais?"), Some(Commitment::Question));
        assert_eq!(kind("Tá bom, ok?"), None, "a tag question asks nothing");
        assert_eq!(kind("Seu pedido foi enviado."), None);
    }
}
