//! Memory samplers: which earlier frames (indices in `0..i`) the prompt shows as history at step `i`.
//!
//! - `Uniform { cap }` is what the released VLN-Ego converter did: `linspace(0, i-1, min(i, cap))`, rounded
//!   to nearest (ties to even, like numpy), deduplicated, sorted.
//! - `LongShort { short_window, short_stride, long_stride, cap }` is the paper's Long-Short Memory Sampling
//!   (its M, d1, d2 are unpublished). Walking back from the newest frame `i-1`: inside the short window (the
//!   last `short_window` frames) every `short_stride`-th frame; beyond it, continuing from the oldest short
//!   frame, every `s`-th frame down to frame 0, where `s = max(long_stride, ceil(remaining / budget))` and
//!   `budget = cap - short frames`. So recent frames are dense, old ones sparse, the history always reaches
//!   back to the start of the episode, and the total never exceeds `cap`. If the short window alone holds
//!   more than `cap` frames the oldest of them are dropped: the cap always keeps the most recent frames.
//!
//! Defaults: `uniform:16` (the released converter) and `long-short:8,1,4,16` (the last 2 m of straight
//! walking at full rate, then a stride of 4 or more frames back to the start, 16 frames at most; 16 matches
//! the uniform baseline so the ablation compares equal budgets).

use std::fmt;
use std::str::FromStr;

use crate::error::{EpisodeError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemorySampler {
    Uniform {
        cap: usize,
    },
    LongShort {
        short_window: usize,
        short_stride: usize,
        long_stride: usize,
        cap: usize,
    },
}

impl MemorySampler {
    pub const DEFAULT_CAP: usize = 16;
    pub const UNIFORM: MemorySampler = MemorySampler::Uniform { cap: 16 };
    pub const LONG_SHORT: MemorySampler = MemorySampler::LongShort {
        short_window: 8,
        short_stride: 1,
        long_stride: 4,
        cap: 16,
    };

    /// The most history frames this sampler ever returns.
    pub fn cap(&self) -> usize {
        match *self {
            MemorySampler::Uniform { cap } | MemorySampler::LongShort { cap, .. } => cap,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| {
            Err(EpisodeError::config(
                format!("memory sampler {self}"),
                m.to_owned(),
            ))
        };
        match *self {
            MemorySampler::Uniform { cap: 0 } => bad("cap must be at least 1"),
            MemorySampler::LongShort {
                short_window,
                short_stride,
                long_stride,
                cap,
            } => {
                if cap == 0 || short_window == 0 || short_stride == 0 || long_stride == 0 {
                    bad("window, strides and cap must all be at least 1")
                } else if long_stride < short_stride {
                    bad("the long-term stride must not be smaller than the short-term stride")
                } else {
                    Ok(())
                }
            }
            MemorySampler::Uniform { .. } => Ok(()),
        }
    }

    /// History frame indices for current step `step`: sorted, distinct, all `< step`.
    pub fn history(&self, step: usize) -> Vec<usize> {
        match *self {
            MemorySampler::Uniform { cap } => uniform(step, cap),
            MemorySampler::LongShort {
                short_window,
                short_stride,
                long_stride,
                cap,
            } => long_short(step, short_window, short_stride, long_stride, cap),
        }
    }
}

fn uniform(step: usize, cap: usize) -> Vec<usize> {
    let k = step.min(cap);
    if k <= 1 {
        return vec![0; k];
    }
    let stop = (step - 1) as f64;
    // numpy.linspace: start + j * (delta / (num - 1)), with the last sample set to `stop` exactly.
    let delta = stop / (k - 1) as f64;
    let mut out: Vec<usize> = (0..k)
        .map(|j| if j == k - 1 { stop } else { j as f64 * delta })
        .map(|x| x.round_ties_even() as usize)
        .collect();
    out.dedup();
    out
}

fn long_short(
    step: usize,
    window: usize,
    short_stride: usize,
    long_stride: usize,
    cap: usize,
) -> Vec<usize> {
    if step == 0 || cap == 0 {
        return Vec::new();
    }
    let window_start = step.saturating_sub(window);
    let mut picked: Vec<usize> = (window_start..step)
        .rev()
        .step_by(short_stride.max(1))
        .take(cap)
        .collect();
    let budget = cap - picked.len();
    let oldest = *picked
        .last()
        .expect("step > 0 and cap > 0 give at least one frame");
    if budget > 0 && oldest > 0 {
        let stride = long_stride.max(1).max(oldest.div_ceil(budget));
        picked.extend((1..=oldest / stride).map(|k| oldest - k * stride));
    }
    picked.reverse();
    picked
}

impl fmt::Display for MemorySampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemorySampler::Uniform { cap } => write!(f, "uniform:{cap}"),
            MemorySampler::LongShort {
                short_window,
                short_stride,
                long_stride,
                cap,
            } => write!(
                f,
                "long-short:{short_window},{short_stride},{long_stride},{cap}"
            ),
        }
    }
}

/// Written as its text (`long-short:4,1,4,4`), the form the CLI flags and config files use.
impl serde::Serialize for MemorySampler {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MemorySampler {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `uniform`, `uniform:CAP`, `long-short`, `long-short:M,D1,D2,CAP`.
impl FromStr for MemorySampler {
    type Err = EpisodeError;
    fn from_str(s: &str) -> Result<MemorySampler> {
        let err = |m: String| EpisodeError::config(format!("memory sampler {s:?}"), m);
        let (name, args) = match s.trim().split_once(':') {
            Some((n, a)) => (n.trim(), Some(a)),
            None => (s.trim(), None),
        };
        let numbers = |a: &str| -> Result<Vec<usize>> {
            a.split(',')
                .map(|x| {
                    x.trim()
                        .parse::<usize>()
                        .map_err(|_| err(format!("{x:?} is not a whole number")))
                })
                .collect()
        };
        let sampler =
            match (name, args) {
                ("uniform", None) => MemorySampler::UNIFORM,
                ("uniform", Some(a)) => match numbers(a)?[..] {
                    [cap] => MemorySampler::Uniform { cap },
                    _ => return Err(err("expected uniform:CAP".into())),
                },
                ("long-short", None) => MemorySampler::LONG_SHORT,
                ("long-short", Some(a)) => match numbers(a)?[..] {
                    [short_window, short_stride, long_stride, cap] => MemorySampler::LongShort {
                        short_window,
                        short_stride,
                        long_stride,
                        cap,
                    },
                    _ => {
                        return Err(err(
                            "expected long-short:WINDOW,SHORT_STRIDE,LONG_STRIDE,CAP".into(),
                        ))
                    }
                },
                _ => return Err(err(
                    "expected uniform[:CAP] or long-short[:WINDOW,SHORT_STRIDE,LONG_STRIDE,CAP]"
                        .into(),
                )),
            };
        sampler.validate()?;
        Ok(sampler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_uses_the_text_form_and_refuses_bad_samplers() {
        let s: MemorySampler = "long-short:4,1,4,4".parse().unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#""long-short:4,1,4,4""#);
        assert_eq!(serde_json::from_str::<MemorySampler>(&json).unwrap(), s);
        let err = serde_json::from_str::<MemorySampler>(r#""uniform:0""#).unwrap_err();
        assert!(err.to_string().contains("cap"), "{err}");
    }

    fn check_invariants(s: &MemorySampler, step: usize) -> Vec<usize> {
        let h = s.history(step);
        assert!(h.len() <= s.cap(), "{s} at {step}: {h:?}");
        assert!(h.windows(2).all(|w| w[0] < w[1]), "{s} at {step}: {h:?}");
        assert!(h.iter().all(|&x| x < step), "{s} at {step}: {h:?}");
        h
    }

    #[test]
    fn uniform_matches_numpy_linspace() {
        let u = MemorySampler::UNIFORM;
        assert_eq!(u.history(0), Vec::<usize>::new());
        assert_eq!(u.history(1), [0]);
        assert_eq!(u.history(5), [0, 1, 2, 3, 4]);
        assert_eq!(u.history(16), (0..16).collect::<Vec<_>>());
        // np.round(np.linspace(0, 16, 16)) = 0 1 2 3 4 5 6 7 9 10 11 12 13 14 15 16 (7.47 -> 7, 8.53 -> 9)
        assert_eq!(
            u.history(17),
            [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        // np.round(np.linspace(0, 99, 16)) = 0 7 13 20 26 33 40 46 53 59 66 73 79 86 92 99
        assert_eq!(
            u.history(100),
            [0, 7, 13, 20, 26, 33, 40, 46, 53, 59, 66, 73, 79, 86, 92, 99]
        );
        let u8 = MemorySampler::Uniform { cap: 8 };
        // np.round(np.linspace(0, 9, 8)) = 0 1 3 4 5 6 8 9
        assert_eq!(u8.history(10), [0, 1, 3, 4, 5, 6, 8, 9]);
        for step in 0..300 {
            let h = check_invariants(&u, step);
            assert_eq!(h.len(), step.min(16));
            if step > 0 {
                assert_eq!((h[0], *h.last().unwrap()), (0, step - 1));
            }
        }
    }

    #[test]
    fn long_short_is_dense_recently_sparse_earlier_and_reaches_the_start() {
        let ls = MemorySampler::LONG_SHORT; // 8, 1, 4, 16
        assert_eq!(ls.history(0), Vec::<usize>::new());
        assert_eq!(ls.history(3), [0, 1, 2]);
        assert_eq!(ls.history(8), (0..8).collect::<Vec<_>>());
        // Short: 19..=12; long stride 4 from 12: 8, 4, 0.
        assert_eq!(ls.history(20), [0, 4, 8, 12, 13, 14, 15, 16, 17, 18, 19]);
        // Short: 99..=92; budget 8 over 92 older frames: stride max(4, ceil(92/8)=12).
        assert_eq!(
            ls.history(100),
            [8, 20, 32, 44, 56, 68, 80, 92, 93, 94, 95, 96, 97, 98, 99]
        );
        for step in 1..600 {
            let h = check_invariants(&ls, step);
            assert_eq!(*h.last().unwrap(), step - 1, "newest frame always kept");
            let recent = step.min(8);
            assert!(
                h.ends_with(&((step - recent)..step).collect::<Vec<_>>()),
                "short window kept"
            );
            let first_short = step - recent;
            let stride = 4usize.max(first_short.div_ceil(16 - recent));
            assert!(h[0] < stride, "reaches back to the start: {h:?}");
        }
    }

    #[test]
    fn cap_smaller_than_the_short_window_keeps_the_most_recent() {
        let s = MemorySampler::LongShort {
            short_window: 10,
            short_stride: 2,
            long_stride: 5,
            cap: 3,
        };
        assert_eq!(s.history(50), [45, 47, 49]);
        let s = MemorySampler::LongShort {
            short_window: 4,
            short_stride: 2,
            long_stride: 6,
            cap: 4,
        };
        // Short: 29, 27; then from 27 with stride max(6, ceil(27/2)=14): 13 (27-28 < 0 stops).
        assert_eq!(s.history(30), [13, 27, 29]);
    }

    #[test]
    fn specs_parse_print_and_reject_nonsense() {
        for (text, want) in [
            ("uniform", MemorySampler::UNIFORM),
            ("uniform:8", MemorySampler::Uniform { cap: 8 }),
            ("long-short", MemorySampler::LONG_SHORT),
            (
                "long-short:6, 2, 6, 12",
                MemorySampler::LongShort {
                    short_window: 6,
                    short_stride: 2,
                    long_stride: 6,
                    cap: 12,
                },
            ),
        ] {
            let s: MemorySampler = text.parse().unwrap();
            assert_eq!(s, want);
            assert_eq!(s.to_string().parse::<MemorySampler>().unwrap(), s);
        }
        assert_eq!(MemorySampler::LONG_SHORT.to_string(), "long-short:8,1,4,16");
        for bad in [
            "",
            "exp",
            "uniform:0",
            "uniform:x",
            "uniform:1,2",
            "long-short:8,1,4",
            "long-short:8,4,1,16",
        ] {
            assert!(
                bad.parse::<MemorySampler>().is_err(),
                "{bad:?} should not parse"
            );
        }
    }
}
