//! Where a model runs and in what dtype: one parser for every command flag (`--device`, `--dtype`) and config
//! field, so `auto`, `cuda:1` or `bf16` mean the same everywhere.

use std::fmt;
use std::str::FromStr;

use tch::{Device, Kind};

use crate::error::{AgentError, Result};

/// `auto` (CUDA when available, else CPU), `cpu`, `cuda` (device 0) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
}

impl DeviceChoice {
    /// The libtorch device; asking for CUDA where there is none is an error that says what libtorch found.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceChoice::Auto => Ok(Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) if tch::Cuda::is_available() => Ok(Device::Cuda(n)),
            DeviceChoice::Cuda(_) => Err(AgentError::Input(format!(
                "device {self}: no CUDA device is available ({})",
                crate::device_report().trim()
            ))),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| format!("{s:?} is not one of auto, cpu, cuda, cuda:N")),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// A compute dtype: `float32` (`f32`, `float`), `bfloat16` (`bf16`) or `float16` (`f16`, `half`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DType(pub Kind);

impl FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        crate::model::parse_kind(s)
            .map(DType)
            .ok_or_else(|| format!("{s:?} is not float32, bfloat16 or float16"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_print_alike() {
        for (text, want) in [
            ("auto", DeviceChoice::Auto),
            ("cpu", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:2", DeviceChoice::Cuda(2)),
        ] {
            assert_eq!(text.parse::<DeviceChoice>().unwrap(), want);
        }
        assert_eq!(DeviceChoice::Cuda(2).to_string(), "cuda:2");
        let err = "gpu".parse::<DeviceChoice>().unwrap_err();
        assert!(err.contains("\"gpu\"") && err.contains("cuda:N"), "{err}");
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
        if !tch::Cuda::is_available() {
            let err = DeviceChoice::Cuda(0).resolve().unwrap_err().to_string();
            assert!(err.contains("no CUDA device"), "{err}");
        }
    }

    #[test]
    fn dtypes_parse_their_aliases() {
        assert_eq!("bf16".parse::<DType>().unwrap(), DType(Kind::BFloat16));
        assert_eq!("float32".parse::<DType>().unwrap(), DType(Kind::Float));
        assert!("int8".parse::<DType>().unwrap_err().contains("int8"));
    }
}
