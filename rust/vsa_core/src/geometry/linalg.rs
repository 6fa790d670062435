//! The little linear algebra the homography needs: a one-sided Jacobi SVD and 3×3 matrices.

pub(crate) type Mat3 = [[f64; 3]; 3];

/// Right singular vectors and singular values of the `rows × 9` matrix `a` (row-major), by
/// one-sided Jacobi (Hestenes) rotations: `a · V` gets orthogonal columns whose norms are the
/// singular values. Works for any number of rows, fewer than 9 included. Returns `(values,
/// vectors)` sorted by increasing singular value; `vectors[k]` is the k-th right singular
/// vector.
pub(crate) fn svd_right(a: &[[f64; 9]]) -> ([f64; 9], [[f64; 9]; 9]) {
    const N: usize = 9;
    let mut u: Vec<[f64; N]> = a.to_vec();
    let mut v = [[0.0; N]; N]; // v[row][col], columns are the vectors
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..N - 1 {
            for q in p + 1..N {
                let (mut alpha, mut beta, mut gamma) = (0.0, 0.0, 0.0);
                for r in &u {
                    alpha += r[p] * r[p];
                    beta += r[q] * r[q];
                    gamma += r[p] * r[q];
                }
                if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let t = if zeta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for r in u.iter_mut() {
                    let (x, y) = (r[p], r[q]);
                    r[p] = c * x - s * y;
                    r[q] = s * x + c * y;
                }
                for r in v.iter_mut() {
                    let (x, y) = (r[p], r[q]);
                    r[p] = c * x - s * y;
                    r[q] = s * x + c * y;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let mut order: Vec<(f64, usize)> = (0..N)
        .map(|j| (u.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt(), j))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut values = [0.0; N];
    let mut vectors = [[0.0; N]; N];
    for (k, &(s, j)) in order.iter().enumerate() {
        values[k] = s;
        for i in 0..N {
            vectors[k][i] = v[i][j];
        }
    }
    (values, vectors)
}

pub(crate) fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

pub(crate) fn det(m: &Mat3) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// The inverse of `m`, or `None` when singular.
pub(crate) fn inverse(m: &Mat3) -> Option<Mat3> {
    let d = det(m);
    if d == 0.0 || !d.is_finite() {
        return None;
    }
    let c = |i: usize, j: usize| {
        let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
        let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
        m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
    };
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = c(j, i) / d; // adjugate: transpose of the cofactors
        }
    }
    Some(out)
}

pub(crate) fn frobenius(m: &Mat3) -> f64 {
    m.iter().flatten().map(|v| v * v).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn inverse_of_random_matrices() {
        let mut rng = Rng::new(9);
        for _ in 0..100 {
            let mut m = [[0.0; 3]; 3];
            m.iter_mut().flatten().for_each(|v| *v = rng.gaussian(1.0));
            let inv = inverse(&m).unwrap();
            let id = mul(&m, &inv);
            for (i, row) in id.iter().enumerate() {
                for (j, &v) in row.iter().enumerate() {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((v - want).abs() < 1e-8, "{id:?}");
                }
            }
        }
        assert!(inverse(&[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]]).is_none());
    }

    #[test]
    fn svd_finds_the_null_vector() {
        let mut rng = Rng::new(4);
        let mut null = [0.0; 9];
        null.iter_mut().for_each(|v| *v = rng.gaussian(1.0));
        let norm = null.iter().map(|v| v * v).sum::<f64>().sqrt();
        null.iter_mut().for_each(|v| *v /= norm);
        for rows in [8, 20] {
            // Random rows made orthogonal to `null`.
            let a: Vec<[f64; 9]> = (0..rows)
                .map(|_| {
                    let mut r = [0.0; 9];
                    r.iter_mut().for_each(|v| *v = rng.gaussian(1.0));
                    let d: f64 = r.iter().zip(&null).map(|(a, b)| a * b).sum();
                    r.iter_mut().zip(&null).for_each(|(a, b)| *a -= d * b);
                    r
                })
                .collect();
            let (values, vectors) = svd_right(&a);
            assert!(values[0] < 1e-12, "{values:?}");
            assert!(values[1] > 1e-3, "{values:?}");
            let d: f64 = vectors[0].iter().zip(&null).map(|(a, b)| a * b).sum();
            assert!((d.abs() - 1.0).abs() < 1e-12);
            assert!(values.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
