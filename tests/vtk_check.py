#!/usr/bin/env python3
"""Read VTK files with the official VTK library (ParaView's XML readers) and print what a
ParaView user would see, as JSON, for nabla's tests.

Usage: python3 tests/vtk_check.py FILE...   (.vti, .vtp, .vtu, .pvd)

Prints one JSON object: {FILE: summary}. A data file's summary:
  {"type": "vtkImageData", "points": N, "cells": M,
   "origin": [...], "spacing": [...], "dims": [...],          (ImageData only)
   "cell_types": [...],                                         (first 16 cells, not ImageData)
   "first_point": [x, y, z], "last_point": [x, y, z],
   "arrays": {NAME: {"components": C, "type": "double", "tuples": N, "values": [...]}}}
where "values" are all values (NaN as null) (point-major) when there are at most 4096 of them, else the
first and last 64. A .pvd's summary: {"type": "Collection",
  "datasets": [{"timestep": t, "part": p, "file": f, "data": summary of f}]}.

Exits with status 2 when the vtk module is missing, 1 when VTK reports an error reading a file.
"""

import json
import os
import sys

try:
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkCommand
    from vtkmodules.vtkIOXML import (
        vtkXMLImageDataReader,
        vtkXMLPolyDataReader,
        vtkXMLUnstructuredGridReader,
    )
    from vtkmodules.vtkIOXMLParser import vtkXMLDataParser
except ImportError as e:
    print(f"vtk_check.py: the vtk Python module is not available ({e}); pip install vtk",
          file=sys.stderr)
    sys.exit(2)

READERS = {
    ".vti": vtkXMLImageDataReader,
    ".vtp": vtkXMLPolyDataReader,
    ".vtu": vtkXMLUnstructuredGridReader,
}
ALL_VALUES = 4096


class Errors:
    """Collects the error events VTK raises (its readers do not throw)."""

    def __init__(self):
        self.messages = []

    def __call__(self, obj, event, *args):
        self.messages.append(f"{obj.GetClassName()}: {event}")


def fail(path, what):
    print(f"vtk_check.py: {path}: {what}", file=sys.stderr)
    sys.exit(1)


def values_of(arr):
    # NaN (a data field outside the data) as null: JSON has no NaN.
    flat = [None if v != v else v for v in vtk_to_numpy(arr).reshape(-1).tolist()]
    if len(flat) <= ALL_VALUES:
        return flat
    return flat[:64] + flat[-64:]


def read_data(path):
    ext = os.path.splitext(path)[1].lower()
    if ext not in READERS:
        fail(path, f"unknown extension {ext}")
    if not os.path.isfile(path):
        fail(path, "no such file")
    reader = READERS[ext]()
    errors = Errors()
    reader.AddObserver(vtkCommand.ErrorEvent, errors)
    reader.GetExecutive().AddObserver(vtkCommand.ErrorEvent, errors)
    reader.SetFileName(path)
    reader.Update()
    if errors.messages or reader.GetErrorCode() != 0:
        fail(path, f"VTK could not read the file: {errors.messages}")
    data = reader.GetOutput()
    out = {
        "type": data.GetClassName(),
        "points": data.GetNumberOfPoints(),
        "cells": data.GetNumberOfCells(),
    }
    if data.GetNumberOfPoints() > 0:
        out["first_point"] = list(data.GetPoint(0))
        out["last_point"] = list(data.GetPoint(data.GetNumberOfPoints() - 1))
    if ext == ".vti":
        out["origin"] = list(data.GetOrigin())
        out["spacing"] = list(data.GetSpacing())
        out["dims"] = list(data.GetDimensions())
    else:
        out["cell_types"] = [data.GetCellType(i) for i in range(min(16, data.GetNumberOfCells()))]
    pd = data.GetPointData()
    arrays = {}
    for i in range(pd.GetNumberOfArrays()):
        arr = pd.GetArray(i)
        arrays[arr.GetName()] = {
            "components": arr.GetNumberOfComponents(),
            "type": arr.GetDataTypeAsString(),
            "tuples": arr.GetNumberOfTuples(),
            "values": values_of(arr),
        }
    out["arrays"] = arrays
    return out


def read_pvd(path):
    parser = vtkXMLDataParser()
    errors = Errors()
    parser.AddObserver(vtkCommand.ErrorEvent, errors)
    parser.SetFileName(path)
    if not parser.Parse() or errors.messages:
        fail(path, f"VTK's XML parser could not parse the collection: {errors.messages}")
    root = parser.GetRootElement()
    if root is None or root.GetName() != "VTKFile" or root.GetAttribute("type") != "Collection":
        fail(path, "expected <VTKFile type=\"Collection\">")
    collection = root.FindNestedElementWithName("Collection")
    if collection is None:
        fail(path, "no <Collection> element")
    base = os.path.dirname(path)
    datasets = []
    for i in range(collection.GetNumberOfNestedElements()):
        el = collection.GetNestedElement(i)
        if el.GetName() != "DataSet":
            continue
        file = el.GetAttribute("file")
        datasets.append({
            "timestep": float(el.GetAttribute("timestep")),
            "part": int(el.GetAttribute("part") or 0),
            "file": file,
            "data": read_data(os.path.join(base, file)),
        })
    return {"type": "Collection", "datasets": datasets}


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    out = {}
    for path in sys.argv[1:]:
        out[path] = read_pvd(path) if path.lower().endswith(".pvd") else read_data(path)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
