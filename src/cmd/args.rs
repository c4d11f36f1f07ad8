//! Argument types shared by several subcommands.

use clap::{Args, ValueEnum};
use habitat_assets::SceneUp;

/// `--scene-up`: the axis convention of the scene files, on every command that loads a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SceneUpArg {
    /// Up +Z, front +Y: how habitat-sim reads a bare .glb (Matterport3D, Gibson, HM3D, and ours).
    Z,
    /// Up +Y: glTF as authored (another tool's export).
    Y,
}

impl From<SceneUpArg> for SceneUp {
    fn from(a: SceneUpArg) -> SceneUp {
        match a {
            SceneUpArg::Z => SceneUp::Z,
            SceneUpArg::Y => SceneUp::Y,
        }
    }
}

/// The scene-reading flags, flattened into every command that loads a scene.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct SceneReadArgs {
    /// Axis convention of the scene files [default: z, or what a *.scene_dataset_config.json at the root
    /// of --scenes gives the stage's up / front; this flag overrides that config].
    #[arg(long, value_enum)]
    pub scene_up: Option<SceneUpArg>,
}

impl SceneReadArgs {
    /// The forced convention, if the flag was given.
    pub fn forced(&self) -> Option<SceneUp> {
        self.scene_up.map(SceneUp::from)
    }

    /// The frame a single scene file (`--scene FILE`) is read in: the flag's, else habitat's.
    pub fn load_options(&self) -> habitat_assets::LoadOptions {
        habitat_assets::LoadOptions {
            frame: self.forced().unwrap_or_default().frame(),
        }
    }
}

/// Parses `x,y,z` (metres). Coordinates are often negative, so every option using this must also set
/// `allow_hyphen_values = true`, otherwise clap would read `-2,0,-1.5` as a flag.
pub fn parse_vec3(s: &str) -> Result<[f32; 3], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != 3 {
        return Err(format!(
            "expected three comma-separated numbers x,y,z, got {s:?}"
        ));
    }
    let mut v = [0.0f32; 3];
    for (k, p) in parts.iter().enumerate() {
        let x: f32 = p
            .parse()
            .map_err(|_| format!("{p:?} in {s:?} is not a number"))?;
        if !x.is_finite() {
            return Err(format!("{p:?} in {s:?} is not finite"));
        }
        v[k] = x;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::parse_vec3;

    #[test]
    fn parses_negative_coordinates() {
        assert_eq!(parse_vec3("-2,0,-1.5").unwrap(), [-2.0, 0.0, -1.5]);
        assert_eq!(parse_vec3(" 1 , 2.5 ,3").unwrap(), [1.0, 2.5, 3.0]);
    }

    #[test]
    fn rejects_bad_vectors() {
        assert!(parse_vec3("1,2").is_err());
        assert!(parse_vec3("1,2,x").is_err());
        assert!(parse_vec3("1,2,nan").is_err());
    }
}
