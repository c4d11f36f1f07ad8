//! The VLN-CE simulator and task. Never depends on libtorch.
