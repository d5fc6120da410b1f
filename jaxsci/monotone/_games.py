"""The value of a matrix game, certified by a duality-gap bracket (no LP solver)."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from .._checks import check_positive
from .._solution import RESULTS, Solution, finalize
from ._constraints import Simplex
from ._extragradient import AnchoredExtragradient
from ._problems import BilinearGame

__all__ = ["game_value"]


@eqx.filter_jit
def _game_value(game, z0, tol, max_epochs, throw):
    dtype = game.dtype
    solver = AnchoredExtragradient(
        step_size=1.0 / game.lipschitz.astype(dtype),
        max_epochs=max_epochs,
        tol=jnp.asarray(tol, dtype),
        restart_factor=0.5,
        num_logs=max(2, min(1001, int(max_epochs))),
    )
    sol = solver._run(solver.init(game), z0, None, False, (), stop=game.duality_gap)
    lower, upper = game.value_bounds(sol.value)
    gap = upper - lower
    ok = jnp.isfinite(gap) & (gap <= tol)
    failed = RESULTS.where(sol.result == RESULTS.successful, RESULTS.max_steps_reached, sol.result)
    result = RESULTS.where(ok, RESULTS.successful, failed)
    stats = dict(sol.stats)
    stats.update(lower=lower, upper=upper, duality_gap=gap, strategies=sol.value)
    out = Solution(value=0.5 * (lower + upper), result=result, stats=stats, state=sol.state)
    return finalize(
        out,
        throw,
        solver="game_value",
        advice={"max_steps_reached": "Increase `max_epochs` or loosen `tol`."},
    )


def game_value(
    game: BilinearGame,
    *,
    tol: float = 1e-6,
    max_epochs: int | float = 100_000,
    z0: Float[ArrayLike, " d"] | None = None,
    throw: bool = True,
) -> Solution:
    """The value V = min_{x ∈ X} max_{y ∈ Y} yᵀAx of ``game``, to within ``tol``, without an LP solver.

    Runs restarted anchored extragradient (η = 1/‖A‖₂, anchor restarted whenever the residual halves:
    restarted Halpern-type methods converge fast on polyhedral games) until the duality gap of its
    iterate (checked at the log points, every ``max_epochs/1000`` epochs) is below ``tol``, then returns
    ``Solution(value=(lower + upper)/2, ...)``
    with ``stats["lower"] <= V <= stats["upper"]`` (a bracket from weak duality, see
    :meth:`BilinearGame.value_bounds`), ``stats["duality_gap"] = upper − lower``,
    ``stats["strategies"]`` (the z = (x, y) certifying it) and the solver's stats. ``successful`` iff
    the gap is below ``tol``. ``z0``: the starting strategies (default: the centre of the domain).
    Cost: about ``stats["num_epochs"]`` matrix-vector pairs with A, O(mn) each.
    """
    if not isinstance(game, BilinearGame):
        raise TypeError(f"`game` must be a BilinearGame, got {type(game).__name__}.")
    for value, name in ((tol, "tol"), (max_epochs, "max_epochs")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"`{name}` must be a Python number, got {value!r}.")
        check_positive(value, name)
    if z0 is None:
        parts = []
        for c, size in zip(game.constraint.constraints, game.constraint.sizes, strict=True):
            if isinstance(c, Simplex):
                parts.append(jnp.full(size, c.radius / size, game.dtype))
            else:
                parts.append(
                    jnp.broadcast_to(0.5 * (c.lower + c.upper), (size,)).astype(game.dtype)
                )
        z0 = jnp.concatenate(parts)
    return _game_value(game, z0, float(tol), max_epochs, throw)
