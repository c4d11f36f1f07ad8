//! Multimodal rotary position ids (M-RoPE), as transformers' `Qwen2VLModel.get_rope_index` computes them.
//!
//! Text tokens advance all three rows (temporal, height, width) together. A vision block of llm grid
//! (T, H, W) (patch grid with H and W divided by the merge size) placed at text position `s` gets
//! (s + t, s + h, s + w) for each of its tokens, and text after it resumes at the block's largest position + 1.

use crate::error::{AgentError, Result};

/// The token ids and merge size `get_rope_index` needs.
#[derive(Debug, Clone, Copy)]
pub struct RopeIndexSpec {
    pub image_token_id: i64,
    pub video_token_id: i64,
    pub spatial_merge_size: i64,
}

/// Position ids `[3][len]` for one unpadded sequence. `images` / `videos` yield the patch grids (t, h, w) of the
/// sequence's vision items in order; each run of pad tokens consumes one grid and must have its token count.
pub fn rope_positions(
    ids: &[i64],
    spec: &RopeIndexSpec,
    images: &mut dyn Iterator<Item = [i64; 3]>,
    videos: &mut dyn Iterator<Item = [i64; 3]>,
) -> Result<[Vec<i64>; 3]> {
    let mut rows: [Vec<i64>; 3] = [
        Vec::with_capacity(ids.len()),
        Vec::with_capacity(ids.len()),
        Vec::with_capacity(ids.len()),
    ];
    let mut next = 0i64;
    let mut i = 0usize;
    while i < ids.len() {
        let tok = ids[i];
        let is_image = tok == spec.image_token_id;
        if !is_image && tok != spec.video_token_id {
            for r in rows.iter_mut() {
                r.push(next);
            }
            next += 1;
            i += 1;
            continue;
        }
        let what = if is_image { "image" } else { "video" };
        let [t, h, w] = if is_image {
            images.next()
        } else {
            videos.next()
        }
        .ok_or_else(|| {
            AgentError::Input(format!(
                "more {what} blocks in the tokens than {what} inputs (at token {i})"
            ))
        })?;
        let m = spec.spatial_merge_size;
        let (lt, lh, lw) = (t, h / m, w / m);
        let n = (lt * lh * lw) as usize;
        if i + n > ids.len() || ids[i..i + n].iter().any(|&x| x != tok) {
            return Err(AgentError::Input(format!(
                "{what} at token {i} needs {n} consecutive pad tokens for grid {t}x{h}x{w}; the prompt has fewer"
            )));
        }
        for ti in 0..lt {
            for hi in 0..lh {
                for wi in 0..lw {
                    rows[0].push(next + ti);
                    rows[1].push(next + hi);
                    rows[2].push(next + wi);
                }
            }
        }
        next += (lt - 1).max(lh - 1).max(lw - 1) + 1;
        i += n;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: RopeIndexSpec = RopeIndexSpec {
        image_token_id: 9,
        video_token_id: 8,
        spatial_merge_size: 2,
    };

    #[test]
    fn text_only_counts_up() {
        let r = rope_positions(
            &[1, 2, 3],
            &SPEC,
            &mut std::iter::empty(),
            &mut std::iter::empty(),
        )
        .unwrap();
        assert_eq!(r, [vec![0, 1, 2], vec![0, 1, 2], vec![0, 1, 2]]);
    }

    /// The docstring example of transformers: a video of 3 temporal patches and a 2×2 llm grid, then text.
    #[test]
    fn video_block_then_text() {
        let mut ids = vec![8; 12];
        ids.extend([1, 1, 1, 1, 1]);
        let r = rope_positions(
            &ids,
            &SPEC,
            &mut std::iter::empty(),
            &mut [[3, 4, 4]].into_iter(),
        )
        .unwrap();
        assert_eq!(
            r[0],
            vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            r[1],
            vec![0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            r[2],
            vec![0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 3, 4, 5, 6, 7]
        );
    }

    #[test]
    fn two_images_each_offset_by_the_text_before() {
        // text, image (1x4x6 → llm 1x2x3), text, image (1x2x2 → 1x1x1), text
        let mut ids = vec![1, 1];
        ids.extend([9; 6]);
        ids.push(1);
        ids.push(9);
        ids.push(1);
        let r = rope_positions(
            &ids,
            &SPEC,
            &mut [[1, 4, 6], [1, 2, 2]].into_iter(),
            &mut std::iter::empty(),
        )
        .unwrap();
        assert_eq!(r[0], vec![0, 1, 2, 2, 2, 2, 2, 2, 5, 6, 7]);
        assert_eq!(r[1], vec![0, 1, 2, 2, 2, 3, 3, 3, 5, 6, 7]);
        assert_eq!(r[2], vec![0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn mismatched_blocks_are_errors() {
        let err = rope_positions(
            &[9, 9],
            &SPEC,
            &mut std::iter::empty(),
            &mut std::iter::empty(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("more image blocks"), "{err}");
        let err = rope_positions(
            &[9, 9],
            &SPEC,
            &mut [[1, 4, 4]].into_iter(),
            &mut std::iter::empty(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("4 consecutive"), "{err}");
    }
}
