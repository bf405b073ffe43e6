"""Mean time of one Adam step of DeepXDE's Burgers and Kovasznay examples.

Run by `cargo bench --bench pinn_equations` when DeepXDE is installed (`pip install
deepxde torch`), with DDE_BACKEND=pytorch. The problems are DeepXDE's examples
(examples/pinn_forward/Burgers.py and Kovasznay_flow.py) with their sizes:

* Burgers: x in [-1, 1], t in [0, 0.99], 2540 domain + 80 boundary + 160 initial points,
  network 2 -> 3 x 20 tanh -> 1;
* Kovasznay (Re = 20): [-0.5, 1] x [-0.5, 1.5], 2601 domain + 400 boundary points,
  network 2 -> 4 x 50 tanh -> 3, u and v on the whole boundary, p on the outflow x = 1.

Each is built in float32 (DeepXDE's default) and in float64, compiled with Adam (lr 1e-3),
warmed up, and then `STEPS` (default 200, or $DDE_STEPS) calls of the model's own training
step are timed; that is the step `Model.train` repeats, without its periodic test-set
evaluation. Prints one line per case:

    DEEPXDE <problem> <dtype> <ms per step> <points the PDE is evaluated at>

Torch is held to 2 threads so that it shares the same 2 cores as the Rust side.
"""

import os
import sys
import time

os.environ.setdefault("DDE_BACKEND", "pytorch")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import deepxde as dde  # noqa: E402

STEPS = int(os.environ.get("DDE_STEPS", "200"))
WARMUP = 20


def burgers():
    def pde(x, y):
        dy_x = dde.grad.jacobian(y, x, i=0, j=0)
        dy_t = dde.grad.jacobian(y, x, i=0, j=1)
        dy_xx = dde.grad.hessian(y, x, i=0, j=0)
        return dy_t + y * dy_x - 0.01 / np.pi * dy_xx

    geom = dde.geometry.Interval(-1, 1)
    timedomain = dde.geometry.TimeDomain(0, 0.99)
    geomtime = dde.geometry.GeometryXTime(geom, timedomain)
    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(
        geomtime,
        lambda x: -np.sin(np.pi * x[:, 0:1]),
        lambda _, on_initial: on_initial,
    )
    data = dde.data.TimePDE(
        geomtime, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160
    )
    net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
    return dde.Model(data, net)


def kovasznay():
    re = 20
    nu = 1 / re
    lam = 1 / (2 * nu) - np.sqrt(1 / (4 * nu**2) + 4 * np.pi**2)

    def pde(x, u):
        u_vel, v_vel = u[:, 0:1], u[:, 1:2]
        u_vel_x = dde.grad.jacobian(u, x, i=0, j=0)
        u_vel_y = dde.grad.jacobian(u, x, i=0, j=1)
        u_vel_xx = dde.grad.hessian(u, x, component=0, i=0, j=0)
        u_vel_yy = dde.grad.hessian(u, x, component=0, i=1, j=1)
        v_vel_x = dde.grad.jacobian(u, x, i=1, j=0)
        v_vel_y = dde.grad.jacobian(u, x, i=1, j=1)
        v_vel_xx = dde.grad.hessian(u, x, component=1, i=0, j=0)
        v_vel_yy = dde.grad.hessian(u, x, component=1, i=1, j=1)
        p_x = dde.grad.jacobian(u, x, i=2, j=0)
        p_y = dde.grad.jacobian(u, x, i=2, j=1)
        momentum_x = (
            u_vel * u_vel_x + v_vel * u_vel_y + p_x - 1 / re * (u_vel_xx + u_vel_yy)
        )
        momentum_y = (
            u_vel * v_vel_x + v_vel * v_vel_y + p_y - 1 / re * (v_vel_xx + v_vel_yy)
        )
        continuity = u_vel_x + v_vel_y
        return [momentum_x, momentum_y, continuity]

    def u_func(x):
        return 1 - np.exp(lam * x[:, 0:1]) * np.cos(2 * np.pi * x[:, 1:2])

    def v_func(x):
        return lam / (2 * np.pi) * np.exp(lam * x[:, 0:1]) * np.sin(2 * np.pi * x[:, 1:2])

    def p_func(x):
        return 1 / 2 * (1 - np.exp(2 * lam * x[:, 0:1]))

    def outflow(x, on_boundary):
        return on_boundary and np.isclose(x[0], 1)

    domain = dde.geometry.Rectangle(xmin=[-0.5, -0.5], xmax=[1, 1.5])
    bcs = [
        dde.icbc.DirichletBC(domain, u_func, lambda _, on: on, component=0),
        dde.icbc.DirichletBC(domain, v_func, lambda _, on: on, component=1),
        dde.icbc.DirichletBC(domain, p_func, outflow, component=2),
    ]
    # The example's num_test=100000 only sizes the test set, which a training step does
    # not touch; a small one keeps the warm-up's evaluations short.
    data = dde.data.TimePDE(
        domain, pde, bcs, num_domain=2601, num_boundary=400, num_test=1000
    )
    net = dde.nn.FNN([2] + 4 * [50] + [3], "tanh", "Glorot normal")
    return dde.Model(data, net)


def mean_step_ms(model):
    model.compile("adam", lr=1e-3)
    # A few steps through the public loop: builds the training points and the optimiser.
    model.train(iterations=WARMUP, display_every=10**9, verbose=0)
    state = model.train_state
    x, y, aux = state.X_train, state.y_train, state.train_aux_vars
    for _ in range(WARMUP):
        model._train_step(x, y, aux)
    t = time.perf_counter()
    for _ in range(STEPS):
        model._train_step(x, y, aux)
    ms = (time.perf_counter() - t) / STEPS * 1e3
    return ms, len(x)


def main():
    torch.set_num_threads(2)
    dde.config.set_random_seed(1)
    for dtype in ["float32", "float64"]:
        dde.config.set_default_float(dtype)
        for name, build in [("burgers", burgers), ("kovasznay", kovasznay)]:
            ms, n = mean_step_ms(build())
            print(f"DEEPXDE {name} {dtype} {ms:.4f} {n}", flush=True)
    print(
        f"# torch {torch.__version__}, deepxde {dde.__version__}, "
        f"{torch.get_num_threads()} threads, {STEPS} steps timed",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
