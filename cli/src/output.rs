//! Answers as JSON, or as tables a person reads.

use crate::calls::View;
use serde_json::Value;

pub fn json(answer: &Value) -> String {
    serde_json::to_string_pretty(answer).expect("JSON values serialise")
}

/// A table of the answer as the view says.
pub fn table(answer: &Value, view: &View) -> String {
    match view {
        View::List(member, columns) => {
            let rows: Vec<Vec<String>> = answer[*member].as_array().into_iter().flatten().map(|item| columns.iter().map(|c| cell(&item[*c])).collect()).collect();
            let mut text = grid(columns, &rows);
            if let Some(token) = answer["NextToken"].as_str() {
                text.push_str(&format!("\nmore: --next-token {token}"));
            }
            text
        }
        View::Object => object(answer),
        View::DryRun => {
            let rows: Vec<Vec<String>> = answer["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| vec![cell(&r["RecordId"]), cell(&r["Result"]), cell(&r["Data"]), cell(&r["Error"])])
                .collect();
            let summary = &answer["Summary"];
            format!(
                "{}\nOk {}, Dropped {}, ProcessingFailed {}",
                grid(&["RecordId", "Result", "Data", "Error"], &rows),
                cell(&summary["Ok"]),
                cell(&summary["Dropped"]),
                cell(&summary["ProcessingFailed"])
            )
        }
    }
}

/// One row per member; nested values as compact JSON.
pub fn object(answer: &Value) -> String {
    match answer.as_object() {
        Some(members) => {
            let rows: Vec<Vec<String>> = members.iter().map(|(k, v)| vec![k.clone(), cell(v)]).collect();
            grid(&["", ""], &rows).lines().skip(2).collect::<Vec<_>>().join("\n")
        }
        None => cell(answer),
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(text) => text.replace('\n', "\\n"),
        other => other.to_string(),
    }
}

fn grid(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.chars().count());
        }
    }
    let line = |values: Vec<String>| {
        values.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    let mut lines = vec![line(headers.iter().map(|h| h.to_string()).collect()), line(widths.iter().map(|w| "-".repeat(*w)).collect())];
    lines.extend(rows.iter().map(|r| line(r.clone())));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_a_list_when_tabled_then_columns_align_and_the_next_token_is_offered() {
        let answer = json!({"Streams": [{"StreamId": "a1", "Status": "ACTIVE"}, {"StreamId": "b", "Status": null}], "NextToken": "t"});
        assert_eq!(table(&answer, &View::List("Streams", &["StreamId", "Status"])), "StreamId  Status\n--------  ------\na1        ACTIVE\nb         -\nmore: --next-token t");
    }

    #[test]
    fn given_a_dry_run_when_tabled_then_each_record_and_the_summary_show() {
        let answer = json!({"Records": [{"RecordId": "1", "Result": "Ok", "Data": "x\n", "Error": null}], "Summary": {"Ok": 1, "Dropped": 0, "ProcessingFailed": 0}});
        assert_eq!(table(&answer, &View::DryRun), "RecordId  Result  Data  Error\n--------  ------  ----  -----\n1         Ok      x\\n   -\nOk 1, Dropped 0, ProcessingFailed 0");
    }

    #[test]
    fn given_an_object_when_tabled_then_a_row_per_member() {
        assert_eq!(object(&json!({"Error": {"Code": "X"}, "JobId": "j"})), "Error  {\"Code\":\"X\"}\nJobId  j");
    }
}
