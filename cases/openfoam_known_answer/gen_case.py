#!/usr/bin/env python3
"""Writes the inputs of one known-answer case, and its 0/U from OpenFOAM's 0/C.

    gen_case.py setup CASE MESH LEVEL   # system/*, and system/blockMeshDict or constant/polyMesh
    gen_case.py writeU CASE             # 0/U: the analytic field at the cell centres (internal)
                                        # and at the patch face centres (fixedValue), from 0/C

MESH is `skewed_hex`, `tets` or `channel`; LEVEL is 1 (coarse) or 2 (each direction refined
twice, about 8 times the cells)."""
import itertools
import os
import sys

import numpy as np

import field
import foamio

CONTROL = """application     postProcess;
startFrom       startTime;
startTime       0;
stopAt          endTime;
endTime         0;
deltaT          1;
writeControl    timeStep;
writeInterval   1;
purgeWrite      0;
writeFormat     ascii;
writePrecision  12;
writeCompression off;
timeFormat      general;
timePrecision   6;
runTimeModifiable false;
"""

SCHEMES = """ddtSchemes
{
    default         steadyState;
}

gradSchemes
{
    default         Gauss linear;
}

divSchemes
{
    default         none;
}

laplacianSchemes
{
    default         Gauss linear corrected;
}

interpolationSchemes
{
    default         linear;
}

snGradSchemes
{
    default         corrected;
}
"""

SOLUTION = """solvers
{
}
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text)


def system_files(case):
    write(os.path.join(case, "system", "controlDict"), foamio.header("dictionary", "controlDict", "system") + CONTROL)
    write(os.path.join(case, "system", "fvSchemes"), foamio.header("dictionary", "fvSchemes", "system") + SCHEMES)
    write(os.path.join(case, "system", "fvSolution"), foamio.header("dictionary", "fvSolution", "system") + SOLUTION)


HEX_PATCHES = """boundary
(
    xmin { type patch; faces ( (0 4 7 3) ); }
    xmax { type patch; faces ( (1 2 6 5) ); }
    ymin { type patch; faces ( (0 1 5 4) ); }
    ymax { type patch; faces ( (3 7 6 2) ); }
    zmin { type patch; faces ( (0 3 2 1) ); }
    zmax { type patch; faces ( (4 5 6 7) ); }
);
"""


def skewed_hex(level):
    """One curved, skewed hexahedral block: no two opposite faces parallel, arc, spline and
    polyLine edges, graded in two directions."""
    n = 12 * level
    return """scale 1;

vertices
(
    (0     0     0   )
    (1     0.2   0   )
    (1.3   1.1   0.15)
    (0.25  0.9   0   )
    (0.15  0.1   1   )
    (1.1   0.35  0.9 )
    (1.45  1.3   1.2 )
    (0.35  1.05  1.05)
);

blocks
(
    hex (0 1 2 3 4 5 6 7) (%d %d %d) simpleGrading (1.6 0.7 1.4)
);

edges
(
    arc 0 1 (0.5 0.0 -0.12)
    arc 3 2 (0.8 1.12 0.22)
    arc 4 5 (0.6 0.12 1.08)
    arc 7 6 (0.95 1.28 1.3)
    spline 0 4 ((0.12 0.0 0.35) (0.05 0.12 0.7))
    polyLine 2 6 ((1.48 1.15 0.65))
);

%s
mergePatchPairs
(
);
""" % (n, n, n, HEX_PATCHES)


def channel(level):
    """A bent channel between two walls (ymin, ymax), cells graded toward both walls:
    first cell about 1/60 of the spanwise size (aspect ratio > 50 at the walls)."""
    nx, ny, nz = 12 * level, 30 * level, 6 * level
    # geometric grading, 15 cells per half; the largest to the smallest cell of a half:
    r = 60.0
    return """scale 1;

vertices
(
    (0 0 0) (2 0 0) (2 1 0) (0 1 0)
    (0 0 0.8) (2 0 0.8) (2 1 0.8) (0 1 0.8)
);

blocks
(
    hex (0 1 2 3 4 5 6 7) (%d %d %d)
    simpleGrading (1 ((0.5 0.5 %g) (0.5 0.5 %g)) 1)
);

edges
(
    arc 0 1 (1 0.15 0)
    arc 4 5 (1 0.15 0.8)
    arc 3 2 (1 1.15 0)
    arc 7 6 (1 1.15 0.8)
);

boundary
(
    inlet  { type patch; faces ( (0 4 7 3) ); }
    outlet { type patch; faces ( (1 2 6 5) ); }
    lowerWall { type wall; faces ( (0 1 5 4) ); }
    upperWall { type wall; faces ( (3 7 6 2) ); }
    side0  { type patch; faces ( (0 3 2 1) ); }
    side1  { type patch; faces ( (4 5 6 7) ); }
);

mergePatchPairs
(
);
""" % (nx, ny, nz, r, 1.0 / r)


def tets(case, level, seed=18):
    """A jittered lattice of the unit cube, each hexahedron split into 6 tetrahedra (Kuhn's
    subdivision, conforming), written as constant/polyMesh."""
    n = 8 * level
    h = 1.0 / n
    rng = np.random.default_rng(seed + level)
    ijk = np.array(list(itertools.product(range(n + 1), repeat=3)))  # i slowest
    P = ijk * h
    jit = rng.uniform(-0.2 * h, 0.2 * h, size=P.shape)
    jit[(ijk == 0) | (ijk == n)] = 0.0  # boundary points stay on their planes
    P = P + jit

    def vid(i, j, k):
        return (i * (n + 1) + j) * (n + 1) + k

    cells = []
    for i, j, k in itertools.product(range(n), repeat=3):
        for perm in itertools.permutations(range(3)):
            c = [i, j, k]
            t = [vid(*c)]
            for ax in perm:
                c[ax] += 1
                t.append(vid(*c))
            cells.append(t)
    cells = np.array(cells)
    cen = P[cells].mean(axis=1)
    vol = np.einsum("ij,ij->i", np.cross(P[cells[:, 1]] - P[cells[:, 0]], P[cells[:, 2]] - P[cells[:, 0]]),
                    P[cells[:, 3]] - P[cells[:, 0]]) / 6
    assert (np.abs(vol) > 0.05 * h**3 / 6).all(), "degenerate tetrahedron"
    faces = {}
    for c, t in enumerate(cells):
        for drop in range(4):
            f = tuple(v for q, v in enumerate(t) if q != drop)
            faces.setdefault(tuple(sorted(f)), []).append((c, f))
    internal, bnd = [], {}
    names = ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"]
    for key, lst in faces.items():
        if len(lst) == 2:
            (c0, f0), (c1, _) = sorted(lst)
            internal.append((c0, c1, f0))
        else:
            (c0, f0), = lst
            idx = ijk[list(key)]
            for ax in range(3):
                if (idx[:, ax] == 0).all():
                    name = names[2 * ax]
                elif (idx[:, ax] == n).all():
                    name = names[2 * ax + 1]
                else:
                    continue
                bnd.setdefault(name, []).append((c0, f0))
                break
            else:
                raise AssertionError("a boundary face off the cube's faces")

    def oriented(owner, f):
        a, b, c = P[list(f)]
        nrm = np.cross(b - a, c - a)
        if np.dot(nrm, (a + b + c) / 3 - cen[owner]) < 0:
            return (f[0], f[2], f[1])
        return f

    internal.sort(key=lambda x: (x[0], x[1]))
    flist = [oriented(o, f) for o, _, f in internal]
    owner = [o for o, _, _ in internal]
    neigh = [nb for _, nb, _ in internal]
    patches = []
    for name in names:
        lst = sorted(bnd[name])
        patches.append((name, len(lst), len(flist)))
        for o, f in lst:
            flist.append(oriented(o, f))
            owner.append(o)
    d = os.path.join(case, "constant", "polyMesh")
    note = "nPoints:%d  nCells:%d  nFaces:%d  nInternalFaces:%d" % (len(P), len(cells), len(flist), len(neigh))
    write(os.path.join(d, "points"), foamio.header("vectorField", "points", "constant/polyMesh")
          + "%d\n(\n" % len(P) + "".join(foamio.fmt_vec(p) + "\n" for p in P) + ")\n")
    write(os.path.join(d, "faces"), foamio.header("faceList", "faces", "constant/polyMesh")
          + "%d\n(\n" % len(flist) + "".join("3(%d %d %d)\n" % f for f in flist) + ")\n")
    write(os.path.join(d, "owner"), foamio.header("labelList", "owner", "constant/polyMesh", note)
          + "%d\n(\n" % len(owner) + "".join("%d\n" % o for o in owner) + ")\n")
    write(os.path.join(d, "neighbour"), foamio.header("labelList", "neighbour", "constant/polyMesh", note)
          + "%d\n(\n" % len(neigh) + "".join("%d\n" % o for o in neigh) + ")\n")
    b = ["%d\n(\n" % len(patches)]
    for name, nf, start in patches:
        b.append("    %s\n    {\n        type            patch;\n        nFaces          %d;\n"
                 "        startFace       %d;\n    }\n" % (name, nf, start))
    b.append(")\n")
    write(os.path.join(d, "boundary"), foamio.header("polyBoundaryMesh", "boundary", "constant/polyMesh") + "".join(b))


def setup(case, mesh, level):
    system_files(case)
    if mesh == "skewed_hex":
        write(os.path.join(case, "system", "blockMeshDict"), foamio.header("dictionary", "blockMeshDict", "system") + skewed_hex(level))
    elif mesh == "channel":
        write(os.path.join(case, "system", "blockMeshDict"), foamio.header("dictionary", "blockMeshDict", "system") + channel(level))
    elif mesh == "tets":
        tets(case, level)
    else:
        raise SystemExit("unknown mesh %s" % mesh)
    os.makedirs(os.path.join(case, "0"), exist_ok=True)


def write_u(case):
    cls, C, patches = foamio.read_field(os.path.join(case, "0", "C"))
    bnd = foamio.read_boundary(os.path.join(case, "constant", "polyMesh", "boundary"))
    out = []
    for name, _, nf, _ in bnd:
        t, v = patches[name]
        if v is None or (v.ndim == 1 and nf != 1):
            raise SystemExit("patch %s of 0/C has no face centres" % name)
        v = v.reshape(-1, 3)
        if len(v) != nf:
            raise SystemExit("patch %s: %d face centres for %d faces" % (name, len(v), nf))
        out.append((name, "fixedValue", field.U(v)))
    foamio.write_vol_vector(os.path.join(case, "0", "U"), field.U(C), out)


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "writeU":
        write_u(sys.argv[2])
    else:
        raise SystemExit(__doc__)
