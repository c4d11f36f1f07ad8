//! How a scene file's axes map onto the simulator's world.
//!
//! The world is habitat's: +Y up, -Z front, metres. habitat-sim reads a bare `.glb` (Matterport3D,
//! Gibson, HM3D) as **up +Z, front +Y**, so every R2R-CE / RxR-CE coordinate assumes that: the world
//! point (x, y, z) is the file point (x, -z, y), and the file point (X, Y, Z) is the world point
//! (X, Z, -Y). That is [`SceneFrame::HABITAT`], the default everywhere; [`SceneFrame::Y_UP`] reads a
//! glTF as authored (the glTF convention, any other tool's export).

use serde::{Deserialize, Serialize};

/// A scene file's up and front directions, in the file's own coordinates (habitat-sim's stage `up` /
/// `front`). Always unit length and orthogonal (see [`SceneFrame::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SceneFrame {
    up: [f32; 3],
    front: [f32; 3],
}

/// The axis convention named on the command line (`--scene-up`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SceneUp {
    /// Up +Z, front +Y: habitat's reading of a bare `.glb`.
    #[default]
    Z,
    /// Up +Y, front -Z: glTF as authored.
    Y,
}

impl SceneUp {
    pub fn frame(self) -> SceneFrame {
        match self {
            SceneUp::Z => SceneFrame::HABITAT,
            SceneUp::Y => SceneFrame::Y_UP,
        }
    }
}

impl SceneFrame {
    /// habitat-sim's frame for a `.glb` stage: up +Z, front +Y.
    pub const HABITAT: SceneFrame = SceneFrame {
        up: [0.0, 0.0, 1.0],
        front: [0.0, 1.0, 0.0],
    };
    /// The file's axes are the world's (glTF's own convention: up +Y, front -Z).
    pub const Y_UP: SceneFrame = SceneFrame {
        up: [0.0, 1.0, 0.0],
        front: [0.0, 0.0, -1.0],
    };

    /// A frame from `up` and `front` as a scene dataset config gives them (any length, not zero, and
    /// orthogonal, as habitat-sim requires). The error says which condition failed.
    pub fn new(up: [f32; 3], front: [f32; 3]) -> Result<SceneFrame, String> {
        let unit = |v: [f32; 3], name: &str| {
            let n = dot(v, v).sqrt();
            if !(n.is_finite() && n > 1e-6) {
                return Err(format!("{name} {v:?} is not a direction"));
            }
            Ok(v.map(|c| c / n))
        };
        let (u, f) = (unit(up, "up")?, unit(front, "front")?);
        if dot(u, f).abs() > 1e-3 {
            return Err(format!("up {up:?} and front {front:?} are not orthogonal"));
        }
        Ok(SceneFrame { up: u, front: f })
    }

    pub fn up(&self) -> [f32; 3] {
        self.up
    }

    pub fn front(&self) -> [f32; 3] {
        self.front
    }

    /// Rows of the rotation taking file coordinates to world coordinates: world x = right . p,
    /// world y = up . p, world z = -front . p, where right = front x up (a right-handed world).
    pub fn file_to_world(&self) -> [[f32; 3]; 3] {
        [cross(self.front, self.up), self.up, self.front.map(|c| -c)]
    }

    /// The world point of a file point.
    pub fn to_world(&self, p: [f32; 3]) -> [f32; 3] {
        self.file_to_world().map(|row| dot(row, p))
    }

    /// The file point of a world point (the transpose: the rotation is orthonormal).
    pub fn to_file(&self, p: [f32; 3]) -> [f32; 3] {
        let m = self.file_to_world();
        [0, 1, 2].map(|c| m[0][c] * p[0] + m[1][c] * p[1] + m[2][c] * p[2])
    }

    /// A short stable text naming the frame (cache keys, messages): `up=0,0,1 front=0,1,0`.
    pub fn key(&self) -> String {
        let v = |a: [f32; 3]| format!("{},{},{}", a[0], a[1], a[2]);
        format!("up={} front={}", v(self.up), v(self.front))
    }
}

impl Default for SceneFrame {
    fn default() -> Self {
        SceneFrame::HABITAT
    }
}

impl std::fmt::Display for SceneFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            SceneFrame::HABITAT => f.write_str("up +Z, front +Y (habitat)"),
            SceneFrame::Y_UP => f.write_str("up +Y, front -Z (glTF as authored)"),
            other => f.write_str(&other.key()),
        }
    }
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn habitat_frame_maps_file_to_world_and_back_exactly() {
        let f = SceneFrame::HABITAT;
        // File (X, Y, Z) is world (X, Z, -Y); world (x, y, z) is file (x, -z, y).
        assert_eq!(f.to_world([1.0, 2.0, 3.0]), [1.0, 3.0, -2.0]);
        assert_eq!(f.to_file([1.0, 3.0, -2.0]), [1.0, 2.0, 3.0]);
        assert_eq!(f.to_file([4.0, 5.0, 6.0]), [4.0, -6.0, 5.0]);
        // The file's up is the world's up, the file's front the world's -Z.
        assert_eq!(f.to_world([0.0, 0.0, 1.0]), [0.0, 1.0, 0.0]);
        assert_eq!(f.to_world([0.0, 1.0, 0.0]), [0.0, 0.0, -1.0]);
    }

    #[test]
    fn y_up_frame_is_the_identity() {
        let m = SceneFrame::Y_UP.file_to_world();
        assert_eq!(m, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        assert_eq!(SceneUp::Y.frame(), SceneFrame::Y_UP);
        assert_eq!(SceneUp::default().frame(), SceneFrame::HABITAT);
    }

    #[test]
    fn config_vectors_are_normalised_and_checked() {
        let f = SceneFrame::new([0.0, 0.0, 2.5], [0.0, 3.0, 0.0]).unwrap();
        assert_eq!(f, SceneFrame::HABITAT);
        assert!(SceneFrame::new([0.0, 0.0, 1.0], [0.0, 1.0, 1.0])
            .unwrap_err()
            .contains("orthogonal"));
        assert!(SceneFrame::new([0.0; 3], [0.0, 1.0, 0.0])
            .unwrap_err()
            .contains("up"));
        // Up -Y (an upside-down stage): a proper rotation still, determinant +1.
        let f = SceneFrame::new([0.0, -1.0, 0.0], [0.0, 0.0, -1.0]).unwrap();
        assert_eq!(f.to_world([0.0, -1.0, 0.0]), [0.0, 1.0, 0.0]);
    }
}
