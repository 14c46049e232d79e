//! Markdown tables: printed as they are filled, and collected for docs/benchmarks.md.

/// One table of results.
#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    /// What the rows measure and how, printed under the title.
    pub note: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, note: &str, headers: &[&str]) -> Self {
        Self {
            title: title.to_owned(),
            note: note.to_owned(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row and logs it, so a long run shows progress.
    pub fn push(&mut self, row: Vec<String>) {
        tracing::info!(table = %self.title, "{}", row.join(" | "));
        self.rows.push(row);
    }

    pub fn render(&self) -> String {
        let mut out = format!("### {}\n\n{}\n\n", self.title, self.note);
        out += &format!("| {} |\n", self.headers.join(" | "));
        out += &format!("|{}\n", "---|".repeat(self.headers.len()));
        for row in &self.rows {
            out += &format!("| {} |\n", row.join(" | "));
        }
        out
    }
}

/// `x` with `digits` decimals, or "–" when not a number.
pub fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "–".to_owned()
    }
}

/// µs as ms with two decimals, or "–".
pub fn ms(us: Option<u32>) -> String {
    us.map_or_else(
        || "–".to_owned(),
        |us| format!("{:.2}", f64::from(us) / 1000.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown() {
        let mut table = Table::new("T", "note", &["a", "b"]);
        table.rows.push(vec!["1".into(), num(f64::NAN, 1)]);
        assert_eq!(
            table.render(),
            "### T\n\nnote\n\n| a | b |\n|---|---|\n| 1 | – |\n"
        );
        assert_eq!(ms(Some(1500)), "1.50");
    }
}
