"""Projections onto simple convex sets: the resolvents of indicator functions G = ι_C.

Every constraint is an :class:`equinox.Module` with ``project(z) -> Π_C(z)`` acting on a flat vector and
``support(g) -> σ_C(g) = max_{c ∈ C} ⟨c, g⟩`` (the support function: linear minimisation over C, used for
duality gaps). All projections are vectorised (no Python loops over coordinates) and cost O(d) except the
simplex, which costs one sort, O(d log d), or a few O(d) pivot passes (``method="pivot"``); every support
function costs O(d).
"""

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Float

from .._checks import (
    check_choice,
    check_positive,
    check_positive_int,
    concrete_or_none,
    error_if_not,
)

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

    def warm_start(self, dtype) -> Any:
        """The initial warm-start state of :meth:`project_warm` (a pytree; ``None`` for the projections
        that have none)."""
        return None

    def project_warm(self, z: Float[Array, " d"], warm: Any) -> tuple[Float[Array, " d"], Any]:
        """``(Π_C(z), warm')``: the projection, started from what the previous call left in ``warm``
        (the solvers carry it in their loop state: consecutive iterates are close, so an iterative
        projection such as the simplex pivot rule starts next to its answer). The projection is the
        same as :meth:`project`'s whatever ``warm`` holds; only its cost changes."""
        return self.project(z), warm


class Unconstrained(AbstractConstraint):
    """C = R^d: Π is the identity (G = 0); σ_C(g) = 0 at g = 0, +inf otherwise."""

    def project(self, z):
        return z

    def support(self, g):
        return jnp.where(jnp.all(g == 0), jnp.zeros((), g.dtype), jnp.inf)


def _bound(value, name):
    if isinstance(value, str):
        raise TypeError(f"`{name}` must be a real number or array, got {value!r}.")
    try:
        arr = jnp.asarray(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"`{name}` must be a real number or array, got {value!r}.") from e
    if not (jnp.issubdtype(arr.dtype, jnp.integer) or jnp.issubdtype(arr.dtype, jnp.floating)):
        raise TypeError(f"`{name}` must be real (integer or floating), got dtype {arr.dtype}.")
    return arr.astype(jnp.promote_types(jnp.result_type(float), arr.dtype))


class Box(AbstractConstraint):
    """C = {z : lower <= z <= upper} (scalars or per-coordinate arrays); Π(z) = clip(z, lower, upper)."""

    lower: Float[Array, " ..."]
    upper: Float[Array, " ..."]

    def __init__(self, lower: ArrayLike = -1.0, upper: ArrayLike = 1.0):
        lo, hi = _bound(lower, "lower"), _bound(upper, "upper")
        if lo.ndim > 1 or hi.ndim > 1:
            raise ValueError(
                f"`lower` and `upper` must be scalars or vectors, got shapes {lo.shape} and {hi.shape}."
            )
        if lo.shape and hi.shape and lo.shape != hi.shape:
            raise ValueError(
                f"`lower` and `upper` must have the same shape, got {lo.shape} and {hi.shape}."
            )
        lo_h, hi_h = concrete_or_none(lower), concrete_or_none(upper)
        for v, name in ((lo_h, "lower"), (hi_h, "upper")):
            if v is not None and np.any(np.isnan(v)):
                raise ValueError(f"`{name}` must not be NaN, got {v.tolist()!r}.")
        if lo_h is not None and hi_h is not None and np.any(lo_h > hi_h):
            raise ValueError(f"`lower` must be <= `upper`, got lower={lower!r}, upper={upper!r}.")
        # JAX bounds (also traced ones) are checked at run time
        ok = ~jnp.isnan(lo) & ~jnp.isnan(hi) & (lo <= hi)
        lo = error_if_not(lo, ok, "`lower` must be <= `upper` (and neither NaN).")
        self.lower, self.upper = lo, hi

    def project(self, z):
        n = jnp.shape(z)[-1] if jnp.ndim(z) else None
        for b in (self.lower, self.upper):
            if b.ndim and b.shape[-1] != n:
                raise ValueError(
                    f"`z` must have size {b.shape[-1]} (the size of the bounds), got shape "
                    f"{jnp.shape(z)}."
                )
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


def _shifted(z, radius):
    """``z − max z`` with entries below ``−radius`` clipped to ``−radius`` (the projection is unchanged:
    the threshold of the shifted vector lies in [−r, 0), so those entries are inactive either way).
    Every active entry is then within r of 0, so no sum below cancels, whatever the magnitude of z; the
    clip keeps ``z − max z`` finite (``−2e308`` would overflow)."""
    m = lax.stop_gradient(jnp.max(z))
    return jnp.maximum(z - m, -radius)


def _simplex_sort(z, radius):
    # z is shifted (max 0, entries >= −r): the cumulative sums of the active prefix are O(ρ r)
    u = _sort_descending(lax.stop_gradient(z))
    css = jnp.cumsum(u) - radius
    j = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    # that set is a prefix (at least the largest entry, u_1 = 0 > −r): ρ is its length
    rho = jnp.maximum(jnp.sum(u - css / j > 0), 1)
    # the active set is {z_i >= u_ρ} (ties with u_ρ are active too), exactly ρ entries
    return _threshold(z, z >= u[rho - 1], radius)


def _pivot_rows(zs, radius, tau0):
    """Michelot's pivot rule (1986) on the rows of the shifted ``zs`` (shape (B, d): max 0, entries >= −r),
    started from ``tau0`` (shape (B,), any values in [−r, −r/d]). Returns the thresholds (B,).

    One pass τ ← (Σ_{z_i > τ} z_i − r)/#{z_i > τ} from *any* τ with a non-empty active set gives a lower
    bound on the exact threshold τ* (the active set of τ* holds every z_i > τ*; the sum over a superset or
    a subset of it, less r, is at most #set · τ*). From a lower bound the passes increase τ and shrink the
    set monotonically, and a pass that does not shrink it ends the loop: its set is the exact active set and
    its τ the exact threshold. So a start from the previous call's threshold (a warm start: the solvers'
    iterates move little per step) costs two passes when the active set did not change, and never more
    passes than d + 1. Every ``tau0`` in [−r, −r/d] keeps the largest entry (0) active, so no pass divides by
    zero. The passes need only one fused reduction each (the sum and the count of the active entries as one
    reduce over a stacked array): at d = 500 an XLA:CPU pass costs its kernel launches, not its flops.
    """
    d = zs.shape[-1]
    cdt = zs.dtype if d < 2**24 else jnp.int64  # the count in the float reduce is exact below 2^24
    r = jnp.asarray(radius, zs.dtype)

    def sum_count(tau):
        active = zs > tau[..., None]
        sc = jnp.sum(jnp.stack([jnp.where(active, zs, 0), active.astype(cdt)]), axis=-1)
        c = jnp.maximum(sc[1], 1)
        return (sc[0] - r) / c.astype(zs.dtype), sc[1]

    tau, count = sum_count(tau0)  # a lower bound on τ* from here on

    def cond(c):
        return jnp.any(c[2]) & (c[3] < d + 1)

    def body(c):
        tau, count, running, passes = c
        new_tau, new_count = sum_count(tau)
        # active sets are superlevel sets of z, so equal counts mean equal sets: the set that gave τ is
        # {z > τ}, τ is exact, and new_tau recomputes it. After the first pass the sets only shrink; one
        # that grows there (rounding at a tie) ends the loop too, with the threshold of that set (the
        # rule of the previous implementation). In the first pass the set may grow (a warm start above τ*).
        stop = (new_count == count) | ((new_count > count) & (passes > 0))
        return (
            jnp.where(running, new_tau, tau),
            jnp.where(running, new_count, count),
            running & ~stop,
            passes + 1,
        )

    running = jnp.ones(tau.shape, bool)
    tau, _, _, _ = lax.while_loop(cond, body, (tau, count, running, jnp.asarray(0)))
    return tau


@jax.custom_jvp
def _simplex_from_threshold(zs, tau):
    return jnp.maximum(zs - tau[..., None], 0)


@_simplex_from_threshold.defjvp
def _simplex_from_threshold_jvp(primals, tangents):
    # τ = (Σ_{A} z − r)/|A| on the (locally constant) active set A: dτ = mean_A dz, dΠ = 1_A (dz − dτ)
    zs, tau = primals
    dz, _ = tangents
    out = _simplex_from_threshold(zs, tau)
    active = (zs > tau[..., None]).astype(zs.dtype)
    dtau = jnp.sum(active * dz, -1) / jnp.maximum(jnp.sum(active, -1), 1)
    return out, active * (dz - dtau[..., None])


def _simplex_pivot_rows(z, radius, hint):
    """Projections of the rows of ``z`` (B, d) by the pivot rule, warm-started from ``hint`` (B,) (the
    previous thresholds, in the coordinates of z; −inf for a cold start). Returns (projections,
    thresholds)."""
    d = z.shape[-1]
    r = jnp.asarray(radius, z.dtype)
    m = lax.stop_gradient(jnp.max(z, axis=-1))
    zs = jnp.maximum(z - m[..., None], -r)
    tau0 = jnp.clip(hint.astype(z.dtype) - m, -r, -r / d)
    tau = _pivot_rows(lax.stop_gradient(zs), r, tau0)
    tau = jnp.where(jnp.isfinite(m), tau, jnp.nan)
    return _simplex_from_threshold(zs, tau), tau + m


def _project_simplex(z, radius, method):
    """The projection without input checks (the solvers' path: a NaN iterate gives NaN, reported by the
    solver's status). Half precision is computed in float32."""
    dtype = z.dtype
    work = jnp.promote_types(dtype, jnp.float32)
    zw = z.astype(work)
    r = jnp.asarray(radius, work)
    if method == "pivot":
        out, _ = _simplex_pivot_rows(zw[None], r, jnp.full((1,), -jnp.inf, work))
        return out[0].astype(dtype)
    zs = _shifted(zw, r)
    tau = _simplex_sort(zs, r)
    return jnp.maximum(zs - tau, 0).astype(dtype)


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
    τ = max((Σz − r)/d, max z − r); at most d passes (a handful in practice), no sort:
    about 2–5× faster than ``"sort"`` on a CPU at d = 500, where the projection dominates an iteration of the
    VR methods. Both are differentiable almost everywhere (τ is piecewise linear in z).

    Stable at any magnitude: both work on z − max z (entries below −r clipped, which leaves the projection
    unchanged), so the sums that give τ involve only the entries within r of the largest one, and the
    output is nonnegative and sums to ``radius`` to rounding (``[1e17, 1, 0.5]`` gives ``[1, 0, 0]``).
    float16/bfloat16 inputs are computed in float32 and returned in their dtype.

    Raises ``ValueError``/``TypeError`` naming the argument for a bad shape, dtype, ``radius`` or ``method``
    at trace time, and (``eqx.error_if``, also under ``jit``) for a non-finite ``z`` or a ``radius``
    that is not a positive finite number at run time.
    """
    check_choice(method, "method", ("sort", "pivot"))
    if isinstance(radius, str):
        raise TypeError(f"`radius` must be a positive number, got {radius!r}.")
    check_positive(radius, "radius")
    z = jnp.asarray(z)
    if not jnp.issubdtype(z.dtype, jnp.floating):
        raise TypeError(f"`z` must be a real floating array, got dtype {z.dtype}.")
    if z.ndim != 1 or z.shape[0] == 0:
        raise ValueError(f"`z` must be a non-empty vector (shape (d,)), got shape {z.shape}.")
    r = jnp.asarray(radius)
    if r.ndim or not jnp.issubdtype(r.dtype, jnp.number) or jnp.iscomplexobj(r):
        raise TypeError(f"`radius` must be a real scalar, got {radius!r}.")
    z = error_if_not(z, jnp.isfinite(z), "`z` must be finite (it has NaN or inf entries).")
    z = error_if_not(z, jnp.isfinite(r) & (r > 0), "`radius` must be a positive finite number.")
    return _project_simplex(z, radius, method)


class Simplex(AbstractConstraint):
    """C = {x >= 0, Σ x = radius} (the probability simplex for radius 1); ``method`` as in
    :func:`project_simplex` ("sort", the default, or "pivot")."""

    radius: float = eqx.field(static=True, default=1.0)
    method: str = eqx.field(static=True, default="sort")

    def __check_init__(self):
        if isinstance(self.radius, bool) or not isinstance(
            self.radius, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"`radius` must be a Python number (a static field), got {self.radius!r} of type "
                f"{type(self.radius).__name__}."
            )
        check_positive(self.radius, "radius")
        check_choice(self.method, "method", ("sort", "pivot"))

    def project(self, z):
        return _project_simplex(z, self.radius, self.method)

    def warm_start(self, dtype):
        # the previous threshold τ (−inf: a cold start); the sort method has no use for one
        if self.method != "pivot":
            return None
        return jnp.full((1,), -jnp.inf, jnp.promote_types(dtype, jnp.float32))

    def project_warm(self, z, warm):
        if warm is None or self.method != "pivot":
            return self.project(z), warm
        work = jnp.promote_types(z.dtype, jnp.float32)
        out, tau = _simplex_pivot_rows(z.astype(work)[None], self.radius, warm)
        return out[0].astype(z.dtype), tau.astype(warm.dtype)

    def support(self, g):
        return self.radius * jnp.max(g)


class Ball(AbstractConstraint):
    """C = {z : ‖z − center‖₂ <= radius}; Π(z) = center + (z − center)·min(1, radius/‖z − center‖)."""

    radius: float = eqx.field(static=True, default=1.0)
    center: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        for name in ("radius", "center"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(
                    f"`{name}` must be a Python number (a static field), got {v!r} of type "
                    f"{type(v).__name__}."
                )
            if not math.isfinite(v):
                raise ValueError(f"`{name}` must be finite, got {v!r}.")
        check_positive(self.radius, "radius")

    def project(self, z):
        d = jnp.asarray(z) - self.center
        nrm = _norm(d)
        scale = jnp.minimum(1.0, self.radius / jnp.maximum(nrm, jnp.finfo(d.dtype).tiny))
        return self.center + d * scale

    def support(self, g):
        return self.center * jnp.sum(g) + self.radius * _norm(g)


def _norm(x):
    """‖x‖₂ scaled by max |x| (no overflow at 1e30 in float32, no underflow at 1e-30), differentiable."""
    s = lax.stop_gradient(jnp.max(jnp.abs(x), initial=0.0))
    ok = jnp.isfinite(s) & (s > 0)
    div = jnp.where(ok, s, 1.0).astype(x.dtype)
    return jnp.where(ok, div * jnp.linalg.norm(x / div), jnp.where(s > 0, s, 0.0))


class Product(AbstractConstraint):
    """C = C_1 × C_2 × ... on consecutive blocks of z of the given static ``sizes``."""

    constraints: tuple[AbstractConstraint, ...]
    sizes: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, constraints, sizes):
        constraints, sizes = tuple(constraints), tuple(sizes)
        if len(constraints) != len(sizes) or not constraints:
            raise ValueError(
                f"`constraints` and `sizes` must be non-empty and of equal length, got "
                f"{len(constraints)} and {len(sizes)}."
            )
        for i, c in enumerate(constraints):
            if not isinstance(c, AbstractConstraint):
                raise TypeError(
                    f"`constraints` must hold AbstractConstraint instances, got {c!r} at index {i}."
                )
        sizes = tuple(check_positive_int(s, f"sizes[{i}]") for i, s in enumerate(sizes))
        self.constraints, self.sizes = constraints, sizes

    def _equal_pivot_simplices(self):
        first = self.constraints[0]
        return (
            len(self.sizes) > 1
            and len(set(self.sizes)) == 1
            and isinstance(first, Simplex)
            and first.method == "pivot"
            and all(
                isinstance(c, Simplex) and (c.radius, c.method) == (first.radius, first.method)
                for c in self.constraints
            )
        )

    def _check_size(self, z):
        if z.shape[-1] != sum(self.sizes):
            raise ValueError(f"`z` must have size {sum(self.sizes)}, got {z.shape[-1]}.")

    def project(self, z):
        return self.project_warm(z, self.warm_start(z.dtype))[0]

    def warm_start(self, dtype):
        if self._equal_pivot_simplices():
            return jnp.full((len(self.sizes),), -jnp.inf, jnp.promote_types(dtype, jnp.float32))
        return tuple(c.warm_start(dtype) for c in self.constraints)

    def project_warm(self, z, warm):
        self._check_size(z)
        if self._equal_pivot_simplices() and z.ndim == 1:
            # equal pivot simplices (a square game's strategies): one pivot loop over all blocks as rows
            work = jnp.promote_types(z.dtype, jnp.float32)
            blocks = z.astype(work).reshape(len(self.sizes), self.sizes[0])
            out, tau = _simplex_pivot_rows(blocks, self.constraints[0].radius, warm)
            return out.reshape(z.shape).astype(z.dtype), tau.astype(warm.dtype)
        if not isinstance(warm, tuple) or len(warm) != len(self.constraints):
            warm = tuple(c.warm_start(z.dtype) for c in self.constraints)
        out, new, start = [], [], 0
        for c, s, w in zip(self.constraints, self.sizes, warm, strict=False):
            o, w = c.project_warm(z[start : start + s], w)
            out.append(o)
            new.append(w)
            start += s
        return jnp.concatenate(out), tuple(new)

    def support(self, g):
        if g.shape[-1] != sum(self.sizes):
            raise ValueError(f"`g` must have size {sum(self.sizes)}, got {g.shape[-1]}.")
        total, start = jnp.zeros((), g.dtype), 0
        for c, s in zip(self.constraints, self.sizes, strict=False):
            total = total + c.support(g[start : start + s])
            start += s
        return total
