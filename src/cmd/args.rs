//! Argument types shared by several subcommands.

/// Parses `x,y,z` (metres). Coordinates are often negative, so every option using this must also set
/// `allow_hyphen_values = true`, otherwise clap would read `-2,0,-1.5` as a flag.
pub fn parse_vec3(s: &str) -> Result<[f32; 3], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != 3 {
        return Err(format!(
            "expected three comma-separated numbers x,y,z, got {s:?}"
        ));
    }
    let mut v = [0.0f32; 3];
    for (k, p) in parts.iter().enumerate() {
        let x: f32 = p
            .parse()
            .map_err(|_| format!("{p:?} in {s:?} is not a number"))?;
        if !x.is_finite() {
            return Err(format!("{p:?} in {s:?} is not finite"));
        }
        v[k] = x;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::parse_vec3;

    #[test]
    fn parses_negative_coordinates() {
        assert_eq!(parse_vec3("-2,0,-1.5").unwrap(), [-2.0, 0.0, -1.5]);
        assert_eq!(parse_vec3(" 1 , 2.5 ,3").unwrap(), [1.0, 2.5, 3.0]);
    }

    #[test]
    fn rejects_bad_vectors() {
        assert!(parse_vec3("1,2").is_err());
        assert!(parse_vec3("1,2,x").is_err());
        assert!(parse_vec3("1,2,nan").is_err());
    }
}
