#!/usr/bin/env python3
"""Read a .vtu with VTK's own XML reader and print, as JSON, what nabla's OpenFOAM tests
check of its cells: {"cells": N, "points": M, "types": [...], "faces": [faces per cell],
"volumes": [volume per cell (vtkCellSizeFilter)],
"point_sets": [sorted point ids per cell]}.

Usage: python3 tests/vtk_polyhedra.py FILE.vtu
Exits with status 2 when the vtk module is missing, 1 when VTK reports an error.
"""

import json
import sys

try:
    from vtkmodules.vtkCommonCore import vtkCommand
    from vtkmodules.vtkFiltersVerdict import vtkCellSizeFilter
    from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridReader
except ImportError as e:  # pragma: no cover
    print(f"the vtk module is missing: {e}", file=sys.stderr)
    sys.exit(2)

errors = []
reader = vtkXMLUnstructuredGridReader()
reader.AddObserver(vtkCommand.ErrorEvent, lambda *a: errors.append(str(a)))
reader.SetFileName(sys.argv[1])
reader.Update()
if errors or reader.GetErrorCode():
    print(f"VTK could not read {sys.argv[1]}: {errors}", file=sys.stderr)
    sys.exit(1)
grid = reader.GetOutput()
sizes = vtkCellSizeFilter()
sizes.SetInputData(grid)
sizes.ComputeVolumeOn()
sizes.Update()
vol = sizes.GetOutput().GetCellData().GetArray("Volume")
n = grid.GetNumberOfCells()
print(json.dumps({
    "cells": n,
    "points": grid.GetNumberOfPoints(),
    "types": [grid.GetCellType(i) for i in range(n)],
    "faces": [grid.GetCell(i).GetNumberOfFaces() for i in range(n)],
    "volumes": [vol.GetValue(i) for i in range(n)],
    "point_sets": [sorted(set(grid.GetCell(i).GetPointId(j)
                              for j in range(grid.GetCell(i).GetNumberOfPoints())))
                   for i in range(n)],
}))
