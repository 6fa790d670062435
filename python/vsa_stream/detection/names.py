"""Class names of a model and the table from model class to engine class."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from vsa_stream.detection.coco import COCO_NAMES
from vsa_stream.detection.spec import DEFAULT_CLASS_MAP, ENGINE_CLASSES, EngineClass, ModelSpec
from vsa_stream.errors import ModelError

__all__ = ["class_table", "metadata_names", "resolve_names"]


def metadata_names(meta: Mapping[str, str]) -> list[str] | None:
    """Class names from ONNX metadata (Ultralytics' ``names``: ``"{0: 'person', ...}"``)."""
    raw = meta.get("names") or meta.get("classes") or meta.get("labels")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = [n.strip() for n in raw.split(",")] if "," in raw else None
    if isinstance(value, dict):
        return [str(value[k]) for k in sorted(value, key=int)]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ModelError(f"cannot read the class names from the model's metadata: {raw[:80]!r}")


def resolve_names(spec: ModelSpec, meta: Mapping[str, str], num_classes: int) -> list[str]:
    """The model's class names: metadata, else ``spec.class_names``, else COCO for 80 classes.

    Raises:
        ModelError: no source of names, or a count that does not match the model's outputs.
    """
    for source, names in (
        ("the model's metadata", metadata_names(meta)),
        ("class_names", spec.class_names),
    ):
        if names is not None:
            if len(names) != num_classes:
                raise ModelError(
                    f"{source} lists {len(names)} classes but the model outputs {num_classes}"
                )
            return list(names)
    if num_classes == len(COCO_NAMES):
        return list(COCO_NAMES)
    raise ModelError(
        f"the model has {num_classes} classes and no class names in its metadata; "
        f"give class_names in the model spec"
    )


def class_table(
    spec: ModelSpec, names: Sequence[str]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Per model class: engine class index (-1: ignored) and score threshold (inf: ignored).

    Raises:
        ModelError: an explicit ``class_map`` names a class the model lacks, or maps one model
            class to two engine classes.
    """
    index = {n: i for i, n in enumerate(names)}
    engine = np.full(len(names), -1, np.int64)
    thresholds = np.full(len(names), np.inf)
    mapping: dict[EngineClass, list[str]]
    if spec.class_map is None:
        mapping = {k: [n for n in v if n in index] for k, v in DEFAULT_CLASS_MAP.items()}
        for e in ENGINE_CLASSES:
            if e in index and e not in mapping.get(e, []):
                mapping.setdefault(e, []).append(e)
    else:
        mapping = spec.class_map
        missing = sorted({n for v in mapping.values() for n in v if n not in index})
        if missing:
            raise ModelError(
                f"class_map names {missing}, which the model lacks; its classes are {list(names)}"
            )
    for e, model_classes in mapping.items():
        for n in model_classes:
            i = index[n]
            if engine[i] >= 0 and ENGINE_CLASSES[engine[i]] != e:
                raise ModelError(
                    f"class_map maps model class {n!r} to both {ENGINE_CLASSES[engine[i]]} and {e}"
                )
            engine[i] = ENGINE_CLASSES.index(e)
            thresholds[i] = spec.threshold(e)
    return engine, thresholds
