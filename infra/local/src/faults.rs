//! Fault injection for tests: make a named worker task fail, a number of times, as if
//! the function had raised that error. Set at start with `TRIBUTARY_FAULTS`
//! (`Task=Count[:ErrorType][,…]`, for the worker) or at run time through
//! `POST /_local/faults`.

use serde::Deserialize;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Fault {
    #[serde(default = "default_function")]
    pub function: String,
    pub task: String,
    pub count: u32,
    #[serde(default = "default_error_type")]
    pub error_type: String,
}

fn default_function() -> String {
    "tributary-worker".into()
}

fn default_error_type() -> String {
    "Permanent".into()
}

#[derive(Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Fault>>>,
}

impl Faults {
    /// Parses `Task=Count[:ErrorType]` items separated by commas.
    pub fn parse(spec: &str) -> Result<Vec<Fault>, String> {
        spec.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                let (task, rest) = item.split_once('=').ok_or_else(|| format!("{item}: expected Task=Count[:ErrorType]"))?;
                let (count, error_type) = rest.split_once(':').unwrap_or((rest, "Permanent"));
                let count = count.parse().map_err(|_| format!("{item}: the count is not a number"))?;
                Ok(Fault { function: default_function(), task: task.to_string(), count, error_type: error_type.to_string() })
            })
            .collect()
    }

    pub fn add(&self, fault: Fault) {
        self.rules.lock().unwrap().push(fault);
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    /// The error to answer instead of running `function` on `payload`, if a fault is due.
    pub fn take(&self, function: &str, payload: &[u8]) -> Option<Fault> {
        let task = serde_json::from_slice::<serde_json::Value>(payload).ok()?.get("Task")?.as_str()?.to_string();
        let mut rules = self.rules.lock().unwrap();
        let rule = rules.iter_mut().find(|r| r.count > 0 && r.task == task && function.ends_with(&r.function))?;
        rule.count -= 1;
        Some(rule.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_spec_when_parsed_then_counts_and_types_are_read() {
        let faults = Faults::parse("CreateKinesisStream=2:Retryable, Finish=1").unwrap();
        assert_eq!(faults[0].count, 2);
        assert_eq!(faults[0].error_type, "Retryable");
        assert_eq!(faults[1].error_type, "Permanent");
    }

    #[test]
    fn given_a_fault_when_its_task_runs_then_it_fires_count_times() {
        let faults = Faults::default();
        faults.add(Fault { function: "tributary-worker".into(), task: "Finish".into(), count: 1, error_type: "Permanent".into() });
        assert!(faults.take("tributary-worker", br#"{"Task":"Begin"}"#).is_none());
        assert!(faults.take("tributary-worker", br#"{"Task":"Finish"}"#).is_some());
        assert!(faults.take("tributary-worker", br#"{"Task":"Finish"}"#).is_none());
    }
}
