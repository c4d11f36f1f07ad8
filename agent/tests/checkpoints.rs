//! Checkpoints written here load in transformers with the same logits (what SFT/RFT checkpoints need), `model
//! init` is seeded, and broken checkpoints fail with errors naming the file and tensor or field.

mod common;

use std::path::{Path, PathBuf};

use agent::chat::load_messages;
use agent::checkpoint::write_safetensors;
use agent::{Pipeline, Preset};
use tch::{Device, Kind, Tensor};

use common::{max_abs_diff, read_tensors, reference_dir, run_python};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// A copy of the transformers-written `mha_tied` fixture, to break.
fn fixture_copy(tmp: &Path) -> PathBuf {
    let dir = tmp.join("ckpt");
    copy_dir(&reference_dir().join("mha_tied"), &dir);
    dir
}

fn load_err(dir: &Path) -> String {
    match Pipeline::load(dir, Device::Cpu, Kind::Float) {
        Ok(_) => panic!("{} loaded but is broken", dir.display()),
        Err(e) => e.to_string(),
    }
}

fn rewrite_weights(dir: &Path, edit: impl FnOnce(&mut Vec<(String, Tensor)>)) {
    let path = dir.join("model.safetensors");
    let mut tensors = Tensor::read_safetensors(&path).unwrap();
    edit(&mut tensors);
    write_safetensors(&tensors, &path).unwrap();
}

/// Compares what transformers computes on `dir` (via check_checkpoint.py) with this crate, for one chat.
fn assert_transformers_agrees(dir: &Path, chat_json: &Path, tmp: &Path) {
    let out = tmp.join("transformers.safetensors");
    run_python("check_checkpoint.py", &[dir, chat_json, &out]);
    let reference = read_tensors(&out);
    let pipe = Pipeline::load(dir, Device::Cpu, Kind::Float).unwrap();
    let chat = load_messages(chat_json).unwrap();
    let (prompt, logits) = pipe.chat_logits(&chat, true).unwrap();
    let want_ids: Vec<i64> = Vec::try_from(&reference["input_ids"]).unwrap();
    assert_eq!(
        prompt.input_ids, want_ids,
        "input ids (tokenizer + chat template as transformers loads them)"
    );
    let d = max_abs_diff(&logits, &reference["logits"]);
    assert!(d <= 1e-4, "max |Δlogit| = {d}");
}

#[test]
fn init_checkpoint_is_seeded_and_loads_in_transformers() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let cfg = agent::init::init_checkpoint(Preset::Tiny, 5, &a, None).unwrap();
    agent::init::init_checkpoint(Preset::Tiny, 5, &b, None).unwrap();
    for f in ["model.safetensors", "tokenizer.json", "config.json"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    let pipe = Pipeline::load(&a, Device::Cpu, Kind::Float).unwrap();
    let params = pipe.model.num_parameters();
    assert!(
        (1_000_000..10_000_000).contains(&params),
        "tiny has {params} parameters"
    );
    assert_eq!(
        pipe.processor.tokenizer.special.image_pad,
        cfg.image_token_id
    );
    // The chat with images from the parity fixtures, against transformers on our files.
    assert_transformers_agrees(&a, &reference_dir().join("several_images.json"), tmp.path());
}

#[test]
fn saved_models_round_trip_through_transformers() {
    let tmp = tempfile::tempdir().unwrap();
    let src = reference_dir().join("gqa_untied_sharded");
    let pipe = Pipeline::load(&src, Device::Cpu, Kind::Float).unwrap();
    let out = tmp.path().join("saved");
    pipe.model.save(&out).unwrap();
    for f in [
        "tokenizer.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
    ] {
        std::fs::copy(src.join(f), out.join(f)).unwrap();
    }
    let again = Pipeline::load(&out, Device::Cpu, Kind::Float).unwrap();
    assert!(!again.model.is_tied());
    for (name, t) in pipe.model.vs.variables() {
        let u = again
            .model
            .vs
            .variables()
            .remove(&name)
            .unwrap_or_else(|| panic!("{name} not saved"));
        assert!(t.equal(&u), "{name} changed on save/load");
    }
    assert_transformers_agrees(&out, &reference_dir().join("one_image.json"), tmp.path());
}

#[test]
fn missing_tensor_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    rewrite_weights(&dir, |t| {
        t.retain(|(n, _)| n != "model.layers.1.mlp.up_proj.weight")
    });
    let err = load_err(&dir);
    assert!(
        err.contains("model.layers.1.mlp.up_proj.weight") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn misshaped_tensor_is_named_with_both_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    rewrite_weights(&dir, |t| {
        let slot = t
            .iter_mut()
            .find(|(n, _)| n == "visual.blocks.0.attn.qkv.weight")
            .unwrap();
        slot.1 = Tensor::zeros([96, 31], (Kind::Float, Device::Cpu));
    });
    let err = load_err(&dir);
    assert!(
        err.contains("visual.blocks.0.attn.qkv.weight")
            && err.contains("[96, 31]")
            && err.contains("[96, 32]"),
        "{err}"
    );
}

#[test]
fn integer_weights_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    rewrite_weights(&dir, |t| {
        let slot = t
            .iter_mut()
            .find(|(n, _)| n == "model.norm.weight")
            .unwrap();
        slot.1 = slot.1.to_kind(Kind::Int64);
    });
    let err = load_err(&dir);
    assert!(
        err.contains("model.norm.weight") && err.contains("dtype"),
        "{err}"
    );
}

#[test]
fn bad_config_field_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": \"two\"");
    std::fs::write(&path, text).unwrap();
    let err = load_err(&dir);
    assert!(
        err.contains("config.json") && err.contains("text_config.num_hidden_layers"),
        "{err}"
    );
}

#[test]
fn truncated_or_missing_files_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    std::fs::write(
        dir.join("model.safetensors"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":",
    )
    .unwrap();
    let err = load_err(&dir);
    assert!(
        err.contains("model.safetensors") && err.contains("not a valid safetensors"),
        "{err}"
    );
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let err = load_err(&dir);
    assert!(err.contains("no model.safetensors"), "{err}");

    let sharded = tmp.path().join("sharded");
    copy_dir(&reference_dir().join("gqa_untied_sharded"), &sharded);
    std::fs::remove_file(sharded.join("model-00002-of-00002.safetensors")).unwrap();
    let err = load_err(&sharded);
    assert!(
        err.contains("model-00002-of-00002.safetensors") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn tokenizer_and_config_must_agree_on_vision_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    let path = dir.join("config.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let id = v["image_token_id"].as_i64().unwrap();
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!("\"image_token_id\": {id}"),
        &format!("\"image_token_id\": {}", id - 5),
    );
    std::fs::write(&path, text).unwrap();
    let err = load_err(&dir);
    assert!(
        err.contains("image_token_id") && err.contains("tokenizer.json"),
        "{err}"
    );
}

/// `model init --preset small`: the CPU-training shape writes, loads with its tokenizer and generates on a
/// VLN-R1 navigation prompt (tiny is covered above; 2b shares the code path at 2.2 B parameters).
#[test]
fn small_preset_inits_loads_and_generates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("small");
    let cfg = agent::init::init_checkpoint(Preset::Small, 3, &dir, None).unwrap();
    assert_eq!(cfg.text.hidden_size, 512);
    let pipe = Pipeline::load(&dir, Device::Cpu, Kind::Float).unwrap();
    let params = pipe.model.num_parameters();
    assert!(
        (10_000_000..100_000_000).contains(&params),
        "small has {params} parameters"
    );
    let frame = image::RgbImage::from_pixel(56, 56, image::Rgb([120, 80, 40]));
    let chat = agent::navigation_chat(
        &episodes::PromptConfig::default(),
        "walk past the sofa and stop by the fridge",
        vec![frame.clone()],
        frame,
    )
    .unwrap();
    let out = pipe
        .generate(
            &[chat],
            &agent::GenerationConfig {
                max_new_tokens: 4,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(out.len(), 1);
    let n = out[0].generation.token_ids.len();
    assert!((1..=4).contains(&n), "{n} new tokens");
}
