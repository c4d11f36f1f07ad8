//! Synthetic RxR-CE-shaped episode files: every field of the official schema, plausible sizes (about 80 timed
//! words per instruction, 5-12 waypoints). For load benchmarks and tests, not for training: the geometry is
//! random and ignores any scene.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dataset::EpisodeDataset;
use crate::episode::{Episode, EpisodeInfo, Goal, DEFAULT_SUCCESS_DISTANCE};
use crate::instruction::{Instruction, TimedWord};
use crate::record::{Extra, Id};
use crate::split::Role;

const LANGUAGES: [&str; 4] = ["en-US", "en-IN", "hi-IN", "te-IN"];
const WORDS: [&str; 24] = [
    "walk", "forward", "turn", "left", "right", "past", "the", "table", "and", "stop", "near",
    "door", "go", "through", "hallway", "kitchen", "stairs", "up", "down", "towards", "bedroom",
    "you", "will", "see",
];

/// `n` episodes shaped like an RxR-CE `{split}_{role}.json.gz`, deterministic in `seed`.
pub fn rxr_like(n: usize, role: Role, seed: u64) -> EpisodeDataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let episodes = (0..n).map(|i| rxr_episode(&mut rng, i, role)).collect();
    EpisodeDataset::new(episodes)
}

fn rxr_episode(rng: &mut ChaCha8Rng, i: usize, role: Role) -> Episode {
    let scan = format!("scan{:02}", rng.random_range(0..60));
    let floor = f64::from(rng.random_range(0..3u8)) * 2.8;
    let start = [
        rng.random_range(-20.0..20.0),
        floor,
        rng.random_range(-20.0..20.0),
    ];
    let yaw: f64 = rng.random_range(0.0..std::f64::consts::TAU);
    let mut path = vec![start];
    for _ in 0..rng.random_range(4..12) {
        let p = path[path.len() - 1];
        path.push([
            p[0] + rng.random_range(-3.0..3.0),
            floor,
            p[2] + rng.random_range(-3.0..3.0),
        ]);
    }
    let goal = path[path.len() - 1];
    let mut t = 0.0;
    let timed: Vec<TimedWord> = (0..rng.random_range(40..120))
        .map(|_| {
            // Alignment times have centisecond resolution, like the RxR annotations.
            let start_time = round2(t + rng.random_range(0.05..0.3));
            t = round2(start_time + rng.random_range(0.1..0.6));
            TimedWord {
                word: WORDS[rng.random_range(0..WORDS.len())].to_owned(),
                start_time: Some(start_time),
                end_time: Some(t),
                extra: Extra::new(),
            }
        })
        .collect();
    let text = timed
        .iter()
        .map(|w| w.word.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut episode = Episode {
        episode_id: Id::Int(i as i64),
        trajectory_id: Some(Id::Int((i / 3) as i64)),
        scene_id: format!("mp3d/{scan}/{scan}.glb"),
        start_position: start,
        start_rotation: [0.0, (yaw / 2.0).sin(), 0.0, (yaw / 2.0).cos()],
        info: None,
        goals: vec![Goal::new(goal, DEFAULT_SUCCESS_DISTANCE)],
        reference_path: path,
        instruction: Instruction {
            instruction_id: Some(Id::Int(i as i64)),
            language: Some(LANGUAGES[i % LANGUAGES.len()].to_owned()),
            annotator_id: Some(Id::Int(rng.random_range(0..2000))),
            edit_distance: Some(rng.random_range(0.0..0.5)),
            timed_instruction: Some(timed),
            ..Instruction::from_text(text)
        },
        extra: Extra::new(),
    };
    let geodesic = episode.reference_path_length() * rng.random_range(0.8..1.0);
    episode.info = Some(EpisodeInfo {
        geodesic_distance: Some(geodesic),
        role: Some(role.as_str().to_owned()),
        extra: Extra::new(),
    });
    episode
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
