"""ParaView picture of the case: the trained network's vorticity curl(U) with streamlines of
its velocity U (the wake behind a row of cylinders that Kovasznay's solution describes).
Run the case first, then:

    pvpython cases/pinn_kovasznay/view.py              # interactive window
    pvpython cases/pinn_kovasznay/view.py picture.png  # a picture, no window needed
                                                       # (xvfb-run -a on a headless machine)
    pvpython cases/pinn_kovasznay/view.py picture.png DIR   # the output of --output DIR

U is written with 3 components (z = 0), so Stream Tracer takes it as it is.
Checked with ParaView 5.11's pvpython.
"""
import os
import sys

from paraview.simple import (ColorBy, GetActiveViewOrCreate, GetColorTransferFunction,
                             GetScalarBar, Interact, Render, SaveScreenshot, Show, StreamTracer,
                             Text, XMLImageDataReader)

here = os.path.dirname(os.path.abspath(__file__))
folder = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "VTK")
flow = XMLImageDataReader(FileName=[os.path.join(folder, "pinn_kovasznay.vti")])

view = GetActiveViewOrCreate("RenderView")
view.OrientationAxesVisibility = 0
shown = Show(flow, view)
shown.SetRepresentationType("Surface")
ColorBy(shown, ("POINTS", "curl(U)"))
lut = GetColorTransferFunction("curl(U)")
lut.ApplyPreset("Cool to Warm", True)
lut.AutomaticRescaleRangeMode = "Never"
lut.RescaleTransferFunction(-6.0, 6.0)
shown.SetScalarBarVisibility(view, True)
bar = GetScalarBar(lut, view)
bar.Title = "vorticity curl(U)"
bar.ComponentTitle = ""
bar.RangeLabelFormat = "%.0f"
bar.WindowLocation = "Any Location"
bar.Position = [0.8, 0.08]

# Streamlines of U from a line of seeds across the inflow x = -0.5, and a second line in the
# wake so that the recirculating cells are drawn too.
for x in (-0.49, 0.2):
    lines = StreamTracer(Input=flow, SeedType="Line")
    lines.Vectors = ["POINTS", "U"]
    lines.SeedType.Point1 = [x, -0.49, 0.0]
    lines.SeedType.Point2 = [x, 1.49, 0.0]
    lines.SeedType.Resolution = 24
    lines.IntegrationDirection = "BOTH"
    lines.MaximumStreamlineLength = 4.0
    s = Show(lines, view)
    s.ColorArrayName = ["POINTS", ""]
    s.AmbientColor = s.DiffuseColor = [0.05, 0.05, 0.05]
    s.LineWidth = 1.5
    s.Position = [0.0, 0.0, 0.01]  # above the coloured plane, seen from +z
Show(Text(Text="Kovasznay flow, Re = 20"), view)

Render(view)  # the first render resets the camera; then place it
view.CameraPosition = [0.5, 0.5, 5.0]
view.CameraFocalPoint = [0.5, 0.5, 0.0]
view.CameraViewUp = [0.0, 1.0, 0.0]
view.CameraParallelProjection = 1
view.CameraParallelScale = 1.2
Render(view)

if len(sys.argv) > 1:
    SaveScreenshot(sys.argv[1], view, ImageResolution=[1300, 1000])
else:
    Interact()
