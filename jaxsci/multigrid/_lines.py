"""Zebra line Gauss-Seidel: block Gauss-Seidel whose blocks are grid lines, solved as batched
tridiagonal systems (``jax.lax.linalg.tridiagonal_solve``).

Lines parallel to axis ``d`` are coloured by their indices on the other axes modulo ``w_e + 1``
(``w_e`` the stencil reach along axis ``e``: two colours per transverse axis, "zebra", for 5/9-point
and 7/27-point stencils), so the lines of one colour do not couple and are relaxed at once:

    u_L <- u_L + omega T_L^{-1} (f - A u)_L,

``T_L`` the part of ``A`` that couples points of line ``L`` with each other (tridiagonal: the centre
and the ``+-1`` entries along ``d``). One alternating sweep relaxes the lines along axis 0 (every
colour), then along axis 1 (and 2); ``reverse=True`` runs the same updates in the opposite order, the
adjoint sweep, so forward pre- and reverse post-smoothing make a symmetric cycle. Line relaxation
smooths in the directions of strong coupling, so it is robust to anisotropy ``-(eps u_xx + u_yy)`` and,
with operator-dependent interpolation, to coefficient jumps (Trottenberg et al., *Multigrid*, 2001,
sec. 5.1, 7.7; Dendy 1982).

Cost of one update of one colour: one ``mv`` and tridiagonal solves of ``N / colours`` unknowns
(``O(N)``); one alternating sweep in 2D: 4 ``mv`` and 2 full sets of line solves. Periodic axes are
not supported (a periodic line is a cyclic system).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
from jax.lax.linalg import tridiagonal_solve
from jaxtyping import Array, Float

from ._galerkin import GalerkinOperator
from ._operator import DiffusionOperator, _face_shape

__all__ = ["check_lines", "line_coefficients", "line_smooth"]


def check_lines(op) -> None:
    """Raise unless ``op`` admits line relaxation (no periodic axis, nearest-neighbour lines)."""
    if any(b == "periodic" for b in op.bc):
        raise ValueError(
            "`smoother` = 'line' does not support periodic axes (a periodic line is a cyclic "
            f"system), got `bc` {op.bc}; use `smoother='rbgs'`."
        )
    if isinstance(op, GalerkinOperator) and max(op.widths) > 1:
        raise ValueError(
            "`smoother` = 'line' needs nearest-neighbour stencils on every level; Galerkin coarse "
            f"operators of Neumann axes reach {op.widths}: use `coarse='average'` or "
            "`smoother='rbgs'`."
        )


def line_coefficients(op, axis: int) -> tuple[Array, Array, Array]:
    """``(lower, diagonal, upper)`` of the lines along ``axis``, each of the grid shape (``lower``
    zero at the first point of each line, ``upper`` at the last)."""
    n = op.shape[axis]
    diag = jnp.broadcast_to(op.diagonal(), op.shape)
    if isinstance(op, DiffusionOperator):
        w = jnp.broadcast_to(op.weights[axis], _face_shape(op.shape, axis))
        scale = 1.0 / op.h[axis] ** 2
        lo = -scale * jax.lax.slice_in_dim(w, 0, n, axis=axis)
        hi = -scale * jax.lax.slice_in_dim(w, 1, n + 1, axis=axis)
    elif isinstance(op, GalerkinOperator):
        offsets = op.offsets
        zero = [0] * op.ndim
        k_lo = offsets.index(tuple(-1 if e == axis else 0 for e in range(op.ndim)))
        k_hi = offsets.index(tuple(1 if e == axis else 0 for e in range(op.ndim)))
        del zero
        lo, hi = op.stencil[k_lo], op.stencil[k_hi]
    else:
        raise TypeError(f"`op` must be a multigrid level operator, got {type(op).__name__}.")
    idx = jnp.arange(n).reshape([n if e == axis else 1 for e in range(op.ndim)])
    lo = jnp.where(idx == 0, 0, lo)
    hi = jnp.where(idx == n - 1, 0, hi)
    return lo, diag, hi


def _updates(op) -> list[tuple[int, tuple[slice, ...]]]:
    """The (axis, selection) of every line-colour update of one alternating sweep, in order."""
    widths = op.widths
    out = []
    for d in range(op.ndim):
        others = [e for e in range(op.ndim) if e != d]
        for q in itertools.product(*[range(widths[e] + 1) for e in others]):
            sel = [slice(None)] * op.ndim
            for e, qe in zip(others, q, strict=True):
                sel[e] = slice(qe, None, widths[e] + 1)
            if all(s.start is None or s.start < op.shape[e] for e, s in enumerate(sel)):
                out.append((d, tuple(sel)))
    return out


def line_smooth(
    op,
    u: Float[Array, " *grid"],
    f: Float[Array, " *grid"],
    *,
    sweeps: int,
    omega: float = 1.0,
    reverse: bool = False,
    zero_guess: bool = False,
) -> Float[Array, " *grid"]:
    """``sweeps`` alternating zebra line Gauss-Seidel sweeps on ``A u = f`` (module docstring)."""
    check_lines(op)
    coeffs = [line_coefficients(op, d) for d in range(op.ndim)]
    updates = _updates(op)
    if reverse:
        updates = updates[::-1]
    first = zero_guess
    for _ in range(sweeps):
        for d, sel in updates:
            r = f if first else f - op.mv(u)
            first = False
            lo, dg, hi = (jnp.moveaxis(c[sel].astype(u.dtype), d, -1) for c in coeffs[d])
            rhs = jnp.moveaxis(r[sel], d, -1)
            delta = tridiagonal_solve(lo, dg, hi, rhs[..., None])[..., 0]
            u = u.at[sel].add(omega * jnp.moveaxis(delta, -1, d))
    return u
