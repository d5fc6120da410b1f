"""Projections onto simple convex sets: the resolvents of indicator functions G = ι_C.

Every constraint is an :class:`equinox.Module` with ``project(z) -> Π_C(z)`` acting on a flat vector. All
projections are vectorised (no Python loops over coordinates) and cost O(d) except the simplex, which
costs one sort, O(d log d).
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_positive, check_positive_int

__all__ = ["AbstractConstraint", "Ball", "Box", "Product", "Simplex", "Unconstrained"]


class AbstractConstraint(eqx.Module):
    """A closed convex set C with a cheap Euclidean projection Π_C (the resolvent of its indicator)."""

    def project(self, z: Float[Array, " d"]) -> Float[Array, " d"]:
        raise NotImplementedError

    def __call__(self, z: Float[Array, " d"]) -> Float[Array, " d"]:
        return self.project(z)


class Unconstrained(AbstractConstraint):
    """C = R^d: Π is the identity (G = 0)."""

    def project(self, z):
        return z


class Box(AbstractConstraint):
    """C = {z : lower <= z <= upper} (scalars or per-coordinate arrays); Π(z) = clip(z, lower, upper)."""

    lower: Float[Array, "..."]
    upper: Float[Array, "..."]

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


def project_simplex(z: Float[Array, " d"], radius: float | Array = 1.0) -> Float[Array, " d"]:
    """Euclidean projection onto {x >= 0, Σ x = radius} (sort-based; Held et al. 1974, Duchi et al. 2008).

    u = sort(z) descending, ρ = max{j : u_j − (Σ_{i<=j} u_i − r)/j > 0}, τ = (Σ_{i<=ρ} u_i − r)/ρ,
    Π(z) = max(z − τ, 0). Cost O(d log d) (one sort), memory O(d). Differentiable almost everywhere.
    """
    u = jnp.sort(z)[::-1]
    css = jnp.cumsum(u) - radius
    j = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    active = u - css / j > 0
    rho = jnp.sum(active)  # active is a prefix: its length is the index of the last positive entry
    tau = css[rho - 1] / rho.astype(z.dtype)
    return jnp.maximum(z - tau, 0)


class Simplex(AbstractConstraint):
    """C = {x >= 0, Σ x = radius} (the probability simplex for radius 1); sort-based projection."""

    radius: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        check_positive(self.radius, "radius")

    def project(self, z):
        return project_simplex(z, self.radius)


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
        out, start = [], 0
        for c, s in zip(self.constraints, self.sizes):
            out.append(c.project(z[start : start + s]))
            start += s
        return jnp.concatenate(out)
