"""A small reader and writer of ASCII OpenFOAM files, enough for the known-answer cases:
constant/polyMesh (points, faces, owner, neighbour, boundary) and vol fields (internalField
and each patch's value, uniform or nonuniform)."""
import os
import re

import numpy as np

NCOMP = {"scalar": 1, "vector": 3, "symmTensor": 6, "tensor": 9}


def header(cls, obj, location=None, note=None):
    loc = '    location    "%s";\n' % location if location else ""
    nt = '    note        "%s";\n' % note if note else ""
    return (
        "/*--------------------------------*- C++ -*----------------------------------*\\\n"
        "  =========                 |\n"
        "  \\\\      /  F ield         | OpenFOAM: The Open Source CFD Toolbox\n"
        "   \\\\    /   O peration     | Version:  v1912\n"
        "    \\\\  /    A nd           | Website:  www.openfoam.com\n"
        "     \\\\/     M anipulation  |\n"
        "\\*---------------------------------------------------------------------------*/\n"
        "FoamFile\n{\n    version     2.0;\n    format      ascii;\n"
        "    class       %s;\n%s%s    object      %s;\n}\n"
        "// * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * * //\n\n"
        % (cls, nt, loc, obj)
    )


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _body(text):
    """The text after the FoamFile header dictionary."""
    text = _strip_comments(text)
    m = re.search(r"FoamFile\s*\{", text)
    if m:
        end = _match_brace(text, m.end() - 1)
        text = text[end + 1:]
    return text


def _match_brace(text, i, open_="{", close="}"):
    depth = 0
    for k in range(i, len(text)):
        c = text[k]
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return k
    raise ValueError("unbalanced %s%s" % (open_, close))


def _read_counted_list(text, pos):
    """A list `N ( ... )` starting at or after pos; returns (inner text, N, end position)."""
    m = re.compile(r"\s*(\d+)\s*\(").match(text, pos)
    if not m:
        raise ValueError("no counted list at %r" % text[pos:pos + 40])
    n = int(m.group(1))
    start = m.end() - 1
    end = _match_brace(text, start, "(", ")")
    return text[start + 1:end], n, end + 1


def _numbers(inner, n, k):
    vals = np.array(inner.replace("(", " ").replace(")", " ").split(), dtype=float)
    if vals.size != n * k:
        raise ValueError("expected %d x %d numbers, found %d" % (n, k, vals.size))
    return vals.reshape(n, k) if k > 1 else vals


def read_points(path):
    body = _body(open(path).read())
    inner, n, _ = _read_counted_list(body, 0)
    return _numbers(inner, n, 3)


def read_labels(path):
    body = _body(open(path).read())
    inner, n, _ = _read_counted_list(body, 0)
    return _numbers(inner, n, 1).astype(np.int64)


def read_faces(path):
    body = _body(open(path).read())
    inner, n, _ = _read_counted_list(body, 0)
    faces = [np.array(f.split(), dtype=np.int64) for f in re.findall(r"\d+\s*\(([^)]*)\)", inner)]
    if len(faces) != n:
        raise ValueError("expected %d faces, found %d" % (n, len(faces)))
    return faces


def read_boundary(path):
    """[(name, type, nFaces, startFace)] in file order."""
    body = _body(open(path).read())
    m = re.compile(r"\s*(\d+)\s*\(").match(body)
    inner = body[m.end():]
    out = []
    for pm in re.finditer(r"(\w+)\s*\{([^{}]*)\}", inner):
        d = pm.group(2)
        out.append((pm.group(1), re.search(r"type\s+(\w+)", d).group(1),
                    int(re.search(r"nFaces\s+(\d+)", d).group(1)),
                    int(re.search(r"startFace\s+(\d+)", d).group(1))))
    return out


class PolyMesh:
    def __init__(self, case):
        d = os.path.join(case, "constant", "polyMesh")
        self.points = read_points(os.path.join(d, "points"))
        self.faces = read_faces(os.path.join(d, "faces"))
        self.owner = read_labels(os.path.join(d, "owner"))
        self.neighbour = read_labels(os.path.join(d, "neighbour"))
        self.boundary = read_boundary(os.path.join(d, "boundary"))
        self.n_internal = len(self.neighbour)
        self.n_cells = int(max(self.owner.max(), self.neighbour.max() if len(self.neighbour) else 0)) + 1

    def boundary_points(self):
        """Mask of the points on a boundary patch."""
        m = np.zeros(len(self.points), bool)
        for f in self.faces[self.n_internal:]:
            m[f] = True
        return m

    def cells_touching_boundary(self):
        """Mask of the cells with at least one point on a boundary patch."""
        bp = self.boundary_points()
        m = np.zeros(self.n_cells, bool)
        for fi, f in enumerate(self.faces):
            if bp[f].any():
                m[self.owner[fi]] = True
                if fi < self.n_internal:
                    m[self.neighbour[fi]] = True
        return m


def read_field(path):
    """(class, internal values (n, k) or a uniform value, {patch: (type, values or None)})."""
    text = _body(open(path).read())
    raw = _strip_comments(open(path).read())
    cls = re.search(r"class\s+(\w+)\s*;", raw).group(1)
    kind = cls.replace("vol", "").replace("Field", "")
    k = NCOMP[kind[0].lower() + kind[1:]]

    def value_at(s, pos):
        s2 = s[pos:].lstrip()
        if s2.startswith("uniform"):
            v = s2[len("uniform"):].split(";")[0]
            return np.array(v.replace("(", " ").replace(")", " ").split(), float)
        m = re.match(r"nonuniform\s+List<\w+>", s2)
        if not m:
            raise ValueError("cannot read value %r" % s2[:40])
        inner, n, _ = _read_counted_list(s2, m.end())
        return _numbers(inner, n, k)

    mi = re.search(r"\binternalField\b", text)
    internal = value_at(text, mi.end())
    mb = re.search(r"\bboundaryField\s*\{", text)
    end = _match_brace(text, mb.end() - 1)
    bf = text[mb.end():end]
    patches = {}
    pos = 0
    while True:
        pm = re.compile(r"\s*([\w\"().*|-]+)\s*\{").match(bf, pos)
        if not pm:
            break
        e = _match_brace(bf, pm.end() - 1)
        d = bf[pm.end():e]
        t = re.search(r"type\s+(\w+)\s*;", d).group(1)
        mv = re.search(r"\bvalue\b", d)
        patches[pm.group(1)] = (t, value_at(d, mv.end()) if mv else None)
        pos = e + 1
    return cls, internal, patches


def fmt_vec(v):
    return "(" + " ".join("%.12g" % x for x in v) + ")"


def write_vol_vector(path, internal, patches, obj="U"):
    """patches: [(name, type, values (n, 3))] written as `type; value nonuniform`."""
    out = [header("volVectorField", obj, location="0")]
    out.append("dimensions      [0 1 -1 0 0 0 0];\n\n")
    out.append("internalField   nonuniform List<vector> \n%d\n(\n" % len(internal))
    out.extend(fmt_vec(v) + "\n" for v in internal)
    out.append(")\n;\n\nboundaryField\n{\n")
    for name, typ, vals in patches:
        out.append("    %s\n    {\n        type            %s;\n" % (name, typ))
        out.append("        value           nonuniform List<vector> \n%d\n(\n" % len(vals))
        out.extend(fmt_vec(v) + "\n" for v in vals)
        out.append(")\n;\n    }\n")
    out.append("}\n\n\n// ************************************************************************* //\n")
    open(path, "w").write("".join(out))
