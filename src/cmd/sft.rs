//! `vln-r1 sft`: supervised fine-tuning on a VLN-Ego sample store. Settings come from `--config FILE` (JSON,
//! Hugging Face `TrainingArguments` names) with command-line flags on top; the work is `sft::train`.

use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Args;
use sft::{train, SftConfig, SftRun, TrainEvent};

#[derive(Debug, Args)]
pub struct SftArgs {
    /// Sample store (`vln-r1 datagen --out DIR`).
    #[arg(long)]
    pub data: PathBuf,
    /// Checkpoint to fine-tune (Hugging Face layout, e.g. from `vln-r1 model init`).
    #[arg(long)]
    pub model: PathBuf,
    /// Output directory: checkpoint-N/, final/, metrics.jsonl. Rerunning the same command resumes.
    #[arg(long)]
    pub out: PathBuf,
    /// JSON file with any subset of the settings (flags below override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// cosine, linear or constant (all with linear warm-up).
    #[arg(long)]
    pub lr_scheduler_type: Option<String>,
    #[arg(long)]
    pub warmup_ratio: Option<f64>,
    #[arg(long)]
    pub num_train_epochs: Option<u64>,
    /// Total optimizer steps (overrides epochs).
    #[arg(long)]
    pub max_steps: Option<u64>,
    #[arg(long)]
    pub per_device_train_batch_size: Option<usize>,
    #[arg(long)]
    pub gradient_accumulation_steps: Option<usize>,
    #[arg(long)]
    pub max_grad_norm: Option<f64>,
    #[arg(long)]
    pub weight_decay: Option<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// auto (bf16 on GPU, f32 on CPU), bf16 or f32.
    #[arg(long)]
    pub precision: Option<String>,
    /// auto, cpu, cuda, cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    #[arg(long)]
    pub freeze_vision_tower: bool,
    #[arg(long)]
    pub logging_steps: Option<u64>,
    #[arg(long)]
    pub save_steps: Option<u64>,
    #[arg(long)]
    pub save_total_limit: Option<usize>,
    #[arg(long)]
    pub eval_steps: Option<u64>,
    #[arg(long)]
    pub val_fraction: Option<f64>,
    #[arg(long)]
    pub eval_samples: Option<usize>,
    /// Oversample by next action, 0 (off) to 1 (balanced): copies = round((n_max / n_action)^B).
    #[arg(long)]
    pub next_action_balance: Option<f64>,
    /// Batch samples of similar length (less padding; HF's `group_by_length`).
    #[arg(long)]
    pub group_by_length: bool,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<i32>,
}

impl SftArgs {
    pub fn config(&self) -> anyhow::Result<SftConfig> {
        let mut c = match &self.config {
            Some(p) => SftConfig::from_file(p)?,
            None => SftConfig::default(),
        };
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        set!(
            learning_rate,
            warmup_ratio,
            num_train_epochs,
            per_device_train_batch_size,
            gradient_accumulation_steps,
            max_grad_norm,
            weight_decay,
            seed,
            device,
            logging_steps,
            save_steps,
            save_total_limit,
            eval_steps,
            val_fraction,
            eval_samples,
            next_action_balance
        );
        if self.max_steps.is_some() {
            c.max_steps = self.max_steps;
        }
        if let Some(s) = &self.lr_scheduler_type {
            c.lr_scheduler_type = s.parse()?;
        }
        if let Some(s) = &self.precision {
            c.precision = s.parse()?;
        }
        if self.freeze_vision_tower {
            c.freeze_vision_tower = true;
        }
        if self.group_by_length {
            c.group_by_length = true;
        }
        c.validate()?;
        Ok(c)
    }
}

pub fn run(args: SftArgs) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let run = SftRun {
        data: args.data.clone(),
        model: args.model.clone(),
        out: args.out.clone(),
        config: args.config()?,
    };
    let bar = indicatif::ProgressBar::hidden();
    let (mut tokens, mut seconds, mut samples) = (0usize, 0.0f64, 0usize);
    let summary = train(&run, &mut |event| {
        match event {
            TrainEvent::Started(info) => {
                println!(
                    "sft {} on {} ({} train / {} held-out samples) -> {}: {} steps ({} per epoch), {} trainable \
                     parameters, {} {}{}",
                    run.model.display(),
                    run.data.display(),
                    info.train_samples,
                    info.val_samples,
                    run.out.display(),
                    info.total_steps,
                    info.steps_per_epoch,
                    info.trainable_parameters,
                    info.device,
                    info.dtype,
                    info.resumed_from
                        .as_ref()
                        .map_or(String::new(), |d| format!(", resuming from {}", d.display()))
                );
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.set_length(info.total_steps);
                bar.set_position(info.start_step);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}",
                    )
                    .expect("valid template"),
                );
            }
            TrainEvent::Step(l) => {
                tokens += l.tokens;
                samples += l.samples;
                seconds += l.seconds;
                bar.set_message(format!(
                    "loss {:.4} lr {:.2e} {:.0} tok/s {:.2} samples/s",
                    l.loss, l.learning_rate, l.tokens_per_second, l.samples_per_second
                ));
                bar.set_position(l.step);
            }
            TrainEvent::Eval(e) => bar.suspend(|| {
                println!(
                    "step {}: eval loss {:.4}, next-action accuracy {:.3}, exact match {:.3}, format {:.3} ({} samples)",
                    e.step, e.eval_loss, e.next_action_accuracy, e.exact_match, e.format_rate, e.samples
                )
            }),
            TrainEvent::Checkpoint { step, dir } => {
                bar.suspend(|| println!("step {step}: checkpoint {}", dir.display()))
            }
            TrainEvent::Finished { dir } => {
                bar.suspend(|| println!("final model: {}", dir.display()))
            }
        }
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();
    if seconds > 0.0 {
        println!(
            "{} steps; this process trained {samples} samples, {tokens} tokens in {seconds:.1} s of steps: {:.2} samples/s, {:.0} tokens/s",
            summary.steps_done,
            samples as f64 / seconds,
            tokens as f64 / seconds
        );
    }
    Ok(())
}
