//! The pinhole camera: where the sensor is (pose) and how it projects (intrinsics).
//!
//! Conventions follow Habitat: Y up, the agent looks along -Z at heading 0, a positive heading turns left
//! (counter-clockwise seen from above), a positive pitch looks up.

use crate::error::{EnvError, Result};

/// The RGB sensor's height above the agent's feet in R2R-CE.
pub const DEFAULT_SENSOR_HEIGHT: f32 = 1.25;

/// Where the camera is and where it looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraPose {
    /// Eye position in world space (metres).
    pub position: [f32; 3],
    /// Rotation about +Y in radians; 0 looks along -Z, positive turns left.
    pub heading: f32,
    /// Rotation about the camera's right axis in radians; positive looks up.
    pub pitch: f32,
}

impl CameraPose {
    /// The sensor of an agent standing at `feet`, `sensor_height` above the ground, looking level.
    pub fn from_agent(feet: [f32; 3], heading: f32, sensor_height: f32) -> Self {
        CameraPose {
            position: [feet[0], feet[1] + sensor_height, feet[2]],
            heading,
            pitch: 0.0,
        }
    }

    /// World-space unit vectors (right, up, forward) of the camera frame.
    pub fn basis(&self) -> CameraBasis {
        let (sh, ch) = self.heading.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        let forward = [-sh * cp, sp, -ch * cp];
        let right = [ch, 0.0, -sh];
        // up = right x forward, orthonormal because right is horizontal and perpendicular to forward.
        let up = [
            right[1] * forward[2] - right[2] * forward[1],
            right[2] * forward[0] - right[0] * forward[2],
            right[0] * forward[1] - right[1] * forward[0],
        ];
        CameraBasis { right, up, forward }
    }
}

/// The camera frame: three orthonormal world-space axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraBasis {
    pub right: [f32; 3],
    pub up: [f32; 3],
    pub forward: [f32; 3],
}

/// Image size and field of view. Pixels are square, the principal point is the image centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intrinsics {
    pub width: u32,
    pub height: u32,
    /// Horizontal field of view in degrees.
    pub hfov_deg: f32,
}

/// Frames larger than this per side are refused: the rasteriser's fixed-point range is sized for it.
pub const MAX_IMAGE_SIDE: u32 = 4096;

impl Intrinsics {
    pub fn new(width: u32, height: u32, hfov_deg: f32) -> Result<Self> {
        let k = Intrinsics {
            width,
            height,
            hfov_deg,
        };
        k.validate()?;
        Ok(k)
    }

    pub fn validate(&self) -> Result<()> {
        if self.width == 0
            || self.height == 0
            || self.width > MAX_IMAGE_SIDE
            || self.height > MAX_IMAGE_SIDE
        {
            return Err(EnvError::Invalid(format!(
                "render: image size {}x{} must be between 1 and {MAX_IMAGE_SIDE} pixels per side",
                self.width, self.height
            )));
        }
        if !(self.hfov_deg > 0.0 && self.hfov_deg < 180.0) {
            return Err(EnvError::Invalid(format!(
                "render: hfov {} degrees must be strictly between 0 and 180",
                self.hfov_deg
            )));
        }
        Ok(())
    }

    /// Focal length in pixels.
    pub fn focal(&self) -> f32 {
        0.5 * self.width as f32 / (0.5 * self.hfov_deg.to_radians()).tan()
    }

    /// Vertical field of view in degrees (follows from the aspect ratio with square pixels).
    pub fn vfov_deg(&self) -> f32 {
        2.0 * (0.5 * self.height as f32 / self.focal())
            .atan()
            .to_degrees()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 3], b: [f32; 3]) -> bool {
        (0..3).all(|k| (a[k] - b[k]).abs() < 1e-6)
    }

    #[test]
    fn heading_zero_looks_down_negative_z_and_positive_heading_turns_left() {
        let b = CameraPose {
            position: [0.0; 3],
            heading: 0.0,
            pitch: 0.0,
        }
        .basis();
        assert!(close(b.forward, [0.0, 0.0, -1.0]));
        assert!(close(b.right, [1.0, 0.0, 0.0]));
        assert!(close(b.up, [0.0, 1.0, 0.0]));
        // Turning left by 90 degrees from -Z faces -X (the agent's former left).
        let b = CameraPose {
            position: [0.0; 3],
            heading: std::f32::consts::FRAC_PI_2,
            pitch: 0.0,
        }
        .basis();
        assert!(close(b.forward, [-1.0, 0.0, 0.0]));
        assert!(close(b.right, [0.0, 0.0, -1.0]));
    }

    #[test]
    fn positive_pitch_looks_up() {
        let b = CameraPose {
            position: [0.0; 3],
            heading: 0.0,
            pitch: 0.3,
        }
        .basis();
        assert!(b.forward[1] > 0.29 && b.up[2] > 0.0, "{b:?}");
    }

    #[test]
    fn focal_length_matches_the_field_of_view() {
        let k = Intrinsics::new(224, 224, 90.0).unwrap();
        assert!((k.focal() - 112.0).abs() < 1e-3);
        assert!((k.vfov_deg() - 90.0).abs() < 1e-3);
        assert!(Intrinsics::new(0, 10, 90.0).is_err());
        assert!(Intrinsics::new(10, 10, 180.0).is_err());
    }
}
