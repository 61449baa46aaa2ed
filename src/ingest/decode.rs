//! Decoding while reading: the files a [`Selector`] marks ([`Selector::decodes`]; certificate
//! files for the analysis) go, as the reader loads them, to decoding threads (one per core),
//! and the tree keeps what the decoder made of each ([`VFile::decoded`](super::VFile)) instead
//! of its bytes (or beside them, when the decoder says other readers need them). The reader never waits for a parse (a bounded queue holds the files in
//! flight), so parsing runs beside inflating, and the bytes of 100,000 certificate files are
//! never held at once.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::{Decoded, InputTree, Selector};

/// One file handed over: its order among the input's handed files, its logical path, its bytes.
pub(crate) type Job = (u64, String, Vec<u8>);

/// Files in flight between the reader and the decoding threads.
const QUEUE: usize = 256;

/// What became of one handed file.
enum Outcome {
    Decoded(Decoded),
    /// Decoded, and the bytes kept too ([`Decoded::keep_bytes`]).
    Both(Decoded, Vec<u8>),
    /// The decoder declined (or failed): the bytes go back into the tree.
    Bytes(Vec<u8>),
}

/// Run `read` with a sender to the selector's decoding threads (none when the selector decodes
/// nothing), then put what the threads made into the tree `read` returns.
pub(crate) fn reading(
    selector: &dyn Selector,
    read: impl FnOnce(Option<SyncSender<Job>>) -> InputTree,
) -> InputTree {
    if selector.decoder().is_none() {
        return read(None);
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let (tx, rx) = sync_channel::<Job>(QUEUE);
    let rx = Mutex::new(rx);
    let (mut tree, mut done) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| work(selector, &rx)))
            .collect();
        let tree = read(Some(tx));
        let done: Vec<(u64, String, Outcome)> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect();
        (tree, done)
    });
    // In reading order, so a path the archive holds twice ends as its last copy.
    done.sort_by_key(|(seq, _, _)| *seq);
    for (_, path, outcome) in done {
        if let Some(f) = tree.files.get_mut(path.as_str()) {
            match outcome {
                Outcome::Decoded(d) => f.decoded = Some(d),
                Outcome::Both(d, b) => {
                    f.decoded = Some(d);
                    f.data = b;
                }
                Outcome::Bytes(b) => f.data = b,
            }
        }
    }
    tree
}

/// One decoding thread: files until the reader hangs up. A decoder that panics on a file
/// gives the file's bytes back (the stage after reads them as if never decoded).
fn work(selector: &dyn Selector, rx: &Mutex<Receiver<Job>>) -> Vec<(u64, String, Outcome)> {
    let mut out = Vec::new();
    let Some(mut decoder) = selector.decoder() else {
        return out;
    };
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return out,
        };
        let Ok((seq, path, data)) = job else {
            return out;
        };
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decoder.decode(&path, &data)
        }))
        .ok()
        .flatten();
        let outcome = match decoded {
            Some(d) if d.keep_bytes => Outcome::Both(d, data),
            Some(d) => Outcome::Decoded(d),
            None => Outcome::Bytes(data),
        };
        out.push((seq, path, outcome));
    }
}
