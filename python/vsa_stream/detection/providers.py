"""onnxruntime execution providers by short name, and why one is missing: :func:`resolve`.

A spec names providers in order of preference, by onnxruntime's own names
(``CPUExecutionProvider``) or by the short ones below. OpenVINO, CUDA and TensorRT come with
other onnxruntime builds (``onnxruntime-openvino``, ``onnxruntime-gpu``) whose files replace
those of the default CPU wheel (one ``onnxruntime`` package: the last installed wins); none of
them is required. A provider asked for but absent is an error saying
what to install, never a silent fall back to the CPU: a camera sized for a GPU would otherwise
run, overloaded, on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SHORT_NAMES", "missing_message", "provider_name", "resolve"]

#: short name -> onnxruntime's provider name.
SHORT_NAMES: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}

_INSTALL: dict[str, str] = {
    "OpenVINOExecutionProvider": "pip install 'vsa-stream[openvino]', then pip install "
    "--force-reinstall --no-deps onnxruntime-openvino (it replaces the files of the onnxruntime "
    "wheel, which pip installs too)",
    "CUDAExecutionProvider": "pip install onnxruntime-gpu (which replaces the onnxruntime "
    "wheel) on a machine with an NVIDIA GPU, CUDA and cuDNN",
    "TensorrtExecutionProvider": "pip install onnxruntime-gpu (which replaces the onnxruntime "
    "wheel) on a machine with an NVIDIA GPU and TensorRT",
}


def provider_name(name: str) -> str:
    """onnxruntime's name of a provider given by short name or by its own name.

    >>> provider_name("openvino"), provider_name("CUDAExecutionProvider")
    ('OpenVINOExecutionProvider', 'CUDAExecutionProvider')

    Raises:
        ValueError: neither a short name nor a name ending in ``ExecutionProvider``.
    """
    full = SHORT_NAMES.get(name.lower())
    if full is not None:
        return full
    if name.endswith("ExecutionProvider"):
        return name
    raise ValueError(
        f"providers: unknown execution provider {name!r}; use one of {sorted(SHORT_NAMES)} "
        f"or an onnxruntime name such as CPUExecutionProvider"
    )


def missing_message(missing: Sequence[str], available: Sequence[str]) -> str:
    """Why ``missing`` providers cannot run, and what to install."""
    hints = [f"{p}: {_INSTALL[p]}" for p in missing if p in _INSTALL]
    text = (
        f"providers: execution providers {list(missing)} are not available in this "
        f"onnxruntime; available: {list(available)}"
    )
    return text + ("; " + "; ".join(hints) if hints else "")


def resolve(names: Sequence[str], available: Sequence[str]) -> list[str]:
    """onnxruntime's names of ``names``, in order, all available.

    Raises:
        ValueError: an unknown name, or providers this onnxruntime does not have (the message
            says what to install).
    """
    full = [provider_name(n) for n in names]
    missing = [p for p in full if p not in available]
    if missing:
        raise ValueError(missing_message(missing, available))
    return full
