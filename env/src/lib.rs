//! The VLN-CE simulator and task. Never depends on libtorch.
//!
//! - [`sim`]: the simulator (the agent's body and physics, the navigable surface, geodesics and the expert,
//!   the renderer);
//! - [`task`]: the VLN task over it (the Gymnasium-style env, the measures, the baseline policies, vectorised
//!   envs);
//! - [`tools`]: offline tools (datagen, episode generation, eval, rollout recording, input loading).
//!
//! Each module is also reachable at the crate root (`env::nav`, `env::measures`, `env::datagen`, ...), the
//! paths the rest of the workspace uses.

pub mod error;
pub mod sim;
pub mod task;
pub mod tools;

pub use error::{EnvError, Result};
pub use sim::{body, nav, render};
pub use task::{measures, policy, vec_env};
pub use tools::{datagen, episode_gen, eval, rollout, split_inputs};
