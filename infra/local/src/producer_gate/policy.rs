//! IAM identity-policy evaluation for one request, as AWS evaluates it: an explicit Deny in
//! any statement wins, else an Allow is needed, else the request is implicitly denied.
//! `Action`/`NotAction` match case-insensitively, `Resource`/`NotResource` case-sensitively,
//! both with `*` and `?` wildcards. Conditions are evaluated for the few operators and keys
//! the gate knows; any other operator or key makes the statement an error, which denies.

use serde_json::Value;
use std::collections::BTreeMap;

/// What a request asks for, and the condition keys the gate can vouch for.
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a BTreeMap<&'static str, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// An explicit Deny (or a statement the gate could not evaluate).
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

/// `*` any run of characters, `?` one character.
fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) = match ignore_case {
        true => (pattern.to_lowercase().chars().collect(), text.to_lowercase().chars().collect()),
        false => (pattern.chars().collect(), text.chars().collect()),
    };
    // Iterative matching with backtracking to the last star.
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// Whether a statement's element (`Action` or its `Not…` form) covers `wanted`; `None` when
/// the statement has neither.
fn covers(statement: &Value, name: &str, wanted: &str, ignore_case: bool) -> Option<bool> {
    if let Some(patterns) = statement.get(name) {
        return Some(strings(patterns).iter().any(|p| wildcard_match(p, wanted, ignore_case)));
    }
    let not = format!("Not{name}");
    statement.get(&not).map(|patterns| !strings(patterns).iter().any(|p| wildcard_match(p, wanted, ignore_case)))
}

/// A statement's condition block: `Some(true)` holds, `Some(false)` does not, `None` cannot
/// be evaluated (an unknown operator or key).
fn condition_holds(condition: &Value, context: &BTreeMap<&'static str, String>) -> Option<bool> {
    let Some(operators) = condition.as_object() else { return Some(true) };
    for (operator, keys) in operators {
        let keys = keys.as_object()?;
        for (key, expected) in keys {
            let actual = context.get(key.to_lowercase().as_str())?;
            let expected = strings(expected);
            let holds = match operator.as_str() {
                "StringEquals" => expected.iter().any(|e| e == actual),
                "StringNotEquals" => !expected.iter().any(|e| e == actual),
                "StringEqualsIgnoreCase" => expected.iter().any(|e| e.eq_ignore_ascii_case(actual)),
                "StringLike" => expected.iter().any(|e| wildcard_match(e, actual, false)),
                "StringNotLike" => !expected.iter().any(|e| wildcard_match(e, actual, false)),
                "Bool" => expected.iter().any(|e| e.eq_ignore_ascii_case(actual)),
                _ => return None,
            };
            if !holds {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// The decision of every statement of every policy document for one request.
pub fn evaluate(documents: &[Value], request: &Request<'_>) -> Decision {
    let mut allowed = false;
    for document in documents {
        let statements: Vec<&Value> = match &document["Statement"] {
            Value::Array(items) => items.iter().collect(),
            single @ Value::Object(_) => vec![single],
            _ => continue,
        };
        for statement in statements {
            let action = covers(statement, "Action", request.action, true);
            let resource = covers(statement, "Resource", request.resource, false);
            let (Some(action), Some(resource)) = (action, resource) else {
                // A statement without its action or resource is malformed: it fails closed.
                return Decision::ExplicitDeny;
            };
            if !(action && resource) {
                continue;
            }
            let holds = match statement.get("Condition") {
                None => Some(true),
                Some(condition) => condition_holds(condition, request.context),
            };
            match (statement["Effect"].as_str(), holds) {
                (_, None) => return Decision::ExplicitDeny,
                (Some("Deny"), Some(true)) => return Decision::ExplicitDeny,
                (Some("Allow"), Some(true)) => allowed = true,
                _ => {}
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STREAM: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/orders";

    fn decide(documents: &[Value], action: &str, resource: &str) -> Decision {
        let context = BTreeMap::from([("aws:username", "tributary-producer-x".to_string()), ("aws:securetransport", "false".to_string())]);
        evaluate(documents, &Request { action, resource, context: &context })
    }

    fn producer() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:PutRecords"], "Resource": STREAM}]})
    }

    #[test]
    fn given_a_stream_scoped_allow_then_only_that_stream_and_those_actions_pass() {
        assert_eq!(decide(&[producer()], "kinesis:PutRecord", STREAM), Decision::Allow);
        assert_eq!(decide(&[producer()], "Kinesis:putrecord", STREAM), Decision::Allow, "actions match in any case");
        assert_eq!(decide(&[producer()], "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:123456789012:stream/other"), Decision::ImplicitDeny);
        assert_eq!(decide(&[producer()], "kinesis:GetRecords", STREAM), Decision::ImplicitDeny);
        assert_eq!(decide(&[producer()], "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:123456789012:stream/ORDERS"), Decision::ImplicitDeny, "resources match in their case");
    }

    #[test]
    fn given_an_explicit_deny_then_it_wins_over_any_allow() {
        let everything = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "kinesis:Put*", "Resource": "arn:aws:kinesis:*:*:stream/ord?rs"}]});
        assert_eq!(decide(&[everything.clone(), deny.clone()], "kinesis:PutRecords", STREAM), Decision::ExplicitDeny);
        assert_eq!(decide(&[deny, everything], "kinesis:DescribeStream", STREAM), Decision::Allow);
    }

    #[test]
    fn given_not_action_and_not_resource_then_they_cover_everything_else() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "NotResource": STREAM}
        ]});
        assert_eq!(decide(&[policy.clone()], "kinesis:PutRecord", STREAM), Decision::Allow);
        assert_eq!(decide(&[policy.clone()], "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:123456789012:stream/other"), Decision::ExplicitDeny);
        assert_eq!(decide(&[policy], "iam:CreateUser", STREAM), Decision::ImplicitDeny);
    }

    #[test]
    fn given_conditions_then_known_ones_are_evaluated_and_unknown_ones_deny() {
        let known = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": "tributary-producer-x"}}}]});
        assert_eq!(decide(&[known], "kinesis:PutRecord", STREAM), Decision::Allow);
        let unmet = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
        assert_eq!(decide(&[unmet], "kinesis:PutRecord", STREAM), Decision::ImplicitDeny);
        let unknown_operator = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}]});
        assert_eq!(decide(&[unknown_operator], "kinesis:PutRecord", STREAM), Decision::ExplicitDeny);
        let unknown_key = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}]});
        assert_eq!(decide(&[unknown_key], "kinesis:PutRecord", STREAM), Decision::ExplicitDeny);
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(wildcard_match("kinesis:Put*", "kinesis:PutRecords", false));
        assert!(wildcard_match("a?c*", "abcdef", false));
        assert!(!wildcard_match("a?c", "ac", false));
        assert!(wildcard_match("*", "", false));
        assert!(!wildcard_match("kinesis:Get*", "kinesis:PutRecord", false));
    }
}
