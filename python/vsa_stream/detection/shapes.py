"""Detector inputs shaped like the camera: :func:`camera_input`, :func:`reshaped`.

A detector declared for a 416x416 input letterboxes a 1280x720 frame into its top 416x234 rows
and spends the other 182 rows, 44 % of its work, on padding. The same frame at the same scale
fits a 416x256 input (the content rounded up to the model's largest stride), which gives the
same detections for 62 % of the work. So, unless a spec asks for ``input_shape: model``:

- the input of a detector follows the frames of the cameras sharing it (one session, one
  camera group): the smallest input, in multiples of the model's largest stride, holding every
  frame seen so far at the scale of the model's own input. It only grows (a 4:3 camera joining
  a 16:9 group gives both a 416x320 input) and never exceeds the model's own input, so a frame
  is never shrunk more than before and the batch of a group keeps one shape;
- a model whose input height and width are dynamic runs at that shape as it is; a model with a
  fixed input is *re-shaped at load*: a copy of its graph, in memory, declares the new input
  size and leaves every other shape to onnxruntime's inference. A graph that cannot run at
  another size (a reshape to a constant anchor count) keeps its own input, and the model says
  why.

The re-shape edits the ONNX protobuf at the wire level (field numbers of ``onnx.proto``), so the
engine needs no ``onnx`` package at run time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

__all__ = ["camera_input", "envelope", "reshaped"]


def camera_input(frame: tuple[int, int], model: tuple[int, int], stride: int) -> tuple[int, int]:
    """The smallest ``(width, height)``, multiples of ``stride``, that holds a ``frame``
    ``(width, height)`` at the scale the ``model`` input ``(width, height)`` letterboxes it to.

    >>> camera_input((1280, 720), (416, 416), 32)
    (416, 256)
    >>> camera_input((480, 360), (416, 416), 32)
    (416, 320)
    >>> camera_input((720, 1280), (416, 416), 32)
    (256, 416)
    """
    fw, fh = frame
    mw, mh = model
    if min(fw, fh, mw, mh, stride) <= 0:
        raise ValueError(f"sizes must be positive: frame {frame}, model {model}, stride {stride}")
    scale = min(mw / fw, mh / fh)

    def fit(content: float, bound: int) -> int:
        # At least the unrounded content, so that the letterbox's scale (the smaller of the two
        # ratios input / frame) stays the model input's; a bound that is not a multiple of the
        # stride (a model's own odd size) stays the bound.
        cells = math.ceil(content / stride - 1e-9) * stride
        return min(bound, max(stride, cells))

    return fit(fw * scale, mw), fit(fh * scale, mh)


def envelope(sizes: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The smallest size holding every one of ``sizes``.

    >>> envelope([(416, 256), (416, 320), (256, 416)])
    (416, 416)
    """
    ws, hs = zip(*sizes, strict=True)
    return max(ws), max(hs)


# --- ONNX protobuf at the wire level -------------------------------------------------------
# ModelProto.graph = 7; GraphProto.input = 11, output = 12, value_info = 13;
# ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1; Tensor.shape = 2;
# TensorShapeProto.dim = 1; Dimension.dim_value = 1.

_Field = tuple[int, int, bytes]  # field number, wire type, payload (a varint keeps its bytes)


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _parse(buf: bytes) -> list[_Field]:
    fields: list[_Field] = []
    at = 0
    while at < len(buf):
        key, at = _varint(buf, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, end = _varint(buf, at)
        elif wire == 1:
            end = at + 8
        elif wire == 2:
            length, at = _varint(buf, at)
            end = at + length
        elif wire == 5:
            end = at + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if end > len(buf):
            raise ValueError("truncated protobuf field")
        fields.append((number, wire, buf[at:end]))
        at = end
    return fields


def _dump(fields: Iterable[_Field]) -> bytes:
    out = bytearray()
    for number, wire, payload in fields:
        out += _encode_varint(number << 3 | wire)
        if wire == 2:
            out += _encode_varint(len(payload))
        out += payload
    return bytes(out)


def _edit(fields: list[_Field], number: int, edit: Callable[[bytes], bytes]) -> list[_Field]:
    """``fields`` with the payload of each length-delimited field ``number`` passed through
    ``edit``."""
    return [(n, w, edit(p) if n == number and w == 2 else p) for n, w, p in fields]


def _name(value_info: bytes) -> str:
    for number, wire, payload in _parse(value_info):
        if number == 1 and wire == 2:
            return payload.decode("utf-8", "replace")
    return ""


def _sized_shape(shape: bytes, width: int, height: int) -> bytes:
    """A rank-4 TensorShapeProto with its last two dimensions set to ``height``, ``width``."""
    fields = _parse(shape)
    dims = [i for i, f in enumerate(fields) if f[0] == 1]
    if len(dims) != 4:
        raise ValueError(f"the input has {len(dims)} dimensions, not 4")
    for index, value in ((dims[2], height), (dims[3], width)):
        fields[index] = (1, 2, _dump([(1, 0, _encode_varint(value))]))
    return _dump(fields)


def reshaped(model: bytes, input_name: str, size: tuple[int, int]) -> bytes:
    """The serialized ONNX ``model`` with its input ``input_name`` declared ``(N, C, H, W)`` at
    ``size`` ``(width, height)``, its outputs' shapes and intermediate shapes left to
    onnxruntime to infer.

    Raises:
        ValueError: not an ONNX model with such a rank-4 input.
    """
    width, height = size
    found = False

    def tensor_type(payload: bytes) -> bytes:
        return _dump(_edit(_parse(payload), 2, lambda s: _sized_shape(s, width, height)))

    def strip_shape(payload: bytes) -> bytes:  # TypeProto.Tensor without its shape
        return _dump([f for f in _parse(payload) if f[0] != 2])

    def value_info(payload: bytes, edit: Callable[[bytes], bytes]) -> bytes:
        fields = _parse(payload)
        return _dump(_edit(fields, 2, lambda t: _dump(_edit(_parse(t), 1, edit))))

    def graph(payload: bytes) -> bytes:
        nonlocal found
        out: list[_Field] = []
        for number, wire, field in _parse(payload):
            if number == 13:  # value_info: inferred again at the new size
                continue
            if number == 11 and wire == 2 and _name(field) == input_name:
                field, found = value_info(field, tensor_type), True
            elif number == 12 and wire == 2:
                field = value_info(field, strip_shape)
            out.append((number, wire, field))
        return _dump(out)

    top = _parse(model)
    if not any(n == 7 and w == 2 for n, w, _ in top):
        raise ValueError("not an ONNX model (no graph)")
    edited = _dump(_edit(top, 7, graph))
    if not found:
        raise ValueError(f"the model has no input {input_name!r}")
    return edited
