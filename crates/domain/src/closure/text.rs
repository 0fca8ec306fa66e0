//! Text normalization for closure detection.
//!
//! A message is lowercased, stripped of Latin accents (with an own fold table, plus dropping
//! combining marks so decomposed input folds too), and split into word tokens and emoji
//! tokens. Punctuation splits the tokens into clauses, and `?` / `¿` mark question clauses.
//! Apostrophes inside words are dropped (`that's` → `thats`), skin-tone modifiers, variation
//! selectors and zero-width joiners are ignored (`👋🏽` → `👋`).
//!
//! Phrase matching compares [`Token::key`]s, in which every run of a repeated letter is
//! collapsed (`obrigadoooo` → `obrigado`, `valeuuu` → `valeu`), so lengthened words match.

/// One word or emoji of a normalized message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word lowercased, accent-folded and without apostrophes; for an emoji, the emoji.
    pub word: String,
    /// [`Token::word`] with each run of a repeated letter collapsed into one letter. Two
    /// tokens match when their keys are equal.
    pub key: String,
    /// Index of the [`Clause`] the token belongs to.
    pub clause: usize,
    /// Whether the token is an emoji.
    pub emoji: bool,
}

/// A run of tokens between two punctuation marks (`. , ; : ! ? …` or a line break).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clause {
    /// Index of the clause's first token.
    pub start: usize,
    /// Index one past the clause's last token.
    pub end: usize,
    /// Whether the clause ends with `?` or starts with `¿`.
    pub question: bool,
}

/// A message split into tokens and clauses. Build it with [`normalize`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedText {
    tokens: Vec<Token>,
    clauses: Vec<Clause>,
}

impl NormalizedText {
    /// The tokens, in message order.
    #[must_use]
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The clauses, in message order. Every token belongs to exactly one clause.
    #[must_use]
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// Whether the message has no word and no emoji.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether any clause is a question.
    #[must_use]
    pub fn has_question(&self) -> bool {
        self.clauses.iter().any(|c| c.question)
    }

    /// Whether the token at `index` is the last of its clause.
    #[must_use]
    pub fn ends_clause(&self, index: usize) -> bool {
        self.tokens.get(index).and_then(|t| self.clauses.get(t.clause)).is_some_and(|c| c.end == index + 1)
    }

    /// Whether the message contains `phrase` as whole tokens (normalized the same way), for
    /// example `contains_phrase("ate mais")` is true for `"Valeu, ATÉ MAIS!!"` but
    /// `contains_phrase("tchau")` is false for `"tchauzinho"`.
    #[must_use]
    pub fn contains_phrase(&self, phrase: &str) -> bool {
        let wanted: Vec<String> = normalize(phrase).tokens.into_iter().map(|t| t.key).collect();
        !wanted.is_empty()
            && self.tokens.windows(wanted.len()).any(|w| w.iter().zip(&wanted).all(|(t, k)| &t.key == k))
    }
}

/// Normalizes a message: lowercase, accent folding, word/emoji tokens, clauses.
#[must_use]
pub fn normalize(text: &str) -> NormalizedText {
    let mut builder = Builder { tokens: Vec::with_capacity(text.len() / 5 + 1), ..Builder::default() };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            builder.word.push(c.to_ascii_lowercase());
            continue;
        }
        if is_ignorable(c) || matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{b4}') {
            continue;
        }
        if is_emoji(c) {
            builder.end_word();
            builder.push_token(c.to_string(), true);
        } else if c.is_alphanumeric() {
            for lower in c.to_lowercase() {
                if let Some(folded) = fold(lower) {
                    builder.word.push(folded);
                }
            }
        } else {
            match c {
                '?' => builder.end_clause(true),
                '\u{bf}' => {
                    builder.end_clause(false);
                    builder.pending_question = true;
                }
                '.' | ',' | '!' | ';' | ':' | '\u{2026}' | '\u{a1}' | '\n' | '\r' | '(' | ')' => {
                    builder.end_clause(false);
                }
                _ => builder.end_word(),
            }
        }
    }
    builder.finish()
}

/// Collapses every run of a repeated letter into one letter (`"valeuuu"` → `"valeu"`).
/// Digits are kept as they are.
#[must_use]
pub fn squeeze(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut previous = None;
    for c in word.chars() {
        if previous == Some(c) && c.is_alphabetic() {
            continue;
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Folds a lowercase character: Latin letters lose their accent, combining marks vanish.
#[must_use]
pub fn fold(c: char) -> Option<char> {
    let folded = match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'ē' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'ī' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ō' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'ū' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        'ý' | 'ÿ' => 'y',
        '\u{300}'..='\u{36f}' => return None,
        other => other,
    };
    Some(folded)
}

/// Whether `c` is an emoji (pictographs, dingbats, symbols and flags).
#[must_use]
pub fn is_emoji(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1F3FA | 0x1F400..=0x1FAFF
        | 0x2600..=0x27BF
        | 0x2B00..=0x2BFF
        | 0x231A..=0x23FF
        | 0x3030 | 0x303D | 0x3297 | 0x3299)
}

/// Characters that modify an emoji or glue emoji together and carry no meaning of their own:
/// variation selectors, the zero-width joiner, skin-tone modifiers and tag characters.
fn is_ignorable(c: char) -> bool {
    matches!(u32::from(c),
        0xFE0E | 0xFE0F | 0x200D | 0x20E3 | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

#[derive(Default)]
struct Builder {
    tokens: Vec<Token>,
    clauses: Vec<Clause>,
    word: String,
    clause_start: usize,
    pending_question: bool,
}

impl Builder {
    fn end_word(&mut self) {
        if !self.word.is_empty() {
            let word = std::mem::take(&mut self.word);
            self.push_token(word, false);
        }
    }

    fn push_token(&mut self, word: String, emoji: bool) {
        let key = if emoji { word.clone() } else { squeeze(&word) };
        self.tokens.push(Token { word, key, clause: self.clauses.len(), emoji });
    }

    fn end_clause(&mut self, question: bool) {
        self.end_word();
        if self.tokens.len() > self.clause_start {
            self.clauses.push(Clause {
                start: self.clause_start,
                end: self.tokens.len(),
                question: question || self.pending_question,
            });
            self.clause_start = self.tokens.len();
            self.pending_question = false;
        } else if question {
            // "tchau ?" or "tchau!?": the mark belongs to the clause just closed.
            if let Some(previous) = self.clauses.last_mut() {
                previous.question = true;
            }
        }
    }

    fn finish(mut self) -> NormalizedText {
        self.end_clause(false);
        NormalizedText { tokens: self.tokens, clauses: self.clauses }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        normalize(text).tokens.into_iter().map(|t| t.word).collect()
    }

    fn keys(text: &str) -> Vec<String> {
        normalize(text).tokens.into_iter().map(|t| t.key).collect()
    }

    #[test]
    fn lowercases_and_folds_accents() {
        assert_eq!(words("ATÉ MAIS!!"), ["ate", "mais"]);
        assert_eq!(words("Não, obrigado"), ["nao", "obrigado"]);
        assert_eq!(
            words("àáâãäå èéêë ìíîï òóôõö ùúûü ç ñ"),
            ["aaaaaa", "eeee", "iiii", "ooooo", "uuuu", "c", "n"]
        );
        assert_eq!(words("ÀÉÎÕÜ ÇÑ"), ["aeiou", "cn"]);
        assert_eq!(words("Adiós, ¿algo más?"), ["adios", "algo", "mas"]);
    }

    #[test]
    fn folds_decomposed_accents() {
        assert_eq!(words("Ate\u{301} amanha\u{303}"), ["ate", "amanha"]);
    }

    #[test]
    fn splits_on_punctuation_and_drops_apostrophes() {
        assert_eq!(words("that's all, thanks!"), ["thats", "all", "thanks"]);
        assert_eq!(words("don’t-worry...ok"), ["dont", "worry", "ok"]);
    }

    #[test]
    fn emoji_are_their_own_tokens() {
        let text = normalize("valeu👋🏽 tchau🙏🏻👍✅️😊");
        let tokens: Vec<(&str, bool)> = text.tokens().iter().map(|t| (t.word.as_str(), t.emoji)).collect();
        assert_eq!(
            tokens,
            [
                ("valeu", false),
                ("👋", true),
                ("tchau", false),
                ("🙏", true),
                ("👍", true),
                ("✅", true),
                ("😊", true)
            ]
        );
    }

    #[test]
    fn repeated_letters_collapse_in_keys() {
        assert_eq!(keys("obrigadoooo valeuuu TCHAUUU"), ["obrigado", "valeu", "tchau"]);
        assert_eq!(keys("1000 reais"), ["1000", "reais"]);
        assert_eq!(words("obrigadoooo"), ["obrigadoooo"]);
    }

    #[test]
    fn clauses_and_questions() {
        let text = normalize("tchau? como assim?");
        assert_eq!(text.clauses().len(), 2);
        assert!(text.clauses().iter().all(|c| c.question));

        let text = normalize("Obrigado! ¿Algo más? no");
        let flags: Vec<bool> = text.clauses().iter().map(|c| c.question).collect();
        assert_eq!(flags, [false, true, false]);

        let text = normalize("tchau !?");
        assert!(text.has_question());
        assert!(!normalize("Não, obrigado! Tchau 👋").has_question());
    }

    #[test]
    fn ends_clause_reports_clause_boundaries() {
        let text = normalize("não, obrigado");
        assert!(text.ends_clause(0));
        assert!(text.ends_clause(1));
        let text = normalize("não quero cancelar");
        assert!(!text.ends_clause(0));
        assert!(!text.ends_clause(9));
    }

    #[test]
    fn contains_phrase_matches_whole_tokens() {
        let text = normalize("Valeu, ATÉ MAIS!!");
        assert!(text.contains_phrase("até mais"));
        assert!(text.contains_phrase("valeuuu"));
        assert!(!normalize("tchauzinho").contains_phrase("tchau"));
        assert!(!normalize("party time").contains_phrase("ty"));
        assert!(normalize("ok ty").contains_phrase("ty"));
        assert!(!text.contains_phrase(""));
    }

    #[test]
    fn empty_and_symbol_only_input() {
        assert!(normalize("").is_empty());
        assert!(normalize("  ?!... ").is_empty());
        assert!(normalize("  ?!... ").clauses().is_empty());
    }
}
