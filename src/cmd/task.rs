//! What every task command shares (`eval`, `rollout`, `datagen`, `rft --online`): the task options, the split
//! and its scenes, the run settings of a `model:DIR` checkpoint, and the policy resolution (`model:DIR` joins
//! here, since the VLM policy needs libtorch and so cannot live in `env`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use env::body::AgentConfig;
use env::policy::{Policy, PolicySpec};
use env::task::{SceneLibrary, Sensors, TaskDataset, VlnEnvConfig};

use super::args::SceneReadArgs;

/// The agent body and action space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentKind {
    /// R2R-CE: 1.5 m x 0.1 m, 15 degree turns, sliding.
    R2r,
    /// RxR-CE: 0.88 m x 0.18 m, 30 degree turns, no sliding.
    Rxr,
}

impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AgentKind::R2r => "r2r",
            AgentKind::Rxr => "rxr",
        })
    }
}

impl AgentKind {
    /// The kind whose body and actions are `config` exactly.
    pub fn of(config: &AgentConfig) -> anyhow::Result<AgentKind> {
        [AgentKind::R2r, AgentKind::Rxr]
            .into_iter()
            .find(|k| k.config() == *config)
            .with_context(|| format!("{config:?} is neither the r2r nor the rxr agent"))
    }

    pub fn config(self) -> AgentConfig {
        match self {
            AgentKind::R2r => AgentConfig::r2r(),
            AgentKind::Rxr => AgentConfig::rxr(),
        }
    }
}

/// What to run and where: shared by `eval` and `rollout`.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// Policy: random, random:P_STOP,P_FORWARD,P_LEFT,P_RIGHT, forward, oracle, replay:FILE, model:DIR (a
    /// Qwen2-VL checkpoint, e.g. `vln-r1 sft`'s OUT/final).
    #[arg(long)]
    pub policy: String,
    /// model:DIR only: history frames shown (the training data's `datagen --memory`). Default: the
    /// checkpoint's navigation.json, else long-short.
    #[arg(long)]
    pub memory: Option<episodes::MemorySampler>,
    /// model:DIR only: N, the actions the prompt asks for (`datagen --future`). Default: the checkpoint's
    /// navigation.json, else 6.
    #[arg(long)]
    pub future: Option<usize>,
    /// model:DIR only: how many of the N predicted actions run before the model is asked again; default:
    /// as the checkpoint was trained closed-loop (its navigation.json), else 1.
    #[arg(long)]
    pub execute: Option<usize>,
    /// model:DIR only: constrained (the decoder may only write N valid options; the letter picks the option)
    /// or free (the model's text as written; an unparsable answer runs STOP).
    #[arg(long, default_value = "constrained")]
    pub decoding: agent::Decoding,
    /// model:DIR only, constrained decoding: added to the logit of STOP's option letter (logit adjustment for
    /// how rare STOP is in the training labels; > 0 stops sooner). Choose it on val_seen, not on the split
    /// you report. Default: the checkpoint's navigation.json `stop_bias` (the value chosen for those
    /// weights), else 0; the flag overrides it (it is a decoding choice, not a training setting).
    #[arg(long, allow_hyphen_values = true)]
    pub stop_bias: Option<f32>,
    /// model:DIR only: auto (CUDA if available), cpu, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: agent::DeviceChoice,
    /// Split to run.
    #[arg(long, default_value = "val_unseen")]
    pub split: String,
    /// VLN-CE dataset directory ({split}/{split}.json.gz); default: the shipped dataset.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Directory that the episodes' scene_id paths are relative to; default: habitat_assets/scenes.
    #[arg(long)]
    pub scenes: Option<PathBuf>,
    #[command(flatten)]
    pub scene_read: SceneReadArgs,
    /// Only the first N episodes of the split.
    #[arg(long)]
    pub episodes: Option<usize>,
    /// Run seed; each episode's seed is derived from it and the episode id.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Agent body and actions. Default: the checkpoint's navigation.json for model:DIR, else r2r.
    #[arg(long, value_enum)]
    pub agent: Option<AgentKind>,
    /// Episode step cap (STOP counts).
    #[arg(long, default_value_t = env::task::DEFAULT_MAX_STEPS)]
    pub max_steps: u32,
    /// RGB sensor width, height (pixels) and horizontal field of view (degrees). Default: the checkpoint's
    /// navigation.json for model:DIR, else 224 x 224 at 90.
    #[arg(long)]
    pub width: Option<u32>,
    #[arg(long)]
    pub height: Option<u32>,
    #[arg(long)]
    pub hfov: Option<f32>,
}

/// The observation and action settings of a run: each flag as given, else what the checkpoint of a
/// `model:DIR` policy was trained with (its `navigation.json`), else the defaults. A flag that contradicts the
/// checkpoint is refused: a model run with other frames, memory or actions than it learned is not that model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSettings {
    pub memory: episodes::MemorySampler,
    pub future: usize,
    pub execute: usize,
    /// STOP logit adjustment: the flag, else the checkpoint's, else 0.
    pub stop_bias: f32,
    pub agent: AgentKind,
    pub camera: Camera,
}

impl RunSettings {
    fn resolve(args: &TaskArgs, spec: &PolicySpec) -> anyhow::Result<RunSettings> {
        let dir = model_dir(spec);
        let checkpoint = match dir {
            Some(d) => agent::NavigationSettings::read(Path::new(d))?,
            None => None,
        };
        let from = |field: &str| {
            format!(
                "{}/{} {field}",
                dir.unwrap_or_default(),
                agent::navigation::NAVIGATION_FILE
            )
        };
        let c = checkpoint.as_ref();
        let agent = match c {
            Some(n) => Some(AgentKind::of(&n.agent).with_context(|| from("agent"))?),
            None => None,
        };
        Ok(RunSettings {
            memory: pick(
                "--memory",
                args.memory,
                c.map(|n| n.memory),
                &from("memory"),
            )?
            .unwrap_or(episodes::MemorySampler::LONG_SHORT),
            future: pick(
                "--future",
                args.future,
                c.map(|n| n.num_actions),
                &from("num_actions"),
            )?
            .unwrap_or(6),
            execute: pick(
                "--execute",
                args.execute,
                c.and_then(|n| n.execute),
                &from("execute"),
            )?
            .unwrap_or(1),
            stop_bias: args
                .stop_bias
                .or(c.and_then(|n| n.stop_bias))
                .unwrap_or(0.0),
            agent: pick("--agent", args.agent, agent, &from("agent"))?.unwrap_or(AgentKind::R2r),
            camera: Camera::resolve([args.width, args.height], args.hfov, c, &from)?,
        })
    }
}

/// The RGB camera of a run: the flags, else the checkpoint's `navigation.json`, else 224x224 at 90 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub width: u32,
    pub height: u32,
    pub hfov: f32,
}

impl Camera {
    /// A flag that contradicts the checkpoint is refused, naming both (`source` names a field of its file).
    pub fn resolve(
        [width, height]: [Option<u32>; 2],
        hfov: Option<f32>,
        checkpoint: Option<&agent::NavigationSettings>,
        source: &dyn Fn(&str) -> String,
    ) -> anyhow::Result<Camera> {
        let c = checkpoint;
        Ok(Camera {
            width: pick("--width", width, c.map(|n| n.width), &source("width"))?.unwrap_or(224),
            height: pick("--height", height, c.map(|n| n.height), &source("height"))?
                .unwrap_or(224),
            hfov: pick("--hfov", hfov, c.map(|n| n.hfov_deg), &source("hfov_deg"))?.unwrap_or(90.0),
        })
    }
}

/// The flag's value, else the checkpoint's; both given and different is an error naming both.
pub fn pick<T: PartialEq + std::fmt::Display>(
    flag: &str,
    given: Option<T>,
    checkpoint: Option<T>,
    source: &str,
) -> anyhow::Result<Option<T>> {
    match (given, checkpoint) {
        (Some(g), Some(c)) if g != c => bail!(
            "{flag} {g} contradicts {source} {c}, the setting the checkpoint was trained with; \
             drop the flag"
        ),
        (Some(g), _) => Ok(Some(g)),
        (None, c) => Ok(c),
    }
}

/// The checkpoint directory of a `model:DIR` policy.
fn model_dir(spec: &PolicySpec) -> Option<&str> {
    match spec {
        PolicySpec::External { kind, arg } if kind == "model" => {
            arg.as_deref().filter(|d| !d.is_empty())
        }
        _ => None,
    }
}

pub use env::split_inputs::LoadedSplit;

/// Loads `split` of `dataset` (default: the shipped dataset) with its scenes under `scenes` (default: the
/// shipped houses): the one place `eval`, `rollout`, `datagen` and `rft --online` resolve their inputs
/// (`env::split_inputs`, which the Python package calls too).
pub fn load_split(
    dataset: Option<&Path>,
    scenes: Option<&Path>,
    split: &str,
    agent: AgentKind,
    scene_read: &SceneReadArgs,
) -> anyhow::Result<LoadedSplit> {
    let scene_up = scene_read.forced();
    env::split_inputs::load_split_reading(dataset, scenes, split, agent.config(), scene_up)
        .with_context(|| {
            format!(
                "loading split {split} of {}",
                dataset
                    .map_or_else(env::episode_gen::shipped_dataset_dir, Path::to_path_buf)
                    .display()
            )
        })
}

/// Everything a run needs, loaded from [`TaskArgs`].
pub struct Task {
    pub dataset_dir: PathBuf,
    pub library: Arc<SceneLibrary>,
    pub dataset: Arc<TaskDataset>,
    pub selection: Vec<usize>,
    pub spec: PolicySpec,
    pub settings: RunSettings,
}

impl TaskArgs {
    pub fn load(&self) -> anyhow::Result<Task> {
        let spec: PolicySpec = self.policy.parse()?;
        let settings = RunSettings::resolve(self, &spec)?;
        let loaded = load_split(
            self.dataset.as_deref(),
            self.scenes.as_deref(),
            &self.split,
            settings.agent,
            &self.scene_read,
        )?;
        let selection = env::split_inputs::first_episodes(&loaded, &self.split, self.episodes)?;
        let LoadedSplit {
            dataset_dir,
            library,
            dataset,
        } = loaded;
        Ok(Task {
            dataset_dir,
            library,
            dataset,
            selection,
            spec,
            settings,
        })
    }
}

impl Task {
    pub fn env_config(&self, args: &TaskArgs, sensors: Sensors) -> VlnEnvConfig {
        VlnEnvConfig {
            max_steps: args.max_steps,
            sensors,
            width: self.settings.camera.width,
            height: self.settings.camera.height,
            hfov_deg: self.settings.camera.hfov,
            ..VlnEnvConfig::default()
        }
    }
}

/// The policy of a spec: the env baselines, or `model:DIR` (the VLM policy, which needs libtorch and so
/// cannot live in `env`).
pub fn build_policy(task: &Task, args: &TaskArgs) -> anyhow::Result<Box<dyn Policy>> {
    let spec = &task.spec;
    match spec {
        PolicySpec::External { kind, .. } if kind == "model" => {
            let Some(dir) = model_dir(spec) else {
                bail!("policy {spec}: model needs a checkpoint directory: model:DIR");
            };
            let device = args.device.resolve()?;
            let config = agent::VlmPolicyConfig {
                memory: task.settings.memory,
                num_actions: task.settings.future,
                execute: task.settings.execute,
                decoding: args.decoding,
                stop_bias: task.settings.stop_bias,
                ..agent::VlmPolicyConfig::default()
            };
            let policy = agent::VlmPolicy::load(Path::new(dir), device, None, config)
                .with_context(|| format!("loading policy {spec}"))?;
            Ok(Box::new(policy))
        }
        _ => Ok(spec.build()?),
    }
}
