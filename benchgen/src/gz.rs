//! A gzip writer that can pass incompressible data through as deflate *stored* blocks.
//!
//! Compressible bytes (tar headers, configs, PEM files) go through zlib-rs at the chosen level.
//! Incompressible bytes (containerd layer blobs, which are themselves gzip) are written as stored
//! blocks after a full flush: that is what zlib's deflate emits for such data anyway (a stored
//! block is cheaper than any Huffman coding of random bytes), so the decompression work for
//! `gzip -dc` is the same, while generation skips gigabytes of futile match searching. The
//! output is one ordinary gzip member: `gzip -t` checks its CRC-32 and length.

use flate2::{Compress, Compression, Crc, FlushCompress};
use std::io::{self, Write};

/// Largest payload of one stored block.
const STORED_MAX: usize = 65_535;

/// Streaming gzip encoder writing to `W`.
pub struct GzSegments<W: Write> {
    out: W,
    deflate: Compress,
    crc: Crc,
    buf: Vec<u8>,
    /// Whether compressible input went in since the last flush.
    dirty: bool,
}

impl<W: Write> GzSegments<W> {
    /// Start a gzip member (no name, mtime 0, OS unix) at compression `level`.
    pub fn new(mut out: W, level: u32) -> io::Result<Self> {
        let xfl = match level {
            9 => 2,
            1 => 4,
            _ => 0,
        };
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3])?;
        Ok(GzSegments {
            out,
            deflate: Compress::new(Compression::new(level), false),
            crc: Crc::new(),
            buf: Vec::with_capacity(1 << 20),
            dirty: false,
        })
    }

    fn run(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            self.buf.clear();
            let before_in = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut self.buf, flush)
                .map_err(io::Error::other)?;
            let used = (self.deflate.total_in() - before_in) as usize;
            input = &input[used..];
            self.out.write_all(&self.buf)?;
            let full = self.buf.len() == self.buf.capacity();
            if status == flate2::Status::StreamEnd || (input.is_empty() && !full) {
                return Ok(());
            }
        }
    }

    /// Compress `data`.
    pub fn compressible(&mut self, data: &[u8]) -> io::Result<()> {
        self.crc.update(data);
        self.dirty = true;
        self.run(data, FlushCompress::None)
    }

    /// Store `data` uncompressed (still part of the same deflate stream).
    pub fn stored(&mut self, data: &[u8]) -> io::Result<()> {
        if self.dirty {
            // Byte-align and drop the dictionary: nothing after this refers back.
            self.run(&[], FlushCompress::Full)?;
            self.dirty = false;
        }
        self.crc.update(data);
        for chunk in data.chunks(STORED_MAX) {
            let len = chunk.len() as u16;
            // BFINAL=0, BTYPE=00, then pad to the byte boundary: one zero byte.
            self.out.write_all(&[0])?;
            self.out.write_all(&len.to_le_bytes())?;
            self.out.write_all(&(!len).to_le_bytes())?;
            self.out.write_all(chunk)?;
        }
        Ok(())
    }

    /// Finish the deflate stream and write the gzip trailer; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        // The compressor emits the final block; after stored blocks it starts byte-aligned.
        self.run(&[], FlushCompress::Finish)?;
        let crc = self.crc.sum();
        let isize = self.crc.amount();
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.write_all(&isize.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn mixed_stream_round_trips() {
        let mut g = GzSegments::new(Vec::new(), 6).unwrap();
        let text = b"hello hello hello hello\n".repeat(1000);
        let mut noise = vec![0u8; 200_000];
        crate::rng::Rng::new(1, 1).fill(&mut noise);
        g.compressible(&text).unwrap();
        g.stored(&noise).unwrap();
        g.compressible(&text).unwrap();
        g.stored(&noise[..10]).unwrap();
        let gz = g.finish().unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        let mut expect = text.clone();
        expect.extend_from_slice(&noise);
        expect.extend_from_slice(&text);
        expect.extend_from_slice(&noise[..10]);
        assert_eq!(back, expect);
    }
}
