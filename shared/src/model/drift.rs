//! Drift: where AWS no longer matches what Tributary recorded (design §7).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `Field: "Exists"` says the AWS resource itself is gone.
pub const EXISTS: &str = "Exists";

/// One field that differs: what the record says and what AWS has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Difference {
    pub field: String,
    pub recorded: Value,
    pub actual: Value,
}

impl Difference {
    pub fn new(field: &str, recorded: impl Serialize, actual: impl Serialize) -> Difference {
        Difference {
            field: field.to_string(),
            recorded: serde_json::to_value(recorded).unwrap_or(Value::Null),
            actual: serde_json::to_value(actual).unwrap_or(Value::Null),
        }
    }

    /// The AWS resource is not there at all.
    pub fn missing() -> Difference {
        Difference::new(EXISTS, true, false)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Drift {
    pub detected_at: String,
    pub differences: Vec<Difference>,
}

/// Collects the differences of one comparison, field by field.
#[derive(Default)]
pub struct Comparison {
    pub differences: Vec<Difference>,
}

impl Comparison {
    /// Notes `field` when the recorded and actual values differ.
    pub fn field<T: PartialEq + Serialize>(&mut self, field: &str, recorded: T, actual: T) -> &mut Self {
        if recorded != actual {
            self.differences.push(Difference::new(field, recorded, actual));
        }
        self
    }

    pub fn missing(mut self) -> Self {
        self.differences.push(Difference::missing());
        self
    }
}
