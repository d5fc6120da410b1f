"""The shared outer loop of every solver: run iterations, log (epochs, residual), stop, restart.

Structure (two nested ``lax.while_loop`` s, so it stays cheap under ``vmap``): the outer loop advances from one
log point to the next; the inner loop runs solver iterations until the oracle count passes the next multiple
of ``log_units`` (or the budget). Only at log points is the residual ‖z − Π(z − F(z))‖ evaluated (free in the
oracle accounting, but a full operator evaluation in wall time), so tolerance checks and restarts happen at
log points: pick ``log_every`` (epochs) to trade resolution for speed.
"""

import math

import jax
import jax.numpy as jnp
from jax import lax

from .._checks import check_positive, check_positive_int, concrete_or_none
from .._solution import Solution, finalize, status_from
from ._problems import AbstractFiniteSumProblem

__all__ = ["prepare", "run"]


def prepare(problem, z0, *, step_size, max_epochs, tol, num_logs, log_every, allow_adaptive=False):
    """Trace-time checks; returns (z0 array, dynamic params dict, static num_logs)."""
    if not isinstance(problem, AbstractFiniteSumProblem):
        raise TypeError(
            f"`problem` must be an AbstractFiniteSumProblem (e.g. BilinearGame), got {type(problem).__name__}."
        )
    n = problem.num_components
    if n < 1:
        raise ValueError("`problem` has an empty finite sum (no components).")
    if jnp.ndim(z0) != 1 or jnp.shape(z0)[0] != problem.dim:
        raise ValueError(
            f"`z0` must have shape ({problem.dim},) for this problem, got {jnp.shape(z0)}."
        )
    if isinstance(step_size, str):
        if not (allow_adaptive and step_size == "adaptive"):
            allowed = "a positive float or 'adaptive'" if allow_adaptive else "a positive float"
            raise ValueError(f"`step_size` must be {allowed}, got {step_size!r}.")
    else:
        check_positive(step_size, "step_size")
    check_positive(tol, "tol")
    if concrete_or_none(max_epochs) is None or jnp.ndim(max_epochs) != 0:
        raise TypeError(
            f"`max_epochs` must be a Python number (it sizes the logs), got {max_epochs!r}."
        )
    check_positive(max_epochs, "max_epochs")
    max_units = int(math.ceil(float(max_epochs) * n))
    if log_every is not None:
        check_positive(log_every, "log_every")
        log_units = max(1, int(round(float(log_every) * n)))
        num_logs = int(math.ceil(max_units / log_units)) + 1
    else:
        check_positive_int(num_logs, "num_logs", minimum=2)
        log_units = max(1, int(math.ceil(max_units / (num_logs - 1))))
        num_logs = int(math.ceil(max_units / log_units)) + 1
    dtype = jnp.result_type(jnp.asarray(z0).dtype, problem.dtype, jnp.float32)
    z0 = jnp.asarray(z0, dtype)
    dyn = {
        "tol": jnp.asarray(tol, dtype),
        "max_units": jnp.asarray(max_units),
        "log_units": jnp.asarray(log_units),
    }
    if not isinstance(step_size, str):
        dyn["step_size"] = jnp.asarray(step_size, dtype)
    return z0, dyn, num_logs


def _where(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def run(problem, state, dyn, *, step, restart, restart_factor, num_logs, throw):
    """Drive ``state = step(state)`` with logging; ``state`` is a dict with at least ``z`` (the point whose
    residual is logged), ``units`` (oracle count) and ``iterations``. ``restart(state)`` resets the anchor
    (used when ``restart_factor`` is not None)."""
    n = problem.num_components
    z = state["z"]
    dtype = z.dtype
    r0 = problem.residual(z)
    nan = jnp.asarray(jnp.nan, dtype)
    carry = {
        "state": state,
        "slot": jnp.asarray(1),
        "epochs": jnp.full(num_logs, nan).at[0].set(0.0),
        "residual": jnp.full(num_logs, nan).at[0].set(r0),
        "converged": r0 <= dyn["tol"],
        "finite": jnp.isfinite(r0) & jnp.all(jnp.isfinite(z)),
        "anchor_residual": r0,
        "restarts": jnp.asarray(0),
        "last": r0,
    }
    log_units, max_units = dyn["log_units"], dyn["max_units"]

    def cond(c):
        return (
            (~c["converged"])
            & c["finite"]
            & (c["state"]["units"] < max_units)
            & (c["slot"] < num_logs)
        )

    def body(c):
        s = c["state"]
        target = jnp.minimum((s["units"] // log_units + 1) * log_units, max_units)
        s = lax.while_loop(lambda s: s["units"] < target, step, s)
        r = problem.residual(s["z"])
        c = dict(c)
        c["epochs"] = c["epochs"].at[c["slot"]].set(s["units"].astype(dtype) / n)
        c["residual"] = c["residual"].at[c["slot"]].set(r)
        c["slot"] = c["slot"] + 1
        c["converged"] = r <= dyn["tol"]
        c["finite"] = jnp.isfinite(r) & jnp.all(jnp.isfinite(s["z"]))
        c["last"] = r
        if restart_factor is not None:
            do = (r <= restart_factor * c["anchor_residual"]) & ~c["converged"]
            s = _where(do, restart(s), s)
            c["anchor_residual"] = jnp.where(do, r, c["anchor_residual"])
            c["restarts"] = c["restarts"] + do
        c["state"] = s
        return c

    carry = lax.while_loop(cond, body, carry)
    s = carry["state"]
    result = status_from(carry["converged"], carry["finite"])
    # Slots after the last log point repeat it (no NaN padding): epochs[-1] is the epochs spent and
    # residual[-1] the final residual, with the same static length under jit and vmap.
    filled = jnp.arange(num_logs) < carry["slot"]
    last = carry["slot"] - 1
    stats = {
        "epochs": jnp.where(filled, carry["epochs"], carry["epochs"][last]),
        "residual": jnp.where(filled, carry["residual"], carry["residual"][last]),
        "num_logged": carry["slot"],
        "epochs_spent": s["units"].astype(dtype) / n,
        "oracle_calls": s["units"],
        "iterations": s["iterations"],
        "restarts": carry["restarts"],
        "final_residual": carry["last"],
    }
    if "eta" in s:
        stats["step_size"] = s["eta"]
    return finalize(Solution(value=s["z"], result=result, stats=stats), throw)
