//! zlib (RFC 1950) in memory, with a hard cap on what decompression may produce.

use std::io::{Read, Write};

/// Compresses at the highest level (the Token Status List recommends it).
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Decompresses, refusing more than `limit` bytes of output (a decompression bomb).
pub fn decompress(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(data).take(limit as u64 + 1);
    dec.read_to_end(&mut out).ok()?;
    (out.len() <= limit).then_some(out)
}
