//! Charts, drawn with `plotters` into SVG (text as `<text>`) and PNG (an RGB
//! buffer encoded with the `png` crate; text rasterised by `ab_glyph` from
//! DejaVu Sans, embedded from the `dejavu` crate, so nothing depends on the
//! fonts of the machine). This module only draws a [`Chart`]; what the
//! report and the bench put in them is theirs (`report::charts`,
//! `bench::throughput_chart`).

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::atomic::write_atomic;

/// Size of every chart, in pixels.
pub const CHART_SIZE: (u32, u32) = (960, 600);

/// The font family every chart uses (registered on first use).
pub const FONT: &str = "sans-serif";

/// Registers DejaVu Sans as [`FONT`] for `plotters`' `ab_glyph` text.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
    });
}

/// Encodes 8-bit RGB pixels (row-major) as a PNG file's bytes.
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        rgb.len() == width as usize * height as usize * 3,
        "{} bytes for a {width}×{height} RGB image",
        rgb.len()
    );
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {e}")
}

/// One chart's data.
pub enum Chart {
    /// `(technique, [epoch, accuracy fraction])` lines.
    Curves {
        title: String,
        lines: Vec<(String, Vec<[f64; 2]>)>,
    },
    /// Points `(technique, x, y, on the Pareto front)`.
    Tradeoff {
        title: String,
        x_desc: String,
        y_desc: String,
        points: Vec<(String, f64, f64, bool)>,
    },
    /// `(technique, [training images, accuracy gain in pp])` lines on a
    /// logarithmic x axis, with the zero line.
    Gain {
        title: String,
        lines: Vec<(String, Vec<[f64; 2]>)>,
    },
    /// The baseline's accuracy (fraction) against training images at one step
    /// budget (`measured` points, `fitted` monotone line, log x axis), and
    /// techniques `(label, images, accuracy)` placed on it.
    Worth {
        title: String,
        measured: Vec<[f64; 2]>,
        fitted: Vec<[f64; 2]>,
        placed: Vec<(String, f64, f64)>,
    },
    /// `(series, [batch size, images/s])` lines on log–log axes.
    Throughput {
        title: String,
        lines: Vec<(String, Vec<[f64; 2]>)>,
    },
    /// Bars `(label, backend, milliseconds)`.
    Bars {
        title: String,
        y_desc: String,
        bars: Vec<(String, String, f64)>,
    },
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let span = (hi - lo).abs().max(1e-6);
    (lo - 0.08 * span, hi + 0.08 * span)
}

/// Named lines with a marker at every point and a legend in the lower right.
fn draw_lines<'a, 'n, DB, X, Y>(
    c: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    lines: impl Iterator<Item = (&'n String, Vec<(f64, f64)>)>,
) -> anyhow::Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, (name, data)) in lines.enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        c.draw_series(LineSeries::new(data.clone(), colour.stroke_width(2)))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
            });
        c.draw_series(data.into_iter().map(|p| Circle::new(p, 3, colour.filled())))
            .map_err(err)?;
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Draws `chart` on any plotters backend.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(err)?;
    match chart {
        Chart::Curves { title, lines } => {
            let points = lines.iter().flat_map(|(_, l)| l.iter());
            let (mut x_hi, mut y_lo, mut y_hi) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
            for p in points {
                x_hi = x_hi.max(p[0]);
                y_lo = y_lo.min(100.0 * p[1]);
                y_hi = y_hi.max(100.0 * p[1]);
            }
            let (y_lo, y_hi) = padded(y_lo, y_hi);
            let mut c = ChartBuilder::on(root)
                .caption(title, (FONT, 24))
                .margin(16)
                .x_label_area_size(48)
                .y_label_area_size(64)
                .build_cartesian_2d(0.5f64..x_hi + 0.5, y_lo.max(0.0)..y_hi.min(100.0))
                .map_err(err)?;
            let whole_epochs = |x: &f64| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            };
            c.configure_mesh()
                .x_label_formatter(&whole_epochs)
                .x_desc("epoch")
                .y_desc("test accuracy (%)")
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .draw()
                .map_err(err)?;
            let scaled = lines
                .iter()
                .map(|(name, line)| (name, line.iter().map(|p| (p[0], 100.0 * p[1])).collect()));
            draw_lines(&mut c, scaled)?;
        }
        Chart::Tradeoff {
            title,
            x_desc,
            y_desc,
            points,
        } => {
            let xs = points.iter().map(|p| p.1);
            let ys = points.iter().map(|p| p.2);
            let (x_lo, x_hi) = padded(
                xs.clone().fold(f64::INFINITY, f64::min),
                xs.fold(f64::NEG_INFINITY, f64::max),
            );
            let (y_lo, y_hi) = padded(
                ys.clone().fold(f64::INFINITY, f64::min),
                ys.fold(f64::NEG_INFINITY, f64::max),
            );
            let mut c = ChartBuilder::on(root)
                .caption(title, (FONT, 24))
                .margin(16)
                .x_label_area_size(48)
                .y_label_area_size(64)
                .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
                .map_err(err)?;
            c.configure_mesh()
                .x_desc(x_desc.as_str())
                .y_desc(y_desc.as_str())
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .draw()
                .map_err(err)?;
            let mut front: Vec<(f64, f64)> =
                points.iter().filter(|p| p.3).map(|p| (p.1, p.2)).collect();
            front.sort_by(|a, b| a.0.total_cmp(&b.0));
            c.draw_series(LineSeries::new(front, RED.stroke_width(2)))
                .map_err(err)?
                .label("Pareto front")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3)));
            for (i, (name, x, y, on_front)) in points.iter().enumerate() {
                let colour = Palette99::pick(i).to_rgba();
                let style = if *on_front {
                    colour.filled()
                } else {
                    colour.stroke_width(2)
                };
                c.draw_series(std::iter::once(Circle::new((*x, *y), 6, style)))
                    .map_err(err)?;
                c.draw_series(std::iter::once(
                    EmptyElement::at((*x, *y))
                        + Text::new(name.clone(), (9, -18), (FONT, 15).into_font().color(&BLACK)),
                ))
                .map_err(err)?;
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FONT, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }
        Chart::Gain { title, lines } => {
            let points: Vec<[f64; 2]> = lines.iter().flat_map(|(_, l)| l.iter().copied()).collect();
            let x_lo = points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
            let x_hi = points.iter().map(|p| p[0]).fold(1.0, f64::max);
            let x_lo = x_lo.min(x_hi).max(1.0);
            let (y_lo, y_hi) = padded(
                points.iter().map(|p| p[1]).fold(0.0, f64::min),
                points.iter().map(|p| p[1]).fold(0.0, f64::max),
            );
            let mut c = ChartBuilder::on(root)
                .caption(title, (FONT, 24))
                .margin(16)
                .x_label_area_size(48)
                .y_label_area_size(64)
                .build_cartesian_2d((x_lo / 1.3..x_hi * 1.3).log_scale(), y_lo..y_hi)
                .map_err(err)?;
            c.configure_mesh()
                .x_label_formatter(&|x: &f64| format!("{x:.0}"))
                .x_desc("training images (log scale)")
                .y_desc("test accuracy gain vs none (pp)")
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .draw()
                .map_err(err)?;
            c.draw_series(LineSeries::new(
                [(x_lo / 1.3, 0.0), (x_hi * 1.3, 0.0)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(err)?;
            let points = lines
                .iter()
                .map(|(name, line)| (name, line.iter().map(|p| (p[0], p[1])).collect()));
            draw_lines(&mut c, points)?;
        }
        Chart::Worth {
            title,
            measured,
            fitted,
            placed,
        } => {
            let xs = measured
                .iter()
                .map(|p| p[0])
                .chain(placed.iter().map(|p| p.1));
            let ys = measured
                .iter()
                .map(|p| 100.0 * p[1])
                .chain(placed.iter().map(|p| 100.0 * p.2));
            let x_lo = xs.clone().fold(f64::INFINITY, f64::min).max(1.0);
            let x_hi = xs.fold(1.0, f64::max).max(x_lo);
            let (y_lo, y_hi) = padded(
                ys.clone().fold(f64::INFINITY, f64::min),
                ys.fold(f64::NEG_INFINITY, f64::max),
            );
            let mut c = ChartBuilder::on(root)
                .caption(title, (FONT, 24))
                .margin(16)
                .x_label_area_size(48)
                .y_label_area_size(64)
                .build_cartesian_2d((x_lo / 1.3..x_hi * 1.3).log_scale(), y_lo..y_hi)
                .map_err(err)?;
            c.configure_mesh()
                .x_label_formatter(&|x: &f64| format!("{x:.0}"))
                .x_desc("training images (log scale; same optimiser steps)")
                .y_desc("test accuracy (%)")
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .draw()
                .map_err(err)?;
            c.draw_series(LineSeries::new(
                fitted.iter().map(|p| (p[0], 100.0 * p[1])),
                BLACK.stroke_width(2),
            ))
            .map_err(err)?
            .label("baseline (monotone fit)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(3)));
            c.draw_series(
                measured
                    .iter()
                    .map(|p| Circle::new((p[0], 100.0 * p[1]), 4, BLACK.filled())),
            )
            .map_err(err)?;
            for (i, (label, x, y)) in placed.iter().enumerate() {
                let colour = Palette99::pick(i + 1).to_rgba();
                c.draw_series(std::iter::once(Circle::new(
                    (*x, 100.0 * y),
                    6,
                    colour.filled(),
                )))
                .map_err(err)?;
                c.draw_series(std::iter::once(
                    EmptyElement::at((*x, 100.0 * y))
                        + Text::new(
                            label.clone(),
                            (9, -18),
                            (FONT, 15).into_font().color(&BLACK),
                        ),
                ))
                .map_err(err)?;
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .label_font((FONT, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }
        Chart::Throughput { title, lines } => {
            let points: Vec<[f64; 2]> = lines.iter().flat_map(|(_, l)| l.iter().copied()).collect();
            let bound = |f: fn(&[f64; 2]) -> f64, pick: fn(f64, f64) -> f64, start: f64| {
                points.iter().map(f).fold(start, pick)
            };
            let (x_lo, x_hi) = (
                bound(|p| p[0], f64::min, f64::INFINITY),
                bound(|p| p[0], f64::max, 1.0),
            );
            let (y_lo, y_hi) = (
                bound(|p| p[1], f64::min, f64::INFINITY),
                bound(|p| p[1], f64::max, 1.0),
            );
            let (x_lo, y_lo) = (x_lo.min(x_hi).max(1.0), y_lo.min(y_hi).max(1e-3));
            let mut c = ChartBuilder::on(root)
                .caption(title, (FONT, 24))
                .margin(16)
                .x_label_area_size(48)
                .y_label_area_size(80)
                .build_cartesian_2d(
                    (x_lo / 1.3..x_hi * 1.3).log_scale(),
                    (y_lo / 2.0..y_hi * 2.0).log_scale(),
                )
                .map_err(err)?;
            c.configure_mesh()
                .x_desc("batch size (images)")
                .y_desc("images / s")
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .draw()
                .map_err(err)?;
            let points = lines
                .iter()
                .map(|(name, line)| (name, line.iter().map(|p| (p[0], p[1])).collect()));
            draw_lines(&mut c, points)?;
        }
        Chart::Bars {
            title,
            y_desc,
            bars,
        } => {
            let y_hi = bars.iter().map(|b| b.2).fold(0.0f64, f64::max).max(1e-6) * 1.15;
            let n = bars.len().max(1);
            let labels: Vec<String> = bars.iter().map(|b| format!("{}·{}", b.0, b.1)).collect();
            let mut backends: Vec<&str> = bars.iter().map(|b| b.1.as_str()).collect();
            backends.sort_unstable();
            backends.dedup();
            let mut c = ChartBuilder::on(root)
                .caption(title, (FONT, 24))
                .margin(16)
                .x_label_area_size(64)
                .y_label_area_size(64)
                .build_cartesian_2d((0..n as i32 - 1).into_segmented(), 0.0..y_hi)
                .map_err(err)?;
            let formatter = |v: &SegmentValue<i32>| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            c.configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&formatter)
                .y_desc(y_desc.as_str())
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 17))
                .draw()
                .map_err(err)?;
            for (k, backend) in backends.iter().enumerate() {
                let colour = Palette99::pick(k).to_rgba();
                let rects: Vec<_> = bars
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.1 == *backend)
                    .map(|(i, b)| {
                        let mut r = Rectangle::new(
                            [
                                (SegmentValue::Exact(i as i32), 0.0),
                                (SegmentValue::Exact(i as i32 + 1), b.2),
                            ],
                            colour.filled(),
                        );
                        r.set_margin(0, 0, 12, 12);
                        r
                    })
                    .collect();
                c.draw_series(rects)
                    .map_err(err)?
                    .label(*backend)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 6), (x + 16, y + 6)], colour.filled())
                    });
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font((FONT, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Draws `chart` to `<dir>/<stem>.svg` and `<dir>/<stem>.png` (atomically).
pub fn render(dir: &Path, stem: &str, chart: &Chart) -> anyhow::Result<Vec<PathBuf>> {
    register_font();
    let (w, h) = CHART_SIZE;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        draw(&root, chart)?;
    }
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, CHART_SIZE).into_drawing_area();
        draw(&root, chart)?;
    }
    let png = encode_png(&rgb, w, h)?;
    let mut files = Vec::new();
    for (ext, bytes) in [("svg", svg.into_bytes()), ("png", png)] {
        let path = dir.join(format!("{stem}.{ext}"));
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
    }
    Ok(files)
}
