//! Metrics as text charts: one sparkline per series, resampled to the terminal's width.

use crate::output::{number, pad};
use serde_json::Value;

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Narrower than this a chart shows nothing useful; the line wraps instead.
const MIN_CHART_WIDTH: usize = 10;

/// `width` columns over the points: each column shows the largest value of the points it
/// covers, so that a spike is never averaged away; a column of null points only is null.
/// With fewer points than columns, each point spans several columns.
pub fn resample(values: &[Option<f64>], width: usize) -> Vec<Option<f64>> {
    let points = values.len();
    if points == 0 {
        return vec![];
    }
    (0..width)
        .map(|column| {
            let start = column * points / width;
            let end = ((column + 1) * points / width).max(start + 1);
            values[start..end].iter().flatten().copied().reduce(f64::max)
        })
        .collect()
}

/// `▁▂▃▄▅▆▇█` from 0 (or the lowest value, when one is negative) to the highest value; a
/// null as a space. Any value above the bottom shows at least `▂`, so that a little
/// traffic is told apart from none.
pub fn sparkline(columns: &[Option<f64>]) -> String {
    let present = || columns.iter().flatten().copied();
    let low = present().fold(0.0_f64, f64::min);
    let high = present().fold(f64::NEG_INFINITY, f64::max);
    columns
        .iter()
        .map(|value| match value {
            None => ' ',
            Some(_) if high <= low => LEVELS[0],
            Some(value) => LEVELS[(((value - low) / (high - low)) * 7.0).ceil().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

/// Counts add up over the window (a total); the other series are gauges (latest, max).
fn is_count(unit: &str) -> bool {
    matches!(unit, "Count" | "Bytes")
}

/// A value with its unit as a person reads it: `1.5 KiB`, `12.5 %`, `340 ms`, `42`.
pub fn quantity(value: f64, unit: &str) -> String {
    match unit {
        "Bytes" => {
            let mut scaled = value;
            let mut prefix = 0;
            while scaled.abs() >= 1024.0 && prefix < 4 {
                scaled /= 1024.0;
                prefix += 1;
            }
            match prefix {
                0 => format!("{} B", number(value)),
                _ => format!("{:.1} {}", scaled, ["", "KiB", "MiB", "GiB", "TiB"][prefix]),
            }
        }
        "Count" => number(value),
        "Percent" => format!("{} %", number(value)),
        "Seconds" => format!("{} s", number(value)),
        "Milliseconds" => format!("{} ms", number(value)),
        other => format!("{} {other}", number(value)),
    }
}

/// `total 42` for a count; `latest 3.2 %, max 12.5 %` for a gauge.
pub fn summary(unit: &str, values: &[Option<f64>]) -> String {
    let present = || values.iter().flatten().copied();
    if is_count(unit) {
        return format!("total {}", quantity(present().sum(), unit));
    }
    let shown = |value: Option<f64>| value.map_or("-".to_string(), |v| quantity(v, unit));
    format!("latest {}, max {}", shown(present().last()), shown(present().reduce(f64::max)))
}

/// The window, then a line per series: name, unit, chart, summary; the charts fill what the
/// other columns leave of `width`.
pub fn metrics(answer: &Value, width: usize) -> String {
    let series: Vec<(String, String, Vec<Option<f64>>)> = answer["Series"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let values = s["Values"].as_array().into_iter().flatten().map(Value::as_f64).collect();
            (s["Name"].as_str().unwrap_or("?").to_string(), s["Unit"].as_str().unwrap_or("").to_string(), values)
        })
        .collect();
    let points = series.iter().map(|(_, _, values)| values.len()).max().unwrap_or(0);
    let period = answer["Period"].as_u64().map_or("?".to_string(), |p| p.to_string());
    let mut lines = vec![format!(
        "{} to {}, a point every {period} s ({points} points)",
        answer["Since"].as_str().unwrap_or("?"),
        answer["Until"].as_str().unwrap_or("?")
    )];
    let summaries: Vec<String> = series.iter().map(|(_, unit, values)| summary(unit, values)).collect();
    let name_width = series.iter().map(|(name, _, _)| name.chars().count()).max().unwrap_or(0);
    let unit_width = series.iter().map(|(_, unit, _)| unit.chars().count()).max().unwrap_or(0);
    let summary_width = summaries.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let chart_width = width.saturating_sub(name_width + unit_width + summary_width + 6).max(MIN_CHART_WIDTH);
    for ((name, unit, values), summary) in series.iter().zip(&summaries) {
        let chart = if values.is_empty() { pad("(no points)", chart_width) } else { sparkline(&resample(values, chart_width)) };
        lines.push(format!("{}  {}  {chart}  {summary}", pad(name, name_width), pad(unit, unit_width)).trim_end().to_string());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_more_points_than_columns_when_resampled_then_each_column_keeps_its_largest_point() {
        let values = [Some(1.0), Some(9.0), None, None, Some(2.0), None];
        assert_eq!(resample(&values, 3), vec![Some(9.0), None, Some(2.0)]);
        // 5 points over 2 columns: [0, 2) and [2, 5).
        assert_eq!(resample(&[Some(1.0), Some(2.0), Some(3.0), Some(0.0), Some(1.0)], 2), vec![Some(2.0), Some(3.0)]);
    }

    #[test]
    fn given_fewer_points_than_columns_when_resampled_then_each_point_spans_columns() {
        assert_eq!(resample(&[Some(1.0), None], 4), vec![Some(1.0), Some(1.0), None, None]);
        assert_eq!(resample(&[Some(1.0), Some(2.0), Some(3.0)], 7).len(), 7);
        assert!(resample(&[], 5).is_empty());
    }

    #[test]
    fn given_values_when_drawn_then_zero_is_the_bottom_the_highest_the_top_and_null_a_space() {
        assert_eq!(sparkline(&[Some(0.0), Some(7.0), None, Some(3.5), Some(0.1)]), "▁█ ▅▂");
        assert_eq!(sparkline(&[Some(0.0), Some(0.0)]), "▁▁");
        assert_eq!(sparkline(&[None, None]), "  ");
        assert_eq!(sparkline(&[Some(-1.0), Some(1.0)]), "▁█");
    }

    #[test]
    fn given_counts_and_gauges_when_summarised_then_a_total_or_the_latest_and_max() {
        assert_eq!(summary("Count", &[Some(2.0), Some(0.0), Some(40.0)]), "total 42");
        assert_eq!(summary("Bytes", &[Some(1024.0), Some(512.0)]), "total 1.5 KiB");
        assert_eq!(summary("Percent", &[Some(12.5), Some(3.25), None]), "latest 3.25 %, max 12.5 %");
        assert_eq!(summary("Milliseconds", &[None, None]), "latest -, max -");
    }

    #[test]
    fn given_an_answer_when_charted_then_a_header_and_an_aligned_line_per_series_fill_the_width() {
        let answer = json!({"Since": "2024-05-01T09:00:00Z", "Until": "2024-05-01T12:00:00Z", "Period": 60, "Series": [
            {"Name": "IncomingRecords", "Unit": "Count", "Timestamps": ["a", "b", "c", "d"], "Values": [0, 2, 4, 8]},
            {"Name": "Utilization", "Unit": "Percent", "Timestamps": ["a", "b", "c", "d"], "Values": [null, 1.5, null, 3]}
        ]});
        let text = metrics(&answer, 60);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "2024-05-01T09:00:00Z to 2024-05-01T12:00:00Z, a point every 60 s (4 points)");
        // 60 columns less the name (15), unit (7), summary (19) and three gaps of 2: 13.
        assert_eq!(lines[1], "IncomingRecords  Count    ▁▁▁▁▃▃▃▅▅▅███  total 14");
        assert_eq!(lines[2], "Utilization      Percent      ▅▅▅   ███  latest 3 %, max 3 %");
        assert_eq!(lines[1].chars().count(), 60 - ("latest 3 %, max 3 %".len() - "total 14".len()));
    }
}
