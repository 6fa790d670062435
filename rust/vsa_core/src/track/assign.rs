//! Optimal assignment on rectangular cost matrices, with a cost limit.
//!
//! [`assign_dense`] solves the linear assignment problem with the shortest augmenting path
//! method of Jonker and Volgenant (dual potentials, one Dijkstra-like search per row, as in
//! the Hungarian method in its O(n²m) form). A *cost limit* `L` turns it into the problem the
//! trackers need: pairs costing `L` or more are never matched, and the matching minimises
//! `Σ matched cost + L/2 · (unmatched rows + unmatched columns)`, which is what
//! `lap.lapjv(..., extend_cost=True, cost_limit=L)` (used by ByteTrack) computes. Clamping
//! costs at `L`, assigning every row of the smaller side, and dropping pairs at `L` gives
//! exactly that optimum.
//!
//! [`assign_sparse`] takes only the pairs under the limit (a tracker's gated candidates),
//! splits them into connected components and solves each one on its own: the same optimum,
//! but hundreds of far-apart objects cost hundreds of tiny problems instead of one large one.

/// Optimal matching of a `rows × cols` row-major `cost` matrix under `limit`.
///
/// Returns, for each row, the matched column or `None`. Costs that are NaN or `>= limit` are
/// never matched. Ties are broken deterministically (the same input gives the same output).
pub fn assign_dense(cost: &[f64], rows: usize, cols: usize, limit: f64) -> Vec<Option<usize>> {
    assert_eq!(cost.len(), rows * cols, "cost matrix size");
    let mut out = vec![None; rows];
    if rows == 0 || cols == 0 {
        return out;
    }
    let clamp = |c: f64| if c < limit { c } else { limit };
    let transposed = rows > cols;
    let (n, m) = if transposed {
        (cols, rows)
    } else {
        (rows, cols)
    };
    let mut clamped = Vec::with_capacity(n * m);
    // A finite stand-in for an infinite limit: larger than any sum of finite costs.
    let finite_max = cost
        .iter()
        .copied()
        .filter(|c| c.is_finite())
        .fold(0.0, f64::max);
    let cap = if limit.is_finite() {
        limit
    } else {
        (finite_max + 1.0) * (n as f64 + 1.0)
    };
    for i in 0..n {
        for j in 0..m {
            let c = if transposed {
                cost[j * cols + i]
            } else {
                cost[i * cols + j]
            };
            let c = clamp(c);
            clamped.push(if c.is_nan() || c > cap { cap } else { c });
        }
    }
    let row_to_col = shortest_augmenting_path(&clamped, n, m);
    for (i, &j) in row_to_col.iter().enumerate() {
        let (r, c) = if transposed { (j, i) } else { (i, j) };
        let value = cost[r * cols + c];
        if value < limit {
            out[r] = Some(c);
        }
    }
    out
}

/// Optimal matching from the candidate pairs `(row, col, cost)`; pairs absent or costing
/// `>= limit` are never matched. Returns the matched `(row, col)` pairs sorted by row.
pub fn assign_sparse(
    edges: &[(usize, usize, f64)],
    rows: usize,
    cols: usize,
    limit: f64,
) -> Vec<(usize, usize)> {
    let edges: Vec<(usize, usize, f64)> = edges.iter().copied().filter(|e| e.2 < limit).collect();
    // Union-find over rows (0..rows) and columns (rows..rows + cols).
    let mut parent: Vec<usize> = (0..rows + cols).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(r, c, _) in &edges {
        let (a, b) = (find(&mut parent, r), find(&mut parent, rows + c));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    // Group the edges by component, in order of first appearance.
    let mut component_of_root = vec![usize::MAX; rows + cols];
    let mut components: Vec<Vec<(usize, usize, f64)>> = Vec::new();
    for &e in &edges {
        let root = find(&mut parent, e.0);
        if component_of_root[root] == usize::MAX {
            component_of_root[root] = components.len();
            components.push(Vec::new());
        }
        components[component_of_root[root]].push(e);
    }
    let mut matches = Vec::new();
    let mut local_row = vec![usize::MAX; rows];
    let mut local_col = vec![usize::MAX; cols];
    for component in &components {
        if let [(r, c, _)] = component.as_slice() {
            matches.push((*r, *c));
            continue;
        }
        let mut row_ids = Vec::new();
        let mut col_ids = Vec::new();
        for &(r, c, _) in component {
            if local_row[r] == usize::MAX {
                local_row[r] = row_ids.len();
                row_ids.push(r);
            }
            if local_col[c] == usize::MAX {
                local_col[c] = col_ids.len();
                col_ids.push(c);
            }
        }
        let (n, m) = (row_ids.len(), col_ids.len());
        let mut dense = vec![limit; n * m];
        for &(r, c, cost) in component {
            let cell = &mut dense[local_row[r] * m + local_col[c]];
            *cell = cell.min(cost);
        }
        for (i, j) in assign_dense(&dense, n, m, limit).into_iter().enumerate() {
            if let Some(j) = j {
                matches.push((row_ids[i], col_ids[j]));
            }
        }
    }
    matches.sort_unstable();
    matches
}

/// Minimum-cost assignment of every row of an `n × m` matrix (`n <= m`, finite costs).
fn shortest_augmenting_path(cost: &[f64], n: usize, m: usize) -> Vec<usize> {
    debug_assert!(n <= m);
    // 1-based: index 0 is the virtual start column/row.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut owner = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    let mut min_slack = vec![f64::INFINITY; m + 1];
    let mut used = vec![false; m + 1];
    for i in 1..=n {
        owner[0] = i;
        let mut j0 = 0usize;
        min_slack.fill(f64::INFINITY);
        used.fill(false);
        loop {
            used[j0] = true;
            let i0 = owner[j0];
            let row = &cost[(i0 - 1) * m..i0 * m];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if used[j] {
                    continue;
                }
                let slack = row[j - 1] - u[i0] - v[j];
                if slack < min_slack[j] {
                    min_slack[j] = slack;
                    way[j] = j0;
                }
                if min_slack[j] < delta {
                    delta = min_slack[j];
                    j1 = j;
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[owner[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_slack[j] -= delta;
                }
            }
            j0 = j1;
            if owner[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            owner[j0] = owner[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_to_col = vec![0usize; n];
    for j in 1..=m {
        if owner[j] != 0 {
            row_to_col[owner[j] - 1] = j - 1;
        }
    }
    row_to_col
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// The objective `Σ matched + limit/2 · unmatched` of a matching.
    fn objective(cost: &[f64], rows: usize, cols: usize, limit: f64, m: &[Option<usize>]) -> f64 {
        let matched: Vec<(usize, usize)> = m
            .iter()
            .enumerate()
            .filter_map(|(i, j)| j.map(|j| (i, j)))
            .collect();
        let k = matched.len() as f64;
        let sum: f64 = matched.iter().map(|&(i, j)| cost[i * cols + j]).sum();
        sum + 0.5 * limit * ((rows as f64 - k) + (cols as f64 - k))
    }

    /// Every partial injective matching, by recursion over rows.
    fn brute_force(cost: &[f64], rows: usize, cols: usize, limit: f64) -> f64 {
        #[allow(clippy::too_many_arguments)]
        fn go(
            cost: &[f64],
            rows: usize,
            cols: usize,
            limit: f64,
            i: usize,
            taken: &mut Vec<bool>,
            acc: &mut Vec<Option<usize>>,
            best: &mut f64,
        ) {
            if i == rows {
                *best = best.min(objective(cost, rows, cols, limit, acc));
                return;
            }
            acc.push(None);
            go(cost, rows, cols, limit, i + 1, taken, acc, best);
            acc.pop();
            for j in 0..cols {
                if !taken[j] && cost[i * cols + j] < limit {
                    taken[j] = true;
                    acc.push(Some(j));
                    go(cost, rows, cols, limit, i + 1, taken, acc, best);
                    acc.pop();
                    taken[j] = false;
                }
            }
        }
        let mut best = f64::INFINITY;
        go(
            cost,
            rows,
            cols,
            limit,
            0,
            &mut vec![false; cols],
            &mut Vec::new(),
            &mut best,
        );
        best
    }

    fn check_valid(m: &[Option<usize>], cols: usize) {
        let mut seen = vec![false; cols];
        for j in m.iter().flatten() {
            assert!(!seen[*j], "column {j} matched twice");
            seen[*j] = true;
        }
    }

    #[test]
    fn dense_matches_brute_force_on_random_rectangles() {
        let mut rng = Rng::new(7);
        for trial in 0..600 {
            let rows = (rng.next_u64() % 6) as usize;
            let cols = (rng.next_u64() % 6) as usize;
            // Few distinct values, so that ties are common.
            let cost: Vec<f64> = (0..rows * cols)
                .map(|_| (rng.next_u64() % 9) as f64 / 8.0)
                .collect();
            let limit = [0.3, 0.5, 0.8, 1.01, f64::INFINITY][trial % 5];
            let m = assign_dense(&cost, rows, cols, limit);
            check_valid(&m, cols);
            let lim = if limit.is_finite() { limit } else { 100.0 };
            let got = objective(&cost, rows, cols, lim, &m);
            let want = brute_force(&cost, rows, cols, lim);
            assert!(
                (got - want).abs() < 1e-9,
                "trial {trial}: {got} vs {want} {cost:?}"
            );
        }
    }

    #[test]
    fn sparse_equals_dense() {
        let mut rng = Rng::new(11);
        for _ in 0..300 {
            let rows = 1 + (rng.next_u64() % 12) as usize;
            let cols = 1 + (rng.next_u64() % 12) as usize;
            let limit = 0.8;
            let mut dense = vec![f64::INFINITY; rows * cols];
            let mut edges = Vec::new();
            for i in 0..rows {
                for j in 0..cols {
                    if rng.uniform() < 0.2 {
                        let c = rng.uniform();
                        dense[i * cols + j] = c;
                        edges.push((i, j, c));
                    }
                }
            }
            let d = assign_dense(&dense, rows, cols, limit);
            let s = assign_sparse(&edges, rows, cols, limit);
            let mut from_sparse = vec![None; rows];
            for (i, j) in s {
                from_sparse[i] = Some(j);
            }
            let a = objective(&dense, rows, cols, limit, &d);
            let b = objective(&dense, rows, cols, limit, &from_sparse);
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn prefers_more_matches_when_cheaper_than_leaving_unmatched() {
        // Row 0 could take column 0 at 0.1, but then row 1 is left alone: 0.3 + 0.3 is better.
        let cost = [0.1, 0.3, 0.3, 0.9];
        assert_eq!(assign_dense(&cost, 2, 2, 0.8), vec![Some(1), Some(0)]);
        assert_eq!(assign_dense(&[0.9, 0.95], 1, 2, 0.8), vec![None]);
        assert_eq!(
            assign_dense(&[f64::NAN, 0.2], 2, 1, 0.8),
            vec![None, Some(0)]
        );
    }
}
