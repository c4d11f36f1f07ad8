//! Exact collision of the agent's upper body (a vertical cylinder) moving horizontally against triangles.
//!
//! A vertical cylinder has the same disc as cross-section at every height, so it touches a triangle exactly
//! when its disc touches the triangle's part inside the cylinder's height band, projected onto the floor
//! plane. That turns each 3-D cylinder-triangle shape cast (GJK in a general library, the bulk of a physics
//! step) into a few 2-D disc-segment computations: written by hand for speed, as the task's performance goal
//! asks; parry3d still finds the candidate triangles (its BVH) and casts the floor rays.

/// A convex polygon in the floor plane (x, z): a triangle clipped to a height band has at most 5 corners.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Footprint {
    n: usize,
    p: [[f32; 2]; 8],
}

impl Footprint {
    /// The part of triangle `t` with `lo <= y <= hi`, projected onto (x, z); `None` when it has no such part.
    pub(crate) fn of_triangle(t: [[f32; 3]; 3], lo: f32, hi: f32) -> Option<Footprint> {
        let mut a = [[0.0f32; 3]; 8];
        let mut na = 0;
        // Clip against y >= lo, then y <= hi (Sutherland-Hodgman; points on the plane stay).
        let mut b = [[0.0f32; 3]; 8];
        let mut nb = clip(&t, &mut b, |p| p[1] - lo);
        if nb == 0 {
            return None;
        }
        std::mem::swap(&mut a, &mut b);
        std::mem::swap(&mut na, &mut nb);
        let n = clip(&a[..na], &mut b, |p| hi - p[1]);
        if n == 0 {
            return None;
        }
        let mut f = Footprint {
            n,
            p: [[0.0; 2]; 8],
        };
        for (dst, src) in f.p.iter_mut().zip(&b[..n]) {
            *dst = [src[0], src[2]];
        }
        Some(f)
    }

    fn edges(&self) -> impl Iterator<Item = ([f32; 2], [f32; 2])> + '_ {
        (0..self.n).map(move |k| (self.p[k], self.p[(k + 1) % self.n]))
    }

    /// The closest point of the polygon (boundary or interior) to `q`.
    pub(crate) fn closest(&self, q: [f32; 2]) -> [f32; 2] {
        if self.n >= 3 && self.contains(q) {
            return q;
        }
        let mut best = (f32::INFINITY, self.p[0]);
        for (a, b) in self.edges() {
            let c = closest_on_segment(q, a, b);
            let d = dist2(q, c);
            if d < best.0 {
                best = (d, c);
            }
        }
        best.1
    }

    fn contains(&self, q: [f32; 2]) -> bool {
        let (mut pos, mut neg) = (false, false);
        for (a, b) in self.edges() {
            let cross = (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]);
            pos |= cross > 0.0;
            neg |= cross < 0.0;
        }
        !(pos && neg)
    }

    /// The first time `t` in `[0, 1]` at which a disc of radius `r` centred at `o + t * d` touches the
    /// polygon, with the contact normal (unit, from the polygon towards the disc). A disc that already
    /// touches it counts at `t = 0` only if it is moving further in.
    pub(crate) fn sweep(&self, o: [f32; 2], d: [f32; 2], r: f32) -> Option<(f32, [f32; 2])> {
        let c = self.closest(o);
        let away = [o[0] - c[0], o[1] - c[1]];
        if dot(away, away) <= r * r {
            if dot(away, d) >= 0.0 {
                return None;
            }
            let len = dot(away, away).sqrt();
            let n = if len > 1e-9 {
                [away[0] / len, away[1] / len]
            } else {
                unit([-d[0], -d[1]])
            };
            return Some((0.0, n));
        }
        let mut t = f32::INFINITY;
        for (a, b) in self.edges() {
            t = t.min(sweep_segment(o, d, a, b, r));
        }
        if t > 1.0 {
            return None;
        }
        let x = [o[0] + t * d[0], o[1] + t * d[1]];
        let c = self.closest(x);
        Some((t, unit([x[0] - c[0], x[1] - c[1]])))
    }
}

/// Clips a convex polygon to `side(p) >= 0`; returns the vertex count written to `out`.
fn clip(poly: &[[f32; 3]], out: &mut [[f32; 3]; 8], side: impl Fn(&[f32; 3]) -> f32) -> usize {
    let mut n = 0;
    for k in 0..poly.len() {
        let (a, b) = (poly[k], poly[(k + 1) % poly.len()]);
        let (sa, sb) = (side(&a), side(&b));
        if sa >= 0.0 && n < 8 {
            out[n] = a;
            n += 1;
        }
        if ((sa > 0.0 && sb < 0.0) || (sa < 0.0 && sb > 0.0)) && n < 8 {
            let t = sa / (sa - sb);
            out[n] = [
                a[0] + (b[0] - a[0]) * t,
                a[1] + (b[1] - a[1]) * t,
                a[2] + (b[2] - a[2]) * t,
            ];
            n += 1;
        }
    }
    n
}

/// Earliest `t >= 0` at which `o + t * d` comes within `r` of segment `ab` (`o` starts farther), or infinity.
fn sweep_segment(o: [f32; 2], d: [f32; 2], a: [f32; 2], b: [f32; 2], r: f32) -> f32 {
    let mut best = sweep_circle(o, d, a, r).min(sweep_circle(o, d, b, r));
    let ab = [b[0] - a[0], b[1] - a[1]];
    let len = dot(ab, ab).sqrt();
    if len > 1e-9 {
        let u = [ab[0] / len, ab[1] / len];
        for n in [[-u[1], u[0]], [u[1], -u[0]]] {
            // The capsule side on the n side of the segment: points x with (x - a) . n = r.
            let denom = dot(d, n);
            let height = dot([o[0] - a[0], o[1] - a[1]], n);
            if denom < 0.0 && height >= r {
                let t = (r - height) / denom;
                let x = [o[0] + t * d[0] - a[0], o[1] + t * d[1] - a[1]];
                let s = dot(x, u);
                if (0.0..=len).contains(&s) {
                    best = best.min(t);
                }
            }
        }
    }
    best
}

/// Earliest `t >= 0` at which `o + t * d` comes within `r` of `p` (`o` starts farther), or infinity.
fn sweep_circle(o: [f32; 2], d: [f32; 2], p: [f32; 2], r: f32) -> f32 {
    let f = [o[0] - p[0], o[1] - p[1]];
    let a = dot(d, d);
    let b = 2.0 * dot(f, d);
    let c = dot(f, f) - r * r;
    let disc = b * b - 4.0 * a * c;
    if a <= 0.0 || disc < 0.0 {
        return f32::INFINITY;
    }
    let t = (-b - disc.sqrt()) / (2.0 * a);
    if t >= 0.0 {
        t
    } else {
        f32::INFINITY
    }
}

fn closest_on_segment(q: [f32; 2], a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    let ab = [b[0] - a[0], b[1] - a[1]];
    let l2 = dot(ab, ab);
    if l2 <= 0.0 {
        return a;
    }
    let t = (dot([q[0] - a[0], q[1] - a[1]], ab) / l2).clamp(0.0, 1.0);
    [a[0] + t * ab[0], a[1] + t * ab[1]]
}

fn dot(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

fn dist2(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

fn unit(v: [f32; 2]) -> [f32; 2] {
    let l = dot(v, v).sqrt();
    if l > 0.0 {
        [v[0] / l, v[1] / l]
    } else {
        [0.0, 0.0]
    }
}

#[cfg(test)]
mod tests {
    use super::Footprint;

    /// A vertical wall triangle in the plane x = 1 spanning z in [-1, 1] and y in [0, 2].
    fn wall() -> [[f32; 3]; 3] {
        [[1.0, 0.0, -1.0], [1.0, 0.0, 1.0], [1.0, 2.0, 0.0]]
    }

    #[test]
    fn a_disc_hits_a_wall_when_its_rim_reaches_it() {
        let f = Footprint::of_triangle(wall(), 0.5, 1.5).unwrap();
        // Centre at x = 0 moving +x by 1: the rim (r = 0.1) touches x = 1 at t = 0.9.
        let (t, n) = f.sweep([0.0, 0.0], [1.0, 0.0], 0.1).unwrap();
        assert!((t - 0.9).abs() < 1e-5, "{t}");
        assert!((n[0] + 1.0).abs() < 1e-5 && n[1].abs() < 1e-5, "{n:?}");
        // Moving along the wall, or away from it, never hits.
        assert!(f.sweep([0.0, 0.0], [0.0, 1.0], 0.1).is_none());
        assert!(
            f.sweep([0.95, 0.0], [-1.0, 0.0], 0.1).is_none(),
            "already touching but leaving"
        );
        assert_eq!(
            f.sweep([0.95, 0.0], [1.0, 0.0], 0.1).map(|h| h.0),
            Some(0.0)
        );
    }

    #[test]
    fn only_the_part_inside_the_height_band_counts() {
        // The wall's apex is at y = 2 over z = 0; between y = 1.5 and 2 it spans |z| <= 0.25.
        let top = Footprint::of_triangle(wall(), 1.5, 3.0).unwrap();
        assert!(
            top.sweep([0.0, 0.5], [1.0, 0.0], 0.1).is_none(),
            "passes beside the narrow top"
        );
        assert!(
            top.sweep([0.0, 0.3], [1.0, 0.0], 0.1).is_some(),
            "clips its edge"
        );
        assert!(
            Footprint::of_triangle(wall(), 2.5, 3.0).is_none(),
            "entirely below the band"
        );
        // A floor triangle at y = 0 is outside a band starting at the step height.
        assert!(Footprint::of_triangle(
            [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
            0.2,
            1.5
        )
        .is_none());
    }

    #[test]
    fn corners_are_round_for_the_disc() {
        // In the band y in [0.5, 1.5] the wall ends at z = 0.75. Passing that end diagonally, the disc
        // touches the end point itself, and is pushed away from it.
        let f = Footprint::of_triangle(wall(), 0.5, 1.5).unwrap();
        let (t, n) = f
            .sweep([0.5, 1.25], [1.0, -0.8], 0.1)
            .expect("grazes the end point");
        let x = [0.5 + t, 1.25 - 0.8 * t];
        let c = f.closest(x);
        assert!((((x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2)).sqrt() - 0.1).abs() < 1e-4);
        assert!(n[1] > 0.0, "pushed away from the end, towards +z: {n:?}");
    }
}
