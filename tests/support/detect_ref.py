"""Plain-numpy references for the detector kernels of ``vsa_stream._core`` (tests only).

Written from the documented behaviour, vectorised and in float64: letterbox geometry,
bilinear resize with half-pixel centres, YCbCr→RGB, the four output decoders and the classic
"pop the best, drop its overlaps" greedy NMS.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]
Out = tuple[F64, F64, I64]
Geometry = tuple[int, int, int, int, float, float]  # content w, h, pad x, y, scale x, y


def letterbox(src: tuple[int, int], dst: tuple[int, int], keep: bool, center: bool) -> Geometry:
    (sw, sh), (dw, dh) = src, dst
    if keep:
        r = min(dw / sw, dh / sh)
        cw, ch = (
            min(max(math.floor(n * r + 0.5), 1), d) for n, d in ((sw, dw), (sh, dh))
        )  # half up
    else:
        cw, ch = dw, dh
    px, py = ((dw - cw) // 2, (dh - ch) // 2) if center else (0, 0)
    return cw, ch, px, py, cw / sw, ch / sh


def taps(src_len: int, out_len: int, chroma_len: int | None = None) -> tuple[I64, I64, F64]:
    """Source indices and weights of a bilinear resize with half-pixel centres."""
    s = (np.arange(out_len) + 0.5) * src_len / out_len - 0.5
    n = src_len
    if chroma_len is not None:  # chroma sited at the centre of its 2x2 luma block
        s, n = (s + 0.5) / 2 - 0.5, chroma_len
    s = np.clip(s, 0, n - 1)
    i0 = np.floor(s).astype(np.int64)
    return i0, np.minimum(i0 + 1, n - 1), s - i0


def resize(plane: U8, ty: tuple[I64, I64, F64], tx: tuple[I64, I64, F64]) -> F64:
    """Bilinear resize of a (h, w) or (h, w, c) plane with precomputed taps."""
    p = plane.astype(np.float64)
    (y0, y1, fy), (x0, x1, fx) = ty, tx
    extra = (None,) * (p.ndim - 2)
    rows = p[y0] * (1 - fy)[(slice(None), None, *extra)] + p[y1] * fy[(slice(None), None, *extra)]
    out: F64 = (
        rows[:, x0] * (1 - fx)[(slice(None), *extra)] + rows[:, x1] * fx[(slice(None), *extra)]
    )
    return out


def yuv_to_rgb(y: F64, u: F64, v: F64, matrix: str, full: bool) -> F64:
    kr, kb = (0.299, 0.114) if matrix == "bt601" else (0.2126, 0.0722)
    kg = 1 - kr - kb
    if full:
        luma, cb, cr = y, u - 128, v - 128
    else:
        luma, cb, cr = (y - 16) * 255 / 219, (u - 128) * 255 / 224, (v - 128) * 255 / 224
    r = luma + 2 * (1 - kr) * cr
    g = luma - 2 * kb * (1 - kb) / kg * cb - 2 * kr * (1 - kr) / kg * cr
    b = luma + 2 * (1 - kb) * cb
    return np.clip(np.stack([r, g, b]), 0, 255)


def canvas(
    rgb: F64,
    dst: tuple[int, int],
    geo: Geometry,
    order: str,
    pad: float,
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> F64:
    """Places (3, ch, cw) RGB content in a padded (1, 3, dh, dw) tensor, normalised."""
    cw, ch, px, py, _, _ = geo
    out = np.full((3, dst[1], dst[0]), pad, np.float64)
    out[:, py : py + ch, px : px + cw] = rgb if order == "rgb" else rgb[::-1]
    norm = (out - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    out4: F64 = norm[None]
    return out4


def preprocess_yuv(
    y: U8,
    u: U8,
    v: U8,
    dst: tuple[int, int],
    *,
    order: str = "bgr",
    keep: bool = True,
    center: bool = False,
    pad: float = 114.0,
    mean: tuple[float, ...] = (0, 0, 0),
    std: tuple[float, ...] = (1, 1, 1),
    matrix: str = "bt601",
    full: bool = False,
) -> F64:
    h, w = y.shape
    geo = letterbox((w, h), dst, keep, center)
    cw, ch = geo[0], geo[1]
    yy = resize(y, taps(h, ch), taps(w, cw))
    tcy, tcx = taps(h, ch, u.shape[0]), taps(w, cw, u.shape[1])
    rgb = yuv_to_rgb(yy, resize(u, tcy, tcx), resize(v, tcy, tcx), matrix, full)
    return canvas(rgb, dst, geo, order, pad, mean, std)


def preprocess_packed(
    img: U8,
    dst: tuple[int, int],
    *,
    image_order: str = "bgr",
    order: str = "bgr",
    keep: bool = True,
    center: bool = False,
    pad: float = 114.0,
) -> F64:
    h, w, _ = img.shape
    geo = letterbox((w, h), dst, keep, center)
    px = resize(img, taps(h, geo[1]), taps(w, geo[0])).transpose(2, 0, 1)
    rgb = px if image_order == "rgb" else px[::-1]
    return canvas(rgb, dst, geo, order, pad, (0, 0, 0), (1, 1, 1))


# --- NMS and decoders ---------------------------------------------------------------------


def area(b: F64) -> F64:
    out: F64 = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    return out


def iou_one(box: F64, boxes: F64) -> F64:
    iw = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = iw * ih
    union = area(box[None])[0] + area(boxes) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out: F64 = np.where(union > 0, inter / union, 0.0)
    return out


def nms(
    boxes: F64,
    scores: F64,
    classes: I64 | None,
    thr: float,
    max_det: int | None = None,
) -> list[int]:
    order = list(np.lexsort((np.arange(len(scores)), -scores)))
    keep: list[int] = []
    while order and (max_det is None or len(keep) < max_det):
        best, rest = order[0], np.array(order[1:], dtype=np.int64)
        keep.append(int(best))
        if len(rest) == 0:
            break
        same = np.ones(len(rest), bool) if classes is None else classes[rest] == classes[best]
        order = list(rest[~(same & (iou_one(boxes[best], boxes[rest]) > thr))])
    return keep


def finish(
    boxes: F64,
    scores: F64,
    classes: I64,
    geo: Geometry,
    src: tuple[int, int],
    thr: float,
    iou: float,
    agnostic: bool = False,
    max_det: int | None = None,
) -> Out:
    """Threshold, letterbox undone and clipped, degenerate boxes dropped, then NMS."""
    _, _, px, py, sx, sy = geo
    keep = scores >= thr
    b = boxes[keep].copy()
    b[:, [0, 2]] = np.clip((b[:, [0, 2]] - px) / sx, 0, src[0])
    b[:, [1, 3]] = np.clip((b[:, [1, 3]] - py) / sy, 0, src[1])
    ok = np.isfinite(b).all(1) & (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    b, s, c = b[ok], scores[keep][ok], classes[keep][ok]
    k = nms(b, s, None if agnostic else c, iou, max_det)
    return b[k], s[k], c[k]


def cxcywh(c: F64) -> F64:
    return np.stack(
        [
            c[:, 0] - c[:, 2] / 2,
            c[:, 1] - c[:, 3] / 2,
            c[:, 0] + c[:, 2] / 2,
            c[:, 1] + c[:, 3] / 2,
        ],
        1,
    )


def grid(dst: tuple[int, int], strides: tuple[int, ...], offset: float = 0.0) -> tuple[F64, F64]:
    """Cell (gx, gy) + offset and stride of every anchor, levels in order, row-major."""
    cells, st = [], []
    for s in strides:
        gw, gh = -(-dst[0] // s), -(-dst[1] // s)
        gy, gx = np.mgrid[0:gh, 0:gw]
        cells.append(np.stack([gx.ravel(), gy.ravel()], 1) + offset)
        st.append(np.full(gw * gh, s, np.float64))
    return np.concatenate(cells).astype(np.float64), np.concatenate(st)


def best_class(cls: NDArray[np.float32]) -> tuple[I64, F64]:
    c = np.argmax(cls, axis=1)
    return c.astype(np.int64), cls[np.arange(len(cls)), c].astype(np.float64)


def yolox(out: NDArray[np.float32], dst: tuple[int, int], **kw: object) -> tuple[F64, F64, I64]:
    o = out.reshape(out.shape[-2:]).astype(np.float64)
    cells, st = grid(dst, (8, 16, 32))
    c, best = best_class(out.reshape(out.shape[-2:])[:, 5:])
    xy = (o[:, :2] + cells) * st[:, None]
    wh = np.exp(o[:, 2:4]) * st[:, None]
    return cxcywh(np.concatenate([xy, wh], 1)), o[:, 4] * best, c


def yolov5(out: NDArray[np.float32]) -> tuple[F64, F64, I64]:
    o = out.reshape(out.shape[-2:])
    c, best = best_class(o[:, 5:])
    return cxcywh(o[:, :4].astype(np.float64)), o[:, 4].astype(np.float64) * best, c


def yolov8(out: NDArray[np.float32]) -> tuple[F64, F64, I64]:
    o = out.reshape(out.shape[-2:]).T
    c, best = best_class(o[:, 4:])
    return cxcywh(o[:, :4].astype(np.float64)), best, c


def nanodet(
    cls: list[NDArray[np.float32]],
    dis: list[NDArray[np.float32]],
    dst: tuple[int, int],
    reg_max: int = 7,
    offset: float = 0.5,
    strides: tuple[int, ...] = (8, 16, 32),
) -> tuple[F64, F64, I64]:
    """A GFL head: NanoDet's, or PicoDet's with ``strides=(8, 16, 32, 64)``."""
    cells, st = grid(dst, strides, offset)
    scores = np.concatenate([c.reshape(-1, c.shape[-1]) for c in cls])
    logits = np.concatenate([d.reshape(-1, d.shape[-1]) for d in dis]).astype(np.float64)
    logits = logits.reshape(len(logits), 4, reg_max + 1)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    dist = (p * np.arange(reg_max + 1)).sum(-1) * st[:, None]
    centre = cells * st[:, None]
    boxes = np.concatenate([centre - dist[:, :2], centre + dist[:, 2:]], 1)
    c, best = best_class(scores)
    return boxes, best, c
