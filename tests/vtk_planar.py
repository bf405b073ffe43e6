#!/usr/bin/env python3
"""Run VTK's own Stream Tracer and Glyph filters (what ParaView runs) on a file nabla wrote,
with one of its arrays made the active vectors, as a ParaView user would on a 2-D case.

Usage: python3 tests/vtk_planar.py FILE VECTORS

Prints JSON: {"vectors_components": C, "file_active_vectors": NAME or null,
              "active_vectors": NAME or null, "stream_points": N, "stream_lines": L,
              "glyph_points": G, "glyph_oriented": B, "errors": [...]}
"file_active_vectors" are the active vectors the file declares; "active_vectors" those
after asking for VECTORS (VTK, like ParaView, takes only 3-component arrays as vectors);
the filters run on the active vectors, as ParaView's defaults do; "glyph_oriented" says
whether the glyphs were oriented by vectors (vtkGlyph3D then outputs "GlyphVector"). "errors" are the error and
warning events of the filters (VTK also prints errors such as "components do not match" on
stderr). Exits with status 2 when the vtk module is missing.
"""

import json
import os
import sys

try:
    from vtkmodules.vtkCommonCore import vtkCommand
    from vtkmodules.vtkFiltersCore import vtkGlyph3D
    from vtkmodules.vtkFiltersFlowPaths import vtkStreamTracer
    from vtkmodules.vtkFiltersSources import vtkArrowSource, vtkLineSource
    from vtkmodules.vtkIOXML import (
        vtkXMLImageDataReader,
        vtkXMLPolyDataReader,
        vtkXMLUnstructuredGridReader,
    )
except ImportError as e:
    print(f"vtk_planar.py: the vtk Python module is not available ({e}); pip install vtk",
          file=sys.stderr)
    sys.exit(2)

READERS = {
    ".vti": vtkXMLImageDataReader,
    ".vtp": vtkXMLPolyDataReader,
    ".vtu": vtkXMLUnstructuredGridReader,
}


class Events:
    """Collects the error and warning events VTK raises (its filters do not throw)."""

    def __init__(self):
        self.messages = []

    def watch(self, obj):
        for event in (vtkCommand.ErrorEvent, vtkCommand.WarningEvent):
            obj.AddObserver(event, self)
            obj.GetExecutive().AddObserver(event, self)

    def __call__(self, obj, event, *args):
        self.messages.append(f"{obj.GetClassName()}: {event}")


def main():
    path, vectors = sys.argv[1], sys.argv[2]
    events = Events()
    reader = READERS[os.path.splitext(path)[1].lower()]()
    events.watch(reader)
    reader.SetFileName(path)
    reader.Update()
    data = reader.GetOutput()
    point_data = data.GetPointData()
    array = point_data.GetArray(vectors)
    declared = point_data.GetVectors()
    declared = declared.GetName() if declared else None
    point_data.SetActiveVectors(vectors)
    active = point_data.GetVectors()

    # Streamlines from a line of seeds across the middle of the data, both directions.
    (x0, x1, y0, y1, z0, z1) = data.GetBounds()
    seeds = vtkLineSource()
    seeds.SetPoint1(x0 + 0.1 * (x1 - x0), 0.5 * (y0 + y1), 0.5 * (z0 + z1))
    seeds.SetPoint2(x0 + 0.9 * (x1 - x0), 0.5 * (y0 + y1), 0.5 * (z0 + z1))
    seeds.SetResolution(10)
    tracer = vtkStreamTracer()
    events.watch(tracer)
    tracer.SetInputData(data)
    tracer.SetSourceConnection(seeds.GetOutputPort())
    tracer.SetIntegrationDirectionToBoth()
    tracer.SetMaximumPropagation(max(x1 - x0, y1 - y0))
    tracer.Update()
    lines = tracer.GetOutput()

    # Arrows oriented and scaled by the vectors at every point.
    glyph = vtkGlyph3D()
    events.watch(glyph)
    glyph.SetInputData(data)
    arrow = vtkArrowSource()  # kept alive: the pipeline holds only its output port
    glyph.SetSourceConnection(arrow.GetOutputPort())
    glyph.SetVectorModeToUseVector()
    glyph.SetScaleModeToScaleByVector()
    glyph.OrientOn()
    glyph.Update()

    print(json.dumps({
        "vectors_components": array.GetNumberOfComponents() if array else None,
        "file_active_vectors": declared,
        "active_vectors": active.GetName() if active else None,
        "stream_points": lines.GetNumberOfPoints(),
        "stream_lines": lines.GetNumberOfCells(),
        "glyph_points": glyph.GetOutput().GetNumberOfPoints(),
        "glyph_oriented": glyph.GetOutput().GetPointData().GetArray("GlyphVector") is not None,
        "errors": events.messages,
    }))


main()
