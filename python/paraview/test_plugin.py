"""The ParaView plugin under pvpython, headless: load it, apply it to a source and to a real
OpenFOAM export, and check the arrays against the exact answer and the command line's.

    PYTHONPATH=python NABLA_BIN=target/release/nabla pvpython python/paraview/test_plugin.py

Exits non-zero with a message on the first failure.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from paraview import servermanager
from paraview.simple import Calculator, LoadPlugin, Wavelet, XMLUnstructuredGridReader
from vtkmodules.util.numpy_support import vtk_to_numpy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CAVITY = ROOT / "cases" / "openfoam_cavity_data" / "cavity_t0.5.vtu"

import nabla  # noqa: E402

LoadPlugin(nabla.paraview_plugin(), ns=globals())


def fetch(proxy, cells=False):
    data = servermanager.Fetch(proxy)
    return data.GetCellData() if cells else data.GetPointData(), data


def array(attrs, name):
    a = attrs.GetArray(name)
    assert a is not None, f"no array {name}; have {[attrs.GetArrayName(i) for i in range(attrs.GetNumberOfArrays())]}"
    return vtk_to_numpy(a)


def check(ok, message):
    if not ok:
        sys.exit(f"FAILED: {message}")
    print(f"ok: {message}")


# 1. A source: f = x² + y·z on ParaView's Wavelet image, a quadratic nabla's degree 2
#    reproduces, so gradient and Laplacian are exact to round-off.
wavelet = Wavelet(WholeExtent=[-6, 6, -6, 6, -6, 6])
calc = Calculator(Input=wavelet, ResultArrayName="f", Function="coordsX^2 + coordsY*coordsZ")
filt = nablaDerivatives(Input=calc)  # noqa: F821 (defined by LoadPlugin)
filt.Array = ["POINTS", "f"]
filt.Gradient = 1
filt.Laplacian = 1
filt.QCriterion = 1  # needs a vector: skipped for this scalar
pd, data = fetch(filt)
pts = np.array([data.GetPoint(i) for i in range(data.GetNumberOfPoints())])
exact = np.column_stack([2 * pts[:, 0], pts[:, 2], pts[:, 1]])
g = array(pd, "grad(f)")
check(np.abs(g - exact).max() < 1e-6 * np.abs(exact).max(), f"grad(f) on the Wavelet is exact (max error {np.abs(g - exact).max():.2e})")
check(np.abs(array(pd, "lap(f)") - 2).max() < 1e-6, "lap(f) = 2 on the Wavelet")
check(pd.GetArray("Q(f)") is None, "Q of a scalar is not computed")
check(data.GetClassName() == "vtkImageData", "the output keeps the input's type")

# 2. A real OpenFOAM export (foamToVTK of the cavity), cell data and point data, against
#    the command line on the same file.
binary = Path(os.environ.get("NABLA_BIN", ROOT / "target" / "release" / "nabla"))
check(binary.is_file(), f"the nabla binary exists ({binary})")
reader = XMLUnstructuredGridReader(FileName=[str(CAVITY)])
ops = ["grad", "vorticity", "Q", "lambda2"]
for at, assoc in (("cells", "CELLS"), ("points", "POINTS")):
    f = nablaDerivatives(Input=reader)  # noqa: F821
    f.Array = [assoc, "U"]
    f.Degree = 3
    f.Lambda2 = 1
    attrs, _ = fetch(f, cells=(at == "cells"))
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "cavity"
        case.mkdir()
        shutil.copy(CAVITY, case / "cavity.vtu")
        (case / "case.toml").write_text(
            f'[points]\nkind = "mesh"\nfile = "cavity.vtu"\nat = "{at}"\n[reconstruction]\ndegree = 3\n'
            f'samples = "{at}"\n[[field]]\nname = "U"\ndata = "U"\noperators = ["grad", "vorticity", "Q", "lambda2"]\n'
        )
        r = subprocess.run([str(binary), "--quiet", str(case)], capture_output=True, text=True)
        check(r.returncode == 0, f"the command line runs ({r.stderr.strip()})")
        written = nabla.read(case / "VTK" / "cavity.vtu")
    cli = written.cell_data if at == "cells" else written.point_data
    for op in ops:
        name = f"{op}(U)"
        ours = array(attrs, name).reshape(len(cli[name]), -1)
        check(np.array_equal(ours, cli[name].reshape(len(ours), -1)), f"{name} from {at} data is bit for bit the command line's")

# 3. A multiblock (foamToVTK's .vtm: the internal mesh and the patches), block by block:
#    the internal mesh gets the arrays, computed as for that block alone.
from paraview.simple import XMLMultiBlockDataReader  # noqa: E402
from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridReader  # noqa: E402

vtm = ROOT / "tests" / "data" / "foamtovtk" / "cavity" / "cavity_20.vtm"
blocks = nablaDerivatives(Input=XMLMultiBlockDataReader(FileName=[str(vtm)]))  # noqa: F821
blocks.Array = ["CELLS", "U"]
multi = servermanager.Fetch(blocks)
check(multi.IsA("vtkMultiBlockDataSet"), "a multiblock in, a multiblock out")
it = multi.NewIterator()
it.InitTraversal()
found = []
while not it.IsDoneWithTraversal():
    b = it.GetCurrentDataObject()
    if b.GetCellData().GetArray("Q(U)") is not None:
        found.append(b)
    it.GoToNextItem()
check(len(found) >= 1, f"{len(found)} block(s) got Q(U)")
internal = max(found, key=lambda b: b.GetNumberOfCells())
plain = vtkXMLUnstructuredGridReader()
plain.SetFileName(str(vtm.parent / "cavity_20" / "internal.vtu"))
plain.Update()
alone = nabla.compute_derivatives(plain.GetOutput(), "U", ["grad", "vorticity", "Q"], samples="cells")
check(
    np.array_equal(array(internal.GetCellData(), "Q(U)"), array(alone.GetCellData(), "Q(U)")),
    "the internal mesh's Q(U) is that of the block alone",
)

print("all plugin checks passed")
