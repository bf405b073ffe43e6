"""Trained physics-informed networks, from a checkpoint."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Optional, Sequence, Union

import numpy as np

from . import _nabla
from ._arrays import PathLike, _count, _ops, _points


class Network:
    """A trained physics-informed network, loaded from a case's checkpoint.

    Examples
    --------
    >>> net = nabla.Network.load("cases/pinn_poisson/VTK/checkpoint.json")  # doctest: +SKIP
    >>> net.evaluate(points, ["value", "lap"])                                 # doctest: +SKIP
    """

    __slots__ = ("_n",)

    def __init__(self, inner: Any):
        self._n = inner

    @classmethod
    def load(cls, path: PathLike) -> "Network":
        """Load the network of a checkpoint file (``VTK/checkpoint.json``).

        Raises
        ------
        FileError, ConfigError
            A missing or malformed checkpoint.
        """
        return cls(_nabla.Network.load(os.fspath(path)))

    @property
    def inputs(self) -> int:
        """Number of inputs (the coordinates, and time where the network takes it)."""
        return self._n.inputs

    @property
    def outputs(self) -> int:
        """Number of outputs (``u, v, p`` of a Navier-Stokes network: 3)."""
        return self._n.outputs

    @property
    def num_params(self) -> int:
        """Number of trained parameters."""
        return self._n.num_params

    @property
    def unknowns(self) -> list:
        """The trained unknown coefficients of an equations problem, in the case's order."""
        return self._n.unknowns

    def predict(self, points: Any) -> np.ndarray:
        """The outputs at ``points`` (shape ``(N, inputs)``), shape ``(N, outputs)``."""
        return self._n.predict(_points(points, "points"))

    def evaluate(
        self,
        points: Any,
        operators: Union[str, Iterable[str]] = ("value",),
        *,
        components: Optional[Sequence[int]] = None,
        name: str = "U",
        chunk_size: int = 2048,
    ) -> Dict[str, np.ndarray]:
        """Operators of the network's outputs at ``points``, exact (automatic differentiation).

        Parameters
        ----------
        points : array_like, shape (N, inputs)
        operators : str or sequence of str, default ("value",)
        components : sequence of int, optional
            Which outputs form the field (``[0, 1]``: the velocity of a ``u, v, p``
            network); all by default.
        name : str, default "U"
        """
        comps = None if components is None else [_count(c, "components") for c in components]
        chunk_size = _count(chunk_size, "chunk_size")
        return self._n.evaluate(_points(points, "points"), _ops(operators), comps, name, chunk_size)

    def __repr__(self) -> str:
        return self._n.__repr__()
