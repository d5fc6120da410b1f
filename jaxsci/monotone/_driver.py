"""The solver protocol of :mod:`jaxsci.monotone` and the one outer loop every solver runs.

A solver is a final :class:`equinox.Module` holding its configuration (``step_size``, ``max_epochs``,
``tol``, logging and restart options, method options), checked once in ``__check_init__``:

    solver = VRHalpern(step_size=0.3, max_epochs=200)      # configuration, checked here
    state = solver.init(problem)                           # setup reused across solves
    sol = solver.solve(state, z0, key=key, throw=False)    # eqx.filter_jit-ed; returns a Solution
    sol = solver.solve(sol.state, sol.value, key=key2)     # continue from there, state reused

``solver(problem, z0, key=..., throw=...)`` does ``init`` and ``solve`` in one jitted call, and the
functions (:func:`halpern`, :func:`vr_halpern`, ...) build the configuration and make that call.
Numbers in the configuration (``step_size``, ``tol``, ``restart_factor``, ...) enter the compiled
program as arrays, so a new step size or tolerance does not recompile (``max_epochs``, ``num_logs``,
``log_every`` and ``batch_size`` are static: they size the logs and the batches). Python/NumPy values
are checked when the solver is built, JAX arrays at run time (never copied to the host).

Budget and units: ``max_epochs`` counts oracle epochs (one epoch = n component evaluations F_i; a full
evaluation F costs n; residual evaluations are free), not iterations: a unit of its own, which is why
the monotone solvers do not take ``max_steps``. The loop stops

- at the first log point whose natural residual ‖z − Π(z − F(z))‖ <= ``tol`` (``RESULTS.successful``);
  ``tol=None`` (the default) runs the whole budget and is successful if it ends finite and not
  diverged (the normal use of first-order methods);
- when the residual at a log point exceeds ``DIVERGENCE_FACTOR`` times the initial residual, or the
  budget ends with a residual above the initial one (``RESULTS.diverged``: :func:`jaxsci._solution.diverged`,
  the rule every jaxsci solver applies);
- at a non-finite residual or iterate (``RESULTS.nonfinite``; ``RESULTS.nonfinite_input`` if ``z0``
  already is);
- when the oracle count reaches ``max_epochs``·n (``RESULTS.max_steps_reached`` when ``tol`` was not
  met; the last iteration may overshoot by at most its own cost).

Structure: two nested ``lax.while_loop`` s (cheap under ``vmap``). The outer loop advances from one log
point to the next; the inner loop runs iterations until the oracle count passes the next multiple of
``log_every`` epochs (default ``max_epochs/(num_logs − 1)``) or the budget. Only at log points is the
residual evaluated (a full operator evaluation in wall time), so tolerance, divergence and restart
checks happen there.

``Solution.stats`` (the same keys for every solver):

- ``"num_steps"``: iterations taken (outer iterations for Algorithm 2);
- ``"num_epochs"``: oracle epochs spent (``oracle_calls / n``); ``"oracle_calls"``: component
  evaluations;
- ``"residual_history"``, ``"epoch_history"``: shape ``(num_logs,)``, the residual and the epochs
  spent at each log point, entry 0 the start (epochs 0), NaN after the last log point (the one
  padding rule; ``"num_logged"`` entries are filled, the last one is the final iterate);
- ``"residual_norm"``: the final residual; ``"restarts"``: anchor restarts; ``"step_size"``: the last
  step size used (the adaptive rules change it).

``Solution.state`` is the :class:`MonotoneState` to reuse: for ``step_size="adaptive"`` it carries
the Lipschitz estimate L̂, so the next solve skips the probe.
"""

import math
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from .._checks import check_positive, check_positive_int, check_range, error_if_not
from .._solution import DIVERGENCE_FACTOR, RESULTS, Solution, diverged, finalize, norm, status
from ._problems import AbstractFiniteSumProblem
from ._sampling import block_loop, empty_draws

__all__ = ["AbstractMonotoneSolver", "MonotoneState"]

#: A number in a configuration: a Python/NumPy scalar (checked when the solver is built) or a JAX
#: scalar (checked at run time).
ScalarLike = float | int | np.floating | np.integer | Real[Array, ""] | Real[np.ndarray, ""]

_INF = math.inf

#: Steps whose random draws are produced at once (see :func:`._sampling.block_loop`).
DRAW_BLOCK = 64


class MonotoneState(eqx.Module):
    """What ``solver.init(problem)`` sets up and ``Solution.state`` carries back.

    **Fields:**

    - ``problem``: the :class:`AbstractFiniteSumProblem`.
    - ``lipschitz_estimate``: for ``step_size="adaptive"``, the running L̂ (NaN until a solve has
      probed it; a solve that starts from a finite L̂ skips the 2-epoch probe), else ``None``.
    - ``inner_step_size``: Algorithm 2's inner step γ (resolved from ``problem.average_lipschitz``
      when not configured), else ``None``.
    """

    problem: AbstractFiniteSumProblem
    lipschitz_estimate: Float[Array, ""] | None = None
    inner_step_size: Float[Array, ""] | None = None


def _int(x):
    return jnp.asarray(x, dtype=jnp.asarray(0).dtype)


def _where(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def probe_lipschitz(problem, z0):
    """L̂_0 = ‖F(z0) − F(z1)‖/‖z0 − z1‖ along z1 = z0 − δ F(z0) (costs 2 full evaluations)."""
    f0 = problem.operator(z0)
    nf = norm(f0)
    tiny = jnp.finfo(z0.dtype).tiny
    delta = 1e-4 * (1.0 + norm(z0)) / jnp.maximum(nf, tiny)
    z1 = z0 - delta * f0
    return jnp.maximum(
        norm(problem.operator(z1) - f0) / jnp.maximum(delta * nf, tiny), jnp.sqrt(tiny)
    )


def ratio(df, dz):
    """‖df‖/‖dz‖, 0 where dz = 0 (a local Lipschitz ratio)."""
    nz = norm(dz)
    return jnp.where(nz > 0, norm(df) / jnp.where(nz > 0, nz, 1.0), 0.0)


def _interval(low, high, closed):
    lb = "[" if closed in ("left", "both") else "("
    rb = "]" if closed in ("right", "both") else ")"
    return f"{lb}{low}, {high}{rb}"


def _as_key(key, name):
    if key is None:
        raise ValueError(
            f"`key` is required by the stochastic solver `{name}` (e.g. jax.random.key(0))."
        )
    if not isinstance(key, (jax.Array, jax.core.Tracer)):
        raise TypeError(
            f"`key` must be a PRNG key (jax.random.key(0)), got {type(key).__name__} {key!r:.60}."
        )
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.dtype != jnp.uint32 or key.shape != (2,):
            raise TypeError(
                "`key` must be one PRNG key (jax.random.key(0), or a raw uint32 key of shape (2,)), "
                f"got dtype {key.dtype} and shape {key.shape}."
            )
        key = jax.random.wrap_key_data(key)
    if key.shape != ():
        raise ValueError(
            f"`key` must be a single PRNG key, got a key array of shape {key.shape} (use jax.vmap "
            "over the keys for several solves)."
        )
    return key


def _to_arrays(solver):
    """The solver with its Python/NumPy numbers as arrays (so new values do not recompile), and the
    names of the fields that were JAX arrays already (those are checked at run time)."""
    runtime = tuple(
        name
        for name in solver._ranges
        if isinstance(getattr(solver, name), (jax.Array, jax.core.Tracer))
    )

    def convert(x):
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.number)):
            return x
        return jnp.asarray(x)

    return jax.tree.map(convert, solver), runtime


def _without_problem(sol):
    """A solution's arrays without ``state.problem``: a jitted function copies every output buffer,
    even one that is an input returned unchanged, so returning the problem would copy A (and Aᵀ) on
    every call (4 MB, about half the fixed cost of a solve, at n = 500). The caller re-attaches the
    problem it passed in (:func:`_with_problem`)."""
    return sol.value, sol.result, sol.stats, sol.state.lipschitz_estimate, sol.state.inner_step_size


def _with_problem(out, problem):
    value, result, stats, estimate, inner = out
    return Solution(value, result, stats, MonotoneState(problem, estimate, inner))


@eqx.filter_jit
def _solve(solver, state, z0, key, throw, runtime):
    return _without_problem(solver._run(state, z0, key, throw, runtime))


@eqx.filter_jit
def _init_and_solve(solver, problem, z0, key, throw, runtime):
    return _without_problem(solver._run(solver.init(problem), z0, key, throw, runtime))


class AbstractMonotoneSolver(eqx.Module):
    """Base of the monotone solvers (see the module docstring for the protocol and ``stats``).

    Subclasses are final and declare the fields ``step_size``, ``max_epochs``, ``tol``, ``num_logs``,
    ``log_every`` and their method options; ``_ranges`` maps every numeric option to its allowed
    interval, checked statically in ``__check_init__`` and, for JAX values, at run time.
    """

    step_size: eqx.AbstractVar[Any]
    max_epochs: eqx.AbstractVar[int | float]
    tol: eqx.AbstractVar[Any]
    num_logs: eqx.AbstractVar[int]
    log_every: eqx.AbstractVar[int | float | None]

    _name: eqx.AbstractClassVar[str]
    _stochastic: eqx.AbstractClassVar[bool]
    _adaptive: eqx.AbstractClassVar[bool]  # whether step_size="adaptive" is offered
    _ranges: eqx.AbstractClassVar[dict[str, tuple[float, float, str]]]
    #: whether ``_step(problem, params, s, draws)`` takes one step's random draws from ``_draw``
    #: (produced in blocks by :func:`._sampling.block_loop`; the stochastic extragradient/PAGE methods)
    _block_draws: ClassVar[bool] = False

    def __check_init__(self):
        if isinstance(self.step_size, str):
            if not (self._adaptive and self.step_size == "adaptive"):
                allowed = (
                    "a positive number or 'adaptive'" if self._adaptive else "a positive number"
                )
                raise ValueError(f"`step_size` must be {allowed}, got {self.step_size!r}.")
        for name, (low, high, closed) in self._ranges.items():
            value = getattr(self, name)
            if value is None or (name == "step_size" and isinstance(value, str)):
                continue
            if isinstance(value, (str, bool, np.bool_)) or not isinstance(
                value, (int, float, np.number, np.ndarray, jax.Array, jax.core.Tracer)
            ):
                raise TypeError(f"`{name}` must be a number, got {value!r}.")
            if jnp.ndim(value) != 0 or not (
                jnp.issubdtype(jnp.result_type(value), jnp.integer)
                or jnp.issubdtype(jnp.result_type(value), jnp.floating)
            ):
                raise TypeError(
                    f"`{name}` must be a real scalar, got shape {jnp.shape(value)} and dtype "
                    f"{jnp.result_type(value)}."
                )
            check_range(value, name, low, high, closed=closed)
        if isinstance(self.max_epochs, bool) or not isinstance(
            self.max_epochs, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"`max_epochs` must be a Python number (it sizes the logs), got {self.max_epochs!r}."
            )
        check_positive(self.max_epochs, "max_epochs")
        check_positive_int(self.num_logs, "num_logs", minimum=2)
        if self.log_every is not None:
            if isinstance(self.log_every, bool) or not isinstance(
                self.log_every, (int, float, np.integer, np.floating)
            ):
                raise TypeError(f"`log_every` must be a Python number, got {self.log_every!r}.")
            check_positive(self.log_every, "log_every")

    @property
    def _is_adaptive(self) -> bool:
        return isinstance(self.step_size, str)

    # ------------------------------------------------------------------------------------------
    # the protocol

    def init(self, problem: AbstractFiniteSumProblem) -> MonotoneState:
        """Check ``problem`` against the configuration and set up what solves reuse (the adaptive
        Lipschitz estimate, Algorithm 2's default inner step). Cheap; no oracle calls."""
        if not isinstance(problem, AbstractFiniteSumProblem):
            raise TypeError(
                "`problem` must be an AbstractFiniteSumProblem (e.g. BilinearGame), got "
                f"{type(problem).__name__}."
            )
        if problem.num_components < 1:
            raise ValueError("`problem` has an empty finite sum (no components).")
        self._check_problem(problem)
        estimate = None
        if self._is_adaptive:
            estimate = jnp.full((), jnp.nan, jnp.result_type(problem.dtype, jnp.float32))
        return MonotoneState(problem, estimate, self._inner_step_size(problem))

    def solve(
        self,
        state: MonotoneState,
        z0: Float[ArrayLike, " d"],
        *,
        key: PRNGKeyArray | None = None,
        throw: bool = True,
    ) -> Solution:
        """Run the solver from ``z0`` on ``state.problem`` (``eqx.filter_jit``-ed: a second eager
        call costs a dispatch). ``key`` drives the stochastic solvers (ignored by the deterministic
        ones). ``throw=True`` raises on failure (see ``RESULTS``); ``throw=False`` returns the
        solution with its ``result``."""
        if not isinstance(state, MonotoneState):
            raise TypeError(
                f"`state` must be the MonotoneState from `solver.init(problem)`, got "
                f"{type(state).__name__}."
            )
        solver, runtime = _to_arrays(self)
        return _with_problem(_solve(solver, state, z0, key, throw, runtime), state.problem)

    def __call__(
        self,
        problem: AbstractFiniteSumProblem,
        z0: Float[ArrayLike, " d"],
        *,
        key: PRNGKeyArray | None = None,
        throw: bool = True,
    ) -> Solution:
        """``solve(init(problem), z0, key=key, throw=throw)`` in one jitted call."""
        solver, runtime = _to_arrays(self)
        return _with_problem(_init_and_solve(solver, problem, z0, key, throw, runtime), problem)

    # ------------------------------------------------------------------------------------------
    # what each method provides

    def _check_problem(self, problem) -> None:
        """Static checks of the configuration against the problem (e.g. ``batch_size <= n``)."""

    def _inner_step_size(self, problem):
        return None

    def _check_inner_step_size(self, gamma, skip):
        return gamma

    def _start(self, problem, z0, params, state, key) -> dict:
        """The loop state at z0: at least ``z``, ``units``, ``iterations``, ``k``, ``anchor``,
        ``eta``."""
        raise NotImplementedError

    def _step(self, problem, params, s, draws=None) -> dict:
        """One iteration (``draws``: its random draws from :meth:`_draw`, for ``_block_draws``)."""
        raise NotImplementedError

    def _draw(self, problem, key_a, key_b, dtype):
        """One step's random draws from its two subkeys (``_block_draws`` solvers)."""
        raise NotImplementedError

    def _advice(self) -> dict[str, str]:
        step = "`step_scale`" if self._is_adaptive else "`step_size`"
        return {
            "diverged": f"Reduce {step} (e.g. halve it; steps of order 1/L are safe, with L the "
            "Lipschitz constant of F, or of its components on average for the variance-reduced "
            "methods).",
            "nonfinite": f"Check `z0` and the problem data for NaN/inf, or reduce {step}.",
            "max_steps_reached": "Increase `max_epochs` or loosen `tol` (`tol=None` runs the "
            "whole budget).",
        }

    # ------------------------------------------------------------------------------------------
    # shared pieces

    def _draw_fn(self, problem, dtype):
        return lambda a, b: self._draw(problem, a, b, dtype)

    def _base_state(self, problem, z0, key):
        s = {
            "z": z0,
            "units": _int(0),
            "iterations": _int(0),
            "k": _int(0),
            "anchor": z0,
            # the projection's warm start (the simplex pivot rule's last thresholds), carried from
            # step to step; it changes the projection's cost, never its result
            "warm": problem.constraint.warm_start(z0.dtype),
        }
        if key is not None:
            s["key"] = key
        return s

    def _init_step_size(self, problem, z0, params, state, s):
        """``eta`` from ``step_size`` or, when adaptive, ``step_scale / L̂`` with L̂ from the state,
        or from a probe of L when the state has none yet (its two full evaluations charged)."""
        if self._is_adaptive:
            estimate = state.lipschitz_estimate.astype(z0.dtype)
            known = jnp.isfinite(estimate)
            s["lhat"] = lax.cond(known, lambda: estimate, lambda: probe_lipschitz(problem, z0))
            s["eta"] = params["step_scale"] / s["lhat"]
            s["units"] = jnp.where(known, s["units"], s["units"] + 2 * problem.num_components)
        else:
            s["eta"] = params["step_size"]
        return s

    def _schedule(self, n):
        max_units = int(math.ceil(float(self.max_epochs) * n))
        if self.log_every is not None:
            log_units = max(1, int(round(float(self.log_every) * n)))
        else:
            log_units = max(1, int(math.ceil(max_units / (self.num_logs - 1))))
        num_logs = int(math.ceil(max_units / log_units)) + 1
        return max_units, log_units, num_logs

    def _run(self, state, z0, key, throw, runtime, stop=None):
        """The loop. ``stop(z)``, if given, replaces the residual in the tolerance test (e.g. a
        duality gap, for :func:`game_value`); the residual is still logged and watched."""
        problem = state.problem
        measure = (lambda z, r: r) if stop is None else (lambda z, r: stop(z))
        n = problem.num_components
        if jnp.ndim(z0) != 1 or jnp.shape(z0)[0] != problem.dim:
            raise ValueError(
                f"`z0` must have shape ({problem.dim},) for this problem, got {jnp.shape(z0)}."
            )
        z0 = jnp.asarray(z0)
        if not (jnp.issubdtype(z0.dtype, jnp.integer) or jnp.issubdtype(z0.dtype, jnp.floating)):
            raise TypeError(f"`z0` must be real (integer or floating), got dtype {z0.dtype}.")
        # half precision and integers are computed in (at least) float32 and the problem's dtype
        dtype = jnp.result_type(z0.dtype, problem.dtype, jnp.float32)
        z0 = z0.astype(dtype)
        config_ok = jnp.asarray(True)
        for name in runtime:
            low, high, closed = self._ranges[name]
            v = getattr(self, name)
            lo_ok = v >= low if closed in ("left", "both") else v > low
            hi_ok = v <= high if closed in ("right", "both") else v < high
            config_ok = config_ok & lo_ok & hi_ok
            z0 = error_if_not(
                z0, lo_ok & hi_ok, f"`{name}` must lie in {_interval(low, high, closed)}."
            )
        r0 = problem.residual(z0)
        finite0 = jnp.isfinite(r0) & jnp.all(jnp.isfinite(z0))
        key = _as_key(key, self._name) if self._stochastic else None
        params = {
            name: jnp.asarray(getattr(self, name), dtype)
            for name in self._ranges
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str)
        }
        if state.inner_step_size is not None:
            # a bad default is reported where the data are finite and the configuration valid
            params["inner_step_size"] = self._check_inner_step_size(
                state.inner_step_size.astype(dtype), ~finite0 | ~config_ok
            )
        s = self._start(problem, z0, params, state, key)
        if self._block_draws:
            draw = self._draw_fn(problem, dtype)
            s["draws"], s["pos"] = empty_draws(key, draw, DRAW_BLOCK)
        max_units, log_units, num_logs = self._schedule(n)
        restart_factor = getattr(self, "restart_factor", None)
        run_budget = self.tol is None
        tol = jnp.zeros((), dtype) if run_budget else params["tol"]

        nan = jnp.asarray(jnp.nan, dtype)
        carry = {
            "state": s,
            "slot": jnp.asarray(1),
            "epochs": jnp.full(num_logs, nan).at[0].set(0.0),
            "residual": jnp.full(num_logs, nan).at[0].set(r0),
            "converged": measure(z0, r0) <= tol,
            "finite": finite0,
            "peak": r0,
            "blew_up": jnp.asarray(False),
            "anchor_residual": r0,
            "restarts": jnp.asarray(0),
            "last": r0,
        }

        def cond(c):
            return (
                ~c["converged"]
                & c["finite"]
                & ~c["blew_up"]
                & (c["state"]["units"] < max_units)
                & (c["slot"] < num_logs)
            )

        def body(c):
            s = c["state"]
            target = jnp.minimum((s["units"] // log_units + 1) * log_units, max_units)
            if self._block_draws:
                s = block_loop(
                    lambda s: s["units"] < target,
                    lambda s, d: self._step(problem, params, s, d),
                    s,
                    draw,
                    order=(0, 1, 2),
                    block=DRAW_BLOCK,
                )
            else:
                s = lax.while_loop(
                    lambda s: s["units"] < target, lambda s: self._step(problem, params, s), s
                )
            r = problem.residual(s["z"])
            c = dict(c)
            c["epochs"] = c["epochs"].at[c["slot"]].set(s["units"].astype(dtype) / n)
            c["residual"] = c["residual"].at[c["slot"]].set(r)
            c["slot"] = c["slot"] + 1
            c["converged"] = measure(s["z"], r) <= tol
            c["finite"] = jnp.isfinite(r) & jnp.all(jnp.isfinite(s["z"]))
            c["peak"] = jnp.maximum(c["peak"], r)
            c["blew_up"] = c["peak"] > DIVERGENCE_FACTOR * r0
            c["last"] = r
            if restart_factor is not None:
                do = (r <= params["restart_factor"] * c["anchor_residual"]) & ~c["converged"]
                s = _where(do, {**s, "anchor": s["z"], "k": jnp.zeros_like(s["k"])}, s)
                c["anchor_residual"] = jnp.where(do, r, c["anchor_residual"])
                c["restarts"] = c["restarts"] + do
            c["state"] = s
            return c

        carry = lax.while_loop(cond, body, carry)
        s = carry["state"]
        final, converged, finite = carry["last"], carry["converged"], carry["finite"]
        # the second half of the rule (ended above the start) applies only once the budget is spent
        spent = s["units"] >= max_units
        div = diverged(carry["peak"], jnp.where(spent, final, -jnp.inf), r0)
        ok = converged | (run_budget & finite & ~div)
        result = status(converged=ok, finite=finite, diverged=div)
        result = RESULTS.where(finite0, result, RESULTS.nonfinite_input)
        stats = {
            "num_steps": s["iterations"],
            "num_epochs": s["units"].astype(dtype) / n,
            "oracle_calls": s["units"],
            "residual_history": carry["residual"],
            "epoch_history": carry["epochs"],
            "num_logged": carry["slot"],
            "residual_norm": final,
            "restarts": carry["restarts"],
            "step_size": jnp.asarray(s["eta"], dtype),
        }
        if self._is_adaptive:
            state = MonotoneState(problem, s["lhat"], state.inner_step_size)
        sol = Solution(value=s["z"], result=result, stats=stats, state=state)
        return finalize(sol, throw, solver=self._name, advice=self._advice())


def batch_size_for(problem, batch_size, default):
    """``batch_size`` checked against n (sampling without replacement), or ``default(n)``."""
    n = problem.num_components
    if batch_size is None:
        return default(n)
    if batch_size > n:
        raise ValueError(
            f"`batch_size` must be <= n = {n} (sampling without replacement), got {batch_size}."
        )
    return int(batch_size)


POSITIVE = (0.0, _INF, "neither")
UNIT_OPEN = (0.0, 1.0, "neither")
UNIT_RIGHT = (0.0, 1.0, "right")
