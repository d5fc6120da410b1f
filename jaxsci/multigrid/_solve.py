"""The multigrid solver: the :class:`Multigrid` configuration, its ``init``/``solve`` protocol, the
one-line calls :func:`solve`, :func:`pcg`, :func:`fmg_solve`, the lineax solver and the V-cycle
preconditioner.

The path of a solve, in the order it runs:

1. ``Multigrid(...)`` validates the configuration once (``__check_init__``).
2. ``state = solver.init(op)`` builds the :class:`~jaxsci.multigrid.Hierarchy`
   (:mod:`jaxsci.multigrid._hierarchy`: level operators, transfers, coarsest factorisation).
3. ``solver.solve(state, f)`` runs the cycles on the residual equation with
   :func:`jaxsci._iterate.stationary` (``method="solve"``) or CG preconditioned by one cycle with
   :func:`jaxsci._iterate.cg` (``method="pcg"``), inside ``lax.custom_linear_solve`` so that
   derivatives are implicit (one more solve), and reports through :func:`jaxsci._solution.finalize`.

:func:`solve`, :func:`pcg` and :func:`fmg_solve` are these three steps in one ``eqx.filter_jit``-ed
call: a second eager call with the same shapes costs one dispatch.
"""

from __future__ import annotations

from typing import Any, final

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice, check_positive_int, check_range
from .._iterate import cg, stationary
from .._solution import RESULTS, Solution, default_rtol, finalize, history, norm, status
from ._cycle import CYCLES, SMOOTHERS, CycleConfig, check_omega, cycle, fmg
from ._hierarchy import COARSE_OPERATORS, Hierarchy, build_hierarchy, check_float_dtype
from ._lines import check_lines
from ._operator import DiffusionOperator

__all__ = ["Multigrid", "MultigridSolver", "default_multigrid_rtol", "fmg_solve", "pcg", "solve"]

COMPATIBILITY = ("check", "project")
METHODS = ("solve", "pcg")

#: What the user should change, per failure, in the message of a failed multigrid solve.
ADVICE = {
    "diverged": (
        "The multigrid cycle does not contract for this operator. Check a > 0 and c >= 0 and the "
        "smoother weight `omega` (too large a weight amplifies the high frequencies); for "
        "coefficient jumps or anisotropy use the robust setup (the defaults `coarse='auto'`, "
        "`smoother='auto'`, `cycle='auto'`; explicitly `coarse='dendy'` (2D/3D Dirichlet) or "
        "`coarse='galerkin'`, `smoother='line'`, `cycle='W'`), or wrap the cycle in CG "
        "(`mg.pcg`, `method='pcg'`)."
    ),
    "max_steps_reached": (
        "Increase `max_steps`, use CG around the cycle (`mg.pcg`, `method='pcg'`), or the robust "
        "setup for jumps/anisotropy (`coarse='dendy'` or `'galerkin'`, `smoother='line'`, "
        "`cycle='W'`)."
    ),
    "stagnation": (
        "Ask for a larger `rtol` (the default, rtol=None, fits the dtype), solve in float64, or "
        "keep float64 residuals with float32 cycles (`precision=jnp.float32`)."
    ),
    "incompatible": (
        "Subtract the mean of `f`, or pass `compatibility='project'` to solve the projected problem."
    ),
    "breakdown": (
        "The cycle is not a symmetric positive definite preconditioner: use `pre == post` and a "
        "symmetric smoother, and check a > 0, c >= 0."
    ),
    "nonfinite": "Check `f`, `x0` and the coefficients for NaN/inf, and a > 0, c >= 0.",
}


#: Constant-coefficient operators whose axes' couplings ``1 / h_d^2`` differ by more than this factor
#: take the robust setup (line relaxation) by default.
ANISOTROPY_RATIO = 4.0


def needs_robust(op: DiffusionOperator) -> bool:
    """Whether the defaults (``"auto"``) take the robust setup for ``op`` (static, from shapes only,
    so the choice is the same under ``jit``/``vmap``): a 2D/3D operator whose face coefficients vary
    across the flux direction (every :func:`diffusion` field; not :func:`poisson`), or whose grid
    spacings make it anisotropic (``max_d h_d^-2 / min_d h_d^-2 > ANISOTROPY_RATIO``)."""
    if op.ndim < 2:
        return False
    for d, w in enumerate(op.weights):
        if any(n > 1 for e, n in enumerate(jnp.shape(w)) if e != d):
            return True
    inv = [1.0 / h**2 for h in op.h]
    return max(inv) > ANISOTROPY_RATIO * min(inv)


def _default_omega(ndim: int) -> float:
    # Optimal damping of Jacobi as a smoother of the (2d+1)-point Laplacian: 2/3, 4/5, 6/7.
    return 2 * ndim / (2 * ndim + 1)


def _condition_estimate(op: DiffusionOperator) -> float:
    """``lambda_max / lambda_min`` of the unit-coefficient operator on ``op``'s grid (static)."""
    lmax = sum(4.0 / h**2 for h in op.h)
    lengths = [
        h * (n + 1) if b == "dirichlet" else h * n
        for n, h, b in zip(op.shape, op.h, op.bc, strict=True)
    ]
    dirichlet = [np.pi**2 / L**2 for L, b in zip(lengths, op.bc, strict=True) if b == "dirichlet"]
    if dirichlet:
        lmin = sum(dirichlet)
    else:  # the first non-constant mode (Neumann: half a wave, periodic: a whole one)
        lmin = min(
            (np.pi / L if b == "neumann" else 2 * np.pi / L) ** 2
            for L, b in zip(lengths, op.bc, strict=True)
        )
    return lmax / lmin


def default_multigrid_rtol(op: DiffusionOperator, dtype: Any) -> float:
    """The tolerance ``rtol=None`` means: ``max(default_rtol(dtype), eps * kappa / 4)``.

    ``kappa = (sum_d 4 / h_d^2) / lambda_min`` is the condition number of the unit-coefficient
    operator on this grid. No array of the working precision can have a relative residual much below
    ``eps kappa`` for smooth data: ``||A (u - fl(u))|| <= eps ||A|| ||u|| <= eps kappa ||f||``, and for
    ``f = 1`` the rounded exact solution reaches about ``eps kappa / 10`` (measured in float32: 4.8e-6 at
    31^2, 8.0e-5 at 127^2, 3.2e-4 at 255^2). So float32 solves on grids larger than ~32^2 default to
    that floor's neighbourhood (1.2e-5 at 31^2, 2.0e-4 at 127^2, 7.9e-4 at 255^2) instead of
    stagnating below it; float64 keeps ``1e-8`` up to ~10^4 points per axis.
    """
    _check_op(op)
    dtype = check_float_dtype(dtype, "dtype")
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return max(default_rtol(dtype), eps * _condition_estimate(op) / 4)


@final
class Multigrid(eqx.Module):
    """A multigrid solver: ``solver = Multigrid(...); state = solver.init(op); solver.solve(state, f)``.

    **Fields** (static configuration, validated once):

    - ``cycle``: ``"V"``, ``"W"``, ``"F"``, or ``"fmg"`` (a full-multigrid first step, then V-cycles).
    - ``smoother``: ``"rbgs"`` (multi-colour Gauss-Seidel, red-black for 5/7-point stencils;
      ``omega`` defaults to 1, other values give red-black SOR), ``"jacobi"`` (damped, ``omega``
      defaults to 2/3, 4/5, 6/7 in 1D/2D/3D) or ``"chebyshev"`` (degree ``pre == post``).
    - ``pre``, ``post``: smoothing sweeps before/after the coarse correction; ``omega``: the smoother
      weight in ``(0, 2)``.
    - ``levels``: the maximum number of levels (default: coarsen until at most ``coarse_max``
      unknowns, which are solved with a factorisation computed once in ``init``).
    - ``coarse``: ``"average"`` (coefficient-averaged coarse operators, cheap), ``"galerkin"``
      (``R A P`` with bi/trilinear transfers) or ``"dendy"`` (``R A P`` with Dendy's
      operator-dependent interpolation, 2D/3D Dirichlet: robust to coefficient jumps). ``"auto"``
      (with ``smoother="auto"``, ``cycle="auto"``, the defaults): ``"dendy"`` + line Gauss-Seidel +
      W-cycles (V inside ``pcg``) for every :func:`diffusion` field and anisotropic spacing, else
      ``"average"`` + red-black Gauss-Seidel + V-cycles (:func:`poisson`).
    - ``precision``: the dtype of the cycles (e.g. ``jnp.float32`` with a float64 ``f``: mixed-precision
      iterative refinement; residuals are always in ``f``'s dtype).
    - ``compatibility``: for singular operators (all-Neumann/periodic, ``c = 0``): ``"check"``
      (default) solves the projected problem and reports ``RESULTS.incompatible`` when
      ``|mean(f)| sqrt(N) / ||f||`` (``stats["incompatibility"]``) exceeds ``rtol``; ``"project"``
      subtracts the mean of ``f`` silently. Solutions of singular problems have zero mean.
    - ``method``: ``"solve"`` (cycles as a stationary iteration) or ``"pcg"`` (CG preconditioned by
      one symmetric cycle; robust where the plain cycle degrades).
    - ``rtol``, ``atol``, ``max_steps``: stop when ``||f - A u|| <= atol + rtol ||f||`` or after
      ``max_steps`` cycles (CG iterations). ``rtol=None`` is :func:`default_multigrid_rtol`.

    ``init(op)`` builds the hierarchy (reuse it across right-hand sides and time steps),
    ``solve(state, f, x0=None, throw=True)`` returns a :class:`jaxsci.Solution` whose ``state`` is
    the hierarchy again; ``preconditioner(state)`` is one cycle as a lineax operator (for
    ``lineax.CG``). All are ``eqx.filter_jit``-ed. Gradients with respect to ``f`` and the
    coefficients are implicit (``lax.custom_linear_solve``: one more solve; with ``throw=True`` a
    failed adjoint or tangent solve raises too).

    References: Briggs, Henson, McCormick, *A Multigrid Tutorial* (2000); Trottenberg, Oosterlee,
    Schueller, *Multigrid* (2001); Tatebe, "The multigrid preconditioned conjugate gradient method"
    (1993).
    """

    cycle: str = eqx.field(static=True, default="auto")
    smoother: str = eqx.field(static=True, default="auto")
    pre: int = eqx.field(static=True, default=1)
    post: int = eqx.field(static=True, default=1)
    omega: float | None = eqx.field(static=True, default=None)
    levels: int | None = eqx.field(static=True, default=None)
    coarse: str = eqx.field(static=True, default="auto")
    coarse_max: int = eqx.field(static=True, default=64)
    precision: Any = eqx.field(static=True, default=None)
    compatibility: str = eqx.field(static=True, default="check")
    method: str = eqx.field(static=True, default="solve")
    rtol: float | None = eqx.field(static=True, default=None)
    atol: float = eqx.field(static=True, default=0.0)
    max_steps: int = eqx.field(static=True, default=50)

    def __check_init__(self):
        check_choice(self.cycle, "cycle", (*CYCLES, "auto"))
        check_choice(self.smoother, "smoother", (*SMOOTHERS, "auto"))
        check_positive_int(self.pre, "pre", minimum=0)
        check_positive_int(self.post, "post", minimum=0)
        if self.pre + self.post == 0:
            raise ValueError("`pre` + `post` must be >= 1 (a cycle needs some smoothing).")
        if self.smoother == "chebyshev" and self.pre != self.post:
            raise ValueError(
                f"`pre` and `post` must be equal for Chebyshev, got {self.pre} and {self.post}."
            )
        if self.omega is not None:
            check_omega(self.omega)
        if self.levels is not None:
            check_positive_int(self.levels, "levels")
        check_choice(self.coarse, "coarse", (*COARSE_OPERATORS, "auto"))
        check_positive_int(self.coarse_max, "coarse_max")
        if self.precision is not None:
            check_float_dtype(self.precision, "precision")
        check_choice(self.compatibility, "compatibility", COMPATIBILITY)
        check_choice(self.method, "method", METHODS)
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if (v is not None or name == "atol") and (
                isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))
            ):
                raise TypeError(f"`{name}` must be a Python float, got {v!r}.")
        if self.rtol is not None:
            check_range(self.rtol, "rtol", 0.0, 1.0, closed="left")
        check_range(self.atol, "atol", 0.0, float("inf"), closed="left")
        check_positive_int(self.max_steps, "max_steps")
        if self.method == "pcg":
            if self.cycle == "fmg":
                raise ValueError(
                    "`cycle` must be 'V', 'W' or 'F' for pcg (FMG is not a fixed linear map)."
                )
            if self.smoother != "jacobi" and self.pre != self.post:
                raise ValueError(
                    "`pre` and `post` must be equal for a symmetric preconditioner (pcg), got "
                    f"{self.pre} and {self.post}."
                )

    # ------------------------------------------------------------------------------ protocol
    @eqx.filter_jit
    def init(self, op: DiffusionOperator) -> Hierarchy:
        """Build the hierarchy of ``op`` (level operators, transfers, coarsest factorisation)."""
        _check_op(op)
        _, smoother, coarse = self._resolved(op)
        if smoother == "line":
            check_lines(op)
        return build_hierarchy(
            op,
            max_levels=self.levels,
            coarse_max=self.coarse_max,
            dtype=self.precision,
            coarse=coarse,
        )

    @eqx.filter_jit
    def solve(
        self,
        state: Hierarchy,
        f: Float[ArrayLike, " *grid"],
        *,
        x0: Float[ArrayLike, " *grid"] | None = None,
        throw: bool = True,
    ) -> Solution:
        """Solve ``A u = f`` with the hierarchy ``state`` (from :meth:`init`; the hierarchy fields
        ``levels``, ``coarse``, ``coarse_max`` and ``precision`` take effect there, the others here).

        **Returns:** a :class:`jaxsci.Solution`: ``value`` (grid-shaped, ``f``'s dtype), ``result``
        and ``stats``: ``"num_steps"`` (cycles or CG iterations), ``"residual_history"`` (shape
        ``(max_steps + 1,)``, ``||f - A u_k|| / ||f||``, NaN after the last step),
        ``"convergence_factor"`` (geometric mean reduction per step), ``"residual_norm"``, for
        pcg ``"num_restarts"``, for singular operators ``"incompatibility"``; ``state`` is the
        hierarchy. With ``throw=True`` a failure raises with advice for multigrid.
        """
        f, b, x0 = self._check_rhs(state, f, x0)
        op = state.op
        rtol = self._rtol(op, f.dtype)

        def forward(matvec, rhs):
            del matvec
            u, result, stats = self._iterate(state, rhs, x0, rtol)
            sol = finalize(Solution(u, result, {}), throw, solver="multigrid", advice=ADVICE)
            return sol.value, (result, stats)

        def adjoint(vecmat, rhs):
            del vecmat
            u, result, stats = self._iterate(state, rhs, None, rtol)
            sol = Solution(u, result, {})
            sol = finalize(
                sol, throw, solver="multigrid (adjoint solve of the gradient)", advice=ADVICE
            )
            return sol.value, (result, stats)

        # The adjoint is the same solve (A is symmetric); a separate function names it in messages.
        u, (result, stats) = jax.lax.custom_linear_solve(
            op.mv, b, forward, adjoint, symmetric=False, has_aux=True
        )
        return self._finish(state, f, u, result, stats, rtol, throw)

    def preconditioner(self, state: Hierarchy) -> lx.FunctionLinearOperator:
        """One cycle from a zero guess as a lineax operator ``M ~ A^-1`` (symmetric smoothing,
        tagged symmetric positive semidefinite), e.g. for
        ``lineax.linear_solve(op, f, lineax.CG(rtol, atol), options={"preconditioner": M})``.

        The cycle with ``pre == post`` (any smoother; red-black Gauss-Seidel sweeps backwards after
        the correction) and ``R = P^T / 2^d`` is symmetric positive definite. Cost per application:
        one cycle.
        """
        if self.cycle == "fmg":
            raise ValueError("`cycle` must be 'V', 'W' or 'F' for a preconditioner.")
        if self.smoother != "jacobi" and self.pre != self.post:
            raise ValueError(
                "`pre` and `post` must be equal for a symmetric preconditioner, got "
                f"{self.pre} and {self.post}."
            )
        op = state.op
        cfg = self._config(op, symmetric=True)
        struct = jax.ShapeDtypeStruct(op.shape, op.dtype)

        def apply(r):
            rc = r.astype(state.dtype)
            z = cycle(state, 0, jnp.zeros_like(rc), rc, cfg, zero_guess=True)
            return state.project(z.astype(r.dtype))

        tags = (lx.symmetric_tag, lx.positive_semidefinite_tag)
        return lx.FunctionLinearOperator(apply, struct, tags)

    # ------------------------------------------------------------------------------- internals
    def _resolved(self, op) -> tuple[str, str, str]:
        """``(cycle, smoother, coarse)`` with every ``"auto"`` replaced: for :func:`needs_robust`
        operators operator-dependent interpolation (``"dendy"``; ``"galerkin"`` outside 2D/3D
        Dirichlet),
        line relaxation where the axes allow it (no periodic axis; no Neumann axis with Galerkin
        coarse operators), W-cycles for ``method="solve"``; else ``"average"``, ``"rbgs"``, V."""
        robust = needs_robust(op)
        dendy = robust and op.ndim in (2, 3) and all(b == "dirichlet" for b in op.bc)
        cycle, smoother, coarse = self.cycle, self.smoother, self.coarse
        if coarse == "auto":
            coarse = ("dendy" if dendy else "galerkin") if robust else "average"
        if smoother == "auto":
            lines = robust and "periodic" not in op.bc
            lines = lines and not (coarse == "galerkin" and "neumann" in op.bc)
            smoother = "line" if lines else "rbgs"
        if cycle == "auto":
            cycle = "W" if robust and self.method == "solve" else "V"
        return cycle, smoother, coarse

    def _config(self, op, *, symmetric: bool) -> CycleConfig:
        cycle, smoother, _ = self._resolved(op)
        omega = self.omega
        if omega is None:
            omega = _default_omega(op.ndim) if smoother == "jacobi" else 1.0
        return CycleConfig(cycle, smoother, self.pre, self.post, float(omega), symmetric)

    def _rtol(self, op, dtype) -> float:
        return default_multigrid_rtol(op, dtype) if self.rtol is None else float(self.rtol)

    def _check_rhs(self, state, f, x0):
        if not isinstance(state, Hierarchy):
            raise TypeError(
                f"`state` must be the Hierarchy from `Multigrid.init(op)`, got {type(state).__name__}."
            )
        op = state.op
        f = _vector(op, f, "f")
        if x0 is not None:
            x0 = _vector(op, x0, "x0").astype(f.dtype)
        return f, state.project(f), x0

    def _iterate(self, state: Hierarchy, b: Array, x0: Array | None, rtol: float):
        """The loop itself, on ``b`` (already projected for a singular operator)."""
        op = state.op
        dtype = b.dtype
        singular = state.null_mode != "none"
        project = state.project

        b = project(b)
        # The problem is linear: solve it for b / s with s a power of two near max |b| (exact), so
        # that norms, inner products and rounding floors never under- or overflow (|b| = 1e-300 or
        # 1e300); the answer and the residual norm are scaled back. With atol > 0 (absolute units)
        # b is used as given.
        s = _rhs_scale(b) if self.atol == 0 else jnp.ones((), dtype)
        b = b / s
        u0 = jnp.zeros_like(b)
        if x0 is not None:
            # Also reached by tangent solves, where x0 is no guess at all: use it only if it helps.
            x0 = x0 / s
            better = norm(b - op.mv(x0)) < norm(b)
            u0 = jnp.where(better, x0, u0)
        u, result, stats = self._loop(state, b, u0, rtol, project if singular else None)
        stats = dict(stats)
        stats["residual_norm"] = stats["residual_norm"] * s
        return u * s, result, stats

    def _loop(self, state: Hierarchy, b: Array, u0: Array, rtol: float, project):
        op = state.op
        dtype, cdtype = b.dtype, state.dtype
        if project is None:

            def project(v):
                return v

        if self.method == "pcg":
            cfg = self._config(op, symmetric=True)

            def precondition(r):
                rc = r.astype(cdtype)
                return cycle(state, 0, jnp.zeros_like(rc), rc, cfg, zero_guess=True).astype(dtype)

            return cg(
                op.mv,
                b,
                u0,
                rtol=rtol,
                atol=self.atol,
                max_steps=self.max_steps,
                precondition=precondition,
                project=project if state.null_mode != "none" else None,
            )

        cfg = self._config(op, symmetric=False)
        kind = "V" if cfg.cycle == "fmg" else cfg.cycle

        def v_cycle(r):
            return cycle(state, 0, jnp.zeros_like(r), r, cfg, kind=kind, zero_guess=True)

        def correct(u, r, k):
            r = r.astype(cdtype)
            if cfg.cycle == "fmg":
                e = jax.lax.cond(k == 0, lambda r: fmg(state, r, cfg), v_cycle, r)
            else:
                e = v_cycle(r)
            return project(u + e.astype(dtype))

        def residual(u):
            return project(b - op.mv(u))

        # |A| |u| <= 2 |diag(A)| |u| for the M-matrix stencils: the rounding floor of the residual.
        diag = 2 * jnp.abs(op.diagonal()).astype(dtype)
        eps = float(jnp.finfo(dtype).eps)

        return stationary(
            correct,
            residual,
            b,
            u0,
            rtol=rtol,
            atol=self.atol,
            max_steps=self.max_steps,
            floor=lambda u: eps * norm(diag * u),
        )

    def _finish(self, state, f, u, result, stats, rtol, throw) -> Solution:
        stats = dict(stats)
        if state.null_mode != "none":
            singular = state.singular()
            incompat = jnp.where(singular, _incompatibility(f), 0.0)
            stats["incompatibility"] = incompat
            if self.compatibility == "check":
                bad = singular & (incompat > max(rtol, 1e-12)) & (result != RESULTS.nonfinite)
                result = RESULTS.where(bad, RESULTS.incompatible, result)
        sol = Solution(u, result, stats, state)
        return finalize(sol, throw, solver="multigrid", advice=ADVICE)


def _check_op(op: Any) -> None:
    if not isinstance(op, DiffusionOperator):
        raise TypeError(
            "`op` must be a jaxsci.multigrid operator (from `poisson` or `diffusion`), got "
            f"{type(op).__name__}."
        )


def _vector(op: DiffusionOperator, x: Any, name: str) -> Array:
    """``x`` as a float32/float64 array of ``op``'s grid shape, or an error naming ``name``."""
    try:
        x = jnp.asarray(x)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be a real floating array, got {type(x).__name__}."
        ) from None
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"`{name}` must be a real floating array, got dtype {x.dtype}.")
    if x.dtype.itemsize < 4:
        raise TypeError(
            f"`{name}` must be float32 or float64 (multigrid does not compute in half precision), "
            f"got {x.dtype}; convert it with `{name}.astype(jnp.float32)`."
        )
    op.check_vector(x, name)
    return x


def _rhs_scale(b: Array) -> Array:
    """A power of two within a factor 2 of ``max |b|`` (1 when ``b`` is zero or not finite)."""
    m = jax.lax.stop_gradient(jnp.max(jnp.abs(b)))  # locally constant: linear in b for fixed s
    ok = jnp.isfinite(m) & (m > 0)
    _, e = jnp.frexp(jnp.where(ok, m, 1).astype(b.dtype))
    return jnp.where(ok, jnp.ldexp(jnp.ones((), b.dtype), e), 1).astype(b.dtype)


def _incompatibility(f: Array) -> Array:
    # ||mean(f) 1|| / ||f||: the part of f outside the range of a singular (constant null space) op.
    fn = norm(f)
    safe = jnp.where(fn > 0, fn, 1)
    return jnp.where(fn > 0, jnp.abs(jnp.mean(f)) * jnp.sqrt(f.size) / safe, 0)


# --------------------------------------------------------------------------------- one-liners
@eqx.filter_jit
def solve(
    op: DiffusionOperator,
    f: Float[ArrayLike, " *grid"],
    *,
    x0: Float[ArrayLike, " *grid"] | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
    max_steps: int = 50,
    cycle: str = "auto",
    smoother: str = "auto",
    pre: int = 1,
    post: int = 1,
    omega: float | None = None,
    levels: int | None = None,
    compatibility: str = "check",
    precision: Any = None,
    coarse_max: int = 64,
    coarse: str = "auto",
    throw: bool = True,
) -> Solution:
    """Solve ``A u = f`` by multigrid cycles until ``||f - A u|| <= atol + rtol ||f||``.

    ``Multigrid(...).solve(Multigrid(...).init(op), f)`` in one ``eqx.filter_jit``-ed call; the
    arguments are the fields of :class:`Multigrid` (``method="solve"``). ``rtol=None`` fits the
    dtype and the grid (:func:`default_multigrid_rtol`: 1e-8 in float64). To reuse the hierarchy
    across right-hand sides or time steps, call ``init`` once and ``solve`` many times, or pass
    ``solution.state`` on.

    **Returns:** :class:`jaxsci.Solution` (see :meth:`Multigrid.solve` for ``stats``). Stops early
    with ``RESULTS.stagnation`` after three cycles without progress at the rounding floor of ``f``'s
    dtype. Jit/vmap-able over ``f`` and the operator's coefficients; gradients are implicit. Cost per
    V(1,1)-cycle ~ 8 stencil passes (RB-GS) x 4/3 in 2D.
    """
    solver = Multigrid(
        cycle=cycle,
        smoother=smoother,
        pre=pre,
        post=post,
        omega=omega,
        levels=levels,
        coarse=coarse,
        coarse_max=coarse_max,
        precision=precision,
        compatibility=compatibility,
        method="solve",
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
    )
    return solver.solve(solver.init(op), f, x0=x0, throw=throw)


@eqx.filter_jit
def pcg(
    op: DiffusionOperator,
    f: Float[ArrayLike, " *grid"],
    *,
    x0: Float[ArrayLike, " *grid"] | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
    max_steps: int = 100,
    cycle: str = "auto",
    smoother: str = "auto",
    pre: int = 1,
    post: int = 1,
    omega: float | None = None,
    levels: int | None = None,
    compatibility: str = "check",
    precision: Any = None,
    coarse_max: int = 64,
    coarse: str = "auto",
    throw: bool = True,
) -> Solution:
    """Conjugate gradients preconditioned by one multigrid cycle (from a zero guess) per iteration.

    :class:`Multigrid` with ``method="pcg"`` in one call, through the one guarded CG
    (:func:`jaxsci._iterate.cg`: breakdown detection, a true-residual check before success). The
    V/W/F cycle with symmetric smoothing (``pre == post``; RB-GS forward before, backward after) and
    ``R = P^T / 2^d`` is symmetric positive definite. Robust where the plain cycle degrades
    (coefficient jumps). ``stats`` as in :meth:`Multigrid.solve`, plus ``"num_restarts"``.
    """
    solver = Multigrid(
        cycle=cycle,
        smoother=smoother,
        pre=pre,
        post=post,
        omega=omega,
        levels=levels,
        coarse=coarse,
        coarse_max=coarse_max,
        precision=precision,
        compatibility=compatibility,
        method="pcg",
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
    )
    return solver.solve(solver.init(op), f, x0=x0, throw=throw)


@eqx.filter_jit
def fmg_solve(
    op: DiffusionOperator,
    f: Float[ArrayLike, " *grid"],
    *,
    cycle: str = "V",
    smoother: str = "rbgs",
    pre: int = 1,
    post: int = 1,
    cycles_per_level: int = 1,
    omega: float | None = None,
    levels: int | None = None,
    coarse_max: int = 64,
    coarse: str = "average",
    compatibility: str = "check",
    throw: bool = True,
) -> Solution:
    """One full-multigrid pass (nested iteration): restrict ``f`` to all levels, solve the coarsest
    exactly, then interpolate and run ``cycles_per_level`` cycles on each finer level.

    For the 5-point Laplacian one FMG-V(1,1) pass leaves an algebraic error below the discretisation
    error (Brandt 1977; Briggs et al. ch. 3) at a cost of ~4/3 V-cycles in 2D. No tolerance is
    targeted: the :class:`jaxsci.Solution` is ``successful`` unless the pass produced a non-finite
    value, ended with a residual above the initial one (``diverged``) or ``f`` is incompatible with
    a singular operator. ``stats``: ``"num_steps"`` (1), ``"residual_history"`` (``[1, ||f - A u|| /
    ||f||]``), ``"convergence_factor"``, ``"residual_norm"`` (and ``"incompatibility"``). Linear in
    ``f``; jit/vmap/grad-able by plain autodiff.
    """
    check_positive_int(cycles_per_level, "cycles_per_level")
    _check_op(op)
    solver = Multigrid(
        cycle="V" if cycle == "fmg" else cycle,
        smoother=smoother,
        pre=pre,
        post=post,
        omega=omega,
        levels=levels,
        coarse=coarse,
        coarse_max=coarse_max,
        compatibility=compatibility,
        max_steps=1,
    )
    state = solver.init(op)
    f, b, _ = solver._check_rhs(state, f, None)
    cfg = solver._config(op, symmetric=False)
    s = _rhs_scale(b)  # as in Multigrid._iterate: no under/overflow at |f| = 1e-300 or 1e300
    b = b / s
    u = fmg(state, b.astype(state.dtype), cfg, cycles_per_level=cycles_per_level).astype(f.dtype)
    u = state.project(u)
    r = state.project(b - op.mv(u))
    b_norm, rn = norm(b), norm(r)
    u = u * s
    scale = jnp.where(b_norm > 0, b_norm, 1)
    grew = rn > b_norm
    finite = jnp.isfinite(rn) & jnp.all(jnp.isfinite(u))
    result = status(converged=~grew, finite=finite, diverged=grew)
    hist = history(1, jnp.where(b_norm > 0, 1.0, 0.0), f.dtype).at[1].set(rn / scale)
    stats = {
        "num_steps": jnp.asarray(1, jnp.int32),
        "residual_history": hist,
        "convergence_factor": hist[1] / jnp.where(hist[0] > 0, hist[0], 1),
        "residual_norm": rn * s,
    }
    rtol = solver._rtol(op, f.dtype)
    return solver._finish(state, f, u, result, stats, rtol, throw)


# ------------------------------------------------------------------------------------ lineax
_TO_LINEAX = (
    (RESULTS.max_steps_reached, lx.RESULTS.max_steps_reached),
    (RESULTS.stagnation, lx.RESULTS.stagnation),
    (RESULTS.breakdown, lx.RESULTS.breakdown),
    (RESULTS.diverged, lx.RESULTS.breakdown),
    (RESULTS.incompatible, lx.RESULTS.singular),
    (RESULTS.nonfinite, lx.RESULTS.nonfinite_input),
)


@final
class MultigridSolver(lx.AbstractLinearSolver):
    """Multigrid as a lineax solver: ``lineax.linear_solve(op, f, solver=MultigridSolver())``.

    ``op`` is the multigrid operator itself (from :func:`poisson` / :func:`diffusion`; it is a
    lineax operator). ``multigrid`` is the :class:`Multigrid` configuration; lineax provides the
    derivatives of the solve (its own adjoint solves call this solver again).

    ``throw=True`` (default): a failed solve raises jaxsci's own message, with multigrid advice
    (``max_steps``, ``coarse="galerkin"``, ``method="pcg"``, ``omega``), from inside the solve, so
    lineax never replaces it with its generic advice (GMRES restarts, ...). ``throw=False``: the
    status is mapped to the closest lineax member (``max_steps_reached``; ``stagnation``;
    ``breakdown`` for ``breakdown`` and ``diverged``; ``singular`` for ``incompatible``;
    ``nonfinite_input`` for ``nonfinite``) and lineax decides (pass ``throw=False`` to
    ``lineax.linear_solve`` as well to read ``solution.result``); ``stats`` are the multigrid ones.
    """

    multigrid: Multigrid = Multigrid()
    throw: bool = eqx.field(static=True, default=True)

    def init(self, operator, options):
        del options
        if not isinstance(operator, DiffusionOperator):
            raise ValueError(
                "`operator` must be a jaxsci.multigrid operator (from `poisson` or `diffusion`), "
                f"got {type(operator).__name__}."
            )
        return self.multigrid.init(operator)

    def compute(self, state, vector, options):
        del options
        solver = self.multigrid
        f, b, _ = solver._check_rhs(state, vector, None)
        rtol = solver._rtol(state.op, f.dtype)
        u, result, stats = solver._iterate(state, b, None, rtol)
        sol = solver._finish(state, f, u, result, stats, rtol, self.throw)
        theirs = lx.RESULTS.where(
            sol.result == RESULTS.successful, lx.RESULTS.successful, lx.RESULTS.max_steps_reached
        )
        for ours, lineax_result in _TO_LINEAX:
            theirs = lx.RESULTS.where(sol.result == ours, lineax_result, theirs)
        return sol.value, theirs, sol.stats

    def transpose(self, state, options):
        return state, options

    def conj(self, state, options):
        return state, options

    def assume_full_rank(self):
        return True
