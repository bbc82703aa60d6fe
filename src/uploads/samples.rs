//! The files the lab sends through the avatar pipeline, made on the spot: the same bytes an
//! attacker or an unlucky user would upload.

use std::io::{Cursor, Write};

use flate2::write::ZlibEncoder;
use flate2::{Compression, Crc};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// A PNG of a few KB whose header claims 50,000 × 50,000 pixels: 7.5 GB once decoded. Its
/// pixel data is the start of that image, compressed about a thousand to one.
pub fn decompression_bomb() -> Vec<u8> {
    let side: u32 = 50_000;
    let mut header = Vec::new();
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    // 8 bits per channel, RGB, deflate, adaptive filtering, not interlaced.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::best());
    let row = vec![0u8; side as usize * 3 + 1];
    for _ in 0..20 {
        let _ = zlib.write_all(&row);
    }
    let data = zlib.finish().unwrap_or_default();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &data);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    png.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A PDF, named `avatar.png` by whoever uploads it.
pub fn renamed_pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// A real picture: a 320 × 240 gradient as a PNG.
pub fn picture() -> Vec<u8> {
    let image = RgbImage::from_fn(320, 240, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 160])
    });
    let mut bytes = Vec::new();
    let _ = DynamicImage::ImageRgb8(image).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png);
    bytes
}
