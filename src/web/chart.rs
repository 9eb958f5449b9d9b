//! Charts drawn on the server as SVG: no script, readable on a phone, and they print.

use chrono::NaiveDate;
use std::fmt::Write;

/// A product's weekly demand: past weeks, then the coming pickup with its forecast range and
/// what is ordered so far.
pub struct DemandChart<'a> {
    /// Units ordered each past week, oldest first.
    pub history: &'a [(NaiveDate, i64)],
    /// The coming pickup, if there is one.
    pub next: Option<NaiveDate>,
    /// Expected units, low and high, for the coming pickup.
    pub forecast: Option<(f64, f64, f64)>,
    /// Units ordered so far for the coming pickup.
    pub ordered: i64,
    /// The chart's accessible name, and the legend's three words, already translated.
    pub title: &'a str,
    pub legend: [&'a str; 3],
}

const W: f64 = 320.0;
const H: f64 = 150.0;
const LEFT: f64 = 28.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 20.0;

/// A legend under a chart, in the page's own type so it reads at the page's size and wraps on a
/// phone: one swatch drawn by `class` and one label per mark.
fn legend_html(s: &mut String, chart: &str, keys: &[(&str, &str)]) {
    let _ = write!(s, r#"<figcaption class="chart-legend {chart}">"#);
    for (class, label) in keys {
        let _ = write!(
            s,
            r#"<span class="key"><span class="swatch {}" aria-hidden="true"></span>{}</span> "#,
            escape(class),
            escape(label)
        );
    }
    s.push_str("</figcaption>");
}

/// Text safe inside SVG.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The SVG of a demand chart, scaled to its container's width, and its legend.
pub fn demand_svg(c: &DemandChart) -> String {
    let weeks = c.history.len() + usize::from(c.next.is_some());
    let top = c
        .history
        .iter()
        .map(|(_, q)| *q as f64)
        .chain(c.forecast.map(|f| f.2))
        .chain(std::iter::once(c.ordered as f64))
        .fold(1.0_f64, f64::max)
        .ceil();
    let step = (W - LEFT - RIGHT) / weeks.max(2) as f64;
    let x = |i: usize| LEFT + step * (i as f64 + 0.5);
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / top);
    let mut s = String::with_capacity(2048);
    let _ = write!(
        s,
        r#"<svg class="demand-chart" viewBox="0 0 {W} {H}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>"#,
        title = escape(c.title)
    );
    // Axes: zero and the top value, so the scale reads without a grid.
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" y1="{y0:.1}" x2="{x1}" y2="{y0:.1}"/><text class="tick" x="{tx}" y="{ty0:.1}" text-anchor="end">0</text><text class="tick" x="{tx}" y="{tyt:.1}" text-anchor="end">{top}</text>"#,
        y0 = y(0.0),
        x1 = W - RIGHT,
        tx = LEFT - 4.0,
        ty0 = y(0.0) + 3.0,
        tyt = y(top) + 3.0,
    );
    if !c.history.is_empty() {
        let points: Vec<String> = c
            .history
            .iter()
            .enumerate()
            .map(|(i, (_, q))| format!("{:.1},{:.1}", x(i), y(*q as f64)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="history" fill="none" points="{}"/>"#,
            points.join(" ")
        );
        for (i, (day, q)) in c.history.iter().enumerate() {
            let _ = write!(
                s,
                r#"<circle class="week" cx="{:.1}" cy="{:.1}" r="2"><title>{day}: {q}</title></circle>"#,
                x(i),
                y(*q as f64)
            );
        }
        let first = c.history[0].0;
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT,
            H - BOTTOM + 14.0,
            first.format("%d/%m")
        );
    }
    if let Some(day) = c.next {
        let i = c.history.len();
        let cx = x(i);
        if let Some((expected, low, high)) = c.forecast {
            let _ = write!(
                s,
                r#"<rect class="band" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}–{}</title></rect><line class="forecast" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
                cx - step * 0.45,
                y(high),
                step * 0.9,
                (y(low) - y(high)).max(1.0),
                low,
                high,
                cx - step * 0.6,
                y(expected),
                cx + step * 0.6,
                y(expected),
            );
        }
        let _ = write!(
            s,
            r#"<rect class="ordered" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            cx - step * 0.2,
            y(c.ordered as f64),
            step * 0.4,
            (y(0.0) - y(c.ordered as f64)).max(0.0),
            c.ordered,
            W - RIGHT,
            H - BOTTOM + 14.0,
            day.format("%d/%m")
        );
    }
    s.push_str("</svg>");
    legend_html(
        &mut s,
        "demand",
        &[
            ("history", c.legend[0]),
            ("band", c.legend[1]),
            ("ordered", c.legend[2]),
        ],
    );
    s
}

/// One line of a weekly chart.
pub struct Series<'a> {
    pub label: &'a str,
    /// The CSS class that draws it.
    pub class: &'a str,
    pub values: Vec<i64>,
}

/// Lines over weeks, from zero to the highest value, whose label `top` writes (money, say).
pub fn weekly_svg(
    title: &str,
    dates: &[NaiveDate],
    series: &[Series],
    top: impl Fn(i64) -> String,
) -> String {
    let highest = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = (W - LEFT - RIGHT) / dates.len().max(2) as f64;
    let x = |i: usize| LEFT + step * (i as f64 + 0.5);
    // Integer values drawn to a pixel scale; nothing is computed from the coordinates.
    let y = |v: i64| TOP + (H - TOP - BOTTOM) * (1.0 - v as f64 / highest as f64);
    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        r#"<svg class="weekly-chart" viewBox="0 0 {W} {H}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><line class="axis" x1="{LEFT}" y1="{y0:.1}" x2="{x1}" y2="{y0:.1}"/><text class="tick" x="{LEFT}" y="{yt:.1}">{label}</text>"#,
        t = escape(title),
        y0 = y(0),
        x1 = W - RIGHT,
        yt = TOP + 8.0,
        label = escape(&top(highest)),
    );
    for line in series {
        let points: Vec<String> = line
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="{}" fill="none" points="{}"/>"#,
            escape(line.class),
            points.join(" ")
        );
    }
    if let (Some(first), Some(last)) = (dates.first(), dates.last()) {
        let _ = write!(
            s,
            r#"<text class="tick" x="{LEFT}" y="{a:.1}">{}</text><text class="tick" x="{b}" y="{a:.1}" text-anchor="end">{}</text>"#,
            first.format("%d/%m/%y"),
            last.format("%d/%m/%y"),
            a = H - BOTTOM + 14.0,
            b = W - RIGHT,
        );
    }
    s.push_str("</svg>");
    let keys: Vec<(&str, &str)> = series.iter().map(|l| (l.class, l.label)).collect();
    legend_html(&mut s, "weekly", &keys);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).expect("a date")
    }

    #[test]
    fn the_chart_draws_each_week_the_band_and_the_orders() {
        let history = [(day(5), 4), (day(12), 6), (day(19), 5)];
        let svg = demand_svg(&DemandChart {
            history: &history,
            next: Some(day(26)),
            forecast: Some((5.2, 3.0, 7.4)),
            ordered: 2,
            title: "Poireaux <botte>",
            legend: ["history", "forecast", "ordered"],
        });
        assert!(svg.starts_with("<svg") && svg.ends_with("</figcaption>"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches(r#"<rect class="band""#).count(), 1);
        assert_eq!(svg.matches(r#"<rect class="ordered""#).count(), 1);
        // The legend is text of the page, under the drawing, one swatch per mark.
        let legend = &svg[svg.find("</svg>").expect("drawing")..];
        for key in ["swatch history\"", "swatch band\"", "swatch ordered\""] {
            assert!(legend.contains(key), "{key}: {legend}");
        }
        assert!(svg.contains("Poireaux &lt;botte&gt;"), "titles are escaped");
        assert!(!svg.contains("<botte>"));
        assert!(svg.contains("26/11"));
        // The scale reaches the highest mark: the band's top, rounded up.
        assert!(svg.contains(">8</text>"), "{svg}");
    }

    #[test]
    fn a_weekly_chart_draws_a_line_per_series_to_the_highest_value() {
        let svg = weekly_svg(
            "Chiffre d'affaires",
            &[day(5), day(12), day(19)],
            &[
                Series {
                    label: "turnover",
                    class: "turnover",
                    values: vec![12_000, 15_050, 9_900],
                },
                Series {
                    label: "host fee",
                    class: "fee",
                    values: vec![1_000, 1_255, 830],
                },
            ],
            |v| format!("{} €", v / 100),
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">150 €</text>"), "{svg}");
        assert!(svg.contains("05/11/26") && svg.contains("19/11/26"));
        assert!(
            svg.contains(r#"<span class="swatch fee" aria-hidden="true"></span>host fee</span>"#)
        );
        assert!(svg.contains("Chiffre d&#39;affaires") || svg.contains("Chiffre d'affaires"));
    }

    #[test]
    fn a_chart_without_history_or_forecast_still_draws() {
        let svg = demand_svg(&DemandChart {
            history: &[],
            next: Some(day(26)),
            forecast: None,
            ordered: 0,
            title: "Miel",
            legend: ["a", "b", "c"],
        });
        assert_eq!(svg.matches(r#"<rect class="band""#).count(), 0);
        assert_eq!(svg.matches(r#"<rect class="ordered""#).count(), 1);
        assert!(!svg.contains("<circle"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
