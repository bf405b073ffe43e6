#!/usr/bin/env python3
"""Read a multiblock .vtm with VTK's own vtkXMLMultiBlockDataReader (ParaView's reader) and
print its leaf blocks as JSON, for nabla's tests of its .vtm reader.

Usage: python3 tests/vtm_check.py FILE.vtm

Prints {"time": TimeValue or null, "blocks": [{"path": ["boundary", "movingWall"],
"points": N, "cells": M, "faces": [[[x, y, z], ...], ...] (each cell's points' coordinates),
"point_arrays": {NAME: [values...]}, "cell_arrays": {NAME: [values...]}}]}, in block order.

Exits with status 2 when the vtk module is missing, 1 when VTK reports an error.
"""

import json
import sys

try:
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkCommand
    from vtkmodules.vtkCommonDataModel import vtkMultiBlockDataSet
    from vtkmodules.vtkIOXML import vtkXMLMultiBlockDataReader
except ImportError as e:
    print(f"the vtk Python module is missing ({e})", file=sys.stderr)
    sys.exit(2)

errors = []


def on_error(obj, event):
    errors.append(event)


def arrays(data):
    out = {}
    for i in range(data.GetNumberOfArrays()):
        a = data.GetArray(i)
        if a is None:
            continue
        out[a.GetName()] = [float(v) for v in vtk_to_numpy(a).ravel()]
    return out


def leaves(block, path, out):
    if isinstance(block, vtkMultiBlockDataSet):
        for i in range(block.GetNumberOfBlocks()):
            name = block.GetMetaData(i).Get(vtkMultiBlockDataSet.NAME())
            child = block.GetBlock(i)
            if child is not None:
                leaves(child, path + [name], out)
        return
    pts = block.GetPoints()
    faces = []
    for c in range(block.GetNumberOfCells()):
        ids = block.GetCell(c).GetPointIds()
        faces.append([list(pts.GetPoint(ids.GetId(k))) for k in range(ids.GetNumberOfIds())])
    out.append({
        "path": path,
        "points": block.GetNumberOfPoints(),
        "cells": block.GetNumberOfCells(),
        "faces": faces,
        "point_arrays": arrays(block.GetPointData()),
        "cell_arrays": arrays(block.GetCellData()),
    })


reader = vtkXMLMultiBlockDataReader()
reader.AddObserver(vtkCommand.ErrorEvent, on_error)
reader.SetFileName(sys.argv[1])
reader.Update()
if errors:
    print(f"VTK reported errors reading {sys.argv[1]}", file=sys.stderr)
    sys.exit(1)
data = reader.GetOutput()
time = data.GetFieldData().GetArray("TimeValue")
blocks = []
leaves(data, [], blocks)
print(json.dumps({"time": None if time is None else float(time.GetValue(0)), "blocks": blocks}))
