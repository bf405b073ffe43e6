"""Meshes: read, written, built from arrays or from a VTK / pyvista dataset."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

import numpy as np

from . import _nabla
from ._arrays import PathLike, _f64
from .errors import ConfigError, DataError


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
