"""Running learners: against a precomputed cost table (``replay``) or live (``run_online``).

The cost of a solve is :func:`solve_cost`: ``stats["num_steps"]`` for a successful solve, the budget
``max_steps`` for any other result (diverged, breakdown, nonfinite, ...), so a learner never prefers
an arm that fails quickly.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._checks import concrete_or_none, error_if_not
from .._solution import RESULTS, Solution
from ._validate import check_key

__all__ = ["replay", "run_online", "solve_cost"]


def solve_cost(solution: Solution) -> Int[Array, "*batch"]:
    """The cost a learner pays for ``solution``: ``stats["num_steps"]`` when it succeeded, else the
    budget ``max_steps`` (read from the length ``max_steps + 1`` of ``stats["residual_history"]``,
    the one history shape). Batched solutions (``vmap``) give batched costs."""
    if not isinstance(solution, Solution):
        raise TypeError(f"`solution` must be a jaxsci.Solution, got {type(solution).__name__}.")
    stats = solution.stats
    if "residual_history" not in stats:
        raise ValueError(
            "`solution.stats` has no 'residual_history' to read the budget from; return a scalar "
            "cost from the solver instead."
        )
    steps = jnp.asarray(stats["num_steps"])
    budget = stats["residual_history"].shape[-1] - 1
    ok = solution.result == RESULTS.successful
    return jnp.where(ok, steps, jnp.asarray(budget, steps.dtype))


def _contextual(learner: Any) -> bool:
    return bool(getattr(learner, "contextual", False))


def replay(
    learner,
    costs: Float[ArrayLike, " T d"],
    key: PRNGKeyArray,
    contexts: Float[ArrayLike, " T"] | None = None,
) -> tuple[Int[Array, " T"], Float[Array, " T"]]:
    """Play ``learner`` against a table of costs: ``costs[t, i]`` is the cost of instance t at arm i.

    Exact for solvers whose cost depends only on (instance, arm) — e.g. SOR sweep counts — and far
    cheaper than solving live. One ``lax.scan`` over T rounds (jit- and vmap-able over trials/keys).
    Returns ``(arms, paid)`` with ``paid[t] == costs[t, arms[t]]``.
    """
    if isinstance(costs, (str, bytes)) or not (
        jnp.issubdtype(jnp.result_type(costs), jnp.floating)
        or jnp.issubdtype(jnp.result_type(costs), jnp.integer)
    ):
        raise TypeError(f"`costs` must be a real (T, d) array, got dtype {jnp.result_type(costs)}.")
    host = concrete_or_none(costs)
    costs = jnp.asarray(costs)
    if costs.ndim != 2 or costs.shape[1] != learner.num_arms:
        raise ValueError(
            f"`costs` must have shape (T, {learner.num_arms}) (num_arms of the learner), got {costs.shape}."
        )
    if costs.shape[0] == 0:
        raise ValueError("`costs` must have at least one round (T >= 1), got shape (0, d).")
    if host is not None and not np.all(np.isfinite(host)):
        raise ValueError("`costs` must be finite (a NaN/inf cost corrupts the learner's state).")
    costs = error_if_not(costs, jnp.isfinite(costs), "`costs` must be finite (got NaN or inf).")
    check_key(key)
    needs = _contextual(learner)
    if needs and contexts is None:
        raise ValueError(f"`contexts` (shape (T,)) is required by {type(learner).__name__}.")
    if contexts is not None and jnp.shape(contexts) != costs.shape[:1]:
        raise ValueError(
            f"`contexts` must have shape ({costs.shape[0]},), got {jnp.shape(contexts)}."
        )
    ctx = jnp.zeros(costs.shape[0]) if contexts is None else jnp.asarray(contexts)

    def step(state, inp):
        row, c = inp
        c = c if needs else None
        arm, state = learner.sample(state, c)
        paid = row[arm]
        return learner.update(state, arm, paid, c), (arm, paid)

    _, (arms, paid) = lax.scan(step, learner.init(key), (costs, ctx))
    return arms, paid


def run_online(
    learner,
    instances: Any,
    solver: Callable,
    key: PRNGKeyArray,
    *,
    omegas: Float[ArrayLike, " d"] | None = None,
    contexts: Float[ArrayLike, " T"] | None = None,
    carry: Any = None,
):
    """Solve a sequence of systems in turn, each with the ω the learner picks, learning from the cost.

    ``instances``: a pytree whose leaves have a leading axis T (e.g. ``(A_stack, b_stack)`` or
    ``(shifts, rhs)``). ``solver(instance, omega)`` returns a :class:`Solution` (cost =
    :func:`solve_cost`: ``stats["num_steps"]``, or ``max_steps`` if the solve failed) or a scalar
    cost. With ``carry`` (e.g. the previous time step of a
    simulation, for warm starts), ``solver(carry, instance, omega)`` returns ``(carry, Solution or cost)``.
    ``omegas`` is the arm grid (default ``linspace(1, 1.95, num_arms)``, the paper's). A ``lax.scan``:
    jit-able, vmap-able over keys. Returns ``(arms, costs)`` (and the final carry when ``carry`` is given).
    """
    check_key(key)
    d = learner.num_arms
    if omegas is not None:
        from ._validate import check_omega_grid

        check_omega_grid(omegas)
    grid = jnp.linspace(1.0, 1.95, d) if omegas is None else jnp.asarray(omegas)
    if grid.shape != (d,):
        raise ValueError(
            f"`omegas` must have shape ({d},) (num_arms of the learner), got {grid.shape}."
        )
    leaves = jax.tree.leaves(instances)
    if not leaves or any(jnp.ndim(x) == 0 for x in leaves):
        raise ValueError("`instances` must be a pytree of arrays with a leading axis T.")
    T = jnp.shape(leaves[0])[0]
    if any(jnp.shape(x)[0] != T for x in leaves) or T == 0:
        raise ValueError(
            f"`instances`: every leaf must have the same leading axis T >= 1, got T={T}."
        )
    needs = _contextual(learner)
    if needs and contexts is None:
        raise ValueError(f"`contexts` (shape (T,)) is required by {type(learner).__name__}.")
    ctx = jnp.zeros(T) if contexts is None else jnp.asarray(contexts)
    if ctx.shape != (T,):
        raise ValueError(f"`contexts` must have shape ({T},), got {ctx.shape}.")

    def cost_of(out):
        return solve_cost(out) if isinstance(out, Solution) else out

    def step(c, inp):
        state, sim = c
        inst, cx = inp
        cx = cx if needs else None
        arm, state = learner.sample(state, cx)
        if carry is None:
            cost = cost_of(solver(inst, grid[arm]))
        else:
            sim, out = solver(sim, inst, grid[arm])
            cost = cost_of(out)
        cost = jnp.asarray(cost, grid.dtype)
        return (learner.update(state, arm, cost, cx), sim), (arm, cost)

    # under filter_jit, so that a run-time check (a NaN cost) raises a readable EquinoxRuntimeError
    scan = eqx.filter_jit(lambda init, xs: lax.scan(step, init, xs))
    (_, sim), (arms, costs) = scan((learner.init(key), carry), (instances, ctx))
    return (arms, costs) if carry is None else (arms, costs, sim)
