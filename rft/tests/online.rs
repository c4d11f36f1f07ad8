//! Closed-loop pieces on the shipped world: the expert labeler drives episodes to success and its look-ahead
//! agrees with what it then does; the progress reward scores expert actions above STOP, and the outcome reward a
//! STOP at the goal above walking on above a STOP far from it; a short closed-loop GRPO run with a tiny random
//! checkpoint trains and writes its rollouts, and those rollouts train both SFT and GRPO (the one buffer).

use std::path::Path;
use std::sync::Arc;

use env::nav::Expert;
use env::nav::{FollowerConfig, NavParams};
use env::task::{ResetOptions, SceneLibrary, TaskDataset, VlnEnvConfig};
use env::vec_env::VecEnv;
use episodes::store::SampleStore;
use episodes::{Action, EpisodeFilter};
use rft::online::{outcome_score, progress_score};
use rft::{
    run_offline, run_online, GroupMode, LossType, OfflineRun, OnlineReward, OnlineRun, RftConfig,
};
use tch::{Device, Kind};

fn world() -> (Arc<SceneLibrary>, Arc<TaskDataset>) {
    let dataset = TaskDataset::load_split(
        &env::episode_gen::shipped_dataset_dir(),
        "train",
        &EpisodeFilter::default(),
    )
    .unwrap();
    let library = SceneLibrary::new(
        habitat_assets::shipped::scenes_dir(),
        env::body::AgentConfig::r2r(),
        NavParams::default(),
    )
    .unwrap();
    (Arc::new(library), Arc::new(dataset))
}

fn small_env() -> VlnEnvConfig {
    VlnEnvConfig {
        width: 56,
        height: 56,
        max_steps: 200,
        ..VlnEnvConfig::default()
    }
}

#[test]
fn labeler_drives_to_success_and_scores_progress() {
    let (library, dataset) = world();
    let mut envs = VecEnv::with_envs(1, library, dataset, small_env()).unwrap();
    let (obs, info) = envs
        .reset(vec![(0, None, ResetOptions::Index(0))])
        .unwrap()
        .pop()
        .unwrap();
    let mut labeler = Expert::new(&info, FollowerConfig::default()).unwrap();
    let mut state = obs.state;
    let first = labeler.labels(state, 6).unwrap();
    // Progress: the expert's 6 actions gain distance (unless all are turns), a STOP gains none.
    let stop = progress_score(&labeler, state, &[Action::Stop; 6], 6, 3.0).unwrap();
    assert_eq!(stop.progress, 0.0);
    assert_eq!(stop.success, 0.0);
    let expert = progress_score(&labeler, state, &first, 6, 3.0).unwrap();
    if first.contains(&Action::MoveForward) {
        assert!(expert.progress > 0.0, "{first:?}");
    }
    // Outcome: a STOP here (>= 5 m from the goal) scores the stop cost below walking on, which scores 0.
    let far = outcome_score(&labeler, state, &[Action::Stop; 6], 6, 3.0, 0.25).unwrap();
    assert_eq!(far, -0.25);
    assert_eq!(
        outcome_score(&labeler, state, &first, 1, 3.0, 0.25).unwrap(),
        0.0
    );
    // Only the executed prefix counts: a STOP after it is not taken.
    let late = [Action::TurnLeft, Action::Stop];
    assert_eq!(
        outcome_score(&labeler, state, &late, 1, 3.0, 0.25).unwrap(),
        0.0
    );
    let mut predicted: Vec<Vec<Action>> = Vec::new();
    let mut taken = Vec::new();
    loop {
        let labels = labeler.labels(state, 6).unwrap();
        if labels[0] == Action::Stop {
            // Where the expert stops (within its 0.25 m radius) the soft success is close to 1.
            let at_goal = outcome_score(&labeler, state, &labels, 1, 3.0, 0.25).unwrap();
            assert!(at_goal > 0.65 && at_goal <= 0.75, "{at_goal}");
        }
        predicted.push(labels.clone());
        taken.push(labels[0]);
        let r = envs.step(&[(0, labels[0])]).unwrap().pop().unwrap();
        state = r.observation.state;
        if r.done() {
            assert!(
                r.info.metrics.sr > 0.5,
                "the expert failed: {:?}",
                r.info.metrics
            );
            break;
        }
    }
    assert_eq!(*taken.last().unwrap(), Action::Stop);
    // Look-ahead agreement: position k of the labels at step t against the action taken at t + k.
    let (mut agree, mut total) = (0, 0);
    for (t, labels) in predicted.iter().enumerate() {
        for (k, a) in labels.iter().enumerate() {
            let actual = taken.get(t + k).copied().unwrap_or(Action::Stop);
            agree += usize::from(*a == actual);
            total += 1;
        }
    }
    let rate = agree as f64 / total as f64;
    eprintln!("look-ahead agreement {rate:.3} over {} steps", taken.len());
    // The look-ahead continues the persistent follower (plan and body), so it predicts its own next actions.
    assert!(rate > 0.99, "look-ahead agreement {rate}");
}

#[test]
fn closed_loop_run_trains_and_writes_rollouts() {
    let (library, dataset) = world();
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("tiny");
    agent::init::init_checkpoint(agent::Preset::Tiny, 5, &model, None).unwrap();
    // A navigator's settings: every checkpoint of the run carries them, with the actions per decision it
    // trained with, and without the STOP calibration of the weights it started from.
    let settings = navigator_settings(None);
    settings.write(&model).unwrap();
    for reward in [OnlineReward::ExpertTdr, OnlineReward::Progress] {
        let mut config = RftConfig {
            num_generations: 2,
            prompts_per_step: 3,
            micro_batch_size: 6,
            max_completion_length: 4,
            learning_rate: 1e-3,
            loss_type: LossType::Grpo,
            max_steps: 2,
            save_steps: 1,
            ..RftConfig::default()
        };
        config.online.num_envs = 2;
        config.online.reward = reward;
        config.online.memory = "uniform:2".into();
        config.online.execute = 2;
        let out = tmp.path().join(format!("{reward:?}"));
        let run = cpu_run(&library, &dataset, &model, &out, config);
        let logs = run_online(&run, |_| {}).unwrap();
        assert_eq!(logs.len(), 2);
        // episode_success appears only in rounds where an episode ended.
        let names: Vec<&String> = logs[0]
            .rewards
            .keys()
            .filter(|k| *k != "episode_success")
            .collect();
        let want: &[&str] = match reward {
            OnlineReward::ExpertTdr => &["fallback_rate", "format", "tdr"],
            OnlineReward::Progress => &["fallback_rate", "format", "progress", "success"],
        };
        assert_eq!(names, want);
        // A random tiny model never writes an option: every executed action is the expert fallback.
        assert_eq!(logs[0].rewards["fallback_rate"], 1.0);
        let store = SampleStore::open(&out.join("rollouts")).unwrap();
        assert_eq!(store.len(), 6);
        for s in store.iter() {
            let s = s.unwrap();
            assert_eq!(s.target.len(), 6);
            assert_eq!(s.rl.as_ref().unwrap().completions.len(), 2);
            for f in s.frames() {
                assert!(store.frame_path(f).is_file(), "{f}");
            }
        }
        assert!(out.join("final/model.safetensors").is_file());
        for dir in ["final", "checkpoint-2"] {
            let recorded = agent::NavigationSettings::read(&out.join(dir)).unwrap();
            let want = agent::NavigationSettings {
                execute: Some(2),
                stop_bias: None,
                ..settings
            };
            assert_eq!(recorded, Some(want), "{dir}");
        }
    }
}

/// A navigator's settings over `small_env` frames: uniform:2 memory, N 6, STOP bias 0.5, and `execute` if it
/// was trained closed-loop.
fn navigator_settings(execute: Option<usize>) -> agent::NavigationSettings {
    let env = small_env();
    agent::NavigationSettings {
        memory: "uniform:2".parse().unwrap(),
        num_actions: 6,
        width: env.width,
        height: env.height,
        hfov_deg: env.hfov_deg,
        agent: env::body::AgentConfig::r2r(),
        stop_radius: None,
        execute,
        stop_bias: Some(0.5),
    }
}

/// A closed-loop run of `model` on CPU in f32 over `small_env`, writing to `out`.
fn cpu_run(
    library: &Arc<SceneLibrary>,
    dataset: &Arc<TaskDataset>,
    model: &Path,
    out: &Path,
    config: RftConfig,
) -> OnlineRun {
    OnlineRun {
        library: library.clone(),
        dataset: dataset.clone(),
        env: small_env(),
        model: model.to_owned(),
        out: out.to_owned(),
        config,
        device: Device::Cpu,
        kind: Kind::Float,
    }
}

/// A random `tiny` checkpoint under `dir` and a one-round closed-loop config with the SFT term on.
fn one_sft_round(dir: &Path) -> (std::path::PathBuf, RftConfig) {
    let model = dir.join("tiny");
    agent::init::init_checkpoint(agent::Preset::Tiny, 5, &model, None).unwrap();
    let mut config = RftConfig {
        num_generations: 2,
        prompts_per_step: 2,
        micro_batch_size: 4,
        max_completion_length: 4,
        learning_rate: 1e-3,
        max_steps: 1,
        sft_coef: 1.0,
        ..RftConfig::default()
    };
    config.online.num_envs = 2;
    config.online.memory = "uniform:2".into();
    (model, config)
}

#[test]
fn the_rollout_buffer_trains_both_sft_and_grpo() {
    let (library, dataset) = world();
    let tmp = tempfile::tempdir().unwrap();
    let (model, mut config) = one_sft_round(tmp.path());
    config.online.weights.outcome = 1.0;
    let out = tmp.path().join("online");
    let run = cpu_run(&library, &dataset, &model, &out, config.clone());
    let logs = run_online(&run, |_| {}).unwrap();
    // The SFT term ran on the groups' expert targets: a random model's NLL is near ln(vocab) per token.
    assert!(
        logs[0].sft_loss > 1.0 && logs[0].sft_loss.is_finite(),
        "{:?}",
        logs[0]
    );
    assert!(
        logs[0].rewards.contains_key("outcome"),
        "{:?}",
        logs[0].rewards
    );
    let buffer = out.join("rollouts");

    // The same records train SFT (their expert targets) ...
    let sft_run = sft::trainer::SftRun {
        data: buffer.clone(),
        model: model.clone(),
        out: tmp.path().join("sft"),
        config: sft::config::SftConfig {
            max_steps: Some(2),
            per_device_train_batch_size: 2,
            device: "cpu".into(),
            val_fraction: 0.0,
            save_steps: 0,
            ..sft::config::SftConfig::default()
        },
    };
    let summary =
        sft::trainer::train(&sft_run, &mut |_| std::ops::ControlFlow::Continue(())).unwrap();
    assert_eq!(summary.steps_done, 2);
    assert!(tmp.path().join("sft/final/model.safetensors").is_file());

    // ... and GRPO (their prompts, scored against the same targets).
    let offline = OfflineRun {
        data: buffer,
        model,
        out: tmp.path().join("grpo"),
        config: RftConfig {
            max_steps: 1,
            ..config
        },
        device: Device::Cpu,
        kind: Kind::Float,
    };
    let logs = run_offline(&offline, |_| {}).unwrap();
    assert_eq!(logs.len(), 1);
    assert!(logs[0].rewards.contains_key("tdr"), "{:?}", logs[0].rewards);
}

#[test]
fn pg_coef_zero_trains_the_sft_term_alone() {
    let (library, dataset) = world();
    let tmp = tempfile::tempdir().unwrap();
    let (model, mut config) = one_sft_round(tmp.path());
    config.pg_coef = 0.0;
    let out = tmp.path().join("dagger");
    let run = cpu_run(&library, &dataset, &model, &out, config);
    let logs = run_online(&run, |_| {}).unwrap();
    // No GRPO loss, yet the weights moved (the SFT term's gradient) and the groups were still stored.
    assert_eq!(logs[0].loss, 0.0, "{:?}", logs[0]);
    assert!(logs[0].sft_loss > 1.0, "{:?}", logs[0]);
    let before = std::fs::read(model.join("model.safetensors")).unwrap();
    let after = std::fs::read(out.join("final/model.safetensors")).unwrap();
    assert_ne!(before, after);
    assert!(out.join("rollouts/manifest.json").is_file());
}

/// A random `tiny` navigator (uniform:2 memory, N 6, executing 2 per decision, STOP bias 0.5) and a config
/// of episode groups: 2 episodes x 3 trajectories per round, 2 decisions of each in the loss, KL on.
fn episode_groups_setup(dir: &Path) -> (std::path::PathBuf, RftConfig) {
    let model = dir.join("tiny");
    agent::init::init_checkpoint(agent::Preset::Tiny, 5, &model, None).unwrap();
    navigator_settings(Some(2)).write(&model).unwrap();
    let mut config = RftConfig {
        num_generations: 3,
        prompts_per_step: 2,
        micro_batch_size: 8,
        learning_rate: 1e-3,
        beta: 0.04,
        // On-policy, the stored log-probs are the learner's own: nothing may be clipped even this tightly.
        epsilon: 1e-3,
        max_steps: 2,
        save_steps: 1,
        ..RftConfig::default()
    };
    config.online.groups = GroupMode::Episode;
    config.online.memory = "uniform:2".into();
    config.online.execute = 2;
    config.online.decisions_per_trajectory = 2;
    config.online.weights.ndtw = 1.0;
    (model, config)
}

#[test]
fn episode_groups_share_a_start_and_broadcast_one_advantage() {
    let (library, dataset) = world();
    let tmp = tempfile::tempdir().unwrap();
    let (model, config) = episode_groups_setup(tmp.path());
    let out = tmp.path().join("episodes");
    let logs = run_online(&cpu_run(&library, &dataset, &model, &out, config), |_| {}).unwrap();
    assert_eq!(logs.len(), 2);
    for log in &logs {
        for key in ["success", "ndtw", "format", "episode_success", "episode_tl"] {
            assert!(log.rewards.contains_key(key), "{key}: {:?}", log.rewards);
        }
        // Constrained decoding: every answer parses.
        assert_eq!(log.rewards["format"], 1.0);
        assert_eq!(log.clip_ratio, 0.0, "{log:?}");
        assert!(log.kl.is_finite() && log.kl >= 0.0, "{log:?}");
    }
    // Round 1 trains the start model itself: no divergence from the reference yet.
    assert!(logs[0].kl < 1e-5, "{:?}", logs[0]);
    // Every decision of every trajectory is in the buffer, grouped by trajectory.
    let store = SampleStore::open(&out.join("rollouts")).unwrap();
    let mut by_trajectory: std::collections::BTreeMap<String, Vec<episodes::Sample>> =
        Default::default();
    for s in store.iter() {
        let s = s.unwrap();
        assert_eq!(
            s.target.len(),
            6,
            "the expert's next N from the visited state"
        );
        for f in s.frames() {
            assert!(store.frame_path(f).is_file(), "{f}");
        }
        by_trajectory
            .entry(s.trajectory_id.clone().unwrap())
            .or_default()
            .push(s);
    }
    assert_eq!(by_trajectory.len(), 2 * 2 * 3, "2 rounds x 2 episodes x 3");
    let mut starts = Vec::new();
    for samples in by_trajectory.values() {
        // One reward and one advantage for every decision of a trajectory.
        let comp = |s: &episodes::Sample| s.rl.as_ref().unwrap().completions[0].clone();
        let first = comp(&samples[0]);
        for s in samples {
            assert_eq!(comp(s).advantage, first.advantage);
            assert_eq!(comp(s).rewards, first.rewards);
            assert_eq!(s.episode_id, samples[0].episode_id);
        }
        assert_eq!(samples[0].step, 0, "the first decision is at the start");
        let frame = std::fs::read(store.frame_path(&samples[0].current_frame)).unwrap();
        starts.push((
            samples[0].episode_id.clone(),
            frame,
            first.advantage.unwrap(),
        ));
    }
    // Trajectories are numbered in round order, 3 per group: a group is one episode from one start, and its
    // advantages are normalised within it.
    for group in starts.chunks(3) {
        assert!(group.iter().all(|m| m.0 == group[0].0 && m.1 == group[0].1));
        let sum: f32 = group.iter().map(|m| m.2).sum();
        assert!(sum.abs() < 1e-3, "{sum}");
    }
    // The written policy is the one that played: execute 2 and the STOP bias it sampled with.
    let nav = agent::NavigationSettings::read(&out.join("final"))
        .unwrap()
        .unwrap();
    assert_eq!((nav.execute, nav.stop_bias), (Some(2), Some(0.5)));
}

#[test]
fn episode_groups_resume_to_the_same_weights() {
    let (library, dataset) = world();
    let tmp = tempfile::tempdir().unwrap();
    let (model, config) = episode_groups_setup(tmp.path());
    let straight = tmp.path().join("straight");
    run_online(
        &cpu_run(&library, &dataset, &model, &straight, config.clone()),
        |_| {},
    )
    .unwrap();
    // Stopped after round 1, then the same command with the full length.
    let resumed = tmp.path().join("resumed");
    let first = RftConfig {
        max_steps: 1,
        ..config.clone()
    };
    run_online(
        &cpu_run(&library, &dataset, &model, &resumed, first),
        |_| {},
    )
    .unwrap();
    let logs = run_online(
        &cpu_run(&library, &dataset, &model, &resumed, config),
        |_| {},
    )
    .unwrap();
    assert_eq!(logs.len(), 1, "only round 2 ran again");
    let weights = |dir: &Path| {
        let mut w = tch::Tensor::read_safetensors(dir.join("final/model.safetensors")).unwrap();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        w
    };
    for ((n, a), (m, b)) in weights(&straight).iter().zip(weights(&resumed).iter()) {
        assert_eq!(n, m);
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "{n}: {diff}");
    }
    let len = |dir: &Path| SampleStore::open(&dir.join("rollouts")).unwrap().len();
    assert_eq!(len(&straight), len(&resumed));
}

#[test]
fn episode_groups_refuse_a_config_that_contradicts_the_checkpoint() {
    let (library, dataset) = world();
    let tmp = tempfile::tempdir().unwrap();
    let (model, mut config) = episode_groups_setup(tmp.path());
    config.online.execute = 3;
    let out = tmp.path().join("refused");
    let err = run_online(&cpu_run(&library, &dataset, &model, &out, config), |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("online.execute") && err.contains("navigation.json"),
        "{err}"
    );
}

#[test]
fn expert_mixing_and_the_aggregated_replay() {
    let (library, dataset) = world();
    let tmp = tempfile::tempdir().unwrap();
    let (model, mut config) = episode_groups_setup(tmp.path());
    config.sft_coef = 1.0;
    config.online.expert_mix = 1.0;
    config.online.expert_mix_decay = 0.5;
    config.online.sft_replay = 4;
    let out = tmp.path().join("dagger");
    let logs = run_online(
        &cpu_run(&library, &dataset, &model, &out, config.clone()),
        |_| {},
    )
    .unwrap();
    // β decays per round: 1, then 0.5.
    assert_eq!(logs[0].rewards["expert_mix"], 1.0);
    assert_eq!(logs[1].rewards["expert_mix"], 0.5);
    // β = 1: the expert took every step, so round 1 played the expert (which reaches its goals) and none of
    // the policy's plans made a trajectory: no GRPO credit.
    assert!(
        logs[0].rewards["episode_success"] >= 0.5,
        "{:?}",
        logs[0].rewards
    );
    assert!(logs[0].sft_loss > 1.0, "{:?}", logs[0]);
    let store = SampleStore::open(&out.join("rollouts")).unwrap();
    let round1: Vec<episodes::Sample> = store
        .iter()
        .map(Result::unwrap)
        .filter(|s| s.trajectory_id.as_deref() < Some("episode-000000000006"))
        .collect();
    assert!(!round1.is_empty());
    for s in &round1 {
        assert_eq!(s.rl.as_ref().unwrap().completions[0].advantage, Some(0.0));
    }
    // The replay draws from everything the buffer committed, mixed with an expert store by share.
    let trainer = rft::GrpoTrainer::new(
        &model,
        &tmp.path().join("t"),
        config.clone(),
        1,
        Device::Cpu,
        Kind::Float,
    )
    .unwrap();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let buffer_only =
        rft::replay::SftReplay::open(4, None, 0.5, 0.5, &out.join("rollouts")).unwrap();
    assert_eq!(buffer_only.buffered(), store.len());
    let drawn = buffer_only.draw(&mut rng, &trainer).unwrap().unwrap();
    assert_eq!(drawn.len(), 4);
    let other = tmp.path().join("other");
    let mut first = config.clone();
    first.max_steps = 1;
    first.seed = 9;
    run_online(&cpu_run(&library, &dataset, &model, &other, first), |_| {}).unwrap();
    let mixed = rft::replay::SftReplay::open(
        4,
        Some(&other.join("rollouts")),
        0.5,
        0.5,
        &out.join("rollouts"),
    )
    .unwrap();
    let drawn = mixed.draw(&mut rng, &trainer).unwrap().unwrap();
    let from_other = drawn
        .iter()
        .filter(|g| store.iter().all(|s| s.unwrap() != g.sample))
        .count();
    assert_eq!(from_other, 2, "half from the expert store");
    // Nothing committed and no expert store: nothing to replay (the round's own decisions stand in).
    let empty = rft::replay::SftReplay::open(4, None, 0.5, 0.5, &tmp.path().join("none")).unwrap();
    assert!(empty.draw(&mut rng, &trainer).unwrap().is_none());
}
