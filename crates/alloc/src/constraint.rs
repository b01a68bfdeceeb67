//! Marathon placement constraints: the operators, their validation (with Marathon's own error
//! strings, for the app scheduler's 422 answers) and the field an agent is matched on.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Constraint operators, exactly Marathon's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    /// Every task of the group on a different value of the field.
    Unique,
    /// All tasks on the same value (the given one, or the first task's).
    Cluster,
    /// Spread evenly over the field's values; the optional value is the minimum number of groups.
    GroupBy,
    /// The field's value fully matches the regular expression.
    Like,
    /// The field's value does not fully match the regular expression (a missing attribute passes).
    Unlike,
    /// At most N tasks of the group per value of the field.
    MaxPer,
    /// The field's value equals the given value.
    Is,
}

impl Operator {
    pub fn as_str(&self) -> &'static str {
        match self {
            Operator::Unique => "UNIQUE",
            Operator::Cluster => "CLUSTER",
            Operator::GroupBy => "GROUP_BY",
            Operator::Like => "LIKE",
            Operator::Unlike => "UNLIKE",
            Operator::MaxPer => "MAX_PER",
            Operator::Is => "IS",
        }
    }

    /// Case-insensitive, like Marathon (`op.toUpperCase`).
    pub fn parse(s: &str) -> Option<Operator> {
        Some(match s.to_ascii_uppercase().as_str() {
            "UNIQUE" => Operator::Unique,
            "CLUSTER" => Operator::Cluster,
            "GROUP_BY" => Operator::GroupBy,
            "LIKE" => Operator::Like,
            "UNLIKE" => Operator::Unlike,
            "MAX_PER" => Operator::MaxPer,
            "IS" => Operator::Is,
            _ => return None,
        })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One constraint `[field, OPERATOR, value?]`. `field` is `hostname` (also `@hostname`) or an
/// agent attribute name; `@zone` and `@region` read the attributes `zone` and `region`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Constraint {
    pub field: String,
    pub operator: Operator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl fmt::Display for Constraint {
    /// Marathon's JSON form, e.g. `["hostname","MAX_PER","2"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:?},{:?}", self.field, self.operator.as_str())?;
        if let Some(v) = &self.value {
            write!(f, ",{v:?}")?;
        }
        f.write_str("]")
    }
}

/// Why a constraint is invalid. The messages are Marathon's own (the app scheduler puts them in
/// a 422's `details[].errors`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConstraintError {
    #[error("Each constraint must have either 2 or 3 fields")]
    WrongArity,
    #[error("missing field for constraint declaration")]
    MissingField,
    #[error(
        "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER or UNLIKE"
    )]
    InvalidOperator,
    #[error("UNIQUE does not accept a value")]
    UniqueDoesNotAcceptValue,
    #[error("GROUP BY must define an integer value or else no value at all")]
    GroupByMustBeEmptyOrInt,
    #[error("MAX_PER requires an integer value")]
    MaxPerRequiresInt,
    #[error("LIKE and UNLIKE require a non-empty, regular expression value")]
    LikeRequiresRegex,
    #[error("is not a valid regular expression")]
    InvalidRegex,
    #[error("IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)")]
    IsOnlySupportsText,
}

/// Java's `Integer.parseInt` accepts an optional sign and decimal digits, as does `i32`.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    s.parse::<i32>().ok()
}

/// Anchored form of a LIKE/UNLIKE pattern: Marathon uses Java's `String.matches` (full match).
pub(crate) fn full_match_regex(pattern: &str) -> Result<regex::Regex, ConstraintError> {
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|_| ConstraintError::InvalidRegex)
}

fn is_mesos_literal(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-'))
}

/// Validates one constraint the way Marathon's API does, with Marathon's messages.
pub fn validate_constraint(c: &Constraint) -> Result<(), ConstraintError> {
    if c.field.is_empty() {
        return Err(ConstraintError::MissingField);
    }
    match c.operator {
        Operator::Unique => match c.value {
            None => Ok(()),
            Some(_) => Err(ConstraintError::UniqueDoesNotAcceptValue),
        },
        Operator::Cluster => Ok(()),
        Operator::GroupBy => match &c.value {
            None => Ok(()),
            Some(v) if parse_int(v).is_some() => Ok(()),
            Some(_) => Err(ConstraintError::GroupByMustBeEmptyOrInt),
        },
        Operator::MaxPer => match &c.value {
            Some(v) if parse_int(v).is_some() => Ok(()),
            _ => Err(ConstraintError::MaxPerRequiresInt),
        },
        Operator::Like | Operator::Unlike => match &c.value {
            None => Err(ConstraintError::LikeRequiresRegex),
            Some(p) => full_match_regex(p).map(|_| ()),
        },
        Operator::Is => {
            if is_mesos_literal(c.value.as_deref().unwrap_or("")) {
                Ok(())
            } else {
                Err(ConstraintError::IsOnlySupportsText)
            }
        }
    }
}

impl Constraint {
    pub fn new(field: &str, operator: Operator, value: Option<&str>) -> Constraint {
        Constraint {
            field: field.to_string(),
            operator,
            value: value.map(str::to_string),
        }
    }

    /// Parses and validates Marathon's wire form `["field", "OP"]` or `["field", "OP", "value"]`.
    pub fn from_marathon(parts: &[String]) -> Result<Constraint, ConstraintError> {
        if parts.len() < 2 || parts.len() > 3 {
            return Err(ConstraintError::WrongArity);
        }
        if parts[0].is_empty() {
            return Err(ConstraintError::MissingField);
        }
        let operator = Operator::parse(&parts[1]).ok_or(ConstraintError::InvalidOperator)?;
        let c = Constraint {
            field: parts[0].clone(),
            operator,
            value: parts.get(2).cloned(),
        };
        validate_constraint(&c)?;
        Ok(c)
    }

    /// Marathon's wire form.
    pub fn to_marathon(&self) -> Vec<String> {
        let mut v = vec![self.field.clone(), self.operator.as_str().to_string()];
        if let Some(x) = &self.value {
            v.push(x.clone());
        }
        v
    }

    /// The agent attribute this constraint reads, or None for the hostname.
    pub fn attribute_name(&self) -> Option<&str> {
        match self.field.as_str() {
            "hostname" | "@hostname" => None,
            "@zone" => Some("zone"),
            "@region" => Some("region"),
            f => Some(f),
        }
    }
}
