#!/usr/bin/env python3
"""Helper of benches/openfoam_1e6.sh (issue 18's speed goal): makes the 10⁶-cell binary
OpenFOAM case and times VTK on it.

    openfoam_1e6.py setup CASE N     # system/* (binary format) and a blockMeshDict: N³ cells
                                     # of the unit cube, one patch per face
    openfoam_1e6.py writeU CASE      # 0/U (binary): the known-answer cases' analytic velocity
                                     # at the cell centres and at the patch face centres, read
                                     # from 0/C (postProcess -func writeCellCentres),
                                     # which it moves to CASE/C.cells (for `errors`)
    openfoam_1e6.py vtk CASE OUT.vtu # VTK (ParaView's reader and Gradient filter): reads the
                                     # case, grad(U) and Q at the cells, writes OUT.vtu as nabla
                                     # writes by default (uncompressed, inline base64; Float32, as
                                     # VTK's reader gives its arrays: nabla's are Float64);
                                     # prints the times of the stages, `vtk_total_s SECONDS`
                                     # (wall) and `vtk_cpu_s SECONDS` (CPU, all threads)

U is the one of cases/openfoam_known_answer/field.py, so the accuracy of either side can be
checked against its exact gradient (`openfoam_1e6.py errors CASE NABLA.vtu VTK.vtu`).
Needs numpy and VTK's Python module (`pip install vtk`; 9.x)."""
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cases", "openfoam_known_answer"))
import field  # noqa: E402  (the analytic U and its gradient)

BANNER = (
    "/*--------------------------------*- C++ -*----------------------------------*\\\n"
    "| OpenFOAM v1912, written by benches/openfoam_1e6.py                          |\n"
    "\\*---------------------------------------------------------------------------*/\n"
)


def header(fmt, cls, obj, location=None):
    loc = '    location    "%s";\n' % location if location else ""
    return BANNER + (
        "FoamFile\n{\n    version     2.0;\n    format      %s;\n"
        "    arch        \"LSB;label=32;scalar=64\";\n"
        "    class       %s;\n%s    object      %s;\n}\n\n" % (fmt, cls, loc, obj)
    )


CONTROL = """application     postProcess;
startFrom       startTime;
startTime       0;
stopAt          endTime;
endTime         0;
deltaT          1;
writeControl    timeStep;
writeInterval   1;
purgeWrite      0;
writeFormat     binary;
writePrecision  12;
writeCompression off;
timeFormat      general;
timePrecision   6;
runTimeModifiable false;
"""

SCHEMES = """ddtSchemes { default steadyState; }
gradSchemes { default Gauss linear; }
divSchemes { default none; }
laplacianSchemes { default Gauss linear corrected; }
interpolationSchemes { default linear; }
snGradSchemes { default corrected; }
"""

BLOCK = """scale 1;
vertices ( (0 0 0) (1 0 0) (1 1 0) (0 1 0) (0 0 1) (1 0 1) (1 1 1) (0 1 1) );
blocks ( hex (0 1 2 3 4 5 6 7) (%d %d %d) simpleGrading (1 1 1) );
edges ( );
boundary
(
    xmin { type wall; faces ( (0 4 7 3) ); }
    xmax { type wall; faces ( (1 2 6 5) ); }
    ymin { type wall; faces ( (0 1 5 4) ); }
    ymax { type wall; faces ( (3 7 6 2) ); }
    zmin { type wall; faces ( (0 3 2 1) ); }
    zmax { type wall; faces ( (4 5 6 7) ); }
);
mergePatchPairs ( );
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def setup(case, n):
    write(os.path.join(case, "system", "controlDict"), header("ascii", "dictionary", "controlDict", "system") + CONTROL)
    write(os.path.join(case, "system", "fvSchemes"), header("ascii", "dictionary", "fvSchemes", "system") + SCHEMES)
    write(os.path.join(case, "system", "fvSolution"), header("ascii", "dictionary", "fvSolution", "system") + "solvers { }\n")
    write(os.path.join(case, "system", "blockMeshDict"), header("ascii", "dictionary", "blockMeshDict", "system") + BLOCK % (n, n, n))
    os.makedirs(os.path.join(case, "0"), exist_ok=True)


def _binary_list(data, pos, ncomp):
    """The binary list `N(raw doubles)` at or after `pos`: (values (N, ncomp), end)."""
    m = re.compile(rb"\s*(\d+)\s*\(").match(data, pos)
    if not m:
        raise SystemExit("0/C: expected a binary list at byte %d" % pos)
    n = int(m.group(1))
    start = m.end()
    end = start + 8 * ncomp * n
    vals = np.frombuffer(data[start:end], dtype="<f8").reshape(n, ncomp)
    if data[end:end + 1] != b")":
        raise SystemExit("0/C: a binary list of %d values does not end with `)`" % n)
    return vals, end + 1


def read_centres(path):
    """0/C in binary: the internal field and each patch's `value` (in file order)."""
    data = open(path, "rb").read()
    if b"format      binary" not in data[:2000] and not re.search(rb"format\s+binary", data[:2000]):
        raise SystemExit("%s: expected a binary file (writeFormat binary)" % path)
    m = re.compile(rb"internalField\s+nonuniform\s+List<vector>").search(data)
    internal, pos = _binary_list(data, m.end(), 3)
    patches = []
    bf = data.index(b"boundaryField", pos)
    for pm in re.compile(rb"\n\s*(\w+)\s*\{[^{}]*?value\s+nonuniform\s+List<vector>", re.S).finditer(data, bf):
        vals, _ = _binary_list(data, pm.end(), 3)
        patches.append((pm.group(1).decode(), vals))
    return internal, patches


def _list_bytes(values):
    v = np.ascontiguousarray(values, dtype="<f8")
    return b"%d(" % len(v) + v.tobytes() + b")"


def write_u(case):
    internal, patches = read_centres(os.path.join(case, "0", "C"))
    out = [header("binary", "volVectorField", "U", "0").encode(), b"dimensions      [0 1 -1 0 0 0 0];\n\n"]
    out += [b"internalField   nonuniform List<vector> ", _list_bytes(field.U(internal)), b";\n\nboundaryField\n{\n"]
    for name, vals in patches:
        out += [b"    %s\n    {\n        type            fixedValue;\n" % name.encode(),
                b"        value           nonuniform List<vector> ", _list_bytes(field.U(vals)), b";\n    }\n"]
    out.append(b"}\n")
    with open(os.path.join(case, "0", "U"), "wb") as f:
        f.write(b"".join(out))
    os.replace(os.path.join(case, "0", "C"), os.path.join(case, "C.cells"))
    for c in ("Cx", "Cy", "Cz", "V"):
        if os.path.exists(os.path.join(case, "0", c)):
            os.remove(os.path.join(case, "0", c))
    print("0/U: %d cells, patches %s" % (len(internal), ", ".join("%s %d" % (p, len(v)) for p, v in patches)))


def vtk_run(case, out):
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy  # noqa: F401  (fails early if numpy support is missing)

    t = {}
    c0 = time.process_time()
    t0 = time.perf_counter()
    foam = os.path.join(case, "case.foam")
    open(foam, "a").close()
    r = vtk.vtkOpenFOAMReader()
    r.SetFileName(foam)
    r.UpdateInformation()
    r.SetTimeValue(0.0)
    r.EnableAllCellArrays()
    r.SetCreateCellToPoint(0)      # cell data stays cell data, as nabla evaluates at the cells
    r.SetUse64BitFloats(1)         # the case's binary files hold doubles (the reader makes
                                   # them Float32 arrays whatever this says)
    r.DisableAllPatchArrays()
    r.SetPatchArrayStatus("internalMesh", 1)
    r.Update()
    mesh = r.GetOutput().GetBlock(0)
    t["read"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    g = vtk.vtkGradientFilter()
    g.SetInputData(mesh)
    g.SetInputArrayToProcess(0, 0, 0, vtk.vtkDataObject.FIELD_ASSOCIATION_CELLS, "U")
    g.SetResultArrayName("grad(U)")
    g.SetComputeQCriterion(1)
    g.SetQCriterionArrayName("Q(U)")
    g.Update()
    res = g.GetOutput()
    t["gradient"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    w = vtk.vtkXMLUnstructuredGridWriter()
    w.SetFileName(out)
    w.SetInputData(res)
    w.SetDataModeToBinary()        # inline base64, as nabla's default
    w.SetCompressorTypeToNone()    # nabla's default: compression = "none", Float64
    w.SetHeaderTypeToUInt64()
    w.Write()
    t["write"] = time.perf_counter() - t2
    total = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print("vtk: cells %d, read %.2f s, gradient + Q %.2f s, write %.2f s (%d MB)"
          % (res.GetNumberOfCells(), t["read"], t["gradient"], t["write"], os.path.getsize(out) // 1000000))
    print("vtk_total_s %.3f" % total)
    print("vtk_cpu_s %.3f" % cpu)
    print("vtk_nowrite_s %.3f" % (t["read"] + t["gradient"]))


def errors(case, *files):
    """The relative L2 error of grad(U) of each .vtu (cell data) against the exact gradient
    at the cell centres (CASE/C.cells, the 0/C that writeU read; VTK's gradient is the
    transpose of OpenFOAM's, d u_i / d x_j, and is compared as such)."""
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    c, _ = read_centres(os.path.join(case, "C.cells"))
    exact = field.gradU(c)
    for f in files:
        r = vtk.vtkXMLUnstructuredGridReader()
        r.SetFileName(f)
        r.Update()
        o = r.GetOutput()
        a = o.GetCellData().GetArray("grad(U)") or o.GetPointData().GetArray("grad(U)")
        g = vtk_to_numpy(a).reshape(-1, 9)
        if len(g) != len(exact):
            print("%s: %d values for %d cells" % (f, len(g), len(exact)))
            continue
        errs = {conv: np.linalg.norm(gc - exact) / np.linalg.norm(exact)
                for conv, gc in (("d u_j / d x_i", g), ("d u_i / d x_j", g.reshape(-1, 3, 3).transpose(0, 2, 1).reshape(-1, 9)))}
        conv = min(errs, key=errs.get)
        print("%s: grad(U) relative L2 error %.3g (as %s)" % (f, errs[conv], conv))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "setup":
        setup(sys.argv[2], int(sys.argv[3]))
    elif cmd == "writeU":
        write_u(sys.argv[2])
    elif cmd == "vtk":
        vtk_run(sys.argv[2], sys.argv[3])
    elif cmd == "errors":
        errors(sys.argv[2], *sys.argv[3:])
    else:
        raise SystemExit(__doc__)
