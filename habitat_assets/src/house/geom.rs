//! Triangle geometry from simple shapes (quads, boxes, cylinders, spheres), grouped by material.
//!
//! UVs are in metres divided by a tile size, so a texture repeats at the same physical scale on every
//! surface. `cell` (when set) tessellates quads into a grid, which is how the benchmark scenes reach a
//! million triangles without changing what the house looks like.

use crate::write::PrimitiveData;

/// Whether a box draws its bottom face. Boxes standing on the floor, and boxes resting on others, hide it:
/// it is never seen, and skipping it saves two triangles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bottom {
    Drawn,
    Hidden,
}

/// Geometry for one node: one primitive per material, in insertion order of the materials.
#[derive(Debug, Clone, Default)]
pub struct Geom {
    pub parts: Vec<PrimitiveData>,
    /// Grid cell size (metres) for tessellating quads; `None` keeps two triangles per quad.
    pub cell: Option<f32>,
}

fn add(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn scale(a: [f32; 3], s: f32) -> [f32; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn length(a: [f32; 3]) -> f32 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

fn normalized(a: [f32; 3]) -> [f32; 3] {
    let l = length(a);
    if l > 0.0 {
        scale(a, 1.0 / l)
    } else {
        [0.0, 1.0, 0.0]
    }
}

impl Geom {
    pub fn new(cell: Option<f32>) -> Geom {
        Geom {
            parts: Vec::new(),
            cell,
        }
    }

    fn part(&mut self, material: usize) -> &mut PrimitiveData {
        let i = match self.parts.iter().position(|p| p.material == material) {
            Some(i) => i,
            None => {
                self.parts.push(PrimitiveData {
                    material,
                    ..PrimitiveData::default()
                });
                self.parts.len() - 1
            }
        };
        &mut self.parts[i]
    }

    pub fn triangle_count(&self) -> usize {
        self.parts.iter().map(|p| p.triangles.len()).sum()
    }

    /// A rectangle with corners `o`, `o+u`, `o+u+v`, `o+v`, facing `u x v` (counter-clockwise seen from
    /// the front). `tile` is the texture repeat size in metres; UV (0,0) at `o`.
    pub fn quad(&mut self, material: usize, o: [f32; 3], u: [f32; 3], v: [f32; 3], tile: f32) {
        self.quad_uv(material, o, u, v, tile, [0.0, 0.0]);
    }

    /// [`Geom::quad`] with UV `uv0` at `o`, so that neighbouring quads continue one texture seamlessly.
    pub fn quad_uv(
        &mut self,
        material: usize,
        o: [f32; 3],
        u: [f32; 3],
        v: [f32; 3],
        tile: f32,
        uv0: [f32; 2],
    ) {
        let (lu, lv) = (length(u), length(v));
        if lu <= 1e-6 || lv <= 1e-6 {
            return;
        }
        let n = normalized(cross(u, v));
        let (nu, nv) = match self.cell {
            Some(c) => (
                ((lu / c).ceil() as usize).max(1),
                ((lv / c).ceil() as usize).max(1),
            ),
            None => (1, 1),
        };
        let p = self.part(material);
        let base = p.positions.len() as u32;
        for j in 0..=nv {
            for i in 0..=nu {
                let (a, b) = (i as f32 / nu as f32, j as f32 / nv as f32);
                p.positions.push(add(o, add(scale(u, a), scale(v, b))));
                p.normals.push(n);
                p.uvs.push([uv0[0] + a * lu / tile, uv0[1] + b * lv / tile]);
            }
        }
        let row = nu as u32 + 1;
        for j in 0..nv as u32 {
            for i in 0..nu as u32 {
                let k = base + j * row + i;
                p.triangles.push([k, k + 1, k + row + 1]);
                p.triangles.push([k, k + row + 1, k + row]);
            }
        }
    }

    /// An axis-aligned box with outward faces, textures tiled once per metre.
    pub fn cuboid(&mut self, material: usize, min: [f32; 3], max: [f32; 3], bottom: Bottom) {
        let tile = 1.0;
        let [x0, y0, z0] = min;
        let [x1, y1, z1] = max;
        let (dx, dy, dz) = (x1 - x0, y1 - y0, z1 - z0);
        // +X, -X, +Z, -Z, +Y, -Y faces.
        self.quad(
            material,
            [x1, y0, z1],
            [0.0, 0.0, -dz],
            [0.0, dy, 0.0],
            tile,
        );
        self.quad(material, [x0, y0, z0], [0.0, 0.0, dz], [0.0, dy, 0.0], tile);
        self.quad(material, [x0, y0, z1], [dx, 0.0, 0.0], [0.0, dy, 0.0], tile);
        self.quad(
            material,
            [x1, y0, z0],
            [-dx, 0.0, 0.0],
            [0.0, dy, 0.0],
            tile,
        );
        self.quad(
            material,
            [x0, y1, z1],
            [dx, 0.0, 0.0],
            [0.0, 0.0, -dz],
            tile,
        );
        if bottom == Bottom::Drawn {
            self.quad(material, [x0, y0, z0], [dx, 0.0, 0.0], [0.0, 0.0, dz], tile);
        }
    }

    /// A box whose vertices carry `color` (other shapes of the same material get white).
    pub fn cuboid_colored(
        &mut self,
        material: usize,
        min: [f32; 3],
        max: [f32; 3],
        color: [f32; 4],
    ) {
        self.pad_colors(material);
        self.cuboid(material, min, max, Bottom::Drawn);
        let p = self.part(material);
        p.colors.resize(p.positions.len(), color);
    }

    /// Gives every vertex of the material's part so far a color (white where none was set), so that
    /// colors pushed next line up with their vertices.
    fn pad_colors(&mut self, material: usize) {
        let p = self.part(material);
        p.colors.resize(p.positions.len(), [1.0; 4]);
    }

    /// A capped cylinder with its axis along +Y from `base` (centre of the bottom cap).
    pub fn cylinder(
        &mut self,
        material: usize,
        base: [f32; 3],
        radius: f32,
        height: f32,
        segments: u32,
    ) {
        self.cylinder_along(material, base, [0.0, height, 0.0], radius, segments);
    }

    /// A capped cylinder from `base` along `axis` (its length is the height).
    pub fn cylinder_along(
        &mut self,
        material: usize,
        base: [f32; 3],
        axis: [f32; 3],
        radius: f32,
        segments: u32,
    ) {
        let dir = normalized(axis);
        let helper = if dir[1].abs() < 0.9 {
            [0.0, 1.0, 0.0]
        } else {
            [1.0, 0.0, 0.0]
        };
        let e1 = normalized(cross(dir, helper));
        let e2 = cross(dir, e1);
        let top = add(base, axis);
        let p = self.part(material);
        let ring = |k: u32| {
            let a = std::f32::consts::TAU * k as f32 / segments as f32;
            add(scale(e1, a.cos()), scale(e2, a.sin()))
        };
        // Side: two vertices per ring position (bottom, top), normals radial.
        let side = p.positions.len() as u32;
        for k in 0..=segments {
            let r = ring(k);
            let u = k as f32 / segments as f32;
            p.positions.push(add(base, scale(r, radius)));
            p.normals.push(r);
            p.uvs.push([u, 0.0]);
            p.positions.push(add(top, scale(r, radius)));
            p.normals.push(r);
            p.uvs.push([u, 1.0]);
        }
        for k in 0..segments {
            let (b0, t0, b1, t1) = (
                side + 2 * k,
                side + 2 * k + 1,
                side + 2 * k + 2,
                side + 2 * k + 3,
            );
            // ring(k) -> ring(k+1) turns from e1 to e2, i.e. counter-clockwise about `dir`.
            p.triangles.push([b0, b1, t1]);
            p.triangles.push([b0, t1, t0]);
        }
        // Caps as fans around a centre vertex.
        for (centre, normal) in [(top, dir), (base, scale(dir, -1.0))] {
            let c = p.positions.len() as u32;
            p.positions.push(centre);
            p.normals.push(normal);
            p.uvs.push([0.5, 0.5]);
            for k in 0..segments {
                let r = ring(k);
                p.positions.push(add(centre, scale(r, radius)));
                p.normals.push(normal);
                p.uvs.push([0.5 + 0.5 * r[0], 0.5 + 0.5 * r[2]]);
            }
            for k in 0..segments {
                let (a, b) = (c + 1 + k, c + 1 + (k + 1) % segments);
                if normal == dir {
                    p.triangles.push([c, a, b]);
                } else {
                    p.triangles.push([c, b, a]);
                }
            }
        }
    }

    /// A UV sphere scaled per axis (an ellipsoid) around `centre`, with optional per-vertex colors
    /// shaded from `color` (darker towards the bottom), so leaves and shades are not flat.
    pub fn ellipsoid(
        &mut self,
        material: usize,
        centre: [f32; 3],
        radii: [f32; 3],
        rings: u32,
        segments: u32,
        color: Option<[f32; 4]>,
    ) {
        if color.is_some() {
            self.pad_colors(material);
        }
        let p = self.part(material);
        let base = p.positions.len() as u32;
        for j in 0..=rings {
            let theta = std::f32::consts::PI * j as f32 / rings as f32;
            for k in 0..=segments {
                let phi = std::f32::consts::TAU * k as f32 / segments as f32;
                let unit = [
                    theta.sin() * phi.cos(),
                    theta.cos(),
                    -theta.sin() * phi.sin(),
                ];
                p.positions.push(add(
                    centre,
                    [unit[0] * radii[0], unit[1] * radii[1], unit[2] * radii[2]],
                ));
                p.normals.push(normalized([
                    unit[0] / radii[0],
                    unit[1] / radii[1],
                    unit[2] / radii[2],
                ]));
                p.uvs
                    .push([k as f32 / segments as f32, j as f32 / rings as f32]);
                if let Some(c) = color {
                    let shade = 0.65 + 0.35 * (1.0 - j as f32 / rings as f32);
                    p.colors
                        .push([c[0] * shade, c[1] * shade, c[2] * shade, c[3]]);
                }
            }
        }
        let row = segments + 1;
        for j in 0..rings {
            for k in 0..segments {
                let a = base + j * row + k;
                if j != 0 {
                    p.triangles.push([a, a + row, a + 1]);
                }
                if j != rings - 1 {
                    p.triangles.push([a + 1, a + row, a + row + 1]);
                }
            }
        }
    }

    /// Axis-aligned bounds of everything added so far.
    #[cfg(test)]
    pub fn bounds(&self) -> crate::scene::Aabb {
        let mut b = crate::scene::Aabb::EMPTY;
        for p in &self.parts {
            for &v in &p.positions {
                b.grow(v);
            }
        }
        b
    }

    /// Points of every part (for predicting world bounds under a node transform).
    pub fn points(&self) -> impl Iterator<Item = [f32; 3]> + '_ {
        self.parts.iter().flat_map(|p| p.positions.iter().copied())
    }

    /// Finalises: a part that has colors on some shapes gets white on the shapes added after them
    /// (glTF requires an attribute to cover every vertex of a primitive).
    pub fn finish(mut self) -> Vec<PrimitiveData> {
        for p in &mut self.parts {
            if !p.colors.is_empty() {
                p.colors.resize(p.positions.len(), [1.0; 4]);
            }
        }
        self.parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_volume(p: &PrimitiveData) -> f32 {
        // Divergence theorem: positive for a closed surface with outward (counter-clockwise) faces.
        p.triangles
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|i| p.positions[i as usize]);
                let bc = cross(b, c);
                (a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2]) / 6.0
            })
            .sum()
    }

    #[test]
    fn closed_shapes_face_outwards_with_the_right_volume() {
        let mut g = Geom::new(None);
        g.cuboid(0, [1.0, 0.0, 2.0], [3.0, 1.0, 2.5], Bottom::Drawn);
        g.cylinder(1, [0.0, 0.0, 0.0], 0.5, 2.0, 64);
        g.ellipsoid(2, [0.0, 1.0, 0.0], [1.0, 0.5, 1.0], 32, 64, None);
        let parts = g.finish();
        assert!((signed_volume(&parts[0]) - 1.0).abs() < 1e-5);
        assert!((signed_volume(&parts[1]) - std::f32::consts::PI * 0.5).abs() < 0.01);
        let ellipsoid = 4.0 / 3.0 * std::f32::consts::PI * 0.5;
        assert!(
            (signed_volume(&parts[2]) - ellipsoid).abs() < 0.02,
            "{}",
            signed_volume(&parts[2])
        );
    }

    #[test]
    fn tessellation_keeps_the_surface_and_multiplies_triangles() {
        let mut g = Geom::new(Some(0.25));
        g.quad(0, [0.0; 3], [1.0, 0.0, 0.0], [0.0, 0.0, -0.5], 1.0);
        assert_eq!(g.triangle_count(), 2 * 4 * 2);
        let b = g.bounds();
        assert_eq!((b.min, b.max), ([0.0, 0.0, -0.5], [1.0, 0.0, 0.0]));
        assert!(g.parts[0].normals.iter().all(|n| *n == [0.0, 1.0, 0.0]));
    }
}
