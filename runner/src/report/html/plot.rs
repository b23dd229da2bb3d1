//! SVG figures for the HTML report, drawn with plotters' SVG backend. Text is left to the browser to lay out, so
//! no font is needed here; each figure's legend is HTML under it, where it can never cover the data.

use super::plot_marks::PlotMarks;
use super::Esc;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::error::Error;

const WIDTH: u32 = 960;
/// The same label areas on every chart keep the time axes of one board's figures aligned.
const Y_LABELS: u32 = 64;
const X_LABELS: u32 = 34;
const MARGIN: u32 = 16;

const SUPPLY: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const READING: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const LATE: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const CURRENT: RGBColor = RGBColor(0x6a, 0x3d, 0x9a);
const AWAKE: RGBColor = RGBColor(0xff, 0xa5, 0x00);
const ASLEEP: RGBColor = RGBColor(0x9e, 0xb6, 0xd0);
const OFF: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
const OUT_OF_BAND: RGBColor = RGBColor(0xb3, 0x16, 0x1b);
const FAULT: RGBColor = RGBColor(0xc9, 0x7b, 0x00);
const FAULT_FILL: RGBColor = RGBColor(0xfb, 0xec, 0xd4);
const BAND: RGBColor = RGBColor(0xd2, 0xe3, 0xf3);
const UNPOWERED: RGBColor = RGBColor(0xf2, 0xd7, 0xd5);
const THRESHOLD: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// A threshold is drawn when the traces come within this many volts of it: a 4.5 V brownout line would
/// otherwise squash a 12.6 V float charge into a sliver.
const THRESHOLD_REACH: f64 = 2.0;

/// A reading as the board reported it, at the device time it arrived.
pub struct Reported {
    pub t: f64,
    pub volts: f64,
    /// Sampled on an earlier wake and sent late from the backlog.
    pub late: bool,
}

/// A scenario's fault window, as its `fault.start` and `fault.end` recorded it.
pub struct FaultSpan {
    pub start: f64,
    pub end: f64,
    pub name: String,
}

/// What the volts figure draws for one board.
pub struct VoltsPlot<'a> {
    pub t_end: f64,
    /// Supply volts as measured while the output was on, one run per stretch.
    pub supply: &'a [Vec<(f64, f64)>],
    /// Stretches with the output off.
    pub off: &'a [(f64, f64)],
    pub readings: &'a [Reported],
    pub faults: &'a [FaultSpan],
    /// The readings check's tolerance around the supply, when the scenario sets one.
    pub within_volts: Option<f64>,
    /// Unpowered stretches, thresholds and when late readings were sampled.
    pub marks: &'a PlotMarks,
}

/// The supply's last measured volts at or before `t`, in the run that holds `t`.
fn supply_at(supply: &[Vec<(f64, f64)>], t: f64) -> Option<f64> {
    supply
        .iter()
        .filter_map(|run| run.iter().take_while(|p| p.0 <= t).last())
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|p| p.1)
}

/// A reading outside the tolerance band, and by how much: drawn in the failure colour with why on hover.
struct OutOfBand {
    t: f64,
    volts: f64,
    why: String,
}

fn out_of_band(plot: &VoltsPlot) -> Vec<OutOfBand> {
    let Some(within) = plot.within_volts else {
        return Vec::new();
    };
    // A late reading was sampled earlier than it arrived; its arrival time says nothing of the supply then.
    plot.readings
        .iter()
        .filter(|r| !r.late)
        .filter_map(|r| {
            let supply = supply_at(plot.supply, r.t)?;
            let off_by = r.volts - supply;
            (off_by.abs() > within).then(|| OutOfBand {
                t: r.t,
                volts: r.volts,
                why: format!(
                    "t={:.1} s: reported {:.2} V, supply {supply:.2} V: off by {off_by:+.2} V, more than ±{within} V",
                    r.t, r.volts
                ),
            })
        })
        .collect()
}

/// Supply volts as measured while the output was on (one run per stretch), with the board's reported volts over
/// them; the stretches with the output off are shaded instead, so the 0 V there does not flatten the scale. The
/// tolerance band is drawn around the supply, fault windows shaded and named, and readings outside the band in
/// the failure colour, each saying why when hovered.
pub fn volts_figure(plot: &VoltsPlot) -> String {
    let VoltsPlot {
        t_end,
        supply,
        off,
        readings,
        faults,
        within_volts,
        marks,
    } = *plot;
    let within = within_volts.unwrap_or(0.0);
    let traced: Vec<f64> = supply
        .iter()
        .flatten()
        .flat_map(|p| [p.1 - within, p.1 + within])
        .chain(readings.iter().map(|r| r.volts))
        .collect();
    let lowest = traced.iter().copied().fold(f64::INFINITY, f64::min);
    let thresholds: Vec<_> = marks
        .thresholds
        .iter()
        .filter(|th| th.volts >= lowest - THRESHOLD_REACH)
        .collect();
    let (lo, hi) = padded_range(
        traced
            .iter()
            .copied()
            .chain(thresholds.iter().map(|th| th.volts)),
        0.5,
    );
    let failing = out_of_band(plot);
    let mut hover = Vec::new();
    let mut overlay = String::new();
    let svg = draw(260, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(MARGIN)
            .x_label_area_size(X_LABELS)
            .y_label_area_size(Y_LABELS)
            .build_cartesian_2d(0.0..t_end, lo..hi)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .label_style(("sans-serif", 13))
            .x_label_formatter(&seconds)
            .y_label_formatter(&|v| format!("{v:.2}"))
            .x_desc("device time (s)")
            .y_desc("volts")
            .draw()?;
        chart.draw_series(
            marks
                .unpowered
                .iter()
                .map(|&(a, b)| Rectangle::new([(a, lo), (b, hi)], UNPOWERED.filled())),
        )?;
        chart.draw_series(
            off.iter()
                .map(|&(a, b)| Rectangle::new([(a, lo), (b, hi)], OFF.filled())),
        )?;
        chart.draw_series(
            faults
                .iter()
                .map(|f| Rectangle::new([(f.start, lo), (f.end, hi)], FAULT_FILL.filled())),
        )?;
        for f in faults {
            let (x, y) = chart.backend_coord(&(f.start, hi));
            root.draw(&Text::new(
                f.name.clone(),
                (x + 4, y + 4),
                ("sans-serif", 12).into_font().color(&FAULT),
            ))?;
        }
        if within_volts.is_some() {
            for run in supply.iter().filter(|r| !r.is_empty()) {
                let edge = thin(run, t_end);
                let band: Vec<(f64, f64)> = edge
                    .iter()
                    .map(|&(t, v)| (t, v + within))
                    .chain(edge.iter().rev().map(|&(t, v)| (t, v - within)))
                    .collect();
                chart.draw_series(std::iter::once(Polygon::new(band, BAND.filled())))?;
            }
        }
        for run in supply {
            chart.draw_series(LineSeries::new(thin(run, t_end), SUPPLY.stroke_width(2)))?;
        }
        let failed = |r: &Reported| failing.iter().any(|f| f.t == r.t && f.volts == r.volts);
        chart.draw_series(
            readings
                .iter()
                .filter(|r| !r.late && !failed(r))
                .map(|r| Circle::new((r.t, r.volts), 4, READING.filled())),
        )?;
        hover.extend(
            failing
                .iter()
                .map(|f| (chart.backend_coord(&(f.t, f.volts)), &f.why)),
        );
        chart.draw_series(
            marks
                .late
                .iter()
                .map(|r| TriangleMarker::new((r.sampled, r.volts), 7, LATE.stroke_width(2))),
        )?;
        for &(a, b) in &marks.unpowered {
            let (x0, y0) = chart.backend_coord(&(a, hi));
            let (x1, y1) = chart.backend_coord(&(b, lo));
            overlay.push_str(&format!(
                "<rect class=\"unpowered\" x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\" fill-opacity=\"0\">\
                 <title>t={a:.1}–{b:.1} s: the board had no power (supply off or below {} V)</title></rect>\n",
                x1 - x0,
                y1 - y0,
                model::scenario::BUCK_MIN_VOLTS
            ));
        }
        for th in &thresholds {
            let (x0, y) = chart.backend_coord(&(0.0, th.volts));
            let (x1, _) = chart.backend_coord(&(t_end, th.volts));
            overlay.push_str(&format!(
                "<line class=\"threshold\" x1=\"{x0}\" y1=\"{y}\" x2=\"{x1}\" y2=\"{y}\" stroke=\"{c}\" \
                 stroke-dasharray=\"6 4\"><title>{v} V: {name}</title></line>\n\
                 <text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"{c}\" \
                 text-anchor=\"end\">{v} V {short}</text>\n",
                x1 - 4,
                y - 4,
                c = hex(THRESHOLD),
                v = th.volts,
                name = Esc(th.name),
                short = Esc(th.name.split(':').next().unwrap_or_default()),
            ));
        }
        for r in marks.late.iter().filter(|r| r.arrived > r.sampled) {
            let (x0, y) = chart.backend_coord(&(r.sampled, r.volts));
            let (x1, _) = chart.backend_coord(&(r.arrived, r.volts));
            overlay.push_str(&format!(
                "<line class=\"late-arrival\" x1=\"{x0}\" y1=\"{y}\" x2=\"{x1}\" y2=\"{y}\" stroke=\"{}\" \
                 stroke-dasharray=\"3 3\"><title>{:.2} V sampled at t={:.1} s, arrived at t={:.1} s</title></line>\n",
                hex(LATE),
                r.volts,
                r.sampled,
                r.arrived
            ));
        }
        Ok(())
    });
    let svg = with_overlay(svg, &overlay, &hover);
    let late = marks.late.len();
    let band = match within_volts {
        Some(w) => format!(
            " &nbsp; {} tolerance ±{w} V &nbsp; {} outside it ({})",
            swatch(BAND),
            marker_key(OUT_OF_BAND, "●"),
            failing.len()
        ),
        None => String::new(),
    };
    let fault_key = if faults.is_empty() {
        String::new()
    } else {
        format!(" &nbsp; {} fault window", swatch(FAULT_FILL))
    };
    let threshold_key = if thresholds.is_empty() {
        String::new()
    } else {
        format!(" &nbsp; {} thresholds", dashed_key(THRESHOLD))
    };
    format!(
        "<figure>{svg}<figcaption>{} supply volts (measured) &nbsp; {} supply output off &nbsp; {} board unpowered \
         &nbsp; {} reported volts ({}) &nbsp; {} reported late, sampled on an earlier wake ({late}): drawn \
         at that wake, a line to its arrival{band}{fault_key}{threshold_key}</figcaption></figure>\n",
        line_key(SUPPLY),
        swatch(OFF),
        swatch(UNPOWERED),
        marker_key(READING, "●"),
        readings.len() - late - failing.len(),
        marker_key(LATE, "△"),
    )
}

/// The marks that carry a class and a `<title>` (which a browser shows on hover), then the failing points on top,
/// drawn after plotters' output.
fn with_overlay(svg: String, overlay: &str, points: &[((i32, i32), &String)]) -> String {
    let Some(end) = svg.rfind("</svg>") else {
        return svg;
    };
    let mut out = svg[..end].to_string();
    out.push_str(overlay);
    for ((x, y), why) in points {
        out.push_str(&format!(
            "<circle class=\"out-of-band\" cx=\"{x}\" cy=\"{y}\" r=\"5\" fill=\"{}\"><title>{}</title></circle>\n",
            hex(OUT_OF_BAND),
            Esc(why)
        ));
    }
    out.push_str(&svg[end..]);
    out
}

/// Awake and asleep intervals as a strip, over the supply current with the awake intervals shaded.
pub fn activity_figure(
    t_end: f64,
    awake: &[(f64, f64)],
    asleep: &[(f64, f64)],
    current_ma: &[(f64, f64)],
    supply: &str,
) -> String {
    let (_, top) = padded_range(current_ma.iter().map(|p| p.1).chain([0.0]), 1.0);
    let svg = draw(290, |root| {
        let (strip, lower) = root.split_vertically(44);
        let mut states = ChartBuilder::on(&strip)
            .margin_top(MARGIN)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .y_label_area_size(Y_LABELS)
            .build_cartesian_2d(0.0..t_end, 0.0..1.0)?;
        let band =
            |&(a, b): &(f64, f64), style: ShapeStyle| Rectangle::new([(a, 0.0), (b, 1.0)], style);
        states.draw_series(asleep.iter().map(|i| band(i, ASLEEP.filled())))?;
        states.draw_series(awake.iter().map(|i| band(i, AWAKE.filled())))?;
        strip.draw(&Text::new(
            "state",
            (MARGIN as i32, MARGIN as i32 + 6),
            ("sans-serif", 13),
        ))?;

        let mut chart = ChartBuilder::on(&lower)
            .margin(MARGIN)
            .margin_top(6)
            .x_label_area_size(X_LABELS)
            .y_label_area_size(Y_LABELS)
            .build_cartesian_2d(0.0..t_end, 0.0..top)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .label_style(("sans-serif", 13))
            .x_label_formatter(&seconds)
            .x_desc("device time (s)")
            .y_desc("supply current (mA)")
            .draw()?;
        chart.draw_series(
            awake
                .iter()
                .map(|&(a, b)| Rectangle::new([(a, 0.0), (b, top)], AWAKE.mix(0.25).filled())),
        )?;
        chart.draw_series(LineSeries::new(
            thin(current_ma, t_end),
            CURRENT.stroke_width(2),
        ))?;
        Ok(())
    });
    format!(
        "<figure>{svg}<figcaption>{} awake (from the <code>boot</code> line to the <code>sleep</code> line, {}) &nbsp; {} asleep ({}) &nbsp; {} current \
         drawn from supply {}, all boards on it</figcaption></figure>\n",
        swatch(AWAKE),
        awake.len(),
        swatch(ASLEEP),
        asleep.len(),
        line_key(CURRENT),
        Esc(supply),
    )
}

/// Whole seconds: the axis spans minutes, and the decimals plotters would print add nothing.
fn seconds(t: &f64) -> String {
    format!("{t:.0}")
}

fn draw(
    height: u32,
    plot: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn Error>>,
) -> String {
    let mut svg = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Box::<dyn Error>::from)
            .and_then(|_| plot(&root))
            .and_then(|_| root.present().map_err(Box::<dyn Error>::from))
    };
    match result {
        Ok(()) => svg,
        Err(e) => format!(
            "<p class=\"fail\">could not draw this plot: {}</p>",
            Esc(&e.to_string())
        ),
    }
}

/// The values' range widened by 5 % each side, and to `min_span` at least, so flat traces are not drawn on the
/// frame.
fn padded_range(values: impl Iterator<Item = f64>, min_span: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, min_span);
    }
    let pad = ((hi - lo) * 0.05).max((min_span - (hi - lo)) / 2.0);
    (lo - pad, hi + pad)
}

/// At most the lowest and the highest point of each pixel column, in time order: a run at speed 1 samples the
/// supply tens of thousands of times, and a current spike narrower than a pixel must still show.
fn thin(points: &[(f64, f64)], t_end: f64) -> Vec<(f64, f64)> {
    let column = |t: f64| (t / t_end * f64::from(WIDTH)) as i64;
    let mut out = Vec::new();
    for group in points.chunk_by(|a, b| column(a.0) == column(b.0)) {
        let by_value = |a: &&(f64, f64), b: &&(f64, f64)| a.1.total_cmp(&b.1);
        let low = group.iter().min_by(by_value);
        let high = group.iter().max_by(by_value);
        if let (Some(&low), Some(&high)) = (low, high) {
            if low.0 <= high.0 {
                out.extend([low, high]);
            } else {
                out.extend([high, low]);
            }
        }
    }
    out.dedup();
    out
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn swatch(c: RGBColor) -> String {
    format!(
        "<span class=\"swatch\" style=\"background:{}\"></span>",
        hex(c)
    )
}

fn line_key(c: RGBColor) -> String {
    format!(
        "<span class=\"line-key\" style=\"border-color:{}\"></span>",
        hex(c)
    )
}

fn dashed_key(c: RGBColor) -> String {
    format!(
        "<span class=\"line-key\" style=\"border-color:{};border-top-style:dashed\"></span>",
        hex(c)
    )
}

fn marker_key(c: RGBColor, symbol: &str) -> String {
    format!("<span style=\"color:{}\">{symbol}</span>", hex(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_each_columns_extremes_in_time_order() {
        let mut points: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64 / 100.0, 1.0)).collect();
        points[5_000].1 = 80.0;
        let thinned = thin(&points, 100.0);
        assert!(thinned.len() <= 2 * WIDTH as usize, "{}", thinned.len());
        assert!(thinned.contains(&(50.0, 80.0)));
        assert!(thinned.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn a_flat_or_empty_trace_still_gets_a_range() {
        assert_eq!(padded_range([12.4, 12.4].into_iter(), 0.5), (12.15, 12.65));
        assert_eq!(padded_range(std::iter::empty(), 1.0), (0.0, 1.0));
    }
}
