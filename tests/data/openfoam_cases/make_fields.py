#!/usr/bin/env python3
"""Helpers of make.sh: hand-made OpenFOAM files that no solver writes for us.

    make_fields.py cavity-fields CASE   # 0/S (symmTensor), 0/T (#include, $var, groups), 0/k (regex keys)
    make_fields.py mixed CASE           # constant/polyMesh of a mesh with every cell shape

OpenFOAM itself then reads them (checkMesh, foamToVTK, decomposePar), which checks that they
are valid.
"""

import os
import sys

BANNER = "/*--------------------------------*- C++ -*----------------------------------*\\\n" \
         "  made by tests/data/openfoam_cases/make_fields.py\n" \
         "\\*---------------------------------------------------------------------------*/\n"


def header(cls, obj, location, note=None):
    s = BANNER + "FoamFile\n{\n    version     2.0;\n    format      ascii;\n"
    s += f"    class       {cls};\n"
    if note:
        s += f"    note        \"{note}\";\n"
    s += f"    location    \"{location}\";\n    object      {obj};\n}}\n\n"
    return s


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def cavity_fields(case):
    n = 400
    # S: a symmetric tensor per cell, xx xy xz yy yz zz, from the cell index.
    rows = []
    for c in range(n):
        i, j = c % 20, c // 20
        rows.append(f"({i} {j} {0.5 * c} {i + j} {-c} {0.25 * i * j})")
    wall = [f"({k} {k + 1} {k + 2} {k + 3} {k + 4} {k + 5})" for k in range(20)]
    s = header("volSymmTensorField", "S", "0")
    s += "dimensions      [0 0 0 0 0 0 0];\n\n"
    s += f"internalField   nonuniform List<symmTensor>\n{n}\n(\n" + "\n".join(rows) + "\n)\n;\n\n"
    s += "boundaryField\n{\n"
    s += "    movingWall\n    {\n        type            fixedValue;\n"
    s += "        value           nonuniform List<symmTensor>\n20\n(\n" + "\n".join(wall) + "\n)\n;\n    }\n"
    s += "    fixedWalls\n    {\n        type            fixedValue;\n        value           uniform (1 2 3 4 5 6);\n    }\n"
    s += "    frontAndBack\n    {\n        type            empty;\n    }\n}\n"
    write(os.path.join(case, "0", "S"), s)

    # T: #include of a file with a variable, $var, a patch group key (wall), an exact name
    # that beats the group, and the constraint types of setConstraintTypes (frontAndBack is
    # in the group `empty`).
    write(os.path.join(case, "0", "include", "initialConditions"),
          "// included by 0/T\nTinit           300;\nTwall           310;\n")
    t = header("volScalarField", "T", "0")
    t += "#include \"include/initialConditions\"\n\n"
    t += "dimensions      [0 0 0 1 0 0 0];\n\n"
    t += "internalField   uniform $Tinit;\n\n"
    t += "boundaryField\n{\n"
    t += "    #includeEtc \"caseDicts/setConstraintTypes\"\n\n"
    t += "    wall\n    {\n        type            zeroGradient;\n    }\n"
    t += "    movingWall\n    {\n        type            fixedValue;\n        value           uniform $Twall;\n    }\n"
    t += "}\n"
    write(os.path.join(case, "0", "T"), t)

    # k: regular expressions as keys; the last one that matches wins.
    k = header("volScalarField", "k", "0")
    k += "dimensions      [0 2 -2 0 0 0 0];\n\n"
    k += "internalField   uniform 0.25;\n\n"
    k += "boundaryField\n{\n"
    k += "    \".*\"\n    {\n        type            zeroGradient;\n    }\n"
    k += "    \"(movingWall|fixedWalls)\"\n    {\n        type            fixedValue;\n        value           $internalField;\n    }\n"
    k += "    frontAndBack\n    {\n        type            empty;\n    }\n"
    k += "}\n"
    write(os.path.join(case, "0", "k"), k)


# Outward faces of the primitives in VTK's vertex order (vtkHexahedron, vtkPyramid, vtkTetra;
# WEDGE is VTK 8's vtkWedge table, triangle 0 1 2 outward: only used to build outward faces).
HEX = [(0, 4, 7, 3), (1, 2, 6, 5), (0, 1, 5, 4), (3, 7, 6, 2), (0, 3, 2, 1), (4, 5, 6, 7)]
WEDGE = [(0, 1, 2), (3, 5, 4), (0, 3, 4, 1), (1, 4, 5, 2), (2, 5, 3, 0)]
PYR = [(0, 3, 2, 1), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)]
TET = [(0, 1, 3), (1, 2, 3), (2, 0, 3), (0, 2, 1)]


def mixed(case):
    """A row of unit cubes along x, each cut into cells of one shape:
    E = [-1, 0]: 4 hexahedra (2 x 2 in y, z); A = [0, 1]: one hexahedron whose x = 0 side
    is the 4 faces of E, so a polyhedron of 9 faces; B = [1, 2]: 6 pyramids with their apex
    at the cube's centre; C = [2, 3]: 2 prisms; D = [3, 4]: a pyramid on x = 3 and 10
    tetrahedra. Boundary: inlet (x = -1), outlet (x = 4), walls (the rest)."""
    pts = []
    index = {}

    def p(x, y, z):
        key = (round(x * 4), round(y * 4), round(z * 4))
        if key not in index:
            index[key] = len(pts)
            pts.append((x, y, z))
        return index[key]

    cells = []  # each a list of outward faces (point tuples)

    def prim(table, verts):
        cells.append([tuple(verts[i] for i in f) for f in table])

    def cube(x0, y0, z0, dx, dy, dz):
        return [p(x0, y0, z0), p(x0 + dx, y0, z0), p(x0 + dx, y0 + dy, z0), p(x0, y0 + dy, z0),
                p(x0, y0, z0 + dz), p(x0 + dx, y0, z0 + dz), p(x0 + dx, y0 + dy, z0 + dz),
                p(x0, y0 + dy, z0 + dz)]

    # E: 4 hexes.
    for j in range(2):
        for k in range(2):
            prim(HEX, cube(-1, 0.5 * j, 0.5 * k, 1, 0.5, 0.5))
    # A: a hex whose x = 0 face is split in 4 (outward normal -x: the faces of E's x = 0
    # sides, reversed).
    v = cube(0, 0, 0, 1, 1, 1)
    faces = [f for f in ([tuple(v[i] for i in f) for f in HEX]) if f != (v[0], v[4], v[7], v[3])]
    for j in range(2):
        for k in range(2):
            c = cube(-1, 0.5 * j, 0.5 * k, 1, 0.5, 0.5)
            # E's x = 0 side is its face (1, 2, 6, 5), outward +x; A sees it reversed.
            f = (c[1], c[2], c[6], c[5])
            faces.append((f[0], f[3], f[2], f[1]))
    cells.append(faces)
    # B: 6 pyramids, apex at (1.5, 0.5, 0.5), one per side of the cube.
    v = cube(1, 0, 0, 1, 1, 1)
    apex = p(1.5, 0.5, 0.5)
    for f in HEX:
        base = [v[i] for i in f]  # outward quad of the cube
        # VTK pyramid: base 0 1 2 3 with its normal towards the apex: the outward quad reversed.
        prim(PYR, [base[0], base[3], base[2], base[1], apex])
    # C: 2 prisms, triangles in z = 0 and z = 1.
    a, b, c, d = p(2, 0, 0), p(3, 0, 0), p(3, 1, 0), p(2, 1, 0)
    A, B, C, D = p(2, 0, 1), p(3, 0, 1), p(3, 1, 1), p(2, 1, 1)
    # VTK wedge: (0 1 2) normal points away from (3 4 5): bottom triangle clockwise seen from +z.
    prim(WEDGE, [a, d, b, A, D, B])
    prim(WEDGE, [b, d, c, B, D, C])
    # D: a pyramid on x = 3, and two tetrahedra on each other side.
    v = cube(3, 0, 0, 1, 1, 1)
    apex = p(3.5, 0.5, 0.5)
    for f in HEX:
        q = [v[i] for i in f]
        if f == (0, 4, 7, 3):  # x = 3
            prim(PYR, [q[0], q[3], q[2], q[1], apex])
        else:
            # the outward quad q0 q1 q2 q3 split along q0-q2: outward triangles (q0 q1 q2) and
            # (q0 q2 q3); VTK tet (0 1 2 3): face (0 2 1) outward.
            for t in ((q[0], q[1], q[2]), (q[0], q[2], q[3])):
                prim(TET, [t[0], t[2], t[1], apex])

    # Faces: internal ones (shared by two cells) in upper-triangular order, then patches.
    owner_of = {}
    internal = []
    boundary = []
    for ci, faces in enumerate(cells):
        for f in faces:
            key = frozenset(f)
            if key in owner_of:
                oc, of = owner_of.pop(key)
                internal.append((oc, ci, of))
            else:
                owner_of[key] = (ci, f)
    for key, (ci, f) in owner_of.items():
        xs = [pts[i][0] for i in f]
        if all(x == -1 for x in xs):
            patch = "inlet"
        elif all(x == 4 for x in xs):
            patch = "outlet"
        else:
            patch = "walls"
        boundary.append((patch, ci, f))
    internal.sort(key=lambda t: (t[0], t[1]))
    order = ["inlet", "outlet", "walls"]
    boundary.sort(key=lambda t: (order.index(t[0]), t[1]))
    faces = [f for (_, _, f) in internal] + [f for (_, _, f) in boundary]
    owner = [o for (o, _, _) in internal] + [o for (_, o, _) in boundary]
    neigh = [n for (_, n, _) in internal]

    d = os.path.join(case, "constant", "polyMesh")
    note = f"nPoints:{len(pts)} nCells:{len(cells)} nFaces:{len(faces)} nInternalFaces:{len(internal)}"
    write(os.path.join(d, "points"), header("vectorField", "points", "constant/polyMesh")
          + f"{len(pts)}\n(\n" + "".join(f"({x:g} {y:g} {z:g})\n" for x, y, z in pts) + ")\n")
    write(os.path.join(d, "faces"), header("faceList", "faces", "constant/polyMesh")
          + f"{len(faces)}\n(\n" + "".join(f"{len(f)}(" + " ".join(map(str, f)) + ")\n" for f in faces) + ")\n")
    write(os.path.join(d, "owner"), header("labelList", "owner", "constant/polyMesh", note)
          + f"{len(owner)}\n(\n" + "".join(f"{o}\n" for o in owner) + ")\n")
    write(os.path.join(d, "neighbour"), header("labelList", "neighbour", "constant/polyMesh", note)
          + f"{len(neigh)}\n(\n" + "".join(f"{n}\n" for n in neigh) + ")\n")
    b = header("polyBoundaryMesh", "boundary", "constant/polyMesh") + "3\n(\n"
    start = len(internal)
    for name in order:
        n = sum(1 for t in boundary if t[0] == name)
        kind = "wall" if name == "walls" else "patch"
        groups = "        inGroups        1(wall);\n" if kind == "wall" else ""
        b += f"    {name}\n    {{\n        type            {kind};\n{groups}"
        b += f"        nFaces          {n};\n        startFace       {start};\n    }}\n"
        start += n
    b += ")\n"
    write(os.path.join(d, "boundary"), b)


if __name__ == "__main__":
    what, case = sys.argv[1], sys.argv[2]
    {"cavity-fields": cavity_fields, "mixed": mixed}[what](case)
