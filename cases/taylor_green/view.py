"""ParaView picture of the case: iso-surfaces of the Q-criterion (the vortex tubes along z)
coloured by the enstrophy, inside the outline of the box. Run the case first, then:

    pvpython cases/taylor_green/view.py              # interactive window
    pvpython cases/taylor_green/view.py picture.png  # a picture, no window needed
                                                     # (xvfb-run -a on a headless machine)
    pvpython cases/taylor_green/view.py picture.png DIR   # the output of --output DIR

The time slider of the window steps through t = 0, 1, 2; the picture is t = 0.
Checked with ParaView 5.11's pvpython.
"""
import os
import sys

from paraview.simple import (ColorBy, Contour, GetActiveViewOrCreate, GetAnimationScene,
                             GetColorTransferFunction, GetScalarBar, Hide, Interact, Outline,
                             PVDReader, Render, ResetCamera, SaveScreenshot, Show, Text)

here = os.path.dirname(os.path.abspath(__file__))
folder = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "VTK")
series = PVDReader(FileName=os.path.join(folder, "taylor_green.pvd"))
series.PointArrays = ["Q(U)", "enstrophy(U)"]  # read only what the picture needs
GetAnimationScene().UpdateAnimationUsingDataTimeSteps()

view = GetActiveViewOrCreate("RenderView")
view.OrientationAxesVisibility = 1
Hide(series, view)

# Q = cos²z (sin²x sin²y − cos²x cos²y) e^(−4νt) is at most 1: the cores at Q = 0.1 and 0.4.
tubes = Contour(Input=series, ContourBy=["POINTS", "Q(U)"], Isosurfaces=[0.1, 0.4])
tubes.ComputeScalars = 0
shown = Show(tubes, view)
ColorBy(shown, ("POINTS", "enstrophy(U)"))
lut = GetColorTransferFunction("enstrophy(U)")
lut.ApplyPreset("Inferno (matplotlib)", True)
shown.RescaleTransferFunctionToDataRange(True, False)
shown.SetScalarBarVisibility(view, True)
bar = GetScalarBar(lut, view)
bar.Title = "enstrophy(U)"
bar.ComponentTitle = ""
bar.RangeLabelFormat = "%-#.1f"
shown.Opacity = 0.85

box = Show(Outline(Input=series), view)
box.AmbientColor = box.DiffuseColor = [0.3, 0.3, 0.3]
Show(Text(Text="Q(U) = 0.1 and 0.4, coloured by enstrophy(U)"), view)

view.CameraPosition = [17.0, -11.0, 13.0]
view.CameraFocalPoint = [3.14, 3.14, 3.14]
view.CameraViewUp = [0.0, 0.0, 1.0]
ResetCamera(view)
Render(view)

if len(sys.argv) > 1:
    SaveScreenshot(sys.argv[1], view, ImageResolution=[1200, 900])
else:
    Interact()
