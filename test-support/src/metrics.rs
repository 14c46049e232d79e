//! Reading the Prometheus text a gateway serves on `/metrics`.

/// The value of one series, named with its labels exactly as exposed (e.g.
/// `gateway_frames_received_total{camera="front"}`); 0 when absent (a counter not yet created).
pub fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Sum of every series whose line starts with `prefix` (e.g. one camera's rejections of all
/// reasons: `gateway_rejected_frames_total{camera="x",`).
pub fn sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_exact_series_and_sums() {
        let text =
            "# HELP x\nx_total{a=\"1\"} 2\nx_total{a=\"10\"} 5\nx_total{a=\"1\",b=\"2\"} 7\n";
        assert_eq!(super::value(text, "x_total{a=\"1\"}"), 2.0);
        assert_eq!(super::value(text, "y_total"), 0.0);
        assert_eq!(super::sum(text, "x_total{a=\"1"), 14.0);
    }
}
