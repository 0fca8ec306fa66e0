//! Silence since the last message, once someone said goodbye.

use super::super::{ClosureConfig, ClosureStrategy, ConversationView, Signal, Speaker};
use super::QUIET_TIME;

/// The longer the conversation stays quiet after a goodbye, the surer it is over: the value
/// ramps linearly from 0 at the last message to 1 at
/// [`quiet_after_seconds`](super::super::ClosureConfig::quiet_after_seconds) (by default the
/// [grace period](super::super::ClosureConfig::grace_seconds) of a pending closure, so the
/// sweep sees it in full). It is what turns a tentative goodbye (a bare 👍, "ok" after
/// "anything else?") into a closing once nothing followed it.
///
/// Only counts once the customer's last message closes (a farewell, or declining the closing
/// question) or the agent's last message says goodbye: silence alone, after a question or
/// in the middle of a conversation, says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuietTimeStrategy;

impl ClosureStrategy for QuietTimeStrategy {
    fn name(&self) -> &'static str {
        QUIET_TIME
    }

    fn evaluate(&self, view: &ConversationView<'_>, config: &ClosureConfig) -> Option<Signal> {
        let agent_goodbye =
            view.last().is_some_and(|t| t.speaker == Speaker::Business && t.cues.says_goodbye());
        if view.customer_closing() <= 0.0 && !agent_goodbye {
            return None;
        }
        let quiet = view.quiet_seconds();
        #[allow(clippy::cast_precision_loss)]
        let value = if config.quiet_after_seconds == 0 {
            1.0
        } else {
            (quiet as f64 / config.quiet_after_seconds as f64).min(1.0)
        };
        let detail = format!(
            "quiet for {quiet}s after the goodbye (full confidence at {}s)",
            config.quiet_after_seconds
        );
        Some(Signal::new(QUIET_TIME, config.weights.quiet_time, value, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::value;
    use super::*;
    use Speaker::{Business, Customer};

    #[test]
    fn ramps_with_silence_after_goodbye() {
        let turns = [(Customer, "obrigado, tchau")];
        let full = i64::try_from(ClosureConfig::default().quiet_after_seconds).unwrap();
        assert_eq!(full, 120);
        assert_eq!(value(&QuietTimeStrategy, &turns, 0), Some(0.0));
        assert_eq!(value(&QuietTimeStrategy, &turns, full / 2), Some(0.5));
        assert_eq!(value(&QuietTimeStrategy, &turns, full), Some(1.0));
        assert_eq!(value(&QuietTimeStrategy, &turns, 86_400), Some(1.0));
    }

    #[test]
    fn agent_goodbye_counts_too() {
        let turns = [(Customer, "preciso do boleto"), (Business, "Enviado! Tenha um ótimo dia")];
        assert_eq!(value(&QuietTimeStrategy, &turns, 600), Some(1.0));
    }

    #[test]
    fn silence_without_goodbye_says_nothing() {
        assert_eq!(value(&QuietTimeStrategy, &[(Customer, "meu pedido não chegou")], 9_999), None);
        assert_eq!(value(&QuietTimeStrategy, &[(Customer, "obrigado, mas e o reembolso?")], 9_999), None);
        assert_eq!(value(&QuietTimeStrategy, &[(Business, "Qual o número do pedido?")], 9_999), None);
    }
}
