"""Bandit learners for online parameter tuning, with a pure optax-like interface.

``state = learner.init(key)``; ``arm, state = learner.sample(state[, context])``;
``state = learner.update(state, arm, cost[, context])``. Learners are Equinox modules holding static
hyperparameters only; the state is a pytree (jit-, scan- and vmap-able over trials). Costs are
minimised (e.g. a solve's ``stats["num_steps"]``). Sources: Khodak, Chow, Balcan, Talwalkar, "Learning to Relax"
(ICLR 2024), Algorithms 2, 3 and 5, with the practice settings of the authors' MATLAB code.
"""

import math
from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._checks import check_positive, check_positive_int, error_if_not
from ._validate import check_cost, check_key

_TINY = 1e-12


def _need_context(context, cls):
    if context is None:
        raise ValueError(f"`context` is required by {cls} (a contextual learner), got None.")
    if isinstance(context, (str, bytes)) or not jnp.issubdtype(
        jnp.result_type(context), jnp.number
    ):
        raise TypeError(f"`context` must be a real scalar, got {context!r}.")
    if jnp.ndim(context) != 0 or jnp.iscomplexobj(context):
        raise ValueError(f"`context` must be a real scalar, got shape {jnp.shape(context)}.")
    context = jnp.asarray(context)
    return error_if_not(
        context, jnp.isfinite(context), "`context` must be finite (got NaN or inf)."
    )


# ---------------------------------------------------------------------------------- Tsallis-INF
def tsallis_inf_probabilities(
    losses: Float[ArrayLike, " d"],
    eta: float | Float[ArrayLike, " "],
    *,
    safeguarded: bool = True,
    newton_steps: int = 40,
) -> Float[Array, " d"]:
    """The ½-Tsallis-INF distribution ``p = argmin_{p∈Δ} <L, p> − (4/η) Σ √p_i``.

    Closed form ``p_i = 4 / (η (L_i − x))²`` with the normaliser ``x < min L`` solving Σ p_i = 1.
    Safeguarded (default): Newton on ``y = x − min L`` started at the right end of the bracket
    ``[−2√d/η, −2/η]`` (where Σp >= 1; Σp is convex increasing in y, so Newton from the right never
    overshoots), with bisection whenever a step leaves the bracket; the result is then renormalised
    (a correction of rounding size). ``safeguarded=False`` reproduces the authors' code: 20 plain Newton
    steps from x = −1 in unshifted coordinates, no renormalisation (after ~100 rounds x can jump past
    the pole at min L and the "probabilities" leave the simplex). Cost O(d · newton_steps).
    """
    L = jnp.asarray(losses)
    if L.ndim != 1 or L.shape[0] == 0:
        raise ValueError(f"`losses` must be a non-empty 1D array, got shape {L.shape}.")
    check_positive(eta, "eta")
    check_positive_int(newton_steps, "newton_steps")
    L = error_if_not(L, jnp.isfinite(L), "`losses` must be finite (got NaN or inf).")
    d = L.shape[-1]
    eta = jnp.asarray(eta, L.dtype)
    if not safeguarded:

        def plain(_, x):
            p = 4.0 / (eta * (L - x)) ** 2
            return x - (jnp.sum(p) - 1) / (eta * jnp.sum(p**1.5))

        x = lax.fori_loop(0, 20, plain, jnp.asarray(-1.0, L.dtype))
        return 4.0 / (eta * (L - x)) ** 2
    z = L - jnp.min(L)

    def g(y):
        inv = 1.0 / (eta * (z - y))
        p = 4.0 * inv**2
        return jnp.sum(p) - 1.0, jnp.sum(8.0 * eta * inv**3)

    lo0 = -2.0 * math.sqrt(d) / eta
    hi0 = -2.0 / eta

    def body(_, c):
        y, lo, hi = c
        val, slope = g(y)
        lo = jnp.where(val < 0, y, lo)
        hi = jnp.where(val > 0, y, hi)
        yn = y - val / slope
        ok = (yn >= lo) & (yn <= hi) & jnp.isfinite(yn)
        return jnp.where(ok, yn, 0.5 * (lo + hi)), lo, hi

    y, _, _ = lax.fori_loop(0, newton_steps, body, (hi0, lo0, hi0))
    p = 4.0 / (eta * (z - y)) ** 2
    return p / jnp.sum(p)


class BanditState(NamedTuple):
    """State of :class:`TsallisINF` / :class:`Exp3`: PRNG key, importance-weighted cumulative losses,
    rounds played, sum of observed costs, and the distribution of the last ``sample``."""

    key: PRNGKeyArray
    losses: Float[Array, " d"]
    t: Int[Array, " "]
    cost_sum: Float[Array, " "]
    probs: Float[Array, " d"]


class _Bandit(eqx.Module):
    #: Whether ``sample``/``update`` need a context (``replay``/``run_online`` ask for ``contexts``).
    contextual: ClassVar[bool] = False
    num_arms: int = eqx.field(static=True)
    cost_offset: float = eqx.field(static=True)
    normalizer: Any = eqx.field(static=True)  # "adaptive" or a positive float K

    def init(self, key: PRNGKeyArray) -> BanditState:
        """Fresh state (uniform play first)."""
        check_key(key)
        d = self.num_arms
        dt = jnp.zeros(()).dtype
        return BanditState(
            key, jnp.zeros(d, dt), jnp.asarray(0), jnp.zeros((), dt), jnp.full(d, 1.0 / d, dt)
        )

    def scale(self, state: BanditState) -> Float[Array, " "]:
        """The cost normaliser K: a constant, or mean(past costs) − cost_offset (1 before any cost)."""
        if self.normalizer != "adaptive":
            return jnp.asarray(self.normalizer, state.losses.dtype)
        mean = state.cost_sum / jnp.maximum(state.t, 1)
        return jnp.where(state.t > 0, jnp.maximum(mean - self.cost_offset, _TINY), 1.0)

    def probabilities(self, state: BanditState, context=None) -> Float[Array, " d"]:
        raise NotImplementedError

    def sample(self, state: BanditState, context=None) -> tuple[Int[Array, " "], BanditState]:
        """Draw an arm from the current distribution (``context`` is ignored)."""
        p = self.probabilities(state)
        key, sub = jax.random.split(state.key)
        arm = jax.random.choice(sub, self.num_arms, p=p)
        return arm, state._replace(key=key, probs=p)

    def update(self, state: BanditState, arm, cost, context=None) -> BanditState:
        """Importance-weighted loss ``(cost − cost_offset)/p[arm]`` added to the played arm."""
        cost = check_cost(cost, state.losses.dtype)
        est = (cost - self.cost_offset) / state.probs[arm]
        return state._replace(
            losses=state.losses.at[arm].add(est), t=state.t + 1, cost_sum=state.cost_sum + cost
        )


def _check_bandit(num_arms, normalizer):
    check_positive_int(num_arms, "num_arms", minimum=2)
    if normalizer != "adaptive":
        check_positive(normalizer, "normalizer")


class TsallisINF(_Bandit):
    """½-Tsallis-INF (Zimmert & Seldin 2021) as in "Learning to Relax", Algorithm 2.

    ``p_t = argmin_{p∈Δ} <k/K, p> − (4/η_t) Σ √p_i`` with anytime step ``η_t = eta_scale/√t`` (2/√t in
    the authors' code), adaptive normaliser ``K = mean(past costs) − 1`` and importance-weighted loss
    ``k[i_t] += (cost − 1)/p[i_t]``. The normaliser is solved by safeguarded Newton (see
    :func:`tsallis_inf_probabilities`), so the probabilities always lie on the simplex. Regret
    Õ(√(dT)) against the best fixed arm; O(d) work per round.
    """

    eta_scale: float = eqx.field(static=True)
    safeguarded: bool = eqx.field(static=True)

    def __init__(
        self,
        num_arms: int,
        *,
        eta_scale: float = 2.0,
        cost_offset: float = 1.0,
        normalizer: Any = "adaptive",
        safeguarded: bool = True,
    ):
        _check_bandit(num_arms, normalizer)
        check_positive(eta_scale, "eta_scale")
        self.num_arms, self.eta_scale, self.cost_offset = (
            num_arms,
            float(eta_scale),
            float(cost_offset),
        )
        self.normalizer, self.safeguarded = normalizer, bool(safeguarded)

    def probabilities(self, state: BanditState, context=None) -> Float[Array, " d"]:
        eta = self.eta_scale / jnp.sqrt(state.t + 1.0)
        return tsallis_inf_probabilities(
            state.losses / self.scale(state), eta, safeguarded=self.safeguarded
        )


class Exp3(_Bandit):
    """Exp3 (Auer et al. 2002), anytime: ``p ∝ exp(−η_t k/K)``, ``η_t = eta_scale·√(log d/(d t))``,
    optionally mixed with the uniform distribution (``gamma``). Same loss estimates and normaliser as
    :class:`TsallisINF`; an extra baseline (not in the paper's figures)."""

    eta_scale: float = eqx.field(static=True)
    gamma: float = eqx.field(static=True)

    def __init__(
        self,
        num_arms: int,
        *,
        eta_scale: float = 1.0,
        gamma: float = 0.0,
        cost_offset: float = 1.0,
        normalizer: Any = "adaptive",
    ):
        _check_bandit(num_arms, normalizer)
        check_positive(eta_scale, "eta_scale")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"`gamma` must lie in [0, 1], got {gamma!r}.")
        self.num_arms, self.eta_scale, self.gamma = num_arms, float(eta_scale), float(gamma)
        self.cost_offset, self.normalizer = float(cost_offset), normalizer

    def probabilities(self, state: BanditState, context=None) -> Float[Array, " d"]:
        d = self.num_arms
        eta = self.eta_scale * jnp.sqrt(math.log(d) / (d * (state.t + 1.0)))
        p = jax.nn.softmax(-eta * state.losses / self.scale(state))
        return (1 - self.gamma) * p + self.gamma / d


# ------------------------------------------------------------------------------- Tsallis-INF-CB
def _bin(context, low, high, num_bins):
    j = jnp.floor((jnp.asarray(context) - low) / (high - low) * num_bins).astype(int)
    return jnp.clip(j, 0, num_bins - 1)


class TsallisINFCB(eqx.Module):
    """Binned contextual Tsallis-INF ("Learning to Relax", Algorithm 5): the context range
    ``[low, high]`` is split into ``num_bins`` equal bins (contexts outside go to the end bins) and an
    independent :class:`TsallisINF` runs in each. O(T^{3/4}) regret against Lipschitz policies.
    The state stacks the per-bin states (leading axis ``num_bins``)."""

    contextual: ClassVar[bool] = True
    base: TsallisINF
    num_bins: int = eqx.field(static=True)
    context_range: tuple[float, float] = eqx.field(static=True)

    def __init__(
        self,
        num_arms: int,
        *,
        num_bins: int = 5,
        context_range: tuple[float, float] = (-0.15, 0.65),
        **kwargs,
    ):
        check_positive_int(num_bins, "num_bins")
        low, high = (float(c) for c in context_range)
        if not high > low:
            raise ValueError(
                f"`context_range` must be (low, high) with high > low, got {context_range}."
            )
        self.base = TsallisINF(num_arms, **kwargs)
        self.num_bins, self.context_range = num_bins, (low, high)

    @property
    def num_arms(self) -> int:
        return self.base.num_arms

    def init(self, key: PRNGKeyArray) -> BanditState:
        check_key(key)
        return jax.vmap(self.base.init)(jax.random.split(key, self.num_bins))

    def _bin(self, context):
        return _bin(_need_context(context, "TsallisINFCB"), *self.context_range, self.num_bins)

    def probabilities(self, state, context=None):
        j = self._bin(context)
        return self.base.probabilities(jax.tree.map(lambda a: a[j], state))

    def sample(self, state, context=None):
        j = self._bin(context)
        arm, sub = self.base.sample(jax.tree.map(lambda a: a[j], state))
        return arm, jax.tree.map(lambda a, s: a.at[j].set(s), state, sub)

    def update(self, state, arm, cost, context=None):
        j = self._bin(context)
        sub = self.base.update(jax.tree.map(lambda a: a[j], state), arm, cost)
        return jax.tree.map(lambda a, s: a.at[j].set(s), state, sub)


# ------------------------------------------------------------------------------------- ChebCB
def chebyshev_features(z: Float[ArrayLike, " "], num_features: int) -> Float[Array, " m"]:
    """``[T_0(z), ..., T_{m−1}(z)]`` by the three-term recurrence (z clipped to [−1, 1])."""
    check_positive_int(num_features, "num_features")
    z = jnp.asarray(z)
    z = error_if_not(z, jnp.isfinite(z), "`z` must be finite (got NaN or inf).")
    z = jnp.clip(z, -1.0, 1.0)
    feats = [jnp.ones_like(z), z]
    for _ in range(2, num_features):
        feats.append(2 * z * feats[-1] - feats[-2])
    return jnp.stack(feats[:num_features])


def box_least_squares(
    gram: Float[ArrayLike, " m m"],
    rhs: Float[ArrayLike, " m"],
    bound: Float[ArrayLike, " m"],
    *,
    iters: int = 12,
    ridge: float = 1e-9,
) -> Float[Array, " m"]:
    """``argmin ½θᵀGθ − gᵀθ`` subject to ``|θ_j| <= bound_j``, by a primal-dual active-set
    (semismooth Newton) method with a fixed iteration count — the box-constrained least squares of
    ChebCB with ``G = FᵀF``, ``g = Fᵀy``. A relative ridge (``ridge·tr(G)/m``) stands in for MATLAB's
    minimum-norm ``lsqminnorm`` when G is rank deficient. Cost O(iters · m³)."""
    G = jnp.asarray(gram)
    g = jnp.asarray(rhs)
    u = jnp.asarray(bound)
    m = g.shape[-1]
    if G.shape != (m, m) or u.shape != (m,):
        raise ValueError(
            f"`gram` (m, m), `rhs` (m,) and `bound` (m,) must agree, got {G.shape}, {g.shape}, {u.shape}."
        )
    check_positive_int(iters, "iters")
    check_positive(bound, "bound", strict=False)
    G = G + (ridge * jnp.trace(G) / m + _TINY) * jnp.eye(m, dtype=G.dtype)
    c = jnp.trace(G) / m
    eye = jnp.eye(m, dtype=G.dtype)

    def body(_, carry):
        theta, lam = carry
        up = lam + c * (theta - u) > 0
        low = lam + c * (theta + u) < 0
        active = up | low
        M = jnp.where(active[:, None], eye, G)
        target = jnp.where(up, u, jnp.where(low, -u, g))
        theta = jnp.linalg.solve(M, target)
        lam = jnp.where(active, g - G @ theta, 0.0)
        return theta, lam

    theta, _ = lax.fori_loop(0, iters, body, (jnp.zeros_like(g), jnp.zeros_like(g)))
    return jnp.clip(theta, -u, u)


class ChebCBState(NamedTuple):
    """State of :class:`ChebCB`: key; per-arm sufficient statistics of the regression (``gram``
    Σ f fᵀ, ``moment`` Σ f·k, ``sq`` Σ k², k = cost − 1); rounds ``t``; min/max cost; running squared
    prediction error ``sq_error``; the last distribution, predictions and scale K·N."""

    key: PRNGKeyArray
    gram: Float[Array, " d m m"]
    moment: Float[Array, " d m"]
    sq: Float[Array, " d"]
    t: Int[Array, " "]
    cost_min: Float[Array, " "]
    cost_max: Float[Array, " "]
    sq_error: Float[Array, " "]
    probs: Float[Array, " d"]
    preds: Float[Array, " d"]
    kn: Float[Array, " "]


class ChebCB(eqx.Module):
    """SquareCB with Chebyshev-polynomial regression ("Learning to Relax", Algorithm 3).

    Per arm, the normalised cost ``k/(KN)`` is regressed on Chebyshev features of the context
    (``z = 2(c − a)/(b − a) − 1``, degrees 0..m−1) by box-constrained least squares over all past
    rounds in which the arm was played (|θ_0| <= 1/N, |θ_j| <= 2(b−a)L/(KNj)). The normalisers follow
    the authors' code, recomputed each round: K = max past cost, L = (max − min past cost)/(b − a),
    N = 2 + 4(b − a)L/K·(1 + log m). Arms are drawn by inverse-gap weighting
    ``p_i = 1/(d + η_t(s_i − s_min))`` (the leader gets the rest) with
    ``η_t = 2t·√(d t/(R − resnorm + 2α²t))``, R the running squared prediction error, resnorm the
    current fits' residual and α = (π + (2/π)log(2m+1))(b − a)L/(2KN(m+1)). All arms are refit
    every round (equivalent to the code's refitting rule). Cost per round O(d·m³·iters).
    """

    contextual: ClassVar[bool] = True
    num_arms: int = eqx.field(static=True)
    num_features: int = eqx.field(static=True)
    context_range: tuple[float, float] = eqx.field(static=True)
    cost_offset: float = eqx.field(static=True)
    solver_iters: int = eqx.field(static=True)

    def __init__(
        self,
        num_arms: int,
        *,
        num_features: int = 6,
        context_range: tuple[float, float] = (-0.15, 0.65),
        cost_offset: float = 1.0,
        solver_iters: int = 12,
    ):
        check_positive_int(num_arms, "num_arms", minimum=2)
        check_positive_int(num_features, "num_features", minimum=2)
        check_positive_int(solver_iters, "solver_iters")
        low, high = (float(c) for c in context_range)
        if not high > low:
            raise ValueError(
                f"`context_range` must be (low, high) with high > low, got {context_range}."
            )
        self.num_arms, self.num_features, self.context_range = num_arms, num_features, (low, high)
        self.cost_offset, self.solver_iters = float(cost_offset), solver_iters

    def init(self, key: PRNGKeyArray) -> ChebCBState:
        check_key(key)
        d, m = self.num_arms, self.num_features
        z = jnp.zeros(()).dtype
        return ChebCBState(
            key,
            jnp.zeros((d, m, m), z),
            jnp.zeros((d, m), z),
            jnp.zeros(d, z),
            jnp.asarray(0),
            jnp.asarray(jnp.inf, z),
            jnp.asarray(-jnp.inf, z),
            jnp.zeros((), z),
            jnp.full(d, 1.0 / d, z),
            jnp.zeros(d, z),
            jnp.ones((), z),
        )

    def features(self, context) -> Float[Array, " m"]:
        low, high = self.context_range
        return chebyshev_features(
            2 * (jnp.asarray(context) - low) / (high - low) - 1, self.num_features
        )

    def _normalisers(self, state):
        low, high = self.context_range
        m = self.num_features
        played = state.t > 0
        K = jnp.where(played, jnp.maximum(state.cost_max, _TINY), 1.0)
        L = jnp.where(played, (state.cost_max - state.cost_min) / (high - low), 0.0)
        N = 2 + 4 * (high - low) * L / K * (1 + math.log(m))
        j = jnp.arange(1, m)
        bound = jnp.concatenate([jnp.ones(1) / N, 2 * (high - low) * L / (K * N) / j])
        return K, L, N, bound

    def _fit(self, state):
        K, L, N, bound = self._normalisers(state)
        kn = K * N
        fit = lambda G, h: box_least_squares(G, h / kn, bound, iters=self.solver_iters)
        theta = jax.vmap(fit)(state.gram, state.moment)
        return theta, K, L, N, kn

    def probabilities(self, state: ChebCBState, context=None):
        return self._probs(state, context)[0]

    def _probs(self, state, context):
        context = _need_context(context, "ChebCB")
        low, high = self.context_range
        d, m = self.num_arms, self.num_features
        theta, K, L, N, kn = self._fit(state)
        f = self.features(context)
        s = theta @ f
        best = jnp.argmin(s)
        gap = s - s[best]
        t = state.t + 1.0
        alpha = (
            (math.pi + 2 / math.pi * math.log(2 * m + 1)) / (2 * kn * (m + 1)) * (high - low) * L
        )
        quad = jnp.einsum("di,dij,dj->d", theta, state.gram, theta)
        resnorm = jnp.sum(quad - 2 * jnp.sum(theta * state.moment, -1) / kn + state.sq / kn**2)
        denom = jnp.maximum(state.sq_error - resnorm + 2 * alpha**2 * t, _TINY)
        eta = 2 * t * jnp.sqrt(d * t / denom)
        p = jnp.where(gap > 0, 1.0 / (d + eta * gap), 1.0 / d)
        p = p.at[best].set(0.0)
        p = p.at[best].set(jnp.maximum(1.0 - jnp.sum(p), 0.0))
        return p / jnp.sum(p), s, kn

    def sample(self, state: ChebCBState, context=None):
        """Fit, score and draw an arm by inverse-gap weighting at ``context``."""
        p, s, kn = self._probs(state, context)
        key, sub = jax.random.split(state.key)
        arm = jax.random.choice(sub, self.num_arms, p=p)
        return arm, state._replace(key=key, probs=p, preds=s, kn=kn)

    def update(self, state: ChebCBState, arm, cost, context=None) -> ChebCBState:
        """Add the round to the played arm's regression statistics."""
        context = _need_context(context, "ChebCB")
        f = self.features(context)
        cost = check_cost(cost, state.sq.dtype)
        # The regression keeps raw sums of k²: bound |k| so that they cannot overflow to inf (and the
        # fit to NaN). The bound is sqrt(max float)·1e-4: 1.3e150 in float64, 1.8e15 in float32.
        bound = math.sqrt(float(jnp.finfo(state.sq.dtype).max)) * 1e-4
        cost = error_if_not(
            cost,
            jnp.abs(cost) <= bound,
            f"`cost` must be at most {bound:.3g} in magnitude for ChebCB (its regression sums "
            "squared costs); rescale the costs.",
        )
        k = cost - self.cost_offset
        err = (state.preds[arm] - k / state.kn) ** 2
        return state._replace(
            gram=state.gram.at[arm].add(jnp.outer(f, f)),
            moment=state.moment.at[arm].add(f * k),
            sq=state.sq.at[arm].add(k**2),
            t=state.t + 1,
            cost_min=jnp.minimum(state.cost_min, cost),
            cost_max=jnp.maximum(state.cost_max, cost),
            sq_error=state.sq_error + err,
        )
