"""The result type and the stopping vocabulary shared by every iterative solver in jaxsci.

Every solver returns ``Solution(value, result, stats, state)``:

- ``value``: the solution (a pytree of arrays, usually one array),
- ``result``: a :class:`RESULTS` member saying whether the solve succeeded and, if not, why,
- ``stats``: a dict with at least ``"num_steps"`` (iterations, cycles, sweeps taken) and, where the
  method has one, ``"residual_history"`` (NaN after the last step; see :func:`history`),
- ``state``: the reusable solver state (``solver.init(operator)``) the solve ran with, or ``None``.

Entry points take ``throw: bool = True``. With ``throw=True`` a failure raises at run time through
:func:`equinox.branched_error_if` with the message of the ``RESULTS`` member plus advice that fits
the solver (works under ``jit``; see equinox's documentation of ``EQX_ON_ERROR`` for GPU/TPU). With
``throw=False`` the caller reads ``solution.result`` and decides. Solvers never return a silent NaN:
a non-finite iterate is ``RESULTS.nonfinite``.

The vocabulary (``design.md``, "One protocol") lives here so that every solver states it once:

- linear solves converge when ``||b - A x|| <= atol + rtol ||b||`` (lineax's rule), with
  :func:`norm`, a 2-norm that neither underflows nor overflows; ``rtol=None`` means
  :func:`default_rtol` of the working dtype;
- divergence (:func:`diverged`): the residual rose above ``DIVERGENCE_FACTOR`` times
  ``max(||r_0||, ||b||)``, or the budget ended with a residual larger than the initial one;
- :func:`status` maps the end-of-loop flags to one ``RESULTS`` member, in one priority order.
"""

import warnings
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, PyTree

__all__ = [
    "DIVERGENCE_FACTOR",
    "RESULTS",
    "Solution",
    "default_rtol",
    "diverged",
    "finalize",
    "history",
    "norm",
    "resolve_rtol",
    "status",
]

#: ``||r_k|| > DIVERGENCE_FACTOR * max(||r_0||, ||b||)`` stops any iteration as ``RESULTS.diverged``.
DIVERGENCE_FACTOR = 1e6

with warnings.catch_warnings():
    # lineax's messages speak of GMRES restarts and `stagnation_iters`; ours restate the same members
    # for every jaxsci solver (equinox warns when a subclass rewords an inherited member).
    warnings.simplefilter("ignore")

    class RESULTS(lx.RESULTS):
        """Why an iterative solver stopped. ``RESULTS.successful`` means the tolerance was met.

        A subclass of :class:`lineax.RESULTS` (its members keep their names: ``successful``,
        ``max_steps_reached``, ``breakdown``, ``stagnation``, ``singular``, ``nonfinite_input``,
        ``conlim``), so ``RESULTS.promote(lineax_result)`` turns a lineax status into ours. The
        messages are generic; each solver adds advice naming its own arguments when it raises.
        """

        successful = ""
        max_steps_reached = (
            "The solver used its whole budget (`max_steps`) before meeting the tolerance."
        )
        breakdown = (
            "The iteration broke down (a zero or negative curvature, e.g. p^T A p <= 0 in CG): the "
            "operator or the preconditioner is not symmetric positive definite."
        )
        stagnation = (
            "The residual stopped decreasing at the rounding floor of the working precision before "
            "meeting the tolerance."
        )
        singular = "The operator is singular."
        nonfinite_input = "An input contains NaN or inf."
        nonfinite = "A non-finite value (NaN or inf) appeared in the iterate or the residual."
        diverged = (
            "The iteration diverged: the residual grew far above its initial value, or ended the "
            "budget above it."
        )
        incompatible = (
            "The system is singular and the right-hand side violates the compatibility condition "
            "(e.g. a pure Neumann or periodic problem whose right-hand side does not sum to zero)."
        )


class Solution(eqx.Module):
    """The output of an iterative solver.

    **Fields:**

    - ``value``: the computed solution.
    - ``result``: a :class:`RESULTS` member; ``RESULTS.successful`` when the tolerance was met.
    - ``stats``: a dict with ``"num_steps"`` and, where the method has them, ``"residual_history"``
      and further counts documented by each solver.
    - ``state``: the solver state the solve used (pass it to the next solve to skip the setup), or
      ``None`` for solvers without one.
    """

    value: PyTree[Array]
    result: RESULTS
    stats: dict[str, Any]
    state: Any = None

    @property
    def success(self) -> Bool[Array, "..."]:
        """``True`` where the solve met its tolerance."""
        return self.result == RESULTS.successful


def default_rtol(dtype: Any) -> float:
    """The default relative tolerance for a solve in ``dtype``: ``1e-8`` in float64, ``1e-5`` in
    float32, ``1e-2`` in 16-bit floats: about ``sqrt(eps)``, rounded, so that a default call meets it
    on well-conditioned problems instead of stopping at the rounding floor."""
    eps = float(np.finfo(np.dtype(jnp.dtype(dtype))).eps)
    if eps <= 1e-15:
        return 1e-8
    if eps <= 1e-6:
        return 1e-5
    return 1e-2


def resolve_rtol(rtol: float | None, dtype: Any) -> float:
    """``rtol`` if given, else :func:`default_rtol` of ``dtype``."""
    return default_rtol(dtype) if rtol is None else rtol


def norm(x: ArrayLike) -> Float[Array, ""]:
    """The 2-norm of ``x`` (any shape, real or complex) that neither underflows
    (``||1e-300 * 1||`` is ``1e-300 sqrt(n)``, not 0) nor overflows. NaN/inf propagate.

    Cost: one pass (the plain sum of squares) when that sum is safely inside the normal range, and a
    second pass scaled by ``max |x|`` only when it is not (under ``vmap`` both passes run). Not for
    differentiation (use ``jnp.linalg.norm`` there).
    """
    x = jnp.asarray(x)
    a = jnp.abs(x) if jnp.iscomplexobj(x) else x
    if a.size == 0:
        return jnp.zeros((), a.dtype)
    info = jnp.finfo(a.dtype)
    ss = jnp.sum(a * a)
    # Squares below `tiny` were flushed: harmless unless the whole sum is within eps of `tiny`.
    safe = (ss > info.tiny / info.eps) & (ss < info.max)

    def scaled():
        a_abs = jnp.abs(a)
        s = jnp.max(a_abs)
        ok = jnp.isfinite(s) & (s > 0)
        div = jnp.where(ok, s, 1)
        return jnp.where(ok, div * jnp.sqrt(jnp.sum(jnp.square(a_abs / div))), s)

    return jax.lax.cond(safe, lambda: jnp.sqrt(ss), scaled)


def diverged(
    peak: ArrayLike, final: ArrayLike, initial: ArrayLike, b_norm: ArrayLike = 0.0
) -> Bool[Array, ""]:
    """The one divergence rule: the largest residual seen (``peak``) exceeded
    ``DIVERGENCE_FACTOR * max(initial, b_norm)``, or the final residual is larger than the initial
    one (a method that ends its budget worse than it started has not converged slowly: it diverged).
    Callers apply the second half only when the budget is used up."""
    ref = jnp.maximum(initial, b_norm)
    return (peak > DIVERGENCE_FACTOR * ref) | (final > initial)


def status(
    *,
    converged: ArrayLike,
    finite: ArrayLike = True,
    diverged: ArrayLike = False,
    stagnation: ArrayLike = False,
    breakdown: ArrayLike = False,
    incompatible: ArrayLike = False,
) -> RESULTS:
    """Map end-of-loop flags to one ``RESULTS`` member. Priority, highest first: ``nonfinite``,
    ``incompatible``, ``successful``, ``breakdown``, ``diverged``, ``stagnation``,
    ``max_steps_reached`` (a converged solve that saw a breakdown flag is still a success)."""
    result = RESULTS.where(jnp.asarray(stagnation), RESULTS.stagnation, RESULTS.max_steps_reached)
    result = RESULTS.where(jnp.asarray(diverged), RESULTS.diverged, result)
    result = RESULTS.where(jnp.asarray(breakdown), RESULTS.breakdown, result)
    result = RESULTS.where(jnp.asarray(converged), RESULTS.successful, result)
    result = RESULTS.where(jnp.asarray(incompatible), RESULTS.incompatible, result)
    return RESULTS.where(jnp.asarray(finite), result, RESULTS.nonfinite)


def history(max_steps: int, first: ArrayLike, dtype: Any) -> Float[Array, " steps"]:
    """The residual-history buffer of every solver: shape ``(max_steps + 1,)``, entry 0 the initial
    residual, NaN where no step was taken (the one padding rule; ``jnp.nanmin`` and
    ``hist[: stats["num_steps"] + 1]`` read it)."""
    return jnp.full((max_steps + 1,), jnp.nan, dtype).at[0].set(first)


def finalize(
    solution: Solution,
    throw: bool,
    *,
    solver: str = "The solver",
    advice: Mapping[str, str] | None = None,
) -> Solution:
    """Raise (through ``eqx.branched_error_if``) when ``throw`` and the solve failed; else pass through.

    ``solver`` names the solver in the message; ``advice`` maps member names to what the user should
    change for this solver (e.g. ``{"diverged": "Reduce `step_size`."}``). Works under ``jit`` and
    ``vmap`` (under ``vmap`` it raises if any batch member failed).
    """
    if not throw:
        return solution
    advice = {} if advice is None else dict(advice)
    messages = []
    for index, text in enumerate(RESULTS._index_to_message):
        name = next(k for k, v in RESULTS._name_to_item.items() if int(v._value) == index)
        extra = advice.get(name, "")
        messages.append(f"{solver} failed ({name}): {text} {extra}".rstrip())
    result = solution.result
    failed = result != RESULTS.successful
    return eqx.branched_error_if(solution, failed, result._value, tuple(messages))
