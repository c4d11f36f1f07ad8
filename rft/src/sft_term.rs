//! The SFT term of GRPO training over the shared rollout buffer: answer-token cross-entropy on each group's
//! expert target, weighted by `sft_coef` and added to the GRPO gradient of the same optimizer step.
//!
//! Closed loop, the target of a group is the expert's next N actions from the state the policy actually
//! reached, so this term is DAgger on the policy's own states: it teaches stopping at the goals the policy
//! reaches and recovering from its own mistakes, while the GRPO term promotes the completions that scored.

use agent::{Pipeline, Prompt};
use tch::{Kind, Tensor};

use crate::error::{Result, RftError};
use crate::trainer::Group;

/// Accumulates `coef` times the mean answer-token NLL of the groups' expert answers into the policy's
/// gradients (no optimizer step). Returns that mean NLL (nats per answer token) for the log.
pub fn backward_sft_term(
    policy: &Pipeline,
    groups: &[Group],
    coef: f64,
    micro_batch_size: usize,
) -> Result<f64> {
    let mut answers = Vec::with_capacity(groups.len());
    for g in groups {
        let text = g.sample.answer().map_err(|e| {
            RftError::Input(format!(
                "episode {} step {}: no expert answer for the SFT term: {e}",
                g.sample.episode_id, g.sample.step
            ))
        })?;
        answers.push(sft::data::completion_ids(&policy.processor, &text)?);
    }
    let total_tokens: usize = answers.iter().map(Vec::len).sum();
    let mut nll_sum = 0.0;
    for (chunk, ids) in groups
        .chunks(micro_batch_size)
        .zip(answers.chunks(micro_batch_size))
    {
        let prompts: Vec<Prompt> = chunk.iter().map(|g| g.prompt.clone()).collect();
        let (batch, mask) = policy.collate_with_completions(&prompts, ids)?;
        let logp = policy.model.forward_logprobs(&batch, &mask, 1.0)?;
        let nll: Tensor = -(logp * &mask).sum(Kind::Float);
        (&nll * (coef / total_tokens.max(1) as f64)).backward();
        nll_sum += nll.double_value(&[]);
    }
    Ok(nll_sum / total_tokens.max(1) as f64)
}
