//! Small procedural textures (64x64 RGBA, sRGB): wood planks, tiles, carpet, wallpaper.
//!
//! They are light and nearly neutral so that one texture, tinted by a material's base color, gives many
//! distinct-looking rooms; the pattern is what tells a floor from a wall in an egocentric frame.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scene::Texture;

pub const SIZE: u32 = 64;

/// The kinds of surface texture a house uses. Each is drawn once per house from the house's RNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    WoodPlanks,
    Tiles,
    Carpet,
    Wallpaper,
}

impl Pattern {
    #[cfg(test)]
    pub const ALL: [Pattern; 4] = [
        Pattern::WoodPlanks,
        Pattern::Tiles,
        Pattern::Carpet,
        Pattern::Wallpaper,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pattern::WoodPlanks => "wood_floor",
            Pattern::Tiles => "tiles",
            Pattern::Carpet => "carpet",
            Pattern::Wallpaper => "wallpaper",
        }
    }

    /// How many metres one copy of the texture covers.
    pub fn tile_metres(self) -> f32 {
        match self {
            Pattern::WoodPlanks => 1.2,
            Pattern::Tiles => 0.6,
            Pattern::Carpet => 0.8,
            Pattern::Wallpaper => 0.5,
        }
    }

    pub fn draw(self, rng: &mut ChaCha8Rng) -> Texture {
        match self {
            Pattern::WoodPlanks => wood(rng),
            Pattern::Tiles => tiles(rng),
            Pattern::Carpet => carpet(rng),
            Pattern::Wallpaper => wallpaper(rng),
        }
    }
}

fn canvas(f: impl Fn(u32, u32) -> [f32; 3]) -> Texture {
    let mut rgba = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let c = f(x, y);
            rgba.extend(c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8));
            rgba.push(255);
        }
    }
    Texture {
        width: SIZE,
        height: SIZE,
        rgba,
    }
}

/// A cheap deterministic hash noise in [0, 1), so pixels do not depend on iteration order.
fn hash(x: u32, y: u32, salt: u32) -> f32 {
    let mut h =
        x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ salt.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h >> 8) as f32 / (1u32 << 24) as f32
}

fn wood(rng: &mut ChaCha8Rng) -> Texture {
    let planks = [4u32, 8][rng.random_range(0..2)];
    let plank_h = SIZE / planks;
    let salt: u32 = rng.random();
    let offsets: Vec<u32> = (0..planks).map(|_| rng.random_range(0..SIZE)).collect();
    let tones: Vec<f32> = (0..planks).map(|_| rng.random_range(0.85..1.0)).collect();
    canvas(|x, y| {
        let p = (y / plank_h) as usize;
        let joint = (x + offsets[p]).is_multiple_of(SIZE) || y.is_multiple_of(plank_h);
        let grain =
            0.9 + 0.1 * ((x as f32 * 0.35 + hash(p as u32, 0, salt) * 6.0).sin() * 0.5 + 0.5);
        let t = if joint {
            0.55
        } else {
            tones[p] * grain * (0.95 + 0.05 * hash(x, y, salt))
        };
        [0.78 * t, 0.58 * t, 0.38 * t]
    })
}

fn tiles(rng: &mut ChaCha8Rng) -> Texture {
    let n = [2u32, 4][rng.random_range(0..2)];
    let size = SIZE / n;
    let salt: u32 = rng.random();
    canvas(|x, y| {
        let grout = x % size < 2 || y % size < 2;
        if grout {
            [0.55, 0.55, 0.55]
        } else {
            let tone = 0.9 + 0.08 * hash(x / size, y / size, salt) + 0.02 * hash(x, y, salt);
            [tone, tone, tone]
        }
    })
}

fn carpet(rng: &mut ChaCha8Rng) -> Texture {
    let salt: u32 = rng.random();
    canvas(|x, y| {
        let t = 0.75 + 0.2 * hash(x, y, salt) + 0.05 * hash(x / 4, y / 4, salt ^ 1);
        [t, t, t]
    })
}

fn wallpaper(rng: &mut ChaCha8Rng) -> Texture {
    let stripes = rng.random_bool(0.5);
    let period = [8u32, 16][rng.random_range(0..2)];
    let salt: u32 = rng.random();
    canvas(|x, y| {
        let motif = if stripes {
            x % period < period / 4
        } else {
            let (cx, cy) = (x % period, y % period);
            let d = (cx as i32 - period as i32 / 2).pow(2) + (cy as i32 - period as i32 / 2).pow(2);
            d < (period as i32 / 5).pow(2)
        };
        let t = if motif { 0.86 } else { 0.97 } - 0.02 * hash(x, y, salt);
        [t, t, t]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn textures_are_deterministic_and_patterned() {
        for p in Pattern::ALL {
            let a = p.draw(&mut ChaCha8Rng::seed_from_u64(7));
            let b = p.draw(&mut ChaCha8Rng::seed_from_u64(7));
            assert_eq!(a, b);
            assert_eq!(a.rgba.len(), (SIZE * SIZE * 4) as usize);
            let lum: Vec<u8> = a.rgba.chunks(4).map(|c| c[0]).collect();
            let (lo, hi) = (lum.iter().min().unwrap(), lum.iter().max().unwrap());
            assert!(hi - lo > 10, "{} is flat", p.name());
        }
    }
}
