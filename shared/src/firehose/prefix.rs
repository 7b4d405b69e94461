//! Firehose's S3 prefix grammar: literal text and `!{namespace:value}` expressions
//! (`timestamp`, `firehose`, `partitionKeyFromQuery`, `partitionKeyFromLambda`). The API
//! checks prefixes with it and the local Firehose evaluates them with it.

/// One piece of a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    Text(&'a str),
    Expression { namespace: &'a str, value: &'a str },
}

pub const QUERY_KEY: &str = "partitionKeyFromQuery";
pub const LAMBDA_KEY: &str = "partitionKeyFromLambda";

/// Splits a prefix into text and expressions; Err says what is malformed (`!{` must open an
/// expression of a known namespace, closed by `}`).
pub fn parts(prefix: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = vec![];
    let mut rest = prefix;
    while let Some(start) = rest.find("!{") {
        if start > 0 {
            parts.push(Part::Text(&rest[..start]));
        }
        let Some(length) = rest[start..].find('}') else {
            return Err(format!("the expression at {:?} is not closed by }}", &rest[start..]));
        };
        let inner = &rest[start + 2..start + length];
        let Some((namespace, value)) = inner.split_once(':') else {
            return Err(format!("!{{{inner}}} is not of the form !{{namespace:value}}"));
        };
        if !matches!(namespace, "timestamp" | "firehose" | QUERY_KEY | LAMBDA_KEY) {
            return Err(format!("!{{{inner}}}: the namespace must be one of timestamp, firehose, {QUERY_KEY}, {LAMBDA_KEY}"));
        }
        if value.is_empty() || value.contains("!{") {
            return Err(format!("!{{{inner}}} has no value"));
        }
        parts.push(Part::Expression { namespace, value });
        rest = &rest[start + length + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_splits_into_text_and_expressions() {
        assert_eq!(
            parts("sector=!{partitionKeyFromQuery:sector}/!{timestamp:yyyy}/").unwrap(),
            vec![
                Part::Text("sector="),
                Part::Expression { namespace: QUERY_KEY, value: "sector" },
                Part::Text("/"),
                Part::Expression { namespace: "timestamp", value: "yyyy" },
                Part::Text("/"),
            ]
        );
        assert_eq!(parts("plain/").unwrap(), vec![Part::Text("plain/")]);
    }

    #[test]
    fn malformed_expressions_are_named() {
        assert!(parts("a/!{partitionKeyFromQuery:sector/").unwrap_err().contains("not closed"));
        assert!(parts("!{sector}/").unwrap_err().contains("namespace:value"));
        assert!(parts("!{env:HOME}/").unwrap_err().contains("namespace must be"));
        assert!(parts("!{timestamp:}/").unwrap_err().contains("no value"));
    }
}
