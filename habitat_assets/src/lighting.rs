//! Whether a scene is lit by the renderer or carries its light in its textures.
//!
//! Scans (Matterport3D, Gibson, HM3D) bake the room's lighting into their textures, and VLN-CE renders them
//! with no light (habitat's `NO_LIGHT_KEY`); lighting them again darkens and flattens them. Our procedural
//! houses have plain albedo textures and need the renderer's light. Rather than guessing from the file, the
//! files we write say so in the glTF asset's `extras` (`{"vln_r1": {"lighting": "lit"}}`); a file without
//! the mark is treated as a scan, as habitat treats every stage.

use serde::{Deserialize, Serialize};

/// How a scene's frames are shaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SceneLighting {
    /// Lighting is baked into the textures: render unlit (habitat's `NO_LIGHT_KEY`).
    #[default]
    Baked,
    /// Plain albedo: the renderer lights it (our procedural houses).
    Lit,
}

/// What we write into `asset.extras`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AssetMark {
    pub lighting: SceneLighting,
}

/// The lighting an `asset.extras` JSON text declares; [`SceneLighting::Baked`] without our mark (or with
/// extras that are not ours).
pub fn lighting_from_extras(extras: Option<&str>) -> SceneLighting {
    #[derive(Deserialize)]
    struct Extras {
        vln_r1: Option<AssetMark>,
    }
    extras
        .and_then(|text| serde_json::from_str::<Extras>(text).ok())
        .and_then(|e| e.vln_r1)
        .map_or(SceneLighting::Baked, |m| m.lighting)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_mark_makes_a_scene_lit() {
        assert_eq!(
            lighting_from_extras(Some(r#"{"vln_r1": {"lighting": "lit"}}"#)),
            SceneLighting::Lit
        );
        assert_eq!(lighting_from_extras(None), SceneLighting::Baked);
        assert_eq!(
            lighting_from_extras(Some(r#"{"author": "someone"}"#)),
            SceneLighting::Baked
        );
        assert_eq!(lighting_from_extras(Some("[1, 2]")), SceneLighting::Baked);
    }
}
