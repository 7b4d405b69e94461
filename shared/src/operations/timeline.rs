//! Metrics over time (design §9.2): a window cut into even periods, and a value for every
//! period of each series — counts are 0 where nothing happened, gauges null where nothing
//! was measured — so a chart needs no gap-filling of its own.

use super::metrics::{Series, Window};
use serde_json::{json, Value};

/// A chart of the default window keeps at most this many points.
pub const DEFAULT_MAX_POINTS: i64 = 360;
/// A period asked for may make at most this many (a day of minutes): one GetMetricData
/// answers every series of a consumer without paging.
pub const MAX_POINTS: i64 = 1440;
/// Periods a person reads at a glance; the default is the shortest that keeps the points
/// under [`DEFAULT_MAX_POINTS`].
const ROUND_PERIODS: [i64; 12] = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

/// The default period for a span of seconds.
pub fn default_period(span_seconds: i64) -> i64 {
    let points = |period: i64| (span_seconds + period - 1) / period;
    ROUND_PERIODS
        .iter()
        .copied()
        .find(|p| points(*p) <= DEFAULT_MAX_POINTS)
        .unwrap_or_else(|| 60 * ((span_seconds + 60 * DEFAULT_MAX_POINTS - 1) / (60 * DEFAULT_MAX_POINTS)))
}

/// The window from `since` to `until` in periods of `period` seconds, its first period
/// starting on a multiple of the period (a whole hour for hourly points).
pub fn window(since: i64, until: i64, period: i64) -> Window {
    let start = since - since.rem_euclid(period);
    Window { start, end: until.max(start + 1), period }
}

/// How many periods the window has.
pub fn period_count(window: &Window) -> usize {
    ((window.end - window.start + window.period - 1) / window.period).max(0) as usize
}

/// Whether a series counts things (0 where nothing happened) or measures them (null
/// where nothing was measured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Count,
    Gauge,
}

/// A series as the API answers it: a value per period.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    pub name: &'static str,
    pub unit: &'static str,
    pub values: Vec<Option<f64>>,
}

/// The index of the period a time falls in, if it falls in the window.
fn period_index(window: &Window, time: i64) -> Option<usize> {
    (time >= window.start && time < window.end).then(|| ((time - window.start) / window.period) as usize)
}

/// A value per period: counts summed, gauges their maximum.
pub fn dense(series: &Series, window: &Window, kind: Kind) -> Vec<Option<f64>> {
    let initial = match kind {
        Kind::Count => Some(0.0),
        Kind::Gauge => None,
    };
    let mut values = vec![initial; period_count(window)];
    for (time, value) in &series.0 {
        let Some(slot) = period_index(window, *time).and_then(|i| values.get_mut(i)) else { continue };
        *slot = Some(match (kind, *slot) {
            (Kind::Count, Some(sum)) => sum + value,
            (Kind::Gauge, Some(max)) => max.max(*value),
            (_, None) => *value,
        });
    }
    values
}

/// Each series cut into its periods: `[period][series]`, each a series of at most the
/// points of that period, so that what is computed over a window can be computed per period.
pub fn by_period(series: &[Series], window: &Window) -> Vec<Vec<Series>> {
    let mut periods = vec![vec![Series::default(); series.len()]; period_count(window)];
    for (index, one) in series.iter().enumerate() {
        for (time, value) in &one.0 {
            if let Some(period) = period_index(window, *time).and_then(|i| periods.get_mut(i)) {
                period[index].0.push((*time, *value));
            }
        }
    }
    periods
}

/// A whole number as an integer, so that counts read as counts.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        json!(value as i64)
    } else {
        json!((value * 100.0).round() / 100.0)
    }
}

/// `{"Since", "Until", "Period", "Series": [{"Name", "Unit", "Timestamps", "Values"}]}`.
pub fn to_api(window: &Window, until: i64, timelines: &[Timeline]) -> Value {
    let timestamps: Vec<String> = (0..period_count(window)).map(|i| crate::model::rfc3339_of(window.start + i as i64 * window.period)).collect();
    let series: Vec<Value> = timelines
        .iter()
        .map(|t| {
            json!({
                "Name": t.name,
                "Unit": t.unit,
                "Timestamps": timestamps,
                "Values": t.values.iter().map(|v| v.map(number).unwrap_or(Value::Null)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "Since": crate::model::rfc3339_of(window.start),
        "Until": crate::model::rfc3339_of(until),
        "Period": window.period,
        "Series": series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_spans_when_no_period_is_asked_then_a_round_one_keeps_360_points_or_fewer() {
        assert_eq!(default_period(3 * 3600), 60);
        assert_eq!(default_period(12 * 3600), 120);
        assert_eq!(default_period(24 * 3600), 300);
        assert_eq!(default_period(3 * 86_400), 900);
        assert_eq!(default_period(7 * 86_400), 1800);
        assert_eq!(default_period(15 * 86_400), 3600);
        for span in [59, 3600, 86_399, 1_000_000, 15 * 86_400] {
            assert!(span / default_period(span) <= DEFAULT_MAX_POINTS, "{span}");
        }
    }

    #[test]
    fn given_a_window_then_it_starts_on_a_whole_period() {
        let w = window(3_600 * 10 + 125, 3_600 * 12, 3_600);
        assert_eq!((w.start, w.period, period_count(&w)), (36_000, 3_600, 2));
        assert_eq!(period_count(&window(0, 180, 60)), 3);
        assert_eq!(period_count(&window(0, 181, 60)), 4);
    }

    #[test]
    fn given_sparse_points_then_counts_are_zero_and_gauges_null_where_nothing_happened() {
        let w = window(0, 300, 60);
        let series = Series(vec![(60, 5.0), (180, 2.0), (190, 3.0), (900, 7.0)]);
        assert_eq!(dense(&series, &w, Kind::Count), vec![Some(0.0), Some(5.0), Some(0.0), Some(5.0), Some(0.0)]);
        assert_eq!(dense(&series, &w, Kind::Gauge), vec![None, Some(5.0), None, Some(3.0), None]);
    }

    #[test]
    fn given_series_when_cut_by_period_then_each_period_holds_only_its_points() {
        let w = window(0, 180, 60);
        let periods = by_period(&[Series(vec![(0, 1.0), (120, 2.0)]), Series(vec![(60, 3.0)])], &w);
        assert_eq!(periods.len(), 3);
        assert_eq!(periods[0], vec![Series(vec![(0, 1.0)]), Series::default()]);
        assert_eq!(periods[1], vec![Series::default(), Series(vec![(60, 3.0)])]);
        assert_eq!(periods[2][0].total(), 2.0);
    }

    #[test]
    fn given_timelines_then_the_answer_has_a_timestamp_per_value_and_counts_as_integers() {
        let w = window(0, 120, 60);
        let answer = to_api(&w, 120, &[Timeline { name: "IncomingRecords", unit: "Count", values: vec![Some(3.0), Some(0.0)] }, Timeline { name: "Lag", unit: "Milliseconds", values: vec![None, Some(1.5)] }]);
        assert_eq!(answer["Period"], 60);
        assert_eq!(answer["Series"][0]["Timestamps"], json!(["1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z"]));
        assert_eq!(answer["Series"][0]["Values"], json!([3, 0]));
        assert_eq!(answer["Series"][1]["Values"], json!([null, 1.5]));
    }
}
