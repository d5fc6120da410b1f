"""The result type shared by every iterative solver in jaxsci.

Every solver returns ``Solution(value, result, stats)``:

- ``value``: the solution (a pytree of arrays, usually one array),
- ``result``: a :class:`RESULTS` member saying whether the solve succeeded and, if not, why,
- ``stats``: a dict of counts (cycles, iterations, epochs, oracle calls) and histories (residuals).

Entry points take ``throw: bool = True``. With ``throw=True`` a failure raises at run time through
:func:`equinox.error_if` with the message of the ``RESULTS`` member (works under ``jit``; see equinox's
documentation of ``EQX_ON_ERROR`` for the behaviour on GPU/TPU). With ``throw=False`` the caller reads
``solution.result`` and decides. Solvers never return a silent NaN: a non-finite iterate is reported as
``RESULTS.nonfinite``.
"""

from typing import Any

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, PyTree

__all__ = ["RESULTS", "Solution", "finalize"]


class RESULTS(eqx.Enumeration):
    """Why an iterative solver stopped. ``RESULTS.successful`` means the tolerance was met."""

    successful = ""
    max_steps_reached = (
        "The solver used its whole budget (iterations, cycles or epochs) before meeting the tolerance. "
        "Increase the budget, loosen the tolerance, or check the problem's conditioning."
    )
    nonfinite = (
        "A non-finite value (NaN or inf) appeared in the iterate or the residual. Check the inputs "
        "for NaN/inf and the step size or relaxation parameter for stability."
    )
    diverged = (
        "The residual grew far above its initial value: the iteration diverged. Reduce the step size "
        "or check that the method's assumptions (e.g. SPD matrix, monotone operator) hold."
    )
    breakdown = (
        "The iteration broke down (a zero or negative denominator, e.g. p^T A p <= 0 in CG): the "
        "operator or preconditioner is probably not symmetric positive definite."
    )
    stagnated = (
        "The residual stopped decreasing at the rounding floor of the working precision before meeting "
        "the tolerance (e.g. rtol=1e-8 in float32). Enable float64 "
        "(jax.config.update('jax_enable_x64', True)), pass float64 data, or loosen the tolerance."
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
    - ``stats``: a dict with counts and histories, documented by each solver.
    """

    value: PyTree[Array]
    result: RESULTS
    stats: dict[str, Any]

    @property
    def success(self) -> Bool[Array, " ..."]:
        """``True`` where the solve met its tolerance."""
        return self.result == RESULTS.successful


def finalize(solution: Solution, throw: bool) -> Solution:
    """Raise through ``eqx.error_if`` when ``throw`` and the solve failed; otherwise pass through.

    Works under ``jit`` and ``vmap`` (under ``vmap`` it raises if any batch member failed).
    """
    if not throw:
        return solution
    failed = solution.result != RESULTS.successful
    return solution.result.error_if(solution, failed)


def status_from(
    converged: Bool[Array, " "],
    finite: Bool[Array, " "],
    diverged: Bool[Array, " "] | bool = False,
) -> RESULTS:
    """Map the usual end-of-loop flags to a ``RESULTS`` member (nonfinite > diverged > success > budget)."""
    result = RESULTS.where(converged, RESULTS.successful, RESULTS.max_steps_reached)
    result = RESULTS.where(jnp.asarray(diverged), RESULTS.diverged, result)
    return RESULTS.where(finite, result, RESULTS.nonfinite)
