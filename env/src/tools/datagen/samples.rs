//! The samples of one trajectory: one per step `i`, built only from the shared pieces of `episodes` (memory
//! sampler, target, prompt settings) so that data generation, SFT and RFT agree on every string.

use episodes::{target_actions, MemorySampler, PromptConfig, Sample};

use super::trajectory::Trajectory;

/// One sample per step `i` of a finished (not skipped) trajectory: current frame `i`, the history frames the
/// sampler picks from `0..i`, and the N actions starting with action `i`, padded with STOP (for a perturbed
/// run: the expert's N actions from frame `i`'s state).
pub fn trajectory_samples(
    t: &Trajectory,
    prompt: &PromptConfig,
    memory: &MemorySampler,
) -> Vec<Sample> {
    if t.skipped.is_some() {
        return Vec::new();
    }
    (0..t.actions.len().min(t.frames.len()))
        .map(|i| Sample {
            episode_id: t.episode_id.clone(),
            trajectory_id: t.trajectory_id.clone(),
            scene_id: Some(t.scene_id.clone()),
            step: i as u32,
            instruction: t.instruction.clone(),
            history_frames: memory
                .history(i)
                .into_iter()
                .map(|k| t.frames[k].clone())
                .collect(),
            current_frame: t.frames[i].clone(),
            prompt: *prompt,
            target: match &t.targets {
                Some(targets) => target_actions(&targets[i], 0, prompt.num_actions),
                None => target_actions(&t.actions, i, prompt.num_actions),
            },
            rl: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use episodes::Action::{self, *};

    fn trajectory(actions: Vec<Action>) -> Trajectory {
        Trajectory {
            episode_id: "7".into(),
            trajectory_id: None,
            scene_id: "house.glb".into(),
            instruction: "Walk to the sofa.".into(),
            frames: (0..actions.len())
                .map(|i| super::super::trajectory::frame_path("7", i))
                .collect(),
            actions,
            perturbed_run: None,
            targets: None,
            final_distance: Some(0.1),
            skipped: None,
        }
    }

    #[test]
    fn step_i_targets_action_i_and_pads_with_stop() {
        let actions = vec![MoveForward, TurnLeft, MoveForward, TurnRight, Stop];
        let t = trajectory(actions.clone());
        let prompt = PromptConfig {
            num_actions: 3,
            ..PromptConfig::R2R
        };
        let s = trajectory_samples(&t, &prompt, &MemorySampler::UNIFORM);
        assert_eq!(s.len(), 5);
        for (i, sample) in s.iter().enumerate() {
            assert_eq!(sample.step as usize, i);
            assert_eq!(sample.target[0], actions[i]);
            assert_eq!(sample.current_frame, format!("frames/7/step_{i:04}.jpg"));
            assert_eq!(sample.history_frames.len(), i.min(16));
        }
        assert_eq!(s[3].target, [TurnRight, Stop, Stop]);
        assert_eq!(s[4].target, [Stop, Stop, Stop]);
        assert!(s[0].history_frames.is_empty());
        let mut skipped = t.clone();
        skipped.skipped = Some(super::super::trajectory::SkipReason::NoGt);
        assert!(trajectory_samples(&skipped, &prompt, &MemorySampler::UNIFORM).is_empty());
    }

    #[test]
    fn a_perturbed_run_targets_the_experts_labels_not_the_actions_taken() {
        // Step 1 was a perturbation (forward where the expert turned left); its sample still says turn.
        let mut t = trajectory(vec![MoveForward, MoveForward, TurnLeft, Stop]);
        t.perturbed_run = Some(1);
        t.targets = Some(vec![
            vec![MoveForward, TurnLeft],
            vec![TurnLeft, TurnLeft],
            vec![TurnLeft, Stop],
            vec![Stop, Stop],
        ]);
        let prompt = PromptConfig {
            num_actions: 3,
            ..PromptConfig::R2R
        };
        let s = trajectory_samples(&t, &prompt, &MemorySampler::UNIFORM);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].target, [MoveForward, TurnLeft, Stop]);
        assert_eq!(s[1].target, [TurnLeft, TurnLeft, Stop]);
        assert_eq!(s[3].target, [Stop, Stop, Stop]);
    }
}
