"""Instance sequences of "Learning to Relax" (Khodak et al., ICLR 2024, §G).

- MATLAB's ``numgrid``/``delsq``: node numbering is column-major over the grid (``find`` order), the
  boundary row/column is 0; ``delsq`` is the unscaled 5-point Laplacian (4 on the diagonal).
- The shifted-Laplacian sequence ``A_t = delsq(numgrid('S', 12)) + c_t·I`` (n = 100) with
  ``c_t = −0.15 + 0.6·Beta(2, 6)`` ("low" variance) or ``0.6·Beta(½, 3/2)`` ("high"), and right-hand
  sides ``N(0, I)`` truncated by rejection to ``‖b‖ <= √n``.
- The 2D heat equation ``u_t = κ(t)Δu + f`` on [0, 1]² (zero boundary), Crank–Nicolson with step Δt:
  ``(I − ½κΔt Δ_h) u⁺ = (I + ½κΔt Δ_h) u + Δt f(t + Δt/2)``, κ and f at the half step, bump initial
  condition and a moving bump forcing (the authors' ``Heat2D.m``).
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import sparse as jsparse
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray, Real

from .._checks import (
    check_choice,
    check_positive,
    check_positive_int,
    concrete_or_none,
    error_if_not,
)
from ._comparators import young_omega_from_beta
from ._stencil import LaplacianStencil, laplacian_stencil
from ._validate import check_key


# ------------------------------------------------------------------------------ numgrid / delsq
def numgrid(region: str, n: int) -> np.ndarray:
    """MATLAB ``numgrid(region, n)``: an (n, n) int array numbering the interior nodes 1..N
    column-major (0 outside). ``region``: ``'S'`` square, ``'L'`` L-shaped (the lower-left quadrant
    removed). Grid x runs left→right along columns, y top→bottom from 1 to −1, as in MATLAB."""
    check_choice(region, "region", ("S", "L"))
    check_positive_int(n, "n", minimum=3)
    row = np.concatenate([[-1.0], np.arange(-(n - 3), n - 2, 2) / (n - 1), [1.0]])
    x = np.ones((n, 1)) * row[None, :]
    y = np.flipud(x.T)
    G = (x > -1) & (x < 1) & (y > -1) & (y < 1)
    if region == "L":
        G = G & ((x > 0) | (y > 0))
    k = np.flatnonzero(G.ravel(order="F"))  # MATLAB's find: column-major
    flat = np.zeros(n * n, dtype=np.int64)
    flat[k] = np.arange(1, k.size + 1)
    return flat.reshape((n, n), order="F")


def _check_grid(G, name: str = "G", *, border: bool = False) -> np.ndarray:
    """A ``numgrid`` numbering (host): a 2D integer array, 0 outside, the nodes numbered 1..N once each
    (N >= 1); with ``border``, the outer rows/columns are 0 (the helpers use ``G[1:-1, 1:-1]``)."""
    if isinstance(G, (jax.Array, jax.core.Tracer)):
        raise TypeError(
            f"`{name}` must be a host (NumPy) numbering grid from `numgrid`, not a JAX array."
        )
    try:
        G = np.asarray(G)
    except Exception as e:  # noqa: BLE001
        raise TypeError(
            f"`{name}` must be a 2D integer numbering grid, got {type(G).__name__}."
        ) from e
    if G.dtype.kind not in "iu":
        raise TypeError(
            f"`{name}` must be a 2D integer numbering grid (numgrid), got dtype {G.dtype}."
        )
    if G.ndim != 2:
        raise ValueError(f"`{name}` must be a 2D numbering grid, got shape {G.shape}.")
    nodes = np.sort(G[G > 0])
    if (
        G.size == 0
        or nodes.size == 0
        or np.any(G < 0)
        or not np.array_equal(nodes, np.arange(1, nodes.size + 1))
    ):
        raise ValueError(
            f"`{name}` must number its nodes 1..N exactly once (0 elsewhere, N >= 1), as numgrid does."
        )
    if border and (
        min(G.shape) < 3 or G[0].any() or G[-1].any() or G[:, 0].any() or G[:, -1].any()
    ):
        raise ValueError(f"`{name}` must have a zero border (a numgrid grid), got shape {G.shape}.")
    return G


def delsq(G: np.ndarray, *, sparse: bool = False):
    """MATLAB ``delsq(G)``: the 5-point Laplacian (4 on the diagonal, −1 per interior neighbour) on
    the nodes numbered by ``G``; float64 NumPy (dense) or a ``BCOO`` matrix with ``sparse=True``."""
    G = _check_grid(G)
    N = int(G.max())
    rows, cols, vals = [], [], []
    for i, j in zip(*np.nonzero(G), strict=False):
        p = G[i, j] - 1
        rows.append(p), cols.append(p), vals.append(4.0)
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            a, c = i + di, j + dj
            if 0 <= a < G.shape[0] and 0 <= c < G.shape[1] and G[a, c] > 0:
                rows.append(p), cols.append(G[a, c] - 1), vals.append(-1.0)
    if sparse:
        idx = np.stack([rows, cols], axis=1)
        return jsparse.BCOO((jnp.asarray(vals), jnp.asarray(idx)), shape=(N, N))
    A = np.zeros((N, N))
    np.add.at(A, (np.asarray(rows), np.asarray(cols)), vals)
    return A


def numgrid_stencil(G: np.ndarray, *, shift: ArrayLike = 0.0) -> LaplacianStencil:
    """``delsq(G) + shift·I`` as a matrix-free :class:`LaplacianStencil` on ``G[1:-1, 1:-1]`` with the
    domain mask ``G > 0`` (same unknowns, same column-major sweep order)."""
    inner = _check_grid(G, border=True)[1:-1, 1:-1]
    check_positive(4 + np.asarray(shift) if concrete_or_none(shift) is not None else 1.0, "shift")
    mask = inner > 0
    return laplacian_stencil(inner.shape, shift=shift, mask=None if mask.all() else mask)


def _real(x, name):
    if isinstance(x, (str, bytes)) or not jnp.issubdtype(jnp.result_type(x), jnp.number):
        raise TypeError(f"`{name}` must be a real array, got dtype {jnp.result_type(x)}.")
    return jnp.asarray(x)


def vector_to_grid(G: np.ndarray, v: Float[ArrayLike, " ... N"]) -> Float[Array, " ... a b"]:
    """Place a vector in ``numgrid`` numbering onto the interior grid ``G[1:-1, 1:-1]`` (0 outside)."""
    inner = _check_grid(G, border=True)[1:-1, 1:-1]
    v = _real(v, "v")
    if v.ndim < 1 or v.shape[-1] != inner.max():
        raise ValueError(
            f"`v` must have shape (..., {inner.max()}) (the nodes of `G`), got {v.shape}."
        )
    padded = jnp.concatenate([jnp.zeros((*v.shape[:-1], 1), v.dtype), v], axis=-1)
    return padded[..., inner]


def grid_to_vector(G: np.ndarray, u: Float[ArrayLike, " ... a b"]) -> Float[Array, " ... N"]:
    """Inverse of :func:`vector_to_grid`."""
    inner = _check_grid(G, border=True)[1:-1, 1:-1]
    order = np.argsort(inner.ravel())[-int(inner.max()) :]  # positions of nodes 1..N
    u = _real(u, "u")
    if u.ndim < 2 or u.shape[-2:] != inner.shape:
        raise ValueError(
            f"`u` must have shape (..., {inner.shape[0]}, {inner.shape[1]}) (the interior of `G`), got {u.shape}."
        )
    return u.reshape(*u.shape[:-2], -1)[..., order]


# --------------------------------------------------------------------- shifted-Laplacian sequence
def truncated_gaussian(
    key: PRNGKeyArray, n: int, radius: float | None = None, *, max_attempts: int = 64
) -> Float[Array, " n"]:
    """``b ~ N(0, I_n)`` conditioned on ``‖b‖ <= radius`` (default √n).

    By rejection (P(accept) ≈ ½ for the default radius), at most ``max_attempts`` draws; if none is
    accepted (a small radius: P(accept) = P(χ²_n <= radius²), e.g. 1e-180 for radius 0.1, n = 100)
    the last draw's direction is kept and its norm is drawn from the truncated χ_n law by inverting
    its CDF (bisection on the regularised incomplete gamma function; where that CDF underflows, by
    its small-radius limit ``radius·U^{1/n}``). So the loop is bounded and the result always lies in
    the ball. ``radius`` must be > 0 and finite (``ValueError`` for a host value; a device value is
    checked at run time).
    """
    check_key(key)
    check_positive_int(n, "n")
    check_positive_int(max_attempts, "max_attempts")
    radius = float(np.sqrt(n)) if radius is None else radius
    if isinstance(radius, (str, bytes)) or jnp.ndim(radius) != 0:
        raise TypeError(f"`radius` must be a real scalar, got {radius!r}.")
    check_positive(radius, "radius")
    dtype = jnp.result_type(float)
    radius = jnp.asarray(radius, dtype)
    radius = error_if_not(
        radius, jnp.isfinite(radius) & (radius > 0), "`radius` must be finite and > 0."
    )

    def body(c):
        k, _, i = c
        k, s = jax.random.split(k)
        return k, jax.random.normal(s, (n,), dtype), i + 1

    k, s = jax.random.split(key)
    k, g, _ = lax.while_loop(
        lambda c: (jnp.linalg.norm(c[1]) > radius) & (c[2] < max_attempts),
        body,
        (k, jax.random.normal(s, (n,), dtype), 1),
    )
    nrm = jnp.linalg.norm(g)

    # fallback: the exact norm law, chi_n truncated to [0, radius]
    a = 0.5 * n
    r2 = radius**2
    top = jax.scipy.special.gammainc(a, 0.5 * r2)
    u = jax.random.uniform(k, (), dtype) * top

    def bisect(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        below = jax.scipy.special.gammainc(a, 0.5 * mid) < u
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = lax.fori_loop(0, 60, bisect, (jnp.zeros((), dtype), r2))
    tiny = top <= 1e3 * jnp.finfo(dtype).tiny
    u01 = jax.random.uniform(jax.random.fold_in(k, 1), (), dtype)
    rad = jnp.where(tiny, radius * u01 ** (1.0 / n), jnp.sqrt(0.5 * (lo + hi)))
    direction = g / jnp.maximum(nrm, jnp.finfo(dtype).tiny)
    return jnp.where(nrm <= radius, g, jnp.minimum(rad, radius) * direction)


class ShiftedLaplacianSequence(eqx.Module):
    """A sequence ``A_t = delsq(G) + c_t·I``, ``b_t`` truncated Gaussian (numgrid numbering).

    **Fields:** ``shifts`` (T,), ``rhs`` (T, N), ``grid`` (static numgrid ``G``, a tuple of tuples).
    Use ``.matrix(t)`` (dense), ``.operator(c)`` (matrix-free), ``.rhs_grid()`` (T, a, b),
    ``.young_omega()`` (T,) the exact ω*(A_t).
    """

    shifts: Float[Array, " T"]
    rhs: Float[Array, " T N"]
    grid: tuple = eqx.field(static=True)

    @property
    def G(self) -> np.ndarray:
        return np.asarray(self.grid)

    def base_matrix(self) -> np.ndarray:
        return delsq(self.G)

    def matrix(self, t: int) -> Float[Array, " N N"]:
        A = jnp.asarray(self.base_matrix())
        return A + self.shifts[t] * jnp.eye(A.shape[0])

    def operator(self, shift) -> LaplacianStencil:
        return numgrid_stencil(self.G, shift=shift)

    def rhs_grid(self) -> Float[Array, " T a b"]:
        return vector_to_grid(self.G, self.rhs)

    def young_omega(self) -> Float[Array, " T"]:
        """ω*(A_t): β(c) = ρ(4I − delsq(G))/(4 + c) since D = (4 + c)I (eigenvalues on the host)."""
        rho = np.max(np.abs(np.linalg.eigvalsh(4 * np.eye(self.rhs.shape[1]) - self.base_matrix())))
        return young_omega_from_beta(rho / (4 + self.shifts))


def shifted_laplacian_sequence(
    key: PRNGKeyArray,
    num_instances: int,
    *,
    size: int = 12,
    region: str = "S",
    variance: str = "low",
) -> ShiftedLaplacianSequence:
    """The paper's synthetic sequence: ``delsq(numgrid(region, size)) + c_t·I`` with
    ``c_t = −0.15 + 0.6·Beta(2, 6)`` (``variance="low"``) or ``0.6·Beta(½, 3/2)`` (``"high"``), and
    ``b_t`` standard Gaussian truncated to ``‖b_t‖ <= √n``. ``size=12`` gives the 10×10 grid, n = 100."""
    check_positive_int(num_instances, "num_instances")
    check_choice(variance, "variance", ("low", "high"))
    G = numgrid(region, size)
    n = int(G.max())
    kc, kb = jax.random.split(key)
    if variance == "low":
        c = -0.15 + 0.6 * jax.random.beta(kc, 2.0, 6.0, (num_instances,))
    else:
        c = 0.6 * jax.random.beta(kc, 0.5, 1.5, (num_instances,))
    b = jax.vmap(lambda k: truncated_gaussian(k, n))(jax.random.split(kb, num_instances))
    return ShiftedLaplacianSequence(c, b, tuple(map(tuple, G.tolist())))


# ------------------------------------------------------------------------------------ heat equation
def default_kappa(t):
    """κ(t) = max(0.1 sin 2πt, −10 sin 2πt) (the authors' code; the paper's text says 0.01 sin)."""
    s = jnp.sin(2 * jnp.pi * jnp.asarray(t))
    return jnp.maximum(0.1 * s, -10 * s)


def _bump(X, Y, cx, cy, r):
    q = ((X - cx) ** 2 + (Y - cy) ** 2) / r**2
    inside = q < 1
    return jnp.where(inside, jnp.exp(1 - 1 / (1 - jnp.where(inside, q, 0.0))), 0.0)


class HeatEquation(eqx.Module):
    """Crank–Nicolson for ``u_t = κ(t)Δu + f`` on [0, 1]², h = 1/nx, (nx−1)² unknowns.

    ``A_t = I − ½κ(t+Δt/2)Δt·Δ_h`` (:meth:`operator`), ``b_t = (I + ½κΔt·Δ_h)u + Δt f(t+Δt/2)``
    (:meth:`rhs`); initial bump centred (½, ½) of radius ¼; forcing 32·bump of radius 1/8 centred at
    (½ + cos(16πt)/4, ½ + sin(16πt)/4). ``context(step)`` = κ(t+Δt/2), what contextual learners see.
    """

    nx: int = eqx.field(static=True)
    num_steps: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    kappa: Callable = eqx.field(static=True)

    def __init__(
        self, nx: int, *, num_steps: int = 5000, dt: float = 1e-3, kappa: Callable = default_kappa
    ):
        check_positive_int(nx, "nx", minimum=3)
        check_positive_int(num_steps, "num_steps")
        check_positive(dt, "dt")
        self.nx, self.num_steps, self.dt, self.kappa = nx, num_steps, float(dt), kappa

    @property
    def shape(self):
        return (self.nx - 1, self.nx - 1)

    def _xy(self):
        x = jnp.arange(1, self.nx) / self.nx
        return jnp.meshgrid(x, x, indexing="ij")

    def initial(self) -> Float[Array, " a b"]:
        X, Y = self._xy()
        return _bump(X, Y, 0.5, 0.5, 0.25)

    def forcing(self, t) -> Float[Array, " a b"]:
        X, Y = self._xy()
        return 32 * _bump(
            X, Y, 0.5 + jnp.cos(16 * jnp.pi * t) / 4, 0.5 + jnp.sin(16 * jnp.pi * t) / 4, 0.125
        )

    def context(self, step) -> Float[Array, " "]:
        return self.kappa((step + 0.5) * self.dt)

    def operator(self, step) -> LaplacianStencil:
        half = 0.5 * self.context(step) * self.dt
        return laplacian_stencil(self.shape, h=1.0 / self.nx, scale=half, shift=1.0)

    def rhs(self, u: Float[ArrayLike, "a b"], step: Real[ArrayLike, ""]) -> Float[Array, "a b"]:
        u = jnp.asarray(u)
        half = 0.5 * self.context(step) * self.dt
        lap = laplacian_stencil(self.shape, h=1.0 / self.nx)  # −Δ_h
        return u - half * lap.mv(u) + self.dt * self.forcing((step + 0.5) * self.dt)

    def contexts(self) -> Float[Array, " T"]:
        return jax.vmap(self.context)(jnp.arange(self.num_steps))


def heat_cost_table(
    problem: HeatEquation,
    omegas: Float[ArrayLike, " d"],
    solver: Callable | None = None,
    *,
    rtol: float = 1e-8,
    max_steps: int = 10000,
) -> tuple[Int[Array, "T d"], Float[Array, "a b"]]:
    """Costs ``(T, d)`` of warm-started SSOR-PCG at every step and every ω of ``omegas``, along the
    trajectory advanced by the cheapest arm's solution (all arms agree to ``rtol``). This is the
    cost-table form of the heat experiment: a learner replayed on it sees the costs it would see live
    up to solution differences of order ``rtol``.

    The default solver is :class:`SSORPCG` (``rtol``, ``max_steps``) with the natural (column-major)
    ordering, as in the authors' ``h2d.m``: its splitting is built once per time step
    (``init``) and shared by the ``d`` solves. ``solver(A, b, omega, x0)`` returning a
    :class:`jaxsci.Solution` replaces it (e.g. ``sweep="redblack"``, where ω = 1 is about optimal).
    The cost is :func:`jaxsci.relax.solve_cost` (``num_steps``; the budget for a failed solve).
    Returns the table and the final state."""
    from ._replay import solve_cost
    from ._solvers import SSORPCG
    from ._validate import check_omega_grid

    check_omega_grid(omegas)
    grid = jnp.asarray(omegas)
    pcg = SSORPCG(rtol=rtol, max_steps=max_steps)

    def step(u, k):
        A = problem.operator(k)
        b = problem.rhs(u, k)
        if solver is None:
            state = pcg.init(A)
            sols = jax.vmap(lambda w: pcg.solve(state, b, omega=w, x0=u, throw=False))(grid)
        else:
            sols = jax.vmap(lambda w: solver(A, b, w, u))(grid)
        costs = solve_cost(sols)
        return sols.value[jnp.argmin(costs)], costs

    u, costs = lax.scan(step, problem.initial(), jnp.arange(problem.num_steps))
    return costs, u
