"""Halpern-type and extragradient solvers for 0 ∈ F(z) + G(z), F = (1/n) Σ_i F_i (Cai, Alacaoglu & Diakonikolas,
"Variance Reduced Halpern Iteration for Finite-Sum Monotone Inclusions", ICLR 2024) and their baselines.

Common interface: ``solver(problem, z0, *, step_size, max_epochs, tol=1e-8, key=None, throw=True,
restart_factor=None, num_logs=201, log_every=None, **method_keywords) -> Solution``.

Oracle accounting (identical to the paper): one epoch = n component evaluations F_i; a full evaluation F
costs n; a PAGE/SVRG difference on a batch of b costs 2b; EG and EAG cost two full evaluations (2 epochs) per
iteration; residual evaluations are free. The loop stops at the first log point whose residual
‖z − Π(z − F(z))‖ <= ``tol`` (``RESULTS.successful``), when the oracle count reaches ``max_epochs``·n
(``RESULTS.max_steps_reached``; the last iteration may overshoot by at most its own cost), or at a non-finite
iterate (``RESULTS.nonfinite``).

``Solution.stats``:

- ``"epochs"``, ``"residual"``: arrays of static length ``num_logs`` over the logged points (epochs spent so
  far, natural residual there); entry 0 is (0, residual(z0)). Log points are the first iterates at which the
  oracle count passes a multiple of ``log_every`` epochs (default ``max_epochs/(num_logs − 1)``), plus the
  final iterate. Only the first ``"num_logged"`` entries are distinct log points; the remaining slots (left
  when the solver stops early at ``tol``, or when one iteration passes several log multiples) repeat the last
  one, so ``epochs[-1]`` is the epochs spent, ``residual[-1]`` the final residual, and both arrays are finite
  and ``epochs`` is nondecreasing (no NaN padding; the same shapes under ``jit`` and ``vmap``).
- ``"epochs_spent"`` (float), ``"oracle_calls"`` (int, component evaluations), ``"iterations"`` (outer
  iterations), ``"restarts"``, ``"final_residual"``, and ``"step_size"`` (the last one used).

Beyond the paper: ``restart_factor=ρ`` (Halpern-type solvers) resets the anchor to the current iterate and
the iteration counter k to 0 whenever the residual at a log point has fallen below ρ × (residual at the
current anchor), e.g. ρ = 0.5 restarts each time the residual halves; ``step_size="adaptive"``
(``halpern``, ``extragradient``, ``anchored_extragradient``, ``vr_halpern``) uses η_k = ``step_scale``/L̂_k with
L̂_k a running maximum of observed local Lipschitz ratios ‖ΔF‖/‖Δz‖ (started from a probe that costs 2 full
evaluations, charged), so no knowledge of L is needed. For EG this is the usual self-adaptive nonincreasing
step; for the Halpern-type methods there is no convergence theory for this rule: it is an engineering default,
compared against the tuned steps in the benchmark (``python -m benchmarks monotone``).

Everything is jit-compiled (``eqx.filter_jit``), vmap-able over ``key`` and over problems (pytrees), and runs
in the dtype of ``z0``/the problem (float64 when x64 is on). Under ``vmap`` the ``lax.cond`` between a full
and a batch evaluation becomes a select, so every iteration pays both in wall time (not in oracle count).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import ArrayLike, Float, PRNGKeyArray

from .._checks import check_choice, check_positive, check_positive_int, check_range
from .._solution import Solution
from ._driver import prepare, run
from ._problems import AbstractFiniteSumProblem
from ._sampling import sample_without_replacement

__all__ = [
    "anchored_extragradient",
    "extragradient",
    "halpern",
    "inexact_vr_halpern",
    "vr_extragradient",
    "vr_halpern",
]

_DEFAULT_TOL = 1e-8


def _int(x):
    return jnp.asarray(x, dtype=jnp.asarray(0).dtype)


def _base_state(z0, key):
    return {
        "z": z0,
        "units": _int(0),
        "iterations": _int(0),
        "k": _int(0),
        "anchor": z0,
        "key": key,
    }


def _restart(state):
    s = dict(state)
    s["anchor"], s["k"] = state["z"], jnp.zeros_like(state["k"])
    return s


def _probe_lipschitz(problem, z0):
    """L̂_0 = ‖F(z0) − F(z1)‖/‖z0 − z1‖ along z1 = z0 − δ F(z0) (costs 2 full evaluations)."""
    f0 = problem.operator(z0)
    nf = jnp.linalg.norm(f0)
    tiny = jnp.finfo(z0.dtype).tiny
    delta = 1e-4 * (1.0 + jnp.linalg.norm(z0)) / jnp.maximum(nf, tiny)
    z1 = z0 - delta * f0
    return jnp.maximum(
        jnp.linalg.norm(problem.operator(z1) - f0) / jnp.maximum(delta * nf, tiny), jnp.sqrt(tiny)
    )


def _ratio(df, dz):
    nz = jnp.linalg.norm(dz)
    return jnp.where(nz > 0, jnp.linalg.norm(df) / jnp.where(nz > 0, nz, 1.0), 0.0)


# ----------------------------------------------------------------------------------------------------
# Per-method init/step. cfg is a dict of static configuration.


def _init_step_size(problem, z0, dyn, cfg, s):
    """``eta`` from ``step_size``, or, when adaptive, ``step_scale / L̂`` from a probe of L (its two
    full evaluations charged to ``units``)."""
    if cfg["adaptive"]:
        s["lhat"] = _probe_lipschitz(problem, z0)
        s["eta"] = cfg["step_scale"] / s["lhat"]
        s["units"] = _int(2 * problem.num_components)
    else:
        s["eta"] = dyn["step_size"]
    return s


def _halpern_init(problem, z0, dyn, key, cfg):
    s = _init_step_size(problem, z0, dyn, cfg, _base_state(z0, key))
    if cfg["adaptive"]:
        s["z_prev"], s["f_prev"] = z0, problem.operator(z0)
    return s


def _halpern_step(problem, dyn, cfg, s):
    s = dict(s)
    u, k = s["z"], s["k"]
    fu = problem.operator(u)
    if cfg["adaptive"]:
        s["lhat"] = jnp.maximum(s["lhat"], _ratio(fu - s["f_prev"], u - s["z_prev"]))
        s["eta"] = cfg["step_scale"] / s["lhat"]
        s["z_prev"], s["f_prev"] = u, fu
    lam = 1.0 / (k + 2.0)
    t = problem.project(u - s["eta"] * fu)
    s["z"] = lam * s["anchor"] + (1.0 - lam) * t
    s["units"] = s["units"] + problem.num_components
    s["k"], s["iterations"] = k + 1, s["iterations"] + 1
    return s


def _eg_init(problem, z0, dyn, key, cfg):
    return _init_step_size(problem, z0, dyn, cfg, _base_state(z0, key))


def _eg_step(problem, dyn, cfg, s):
    s = dict(s)
    u, k, eta = s["z"], s["k"], s["eta"]
    if cfg["anchored"]:
        lam = 1.0 / (k + 2.0)
        base = lam * s["anchor"] + (1.0 - lam) * u
    else:
        base = u
    fu = problem.operator(u)
    half = problem.project(base - eta * fu)
    fhalf = problem.operator(half)
    s["z"] = problem.project(base - eta * fhalf)
    if cfg[
        "adaptive"
    ]:  # both evaluations exist already: the local ratio is free; η applies from k + 1
        s["lhat"] = jnp.maximum(s["lhat"], _ratio(fhalf - fu, half - u))
        s["eta"] = cfg["step_scale"] / s["lhat"]
    s["units"] = s["units"] + 2 * problem.num_components
    s["k"], s["iterations"] = k + 1, s["iterations"] + 1
    return s


def _vreg_init(problem, z0, dyn, key, cfg):
    s = _base_state(z0, key)
    s["eta"] = dyn["step_size"]
    s["w"], s["fw"] = z0, problem.operator(z0)
    s["units"] = _int(problem.num_components)
    s["perm"] = jnp.arange(problem.num_components)
    return s


def _vreg_step(problem, dyn, cfg, s):
    s = dict(s)
    n, b, p = problem.num_components, cfg["batch_size"], dyn["probability"]
    key, k_idx, k_toss = jax.random.split(s["key"], 3)
    u, w, fw, gam = s["z"], s["w"], s["fw"], s["eta"]
    ubar = (1.0 - p) * u + p * w
    half = problem.project(ubar - gam * fw)
    s["perm"], idx = sample_without_replacement(k_idx, s["perm"], b)
    u_new = problem.project(ubar - gam * (fw + problem.batch_difference(half, w, idx)))
    refresh = jax.random.uniform(k_toss, dtype=u.dtype) < p
    s["w"], s["fw"] = lax.cond(refresh, lambda: (u_new, problem.operator(u_new)), lambda: (w, fw))
    s["units"] = s["units"] + 2 * b + jnp.where(refresh, n, 0)
    s["z"], s["key"] = u_new, key
    s["k"], s["iterations"] = s["k"] + 1, s["iterations"] + 1
    return s


def _vrh_init(problem, z0, dyn, key, cfg):
    s = _base_state(z0, key)
    s["u_prev"], s["g"] = z0, jnp.zeros_like(z0)
    s["perm"] = jnp.arange(problem.num_components)
    return _init_step_size(problem, z0, dyn, cfg, s)


def _vrh_step(problem, dyn, cfg, s):
    s = dict(s)
    n, b = problem.num_components, cfg["batch_size"]
    u, k = s["z"], s["k"]
    dtype = u.dtype
    key, k_toss, k_idx = jax.random.split(s["key"], 3)
    kf = k.astype(dtype)
    lam = 2.0 / (kf + 4.0)
    sqrt_n = math.sqrt(n)
    p = jnp.where(kf - 1.0 <= sqrt_n, 4.0 / (kf + 4.0), 4.0 / (sqrt_n + 5.0))
    full = (k <= 1) | (jax.random.uniform(k_toss, dtype=dtype) < p)
    perm, idx = sample_without_replacement(k_idx, s["perm"], b)

    def full_branch():
        return problem.operator(u), s["perm"], jnp.zeros((), dtype)

    def batch_branch():
        d = problem.batch_difference(u, s["u_prev"], idx)
        return s["g"] + d, perm, _ratio(d, u - s["u_prev"])

    g, s["perm"], ratio = lax.cond(full, full_branch, batch_branch)
    if cfg["adaptive"]:
        s["lhat"] = jnp.maximum(s["lhat"], ratio)
        s["eta"] = cfg["step_scale"] / s["lhat"]
    s["g"], s["u_prev"] = g, u
    s["z"] = problem.project(lam * s["anchor"] + (1.0 - lam) * u - s["eta"] * g)
    s["units"] = s["units"] + jnp.where(full, n, 2 * b)
    s["key"], s["k"], s["iterations"] = key, k + 1, s["iterations"] + 1
    return s


def _ivrh_init(problem, z0, dyn, key, cfg):
    s = _base_state(z0, key)
    s["eta"] = dyn["step_size"]
    return s


def _ivrh_step(problem, dyn, cfg, s):
    """One outer iteration: ũ ≈ J_{η(F+G)}(u) by M_k steps of VR-FoRB, then u⁺ = λ u0 + (1 − λ) ũ."""
    s = dict(s)
    n = problem.num_components
    u, k, eta = s["z"], s["k"], s["eta"]
    dtype = u.dtype
    p, gam = dyn["probability"], dyn["inner_step_size"]
    kf = k.astype(dtype)
    steps = jnp.maximum(jnp.floor(cfg["inner_steps_c"] * n * jnp.log(kf + 2.0)), 1.0).astype(
        k.dtype
    )
    theory = cfg["snapshot"] == "theory"
    # Φ(v) = ηF(v) + v − u; at the start w = u so Φ(w) = ηF(u). Charged n units (the QP script's count).
    inner = {
        "j": jnp.zeros_like(k),
        "v": u,
        "w": u,
        "w_prev": u,
        "phi_w": eta * problem.operator(u),
        "units": s["units"] + n,
        "key": s["key"],
    }

    def body(c):
        c = dict(c)
        key, k_idx, k_toss = jax.random.split(c["key"], 3)
        v, w, w_prev = c["v"], c["w"], c["w_prev"]
        idx = jax.random.randint(k_idx, (1,), 0, n)
        vbar = (1.0 - p) * v + p * w
        est = c["phi_w"] + eta * problem.batch_difference(v, w_prev, idx) + (v - w_prev)
        v_new = problem.project(vbar - gam * est)
        refresh = jax.random.uniform(k_toss, dtype=dtype) < p
        c["w_prev"] = w
        if theory:  # Alacaoglu–Malitsky VR-FoRB: the snapshot moves to the current inner iterate
            c["w"], c["phi_w"] = lax.cond(
                refresh,
                lambda: (v_new, eta * problem.operator(v_new) + v_new - u),
                lambda: (w, c["phi_w"]),
            )
        # released code: w <- u at a refresh, i.e. w and Φ(w) never change; the refresh is still charged
        c["units"] = c["units"] + 2 + jnp.where(refresh, n, 0)
        c["v"], c["key"], c["j"] = v_new, key, c["j"] + 1
        return c

    inner = lax.while_loop(lambda c: c["j"] < steps, body, inner)
    lam = 1.0 / (kf + 2.0)
    s["z"] = lam * s["anchor"] + (1.0 - lam) * inner["v"]
    s["units"], s["key"] = inner["units"], inner["key"]
    s["k"], s["iterations"] = k + 1, s["iterations"] + 1
    return s


_METHODS = {
    "halpern": (_halpern_init, _halpern_step),
    "extragradient": (_eg_init, _eg_step),
    "vr_extragradient": (_vreg_init, _vreg_step),
    "vr_halpern": (_vrh_init, _vrh_step),
    "inexact_vr_halpern": (_ivrh_init, _ivrh_step),
}


@eqx.filter_jit
def _solve(problem, z0, dyn, key, *, method, cfg, restart_factor, num_logs, throw):
    cfg = dict(cfg)
    init, step = _METHODS[method]
    state = init(problem, z0, dyn, key, cfg)
    return run(
        problem,
        state,
        dyn,
        step=lambda s: step(problem, dyn, cfg, s),
        restart=_restart,
        restart_factor=restart_factor,
        num_logs=num_logs,
        throw=throw,
    )


def _key_or_raise(key, name):
    if key is None:
        raise ValueError(
            f"`key` is required by the stochastic solver `{name}` (e.g. jax.random.key(0))."
        )
    if not (isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)):
        key = jnp.asarray(key)
        if key.dtype != jnp.uint32:
            raise TypeError(f"`key` must be a PRNG key (jax.random.key), got dtype {key.dtype}.")
        key = jax.random.wrap_key_data(key)
    return key


def _check_restart(restart_factor):
    if restart_factor is not None:
        check_range(restart_factor, "restart_factor", 0.0, 1.0)
        return float(restart_factor)
    return None


def _batch_size(problem, batch_size, default):
    n = problem.num_components if isinstance(problem, AbstractFiniteSumProblem) else None
    if batch_size is None:
        return default(n) if n is not None else 1
    check_positive_int(batch_size, "batch_size")
    if n is not None and batch_size > n:
        raise ValueError(
            f"`batch_size` must be <= n = {n} (sampling without replacement), got {batch_size}."
        )
    return int(batch_size)


def _dummy_key():
    return jax.random.key(0)


# ----------------------------------------------------------------------------------------------------
# Public solvers


def halpern(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: float | str,
    max_epochs: float,
    tol: float = _DEFAULT_TOL,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    step_scale: float = 1.0,
    restart_factor: float | None = None,
    num_logs: int = 201,
    log_every: float | None = None,
) -> Solution:
    """Deterministic Halpern iteration with the forward-backward operator T = Π(· − ηF):

        u_{k+1} = λ_k u_0 + (1 − λ_k) Π(u_k − η F(u_k)),   λ_k = 1/(k + 2).

    For a 1/L-cocoercive F and η <= 2/L, T is nonexpansive and (Lieder 2021) ‖u_k − T u_k‖ <= 2‖u_0 − u*‖/(k+1);
    unconstrained with η = 1/L this is ‖F(u_k)‖ <= 2L‖u_0 − u*‖/(k + 1). Cost: n oracle units (one epoch)
    per iteration. ``step_size="adaptive"``: η_k = ``step_scale``/L̂_k (see module docstring). ``key`` unused.
    """
    z0, dyn, num_logs = prepare(
        problem,
        z0,
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        num_logs=num_logs,
        log_every=log_every,
        allow_adaptive=True,
    )
    check_positive(step_scale, "step_scale")
    cfg = (("adaptive", isinstance(step_size, str)), ("step_scale", float(step_scale)))
    return _solve(
        problem,
        z0,
        dyn,
        _dummy_key(),
        method="halpern",
        cfg=cfg,
        restart_factor=_check_restart(restart_factor),
        num_logs=num_logs,
        throw=throw,
    )


def extragradient(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: float | str,
    max_epochs: float,
    tol: float = _DEFAULT_TOL,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    step_scale: float = 0.9,
    num_logs: int = 201,
    log_every: float | None = None,
) -> Solution:
    """Extragradient (Korpelevich): u½ = Π(u − ηF(u)), u⁺ = Π(u − ηF(u½)). Converges for monotone,
    L-Lipschitz F with η < 1/L (the paper's tuned η = 5/‖A‖₂ on the game is outside this). Cost: 2 epochs per
    iteration; the residual is logged at u (the authors' script logs it at u½). ``key`` unused.

    ``step_size="adaptive"`` needs no L: η_{k+1} = ``step_scale``/L̂_{k+1}, L̂_{k+1} = max(L̂_k,
    ‖F(u½_k) − F(u_k)‖/‖u½_k − u_k‖) (free: both evaluations exist), L̂_0 from a probe charged 2 epochs. The
    step is nonincreasing and, since every ratio is <= L, stays >= ``step_scale``/L (the usual self-adaptive
    EG step rule; with ``step_scale`` < 1 it eventually satisfies η·(local ratio) < 1)."""
    z0, dyn, num_logs = prepare(
        problem,
        z0,
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        num_logs=num_logs,
        log_every=log_every,
        allow_adaptive=True,
    )
    check_positive(step_scale, "step_scale")
    cfg = (
        ("anchored", False),
        ("adaptive", isinstance(step_size, str)),
        ("step_scale", float(step_scale)),
    )
    return _solve(
        problem,
        z0,
        dyn,
        _dummy_key(),
        method="extragradient",
        cfg=cfg,
        restart_factor=None,
        num_logs=num_logs,
        throw=throw,
    )


def anchored_extragradient(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: float | str,
    max_epochs: float,
    tol: float = _DEFAULT_TOL,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    step_scale: float = 0.9,
    restart_factor: float | None = None,
    num_logs: int = 201,
    log_every: float | None = None,
) -> Solution:
    """Extra-anchored gradient EAG (Yoon & Ryu 2021), as in the authors' code, λ_k = 1/(k + 2):

        u½ = Π(λ_k u0 + (1 − λ_k)u − ηF(u)),  u⁺ = Π(λ_k u0 + (1 − λ_k)u − ηF(u½)).

    O(1/k) on ‖F‖ for monotone L-Lipschitz F with η <= 1/(8L) (Yoon & Ryu; larger in practice). Cost: 2 epochs
    per iteration. ``key`` unused. ``step_size="adaptive"``: the L-free rule of :func:`extragradient` (no
    theory for the anchored method with it)."""
    z0, dyn, num_logs = prepare(
        problem,
        z0,
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        num_logs=num_logs,
        log_every=log_every,
        allow_adaptive=True,
    )
    check_positive(step_scale, "step_scale")
    cfg = (
        ("anchored", True),
        ("adaptive", isinstance(step_size, str)),
        ("step_scale", float(step_scale)),
    )
    return _solve(
        problem,
        z0,
        dyn,
        _dummy_key(),
        method="extragradient",
        cfg=cfg,
        restart_factor=_check_restart(restart_factor),
        num_logs=num_logs,
        throw=throw,
    )


def vr_extragradient(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: float,
    max_epochs: float,
    tol: float = _DEFAULT_TOL,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    batch_size: int = 1,
    snapshot_probability: float | None = None,
    num_logs: int = 201,
    log_every: float | None = None,
) -> Solution:
    """Loopless-SVRG extragradient (Alacaoglu & Malitsky 2022), p = 1/n by default, γ = ``step_size``:

        ū = (1 − p)u + p w;  u½ = Π(ū − γF(w));  u⁺ = Π(ū − γ[F(w) + F_S(u½) − F_S(w)]);  w ← u⁺ w.p. p.

    F_S is the mean of a batch S of ``batch_size`` components (1 in the paper). Cost: n units for F(w0), 2b per
    step, n per snapshot refresh. Converges for monotone F with L̄-Lipschitz-on-average components and
    γ <= √p(1−δ)/L̄ (the paper uses γ = 3√p/‖A‖_F). Residual logged at u (the code logs at refreshes at w)."""
    key = _key_or_raise(key, "vr_extragradient")
    batch_size = _batch_size(problem, batch_size, lambda n: 1)
    z0, dyn, num_logs = prepare(
        problem,
        z0,
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        num_logs=num_logs,
        log_every=log_every,
    )
    p = 1.0 / problem.num_components if snapshot_probability is None else snapshot_probability
    check_range(p, "snapshot_probability", 0.0, 1.0, closed="right")
    dyn["probability"] = jnp.asarray(p, z0.dtype)
    return _solve(
        problem,
        z0,
        dyn,
        key,
        method="vr_extragradient",
        cfg=(("batch_size", batch_size),),
        restart_factor=None,
        num_logs=num_logs,
        throw=throw,
    )


def vr_halpern(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: float | str,
    max_epochs: float,
    tol: float = _DEFAULT_TOL,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    batch_size: int | None = None,
    step_scale: float = 1.0,
    restart_factor: float | None = None,
    num_logs: int = 201,
    log_every: float | None = None,
) -> Solution:
    """Algorithm 1 of Cai et al.: Halpern iteration with the PAGE estimator (cocoercive setting).

        λ_k = 2/(k + 4);  full = [k <= 1] or Bernoulli(p_k),  p_k = 4/(k + 4) if k − 1 <= √n else 4/(√n + 5)
        g_k = F(u_k) if full else g_{k−1} + (1/b) Σ_{i∈S} [F_i(u_k) − F_i(u_{k−1})],  S: b distinct indices
        u_{k+1} = Π(λ_k u_0 + (1 − λ_k) u_k − η g_k)           (η is not scaled by 1 − λ_k, as in the code)

    b = ⌊√n⌋ by default. Cost: n units for a full step, 2b for a PAGE step (expected O(√n) per step after
    k ≈ √n). The guarantee (Õ(n + √n L/ε)) assumes cocoercive-on-average components; the paper's two test
    problems (a bilinear game and the Ouyang–Xu quadratic) are only monotone, so there it is a heuristic
    (on the game it still converges, faster in epochs than EG/EAG; on the quadratic it oscillates early on:
    see ``python -m benchmarks monotone`` and the notebook). Sampling without replacement is a partial
    Fisher–Yates shuffle of a carried permutation (:mod:`._sampling`). The released QP script uses
    λ_k = 2/(k + 5) and p_k = 4/(k + 6); we use the game script's (and the paper's) schedule on both."""
    key = _key_or_raise(key, "vr_halpern")
    batch_size = _batch_size(problem, batch_size, lambda n: max(1, int(math.isqrt(n))))
    z0, dyn, num_logs = prepare(
        problem,
        z0,
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        num_logs=num_logs,
        log_every=log_every,
        allow_adaptive=True,
    )
    check_positive(step_scale, "step_scale")
    cfg = (
        ("batch_size", batch_size),
        ("adaptive", isinstance(step_size, str)),
        ("step_scale", float(step_scale)),
    )
    return _solve(
        problem,
        z0,
        dyn,
        key,
        method="vr_halpern",
        cfg=cfg,
        restart_factor=_check_restart(restart_factor),
        num_logs=num_logs,
        throw=throw,
    )


def inexact_vr_halpern(
    problem: AbstractFiniteSumProblem,
    z0: Float[ArrayLike, " d"],
    *,
    step_size: float,
    max_epochs: float,
    tol: float = _DEFAULT_TOL,
    key: PRNGKeyArray | None = None,
    throw: bool = True,
    inner_step_size: float | None = None,
    inner_steps_c: float = 0.05,
    snapshot: str = "code",
    snapshot_probability: float | None = None,
    restart_factor: float | None = None,
    num_logs: int = 201,
    log_every: float | None = None,
) -> Solution:
    """Algorithm 2 of Cai et al.: inexact Halpern iteration whose resolvent is computed by VR-FoRB
    (monotone, Lipschitz-on-average setting).

        λ_k = 1/(k + 2),  M_k = max(1, ⌊c·n·log(k + 2)⌋)  (c = ``inner_steps_c``; the paper's M_k = int(25 log(k+2))
        at n = 500 and int(10 log(k+2)) at n = 200 are both c = 0.05)
        ũ_k ≈ J_{η(F+G)}(u_k): M_k steps of VR-FoRB on Φ(v) = ηF(v) + v − u_k (1-strongly monotone) + G:
            v̄ = (1 − p)v + p w;  v⁺ = Π(v̄ − γ[Φ(w) + Φ_i(v) − Φ_i(w⁻)]);  w⁻ ← w;  w.p. p refresh w
        u_{k+1} = λ_k u_0 + (1 − λ_k) ũ_k

    η = ``step_size`` (the code's c: √n/‖A‖_F on the game, √n on the quadratic), γ = ``inner_step_size``
    (default √(p(1−p))/(η L̄ + 1) when L̄ = ``problem.average_lipschitz`` is known; the paper uses 5× this on
    the game and 0.001 on the quadratic), p = 1/n by default.
    ``snapshot="code"`` (the released code): a refresh sets w ← u_k, so w ≡ u_k and Φ(w) = ηF(u_k) never
    change (refreshes are still charged n units, as in the code; they cost no wall time here);
    ``snapshot="theory"``: w ← v⁺ (Alacaoglu–Malitsky's VR-FoRB), which recomputes Φ(w).
    Cost per outer iteration: n (Φ(w) at the start; the QP script's count, the game script does not charge
    it) + 2 per inner step + n per refresh.
    The inner estimate is Φ(w) + ηn[F_i(v) − F_i(w⁻)] + (v − w⁻) on every block. (The released game script
    has the sign of the identity term flipped on the y-block, −(v_y − w⁻_y); we do not reproduce that.)
    """
    key = _key_or_raise(key, "inexact_vr_halpern")
    check_choice(snapshot, "snapshot", ("code", "theory"))
    check_positive(inner_steps_c, "inner_steps_c")
    z0, dyn, num_logs = prepare(
        problem,
        z0,
        step_size=step_size,
        max_epochs=max_epochs,
        tol=tol,
        num_logs=num_logs,
        log_every=log_every,
    )
    n = problem.num_components
    p = 1.0 / n if snapshot_probability is None else snapshot_probability
    check_range(p, "snapshot_probability", 0.0, 1.0, closed="right")
    if inner_step_size is None:
        lbar = problem.average_lipschitz
        try:
            lbar = float(lbar)
        except Exception:  # noqa: BLE001 - traced constants
            lbar = float("nan")
        if not math.isfinite(lbar):
            raise ValueError(
                "`inner_step_size` must be given: the problem's average_lipschitz is unknown."
            )
        inner_step_size = math.sqrt(p * (1 - p)) / (float(step_size) * lbar + 1.0)
    check_positive(inner_step_size, "inner_step_size")
    dyn["probability"] = jnp.asarray(p, z0.dtype)
    dyn["inner_step_size"] = jnp.asarray(inner_step_size, z0.dtype)
    cfg = (("inner_steps_c", float(inner_steps_c)), ("snapshot", snapshot))
    return _solve(
        problem,
        z0,
        dyn,
        key,
        method="inexact_vr_halpern",
        cfg=cfg,
        restart_factor=_check_restart(restart_factor),
        num_logs=num_logs,
        throw=throw,
    )
