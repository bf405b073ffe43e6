#!/usr/bin/env python3
"""Relative L2 errors of grad(U) on the known-answer OpenFOAM cases (issue 18).

    python3 cases/openfoam_known_answer/errors.py            # print the tables
    python3 cases/openfoam_known_answer/errors.py --readme   # and write them into README.md
    python3 cases/openfoam_known_answer/errors.py --nabla DIR

For each case (MESH_LEVEL, made by make.sh) it compares with the exact gradient of field.py:
OpenFOAM's Gauss-linear grad(U) at the cell centres (OpenFOAM's 0/C), the same interpolated
to the points by foamToVTK, and VTK's vtkGradientFilter (ParaView's Gradient filter) on
foamToVTK's point data (at the points) and cell data (at the cells). Error: ||G - G_exact||_2 /
||G_exact||_2 over all 9 components of all cells (or points), boundary cells included, and
again over the interior only: cells with no point on a boundary patch, points of such cells
only (i.e. points not within one cell of a patch). Observed order between the two levels:
log(e1/e2) / log(h1/h2) with h = N_cells^(-1/3).

NABLA HOOK. nabla's results are read from DIR (default: nabla/ beside this script), one
folder per case: DIR/MESH_LEVEL/**.vtu|.vtm|.vtp|.vtk (any layout nabla writes). Every point
or cell array named `grad(U)` (9 components, OpenFOAM's convention (grad U)_ij = du_j/dx_i,
row-major, as nabla writes it) or `lap(U)` (3 components) is compared with the exact values:
point arrays at the file's points, cell arrays at OpenFOAM's cell centres when the file has
the case's cells (else at VTK's cell centres). A row's name is the file's path inside the
case folder with the case's name replaced by {case}, so DIR/tets_1/VTK/tets_1.vtu and
DIR/tets_2/VTK/tets_2.vtu are one row and get an order. Locations are matched to the cell
centres and mesh points of the case for the interior split (within 1e-5 of the domain size);
unmatched locations count in the overall error only.
"""
import argparse
import glob
import math
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import field  # noqa: E402
import foamio  # noqa: E402

MESHES = [
    ("skewed_hex", "3-D non-orthogonal hexahedra (one curved, skewed block)"),
    ("tets", "tetrahedra (jittered lattice, 6 tets per hexahedron)"),
    ("channel", "wall-refined anisotropic hexahedra (bent channel)"),
]
LEVELS = [1, 2]


def vtk():
    import vtk as _vtk
    return _vtk


def rel_l2(G, Gex, mask=None):
    if mask is not None:
        G, Gex = G[mask], Gex[mask]
    if len(G) == 0:
        return float("nan")
    return float(np.linalg.norm(G - Gex) / np.linalg.norm(Gex))


def vtk_to_foam(g):
    """vtkGradientFilter's 9 components (du/dx, du/dy, du/dz, dv/dx, ...: index 3j + i holds
    du_j/dx_i) to OpenFOAM's (index 3i + j holds du_j/dx_i)."""
    return g.reshape(-1, 3, 3).transpose(0, 2, 1).reshape(-1, 9)


def np_array(a):
    from vtk.util.numpy_support import vtk_to_numpy
    v = vtk_to_numpy(a).astype(float)
    return v.reshape(len(v), -1)


def read_any(path):
    """A VTK file as a list of vtkDataSets (the leaves of a .vtm)."""
    v = vtk()
    ext = os.path.splitext(path)[1]
    reader = {".vtu": v.vtkXMLUnstructuredGridReader, ".vtp": v.vtkXMLPolyDataReader,
              ".vtm": v.vtkXMLMultiBlockDataReader, ".vts": v.vtkXMLStructuredGridReader,
              ".vti": v.vtkXMLImageDataReader, ".vtk": v.vtkDataSetReader}[ext]()
    reader.SetFileName(path)
    if ext == ".vtk":
        reader.ReadAllScalarsOn()
        reader.ReadAllVectorsOn()
        reader.ReadAllTensorsOn()
        reader.ReadAllFieldsOn()
    reader.Update()
    out = reader.GetOutput()
    leaves = []

    def walk(d, name):
        if d is None:
            return
        if d.IsA("vtkMultiBlockDataSet"):
            for b in range(d.GetNumberOfBlocks()):
                meta = d.GetMetaData(b) if d.HasMetaData(b) else None
                nm = meta.Get(v.vtkCompositeDataSet.NAME()) if meta is not None else str(b)
                walk(d.GetBlock(b), name + "/" + str(nm))
        elif d.IsA("vtkDataSet"):
            leaves.append((name, d))

    walk(out, "")
    return leaves


def internal_mesh(case):
    name = os.path.basename(case)
    vtm = os.path.join(case, "VTK", name + "_0.vtm")
    for nm, d in read_any(vtm):
        if nm.endswith("internal"):
            return d
    raise SystemExit("%s: no internal mesh" % vtm)


def gradient_filter(ds, assoc):
    v = vtk()
    f = v.vtkGradientFilter()
    f.SetInputData(ds)
    where = v.vtkDataObject.FIELD_ASSOCIATION_POINTS if assoc == "points" else v.vtkDataObject.FIELD_ASSOCIATION_CELLS
    f.SetInputArrayToProcess(0, 0, 0, where, "U")
    f.SetResultArrayName("gradU_vtk")
    f.Update()
    o = f.GetOutput()
    data = o.GetPointData() if assoc == "points" else o.GetCellData()
    return vtk_to_foam(np_array(data.GetArray("gradU_vtk")))


def check_log(case):
    """cells, points, max aspect ratio, non-orthogonality (max, average), max skewness."""
    txt = open(os.path.join(case, "log.checkMesh")).read()

    def g(rx):
        m = re.search(rx, txt)
        return m.groups() if m else None

    return {
        "cells": int(g(r"cells:\s+(\d+)")[0]),
        "points": int(g(r"points:\s+(\d+)")[0]),
        "aspect": float(g(r"Max aspect ratio = ([\d.eE+-]+)")[0]),
        "nonortho": tuple(float(x) for x in g(r"non-orthogonality Max: ([\d.eE+-]+) average: ([\d.eE+-]+)")),
        "skew": float(g(r"Max skewness = ([\d.eE+-]+)")[0]),
        "ok": "Mesh OK." in txt,
    }


class Case:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.mesh = foamio.PolyMesh(path)
        _, self.C, cp = foamio.read_field(os.path.join(path, "0", "C"))
        self.Cpatch = {k: v.reshape(-1, 3) for k, (_, v) in cp.items() if v is not None}
        ls = os.path.join(path, "leastSquares", "grad(U)")
        self.G_ls = foamio.read_field(ls)[1] if os.path.isfile(ls) else None
        _, self.G_of, _ = foamio.read_field(os.path.join(path, "0", "grad(U)"))
        self.n = len(self.C)
        touch = self.mesh.cells_touching_boundary()
        self.interior_cells = ~touch
        near = np.zeros(len(self.mesh.points), bool)
        m = self.mesh
        for fi, f in enumerate(m.faces):
            if touch[m.owner[fi]] or (fi < m.n_internal and touch[m.neighbour[fi]]):
                near[f] = True
        self.interior_points = ~near
        self.h = self.n ** (-1.0 / 3.0)
        self.info = check_log(path)
        lo, hi = m.points.min(0), m.points.max(0)
        self.size = float(np.linalg.norm(hi - lo))

    def locate(self, X):
        """Interior flags of arbitrary locations (matched to cell centres or mesh points);
        None where a location matches neither."""
        v = vtk()
        from vtk.util.numpy_support import numpy_to_vtk
        fc = [v for v in self.Cpatch.values()]
        ref = np.vstack([self.C, self.mesh.points] + fc)
        flags = np.concatenate([self.interior_cells, self.interior_points] + [np.zeros(len(v), bool) for v in fc])
        pts = v.vtkPoints()
        pts.SetData(numpy_to_vtk(np.ascontiguousarray(ref), deep=True))
        pd = v.vtkPolyData()
        pd.SetPoints(pts)
        loc = v.vtkStaticPointLocator()
        loc.SetDataSet(pd)
        loc.BuildLocator()
        out = np.zeros(len(X), bool)
        known = np.zeros(len(X), bool)
        tol = 1e-5 * self.size
        for k, x in enumerate(X):
            i = loc.FindClosestPoint(x)
            if np.linalg.norm(ref[i] - x) <= tol:
                out[k], known[k] = flags[i], True
        return out, known

    def baseline_errors(self):
        """{method: (e all, e interior)}."""
        res = {}
        Gex_c = field.gradU(self.C)
        res["OpenFOAM Gauss linear `grad(U)`, cells"] = (
            rel_l2(self.G_of, Gex_c), rel_l2(self.G_of, Gex_c, self.interior_cells))
        if self.G_ls is not None:
            res["OpenFOAM leastSquares `grad(U)`, cells (for comparison)"] = (
                rel_l2(self.G_ls, Gex_c), rel_l2(self.G_ls, Gex_c, self.interior_cells))
        ds = internal_mesh(self.path)
        X = np_array(ds.GetPoints().GetData())
        if len(X) != len(self.mesh.points) or np.abs(X - self.mesh.points).max() > 1e-5 * self.size:
            raise SystemExit("%s: foamToVTK's points are not the mesh points" % self.name)
        if ds.GetNumberOfCells() != self.n:
            raise SystemExit("%s: foamToVTK's cells are not the mesh cells" % self.name)
        Gex_p = field.gradU(self.mesh.points)
        Gp = np_array(ds.GetPointData().GetArray("grad(U)"))
        res["OpenFOAM `grad(U)` → points (foamToVTK's interpolation)"] = (
            rel_l2(Gp, Gex_p), rel_l2(Gp, Gex_p, self.interior_points))
        Gv = gradient_filter(ds, "points")
        res["vtkGradientFilter (ParaView Gradient), point data, points"] = (
            rel_l2(Gv, Gex_p), rel_l2(Gv, Gex_p, self.interior_points))
        Gc = gradient_filter(ds, "cells")
        res["vtkGradientFilter (ParaView Gradient), cell data, cells"] = (
            rel_l2(Gc, Gex_c), rel_l2(Gc, Gex_c, self.interior_cells))
        return res

    def nabla_errors(self, root):
        """{method: (e all, e interior)} from nabla's files under root/CASE, if any."""
        res = {}
        d = os.path.join(root, self.name)
        if not os.path.isdir(d):
            return res
        files = sorted(p for p in glob.glob(os.path.join(d, "**", "*"), recursive=True)
                       if os.path.splitext(p)[1] in (".vtu", ".vtm", ".vtp", ".vtk", ".vts", ".vti"))
        # the pieces of a .vtm (in the folder of its name) are read through the .vtm
        stems = [os.path.splitext(p)[0] + os.sep for p in files if p.endswith(".vtm")]
        files = [p for p in files if not any(p.startswith(s) for s in stems)]
        for p in files:
            rel = os.path.relpath(p, d).replace(self.name, "{case}")
            for block, ds in read_any(p):
                X = np_array(ds.GetPoints().GetData()) if ds.GetNumberOfPoints() else np.zeros((0, 3))
                for assoc, data in (("points", ds.GetPointData()), ("cells", ds.GetCellData())):
                    for arr, exact, ncomp in (("grad(U)", field.gradU, 9), ("lap(U)", field.lapU, 3)):
                        a = data.GetArray(arr)
                        if a is None:
                            continue
                        vals = np_array(a)
                        if vals.shape[1] != ncomp:
                            print("nabla hook: %s%s %s has %d components, expected %d; skipped"
                                  % (rel, block, arr, vals.shape[1], ncomp))
                            continue
                        patch = block.rsplit("/", 1)[-1]
                        if assoc == "points":
                            L = X
                        elif ds.GetNumberOfCells() == self.n:
                            L = self.C
                        elif patch in self.Cpatch and ds.GetNumberOfCells() == len(self.Cpatch[patch]):
                            L = self.Cpatch[patch]
                        else:
                            v = vtk()
                            cc = v.vtkCellCenters()
                            cc.SetInputData(ds)
                            cc.Update()
                            L = np_array(cc.GetOutput().GetPoints().GetData())
                        inside, known = self.locate(L)
                        ex = exact(L)
                        key = "nabla `%s`, %s%s, %s" % (arr, rel, block if block not in ("", "/0") else "", assoc)
                        note = "" if known.all() else " (%d of %d locations unmatched)" % ((~known).sum(), len(L))
                        res[key + note] = (rel_l2(vals, ex), rel_l2(vals, ex, inside & known))
        return res


def order(e1, e2, h1, h2):
    if not (e1 > 0 and e2 > 0) or math.isnan(e1) or math.isnan(e2):
        return float("nan")
    return math.log(e1 / e2) / math.log(h1 / h2)


def fmt(x, digits=3):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return "%.*g" % (digits, x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=HERE, help="folder holding the MESH_LEVEL case directories")
    ap.add_argument("--nabla", default=os.path.join(HERE, "nabla"), help="nabla's results, DIR/MESH_LEVEL/...")
    ap.add_argument("--readme", action="store_true", help="write the tables into README.md")
    args = ap.parse_args()
    field.selftest()

    mesh_rows = ["| case | cells | points | max aspect ratio | non-orthogonality max / average (°) | max skewness | checkMesh |",
                 "|---|---|---|---|---|---|---|"]
    err_rows = ["| mesh | method | e, coarse | e, fine | order | e interior, coarse | e interior, fine | order, interior |",
                "|---|---|---|---|---|---|---|---|"]
    missing = []
    for mesh, desc in MESHES:
        cases = {}
        for lv in LEVELS:
            p = os.path.join(args.cases, "%s_%d" % (mesh, lv))
            if os.path.isfile(os.path.join(p, "0", "grad(U)")):
                cases[lv] = Case(p)
            else:
                missing.append(os.path.basename(p))
        results = {}
        for lv, c in cases.items():
            i = c.info
            mesh_rows.append("| `%s` | %d | %d | %.3g | %.1f / %.1f | %.2f | %s |" % (
                c.name, i["cells"], i["points"], i["aspect"], i["nonortho"][0], i["nonortho"][1], i["skew"],
                "Mesh OK" if i["ok"] else "failed checks"))
            for k, v in list(c.baseline_errors().items()) + list(c.nabla_errors(args.nabla).items()):
                results.setdefault(k, {})[lv] = v
        for k, byl in results.items():
            e1, e2 = byl.get(1, (None, None)), byl.get(2, (None, None))
            o_all = o_int = None
            if 1 in byl and 2 in byl:
                h1, h2 = cases[1].h, cases[2].h
                o_all = order(e1[0], e2[0], h1, h2)
                o_int = order(e1[1], e2[1], h1, h2)
            err_rows.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                mesh, k, fmt(e1[0]), fmt(e2[0]), fmt(o_all, 2), fmt(e1[1]), fmt(e2[1]), fmt(o_int, 2)))
    out = ["Analytic field: " + field.FORMULA + ".", "", "\n".join(mesh_rows), "", "\n".join(err_rows)]
    if missing:
        out += ["", "Not made (run make.sh): " + ", ".join(missing)]
    text = "\n".join(out) + "\n"
    print(text)
    if args.readme:
        path = os.path.join(HERE, "README.md")
        readme = open(path).read()
        a, b = "<!-- errors.py: begin -->", "<!-- errors.py: end -->"
        if a not in readme or b not in readme:
            raise SystemExit("README.md has no %s ... %s markers" % (a, b))
        head, rest = readme.split(a, 1)
        _, tail = rest.split(b, 1)
        open(path, "w").write(head + a + "\n" + text + b + tail)
        print("wrote %s" % path)


if __name__ == "__main__":
    main()
