//! Qwen2-VL in libtorch (tch), its processor and tokenizer, generation, and the VLM navigation policy.
//!
//! Entry points: [`Pipeline`] (checkpoint directory → generate / logits), [`Qwen2VL`] (forward passes, including
//! [`Qwen2VL::forward_logprobs`] for training), [`Processor`] + [`Batch`] (inputs), [`init::init_checkpoint`].

pub mod chat;
pub mod checkpoint;
pub mod config;
pub mod constrain;
pub mod device;
pub mod error;
pub mod generate;
pub mod image_processor;
pub mod init;
mod layers;
pub mod model;
pub mod navigation;
pub mod pipeline;
pub mod policy;
pub mod prefix;
pub mod processor;
pub mod resample;
pub mod rope;
pub mod text;
pub mod tokenizer;
pub mod vision;

pub use chat::{load_messages, navigation_chat, render_chat, Message, Part};
pub use config::{Preset, Qwen2VLConfig, TextConfig, VisionConfig};
pub use constrain::{AnswerConstraint, AnswerState};
pub use device::{DType, DeviceChoice};
pub use error::{AgentError, Result};
pub use generate::{
    generate, generate_constrained, generate_with, FinishReason, GenerateOptions, Generation,
    GenerationConfig,
};
pub use image_processor::{smart_resize, ImageProcessorConfig, PatchGrid};
pub use model::{parse_kind, Qwen2VL};
pub use navigation::NavigationSettings;
pub use pipeline::{GeneratedText, Pipeline};
pub use policy::{Decision, Decoding, PolicyStats, VlmPolicy, VlmPolicyConfig};
pub use processor::{Batch, ImageInput, Processor, Prompt};
pub use text::{KvCache, PrefixKv};
pub use tokenizer::{Qwen2VLTokenizer, SpecialTokens};

/// Reports which compute devices libtorch can use, as one line (used by `vln-r1 model devices` and the
/// link-fix regression test).
pub fn device_report() -> String {
    let cuda = tch::Cuda::is_available();
    format!(
        "cuda_available={cuda} cuda_devices={} ",
        if cuda { tch::Cuda::device_count() } else { 0 }
    )
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind, Tensor};

    #[test]
    fn tensor_op_runs_on_cpu() {
        let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        let b = (&a * &a).sum(Kind::Float);
        assert_eq!(b.double_value(&[]), 14.0);
        assert_eq!(a.device(), Device::Cpu);
    }

    /// If libtorch_cuda.so is dropped at link time (rustc's --as-needed), the CUDA backend never registers and
    /// allocating on CUDA fails with "Could not run ... from the 'CUDA' backend" even on a GPU machine. With the
    /// forced link, a machine without a GPU instead reports that it found no NVIDIA driver.
    #[test]
    fn cuda_backend_is_linked() {
        if tch::Cuda::is_available() {
            let t = Tensor::ones([2], (Kind::Float, Device::Cuda(0)));
            assert_eq!(t.sum(Kind::Float).double_value(&[]), 2.0);
            return;
        }
        let err = Tensor::f_ones([2], (Kind::Float, Device::Cuda(0)))
            .expect_err("no GPU here, allocation must fail");
        let msg = err.to_string();
        assert!(
            !msg.contains("from the 'CUDA' backend"),
            "libtorch_cuda was not linked: {msg}"
        );
        assert!(
            msg.contains("NVIDIA driver") || msg.contains("no CUDA GPUs"),
            "unexpected CUDA probe message: {msg}"
        );
    }
}
