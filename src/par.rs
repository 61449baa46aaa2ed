//! Data parallelism on every core with scoped threads: contiguous chunks, results in input
//! order, inline when the work is small. Used where one stage dominates a large input
//! (certificate parsing and signature checks, JSON rendering).

/// `f` over `items` on every core (contiguous chunks, results in order); inline when small.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_init(items, || (), |_, t| f(t))
}

/// [`map`] with per-thread state made by `init`. Each thread's results go to a vector of the
/// chunk's size, and the first one grows to hold the rest: 100,000 results are never held three
/// times over (a thread's vector doubling, then a collected copy).
pub fn map_init<T: Sync, R: Send, S: Send>(
    items: &[T],
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let per = items.len().div_ceil(threads_for(items.len()));
    let mut outs = fold(
        items,
        || (init(), Vec::with_capacity(per)),
        |(state, out): &mut (S, Vec<R>), t| out.push(f(state, t)),
    )
    .into_iter()
    .map(|(_, out)| out);
    let mut all = outs.next().unwrap_or_default();
    all.reserve_exact(items.len().saturating_sub(all.len()));
    for out in outs {
        all.extend(out);
    }
    all
}

/// How many threads [`fold`] uses for `len` items (1: inline).
fn threads_for(len: usize) -> usize {
    const MIN_PER_THREAD: usize = 256;
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(len / MIN_PER_THREAD)
        .clamp(1, 16)
}

/// Fold contiguous chunks of `items` on every core into one accumulator per thread (made by
/// `init`), returned in chunk order; inline (one accumulator) when small.
pub fn fold<T: Sync, A: Send>(
    items: &[T],
    init: impl Fn() -> A + Sync,
    f: impl Fn(&mut A, &T) + Sync,
) -> Vec<A> {
    let threads = threads_for(items.len());
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

/// `f` over `items` on every core, the items spread over the threads by `weight` (largest
/// first, each to the least loaded thread), so a few large items do not leave a core idle;
/// results in input order; inline when there is one item or one core.
pub fn map_balanced<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> u64,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_balanced_on(items, weight, None, f)
}

/// [`map_balanced`] on threads with at least `stack` bytes of stack each (always on spawned
/// threads then, one at least, so `f` may recurse as deep as that stack allows).
pub fn map_balanced_on<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> u64,
    stack: Option<usize>,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len())
        .min(16);
    if threads == 0 || (threads == 1 && stack.is_none()) {
        return items.iter().map(&f).collect();
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weight(&items[i])));
    let mut bins: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); threads];
    for i in order {
        if let Some(bin) = bins.iter_mut().min_by_key(|b| b.0) {
            bin.0 = bin.0.saturating_add(weight(&items[i]).max(1));
            bin.1.push(i);
        }
    }
    let f = &f;
    let done: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(bins.len());
        for (_, idx) in &bins {
            let work = move || idx.iter().map(|&i| (i, f(&items[i]))).collect::<Vec<_>>();
            let mut b = std::thread::Builder::new();
            if let Some(bytes) = stack {
                b = b.stack_size(bytes);
            }
            match b.spawn_scoped(s, work) {
                Ok(h) => handles.push(h),
                // No thread to be had: do this share here (only `stack` was asked beyond it).
                Err(_) => handles.push(s.spawn(work)),
            }
        }
        join_all(handles)
    });
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    for (i, r) in done.into_iter().flatten() {
        out[i] = Some(r);
    }
    out.into_iter().flatten().collect()
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
    fn map_balanced_keeps_input_order_whatever_the_weights() {
        let items: Vec<u64> = (0..1000).map(|i| (i * 7919) % 1000).collect();
        let out = map_balanced(&items, |x| *x, |x| x + 1);
        assert_eq!(out, items.iter().map(|x| x + 1).collect::<Vec<_>>());
        assert!(map_balanced(&[] as &[u64], |x| *x, |x| *x).is_empty());
        assert_eq!(map_balanced(&[5u64], |_| 0, |x| x * 2), vec![10]);
    }

    #[test]
    fn each_runs_every_item() {
        assert_eq!(each(&[1, 2, 3], |x| x * 10), vec![10, 20, 30]);
        assert!(each(&[] as &[u8], |x| *x).is_empty());
    }
}
