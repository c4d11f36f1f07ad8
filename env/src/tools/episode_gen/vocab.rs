//! `instruction_tokens` and `instruction_vocab` as R2R-CE files carry them: habitat-lab's `VocabDict`
//! tokenisation (lower case, a space before `'s`, `,` and `?` removed, split on runs of characters that are
//! neither word characters nor `-`, keeping those runs, trimmed, as tokens), ids into a word list that
//! starts with `<PAD>` (0) and `<UNK>` (1), padded with 0 to 200 tokens.

use std::collections::{BTreeSet, HashMap};

use episodes::{InstructionTokens, InstructionVocab};

/// R2R-CE pads (and cuts) `instruction_tokens` to this length.
pub const MAX_INSTRUCTION_TOKENS: usize = 200;
pub const PAD_TOKEN: &str = "<PAD>";
pub const UNK_TOKEN: &str = "<UNK>";
pub const PAD_INDEX: i64 = 0;
pub const UNK_INDEX: i64 = 1;

/// Splits an instruction into tokens the way habitat-lab's `VocabDict.tokenize` does.
pub fn tokenize(text: &str) -> Vec<String> {
    let lower = text
        .to_lowercase()
        .replace("'s", " 's")
        .replace([',', '?'], "");
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut current_is_word = true;
    for c in lower.chars() {
        let w = is_word(c);
        if w != current_is_word && !current.is_empty() {
            push_token(&mut tokens, &current);
            current.clear();
        }
        current_is_word = w;
        current.push(c);
    }
    push_token(&mut tokens, &current);
    tokens
}

fn push_token(tokens: &mut Vec<String>, raw: &str) {
    let t = raw.trim();
    if !t.is_empty() {
        tokens.push(t.to_owned());
    }
}

/// A word list and its index.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    words: Vec<String>,
    index: HashMap<String, i64>,
}

impl Vocab {
    /// `<PAD>`, `<UNK>`, then every token of `texts` in sorted order (deterministic).
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let distinct: BTreeSet<String> = texts.into_iter().flat_map(tokenize).collect();
        let words: Vec<String> = [PAD_TOKEN.to_owned(), UNK_TOKEN.to_owned()]
            .into_iter()
            .chain(distinct)
            .collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as i64))
            .collect();
        Vocab { words, index }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Token ids of `text`, unknown words as `<UNK>`, padded with `<PAD>` to [`MAX_INSTRUCTION_TOKENS`].
    pub fn encode(&self, text: &str) -> InstructionTokens {
        let mut ids: Vec<i64> = tokenize(text)
            .iter()
            .map(|t| self.index.get(t).copied().unwrap_or(UNK_INDEX))
            .take(MAX_INSTRUCTION_TOKENS)
            .collect();
        ids.resize(MAX_INSTRUCTION_TOKENS, PAD_INDEX);
        InstructionTokens::Ids(ids)
    }

    /// The `instruction_vocab` record: `word_list` plus habitat-lab's `num_vocab`, `UNK_INDEX`, `PAD_INDEX`.
    pub fn to_instruction_vocab(&self) -> InstructionVocab {
        let mut extra = serde_json::Map::new();
        extra.insert("num_vocab".into(), self.words.len().into());
        extra.insert("UNK_INDEX".into(), UNK_INDEX.into());
        extra.insert("PAD_INDEX".into(), PAD_INDEX.into());
        InstructionVocab {
            word_list: self.words.clone(),
            extra,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_like_habitat() {
        assert_eq!(
            tokenize("Walk past the sofa, then stop by the kitchen's fridge."),
            [
                "walk", "past", "the", "sofa", "then", "stop", "by", "the", "kitchen", "'", "s",
                "fridge", "."
            ]
        );
        assert_eq!(
            tokenize("Turn left; go up-stairs."),
            ["turn", "left", ";", "go", "up-stairs", "."]
        );
    }

    #[test]
    fn encodes_with_pad_and_unk() {
        let v = Vocab::build(["turn left.", "turn right"]);
        assert_eq!(
            v.to_instruction_vocab().word_list,
            ["<PAD>", "<UNK>", ".", "left", "right", "turn"]
        );
        let InstructionTokens::Ids(ids) = v.encode("Turn around.") else {
            panic!("ids")
        };
        assert_eq!(ids.len(), MAX_INSTRUCTION_TOKENS);
        assert_eq!(&ids[..4], &[5, UNK_INDEX, 2, PAD_INDEX]);
    }
}
