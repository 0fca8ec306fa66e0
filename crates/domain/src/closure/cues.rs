//! What the lexicons make of one message: farewells, requests, open questions, how it answers
//! a question, and whether it is itself a closing question.

use std::borrow::Cow;

use super::lexicon::{Cue, CueMatch, find_cues, is_filler, is_negator, is_tag};
use super::outbound::Commitment;
use super::qualifiers::qualify;
use super::text::NormalizedText;

/// How a customer message answers the agent's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Starts with a negative answer ("não", "no thanks", "nada más", "só isso").
    Decline {
        /// Nothing but closing words follow.
        only: bool,
    },
    /// Starts with a positive answer ("sim", "yes", "sí").
    Affirm,
    /// Thanks or says goodbye without answering yes or no ("Obrigado!").
    Farewell {
        /// Nothing but closing words follow.
        only: bool,
    },
    /// Only filler or acknowledgements ("ok", "entendi").
    FillerOnly,
    /// Anything else: a new topic, a question, a complaint.
    Other,
}

/// The kind of closing question an agent asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosingKind {
    /// "Anything else?": a negative answer closes.
    AnythingElse,
    /// "Did that solve it?": a positive answer closes.
    Resolved,
}

/// Something in a message that keeps the conversation open.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    /// How strongly it keeps the conversation open, `-1..0`.
    pub value: f64,
    /// What was found, for example `asks a question` or `makes a request ("preciso")`.
    pub description: String,
}

/// Everything found in one message. Built once per turn by the
/// [`ConversationView`](super::ConversationView).
#[derive(Debug, Clone, PartialEq)]
pub struct TurnCues {
    matches: Vec<CueMatch>,
    content: usize,
    open_question: bool,
    openings: Vec<Opening>,
    farewell: f64,
    farewell_phrases: Vec<String>,
    reply: Reply,
    closing_question: Option<ClosingKind>,
}

impl TurnCues {
    /// Analyzes a normalized message.
    #[must_use]
    pub fn analyze(text: &NormalizedText) -> Self {
        let tokens = text.tokens();
        let mut matches = find_cues(text);
        qualify(text, &mut matches);
        add_leading_decline(text, &mut matches);

        // Tokens that carry no content: filler, emoji, closing phrases, answers.
        let mut covered: Vec<bool> = tokens.iter().map(|t| t.emoji || is_filler(&t.key)).collect();
        let mut contrast = vec![false; tokens.len()];
        for m in &matches {
            let mask = if m.cue.is_closing() || m.cue == Cue::Affirm {
                &mut covered
            } else if m.cue == Cue::Contrast {
                &mut contrast
            } else {
                continue;
            };
            mask[m.start..m.end].iter_mut().for_each(|c| *c = true);
        }
        // A contrast only opens the conversation when something other than closing words
        // follows it: "obrigado, mas ainda tenho uma dúvida" but not "não, mas obrigado!".
        // content_after[i]: some token at or after i is content (neither covered nor contrast).
        let mut content_after = vec![false; tokens.len() + 1];
        for i in (0..tokens.len()).rev() {
            content_after[i] = content_after[i + 1] || !(covered[i] || contrast[i]);
        }
        matches.retain(|m| {
            let idle = m.cue == Cue::Contrast && !content_after[m.end];
            if idle {
                covered[m.start..m.end].iter_mut().for_each(|c| *c = true);
            }
            !idle
        });
        let content = covered.iter().filter(|c| !**c).count();

        let open_question = text
            .clauses()
            .iter()
            .any(|c| c.question && !tokens[c.start..c.end].iter().all(|t| is_tag(&t.key)));
        let openings = openings(open_question, &matches);
        let (farewell, farewell_phrases) = farewell(&matches, &covered);
        let reply = reply(text, &matches, &covered, content, !openings.is_empty());
        let closing_question = closing_question(text, &matches);
        Self {
            matches,
            content,
            open_question,
            openings,
            farewell,
            farewell_phrases,
            reply,
            closing_question,
        }
    }

    /// Every lexicon phrase found, in message order.
    #[must_use]
    pub fn matches(&self) -> &[CueMatch] {
        &self.matches
    }

    /// Whether a phrase of this cue was found.
    #[must_use]
    pub fn has(&self, cue: Cue) -> bool {
        self.matches.iter().any(|m| m.cue == cue)
    }

    /// Number of tokens that are neither filler, emoji nor part of a closing phrase.
    #[must_use]
    pub fn content_tokens(&self) -> usize {
        self.content
    }

    /// Whether the message asks a real question (a `?` clause that is not just a tag such as
    /// "tá?" or "ok?").
    #[must_use]
    pub fn open_question(&self) -> bool {
        self.open_question
    }

    /// What keeps the conversation open, if anything: a question, request, problem,
    /// contrast or waiting for a reply.
    #[must_use]
    pub fn openings(&self) -> &[Opening] {
        &self.openings
    }

    /// How clearly the message says goodbye or thanks, `0..=1` (0: not at all). A farewell
    /// buried in a long message with other content counts less.
    #[must_use]
    pub fn farewell(&self) -> f64 {
        self.farewell
    }

    /// The thanks/farewell phrases found, strongest first.
    #[must_use]
    pub fn farewell_phrases(&self) -> &[String] {
        &self.farewell_phrases
    }

    /// How the message would answer a question of the agent.
    #[must_use]
    pub fn reply(&self) -> Reply {
        self.reply
    }

    /// Whether the message is a closing question, and of which kind. Short phrases
    /// ("algo mais") need a `?`; long ones ("posso ajudar em algo mais") may instead end their
    /// clause.
    #[must_use]
    pub fn closing_question(&self) -> Option<ClosingKind> {
        self.closing_question
    }

    /// Whether the message says goodbye, is a courtesy formula or offers help for if the need
    /// arises ("de nada", "até mais", "you're welcome", "qualquer coisa, é só chamar"), as an
    /// agent's farewell. Thanks alone do not count: agents thank
    /// customers for waiting all the time.
    #[must_use]
    pub fn says_goodbye(&self) -> bool {
        self.has(Cue::Farewell) || self.has(Cue::Courtesy) || self.has(Cue::Conditional)
    }

    /// The next step the message, as the agent's, makes someone owe: an action asked of the
    /// customer, a follow-up promised, an offer or a question. `None` for acknowledgements,
    /// goodbyes and information. See [`Commitment`] and
    /// [`outbound_keeps_pending_closure`](super::outbound_keeps_pending_closure).
    #[must_use]
    pub fn commitment(&self) -> Option<Commitment> {
        Commitment::of(self)
    }
}

/// "Não", "no" or "nada" opening the message and followed by its clause's end, another
/// negator or a closing word is a decline ("Não obrigado", "No no, all good").
fn add_leading_decline(text: &NormalizedText, matches: &mut Vec<CueMatch>) {
    let tokens = text.tokens();
    let Some(first) = tokens.first() else { return };
    if !is_negator(&first.key) || matches.iter().any(|m| m.start == 0 && m.cue.is_closing()) {
        return;
    }
    let next_closes = tokens.get(1).is_some_and(|next| {
        is_negator(&next.key)
            || matches.iter().any(|m| m.start == 1 && m.cue.is_closing() && m.cue != Cue::Ack)
    });
    if text.ends_clause(0) || next_closes {
        matches.insert(
            0,
            CueMatch {
                cue: Cue::Decline,
                phrase: Cow::Owned(first.word.clone()),
                start: 0,
                end: 1,
                strength: 1.0,
            },
        );
    }
}

/// At most this many openings are reported per message.
const MAX_OPENINGS: usize = 8;

fn openings(open_question: bool, matches: &[CueMatch]) -> Vec<Opening> {
    let mut out = Vec::new();
    if open_question {
        out.push(Opening { value: -1.0, description: "asks a question".to_owned() });
    }
    for m in matches.iter().filter(|m| m.cue.is_opening()) {
        if out.len() >= MAX_OPENINGS {
            break;
        }
        let quoted = format!("\"{}\"", m.phrase);
        if out.iter().any(|o| o.description.contains(&quoted)) {
            continue;
        }
        let what = match m.cue {
            Cue::Request => "makes a request",
            Cue::Instruction => "asks for something to be done",
            Cue::Problem => "reports a problem",
            Cue::Contrast => "adds a \"but\"",
            Cue::AdvanceThanks => "thanks in advance for help still to come",
            Cue::SarcasticThanks => "thanks sarcastically",
            _ => "waits for a reply",
        };
        out.push(Opening { value: -m.strength, description: format!("{what} ({quoted})") });
    }
    out
}

/// Resolutions at least this strong say the issue is solved ("deu certo", "that did it",
/// "já funcionou"), not merely that all is well ("tudo certo").
pub(crate) const SOLVED: f64 = 0.9;

fn farewell(matches: &[CueMatch], covered: &[bool]) -> (f64, Vec<String>) {
    let mut found: Vec<&CueMatch> =
        matches.iter().filter(|m| m.cue.is_farewell() || m.cue == Cue::Ack).collect();
    let (Some(first), Some(last)) = (found.iter().map(|m| m.start).min(), found.iter().map(|m| m.end).max())
    else {
        return (0.0, Vec::new());
    };
    found.sort_by(|a, b| b.strength.total_cmp(&a.strength));
    // A solved issue acknowledged or praised ("massa, deu certo", "perfect, that did it",
    // "genial, ya funciona") is as clear a goodbye as thanks.
    let solved = found.iter().any(|m| m.cue == Cue::Resolution && m.strength >= SOLVED);
    let acknowledged = found.iter().any(|m| matches!(m.cue, Cue::Ack | Cue::Praise));
    let strength = if solved && acknowledged { 1.0 } else { found.first().map_or(0.0, |m| m.strength) };
    let leading = covered[..first].iter().filter(|c| !**c).count();
    let trailing = covered[last..].iter().filter(|c| !**c).count();
    let factor = if leading > 8 || trailing > 4 { 0.6 } else { 1.0 };
    let mut phrases: Vec<String> = Vec::new();
    for m in found {
        if !phrases.iter().any(|p| *p == m.phrase) {
            phrases.push(m.phrase.to_string());
        }
    }
    (strength * factor, phrases)
}

fn reply(
    text: &NormalizedText,
    matches: &[CueMatch],
    covered: &[bool],
    content: usize,
    opening: bool,
) -> Reply {
    let Some(clause) = text.clauses().first() else {
        return Reply::Other;
    };
    if matches.iter().any(|m| m.cue == Cue::Affirm && m.start == 0) {
        return Reply::Affirm;
    }
    let only = content == 0 && !opening;
    let first_covered = covered[clause.start..clause.end].iter().all(|c| *c);
    let in_first = |m: &CueMatch| m.start < clause.end;
    if first_covered && matches.iter().any(|m| m.cue == Cue::Decline && in_first(m)) {
        Reply::Decline { only }
    } else if first_covered && matches.iter().any(|m| m.cue.is_farewell()) {
        Reply::Farewell { only }
    } else if only {
        Reply::FillerOnly
    } else {
        Reply::Other
    }
}

fn closing_question(text: &NormalizedText, matches: &[CueMatch]) -> Option<ClosingKind> {
    matches
        .iter()
        .filter(|m| {
            let question = text
                .tokens()
                .get(m.start)
                .and_then(|t| text.clauses().get(t.clause))
                .is_some_and(|c| c.question);
            match m.cue {
                Cue::ClosingQuestion => question || (m.len() >= 4 && text.ends_clause(m.end - 1)),
                Cue::ResolvedQuestion => question,
                _ => false,
            }
        })
        .max_by_key(|m| m.start)
        .map(|m| match m.cue {
            Cue::ResolvedQuestion => ClosingKind::Resolved,
            _ => ClosingKind::AnythingElse,
        })
}

#[cfg(test)]
mod tests {
    use super::super::text::normalize;
    use super::*;

    fn analyze(text: &str) -> TurnCues {
        TurnCues::analyze(&normalize(text))
    }

    #[test]
    fn pure_farewell() {
        let cues = analyze("Não, obrigado! Tchau 👋");
        assert_eq!(cues.reply(), Reply::Decline { only: true });
        assert_eq!(cues.farewell(), 1.0);
        assert!(cues.openings().is_empty());
        assert_eq!(cues.content_tokens(), 0);
    }

    #[test]
    fn thanks_then_but_opens() {
        let cues = analyze("obrigado, mas ainda tenho uma dúvida");
        assert!(cues.farewell() > 0.0);
        assert!(cues.openings().iter().any(|o| o.description.contains("but")));
        assert!(cues.openings().iter().any(|o| o.description.contains("ainda tenho")));
        assert_eq!(cues.reply(), Reply::Farewell { only: false });
    }

    #[test]
    fn but_followed_by_thanks_is_harmless() {
        let cues = analyze("Não, mas obrigado pela ajuda!");
        assert!(cues.openings().is_empty(), "{:?}", cues.openings());
        assert_eq!(cues.reply(), Reply::Decline { only: true });
    }

    #[test]
    fn questions_and_tags() {
        assert!(analyze("tchau? como assim?").open_question());
        assert!(!analyze("Vou aguardar então, tá? Obrigado!").open_question());
        assert!(analyze("oi, tudo bem?").open_question());
    }

    #[test]
    fn negation_statement_is_not_a_decline() {
        let cues = analyze("não quero cancelar");
        assert_eq!(cues.reply(), Reply::Other);
        assert!(cues.openings().iter().any(|o| o.description.contains("quero")));
        assert_eq!(analyze("Não obrigado").reply(), Reply::Decline { only: true });
        assert_eq!(analyze("Não recebi o código").reply(), Reply::Other);
        assert_eq!(analyze("nada, valeu").reply(), Reply::Decline { only: true });
    }

    #[test]
    fn affirm_and_filler_replies() {
        assert_eq!(analyze("Sim, tenho outra dúvida").reply(), Reply::Affirm);
        assert_eq!(analyze("yes please").reply(), Reply::Affirm);
        assert_eq!(analyze("ok").reply(), Reply::FillerOnly);
        assert_eq!(analyze("Obrigado!").reply(), Reply::Farewell { only: true });
    }

    #[test]
    fn farewell_in_long_message_counts_less() {
        let short = analyze("Perfeito, obrigado!").farewell();
        let long = analyze(
            "Obrigado, vou transferir o valor amanhã cedo pelo aplicativo do banco e mando o comprovante",
        )
        .farewell();
        assert_eq!(short, 1.0);
        assert!(long < short, "{long}");
    }

    #[test]
    fn closing_questions() {
        let kind = |t: &str| analyze(t).closing_question();
        assert_eq!(kind("Posso ajudar em algo mais?"), Some(ClosingKind::AnythingElse));
        assert_eq!(kind("Posso ajudar em algo mais"), Some(ClosingKind::AnythingElse));
        assert_eq!(kind("Anything else?"), Some(ClosingKind::AnythingElse));
        assert_eq!(kind("¿Necesitas algo más?"), Some(ClosingKind::AnythingElse));
        assert_eq!(kind("Consegui te ajudar?"), Some(ClosingKind::Resolved));
        assert_eq!(kind("Vou verificar algo mais e te retorno"), None);
        assert_eq!(kind("Seu pedido foi enviado."), None);
    }

    #[test]
    fn anticipatory_and_sarcastic_thanks_open() {
        for text in ["Agradeço desde já!", "Thanks in advance", "Gracias por nada", "thanks for nothing"] {
            let cues = analyze(text);
            assert_eq!(cues.farewell(), 0.0, "{text}");
            assert!(cues.openings().iter().any(|o| o.value <= -0.9), "{text}: {:?}", cues.openings());
            assert_eq!(cues.reply(), Reply::Other, "{text}");
        }
    }

    #[test]
    fn solved_and_acknowledged_is_a_full_farewell() {
        assert_eq!(analyze("massa, funcionou 👏").farewell(), 1.0);
        assert_eq!(analyze("perfect, that did the trick").farewell(), 1.0);
        assert_eq!(analyze("funcionou").farewell(), 0.9, "solved alone stays a little weaker");
        assert_eq!(analyze("ok, tudo certo").farewell(), 0.6, "all is well is not solved");
        assert_eq!(analyze("Você salvou meu dia!").reply(), Reply::Farewell { only: true });
    }

    #[test]
    fn agent_goodbye() {
        assert!(analyze("De nada, até mais!").says_goodbye());
        assert!(analyze("You're welcome!").says_goodbye());
        assert!(!analyze("Obrigado por aguardar, seu pedido foi liberado.").says_goodbye());
        assert!(analyze("Qualquer coisa, é só chamar").says_goodbye());
    }
}
