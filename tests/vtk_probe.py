#!/usr/bin/env python3
"""Resample a mesh onto the points of an ImageData file with VTK's vtkProbeFilter (what
ParaView's "Resample With Dataset" does) and print its vtkValidPointMask as JSON, for
nabla's tests: an independent answer to "which lattice points are inside the mesh".

Usage: python3 tests/vtk_probe.py MESH.vtu LATTICE.vti

Prints {"points": N, "mask": [0 or 1 per point]}. Exits with status 2 when the vtk module
is missing, 1 when a file cannot be read.
"""

import json
import sys

try:
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkFiltersCore import vtkProbeFilter
    from vtkmodules.vtkIOXML import vtkXMLImageDataReader, vtkXMLUnstructuredGridReader
except ImportError as e:
    print(f"vtk_probe.py: the vtk Python module is not available ({e}); pip install vtk",
          file=sys.stderr)
    sys.exit(2)


def read(reader, path):
    reader.SetFileName(path)
    reader.Update()
    if reader.GetErrorCode() != 0:
        print(f"{path}: VTK could not read the file", file=sys.stderr)
        sys.exit(1)
    return reader.GetOutput()


def main():
    mesh = read(vtkXMLUnstructuredGridReader(), sys.argv[1])
    lattice = read(vtkXMLImageDataReader(), sys.argv[2])
    probe = vtkProbeFilter()
    probe.SetInputData(lattice)
    probe.SetSourceData(mesh)
    probe.Update()
    mask = vtk_to_numpy(probe.GetOutput().GetPointData().GetArray("vtkValidPointMask"))
    print(json.dumps({"points": int(mask.size), "mask": [int(v) for v in mask]}))


if __name__ == "__main__":
    main()
