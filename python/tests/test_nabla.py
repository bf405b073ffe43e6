"""The Python package: every function, its errors, and bit-equality with the command line."""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import nabla

ROOT = Path(__file__).resolve().parents[2]
CAVITY = ROOT / "cases" / "openfoam_cavity_data" / "cavity_t0.5.vtu"


def cli():
    """The command-line binary: $NABLA_BIN, else the repository's release build."""
    path = Path(os.environ.get("NABLA_BIN", ROOT / "target" / "release" / "nabla"))
    if not path.is_file():
        pytest.skip("no nabla binary (cargo build --release, or set NABLA_BIN)")
    return path


def quadratic(x):
    """f = x² + 3xy − y + z², its gradient and Laplacian."""
    f = x[:, 0] ** 2 + 3 * x[:, 0] * x[:, 1] - x[:, 1] + x[:, 2] ** 2
    g = np.column_stack([2 * x[:, 0] + 3 * x[:, 1], 3 * x[:, 0] - 1, 2 * x[:, 2]])
    return f, g, np.full(len(x), 4.0)


# --- derivatives of points and values -------------------------------------------------


def test_quadratic_reproduced_at_degree_2():
    x = np.random.default_rng(3).random((600, 3))
    f, g, lap = quadratic(x)
    at = np.random.default_rng(4).uniform(0.2, 0.8, (50, 3))
    out = nabla.derivatives(x, f, ["value", "grad", "lap"], at=at)
    fa, ga, la = quadratic(at)
    np.testing.assert_allclose(out["U"], fa, atol=1e-11)
    np.testing.assert_allclose(out["grad(U)"], ga, atol=1e-9)
    np.testing.assert_allclose(out["lap(U)"], la, atol=1e-7)
    assert out.location == "given"
    assert out.stats["points"] == 50 and out.stats["samples"] == 600
    assert out.stats["neighbours"] == 20 and out.stats["axes"] == "xyz"


def test_vector_field_in_2d_names_and_shapes():
    x = np.random.default_rng(0).random((1500, 2))
    u = np.column_stack([np.sin(x[:, 0]) * np.cos(x[:, 1]), -np.cos(x[:, 0]) * np.sin(x[:, 1])])
    out = nabla.derivatives(x, u, ("grad", "div", "curl", "Q", "lambda2"), name="V")
    assert set(out) == {"grad(V)", "div(V)", "curl(V)", "Q(V)", "lambda2(V)"}
    assert out["grad(V)"].shape == (1500, 4) and out["div(V)"].shape == (1500,)
    # Divergence-free and smooth: the degree-2 fit is close to 0 inside.
    inside = np.all((x > 0.1) & (x < 0.9), axis=1)
    assert np.abs(out["div(V)"][inside]).max() < 1e-3
    exact_curl = 2 * np.sin(x[:, 0]) * np.sin(x[:, 1])
    assert np.abs(out["curl(V)"][inside] - exact_curl[inside]).max() < 1e-3


def test_options_reach_the_reconstruction():
    x = np.random.default_rng(5).random((3000, 3))
    f = np.sin(3 * x[:, 0]) + x[:, 1] ** 3
    at = np.random.default_rng(6).uniform(0.3, 0.7, (200, 3))
    p2 = nabla.derivatives(x, f, "grad", degree=2, at=at)
    p3 = nabla.derivatives(x, f, "grad", degree=3, neighbours=70, at=at)
    uniform = nabla.derivatives(x, f, "grad", degree=3, neighbours=70, weights="uniform", at=at)
    assert p2.stats["neighbours"] == 20 and p3.stats["neighbours"] == 70
    exact = np.column_stack([3 * np.cos(3 * at[:, 0]), 3 * at[:, 1] ** 2, 0 * at[:, 0]])
    err = lambda o: np.linalg.norm(o["grad(U)"] - exact) / np.linalg.norm(exact)
    assert err(p3) < err(p2) / 3 and err(p2) < 0.02
    assert not np.array_equal(uniform["grad(U)"], p3["grad(U)"])


def test_inputs_of_other_dtypes_and_layouts_give_the_same_result():
    x = np.random.default_rng(6).random((300, 3))
    f, _, _ = quadratic(x)
    a = nabla.derivatives(x, f, "grad")
    b = nabla.derivatives(np.asfortranarray(x), f.astype(np.float64)[::1], "grad")
    c = nabla.derivatives(x.tolist(), list(f), "grad")
    assert np.array_equal(a["grad(U)"], b["grad(U)"]) and np.array_equal(a["grad(U)"], c["grad(U)"])


def test_contiguous_float64_inputs_are_passed_without_a_copy():
    x = np.random.default_rng(7).random((10, 3))
    assert nabla._f64(x, "points", (2,)) is x
    assert nabla._f64(np.asfortranarray(x), "points", (2,)) is not x


def test_results_do_not_depend_on_the_chunk_size():
    x = np.random.default_rng(8).random((700, 3))
    u = np.column_stack([x[:, 1] ** 2, np.sin(x[:, 2]), x[:, 0] * x[:, 1]])
    a = nabla.derivatives(x, u, ["grad", "Q", "lap"])
    b = nabla.derivatives(x, u, ["grad", "Q", "lap"], chunk_size=7)
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_results_do_not_depend_on_the_number_of_threads(tmp_path):
    script = (
        "import sys, numpy as np, nabla\n"
        "x = np.random.default_rng(11).random((3000, 3))\n"
        "u = np.column_stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2], np.cos(x[:, 2])])\n"
        "out = nabla.derivatives(x, u, ['grad', 'Q', 'lap'], degree=3)\n"
        "np.save(sys.argv[1], np.concatenate([a.ravel() for a in out.values()]))\n"
    )
    runs = []
    for threads in ("1", "2", "3"):
        out = tmp_path / f"t{threads}.npy"
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        r = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        runs.append(np.load(out))
    assert all(np.array_equal(runs[0], r) for r in runs[1:])


def test_the_gil_is_released_while_rust_works():
    x = np.random.default_rng(9).random((60000, 3))
    f = np.sin(x[:, 0]) * x[:, 1]
    done = threading.Event()
    ticks = []

    def work():
        nabla.derivatives(x, f, ["grad", "lap"], degree=3)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    start = time.perf_counter()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    took = time.perf_counter() - start
    assert took > 0.05, "the call was too short to tell"
    # With the GIL held for the whole call, this thread would not have run at all.
    assert len(ticks) > 10 * took, (len(ticks), took)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda x, f: nabla.derivatives(x, f, "bogus"), nabla.ConfigError, "unknown operator 'bogus'"),
        (lambda x, f: nabla.derivatives(x, f, "div"), nabla.OperatorError, "div"),
        (lambda x, f: nabla.derivatives(x, f, "grad", degree=7), nabla.ConfigError, "degree"),
        (lambda x, f: nabla.derivatives(x, f, "grad", neighbours=3), nabla.ConfigError, "neighbours"),
        (lambda x, f: nabla.derivatives(x, f, "grad", weights="box"), nabla.ConfigError, "weights"),
        (lambda x, f: nabla.derivatives(x, f[:-1], "grad"), nabla.DataError, ""),
        (lambda x, f: nabla.derivatives(x[:, :1], f, "grad"), nabla.ConfigError, "expected (N, 2) or (N, 3)"),
        (lambda x, f: nabla.derivatives(x, np.where(f > 0.5, np.nan, f), "grad"), nabla.DataError, "finite"),
        (lambda x, f: nabla.derivatives(x[:4], f[:4], "grad"), nabla.DataError, "needs at least"),
        (lambda x, f: nabla.derivatives(x, f, "grad", at=np.zeros((3, 5))), nabla.ConfigError, "at"),
        (lambda x, f: nabla.derivatives(x, f, "grad", samples="cells"), nabla.ConfigError, "meshes"),
        (lambda x, f: nabla.derivatives(x, f, "grad", at="cells"), nabla.ConfigError, "meshes"),
        (lambda x, f: nabla.derivatives(x, "f", "grad"), nabla.ConfigError, "values"),
        (lambda x, f: nabla.derivatives(x, f.reshape(1, 1, -1), "grad"), nabla.ConfigError, "expected"),
    ],
)
def test_bad_arguments_raise_nabla_errors(call, error, words):
    x = np.random.default_rng(10).random((100, 3))
    f = x[:, 0] + x[:, 1]
    with pytest.raises(error) as e:
        call(x, f)
    assert isinstance(e.value, nabla.NablaError)
    assert words in str(e.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(degree=-1),
        dict(degree=2.5),
        dict(degree=True),
        dict(neighbours=-3),
        dict(neighbours=10**30),
        dict(dim="3"),
        dict(chunk_size=-1),
        dict(chunk_size=0),
        dict(weights=None),
    ],
)
def test_hostile_settings_raise_nabla_errors(kwargs):
    x = np.random.default_rng(12).random((50, 3))
    with pytest.raises(nabla.NablaError):
        nabla.derivatives(x, x[:, 0], "grad", **kwargs)


def test_hostile_arrays_raise_nabla_errors():
    with pytest.raises(nabla.NablaError):
        nabla.derivatives({"a": 1}, [1.0], "grad")
    with pytest.raises(nabla.NablaError):
        nabla.derivatives(np.zeros((0, 3)), np.zeros(0), "grad")
    with pytest.raises(nabla.NablaError):
        nabla.derivatives(np.full((30, 3), np.inf), np.zeros(30), "grad")
    with pytest.raises(nabla.NablaError):
        nabla.Mesh(np.zeros((4, 3)), [-1, 0, 1, 2], [4], [10])
    with pytest.raises(nabla.NablaError):
        nabla.evaluate(["x", 3], [[0.0, 0.0]])
    with pytest.raises(nabla.NablaError):
        nabla.evaluate("x", np.zeros((2, 4)))


def test_error_classes_are_also_builtin_kinds():
    assert issubclass(nabla.DataError, ValueError)
    assert issubclass(nabla.FileError, OSError)
    for name in nabla.errors.__all__:
        assert issubclass(getattr(nabla.errors, name), nabla.NablaError)


# --- formulas --------------------------------------------------------------------------


def test_formulas_exact():
    pts = np.array([[0.3, -1.2, 0.5], [1.0, 2.0, -0.5]])
    out = nabla.evaluate(
        ["a*x*y + r", "sin(z)", "t*x"],
        pts,
        ["value", "div", "curl"],
        constants={"a": 2.0},
        definitions={"r": "x^2"},
        time=3.0,
    )
    x, y, z = pts.T
    np.testing.assert_array_equal(out["U"][:, 1], np.sin(z))
    np.testing.assert_allclose(out["div(U)"], 2 * y + 2 * x, rtol=1e-15)
    np.testing.assert_allclose(out["curl(U)"], np.column_stack([-np.cos(z), -3.0 + 0 * x, -2 * x]), atol=1e-15)


def test_formula_seed_identity():
    # The seed article's ∇·∇(x·x) = 6, exactly.
    out = nabla.evaluate("x*x + y*y + z*z", np.random.default_rng(1).random((5, 3)), "lap")
    assert np.all(out["lap(U)"] == 6.0)


def test_formula_errors_name_the_column():
    with pytest.raises(nabla.ExpressionError, match="unknown name 'w'|'w'"):
        nabla.evaluate("x + w", [[0.0, 0.0]])
    with pytest.raises(nabla.ExpressionError):
        nabla.evaluate("x +", [[0.0, 0.0]])
    with pytest.raises(nabla.ExpressionError, match="definitions"):
        nabla.evaluate("r", [[0.0, 0.0]], definitions={"r": "r + 1"})


# --- meshes, files, the command line -----------------------------------------------------


def test_read_and_write_roundtrip(tmp_path):
    mesh = nabla.read(CAVITY)
    assert mesh.num_points > 0 and mesh.num_cells > 0 and "U" in mesh.point_data
    assert mesh.point_data["U"].shape == (mesh.num_points, 3)
    assert mesh.cell_centres().shape == (mesh.num_cells, 3)
    conn, offs, types = mesh.cells
    assert len(offs) == len(types) == mesh.num_cells and offs[-1] == len(conn)
    speed = np.linalg.norm(mesh.point_data["U"], axis=1)
    nabla.write(tmp_path / "out.vtu", mesh, {"speed": speed})
    back = nabla.read(tmp_path / "out.vtu")
    assert np.array_equal(back.point_data["speed"], speed)
    assert np.array_equal(back.points, mesh.points)
    q = nabla.derivatives(mesh, "U", "Q", samples="cells", at="cells")["Q(U)"]
    nabla.write(tmp_path / "cells.vtu", mesh, cell_arrays={"Q(U)": q, "U": np.zeros((mesh.num_cells, 3))})
    back = nabla.read(tmp_path / "cells.vtu")
    assert np.array_equal(back.cell_data["Q(U)"], q) and not back.cell_data["U"].any()
    assert list(back.cell_data).count("U") == 1
    with pytest.raises(nabla.ConfigError, match="cell"):
        nabla.write(tmp_path / "c.vtp", mesh, cell_arrays={"Q(U)": q})
    nabla.write(tmp_path / "cloud.vtp", mesh, {"speed": speed})
    assert np.array_equal(nabla.read(tmp_path / "cloud.vtp").point_data["speed"], speed)


def test_file_errors(tmp_path):
    with pytest.raises(nabla.FileError):
        nabla.read(tmp_path / "missing.vtu")
    (tmp_path / "bad.vtu").write_text("<VTKFile")
    with pytest.raises((nabla.FileError, nabla.InputError), match="bad.vtu"):
        nabla.read(tmp_path / "bad.vtu")
    mesh = nabla.read(CAVITY)
    with pytest.raises(nabla.FileError, match="vtu"):
        nabla.write(tmp_path / "out.txt", mesh, {})
    with pytest.raises(nabla.ConfigError, match="rows"):
        nabla.write(tmp_path / "out.vtu", mesh, {"short": np.zeros(3)})
    assert not (tmp_path / "out.vtu").exists()
    with pytest.raises(nabla.ConfigError, match="OpenFOAM"):
        nabla.read(CAVITY, time="latest")


def test_mesh_from_arrays_and_its_errors():
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    m = nabla.Mesh(pts, [0, 1, 2, 3], [0, 4], [10], point_data={"T": pts[:, 0]}, cell_data={"c": [1.0]})
    assert m.num_cells == 1 and m.cells[1].tolist() == [4]
    with pytest.raises(nabla.ConfigError, match="connectivity entry"):
        nabla.Mesh(pts, [0, 1, 2, 9], [4], [10])
    with pytest.raises(nabla.ConfigError, match="together"):
        nabla.Mesh(pts, [0, 1, 2, 3], None, [10])
    with pytest.raises(nabla.ConfigError, match="rows"):
        nabla.Mesh(pts, point_data={"T": [1.0, 2.0]})
    with pytest.raises(nabla.ConfigError, match="polyhedron"):
        nabla.Mesh(pts, [0, 1, 2, 3], [4], [42])
    with pytest.raises(nabla.ConfigError, match="without cells"):
        nabla.Mesh(pts, cell_data={"c": [1.0]})


def run_cli(case):
    r = subprocess.run([str(cli()), "--quiet", str(case)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (written,) = [p for p in (case / "VTK").iterdir() if p.stem == case.name]
    return nabla.read(written)


@pytest.mark.parametrize("at", ["points", "cells"])
def test_bit_equal_with_the_command_line(tmp_path, at):
    case = tmp_path / f"cavity_{at}"
    case.mkdir()
    shutil.copy(CAVITY, case / "cavity.vtu")
    ops = ["grad", "curl", "Q", "lambda2", "lap"]
    (case / "case.toml").write_text(
        f'[points]\nkind = "mesh"\nfile = "cavity.vtu"\nat = "{at}"\n\n'
        f'[reconstruction]\ndegree = 3\n\n'
        f'[[field]]\nname = "U"\ndata = "U"\noperators = {ops!r}\n'.replace("'", '"')
    )
    written = run_cli(case)
    data = written.cell_data if at == "cells" else written.point_data
    mesh = nabla.read(case / "cavity.vtu")
    ours = nabla.derivatives(mesh, "U", ops, degree=3, at=at)
    assert ours.location == at
    assert ours.stats["samples_at"] == "cells"  # the solver's cell values, as the CLI takes them
    for k, v in ours.items():
        assert np.array_equal(v.reshape(len(v), -1), data[k].reshape(len(v), -1)), k
    # The library's run of the same case writes the same file.
    summary = nabla.run_case(case)
    assert summary["points"] == len(ours["Q(U)"])
    assert {r["array"] for r in summary["rows"]} >= set(ours)
    assert "case cavity" in summary["text"]
    again = nabla.read(case / "VTK" / f"{case.name}.vtu")
    again_data = again.cell_data if at == "cells" else again.point_data
    assert all(np.array_equal(again_data[k], data[k]) for k in ours)


def test_mesh_samples_and_stencil_choices():
    mesh = nabla.read(CAVITY)
    by_points = nabla.derivatives(mesh, "U", "grad", samples="points")
    assert by_points.stats["samples_at"] == "points" and by_points.location == "points"
    nearest = nabla.derivatives(mesh, "U", "grad", samples="points", stencil="nearest")
    assert not np.array_equal(nearest["grad(U)"], by_points["grad(U)"])
    with pytest.raises(nabla.DataError, match="nope"):
        nabla.derivatives(mesh, "nope", "grad")
    with pytest.raises(nabla.ConfigError, match="stencil"):
        nabla.derivatives(mesh, "U", "grad", stencil="far")
    with pytest.raises(nabla.ConfigError, match="at = 'middle'"):
        nabla.derivatives(mesh, "U", "grad", at="middle")


def test_run_case_errors(tmp_path):
    (tmp_path / "case.toml").write_text('[points]\nkind = "lattice"\ncounts = [2, 2]\nbogus = 1\n')
    with pytest.raises(nabla.InputError, match="case.toml"):
        nabla.run_case(tmp_path)
    with pytest.raises(nabla.NablaError):
        nabla.run_case(tmp_path / "missing")


# --- trained networks ----------------------------------------------------------------------


def test_network_from_a_checkpoint_matches_the_command_line(tmp_path):
    case = tmp_path / "poisson"
    shutil.copytree(ROOT / "cases" / "pinn_poisson", case, ignore=shutil.ignore_patterns("VTK"))
    toml = (case / "case.toml").read_text()
    toml = toml.replace("iterations = 6000", "iterations = 40").replace("counts = [101, 101]", "counts = [9, 7]")
    (case / "case.toml").write_text(toml)
    r = subprocess.run([str(cli()), "--quiet", str(case)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    vtk = pytest.importorskip("vtkmodules.vtkIOXML")
    from vtkmodules.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkXMLImageDataReader()
    reader.SetFileName(str(case / "VTK" / "poisson.vti"))
    reader.Update()
    image = reader.GetOutput()
    pts = np.array([image.GetPoint(i)[:2] for i in range(image.GetNumberOfPoints())])
    written = {k: vtk_to_numpy(image.GetPointData().GetArray(k)) for k in ("grad(u)", "lap(u)")}
    net = nabla.Network.load(case / "VTK" / "checkpoint.json")
    assert (net.inputs, net.outputs) == (2, 1) and net.num_params > 0
    out = net.evaluate(pts, ["value", "grad", "lap"], name="u")
    assert np.array_equal(out["u"], net.predict(pts)[:, 0])
    # The command line writes 2-D vectors as VTK's 3-component vectors (z = 0).
    assert np.array_equal(out["grad(u)"], written["grad(u)"][:, :2])
    assert np.all(written["grad(u)"][:, 2] == 0)
    assert np.array_equal(out["lap(u)"], written["lap(u)"])
    with pytest.raises(nabla.ConfigError, match="inputs"):
        net.evaluate(np.zeros((2, 3)), "value")
    with pytest.raises(nabla.ConfigError, match="output 3"):
        net.evaluate(pts, "value", components=[3])
    with pytest.raises(nabla.NablaError):
        nabla.Network.load(case / "case.toml")


# --- VTK and pyvista datasets -----------------------------------------------------------------


def test_vtk_dataset_gets_a_copy_with_arrays():
    vtk = pytest.importorskip("vtkmodules.vtkIOXML")
    r = vtk.vtkXMLUnstructuredGridReader()
    r.SetFileName(str(CAVITY))
    r.Update()
    ds = r.GetOutput()
    before = ds.GetPointData().GetNumberOfArrays()
    out = nabla.compute_derivatives(ds, "U", ["grad", "Q"], samples="points")
    assert ds.GetPointData().GetNumberOfArrays() == before
    assert out.GetPointData().GetArray("Q(U)") is not None
    from vtkmodules.util.numpy_support import vtk_to_numpy

    direct = nabla.derivatives(nabla.read(CAVITY), "U", "Q", samples="points")
    assert np.array_equal(vtk_to_numpy(out.GetPointData().GetArray("Q(U)")), direct["Q(U)"])


def test_pyvista_dataset():
    pv = pytest.importorskip("pyvista")
    grid = pv.ImageData(dimensions=(12, 11, 10), spacing=(0.1, 0.1, 0.1))
    p = grid.points
    grid.point_data["f"] = p[:, 0] ** 2 + p[:, 1] * p[:, 2]
    out = nabla.compute_derivatives(grid, "f", ["grad", "lap"])
    assert isinstance(out, pv.DataSet) and "grad(f)" in out.point_data and "grad(f)" not in grid.point_data
    exact = np.column_stack([2 * p[:, 0], p[:, 2], p[:, 1]])
    # A quadratic is reproduced; the one-sided stencils of the box's corners amplify
    # round-off by their condition number (up to ~1e8, the limit before the degree is lowered).
    np.testing.assert_allclose(out.point_data["grad(f)"], exact, atol=1e-5)
    np.testing.assert_allclose(out.point_data["lap(f)"], 2.0, atol=1e-4)
    with pytest.raises(nabla.ConfigError, match="at"):
        nabla.compute_derivatives(grid, "f", "grad", at="cells")


# --- the README's examples, as written -------------------------------------------------------


def readme_blocks():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## From Python") : text.index("## Operators and their cost")]
    return [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]


def test_readme_python_example_runs_as_written(tmp_path, capsys):
    (tmp_path / "cases").symlink_to(ROOT / "cases")
    block = readme_blocks()[0]
    assert "LoadPlugin" not in block and block.count("\n") < 10  # Q of a .vtu in under 10 lines
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(block, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    printed = capsys.readouterr().out.split()
    assert printed[:2] == ["cells", "(400,)"] and printed[2] == "cells", printed
    written = nabla.read(tmp_path / "cavity_Q.vtu")
    assert {"Q(U)", "grad(U)", "lambda2(U)"} <= set(written.cell_data)


def test_readme_paraview_example_runs_as_written(tmp_path):
    site = os.environ.get("NABLA_PVPYTHON_PATH")
    if shutil.which("pvpython") is None or not site:
        pytest.skip("no pvpython (apt-get install paraview), or NABLA_PVPYTHON_PATH not set")
    block = readme_blocks()[1]
    assert "LoadPlugin" in block
    script = tmp_path / "example.py"
    check = '\nfrom paraview import servermanager\nprint(servermanager.Fetch(f).GetCellData().GetArray("Q(U)").GetNumberOfTuples())\n'
    script.write_text("from paraview.simple import *\n" + block + check)
    # pvpython runs the system Python: the package unpacked for it (.ci/run: target/pvpython-site).
    env = dict(os.environ, PYTHONPATH=str(Path(site).resolve()))
    r = subprocess.run(["pvpython", str(script)], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[-1] == "400"
