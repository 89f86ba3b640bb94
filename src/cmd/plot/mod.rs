//! `runlog metrics plot`: a line chart of one metric for one or several
//! runs, drawn with plotters: SVG or PNG into a file, or Braille characters
//! in the terminal. Each series is downsampled on read to about one point
//! per pixel column (minimum and maximum per bucket: spikes stay).

mod png;
mod terminal;

use std::io::{self, IsTerminal, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::tracking::read_client;
use super::CliError;
use crate::Outcome;

/// What to plot and where.
pub(crate) struct PlotRequest<'a> {
    pub(crate) run_ids: &'a [String],
    pub(crate) key: &'a str,
    pub(crate) steps: Option<(i64, i64)>,
    pub(crate) output: Option<&'a Path>,
    /// Pixels for files, character cells for the terminal.
    pub(crate) size: Option<(u32, u32)>,
}

/// One run's line: its label and its finite points, cut where a value is
/// NaN or infinite (a gap in the line).
struct Line {
    label: String,
    segments: Vec<Vec<(f64, f64)>>,
}

/// Where the chart goes.
enum Target {
    Svg(PathBuf),
    Png(PathBuf),
    Terminal,
}

pub(crate) fn run(store: &Path, req: &PlotRequest<'_>) -> Result<Outcome, CliError> {
    let target = match req.output {
        None => Target::Terminal,
        Some(path) => match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("svg") => Target::Svg(path.to_owned()),
            Some(e) if e.eq_ignore_ascii_case("png") => Target::Png(path.to_owned()),
            _ => {
                return Err(CliError::Usage(format!(
                    "{}: the chart's file name must end in .svg or .png",
                    path.display()
                )))
            }
        },
    };
    let (width, height) = match (&target, req.size) {
        (_, Some(size)) => size,
        (Target::Terminal, None) => terminal_size(),
        (_, None) => (1024, 600),
    };
    if width < 10 || height < 5 || width > 20_000 || height > 20_000 {
        return Err(CliError::Usage(format!(
            "a chart of {width}x{height} is too small or too large"
        )));
    }
    // About two points per pixel column: a min and a max per bucket.
    let columns = if matches!(target, Target::Terminal) {
        width * 2
    } else {
        width
    };
    let lines = read_lines(store, req, columns as usize * 2)?;
    if let Target::Svg(path) | Target::Png(path) = &target {
        // Said plainly now, rather than as the image library's debug text
        // once the chart is drawn.
        std::fs::File::create(path)
            .map_err(|e| CliError::Plot(format!("cannot write {}: {e}", path.display())))?;
    }
    match target {
        Target::Svg(path) => {
            let root = SVGBackend::new(&path, (width, height)).into_drawing_area();
            draw(root, req.key, &lines, Style::File).map_err(plot_error)?;
        }
        Target::Png(path) => {
            let font = png::font().map_err(CliError::Plot)?;
            let backend = png::PngBackend::new(BitMapBackend::new(&path, (width, height)), font);
            draw(backend.into_drawing_area(), req.key, &lines, Style::File).map_err(plot_error)?;
        }
        Target::Terminal => {
            let mut grid = terminal::Grid::new(width as usize, height as usize);
            let root = terminal::TerminalBackend(&mut grid).into_drawing_area();
            draw(root, req.key, &lines, Style::Terminal).map_err(plot_error)?;
            let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut out = io::stdout().lock();
            out.write_all(grid.render(color).as_bytes())?;
            // The legend: a character grid has no room for line samples.
            writeln!(out, "  x: step, y: {}", req.key)?;
            for (i, line) in lines.iter().enumerate() {
                let (r, g, b) = series_color(i).rgb();
                let swatch = if color {
                    format!("\x1b[38;2;{r};{g};{b}m\u{28ff}\u{28ff}\x1b[0m")
                } else {
                    format!("[{}]", i + 1)
                };
                writeln!(out, "  {swatch} {}", line.label)?;
            }
        }
    }
    Ok(Outcome::Ok)
}

/// Each run's downsampled history, labelled with its run name.
fn read_lines(
    store: &Path,
    req: &PlotRequest<'_>,
    max_points: usize,
) -> Result<Vec<Line>, CliError> {
    let c = read_client(store)?;
    let mut query = runlog::HistoryQuery::new().max_points(max_points.max(3));
    if let Some((a, b)) = req.steps {
        query = query.steps(a..=b);
    }
    let ids: Vec<&str> = req.run_ids.iter().map(String::as_str).collect();
    let histories = c.get_metric_history_bulk(&ids, req.key, &query)?;
    let mut lines = Vec::with_capacity(histories.len());
    for (id, points) in histories {
        let name = c.get_run(&id)?.info.run_name;
        let label = if name.is_empty() { id.clone() } else { name };
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for m in points {
            if m.value.is_finite() {
                if let Some(last) = segments.last_mut() {
                    last.push((m.step as f64, m.value));
                }
            } else if segments.last().is_some_and(|s| !s.is_empty()) {
                segments.push(Vec::new());
            }
        }
        segments.retain(|s| !s.is_empty());
        lines.push(Line { label, segments });
    }
    super::metrics::warn_if_damaged(&c)?;
    if lines.iter().all(|l| l.segments.is_empty()) {
        return Err(CliError::Runlog(runlog::Error::NotFound(format!(
            "no finite point of metric '{}' in the run(s) asked for{}",
            req.key,
            if req.steps.is_some() {
                " in those steps"
            } else {
                ""
            }
        ))));
    }
    Ok(lines)
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    File,
    Terminal,
}

/// The color of the `i`-th run: ten distinct, saturated colors, then hues
/// a golden angle apart, so that no two runs of a chart share one.
fn series_color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 10] = [
        RGBColor(31, 119, 230),
        RGBColor(230, 60, 40),
        RGBColor(30, 170, 60),
        RGBColor(200, 50, 200),
        RGBColor(220, 170, 0),
        RGBColor(0, 180, 190),
        RGBColor(140, 86, 75),
        RGBColor(255, 127, 14),
        RGBColor(100, 100, 100),
        RGBColor(120, 80, 220),
    ];
    if let Some(c) = COLORS.get(i) {
        return *c;
    }
    let hue = (i as f64 * 137.507_764) % 360.0;
    let lightness = if i.is_multiple_of(2) { 0.42 } else { 0.55 };
    let (r, g, b) = HSLColor(hue / 360.0, 0.85, lightness).rgb();
    RGBColor(r, g, b)
}

/// The smallest and largest of `values`, widened when they are equal.
fn span(values: impl Iterator<Item = f64>, pad: f64) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo == hi {
        // One value: a step (pad 0) widens by one step each way; a value
        // by a tenth of itself.
        let d = if lo == 0.0 || pad == 0.0 {
            1.0
        } else {
            lo.abs() / 10.0
        };
        return lo - d..hi + d;
    }
    let d = (hi - lo) * pad;
    lo - d..hi + d
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    key: &str,
    lines: &[Line],
    style: Style,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let points = || lines.iter().flat_map(|l| l.segments.iter().flatten());
    let x = span(points().map(|p| p.0), 0.0);
    // Steps are whole numbers: no more ticks than steps on the axis (a
    // one-step run gets ticks at step - 1, step, step + 1, not at halves).
    let steps_on_axis = (x.end - x.start).round().max(0.0) as usize + 1;
    let x_ticks = |most: usize| most.min(steps_on_axis);
    let y = span(points().map(|p| p.1), 0.05);
    let terminal = style == Style::Terminal;
    if !terminal {
        root.fill(&WHITE)?;
    }
    let (caption, label, margin, x_area, y_area) = if terminal {
        (4, 4, 0, 8, 20)
    } else {
        (22, 14, 12, 40, 70)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(key, ("sans-serif", caption))
        .margin(margin)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x, y)?;
    let mut mesh = chart.configure_mesh();
    if !terminal {
        mesh.x_desc("step").y_desc(key);
    }
    mesh.label_style(("sans-serif", label))
        .x_label_formatter(&|x| short_number(*x))
        .x_labels(x_ticks(if terminal { 4 } else { 10 }))
        .y_labels(if terminal { 5 } else { 10 });
    if terminal {
        // Two-pixel ticks: plotters puts a label twice the tick length (4
        // pixels, one cell) below the axis, so labels land on the row right
        // under it wherever the axis falls within a cell, and the tick marks
        // stay under the labels (longer default ticks pushed the labels out
        // of the grid at some heights, leaving stray dots).
        mesh.disable_mesh().set_all_tick_mark_size(2);
    } else {
        mesh.light_line_style(RGBColor(235, 235, 235));
    }
    mesh.draw()?;
    for (i, line) in lines.iter().enumerate() {
        let color = series_color(i);
        for (j, segment) in line.segments.iter().enumerate() {
            let drawn = if let [point] = segment.as_slice() {
                // A lone point (a metric logged once, or between gaps): a dot.
                let radius = if terminal { 1 } else { 4 };
                chart.draw_series(std::iter::once(Circle::new(*point, radius, color.filled())))?
            } else {
                chart.draw_series(LineSeries::new(
                    segment.iter().copied(),
                    color.stroke_width(if terminal { 1 } else { 2 }),
                ))?
            };
            if j == 0 && !terminal {
                drawn
                    .label(line.label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            }
        }
    }
    if !terminal {
        chart
            .configure_series_labels()
            .label_font(("sans-serif", label))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }
    root.present()
}

fn plot_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> CliError {
    CliError::Plot(e.to_string())
}

/// The terminal's size in cells, from `COLUMNS` and `LINES` when set, less
/// room for the legend.
fn terminal_size() -> (u32, u32) {
    let env = |name: &str, default: u32| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|v| *v >= 10)
            .unwrap_or(default)
    };
    let cols = env("COLUMNS", 100).min(240);
    let rows = (env("LINES", 30).saturating_sub(6)).clamp(10, 60);
    (cols, rows)
}

/// A step for an axis label: `950`, `5k`, `12.5k`, `2M`.
fn short_number(x: f64) -> String {
    let (scaled, suffix) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, "G"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e3 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pixels of `rows` (whole rows of an RGB buffer `width` wide) that
    /// have the color `c`.
    fn pixels_of(buf: &[u8], width: u32, rows: Range<u32>, c: RGBColor) -> usize {
        rows.flat_map(|y| (0..width).map(move |x| ((y * width + x) * 3) as usize))
            .filter(|&i| buf[i..i + 3] == [c.0, c.1, c.2])
            .count()
    }

    #[test]
    fn png_lines_of_a_spiky_series_stay_inside_the_plotting_area() {
        let (w, h) = (400u32, 300u32);
        let mut buf = vec![0u8; (w * h * 3) as usize];
        let spiky: Vec<(f64, f64)> = (0..20_000)
            .map(|i| (i as f64, if i % 2 == 0 { 0.0 } else { 10.0 }))
            .collect();
        let lines = vec![Line {
            label: "spiky".into(),
            segments: vec![spiky],
        }];
        {
            let font = png::font().unwrap();
            let backend = png::PngBackend::new(BitMapBackend::with_buffer(&mut buf, (w, h)), font);
            draw(backend.into_drawing_area(), "spiky", &lines, Style::File).unwrap();
        }
        let color = series_color(0);
        // The title above the plot, the tick labels below it.
        assert_eq!(pixels_of(&buf, w, 0..28, color), 0, "over the title");
        assert_eq!(pixels_of(&buf, w, h - 45..h, color), 0, "over the labels");
        assert!(
            pixels_of(&buf, w, 60..h - 60, color) > 1_000,
            "the line is drawn"
        );
    }

    #[test]
    fn no_two_runs_of_a_chart_share_a_color() {
        let colors: Vec<_> = (0..40)
            .map(|i| {
                let c = super::series_color(i);
                (c.0, c.1, c.2)
            })
            .collect();
        for (i, a) in colors.iter().enumerate() {
            for b in &colors[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(super::short_number(0.0), "0");
        assert_eq!(super::short_number(950.0), "950");
        assert_eq!(super::short_number(5_000.0), "5k");
        assert_eq!(super::short_number(12_500.0), "12.5k");
        assert_eq!(super::short_number(2_000_000.0), "2M");
        assert_eq!(super::short_number(-3.25), "-3.25");
    }
}
