"""Variance-reduced Halpern (jaxsci.monotone): epochs/wall time to residual thresholds, and wall time per
epoch against a plain NumPy implementation of the same method (Algorithm 1, VR-EG) in the same run.

Guarantees: Algorithm 1 assumes cocoercive(-on-average) components; both paper problems (the bilinear game and
the Ouyang–Xu quadratic) are only monotone (cocoercivity 0), so Algorithm 1 runs outside its guarantee there;
EG/EAG/VR-EG/Algorithm 2 need monotone + Lipschitz (with step-size conditions the paper's tuned steps exceed).
"""

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxsci.monotone as mono


def _np_simplex(v):
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    rho = np.nonzero(u - css / np.arange(1, len(v) + 1) > 0)[0][-1]
    return np.maximum(v - css[rho] / (rho + 1), 0)


def _np_vr_halpern(a, eta, epochs, rng):
    """Plain NumPy Algorithm 1 on the simplex game (the authors' loop, vectorised projection)."""
    n = a.shape[0]
    b = int(math.isqrt(n))
    x0 = np.full(n, 1 / n)
    y0 = x0.copy()
    x, y, xp, yp = x0.copy(), y0.copy(), x0.copy(), y0.copy()
    gx, gy = np.zeros(n), np.zeros(n)
    cnt, k = 0, 0
    while cnt < epochs * n:
        lam = 2 / (k + 4)
        p = 4 / (k + 4) if k - 1 <= math.sqrt(n) else 4 / (math.sqrt(n) + 5)
        if k <= 1 or rng.random() < p:
            gx, gy = a.T @ y, -(a @ x)
            cnt += n
        else:
            s = rng.choice(n, b, replace=False)
            gx = gx + a[s].T @ (y[s] - yp[s]) * n / b
            gy = gy - a[:, s] @ (x[s] - xp[s]) * n / b
            cnt += 2 * b
        xp, yp = x, y
        x = _np_simplex(lam * x0 + (1 - lam) * x - eta * gx)
        y = _np_simplex(lam * y0 + (1 - lam) * y - eta * gy)
        k += 1
    return x, y


def run(bench):
    jax.config.update("jax_enable_x64", True)
    n = 100 if bench.quick else 500
    epochs = 200 if bench.quick else 5000
    game = mono.policeman_and_burglar(n)
    a = np.asarray(game.matrix)
    op, fro, p = np.linalg.norm(a, 2), np.linalg.norm(a), 1 / n
    z0 = jnp.full(2 * n, 1 / n)
    key = jax.random.key(0)
    common = dict(max_epochs=epochs, throw=False, num_logs=201)
    methods = {
        "EG": lambda: mono.extragradient(game, z0, step_size=5 / op, **common),
        "EAG": lambda: mono.anchored_extragradient(game, z0, step_size=5 / op, **common),
        "VR-EG": lambda: mono.vr_extragradient(game, z0, step_size=3 * math.sqrt(p) / fro, key=key,
                                               **common),
        "Alg1": lambda: mono.vr_halpern(game, z0, step_size=5 / fro, key=key, **common),
        "Alg1+restart": lambda: mono.vr_halpern(game, z0, step_size=5 / fro, key=key,
                                                restart_factor=0.5, **common),
        "Alg1 adaptive": lambda: mono.vr_halpern(game, z0, step_size="adaptive", key=key, **common),
        "Alg2": lambda: mono.inexact_vr_halpern(
            game, z0, step_size=math.sqrt(n) / fro,
            inner_step_size=5 * math.sqrt(p * (1 - p)) / (math.sqrt(n) + 1), key=key, **common),
    }
    params = {"problem": "policeman-burglar", "n": n, "epochs": epochs}
    for name, fn in methods.items():
        sol = jax.block_until_ready(fn())
        t0 = time.perf_counter()
        sol = jax.block_until_ready(fn())
        wall = time.perf_counter() - t0
        k = int(sol.stats["num_logged"])
        r = np.asarray(sol.stats["residual"])[:k]
        e = np.asarray(sol.stats["epochs"])[:k]
        reach = {}
        for thr in (5e-2, 2e-2, 1e-2):
            hit = np.nonzero(r <= thr)[0]
            reach[f"ep@{thr:g}"] = float(e[hit[0]]) if hit.size else None
        bench.note(f"game {name}", params=params, wall_s=wall, final_res=float(r[-1]), **reach)
    # wall time per epoch, jax vs numpy, Algorithm 1 (same problem, same parameters)
    per = 20 if bench.quick else 200
    prm = {"n": n, "epochs": per}
    bench.time_host("Alg1 epochs", lambda: _np_vr_halpern(a, 5 / fro, per, np.random.default_rng(0)),
                    impl="numpy", params=prm, repeats=3)
    bench.time_host("Alg1 epochs", lambda: mono.vr_halpern(game, z0, step_size=5 / fro, key=key,
                                                           max_epochs=per, throw=False, num_logs=3),
                    impl="jaxsci", params=prm, compare_to="numpy", repeats=3)
