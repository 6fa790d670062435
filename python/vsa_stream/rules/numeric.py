"""Small statistics the rules take of every frame, bit for bit as numpy's, without its overhead.

``np.median`` costs 20-200 µs on the few hundred values a rule holds (generic reduction
machinery, a strided partition along axis 0); the medians here partition contiguous copies and
average the two middle values as numpy does (``(a + b) / 2`` in float64), so they return the
same bits, NaN included. Means are a sum divided by the count, which is how ``np.mean`` computes
them (the same ``add.reduce``). :func:`pairwise_sum` is that ``add.reduce`` of a 1-d float64
array in plain Python, for the few values of one track where numpy's fixed cost dominates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["mean", "median", "median_columns", "pairwise_sum"]


def median(values: NDArray[np.float64]) -> float:
    """``float(np.median(values))`` of a 1-d float64 array, bit for bit.

    Example:
        >>> median(np.array([3.0, 1.0, 2.0, 10.0]))
        2.5
    """
    n = len(values)
    if n == 0 or values.ndim != 1:
        return float(np.median(values))  # numpy's warning and NaN, or its shape rules
    m = n // 2
    if n % 2:
        middle = float(np.partition(values, m)[m])
    else:
        part = np.partition(values, (m - 1, m))
        middle = float((part[m - 1 : m + 1].sum()) / 2)
    if middle != middle or np.isnan(values).any():
        return float("nan")
    return middle


def median_columns(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.median(values, axis=0)`` of an ``(N, C)`` float64 array, bit for bit.

    Example:
        >>> median_columns(np.array([[1.0, 5.0], [3.0, -1.0], [2.0, 0.0]])).tolist()
        [2.0, 0.0]
    """
    n = len(values)
    if n == 0 or values.ndim != 2:
        out: NDArray[np.float64] = np.median(values, axis=0)
        return out
    columns = np.ascontiguousarray(values.T)  # partitions along contiguous rows: 10-40x faster
    m = n // 2
    if n % 2:
        columns.partition(m, axis=1)
        result = columns[:, m].copy()
    else:
        columns.partition((m - 1, m), axis=1)
        result = columns[:, m - 1 : m + 1].sum(axis=1) / 2
    nan = np.isnan(values).any(axis=0)
    if nan.any():
        result[nan] = np.nan
    return result


def mean(values: NDArray[np.floating[Any]] | NDArray[np.bool_]) -> float:
    """``float(np.mean(values))`` of a non-empty 1-d array, bit for bit.

    numpy sums (``add.reduce``: a float32 array in float32) and divides the sum by the count in
    float64, then rounds to the array's type; so does this, without the generic machinery.

    Example:
        >>> mean(np.array([True, False, False, True]))
        0.5
    """
    n = len(values)
    if n == 0 or values.ndim != 1:
        return float(np.mean(values))  # numpy's warning and NaN
    if values.dtype == np.bool_:
        return int(np.count_nonzero(values)) / n
    if values.dtype == np.float64:
        return float(values.sum()) / n
    if values.dtype == np.float32:
        return float(np.float32(float(values.sum()) / n))
    return float(np.mean(values))


_BLOCK = 128  # numpy's PW_BLOCKSIZE


def pairwise_sum(values: list[float]) -> float:
    """``float(np.add.reduce(np.array(values)))`` of a list of floats, bit for bit.

    numpy sums a contiguous float64 run pairwise: runs under 8 one by one, runs up to 128
    with 8 interleaved accumulators combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) +
    (r6 + r7))`` then the remainder one by one, longer runs split in two halves (a multiple
    of 8 first); the reduction starts from the identity, 0.0.

    Example:
        >>> pairwise_sum([0.1] * 10) == float(np.sum(np.full(10, 0.1)))
        True
    """
    return 0.0 + _pairwise(values, 0, len(values))


def _pairwise(a: list[float], start: int, n: int) -> float:
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += a[i]
        return res
    if n <= _BLOCK:
        r0, r1, r2, r3, r4, r5, r6, r7 = a[start : start + 8]
        i = 8
        while i < n - n % 8:
            k = start + i
            r0 += a[k]
            r1 += a[k + 1]
            r2 += a[k + 2]
            r3 += a[k + 3]
            r4 += a[k + 4]
            r5 += a[k + 5]
            r6 += a[k + 6]
            r7 += a[k + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[start + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, start, n2) + _pairwise(a, start + n2, n - n2)
