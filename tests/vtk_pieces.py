#!/usr/bin/env python3
"""Check that a parallel VTK file (the pieces of an MPI run, merged by VTK's own .pvti or
.pvtp reader, as ParaView merges them) holds exactly the data of a single-process file.

Usage: python3 tests/vtk_pieces.py SINGLE PARALLEL
(.vti with .pvti, .vtp with .pvtp, .vtu with .pvtu)

Compares the number of points, the geometry (origin, spacing and dimensions of image data;
every point of poly data) and every point array, name by name, value by value, bit for bit
(NaN equal to NaN). Prints one JSON object {"points": N, "arrays": K} when they are equal.

Unstructured grids: the pieces share the points on their borders, so the merged grid holds
those twice; each merged point is matched to the single file's point at the very same
coordinates (which must be distinct there), every single point must be matched, and its
values must be equal bit for bit. The cells must be the same, in the same order: the same
types, through points at the same coordinates; and so must the cell arrays.

Exits with status 2 when the vtk module is missing, 1 when VTK reports an error reading a
file or the files differ (the first difference on stderr).
"""

import json
import sys

try:
    import numpy as np
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkCommand
    from vtkmodules.vtkIOXML import (
        vtkXMLImageDataReader,
        vtkXMLPImageDataReader,
        vtkXMLPolyDataReader,
        vtkXMLPPolyDataReader,
        vtkXMLPUnstructuredGridReader,
        vtkXMLUnstructuredGridReader,
    )
except ImportError as e:
    print(f"the vtk Python module is missing ({e}); pip install vtk numpy", file=sys.stderr)
    sys.exit(2)

READERS = {
    ".vti": vtkXMLImageDataReader,
    ".pvti": vtkXMLPImageDataReader,
    ".vtp": vtkXMLPolyDataReader,
    ".pvtp": vtkXMLPPolyDataReader,
    ".vtu": vtkXMLUnstructuredGridReader,
    ".pvtu": vtkXMLPUnstructuredGridReader,
}


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def read(path):
    ext = path[path.rfind("."):].lower()
    if ext not in READERS:
        fail(f"{path}: expected .vti, .pvti, .vtp, .pvtp, .vtu or .pvtu")
    reader = READERS[ext]()
    errors = []
    reader.AddObserver(vtkCommand.ErrorEvent, lambda obj, ev: errors.append(ev))
    reader.GetExecutive().AddObserver(vtkCommand.ErrorEvent, lambda obj, ev: errors.append(ev))
    reader.SetFileName(path)
    reader.Update()
    if errors or reader.GetErrorCode() != 0:
        fail(f"{path}: VTK reported an error reading it")
    return reader.GetOutput()


def same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        a.view(np.uint8) if a.dtype.kind == "f" else a, b.view(np.uint8) if b.dtype.kind == "f" else b
    )


def compare_arrays(sa, pa, what, order=None):
    """Every array of sa equals pa's of that name; pa's tuples taken in `order` if given."""
    names = [sa.GetArrayName(i) for i in range(sa.GetNumberOfArrays())]
    pnames = [pa.GetArrayName(i) for i in range(pa.GetNumberOfArrays())]
    if sorted(names) != sorted(pnames):
        fail(f"{what} arrays: {names} in the single file, {pnames} merged")
    for name in names:
        a = vtk_to_numpy(sa.GetArray(name))
        b = vtk_to_numpy(pa.GetArray(name))
        if order is not None:
            b = b[order]
        if not same(a, b):
            if a.shape != b.shape:
                fail(f"{what} {name}: shape {a.shape} in the single file, {b.shape} merged")
            diff = np.nonzero(~((a == b) | (np.isnan(a) & np.isnan(b))))[0]
            fail(f"{what} {name}: {len(diff)} values differ, the first at tuple {diff[0] if len(diff) else '?'}")
    return len(names)


def cells(grid):
    c = grid.GetCells()
    # GetCellTypes() returns the array from VTK 9.6 on; GetCellTypesArray() before.
    types = grid.GetCellTypesArray if not hasattr(grid, "GetCellTypes") else grid.GetCellTypes
    try:
        types()
    except TypeError:
        types = grid.GetCellTypesArray
    return (
        vtk_to_numpy(c.GetOffsetsArray()).astype(np.int64),
        vtk_to_numpy(c.GetConnectivityArray()).astype(np.int64),
        vtk_to_numpy(types()),
    )


def unstructured(single, parallel):
    a = vtk_to_numpy(single.GetPoints().GetData())
    b = vtk_to_numpy(parallel.GetPoints().GetData())
    index = {row.tobytes(): i for i, row in enumerate(a)}
    if len(index) != len(a):
        fail("the single file has coincident points; they cannot be matched by coordinates")
    to_single = np.empty(len(b), dtype=np.int64)
    for j, row in enumerate(b):
        i = index.get(row.tobytes())
        if i is None:
            fail(f"merged point {j} at {row} is no point of the single file")
        to_single[j] = i
    if len(set(to_single.tolist())) != len(a):
        fail(f"the pieces hold {len(set(to_single.tolist()))} of the {len(a)} points")
    # One merged copy of each point, compared with the single file's.
    first = np.full(len(a), -1, dtype=np.int64)
    for j in range(len(b) - 1, -1, -1):
        first[to_single[j]] = j
    k = compare_arrays(single.GetPointData(), parallel.GetPointData(), "point", first)
    # The duplicated copies must equal the first copy too.
    pa = parallel.GetPointData()
    for i in range(pa.GetNumberOfArrays()):
        v = vtk_to_numpy(pa.GetArray(i))
        if not same(v, v[first[to_single]]):
            fail(f"point {pa.GetArrayName(i)}: the copies of a shared point differ")
    (so, sc, st), (po, pc, pt) = cells(single), cells(parallel)
    if not (np.array_equal(so, po) and np.array_equal(st, pt)):
        fail(f"cells: {len(st)} in the single file, {len(pt)} merged, or their types or sizes differ")
    if not np.array_equal(sc, to_single[pc]):
        fail("cells: a merged cell goes through other points than the single file's")
    compare_arrays(single.GetCellData(), parallel.GetCellData(), "cell")
    print(json.dumps({"points": len(a), "arrays": k, "cells": len(st)}))


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    single, parallel = read(sys.argv[1]), read(sys.argv[2])
    if sys.argv[1].lower().endswith(".vtu"):
        unstructured(single, parallel)
        return
    n = single.GetNumberOfPoints()
    if parallel.GetNumberOfPoints() != n:
        fail(f"points: {n} in the single file, {parallel.GetNumberOfPoints()} merged")
    if hasattr(single, "GetDimensions"):
        for what in ("GetDimensions", "GetOrigin", "GetSpacing"):
            a, b = getattr(single, what)(), getattr(parallel, what)()
            if tuple(a) != tuple(b):
                fail(f"{what[3:]}: {a} in the single file, {b} merged")
    else:
        a = vtk_to_numpy(single.GetPoints().GetData())
        b = vtk_to_numpy(parallel.GetPoints().GetData())
        if not same(a, b):
            fail("the points differ")
    k = compare_arrays(single.GetPointData(), parallel.GetPointData(), "point")
    print(json.dumps({"points": n, "arrays": k}))


main()
