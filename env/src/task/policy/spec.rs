//! Policy names on the command line: `random`, `random:p_stop,p_forward,p_left,p_right`, `forward`,
//! `oracle`, `replay:FILE`. Any other `kind` or `kind:arg` parses as [`PolicySpec::External`], so the binary
//! can resolve kinds that live in crates `env` must not depend on (`model:DIR` needs libtorch) and pass the
//! result on as a `Box<dyn Policy>`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::{ForwardPolicy, OraclePolicy, Policy, RandomPolicy, ReplayPolicy, VLNCE_RANDOM_PROBS};
use crate::error::{EnvError, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum PolicySpec {
    /// Probabilities of STOP, MOVE_FORWARD, TURN_LEFT, TURN_RIGHT.
    Random([f64; 4]),
    Forward,
    Oracle,
    Replay(PathBuf),
    /// A kind this crate does not build.
    External {
        kind: String,
        arg: Option<String>,
    },
}

impl FromStr for PolicySpec {
    type Err = EnvError;

    fn from_str(s: &str) -> Result<Self> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let no_arg = |spec: PolicySpec| match arg {
            None => Ok(spec),
            Some(_) => Err(EnvError::Invalid(format!(
                "policy {s:?}: {kind} takes no argument"
            ))),
        };
        match kind {
            "random" => match arg {
                None => Ok(PolicySpec::Random(VLNCE_RANDOM_PROBS)),
                Some(a) => {
                    let values: Vec<f64> = a
                        .split(',')
                        .map(|v| v.trim().parse::<f64>())
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|e| EnvError::Invalid(format!("policy {s:?}: {e}")))?;
                    let probs: [f64; 4] = values.try_into().map_err(|v: Vec<f64>| {
                        EnvError::Invalid(format!(
                            "policy {s:?}: expected 4 probabilities (STOP, FORWARD, LEFT, RIGHT), got {}",
                            v.len()
                        ))
                    })?;
                    RandomPolicy::new(probs)?;
                    Ok(PolicySpec::Random(probs))
                }
            },
            "forward" => no_arg(PolicySpec::Forward),
            "oracle" => no_arg(PolicySpec::Oracle),
            "replay" => match arg {
                Some(path) if !path.is_empty() => Ok(PolicySpec::Replay(PathBuf::from(path))),
                _ => Err(EnvError::Invalid(format!(
                    "policy {s:?}: replay needs a file: replay:FILE"
                ))),
            },
            "" => Err(EnvError::Invalid("policy: empty name".into())),
            _ => Ok(PolicySpec::External {
                kind: kind.to_owned(),
                arg: arg.map(str::to_owned),
            }),
        }
    }
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySpec::Random(p) if *p == VLNCE_RANDOM_PROBS => f.write_str("random"),
            PolicySpec::Random(p) => write!(f, "random:{},{},{},{}", p[0], p[1], p[2], p[3]),
            PolicySpec::Forward => f.write_str("forward"),
            PolicySpec::Oracle => f.write_str("oracle"),
            PolicySpec::Replay(path) => write!(f, "replay:{}", path.display()),
            PolicySpec::External { kind, arg: None } => f.write_str(kind),
            PolicySpec::External { kind, arg: Some(a) } => write!(f, "{kind}:{a}"),
        }
    }
}

impl PolicySpec {
    /// Builds a baseline; an [`External`](PolicySpec::External) kind is an error here (its owner builds it).
    pub fn build(&self) -> Result<Box<dyn Policy>> {
        Ok(match self {
            PolicySpec::Random(p) => Box::new(RandomPolicy::new(*p)?),
            PolicySpec::Forward => Box::new(ForwardPolicy),
            PolicySpec::Oracle => Box::new(OraclePolicy::default()),
            PolicySpec::Replay(path) => Box::new(ReplayPolicy::load(path)?),
            PolicySpec::External { .. } => {
                return Err(EnvError::Invalid(format!(
                    "policy {self}: unknown policy (built in: random, forward, oracle, replay:FILE)"
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for s in [
            "random",
            "forward",
            "oracle",
            "replay:out/a.json",
            "model:ckpt/step_10",
            "random:0.1,0.5,0.2,0.2",
        ] {
            let spec: PolicySpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
        }
        assert_eq!(
            "random".parse::<PolicySpec>().unwrap(),
            PolicySpec::Random(VLNCE_RANDOM_PROBS)
        );
        assert_eq!(
            "model:dir:with:colons".parse::<PolicySpec>().unwrap(),
            PolicySpec::External {
                kind: "model".into(),
                arg: Some("dir:with:colons".into())
            }
        );
    }

    #[test]
    fn bad_specs_say_why() {
        let err = |s: &str| s.parse::<PolicySpec>().unwrap_err().to_string();
        assert!(err("forward:3").contains("takes no argument"));
        assert!(err("replay").contains("replay:FILE"));
        assert!(err("random:0.5,0.5").contains("expected 4"));
        assert!(err("random:0.5,0.5,0.5,0.5").contains("sum to 1"));
        assert!(err("random:a,b,c,d").contains("random:a,b,c,d"));
        let unknown: PolicySpec = "radnom".parse().unwrap();
        let err = unknown
            .build()
            .err()
            .expect("an unknown kind does not build")
            .to_string();
        assert!(err.contains("unknown policy"), "{err}");
    }
}
