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


class Mesh:
    """A mesh or point cloud with its arrays, as nabla holds it.

    Parameters
    ----------
    points : array_like, shape (N, 2) or (N, 3)
        Point coordinates.
    connectivity, offsets, types : array_like, optional
        The cells in VTK's layout: point indices of all cells one after the other, the end
        of each cell in ``connectivity`` (VTK's offsets without its leading 0 are accepted
        too: a leading 0 is dropped), and each cell's VTK type (10 tetra, 12 hexahedron,
        ...). Polyhedra (type 42) need their faces: read their file with :func:`read`.
    point_data, cell_data : dict of str to array_like, optional
        Arrays, one row per point (cell), shape ``(N,)`` or ``(N, components)``.

    Notes
    -----
    Meshes read by :func:`read` keep what the file says beyond the arrays: an OpenFOAM
    case's boundary patches with their values and conditions, which :func:`derivatives`
    uses as the command line does.
    """

    __slots__ = ("_m",)

    def __init__(
        self,
        points: Any,
        connectivity: Any = None,
        offsets: Any = None,
        types: Any = None,
        point_data: Optional[Mapping[str, Any]] = None,
        cell_data: Optional[Mapping[str, Any]] = None,
    ):
        pts = _f64(points, "points", (2,))

        def ints(a: Any, dtype: Any) -> Optional[np.ndarray]:
            if a is None:
                return None
            try:
                return np.ascontiguousarray(a, dtype=dtype).ravel()
            except (TypeError, ValueError, OverflowError) as e:
                raise ConfigError(f"cells: {e}; expected non-negative integers") from None

        conn, offs, typ = ints(connectivity, np.uint64), ints(offsets, np.uint64), ints(types, np.uint8)
        if offs is not None and typ is not None and len(offs) == len(typ) + 1 and len(offs) and offs[0] == 0:
            offs = offs[1:]
        arrays = lambda d: None if d is None else {k: _f64(v, f"array '{k}'", (1, 2)) for k, v in d.items()}
        self._m = _nabla.Mesh(pts, conn, offs, typ, arrays(point_data), arrays(cell_data))

    @classmethod
    def _wrap(cls, m: Any) -> "Mesh":
        obj = cls.__new__(cls)
        obj._m = m
        return obj

    @property
    def points(self) -> np.ndarray:
        """Point coordinates, shape ``(N, 3)`` (a copy)."""
        return self._m.points

    @property
    def dim(self) -> int:
        """2 for points without a z coordinate (a CSV file's, or ``(N, 2)`` points), else 3."""
        return self._m.dim

    @property
    def num_points(self) -> int:
        """Number of points."""
        return self._m.num_points

    @property
    def num_cells(self) -> int:
        """Number of cells (0 for a point cloud)."""
        return self._m.num_cells

    @property
    def point_data(self) -> Dict[str, np.ndarray]:
        """The point arrays by name (copies)."""
        return self._m.point_data

    @property
    def cell_data(self) -> Dict[str, np.ndarray]:
        """The cell arrays by name (copies)."""
        return self._m.cell_data

    @property
    def cells(self) -> Optional[tuple]:
        """``(connectivity, offsets, types)``, offsets the end of each cell; None without cells."""
        return self._m.cells

    @property
    def patches(self) -> list:
        """Boundary patches (an OpenFOAM case's, or a foamToVTK ``.vtm``'s): dicts with
        ``name``, ``faces``, ``arrays`` (face values by name) and ``conditions``."""
        return self._m.patches

    def cell_centres(self) -> np.ndarray:
        """Cell centres, shape ``(num_cells, 3)``: where a finite-volume solver's cell values are."""
        return self._m.cell_centres()

    def __repr__(self) -> str:
        return self._m.__repr__()


def read(path: PathLike, time: Optional[str] = None) -> Mesh:
    """Read a mesh or point cloud with its arrays.

    Parameters
    ----------
    path : str or os.PathLike
        A VTK file (``.vtu``, ``.vtp``, ``.vti``, ``.vtk``, ``.vtm``, ...), a CSV file, or an
        OpenFOAM case directory (or its ``.foam`` file): ``constant/polyMesh`` and the fields
        of a time directory, with each patch's values.
    time : str, optional
        An OpenFOAM case's time directory (``"latest"`` by default, or its name).

    Returns
    -------
    Mesh

    Raises
    ------
    FileError
        The file is missing, malformed or too large (named, with what was expected).
    """
    return Mesh._wrap(_nabla.read(os.fspath(path), time))


def write(
    path: PathLike,
    mesh: Mesh,
    arrays: Optional[Mapping[str, Any]] = None,
    cell_arrays: Optional[Mapping[str, Any]] = None,
) -> None:
    """Write ``mesh`` with ``arrays`` as its point data, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        ``.vtu`` (the mesh's cells and cell data too) or ``.vtp`` (the points).
    mesh : Mesh
    arrays : dict of str to array_like, optional
        Point data, one row per point, shape ``(N,)`` or ``(N, components)``.
    cell_arrays : dict of str to array_like, optional
        Cell data written beside the mesh's own (replacing arrays of the same name), one row
        per cell: :func:`derivatives` evaluated at the cells (``out.location == "cells"``).

    Raises
    ------
    FileError
        A wrong extension, arrays of the wrong length, or a file that cannot be written;
        nothing is left on disk then.
    """
    conv = lambda d: None if d is None else {k: _f64(v, f"array '{k}'", (1, 2)) for k, v in d.items()}
    _nabla.write(os.fspath(path), mesh._m, conv(arrays), conv(cell_arrays))


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


def _is_vtk(obj: Any) -> bool:
    return hasattr(obj, "GetNumberOfPoints") and hasattr(obj, "GetPointData")


def _cell_types(ds: Any, vtk_to_numpy: Any) -> np.ndarray:
    """Each cell's VTK type: ``GetCellTypes()`` from VTK 9.6, ``GetCellTypesArray()`` before."""
    try:
        a = ds.GetCellTypes()
        if hasattr(a, "GetNumberOfTuples"):
            return vtk_to_numpy(a)
    except TypeError:
        pass
    return vtk_to_numpy(ds.GetCellTypesArray())


def _mesh_from_vtk(ds: Any) -> Mesh:
    """A VTK (or pyvista) dataset as a :class:`Mesh`: its points, cells and numeric arrays."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    if not _is_vtk(ds):
        raise ConfigError(f"expected a VTK or pyvista dataset, got {type(ds).__name__}")
    if ds.GetClassName() != "vtkUnstructuredGrid" and not ds.IsA("vtkUnstructuredGrid"):
        from vtkmodules.vtkFiltersCore import vtkAppendFilter

        f = vtkAppendFilter()
        f.AddInputData(ds)
        f.Update()
        ds = f.GetOutput()
    n = ds.GetNumberOfPoints()
    if n == 0:
        raise DataError("the dataset has no points")
    pts = vtk_to_numpy(ds.GetPoints().GetData()).astype(np.float64)
    conn = offs = types = None
    if ds.GetNumberOfCells() > 0:
        cells = ds.GetCells()
        conn = vtk_to_numpy(cells.GetConnectivityArray())
        offs = vtk_to_numpy(cells.GetOffsetsArray())
        types = _cell_types(ds, vtk_to_numpy)

    def arrays(d: Any) -> Dict[str, np.ndarray]:
        out = {}
        for i in range(d.GetNumberOfArrays()):
            a = d.GetArray(i)
            if a is None or not a.GetName():
                continue
            out[a.GetName()] = vtk_to_numpy(a).astype(np.float64)
        return out

    return Mesh(pts, conn, offs, types, arrays(ds.GetPointData()), arrays(ds.GetCellData()) if conn is not None else None)


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
