//! The materials of one house: each surface kind gets a color drawn from its palette the first time it
//! is used, so houses differ in look while one house stays consistent (all its sofas share a fabric).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::textures::Pattern;
use crate::lighting::SceneLighting;
use crate::write::GltfWriter;

/// Kinds of surface a model asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Surface {
    Wood,
    LightWood,
    Fabric,
    FabricAccent,
    Bedding,
    White,
    Ceramic,
    Metal,
    Dark,
    Screen,
    Leaves,
    Pot,
    Shade,
    Appliance,
    Cabinet,
    Counter,
    Water,
    Glass,
    Mirror,
    Canvas,
    Books,
    Basket,
    Door,
    Rug,
    Ceiling,
    Exterior,
    Stairs,
}

type Rgb = [f32; 3];

fn palette(s: Surface) -> &'static [Rgb] {
    use Surface::*;
    match s {
        Wood | Stairs => &[
            [0.45, 0.3, 0.18],
            [0.6, 0.42, 0.25],
            [0.32, 0.2, 0.11],
            [0.7, 0.55, 0.38],
        ],
        LightWood => &[[0.8, 0.66, 0.47], [0.88, 0.8, 0.66]],
        Fabric => &[
            [0.2, 0.3, 0.55],
            [0.25, 0.45, 0.3],
            [0.6, 0.2, 0.2],
            [0.45, 0.45, 0.47],
            [0.75, 0.65, 0.45],
            [0.7, 0.5, 0.1],
        ],
        FabricAccent => &[
            [0.85, 0.8, 0.7],
            [0.3, 0.5, 0.6],
            [0.65, 0.35, 0.3],
            [0.55, 0.6, 0.4],
        ],
        Bedding => &[
            [0.92, 0.92, 0.95],
            [0.6, 0.72, 0.88],
            [0.9, 0.7, 0.75],
            [0.65, 0.75, 0.6],
        ],
        White | Ceiling => &[[0.92, 0.92, 0.9]],
        Ceramic => &[[0.95, 0.95, 0.96]],
        Metal => &[[0.62, 0.63, 0.66]],
        Dark => &[[0.08, 0.08, 0.09]],
        Screen => &[[0.04, 0.06, 0.12]],
        Leaves | Canvas | Books => &[[1.0, 1.0, 1.0]],
        Pot => &[[0.62, 0.32, 0.2], [0.2, 0.2, 0.22], [0.85, 0.85, 0.82]],
        Shade => &[[0.95, 0.9, 0.75], [0.9, 0.9, 0.9]],
        Appliance => &[[0.93, 0.93, 0.93], [0.7, 0.71, 0.73]],
        Cabinet => &[
            [0.95, 0.95, 0.93],
            [0.35, 0.45, 0.55],
            [0.55, 0.4, 0.28],
            [0.45, 0.55, 0.45],
        ],
        Counter => &[[0.2, 0.2, 0.22], [0.85, 0.85, 0.83], [0.55, 0.5, 0.45]],
        Water => &[[0.75, 0.88, 0.95]],
        Glass => &[[0.65, 0.82, 0.95]],
        Mirror => &[[0.8, 0.85, 0.88]],
        Basket => &[[0.75, 0.62, 0.4], [0.85, 0.85, 0.85]],
        Door => &[[0.5, 0.28, 0.15], [0.9, 0.9, 0.88], [0.25, 0.35, 0.45]],
        Rug => &[
            [0.6, 0.2, 0.2],
            [0.2, 0.3, 0.5],
            [0.7, 0.6, 0.4],
            [0.35, 0.45, 0.35],
        ],
        Exterior => &[[0.6, 0.58, 0.55]],
    }
}

fn texture_of(s: Surface) -> Option<Pattern> {
    match s {
        Surface::Rug => Some(Pattern::Carpet),
        Surface::Stairs => Some(Pattern::WoodPlanks),
        _ => None,
    }
}

/// Wall paints (light, distinct) and floor finishes per room, chosen by the architecture pass.
pub const WALL_PAINTS: [Rgb; 12] = [
    [0.95, 0.93, 0.85],
    [0.8, 0.88, 0.95],
    [0.85, 0.93, 0.8],
    [0.97, 0.85, 0.8],
    [0.9, 0.85, 0.95],
    [0.98, 0.93, 0.7],
    [0.75, 0.85, 0.85],
    [0.92, 0.8, 0.7],
    [0.85, 0.85, 0.85],
    [0.7, 0.8, 0.7],
    [0.95, 0.75, 0.75],
    [0.78, 0.78, 0.9],
];

/// Material registry of one house over a [`GltfWriter`]: textures drawn once, surfaces colored once.
pub struct Materials {
    rng: ChaCha8Rng,
    textures: Vec<(Pattern, usize)>,
    surfaces: Vec<(Surface, usize)>,
    pub writer: GltfWriter,
}

impl Materials {
    pub fn new(rng: ChaCha8Rng) -> Materials {
        Materials {
            rng,
            textures: Vec::new(),
            surfaces: Vec::new(),
            writer: GltfWriter::new()
                .drop_untextured_uvs()
                .with_lighting(SceneLighting::Lit),
        }
    }

    /// The glTF texture index of a pattern, drawing it on first use.
    pub fn texture(&mut self, p: Pattern) -> usize {
        if let Some(&(_, t)) = self.textures.iter().find(|(q, _)| *q == p) {
            return t;
        }
        let tex = p.draw(&mut self.rng);
        let t = self.writer.add_texture(p.name(), &tex);
        self.textures.push((p, t));
        t
    }

    /// The material of a surface kind, choosing its color on first use.
    pub fn get(&mut self, s: Surface) -> usize {
        if let Some(&(_, m)) = self.surfaces.iter().find(|(q, _)| *q == s) {
            return m;
        }
        let pal = palette(s);
        let c = pal[self.rng.random_range(0..pal.len())];
        let texture = texture_of(s).map(|p| self.texture(p));
        let double_sided = matches!(s, Surface::Leaves);
        let name = format!("{s:?}").to_lowercase();
        let m = self
            .writer
            .add_material(&name, [c[0], c[1], c[2], 1.0], texture, double_sided);
        self.surfaces.push((s, m));
        m
    }

    /// A one-off material (room floors and walls): `color` times an optional pattern.
    pub fn custom(&mut self, name: &str, color: Rgb, pattern: Option<Pattern>) -> usize {
        let texture = pattern.map(|p| self.texture(p));
        self.writer
            .add_material(name, [color[0], color[1], color[2], 1.0], texture, false)
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}
