"""The README's ParaView screenshot: the cavity export (foamToVTK of OpenFOAM's icoFoam
cavity), nabla Derivatives of its cell data U, coloured by Q(U).

    PYTHONPATH=python xvfb-run -a pvpython python/paraview/screenshot.py [OUT.png]
"""

import sys
from pathlib import Path

import nabla
import numpy as np
from paraview import servermanager
from paraview.simple import (
    ColorBy,
    GetActiveViewOrCreate,
    GetColorTransferFunction,
    LoadPlugin,
    ResetCamera,
    SaveScreenshot,
    Text,
    Show,
    XMLUnstructuredGridReader,
)
from vtkmodules.util.numpy_support import vtk_to_numpy

ROOT = Path(__file__).resolve().parents[2]
out = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "python" / "paraview" / "cavity_Q.png")

LoadPlugin(nabla.paraview_plugin(), ns=globals())
reader = XMLUnstructuredGridReader(FileName=[str(ROOT / "cases" / "openfoam_cavity_data" / "cavity_t0.5.vtu")])
f = nablaDerivatives(Input=reader)  # noqa: F821 (defined by LoadPlugin)
f.Array = ["CELLS", "U"]
f.Degree = 3
view = GetActiveViewOrCreate("RenderView")
view.ViewSize = [900, 700]
view.OrientationAxesVisibility = 0
display = Show(f, view)
ColorBy(display, ("CELLS", "Q(U)"))
lut = GetColorTransferFunction("QU")
lut.ApplyPreset("Cool to Warm", True)
q = vtk_to_numpy(servermanager.Fetch(f).GetCellData().GetArray("Q(U)"))
limit = float(np.percentile(np.abs(q), 95))
lut.RescaleTransferFunction(-limit, limit)
display.SetScalarBarVisibility(view, True)
text = Text(Text=f"nabla Derivatives: Q(U) of OpenFOAM's cavity (icoFoam, t = 0.5), from the cell values, p = 3")
Show(text, view).FontSize = 14
view.CameraPosition = [0.05, 0.05, 0.3]
view.CameraFocalPoint = [0.05, 0.05, 0.005]
view.CameraViewUp = [0, 1, 0]
ResetCamera(view)
SaveScreenshot(out, view, ImageResolution=[900, 700])
print(out)
