//! The simulator: the agent's body and its physics, the navigable surface with geodesics and the expert,
//! and the CPU renderer.

pub mod body;
pub mod nav;
pub mod render;
