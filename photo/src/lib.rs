//! Photos as uploaded from a phone: decoded for real, turned upright, resized to the widths pages
//! use and re-encoded as JPEG, so no byte of the original file (nor its GPS position) is kept.
//! A crate of its own so that the image code it instantiates is optimised even in debug builds.

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
pub use image::{Rgb, RgbImage};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The largest file accepted: a phone camera's photo.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The widths pages ask for, from a shop card on a phone to a product page on a large screen.
pub const WIDTHS: [u32; 3] = [320, 640, 1280];
/// The most pixels a side may have before decoding: far above any phone, far below a decompression bomb.
const MAX_SIDE: u32 = 12_000;
/// JPEG quality of every rendition: indistinguishable on a screen, a fifth of a phone's file.
const QUALITY: u8 = 82;

/// Why an upload is not a photo we keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoError {
    TooLarge,
    /// Not JPEG, PNG or WebP, or not decodable as one.
    NotAnImage,
}

impl PhotoError {
    pub fn message_key(self) -> &'static str {
        match self {
            PhotoError::TooLarge => "error.photo_too_large",
            PhotoError::NotAnImage => "error.photo_unreadable",
        }
    }
}

/// One size of a photo, as stored and served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
    /// Hex SHA-256 of `jpeg`: the name it is served under, so a URL never changes meaning.
    pub hash: String,
}

/// Decodes an upload and makes its renditions, smallest first; a photo narrower than a width
/// keeps its own width instead of being enlarged.
pub fn process(bytes: &[u8]) -> Result<Vec<Rendition>, PhotoError> {
    if bytes.len() > MAX_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| PhotoError::NotAnImage)?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
    ) {
        return Err(PhotoError::NotAnImage);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| PhotoError::NotAnImage)?;
    // Phones store photos sideways with an EXIF note saying which way is up.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|_| PhotoError::NotAnImage)?;
    img.apply_orientation(orientation);
    if img.width() == 0 || img.height() == 0 {
        return Err(PhotoError::NotAnImage);
    }
    renditions(on_white(&img))
}

/// The sizes of an upright picture, smallest first; none is wider than the picture itself.
pub fn renditions(picture: RgbImage) -> Result<Vec<Rendition>, PhotoError> {
    if picture.width() == 0 || picture.height() == 0 {
        return Err(PhotoError::NotAnImage);
    }
    let mut source = picture;
    let mut out = Vec::with_capacity(WIDTHS.len());
    // From the largest down, each size made from the one above it: fast and as sharp.
    for &width in WIDTHS.iter().rev() {
        if source.width() > width {
            let height = scaled_height(source.width(), source.height(), width);
            source = image::imageops::resize(&source, width, height, FilterType::Triangle);
        } else if out.iter().any(|r: &Rendition| r.width == source.width()) {
            continue;
        }
        out.push(encode(&source)?);
    }
    out.reverse();
    Ok(out)
}

/// A picture resized to exactly `width` × `height`, smoothly.
pub fn resized(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    image::imageops::resize(img, width, height, FilterType::Triangle)
}

/// The height that keeps the proportions at `width`, never zero.
fn scaled_height(w: u32, h: u32, width: u32) -> u32 {
    let scaled = (u64::from(h) * u64::from(width) + u64::from(w) / 2) / u64::from(w);
    u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
}

/// The picture over a white background: JPEG keeps no transparency, and a cut-out product sits on white.
fn on_white(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let mix = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    })
}

/// Encodes one rendition as a baseline JPEG with no metadata at all.
pub fn encode(img: &RgbImage) -> Result<Rendition, PhotoError> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(img)
        .map_err(|_| PhotoError::NotAnImage)?;
    Ok(Rendition {
        width: img.width(),
        height: img.height(),
        hash: hex::encode(Sha256::digest(&jpeg)),
        jpeg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgba, RgbaImage};

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbaImage::from_fn(w, h, |x, y| {
            Rgba([
                (x % 256) as u8,
                (y % 256) as u8,
                90,
                if x < 4 { 0 } else { 255 },
            ])
        });
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .expect("png");
        out
    }

    #[test]
    fn a_large_photo_gets_every_width_with_its_proportions() {
        let r = process(&png(2000, 1500)).expect("photo");
        let sizes: Vec<(u32, u32)> = r.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(sizes, [(320, 240), (640, 480), (1280, 960)]);
        for x in &r {
            assert_eq!(&x.jpeg[..2], &[0xFF, 0xD8], "a JPEG");
            assert_eq!(x.hash.len(), 64);
            let back = image::load_from_memory(&x.jpeg).expect("decodes");
            assert_eq!((back.width(), back.height()), (x.width, x.height));
        }
    }

    #[test]
    fn a_small_photo_is_never_enlarged() {
        let r = process(&png(500, 100)).expect("photo");
        let sizes: Vec<(u32, u32)> = r.iter().map(|r| (r.width, r.height)).collect();
        assert_eq!(sizes, [(320, 64), (500, 100)]);
        let tiny = process(&png(40, 30)).expect("photo");
        assert_eq!(tiny.len(), 1);
        assert_eq!((tiny[0].width, tiny[0].height), (40, 30));
    }

    #[test]
    fn transparency_becomes_white() {
        let r = process(&png(40, 30)).expect("photo");
        let back = image::load_from_memory(&r[0].jpeg)
            .expect("decodes")
            .to_rgb8();
        let p = back.get_pixel(0, 10).0;
        assert!(p.iter().all(|&c| c > 235), "{p:?}");
    }

    #[test]
    fn anything_but_a_photo_is_refused() {
        assert_eq!(process(b"GIF89a...."), Err(PhotoError::NotAnImage));
        assert_eq!(process(b"hello"), Err(PhotoError::NotAnImage));
        assert_eq!(process(&[]), Err(PhotoError::NotAnImage));
        // A PNG cut short is not decodable.
        let cut = png(100, 100);
        assert_eq!(process(&cut[..cut.len() / 2]), Err(PhotoError::NotAnImage));
        assert_eq!(process(&vec![0; MAX_BYTES + 1]), Err(PhotoError::TooLarge));
    }

    #[test]
    fn scaled_heights_round_and_never_vanish() {
        assert_eq!(scaled_height(2000, 1500, 320), 240);
        assert_eq!(scaled_height(3, 2, 2), 1);
        assert_eq!(scaled_height(10_000, 1, 320), 1);
    }
}
