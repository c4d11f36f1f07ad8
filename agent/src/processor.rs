//! Text + images → model inputs: the chat template, `<|image_pad|>` / `<|video_pad|>` expansion to each item's
//! token count, and batching with left padding and M-RoPE position ids.

use std::path::Path;

use image::RgbImage;
use tch::{Device, Kind, Tensor};

use crate::chat::{render_chat, Message, Part};
use crate::config::Qwen2VLConfig;
use crate::error::{AgentError, Result};
use crate::image_processor::{ImageProcessorConfig, PatchGrid};
use crate::rope::{rope_positions, RopeIndexSpec};
use crate::tokenizer::Qwen2VLTokenizer;

/// One tokenised sequence with its vision inputs, not yet batched.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub input_ids: Vec<i64>,
    pub images: Vec<PatchGrid>,
    pub videos: Vec<PatchGrid>,
}

/// Tokenizer + image processor, as transformers' `Qwen2VLProcessor`.
pub struct Processor {
    pub tokenizer: Qwen2VLTokenizer,
    pub image: ImageProcessorConfig,
}

impl Processor {
    /// Reads `tokenizer.json` and `preprocessor_config.json` (defaults when absent) from a checkpoint directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Ok(Processor {
            tokenizer: Qwen2VLTokenizer::from_file(dir)?,
            image: ImageProcessorConfig::from_file(dir)?,
        })
    }

    /// Applies the chat template and processes the chat's images and videos.
    pub fn process_chat(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<Prompt> {
        let (text, vision) = render_chat(messages, add_generation_prompt);
        let mut images = Vec::new();
        let mut videos = Vec::new();
        for p in vision {
            match p {
                Part::Image(img) => images.push(img),
                Part::Video(frames) => videos.push(frames.as_slice()),
                Part::Text(_) => {}
            }
        }
        self.process_text(&text, &images, &videos)
    }

    /// Processes text holding one `<|image_pad|>` per image and one `<|video_pad|>` per video, in order.
    pub fn process_text(
        &self,
        text: &str,
        images: &[&RgbImage],
        videos: &[&[RgbImage]],
    ) -> Result<Prompt> {
        let images = images
            .iter()
            .map(|img| self.image.preprocess_image(img))
            .collect::<Result<Vec<_>>>()?;
        let videos = videos
            .iter()
            .map(|frames| self.image.preprocess_frames(frames))
            .collect::<Result<Vec<_>>>()?;
        self.process_text_with_grids(text, images, videos)
    }

    /// [`Self::process_text`] with the vision items already preprocessed. Their `rows` may be empty when the
    /// batch will be collated with [`ImageInput::Features`] (only `grid_thw` is read here).
    pub fn process_text_with_grids(
        &self,
        text: &str,
        images: Vec<PatchGrid>,
        videos: Vec<PatchGrid>,
    ) -> Result<Prompt> {
        let ids = self.tokenizer.encode(text)?;
        let input_ids = self.expand_pads(&ids, &images, &videos)?;
        Ok(Prompt {
            input_ids,
            images,
            videos,
        })
    }

    /// Repeats each pad token to its item's token count (patches / merge²). Done on ids rather than on the text
    /// as transformers does; the result is the same because pad tokens are atomic special tokens.
    fn expand_pads(
        &self,
        ids: &[i64],
        images: &[PatchGrid],
        videos: &[PatchGrid],
    ) -> Result<Vec<i64>> {
        let sp = self.tokenizer.special;
        let merge = self.image.merge_size * self.image.merge_size;
        let count = |id: i64| ids.iter().filter(|&&x| x == id).count();
        let (n_img, n_vid) = (count(sp.image_pad), count(sp.video_pad));
        if n_img != images.len() || n_vid != videos.len() {
            return Err(AgentError::Input(format!(
                "the text has {n_img} image and {n_vid} video placeholders but {} images and {} videos were given",
                images.len(),
                videos.len()
            )));
        }
        let (mut img, mut vid) = (images.iter(), videos.iter());
        let mut out = Vec::with_capacity(
            ids.len()
                + images
                    .iter()
                    .chain(videos)
                    .map(|g| g.num_patches() as usize)
                    .sum::<usize>(),
        );
        for &id in ids {
            let grid = if id == sp.image_pad {
                img.next()
            } else if id == sp.video_pad {
                vid.next()
            } else {
                None
            };
            match grid {
                Some(g) => out.extend(std::iter::repeat_n(id, (g.num_patches() / merge) as usize)),
                None => out.push(id),
            }
        }
        Ok(out)
    }
}

/// Where a batch's images come from: their pixel rows (encoded by the vision tower in the forward pass), or
/// features the caller encoded earlier and passes to the forward (the batch then holds only their grids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageInput {
    Pixels,
    Features,
}

/// A padded batch ready for the model: tensors on the model's device plus the host copies generation needs.
#[derive(Debug)]
pub struct Batch {
    /// [B, S] i64, left-padded.
    pub input_ids: Tensor,
    /// [B, S] i64, 1 for real tokens.
    pub attention_mask: Tensor,
    /// [3, B, S] i64 M-RoPE positions (1 at padding, as transformers does).
    pub position_ids: Tensor,
    /// Per row: max position + 1 − padded length; decoding step k uses position S + k + delta.
    pub rope_deltas: Vec<i64>,
    /// [N, patch_row_len] f32 rows of every image in batch order, and their grids.
    pub pixel_values: Option<Tensor>,
    pub image_grid_thw: Vec<[i64; 3]>,
    pub pixel_values_videos: Option<Tensor>,
    pub video_grid_thw: Vec<[i64; 3]>,
    /// Host copies: unpadded lengths per row.
    pub lengths: Vec<usize>,
    /// `[B, S]` bool, true on the prompt tokens: the only places where image / video pad tokens stand for
    /// vision features. `None` (a batch of prompts): everywhere. A completion is text whatever tokens it
    /// holds, as the decode loop fed them (a sampled `<|image_pad|>` is its plain embedding, text position).
    pub vision_region: Option<Tensor>,
}

impl Batch {
    pub fn batch_size(&self) -> usize {
        self.lengths.len()
    }

    pub fn seq_len(&self) -> i64 {
        self.input_ids.size()[1]
    }

    /// Left-pads `prompts` with `pad_id` and computes position ids.
    pub fn collate(
        prompts: &[Prompt],
        cfg: &Qwen2VLConfig,
        pad_id: i64,
        device: Device,
    ) -> Result<Batch> {
        Self::collate_for(prompts, cfg, pad_id, device, ImageInput::Pixels)
    }

    /// [`Self::collate`] with the images' pixels included or left to precomputed features.
    pub fn collate_for(
        prompts: &[Prompt],
        cfg: &Qwen2VLConfig,
        pad_id: i64,
        device: Device,
        images: ImageInput,
    ) -> Result<Batch> {
        let seqs: Vec<&[i64]> = prompts.iter().map(|p| p.input_ids.as_slice()).collect();
        Self::collate_parts(&seqs, prompts, cfg, pad_id, device, false, images)
    }

    /// Batch of prompt + completion sequences for training, and the [B, S] f32 mask of completion tokens.
    pub fn collate_with_completions(
        prompts: &[Prompt],
        completions: &[Vec<i64>],
        cfg: &Qwen2VLConfig,
        pad_id: i64,
        device: Device,
    ) -> Result<(Batch, Tensor)> {
        Self::collate_with_completions_for(
            prompts,
            completions,
            cfg,
            pad_id,
            device,
            ImageInput::Pixels,
        )
    }

    /// [`Self::collate_with_completions`] with the images' pixels included or left to precomputed features.
    pub fn collate_with_completions_for(
        prompts: &[Prompt],
        completions: &[Vec<i64>],
        cfg: &Qwen2VLConfig,
        pad_id: i64,
        device: Device,
        images: ImageInput,
    ) -> Result<(Batch, Tensor)> {
        if prompts.len() != completions.len() {
            return Err(AgentError::Input(format!(
                "{} prompts but {} completions",
                prompts.len(),
                completions.len()
            )));
        }
        let joined: Vec<Vec<i64>> = prompts
            .iter()
            .zip(completions)
            .map(|(p, c)| [p.input_ids.as_slice(), c].concat())
            .collect();
        let seqs: Vec<&[i64]> = joined.iter().map(Vec::as_slice).collect();
        let batch = Self::collate_parts(&seqs, prompts, cfg, pad_id, device, true, images)?;
        let s = batch.seq_len() as usize;
        let mut mask = vec![0f32; prompts.len() * s];
        for (b, c) in completions.iter().enumerate() {
            for j in s - c.len()..s {
                mask[b * s + j] = 1.0;
            }
        }
        let mask = Tensor::from_slice(&mask)
            .view([prompts.len() as i64, s as i64])
            .to_device(device);
        Ok((batch, mask))
    }

    /// `seqs[row]` starts with `prompts[row]`'s tokens; with `completions`, what follows them is text.
    fn collate_parts(
        seqs: &[&[i64]],
        prompts: &[Prompt],
        cfg: &Qwen2VLConfig,
        pad_id: i64,
        device: Device,
        completions: bool,
        images: ImageInput,
    ) -> Result<Batch> {
        if seqs.is_empty() {
            return Err(AgentError::Input("empty batch".into()));
        }
        let b = seqs.len();
        let s = seqs.iter().map(|x| x.len()).max().unwrap_or(0);
        if s == 0 {
            return Err(AgentError::Input(
                "every sequence in the batch is empty".into(),
            ));
        }
        let spec = RopeIndexSpec {
            image_token_id: cfg.image_token_id,
            video_token_id: cfg.video_token_id,
            spatial_merge_size: cfg.vision.spatial_merge_size,
        };
        let mut ids = vec![pad_id; b * s];
        let mut mask = vec![0i64; b * s];
        let mut pos = vec![1i64; 3 * b * s];
        let mut region = vec![false; b * s];
        let mut deltas = Vec::with_capacity(b);
        for (row, (seq, prompt)) in seqs.iter().zip(prompts).enumerate() {
            let off = s - seq.len();
            ids[row * s + off..(row + 1) * s].copy_from_slice(seq);
            mask[row * s + off..(row + 1) * s]
                .iter_mut()
                .for_each(|m| *m = 1);
            let prompt_len = prompt.input_ids.len().min(seq.len());
            region[row * s + off..row * s + off + prompt_len]
                .iter_mut()
                .for_each(|r| *r = true);
            let mut rows = rope_positions(
                &seq[..prompt_len],
                &spec,
                &mut prompt.images.iter().map(|g| g.grid_thw),
                &mut prompt.videos.iter().map(|g| g.grid_thw),
            )
            .map_err(|e| AgentError::Input(format!("batch row {row}: {e}")))?;
            // The completion continues as text, one position per token, as decoding stepped.
            let next = rows[0]
                .iter()
                .chain(&rows[1])
                .chain(&rows[2])
                .max()
                .map_or(0, |m| m + 1);
            for r in rows.iter_mut() {
                r.extend(next..next + (seq.len() - prompt_len) as i64);
            }
            let mut max = -1;
            for (r, values) in rows.iter().enumerate() {
                pos[(r * b + row) * s + off..(r * b + row + 1) * s].copy_from_slice(values);
                max = max.max(values.iter().copied().max().unwrap_or(-1));
            }
            deltas.push(max + 1 - s as i64);
            let n_img = seq[..prompt_len]
                .iter()
                .filter(|&&x| x == cfg.image_token_id)
                .count() as i64;
            let want: i64 = prompt
                .images
                .iter()
                .map(|g| g.num_patches() / (spec.spatial_merge_size * spec.spatial_merge_size))
                .sum();
            if n_img != want {
                return Err(AgentError::Input(format!(
                    "batch row {row}: {n_img} image tokens but the images need {want}"
                )));
            }
        }
        let pixels =
            |grids: &mut dyn Iterator<Item = &PatchGrid>| -> (Option<Tensor>, Vec<[i64; 3]>) {
                let grids: Vec<&PatchGrid> = grids.collect();
                if grids.is_empty() {
                    return (None, Vec::new());
                }
                let row_len = cfg.vision.patch_row_len();
                let data: Vec<f32> = grids.iter().flat_map(|g| g.rows.iter().copied()).collect();
                let t = Tensor::from_slice(&data)
                    .view([-1, row_len])
                    .to_device(device);
                (Some(t), grids.iter().map(|g| g.grid_thw).collect())
            };
        let with_pixels = images == ImageInput::Pixels;
        for p in prompts {
            let images = p.images.iter().filter(|_| with_pixels);
            for g in images.chain(&p.videos) {
                if g.rows.len() as i64 != g.num_patches() * cfg.vision.patch_row_len() {
                    return Err(AgentError::Input(format!(
                        "vision input has {} values, grid {:?} with rows of {} needs {}",
                        g.rows.len(),
                        g.grid_thw,
                        cfg.vision.patch_row_len(),
                        g.num_patches() * cfg.vision.patch_row_len()
                    )));
                }
            }
        }
        let (pixel_values, image_grid_thw) = if with_pixels {
            pixels(&mut prompts.iter().flat_map(|p| p.images.iter()))
        } else {
            let grids = prompts
                .iter()
                .flat_map(|p| p.images.iter().map(|g| g.grid_thw));
            (None, grids.collect())
        };
        let (pixel_values_videos, video_grid_thw) =
            pixels(&mut prompts.iter().flat_map(|p| p.videos.iter()));
        let (bi, si) = (b as i64, s as i64);
        Ok(Batch {
            input_ids: Tensor::from_slice(&ids).view([bi, si]).to_device(device),
            attention_mask: Tensor::from_slice(&mask).view([bi, si]).to_device(device),
            position_ids: Tensor::from_slice(&pos).view([3, bi, si]).to_device(device),
            rope_deltas: deltas,
            pixel_values,
            image_grid_thw,
            pixel_values_videos,
            video_grid_thw,
            lengths: seqs.iter().map(|x| x.len()).collect(),
            vision_region: completions
                .then(|| Tensor::from_slice(&region).view([bi, si]).to_device(device)),
        })
    }

    /// Row `b`'s unpadded token ids.
    pub fn row_ids(&self, b: usize) -> Vec<i64> {
        let s = self.seq_len();
        let row = self
            .input_ids
            .get(b as i64)
            .to_device(Device::Cpu)
            .to_kind(Kind::Int64);
        let all: Vec<i64> = Vec::<i64>::try_from(&row).unwrap_or_default();
        all[(s as usize - self.lengths[b])..].to_vec()
    }
}
