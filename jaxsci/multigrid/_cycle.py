"""Smoothers, the V/W/F cycles and full multigrid (FMG) on a :class:`Hierarchy`.

Everything here is a pure function of arrays with static structure (number of levels, sweeps,
smoother), so it traces once and runs under ``jit``/``vmap``. The number of levels is fixed at trace
time from the grid shape; a cycle is unrolled over levels (W-cycles repeat the coarse visit with a
``lax.fori_loop`` so the traced program stays linear in the number of levels).

Cost of one V(nu1, nu2) cycle from a zero guess: about ``2 (nu1 + nu2)`` stencil passes for red-black
Gauss-Seidel (each half-sweep applies the full stencil once, masked), one residual and two transfers
per level, times ``2^d / (2^d - 1)`` for the coarse levels; memory ``O(N)``.
"""

from __future__ import annotations

from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_choice, check_positive_int, check_range
from .._grid import AbstractGridOperator
from ._hierarchy import COARSE_SWEEPS, Hierarchy
from ._lines import line_smooth

__all__ = ["CYCLES", "SMOOTHERS", "CycleConfig", "cycle", "fmg", "smooth"]

SMOOTHERS = ("rbgs", "jacobi", "chebyshev", "line")
CYCLES = ("V", "W", "F", "fmg")


def smooth(
    op: AbstractGridOperator,
    u: Float[Array, " *grid"],
    f: Float[Array, " *grid"],
    *,
    sweeps: int,
    smoother: str,
    omega: float,
    reverse: bool = False,
    zero_guess: bool = False,
) -> Float[Array, " *grid"]:
    """``sweeps`` smoothing steps on ``A u = f``.

    - ``"jacobi"``: ``u <- u + omega D^{-1}(f - A u)``.
    - ``"rbgs"``: multi-colour Gauss-Seidel through the operator's colour classes
      (``op.colour_masks()``: red/black for the 3/5/7-point stencils, four colours for the 9-point
      Galerkin stencil), each colour updated by the grid family's one SOR update
      (:meth:`jaxsci._grid.AbstractGridOperator.colour_sweep`). With ``omega != 1`` each colour
      update is over/under-relaxed (red-black SOR; Yavneh, SIAM J. Sci. Comput. 17, 1996, finds
      omega ~ 1.15 best for V(1,1) on the 2D Laplacian). ``reverse`` runs the colours backwards
      (the adjoint sweep, used for post-smoothing so the cycle is symmetric).
    - ``"line"``: alternating zebra line Gauss-Seidel (:mod:`jaxsci.multigrid._lines`: lines along
      every axis in turn, each line a tridiagonal solve), robust to anisotropy and coefficient jumps;
      ``reverse`` runs the adjoint sweep. Not for periodic axes.
    - ``"chebyshev"``: Chebyshev polynomial of degree ``sweeps`` in ``D^{-1}A`` on the interval
      ``[1/d, 2]`` (the upper end is the Gershgorin bound; the lower one covers the high frequencies
      of the ``d``-dimensional Laplacian).

    ``zero_guess=True`` promises ``u == 0`` and skips the first application of ``A``.
    """
    if not isinstance(op, AbstractGridOperator):
        raise TypeError(f"`op` must be a jaxsci grid operator, got {type(op).__name__}.")
    u = _grid_array(op, u, "u")
    f = _grid_array(op, f, "f")
    check_positive_int(sweeps, "sweeps", minimum=0)
    check_choice(smoother, "smoother", SMOOTHERS)
    check_omega(omega)
    if sweeps == 0:
        return u
    if smoother == "line":
        return line_smooth(
            op, u, f, sweeps=sweeps, omega=omega, reverse=reverse, zero_guess=zero_guess
        )
    d = op.diagonal().astype(u.dtype)
    dinv = 1.0 / d
    if smoother == "jacobi":
        for s in range(sweeps):
            if zero_guess and s == 0:
                u = omega * dinv * f
            else:
                u = u + omega * dinv * (f - op.mv(u))
        return u
    if smoother == "rbgs":
        masks = op.colour_masks()
        if reverse:
            masks = masks[::-1]
        first = zero_guess
        for _ in range(sweeps):
            for mask in masks:
                if first:
                    # colour_sweep from u = 0, without the product A 0.
                    u = jnp.where(mask, omega * dinv * f, 0).astype(u.dtype)
                    first = False
                else:
                    u = op.colour_sweep(u, f, omega, mask, d)
        return u
    if smoother == "chebyshev":
        lmax, lmin = 2.0, 1.0 / op.ndim
        theta, delta = 0.5 * (lmax + lmin), 0.5 * (lmax - lmin)
        sigma = theta / delta
        rho = 1.0 / sigma
        r = dinv * f if zero_guess else dinv * (f - op.mv(u))
        step = r / theta
        u = step if zero_guess else u + step
        for _ in range(sweeps - 1):
            r = dinv * (f - op.mv(u))
            rho_new = 1.0 / (2 * sigma - rho)
            step = rho_new * rho * step + (2 * rho_new / delta) * r
            u = u + step
            rho = rho_new
        return u
    raise ValueError(f"`smoother` must be one of {SMOOTHERS}, got {smoother!r}.")


def check_omega(omega: Any, name: str = "omega") -> float:
    """``omega`` must be a real Python/NumPy number in ``(0, 2)`` (static configuration)."""
    if isinstance(omega, bool) or not isinstance(omega, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a Python float in (0, 2), got {omega!r}.")
    check_range(float(omega), name, 0.0, 2.0)
    return float(omega)


def _grid_array(op: AbstractGridOperator, x: Any, name: str) -> Array:
    """``x`` as a real floating array of the operator's grid shape, or an error naming ``name``."""
    try:
        x = jnp.asarray(x)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be a real floating array, got {type(x).__name__}."
        ) from None
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"`{name}` must be a real floating array, got dtype {x.dtype}.")
    op.check_vector(x, name)
    return x


@final
class CycleConfig(eqx.Module):
    """Static configuration of a cycle."""

    cycle: str = eqx.field(static=True, default="V")
    smoother: str = eqx.field(static=True, default="rbgs")
    pre: int = eqx.field(static=True, default=1)
    post: int = eqx.field(static=True, default=1)
    omega: float = eqx.field(static=True, default=1.0)
    # Post-smoothing in the adjoint order (black before red) makes the cycle a symmetric operator, as
    # CG requires; the plain cycle keeps red-before-black, which converges faster (0.11 vs 0.26/cycle).
    symmetric: bool = eqx.field(static=True, default=False)


def coarse_solve(h: Hierarchy, f: Float[Array, " *grid"], cfg: CycleConfig) -> Array:
    """Solve on the coarsest level: one product with the stored inverse (or smoothing sweeps)."""
    if h.coarse_inverse is None:
        zero = jnp.zeros_like(f)
        return smooth(
            h.ops[-1],
            zero,
            f,
            sweeps=COARSE_SWEEPS,
            smoother=cfg.smoother,
            omega=cfg.omega,
            zero_guess=True,
        )
    inv = h.coarse_inverse.astype(f.dtype)
    return (inv @ f.reshape(-1)).reshape(f.shape)


def cycle(
    h: Hierarchy,
    l: int,
    u: Float[Array, " *grid"],
    f: Float[Array, " *grid"],
    cfg: CycleConfig,
    *,
    kind: str | None = None,
    zero_guess: bool = False,
) -> Float[Array, " *grid"]:
    """One multigrid cycle of type ``kind`` (``cfg.cycle`` by default) on level ``l`` for ``A_l u = f``.

    ``zero_guess=True`` promises ``u == 0`` and skips the first residual (saves one stencil pass).
    """
    if not isinstance(h, Hierarchy):
        raise TypeError(
            f"`h` must be a multigrid Hierarchy (from `build_hierarchy`), got {h!r:.60}."
        )
    if not isinstance(cfg, CycleConfig):
        raise TypeError(f"`cfg` must be a CycleConfig, got {cfg!r:.60}.")
    if isinstance(l, bool) or not isinstance(l, (int, np.integer)):
        raise TypeError(f"`l` must be an int level index, got {l!r}.")
    if not 0 <= l < h.depth:
        raise ValueError(f"`l` must lie in [0, {h.depth}) (the levels of `h`), got {l}.")
    kind = kind or cfg.cycle
    if kind not in ("V", "W", "F"):
        raise ValueError(f"`kind` must be one of ('V', 'W', 'F'), got {kind!r}.")
    u = _grid_array(h.ops[l], u, "u")
    f = _grid_array(h.ops[l], f, "f")
    if l == h.depth - 1:
        return coarse_solve(h, f, cfg)
    op = h.ops[l]
    opts = dict(smoother=cfg.smoother, omega=cfg.omega)
    u = smooth(op, u, f, sweeps=cfg.pre, zero_guess=zero_guess, **opts)
    r = f if (zero_guess and cfg.pre == 0) else f - op.mv(u)
    rc = h.restrict(l, r)
    zc = jnp.zeros_like(rc)
    if kind == "V" or l + 1 == h.depth - 1:
        ec = cycle(h, l + 1, zc, rc, cfg, kind=kind, zero_guess=True)
    elif kind == "W":
        # Two coarse visits in a loop: the program is traced once per level, not 2^l times.
        ec = jax.lax.fori_loop(0, 2, lambda i, e: cycle(h, l + 1, e, rc, cfg, kind="W"), zc)
    elif kind == "F":
        ec = cycle(h, l + 1, zc, rc, cfg, kind="F", zero_guess=True)
        ec = cycle(h, l + 1, ec, rc, cfg, kind="V")
    else:
        raise ValueError(f"`cycle` must be one of {CYCLES}, got {kind!r}.")
    u = h.project(u + h.prolong(l, ec))
    return smooth(op, u, f, sweeps=cfg.post, reverse=cfg.symmetric, **opts)


def fmg(
    h: Hierarchy, f: Float[Array, " *grid"], cfg: CycleConfig, *, cycles_per_level: int = 1
) -> Float[Array, " *grid"]:
    """Full multigrid: restrict ``f`` to every level, solve the coarsest, then on each finer level
    interpolate (bi/trilinear) and run ``cycles_per_level`` cycles. Cost ~ (1 + 2^-d + ...) cycles."""
    fs = [f]
    for l in range(h.depth - 1):
        fs.append(h.restrict(l, fs[-1]))
    u = coarse_solve(h, fs[-1], cfg)
    kind = "V" if cfg.cycle == "fmg" else cfg.cycle
    for l in range(h.depth - 2, -1, -1):
        u = h.prolong(l, u)
        for _ in range(cycles_per_level):
            u = cycle(h, l, u, fs[l], cfg, kind=kind)
    return u
