//! Data parallelism on every core with scoped threads: contiguous chunks, results in input
//! order, inline when the work is small. Used where one stage dominates a large input
//! (certificate parsing and signature checks, JSON rendering).

/// `f` over `items` on every core (contiguous chunks, results in order); inline when small.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_init(items, || (), |_, t| f(t))
}

/// [`map`] with per-thread state made by `init`.
pub fn map_init<T: Sync, R: Send, S: Send>(
    items: &[T],
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    fold(
        items,
        || (init(), Vec::new()),
        |(state, out): &mut (S, Vec<R>), t| out.push(f(state, t)),
    )
    .into_iter()
    .flat_map(|(_, out)| out)
    .collect()
}

/// Fold contiguous chunks of `items` on every core into one accumulator per thread (made by
/// `init`), returned in chunk order; inline (one accumulator) when small.
pub fn fold<T: Sync, A: Send>(
    items: &[T],
    init: impl Fn() -> A + Sync,
    f: impl Fn(&mut A, &T) + Sync,
) -> Vec<A> {
    const MIN_PER_THREAD: usize = 256;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len() / MIN_PER_THREAD)
        .min(16);
    if threads <= 1 {
        let mut acc = init();
        items.iter().for_each(|t| f(&mut acc, t));
        return vec![acc];
    }
    let per = items.len().div_ceil(threads);
    let (f, init) = (&f, &init);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    let mut acc = init();
                    chunk.iter().for_each(|t| f(&mut acc, t));
                    acc
                })
            })
            .collect();
        join_all(handles)
    })
}

/// Every thread's result, in order; a thread's panic is raised again here.
fn join_all<R>(handles: Vec<std::thread::ScopedJoinHandle<'_, R>>) -> Vec<R> {
    handles
        .into_iter()
        .map(|h| match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        })
        .collect()
}

/// `f` over `items`, one thread per item (for a few large, independent pieces of work, such as
/// rendering chunks of output); results in order.
pub fn each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    std::thread::scope(|s| join_all(items.iter().map(|t| s.spawn(move || f(t))).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_input_order_on_every_core() {
        let items: Vec<u64> = (0..10_000).collect();
        let out = map(&items, |x| x * 3);
        assert_eq!(out, items.iter().map(|x| x * 3).collect::<Vec<_>>());
    }

    #[test]
    fn fold_covers_every_item_once() {
        let items: Vec<u64> = (1..=10_000).collect();
        let parts = fold(
            &items,
            || (0u64, 0usize),
            |(sum, n), x| {
                *sum += x;
                *n += 1;
            },
        );
        assert_eq!(parts.iter().map(|p| p.0).sum::<u64>(), 10_000 * 10_001 / 2);
        assert_eq!(parts.iter().map(|p| p.1).sum::<usize>(), 10_000);
    }

    #[test]
    fn each_runs_every_item() {
        assert_eq!(each(&[1, 2, 3], |x| x * 10), vec![10, 20, 30]);
        assert!(each(&[] as &[u8], |x| *x).is_empty());
    }
}
