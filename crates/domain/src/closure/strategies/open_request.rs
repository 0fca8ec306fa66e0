//! Open questions, new requests and complaints in the customer's last message.

use super::super::{ClosureConfig, ClosureStrategy, ConversationView, Signal, Speaker};
use super::OPEN_REQUEST;

/// Negative when the customer's last message keeps the conversation open: a real question
/// (`-1`, "tchau? como assim?"), a request or new topic ("preciso", "quero", "can you",
/// "necesito", "outra dúvida": `-0.9`), a problem ("não funcionou", "still doesn't work",
/// "todavía no": `-0.9`), a "but" followed by more than thanks ("obrigado, mas...": `-0.9`) or
/// waiting for a reply ("fico no aguardo": `-0.8`). With the default
/// [`veto_at`](super::super::ClosureConfig::veto_at) of `-0.8` these veto closing.
///
/// When the agent has written since, the request may have been handled, so the value is
/// halved (no longer a veto): the other factors decide.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenRequestStrategy;

impl ClosureStrategy for OpenRequestStrategy {
    fn name(&self) -> &'static str {
        OPEN_REQUEST
    }

    fn evaluate(&self, view: &ConversationView<'_>, config: &ClosureConfig) -> Option<Signal> {
        let index = view.last_index_of(Speaker::Customer)?;
        let openings = view.turns()[index].cues.openings();
        let strongest = openings.iter().map(|o| o.value).reduce(f64::min)?;
        let found: Vec<&str> = openings.iter().take(3).map(|o| o.description.as_str()).collect();
        let answered = index + 1 < view.turns().len();
        let (value, since) =
            if answered { (strongest * 0.5, " (the agent has replied since)") } else { (strongest, "") };
        let detail = format!("customer's last message {}{since}", found.join(", "));
        Some(Signal::new(OPEN_REQUEST, config.weights.open_request, value, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, value};
    use super::*;
    use Speaker::{Business, Customer};

    fn open(text: &str) -> Option<f64> {
        value(&OpenRequestStrategy, &[(Customer, text)], 0)
    }

    #[test]
    fn required_hard_negatives_are_strongly_negative() {
        for text in [
            "obrigado, mas ainda tenho uma dúvida",
            "tchau? como assim?",
            "não quero cancelar",
            "thanks, but it still doesn't work",
            "gracias, pero todavía no funciona",
        ] {
            let v = open(text).unwrap_or(0.0);
            assert!(v <= -0.8, "{text}: {v}");
        }
    }

    #[test]
    fn pure_goodbyes_have_no_opening() {
        for text in [
            "Não, obrigado! Tchau 👋",
            "Não, mas obrigado pela ajuda!",
            "valeu, até mais",
            "ok, tá? obrigado",
        ] {
            assert_eq!(open(text), None, "{text}");
        }
    }

    #[test]
    fn detail_lists_what_was_found() {
        let signal = run(&OpenRequestStrategy, &[(Customer, "Obrigado, mas preciso do boleto")], 0).unwrap();
        assert!(signal.detail.contains("adds a \"but\" (\"mas\")"), "{}", signal.detail);
        assert!(signal.detail.contains("makes a request (\"preciso\")"), "{}", signal.detail);
    }

    #[test]
    fn agent_reply_halves_the_value() {
        let turns = [(Customer, "preciso da segunda via"), (Business, "Enviei no seu e-mail.")];
        assert_eq!(value(&OpenRequestStrategy, &turns, 0), Some(-0.45));
    }
}
