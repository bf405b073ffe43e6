"""The Python package's two measured goals, printed as ratios.

1. Overhead of the Python call over the library's own work at 10⁶ points: the wall time of
   ``nabla.derivatives`` against ``stats["seconds"]``, the time the library measured inside
   the same call (the reconstruction and the evaluation, without numpy conversions).
2. Side by side with pyvista's ``compute_derivative`` (VTK's vtkGradientFilter, what
   ParaView's Gradient filter runs) on the jittered hexahedral meshes of the README's table:
   f = sin(2x)·cos(3y)·eᶻ on the unit cube, interior points moved by up to 0.2 h; the error
   of the gradient at the interior points (max and RMS, relative to max |∇f|) and the time,
   nabla at p = 2 (and p = 3) through ``nabla.compute_derivatives`` on the same dataset.

    python3 python/bench/side_by_side.py [--points N] [--repeat K]

Times are the median of K runs (default 3), on however many threads rayon gets.
"""

import argparse
import time

import numpy as np

import nabla


def median_time(f, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def overhead(n, repeat):
    rng = np.random.default_rng(0)
    x = rng.random((n, 3))
    u = np.column_stack([np.sin(x[:, 0]) * np.cos(x[:, 1]), -np.cos(x[:, 0]) * np.sin(x[:, 1]), x[:, 2] * 0])
    walls, inner = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        out = nabla.derivatives(x, u, ["grad", "Q"])
        walls.append(time.perf_counter() - t)
        inner.append(out.stats["seconds"])
    w, r = float(np.median(walls)), float(np.median(inner))
    print(f"overhead at {n} points, grad + Q of a 3-component field, p = 2: Python call {w:.3f} s, "
          f"library {r:.3f} s, ratio {w / r:.3f} (overhead {100 * (w / r - 1):.1f} %)")


def jittered(n, seed=1):
    import pyvista as pv

    h = 1.0 / n
    grid = pv.ImageData(dimensions=(n + 1,) * 3, spacing=(h,) * 3).cast_to_unstructured_grid()
    p = np.array(grid.points)
    interior = np.all((p > h / 2) & (p < 1 - h / 2), axis=1)
    rng = np.random.default_rng(seed)
    p[interior] += rng.uniform(-0.2 * h, 0.2 * h, (interior.sum(), 3))
    grid.points = p
    grid.point_data["f"] = np.sin(2 * p[:, 0]) * np.cos(3 * p[:, 1]) * np.exp(p[:, 2])
    return grid, interior


def exact_grad(p):
    e = np.exp(p[:, 2])
    return np.column_stack([
        2 * np.cos(2 * p[:, 0]) * np.cos(3 * p[:, 1]) * e,
        -3 * np.sin(2 * p[:, 0]) * np.sin(3 * p[:, 1]) * e,
        np.sin(2 * p[:, 0]) * np.cos(3 * p[:, 1]) * e,
    ])


def side_by_side(repeat):
    print("\njittered hexahedra, f = sin(2x)cos(3y)e^z, interior gradient error relative to max|grad f|:")
    print("| h | pyvista compute_derivative: max / RMS error, time | nabla p = 2: max / RMS, time | "
          "p = 2 more accurate (max / RMS) | time ratio | nabla p = 3: max / RMS, time |")
    print("|---|---|---|---|---|---|")
    for n in (8, 16, 32, 64):
        grid, inside = jittered(n)
        g = exact_grad(np.asarray(grid.points))
        scale = np.abs(g).max()

        def err(a):
            d = np.linalg.norm(a[inside] - g[inside], axis=1) / scale
            return d.max(), np.sqrt(np.mean(d ** 2))

        tv, vtk_out = median_time(lambda: grid.compute_derivative(scalars="f"), repeat)
        t2, n2 = median_time(lambda: nabla.compute_derivatives(grid, "f", "grad", degree=2), repeat)
        t3, n3 = median_time(lambda: nabla.compute_derivatives(grid, "f", "grad", degree=3), repeat)
        ev, e2, e3 = err(vtk_out.point_data["gradient"]), err(n2.point_data["grad(f)"]), err(n3.point_data["grad(f)"])
        print(f"| 1/{n} | {ev[0]:.3g} / {ev[1]:.3g}, {tv * 1e3:.1f} ms | {e2[0]:.3g} / {e2[1]:.3g}, {t2 * 1e3:.1f} ms | "
              f"{ev[0] / e2[0]:.1f}× / {ev[1] / e2[1]:.1f}× | {t2 / tv:.2f} | {e3[0]:.3g} / {e3[1]:.3g}, {t3 * 1e3:.1f} ms |")


if __name__ == "__main__":
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--points", type=int, default=1_000_000)
    a.add_argument("--repeat", type=int, default=3)
    args = a.parse_args()
    overhead(args.points, args.repeat)
    side_by_side(args.repeat)
