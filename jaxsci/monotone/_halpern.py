"""Halpern-type solvers (Cai, Alacaoglu & Diakonikolas, "Variance Reduced Halpern Iteration for
Finite-Sum Monotone Inclusions", ICLR 2024): the deterministic Halpern iteration, Algorithm 1 (PAGE
Halpern, :class:`VRHalpern`) and Algorithm 2 (inexact Halpern with a VR-FoRB resolvent,
:class:`InexactVRHalpern`). The protocol, the stopping rules and ``stats`` are in :mod:`._driver`.

Beyond the paper: ``restart_factor=ρ`` resets the anchor to the current iterate and the counter k to
0 whenever the residual at a log point has fallen below ρ × (residual at the current anchor), e.g.
ρ = 0.5 restarts each time the residual halves; ``step_size="adaptive"`` (:class:`Halpern`,
:class:`VRHalpern`) uses η_k = ``step_scale``/L̂_k with L̂_k a running maximum of observed local
Lipschitz ratios ‖ΔF‖/‖Δz‖ (started from a probe that costs 2 full evaluations, charged; a state from
an earlier solve skips it). For the Halpern-type methods there is no convergence theory for this
rule: it is an engineering default, compared against the tuned steps in ``python -m benchmarks
monotone``.
"""

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import ArrayLike, Float, PRNGKeyArray

from .._checks import check_choice, check_positive_int, error_if_not
from .._solution import Solution
from ._driver import (
    DRAW_BLOCK,
    POSITIVE,
    UNIT_OPEN,
    UNIT_RIGHT,
    AbstractMonotoneSolver,
    ScalarLike,
    batch_size_for,
    ratio,
)
from ._problems import AbstractFiniteSumProblem
from ._sampling import (
    block_loop,
    empty_draws,
    fisher_yates_apply,
    fisher_yates_targets,
)

__all__ = [
    "Halpern",
    "InexactVRHalpern",
    "VRHalpern",
    "halpern",
    "inexact_vr_halpern",
    "vr_halpern",
]


class Halpern(AbstractMonotoneSolver):
    """Deterministic Halpern iteration with the forward-backward operator T = Π(· − ηF):

        u_{k+1} = λ_k u_0 + (1 − λ_k) Π(u_k − η F(u_k)),   λ_k = 1/(k + 2).

    For a 1/L-cocoercive F and η <= 2/L, T is nonexpansive and (Lieder 2021)
    ‖u_k − T u_k‖ <= 2‖u_0 − u*‖/(k+1); unconstrained with η = 1/L this is
    ‖F(u_k)‖ <= 2L‖u_0 − u*‖/(k + 1). Cost: n oracle units (one epoch) per iteration.

    **Fields:** ``step_size`` (η > 0, or ``"adaptive"``: η_k = ``step_scale``/L̂_k), ``max_epochs``
    (the budget in oracle epochs), ``tol`` (on the natural residual; ``None`` runs the budget),
    ``step_scale``, ``restart_factor`` (in (0, 1) or ``None``), ``num_logs``/``log_every`` (the log
    points; ``log_every`` in epochs wins when given).
    """

    step_size: ScalarLike | str
    max_epochs: int | float = eqx.field(static=True)
    tol: ScalarLike | None = None
    step_scale: ScalarLike = 1.0
    restart_factor: ScalarLike | None = None
    num_logs: int = eqx.field(static=True, default=201)
    log_every: int | float | None = eqx.field(static=True, default=None)

    _name: ClassVar[str] = "halpern"
    _stochastic: ClassVar[bool] = False
    _adaptive: ClassVar[bool] = True
    _ranges: ClassVar[dict] = {
        "step_size": POSITIVE,
        "tol": POSITIVE,
        "step_scale": POSITIVE,
        "restart_factor": UNIT_OPEN,
    }

    def _start(self, problem, z0, params, state, key):
        s = self._init_step_size(problem, z0, params, state, self._base_state(problem, z0, key))
        if self._is_adaptive:  # the first ratio is 0/0 := 0, so f_prev is never read before set
            s["z_prev"], s["f_prev"] = z0, jnp.zeros_like(z0)
        return s

    def _step(self, problem, params, s):
        s = dict(s)
        u, k = s["z"], s["k"]
        fu = problem.operator(u)
        if self._is_adaptive:
            s["lhat"] = jnp.maximum(s["lhat"], ratio(fu - s["f_prev"], u - s["z_prev"]))
            s["eta"] = params["step_scale"] / s["lhat"]
            s["z_prev"], s["f_prev"] = u, fu
        lam = 1.0 / (k + 2.0)
        t, s["warm"] = problem.project_warm(u - s["eta"] * fu, s["warm"])
        s["z"] = lam * s["anchor"] + (1.0 - lam) * t
        s["units"] = s["units"] + problem.num_components
        s["k"], s["iterations"] = k + 1, s["iterations"] + 1
        return s


class VRHalpern(AbstractMonotoneSolver):
    """Algorithm 1 of Cai et al.: Halpern iteration with the PAGE estimator (cocoercive setting).

        λ_k = 2/(k + 4);  full = [k <= 1] or Bernoulli(p_k),  p_k = 4/(k + 4) if k − 1 <= √n else 4/(√n + 5)
        g_k = F(u_k) if full else g_{k−1} + (1/b) Σ_{i∈S} [F_i(u_k) − F_i(u_{k−1})],  S: b distinct indices
        u_{k+1} = Π(λ_k u_0 + (1 − λ_k) u_k − η g_k)           (η is not scaled by 1 − λ_k, as in the code)

    b = ``batch_size``, ⌊√n⌋ by default. Cost: n units for a full step, 2b for a PAGE step (expected
    O(√n) per step after k ≈ √n). The guarantee (Õ(n + √n L/ε)) assumes cocoercive-on-average
    components; the paper's two test problems (a bilinear game and the Ouyang–Xu quadratic) are only
    monotone, so there it is a heuristic (on the game it still converges, faster in epochs than
    EG/EAG; on the quadratic it oscillates early on: see ``python -m benchmarks monotone`` and the
    notebook). Sampling without replacement is a partial Fisher–Yates shuffle of a carried
    permutation (:mod:`._sampling`). The released QP script uses λ_k = 2/(k + 5) and p_k = 4/(k + 6);
    we use the game script's (and the paper's) schedule on both.

    **Fields:** as :class:`Halpern`, plus ``batch_size``. Needs a ``key``.
    """

    step_size: ScalarLike | str
    max_epochs: int | float = eqx.field(static=True)
    tol: ScalarLike | None = None
    batch_size: int | None = eqx.field(static=True, default=None)
    step_scale: ScalarLike = 1.0
    restart_factor: ScalarLike | None = None
    num_logs: int = eqx.field(static=True, default=201)
    log_every: int | float | None = eqx.field(static=True, default=None)

    _name: ClassVar[str] = "vr_halpern"
    _stochastic: ClassVar[bool] = True
    _adaptive: ClassVar[bool] = True
    _ranges: ClassVar[dict] = Halpern._ranges

    def __check_init__(self):
        if self.batch_size is not None:
            check_positive_int(self.batch_size, "batch_size")

    def _check_problem(self, problem):
        batch_size_for(problem, self.batch_size, lambda n: 1)

    def _start(self, problem, z0, params, state, key):
        s = self._base_state(problem, z0, key)
        s["u_prev"], s["g"] = z0, jnp.zeros_like(z0)
        s["perm"] = jnp.arange(problem.num_components)
        return self._init_step_size(problem, z0, params, state, s)

    _block_draws: ClassVar[bool] = True

    def _batch(self, problem):
        return batch_size_for(problem, self.batch_size, lambda n: max(1, math.isqrt(n)))

    def _draw(self, problem, k_toss, k_idx, dtype):
        # the stream of the per-step `key, k_toss, k_idx = split(key, 3)`, drawn a block at a time
        toss = jax.random.uniform(k_toss, dtype=dtype)
        return toss, fisher_yates_targets(k_idx, problem.num_components, self._batch(problem))

    def _step(self, problem, params, s, draws):
        s = dict(s)
        n = problem.num_components
        u, k = s["z"], s["k"]
        dtype = u.dtype
        toss, targets = draws
        kf = k.astype(dtype)
        lam = 2.0 / (kf + 4.0)
        sqrt_n = math.sqrt(n)
        p = jnp.where(kf - 1.0 <= sqrt_n, 4.0 / (kf + 4.0), 4.0 / (sqrt_n + 5.0))
        full = (k <= 1) | (toss.astype(dtype) < p)

        # the PAGE correction is cheap: computed always and kept where the step is not full
        perm, idx = fisher_yates_apply(s["perm"], targets)
        d = problem.batch_difference(u, s["u_prev"], idx)
        g_batch, local_batch = s["g"] + d, ratio(d, u - s["u_prev"])
        # (not rare_update: under vmap with the sort-based simplex projection it gave wrong projections
        # downstream, issue 17; under vmap this evaluates F for every member at every step)
        g = lax.cond(full, lambda: problem.operator(u), lambda: g_batch)
        s["perm"] = jnp.where(full, s["perm"], perm)
        local = jnp.where(full, jnp.zeros((), dtype), local_batch)
        if self._is_adaptive:
            s["lhat"] = jnp.maximum(s["lhat"], local)
            s["eta"] = params["step_scale"] / s["lhat"]
        s["g"], s["u_prev"] = g, u
        s["z"], s["warm"] = problem.project_warm(
            lam * s["anchor"] + (1.0 - lam) * u - s["eta"] * g, s["warm"]
        )
        s["units"] = s["units"] + jnp.where(full, n, 2 * self._batch(problem))
        s["k"], s["iterations"] = k + 1, s["iterations"] + 1
        return s


class InexactVRHalpern(AbstractMonotoneSolver):
    """Algorithm 2 of Cai et al.: inexact Halpern iteration whose resolvent is computed by VR-FoRB
    (monotone, Lipschitz-on-average setting).

        λ_k = 1/(k + 2),  M_k = max(1, ⌊c·n·log(k + 2)⌋)  (c = ``inner_steps_c``; the paper's
        M_k = int(25 log(k+2)) at n = 500 and int(10 log(k+2)) at n = 200 are both c = 0.05)
        ũ_k ≈ J_{η(F+G)}(u_k): M_k steps of VR-FoRB on Φ(v) = ηF(v) + v − u_k (1-strongly monotone) + G:
            v̄ = (1 − p)v + p w;  v⁺ = Π(v̄ − γ[Φ(w) + Φ_i(v) − Φ_i(w⁻)]);  w⁻ ← w;  w.p. p refresh w
        u_{k+1} = λ_k u_0 + (1 − λ_k) ũ_k

    η = ``step_size`` (the code's c: √n/‖A‖_F on the game, √n on the quadratic), γ =
    ``inner_step_size`` (default √(p(1−p))/(η L̄ + 1) with L̄ = ``problem.average_lipschitz``,
    resolved by ``init``; an unknown L̄ (NaN) raises at run time; the paper uses 5× this on the game
    and 0.001 on the quadratic), p = ``snapshot_probability``, 1/n by default.
    ``snapshot="code"`` (the released code): a refresh sets w ← u_k, so w ≡ u_k and Φ(w) = ηF(u_k)
    never change (refreshes are still charged n units, as in the code; they cost no wall time here);
    ``snapshot="theory"``: w ← v⁺ (Alacaoglu–Malitsky's VR-FoRB), which recomputes Φ(w).
    Cost per outer iteration: n (Φ(w) at the start; the QP script's count, the game script does not
    charge it) + 2 per inner step + n per refresh. ``stats["num_steps"]`` counts outer iterations.
    The inner estimate is Φ(w) + ηn[F_i(v) − F_i(w⁻)] + (v − w⁻) on every block. (The released game
    script has the sign of the identity term flipped on the y-block, −(v_y − w⁻_y); we do not
    reproduce that.) Needs a ``key``.
    """

    step_size: ScalarLike | str  # str only to name it in the error: no adaptive rule here
    max_epochs: int | float = eqx.field(static=True)
    tol: ScalarLike | None = None
    inner_step_size: ScalarLike | None = None
    inner_steps_c: ScalarLike = 0.05
    snapshot: str = eqx.field(static=True, default="code")
    snapshot_probability: ScalarLike | None = None
    restart_factor: ScalarLike | None = None
    num_logs: int = eqx.field(static=True, default=201)
    log_every: int | float | None = eqx.field(static=True, default=None)

    _name: ClassVar[str] = "inexact_vr_halpern"
    _stochastic: ClassVar[bool] = True
    _adaptive: ClassVar[bool] = False
    _ranges: ClassVar[dict] = {
        "step_size": POSITIVE,
        "tol": POSITIVE,
        "inner_step_size": POSITIVE,
        "inner_steps_c": POSITIVE,
        "snapshot_probability": UNIT_RIGHT,
        "restart_factor": UNIT_OPEN,
    }

    def __check_init__(self):
        check_choice(self.snapshot, "snapshot", ("code", "theory"))

    def _probability(self, problem, dtype):
        p = self.snapshot_probability
        return jnp.asarray(1.0 / problem.num_components if p is None else p, dtype)

    def _inner_step_size(self, problem):
        if self.inner_step_size is not None:
            return None
        dtype = jnp.result_type(problem.dtype, jnp.float32)
        p = self._probability(problem, dtype)
        lbar = jnp.asarray(problem.average_lipschitz, dtype)
        # checked in the solve (`_check_inner_step_size`), where NaN data reports `nonfinite_input`
        return jnp.sqrt(p * (1 - p)) / (jnp.asarray(self.step_size, dtype) * lbar + 1.0)

    def _check_inner_step_size(self, gamma, skip):
        if self.inner_step_size is not None:
            return gamma
        return error_if_not(
            gamma,
            (jnp.isfinite(gamma) & (gamma > 0)) | skip,
            "`inner_step_size` must be given: its default √(p(1 − p))/(η L̄ + 1) is not a positive "
            "number (the problem's `average_lipschitz` L̄ is unknown or non-finite, or "
            "`snapshot_probability` p = 1).",
        )

    def _start(self, problem, z0, params, state, key):
        s = self._base_state(problem, z0, key)
        s["eta"] = params["step_size"]
        s["draws"], s["pos"] = empty_draws(key, self._draw_fn(problem, z0.dtype), DRAW_BLOCK)
        return s

    def _draw(self, problem, k_idx, k_toss, dtype):
        return jax.random.randint(k_idx, (1,), 0, problem.num_components), jax.random.uniform(
            k_toss, dtype=dtype
        )

    def _step(self, problem, params, s, draws=None):
        """One outer iteration: ũ ≈ J_{η(F+G)}(u) by M_k steps of VR-FoRB, then u⁺ = λ u0 + (1 − λ) ũ."""
        s = dict(s)
        n = problem.num_components
        u, k, eta = s["z"], s["k"], s["eta"]
        dtype = u.dtype
        p, gam = self._probability(problem, dtype), params["inner_step_size"]
        kf = k.astype(dtype)
        steps = jnp.maximum(jnp.floor(params["inner_steps_c"] * n * jnp.log(kf + 2.0)), 1.0)
        steps = steps.astype(k.dtype)
        theory = self.snapshot == "theory"
        # Φ(v) = ηF(v) + v − u; at the start w = u so Φ(w) = ηF(u). Charged n units (the QP script's count).
        inner = {
            "j": jnp.zeros_like(k),
            "v": u,
            "w": u,
            "w_prev": u,
            "phi_w": eta * problem.operator(u),
            "units": s["units"] + n,
            "key": s["key"],
            "draws": s["draws"],
            "pos": s["pos"],
            "warm": s["warm"],
        }

        def body(c, draws):
            c = dict(c)
            idx, toss = draws
            v, w, w_prev = c["v"], c["w"], c["w_prev"]
            vbar = (1.0 - p) * v + p * w
            est = c["phi_w"] + eta * problem.batch_difference(v, w_prev, idx) + (v - w_prev)
            v_new, c["warm"] = problem.project_warm(vbar - gam * est, c["warm"])
            refresh = toss.astype(dtype) < p
            c["w_prev"] = w
            if (
                theory
            ):  # Alacaoglu–Malitsky VR-FoRB: the snapshot moves to the current inner iterate
                c["w"], c["phi_w"] = lax.cond(
                    refresh,
                    lambda: (v_new, eta * problem.operator(v_new) + v_new - u),
                    lambda: (w, c["phi_w"]),
                )
            # released code: w <- u at a refresh, i.e. w and Φ(w) never change; the refresh is still charged
            c["units"] = c["units"] + 2 + jnp.where(refresh, n, 0)
            c["v"], c["j"] = v_new, c["j"] + 1
            return c

        # the stream of the per-step `key, k_idx, k_toss = split(key, 3)`, drawn a block at a time and
        # carried across outer iterations in s["draws"]/s["pos"]
        inner = block_loop(
            lambda c: c["j"] < steps,
            body,
            inner,
            self._draw_fn(problem, dtype),
            order=(0, 1, 2),
            block=DRAW_BLOCK,
        )
        lam = 1.0 / (kf + 2.0)
        s["z"] = lam * s["anchor"] + (1.0 - lam) * inner["v"]
        for name in ("units", "key", "draws", "pos", "warm"):
            s[name] = inner[name]
        s["k"], s["iterations"] = k + 1, s["iterations"] + 1
        return s

    def _advice(self):
        advice = super()._advice()
        advice["diverged"] = "Reduce `step_size` or `inner_step_size`."
        return advice


# ----------------------------------------------------------------------------------------------------
# One-line calls: build the configuration (checked), then init + solve in one jitted call.


def halpern(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: ScalarLike | str,
    max_epochs: int | float,
    tol: ScalarLike | None = None,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    step_scale: ScalarLike = 1.0,
    restart_factor: ScalarLike | None = None,
    num_logs: int = 201,
    log_every: int | float | None = None,
) -> Solution:
    """:class:`Halpern` ``(step_size=..., ...)(problem, z0, throw=throw)``; ``key`` unused."""
    solver = Halpern(
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        step_scale=step_scale,
        restart_factor=restart_factor,
        num_logs=num_logs,
        log_every=log_every,
    )
    return solver(problem, z0, key=key, throw=throw)


def vr_halpern(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: ScalarLike | str,
    max_epochs: int | float,
    tol: ScalarLike | None = None,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    batch_size: int | None = None,
    step_scale: ScalarLike = 1.0,
    restart_factor: ScalarLike | None = None,
    num_logs: int = 201,
    log_every: int | float | None = None,
) -> Solution:
    """:class:`VRHalpern` (Algorithm 1) ``(step_size=..., ...)(problem, z0, key=key, throw=throw)``."""
    solver = VRHalpern(
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        batch_size=batch_size,
        step_scale=step_scale,
        restart_factor=restart_factor,
        num_logs=num_logs,
        log_every=log_every,
    )
    return solver(problem, z0, key=key, throw=throw)


def inexact_vr_halpern(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: ScalarLike | str,
    max_epochs: int | float,
    tol: ScalarLike | None = None,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    inner_step_size: ScalarLike | None = None,
    inner_steps_c: ScalarLike = 0.05,
    snapshot: str = "code",
    snapshot_probability: ScalarLike | None = None,
    restart_factor: ScalarLike | None = None,
    num_logs: int = 201,
    log_every: int | float | None = None,
) -> Solution:
    """:class:`InexactVRHalpern` (Algorithm 2) ``(step_size=..., ...)(problem, z0, key=key,
    throw=throw)``."""
    solver = InexactVRHalpern(
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        inner_step_size=inner_step_size,
        inner_steps_c=inner_steps_c,
        snapshot=snapshot,
        snapshot_probability=snapshot_probability,
        restart_factor=restart_factor,
        num_logs=num_logs,
        log_every=log_every,
    )
    return solver(problem, z0, key=key, throw=throw)
