"""Projections onto simple convex sets: the resolvents of indicator functions G = ι_C.

Every constraint is an :class:`equinox.Module` with ``project(z) -> Π_C(z)`` acting on a flat vector and
``support(g) -> σ_C(g) = max_{c ∈ C} ⟨c, g⟩`` (the support function: linear minimisation over C, used for
duality gaps). All projections are vectorised (no Python loops over coordinates) and cost O(d) except the
simplex, which costs one sort, O(d log d), or a few O(d) pivot passes (``method="pivot"``); every support
function costs O(d).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice, check_positive, check_positive_int

__all__ = ["AbstractConstraint", "Ball", "Box", "Product", "Simplex", "Unconstrained"]


class AbstractConstraint(eqx.Module):
    """A closed convex set C with a cheap Euclidean projection Π_C (the resolvent of its indicator)."""

    def project(self, z: Float[Array, " d"]) -> Float[Array, " d"]:
        raise NotImplementedError

    def support(self, g: Float[Array, " d"]) -> Float[Array, ""]:
        """σ_C(g) = max_{c ∈ C} ⟨c, g⟩ (+inf where C is unbounded in the direction g)."""
        raise NotImplementedError

    def __call__(self, z: Float[Array, " d"]) -> Float[Array, " d"]:
        return self.project(z)


class Unconstrained(AbstractConstraint):
    """C = R^d: Π is the identity (G = 0); σ_C(g) = 0 at g = 0, +inf otherwise."""

    def project(self, z):
        return z

    def support(self, g):
        return jnp.where(jnp.all(g == 0), jnp.zeros((), g.dtype), jnp.inf)


class Box(AbstractConstraint):
    """C = {z : lower <= z <= upper} (scalars or per-coordinate arrays); Π(z) = clip(z, lower, upper)."""

    lower: Float[Array, " ..."]
    upper: Float[Array, " ..."]

    def __init__(self, lower: ArrayLike = -1.0, upper: ArrayLike = 1.0):
        lo, hi = jnp.asarray(lower, float), jnp.asarray(upper, float)
        try:
            bad = bool(jnp.any(lo > hi))
        except Exception:  # noqa: BLE001 - traced bounds cannot be checked
            bad = False
        if bad:
            raise ValueError(f"`lower` must be <= `upper`, got lower={lower!r}, upper={upper!r}.")
        self.lower, self.upper = lo, hi

    def project(self, z):
        return jnp.clip(z, self.lower.astype(z.dtype), self.upper.astype(z.dtype))

    def support(self, g):
        lo, hi = self.lower.astype(g.dtype), self.upper.astype(g.dtype)
        return jnp.sum(jnp.broadcast_to(jnp.maximum(lo * g, hi * g), g.shape))


def _sort_keys(z):
    """An integer array ordered exactly like the floats ``z`` (IEEE bit trick: flip the magnitude bits of
    negative numbers). XLA:CPU sorts integers about 3× faster than floats (no NaN-aware comparator)."""
    itype = {2: jnp.int16, 4: jnp.int32, 8: jnp.int64}[z.dtype.itemsize]
    bits = lax.bitcast_convert_type(z, itype)
    return jnp.where(bits < 0, bits ^ jnp.asarray(jnp.iinfo(itype).max, itype), bits), itype


def _sort_descending(z):
    keys, itype = _sort_keys(z)
    s = lax.sort(keys)[::-1]
    s = jnp.where(s < 0, s ^ jnp.asarray(jnp.iinfo(itype).max, itype), s)
    return lax.bitcast_convert_type(s, z.dtype)


def _threshold(z, active, radius):
    # τ = (Σ_{active} z − r)/#active, written in z itself so that gradients flow (the set is locally constant)
    return (jnp.sum(jnp.where(active, z, 0)) - radius) / jnp.sum(active).astype(z.dtype)


def _simplex_sort(z, radius):
    u = _sort_descending(lax.stop_gradient(z))
    css = jnp.cumsum(u) - radius
    j = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    rho = jnp.sum(
        u - css / j > 0
    )  # that set is a prefix: its length is the index of the last positive entry
    # the active set is {z_i >= u_ρ} (ties with u_ρ are active too), exactly ρ entries
    return _threshold(z, z >= u[rho - 1], radius)


def _simplex_pivot(z, radius):
    # Michelot (1986): τ ← (Σ_{z_i > τ} z_i − r)/#{z_i > τ} until the set stops changing.
    # τ increases monotonically and the active set shrinks, so it stops after at most d passes (in practice
    # a handful: 4–8 on the paper's game at d = 500) at the exact threshold.
    d = z.shape[-1]

    def body(c, z):
        tau, count, _ = c
        active = z > tau
        new = jnp.sum(active)
        return (jnp.sum(jnp.where(active, z, 0)) - radius) / new.astype(z.dtype), new, new != count

    zs = lax.stop_gradient(z)  # the loop only finds the active set; τ is recomputed from it below
    # two lower bounds on τ (the mean rule, and max z − r since the largest entry is active); from any lower
    # bound the passes increase τ monotonically to the exact threshold, and the larger start saves passes when
    # the projection is sparse (as the games' strategies are)
    tau0 = jnp.maximum((jnp.sum(zs) - radius) / d, jnp.max(zs) - radius)
    tau, _, _ = lax.while_loop(
        lambda c: c[2], lambda c: body(c, zs), (tau0, jnp.asarray(d), jnp.asarray(True))
    )
    return _threshold(z, z > tau, radius)


def project_simplex(
    z: Float[ArrayLike, " d"],
    radius: float | int | Float[ArrayLike, ""] = 1.0,
    *,
    method: str = "sort",
) -> Float[Array, " d"]:
    """Euclidean projection onto {x >= 0, Σ x = radius}: Π(z) = max(z − τ, 0) for the threshold τ with
    Σ max(z − τ, 0) = radius.

    ``method="sort"`` (Held et al. 1974, Duchi et al. 2008): u = sort(z) descending,
    ρ = max{j : u_j − (Σ_{i<=j} u_i − r)/j > 0}, τ = (Σ_{i<=ρ} u_i − r)/ρ. Cost O(d log d) (one sort, done on
    order-preserving integer keys, which XLA:CPU sorts ~3× faster than floats), memory O(d).
    ``method="pivot"`` (Michelot 1986): fixed-point passes τ ← (Σ_{z_i>τ} z_i − r)/#{z_i > τ} from
    τ = max((Σz − r)/d, max z − r); exact after finitely many O(d) passes (a handful in practice), no sort:
    about 2–5× faster than ``"sort"`` on a CPU at d = 500, where the projection dominates an iteration of the
    VR methods. Both are differentiable almost everywhere (τ is piecewise linear in z).
    """
    check_choice(method, "method", ("sort", "pivot"))
    z = jnp.asarray(z)
    tau = (_simplex_sort if method == "sort" else _simplex_pivot)(z, radius)
    return jnp.maximum(z - tau, 0)


class Simplex(AbstractConstraint):
    """C = {x >= 0, Σ x = radius} (the probability simplex for radius 1); ``method`` as in
    :func:`project_simplex` ("sort", the default, or "pivot")."""

    radius: float = eqx.field(static=True, default=1.0)
    method: str = eqx.field(static=True, default="sort")

    def __check_init__(self):
        check_positive(self.radius, "radius")
        check_choice(self.method, "method", ("sort", "pivot"))

    def project(self, z):
        return project_simplex(z, self.radius, method=self.method)

    def support(self, g):
        return self.radius * jnp.max(g)


class Ball(AbstractConstraint):
    """C = {z : ‖z − center‖₂ <= radius}; Π(z) = center + (z − center)·min(1, radius/‖z − center‖)."""

    radius: float = eqx.field(static=True, default=1.0)
    center: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        check_positive(self.radius, "radius")

    def project(self, z):
        d = z - self.center
        nrm = jnp.linalg.norm(d)
        scale = jnp.minimum(1.0, self.radius / jnp.maximum(nrm, jnp.finfo(z.dtype).tiny))
        return self.center + d * scale

    def support(self, g):
        return self.center * jnp.sum(g) + self.radius * jnp.linalg.norm(g)


class Product(AbstractConstraint):
    """C = C_1 × C_2 × ... on consecutive blocks of z of the given static ``sizes``."""

    constraints: tuple[AbstractConstraint, ...]
    sizes: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, constraints, sizes):
        constraints, sizes = tuple(constraints), tuple(int(s) for s in sizes)
        if len(constraints) != len(sizes) or not constraints:
            raise ValueError(
                f"`constraints` and `sizes` must be non-empty and of equal length, got "
                f"{len(constraints)} and {len(sizes)}."
            )
        for i, s in enumerate(sizes):
            check_positive_int(s, f"sizes[{i}]")
        self.constraints, self.sizes = constraints, sizes

    def project(self, z):
        if z.shape[-1] != sum(self.sizes):
            raise ValueError(f"`z` must have size {sum(self.sizes)}, got {z.shape[-1]}.")
        first = self.constraints[0]
        if (
            len(self.sizes) > 1
            and len(set(self.sizes)) == 1
            and isinstance(first, Simplex)
            and first.method == "pivot"
            and all(
                isinstance(c, Simplex) and (c.radius, c.method) == (first.radius, first.method)
                for c in self.constraints
            )
        ):
            # equal pivot simplices (a square game's strategies): one batched pivot loop for all blocks
            blocks = z.reshape(*z.shape[:-1], len(self.sizes), self.sizes[0])
            return jax.vmap(first.project)(blocks).reshape(z.shape)
        out, start = [], 0
        for c, s in zip(self.constraints, self.sizes, strict=False):
            out.append(c.project(z[start : start + s]))
            start += s
        return jnp.concatenate(out)

    def support(self, g):
        if g.shape[-1] != sum(self.sizes):
            raise ValueError(f"`g` must have size {sum(self.sizes)}, got {g.shape[-1]}.")
        total, start = jnp.zeros((), g.dtype), 0
        for c, s in zip(self.constraints, self.sizes, strict=False):
            total = total + c.support(g[start : start + s])
            start += s
        return total
