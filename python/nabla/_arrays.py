"""Arguments made into what the compiled module takes, or ConfigError."""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence, Union

import numpy as np

from .errors import ConfigError

PathLike = Union[str, "os.PathLike[str]"]


def _f64(a: Any, what: str, ndim: Sequence[int]) -> np.ndarray:
    """``a`` as a C-contiguous float64 array (no copy if it already is one)."""
    try:
        arr = np.ascontiguousarray(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{what}: {e}; expected an array of numbers") from None
    if arr.ndim not in ndim:
        shapes = " or ".join({1: "(N,)", 2: "(N, k)"}[k] for k in ndim)
        raise ConfigError(f"{what}: an array of shape {arr.shape}; expected {shapes}")
    return arr


def _count(v: Any, what: str, optional: bool = False) -> Any:
    """A non-negative integer setting (None allowed where ``optional``), or ConfigError."""
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < 2**63:
        raise ConfigError(f"{what} = {v!r}; expected a non-negative integer")
    return int(v)


def _ops(operators: Union[str, Iterable[str]]) -> list:
    return [operators] if isinstance(operators, str) else list(operators)


def _points(a: Any, what: str) -> np.ndarray:
    arr = _f64(a, what, (1, 2))
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr
