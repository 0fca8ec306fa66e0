//! Thanks or goodbye in the customer's last message.

use super::super::{ClosureConfig, ClosureStrategy, ConversationView, Signal, Speaker};
use super::{FAREWELL, quote};

/// Positive when the customer's last message thanks or says goodbye ("obrigado", "tchau",
/// "até mais", "thanks", "bye", "gracias", "adiós", 👋 🙏 👍...) or praises ("salvou meu
/// dia", "you're a lifesaver"). The value is the strength of the strongest phrase (1 for
/// "obrigado", 0.55 for 😊, 0.45 for a bare "ok"; 1 for a solved issue acknowledged, "massa,
/// deu certo"), lowered when the farewell is buried in a long message about something else.
/// A goodbye split over several messages ("Obrigado!" then "Tchau") counts as a whole; a bare
/// acknowledgement ("tá bom", "ok") of the agent's goodbye counts `0.8`, a farewell in return
/// `1`. See [`ConversationView::customer_farewell`].
///
/// Thanks that are not a goodbye give no signal: thanks in advance ("obrigado desde já") and
/// sarcastic thanks ("valeu por nada") are openings (see
/// [`OpenRequestStrategy`](super::OpenRequestStrategy)).
#[derive(Debug, Clone, Copy, Default)]
pub struct FarewellStrategy;

impl ClosureStrategy for FarewellStrategy {
    fn name(&self) -> &'static str {
        FAREWELL
    }

    fn evaluate(&self, view: &ConversationView<'_>, config: &ClosureConfig) -> Option<Signal> {
        let turn = view.last_of(Speaker::Customer)?;
        let acknowledges_goodbye = view.acknowledges_agent_goodbye();
        let value = view.customer_farewell();
        if value <= 0.0 {
            return None;
        }
        if !acknowledges_goodbye && value > turn.cues.farewell() {
            let detail =
                format!("customer said farewell over several messages, the last \"{}\"", turn.text.trim());
            return Some(Signal::new(FAREWELL, config.weights.farewell, value, detail));
        }
        let ack_only = !turn.cues.matches().iter().any(|m| m.cue.is_farewell());
        let what = if acknowledges_goodbye {
            "customer acknowledged the agent's goodbye"
        } else if ack_only {
            "customer acknowledged"
        } else {
            "customer said farewell"
        };
        let phrases = turn.cues.farewell_phrases();
        let detail = if phrases.is_empty() {
            format!("{what} (\"{}\")", turn.text.trim())
        } else {
            format!("{what} ({})", quote(phrases, 3))
        };
        Some(Signal::new(FAREWELL, config.weights.farewell, value, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{run, value};
    use super::*;
    use Speaker::{Business, Customer};

    #[test]
    fn thanks_and_goodbyes() {
        for text in ["Obrigadooo!", "valeu, tchauuu", "ATÉ MAIS!!", "thanks!", "¡Muchas gracias!", "👋🏽"]
        {
            assert_eq!(value(&FarewellStrategy, &[(Customer, text)], 0), Some(1.0), "{text}");
        }
        let signal = run(&FarewellStrategy, &[(Customer, "Obrigado, tchau")], 0).unwrap();
        assert_eq!(signal.detail, "customer said farewell (\"obrigado\", \"tchau\")");
        assert_eq!(signal.weight, 0.35);
    }

    #[test]
    fn every_required_farewell_phrase_is_recognized() {
        for text in [
            "obrigado",
            "obrigada",
            "obg",
            "brigado",
            "vlw",
            "valeu",
            "tchau",
            "até mais",
            "até logo",
            "até amanhã",
            "falou",
            "flw",
            "abraço",
            "resolvido",
            "era só isso",
            "só isso mesmo",
            "perfeito, obrigado",
            "thanks",
            "thank you",
            "thx",
            "ty",
            "bye",
            "goodbye",
            "see you",
            "that's all",
            "all good",
            "have a nice day",
            "cheers",
            "gracias",
            "muchas gracias",
            "adiós",
            "adios",
            "hasta luego",
            "hasta pronto",
            "chao",
            "nos vemos",
            "eso es todo",
            "👋",
            "🙏",
            "👍",
            "✅",
            "😊",
            "👋🏿",
            "🙏🏼",
            "👍🏽",
            "✅️",
        ] {
            let v = value(&FarewellStrategy, &[(Customer, text)], 0).unwrap_or(0.0);
            assert!(v >= 0.5, "{text}: {v}");
            let shouted = format!("{}!!", text.to_uppercase());
            assert_eq!(value(&FarewellStrategy, &[(Customer, &shouted)], 0), Some(v), "{shouted}");
        }
    }

    #[test]
    fn weak_cues_count_less() {
        let smile = value(&FarewellStrategy, &[(Customer, "😊")], 0).unwrap();
        let ok = run(&FarewellStrategy, &[(Customer, "ok, entendi")], 0).unwrap();
        assert!(smile < 1.0 && ok.value < smile);
        assert!(ok.detail.starts_with("customer acknowledged"));
    }

    #[test]
    fn acknowledging_the_agents_goodbye() {
        let turns = [(Business, "Qualquer coisa, estamos à disposição!"), (Customer, "Tá bom")];
        let signal = run(&FarewellStrategy, &turns, 0).unwrap();
        assert_eq!(signal.value, 0.8);
        assert!(signal.detail.starts_with("customer acknowledged the agent's goodbye"));
    }

    #[test]
    fn only_the_customers_last_message_counts() {
        let turns = [(Customer, "obrigado"), (Customer, "quero cancelar meu plano")];
        assert_eq!(value(&FarewellStrategy, &turns, 0), None);
        assert_eq!(value(&FarewellStrategy, &[(Business, "Obrigado pelo contato!")], 0), None);
        assert_eq!(value(&FarewellStrategy, &[(Customer, "tchauzinho")], 0), Some(1.0));
        assert_eq!(value(&FarewellStrategy, &[(Customer, "bom dia")], 0), None);
    }

    #[test]
    fn praise_and_solved_issues_are_farewells() {
        for text in ["Vocês são demais!", "you're a lifesaver", "Me salvaste el día", "show, deu certo 👏"]
        {
            assert_eq!(value(&FarewellStrategy, &[(Customer, text)], 0), Some(1.0), "{text}");
        }
    }

    #[test]
    fn thanks_that_are_no_goodbye_give_no_signal() {
        for text in ["Obrigado desde já pela atenção", "thanks for nothing", "gracias de antemano"] {
            assert_eq!(value(&FarewellStrategy, &[(Customer, text)], 0), None, "{text}");
        }
    }

    #[test]
    fn goodbye_over_two_messages() {
        let signal = run(&FarewellStrategy, &[(Customer, "Obrigado!"), (Customer, "ok")], 0).unwrap();
        assert_eq!(signal.value, 1.0);
        assert_eq!(signal.detail, "customer said farewell over several messages, the last \"ok\"");
    }
}
