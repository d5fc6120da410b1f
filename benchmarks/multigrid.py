"""Multigrid: 2D Poisson 255^2/511^2/1023^2 and 3D 127^3 (full) solved to rtol 1e-8.

Peers in the same run: pyamg Ruge-Stuben (setup and solve timed separately, float64) and SciPy's
sparse direct solve (``splu``; skipped above 511^2 in 2D and for 3D, where it is too slow/large).
jaxsci runs V(1,1) cycles, all to the same relative residual 1e-8 in float64:

- ``jaxsci-f64``: the defaults (red-black Gauss-Seidel, omega = 1), float64;
- ``jaxsci-f64-sor``: red-black SOR, omega = 1.15 (2D) / 1.2 (3D) (Yavneh 1996; measured best here:
  6 instead of 8 cycles at 1023^2, 7 instead of 11 at 63^3), float64;
- ``jaxsci-f32cyc-sor``: the same with float32 cycles and float64 residuals (``precision=float32``,
  mixed-precision iterative refinement; the accuracy is float64's, ``relres`` is checked in float64).

The solve time includes jaxsci's whole setup (hierarchy, coarse inverse) - it runs inside the jitted
solve - while pyamg's setup is timed separately. ``cycles`` and ``factor`` (mean residual reduction
per cycle) are reported beside pyamg's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxsci.multigrid as mg


def _pyamg_peer(bench, case, params, A, b, repeats=2):
    import pyamg

    holder = {}

    def setup():
        holder["ml"] = pyamg.ruge_stuben_solver(A)
        return holder["ml"]

    bench.time_host(
        case + " setup", setup, impl="pyamg-rs", params=params, repeats=1, trace_memory=False
    )
    ml = holder.get("ml") or setup()
    res: list[float] = []

    def solve():
        res.clear()
        return ml.solve(b, tol=1e-8, residuals=res, maxiter=100)

    rec = bench.time_host(
        case, solve, impl="pyamg-rs", params=params, repeats=repeats, trace_memory=False
    )
    cycles = len(res) - 1
    rec.extra.update(cycles=cycles, factor=float((res[-1] / res[0]) ** (1 / max(cycles, 1))))


def run(bench) -> None:
    import scipy.sparse.linalg as spla

    sizes2d = [255, 511, 1023] if bench.quick else [255, 511, 1023, 2047]
    sizes3d = [127] if bench.quick else [63, 127]
    rng = np.random.default_rng(0)
    for shape in [(n, n) for n in sizes2d] + [(n, n, n) for n in sizes3d]:
        case = f"poisson{len(shape)}d solve rtol=1e-8"
        params = {"n": shape[0], "unknowns": int(np.prod(shape))}
        b = rng.standard_normal(int(np.prod(shape)))
        with jax.enable_x64(True):
            op = mg.poisson(shape)
            f64 = jnp.asarray(b.reshape(shape), jnp.float64)
            omega = 1.15 if len(shape) == 2 else 1.2
            impls = [
                ("jaxsci-f64", {}),
                ("jaxsci-f64-sor", {"omega": omega}),
                ("jaxsci-f32cyc-sor", {"omega": omega, "precision": jnp.float32}),
            ]
            for impl, kw in impls:
                fn = lambda f, kw=kw: mg.solve(op, f, rtol=1e-8, throw=False, **kw)
                rec = bench.time_jax(
                    case,
                    fn,
                    f64,
                    impl=impl,
                    params=params,
                    compare_to="pyamg-rs",
                    repeats=(3 if len(shape) == 2 else 2) if bench.quick else 5,
                )
                sol = jax.jit(fn)(f64)
                rel = float(jnp.linalg.norm(f64 - op.mv(sol.value)) / jnp.linalg.norm(f64))
                rec.extra.update(
                    cycles=int(sol.stats["cycles"]),
                    factor=float(sol.stats["convergence_factor"]),
                    relres=rel,
                )
        import pyamg

        A = pyamg.gallery.poisson(shape, format="csr") * (shape[0] + 1) ** 2
        _pyamg_peer(bench, case, params, A, b, repeats=3 if len(shape) == 2 else 2)
        if len(shape) == 2 and shape[0] <= 511:
            A_csc = A.tocsc()
            bench.time_host(
                case,
                lambda: spla.splu(A_csc).solve(b),
                impl="scipy-splu",
                params=params,
                repeats=1,
                trace_memory=False,
            )
        else:
            bench.note(case, impl="scipy-splu", params=params, skipped="too slow/large here")
