//! Answers as JSON, or as tables a person reads.

use crate::calls::View;
use crate::chart;
use serde_json::Value;

pub fn json(answer: &Value) -> String {
    serde_json::to_string_pretty(answer).expect("JSON values serialise")
}

/// A table of the answer as the view says. `width` is the terminal's when printing to one:
/// rows of records are cut to it; charts fill it (else 80 columns).
pub fn table(answer: &Value, view: &View, width: Option<usize>) -> String {
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
        View::DryRun => dry_run(answer, width),
        View::Metrics => chart::metrics(answer, width.unwrap_or(DEFAULT_WIDTH)),
        View::Records => {
            let rows: Vec<Vec<String>> = answer["Records"].as_array().into_iter().flatten().map(record_row).collect();
            let mut text = fitted_grid(RECORD_COLUMNS, &rows, &RECORD_FIT, width);
            if let Some(token) = answer["NextToken"].as_str() {
                text.push_str(&format!("\nmore: --next-token {token}"));
            }
            text
        }
    }
}

/// Columns of the charts when the output is not a terminal.
const DEFAULT_WIDTH: usize = 80;
pub const RECORD_COLUMNS: &[&str] = &["ArrivalTime", "ShardId", "SequenceNumber", "PartitionKey", "Data"];
/// In a terminal the shard, the sequence number and the partition key (up to 256
/// characters) give way first, the data last: the data viewer is there for the data. Shard
/// ids and sequence numbers keep their ends (the last digits tell them apart).
const RECORD_FIT: Fit = Fit { give_way: &[&[1, 2, 3], &[4]], cut_middle: &[1, 2] };

/// A record of the data viewer as a row. A KPL user record shows its sub-sequence number
/// (`…/2`), as the user records of one aggregate share a sequence number.
pub fn record_row(record: &Value) -> Vec<String> {
    let mut sequence = cell(&record["SequenceNumber"]);
    if let Some(sub) = record["SubSequenceNumber"].as_u64().filter(|s| *s > 0) {
        sequence.push_str(&format!("/{sub}"));
    }
    let data = match (&record["Data"], &record["DataBase64"]) {
        (Value::String(text), _) => printable(text),
        (_, Value::String(encoded)) => format!("base64:{encoded}"),
        _ => "-".into(),
    };
    vec![cell(&record["ArrivalTime"]), cell(&record["ShardId"]), sequence, cell(&record["PartitionKey"]), data]
}

/// A record's width: Kinesis's timestamps, shard ids and 56-digit sequence numbers.
const TYPICAL_RECORD: [&str; 5] = ["2024-05-01T09:00:00.000Z", "shardId-000000000000", "49590338271490256608559692538361571095921575989136588898", "partition-key", "Data"];

/// Rows printed as they come (`--follow`): the header once, then each row with the columns
/// the first rows set (a wider value pushes its row, not the ones printed before).
pub struct RowPrinter {
    widths: Option<Vec<usize>>,
    terminal_width: Option<usize>,
}

impl RowPrinter {
    pub fn new(terminal_width: Option<usize>) -> RowPrinter {
        RowPrinter { widths: None, terminal_width }
    }

    /// The lines to print for these rows (with the header before the first ones).
    pub fn lines(&mut self, rows: &[Vec<String>]) -> Vec<String> {
        let mut lines = Vec::new();
        if self.widths.is_none() {
            // Later rows are like these, or like a typical record when these are none. In a
            // terminal the data takes what the other columns leave, as later data may be longer.
            let mut typical: Vec<String> = TYPICAL_RECORD.iter().map(|v| v.to_string()).collect();
            let sized: Vec<Vec<String>> = match self.terminal_width {
                Some(width) => {
                    typical[RECORD_COLUMNS.len() - 1] = "x".repeat(width);
                    rows.iter().cloned().chain([typical]).collect()
                }
                None if rows.is_empty() => vec![typical],
                None => rows.to_vec(),
            };
            let widths = fitted_widths(RECORD_COLUMNS, &sized, &RECORD_FIT, self.terminal_width);
            let header: Vec<String> = RECORD_COLUMNS.iter().map(|h| h.to_string()).collect();
            lines.push(row_line(&header, &widths, &RECORD_FIT, self.terminal_width));
            lines.push(row_line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(), &widths, &RECORD_FIT, self.terminal_width));
            self.widths = Some(widths);
        }
        let widths = self.widths.as_ref().expect("set above");
        lines.extend(rows.iter().map(|row| row_line(row, widths, &RECORD_FIT, self.terminal_width)));
        lines
    }
}

/// A dry run: a row per record, then the summary. With `Compare`, each record's result and
/// data before (the saved code) beside after, and how many changed.
fn dry_run(answer: &Value, width: Option<usize>) -> String {
    let records: Vec<&Value> = answer["Records"].as_array().into_iter().flatten().collect();
    let summary = &answer["Summary"];
    let mut totals = format!("Ok {}, Dropped {}, ProcessingFailed {}", cell(&summary["Ok"]), cell(&summary["Dropped"]), cell(&summary["ProcessingFailed"]));
    let compared = records.iter().any(|r| r.get("Before").is_some()) || summary.get("Changed").is_some();
    let text = if compared {
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                let before = &r["Before"];
                let changed = before["Result"] != r["Result"] || before["Data"] != r["Data"];
                vec![
                    cell(&r["RecordId"]),
                    (if changed { "yes" } else { "no" }).to_string(),
                    cell(&before["Result"]),
                    cell(&before["Data"]),
                    cell(&r["Result"]),
                    cell(&r["Data"]),
                    cell(&r["Error"]),
                ]
            })
            .collect();
        totals.push_str(&format!(", Changed {}", cell(&summary["Changed"])));
        fitted_grid(&["RecordId", "Changed", "Before", "BeforeData", "Result", "Data", "Error"], &rows, &Fit { give_way: &[&[3, 5, 6]], cut_middle: &[] }, width)
    } else {
        let rows: Vec<Vec<String>> = records.iter().map(|r| vec![cell(&r["RecordId"]), cell(&r["Result"]), cell(&r["Data"]), cell(&r["Error"])]).collect();
        fitted_grid(&["RecordId", "Result", "Data", "Error"], &rows, &Fit { give_way: &[&[2, 3]], cut_middle: &[] }, width)
    };
    format!("{text}\n{totals}")
}

/// One row per member; nested members as rows of their own, named by their path
/// (`Metrics.RecordsRead`, `Consumers[0].Health`), so a status reads as a table.
pub fn object(answer: &Value) -> String {
    match answer.as_object() {
        Some(_) => {
            let mut rows: Vec<Vec<String>> = vec![];
            flatten("", answer, &mut rows);
            grid(&["", ""], &rows).lines().skip(2).collect::<Vec<_>>().join("\n")
        }
        None => cell(answer),
    }
}

/// The rows of a value under `path`: scalars as they are, an empty object or list as "-".
fn flatten(path: &str, value: &Value, rows: &mut Vec<Vec<String>>) {
    let child = |name: &str| if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
    match value {
        Value::Object(members) if !members.is_empty() => members.iter().for_each(|(name, v)| flatten(&child(name), v, rows)),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) && !items.is_empty() => {
            rows.push(vec![path.to_string(), items.iter().map(cell).collect::<Vec<_>>().join(", ")])
        }
        Value::Array(items) if !items.is_empty() => items.iter().enumerate().for_each(|(i, v)| flatten(&format!("{path}[{i}]"), v, rows)),
        Value::Object(_) | Value::Array(_) => rows.push(vec![path.to_string(), "-".into()]),
        scalar => rows.push(vec![path.to_string(), cell(scalar)]),
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(text) => printable(text),
        other => other.to_string(),
    }
}

/// Text a terminal shows as it is: control characters (a record's newlines, an escape
/// sequence in someone's data) written out as escapes.
pub fn printable(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            c if c.is_control() => shown.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => shown.push(c),
        }
    }
    shown
}

/// `42`, `3.25`: whole numbers without a fraction, others with at most two decimals.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The text, filled with spaces to `width` columns of a terminal.
pub fn pad(text: &str, width: usize) -> String {
    let shown = console::measure_text_width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(shown)))
}

fn grid(headers: &[&str], rows: &[Vec<String>]) -> String {
    fitted_grid(headers, rows, &Fit { give_way: &[], cut_middle: &[] }, None)
}

/// How a grid fits a terminal: groups of columns that give way (by index), the first group
/// first (the last keeps the most), and those that lose their middle rather than their end.
struct Fit {
    give_way: &'static [&'static [usize]],
    cut_middle: &'static [usize],
}

/// Each column as wide as its widest value; when a terminal's `width` is given and the rows
/// are wider, the groups that give way share what the other columns leave: the last group
/// takes what it needs of it, leaving the groups before it their least; and so on. Within a
/// group, columns share fairly (a narrow one keeps its width, the rest is split).
fn fitted_widths(headers: &[&str], rows: &[Vec<String>], fit: &Fit, width: Option<usize>) -> Vec<usize> {
    let mut widths: Vec<usize> = headers.iter().map(|h| console::measure_text_width(h)).collect();
    for row in rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(console::measure_text_width(value));
        }
    }
    let Some(width) = width else { return widths };
    // Never narrower than its header (or what it holds, when that is less).
    let least: Vec<usize> = widths.iter().zip(headers).map(|(w, h)| MIN_FLEXIBLE_WIDTH.max(console::measure_text_width(h)).min(*w)).collect();
    let yielding = |column: &usize| fit.give_way.iter().any(|group| group.contains(column));
    let fixed: usize = (0..widths.len()).filter(|c| !yielding(c)).map(|c| widths[c]).sum();
    let mut left = width.saturating_sub(fixed + 2 * headers.len().saturating_sub(1));
    for (index, group) in fit.give_way.iter().enumerate().rev() {
        let reserved: usize = fit.give_way[..index].iter().flat_map(|g| g.iter()).map(|c| least[*c]).sum();
        let mut budget = left.saturating_sub(reserved);
        let mut by_need: Vec<usize> = group.to_vec();
        by_need.sort_by_key(|c| widths[*c]);
        for (taken, column) in by_need.iter().enumerate() {
            // A fair share, but never so much that the columns after it get less than their least.
            let kept_for_later: usize = by_need[taken + 1..].iter().map(|c| least[*c]).sum();
            let share = (budget / (by_need.len() - taken)).min(budget.saturating_sub(kept_for_later)).max(least[*column]);
            widths[*column] = widths[*column].min(share);
            budget = budget.saturating_sub(widths[*column]);
            left = left.saturating_sub(widths[*column]);
        }
    }
    widths
}

/// A flexible column narrower than this says too little; the line is cut at the terminal instead.
const MIN_FLEXIBLE_WIDTH: usize = 12;

fn fitted_grid(headers: &[&str], rows: &[Vec<String>], fit: &Fit, width: Option<usize>) -> String {
    let widths = fitted_widths(headers, rows, fit, width);
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut lines = vec![row_line(&header, &widths, fit, width), row_line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(), &widths, fit, width)];
    lines.extend(rows.iter().map(|r| row_line(r, &widths, fit, width)));
    lines.join("\n")
}

/// `4959…8898`: the value's ends, when it is wider than `width` characters.
fn cut_middle(value: &str, width: usize) -> String {
    let length = value.chars().count();
    if length <= width || width < 3 {
        return console::truncate_str(value, width, "…").into_owned();
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let chars: Vec<char> = value.chars().collect();
    format!("{}…{}", chars[..head].iter().collect::<String>(), chars[length - tail..].iter().collect::<String>())
}

/// One line of a grid: each value filled to its column; in a terminal, cut (`…`) to it, and
/// the line cut at the terminal's edge. Elsewhere (a pipe, a file) a value is never cut: a
/// longer one pushes the rest of its row.
fn row_line(values: &[String], widths: &[usize], fit: &Fit, terminal_width: Option<usize>) -> String {
    let cut = |column: usize, value: &str, width: usize| match (terminal_width, fit.cut_middle.contains(&column)) {
        (None, _) => value.to_string(),
        (Some(_), true) => cut_middle(value, width),
        (Some(_), false) => console::truncate_str(value, width, "…").into_owned(),
    };
    let line = values.iter().zip(widths).enumerate().map(|(column, (v, w))| pad(&cut(column, v, *w), *w)).collect::<Vec<_>>().join("  ");
    let line = line.trim_end();
    match terminal_width {
        Some(width) => console::truncate_str(line, width, "…").into_owned(),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_a_list_when_tabled_then_columns_align_and_the_next_token_is_offered() {
        let answer = json!({"Streams": [{"StreamId": "a1", "Status": "ACTIVE"}, {"StreamId": "b", "Status": null}], "NextToken": "t"});
        assert_eq!(table(&answer, &View::List("Streams", &["StreamId", "Status"]), None), "StreamId  Status\n--------  ------\na1        ACTIVE\nb         -\nmore: --next-token t");
    }

    #[test]
    fn given_a_dry_run_when_tabled_then_each_record_and_the_summary_show() {
        let answer = json!({"Records": [{"RecordId": "1", "Result": "Ok", "Data": "x\n", "Error": null}], "Summary": {"Ok": 1, "Dropped": 0, "ProcessingFailed": 0}});
        assert_eq!(table(&answer, &View::DryRun, None), "RecordId  Result  Data  Error\n--------  ------  ----  -----\n1         Ok      x\\n   -\nOk 1, Dropped 0, ProcessingFailed 0");
    }

    #[test]
    fn given_a_compared_dry_run_when_tabled_then_before_beside_after_and_the_changed_count() {
        let answer = json!({"Records": [
            {"RecordId": "1", "Result": "Ok", "Data": "A", "Error": null, "Before": {"Result": "Ok", "Data": "A"}},
            {"RecordId": "2", "Result": "Dropped", "Data": null, "Error": null, "Before": {"Result": "Ok", "Data": "B"}}
        ], "Summary": {"Ok": 1, "Dropped": 1, "ProcessingFailed": 0, "Changed": 1}});
        assert_eq!(
            table(&answer, &View::DryRun, None),
            "RecordId  Changed  Before  BeforeData  Result   Data  Error\n\
             --------  -------  ------  ----------  -------  ----  -----\n\
             1         no       Ok      A           Ok       A     -\n\
             2         yes      Ok      B           Dropped  -     -\n\
             Ok 1, Dropped 1, ProcessingFailed 0, Changed 1"
        );
    }

    #[test]
    fn given_records_when_tabled_then_a_row_each_with_escaped_data_cut_to_the_terminal() {
        let answer = json!({"Records": [
            {"ShardId": "shardId-000000000000", "SequenceNumber": "4959", "SubSequenceNumber": 0, "PartitionKey": "AMZN",
             "ArrivalTime": "2024-05-01T09:00:00.000Z", "Data": "AMZN,101.5,10,TECHNOLOGY\n\u{1b}[2J"},
            {"ShardId": "shardId-000000000000", "SequenceNumber": "4960", "SubSequenceNumber": 2, "PartitionKey": "k",
             "ArrivalTime": "2024-05-01T09:00:01.000Z", "DataBase64": "AAEC"}
        ], "NextToken": "N"});
        let wide = table(&answer, &View::Records, None);
        assert!(wide.contains("AMZN,101.5,10,TECHNOLOGY\\n\\u{1b}[2J"), "{wide}");
        assert!(wide.contains("4960/2") && wide.contains("base64:AAEC") && wide.ends_with("more: --next-token N"), "{wide}");
        let narrow = table(&answer, &View::Records, Some(100));
        let lines: Vec<&str> = narrow.lines().collect();
        // 100 columns less the time (24) and four gaps: 68. The data takes 30 of it, what the
        // shard, sequence and key leave at their least (12, 14: their header's, and 12).
        assert_eq!(lines[2], "2024-05-01T09:00:00.000Z  shard…000000  4959            AMZN          AMZN,101.5,10,TECHNOLOGY\\n\\u{…");
        assert!(lines.iter().all(|l| console::measure_text_width(l) <= 100), "{narrow}");
        let long_key = json!({"Records": [{"ShardId": "shardId-000000000000", "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                                           "PartitionKey": "k".repeat(200), "ArrivalTime": "2024-05-01T09:00:00.000Z", "Data": "d".repeat(200)}]});
        let row = table(&long_key, &View::Records, Some(120)).lines().nth(2).unwrap().to_string();
        assert_eq!(row, format!("2024-05-01T09:00:00.000Z  shard…000000  495903…6588898  {}…  {}…", "k".repeat(11), "d".repeat(49)));
        assert!(table(&long_key, &View::Records, Some(120)).starts_with("ArrivalTime               ShardId       SequenceNumber  PartitionKey"));
        assert!(lines.iter().all(|l| console::measure_text_width(l) <= 100), "{narrow}");
    }

    #[test]
    fn given_a_terminal_when_data_columns_share_it_then_the_short_one_keeps_its_width_and_the_long_one_the_rest() {
        let rows = vec![vec!["id".to_string(), "short".to_string(), "x".repeat(100)]];
        let fit = Fit { give_way: &[&[1, 2]], cut_middle: &[] };
        assert_eq!(fitted_widths(&["Id", "A", "B"], &rows, &fit, Some(40)), vec![2, 5, 29]);
        assert_eq!(fitted_widths(&["Id", "A", "B"], &rows, &fit, None), vec![2, 5, 100]);
        assert_eq!(cut_middle("49590338271490256608559692538361571095921575989136588898", 13), "495903…588898");
        assert_eq!(cut_middle("4959", 13), "4959");
    }

    #[test]
    fn given_followed_records_when_printed_then_the_header_comes_once_before_the_first_rows() {
        let mut printer = RowPrinter::new(None);
        let first = printer.lines(&[]);
        assert_eq!(first.len(), 2);
        assert!(first[0].starts_with("ArrivalTime") && first[1].starts_with("---"), "{first:?}");
        let row = record_row(&json!({"ShardId": "shardId-000000000000", "SequenceNumber": "1", "PartitionKey": "k", "ArrivalTime": "t", "Data": "a long line of data"}));
        assert_eq!(printer.lines(std::slice::from_ref(&row)), vec![format!("t{}  shardId-000000000000  1{}  k{}  a long line of data", " ".repeat(23), " ".repeat(55), " ".repeat(12))]);
        assert_eq!(printer.lines(&[row.clone(), row]).len(), 2);
        // In a terminal, data that comes later is as wide as the terminal lets it be.
        let mut printer = RowPrinter::new(Some(100));
        printer.lines(&[]);
        let long = record_row(&json!({"ShardId": "shardId-000000000000", "SequenceNumber": "1", "PartitionKey": "k", "ArrivalTime": "2024-05-01T09:00:00.000Z", "Data": "d".repeat(300)}));
        let line = printer.lines(&[long]).remove(0);
        assert_eq!(console::measure_text_width(&line), 100, "{line}");
        assert!(line.ends_with(&format!("{}…", "d".repeat(29))), "{line}");
    }

    #[test]
    fn given_an_object_when_tabled_then_a_row_per_member() {
        assert_eq!(object(&json!({"Error": {"Code": "X"}, "JobId": "j"})), "Error.Code  X\nJobId       j");
    }

    #[test]
    fn given_a_status_when_tabled_then_nested_members_are_rows_of_their_own() {
        let status = json!({"Metrics": {"RecordsRead": 10}, "Consumers": [{"Health": "HEALTHY"}], "Tags": {}, "Codes": ["A", "B"]});
        let text = object(&status);
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows, vec![vec!["Codes", "A,", "B"], vec!["Consumers[0].Health", "HEALTHY"], vec!["Metrics.RecordsRead", "10"], vec!["Tags", "-"]]);
    }
}
