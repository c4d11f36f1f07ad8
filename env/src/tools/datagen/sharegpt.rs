//! LLaMA-Factory's "sharegpt" format: a JSON list of `{"conversations": [{"from": "human", "value": PROMPT},
//! {"from": "gpt", "value": ANSWER}], "images": [paths]}` with one `<image>` in PROMPT per image, in order.
//! Written next to a `dataset_info.json` that registers it, so LLaMA-Factory trains on the directory as is.

use std::io;
use std::path::Path;

use episodes::prompt::count_placeholders;
use episodes::{Sample, SampleStore};
use serde::{Deserialize, Serialize};

use crate::error::{EnvError, Result};

/// The sharegpt file inside an output directory.
pub const SHAREGPT_FILE: &str = "vln_ego.json";
/// LLaMA-Factory's dataset registry file.
pub const DATASET_INFO_FILE: &str = "dataset_info.json";
/// The dataset name `dataset_info.json` registers.
pub const DATASET_NAME: &str = "vln_ego";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub from: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareGptRecord {
    pub conversations: Vec<Turn>,
    /// Paths relative to the JSON file.
    pub images: Vec<String>,
}

/// The record of a sample whose frame paths are relative to the directory the JSON is written to.
pub fn sharegpt_record(sample: &Sample) -> Result<ShareGptRecord> {
    let prompt = sample.build_prompt()?;
    let images: Vec<String> = sample.frames().map(str::to_owned).collect();
    // Guards the format's one invariant; the prompt builder keeps it, so this never fires on our samples.
    if count_placeholders(&prompt.text) != images.len() {
        return Err(EnvError::Invalid(format!(
            "episode {} step {}: {} <image> placeholders for {} images",
            sample.episode_id,
            sample.step,
            count_placeholders(&prompt.text),
            images.len()
        )));
    }
    Ok(ShareGptRecord {
        conversations: vec![
            Turn {
                from: "human".into(),
                value: prompt.text,
            },
            Turn {
                from: "gpt".into(),
                value: sample.answer()?,
            },
        ],
        images,
    })
}

/// Writes every sample of `store` (whose root must be `dir`, so frame paths stay relative to the JSON) as
/// `dir/vln_ego.json`, plus `dir/dataset_info.json`, atomically. Streams: the store may not fit in memory.
pub fn write_sharegpt(store: &SampleStore, dir: &Path) -> Result<()> {
    let path = dir.join(SHAREGPT_FILE);
    episodes::file::write_atomic(&path, |w| {
        w.write_all(b"[\n")?;
        for i in 0..store.len() {
            let record = store
                .get(i)
                .map_err(EnvError::from)
                .and_then(|s| sharegpt_record(&s))
                .map_err(|e| io::Error::other(e.to_string()))?;
            if i > 0 {
                w.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut *w, &record).map_err(io::Error::other)?;
        }
        w.write_all(b"\n]\n")
    })?;
    let info = serde_json::json!({
        DATASET_NAME: {
            "file_name": SHAREGPT_FILE,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "images": "images"},
            "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}
        }
    });
    episodes::file::write_json(&dir.join(DATASET_INFO_FILE), &info)?;
    Ok(())
}
