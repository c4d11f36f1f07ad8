//! Where the floors are, without a navmesh: upward-facing surfaces with something overhead (a ceiling or
//! the storey above), so roofs and the tops of tall furniture do not count. Used to pick storeys for
//! top-down maps and plausible camera poses for benchmarks; the navigation module is the authority on
//! where an agent can actually stand.

use std::collections::BTreeMap;

use habitat_assets::Scene;

use super::scene_data::{cross, dot, sub};

/// Grid cell (metres) of the overhead-cover lookup.
const CELL: f32 = 0.5;
/// Something counts as overhead cover between these heights above a floor.
const COVER_MIN: f32 = 1.5;
const COVER_MAX: f32 = 6.0;
/// Storeys are at least this far apart.
const MIN_STOREY_HEIGHT: f32 = 1.8;

/// An upward-facing triangle with overhead cover.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FloorTriangle {
    pub corners: [[f32; 3]; 3],
    pub area: f32,
    pub height: f32,
}

/// Upward-facing triangles (normal within ~25 degrees of +Y) whose centroid has a horizontal-ish surface
/// `COVER_MIN..COVER_MAX` above it.
pub(crate) fn floor_triangles(scene: &Scene) -> Vec<FloorTriangle> {
    let b = scene.bounds();
    if b.is_empty() {
        return Vec::new();
    }
    let nx = (((b.max[0] - b.min[0]) / CELL).ceil() as usize).max(1);
    let nz = (((b.max[2] - b.min[2]) / CELL).ceil() as usize).max(1);
    let cell_of = |x: f32, z: f32| {
        let i = (((x - b.min[0]) / CELL) as usize).min(nx - 1);
        let j = (((z - b.min[2]) / CELL) as usize).min(nz - 1);
        j * nx + i
    };
    // Heights of horizontal-ish surfaces per cell (a ceiling may face either way in a scan).
    let mut cover: Vec<Vec<f32>> = vec![Vec::new(); nx * nz];
    let mut up = Vec::new();
    for t in scene.triangles() {
        let n = cross(sub(t[1], t[0]), sub(t[2], t[0]));
        let len = dot(n, n).sqrt();
        // NaN lengths (degenerate input) are skipped too.
        if len.is_nan() || len <= 0.0 || n[1].abs() < 0.7 * len {
            continue;
        }
        let height = (t[0][1] + t[1][1] + t[2][1]) / 3.0;
        let (x0, x1) = (
            t[0][0].min(t[1][0]).min(t[2][0]),
            t[0][0].max(t[1][0]).max(t[2][0]),
        );
        let (z0, z1) = (
            t[0][2].min(t[1][2]).min(t[2][2]),
            t[0][2].max(t[1][2]).max(t[2][2]),
        );
        let (c0, c1) = (cell_of(x0, z0), cell_of(x1, z1));
        for j in c0 / nx..=c1 / nx {
            for i in c0 % nx..=c1 % nx {
                cover[j * nx + i].push(height);
            }
        }
        if n[1] >= 0.9 * len {
            up.push(FloorTriangle {
                corners: t,
                area: 0.5 * len,
                height,
            });
        }
    }
    up.retain(|f| {
        let cx = (f.corners[0][0] + f.corners[1][0] + f.corners[2][0]) / 3.0;
        let cz = (f.corners[0][2] + f.corners[1][2] + f.corners[2][2]) / 3.0;
        cover[cell_of(cx, cz)]
            .iter()
            .any(|&h| h >= f.height + COVER_MIN && h <= f.height + COVER_MAX)
    });
    up
}

/// Floor heights of the storeys of `scene`, ascending: heights holding large covered upward-facing areas
/// (at least a fifth of the largest), at least `MIN_STOREY_HEIGHT` apart.
pub fn floor_levels(scene: &Scene) -> Vec<f32> {
    levels_of(&floor_triangles(scene))
}

pub(crate) fn levels_of(floors: &[FloorTriangle]) -> Vec<f32> {
    const BIN: f32 = 0.1;
    let mut bins: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for f in floors {
        let e = bins.entry((f.height / BIN).round() as i64).or_default();
        e.0 += f.area as f64;
        e.1 += f.area as f64 * f.height as f64;
    }
    let mut by_area: Vec<(f64, f32)> = bins
        .values()
        .map(|&(area, ysum)| (area, (ysum / area) as f32))
        .collect();
    by_area.sort_by(|a, b| b.0.total_cmp(&a.0));
    let Some(&(largest, _)) = by_area.first() else {
        return Vec::new();
    };
    let mut levels: Vec<f32> = Vec::new();
    for (area, y) in by_area {
        if area < 0.2 * largest {
            break;
        }
        if levels.iter().all(|l| (l - y).abs() >= MIN_STOREY_HEIGHT) {
            levels.push(y);
        }
    }
    levels.sort_by(f32::total_cmp);
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use habitat_assets::Mesh;

    /// A horizontal square at height y, facing up or down.
    fn slab(y: f32, half: f32, up: bool) -> Mesh {
        let positions = vec![
            [-half, y, -half],
            [-half, y, half],
            [half, y, half],
            [half, y, -half],
        ];
        let triangles = if up {
            vec![[0, 1, 2], [0, 2, 3]]
        } else {
            vec![[0, 2, 1], [0, 3, 2]]
        };
        Mesh {
            positions,
            triangles,
            ..Mesh::default()
        }
    }

    #[test]
    fn two_storeys_under_a_roof_give_two_levels_and_the_roof_none() {
        let scene = Scene {
            meshes: vec![
                slab(0.0, 5.0, true),  // ground floor
                slab(2.8, 5.0, false), // its ceiling
                slab(3.0, 5.0, true),  // upper floor
                slab(5.8, 5.0, false), // its ceiling
                slab(6.0, 5.0, true),  // roof: nothing above
                slab(0.8, 0.5, true),  // a table top, below the ground floor's ceiling
            ],
            materials: vec![],
            textures: vec![],
        };
        assert_eq!(floor_levels(&scene), vec![0.0, 3.0]);
    }

    #[test]
    fn an_empty_scene_has_no_levels() {
        assert!(floor_levels(&Scene::default()).is_empty());
    }
}
