//! VlmPolicy on frames rendered by the simulator, with a tiny randomly initialised checkpoint: it returns
//! valid actions, plans once per `execute` actions, is deterministic, counts unparsable answers, and with
//! constrained decoding writes only answers that parse.

use std::path::PathBuf;
use std::sync::Arc;

use agent::{Decoding, Preset, VlmPolicy, VlmPolicyConfig};
use env::body::AgentConfig;
use env::nav::NavParams;
use env::policy::{Policy, PolicyInput};
use env::task::{Env, ResetOptions, SceneLibrary, TaskDataset, VlnEnv, VlnEnvConfig};
use episodes::{Action, EpisodeFilter, MemorySampler};
use tch::Device;

fn tiny_checkpoint(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("policy-tiny-{tag}-{}", std::process::id()));
    agent::init::init_checkpoint(Preset::Tiny, 5, &dir, None).unwrap();
    dir
}

fn make_env() -> VlnEnv {
    let dataset = TaskDataset::load_split(
        &env::episode_gen::shipped_dataset_dir(),
        "val_unseen",
        &EpisodeFilter::default(),
    )
    .unwrap();
    let library = SceneLibrary::new(
        habitat_assets::shipped::scenes_dir(),
        AgentConfig::r2r(),
        NavParams::default(),
    )
    .unwrap();
    let config = VlnEnvConfig {
        width: 56,
        height: 56,
        max_steps: 50,
        ..VlnEnvConfig::default()
    };
    VlnEnv::new(Arc::new(library), Arc::new(dataset), config).unwrap()
}

/// Plays `steps` steps of episode 0 and returns the actions.
fn play(policy: &mut VlmPolicy, env: &mut VlnEnv, steps: usize) -> Vec<Action> {
    let (mut obs, info) = env.reset(Some(1), &ResetOptions::Index(0)).unwrap();
    policy.reset(0, &info).unwrap();
    let mut actions = Vec::new();
    for _ in 0..steps {
        let a = policy
            .act(&[PolicyInput {
                slot: 0,
                observation: &obs,
            }])
            .unwrap();
        assert_eq!(a.len(), 1);
        assert!(
            matches!(
                a[0],
                Action::Stop | Action::MoveForward | Action::TurnLeft | Action::TurnRight
            ),
            "{:?}",
            a[0]
        );
        actions.push(a[0]);
        if a[0] == Action::Stop {
            break;
        }
        let step = env.step(a[0]).unwrap();
        if step.done() {
            break;
        }
        obs = step.observation;
    }
    actions
}

#[test]
fn tiny_model_policy_acts_validly_and_deterministically() {
    let dir = tiny_checkpoint("free");
    let config = VlmPolicyConfig {
        memory: MemorySampler::Uniform { cap: 2 },
        num_actions: 3,
        execute: 1,
        // A random model never writes a valid answer freely; MOVE_FORWARD keeps the episode going so that
        // several decisions (and the history frames) are exercised.
        fallback: Action::MoveForward,
        decoding: Decoding::Free,
        ..VlmPolicyConfig::default()
    };
    let mut env = make_env();
    let mut a = VlmPolicy::load(&dir, Device::Cpu, None, config.clone()).unwrap();
    assert!(a.name().starts_with("model:"));
    assert!(a.config().generation.max_new_tokens > 0);
    let first = play(&mut a, &mut env, 4);
    let stats = a.stats();
    assert_eq!(
        stats.plans as usize,
        first.len(),
        "execute 1: one plan per action"
    );
    assert!(stats.fallbacks <= stats.parse_errors && stats.parse_errors <= stats.plans);
    let mut b = VlmPolicy::load(&dir, Device::Cpu, None, config.clone()).unwrap();
    assert_eq!(
        play(&mut b, &mut env, 4),
        first,
        "greedy decoding is deterministic"
    );

    // execute 3: the model is asked at most once per three actions when its answers parse; with fallbacks
    // (one action each) it is asked every step. Either way plans <= actions.
    let mut c = VlmPolicy::load(
        &dir,
        Device::Cpu,
        None,
        VlmPolicyConfig {
            execute: 3,
            ..config
        },
    )
    .unwrap();
    let acts = play(&mut c, &mut env, 4);
    assert!(c.stats().plans as usize <= acts.len());
    assert!(c.queued(0).len() < 3);

    // Acting on a slot that was never reset is an error, not a panic.
    let (obs, _) = env.reset(Some(1), &ResetOptions::Index(0)).unwrap();
    let err = c
        .act(&[PolicyInput {
            slot: 7,
            observation: &obs,
        }])
        .unwrap_err()
        .to_string();
    assert!(err.contains("slot 7"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn constrained_decoding_makes_a_random_model_answer_in_format() {
    let dir = tiny_checkpoint("constrained");
    let config = VlmPolicyConfig {
        memory: MemorySampler::Uniform { cap: 2 },
        num_actions: 3,
        execute: 3,
        decoding: Decoding::Constrained,
        ..VlmPolicyConfig::default()
    };
    let mut env = make_env();
    let mut free = VlmPolicy::load(
        &dir,
        Device::Cpu,
        None,
        VlmPolicyConfig {
            decoding: Decoding::Free,
            ..config.clone()
        },
    )
    .unwrap();
    play(&mut free, &mut env, 3);
    assert!(
        free.stats().parse_errors > 0,
        "a random model's free text should not parse: {:?}",
        free.stats()
    );

    let mut policy = VlmPolicy::load(&dir, Device::Cpu, None, config).unwrap();
    let actions = play(&mut policy, &mut env, 8);
    let stats = policy.stats();
    assert_eq!(stats.parse_errors, 0, "{:?}", policy.last_parse_error());
    // Every plan parsed to 3 actions, all of which run before the next plan (or the episode stopped).
    assert_eq!(
        stats.plans as usize,
        actions.len().div_ceil(3),
        "{actions:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stop_bias_moves_the_stop_decision_and_needs_constrained_decoding() {
    let dir = tiny_checkpoint("stop-bias");
    let config = |stop_bias| VlmPolicyConfig {
        memory: MemorySampler::Uniform { cap: 2 },
        num_actions: 3,
        execute: 1,
        stop_bias,
        ..VlmPolicyConfig::default()
    };
    let mut env = make_env();
    // A bias far above any logit gap: STOP is the first answer; far below: STOP is never chosen.
    let mut eager = VlmPolicy::load(&dir, Device::Cpu, None, config(1e4)).unwrap();
    assert_eq!(play(&mut eager, &mut env, 5), vec![Action::Stop]);
    assert!(
        eager.name().ends_with("stop_bias=10000"),
        "{}",
        eager.name()
    );
    let mut never = VlmPolicy::load(&dir, Device::Cpu, None, config(-1e4)).unwrap();
    let walked = play(&mut never, &mut env, 6);
    assert_eq!(walked.len(), 6, "{walked:?}");
    assert!(!walked.contains(&Action::Stop), "{walked:?}");
    // Unbiased, the policy is the same as before the option existed (its name too).
    let plain = VlmPolicy::load(&dir, Device::Cpu, None, config(0.0)).unwrap();
    assert!(!plain.name().contains("stop_bias"));

    let free = VlmPolicyConfig {
        decoding: Decoding::Free,
        ..config(1.0)
    };
    let err = VlmPolicy::load(&dir, Device::Cpu, None, free)
        .err()
        .expect("a bias with free decoding is refused")
        .to_string();
    assert!(
        err.contains("stop bias") && err.contains("constrained"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reused_frame_features_and_jump_forward_decide_as_the_repeated_work() {
    let dir = tiny_checkpoint("reuse");
    // long-short memory over 12 decisions: frames come back into the history again and again.
    let config = |reuse_vision, jump_forward| VlmPolicyConfig {
        memory: "long-short:4,1,4,4".parse().unwrap(),
        num_actions: 3,
        execute: 1,
        reuse_vision,
        jump_forward,
        stop_bias: -1e4,
        ..VlmPolicyConfig::default()
    };
    let mut env = make_env();
    let mut old = VlmPolicy::load(&dir, Device::Cpu, None, config(false, false)).unwrap();
    let mut new = VlmPolicy::load(&dir, Device::Cpu, None, config(true, true)).unwrap();
    let repeated = play(&mut old, &mut env, 12);
    assert_eq!(repeated.len(), 12, "{repeated:?}");
    assert_eq!(play(&mut new, &mut env, 12), repeated);
    assert_eq!(new.stats(), old.stats());
    let _ = std::fs::remove_dir_all(&dir);
}
