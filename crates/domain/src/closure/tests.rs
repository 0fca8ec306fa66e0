//! Detector-level tests: the strategies working together.

use chrono::Duration;

use super::strategies::test_support::at;
use super::*;
use Speaker::{Business, Customer};

fn assess_with(detector: &ClosureDetector, turns: &[(Speaker, &str)], quiet: i64) -> ClosureAssessment {
    let turns: Vec<Turn<'_>> =
        turns.iter().zip(0..).map(|((speaker, text), i)| Turn::new(*speaker, text, at(30 * i))).collect();
    let last = turns.last().map_or(at(0), |t| t.at);
    detector.assess(&turns, last + Duration::seconds(quiet))
}

fn assess(turns: &[(Speaker, &str)], quiet: i64) -> ClosureAssessment {
    assess_with(&ClosureDetector::new(ClosureConfig::default()), turns, quiet)
}

#[test]
fn empty_conversation_scores_zero() {
    let detector = ClosureDetector::new(ClosureConfig::default());
    let a = detector.assess(&[], at(0));
    assert_eq!(a.score, 0.0);
    assert!(!a.should_close);
    assert!(a.signals.is_empty());
}

#[test]
fn declined_closing_question_closes() {
    let a = assess(
        &[
            (Customer, "Meu pedido chegou, tudo certo"),
            (Business, "Que ótimo! Posso ajudar em algo mais?"),
            (Customer, "Não, obrigado! Tchau 👋"),
        ],
        60,
    );
    assert!(a.should_close, "{a:?}");
    assert!(a.score > 0.85 && a.score <= 1.0, "{a:?}");
    assert!(a.reason.starts_with("Close: "), "{}", a.reason);
    assert!(a.reason.contains("closing question"), "{}", a.reason);
    let factors: Vec<&str> = a.signals.iter().map(|s| s.factor.as_str()).collect();
    assert_eq!(factors, ["farewell", "closing_question", "quiet_time", "last_speaker"]);
}

#[test]
fn required_negatives_stay_open() {
    for text in ["obrigado, mas ainda tenho uma dúvida", "tchau? como assim?", "não quero cancelar"] {
        let a = assess(&[(Business, "Posso ajudar em algo mais?"), (Customer, text)], 3_600);
        assert!(!a.should_close, "{text}: {a:?}");
        assert!(a.reason.starts_with("Keep open"), "{}", a.reason);
    }
}

#[test]
fn weak_acknowledgement_needs_silence() {
    let turns = [(Business, "Seu pedido sai para entrega amanhã."), (Customer, "👍")];
    assert!(!assess(&turns, 0).should_close);
    assert!(assess(&turns, 600).should_close);
}

#[test]
fn unanswered_agent_question_vetoes() {
    let a = assess(&[(Customer, "valeu!"), (Business, "Antes de encerrar, qual o seu CPF?")], 3_600);
    assert!(!a.should_close);
    assert_eq!(a.reason, "Keep open: agent's question is still unanswered.");
}

#[test]
fn window_limits_what_is_seen() {
    let config = ClosureConfig { window: 1, ..ClosureConfig::default() };
    let detector = ClosureDetector::new(config);
    let turns = [(Business, "Algo mais?"), (Customer, "não")];
    let a = assess_with(&detector, &turns, 0);
    assert!(!a.should_close, "without the question, a bare no means nothing: {a:?}");
    assert_eq!(detector.config().window, 1);
}

#[test]
fn threshold_and_weights_are_honoured() {
    let strict = ClosureDetector::new(ClosureConfig { threshold: 1.0, ..ClosureConfig::default() });
    assert!(!assess_with(&strict, &[(Customer, "obrigado")], 0).should_close);

    let mut config = ClosureConfig::default();
    config.weights.open_request = 0.0;
    let lenient = ClosureDetector::new(config);
    let turns = [(Customer, "obrigado, mas ainda tenho uma dúvida")];
    assert!(!assess(&turns, 0).should_close);
    assert!(assess_with(&lenient, &turns, 0).should_close, "open_request switched off");
}

#[test]
fn invalid_config_does_not_panic() {
    let detector = ClosureDetector::new(ClosureConfig {
        threshold: f64::NAN,
        window: 0,
        quiet_after_seconds: 0,
        ..ClosureConfig::default()
    });
    let a = assess_with(&detector, &[(Customer, "obrigado")], 0);
    assert!(!a.should_close);
    let config = ClosureConfig {
        weights: FactorWeights {
            farewell: f64::NAN,
            closing_question: 0.0,
            open_request: 0.0,
            quiet_time: 0.0,
            last_speaker: 0.0,
            custom: Default::default(),
        },
        ..ClosureConfig::default()
    };
    let a = assess_with(&ClosureDetector::new(config), &[(Customer, "obrigado")], 0);
    assert_eq!(a.score, 0.0);
}

#[test]
fn strange_input_does_not_panic() {
    for text in ["", "   ", "?!?!", "🙏🏽🙏🏽🙏🏽", "\u{301}\u{301}", "ǅ İ ß ﬁ", "a\u{200d}b", "¿", "$$$"]
    {
        let a = assess(&[(Customer, text), (Business, text), (Customer, text)], 10);
        assert!((0.0..=1.0).contains(&a.score), "{text:?}");
    }
}

#[test]
fn default_strategy_names() {
    let detector = ClosureDetector::new(ClosureConfig::default());
    assert_eq!(
        detector.strategy_names(),
        ["farewell", "closing_question", "open_request", "quiet_time", "last_speaker"]
    );
}

#[test]
fn detector_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ClosureDetector>();
}

#[test]
fn speaker_serializes_snake_case() {
    assert_eq!(serde_json::to_string(&Speaker::Customer).unwrap(), "\"customer\"");
    assert_eq!(serde_json::from_str::<Speaker>("\"business\"").unwrap(), Speaker::Business);
}
