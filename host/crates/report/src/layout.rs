//! A layered (Sugiyama-style) layout of a directed acyclic graph, top to bottom.
//!
//! Steps: longest-path layering → dummy nodes on edges spanning several layers → barycentric ordering
//! (down and up sweeps, the order with the fewest crossings kept) → x by repeatedly moving each node towards
//! the mean of its neighbours, then the closest positions that keep the order and the gaps (isotonic
//! regression, pool-adjacent-violators) → y per layer → edge polylines with spread ports.
//!
//! Pure geometry over indices: it knows nothing of workflows, and it is deterministic (no hashing, no
//! randomness), so the same graph always gets the same picture. Workflows are acyclic (the seal refuses
//! cycles); if a cycle slips in anyway the layout stays total: the edges that close it are drawn without
//! taking part in the layering.

/// A box placed by the layout: top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub nodes: Vec<Rect>,
    /// Per input edge: the points it passes through, source port first, target port last. Consecutive points
    /// are meant to be joined by curves with vertical tangents.
    pub edges: Vec<Vec<(f64, f64)>>,
    /// Layer of each node (0 at the top).
    pub layers: Vec<usize>,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Spacing {
    /// Vertical space between two layers (edge labels go there).
    pub layer_gap: f64,
    /// Horizontal space between two boxes in a layer.
    pub node_gap: f64,
    /// Width reserved for an edge passing through a layer.
    pub dummy_width: f64,
}

const ORDER_SWEEPS: usize = 24;
const X_ITERATIONS: usize = 12;

/// Lays out `sizes.len()` boxes of the given (width, height) and the `edges` between them.
pub fn layout(sizes: &[(f64, f64)], edges: &[(usize, usize)], sp: Spacing) -> Layout {
    let n = sizes.len();
    let edges: Vec<(usize, usize)> = edges.iter().copied().filter(|&(a, b)| a < n && b < n).collect();
    let layer = layering(n, &edges);

    // Virtual graph: real nodes 0..n, then one dummy per layer an edge crosses.
    let mut vlayer = layer.clone();
    let mut vwidth: Vec<f64> = sizes.iter().map(|s| s.0).collect();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    let mut vedges: Vec<(usize, usize)> = Vec::new();
    for &(a, b) in &edges {
        let mut chain = vec![a];
        if layer[b] > layer[a] {
            for l in layer[a] + 1..layer[b] {
                vlayer.push(l);
                vwidth.push(sp.dummy_width);
                chain.push(vlayer.len() - 1);
            }
        }
        chain.push(b);
        // Edges that do not go down (only possible with a cycle) take no part in ordering or placement.
        if layer[b] > layer[a] {
            vedges.extend(chain.windows(2).map(|w| (w[0], w[1])));
        }
        chains.push(chain);
    }
    let vn = vlayer.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); vn];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); vn];
    for &(a, b) in &vedges {
        succs[a].push(b);
        preds[b].push(a);
    }
    let nlayers = vlayer.iter().copied().max().map_or(0, |m| m + 1);

    let order = ordering(vn, nlayers, &vlayer, &preds, &succs);
    let real = |v: usize| v < n;
    let sep = |a: usize, b: usize| {
        let gap = if real(a) && real(b) {
            sp.node_gap
        } else {
            sp.node_gap / 3.0
        };
        (vwidth[a] + vwidth[b]) / 2.0 + gap
    };
    let weight = |v: usize| if real(v) { 1.0 } else { 0.4 };

    // x: start packed, then relax towards neighbours under the order and gap constraints.
    let mut x = vec![0.0; vn];
    for row in &order {
        let mut cur = 0.0;
        for (i, &v) in row.iter().enumerate() {
            if i > 0 {
                cur += sep(row[i - 1], v);
            }
            x[v] = cur;
        }
    }
    for it in 0..X_ITERATIONS {
        let (rows, use_preds, use_succs): (Vec<&Vec<usize>>, bool, bool) = match it % 3 {
            0 => (order.iter().collect(), true, false),
            1 => (order.iter().rev().collect(), false, true),
            _ => (order.iter().collect(), true, true),
        };
        for row in rows {
            let desired: Vec<f64> = row
                .iter()
                .map(|&v| {
                    let mut ns: Vec<usize> = Vec::new();
                    if use_preds {
                        ns.extend(&preds[v]);
                    }
                    if use_succs {
                        ns.extend(&succs[v]);
                    }
                    if ns.is_empty() {
                        x[v]
                    } else {
                        ns.iter().map(|&u| x[u]).sum::<f64>() / ns.len() as f64
                    }
                })
                .collect();
            let seps: Vec<f64> = row.windows(2).map(|w| sep(w[0], w[1])).collect();
            let weights: Vec<f64> = row.iter().map(|&v| weight(v)).collect();
            for (v, xv) in row.iter().zip(place_in_order(&desired, &seps, &weights)) {
                x[*v] = xv;
            }
        }
    }
    let min_left = (0..vn).map(|v| x[v] - vwidth[v] / 2.0).fold(f64::INFINITY, f64::min);
    let min_left = if min_left.is_finite() { min_left } else { 0.0 };
    for xv in &mut x {
        *xv -= min_left;
    }
    let width = (0..vn).map(|v| x[v] + vwidth[v] / 2.0).fold(0.0, f64::max);

    // y: each layer as tall as its tallest box; boxes centred in their layer.
    let mut layer_h = vec![0.0f64; nlayers];
    for v in 0..n {
        layer_h[layer[v]] = layer_h[layer[v]].max(sizes[v].1);
    }
    let mut layer_top = vec![0.0; nlayers];
    for l in 1..nlayers {
        layer_top[l] = layer_top[l - 1] + layer_h[l - 1] + sp.layer_gap;
    }
    let height = if nlayers == 0 {
        0.0
    } else {
        layer_top[nlayers - 1] + layer_h[nlayers - 1]
    };
    let nodes: Vec<Rect> = (0..n)
        .map(|v| {
            let (w, h) = sizes[v];
            Rect {
                x: x[v] - w / 2.0,
                y: layer_top[layer[v]] + (layer_h[layer[v]] - h) / 2.0,
                w,
                h,
            }
        })
        .collect();

    // Ports: a node's outgoing edges leave its bottom spread left to right in the order of where they go;
    // incoming edges arrive on its top likewise. Separate ports keep parallel edges and their labels apart.
    let first_hop = |c: &Vec<usize>| c.get(1).map_or(0.0, |&v| x[v]);
    let last_hop = |c: &Vec<usize>| c.len().checked_sub(2).and_then(|i| c.get(i)).map_or(0.0, |&v| x[v]);
    let mut out_port = vec![0.0; chains.len()];
    let mut in_port = vec![0.0; chains.len()];
    for (v, node) in nodes.iter().enumerate() {
        let mut outs: Vec<usize> = (0..chains.len()).filter(|&e| edges[e].0 == v).collect();
        outs.sort_by(|&a, &b| first_hop(&chains[a]).total_cmp(&first_hop(&chains[b])).then(a.cmp(&b)));
        for (i, &e) in outs.iter().enumerate() {
            out_port[e] = spread(node, i, outs.len());
        }
        let mut ins: Vec<usize> = (0..chains.len()).filter(|&e| edges[e].1 == v).collect();
        ins.sort_by(|&a, &b| last_hop(&chains[a]).total_cmp(&last_hop(&chains[b])).then(a.cmp(&b)));
        for (i, &e) in ins.iter().enumerate() {
            in_port[e] = spread(node, i, ins.len());
        }
    }
    let edge_points = chains
        .iter()
        .enumerate()
        .map(|(e, chain)| {
            let (a, b) = edges[e];
            let mut pts = vec![(out_port[e], nodes[a].bottom())];
            for &d in &chain[1..chain.len() - 1] {
                let l = vlayer[d];
                pts.push((x[d], layer_top[l]));
                pts.push((x[d], layer_top[l] + layer_h[l]));
            }
            pts.push((in_port[e], nodes[b].y));
            pts
        })
        .collect();

    Layout {
        nodes,
        edges: edge_points,
        layers: layer,
        width,
        height,
    }
}

/// Port `i` of `k` along the middle 70% of a box's width.
fn spread(r: &Rect, i: usize, k: usize) -> f64 {
    if k <= 1 {
        return r.cx();
    }
    let span = r.w * 0.7;
    r.cx() - span / 2.0 + span * i as f64 / (k - 1) as f64
}

/// Longest-path layering from the sources (Kahn's order). Nodes on a cycle go below everything they can
/// see, which keeps the function total without pretending the cycle is fine.
fn layering(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a != b {
            succs[a].push(b);
            indeg[b] += 1;
        }
    }
    let mut layer = vec![0usize; n];
    let mut done = vec![false; n];
    let mut ready: std::collections::VecDeque<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    while let Some(v) = ready.pop_front() {
        done[v] = true;
        for &s in &succs[v] {
            layer[s] = layer[s].max(layer[v] + 1);
            indeg[s] -= 1;
            if indeg[s] == 0 {
                ready.push_back(s);
            }
        }
    }
    let deepest = layer.iter().copied().max().unwrap_or(0);
    let mut next = deepest + 1;
    for v in 0..n {
        if !done[v] {
            layer[v] = next;
            next += 1;
        }
    }
    layer
}

/// The order of nodes within each layer: depth-first discovery order, improved by barycentric sweeps.
fn ordering(
    vn: usize,
    nlayers: usize,
    vlayer: &[usize],
    preds: &[Vec<usize>],
    succs: &[Vec<usize>],
) -> Vec<Vec<usize>> {
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); nlayers];
    let mut seen = vec![false; vn];
    for root in 0..vn {
        if seen[root] || !preds[root].is_empty() {
            continue;
        }
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            if seen[v] {
                continue;
            }
            seen[v] = true;
            order[vlayer[v]].push(v);
            stack.extend(succs[v].iter().rev().copied());
        }
    }
    for (v, s) in seen.iter().enumerate() {
        if !s {
            order[vlayer[v]].push(v);
        }
    }

    let mut pos = vec![0usize; vn];
    let index = |order: &Vec<Vec<usize>>, pos: &mut Vec<usize>| {
        for row in order {
            for (i, &v) in row.iter().enumerate() {
                pos[v] = i;
            }
        }
    };
    index(&order, &mut pos);
    let mut best = order.clone();
    let mut best_crossings = crossings(&order, &pos, succs);
    for sweep in 0..ORDER_SWEEPS {
        let down = sweep % 2 == 0;
        let rows: Vec<usize> = if down {
            (1..nlayers).collect()
        } else {
            (0..nlayers.saturating_sub(1)).rev().collect()
        };
        for l in rows {
            let neighbours = if down { preds } else { succs };
            let mut keyed: Vec<(f64, usize, usize)> = order[l]
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let ns = &neighbours[v];
                    let key = if ns.is_empty() {
                        i as f64
                    } else {
                        ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
                    };
                    (key, i, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            order[l] = keyed.into_iter().map(|k| k.2).collect();
            for (i, &v) in order[l].iter().enumerate() {
                pos[v] = i;
            }
        }
        let c = crossings(&order, &pos, succs);
        if c < best_crossings {
            best_crossings = c;
            best = order.clone();
        }
    }
    best
}

/// Number of edge crossings between consecutive layers.
fn crossings(order: &[Vec<usize>], pos: &[usize], succs: &[Vec<usize>]) -> usize {
    let mut total = 0;
    for row in order {
        let es: Vec<(usize, usize)> = row
            .iter()
            .flat_map(|&u| succs[u].iter().map(move |&v| (u, v)))
            .map(|(u, v)| (pos[u], pos[v]))
            .collect();
        for i in 0..es.len() {
            for j in i + 1..es.len() {
                let (a, b) = (es[i], es[j]);
                if (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1) {
                    total += 1;
                }
            }
        }
    }
    total
}

/// The positions closest (weighted least squares) to `desired` such that consecutive positions are at least
/// `seps[i]` apart: isotonic regression of `desired - cumulative(seps)` by pool-adjacent-violators.
fn place_in_order(desired: &[f64], seps: &[f64], weights: &[f64]) -> Vec<f64> {
    let k = desired.len();
    let mut offset = vec![0.0; k];
    for i in 1..k {
        offset[i] = offset[i - 1] + seps[i - 1];
    }
    // Blocks of (weighted mean, total weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(k);
    for i in 0..k {
        let w = weights[i].max(1e-9);
        blocks.push((desired[i] - offset[i], w, 1));
        while blocks.len() > 1 {
            let (m2, w2, c2) = blocks[blocks.len() - 1];
            let (m1, w1, c1) = blocks[blocks.len() - 2];
            if m1 <= m2 {
                break;
            }
            blocks.truncate(blocks.len() - 2);
            blocks.push(((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2));
        }
    }
    let mut out = Vec::with_capacity(k);
    for (m, _, c) in blocks {
        for _ in 0..c {
            out.push(m + offset[out.len()]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SP: Spacing = Spacing {
        layer_gap: 60.0,
        node_gap: 30.0,
        dummy_width: 12.0,
    };

    fn no_overlaps(l: &Layout) {
        for (i, a) in l.nodes.iter().enumerate() {
            for b in &l.nodes[i + 1..] {
                let apart = a.x + a.w <= b.x + 1e-6
                    || b.x + b.w <= a.x + 1e-6
                    || a.bottom() <= b.y + 1e-6
                    || b.bottom() <= a.y + 1e-6;
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn a_diamond_is_layered_and_does_not_overlap() {
        let sizes = vec![(80.0, 40.0); 4];
        let l = layout(&sizes, &[(0, 1), (0, 2), (1, 3), (2, 3)], SP);
        assert_eq!(l.layers, vec![0, 1, 1, 2]);
        no_overlaps(&l);
        // Edges go down.
        for pts in &l.edges {
            assert!(pts.first().map(|p| p.1) < pts.last().map(|p| p.1), "{pts:?}");
        }
        // The join sits between its two parents.
        assert!(l.nodes[3].cx() > l.nodes[1].cx().min(l.nodes[2].cx()));
        assert!(l.nodes[3].cx() < l.nodes[1].cx().max(l.nodes[2].cx()));
    }

    #[test]
    fn long_edges_get_bends_and_layering_is_longest_path() {
        let sizes = vec![(60.0, 30.0); 4];
        let l = layout(&sizes, &[(0, 1), (1, 2), (0, 3), (2, 3)], SP);
        assert_eq!(l.layers, vec![0, 1, 2, 3]);
        // 0 -> 3 spans two intermediate layers: 2 points per dummy plus the ports.
        assert_eq!(l.edges[2].len(), 6);
        no_overlaps(&l);
    }

    #[test]
    fn ordering_removes_an_avoidable_crossing() {
        // 0 -> {1, 2}; 1 -> 4, 2 -> 3: the initial order [3, 4] crosses, the barycentric one does not.
        let sizes = vec![(50.0, 30.0); 5];
        let l = layout(&sizes, &[(0, 1), (0, 2), (1, 4), (2, 3)], SP);
        let (x1, x2, x3, x4) = (l.nodes[1].cx(), l.nodes[2].cx(), l.nodes[3].cx(), l.nodes[4].cx());
        assert_eq!(x1 < x2, x4 < x3, "1 and 4 stay on the same side");
        no_overlaps(&l);
    }

    #[test]
    fn a_cycle_does_not_hang_or_panic() {
        let sizes = vec![(50.0, 30.0); 3];
        let l = layout(&sizes, &[(0, 1), (1, 2), (2, 1)], SP);
        assert_eq!(l.nodes.len(), 3);
        assert_eq!(l.edges.len(), 3);
        no_overlaps(&l);
    }

    #[test]
    fn isotonic_placement_keeps_order_and_gaps() {
        let x = place_in_order(&[10.0, 0.0, 5.0], &[20.0, 20.0], &[1.0, 1.0, 1.0]);
        assert!(x[1] - x[0] >= 20.0 - 1e-9 && x[2] - x[1] >= 20.0 - 1e-9, "{x:?}");
        // Already feasible positions are kept.
        assert_eq!(place_in_order(&[0.0, 50.0], &[20.0], &[1.0, 1.0]), vec![0.0, 50.0]);
    }
}
