//! A layered graph layout computed in-process (no Graphviz on the user's machine): a small
//! Sugiyama pipeline, left to right.
//!
//! 1. cycles broken by a depth-first search in vertex order (a back edge is laid out reversed
//!    and drawn in its own direction again);
//! 2. layers by longest path from the sources; vertices marked `last` (the leaf groups) move to
//!    the last layer so every leaf lines up in one column;
//! 3. an edge spanning several layers goes through one dummy point per layer between;
//! 4. the order within each layer by barycentre sweeps (down then up, a few rounds), keeping the
//!    order with the fewest crossings;
//! 5. coordinates: columns from the widest box of each layer, rows pulled towards the mean of
//!    their neighbours and pushed apart where they would overlap (the mean of a downward and an
//!    upward packing, which keeps both the order and the gap).
//!
//! Everything is deterministic: ties are broken by the vertices' given order and the arithmetic
//! is plain IEEE (the same bytes for the same input on every machine).

/// Horizontal gap between two layers (room for the edges).
const HGAP: f64 = 90.0;
/// Vertical gap between two boxes of a layer.
const VGAP: f64 = 12.0;
/// Margin around the drawing.
pub const MARGIN: f64 = 10.0;
/// Ordering rounds (each a downward and an upward sweep).
const SWEEPS: usize = 6;
/// Coordinate rounds.
const PULLS: usize = 6;

/// The graph to lay out: box sizes, edges by vertex index, and the vertices that belong in the
/// last layer.
#[derive(Debug, Default, Clone)]
pub struct Input {
    /// (width, height) of each vertex's box.
    pub sizes: Vec<(f64, f64)>,
    /// Directed edges (from, to); self-loops and repeats are ignored.
    pub edges: Vec<(usize, usize)>,
    /// Vertices drawn in the last layer (sinks only: one with an outgoing edge stays put).
    pub last: Vec<bool>,
}

/// A box's top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// An input edge: (from, to).
pub type EdgeRef = (usize, usize);

/// The drawing: one box per vertex, one polyline per edge (in the edge's own direction, from the
/// right side of its source to the left side of its target), and the size of the whole.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub boxes: Vec<Rect>,
    /// Per input edge kept (in input order), its points.
    pub edges: Vec<(EdgeRef, Vec<(f64, f64)>)>,
    pub width: f64,
    pub height: f64,
}

/// Lay `g` out.
pub fn layout(g: &Input) -> Layout {
    let n = g.sizes.len();
    if n == 0 {
        return Layout::default();
    }
    let edges = clean_edges(g);
    let oriented = break_cycles(n, &edges);
    let layer = layers(n, &oriented, &g.last);
    // Vertices of the layered graph: the real ones, then one dummy per layer crossed.
    let mut vlayer: Vec<usize> = layer.clone();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(oriented.len());
    let mut adj: Vec<(usize, usize)> = Vec::new();
    for &(u, v) in &oriented {
        let mut chain = vec![u];
        let mut prev = u;
        for l in layer[u] + 1..layer[v] {
            let d = vlayer.len();
            vlayer.push(l);
            adj.push((prev, d));
            chain.push(d);
            prev = d;
        }
        adj.push((prev, v));
        chain.push(v);
        chains.push(chain);
    }
    let total = vlayer.len();
    let nlayers = vlayer.iter().max().map_or(0, |m| m + 1);
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); total];
    for &(a, b) in &adj {
        succs[a].push(b);
        preds[b].push(a);
    }
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); nlayers];
    for (v, &l) in vlayer.iter().enumerate() {
        order[l].push(v);
    }
    let order = arrange(order, &preds, &succs, total);
    let size = |v: usize| -> (f64, f64) { g.sizes.get(v).copied().unwrap_or((0.0, 0.0)) };
    // Columns.
    let mut col_x = Vec::with_capacity(nlayers);
    let mut col_w = Vec::with_capacity(nlayers);
    let mut x = MARGIN;
    for layer_vs in &order {
        let w = layer_vs.iter().map(|&v| size(v).0).fold(0.0, f64::max);
        col_x.push(x);
        col_w.push(w);
        x += w + HGAP;
    }
    let width = x - HGAP + MARGIN;
    // Rows.
    let ys = rows(&order, &preds, &succs, &size, total);
    let mut boxes = Vec::with_capacity(n);
    for v in 0..n {
        let (w, h) = size(v);
        let l = vlayer[v];
        boxes.push(Rect {
            x: round(col_x[l]),
            y: round(ys[v]),
            w,
            h,
        });
    }
    let height = boxes
        .iter()
        .map(|b| b.y + b.h)
        .chain((n..total).map(|d| ys[d]))
        .fold(0.0, f64::max)
        + MARGIN;
    let mut out_edges = Vec::with_capacity(edges.len());
    for (i, &(u, v)) in oriented.iter().enumerate() {
        let chain = &chains[i];
        let mut pts = Vec::with_capacity(chain.len());
        for (k, &c) in chain.iter().enumerate() {
            if c < n {
                let b = boxes[c];
                let x = if k == 0 { b.x + b.w } else { b.x };
                pts.push((round(x), round(b.y + b.h / 2.0)));
            } else {
                let l = vlayer[c];
                pts.push((round(col_x[l] + col_w[l] / 2.0), round(ys[c])));
            }
        }
        let original = edges[i];
        if original != (u, v) {
            pts.reverse();
        }
        out_edges.push((original, pts));
    }
    Layout {
        boxes,
        edges: out_edges,
        width: round(width),
        height: round(height),
    }
}

/// Edges without self-loops and repeats, in input order.
fn clean_edges(g: &Input) -> Vec<(usize, usize)> {
    let n = g.sizes.len();
    let mut seen = std::collections::BTreeSet::new();
    g.edges
        .iter()
        .copied()
        .filter(|&(u, v)| u != v && u < n && v < n && seen.insert((u, v)))
        .collect()
}

/// Each edge oriented so that the graph has no cycle: an edge closing a cycle in a depth-first
/// search (vertices in index order, successors in edge order) is reversed.
fn break_cycles(n: usize, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (i, &(u, v)) in edges.iter().enumerate() {
        out[u].push((v, i));
    }
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; n];
    let mut reversed = vec![false; edges.len()];
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(top) = stack.last_mut() {
            let (v, next) = *top;
            if let Some(&(w, i)) = out[v].get(next) {
                top.1 += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => reversed[i] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    edges
        .iter()
        .zip(&reversed)
        .map(|(&(u, v), &r)| if r { (v, u) } else { (u, v) })
        .collect()
}

/// Longest-path layers of an acyclic graph; sinks marked `last` go to the last layer.
fn layers(n: usize, edges: &[(usize, usize)], last: &[bool]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(u, v) in edges {
        out[u].push(v);
        indeg[v] += 1;
    }
    let mut layer = vec![0usize; n];
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    while let Some(v) = ready.pop_first() {
        for &w in &out[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                ready.insert(w);
            }
        }
    }
    let max = layer.iter().copied().max().unwrap_or(0);
    for v in 0..n {
        if last.get(v).copied().unwrap_or(false) && out[v].is_empty() {
            layer[v] = max;
        }
    }
    layer
}

/// The order within each layer: barycentre sweeps, keeping the order with the fewest crossings.
fn arrange(
    mut order: Vec<Vec<usize>>,
    preds: &[Vec<usize>],
    succs: &[Vec<usize>],
    total: usize,
) -> Vec<Vec<usize>> {
    let mut pos = vec![0usize; total];
    let index = |order: &[Vec<usize>], pos: &mut [usize]| {
        for layer in order {
            for (i, &v) in layer.iter().enumerate() {
                pos[v] = i;
            }
        }
    };
    index(&order, &mut pos);
    let mut best = order.clone();
    let mut best_crossings = crossings(&order, succs, &pos);
    for _ in 0..SWEEPS {
        for layer in order.iter_mut().skip(1) {
            sort_by_barycentre(layer, preds, &mut pos);
        }
        let below_last = order.len().saturating_sub(1);
        for layer in order.iter_mut().take(below_last).rev() {
            sort_by_barycentre(layer, succs, &mut pos);
        }
        let c = crossings(&order, succs, &pos);
        if c < best_crossings {
            best_crossings = c;
            best = order.clone();
        }
        if best_crossings == 0 {
            break;
        }
    }
    best
}

/// Sort one layer by the mean position of each vertex's neighbours in the adjacent layer (a
/// vertex without any keeps its place); ties keep the current order. Updates `pos`.
fn sort_by_barycentre(layer: &mut [usize], neighbours: &[Vec<usize>], pos: &mut [usize]) {
    let mut keyed: Vec<(f64, usize, usize)> = layer
        .iter()
        .map(|&v| {
            let ns = &neighbours[v];
            let bary = if ns.is_empty() {
                pos[v] as f64
            } else {
                ns.iter().map(|&w| pos[w] as f64).sum::<f64>() / ns.len() as f64
            };
            (bary, pos[v], v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (i, (_, _, v)) in keyed.into_iter().enumerate() {
        layer[i] = v;
        pos[v] = i;
    }
}

/// Edge crossings between adjacent layers (pairs of edges whose ends are in opposite orders).
fn crossings(order: &[Vec<usize>], succs: &[Vec<usize>], pos: &[usize]) -> usize {
    let mut total = 0;
    for layer in order {
        let mut es: Vec<(usize, usize)> = Vec::new();
        for &v in layer {
            for &w in &succs[v] {
                es.push((pos[v], pos[w]));
            }
        }
        es.sort_unstable();
        // Count inversions of the targets (merge-sort count, O(e log e)).
        let mut targets: Vec<usize> = es.iter().map(|e| e.1).collect();
        total += inversions(&mut targets);
    }
    total
}

/// Number of pairs `i < j` with `v[i] > v[j]`; sorts `v`.
fn inversions(v: &mut [usize]) -> usize {
    let len = v.len();
    if len < 2 {
        return 0;
    }
    let mid = len / 2;
    let mut count = inversions(&mut v[..mid]) + inversions(&mut v[mid..]);
    let mut merged = Vec::with_capacity(len);
    let (mut i, mut j) = (0, mid);
    while i < mid && j < len {
        if v[j] < v[i] {
            count += mid - i;
            merged.push(v[j]);
            j += 1;
        } else {
            merged.push(v[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&v[i..mid]);
    merged.extend_from_slice(&v[j..len]);
    v.copy_from_slice(&merged);
    count
}

/// The top of every vertex (dummies: their centre line), pulled towards the mean centre of their
/// neighbours, alternately those before and after.
fn rows(
    order: &[Vec<usize>],
    preds: &[Vec<usize>],
    succs: &[Vec<usize>],
    size: &dyn Fn(usize) -> (f64, f64),
    total: usize,
) -> Vec<f64> {
    let mut y = vec![0.0f64; total];
    for layer in order {
        let mut at = MARGIN;
        for &v in layer {
            y[v] = at;
            at += size(v).1 + VGAP;
        }
    }
    let centre = |y: &[f64], v: usize| y[v] + size(v).1 / 2.0;
    for round_no in 0..PULLS {
        let (range, neighbours): (Vec<usize>, &[Vec<usize>]) = if round_no % 2 == 0 {
            ((1..order.len()).collect(), preds)
        } else {
            ((0..order.len().saturating_sub(1)).rev().collect(), succs)
        };
        for l in range {
            let layer = &order[l];
            let desired: Vec<f64> = layer
                .iter()
                .map(|&v| {
                    let ns = &neighbours[v];
                    if ns.is_empty() {
                        y[v]
                    } else {
                        ns.iter().map(|&w| centre(&y, w)).sum::<f64>() / ns.len() as f64
                            - size(v).1 / 2.0
                    }
                })
                .collect();
            let placed = pack(layer, &desired, size);
            for (&v, p) in layer.iter().zip(placed) {
                y[v] = p;
            }
        }
    }
    let min = y.iter().copied().fold(f64::INFINITY, f64::min);
    if min.is_finite() {
        for v in &mut y {
            *v += MARGIN - min;
        }
    }
    y
}

/// Tops as close to `desired` as the order and the gaps allow: the mean of a packing pushed down
/// from the first and one pushed up from the last (both keep the gaps, so their mean does).
fn pack(layer: &[usize], desired: &[f64], size: &dyn Fn(usize) -> (f64, f64)) -> Vec<f64> {
    let k = layer.len();
    let mut down = vec![0.0; k];
    for i in 0..k {
        down[i] = if i == 0 {
            desired[0]
        } else {
            desired[i].max(down[i - 1] + size(layer[i - 1]).1 + VGAP)
        };
    }
    let mut up = vec![0.0; k];
    for i in (0..k).rev() {
        up[i] = if i + 1 == k {
            desired[i]
        } else {
            desired[i].min(up[i + 1] - size(layer[i]).1 - VGAP)
        };
    }
    down.iter().zip(&up).map(|(a, b)| (a + b) / 2.0).collect()
}

/// A coordinate to a tenth of a pixel (what the SVG prints).
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(n: usize, edges: &[(usize, usize)]) -> Input {
        Input {
            sizes: vec![(100.0, 30.0); n],
            edges: edges.to_vec(),
            last: vec![false; n],
        }
    }

    #[test]
    fn a_chain_goes_left_to_right_one_layer_per_step() {
        let l = layout(&input(3, &[(0, 1), (1, 2)]));
        assert!(l.boxes[0].x < l.boxes[1].x && l.boxes[1].x < l.boxes[2].x);
        assert_eq!(l.edges.len(), 2);
        // Each edge leaves the right side of its source and enters the left side of its target.
        let ((from, to), pts) = &l.edges[0];
        assert_eq!((*from, *to), (0, 1));
        assert_eq!(pts.first().map(|p| p.0), Some(l.boxes[0].x + 100.0));
        assert_eq!(pts.last().map(|p| p.0), Some(l.boxes[1].x));
    }

    #[test]
    fn a_long_edge_bends_through_one_point_per_layer_crossed() {
        let l = layout(&input(3, &[(0, 1), (1, 2), (0, 2)]));
        let long = l.edges.iter().find(|(e, _)| *e == (0, 2)).map(|(_, p)| p);
        assert_eq!(long.map(Vec::len), Some(3));
    }

    #[test]
    fn cycles_are_laid_out_and_keep_their_direction() {
        let l = layout(&input(2, &[(0, 1), (1, 0), (0, 0)]));
        assert_eq!(l.edges.len(), 2, "the self-loop is dropped");
        let back = l.edges.iter().find(|(e, _)| *e == (1, 0)).map(|(_, p)| p);
        // Drawn from 1 (right column) back to 0.
        let back = back.expect("back edge");
        assert!(back[0].0 > back[back.len() - 1].0);
    }

    #[test]
    fn boxes_of_a_layer_never_overlap_and_marked_sinks_line_up_last() {
        // Root 0 with intermediates 1, 2; leaves 3..9 under all three.
        let mut edges = vec![(0, 1), (0, 2)];
        for leaf in 3..10 {
            edges.push((leaf % 3, leaf));
        }
        let mut g = input(10, &edges);
        g.last = (0..10).map(|v| v >= 3).collect();
        let l = layout(&g);
        let last_x = l.boxes[3].x;
        for b in &l.boxes[3..] {
            assert_eq!(b.x, last_x);
        }
        let mut col: Vec<Rect> = l.boxes[3..].to_vec();
        col.sort_by(|a, b| a.y.total_cmp(&b.y));
        for w in col.windows(2) {
            assert!(w[0].y + w[0].h + VGAP - 0.2 <= w[1].y, "{w:?}");
        }
        assert!(l.boxes.iter().all(|b| b.y >= MARGIN - 0.1));
        assert!(l.boxes.iter().all(|b| b.y + b.h <= l.height));
    }

    #[test]
    fn barycentre_ordering_removes_avoidable_crossings() {
        // 0→3, 1→2 given crossed: the sweep uncrosses them.
        let mut g = input(4, &[(0, 3), (1, 2)]);
        g.last = vec![false, false, true, true];
        let l = layout(&g);
        let order = |a: usize, b: usize| l.boxes[a].y < l.boxes[b].y;
        assert_eq!(order(0, 1), order(3, 2));
    }

    #[test]
    fn the_same_graph_gives_the_same_layout() {
        let edges: Vec<(usize, usize)> = (1..40).map(|v| (v / 3, v)).collect();
        let a = layout(&input(40, &edges));
        let b = layout(&input(40, &edges));
        assert_eq!(a.boxes, b.boxes);
        assert_eq!(a.edges, b.edges);
    }

    #[test]
    fn inversions_counts_out_of_order_pairs() {
        assert_eq!(inversions(&mut [3, 1, 2]), 2);
        assert_eq!(inversions(&mut [1, 2, 3]), 0);
        assert_eq!(inversions(&mut []), 0);
    }
}
