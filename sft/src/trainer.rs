//! The SFT loop: answer-only cross-entropy (token mean over the global batch), AdamW, warm-up + cosine
//! schedule, gradient accumulation and clipping, periodic validation, checkpoints and exact resume.
//!
//! Resume: the run directory's newest complete checkpoint holds the weights, the optimizer state and the
//! step. The data order is a pure function of (seed, epoch) and the step fixes the position in it, so a run
//! restarted with the same command after a kill continues with the same batches and ends with the weights
//! an uninterrupted run ends with (the model has no dropout, so there is no other random state).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent::{Batch, GenerationConfig, NavigationSettings, Pipeline};
use episodes::answer::{parse_answer, parse_options};
use episodes::SampleStore;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind};

use crate::adamw::AdamW;
use crate::checkpoint::{
    publish_dir, save_model, CheckpointManager, OPTIMIZER_FILE, TRAINER_STATE_FILE,
};
use crate::config::{parse_device, total_steps, SftConfig};
use crate::data::{
    answer_nll_sum, collate, encode_sample, epoch_batches, lengths, oversample_by_next_action,
    split_by_episode, EncodedSample,
};
use crate::error::{Result, SftError};
use crate::schedule::LrSchedule;

/// File of the metrics log in the output directory (one JSON object per line).
pub const METRICS_FILE: &str = "metrics.jsonl";
/// Directory of the final model inside the output directory.
pub const FINAL_DIR: &str = "final";

/// What to train on, from what, into where.
#[derive(Debug, Clone)]
pub struct SftRun {
    /// Sample store (`vln-r1 datagen` output).
    pub data: PathBuf,
    /// Checkpoint to start from (Hugging Face layout).
    pub model: PathBuf,
    /// Output directory: checkpoints, metrics.jsonl, final/.
    pub out: PathBuf,
    pub config: SftConfig,
}

/// Saved in every checkpoint; a resume refuses a checkpoint whose run differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    pub global_step: u64,
    pub total_steps: u64,
    pub config: SftConfig,
    pub data: PathBuf,
    pub model: PathBuf,
    pub train_samples: usize,
    /// Last logged training loss and validation results, for people reading the directory.
    pub last_loss: Option<f64>,
    pub last_eval: Option<EvalLog>,
}

/// Facts about a run, reported once at the start.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub total_steps: u64,
    /// First step this process runs (non-zero after a resume).
    pub start_step: u64,
    pub resumed_from: Option<PathBuf>,
    pub steps_per_epoch: u64,
    pub train_samples: usize,
    pub val_samples: usize,
    pub trainable_parameters: i64,
    pub device: String,
    pub dtype: String,
}

/// One optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// Steps done after this one (1-based).
    pub step: u64,
    pub epoch: f64,
    /// Token-mean answer cross-entropy of this step's global batch.
    pub loss: f64,
    pub learning_rate: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    pub samples: usize,
    /// Non-padding tokens (prompt, image and answer) processed.
    pub tokens: usize,
    pub answer_tokens: usize,
    pub seconds: f64,
    /// Of `seconds`, the time spent reading and encoding samples (frames, tokenizer, image processor).
    pub data_seconds: f64,
    pub samples_per_second: f64,
    pub tokens_per_second: f64,
}

/// One validation pass over the held-out split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalLog {
    pub step: u64,
    pub samples: usize,
    /// Token-mean answer cross-entropy (teacher-forced).
    pub eval_loss: f64,
    /// Greedy answers whose first action is the expert's next action.
    pub next_action_accuracy: f64,
    /// Greedy answers equal to the whole expert target (all N actions).
    pub exact_match: f64,
    /// Greedy answers that parse as exactly N options.
    pub format_rate: f64,
}

pub enum TrainEvent<'a> {
    Started(&'a RunInfo),
    Step(&'a StepLog),
    Eval(&'a EvalLog),
    Checkpoint { step: u64, dir: &'a Path },
    Finished { dir: &'a Path },
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    pub steps_done: u64,
    pub total_steps: u64,
    /// `OUT/final` when the run completed; `None` when the event handler stopped it early.
    pub final_dir: Option<PathBuf>,
    pub last_eval: Option<EvalLog>,
}

/// Trains as `run` says. `on_event` sees progress and may stop the run (`Break`) as a kill would: the files
/// on disk are then what a killed run leaves, and calling `train` again resumes.
pub fn train(
    run: &SftRun,
    on_event: &mut dyn FnMut(&TrainEvent<'_>) -> ControlFlow<()>,
) -> Result<TrainSummary> {
    let cfg = &run.config;
    cfg.validate()?;
    let device = parse_device(&cfg.device)?;
    let kind = cfg.precision.kind(device);
    std::fs::create_dir_all(&run.out).map_err(|e| SftError::io(&run.out, e))?;
    let manager = CheckpointManager::new(&run.out, cfg.save_total_limit);
    manager.clean_partial()?;
    let resume = manager.latest()?;
    let data = RunData::load(run)?;
    let mut session = Session::start(run, data, manager, resume.map(|(_, d)| d), device, kind)?;
    let info = session.info(device, kind);
    if on_event(&TrainEvent::Started(&info)).is_break() {
        return Ok(summary(session.start_step, session.total_steps, None, None));
    }
    for step in session.start_step..session.total_steps {
        let log = session.step(step)?;
        let done = log.step;
        let is_last = done == session.total_steps;
        let mut flow = on_event(&TrainEvent::Step(&log));
        if let Some(e) = session.maybe_evaluate(done)? {
            if on_event(&TrainEvent::Eval(&e)).is_break() {
                flow = ControlFlow::Break(());
            }
        }
        if let Some(dir) = session.maybe_save(done)? {
            let event = TrainEvent::Checkpoint {
                step: done,
                dir: &dir,
            };
            if on_event(&event).is_break() {
                flow = ControlFlow::Break(());
            }
        }
        if flow.is_break() && !is_last {
            return Ok(summary(done, session.total_steps, None, session.last_eval));
        }
    }
    let final_dir = run.out.join(FINAL_DIR);
    publish_dir(&final_dir, |d| session.save_model(d))?;
    let _ = on_event(&TrainEvent::Finished { dir: &final_dir });
    Ok(summary(
        session.total_steps,
        session.total_steps,
        Some(final_dir),
        session.last_eval,
    ))
}

/// The run's samples: the store, its navigation settings, and the train (oversampled by next action) and
/// held-out indices.
struct RunData {
    store: SampleStore,
    navigation: Option<NavigationSettings>,
    train_idx: Vec<u64>,
    val_idx: Vec<u64>,
}

impl RunData {
    fn load(run: &SftRun) -> Result<RunData> {
        let cfg = &run.config;
        let store = SampleStore::open(&run.data)?;
        let navigation = navigation_settings(&run.data)?;
        let (train_idx, val_idx) = split_by_episode(&store, cfg.val_fraction)?;
        let train_idx = oversample_by_next_action(&store, &train_idx, cfg.next_action_balance)?;
        if train_idx.is_empty() {
            return Err(SftError::config(
                "val_fraction",
                format!(
                    "{}: no training samples left ({} samples, {} held out)",
                    run.data.display(),
                    store.len(),
                    val_idx.len()
                ),
            ));
        }
        Ok(RunData {
            store,
            navigation,
            train_idx,
            val_idx,
        })
    }
}

/// A run in progress: the model and optimizer (fresh or resumed), the schedule, and where the batches come
/// from.
struct Session<'a> {
    run: &'a SftRun,
    data: RunData,
    manager: CheckpointManager,
    pipeline: Pipeline,
    opt: AdamW,
    resumed_from: Option<PathBuf>,
    start_step: u64,
    total_steps: u64,
    steps_per_epoch: u64,
    schedule: LrSchedule,
    /// Sample lengths (only with group_by_length).
    lens: Vec<usize>,
    /// The current epoch's micro-batches.
    order: Option<(u64, Vec<Vec<u64>>)>,
    /// The held-out samples a validation pass reads.
    val: Vec<u64>,
    metrics_path: PathBuf,
    last_loss: Option<f64>,
    last_eval: Option<EvalLog>,
}

impl<'a> Session<'a> {
    /// Loads the policy from `resume` (checking it belongs to this run) or from the run's model, and the
    /// optimizer state with it.
    fn start(
        run: &'a SftRun,
        data: RunData,
        manager: CheckpointManager,
        resume: Option<PathBuf>,
        device: Device,
        kind: Kind,
    ) -> Result<Session<'a>> {
        let cfg = &run.config;
        let state = match &resume {
            Some(dir) => {
                let state = read_state(dir)?;
                check_resume(&state, run, data.train_idx.len(), dir)?;
                Some(state)
            }
            None => None,
        };
        let load_dir = resume.clone().unwrap_or_else(|| run.model.clone());
        let pipeline = Pipeline::load(&load_dir, device, kind)?;
        let mut opt = AdamW::new(trainable(&pipeline, cfg.freeze_vision_tower), cfg.adamw())?;
        let start_step = match &state {
            Some(s) => {
                opt.load(&load_dir.join(OPTIMIZER_FILE))?;
                if opt.steps() as u64 != s.global_step {
                    return Err(SftError::checkpoint(
                        &load_dir,
                        format!(
                            "optimizer state is at step {}, trainer state at step {}",
                            opt.steps(),
                            s.global_step
                        ),
                    ));
                }
                s.global_step
            }
            None => 0,
        };
        // Lengths only order the batches with group_by_length; tokenising every sample costs seconds per 10k.
        let lens = if cfg.group_by_length {
            lengths(&data.store, &data.train_idx, &pipeline.processor)?
        } else {
            Vec::new()
        };
        let micro_per_epoch = data
            .train_idx
            .len()
            .div_ceil(cfg.per_device_train_batch_size);
        let steps_per_epoch = micro_per_epoch.div_ceil(cfg.gradient_accumulation_steps) as u64;
        let total_steps = total_steps(cfg, steps_per_epoch)?;
        let schedule = LrSchedule::with_warmup_ratio(
            cfg.lr_scheduler_type,
            cfg.learning_rate,
            cfg.warmup_ratio,
            total_steps,
        );
        let metrics_path = run.out.join(METRICS_FILE);
        trim_metrics(&metrics_path, start_step)?;
        let val = spread(&data.val_idx, cfg.eval_samples);
        Ok(Session {
            run,
            data,
            manager,
            pipeline,
            opt,
            resumed_from: resume,
            start_step,
            total_steps,
            steps_per_epoch,
            schedule,
            lens,
            order: None,
            val,
            metrics_path,
            last_loss: None,
            last_eval: state.and_then(|s| s.last_eval),
        })
    }

    fn info(&self, device: Device, kind: Kind) -> RunInfo {
        RunInfo {
            total_steps: self.total_steps,
            start_step: self.start_step,
            resumed_from: self.resumed_from.clone(),
            steps_per_epoch: self.steps_per_epoch,
            train_samples: self.data.train_idx.len(),
            val_samples: self.data.val_idx.len(),
            trainable_parameters: self.opt.num_parameters(),
            device: format!("{device:?}"),
            dtype: agent::model::kind_name(kind).into(),
        }
    }

    /// The micro-batches of optimizer step `step` (the epoch's order is a function of seed and epoch).
    fn micro_batches(&mut self, step: u64) -> &[Vec<u64>] {
        let cfg = &self.run.config;
        let epoch = step / self.steps_per_epoch;
        if self.order.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let batches = epoch_batches(
                &self.data.train_idx,
                &self.lens,
                cfg.per_device_train_batch_size,
                cfg.seed,
                epoch,
                cfg.group_by_length,
            );
            self.order = Some((epoch, batches));
        }
        let batches = &self.order.as_ref().expect("set above").1;
        let accum = cfg.gradient_accumulation_steps;
        let k = (step % self.steps_per_epoch) as usize;
        &batches[k * accum..((k + 1) * accum).min(batches.len())]
    }

    /// One optimizer step: encode its samples, accumulate the token-mean answer loss, clip, step; logged.
    fn step(&mut self, step: u64) -> Result<StepLog> {
        let started = Instant::now();
        let micro = self.micro_batches(step).to_vec();
        let (store, processor) = (&self.data.store, &self.pipeline.processor);
        let encoded: Vec<Vec<EncodedSample>> = micro
            .iter()
            .map(|mb| {
                mb.iter()
                    .map(|&i| encode_sample(store, i, processor))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        let data_seconds = started.elapsed().as_secs_f64();
        let answer_tokens: usize = encoded.iter().flatten().map(|s| s.completion.len()).sum();
        let tokens: usize = encoded
            .iter()
            .flatten()
            .map(EncodedSample::num_tokens)
            .sum();
        let samples: usize = encoded.iter().map(Vec::len).sum();
        self.opt.zero_grad();
        let mut nll = 0.0;
        let (pad, device) = (self.pipeline.pad_token_id(), self.pipeline.model.device());
        for mb in &encoded {
            let batch = collate(mb, &self.pipeline.model.config, pad, device)?;
            let sum = answer_nll_sum(&self.pipeline, &batch)?;
            nll += sum.double_value(&[]);
            (sum / answer_tokens as f64).backward();
        }
        let cfg = &self.run.config;
        let grad_norm = self.opt.clip_grad_norm(cfg.max_grad_norm);
        let lr = self.schedule.lr(step);
        self.opt.step(lr);
        let done = step + 1;
        let seconds = started.elapsed().as_secs_f64();
        let log = StepLog {
            step: done,
            epoch: done as f64 / self.steps_per_epoch as f64,
            loss: nll / answer_tokens as f64,
            learning_rate: lr,
            grad_norm,
            samples,
            tokens,
            answer_tokens,
            seconds,
            data_seconds,
            samples_per_second: samples as f64 / seconds,
            tokens_per_second: tokens as f64 / seconds,
        };
        if !log.loss.is_finite() {
            return Err(SftError::config(
                "learning_rate",
                format!(
                    "the loss became {} at step {done}; lower the learning rate",
                    log.loss
                ),
            ));
        }
        self.last_loss = Some(log.loss);
        if done.is_multiple_of(cfg.logging_steps) || done == self.total_steps {
            append_metrics(&self.metrics_path, "train", &log)?;
        }
        Ok(log)
    }

    /// A validation pass when `done` is an eval step (and always at the last step).
    fn maybe_evaluate(&mut self, done: u64) -> Result<Option<EvalLog>> {
        let cfg = &self.run.config;
        let due =
            (cfg.eval_steps > 0 && done.is_multiple_of(cfg.eval_steps)) || done == self.total_steps;
        if self.val.is_empty() || !due {
            return Ok(None);
        }
        let bs = cfg.per_device_train_batch_size;
        let e = evaluate(&self.pipeline, &self.data.store, &self.val, bs, done)?;
        append_metrics(&self.metrics_path, "eval", &e)?;
        self.last_eval = Some(e.clone());
        Ok(Some(e))
    }

    /// `checkpoint-{done}` (weights, optimizer, trainer state) when `done` is a save step or the last.
    fn maybe_save(&self, done: u64) -> Result<Option<PathBuf>> {
        let cfg = &self.run.config;
        let due =
            (cfg.save_steps > 0 && done.is_multiple_of(cfg.save_steps)) || done == self.total_steps;
        if !due {
            return Ok(None);
        }
        let state = TrainerState {
            global_step: done,
            total_steps: self.total_steps,
            config: cfg.clone(),
            data: self.run.data.clone(),
            model: self.run.model.clone(),
            train_samples: self.data.train_idx.len(),
            last_loss: self.last_loss,
            last_eval: self.last_eval.clone(),
        };
        let dir = self.manager.save(done, |d| {
            self.save_model(d)?;
            self.opt.save(&d.join(OPTIMIZER_FILE))?;
            write_json(&d.join(TRAINER_STATE_FILE), &state)
        })?;
        Ok(Some(dir))
    }

    /// The model with its processor files, and the navigation settings of the data it was trained on.
    fn save_model(&self, dir: &Path) -> Result<()> {
        save_model(&self.pipeline.model, &self.run.model, dir)?;
        if let Some(n) = &self.data.navigation {
            n.write(dir)?;
        }
        Ok(())
    }
}

/// The parameters SFT trains (all, or all but the vision tower), marked as such.
fn trainable(pipeline: &Pipeline, freeze_vision_tower: bool) -> Vec<(String, tch::Tensor)> {
    let mut params = Vec::new();
    for (name, t) in pipeline.model.vs.variables() {
        let train_it = !(freeze_vision_tower && name.starts_with("visual."));
        let _ = t.set_requires_grad(train_it);
        if train_it {
            params.push((name, t));
        }
    }
    params
}

/// The observation settings of the run's data (its `datagen.json`), recorded in every checkpoint so that
/// `--policy model:DIR` runs the model as it was trained; None for a store without one (RFT rollouts), whose
/// checkpoints keep the settings of the model they started from.
fn navigation_settings(data: &Path) -> Result<Option<NavigationSettings>> {
    Ok(
        env::datagen::read_settings(data)?.map(|(config, agent)| NavigationSettings {
            memory: config.memory,
            num_actions: config.num_actions,
            width: config.width,
            height: config.height,
            hfov_deg: config.hfov_deg,
            agent,
            stop_radius: config.stop_radius,
            execute: None,
            stop_bias: None,
        }),
    )
}

fn summary(
    steps_done: u64,
    total_steps: u64,
    final_dir: Option<PathBuf>,
    last_eval: Option<EvalLog>,
) -> TrainSummary {
    TrainSummary {
        steps_done,
        total_steps,
        final_dir,
        last_eval,
    }
}

/// Teacher-forced answer loss and greedy next-action accuracy on `indices`.
pub fn evaluate(
    pipeline: &Pipeline,
    store: &SampleStore,
    indices: &[u64],
    batch_size: usize,
    step: u64,
) -> Result<EvalLog> {
    let (mut nll, mut tokens) = (0.0f64, 0usize);
    let (mut first_ok, mut exact, mut formatted) = (0usize, 0usize, 0usize);
    let device = pipeline.model.device();
    for chunk in indices.chunks(batch_size.max(1)) {
        let encoded = chunk
            .iter()
            .map(|&i| encode_sample(store, i, &pipeline.processor))
            .collect::<Result<Vec<_>>>()?;
        let batch = collate(
            &encoded,
            &pipeline.model.config,
            pipeline.pad_token_id(),
            device,
        )?;
        nll += tch::no_grad(|| answer_nll_sum(pipeline, &batch))?.double_value(&[]);
        tokens += batch.num_answer_tokens;
        let prompts: Vec<agent::Prompt> = encoded.iter().map(|s| s.prompt.clone()).collect();
        let gen_batch = Batch::collate(
            &prompts,
            &pipeline.model.config,
            pipeline.pad_token_id(),
            device,
        )?;
        let max_new = encoded
            .iter()
            .map(|s| s.completion.len())
            .max()
            .unwrap_or(1)
            + 2;
        let gen = GenerationConfig {
            max_new_tokens: max_new,
            ..GenerationConfig::default()
        };
        let outs = tch::no_grad(|| pipeline.generate_batch(&gen_batch, &gen))?;
        for (s, out) in encoded.iter().zip(outs) {
            let options = s.prompt_config.options();
            if let Ok(actions) = parse_answer(&out.text, &options, s.target.len()) {
                formatted += 1;
                exact += usize::from(actions == s.target);
            }
            let first = out
                .text
                .split(',')
                .next()
                .and_then(|item| parse_options(item, &options).ok())
                .and_then(|a| a.first().copied());
            first_ok += usize::from(first == s.target.first().copied());
        }
    }
    let n = indices.len().max(1) as f64;
    Ok(EvalLog {
        step,
        samples: indices.len(),
        eval_loss: nll / tokens.max(1) as f64,
        next_action_accuracy: first_ok as f64 / n,
        exact_match: exact as f64 / n,
        format_rate: formatted as f64 / n,
    })
}

fn read_state(dir: &Path) -> Result<TrainerState> {
    let path = dir.join(TRAINER_STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| SftError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| SftError::Json { path, source: e })
}

fn check_resume(
    state: &TrainerState,
    run: &SftRun,
    train_samples: usize,
    dir: &Path,
) -> Result<()> {
    let refuse = |m: String| {
        Err(SftError::checkpoint(
            dir,
            format!("{m}; resume with the original settings or use a new --out"),
        ))
    };
    if let Some((field, ours, theirs)) = run.config.training_difference(&state.config) {
        return refuse(format!(
            "was trained with {field} = {theirs}, this run says {ours}"
        ));
    }
    if state.data != run.data || state.model != run.model {
        return refuse(format!(
            "was trained from {} on {}, this run says {} on {}",
            state.model.display(),
            state.data.display(),
            run.model.display(),
            run.data.display()
        ));
    }
    if state.train_samples != train_samples {
        return refuse(format!(
            "saw {} training samples, the store now yields {train_samples}",
            state.train_samples
        ));
    }
    Ok(())
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("state serialises");
    Ok(agent::checkpoint::write_atomic(path, text.as_bytes())?)
}

#[derive(Serialize)]
struct MetricsLine<'a, T> {
    kind: &'a str,
    #[serde(flatten)]
    record: &'a T,
}

fn append_metrics<T: Serialize>(path: &Path, kind: &str, record: &T) -> Result<()> {
    use std::io::Write;
    let mut line = serde_json::to_vec(&MetricsLine { kind, record }).expect("metrics serialise");
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SftError::io(path, e))?;
    // One write per line: a kill leaves at most a torn last line, which the next start trims.
    f.write_all(&line).map_err(|e| SftError::io(path, e))
}

/// On resume, drops metric lines past the checkpoint (they will be logged again) and any torn last line.
fn trim_metrics(path: &Path, step: u64) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(|e| SftError::io(path, e))?;
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                .is_some_and(|s| s <= step)
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    if kept != text {
        agent::checkpoint::write_atomic(path, kept.as_bytes())?;
    }
    Ok(())
}

/// The parameter dtype a run's settings select.
pub fn training_kind(config: &SftConfig) -> Result<(Device, Kind)> {
    let device = parse_device(&config.device)?;
    Ok((device, config.precision.kind(device)))
}

/// `n` indices spread evenly over `idx` (all of them when there are no more than `n`). The held-out split is in
/// store order, episode by episode, so its first `n` samples would be one or two episodes' first steps.
fn spread(idx: &[u64], n: usize) -> Vec<u64> {
    if idx.len() <= n {
        return idx.to_vec();
    }
    (0..n).map(|k| idx[k * idx.len() / n]).collect()
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn validation_samples_are_spread_over_the_held_out_split() {
        let idx: Vec<u64> = (100..200).collect();
        assert_eq!(spread(&idx, 4), vec![100, 125, 150, 175]);
        assert_eq!(spread(&idx[..3], 8), vec![100, 101, 102]);
        assert!(spread(&idx, 0).is_empty());
    }
}
