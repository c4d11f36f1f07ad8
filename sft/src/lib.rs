//! Supervised fine-tuning of the VLM policy on VLN-Ego samples.
