"""SOR, SSOR and SSOR-preconditioned CG on dense, BCOO and stencil operators.

The iteration of Khodak et al. (ICLR 2024), Algorithm 1, with ``W_ω = D/ω + L``::

    r_0 = b − A x_0;  loop { if ‖r_k‖ <= rtol·‖r_0‖: return k;  x += W_ω⁻¹ r_k;  r_{k+1} = b − A x }

Dense matrices: ``W_ω⁻¹ r`` is ``jax.scipy.linalg.solve_triangular`` on the lower triangle (exact
index order, O(n²) per iteration). BCOO matrices: a forward substitution that scans the stored entries
sorted by (row, column) (O(nnz + n) sequential steps per iteration). 2D ``StencilOperator``: a matrix-free
wavefront sweep in the same column-major node order as MATLAB's ``numgrid`` (O(N) work in nx+ny−1
vectorised steps).
"""

import functools
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import sparse as jsparse
from jax.scipy.linalg import solve_triangular
from jaxtyping import ArrayLike, Float

from .._checks import concrete_or_none
from .._solution import RESULTS, Solution, finalize, status_from
from ._stencil import (
    Sheared,
    StencilOperator,
    redblack_half_sweep,
    redblack_lower_solve,
    redblack_upper_solve,
    sheared_mv,
    sheared_sor_sweep,
    sheared_triangular_solve,
)
from ._validate import (
    check_omega,
    check_positive_diagonal,
    check_tolerances,
    check_vector,
    matrix_shape,
)

DIVERGENCE_FACTOR = 1e10  # ‖r_k‖ > this·‖r_0‖ stops the iteration as RESULTS.diverged

Matrix = Any  # Float[Array, " n n"] | jax.experimental.sparse.BCOO | StencilOperator


# ------------------------------------------------------------------------------ matrix "kernels"
class _Dense:
    def __init__(self, A):
        self.A = A
        self.d = jnp.diagonal(A)
        self.L = jnp.tril(A, -1)
        self.U = jnp.triu(A, 1)

    def mv(self, x):
        return self.A @ x

    def lower(self, r, omega):  # (D/ω + L)⁻¹ r
        return solve_triangular(self.L + jnp.diag(self.d / omega), r, lower=True)

    def upper(self, r, omega):  # (D/ω + U)⁻¹ r
        return solve_triangular(self.U + jnp.diag(self.d / omega), r, lower=False)


class _Sparse:
    """BCOO: substitution as a scan over 'events' (subtract a_ij·y_j from y_i, or divide row i)."""

    def __init__(self, A: jsparse.BCOO, n: int):
        self.A = A
        rows, cols = A.indices[:, 0], A.indices[:, 1]
        data = A.data
        self.d = jnp.zeros(n, data.dtype).at[rows].add(jnp.where(rows == cols, data, 0))
        self.n = n
        self.fwd = self._events(rows, cols, data, lower=True)
        self.bwd = self._events(rows, cols, data, lower=False)

    def _events(self, rows, cols, data, lower):
        n = self.n
        ar = jnp.arange(n, dtype=rows.dtype)
        keep = (cols < rows) if lower else (cols > rows)
        tgt = jnp.concatenate([rows, ar])
        src = jnp.concatenate([cols, ar])
        coef = jnp.concatenate([jnp.where(keep, data, 0), jnp.zeros(n, data.dtype)])
        is_div = jnp.concatenate([jnp.zeros(rows.shape, bool), jnp.ones(n, bool)])
        # within a row: the subtractions first, then the division (key n+1 > any column)
        sub = jnp.where(jnp.concatenate([keep, jnp.zeros(n, bool)]), src, 0)
        inner = jnp.where(is_div, n + 1, sub)
        outer = tgt if lower else (n - 1 - tgt)
        order = jnp.lexsort((inner, outer))
        return tgt[order], src[order], coef[order], is_div[order]

    def mv(self, x):
        return self.A @ x

    def _solve(self, events, r, omega):
        tgt, src, coef, is_div = events
        scale = omega / self.d

        def step(y, ev):
            i, j, a, div = ev
            yi = jnp.where(div, y[i] * scale[i], y[i] - a * y[j])
            return y.at[i].set(yi), None

        y, _ = lax.scan(step, r, (tgt, src, coef, is_div))
        return y

    def lower(self, r, omega):
        return self._solve(self.fwd, r, omega)

    def upper(self, r, omega):
        return self._solve(self.bwd, r, omega)


def _check_inputs(A, b, x0):
    """Trace-time checks (shapes always; the diagonal when A is concrete), naming the argument."""
    if isinstance(A, StencilOperator):
        if np.shape(b) != A.shape:
            raise ValueError(f"`b` must have the grid shape {A.shape}, got {np.shape(b)}.")
        if x0 is not None and np.shape(x0) != A.shape:
            raise ValueError(f"`x0` must have the grid shape {A.shape}, got {np.shape(x0)}.")
        return
    n = matrix_shape(A, "A")
    check_vector(b, "b", n)
    if x0 is not None:
        check_vector(x0, "x0", n)
    if isinstance(A, jsparse.BCOO):
        data = concrete_or_none(A.data)
        idx = concrete_or_none(A.indices)
        if data is not None and idx is not None:
            d = np.zeros(n)
            np.add.at(d, idx[:, 0], np.where(idx[:, 0] == idx[:, 1], data, 0))
            check_positive_diagonal(d)
        return
    dtype = jnp.result_type(A)
    if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise TypeError(f"`A` must be a real matrix, got dtype {dtype}.")
    Ac = concrete_or_none(A)
    if Ac is not None:
        check_positive_diagonal(np.diagonal(Ac))


def _kernel(A, b, x0):
    """(kernel, b, x0) for dense or BCOO ``A``."""
    if isinstance(A, jsparse.BCOO):
        kern = _Sparse(A, A.shape[0])
        dtype = jnp.result_type(A.data, b)
    else:
        dtype = jnp.result_type(float, A, b)
        kern = _Dense(jnp.asarray(A, dtype))
    b = jnp.asarray(b, dtype)
    x0 = jnp.zeros_like(b) if x0 is None else jnp.asarray(x0, dtype)
    return kern, b, x0


def _checked(fn):
    """Public entry point: validate eagerly (concrete values are checked), then run ``fn`` under
    ``eqx.filter_jit`` with ω as an array (one compilation serves every ω and every same-shaped call)."""
    jitted = eqx.filter_jit(fn)

    @functools.wraps(fn)
    def wrapper(A, b, omega, **kwargs):
        check_omega(omega)
        check_tolerances(kwargs.get("rtol", 1e-8), kwargs.get("max_iters", 10000))
        _check_inputs(A, b, kwargs.get("x0"))
        return jitted(A, b, jnp.asarray(omega), **kwargs)

    return wrapper


def _stationary(mv, sweep, b, x0, rtol, max_iters, norm=jnp.linalg.norm):
    """The Algorithm-1 loop: stop when ‖r_k‖ <= rtol·‖r_0‖ (k = the number of sweeps)."""
    r0 = b - mv(x0)
    n0 = norm(r0)
    tol = rtol * n0

    def cond(c):
        k, _, rn = c
        return (k < max_iters) & (rn > tol) & jnp.isfinite(rn) & (rn <= DIVERGENCE_FACTOR * n0)

    def body(c):
        k, x, _ = c
        x = sweep(x, b - mv(x))
        return k + 1, x, norm(b - mv(x))

    # carrying r would save a matvec but costs a buffer; recomputing matches Algorithm 1 exactly.
    k, x, rn = lax.while_loop(cond, body, (jnp.asarray(0), x0, n0))
    result = status_from(rn <= tol, jnp.isfinite(rn), rn > DIVERGENCE_FACTOR * n0)
    return x, result, {"iterations": k, "residual_norm": rn, "initial_residual_norm": n0}


def _grid_setup(op: StencilOperator, b, x0, name):
    dtype = jnp.result_type(float, op.diag, b)
    b = op.masked(jnp.asarray(b, dtype))
    x0 = jnp.zeros_like(b) if x0 is None else op.masked(jnp.asarray(x0, dtype))
    return b, x0


def _sheared_solve(op: StencilOperator, b, omega, x0, rtol, max_iters, symmetric):
    if len(op.shape) != 2:
        raise ValueError(
            "`A`: the lexicographic sweep on a StencilOperator needs a 2D grid; use "
            "`redblack_sor`/`redblack_ssor` for 3D grids."
        )
    b, x0 = _grid_setup(op, b, x0, "b")
    sh = Sheared(*op.shape)
    valid = sh.valid()
    if op.mask is not None:
        valid = valid & sh.shear(op.mask)
    diag_s = jnp.where(valid, sh.shear(op.diagonal()), 1)
    b_s = sh.shear(b)

    def mv(y):
        return sheared_mv(op.offdiag, diag_s, valid, y)

    def sweep(y, _r):
        y = sheared_sor_sweep(op.offdiag, diag_s, valid, b_s, y, omega)
        if symmetric:
            y = sheared_sor_sweep(op.offdiag, diag_s, valid, b_s, y, omega, reverse=True)
        return y

    y, result, stats = _stationary(mv, sweep, b_s, sh.shear(x0), rtol, max_iters)
    return sh.unshear(y), result, stats


# ----------------------------------------------------------------------------------------- public
@_checked
def sor(
    A: Matrix,
    b: Float[ArrayLike, " n"],
    omega: float | Float[ArrayLike, " "],
    *,
    rtol: float = 1e-8,
    max_iters: int = 10000,
    x0: Float[ArrayLike, " n"] | None = None,
    throw: bool = True,
) -> Solution:
    """Successive over-relaxation in index order (Khodak et al., ICLR 2024, Algorithm 1).

    ``x_{k+1} = x_k + (D/ω + L)⁻¹ (b − A x_k)`` from ``x0`` (default 0), stopping at the first k with
    ``‖r_k‖ <= rtol·‖r_0‖``; ``stats["iterations"]`` is that k (the cost a bandit learner sees).

    **Arguments:** ``A`` a dense ``(n, n)`` array, a ``jax.experimental.sparse.BCOO`` matrix, or a 2D
    :class:`StencilOperator` (then ``b``/``x0`` are grid-shaped; unknowns swept column-major like MATLAB's
    ``numgrid``); ``omega`` in (0, 2) (may be traced: vmap over it); ``rtol``, ``max_iters``, ``x0``,
    ``throw`` (raise on failure; else read ``result``: ``max_steps_reached``, ``diverged``, ``nonfinite``).

    **Cost per iteration:** dense O(n²) (one matvec + one triangular solve); BCOO O(nnz + n) sequential
    scan steps; stencil O(N) in nx+ny−1 vectorised wavefront steps. Memory O(n²) dense, O(nnz) BCOO.
    """
    check_omega(omega)
    check_tolerances(rtol, max_iters)
    if isinstance(A, StencilOperator):
        x, result, stats = _sheared_solve(A, b, omega, x0, rtol, max_iters, symmetric=False)
    else:
        kern, b, x0 = _kernel(A, b, x0)
        x, result, stats = _stationary(
            kern.mv, lambda x, r: x + kern.lower(r, omega), b, x0, rtol, max_iters
        )
    return finalize(Solution(x, result, stats), throw)


@_checked
def ssor(
    A: Matrix,
    b: Float[ArrayLike, " n"],
    omega: float | Float[ArrayLike, " "],
    *,
    rtol: float = 1e-8,
    max_iters: int = 10000,
    x0: Float[ArrayLike, " n"] | None = None,
    throw: bool = True,
) -> Solution:
    """Symmetric SOR: a forward sweep then a backward sweep per iteration.

    ``x_{k+½} = x_k + (D/ω + L)⁻¹ r_k``, ``x_{k+1} = x_{k+½} + (D/ω + U)⁻¹ (b − A x_{k+½})``; stopping
    rule, arguments and costs (twice SOR's) as in :func:`sor`.
    """
    check_omega(omega)
    check_tolerances(rtol, max_iters)
    if isinstance(A, StencilOperator):
        x, result, stats = _sheared_solve(A, b, omega, x0, rtol, max_iters, symmetric=True)
    else:
        kern, b, x0 = _kernel(A, b, x0)

        def sweep(x, r):
            x = x + kern.lower(r, omega)
            return x + kern.upper(b - kern.mv(x), omega)

        x, result, stats = _stationary(kern.mv, sweep, b, x0, rtol, max_iters)
    return finalize(Solution(x, result, stats), throw)


def _check_stencil(A, name="A"):
    if not isinstance(A, StencilOperator):
        raise TypeError(f"`{name}` must be a StencilOperator, got {type(A).__name__}.")


@_checked
def redblack_sor(
    A: StencilOperator,
    b: Float[ArrayLike, " *grid"],
    omega: float | Float[ArrayLike, " "],
    *,
    rtol: float = 1e-8,
    max_iters: int = 10000,
    x0: Float[ArrayLike, " *grid"] | None = None,
    throw: bool = True,
    symmetric: bool = False,
) -> Solution:
    """Matrix-free red-black SOR for 5-point (2D) / 7-point (3D) stencils (SSOR with ``symmetric``).

    Each iteration updates all red points (even index sum) at once, then all black points; SSOR adds the
    backward sweep (black, then red). The 5-point Laplacian is consistently ordered in both orderings, so
    ρ(C_ω) and Young's ω* equal those of the lexicographic order (transients differ). Same stopping
    rule as :func:`sor`. Cost O(N) per half-sweep, fully vectorised (the accelerator path).
    """
    _check_stencil(A)
    check_omega(omega)
    check_tolerances(rtol, max_iters)
    b, x0 = _grid_setup(A, b, x0, "b")
    red = A.red()
    black = ~red

    def sweep(x, _r):
        x = redblack_half_sweep(A, x, b, omega, red)
        x = redblack_half_sweep(A, x, b, omega, black)
        if symmetric:
            x = redblack_half_sweep(A, x, b, omega, black)
            x = redblack_half_sweep(A, x, b, omega, red)
        return x

    x, result, stats = _stationary(A.mv, sweep, b, x0, rtol, max_iters)
    return finalize(Solution(x, result, stats), throw)


def redblack_ssor(A: StencilOperator, b, omega, *, rtol=1e-8, max_iters=10000, x0=None, throw=True):
    """Red-black symmetric SOR (forward red→black, backward black→red); see :func:`redblack_sor`."""
    return redblack_sor(
        A, b, omega, rtol=rtol, max_iters=max_iters, x0=x0, throw=throw, symmetric=True
    )


@_checked
def ssor_pcg(
    A: Matrix,
    b: Float[ArrayLike, " n"],
    omega: float | Float[ArrayLike, " "],
    *,
    rtol: float = 1e-8,
    max_iters: int = 10000,
    x0: Float[ArrayLike, " n"] | None = None,
    throw: bool = True,
    ordering: str = "matlab",
    sweep: str = "lexicographic",
) -> Solution:
    """Conjugate gradients preconditioned by SSOR, stopping on ``‖r_k‖ <= rtol·‖b‖`` (MATLAB ``pcg``).

    The preconditioner of the authors' ``ssor_pcg.m`` (``X = D + ωL``, ``M1 = XᵀD⁻¹``, ``M2 = X/(ω(2−ω))``,
    ``M = M1·M2``) is ``ordering="matlab"``: ``M = (D+ωU)D⁻¹(D+ωL)/(ω(2−ω))``;
    ``ordering="textbook"`` is ``(D+ωL)D⁻¹(D+ωU)/(ω(2−ω))``. Both are SPD for SPD ``A`` and 0 < ω < 2.
    ``M⁻¹r = ((2−ω)/ω)·W_L⁻¹ D W_U⁻¹ r`` with ``W = D/ω + L`` (resp. U). ``x0`` is the warm start.

    ``sweep`` fixes the unknown ordering that defines L and U: ``"lexicographic"`` (default) is the
    index order of a dense/BCOO matrix and, for a 2D :class:`StencilOperator`, MATLAB's column-major
    ``numgrid`` order (the paper's setting; triangular solves by wavefronts, nx+ny−1 sequential steps);
    ``"redblack"`` (stencils only, 2D or 3D) orders red unknowns first, so each triangular solve is two
    fully vectorised half-steps (the accelerator path). The orderings give different preconditioners:
    with red-black ordering the SSOR condition number does not improve with ω (ω = 1 is about optimal,
    a known result for two-colour orderings), while the natural ordering has an optimum ω > 1 — the
    quantity the learners of Khodak et al. tune.

    ``stats``: ``iterations`` (CG steps), ``residual_norm`` (recursive). ``RESULTS.breakdown`` when
    ``pᵀAp <= 0`` or ``rᵀM⁻¹r <= 0`` (A or M not SPD). Cost per iteration: one matvec + one SSOR sweep pair.
    """
    check_omega(omega)
    check_tolerances(rtol, max_iters)
    if ordering not in ("matlab", "textbook"):
        raise ValueError(f"`ordering` must be 'matlab' or 'textbook', got {ordering!r}.")
    if sweep not in ("lexicographic", "redblack"):
        raise ValueError(f"`sweep` must be 'lexicographic' or 'redblack', got {sweep!r}.")
    unshear = None
    if isinstance(A, StencilOperator):
        b, x0 = _grid_setup(A, b, x0, "b")
        if sweep == "redblack":
            red = A.red()
            mv = A.mv
            d = A.diagonal()
            lower = lambda r: redblack_lower_solve(A, r, omega, red)
            upper = lambda r: redblack_upper_solve(A, r, omega, red)
        else:
            if len(A.shape) != 2:
                raise ValueError(
                    "`A`: the lexicographic SSOR preconditioner on a StencilOperator needs a 2D grid; "
                    "pass sweep='redblack' for 3D grids."
                )
            sh = Sheared(*A.shape)
            valid = sh.valid()
            if A.mask is not None:
                valid = valid & sh.shear(A.mask)
            d = jnp.where(valid, sh.shear(A.diagonal()), 1)
            lower = lambda r: sheared_triangular_solve(A.offdiag, d, valid, r, omega)
            upper = lambda r: sheared_triangular_solve(A.offdiag, d, valid, r, omega, upper=True)
            mv = lambda y: sheared_mv(A.offdiag, d, valid, y)
            b, x0, unshear = sh.shear(b), sh.shear(x0), sh.unshear
    else:
        if sweep != "lexicographic":
            raise ValueError("`sweep='redblack'` needs a StencilOperator `A` (a grid to colour).")
        kern, b, x0 = _kernel(A, b, x0)
        mv, d = kern.mv, kern.d
        lower = lambda r: kern.lower(r, omega)
        upper = lambda r: kern.upper(r, omega)
    fac = (2 - omega) / omega
    if ordering == "matlab":
        precond = lambda r: fac * lower(d * upper(r))
    else:
        precond = lambda r: fac * upper(d * lower(r))
    dot = lambda u, v: jnp.sum(u * v)
    bnorm = jnp.sqrt(dot(b, b))
    tol = rtol * bnorm
    r = b - mv(x0)
    z = precond(r)
    rz = dot(r, z)
    init = (jnp.asarray(0), x0, r, z, rz, jnp.sqrt(dot(r, r)), jnp.asarray(False))

    def cond(c):
        k, _, _, _, _, rn, broke = c
        return (k < max_iters) & (rn > tol) & jnp.isfinite(rn) & ~broke

    def body(c):
        k, x, r, p, rz, _, _ = c
        Ap = mv(p)
        pAp = dot(p, Ap)
        alpha = rz / pAp
        x = x + alpha * p
        r = r - alpha * Ap
        z = precond(r)
        rz_new = dot(r, z)
        rn = jnp.sqrt(dot(r, r))
        broke = ((pAp <= 0) | (rz_new <= 0)) & (rn > tol)
        p = z + (rz_new / rz) * p
        return k + 1, x, r, p, rz_new, rn, broke

    k, x, _, _, _, rn, broke = lax.while_loop(cond, body, init)
    breakdown0 = (rz <= 0) & (init[5] > tol)
    result = status_from(rn <= tol, jnp.isfinite(rn))
    result = RESULTS.where(broke | breakdown0, RESULTS.breakdown, result)
    if unshear is not None:
        x = unshear(x)
    return finalize(Solution(x, result, {"iterations": k, "residual_norm": rn}), throw)


def cg(A: Matrix, b, *, rtol: float = 1e-8, max_iters: int = 10000, x0=None, throw: bool = True):
    """Plain (unpreconditioned) CG with the same stopping rule as :func:`ssor_pcg` (the baseline)."""
    check_tolerances(rtol, max_iters)
    _check_inputs(A, b, x0)
    return _cg_jit(A, b, rtol=rtol, max_iters=max_iters, x0=x0, throw=throw)


@eqx.filter_jit
def _cg_jit(A, b, *, rtol, max_iters, x0, throw):
    if isinstance(A, StencilOperator):
        b, x0 = _grid_setup(A, b, x0, "b")
        mv = A.mv
    else:
        kern, b, x0 = _kernel(A, b, x0)
        mv = kern.mv
    dot = lambda u, v: jnp.sum(u * v)
    tol = rtol * jnp.sqrt(dot(b, b))
    r = b - mv(x0)

    def cond(c):
        k, _, _, _, rr = c
        return (k < max_iters) & (jnp.sqrt(rr) > tol) & jnp.isfinite(rr)

    def body(c):
        k, x, r, p, rr = c
        Ap = mv(p)
        alpha = rr / dot(p, Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = dot(r, r)
        return k + 1, x, r, r + (rr_new / rr) * p, rr_new

    k, x, _, _, rr = lax.while_loop(cond, body, (jnp.asarray(0), x0, r, r, dot(r, r)))
    rn = jnp.sqrt(rr)
    result = status_from(rn <= tol, jnp.isfinite(rn))
    return finalize(Solution(x, result, {"iterations": k, "residual_norm": rn}), throw)
