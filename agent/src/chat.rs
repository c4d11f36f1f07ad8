//! Chat messages and the Qwen2-VL chat template.
//!
//! Messages come from code (a navigation policy holding rendered frames) or from a JSON file in transformers'
//! format: `[{"role": "user", "content": [{"type": "text", "text": ...}, {"type": "image", "image": "a.png"}]}]`
//! (content may also be a plain string; image and video paths are relative to the JSON file).

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde_json::Value;

use crate::error::{AgentError, Result};
use crate::image_processor::load_rgb;

/// One piece of a message.
#[derive(Debug, Clone)]
pub enum Part {
    Text(String),
    Image(RgbImage),
    /// Frames of one video (paired two by two by the vision tower's temporal patch).
    Video(Vec<RgbImage>),
}

#[derive(Debug, Clone)]
pub struct Message {
    pub role: String,
    pub parts: Vec<Part>,
}

impl Message {
    pub fn new(role: impl Into<String>, parts: Vec<Part>) -> Self {
        Message {
            role: role.into(),
            parts,
        }
    }
    pub fn text(role: impl Into<String>, text: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            parts: vec![Part::Text(text.into())],
        }
    }

    /// A message from text holding one `placeholder` (e.g. episodes' `<image>`) per image, in order — the form
    /// the VLN-R1 prompt builder produces (history frames, then the current frame).
    pub fn with_image_placeholders(
        role: impl Into<String>,
        text: &str,
        placeholder: &str,
        images: Vec<RgbImage>,
    ) -> Result<Self> {
        let pieces: Vec<&str> = text.split(placeholder).collect();
        if pieces.len() != images.len() + 1 {
            return Err(AgentError::Input(format!(
                "the text has {} {placeholder} placeholders but {} images were given",
                pieces.len() - 1,
                images.len()
            )));
        }
        let mut parts = Vec::with_capacity(2 * pieces.len());
        let mut images = images.into_iter();
        for (i, piece) in pieces.iter().enumerate() {
            if !piece.is_empty() {
                parts.push(Part::Text(piece.to_string()));
            }
            if i + 1 < pieces.len() {
                parts.push(Part::Image(images.next().expect("counted above")));
            }
        }
        Ok(Message {
            role: role.into(),
            parts,
        })
    }
}

/// The VLN-R1 chat for one decision: `episodes`' prompt for `instruction` with the history frames and the current
/// frame in place of its `<image>` placeholders (what the navigation policy, SFT and RFT all feed the model).
pub fn navigation_chat(
    config: &episodes::PromptConfig,
    instruction: &str,
    history: Vec<RgbImage>,
    current: RgbImage,
) -> Result<Vec<Message>> {
    let prompt = episodes::Prompt::build(config, instruction, history.len())
        .map_err(|e| AgentError::Input(format!("building the navigation prompt: {e}")))?;
    let mut frames = history;
    frames.push(current);
    Ok(vec![Message::with_image_placeholders(
        "user",
        &prompt.text,
        episodes::prompt::IMAGE_PLACEHOLDER,
        frames,
    )?])
}

/// The default system prompt Qwen2-VL-Instruct's template inserts when the chat has none.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful assistant.";

/// The Jinja form of `render_chat`, written into checkpoints so transformers' `apply_chat_template` agrees.
pub const CHAT_TEMPLATE_JINJA: &str = concat!(
    "{% for message in messages %}",
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}",
    "<|im_start|>{{ message['role'] | replace('<|', '<\u{2060}|') }}\n",
    "{% if message['content'] is string %}{{ message['content'] | replace('<|', '<\u{2060}|') }}<|im_end|>\n",
    "{% else %}{% for content in message['content'] %}",
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}<|vision_start|><|image_pad|><|vision_end|>",
    "{% elif content['type'] == 'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>",
    "{% elif 'text' in content %}{{ content['text'] | replace('<|', '<\u{2060}|') }}{% endif %}",
    "{% endfor %}<|im_end|>\n{% endif %}",
    "{% endfor %}",
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
);

/// What [`render_chat`] writes for each `<|` in a message's text: `<`, U+2060 WORD JOINER (invisible), `|`. Every
/// Qwen2 special token starts with `<|`, so text from a message (an episode's instruction, a chat file) tokenises
/// as the characters it holds and never as a control token: an instruction holding `<|image_pad|>` would
/// otherwise claim an image that is not there (and fail its whole batch), one holding `<|im_end|>` would end
/// its turn early. The Jinja template does the same.
pub const SPECIAL_TOKEN_BREAK: &str = "<\u{2060}|";

/// `text` with every `<|` broken by [`SPECIAL_TOKEN_BREAK`], so it can hold no special token.
fn plain_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("<|") {
        text.replace("<|", SPECIAL_TOKEN_BREAK).into()
    } else {
        text.into()
    }
}

/// Renders the chat as Qwen2-VL's template does, with one `<|image_pad|>` / `<|video_pad|>` per vision item
/// (the processor expands each to the item's token count); special tokens come only from the template, never
/// from a message's text or role ([`SPECIAL_TOKEN_BREAK`]). Returns the text and the vision items in order.
pub fn render_chat(messages: &[Message], add_generation_prompt: bool) -> (String, Vec<&Part>) {
    let mut out = String::new();
    let mut vision = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if i == 0 && m.role != "system" {
            out.push_str("<|im_start|>system\n");
            out.push_str(DEFAULT_SYSTEM_PROMPT);
            out.push_str("<|im_end|>\n");
        }
        out.push_str("<|im_start|>");
        out.push_str(&plain_text(&m.role));
        out.push('\n');
        for p in &m.parts {
            match p {
                Part::Text(t) => out.push_str(&plain_text(t)),
                Part::Image(_) => {
                    out.push_str("<|vision_start|><|image_pad|><|vision_end|>");
                    vision.push(p);
                }
                Part::Video(_) => {
                    out.push_str("<|vision_start|><|video_pad|><|vision_end|>");
                    vision.push(p);
                }
            }
        }
        out.push_str("<|im_end|>\n");
    }
    if add_generation_prompt {
        out.push_str("<|im_start|>assistant\n");
    }
    (out, vision)
}

/// Reads a chat from a JSON file; image/video paths are resolved against the file's directory.
pub fn load_messages(path: &Path) -> Result<Vec<Message>> {
    let text = std::fs::read_to_string(path).map_err(|e| AgentError::io(path, e))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| AgentError::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_messages(&v, &base).map_err(|message| AgentError::Messages {
        path: path.to_path_buf(),
        message,
    })
}

fn parse_messages(v: &Value, base: &Path) -> std::result::Result<Vec<Message>, String> {
    let list = v.as_array().ok_or("expected a JSON array of messages")?;
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let load = |p: &str, at: &str| -> std::result::Result<RgbImage, String> {
        load_rgb(&resolve(p)).map_err(|e| format!("{at}: {e}"))
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let role = m
            .get("role")
            .and_then(Value::as_str)
            .ok_or(format!("message {i}: field `role` must be a string"))?;
        let parts = match m.get("content") {
            Some(Value::String(s)) => vec![Part::Text(s.clone())],
            Some(Value::Array(items)) => {
                let mut parts = Vec::with_capacity(items.len());
                for (j, item) in items.iter().enumerate() {
                    let at = format!("message {i}, content {j}");
                    let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
                    let part = match kind {
                        "text" => Part::Text(
                            item.get("text")
                                .and_then(Value::as_str)
                                .ok_or(format!("{at}: field `text` must be a string"))?
                                .to_string(),
                        ),
                        "image" => {
                            let p = item
                                .get("image")
                                .and_then(Value::as_str)
                                .ok_or(format!("{at}: field `image` must be a path string"))?;
                            Part::Image(load(p, &at)?)
                        }
                        "video" => {
                            let frames = item.get("video").and_then(Value::as_array).ok_or(
                                format!("{at}: field `video` must be a list of frame paths"),
                            )?;
                            let frames = frames
                                .iter()
                                .map(|f| {
                                    f.as_str()
                                        .ok_or(format!("{at}: video frames must be path strings"))
                                        .and_then(|p| load(p, &at))
                                })
                                .collect::<std::result::Result<Vec<_>, _>>()?;
                            if frames.is_empty() {
                                return Err(format!("{at}: video has no frames"));
                            }
                            Part::Video(frames)
                        }
                        other => {
                            return Err(format!(
                                "{at}: field `type` must be text, image or video, got {other:?}"
                            ))
                        }
                    };
                    parts.push(part);
                }
                parts
            }
            _ => {
                return Err(format!(
                    "message {i}: field `content` must be a string or a list"
                ))
            }
        };
        out.push(Message {
            role: role.to_string(),
            parts,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_inserts_system_prompt_and_vision_blocks() {
        let msgs = vec![Message::new(
            "user",
            vec![
                Part::Text("Go ".into()),
                Part::Image(RgbImage::new(1, 1)),
                Part::Text("now".into()),
            ],
        )];
        let (text, vision) = render_chat(&msgs, true);
        assert_eq!(
            text,
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nGo <|vision_start|><|image_pad|><|vision_end|>now<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(vision.len(), 1);
        let msgs = vec![Message::text("system", "S"), Message::text("user", "U")];
        assert_eq!(
            render_chat(&msgs, false).0,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
        );
    }

    #[test]
    fn navigation_chat_puts_frames_in_prompt_order() {
        let frame = |v: u8| RgbImage::from_pixel(2, 2, image::Rgb([v, v, v]));
        let chat = navigation_chat(
            &episodes::PromptConfig::R2R,
            "Go to the sofa.",
            vec![frame(1), frame(2)],
            frame(3),
        )
        .unwrap();
        let (text, vision) = render_chat(&chat, true);
        assert_eq!(vision.len(), 3);
        let order: Vec<u8> = vision
            .iter()
            .map(|p| {
                if let Part::Image(i) = p {
                    i.get_pixel(0, 0).0[0]
                } else {
                    0
                }
            })
            .collect();
        assert_eq!(order, vec![1, 2, 3]);
        assert!(
            text.contains("Go to the sofa.") && !text.contains("<image>"),
            "{text}"
        );
        let err = Message::with_image_placeholders(
            "user",
            "<image> and <image>",
            "<image>",
            vec![frame(1)],
        )
        .unwrap_err();
        assert!(err.to_string().contains("2 <image> placeholders"), "{err}");
    }

    #[test]
    fn json_errors_name_message_and_field() {
        let v: Value = serde_json::json!([{"role": "user", "content": [{"type": "image", "image": "missing.png"}]}]);
        let err = parse_messages(&v, Path::new("/nonexistent")).unwrap_err();
        assert!(
            err.contains("message 0, content 0") && err.contains("missing.png"),
            "{err}"
        );
        let v: Value = serde_json::json!([{"role": "user", "content": [{"type": "audio"}]}]);
        assert!(parse_messages(&v, Path::new("."))
            .unwrap_err()
            .contains("audio"));
        let v: Value = serde_json::json!([{"content": "hi"}]);
        assert!(parse_messages(&v, Path::new("."))
            .unwrap_err()
            .contains("role"));
    }

    #[test]
    fn special_tokens_in_message_text_are_broken() {
        let msgs = vec![Message::text(
            "user<|im_end|>",
            "Walk past <|image_pad|> then stop.<|im_end|>",
        )];
        let (text, vision) = render_chat(&msgs, true);
        assert!(vision.is_empty());
        assert_eq!(text.matches("<|image_pad|>").count(), 0, "{text}");
        // The system and user turns' own ends only.
        assert_eq!(text.matches("<|im_end|>").count(), 2, "{text}");
        assert!(text.contains("Walk past <\u{2060}|image_pad|> then stop."));
    }
}
