"""ParaView picture of the case: nabla's vorticity of OpenFOAM's velocity beside OpenFOAM's own,
with streamlines of U. Run the case first, then:

    pvpython cases/openfoam_cavity_data/view.py              # interactive window
    pvpython cases/openfoam_cavity_data/view.py picture.png  # a picture, no window needed
                                                             # (xvfb-run -a on a headless machine)
The output of an MPI run (`mpirun -np N nabla …`, the pieces of a `.pvtu`) is read too.
Checked with ParaView 5.11's pvpython.
"""
import os
import sys

from paraview.simple import (ColorBy, CreateView, GetColorTransferFunction,
                             GetScalarBar, Interact, OpenDataFile, Render, SaveScreenshot, Show,
                             StreamTracer, Text, AssignViewToLayout, CreateLayout)

here = os.path.dirname(os.path.abspath(__file__))
single = os.path.join(here, "VTK", "openfoam_cavity_data.vtu")
# Or the pieces of an MPI run, listed by the .pvtu; ParaView picks the reader by extension.
data = OpenDataFile(single if os.path.exists(single) else single[:-4] + ".pvtu")

layout = CreateLayout("cavity")
layout.SplitHorizontal(0, 0.5)
panels = [("curl(U)", "nabla: curl(U) of the solver's U"),
          ("vorticity", "OpenFOAM: vorticity")]
for i, (array, title) in enumerate(panels):
    view = CreateView("RenderView")
    AssignViewToLayout(view=view, layout=layout, hint=1 + i)
    view.OrientationAxesVisibility = 0
    shown = Show(data, view)
    ColorBy(shown, ("POINTS", array, "Z"))
    lut = GetColorTransferFunction(array)
    lut.ApplyPreset("Cool to Warm", True)
    lut.AutomaticRescaleRangeMode = "Never"
    lut.RescaleTransferFunction(-20.0, 20.0)
    shown.SetScalarBarVisibility(view, True)
    lines = StreamTracer(Input=data, SeedType="Line")
    lines.Vectors = ["POINTS", "U"]
    lines.SeedType.Point1 = [0.05, 0.052, 0.005]
    lines.SeedType.Point2 = [0.05, 0.098, 0.005]
    lines.SeedType.Resolution = 10
    lines.IntegrationDirection = "FORWARD"
    lines.MaximumStreamlineLength = 0.3
    s = Show(lines, view)
    s.ColorArrayName = ["POINTS", ""]
    s.AmbientColor = s.DiffuseColor = [0.1, 0.1, 0.1]
    s.Position = [0.0, 0.0, 0.006]  # above the mesh's top face (z = 0.01), seen from +z
    label = Text(Text=title)
    Show(label, view)
    bar = GetScalarBar(lut, view)
    bar.Title = "vorticity z (1/s)"
    bar.ComponentTitle = ""
    bar.WindowLocation = "Any Location"
    bar.Position = [0.78, 0.1]
    bar.RangeLabelFormat = "%-#.0f"
    view.CameraPosition = [0.05, 0.05, 0.3]
    view.CameraFocalPoint = [0.05, 0.05, 0.005]
    view.CameraViewUp = [0, 1, 0]
    view.CameraParallelProjection = 1
    view.CameraParallelScale = 0.056
    Render(view)

if len(sys.argv) > 1:
    SaveScreenshot(sys.argv[1], layout, ImageResolution=[1400, 640])
else:
    Interact()
