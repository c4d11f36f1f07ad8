//! What the agent perceives after every reset and step.

use std::sync::Arc;

use image::{ImageBuffer, Luma, RgbImage};
use serde::{Deserialize, Serialize};

use crate::body::AgentState;

/// Metric depth image (metres per pixel; 0 where nothing was hit within the far range of the renderer).
pub type DepthImage = ImageBuffer<Luma<f32>, Vec<f32>>;

/// Which sensors an environment renders. Policies that never look at frames (the baselines) ask for none,
/// so evaluating them costs no rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sensors {
    pub rgb: bool,
    pub depth: bool,
}

impl Sensors {
    pub const NONE: Sensors = Sensors {
        rgb: false,
        depth: false,
    };
    pub const RGB: Sensors = Sensors {
        rgb: true,
        depth: false,
    };
    pub const RGBD: Sensors = Sensors {
        rgb: true,
        depth: true,
    };

    pub fn any(&self) -> bool {
        self.rgb || self.depth
    }

    /// Both sets of sensors.
    pub fn union(self, other: Sensors) -> Sensors {
        Sensors {
            rgb: self.rgb || other.rgb,
            depth: self.depth || other.depth,
        }
    }
}

impl Default for Sensors {
    fn default() -> Self {
        Sensors::RGB
    }
}

/// One observation of a VLN episode.
#[derive(Debug, Clone)]
pub struct Observation {
    /// `episode_id` as Habitat writes it (a string).
    pub episode_id: String,
    pub instruction: Arc<str>,
    /// Actions taken so far in the episode (0 right after reset).
    pub step: u32,
    /// The egocentric RGB frame, when the RGB sensor is on. Shared so that a policy can keep a history of
    /// frames without copying them.
    pub rgb: Option<Arc<RgbImage>>,
    pub depth: Option<Arc<DepthImage>>,
    /// The agent's pose in world coordinates (Habitat's GPS + compass). Privileged: the oracle policy uses it,
    /// a vision-language policy must not.
    pub state: AgentState,
}
