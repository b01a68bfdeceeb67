//! Number helpers shared by the model: integers that may arrive as `3.0` (Marathon accepts
//! integral JSON numbers for int fields) and Marathon-style number formatting in messages.

use serde::{de, Deserialize, Deserializer};

/// Deserializes an `i64` from any integral JSON number (`3`, `3.0`), rejecting `3.5`.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(de::Error::custom(format!("expected an integer, got {n}"))),
    }
}

/// Like [`int`] for optional fields.
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<serde_json::Number>::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => Err(de::Error::custom(format!("expected an integer, got {n}"))),
            }
        }
    }
}

/// Formats a bound the way messages show it: `1`, `0.001`, `1.15`.
pub fn fmt(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
