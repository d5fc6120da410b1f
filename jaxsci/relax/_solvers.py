"""SOR, SSOR, SSOR-preconditioned CG and CG on dense, BCOO and stencil operators, in the one solver
protocol of jaxsci (``design.md``, "One protocol").

A solver is a final :class:`equinox.Module` holding its configuration (``rtol``, ``atol``,
``max_steps``, ``sweep``, ...), validated once. ``state = solver.init(A)`` precomputes the splitting
``A = L + D + U`` (:mod:`jaxsci.relax._splitting`); ``solver.solve(state, b, omega=..., x0=None,
throw=True)`` runs under ``eqx.filter_jit`` with omega as an array, so one compilation serves every
omega (and ``jax.vmap`` over omega or over instances works), and returns a
:class:`jaxsci.Solution` whose ``state`` is the splitting.

The iteration of Khodak et al. (ICLR 2024), Algorithm 1, with ``W_omega = D/omega + L``::

    x_{k+1} = x_k + W_omega^-1 (b - A x_k)   until   ||b - A x_k|| <= atol + rtol ||b||

(the one convergence rule; for the paper's zero initial guess it is their ``||r_k|| <= rtol ||r_0||``,
so the counts are the paper's). SOR and SSOR run in the one stationary loop
(:func:`jaxsci._iterate.stationary`), SSOR-PCG and CG in the one guarded CG
(:func:`jaxsci._iterate.cg`). ``stats["num_steps"]`` is the number of sweeps (SOR, SSOR: one
forward, resp. forward+backward, sweep per step) or CG iterations: the cost the bandit learners see.
"""

from typing import Any, ClassVar, final

import equinox as eqx
import jax.numpy as jnp
from jax.experimental import sparse as jsparse
from jaxtyping import ArrayLike, Real

from .._checks import check_choice
from .._iterate import cg as _cg
from .._iterate import stationary
from .._solution import Solution, finalize, resolve_rtol
from ._splitting import AbstractSplitting, check_operator, splitting
from ._stencil import LaplacianStencil
from ._validate import check_omega, check_sweep, check_tolerances

__all__ = [
    "CG",
    "SOR",
    "SSOR",
    "SSORPCG",
    "AbstractRelaxSolver",
    "cg",
    "redblack_sor",
    "redblack_ssor",
    "sor",
    "ssor",
    "ssor_pcg",
]

#: What a relax solve accepts as ``A``.
Operator = Real[ArrayLike, "_ _"] | jsparse.BCOO | LaplacianStencil
#: ``b`` and ``x0``: ``(n,)`` for a matrix, grid-shaped for a stencil (checked against ``A``).
Vector = Real[ArrayLike, "*shape"]

_OMEGA_ADVICE = (
    "Choose `omega` in (0, 2): SOR and SSOR converge for every such omega when `A` is SPD."
)
_ADVICE = {
    "max_steps_reached": "Increase `max_steps`, or choose a better `omega` (e.g. `relax.young_omega`).",
    "diverged": _OMEGA_ADVICE + " Check that `A` is symmetric positive definite.",
    "stagnation": "Loosen `rtol` (it is below the rounding floor of the working precision), or solve "
    "in float64.",
    "nonfinite": "Check `A`, `b` and `x0` for NaN/inf. " + _OMEGA_ADVICE,
    "breakdown": "`A` must be symmetric positive definite and `omega` in (0, 2) (then the SSOR "
    "preconditioner is SPD too).",
}


class AbstractRelaxSolver(eqx.Module):
    """The configuration of a relax solver; see :class:`SOR`.

    Every solver has ``rtol`` (``None``: :func:`jaxsci._solution.default_rtol` of the working dtype,
    1e-8 in float64), ``atol`` (default 0) and ``max_steps`` (the budget of sweeps or iterations),
    ``init(A)`` and ``solve(state, b, ...)``.
    """

    rtol: eqx.AbstractVar[float | None]
    atol: eqx.AbstractVar[float]
    max_steps: eqx.AbstractVar[int]
    name: eqx.AbstractClassVar[str]

    def __check_init__(self):
        check_tolerances(self.rtol, self.atol, self.max_steps)

    @property
    def state_sweep(self) -> str | None:
        """The sweep a state must have been built for (``None``: any)."""
        return getattr(self, "sweep", None)

    def init(self, A: Operator) -> AbstractSplitting:
        """Precompute the splitting of ``A`` once (the state to pass to :meth:`solve`).

        ``A``: a dense ``(n, n)`` array, a ``jax.experimental.sparse.BCOO`` matrix or a
        :class:`LaplacianStencil`. NumPy inputs are checked here (square, real, positive diagonal:
        ``ValueError`` naming ``A``); JAX arrays are checked at run time. Cost: O(n) (dense, stencil),
        O(nnz log nnz) (BCOO: the substitution order is sorted once).
        """
        return splitting(A, self._init_sweep(A))

    def _init_sweep(self, A: Any) -> str:
        return self.state_sweep

    def _check_state(self, state: Any) -> None:
        if not isinstance(state, AbstractSplitting):
            raise TypeError(
                f"`state` must come from `{type(self).__name__}.init(A)`, got {type(state).__name__}."
            )
        want = self.state_sweep
        if want is not None and state.sweep != want:
            raise ValueError(
                f"`state` was built for sweep={state.sweep!r}, but this solver has sweep={want!r}: "
                "call `init(A)` of this solver."
            )

    def _prepare(self, state, b, x0):
        for v, name in ((b, "b"), (x0, "x0")):
            if v is not None and not jnp.issubdtype(jnp.result_type(v), jnp.floating):
                if not jnp.issubdtype(jnp.result_type(v), jnp.integer):
                    raise TypeError(f"`{name}` must be real, got dtype {jnp.result_type(v)}.")
        state.check_vector(b, "b")
        if x0 is not None:
            state.check_vector(x0, "x0")
        dtype = jnp.result_type(float, state.dtype, b)
        if jnp.finfo(dtype).bits < 32:
            dtype = jnp.float32  # half precision: computed in float32
        b = jnp.asarray(b, dtype)
        x0 = jnp.zeros_like(b) if x0 is None else jnp.asarray(x0, dtype)
        # the system is solved for b / s (s = max |b|, a power of two), so a right-hand side of
        # magnitude 1e+-300 neither underflows nor overflows in the sweeps (with atol = 0 the stopping
        # rule is scale-invariant; with atol > 0 nothing is rescaled)
        scale = jnp.ones((), dtype)
        if self.atol == 0:
            m = jnp.max(jnp.abs(b)) if b.size else jnp.zeros((), dtype)
            ok = jnp.isfinite(m) & (m > 0)
            scale = jnp.where(ok, jnp.exp2(jnp.round(jnp.log2(jnp.where(ok, m, 1)))), 1).astype(
                dtype
            )
        return dtype, state.layout(b / scale), state.layout(x0 / scale), scale

    def _finish(self, state, x, result, stats, throw, scale=1.0) -> Solution:
        if "residual_norm" in stats:
            stats = {**stats, "residual_norm": stats["residual_norm"] * scale}
        sol = Solution(state.unlayout(x * scale), result, stats, state)
        return finalize(sol, throw, solver=self.name, advice=_ADVICE)


class _AbstractStationary(AbstractRelaxSolver):
    symmetric: eqx.AbstractClassVar[bool]

    def solve(
        self,
        state: AbstractSplitting,
        b: Vector,
        *,
        omega: Real[ArrayLike, ""],
        x0: Vector | None = None,
        throw: bool = True,
    ) -> Solution:
        """Solve ``A x = b`` from ``x0`` (default 0) with relaxation parameter ``omega``.

        ``omega`` in (0, 2) (``ValueError`` for a Python/NumPy value outside; a JAX array is not
        read: a diverging omega is reported as ``RESULTS.diverged``). ``omega`` is passed to the
        compiled solve as an array, so every omega shares one compilation and ``jax.vmap`` over it
        works. ``throw``: raise on failure, else read ``result``.
        """
        check_omega(omega)
        self._check_state(state)
        return _solve_stationary(self, state, b, x0, jnp.asarray(omega), throw)

    def _solve(self, state, b, x0, omega, throw) -> Solution:
        dtype, b, x0, scale = self._prepare(state, b, x0)
        omega = omega.astype(dtype)
        factor = state.factor(omega)
        rtol = resolve_rtol(self.rtol, dtype)
        floor = rounding_floor(state, dtype, rtol)

        def correct(x, r, k):
            x = state.forward(factor, x, r, b)
            return state.backward(factor, x, b) if self.symmetric else x

        x, result, stats = stationary(
            correct,
            lambda x: b - state.mv(x),
            b,
            x0,
            rtol=rtol,
            atol=self.atol,
            max_steps=self.max_steps,
            floor=floor,
        )
        return self._finish(state, x, result, stats, throw, scale)


def rounding_floor(state: AbstractSplitting, dtype: Any, rtol: float) -> Any:
    """The ``floor`` of :func:`jaxsci._iterate.stationary` for a relax sweep on ``state``, or ``None``
    where no practical budget reaches it (shared by the solvers and the batched cost tables)."""
    eps = float(jnp.finfo(dtype).eps)
    # The rounding floor of the residual, eps || |A| |x| ||, bounded by eps ||A||_inf ||x|| (one
    # reduction of x per sweep). The shared loop counts "at the floor" within 1e3 of its
    # estimate (a multigrid cycle gains far more than 10 % per step until there); a sweep gains
    # only about 1 - rho(C_omega), so relax claims the floor only below the bound itself (in
    # float32 the residual of SOR plateaus at 0.1-1 times it). The relative floor is about
    # eps cond(A), and SOR needs at least ~sqrt(cond(A)) sweeps to get there: for rtol >= 1e6 eps
    # (float64: 2e-10) no practical budget reaches it, and the test (a few small kernels per
    # sweep, 2x the cost of a 31^2 red-black sweep) is left out.
    floor = None
    if rtol < 1e6 * eps:
        floor_scale = 1e-3 * eps * state.abs_row_sum().astype(dtype)
        floor = lambda x: floor_scale * jnp.linalg.norm(x)
    return floor


@eqx.filter_jit
def _solve_stationary(solver, state, b, x0, omega, throw):
    return solver._solve(state, b, x0, omega, throw)


@final
class SOR(_AbstractStationary):
    """Successive over-relaxation (Khodak et al., ICLR 2024, Algorithm 1).

    ``x_{k+1} = x_k + (D/omega + L)^-1 (b - A x_k)`` until ``||b - A x_k|| <= atol + rtol ||b||``;
    ``stats["num_steps"]`` is the number of sweeps (0 for a warm start at the solution),
    ``stats["residual_history"]`` the ``(max_steps + 1,)`` relative residuals (NaN after the last).
    ``result``: ``max_steps_reached``; ``diverged`` (the one rule of :func:`jaxsci._solution.diverged`,
    e.g. a traced omega outside (0, 2) or a matrix that is not SPD); ``stagnation`` (3 sweeps without a
    10 % gain below the rounding-floor bound ``eps ||A||_inf ||x||``: a float32 solve asked for a
    tolerance it cannot reach; tested when ``rtol < 1e6 eps``, i.e. always in float32 and for
    ``rtol < 2e-10`` in float64); ``nonfinite``.

    **Fields:**

    - ``rtol`` (``None``: 1e-8 in float64, 1e-5 in float32), ``atol`` (default 0): the tolerance;
    - ``max_steps`` (default 10000): the budget of sweeps;
    - ``sweep``: ``"lexicographic"`` (default; the index order of a dense/BCOO matrix and, for a 2D
      :class:`LaplacianStencil`, MATLAB's column-major ``numgrid`` order by wavefronts: the paper's
      setting) or ``"redblack"`` (stencils, 2D or 3D: red unknowns first, fully vectorised). The
      5-point Laplacian is consistently ordered in both, so rho(C_omega) and Young's omega* agree;
      transients differ.

    **Cost per sweep:** dense O(n^2) (one matvec and one triangular solve); BCOO O(nnz + n)
    sequential scan steps; stencil O(N) in ``nx + ny - 1`` vectorised wavefronts (lexicographic) or
    two vectorised half-sweeps (red-black). Memory: the splitting plus ``x``, ``r``, the history.

    Usage: ``solver = SOR(); state = solver.init(A); sol = solver.solve(state, b, omega=1.5)``, then
    ``solver.solve(sol.state, b2, omega=1.7)`` reuses the splitting.
    """

    rtol: float | None = eqx.field(static=True, default=None)
    atol: float = eqx.field(static=True, default=0.0)
    max_steps: int = eqx.field(static=True, default=10000)
    sweep: str = eqx.field(static=True, default="lexicographic")
    name: ClassVar[str] = "SOR"
    symmetric: ClassVar[bool] = False

    def __check_init__(self):
        check_sweep(self.sweep)


@final
class SSOR(_AbstractStationary):
    """Symmetric SOR: per step a forward sweep then a backward sweep,
    ``x_{k+1/2} = x_k + (D/omega + L)^-1 r_k``, ``x_{k+1} = x_{k+1/2} + (D/omega + U)^-1 (b - A
    x_{k+1/2})`` (red-black: red, black, then black, red). Fields, stopping rule and state as in
    :class:`SOR`; ``stats["num_steps"]`` counts forward+backward pairs (twice SOR's cost each)."""

    rtol: float | None = eqx.field(static=True, default=None)
    atol: float = eqx.field(static=True, default=0.0)
    max_steps: int = eqx.field(static=True, default=10000)
    sweep: str = eqx.field(static=True, default="lexicographic")
    name: ClassVar[str] = "SSOR"
    symmetric: ClassVar[bool] = True

    def __check_init__(self):
        check_sweep(self.sweep)


@final
class SSORPCG(AbstractRelaxSolver):
    """Conjugate gradients preconditioned by SSOR (the authors' ``ssor_pcg.m``), in the one guarded CG
    (:func:`jaxsci._iterate.cg`: breakdown detection, true-residual check before success).

    ``ordering="matlab"`` (default) is the authors' preconditioner (``X = D + omega L``,
    ``M1 = X^T D^-1``, ``M2 = X / (omega (2 - omega))``, ``M = M1 M2``):
    ``M = (D + omega U) D^-1 (D + omega L) / (omega (2 - omega))``; ``"textbook"`` is
    ``(D + omega L) D^-1 (D + omega U) / (omega (2 - omega))``. Both are SPD for SPD ``A`` and
    ``0 < omega < 2``; ``M^-1 r = ((2 - omega)/omega) W_L^-1 D W_U^-1 r`` with ``W = D/omega + L``
    (resp. ``U``).

    ``sweep`` fixes the unknown ordering that defines L and U, as in :class:`SOR`. The orderings give
    different preconditioners: with the red-black ordering the SSOR condition number does not
    improve with omega (omega = 1 is about optimal, a known result for two-colour orderings), while
    the natural (lexicographic) ordering has an optimum omega > 1, the quantity the learners of
    Khodak et al. tune.

    ``stats``: ``num_steps`` (CG iterations), ``residual_history``, ``residual_norm`` (the true
    residual), ``num_restarts``. ``RESULTS.breakdown`` when ``p^T A p <= 0`` or ``r^T M^-1 r < 0``
    (``A`` or ``M`` not SPD). Cost per iteration: one matvec and one pair of triangular solves.
    """

    rtol: float | None = eqx.field(static=True, default=None)
    atol: float = eqx.field(static=True, default=0.0)
    max_steps: int = eqx.field(static=True, default=10000)
    sweep: str = eqx.field(static=True, default="lexicographic")
    ordering: str = eqx.field(static=True, default="matlab")
    name: ClassVar[str] = "SSOR-PCG"

    def __check_init__(self):
        check_sweep(self.sweep)
        check_choice(self.ordering, "ordering", ("matlab", "textbook"))

    def solve(
        self,
        state: AbstractSplitting,
        b: Vector,
        *,
        omega: Real[ArrayLike, ""],
        x0: Vector | None = None,
        throw: bool = True,
    ) -> Solution:
        """Solve ``A x = b`` from ``x0`` (default 0, the warm start) with the SSOR preconditioner of
        parameter ``omega``; arguments as in :meth:`SOR.solve`."""
        check_omega(omega)
        self._check_state(state)
        return _solve_pcg(self, state, b, x0, jnp.asarray(omega), throw)

    def _solve(self, state, b, x0, omega, throw) -> Solution:
        dtype, b, x0, scale = self._prepare(state, b, x0)
        omega = omega.astype(dtype)
        factor = state.factor(omega)
        d = state.diagonal().astype(dtype)
        pscale = (2 - omega) / omega
        if self.ordering == "matlab":
            precondition = lambda r: pscale * state.lower(factor, d * state.upper(factor, r))
        else:
            precondition = lambda r: pscale * state.upper(factor, d * state.lower(factor, r))
        x, result, stats = _cg(
            state.mv,
            b,
            x0,
            rtol=resolve_rtol(self.rtol, dtype),
            atol=self.atol,
            max_steps=self.max_steps,
            precondition=precondition,
        )
        return self._finish(state, x, result, stats, throw, scale)


@eqx.filter_jit
def _solve_pcg(solver, state, b, x0, omega, throw):
    return solver._solve(state, b, x0, omega, throw)


@final
class CG(AbstractRelaxSolver):
    """Plain (unpreconditioned) conjugate gradients, the baseline of :class:`SSORPCG`: the same
    guarded CG, stopping rule and ``stats``. Any relax state serves (``CG().init(A)`` builds one;
    for a stencil it is the red-black splitting, whose layout is the grid itself)."""

    rtol: float | None = eqx.field(static=True, default=None)
    atol: float = eqx.field(static=True, default=0.0)
    max_steps: int = eqx.field(static=True, default=10000)
    name: ClassVar[str] = "CG"

    def _init_sweep(self, A: Any) -> str:
        return "redblack" if isinstance(A, LaplacianStencil) else "lexicographic"

    def solve(
        self,
        state: AbstractSplitting,
        b: Vector,
        *,
        x0: Vector | None = None,
        throw: bool = True,
    ) -> Solution:
        """Solve ``A x = b`` from ``x0`` (default 0); ``throw`` as in :meth:`SOR.solve`."""
        self._check_state(state)
        return _solve_cg(self, state, b, x0, throw)

    def _solve(self, state, b, x0, throw) -> Solution:
        dtype, b, x0, scale = self._prepare(state, b, x0)
        x, result, stats = _cg(
            state.mv,
            b,
            x0,
            rtol=resolve_rtol(self.rtol, dtype),
            atol=self.atol,
            max_steps=self.max_steps,
        )
        return self._finish(state, x, result, stats, throw, scale)


@eqx.filter_jit
def _solve_cg(solver, state, b, x0, throw):
    return solver._solve(state, b, x0, throw)


# ------------------------------------------------------------------------- one-line convenience
@eqx.filter_jit
def _init_and_solve(solver, A, b, x0, omega, throw):
    state = solver.init(A)
    if omega is None:
        return solver._solve(state, b, x0, throw)
    return solver._solve(state, b, x0, omega, throw)


def _run(solver: AbstractRelaxSolver, A: Any, b: Any, omega: Any, x0: Any, throw: bool) -> Solution:
    if omega is not None:
        check_omega(omega)
        omega = jnp.asarray(omega)
    check_operator(A, solver._init_sweep(A))
    return _init_and_solve(solver, A, b, x0, omega, throw)


def sor(
    A: Operator,
    b: Vector,
    omega: Real[ArrayLike, ""],
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    max_steps: int = 10000,
    x0: Vector | None = None,
    throw: bool = True,
    sweep: str = "lexicographic",
) -> Solution:
    """``SOR(rtol=..., atol=..., max_steps=..., sweep=...)``: ``init(A)`` then ``solve(state, b,
    omega=omega, x0=x0, throw=throw)``, in one compiled call (omega traced: one compilation for every
    omega). ``stats["num_steps"]`` is the number of sweeps. See :class:`SOR`."""
    solver = SOR(rtol=rtol, atol=atol, max_steps=max_steps, sweep=sweep)
    return _run(solver, A, b, omega, x0, throw)


def ssor(
    A: Operator,
    b: Vector,
    omega: Real[ArrayLike, ""],
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    max_steps: int = 10000,
    x0: Vector | None = None,
    throw: bool = True,
    sweep: str = "lexicographic",
) -> Solution:
    """Symmetric SOR in one call; see :class:`SSOR` and :func:`sor`."""
    solver = SSOR(rtol=rtol, atol=atol, max_steps=max_steps, sweep=sweep)
    return _run(solver, A, b, omega, x0, throw)


def ssor_pcg(
    A: Operator,
    b: Vector,
    omega: Real[ArrayLike, ""],
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    max_steps: int = 10000,
    x0: Vector | None = None,
    throw: bool = True,
    ordering: str = "matlab",
    sweep: str = "lexicographic",
) -> Solution:
    """SSOR-preconditioned CG in one call; ``stats["num_steps"]`` is the number of CG iterations.
    See :class:`SSORPCG`."""
    solver = SSORPCG(rtol=rtol, atol=atol, max_steps=max_steps, sweep=sweep, ordering=ordering)
    return _run(solver, A, b, omega, x0, throw)


def cg(
    A: Operator,
    b: Vector,
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    max_steps: int = 10000,
    x0: Vector | None = None,
    throw: bool = True,
) -> Solution:
    """Plain CG in one call (the baseline of :func:`ssor_pcg`); see :class:`CG`."""
    solver = CG(rtol=rtol, atol=atol, max_steps=max_steps)
    return _run(solver, A, b, None, x0, throw)


def _check_stencil(A: Any) -> None:
    if not isinstance(A, LaplacianStencil):
        raise TypeError(
            f"`A` must be a LaplacianStencil for the red-black sweep, got {type(A).__name__}."
        )


def redblack_sor(
    A: LaplacianStencil,
    b: Real[ArrayLike, "*grid"],
    omega: Real[ArrayLike, ""],
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    max_steps: int = 10000,
    x0: Real[ArrayLike, "*grid"] | None = None,
    throw: bool = True,
) -> Solution:
    """Matrix-free red-black SOR on a 5-point (2D) / 7-point (3D) stencil: ``sor(..., sweep=
    "redblack")``. Each sweep updates all red points (even index sum) at once, then all black points
    (the grid family's ``redblack_sweep``). Cost O(N) per half-sweep, fully vectorised."""
    _check_stencil(A)
    return sor(
        A, b, omega, rtol=rtol, atol=atol, max_steps=max_steps, x0=x0, throw=throw, sweep="redblack"
    )


def redblack_ssor(
    A: LaplacianStencil,
    b: Real[ArrayLike, "*grid"],
    omega: Real[ArrayLike, ""],
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    max_steps: int = 10000,
    x0: Real[ArrayLike, "*grid"] | None = None,
    throw: bool = True,
) -> Solution:
    """Red-black symmetric SOR (forward red, black; backward black, red): ``ssor(..., sweep=
    "redblack")``; see :func:`redblack_sor`."""
    _check_stencil(A)
    return ssor(
        A, b, omega, rtol=rtol, atol=atol, max_steps=max_steps, x0=x0, throw=throw, sweep="redblack"
    )
