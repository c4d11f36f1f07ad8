//! Reinforcement fine-tuning: GRPO with the time-decayed reward, offline and closed-loop.
