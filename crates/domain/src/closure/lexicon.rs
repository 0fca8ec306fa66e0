//! The compiled phrase lexicon: phrases become token-key sequences once (at first use) and are
//! matched as whole tokens against normalized messages.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use super::phrases::{FILLER, GROUPS, NEGATORS, TAGS};
use super::text::{NormalizedText, normalize};

/// What a phrase found in a message suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cue {
    /// Thanks: "obrigado", "valeu", "thanks", "gracias", 🙏.
    Thanks,
    /// Goodbye: "tchau", "até mais", "bye", "hasta luego", 👋, 👍.
    Farewell,
    /// The matter is settled: "resolvido", "era só isso", "that's all", "eso es todo".
    Resolution,
    /// A weak acknowledgement: "perfeito", "entendi", "got it", "genial".
    Ack,
    /// A negative answer, as to a closing question: "não", "nada", "no thanks", "nada más".
    Decline,
    /// A positive answer: "sim", "yes", "sí", "na verdade".
    Affirm,
    /// A courtesy formula, usually the agent's: "de nada", "you're welcome", "con gusto".
    Courtesy,
    /// A request or new topic: "preciso", "quero", "can you", "necesito", "outra dúvida".
    Request,
    /// A problem or complaint: "não funcionou", "still", "doesn't work", "todavía no".
    Problem,
    /// A contrast word: "mas", "porém", "but", "pero".
    Contrast,
    /// Waiting for the agent: "fico no aguardo", "let me know", "quedo atento".
    Waiting,
    /// The agent promises to come back: "um momento", "vou verificar", "let me check",
    /// "déjame revisar".
    Pending,
    /// An "anything else?" question: "posso ajudar em algo mais", "anything else".
    ClosingQuestion,
    /// A "did that solve it?" question: "consegui te ajudar", "did that help", "te sirvió".
    ResolvedQuestion,
    /// A compliment that thanks in other words: "salvou meu dia", "you're a lifesaver",
    /// "eres un crack", 👏.
    Praise,
    /// A conditional offer of help, as in a goodbye: "se precisar", "qualquer coisa",
    /// "if you need anything", "cualquier cosa". A request it governs is not made now (see
    /// [`Cue::Instruction`]).
    Conditional,
    /// Asks the reader to do or send something: "me manda", "envie", "please send",
    /// "can you confirm", "envíeme". From the agent, the customer owes that step.
    Instruction,
    /// A new offer, usually the agent's: "temos uma promoção", "would you like to upgrade",
    /// "le ofrecemos".
    Offer,
    /// Marks thanks as given ahead of the help: "desde já", "in advance", "de antemano".
    /// Only a marker: see [`Cue::AdvanceThanks`].
    InAdvance,
    /// What the customer got instead of help: "nada", "nothing", "perder tempo",
    /// "wasting my time". Only a marker: see [`Cue::SarcasticThanks`].
    NoHelp,
    /// Thanks for something not yet done ("obrigado desde já", "thanks in advance"): the
    /// request is still open. Made from [`Cue::Thanks`] next to [`Cue::InAdvance`].
    AdvanceThanks,
    /// Thanks meant as a complaint ("valeu por nada", "thanks for wasting my time"). Made
    /// from [`Cue::Thanks`] + "for" + [`Cue::NoHelp`].
    SarcasticThanks,
}

impl Cue {
    /// Whether the cue points towards closing (thanks, farewell, resolution, decline...).
    #[must_use]
    pub const fn is_closing(self) -> bool {
        matches!(
            self,
            Self::Thanks
                | Self::Farewell
                | Self::Resolution
                | Self::Ack
                | Self::Decline
                | Self::Courtesy
                | Self::Praise
                | Self::Conditional
        )
    }

    /// Whether the cue points towards keeping the conversation open (request, problem...).
    #[must_use]
    pub const fn is_opening(self) -> bool {
        matches!(
            self,
            Self::Request
                | Self::Problem
                | Self::Contrast
                | Self::Waiting
                | Self::Instruction
                | Self::AdvanceThanks
                | Self::SarcasticThanks
        )
    }

    /// Whether the cue thanks or says goodbye in so many words (as opposed to acknowledging,
    /// declining or being polite): what makes a message a farewell.
    #[must_use]
    pub const fn is_farewell(self) -> bool {
        matches!(self, Self::Thanks | Self::Farewell | Self::Resolution | Self::Praise)
    }
}

/// One lexicon phrase found in a message, covering tokens `start..end`.
#[derive(Debug, Clone, PartialEq)]
pub struct CueMatch {
    /// What the phrase suggests.
    pub cue: Cue,
    /// The phrase as written in the lexicon (prefixed with `not ` when a negation turned a
    /// resolution into a problem, as in "não resolveu").
    pub phrase: Cow<'static, str>,
    /// Index of the first matched token.
    pub start: usize,
    /// Index one past the last matched token.
    pub end: usize,
    /// How strongly the phrase suggests its cue, `0..=1`.
    pub strength: f64,
}

impl CueMatch {
    /// Number of matched tokens.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the match covers no token (never true for lexicon matches).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.end == self.start
    }

    fn overlaps(&self, other: &Self) -> bool {
        self.start < other.end && other.start < self.end
    }
}

struct Entry {
    cue: Cue,
    phrase: &'static str,
    keys: Vec<String>,
    strength: f64,
    clause_final: bool,
    /// A negator just before turns the match into a [`Cue::Problem`].
    negatable: bool,
}

/// FxHash: a fast non-cryptographic hasher for the lexicon's short keys. The tables are
/// fixed at build time (messages are only looked up, never inserted), so hash flooding is
/// not a concern.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0_u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

struct Lexicon {
    entries: Vec<Entry>,
    by_first_key: HashMap<String, Vec<usize>, FxBuild>,
    filler: HashSet<String, FxBuild>,
    negators: HashSet<String, FxBuild>,
    tags: HashSet<String, FxBuild>,
    /// Tokens in the longest phrase.
    max_len: usize,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(Lexicon::build);

fn key_set(words: &[&str]) -> HashSet<String, FxBuild> {
    words.iter().flat_map(|w| normalize(w).tokens().to_vec()).map(|t| t.key).collect()
}

impl Lexicon {
    fn build() -> Self {
        let mut entries = Vec::new();
        let mut by_first_key: HashMap<String, Vec<usize>, FxBuild> = HashMap::default();
        for group in GROUPS {
            for &phrase in group.phrases {
                let (text, clause_final) = match phrase.strip_suffix('$') {
                    Some(text) => (text, true),
                    None => (phrase, false),
                };
                let keys: Vec<String> = normalize(text).tokens().iter().map(|t| t.key.clone()).collect();
                let Some(first) = keys.first() else { continue };
                let duplicate = by_first_key.get(first).is_some_and(|indices| {
                    indices.iter().any(|&i| {
                        let entry: &Entry = &entries[i];
                        entry.cue == group.cue && entry.keys == keys
                    })
                });
                if duplicate {
                    continue;
                }
                let negatable = match group.cue {
                    Cue::Resolution | Cue::Ack | Cue::Praise => true,
                    Cue::Decline => !NEGATORS.contains(&first.as_str()),
                    _ => false,
                };
                by_first_key.entry(first.clone()).or_default().push(entries.len());
                entries.push(Entry {
                    cue: group.cue,
                    phrase: text,
                    keys,
                    strength: group.strength,
                    clause_final,
                    negatable,
                });
            }
        }
        let max_len = entries.iter().map(|e| e.keys.len()).max().unwrap_or(1);
        Self {
            max_len,
            entries,
            by_first_key,
            filler: key_set(FILLER),
            negators: key_set(NEGATORS),
            tags: key_set(TAGS),
        }
    }
}

/// Forces the lexicon to compile now rather than on the first assessment.
pub fn warm_up() {
    LazyLock::force(&LEXICON);
}

/// Whether a token key is filler (articles, pronouns, politeness, laughter).
#[must_use]
pub fn is_filler(key: &str) -> bool {
    LEXICON.filler.contains(key)
}

/// Whether a token key is a negator ("não", "not", "no"...).
#[must_use]
pub fn is_negator(key: &str) -> bool {
    LEXICON.negators.contains(key)
}

/// Whether a token key is a question tag ("tá", "ok", "né", "right").
#[must_use]
pub fn is_tag(key: &str) -> bool {
    LEXICON.tags.contains(key)
}

/// Every lexicon phrase in `text`, after resolving conflicts:
///
/// * a resolution, acknowledgement or decline (other than a bare negator) right after a
///   negator ("não resolveu", "não está tudo certo", "not resolved") becomes a
///   [`Cue::Problem`];
/// * where a closing phrase and an opening phrase overlap, the longer one wins and a tie goes
///   to the opening phrase ("não preciso de mais nada" is a decline, not the request
///   "preciso"; "não resolveu" is a problem, not the resolution "resolveu").
#[must_use]
pub fn find_cues(text: &NormalizedText) -> Vec<CueMatch> {
    let lexicon = &*LEXICON;
    let tokens = text.tokens();
    let mut found = Vec::new();
    for (start, token) in tokens.iter().enumerate() {
        let Some(candidates) = lexicon.by_first_key.get(token.key.as_str()) else {
            continue;
        };
        for &index in candidates {
            let entry = &lexicon.entries[index];
            let end = start + entry.keys.len();
            let Some(window) = tokens.get(start..end) else {
                continue;
            };
            if !window.iter().zip(&entry.keys).all(|(t, k)| &t.key == k) {
                continue;
            }
            if entry.clause_final && !text.ends_clause(end - 1) {
                continue;
            }
            let negated = entry.negatable && negated_at(text, start);
            found.push(CueMatch {
                cue: if negated { Cue::Problem } else { entry.cue },
                phrase: if negated {
                    Cow::Owned(format!("not {}", entry.phrase))
                } else {
                    Cow::Borrowed(entry.phrase)
                },
                start,
                end,
                strength: entry.strength,
            });
        }
    }
    // `found` is sorted by start and no match is longer than `max_len`, so only neighbours
    // starting within `max_len` tokens of a match can overlap it.
    let max_len = lexicon.max_len;
    let keep: Vec<bool> = found
        .iter()
        .map(|m| {
            let from = found.partition_point(|o| o.start + max_len <= m.start);
            !found[from..].iter().take_while(|o| o.start < m.end).any(|other| beats(other, m))
        })
        .collect();
    found.into_iter().zip(keep).filter_map(|(m, keep)| keep.then_some(m)).collect()
}

/// Whether `other` suppresses `m`: they overlap, have opposite polarity, and `other` is longer
/// (or as long and opening).
fn beats(other: &CueMatch, m: &CueMatch) -> bool {
    if !other.overlaps(m) {
        return false;
    }
    if m.cue.is_opening() && other.cue.is_closing() {
        other.len() > m.len()
    } else if m.cue.is_closing() && other.cue.is_opening() {
        other.len() >= m.len()
    } else {
        false
    }
}

/// Whether a negator sits just before token `start`, in the same clause: the token right
/// before, or the one before that unless it is the ambiguous "no" (Portuguese "in the").
/// Interjections such as "nah" or "nope" do not negate.
fn negated_at(text: &NormalizedText, start: usize) -> bool {
    let tokens = text.tokens();
    let Some(current) = tokens.get(start) else {
        return false;
    };
    let near = |distance: usize| {
        start.checked_sub(distance).and_then(|i| tokens.get(i)).filter(|t| t.clause == current.clause)
    };
    // Interjections answer a question rather than negate what follows ("nah, I'm all set").
    let negates = |key: &str| is_negator(key) && !matches!(key, "nah" | "nope" | "negativo");
    near(1).is_some_and(|t| negates(&t.key)) || near(2).is_some_and(|t| t.key != "no" && negates(&t.key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cues(text: &str) -> Vec<(Cue, String)> {
        find_cues(&normalize(text)).into_iter().map(|m| (m.cue, m.phrase.into_owned())).collect()
    }

    fn has(text: &str, cue: Cue, phrase: &str) -> bool {
        cues(text).iter().any(|(c, p)| *c == cue && p == phrase)
    }

    #[test]
    fn matches_whole_tokens_only() {
        assert!(has("Tchau!", Cue::Farewell, "tchau"));
        assert!(!has("tchauzinho pra você", Cue::Farewell, "tchau"));
        assert!(has("ok ty", Cue::Thanks, "ty"));
        assert!(!cues("party style").iter().any(|(c, _)| *c == Cue::Thanks));
        assert!(!cues("obrigatório").iter().any(|(c, _)| *c == Cue::Thanks));
    }

    #[test]
    fn tolerates_case_accents_punctuation_and_lengthening() {
        assert!(has("ATÉ MAIS!!", Cue::Farewell, "até mais"));
        assert!(has("ate mais", Cue::Farewell, "até mais"));
        assert!(has("Obrigadoooo", Cue::Thanks, "obrigado"));
        assert!(has("valeuuu", Cue::Thanks, "valeu"));
        assert!(has("tchauuu", Cue::Farewell, "tchau"));
        assert!(has("ADIOS", Cue::Farewell, "adiós"));
        assert!(has("That's all", Cue::Resolution, "that's all"));
    }

    #[test]
    fn matches_emoji_with_modifiers() {
        assert!(has("👋🏽", Cue::Farewell, "👋"));
        assert!(has("🙏🏻🙏🏻", Cue::Thanks, "🙏"));
        assert!(has("✅️", Cue::Farewell, "✅"));
    }

    #[test]
    fn clause_final_phrases_need_a_boundary() {
        assert!(has("Não quero, obrigado", Cue::Decline, "não quero"));
        assert!(!has("não quero cancelar", Cue::Decline, "não quero"));
        assert!(has("não quero cancelar", Cue::Request, "quero"));
    }

    #[test]
    fn longer_closing_phrase_beats_contained_request() {
        let found = cues("não preciso de mais nada");
        assert!(found.iter().any(|(c, _)| *c == Cue::Decline));
        assert!(!found.iter().any(|(c, _)| *c == Cue::Request));
        assert!(!has("era só isso que eu precisava", Cue::Request, "precisava"));
        assert!(!has("quero agradecer", Cue::Request, "quero"));
    }

    #[test]
    fn negation_turns_resolution_into_problem() {
        assert!(has("não resolveu", Cue::Problem, "não resolveu"));
        assert!(!has("não resolveu", Cue::Resolution, "resolveu"));
        assert!(has("not resolved yet", Cue::Problem, "not resolved"));
        assert!(has("não está tudo certo", Cue::Problem, "not tudo certo"));
        assert!(has("o problema no app foi resolvido", Cue::Resolution, "foi resolvido"));
        assert!(has("Não, tudo certo", Cue::Resolution, "tudo certo"));
        assert!(has("Nah I'm all set", Cue::Resolution, "all set"));
        let found = cues("não está tudo certo");
        assert!(!found.iter().any(|(c, _)| c.is_closing()), "{found:?}");
    }

    #[test]
    fn long_adversarial_input_is_linear_enough() {
        let text = "não não ".repeat(5_000) + "obrigado, mas ainda tenho uma dúvida";
        let found = find_cues(&normalize(&text));
        assert!(found.len() > 5_000);
        assert!(found.iter().any(|m| m.cue == Cue::Request));
    }

    #[test]
    fn word_classes() {
        assert!(is_filler("pela"));
        assert!(is_filler("ajuda"));
        assert!(!is_filler("cancelar"));
        assert!(is_negator("nao"));
        assert!(is_negator("doesnt"));
        assert!(is_tag("ta"));
    }
}
