//! The instruction of an episode: R2R-CE's text + vocabulary tokens, RxR-CE's extended annotation.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::record::{deserialize_record, Extra, Id};

/// R2R-CE: `instruction_text` + `instruction_tokens` (vocabulary ids). RxR-CE adds `instruction_id`,
/// `language`, `annotator_id`, `edit_distance` and `timed_instruction`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instruction {
    pub instruction_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction_tokens: Option<InstructionTokens>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction_id: Option<Id>,
    /// BCP-47 tag: `en-US`, `en-IN`, `hi-IN`, `te-IN` in RxR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotator_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_distance: Option<f64>,
    /// One entry per spoken word, with its time stamps in the annotator's recording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timed_instruction: Option<Vec<TimedWord>>,
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_record!(Instruction, "an instruction object with `instruction_text`", {
    required instruction_text,
    optional instruction_tokens,
    optional instruction_id,
    optional language,
    optional annotator_id,
    optional edit_distance,
    optional timed_instruction,
});

impl Instruction {
    /// An instruction with only its text (what generated episodes carry).
    pub fn from_text(text: impl Into<String>) -> Instruction {
        Instruction {
            instruction_text: text.into(),
            instruction_tokens: None,
            instruction_id: None,
            language: None,
            annotator_id: None,
            edit_distance: None,
            timed_instruction: None,
            extra: Extra::new(),
        }
    }
}

/// One word of an RxR `timed_instruction`. Times are optional: some words carry none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedWord {
    pub word: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_record!(TimedWord, "a timed word {\"word\", \"start_time\", \"end_time\"}", {
    required word,
    optional start_time,
    optional end_time,
});

/// `instruction_tokens`: vocabulary ids in R2R-CE (padded with 0 to a fixed length), words in some RxR tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionTokens {
    Ids(Vec<i64>),
    Words(Vec<String>),
}

impl Serialize for InstructionTokens {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            InstructionTokens::Ids(v) => v.serialize(s),
            InstructionTokens::Words(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for InstructionTokens {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// One list element, an id or a word; a list must not mix them.
        enum Token {
            Id(i64),
            Word(String),
        }
        impl<'de> Deserialize<'de> for Token {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct TokenVisitor;
                impl Visitor<'_> for TokenVisitor {
                    type Value = Token;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("an integer token id or a word")
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Token, E> {
                        Ok(Token::Id(v))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Token, E> {
                        i64::try_from(v)
                            .map(Token::Id)
                            .map_err(|_| E::custom(format!("token id {v} is too large")))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<Token, E> {
                        Ok(Token::Word(v.to_owned()))
                    }
                }
                d.deserialize_any(TokenVisitor)
            }
        }
        struct TokensVisitor;
        impl<'de> Visitor<'de> for TokensVisitor {
            type Value = InstructionTokens;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of token ids or of words")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<InstructionTokens, A::Error> {
                let mut ids = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                let mut words = Vec::new();
                while let Some(t) = seq.next_element::<Token>()? {
                    match t {
                        Token::Id(i) => ids.push(i),
                        Token::Word(w) => words.push(w),
                    }
                    if !ids.is_empty() && !words.is_empty() {
                        return Err(de::Error::custom("instruction_tokens mixes ids and words"));
                    }
                }
                Ok(if words.is_empty() {
                    InstructionTokens::Ids(ids)
                } else {
                    InstructionTokens::Words(words)
                })
            }
        }
        d.deserialize_seq(TokensVisitor)
    }
}

/// The top-level `instruction_vocab` of R2R-CE files (habitat-lab's `VocabDict`). Only `word_list` is typed;
/// `word2idx_dict`, `itos`, `stoi`, `num_vocab`, `UNK_INDEX`, `PAD_INDEX` are kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructionVocab {
    pub word_list: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rxr_instruction_fields_parse_and_round_trip() {
        let text = r#"{"instruction_id": 12, "instruction_text": "walk ahead", "language": "hi-IN",
            "annotator_id": "a7", "edit_distance": 0.25,
            "timed_instruction": [{"word": "walk", "start_time": 0.5, "end_time": 0.9}, {"word": "ahead"}]}"#;
        let i: Instruction = serde_json::from_str(text).unwrap();
        assert_eq!(i.language.as_deref(), Some("hi-IN"));
        assert_eq!(i.instruction_id, Some(Id::Int(12)));
        assert_eq!(i.annotator_id, Some(Id::from("a7")));
        let timed = i.timed_instruction.as_ref().unwrap();
        assert_eq!(timed[0].end_time, Some(0.9));
        assert_eq!(timed[1].start_time, None);
        let back: Instruction = serde_json::from_str(&serde_json::to_string(&i).unwrap()).unwrap();
        assert_eq!(back, i);
    }

    #[test]
    fn tokens_are_ids_or_words_but_not_both() {
        let ids: InstructionTokens = serde_json::from_str("[3, 1, 0, 0]").unwrap();
        assert_eq!(ids, InstructionTokens::Ids(vec![3, 1, 0, 0]));
        let words: InstructionTokens = serde_json::from_str(r#"["go", "left"]"#).unwrap();
        assert_eq!(
            words,
            InstructionTokens::Words(vec!["go".into(), "left".into()])
        );
        let err = serde_json::from_str::<InstructionTokens>(r#"[1, "go"]"#).unwrap_err();
        assert!(err.to_string().contains("mixes"), "{err}");
        let i: Instruction =
            serde_json::from_str(r#"{"instruction_text": "x", "instruction_tokens": null}"#)
                .unwrap();
        assert_eq!(i.instruction_tokens, None);
    }
}
