//! A trend chart: one metric group of one scenario's board over the nights, drawn with plotters' SVG backend (text
//! left to the browser, as in the run report's plots); the legend is HTML under it.

use super::super::html::Esc;
use plotters::prelude::*;
use std::error::Error;

const WIDTH: u32 = 460;
const HEIGHT: u32 = 200;
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x6a, 0x3d, 0x9a),
];

/// One line: its name and a value per night (None where that night did not measure it).
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// The chart of `series` over `nights` nights, with its title and legend.
pub fn trend_figure(title: &str, unit: &str, nights: usize, series: &[Series]) -> String {
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0_f64, |m, v| m.max(*v));
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };
    let last = nights.saturating_sub(1).max(1) as f64;
    let mut svg = String::new();
    let drawn: Result<(), Box<dyn Error>> = (|| {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.2..last + 0.2, 0.0..top)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .x_labels(nights.min(12))
            .x_label_formatter(&|x| format!("{}", x.round() as i64 + 1))
            .label_style(("sans-serif", 12))
            .x_desc("night")
            .y_desc(unit)
            .draw()?;
        for (s, colour) in series.iter().zip(COLOURS.iter().cycle()) {
            let points: Vec<(f64, f64)> = s
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((i as f64, (*v)?)))
                .collect();
            chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))?;
        }
        root.present()?;
        Ok(())
    })();
    if let Err(e) = drawn {
        return format!(
            "<p class=\"fail\">could not draw the {} trend: {}</p>\n",
            Esc(title),
            Esc(&e.to_string())
        );
    }
    let legend: Vec<String> = series
        .iter()
        .zip(COLOURS.iter().cycle())
        .map(|(s, c)| {
            format!(
                "<span class=\"line-key\" style=\"border-color:#{:02x}{:02x}{:02x}\"></span> {}",
                c.0,
                c.1,
                c.2,
                Esc(&s.name)
            )
        })
        .collect();
    format!(
        "<figure class=\"trend\">{svg}<figcaption>{} &nbsp; {}</figcaption></figure>\n",
        Esc(title),
        legend.join(" &nbsp; ")
    )
}
