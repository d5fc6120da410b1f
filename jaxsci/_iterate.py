"""The two iteration loops every linear solver in jaxsci shares: a stationary iteration and a guarded,
preconditioned conjugate-gradient method.

Both take callables (``matvec``, a correction step or a preconditioner) on arrays of any shape (grid
vectors stay grid-shaped), run in one ``lax.while_loop`` (jit/vmap-able; under ``vmap`` every member
stops on its own criterion), and return ``(x, result, stats)`` in the vocabulary of
:mod:`jaxsci._solution`:

- converged when ``||b - A x|| <= atol + rtol ||b||`` (scaled norms, :func:`jaxsci._solution.norm`);
  a solve that starts at the solution takes 0 steps;
- ``stats["num_steps"]``, ``stats["residual_history"]`` (``(max_steps + 1,)``, ``||r_k|| / ||b||``,
  NaN after the last step), ``stats["convergence_factor"]`` (geometric mean of the per-step residual
  reduction), ``stats["residual_norm"]`` (the final true ``||b - A x||``);
- divergence by :func:`jaxsci._solution.diverged`; stagnation after ``STALL_STEPS`` steps in a row
  without a 10 % gain on the best residual while at the rounding floor.
"""

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike

from ._solution import DIVERGENCE_FACTOR, RESULTS, history, norm, status

__all__ = ["STALL_STEPS", "cg", "stationary"]

#: Steps in a row without a 10 % gain on the best residual, at the rounding floor, before a solver
#: reports ``RESULTS.stagnation`` (a slowly converging iteration far from the floor is never stopped).
STALL_STEPS = 3
# "At the floor": within this factor of the floor estimate eps * || |A| |x| ||.
_FLOOR_MARGIN = 1e3


def _dot(x: Array, y: Array) -> Array:
    return jnp.vdot(x, y).real


def _factor(hist: Array, k: Array) -> Array:
    first = hist[0]
    ratio = jnp.where(first > 0, hist[k] / jnp.where(first > 0, first, 1), 0.0)
    return jnp.where(k > 0, ratio ** (1.0 / jnp.maximum(k, 1)), jnp.nan)


def _setup(b, x0, rtol, atol):
    """Arrays, the real dtype, ``||b||``, the history scale (``||b||``, or 1 for ``b = 0``) and the
    threshold ``atol + rtol ||b||`` of the stopping rule."""
    b = jnp.asarray(b)
    x0 = jnp.asarray(x0)
    real = jnp.finfo(jnp.result_type(b.dtype, x0.dtype)).dtype
    b_norm = norm(b)
    scale = jnp.where(b_norm > 0, b_norm, 1).astype(real)
    return b, x0, real, b_norm, scale, atol + rtol * b_norm


def stationary(
    correct: Callable[[Array, Array, Array], Array],
    residual: Callable[[Array], Array],
    b: ArrayLike,
    x0: ArrayLike,
    *,
    rtol: float,
    atol: float,
    max_steps: int,
    floor: Callable[[Array], Array] | None = None,
) -> tuple[Array, RESULTS, dict[str, Any]]:
    """Run ``x_{k+1} = correct(x_k, r_k, k)``, ``r_k = residual(x_k)`` until converged.

    **Arguments:**

    - ``correct(x, r, k)``: one step (an SOR sweep, a multigrid cycle on the residual equation, ...);
      ``k`` is the 0-based step index (e.g. to make the first step a full-multigrid pass).
    - ``residual(x)``: ``b - A x`` (projected where the operator is singular).
    - ``b``, ``x0``: right-hand side and initial guess; ``rtol``, ``atol``, ``max_steps``: as in
      :mod:`jaxsci._solution`.
    - ``floor(x)``: an estimate of the rounding floor ``eps ||  |A| |x| ||`` of the residual; when
      given, the loop stops with ``RESULTS.stagnation`` after ``STALL_STEPS`` steps without progress
      at the floor (a float32 solve asked for ``rtol=1e-8``).

    Cost per step: one ``correct`` and one ``residual``; memory: ``x``, ``r`` and the history.
    """
    b, x0, real, b_norm, scale, thresh = _setup(b, x0, rtol, atol)
    r0 = residual(x0)
    rn0 = norm(r0)
    limit = DIVERGENCE_FACTOR * jnp.maximum(rn0, b_norm)

    def cond(c):
        _, _, rn, k, _, _, stall, _ = c
        going = (k < max_steps) & (rn > thresh) & jnp.isfinite(rn) & (rn <= limit)
        return going & (stall < STALL_STEPS)

    def body(c):
        x, r, _, k, hist, best, stall, peak = c
        x = correct(x, r, k)
        r = residual(x)
        rn = norm(r)
        if floor is not None:
            near_floor = rn <= _FLOOR_MARGIN * floor(x)
            stall = jnp.where((rn < 0.9 * best) | ~near_floor, 0, stall + 1)
        hist = hist.at[k + 1].set(rn / scale)
        return x, r, rn, k + 1, hist, jnp.minimum(best, rn), stall, jnp.maximum(peak, rn)

    zero = jnp.asarray(0, jnp.int32)
    init = (x0, r0, rn0, zero, history(max_steps, rn0 / scale, real), rn0, zero, rn0)
    x, r, rn, k, hist, _, stall, peak = lax.while_loop(cond, body, init)
    converged = rn <= thresh
    finite = jnp.isfinite(rn) & jnp.all(jnp.isfinite(x))
    out_of_budget = k >= max_steps
    div = (peak > limit) | (out_of_budget & (rn > rn0))
    result = status(
        converged=converged,
        finite=finite,
        diverged=div,
        stagnation=stall >= STALL_STEPS,
    )
    stats = {
        "num_steps": k,
        "residual_history": hist,
        "convergence_factor": _factor(hist, k),
        "residual_norm": rn,
    }
    return x, result, stats


def cg(
    matvec: Callable[[Array], Array],
    b: ArrayLike,
    x0: ArrayLike,
    *,
    rtol: float,
    atol: float,
    max_steps: int,
    precondition: Callable[[Array], Array] | None = None,
    project: Callable[[Array], Array] | None = None,
) -> tuple[Array, RESULTS, dict[str, Any]]:
    """Preconditioned conjugate gradients for SPD ``A`` (and SPD ``M ~ A^-1``), guarded.

    Hestenes–Stiefel CG with ``z = M r``: ``alpha = (r, z) / (p, A p)``, ``beta = (r+, z+) / (r, z)``.
    Guards, each a status and never a silent wrong answer:

    - ``breakdown`` when ``(p, A p) <= 0`` or ``(r, z) < 0`` (``A`` or ``M`` not SPD), or NaN;
    - a *true-residual check* before success: when the recursive residual meets the tolerance,
      ``b - A x`` is recomputed; if it does not, CG restarts from it (the recursive residual drifts in
      float32 on ill-conditioned systems), and ``STALL_STEPS`` restarts in a row without a 10 % gain
      end in ``stagnation``;
    - divergence and non-finite values as in :func:`stationary`.

    ``project`` (optional) maps onto the range of a singular ``A`` (e.g. subtract the mean) and is
    applied to residuals and preconditioned residuals. ``stats`` as in :func:`stationary`, plus
    ``"num_restarts"``. Cost per step: one ``matvec``, one ``precondition``, a few inner products; one
    more ``matvec`` at each true-residual check. Reference: Hestenes & Stiefel (1952); van der Vorst,
    *Iterative Krylov Methods* (2003), sec. 5.3 on residual replacement.
    """
    proj = (lambda v: v) if project is None else project
    prec = (lambda v: v) if precondition is None else precondition
    b, x0, real, b_norm, scale, thresh = _setup(b, x0, rtol, atol)

    def true_residual(x):
        return proj(b - matvec(x))

    r = true_residual(x0)
    rn0 = norm(r)
    limit = DIVERGENCE_FACTOR * jnp.maximum(rn0, b_norm)
    z = proj(prec(r))
    rz = _dot(r, z)
    zero = jnp.asarray(0, jnp.int32)
    c0 = {
        "x": x0,
        "r": r,
        "p": z,
        "rz": rz,
        "rn": rn0,
        "k": zero,
        "hist": history(max_steps, rn0 / scale, real),
        "converged": rn0 <= thresh,
        "bad": ~(rz >= 0) & (rn0 > thresh),
        "best": rn0,
        "stall": zero,
        "restarts": zero,
        "peak": rn0,
    }

    def cond(c):
        going = (c["k"] < max_steps) & ~c["converged"] & ~c["bad"] & (c["stall"] < STALL_STEPS)
        return going & jnp.isfinite(c["rn"]) & (c["rn"] <= limit)

    def body(c):
        x, r, p, rz, k = c["x"], c["r"], c["p"], c["rz"], c["k"]
        ap = matvec(p)
        pap = _dot(p, ap)
        bad = ~(pap > 0)
        alpha = jnp.where(bad, 0.0, rz / jnp.where(bad, 1.0, pap)).astype(real)
        x = x + alpha * p
        r = proj(r - alpha * ap)
        rn = norm(r)
        # Residual replacement: never report success on the recursive residual alone.
        check = rn <= thresh
        r = lax.cond(check, lambda: true_residual(x), lambda: r)
        rn = jnp.where(check, norm(r), rn)
        converged = rn <= thresh
        restart = check & ~converged
        stall = jnp.where(restart, jnp.where(rn < 0.9 * c["best"], 0, c["stall"] + 1), c["stall"])
        z = proj(prec(r))
        rz_new = _dot(r, z)
        bad = bad | (~(rz_new >= 0) & ~converged)
        beta = jnp.where(restart | (rz == 0), 0.0, rz_new / jnp.where(rz == 0, 1.0, rz)).astype(
            real
        )
        p = z + beta * p
        return {
            "x": x,
            "r": r,
            "p": p,
            "rz": rz_new,
            "rn": rn,
            "k": k + 1,
            "hist": c["hist"].at[k + 1].set(rn / scale),
            "converged": converged,
            "bad": bad & ~converged,
            "best": jnp.where(check, jnp.minimum(c["best"], rn), c["best"]),
            "stall": stall,
            "restarts": c["restarts"] + restart,
            "peak": jnp.maximum(c["peak"], rn),
        }

    c = lax.while_loop(cond, body, c0)
    x, k = c["x"], c["k"]
    # The status is judged on the true residual, whatever the loop saw.
    rn_true = norm(true_residual(x))
    converged = rn_true <= thresh
    finite = jnp.isfinite(rn_true) & jnp.all(jnp.isfinite(x))
    out_of_budget = k >= max_steps
    div = (c["peak"] > limit) | (out_of_budget & (rn_true > rn0))
    result = status(
        converged=converged,
        finite=finite,
        diverged=div,
        stagnation=c["stall"] >= STALL_STEPS,
        breakdown=c["bad"],
    )
    stats = {
        "num_steps": k,
        "residual_history": c["hist"],
        "convergence_factor": _factor(c["hist"], k),
        "residual_norm": rn_true,
        "num_restarts": c["restarts"],
    }
    return x, result, stats
