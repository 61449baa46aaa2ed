//! Accessors over normalised bundle values (`serde_json::Value`) that respect the collector's
//! encoding: a masked `***`, a null and the string `"null"` are all *absent*, never values, and
//! integers printed as floats (`2.000001e+09`) read as integers.

use serde_json::Value;

use super::model::is_masked;

/// Walk a path of map keys (and decimal array indexes) from `v`.
pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = match cur {
            Value::Object(m) => m.get(*key)?,
            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// True when a value carries no information: null, the string `"null"`, an empty string, or a
/// masked `***`.
pub fn is_absent(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty() || s == "null" || is_masked(s),
        _ => false,
    }
}

/// A present string (not null, not `"null"`, not empty, not `***`).
pub fn as_str(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) if !is_absent(v) => Some(s.as_str()),
        _ => None,
    }
}

/// A present string at `path`.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(as_str)
}

/// An integer, accepting the float spelling the collector prints for integers ≥ 1e6
/// (`2.000001e+09`) and decimal strings. Fractions and out-of-range values are `None`.
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i)
            } else if let Some(u) = n.as_u64() {
                i64::try_from(u).ok()
            } else {
                n.as_f64().and_then(f64_to_i64)
            }
        }
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().and_then(f64_to_i64))
        }
        _ => None,
    }
}

fn f64_to_i64(f: f64) -> Option<i64> {
    // i64::MAX as f64 rounds up to 2^63, which is out of range: compare against 2^63.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_finite() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        Some(f as i64)
    } else {
        None
    }
}

/// An integer at `path` (see [`as_i64`]).
pub fn i64_at(v: &Value, path: &[&str]) -> Option<i64> {
    get(v, path).and_then(as_i64)
}

/// A number as `f64` (numbers and numeric strings).
pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A boolean, accepting `"true"`/`"false"` strings (labels, settings).
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A boolean at `path` (see [`as_bool`]).
pub fn bool_at(v: &Value, path: &[&str]) -> Option<bool> {
    get(v, path).and_then(as_bool)
}

/// Normalise a value parsed from a bundle list: every string `"null"` becomes null, except
/// under a map key named `key` (the support-bundle-kit simulator's rule). Masked `***` stays.
pub fn normalize_nulls(v: &mut Value) {
    normalize_inner(v, false);
}

fn normalize_inner(v: &mut Value, under_key: bool) {
    match v {
        Value::String(s) if s == "null" && !under_key => *v = Value::Null,
        Value::Array(a) => {
            for item in a {
                normalize_inner(item, under_key);
            }
        }
        Value::Object(m) => {
            for (k, item) in m.iter_mut() {
                normalize_inner(item, k == "key");
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_read_as_integers() {
        assert_eq!(as_i64(&json!(2.000001e9)), Some(2_000_001_000));
        assert_eq!(as_i64(&json!(1.5)), None);
        assert_eq!(as_i64(&json!("2.58342912e+08")), Some(258_342_912));
        assert_eq!(as_i64(&json!(9.3e18)), None);
        assert_eq!(as_i64(&json!(u64::MAX)), None);
    }

    #[test]
    fn masked_and_null_are_absent() {
        let v = json!({"a": "***", "b": null, "c": "null", "d": "", "e": "x"});
        assert_eq!(str_at(&v, &["a"]), None);
        assert_eq!(str_at(&v, &["b"]), None);
        assert_eq!(str_at(&v, &["c"]), None);
        assert_eq!(str_at(&v, &["d"]), None);
        assert_eq!(str_at(&v, &["e"]), Some("x"));
    }

    #[test]
    fn null_strings_become_null_except_under_key() {
        let mut v = json!({"devicePath": "null", "tolerations": [{"key": "null", "value": "null"}],
                           "list": ["null", "x"]});
        normalize_nulls(&mut v);
        assert_eq!(
            v,
            json!({"devicePath": null, "tolerations": [{"key": "null", "value": null}],
                   "list": [null, "x"]})
        );
    }
}
