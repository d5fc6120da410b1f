"""The value of a matrix game, certified by a duality-gap bracket (no LP solver)."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import ArrayLike, Float

from .._checks import check_positive, check_positive_int
from .._solution import RESULTS, Solution, finalize
from ._constraints import Box, Simplex
from ._extragradient import AnchoredExtragradient
from ._problems import BilinearGame

__all__ = ["game_value"]


def _diameter(game):
    """An upper bound on the diameter of X × Y (simplices: √2 each; boxes: (u − l)√size)."""
    total = 0.0
    for c, size in zip(game.constraint.constraints, game.constraint.sizes, strict=True):
        if isinstance(c, Simplex):
            total = total + 2.0 * c.radius**2
        elif isinstance(c, Box):
            total = total + jnp.max(c.upper - c.lower) ** 2 * size
        else:  # pragma: no cover - BilinearGame builds simplices or boxes only
            raise TypeError(f"no diameter bound for {type(c).__name__}")
    return jnp.sqrt(total)


@eqx.filter_jit
def _game_value(game, z0, tol, max_epochs, throw):
    dtype = game.dtype
    lip = game.lipschitz.astype(dtype)
    eta = 1.0 / lip
    # gap(z̄) <= (1/η + L)·‖z − z̄‖·D at z̄ = Π(z − ηF(z)) (optimality of the projection plus
    # L-Lipschitz F): a residual below tol/(2 L D) certifies a gap below tol.
    solver = AnchoredExtragradient(
        step_size=eta,
        max_epochs=max_epochs,
        tol=jnp.asarray(tol, dtype) / (2.0 * lip * _diameter(game)),
        restart_factor=0.5,
        num_logs=max(2, min(1001, int(max_epochs))),
    )
    sol = solver(game, z0, throw=False)
    z = sol.value
    zbar = game.project(z - eta * game.operator(z))
    lo1, up1 = game.value_bounds(z)
    lo2, up2 = game.value_bounds(zbar)
    lower, upper = jnp.maximum(lo1, lo2), jnp.minimum(up1, up2)
    gap = upper - lower
    best = jnp.where(up2 - lo2 < up1 - lo1, zbar, z)
    ok = jnp.isfinite(gap) & (gap <= tol)
    failed = RESULTS.where(sol.result == RESULTS.successful, RESULTS.max_steps_reached, sol.result)
    result = RESULTS.where(ok, RESULTS.successful, failed)
    stats = dict(sol.stats)
    stats.update(lower=lower, upper=upper, duality_gap=gap, strategies=best)
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
    restarted Halpern-type methods converge linearly on polyhedral games) until the natural residual
    certifies a duality gap below ``tol``, then returns ``Solution(value=(lower + upper)/2, ...)``
    with ``stats["lower"] <= V <= stats["upper"]`` (a bracket from weak duality, see
    :meth:`BilinearGame.value_bounds`), ``stats["duality_gap"] = upper − lower``,
    ``stats["strategies"]`` (the z = (x, y) certifying it) and the solver's stats. ``successful`` iff
    the gap is below ``tol``. ``z0``: the starting strategies (default: the centre of the domain).
    Cost: about ``stats["num_epochs"]`` matrix-vector pairs with A, O(mn) each.
    """
    if not isinstance(game, BilinearGame):
        raise TypeError(f"`game` must be a BilinearGame, got {type(game).__name__}.")
    check_positive(tol, "tol")
    check_positive(max_epochs, "max_epochs")
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
    check_positive_int(int(max_epochs), "max_epochs")
    return _game_value(game, z0, float(tol), max_epochs, throw)
