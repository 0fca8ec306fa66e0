//! Phrases whose meaning depends on a neighbour, applied to the lexicon's matches of one
//! message:
//!
//! * thanks next to an [`InAdvance`](Cue::InAdvance) marker ("obrigado desde já", "thanks in
//!   advance", "de antemano gracias") thank for help not given yet: they become an
//!   [`AdvanceThanks`](Cue::AdvanceThanks) opening;
//! * thanks followed by "for" and what the customer got instead of help ("valeu por nada",
//!   "thanks for wasting my time") are a complaint: they become a
//!   [`SarcasticThanks`](Cue::SarcasticThanks) opening;
//! * a request verb that says what thanks are for ("obrigado por *me informar*", "gracias por
//!   *enviarme* la factura") names something already done, not a request: it is dropped;
//! * a request, promise or wait governed by a [`Conditional`](Cue::Conditional) ("se precisar,
//!   me manda uma mensagem", "I'll let you know if anything changes") is only for if the need
//!   arises: it is dropped.

use std::borrow::Cow;

use super::lexicon::{Cue, CueMatch, is_filler, is_negator};
use super::text::NormalizedText;

/// At most this many filler tokens may sit between thanks and the word that qualifies them
/// ("thank you so much in advance").
const MAX_GAP: usize = 3;

/// At most this many words may sit between the "for" of sarcastic thanks and the grievance
/// ("thanks for making this so complicated").
const MAX_OBJECT_GAP: usize = 4;

/// Words that introduce what the thanks are for: "obrigado *pela*...", "thanks *for*...".
const FOR_WORDS: &[&str] = &["for", "por", "pela", "pelo", "pelas", "pelos"];

/// Conditional conjunctions that may also follow the clause they govern ("me manda uma
/// mensagem *se precisar*"). Fronted topics such as "qualquer coisa" only govern what follows.
const TRAILING_CONDITIONALS: &[&str] =
    &["se", "caso", "if", "should", "in", "si", "en", "anytime", "whenever"];

/// Applies every rule of this module to `matches` (sorted by start, as
/// [`find_cues`](super::lexicon::find_cues) returns them); the result stays sorted.
pub(crate) fn qualify(text: &NormalizedText, matches: &mut Vec<CueMatch>) {
    qualify_thanks(text, matches);
    drop_thanked_actions(text, matches);
    drop_conditional_requests(text, matches);
}

/// Turns thanks qualified by a neighbour into their opening cue.
fn qualify_thanks(text: &NormalizedText, matches: &mut Vec<CueMatch>) {
    let mut qualified = Vec::new();
    for thanks in matches.iter().filter(|m| m.cue == Cue::Thanks) {
        let sarcastic = matches
            .iter()
            .filter(|m| m.cue == Cue::NoHelp && m.start >= thanks.end)
            .find(|m| thanks_for(text, thanks.end, m.start))
            .map(|m| (Cue::SarcasticThanks, thanks.start, m.end));
        let in_advance = || {
            matches.iter().filter(|m| m.cue == Cue::InAdvance).find_map(|m| {
                // Next to the thanks in their clause ("obrigado desde já"), or as a clause of
                // its own ("Desde já, obrigado"): not "I paid in advance. Thanks!".
                let attached = same_clause(text, m, thanks) || stands_alone(text, m);
                if !attached {
                    None
                } else if m.start >= thanks.end && only_filler_between(text, thanks.end, m.start) {
                    Some((Cue::AdvanceThanks, thanks.start, m.end))
                } else if m.end <= thanks.start && only_filler_between(text, m.end, thanks.start) {
                    Some((Cue::AdvanceThanks, m.start, thanks.end))
                } else {
                    None
                }
            })
        };
        if let Some(found) = sarcastic.or_else(in_advance) {
            qualified.push(found);
        }
    }
    // "Mil gracias de antemano" qualifies both "mil gracias" and "gracias": keep the longest.
    qualified.sort_by_key(|&(_, start, end)| (start, std::cmp::Reverse(end)));
    let mut covered_to = 0;
    qualified.retain(|&(_, start, end)| {
        let keep = start >= covered_to;
        if keep {
            covered_to = end;
        }
        keep
    });
    for (cue, start, end) in qualified {
        // The qualified phrase replaces everything it spans: the thanks, its marker, and the
        // closing readings of the marker ("por nada" as "you're welcome", "nada" as a no).
        matches.retain(|m| m.end <= start || m.start >= end);
        let phrase = text.tokens()[start..end].iter().map(|t| t.word.as_str()).collect::<Vec<_>>().join(" ");
        let at = matches.partition_point(|m| m.start < start);
        matches.insert(at, CueMatch { cue, phrase: Cow::Owned(phrase), start, end, strength: 1.0 });
    }
}

/// Drops instructions that are the object of thanks: "obrigado por me enviar o link" thanks
/// for a link sent, it asks for nothing.
fn drop_thanked_actions(text: &NormalizedText, matches: &mut Vec<CueMatch>) {
    let tokens = text.tokens();
    let thanked: Vec<usize> = matches
        .iter()
        .filter(|m| m.cue == Cue::Thanks)
        .filter_map(|thanks| {
            let for_at = (thanks.end..tokens.len().min(thanks.end + MAX_GAP))
                .take_while(|&i| is_filler(&tokens[i].key))
                .find(|&i| FOR_WORDS.contains(&tokens[i].key.as_str()))?;
            Some(for_at + 1)
        })
        .collect();
    if !thanked.is_empty() {
        matches.retain(|m| m.cue != Cue::Instruction || !thanked.contains(&m.start));
    }
}

/// Whether two matches start in the same clause.
fn same_clause(text: &NormalizedText, a: &CueMatch, b: &CueMatch) -> bool {
    let tokens = text.tokens();
    tokens.get(a.start).map(|t| t.clause) == tokens.get(b.start).map(|t| t.clause)
}

/// Whether the match is its clause, but for filler ("Desde já, ...").
fn stands_alone(text: &NormalizedText, m: &CueMatch) -> bool {
    let tokens = text.tokens();
    let Some(clause) = tokens.get(m.start).and_then(|t| text.clauses().get(t.clause)) else {
        return false;
    };
    tokens[clause.start..m.start]
        .iter()
        .chain(&tokens[m.end.min(clause.end)..clause.end])
        .all(|t| is_filler(&t.key))
}

/// Whether tokens `from..to` are at most [`MAX_GAP`] filler words.
fn only_filler_between(text: &NormalizedText, from: usize, to: usize) -> bool {
    to >= from && to - from <= MAX_GAP && text.tokens()[from..to].iter().all(|t| is_filler(&t.key))
}

/// Whether tokens `from..to`, in one clause, say what thanks are for: filler up to a "for"
/// word, then at most [`MAX_OBJECT_GAP`] words, none a negator ("valeu *por* nada",
/// "thanks a lot *for* nothing", "thanks *for making this so* complicated"; not "obrigado por
/// não me fazer perder tempo").
fn thanks_for(text: &NormalizedText, from: usize, to: usize) -> bool {
    let tokens = text.tokens();
    let Some(between) = tokens.get(from..to) else { return false };
    let same_clause = from > 0 && tokens.get(to).is_some_and(|t| t.clause == tokens[from - 1].clause);
    let Some(for_at) = between.iter().position(|t| FOR_WORDS.contains(&t.key.as_str())) else {
        return false;
    };
    let object_gap = &between[for_at + 1..];
    same_clause
        && only_filler_between(text, from, from + for_at)
        && object_gap.len() <= MAX_OBJECT_GAP
        && !object_gap.iter().any(|t| is_negator(&t.key))
}

/// Drops the requests, promises and waits that a conditional governs: those after it in its
/// clause or in the next clause ("qualquer coisa, me avisa"), and those before a trailing
/// conditional in the same clause ("me manda uma mensagem se precisar").
fn drop_conditional_requests(text: &NormalizedText, matches: &mut Vec<CueMatch>) {
    let tokens = text.tokens();
    let clause_of = |m: &CueMatch| tokens.get(m.start).map_or(0, |t| t.clause);
    let conditionals: Vec<(usize, usize, bool)> = matches
        .iter()
        .filter(|m| m.cue == Cue::Conditional)
        .map(|m| {
            let trailing = TRAILING_CONDITIONALS.contains(&tokens[m.start].key.as_str());
            (m.start, clause_of(m), trailing)
        })
        .collect();
    if conditionals.is_empty() {
        return;
    }
    matches.retain(|m| {
        if !matches!(m.cue, Cue::Instruction | Cue::Waiting | Cue::Pending) {
            return true;
        }
        let clause = clause_of(m);
        !conditionals.iter().any(|&(start, governs, trailing)| {
            (clause == governs && (m.start > start || trailing)) || clause == governs + 1
        })
    });
}

#[cfg(test)]
mod tests {
    use super::super::lexicon::find_cues;
    use super::super::text::normalize;
    use super::*;

    fn cues(text: &str) -> Vec<(Cue, String)> {
        let normalized = normalize(text);
        let mut matches = find_cues(&normalized);
        qualify(&normalized, &mut matches);
        matches.into_iter().map(|m| (m.cue, m.phrase.into_owned())).collect()
    }

    fn has_cue(text: &str, cue: Cue) -> bool {
        cues(text).iter().any(|(c, _)| *c == cue)
    }

    #[test]
    fn thanks_next_to_an_in_advance_marker_are_for_help_not_given_yet() {
        for text in [
            "Fico grato desde já",
            "Desde já, obrigada!",
            "muito obrigado antecipadamente",
            "Thanks so much in advance!",
            "thank you in advance for looking",
            "Mil gracias de antemano",
            "Gracias por anticipado",
        ] {
            let found = cues(text);
            assert!(found.iter().any(|(c, _)| *c == Cue::AdvanceThanks), "{text}: {found:?}");
            assert!(!found.iter().any(|(c, _)| *c == Cue::Thanks), "{text}: {found:?}");
        }
        let found = cues("Obrigado desde já");
        assert_eq!(found, [(Cue::AdvanceThanks, "obrigado desde ja".to_owned())]);
    }

    #[test]
    fn in_advance_far_from_the_thanks_qualifies_nothing() {
        assert!(!has_cue("Obrigado! Paguei o boleto adiantado, desde já era isso", Cue::AdvanceThanks));
        assert!(!has_cue("I paid in advance. Thanks!", Cue::AdvanceThanks));
        assert!(has_cue("I paid in advance. Thanks!", Cue::Thanks));
    }

    #[test]
    fn thanks_for_nothing_is_a_complaint() {
        for text in [
            "Valeu por nada",
            "obrigado pela não-ajuda",
            "Thanks a lot for nothing.",
            "thanks for wasting my time",
            "Gracias por nada",
            "gracias por hacerme perder el tiempo",
            "obrigada por me fazer perder tempo",
            "Muito obrigado pelo descaso",
            "Oh great, thanks for making this so complicated",
        ] {
            let found = cues(text);
            assert!(found.iter().any(|(c, _)| *c == Cue::SarcasticThanks), "{text}: {found:?}");
            let closing = |c: &Cue| matches!(c, Cue::Thanks | Cue::Decline | Cue::Courtesy);
            assert!(!found.iter().any(|(c, _)| closing(c)), "{text}: {found:?}");
        }
    }

    #[test]
    fn thanks_then_nothing_else_is_still_thanks() {
        for text in [
            "Obrigado, nada mais",
            "thanks, nothing else",
            "Gracias, nada más",
            "Não, nada. Valeu",
            "Obrigado por não me fazer perder tempo!",
            "Thanks for the quick fix, no delay at all",
        ] {
            let found = cues(text);
            assert!(!found.iter().any(|(c, _)| *c == Cue::SarcasticThanks), "{text}: {found:?}");
            assert!(found.iter().any(|(c, _)| *c == Cue::Thanks), "{text}: {found:?}");
        }
    }

    #[test]
    fn thanks_for_an_action_ask_for_nothing() {
        for text in
            ["Obrigado por me informar!", "Obrigada por me enviar o link", "Gracias por enviarme la factura"]
        {
            assert!(!has_cue(text, Cue::Instruction), "{text}: {:?}", cues(text));
            assert!(has_cue(text, Cue::Thanks), "{text}");
        }
        assert!(has_cue("Obrigado. Me envia o boleto?", Cue::Instruction));
    }

    #[test]
    fn conditional_requests_are_not_made_now() {
        for text in [
            "Se precisar de algo, me manda uma mensagem",
            "Qualquer coisa me avisa!",
            "Caso o problema persista, envie um print",
            "Me manda uma mensagem se precisar",
            "I'll let you know if anything changes",
            "If you need anything else, please send us a message",
            "Cualquier cosa, me mandas un mensaje",
        ] {
            let found = cues(text);
            let request =
                found.iter().find(|(c, _)| matches!(c, Cue::Instruction | Cue::Waiting | Cue::Pending));
            assert!(request.is_none(), "{text}: {found:?}");
        }
    }

    #[test]
    fn requests_outside_the_conditional_stand() {
        assert!(has_cue("Me manda o comprovante. Qualquer dúvida, estou aqui", Cue::Instruction));
        assert!(has_cue("Vou verificar qualquer problema no seu pedido", Cue::Pending));
        assert!(has_cue("Se precisar, estamos aqui. Pode confirmar seu e-mail, por favor", Cue::Instruction));
    }
}
