"""The analytic velocity of the known-answer cases, its exact gradient and Laplacian.

U = (ux, uy, uz) with
    ux = sin(4x + 1) cos(3y - 0.5) exp(0.5z)
    uy = cos(3x - 2z + 0.3) sin(5y + 0.5)
    uz = exp(-0.7x) sin(2y + 3z) + 0.5 cos(4y - x)

Smooth, not a polynomial, O(1) in a domain of order 1 (about one wavelength per unit
length), divergence not zero. The gradient follows OpenFOAM: G[i][j] = d u_j / d x_i,
stored row-major with 9 components (xx xy xz yx yy yz zx zy zz).
"""
import numpy as np

FORMULA = (
    "ux = sin(4x + 1) cos(3y - 0.5) exp(0.5z); "
    "uy = cos(3x - 2z + 0.3) sin(5y + 0.5); "
    "uz = exp(-0.7x) sin(2y + 3z) + 0.5 cos(4y - x)"
)


def _xyz(p):
    p = np.asarray(p, dtype=float)
    return p[..., 0], p[..., 1], p[..., 2]


def U(p):
    x, y, z = _xyz(p)
    ux = np.sin(4 * x + 1) * np.cos(3 * y - 0.5) * np.exp(0.5 * z)
    uy = np.cos(3 * x - 2 * z + 0.3) * np.sin(5 * y + 0.5)
    uz = np.exp(-0.7 * x) * np.sin(2 * y + 3 * z) + 0.5 * np.cos(4 * y - x)
    return np.stack([ux, uy, uz], axis=-1)


def gradU(p):
    """(n, 9): G[i][j] = d u_j / d x_i, row-major (OpenFOAM's grad(U))."""
    x, y, z = _xyz(p)
    a, b, ez = 4 * x + 1, 3 * y - 0.5, np.exp(0.5 * z)
    c, d = 3 * x - 2 * z + 0.3, 5 * y + 0.5
    ex, s = np.exp(-0.7 * x), 2 * y + 3 * z
    f = 4 * y - x
    dux = [4 * np.cos(a) * np.cos(b) * ez,
           -3 * np.sin(a) * np.sin(b) * ez,
           0.5 * np.sin(a) * np.cos(b) * ez]
    duy = [-3 * np.sin(c) * np.sin(d),
           5 * np.cos(c) * np.cos(d),
           2 * np.sin(c) * np.sin(d)]
    duz = [-0.7 * ex * np.sin(s) + 0.5 * np.sin(f),
           2 * ex * np.cos(s) - 2 * np.sin(f),
           3 * ex * np.cos(s)]
    # G[i][j] = d u_j / d x_i
    G = [dux[i] if j == 0 else duy[i] if j == 1 else duz[i] for i in range(3) for j in range(3)]
    return np.stack(G, axis=-1)


def lapU(p):
    """(n, 3): the Laplacian of each component."""
    x, y, z = _xyz(p)
    u = U(p)
    ex, s, f = np.exp(-0.7 * x), 2 * y + 3 * z, 4 * y - x
    lx = (-16 - 9 + 0.25) * u[..., 0]
    ly = (-9 - 25 - 4) * u[..., 1]
    lz = (0.49 - 4 - 9) * ex * np.sin(s) + (-1 - 16) * 0.5 * np.cos(f)
    return np.stack([lx, ly, lz], axis=-1)


def selftest():
    """Central differences of U against gradU and lapU at random points."""
    rng = np.random.default_rng(1)
    p = rng.uniform(-0.5, 2.5, size=(200, 3))
    h = 1e-5
    G = np.zeros((200, 9))
    L = np.zeros((200, 3))
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        up, um, u0 = U(p + e), U(p - e), U(p)
        for j in range(3):
            G[:, 3 * i + j] = (up[:, j] - um[:, j]) / (2 * h)
        hh = 1e-4
        e[i] = hh
        L += (U(p + e) - 2 * U(p) + U(p - e)) / hh**2
    eg = np.abs(G - gradU(p)).max()
    el = np.abs(L - lapU(p)).max()
    assert eg < 1e-8, eg
    assert el < 1e-4, el
    return eg, el


if __name__ == "__main__":
    print("field self-test: max |grad - FD| = %.2e, max |lap - FD| = %.2e" % selftest())
