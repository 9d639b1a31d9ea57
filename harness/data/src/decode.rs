//! One encoded image (JPEG, PNG, WebP, BMP, GIF) to a fixed-size u8 planar
//! image: the conversion every `folder:` and `parquet:` image goes through.
//!
//! - The format is recognised from the bytes, not the file name. The pixel
//!   count is read from the header and checked against a limit before
//!   anything is decoded (a decompression bomb is a bad image); GIFs give
//!   their first frame.
//! - Colour: grayscale images (with or without alpha, any bit depth) stay one
//!   channel, everything else becomes RGB; 16-bit and float samples are
//!   scaled to 8 bits; alpha is composited on black (`v·a/255`, rounded).
//! - Size: the image is scaled so it covers `H×W` — for a square size, the
//!   shorter side becomes the size and the longer `floor(size·long/short)`,
//!   as torchvision's `Resize(size)` — with a bilinear (triangle) filter
//!   whose support widens with the reduction (antialiased, Pillow's
//!   BILINEAR convolution, by `fast_image_resize`'s SIMD u8 resampler),
//!   then centre-cropped with torchvision's `CenterCrop` offsets. Only the
//!   kept window is computed: the crop is mapped back to a fractional source
//!   box, which gives the same pixels as resizing whole and cropping. An
//!   image already of the target size is copied unchanged; a smaller one is
//!   upscaled (and counted).

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use fast_image_resize as fr;
use image::{DynamicImage, GrayImage, ImageBuffer, ImageDecoder, ImageReader, Pixel, RgbImage};
use serde::{Deserialize, Serialize};

/// Default decompression-bomb limit: 100 megapixels (a 10,000 × 10,000 image).
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// Target size of converted images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageSize {
    pub height: u32,
    pub width: u32,
}

impl ImageSize {
    pub fn square(s: u32) -> Self {
        ImageSize {
            height: s,
            width: s,
        }
    }
}

impl std::fmt::Display for ImageSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.height == self.width {
            write!(f, "{}", self.height)
        } else {
            write!(f, "{}x{}", self.height, self.width)
        }
    }
}

impl std::str::FromStr for ImageSize {
    type Err = String;

    /// `S` (square) or `HxW`; both sides in 1..=4096.
    fn from_str(s: &str) -> Result<Self, String> {
        let side = |t: &str| -> Result<u32, String> {
            match t.trim().parse::<u32>() {
                Ok(v) if (1..=4096).contains(&v) => Ok(v),
                _ => Err(format!(
                    "image size {s:?}: each side must be a whole number in 1..=4096 (S or HxW)"
                )),
            }
        };
        match s.split_once(['x', 'X']) {
            Some((h, w)) => Ok(ImageSize {
                height: side(h)?,
                width: side(w)?,
            }),
            None => Ok(ImageSize::square(side(s)?)),
        }
    }
}

/// One decoded image before its set's channel count is decided.
#[derive(Clone, Debug)]
pub struct Converted {
    /// One channel (grayscale source) or three.
    pub gray: bool,
    /// Planar CHW at the target size.
    pub pixels: Vec<u8>,
    /// The source was smaller than the target on some side.
    pub upscaled: bool,
    /// The source had an alpha channel (composited on black).
    pub alpha: bool,
    /// The source had more than 8 bits per sample.
    pub deep: bool,
    /// Source size (height, width).
    pub source: (u32, u32),
}

/// Decodes `bytes` (header checked against `max_pixels` first) and converts
/// it to `size`. The error says in words what was wrong.
pub fn decode_convert(bytes: &[u8], size: ImageSize, max_pixels: u64) -> Result<Converted, String> {
    let img = decode(bytes, max_pixels)?;
    Ok(convert(&img, size))
}

/// Reads only the header: (width, height).
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not a recognised image format".into());
    }
    catch_unwind(AssertUnwindSafe(|| reader.into_dimensions()))
        .map_err(|_| "the decoder panicked".to_string())?
        .map_err(|e| e.to_string())
}

/// Decodes the first frame, refusing more than `max_pixels` pixels before decoding.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, String> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not a recognised image format".into());
    }
    let run = || -> Result<DynamicImage, String> {
        let decoder = reader.into_decoder().map_err(|e| e.to_string())?;
        let (w, h) = decoder.dimensions();
        let pixels = u64::from(w) * u64::from(h);
        if pixels > max_pixels {
            return Err(format!(
                "{w}×{h} = {pixels} pixels, more than the limit of {max_pixels} \
                 (a decompression bomb?)"
            ));
        }
        if pixels == 0 {
            return Err(format!("empty image ({w}×{h})"));
        }
        DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())
    };
    catch_unwind(AssertUnwindSafe(run)).map_err(|_| "the decoder panicked".to_string())?
}

/// Converts a decoded image (see the module documentation).
pub fn convert(img: &DynamicImage, size: ImageSize) -> Converted {
    use image::ColorType as C;
    let color = img.color();
    let gray = matches!(color, C::L8 | C::L16 | C::La8 | C::La16);
    let alpha = color.has_alpha();
    let deep = !matches!(color, C::L8 | C::La8 | C::Rgb8 | C::Rgba8);
    let source = (img.height(), img.width());
    let upscaled = source.0 < size.height || source.1 < size.width;
    let pixels = if gray {
        let g: GrayImage = if alpha {
            let la = img.to_luma_alpha8();
            ImageBuffer::from_fn(la.width(), la.height(), |x, y| {
                let p = la.get_pixel(x, y).0;
                image::Luma([over_black(p[0], p[1])])
            })
        } else {
            img.to_luma8()
        };
        planar(&resize_crop(g, size))
    } else {
        let rgb: RgbImage = if alpha {
            let rgba = img.to_rgba8();
            ImageBuffer::from_fn(rgba.width(), rgba.height(), |x, y| {
                let [r, g, b, a] = rgba.get_pixel(x, y).0;
                image::Rgb([over_black(r, a), over_black(g, a), over_black(b, a)])
            })
        } else {
            img.to_rgb8()
        };
        planar(&resize_crop(rgb, size))
    };
    Converted {
        gray,
        pixels,
        upscaled,
        alpha,
        deep,
        source,
    }
}

fn over_black(v: u8, a: u8) -> u8 {
    ((u32::from(v) * u32::from(a) + 127) / 255) as u8
}

/// The size the source is resized to before the centre crop: (width, height).
pub fn resized_dims(w: u32, h: u32, size: ImageSize) -> (u32, u32) {
    let (tw, th) = (u64::from(size.width), u64::from(size.height));
    let (w64, h64) = (u64::from(w), u64::from(h));
    // Compare th/h with tw/w without division: which side binds.
    if th * w64 >= tw * h64 {
        (((w64 * th) / h64).max(tw) as u32, size.height)
    } else {
        (size.width, ((h64 * tw) / w64).max(th) as u32)
    }
}

/// torchvision's `CenterCrop` offset: `int(round((have - want) / 2))`, with
/// Python's round-half-to-even.
pub fn crop_offset(have: u32, want: u32) -> u32 {
    let d = have - want;
    let half = d / 2;
    if d.is_multiple_of(2) || half.is_multiple_of(2) {
        half
    } else {
        half + 1
    }
}

fn resize_crop<P>(img: ImageBuffer<P, Vec<u8>>, size: ImageSize) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    let (w, h) = img.dimensions();
    let (rw, rh) = resized_dims(w, h, size);
    let (x0, y0) = (crop_offset(rw, size.width), crop_offset(rh, size.height));
    if (rw, rh) == (w, h) {
        if (w, h) == (size.width, size.height) {
            return img;
        }
        return image::imageops::crop_imm(&img, x0, y0, size.width, size.height).to_image();
    }
    let pixel_type = if P::CHANNEL_COUNT == 1 {
        fr::PixelType::U8
    } else {
        fr::PixelType::U8x3
    };
    let src = fr::images::Image::from_vec_u8(w, h, img.into_raw(), pixel_type)
        .expect("an 8-bit buffer of its own size");
    let mut dst = fr::images::Image::new(size.width, size.height, pixel_type);
    // The window [x0, x0 + W) of the resized image, in source pixels.
    let (sx, sy) = (f64::from(w) / f64::from(rw), f64::from(h) / f64::from(rh));
    let (left, top) = (f64::from(x0) * sx, f64::from(y0) * sy);
    // min(): rounding must not push the box past the source's edge.
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear))
        .crop(
            left,
            top,
            (f64::from(size.width) * sx).min(f64::from(w) - left),
            (f64::from(size.height) * sy).min(f64::from(h) - top),
        );
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("matching pixel types and a crop inside the source");
    ImageBuffer::from_raw(size.width, size.height, dst.into_vec()).expect("W×H pixels")
}

fn planar<P: Pixel<Subpixel = u8>>(img: &ImageBuffer<P, Vec<u8>>) -> Vec<u8> {
    let c = P::CHANNEL_COUNT as usize;
    let plane = (img.width() * img.height()) as usize;
    let raw = img.as_raw();
    let mut out = vec![0u8; plane * c];
    for p in 0..plane {
        for ch in 0..c {
            out[ch * plane + p] = raw[p * c + ch];
        }
    }
    out
}

/// Replicates a one-channel planar image to three channels.
pub fn gray_to_rgb(pixels: &[u8]) -> Vec<u8> {
    [pixels, pixels, pixels].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageEncoder;

    fn png_rgba(w: u32, h: u32, px: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(px, w, h, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    #[test]
    fn sizes_parse_and_resize_like_torchvision() {
        assert_eq!("32".parse::<ImageSize>().unwrap(), ImageSize::square(32));
        assert_eq!(
            "24x40".parse::<ImageSize>().unwrap(),
            ImageSize {
                height: 24,
                width: 40
            }
        );
        for bad in ["0", "x", "3x", "-1", "5000", "1.5"] {
            assert!(bad.parse::<ImageSize>().is_err(), "{bad}");
        }
        let s = ImageSize::square(64);
        // torchvision Resize(64): short side 64, long int(64·long/short).
        assert_eq!(resized_dims(300, 200, s), (96, 64));
        assert_eq!(resized_dims(200, 301, s), (64, 96));
        assert_eq!(resized_dims(64, 64, s), (64, 64));
        assert_eq!(resized_dims(10, 20, s), (64, 128));
        let r = ImageSize {
            height: 32,
            width: 64,
        };
        assert_eq!(resized_dims(100, 100, r), (64, 64));
        assert_eq!(resized_dims(400, 100, r), (128, 32));
        // CenterCrop: int(round(d / 2)) with round-half-to-even.
        assert_eq!(
            [(96, 64), (65, 64), (67, 64), (69, 64), (64, 64)].map(|(a, b)| crop_offset(a, b)),
            [16, 0, 2, 2, 0]
        );
    }

    #[test]
    fn exact_size_is_copied_and_alpha_composited_on_black() {
        let (w, h) = (5, 3);
        let mut rgba = Vec::new();
        for i in 0..w * h {
            rgba.extend([
                i as u8 * 10,
                255 - i as u8,
                7,
                if i == 0 { 128 } else { 255 },
            ]);
        }
        let c = decode_convert(
            &png_rgba(w, h, &rgba),
            ImageSize {
                height: 3,
                width: 5,
            },
            1000,
        )
        .unwrap();
        assert!(!c.gray && c.alpha && !c.upscaled && !c.deep);
        let plane = (w * h) as usize;
        for i in 0..plane {
            let a = u32::from(rgba[i * 4 + 3]);
            for ch in 0..3 {
                let v = u32::from(rgba[i * 4 + ch]);
                assert_eq!(u32::from(c.pixels[ch * plane + i]), (v * a + 127) / 255);
            }
        }
        // A constant image stays constant through any resize.
        let flat = png_rgba(7, 11, &[40, 80, 120, 255].repeat(77));
        let c = decode_convert(&flat, ImageSize::square(4), 1000).unwrap();
        assert_eq!(c.pixels, [[40; 16], [80; 16], [120; 16]].concat());
        let c = decode_convert(&flat, ImageSize::square(16), 1000).unwrap();
        assert!(c.upscaled && c.pixels.len() == 3 * 256);
    }

    #[test]
    fn rejects_bombs_garbage_and_empty_before_decoding() {
        let big = png_rgba(20, 10, &[0; 800]);
        let e = decode_convert(&big, ImageSize::square(4), 199).unwrap_err();
        assert!(e.contains("200 pixels") && e.contains("199"), "{e}");
        assert!(decode_convert(&big, ImageSize::square(4), 200).is_ok());
        let e = decode_convert(b"hello", ImageSize::square(4), 10).unwrap_err();
        assert!(e.contains("not a recognised image format"), "{e}");
        let e = decode_convert(&big[..big.len() / 2], ImageSize::square(4), 1000).unwrap_err();
        assert!(!e.is_empty());
    }
}
