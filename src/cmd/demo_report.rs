//! The demo's report: the val_unseen table from each eval's `metrics.json`, the stages with the commands that
//! reproduce them, the rollout pictures, and where every artefact lies (report.md for people, report.json for
//! tools).

use std::path::{Path, PathBuf};

use anyhow::Context;
use env::eval::MetricsSummary;
use serde::{Deserialize, Serialize};

use super::demo::{write_atomic, Plan, Row};

/// One stage as run (or reused) by the demo; kept in `stages.json` so that a rerun reports the original times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRecord {
    pub index: usize,
    pub name: String,
    pub what: String,
    pub command: String,
    pub seconds: f64,
    pub reused: bool,
}

#[derive(Debug, Serialize)]
struct TableRow {
    policy: String,
    eval_dir: PathBuf,
    metrics: MetricsSummary,
}

#[derive(Debug, Serialize)]
struct Rollout {
    policy: String,
    episode: String,
    trajectory: PathBuf,
    map: PathBuf,
    video: PathBuf,
}

pub struct ReportFiles {
    pub markdown: PathBuf,
    pub json: PathBuf,
    /// The metrics table in Markdown.
    pub table: String,
}

fn read_metrics(dir: &Path) -> anyhow::Result<MetricsSummary> {
    let path = dir.join("metrics.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let metrics = value
        .get("metrics")
        .with_context(|| format!("{}: no field `metrics`", path.display()))?;
    serde_json::from_value(metrics.clone())
        .with_context(|| format!("{}: field `metrics`", path.display()))
}

/// The episode directories a rollout wrote (each with trajectory.jsonl, map.png, video.gif), in name order.
fn rollouts(root: &Path, policy: &str, rel: &str) -> anyhow::Result<Vec<Rollout>> {
    let dir = root.join(rel);
    let mut list = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        list.push(Rollout {
            policy: policy.to_owned(),
            trajectory: Path::new(rel).join(&name).join("trajectory.jsonl"),
            map: Path::new(rel).join(&name).join("map.png"),
            video: Path::new(rel).join(&name).join("video.gif"),
            episode: name,
        });
    }
    list.sort_by(|a, b| a.episode.cmp(&b.episode));
    Ok(list)
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

pub fn write_report(
    plan: &Plan,
    root: &Path,
    rows: &[Row],
    stages: &[StageRecord],
) -> anyhow::Result<ReportFiles> {
    let mut table_rows = Vec::new();
    for row in rows {
        table_rows.push(TableRow {
            policy: row.label.clone(),
            eval_dir: relative(root, &row.eval_dir),
            metrics: read_metrics(&row.eval_dir)?,
        });
    }
    let mut table = MetricsSummary::table_header();
    for r in &table_rows {
        table.push('\n');
        table.push_str(&r.metrics.table_row(&r.policy));
    }
    let (rft_label, loop_stages) = match plan.navigator() {
        Some(dir) => (
            "navigator + RFT",
            format!(
                "closed-loop GRPO from the navigator `{}`, evaluation",
                dir.display()
            ),
        ),
        None => (
            "SFT + RFT",
            "data generation, SFT, GRPO, evaluation; `--from-scratch`".to_owned(),
        ),
    };
    let mut shown = rollouts(root, rft_label, "rollouts/rft")?;
    shown.extend(rollouts(root, "oracle", "rollouts/oracle")?);
    let total: f64 = stages.iter().map(|s| s.seconds).sum();

    let mut md = String::new();
    md.push_str("# vln-r1 demo\n\n");
    md.push_str(&format!(
        "`vln-r1 demo --out {} --minutes {} --seed {}`: the VLN-R1 loop ({loop_stages}) on the shipped \
         procedural world; {:.1} min of stages in all.\n\n",
        root.display(),
        plan.minutes,
        plan.seed,
        total / 60.0
    ));
    md.push_str(&format!(
        "## val_unseen, first {} episodes (seed {}, step cap {}, success within 3 m)\n\n{table}\n\n",
        plan.eval_episodes, plan.seed, plan.eval_max_steps
    ));
    md.push_str(
        "NE, TL in metres; OSR, SR, SPL, nDTW, SDTW in percent. Every row runs the same episodes with the \
         same seed; the model rows see the frames they were trained on.\n\n",
    );
    md.push_str(
        "## Stages\n\n| # | stage | what it does | time | command |\n|---|---|---|---|---|\n",
    );
    for s in stages {
        md.push_str(&format!(
            "| {} | {} | {} | {:.0} s{} | `{}` |\n",
            s.index,
            s.name,
            s.what,
            s.seconds,
            if s.reused { " (earlier run)" } else { "" },
            s.command
        ));
    }
    md.push_str("\n## Rollouts\n\nTop-down map (agent path, reference path, goal) and egocentric video.\n\n");
    for r in &shown {
        md.push_str(&format!(
            "**{}, episode {}**\n\n![map]({}) ![video]({})\n\n",
            r.policy,
            r.episode,
            r.map.display(),
            r.video.display()
        ));
    }
    md.push_str("## Artefacts\n\n- `plan.json`: what `--minutes`, `--seed` and the start decided; `configs/`: the configs used\n");
    md.push_str(match plan.navigator() {
        Some(_) => {
            "- `model/rft/final`: the navigator after closed-loop GRPO, in Hugging Face layout (loadable by \
             `transformers`), with the `navigation.json` it runs with; `model/rft/metrics.jsonl`: the training log; \
             `model/rft/rollouts/`: the rollout buffer (frames, completions, rewards, advantages, expert labels)\n"
        }
        None => {
            "- `data/`: the VLN-Ego sample store (`manifest.json`, shards), frames, `vln_ego.json` (sharegpt), `stats.json`\n\
             - `model/init`, `model/sft/final`, `model/rft/final`: checkpoints in Hugging Face layout (loadable by \
             `transformers`); `model/sft/metrics.jsonl`, `model/rft/metrics.jsonl`: training logs; \
             `model/rft/rollouts/`: the GRPO completions, rewards and advantages\n"
        }
    });
    md.push_str(
        "- `eval/<policy>/`: `results.jsonl` (one line per episode), `metrics.json` (the row above)\n\
         - `rollouts/<policy>/<episode>/`: `trajectory.jsonl`, `map.png`, `video.gif`\n\
         - `stages.json`, `report.json`: the stages and this report for tools\n\n",
    );
    md.push_str(
        "## The same on real data or a GPU\n\n\
         - R2R-CE / RxR-CE episodes and Matterport3D scenes: pass `--dataset DIR --scenes DIR` (and `--agent rxr` \
         for RxR-CE) to `datagen`, `eval`, `rollout` and `rft --online`; the commands above are otherwise unchanged.\n\
         - A Qwen2-VL-2B checkpoint on a GPU: `vln-r1 sft --model Qwen2-VL-2B-Instruct --device cuda` (bf16), \
         `vln-r1 rft ... --device cuda --dtype bfloat16`, `vln-r1 eval --policy model:DIR --device cuda`.\n",
    );

    let markdown = root.join("report.md");
    write_atomic(&markdown, md.as_bytes())?;
    let json = root.join("report.json");
    let value = serde_json::json!({
        "plan": plan,
        "split": "val_unseen",
        "table": table_rows,
        "stages": stages,
        "rollouts": shown,
        "report": "report.md",
    });
    write_atomic(&json, serde_json::to_string_pretty(&value)?.as_bytes())?;
    Ok(ReportFiles {
        markdown,
        json,
        table,
    })
}
