//! Read-ahead decoding: a compressed stream (tar.gz, tar.xz) is inflated on a second thread
//! while the calling thread parses the tar and loads entries, so a single large input uses two
//! cores. The decoder runs at most [`DEPTH`] chunks ahead; when the reader stops (a limit was
//! hit, the archive ended or broke) the channel closes and the decoder thread ends at its next
//! chunk, so a bomb is never inflated further than that.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

/// Bytes per chunk handed from the decoder thread to the reader.
const CHUNK: usize = 256 << 10;
/// Chunks the decoder may be ahead of the reader (bounds the memory to `DEPTH × CHUNK`).
const DEPTH: usize = 4;

/// The reading end: yields the decoded bytes in order, then the decoder's error if it had one.
pub(crate) struct Ahead {
    rx: Receiver<io::Result<Vec<u8>>>,
    /// Read chunks go back to the decoder for reuse (no fresh 256 KiB buffer per chunk).
    back: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

/// Start decoding `src` on a thread of `scope`.
pub(crate) fn spawn<'scope, R: Read + Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    src: R,
) -> Ahead {
    let (tx, rx) = sync_channel(DEPTH);
    let (back, spare) = sync_channel(DEPTH + 2);
    scope.spawn(move || decode(src, &tx, &spare));
    Ahead {
        rx,
        back,
        cur: Vec::new(),
        pos: 0,
    }
}

fn decode<R: Read>(mut src: R, tx: &SyncSender<io::Result<Vec<u8>>>, spare: &Receiver<Vec<u8>>) {
    loop {
        let mut buf = spare.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let mut n = 0;
        while n < CHUNK {
            match src.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // What was decoded before the error still counts; then the error.
                    if n > 0 {
                        buf.truncate(n);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if n == 0 {
            return;
        }
        buf.truncate(n);
        if tx.send(Ok(buf)).is_err() {
            return;
        }
    }
}

impl Read for Ahead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let done = std::mem::replace(&mut self.cur, chunk);
                    if done.capacity() > 0 {
                        // A full return queue just drops the buffer.
                        let _ = self.back.try_send(done);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The decoder finished (or its thread is gone): end of stream.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that yields `good` bytes, then fails.
    struct Failing {
        good: usize,
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.good == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt deflate",
                ));
            }
            let n = buf.len().min(self.good).min(1000);
            buf[..n].fill(7);
            self.good -= n;
            Ok(n)
        }
    }

    #[test]
    fn bytes_arrive_in_order_across_chunks() {
        let data: Vec<u8> = (0..(3 * CHUNK + 12345)).map(|i| (i % 251) as u8).collect();
        let got = std::thread::scope(|s| {
            let mut r = spawn(s, &data[..]);
            let mut out = Vec::new();
            r.read_to_end(&mut out).map(|_| out)
        });
        assert_eq!(got.ok().as_deref(), Some(&data[..]));
    }

    #[test]
    fn decoded_bytes_then_the_error() {
        let (n, err) = std::thread::scope(|s| {
            let mut r = spawn(s, Failing { good: 5000 });
            let mut out = Vec::new();
            let err = r.read_to_end(&mut out).err();
            (out.len(), err)
        });
        assert_eq!(n, 5000);
        assert_eq!(
            err.map(|e| e.kind()),
            Some(io::ErrorKind::InvalidData),
            "the decoder's error reaches the reader"
        );
    }

    #[test]
    fn a_reader_that_stops_ends_the_decoder() {
        // An endless source: the scope only returns if the decoder thread notices the reader
        // is gone.
        struct Endless;
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(0);
                Ok(buf.len())
            }
        }
        std::thread::scope(|s| {
            let mut r = spawn(s, Endless);
            let mut b = [0u8; 10];
            assert_eq!(r.read(&mut b).ok(), Some(10));
            drop(r);
        });
    }
}
