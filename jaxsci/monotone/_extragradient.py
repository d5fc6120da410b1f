"""Extragradient-type baselines of Cai, Alacaoglu & Diakonikolas (ICLR 2024): extragradient (EG),
the extra-anchored gradient (EAG, Yoon & Ryu 2021) and loopless-SVRG extragradient (VR-EG, Alacaoglu &
Malitsky 2022). The protocol, the stopping rules and ``stats`` are in :mod:`._driver`.

``step_size="adaptive"`` (:class:`Extragradient`, :class:`AnchoredExtragradient`) needs no L:
η_{k+1} = ``step_scale``/L̂_{k+1}, L̂_{k+1} = max(L̂_k, ‖F(u½_k) − F(u_k)‖/‖u½_k − u_k‖) (free: both
evaluations exist), L̂_0 from a probe charged 2 epochs (skipped when the state carries an estimate).
The step is nonincreasing and, since every ratio is <= L, stays >= ``step_scale``/L (the usual
self-adaptive EG step rule; with ``step_scale`` < 1 it eventually satisfies η·(local ratio) < 1).
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import ArrayLike, Float, PRNGKeyArray

from .._checks import check_positive_int
from .._solution import Solution
from ._driver import (
    POSITIVE,
    UNIT_OPEN,
    UNIT_RIGHT,
    AbstractMonotoneSolver,
    ScalarLike,
    batch_size_for,
    ratio,
)
from ._problems import AbstractFiniteSumProblem
from ._sampling import fisher_yates_apply, fisher_yates_targets, rare_update

__all__ = [
    "AnchoredExtragradient",
    "Extragradient",
    "VRExtragradient",
    "anchored_extragradient",
    "extragradient",
    "vr_extragradient",
]


def _eg_step(solver, problem, params, s, anchored):
    s = dict(s)
    u, k, eta = s["z"], s["k"], s["eta"]
    if anchored:
        lam = 1.0 / (k + 2.0)
        base = lam * s["anchor"] + (1.0 - lam) * u
    else:
        base = u
    fu = problem.operator(u)
    half, warm = problem.project_warm(base - eta * fu, s["warm"])
    fhalf = problem.operator(half)
    s["z"], s["warm"] = problem.project_warm(base - eta * fhalf, warm)
    if (
        solver._is_adaptive
    ):  # both evaluations exist already: the ratio is free; η applies from k + 1
        s["lhat"] = jnp.maximum(s["lhat"], ratio(fhalf - fu, half - u))
        s["eta"] = params["step_scale"] / s["lhat"]
    s["units"] = s["units"] + 2 * problem.num_components
    s["k"], s["iterations"] = k + 1, s["iterations"] + 1
    return s


_EG_RANGES = {"step_size": POSITIVE, "tol": POSITIVE, "step_scale": POSITIVE}


class Extragradient(AbstractMonotoneSolver):
    """Extragradient (Korpelevich): u½ = Π(u − ηF(u)), u⁺ = Π(u − ηF(u½)). Converges for monotone,
    L-Lipschitz F with η < 1/L (the paper's tuned η = 5/‖A‖₂ on the game is outside this). Cost: 2
    epochs per iteration; the residual is logged at u (the authors' script logs it at u½).

    **Fields:** ``step_size`` (η > 0 or ``"adaptive"``), ``max_epochs``, ``tol`` (``None`` runs the
    budget), ``step_scale``, ``num_logs``/``log_every``.
    """

    step_size: ScalarLike | str
    max_epochs: int | float = eqx.field(static=True)
    tol: ScalarLike | None = None
    step_scale: ScalarLike = 0.9
    num_logs: int = eqx.field(static=True, default=201)
    log_every: int | float | None = eqx.field(static=True, default=None)

    _name: ClassVar[str] = "extragradient"
    _stochastic: ClassVar[bool] = False
    _adaptive: ClassVar[bool] = True
    _ranges: ClassVar[dict] = _EG_RANGES

    def _start(self, problem, z0, params, state, key):
        return self._init_step_size(problem, z0, params, state, self._base_state(problem, z0, key))

    def _step(self, problem, params, s):
        return _eg_step(self, problem, params, s, anchored=False)


class AnchoredExtragradient(AbstractMonotoneSolver):
    """Extra-anchored gradient EAG (Yoon & Ryu 2021), as in the authors' code, λ_k = 1/(k + 2):

        u½ = Π(λ_k u0 + (1 − λ_k)u − ηF(u)),  u⁺ = Π(λ_k u0 + (1 − λ_k)u − ηF(u½)).

    O(1/k) on ‖F‖ for monotone L-Lipschitz F with η <= 1/(8L) (Yoon & Ryu; larger in practice).
    Cost: 2 epochs per iteration. ``step_size="adaptive"``: the L-free rule of :class:`Extragradient`
    (no theory for the anchored method with it).

    **Fields:** as :class:`Extragradient`, plus ``restart_factor``.
    """

    step_size: ScalarLike | str
    max_epochs: int | float = eqx.field(static=True)
    tol: ScalarLike | None = None
    step_scale: ScalarLike = 0.9
    restart_factor: ScalarLike | None = None
    num_logs: int = eqx.field(static=True, default=201)
    log_every: int | float | None = eqx.field(static=True, default=None)

    _name: ClassVar[str] = "anchored_extragradient"
    _stochastic: ClassVar[bool] = False
    _adaptive: ClassVar[bool] = True
    _ranges: ClassVar[dict] = {**_EG_RANGES, "restart_factor": UNIT_OPEN}

    def _start(self, problem, z0, params, state, key):
        return self._init_step_size(problem, z0, params, state, self._base_state(problem, z0, key))

    def _step(self, problem, params, s):
        return _eg_step(self, problem, params, s, anchored=True)


class VRExtragradient(AbstractMonotoneSolver):
    """Loopless-SVRG extragradient (Alacaoglu & Malitsky 2022), p = 1/n by default, γ = ``step_size``:

        ū = (1 − p)u + p w;  u½ = Π(ū − γF(w));  u⁺ = Π(ū − γ[F(w) + F_S(u½) − F_S(w)]);  w ← u⁺ w.p. p.

    F_S is the mean of a batch S of ``batch_size`` components (1 in the paper). Cost: n units for
    F(w0), 2b per step, n per snapshot refresh. Converges for monotone F with L̄-Lipschitz-on-average
    components and γ <= √p(1−δ)/L̄ (the paper uses γ = 3√p/‖A‖_F). Residual logged at u (the code
    logs at refreshes at w).

    **Fields:** ``step_size`` (γ > 0), ``max_epochs``, ``tol``, ``batch_size``,
    ``snapshot_probability`` (p in (0, 1], default 1/n), ``num_logs``/``log_every``. Needs a ``key``.
    """

    step_size: ScalarLike | str  # str only to name it in the error: no adaptive rule here
    max_epochs: int | float = eqx.field(static=True)
    tol: ScalarLike | None = None
    batch_size: int = eqx.field(static=True, default=1)
    snapshot_probability: ScalarLike | None = None
    num_logs: int = eqx.field(static=True, default=201)
    log_every: int | float | None = eqx.field(static=True, default=None)

    _name: ClassVar[str] = "vr_extragradient"
    _stochastic: ClassVar[bool] = True
    _adaptive: ClassVar[bool] = False
    _ranges: ClassVar[dict] = {
        "step_size": POSITIVE,
        "tol": POSITIVE,
        "snapshot_probability": UNIT_RIGHT,
    }

    def __check_init__(self):
        check_positive_int(self.batch_size, "batch_size")

    def _check_problem(self, problem):
        batch_size_for(problem, self.batch_size, lambda n: 1)

    def _start(self, problem, z0, params, state, key):
        s = self._base_state(problem, z0, key)
        s["eta"] = params["step_size"]
        s["w"], s["fw"] = z0, problem.operator(z0)
        s["units"] = s["units"] + problem.num_components
        s["perm"] = jnp.arange(problem.num_components)
        return s

    _block_draws: ClassVar[bool] = True

    def _draw(self, problem, k_idx, k_toss, dtype):
        # the stream of the per-step `key, k_idx, k_toss = split(key, 3)`, drawn a block at a time
        targets = fisher_yates_targets(k_idx, problem.num_components, self.batch_size)
        return targets, jax.random.uniform(k_toss, dtype=dtype)

    def _step(self, problem, params, s, draws):
        s = dict(s)
        n, b = problem.num_components, self.batch_size
        u, w, fw, gam = s["z"], s["w"], s["fw"], s["eta"]
        p = self.snapshot_probability
        p = jnp.asarray(1.0 / n if p is None else p, u.dtype)
        targets, toss = draws
        ubar = (1.0 - p) * u + p * w
        half, warm = problem.project_warm(ubar - gam * fw, s["warm"])
        s["perm"], idx = fisher_yates_apply(s["perm"], targets)
        u_new, s["warm"] = problem.project_warm(
            ubar - gam * (fw + problem.batch_difference(half, w, idx)), warm
        )
        refresh = toss.astype(u.dtype) < p
        # under vmap (many seeds at once) the full evaluation runs only when some member refreshes
        s["w"], s["fw"] = rare_update(
            refresh, lambda pr, v: (v, pr.operator(v)), (w, fw), (problem, u_new)
        )
        s["units"] = s["units"] + 2 * b + jnp.where(refresh, n, 0)
        s["z"] = u_new
        s["k"], s["iterations"] = s["k"] + 1, s["iterations"] + 1
        return s


# ----------------------------------------------------------------------------------------------------
# One-line calls: build the configuration (checked), then init + solve in one jitted call.


def extragradient(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: ScalarLike | str,
    max_epochs: int | float,
    tol: ScalarLike | None = None,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    step_scale: ScalarLike = 0.9,
    num_logs: int = 201,
    log_every: int | float | None = None,
) -> Solution:
    """:class:`Extragradient` ``(step_size=..., ...)(problem, z0, throw=throw)``; ``key`` unused."""
    solver = Extragradient(
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        step_scale=step_scale,
        num_logs=num_logs,
        log_every=log_every,
    )
    return solver(problem, z0, key=key, throw=throw)


def anchored_extragradient(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: ScalarLike | str,
    max_epochs: int | float,
    tol: ScalarLike | None = None,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    step_scale: ScalarLike = 0.9,
    restart_factor: ScalarLike | None = None,
    num_logs: int = 201,
    log_every: int | float | None = None,
) -> Solution:
    """:class:`AnchoredExtragradient` ``(step_size=..., ...)(problem, z0, throw=throw)``; ``key``
    unused."""
    solver = AnchoredExtragradient(
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        step_scale=step_scale,
        restart_factor=restart_factor,
        num_logs=num_logs,
        log_every=log_every,
    )
    return solver(problem, z0, key=key, throw=throw)


def vr_extragradient(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: ScalarLike | str,
    max_epochs: int | float,
    tol: ScalarLike | None = None,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    batch_size: int = 1,
    snapshot_probability: ScalarLike | None = None,
    num_logs: int = 201,
    log_every: int | float | None = None,
) -> Solution:
    """:class:`VRExtragradient` ``(step_size=..., ...)(problem, z0, key=key, throw=throw)``."""
    solver = VRExtragradient(
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        batch_size=batch_size,
        snapshot_probability=snapshot_probability,
        num_logs=num_logs,
        log_every=log_every,
    )
    return solver(problem, z0, key=key, throw=throw)
