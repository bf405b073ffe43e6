#!/usr/bin/env python3
"""Check that a parallel VTK file (the pieces of an MPI run, merged by VTK's own .pvti or
.pvtp reader, as ParaView merges them) holds exactly the data of a single-process file.

Usage: python3 tests/vtk_pieces.py SINGLE PARALLEL   (.vti with .pvti, .vtp with .pvtp)

Compares the number of points, the geometry (origin, spacing and dimensions of image data;
every point of poly data) and every point array, name by name, value by value, bit for bit
(NaN equal to NaN). Prints one JSON object {"points": N, "arrays": K} when they are equal.

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
    )
except ImportError as e:
    print(f"the vtk Python module is missing ({e}); pip install vtk numpy", file=sys.stderr)
    sys.exit(2)

READERS = {
    ".vti": vtkXMLImageDataReader,
    ".pvti": vtkXMLPImageDataReader,
    ".vtp": vtkXMLPolyDataReader,
    ".pvtp": vtkXMLPPolyDataReader,
}


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def read(path):
    ext = path[path.rfind("."):].lower()
    if ext not in READERS:
        fail(f"{path}: expected .vti, .pvti, .vtp or .pvtp")
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


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    single, parallel = read(sys.argv[1]), read(sys.argv[2])
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
    sa, pa = single.GetPointData(), parallel.GetPointData()
    names = [sa.GetArrayName(i) for i in range(sa.GetNumberOfArrays())]
    pnames = [pa.GetArrayName(i) for i in range(pa.GetNumberOfArrays())]
    if sorted(names) != sorted(pnames):
        fail(f"arrays: {names} in the single file, {pnames} merged")
    for name in names:
        a = vtk_to_numpy(sa.GetArray(name))
        b = vtk_to_numpy(pa.GetArray(name))
        if not same(a, b):
            if a.shape != b.shape:
                fail(f"{name}: shape {a.shape} in the single file, {b.shape} merged")
            diff = np.nonzero(~((a == b) | (np.isnan(a) & np.isnan(b))))[0]
            fail(f"{name}: {len(diff)} values differ, the first at tuple {diff[0] if len(diff) else '?'}")
    print(json.dumps({"points": n, "arrays": len(names)}))


main()
