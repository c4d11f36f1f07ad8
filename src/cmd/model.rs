//! `vln-r1 model ...`: the Qwen2-VL port.

use std::path::PathBuf;

use agent::chat::load_messages;
use agent::{GenerationConfig, Pipeline, Preset};
use clap::{Args, Subcommand};
use tch::{Device, Kind, Tensor};

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Print which compute devices libtorch sees (checks the libtorch link on a GPU machine).
    Devices,
    /// Write a randomly initialised checkpoint in Hugging Face layout (loadable by transformers).
    Init {
        /// tiny (~1.2M parameters), small (~40M) or 2b (Qwen2-VL-2B shapes).
        #[arg(long)]
        preset: Preset,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Weight dtype (float32, bfloat16, float16); default: float32 for tiny/small, bfloat16 for 2b.
        #[arg(long)]
        dtype: Option<agent::DType>,
    },
    /// Run processor + model on a chat and write the logits of every position (`logits`, [seq, vocab], f32)
    /// and the input ids (`input_ids`, [seq], i64) to a safetensors file.
    Forward {
        /// Checkpoint directory (config.json, model.safetensors or index, tokenizer.json, ...).
        #[arg(long)]
        model: PathBuf,
        /// Chat as JSON: [{"role": ..., "content": [{"type": "text", "text": ...}, {"type": "image", "image": "a.png"}]}];
        /// image paths are relative to this file.
        #[arg(long)]
        messages: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Append the assistant turn opener `<|im_start|>assistant\n`.
        #[arg(long)]
        add_generation_prompt: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Generate a reply to a chat (JSON as for `forward`) and print it.
    Generate {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        messages: PathBuf,
        #[arg(long, default_value_t = 64)]
        max_new_tokens: usize,
        /// Sample instead of greedy decoding.
        #[arg(long)]
        sample: bool,
        #[arg(long, default_value_t = 1.0)]
        temperature: f64,
        #[arg(long, default_value_t = 1.0)]
        top_p: f64,
        #[arg(long, default_value_t = 0)]
        top_k: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        run: RunArgs,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// auto (CUDA if available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: agent::DeviceChoice,
    /// Compute dtype: float32, bfloat16 or float16.
    #[arg(long, default_value = "float32")]
    dtype: agent::DType,
}

impl RunArgs {
    fn resolve(&self) -> anyhow::Result<(Device, Kind)> {
        Ok((self.device.resolve()?, self.dtype.0))
    }
}

pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Devices => {
            println!("{}", agent::device_report().trim_end());
            Ok(())
        }
        ModelCommand::Init {
            preset,
            out,
            seed,
            dtype,
        } => {
            let kind = dtype.map(|d| d.0);
            let cfg = agent::init::init_checkpoint(preset, seed, &out, kind)?;
            let t = &cfg.text;
            println!(
                "wrote {}: vocab {}, hidden {}, {} layers ({} heads, {} kv), vision depth {} embed {}",
                out.display(),
                t.vocab_size,
                t.hidden_size,
                t.num_hidden_layers,
                t.num_attention_heads,
                t.num_key_value_heads,
                cfg.vision.depth,
                cfg.vision.embed_dim
            );
            Ok(())
        }
        ModelCommand::Forward {
            model,
            messages,
            out,
            add_generation_prompt,
            run,
        } => {
            let (device, kind) = run.resolve()?;
            let pipe = Pipeline::load(&model, device, kind)?;
            let chat = load_messages(&messages)?;
            let (prompt, logits) = pipe.chat_logits(&chat, add_generation_prompt)?;
            let ids = Tensor::from_slice(&prompt.input_ids);
            agent::checkpoint::write_safetensors(
                &[
                    ("logits".to_string(), logits.shallow_clone()),
                    ("input_ids".to_string(), ids),
                ],
                &out,
            )?;
            println!("wrote {}: logits {:?}", out.display(), logits.size());
            Ok(())
        }
        ModelCommand::Generate {
            model,
            messages,
            max_new_tokens,
            sample,
            temperature,
            top_p,
            top_k,
            seed,
            run,
        } => {
            let (device, kind) = run.resolve()?;
            let pipe = Pipeline::load(&model, device, kind)?;
            let chat = load_messages(&messages)?;
            let cfg = GenerationConfig {
                max_new_tokens,
                do_sample: sample,
                temperature,
                top_p,
                top_k,
                stop_token_ids: Vec::new(),
                seed,
            };
            let out = pipe.generate(&[chat], &cfg)?;
            println!("{}", out[0].text);
            Ok(())
        }
    }
}
