//! A board's metrics beside the baseline's (`hil run --baseline`): this run, the baseline, the change.

use super::Esc;
use model::metrics::{BoardMetrics, Metric};
use std::fmt::Write;

/// The table, every metric either run measured; `-` where one of them could not.
pub fn metrics_table(page: &mut String, this: &BoardMetrics, baseline: Option<&BoardMetrics>) {
    page.push_str(
        "<table class=\"baseline\">\n<caption>metrics against the baseline</caption>\n<tr><th>metric</th><th>this run</th><th>baseline</th><th>change</th></tr>\n",
    );
    let text = |m: Metric, v: Option<&f64>| v.map_or("-".to_string(), |v| m.text(*v));
    for m in Metric::ALL {
        let (now, then) = (this.get(&m), baseline.and_then(|b| b.get(&m)));
        if now.is_none() && then.is_none() {
            continue;
        }
        let change = match (now, then) {
            (Some(n), Some(b)) if *b != 0.0 => format!("{:+.0} %", (n - b) / b.abs() * 100.0),
            (Some(n), Some(b)) if n == b => "0 %".into(),
            (Some(_), Some(_)) => "from 0".into(),
            _ => "-".into(),
        };
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            Esc(m.label()),
            Esc(&text(m, now)),
            Esc(&text(m, then)),
            Esc(&change),
        );
    }
    page.push_str("</table>\n");
}
