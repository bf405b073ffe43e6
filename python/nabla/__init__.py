"""nabla: exact differential operators of data, formulas and trained networks.

The same derivatives as the ``nabla`` command line, from numpy arrays:

>>> import numpy as np, nabla
>>> rng = np.random.default_rng(0)
>>> pts = rng.random((2000, 2))
>>> u = np.column_stack([-pts[:, 1], pts[:, 0]])          # solid-body rotation
>>> out = nabla.derivatives(pts, u, ["curl", "Q"])
>>> bool(np.allclose(out["curl(U)"], 2.0)), bool(np.allclose(out["Q(U)"], 1.0))
(True, True)

Data (values at points, or the arrays of a mesh: a VTK file, an OpenFOAM case, a pyvista
dataset) is reconstructed by local polynomial fits and differentiated exactly
(:func:`derivatives`, :func:`compute_derivatives`); formulas in the case files' syntax are
differentiated exactly (:func:`evaluate`); trained physics-informed networks are loaded from
a checkpoint (:class:`Network`); case directories run as on the command line
(:func:`run_case`). The work runs in Rust on all cores with the GIL released; errors are
raised as the classes of :mod:`nabla.errors`.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from . import _nabla
from ._arrays import PathLike, _count, _f64, _ops, _points
from ._mesh import Mesh, _is_vtk, _mesh_from_vtk, read, write
from ._network import Network
from .errors import (
    AutodiffError,
    ConfigError,
    DataError,
    ExpressionError,
    FileError,
    InputError,
    NablaError,
    OperatorError,
    PointsError,
    RanksError,
)

__version__ = _nabla.__version__

__all__ = [
    "Derivatives",
    "Mesh",
    "Network",
    "OPERATORS",
    "compute_derivatives",
    "derivatives",
    "evaluate",
    "paraview_plugin",
    "read",
    "run_case",
    "write",
    "NablaError",
    "AutodiffError",
    "ConfigError",
    "DataError",
    "ExpressionError",
    "FileError",
    "InputError",
    "OperatorError",
    "PointsError",
    "RanksError",
]

#: Every operator's name, as in case files: ``grad``, ``div``, ``curl``, ``Q``, ``lambda2``, ...
OPERATORS = tuple(_nabla.operator_names())



class Derivatives(dict):
    """Arrays by name (``"grad(U)"``, ``"Q(U)"``, ... as in a case's output), one row per point.

    A ``dict`` of numpy arrays, shape ``(N,)`` for one component and ``(N, c)`` otherwise,
    with two attributes.

    Attributes
    ----------
    stats : dict
        What the reconstruction did: ``points`` evaluated, ``extrapolated`` (outside their
        stencil's box), ``grown`` (stencil enlarged), ``lowered`` (degree lowered),
        ``outside`` (outside the data: every value NaN), ``samples``, ``merged``
        (coincident samples), ``neighbours``, ``axes`` fitted in, ``reduction`` (why a
        coordinate was dropped, or None), and for meshes ``samples_at`` (``"cells"`` or
        ``"points"``), and ``seconds``: the time the library took (reconstruction and
        evaluation, without the conversions to and from numpy).
    location : str
        Where the arrays are: ``"points"`` (the mesh's or the samples' points), ``"cells"``
        (cell centres) or ``"given"`` (the points passed as ``at``).
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], stats: Dict[str, Any], location: str):
        super().__init__(arrays)
        self.stats = stats
        self.location = location


def _reconstruction_kwargs(degree: int, neighbours: Optional[int], weights: str, dim: Optional[int]) -> dict:
    if not isinstance(weights, str):
        raise ConfigError(f"weights = {weights!r}; expected 'gaussian' or 'uniform'")
    return dict(
        degree=_count(degree, "degree"),
        neighbours=_count(neighbours, "neighbours", optional=True),
        weights=weights,
        dim=_count(dim, "dim", optional=True),
    )


def derivatives(
    data: Any,
    values: Any,
    operators: Union[str, Iterable[str]] = ("grad",),
    *,
    at: Any = None,
    name: Optional[str] = None,
    degree: int = 2,
    neighbours: Optional[int] = None,
    weights: str = "gaussian",
    dim: Optional[int] = None,
    samples: Optional[str] = None,
    stencil: Optional[str] = None,
    chunk_size: int = 2048,
) -> Derivatives:
    """Derivatives of data, reconstructed and differentiated exactly.

    At each evaluation point a polynomial of total degree ``degree`` is fitted to the
    nearest samples (weighted least squares) and differentiated exactly; a polynomial of
    that degree is reproduced to round-off. The options are those of a case's
    ``[reconstruction]``.

    Parameters
    ----------
    data : array_like (N, 2) or (N, 3), Mesh, or a VTK / pyvista dataset
        The sample points, or a mesh whose arrays are the data.
    values : array_like (N,) or (N, m), or str, or list of str
        With points: the values at them. With a mesh: the name of its array (or a list of
        scalar arrays, one per component).
    operators : str or sequence of str, default ("grad",)
        Any of :data:`OPERATORS`: ``value``, ``grad``, ``jacobian``, ``div``, ``curl``,
        ``vorticity``, ``lap``, ``hessian``, ``strain_rate``, ``rotation_rate``, ``Q``,
        ``Q_openfoam``, ``lambda2``, ``lambda_ci``, ``helicity``, ``enstrophy``,
        ``advection``.
    at : array_like (M, d) or {"auto", "points", "cells"}, optional
        Where to evaluate. Points: the samples themselves by default. A mesh: ``"auto"``
        (default) evaluates at the cell centres when the data is cell data (a solver's
        values) and at the points otherwise.
    name : str, optional
        The field's name in the array names (``grad(U)``): ``"U"`` for points, the
        array's name for a mesh.
    degree : int, default 2
        Total degree of the local polynomials, 1 to 4.
    neighbours : int, optional
        Samples per stencil (default: twice the monomials for degree ≤ 2, three times above).
    weights : {"gaussian", "uniform"}, default "gaussian"
    dim : {2, 3}, optional
        Fit in 2 or 3 coordinates (default: detect flat and two-plane 2-D data).
    samples : {"cells", "points"}, optional
        A mesh: take the cell values at the cell centres plus the patches' boundary values
        (the solver's own values; default where the arrays are cell data) or the point data.
    stencil : {"rings", "nearest"}, optional
        A mesh: stencils of whole rings of mesh neighbours, or the nearest samples
        (default: rings for point data, nearest for cell data).
    chunk_size : int, default 2048
        Points per chunk of the parallel evaluation (results do not depend on it).

    Returns
    -------
    Derivatives
        Arrays by name, ``stats`` and ``location``.

    Raises
    ------
    DataError
        Too few samples, values that are not finite, an array the mesh does not have.
    OperatorError
        An operator that does not fit the field (``div`` of a scalar).
    ConfigError
        An unknown operator or option, a degree outside 1-4, arrays of the wrong shape.

    Examples
    --------
    >>> import numpy as np, nabla
    >>> x = np.random.default_rng(1).random((500, 3))
    >>> f = x[:, 0] ** 2 + x[:, 1] * x[:, 2]
    >>> out = nabla.derivatives(x, f, ["grad", "lap"], at=[[0.5, 0.5, 0.5]])
    >>> np.round(out["grad(U)"], 9).tolist(), round(float(out["lap(U)"][0]), 9)
    ([[1.0, 0.5, 0.5]], 2.0)
    """
    ops = _ops(operators)
    rec = _reconstruction_kwargs(degree, neighbours, weights, dim)
    chunk_size = _count(chunk_size, "chunk_size")
    if _is_vtk(data):
        data = _mesh_from_vtk(data)
    if isinstance(data, Mesh):
        names = [values] if isinstance(values, str) else list(values)
        if not names or not all(isinstance(n, str) for n in names):
            raise ConfigError("values: with a mesh, give the name of an array (or a list of names)")
        where = at if isinstance(at, str) else ("auto" if at is None else _points(at, "at"))
        field = name if name is not None else (names[0] if len(names) == 1 else "U")
        arrays, stats, location = _nabla.mesh_derivatives(
            data._m, names, ops, where, samples, stencil, field, chunk_size=chunk_size, **rec
        )
        return Derivatives(arrays, stats, location)
    if samples is not None or stencil is not None:
        raise ConfigError("samples and stencil apply to meshes; these are points")
    pts = _f64(data, "points", (2,))
    vals = _f64(values, "values", (1, 2))
    if isinstance(at, str):
        raise ConfigError(f"at = '{at}' applies to meshes; with points, give the points to evaluate at")
    given = None if at is None else _points(at, "at")
    arrays, stats = _nabla.cloud_derivatives(
        pts, vals, ops, given, name or "U", chunk_size=chunk_size, **rec
    )
    return Derivatives(arrays, stats, "points" if at is None else "given")


def compute_derivatives(
    dataset: Any,
    array: Union[str, Sequence[str]],
    operators: Union[str, Iterable[str]] = ("grad",),
    **options: Any,
) -> Any:
    """A copy of a VTK or pyvista dataset with nabla's derivatives of one of its arrays added.

    Like pyvista's ``compute_derivative``: the input is not modified. The new arrays are
    cell data where nabla evaluated at the cell centres (cell data in, cell data out) and
    point data otherwise; their names are the command line's (``grad(U)``, ``Q(U)``).

    Parameters
    ----------
    dataset : vtkDataSet or pyvista.DataSet
        Any dataset with points (and cells); an unstructured grid, a polydata, an image.
    array : str or list of str
        The array to differentiate (point or cell data).
    operators : str or sequence of str, default ("grad",)
    **options
        The keyword arguments of :func:`derivatives` (``degree``, ``neighbours``, ...),
        except ``at`` (the dataset's points or cells).

    Returns
    -------
    A dataset of the input's type (pyvista in, pyvista out).
    """
    if "at" in options:
        raise ConfigError("compute_derivatives evaluates at the dataset's points or cells; use derivatives() for other points")
    out = derivatives(_mesh_from_vtk(dataset), array, operators, **options)
    from vtkmodules.util.numpy_support import numpy_to_vtk

    if type(dataset).__module__.startswith("pyvista"):
        result = dataset.copy()
    else:
        result = dataset.NewInstance()
        result.DeepCopy(dataset)
    data = result.GetCellData() if out.location == "cells" else result.GetPointData()
    for key, arr in out.items():
        v = numpy_to_vtk(np.ascontiguousarray(arr), deep=1)
        v.SetName(key)
        data.AddArray(v)
    return result


def evaluate(
    expressions: Union[str, Sequence[str]],
    points: Any,
    operators: Union[str, Iterable[str]] = ("value",),
    *,
    constants: Optional[Mapping[str, float]] = None,
    definitions: Optional[Mapping[str, str]] = None,
    time: float = 0.0,
    name: str = "U",
    chunk_size: int = 2048,
) -> Dict[str, np.ndarray]:
    """A field given by formulas, and its exact derivatives, at points.

    Parameters
    ----------
    expressions : str or sequence of str
        One expression per component in the case files' syntax, in ``x``, ``y``, ``z``
        and ``t`` (``"sin(x)*cos(y)"``; ``^`` is a power; ``pi``; functions ``sin``,
        ``exp``, ``sqrt``, ``atan2``, ...).
    points : array_like, shape (N, d), d = 1, 2 or 3
    operators : str or sequence of str, default ("value",)
    constants : dict of str to float, optional
        Named numbers the expressions may use.
    definitions : dict of str to str, optional
        Named sub-expressions (``{"r": "sqrt(x^2 + y^2)"}``) the expressions may use.
    time : float, default 0
        The value of ``t``.
    name : str, default "U"
        The field's name in the array names.

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    ExpressionError
        An expression that does not parse or names something unknown (with the column and
        the names that exist).

    Examples
    --------
    >>> import nabla
    >>> out = nabla.evaluate(["x*x*x", "sin(y)"], [[1.0, 0.0]], ["jacobian", "lap"])
    >>> out["jacobian(U)"].tolist(), out["lap(U)"].tolist()
    ([[3.0, 0.0, 0.0, 1.0]], [[6.0, -0.0]])
    """
    comps = [expressions] if isinstance(expressions, str) else list(expressions)
    if not all(isinstance(c, str) for c in comps):
        raise ConfigError("expressions: expected a string per component")
    pts = _points(points, "points")
    chunk_size = _count(chunk_size, "chunk_size")
    consts = [(k, float(v)) for k, v in (constants or {}).items()]
    defs = [(k, str(v)) for k, v in (definitions or {}).items()]
    return _nabla.evaluate(comps, pts, _ops(operators), consts, defs, float(time), name, chunk_size)


def run_case(
    directory: PathLike,
    *,
    quiet: bool = True,
    strict: bool = False,
    resume: bool = False,
    evaluate_only: bool = False,
    output: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Run a case directory (``case.toml``) as ``nabla DIR`` does, and return its summary.

    Parameters
    ----------
    directory : str or os.PathLike
    quiet : bool, default True
        No progress bar.
    strict : bool, default False
        Every warning is an error and nothing is written.
    resume, evaluate_only : bool, default False
        Physics-informed cases: continue training from the checkpoint, or only evaluate it.
    output : str or os.PathLike, optional
        The output folder instead of the case's ``VTK/``.

    Returns
    -------
    dict
        ``name``, ``description``, ``points``, ``seconds``, ``rows`` (one dict per output
        array: ``array``, ``time``, ``components``, ``max_error``, ``rms_error``,
        ``seconds``, ``points_per_second``, ``non_finite``), ``files`` written, ``notes``,
        ``warnings`` and ``text`` (the summary the command line prints).

    Raises
    ------
    InputError
        A case file error, at its line and column.
    """
    out = None if output is None else os.fspath(output)
    return _nabla.run_case(os.fspath(directory), quiet, strict, resume, evaluate_only, out)


def paraview_plugin() -> str:
    """The path of nabla's ParaView plugin (the filter "nabla Derivatives"), ready to load.

    In pvpython: ``LoadPlugin(nabla.paraview_plugin(), ns=globals())``; in the GUI, run
    ``import nabla; print(nabla.paraview_plugin())`` in View → Python Shell and load that
    file with Tools → Manage Plugins → Load New.

    ParaView 5.11's plugin loader (Debian 12's ``paraview``) calls ``inspect.getargspec``,
    which Python 3.11 removed, and so cannot load any Python plugin there; calling this
    function first puts back an equivalent (``inspect.getfullargspec``, whose ``args`` are
    all the loader reads). Newer ParaViews need nothing.

    Returns
    -------
    str
    """
    import inspect

    if not hasattr(inspect, "getargspec"):
        inspect.getargspec = inspect.getfullargspec  # type: ignore[attr-defined]
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "paraview_plugin.py")
