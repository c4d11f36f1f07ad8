//! Constrained decoding of VLN-R1 answers: the decoder may only emit the token sequences that spell exactly N
//! answer options joined by ", " and then a stop token. The option letter then decides the whole option, so
//! a model that knows which letter to pick can no longer fail the parser by pairing it with another option's
//! text.
//!
//! An action bias ([`AnswerConstraint::with_action_bias`]) adds a constant to the logit of the token at which
//! an option is decided (its letter): post-hoc logit adjustment for a label prior (Menon et al., 2021,
//! "Long-tail learning via logit adjustment"). STOP is ~1.5% of the first actions SFT sees, so a model can rank
//! the frames at the goal above the others for STOP and still never make it the argmax; a bias moves that
//! threshold without retraining (choose it on val_seen, never on the split that is reported).
//!
//! Written here rather than taken from a grammar-decoding crate because the grammar is four strings and must
//! follow the checkpoint's own tokenisation of them (the token sequences SFT trained on), which a
//! character-level grammar would not.

use episodes::prompt::OPTION_ACTIONS;
use episodes::{format_answer, Action, ActionOptions};

use crate::error::{AgentError, Result};
use crate::tokenizer::Qwen2VLTokenizer;

/// A token trie over one set of option spellings.
#[derive(Debug, Clone, Default)]
struct Trie {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// (token, child), sorted by token.
    children: Vec<(i64, usize)>,
    /// The option an accepting node spells (accepting nodes have no children: the spellings are prefix-free).
    accepts: Option<Action>,
    /// Bit i set when option `OPTION_ACTIONS[i]` is spelled below this node.
    reach: u8,
}

fn action_index(a: Action) -> usize {
    OPTION_ACTIONS
        .iter()
        .position(|&o| o == a)
        .expect("answer options are OPTION_ACTIONS")
}

fn action_bit(a: Action) -> u8 {
    1 << action_index(a)
}

impl Trie {
    fn new() -> Trie {
        Trie {
            nodes: vec![Node::default()],
        }
    }

    fn insert(&mut self, tokens: &[i64], action: Action) -> Result<()> {
        let mut at = 0;
        self.nodes[0].reach |= action_bit(action);
        for &t in tokens {
            at = match self.nodes[at].children.binary_search_by_key(&t, |c| c.0) {
                Ok(i) => self.nodes[at].children[i].1,
                Err(i) => {
                    self.nodes.push(Node::default());
                    let child = self.nodes.len() - 1;
                    self.nodes[at].children.insert(i, (t, child));
                    child
                }
            };
            self.nodes[at].reach |= action_bit(action);
        }
        match self.nodes[at].accepts {
            Some(a) if a != action => Err(AgentError::Input(format!(
                "answer options {a} and {action} tokenise the same"
            ))),
            _ => {
                self.nodes[at].accepts = Some(action);
                Ok(())
            }
        }
    }

    fn prefix_free(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.accepts.is_none() || n.children.is_empty())
    }

    fn child(&self, node: usize, token: i64) -> Option<usize> {
        let children = &self.nodes[node].children;
        children
            .binary_search_by_key(&token, |c| c.0)
            .ok()
            .map(|i| children[i].1)
    }

    /// The option that taking `child` from `node` commits to, when `node` still allows several and `child`
    /// only one (the option's letter).
    fn decides(&self, node: usize, child: usize) -> Option<Action> {
        let (here, there) = (self.nodes[node].reach, self.nodes[child].reach);
        (here.count_ones() > 1 && there.count_ones() == 1)
            .then(|| OPTION_ACTIONS[there.trailing_zeros() as usize])
    }
}

/// Where a row is in its answer: `done` options written, `node` the position inside the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnswerState {
    done: usize,
    node: usize,
}

impl AnswerState {
    /// Options completed so far.
    pub fn options_done(&self) -> usize {
        self.done
    }
}

/// The answers of one prompt (its step length, turn angle and N) as token sequences.
#[derive(Debug, Clone)]
pub struct AnswerConstraint {
    /// Spellings of the first option.
    first: Trie,
    /// Spellings of every later option, separator included (", B. Turn left 15 degrees").
    next: Trie,
    num_actions: usize,
    /// Allowed once N options are written (sorted).
    stop_token_ids: Vec<i64>,
    /// Added to the logit of the token that decides each option, by `OPTION_ACTIONS` index.
    action_bias: [f32; 4],
}

impl AnswerConstraint {
    /// Builds the constraint from the tokenizer's own encodings of `format_answer`'s text. Fails when the
    /// tokenizer would merge tokens across an option boundary (then per-option spellings would not be the
    /// canonical tokenisation of a whole answer) or when two options share a spelling.
    pub fn new(
        tokenizer: &Qwen2VLTokenizer,
        options: &ActionOptions,
        num_actions: usize,
        stop_token_ids: &[i64],
    ) -> Result<AnswerConstraint> {
        if num_actions == 0 || stop_token_ids.is_empty() {
            return Err(AgentError::Input(
                "answer constraint needs N >= 1 and at least one stop token".into(),
            ));
        }
        let text = |actions: &[Action]| {
            format_answer(actions, options).map_err(|e| AgentError::Input(e.to_string()))
        };
        let mut first = Trie::new();
        let mut next = Trie::new();
        for a in OPTION_ACTIONS {
            let alone = tokenizer.encode(&text(&[a])?)?;
            first.insert(&alone, a)?;
            for b in OPTION_ACTIONS {
                let pair_text = text(&[a, b])?;
                let pair = tokenizer.encode(&pair_text)?;
                let Some(rest) = pair.strip_prefix(alone.as_slice()) else {
                    return Err(AgentError::Input(format!(
                        "the tokenizer merges tokens across the option boundary in {pair_text:?}; \
                         constrained decoding cannot follow its spelling"
                    )));
                };
                next.insert(rest, b)?;
            }
        }
        if !first.prefix_free() || !next.prefix_free() {
            return Err(AgentError::Input(
                "one answer option's tokens are a prefix of another's".into(),
            ));
        }
        let mut stop_token_ids = stop_token_ids.to_vec();
        stop_token_ids.sort_unstable();
        stop_token_ids.dedup();
        Ok(AnswerConstraint {
            first,
            next,
            num_actions,
            stop_token_ids,
            action_bias: [0.0; 4],
        })
    }

    /// The same constraint with `bias` added to the logit of the token that decides `action` (see the module
    /// docs). Fails on a non-finite bias.
    pub fn with_action_bias(mut self, action: Action, bias: f32) -> Result<AnswerConstraint> {
        if !bias.is_finite() {
            return Err(AgentError::Input(format!(
                "the bias of answer option {action} must be finite, got {bias}"
            )));
        }
        self.action_bias[action_index(action)] = bias;
        Ok(self)
    }

    /// Logit biases for [`Self::allowed`]`(state)`, in the same order; None when all are zero.
    pub fn bias(&self, state: AnswerState) -> Option<Vec<f32>> {
        if state.done >= self.num_actions || self.action_bias.iter().all(|&b| b == 0.0) {
            return None;
        }
        let trie = self.trie(state);
        let bias = trie.nodes[state.node]
            .children
            .iter()
            .map(|&(_, child)| {
                trie.decides(state.node, child)
                    .map_or(0.0, |a| self.action_bias[action_index(a)])
            })
            .collect();
        Some(bias)
    }

    pub fn num_actions(&self) -> usize {
        self.num_actions
    }

    fn trie(&self, state: AnswerState) -> &Trie {
        if state.done == 0 {
            &self.first
        } else {
            &self.next
        }
    }

    /// The tokens allowed after `state`, sorted.
    pub fn allowed(&self, state: AnswerState) -> Vec<i64> {
        if state.done >= self.num_actions {
            return self.stop_token_ids.clone();
        }
        self.trie(state).nodes[state.node]
            .children
            .iter()
            .map(|c| c.0)
            .collect()
    }

    /// The state after `token`, or None when `token` is not allowed.
    pub fn advance(&self, state: AnswerState, token: i64) -> Option<AnswerState> {
        if state.done >= self.num_actions {
            return self
                .stop_token_ids
                .binary_search(&token)
                .ok()
                .map(|_| state);
        }
        let trie = self.trie(state);
        let child = trie.child(state.node, token)?;
        Some(if trie.nodes[child].accepts.is_some() {
            AnswerState {
                done: state.done + 1,
                node: 0,
            }
        } else {
            AnswerState {
                done: state.done,
                node: child,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::train_byte_level_bpe;
    use episodes::PromptConfig;
    use Action::*;

    /// A byte-level BPE trained on answers, so its merges are the ones a real checkpoint's tokenizer has for
    /// this text (whole words, digits, the ", X." boundary).
    fn tokenizer() -> Qwen2VLTokenizer {
        let opts = PromptConfig::R2R.options();
        let lines: Vec<String> = (0..64)
            .map(|i| {
                let acts: Vec<Action> = (0..6).map(|k| OPTION_ACTIONS[(i >> k) % 4]).collect();
                format_answer(&acts, &opts).unwrap()
            })
            .collect();
        let inner = train_byte_level_bpe(&lines, 600).unwrap();
        Qwen2VLTokenizer::from_tokenizer(inner, "answers".into()).unwrap()
    }

    fn walk(c: &AnswerConstraint, tokens: &[i64]) -> Option<AnswerState> {
        tokens
            .iter()
            .try_fold(AnswerState::default(), |s, &t| c.advance(s, t))
    }

    #[test]
    fn every_valid_answer_is_accepted_and_only_then_the_stop_token() {
        let tok = tokenizer();
        let stop = tok.special.im_end;
        let opts = PromptConfig::R2R.options();
        let c = AnswerConstraint::new(&tok, &opts, 3, &[stop]).unwrap();
        for i in 0..64 {
            let acts: Vec<Action> = (0..3).map(|k| OPTION_ACTIONS[(i >> (2 * k)) % 4]).collect();
            let ids = tok.encode(&format_answer(&acts, &opts).unwrap()).unwrap();
            let end = walk(&c, &ids).unwrap_or_else(|| panic!("{acts:?} rejected"));
            assert_eq!(end.options_done(), 3);
            assert_eq!(c.allowed(end), vec![stop]);
            assert!(c.advance(end, stop).is_some());
            // Before the end, the stop token is never allowed.
            let mid = walk(&c, &ids[..ids.len() - 1]).unwrap();
            assert!(!c.allowed(mid).contains(&stop));
        }
    }

    #[test]
    fn the_letter_fixes_the_rest_of_the_option() {
        let tok = tokenizer();
        let opts = PromptConfig::R2R.options();
        let c = AnswerConstraint::new(&tok, &opts, 6, &[tok.special.im_end]).unwrap();
        // "B. Turn right 15 degrees" (letter of LEFT, text of RIGHT) is the model error this exists for.
        let ids = tok.encode("B. Turn right 15 degrees").unwrap();
        assert!(walk(&c, &ids).is_none());
        // After the tokens of "B", exactly one continuation is allowed at each step.
        let left = tok.encode(opts.text(TurnLeft).unwrap()).unwrap();
        let b = tok.encode("B").unwrap();
        assert!(left.starts_with(&b));
        let mut s = walk(&c, &b).unwrap();
        for &t in &left[b.len()..] {
            assert_eq!(c.allowed(s), vec![t]);
            s = c.advance(s, t).unwrap();
        }
        assert_eq!(s.options_done(), 1);
        // Unknown text and a premature stop are rejected.
        assert!(walk(&c, &tok.encode("go left").unwrap()).is_none());
        assert!(c
            .advance(AnswerState::default(), tok.special.im_end)
            .is_none());
    }

    #[test]
    fn an_action_bias_lands_on_the_letter_that_decides_the_option_only() {
        let tok = tokenizer();
        let opts = PromptConfig::R2R.options();
        let plain = AnswerConstraint::new(&tok, &opts, 3, &[tok.special.im_end]).unwrap();
        assert_eq!(plain.bias(AnswerState::default()), None);
        let c = plain.clone().with_action_bias(Stop, 2.5).unwrap();
        assert!(plain.clone().with_action_bias(Stop, f32::NAN).is_err());
        // Walk "A. Move forward 25 cm, D. Stop, ..." token by token: every allowed token gets 0 except the
        // one that commits to STOP where STOP is still open, which gets the bias; exactly once per option.
        let acts = [MoveForward, Stop, TurnLeft];
        let ids = tok.encode(&format_answer(&acts, &opts).unwrap()).unwrap();
        let mut s = AnswerState::default();
        let mut biased_per_option = vec![0; 3];
        for &t in &ids {
            let allowed = c.allowed(s);
            let bias = c.bias(s).expect("a bias is set");
            assert_eq!(bias.len(), allowed.len());
            for (&a, &b) in allowed.iter().zip(&bias) {
                assert!(b == 0.0 || b == 2.5, "{b}");
                if b != 0.0 {
                    // Taking the biased token commits to STOP: the rest of the option is forced.
                    let mut after = c.advance(s, a).unwrap();
                    while after.options_done() == s.options_done() {
                        let only = c.allowed(after);
                        assert_eq!(only.len(), 1);
                        after = c.advance(after, only[0]).unwrap();
                    }
                    biased_per_option[s.options_done()] += 1;
                }
            }
            s = c.advance(s, t).unwrap();
        }
        assert_eq!(biased_per_option, vec![1, 1, 1]);
        assert_eq!(c.bias(s), None, "no bias on the stop token");
    }
}
