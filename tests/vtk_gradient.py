#!/usr/bin/env python3
"""Apply VTK's vtkGradientFilter (what ParaView's Gradient filter runs on an unstructured
grid) to a point array of a .vtu file and write the gradient, for nabla's tests.

Usage: python3 tests/vtk_gradient.py INPUT.vtu ARRAY OUTPUT

Writes the gradient of the point array ARRAY at every point, 3 components per point,
point-major, as raw little-endian float64 to OUTPUT.

Exits with status 2 when the vtk or numpy module is missing, 1 when VTK reports an error.
"""

import sys

try:
    import numpy as np
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonDataModel import vtkDataObject
    from vtkmodules.vtkFiltersGeneral import vtkGradientFilter
    from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridReader
except ImportError as e:
    print(f"vtk_gradient.py: the vtk or numpy Python module is not available ({e}); "
          "pip install vtk numpy", file=sys.stderr)
    sys.exit(2)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    path, name, out = sys.argv[1:]
    reader = vtkXMLUnstructuredGridReader()
    reader.SetFileName(path)
    reader.Update()
    grid = reader.GetOutput()
    if grid.GetNumberOfPoints() == 0 or grid.GetPointData().GetArray(name) is None:
        print(f"vtk_gradient.py: {path} has no points or no point array {name!r}",
              file=sys.stderr)
        sys.exit(1)
    gradient = vtkGradientFilter()
    gradient.SetInputData(grid)
    gradient.SetInputArrayToProcess(0, 0, 0, vtkDataObject.FIELD_ASSOCIATION_POINTS, name)
    gradient.SetResultArrayName("gradient")
    gradient.Update()
    result = gradient.GetOutput().GetPointData().GetArray("gradient")
    if result is None:
        print("vtk_gradient.py: vtkGradientFilter produced no gradient", file=sys.stderr)
        sys.exit(1)
    values = vtk_to_numpy(result).astype("<f8").reshape(-1)
    if values.size != 3 * grid.GetNumberOfPoints():
        print(f"vtk_gradient.py: {values.size} gradient values for "
              f"{grid.GetNumberOfPoints()} points", file=sys.stderr)
        sys.exit(1)
    values.tofile(out)


if __name__ == "__main__":
    main()
