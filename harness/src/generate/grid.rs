//! The preview grid of a generated pool, a PNG a person can look at: one row
//! per class (its name on the left), the first real training images of the
//! class on the left half and the first generated images of the class on the
//! right, images upscaled (nearest) by 2 (28×28 → 56×56).

use std::path::Path;

use augkit_data::ImageSet;
use plotters::prelude::*;

use super::pool::GeneratedPool;
use crate::plots::{FONT, encode_png, register_font};

/// Images per side of a row.
pub const PER_SIDE: usize = 8;

const SCALE: u32 = 2;
const LABEL: u32 = 110;
const HEADER: u32 = 22;
const GAP: u32 = 2;
const MIDDLE: u32 = 16;

/// Writes the preview of `pool` beside `train`'s `subset` to `path`
/// (atomically).
pub fn write_preview(
    path: &Path,
    train: &ImageSet,
    subset: &[u32],
    pool: &GeneratedPool,
) -> anyhow::Result<()> {
    let (rgb, w, h) = preview_rgb(train, subset, pool)?;
    crate::atomic::write_atomic(path, &encode_png(&rgb, w, h)?)?;
    Ok(())
}

/// The grid as RGB pixels with its width and height.
pub fn preview_rgb(
    train: &ImageSet,
    subset: &[u32],
    pool: &GeneratedPool,
) -> anyhow::Result<(Vec<u8>, u32, u32)> {
    let (c, ih, iw) = (train.channels as usize, train.height, train.width);
    let e = c * (ih * iw) as usize;
    let classes = super::pool::present_classes(train, subset);
    let (cw, ch) = (iw * SCALE + GAP, ih * SCALE + GAP);
    let side = PER_SIDE as u32 * cw;
    let width = LABEL + side + MIDDLE + side;
    let height = HEADER + classes.len() as u32 * ch;
    let mut rgb = vec![255u8; (width * height * 3) as usize];
    let mut blit = |image: &[u8], left: u32, top: u32| {
        let plane = (ih * iw) as usize;
        for y in 0..ih * SCALE {
            for x in 0..iw * SCALE {
                let src = ((y / SCALE) * iw + x / SCALE) as usize;
                let at = (((top + y) * width + left + x) * 3) as usize;
                for k in 0..3 {
                    rgb[at + k] = image[k.min(c - 1) * plane + src];
                }
            }
        }
    };
    for (row, &class) in classes.iter().enumerate() {
        let top = HEADER + row as u32 * ch;
        let real = subset
            .iter()
            .filter(|&&i| train.labels[i as usize] == class)
            .take(PER_SIDE);
        for (k, &i) in real.enumerate() {
            let i = i as usize;
            blit(
                &train.pixels[i * e..(i + 1) * e],
                LABEL + k as u32 * cw,
                top,
            );
        }
        let generated = (0..pool.len())
            .filter(|&i| pool.labels[i] == class)
            .take(PER_SIDE);
        for (k, i) in generated.enumerate() {
            blit(
                &pool.pixels[i * e..(i + 1) * e],
                LABEL + side + MIDDLE + k as u32 * cw,
                top,
            );
        }
    }
    register_font();
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        let style = (FONT, 14).into_font().color(&BLACK);
        let text = |s: String, x: u32, y: u32| Text::new(s, (x as i32, y as i32), style.clone());
        let err = |e| anyhow::anyhow!("drawing the preview grid: {e}");
        root.draw(&text("real".into(), LABEL, 3)).map_err(err)?;
        root.draw(&text(
            format!("generated ({})", pool.cost.generator),
            LABEL + side + MIDDLE,
            3,
        ))
        .map_err(err)?;
        let names = crate::data::class_names(train);
        for (row, &class) in classes.iter().enumerate() {
            let top = HEADER + row as u32 * ch + (ch / 2).saturating_sub(8);
            let name = names.get(class as usize).cloned().unwrap_or_default();
            root.draw(&text(name, 4, top)).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok((rgb, width, height))
}
