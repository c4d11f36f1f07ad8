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
use rft::{run_offline, run_online, LossType, OfflineRun, OnlineReward, OnlineRun, RftConfig};
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
    let env = small_env();
    let settings = agent::NavigationSettings {
        memory: "uniform:2".parse().unwrap(),
        num_actions: 6,
        width: env.width,
        height: env.height,
        hfov_deg: env.hfov_deg,
        agent: env::body::AgentConfig::r2r(),
        stop_radius: None,
        execute: None,
        stop_bias: Some(0.5),
    };
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
