//! Scene metadata (`<name>.meta.json`): rooms, objects, doors and stairs of a procedural house, in the
//! same world frame as its mesh (Y-up, metres). Instructions are generated from it later (rooms passed,
//! landmarks, turns), so labels and room names are plain English nouns ("kitchen", "sofa").

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AssetError;
use crate::scene::MAX_WORLD_COORD;

pub const META_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneMeta {
    pub format_version: u32,
    /// Scene name, also the file stem of the `.glb`.
    pub name: String,
    /// Seed the house was generated from.
    pub seed: u64,
    /// Thickness of every wall (metres); room polygons run along wall centre lines.
    pub wall_thickness: f32,
    pub levels: Vec<LevelMeta>,
    pub rooms: Vec<RoomMeta>,
    pub objects: Vec<ObjectMeta>,
    pub doors: Vec<DoorMeta>,
    pub stairs: Vec<StairsMeta>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelMeta {
    pub level: usize,
    /// World y of the floor.
    pub floor_height: f32,
    /// Floor to ceiling (metres).
    pub ceiling_height: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomMeta {
    /// Room type: "kitchen", "bedroom", "living room", "hallway", ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Unique within the scene: "kitchen", "second bedroom", "upstairs hallway".
    pub name: String,
    pub level: usize,
    pub floor_height: f32,
    /// Counter-clockwise (seen from above) floor polygon as [x, z] points, on the wall centre lines, so
    /// the rooms of a level tile it and a doorway belongs half to each side.
    pub polygon: Vec<[f32; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// English noun: "sofa", "bed", "fridge", "painting", "staircase", ...
    pub label: String,
    /// Name of the room it is in.
    pub room: String,
    pub level: usize,
    /// Centre of its world-aligned bounding box.
    pub position: [f32; 3],
    /// Extents of that box along x, y, z.
    pub size: [f32; 3],
    /// Heading of the object's front about +Y (radians; 0 faces +z).
    pub yaw: f32,
    /// False for things one can walk over or that hang on walls (rugs, paintings, windows).
    pub obstacle: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoorMeta {
    /// Centre of the opening at floor height.
    pub position: [f32; 3],
    pub width: f32,
    pub height: f32,
    pub level: usize,
    /// Names of the two rooms it joins.
    pub rooms: [String; 2],
    /// Unit vector on the floor plane, [x, z], pointing through the door from `rooms[0]` into `rooms[1]`.
    pub direction: [f32; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StairsMeta {
    /// A standing point on the lower floor just before the first step.
    pub bottom: [f32; 3],
    /// A standing point on the upper floor just past the last step.
    pub top: [f32; 3],
    pub from_level: usize,
    pub to_level: usize,
    pub steps: usize,
    pub rise: f32,
    pub tread: f32,
    pub width: f32,
    /// Rooms at the bottom and at the top.
    pub rooms: [String; 2],
}

impl SceneMeta {
    /// The metadata file that belongs to a scene file: `dir/name.glb` -> `dir/name.meta.json`.
    pub fn path_for(scene: &Path) -> PathBuf {
        let stem = scene
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        scene.with_file_name(format!("{stem}.meta.json"))
    }

    /// Reads and validates a metadata file.
    pub fn load(path: impl AsRef<Path>) -> Result<SceneMeta, AssetError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| AssetError::io(path, e))?;
        let meta: SceneMeta = serde_json::from_str(&text).map_err(|e| AssetError::Meta {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        meta.validate().map_err(|message| AssetError::Meta {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(meta)
    }

    /// Checks references and numbers; the message names the offending record and field.
    pub fn validate(&self) -> Result<(), String> {
        if self.format_version != META_FORMAT_VERSION {
            return Err(format!(
                "format_version {} (expected {META_FORMAT_VERSION})",
                self.format_version
            ));
        }
        // Finite and inside the world every scene vertex must lie in (`MAX_WORLD_COORD`).
        let finite = |v: &[f32]| v.iter().all(|x| x.abs() <= MAX_WORLD_COORD);
        if !(self.wall_thickness.is_finite() && self.wall_thickness >= 0.0) {
            return Err(format!(
                "wall_thickness {} must be finite and non-negative",
                self.wall_thickness
            ));
        }
        for (i, l) in self.levels.iter().enumerate() {
            if l.level != i
                || !finite(&[l.floor_height, l.ceiling_height])
                || l.ceiling_height <= 0.0
            {
                return Err(format!(
                    "levels[{i}]: level must equal its index and heights be finite and positive"
                ));
            }
        }
        let level_ok = |l: usize| l < self.levels.len();
        // A set, not a scan per room: a file with 150k rooms must not take minutes (O(n^2)).
        let mut names: HashSet<&str> = HashSet::with_capacity(self.rooms.len());
        for (i, r) in self.rooms.iter().enumerate() {
            if r.polygon.len() < 3 || !r.polygon.iter().all(|p| finite(p)) {
                return Err(format!(
                    "rooms[{i}] ({:?}).polygon: needs at least 3 finite points within {MAX_WORLD_COORD} m",
                    r.name
                ));
            }
            if !level_ok(r.level) {
                return Err(format!(
                    "rooms[{i}] ({:?}).level {} does not exist",
                    r.name, r.level
                ));
            }
            if !names.insert(&r.name) {
                return Err(format!("rooms[{i}].name {:?} is not unique", r.name));
            }
        }
        let room_ok = |name: &str| names.contains(name);
        for (i, o) in self.objects.iter().enumerate() {
            if !room_ok(&o.room) {
                return Err(format!(
                    "objects[{i}] ({:?}).room {:?} is not a room of this scene",
                    o.label, o.room
                ));
            }
            if !finite(&o.position)
                || !finite(&o.size)
                || o.size.iter().any(|&s| s < 0.0)
                || !level_ok(o.level)
            {
                return Err(format!(
                    "objects[{i}] ({:?}): position/size must be finite, size non-negative",
                    o.label
                ));
            }
        }
        for (i, d) in self.doors.iter().enumerate() {
            if let Some(bad) = d.rooms.iter().find(|r| !room_ok(r)) {
                return Err(format!(
                    "doors[{i}].rooms: {bad:?} is not a room of this scene"
                ));
            }
            if !finite(&d.position) || d.width <= 0.0 || !level_ok(d.level) {
                return Err(format!(
                    "doors[{i}]: position must be finite and width positive"
                ));
            }
        }
        for (i, s) in self.stairs.iter().enumerate() {
            if let Some(bad) = s.rooms.iter().find(|r| !room_ok(r)) {
                return Err(format!(
                    "stairs[{i}].rooms: {bad:?} is not a room of this scene"
                ));
            }
            if !finite(&s.bottom)
                || !finite(&s.top)
                || !level_ok(s.from_level)
                || !level_ok(s.to_level)
            {
                return Err(format!(
                    "stairs[{i}]: bottom/top must be finite and levels exist"
                ));
            }
        }
        Ok(())
    }

    pub fn room(&self, name: &str) -> Option<&RoomMeta> {
        self.rooms.iter().find(|r| r.name == name)
    }

    /// The level whose floor is the highest at or below `y` (plus a step's tolerance).
    pub fn level_at(&self, y: f32) -> Option<usize> {
        self.levels
            .iter()
            .filter(|l| l.floor_height <= y + 0.25)
            .max_by(|a, b| a.floor_height.total_cmp(&b.floor_height))
            .map(|l| l.level)
    }

    /// The room containing a world point (its level chosen by height), if any.
    pub fn room_at(&self, p: [f32; 3]) -> Option<&RoomMeta> {
        let level = self.level_at(p[1])?;
        self.rooms
            .iter()
            .find(|r| r.level == level && polygon_contains(&r.polygon, p[0], p[2]))
    }

    /// Objects with a given label.
    pub fn objects_labelled<'a>(
        &'a self,
        label: &'a str,
    ) -> impl Iterator<Item = &'a ObjectMeta> + 'a {
        self.objects.iter().filter(move |o| o.label == label)
    }
}

/// Point in polygon by crossings (boundary points may go either way).
pub fn polygon_contains(poly: &[[f32; 2]], x: f32, z: f32) -> bool {
    let mut inside = false;
    let n = poly.len();
    for i in 0..n {
        let [xi, zi] = poly[i];
        let [xj, zj] = poly[(i + n - 1) % n];
        if (zi > z) != (zj > z) && x < (xj - xi) * (z - zi) / (zj - zi) + xi {
            inside = !inside;
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, ProptestConfig};

    #[test]
    fn polygon_contains_rectangles() {
        let sq = [[0.0, 0.0], [0.0, 2.0], [3.0, 2.0], [3.0, 0.0]];
        assert!(polygon_contains(&sq, 1.0, 1.0));
        assert!(!polygon_contains(&sq, 3.5, 1.0));
        assert!(!polygon_contains(&sq, 1.0, -0.1));
    }

    fn meta_with_rooms(n: usize) -> SceneMeta {
        SceneMeta {
            format_version: META_FORMAT_VERSION,
            name: "h".into(),
            seed: 0,
            wall_thickness: 0.1,
            levels: vec![LevelMeta {
                level: 0,
                floor_height: 0.0,
                ceiling_height: 2.5,
            }],
            rooms: (0..n)
                .map(|i| RoomMeta {
                    kind: "room".into(),
                    name: format!("room {i}"),
                    level: 0,
                    floor_height: 0.0,
                    polygon: vec![[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                })
                .collect(),
            objects: Vec::new(),
            doors: Vec::new(),
            stairs: Vec::new(),
        }
    }

    #[test]
    fn many_rooms_validate_in_linear_time_and_duplicates_are_named() {
        // 150k rooms took minutes with a scan per room; a set takes milliseconds.
        let mut meta = meta_with_rooms(150_000);
        let start = std::time::Instant::now();
        meta.validate().unwrap();
        assert!(start.elapsed().as_secs_f32() < 5.0, "{:?}", start.elapsed());
        meta.rooms[149_999].name = "room 7".into();
        assert_eq!(
            meta.validate().unwrap_err(),
            "rooms[149999].name \"room 7\" is not unique"
        );
    }

    #[test]
    fn room_corners_beyond_the_world_are_refused() {
        let mut meta = meta_with_rooms(2);
        meta.rooms[1].polygon[2] = [3e4, 0.0];
        let err = meta.validate().unwrap_err();
        assert!(err.starts_with("rooms[1] (\"room 1\").polygon"), "{err}");
    }

    #[test]
    fn path_for_swaps_the_extension() {
        assert_eq!(
            SceneMeta::path_for(Path::new("/a/house_00001.glb")),
            PathBuf::from("/a/house_00001.meta.json")
        );
    }

    /// 64 cases from a random seed in CI; `PROPTEST_CASES=N` runs N instead (and `PROPTEST_RNG_SEED=S`
    /// replays a run).
    fn fuzz_config() -> ProptestConfig {
        let mut config = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            config.cases = 64;
        }
        config
    }

    proptest::proptest! {
        #![proptest_config(fuzz_config())]

        /// A meta.json with bytes replaced: an error naming the file, or metadata that validates.
        #[test]
        fn mutated_meta_files_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let mut meta = meta_with_rooms(3);
            meta.objects.push(ObjectMeta {
                label: "sofa".into(),
                room: "room 1".into(),
                level: 0,
                position: [0.5, 0.0, 0.5],
                size: [1.0, 0.8, 0.5],
                yaw: 0.0,
                obstacle: true,
            });
            let mut text = serde_json::to_vec(&meta).unwrap();
            for (at, v) in flips {
                let n = text.len();
                text[at % n] = v;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("h.meta.json");
            std::fs::write(&path, text).unwrap();
            if let Err(e) = SceneMeta::load(&path) {
                proptest::prop_assert!(e.to_string().contains("h.meta.json"), "{}", e);
            }
        }
    }
}
