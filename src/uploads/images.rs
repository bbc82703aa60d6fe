//! Whatever a client sent becomes a picture we drew ourselves: the format is read from the
//! bytes (never the file name or the Content-Type), the image is decoded under limits on its
//! dimensions and the decoder's memory, and a fresh 256 × 256 PNG is encoded from its pixels.
//! Nothing of the original file survives: no EXIF or GPS data, no comments, no second image
//! hidden after the first, no script.

use std::io::Cursor;

use image::{imageops, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// The largest width or height decoded. A few KB of PNG can claim 50,000 × 50,000 pixels
/// (10 GB of memory): that is refused from the header, before any pixel is decoded.
pub const MAX_SIDE: u32 = 4096;
/// The side of every avatar served.
pub const THUMBNAIL_SIDE: u32 = 256;
/// The decoder's memory: a 4096 × 4096 RGBA image is 64 MiB; a 16-bit one would be twice that.
const MAX_DECODER_BYTES: u64 = 80 * 1024 * 1024;

/// Why a file is not made an avatar. `Display` is the message shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefusal {
    #[error("This file is not an image. Use a PNG, JPEG, GIF or WebP picture.")]
    NotAnImage,
    #[error("{0} images are not accepted. Use a PNG, JPEG, GIF or WebP picture.")]
    Unsupported(&'static str),
    #[error("The image is damaged or incomplete. Try saving it again.")]
    Damaged,
    #[error("The image is too large: at most {MAX_SIDE} × {MAX_SIDE} pixels are accepted.")]
    TooManyPixels,
    /// Within the pixel limit, but over the decoder's memory (16 bits per channel, say).
    #[error(
        "The image needs too much memory to read. Save it smaller, or with 8 bits per channel."
    )]
    TooMuchMemory,
}

impl ImageRefusal {
    /// The metrics' outcome label.
    pub fn outcome(&self) -> &'static str {
        match self {
            ImageRefusal::TooManyPixels | ImageRefusal::TooMuchMemory => "too_many_pixels",
            _ => "not_an_image",
        }
    }
}

/// A thumbnail we encoded, and the version that names it in URLs (and its ETag).
#[derive(Debug)]
pub struct Thumbnail {
    pub png: Vec<u8>,
    pub version: String,
}

/// The formats accepted, each as `image` names it.
fn accepted(format: ImageFormat) -> bool {
    matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    )
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODER_BYTES);
    limits
}

/// Decodes `bytes` under the limits and encodes the square thumbnail: the centre of the image
/// (turned upright by its EXIF orientation), `THUMBNAIL_SIDE` pixels square. A GIF gives its
/// first frame. CPU-bound: run it off the async threads.
pub fn thumbnail(bytes: &[u8]) -> Result<Thumbnail, ImageRefusal> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ImageRefusal::Damaged)?;
    let format = reader.format().ok_or(ImageRefusal::NotAnImage)?;
    if !accepted(format) {
        return Err(ImageRefusal::Unsupported(format_name(format)));
    }
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageRefusal::Damaged);
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageRefusal::TooManyPixels);
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    let has_alpha = image.color().has_alpha();
    // Scaled down from a view of the centre square, then turned upright (a turn keeps the
    // centre square where it is): the decoded image is never copied, so a decode needs little
    // more memory than its pixels.
    let side = width.min(height);
    let square = imageops::crop_imm(&image, (width - side) / 2, (height - side) / 2, side, side);
    let small = imageops::thumbnail(&*square, THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    drop(image);
    let mut small = DynamicImage::ImageRgba8(small);
    small.apply_orientation(orientation);
    let pixels = match has_alpha {
        true => small,
        false => DynamicImage::ImageRgb8(small.to_rgb8()),
    };
    let mut png = Vec::new();
    pixels
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|_| ImageRefusal::Damaged)?;
    let version = hex::encode(&Sha256::digest(&png)[..8]);
    Ok(Thumbnail { png, version })
}

fn refusal(error: ImageError) -> ImageRefusal {
    use image::error::LimitErrorKind;
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => ImageRefusal::TooManyPixels,
            _ => ImageRefusal::TooMuchMemory,
        },
        // An accepted format in a variant its decoder does not read (an arithmetic-coded JPEG).
        _ => ImageRefusal::Damaged,
    }
}

/// A format's common name, for the message.
fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Ico => "ICO",
        ImageFormat::Avif => "AVIF",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Hdr => "HDR",
        ImageFormat::Qoi => "QOI",
        ImageFormat::Pnm => "PNM",
        ImageFormat::Tga => "TGA",
        ImageFormat::Dds => "DDS",
        ImageFormat::Farbfeld => "Farbfeld",
        _ => "Those",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = DynamicImage::new_rgb8(width, height);
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn a_picture_becomes_a_square_png_of_the_thumbnail_side() {
        let thumbnail = thumbnail(&png(300, 200)).unwrap();
        let decoded = image::load_from_memory(&thumbnail.png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (256, 256));
        assert_eq!(thumbnail.version.len(), 16);
    }

    #[test]
    fn text_is_not_an_image_whatever_it_is_called() {
        assert_eq!(
            thumbnail(b"%PDF-1.4 not a picture").unwrap_err(),
            ImageRefusal::NotAnImage
        );
        assert_eq!(
            thumbnail(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>")
                .unwrap_err(),
            ImageRefusal::NotAnImage
        );
    }

    #[test]
    fn a_truncated_png_is_damaged() {
        let bytes = png(64, 64);
        assert_eq!(
            thumbnail(&bytes[..bytes.len() / 2]).unwrap_err(),
            ImageRefusal::Damaged
        );
    }

    #[test]
    fn a_tiff_is_named_in_the_refusal() {
        assert_eq!(
            thumbnail(b"II*\0\x08\0\0\0").unwrap_err(),
            ImageRefusal::Unsupported("TIFF")
        );
    }
}
