"""Finite-sum monotone inclusion problems: find z with 0 ∈ F(z) + G(z), F = (1/n) Σ_i F_i.

A problem is an :class:`equinox.Module` (a pytree: jit- and vmap-able, e.g. ``jax.vmap`` over a stack of
problems built with ``jax.tree.map(jnp.stack, ...)``). It provides

- ``operator(z)``: F(z), a full evaluation (costs n oracle units in the solvers' accounting);
- ``batch_operator(z, idx)``: (1/b) Σ_{i∈idx} F_i(z), an unbiased estimate of F(z) (costs b units);
- ``batch_difference(z, z_prev, idx)``: (1/b) Σ_{i∈idx} [F_i(z) − F_i(z_prev)] (costs 2b units; the PAGE /
  SVRG correction);
- ``project(z)``: the resolvent of G = ι_C (a projection, see :mod:`._constraints`);
- ``residual(z)``: the natural residual ‖z − Π_C(z − F(z))‖ (= ‖F(z)‖ when unconstrained); it is zero exactly
  at solutions and is the computable exit criterion used by the authors (its evaluation is free in the
  oracle accounting);
- known constants where available: ``lipschitz`` (L_F, of F), ``average_lipschitz`` (L̄ with
  E_q ‖F_q(u) − F_q(v)‖² <= L̄²‖u − v‖², Assumption 3 of Cai et al.), ``cocoercivity`` (β with
  ⟨F(u) − F(v), u − v⟩ >= β‖F(u) − F(v)‖²; 0 for merely monotone problems); NaN where unknown.

Components are the n "samples" F_i with E_i F_i = F (uniform i), i.e. F_i is the n-scaled contribution of
sample i, exactly as in the authors' code (Cai, Alacaoglu & Diakonikolas, ICLR 2024).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Float, Int

from .._checks import check_choice, check_ndim, check_positive_int
from .._solution import norm
from ._constraints import AbstractConstraint, Box, Product, Simplex, Unconstrained

__all__ = ["AbstractFiniteSumProblem", "AffineFiniteSum", "BilinearGame", "coordinate_groups"]


def _concrete(x):
    try:
        return np.asarray(x, dtype=np.float64)
    except Exception:  # noqa: BLE001 - tracers: constants unknown
        return None


def _real_array(x, name):
    """``x`` as a JAX array of a real floating dtype (integers promoted, at least float32); complex,
    boolean or non-numeric input raises a ``TypeError`` naming ``name``."""
    if isinstance(x, str):
        raise TypeError(f"`{name}` must be a real array, got {x!r}.")
    a = jnp.asarray(x)
    if not (jnp.issubdtype(a.dtype, jnp.integer) or jnp.issubdtype(a.dtype, jnp.floating)):
        raise TypeError(f"`{name}` must be real (integer or floating), got dtype {a.dtype}.")
    if jnp.issubdtype(a.dtype, jnp.integer):
        return a.astype(jnp.result_type(float))  # integers: JAX's default float dtype
    return a.astype(jnp.promote_types(a.dtype, jnp.float32))  # half precision: float32


def _nan():
    return jnp.asarray(np.nan)


#: Up to this many rows, :func:`_combine_rows` reads them with unrolled ``dynamic_slice`` s (XLA fuses
#: them with the weighted sum into one loop); above it, one gather and a matrix-vector product.
_UNROLL_ROWS = 64


def _combine_rows(matrix, rows, vec):
    """Σ_j vec[rows[j]] · matrix[rows[j], :] (shape (m,)) for a few rows.

    A ``gather`` of b rows followed by a dot costs XLA:CPU tens of microseconds at b = 22, m = 500 (a
    generic gather loop and a separate dot), more than a simplex projection; b ``dynamic_slice`` s fuse with
    the multiply-adds into a single elementwise loop (about 1 µs). Rows are accumulated in index order.
    """
    b = rows.shape[0]
    if b > _UNROLL_ROWS:
        return vec[rows] @ matrix[rows]
    out = None
    for j in range(b):
        row = lax.dynamic_index_in_dim(matrix, rows[j], 0, keepdims=False)
        term = lax.dynamic_index_in_dim(vec, rows[j], 0, keepdims=False) * row
        out = term if out is None else out + term
    return out


class AbstractFiniteSumProblem(eqx.Module):
    """Base class: F = (1/n) Σ_i F_i monotone, G = ι_C with C = ``self.constraint``."""

    constraint: eqx.AbstractVar[AbstractConstraint]

    @property
    def num_components(self) -> int:
        """n, the number of components F_i (static)."""
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Size of the flat variable z (static)."""
        raise NotImplementedError

    @property
    def dtype(self):
        return jnp.result_type(*[x for x in jax.tree.leaves(self) if eqx.is_inexact_array(x)])

    def operator(self, z: Float[Array, " d"]) -> Float[Array, " d"]:
        raise NotImplementedError

    def batch_operator(self, z: Float[Array, " d"], idx: Int[Array, " b"]) -> Float[Array, " d"]:
        raise NotImplementedError

    def batch_difference(
        self, z: Float[Array, " d"], z_prev: Float[Array, " d"], idx: Int[Array, " b"]
    ) -> Float[Array, " d"]:
        return self.batch_operator(z, idx) - self.batch_operator(z_prev, idx)

    def project(self, z: Float[Array, " d"]) -> Float[Array, " d"]:
        return self.constraint.project(z)

    def project_warm(self, z: Float[Array, " d"], warm):
        """``(Π_C(z), warm')``: :meth:`AbstractConstraint.project_warm` (the same projection, started
        from the previous call's state: the simplex pivot rule's threshold)."""
        return self.constraint.project_warm(z, warm)

    def warm_start(self):
        """The initial state of :meth:`project_warm` (``None`` where the projection has none)."""
        return self.constraint.warm_start(self.dtype)

    def residual(self, z: Float[ArrayLike, " d"]) -> Float[Array, ""]:
        """‖z − Π(z − F(z))‖₂ (natural residual, step 1); ‖F(z)‖ when unconstrained. A scaled norm
        (:func:`jaxsci._solution.norm`: no overflow or underflow at 1e±30 in float32), not for
        differentiation."""
        z = jnp.asarray(z)
        return norm(z - self.project(z - self.operator(z)))

    @property
    def lipschitz(self) -> Float[Array, " "]:
        return _nan()

    @property
    def average_lipschitz(self) -> Float[Array, " "]:
        return _nan()

    @property
    def cocoercivity(self) -> Float[Array, " "]:
        return _nan()


def coordinate_groups(sizes, num_components: int) -> np.ndarray:
    """Assign coordinates to components: in each block of ``sizes``, coordinate j goes to component
    j mod n. Returns an int array (n, g) padded with ``sum(sizes)`` (an index of a zero coordinate).

    For blocks of size n each (the paper's problems) component i owns coordinate i of every block.
    """
    n = check_positive_int(num_components, "num_components")
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"`sizes` must be a sequence of block sizes, got {sizes!r}.")
    sizes = [check_positive_int(s, "sizes") for s in sizes]
    if not sizes:
        raise ValueError("`sizes` must be non-empty (at least one block).")
    owned: list[list[int]] = [[] for _ in range(n)]
    start = 0
    for s in sizes:
        for j in range(s):
            owned[j % n].append(start + j)
        start += s
    g = max(1, max(len(o) for o in owned))
    out = np.full((n, g), start, dtype=np.int32)
    for i, o in enumerate(owned):
        out[i, : len(o)] = o
    return out


class AffineFiniteSum(AbstractFiniteSumProblem):
    """F(z) = M z + q with column-group components F_i(z) = n·M[:, g_i] z[g_i] + q.

    The groups g_i partition the coordinates (default: one coordinate per component, n = d), so
    (1/n) Σ_i F_i = F. ``M`` need not be symmetric; F is monotone iff M + Mᵀ ⪰ 0 (checked on the host when
    ``M`` is concrete, raising ``ValueError`` otherwise unless ``check_monotone=False``).

    Constants (float64 NumPy on the host at construction): L_F = ‖M‖₂; L̄ = √n·max_i ‖M[:, g_i]‖₂;
    cocoercivity β = 1/λ_max(M) for symmetric PSD M, 0 when some z has ⟨Mz, z⟩ = 0 ≠ Mz, NaN otherwise.

    Cost: a full evaluation O(d²); a batch of b components O(b·g·d). Memory: M stored transposed, O(d²).
    """

    matrix_t: Float[Array, " d+1 d"]  # Mᵀ with an extra zero row (the padding index of `groups`)
    offset: Float[Array, " d"]
    groups: Int[Array, " n g"]
    constraint: AbstractConstraint
    constants: Float[Array, " 3"]

    def __init__(
        self,
        matrix: ArrayLike,
        offset: ArrayLike | None = None,
        *,
        groups: ArrayLike | None = None,
        constraint: AbstractConstraint | None = None,
        check_monotone: bool = True,
    ):
        check_ndim(matrix, "matrix", 2)
        d = jnp.shape(matrix)[0]
        if jnp.shape(matrix) != (d, d):
            raise ValueError(f"`matrix` must be square, got shape {jnp.shape(matrix)}.")
        if d == 0:
            raise ValueError("`matrix` must be non-empty (the finite sum has no components).")
        m = _real_array(matrix, "matrix")
        q = (
            jnp.zeros(d, m.dtype)
            if offset is None
            else _real_array(offset, "offset").astype(m.dtype)
        )
        if q.shape != (d,):
            raise ValueError(f"`offset` must have shape ({d},), got {q.shape}.")
        if groups is None:
            groups = np.arange(d, dtype=np.int32)[:, None]
        groups = np.asarray(groups)
        if groups.dtype.kind not in "iu":
            raise TypeError(f"`groups` must be an int array, got dtype {groups.dtype}.")
        if groups.ndim != 2 or groups.shape[0] == 0:
            raise ValueError(
                f"`groups` must be a non-empty (n, g) int array, got shape {groups.shape}."
            )
        owned = np.sort(groups[groups != d].ravel())
        if not np.array_equal(owned, np.arange(d)):
            raise ValueError("`groups` must partition the coordinates 0..d-1 (pad with d).")
        mt = jnp.concatenate([m.T, jnp.zeros((1, d), m.dtype)], axis=0)
        self.matrix_t, self.offset, self.groups = mt, q, jnp.asarray(groups, jnp.int32)
        if constraint is not None and not isinstance(constraint, AbstractConstraint):
            raise TypeError(
                f"`constraint` must be an AbstractConstraint (e.g. Box()), got {constraint!r}."
            )
        self.constraint = Unconstrained() if constraint is None else constraint
        self.constants = jnp.asarray(self._host_constants(m, groups, check_monotone), m.dtype)

    @staticmethod
    def _host_constants(m, groups, check_monotone):
        mm = _concrete(m)
        if mm is None or not np.all(np.isfinite(mm)):
            # traced, or NaN/inf data: constants unknown (a solve reports `nonfinite_input`)
            return np.full(3, np.nan)
        d = mm.shape[0]
        unit = max(float(np.abs(mm).max()), np.finfo(np.float64).tiny)  # no overflow at 1e300
        mm = mm / unit
        sym = 0.5 * (mm + mm.T)
        ev, evec = np.linalg.eigh(sym)
        scale = max(np.abs(ev).max(), 1e-300)
        if check_monotone and ev.min() < -1e-10 * scale:
            raise ValueError(
                f"`matrix` must be monotone (M + Mᵀ positive semidefinite); its symmetric part has "
                f"eigenvalue {ev.min():.3e}."
            )
        lip = np.linalg.norm(mm, 2)
        n = groups.shape[0]
        padded = np.concatenate([mm, np.zeros((d, 1))], axis=1)
        lbar = np.sqrt(n) * max(np.linalg.norm(padded[:, g], 2) for g in groups)
        null = evec[:, ev <= 1e-10 * scale]
        if null.shape[1] and np.linalg.norm(mm @ null) > 1e-8 * max(lip, 1e-300):
            coco = 0.0
        elif np.allclose(mm, mm.T, atol=1e-12 * max(lip, 1e-300)):
            coco = 1.0 / max(ev.max(), 1e-300)
        else:
            coco = np.nan
        return np.array([lip * unit, lbar * unit, coco / unit])

    @property
    def num_components(self) -> int:
        return self.groups.shape[0]

    @property
    def dtype(self):
        return self.offset.dtype

    @property
    def dim(self) -> int:
        return self.offset.shape[0]

    def operator(self, z):
        return z @ self.matrix_t[:-1] + self.offset

    def batch_difference(self, z, z_prev, idx):
        n, b = self.num_components, idx.shape[0]
        cols = self.groups[idx].reshape(-1)
        dz = jnp.concatenate([z - z_prev, jnp.zeros((1,), z.dtype)])
        return (n / b) * _combine_rows(self.matrix_t, cols, dz)

    def batch_operator(self, z, idx):
        return self.batch_difference(z, jnp.zeros_like(z), idx) + self.offset

    @property
    def lipschitz(self):
        return self.constants[0]

    @property
    def average_lipschitz(self):
        return self.constants[1]

    @property
    def cocoercivity(self):
        return self.constants[2]


class BilinearGame(AbstractFiniteSumProblem):
    """The matrix game min_{x ∈ X} max_{y ∈ Y} yᵀAx, with A of shape (n, m): x ∈ R^m, y ∈ R^n.

    The operator acts on the flat z = concatenate([x, y]) (size m + n):  F(z) = (Aᵀy, −Ax).
    ``domain="simplex"``: X, Y probability simplices (a matrix game in mixed strategies);
    ``domain="box"``: X, Y boxes [lower, upper]^m × [lower, upper]^n. ``simplex_method``: the simplex projection
    algorithm, "sort" (default) or "pivot" (same result, faster on a CPU; see :func:`project_simplex`).

    Components (n = A.shape[0], as in the authors' code): F_i(z) = n·(A[i, :]ᵀ y_i, −Σ_{j ∈ g_i} A[:, j] x_j)
    with g_i = {j : j mod n = i}; for a square A this is the authors' F_i = n·(A[i,:]ᵀ y_i, −A[:, i] x_i).
    For m != n each x-coordinate still belongs to exactly one component, so E_i F_i = F.

    Constants: L_F = ‖A‖₂; L̄ = √n·max(max_i ‖A[i, :]‖, max_i ‖A[:, g_i]‖₂); cocoercivity 0 (a bilinear
    game is monotone but not cocoercive, which is outside Algorithm 1's guarantee).
    Cost: full evaluation O(mn); a batch of b components O(b(m + n)). Memory: A and Aᵀ, O(mn).
    """

    matrix: Float[Array, " n m"]
    matrix_t: Float[Array, " m+1 n"]  # Aᵀ with an extra zero row (padding index of col_groups)
    col_groups: Int[Array, " n g"]
    constraint: AbstractConstraint
    constants: Float[Array, " 3"]
    domain: str = eqx.field(static=True)

    def __init__(
        self,
        A: ArrayLike,
        domain: str = "simplex",
        *,
        lower: float = -1.0,
        upper: float = 1.0,
        simplex_method: str = "sort",
    ):
        check_ndim(A, "A", 2)
        check_choice(domain, "domain", ("simplex", "box"))
        check_choice(simplex_method, "simplex_method", ("sort", "pivot"))
        n, m = jnp.shape(A)
        if n == 0 or m == 0:
            raise ValueError(
                f"`A` must be non-empty (the finite sum has no components), got shape {(n, m)}."
            )
        a = _real_array(A, "A")
        self.matrix = a
        self.matrix_t = jnp.concatenate([a.T, jnp.zeros((1, n), a.dtype)], axis=0)
        groups = coordinate_groups([m], n)
        self.col_groups = jnp.asarray(groups)
        self.domain = domain
        if domain == "simplex":
            self.constraint = Product(
                (Simplex(method=simplex_method), Simplex(method=simplex_method)), (m, n)
            )
        else:
            self.constraint = Product((Box(lower, upper), Box(lower, upper)), (m, n))
        aa = _concrete(a)
        if aa is None or not np.all(np.isfinite(aa)):  # traced or NaN/inf: constants unknown
            self.constants = jnp.full(3, jnp.nan, a.dtype)
        else:
            unit = max(float(np.abs(aa).max()), np.finfo(np.float64).tiny)  # no overflow at 1e300
            aa = aa / unit
            padded = np.concatenate([aa, np.zeros((n, 1))], axis=1)
            col = max(np.linalg.norm(padded[:, g], 2) for g in groups)
            row = np.linalg.norm(aa, axis=1).max()
            lip = np.linalg.norm(aa, 2)
            self.constants = jnp.asarray(
                [lip * unit, np.sqrt(n) * max(row, col) * unit, 0.0 if lip > 0 else np.inf],
                a.dtype,
            )

    @property
    def num_components(self) -> int:
        return self.matrix.shape[0]

    @property
    def dtype(self):
        return self.matrix.dtype

    @property
    def dim(self) -> int:
        return self.matrix.shape[0] + self.matrix.shape[1]

    def split(self, z: Float[Array, " d"]) -> tuple[Float[Array, " m"], Float[Array, " n"]]:
        """(x, y) from the flat z."""
        m = self.matrix.shape[1]
        return z[:m], z[m:]

    def operator(self, z):
        x, y = self.split(z)
        return jnp.concatenate([y @ self.matrix, -(self.matrix @ x)])

    def batch_difference(self, z, z_prev, idx):
        n, b = self.num_components, idx.shape[0]
        dx, dy = self.split(z - z_prev)
        gx = (n / b) * _combine_rows(self.matrix, idx, dy)
        cols = self.col_groups[idx].reshape(-1)
        dxp = jnp.concatenate([dx, jnp.zeros((1,), dx.dtype)])
        gy = -(n / b) * _combine_rows(self.matrix_t, cols, dxp)
        return jnp.concatenate([gx, gy])

    def batch_operator(self, z, idx):
        return self.batch_difference(z, jnp.zeros_like(z), idx)

    def value(self, z: Float[ArrayLike, " d"]) -> Float[Array, ""]:
        """The payoff yᵀAx at z = (x, y) (the game value at a saddle point; within
        :meth:`duality_gap` of it anywhere in the domain)."""
        x, y = self.split(jnp.asarray(z))
        return y @ (self.matrix @ x)

    def value_bounds(self, z: Float[ArrayLike, " d"]) -> tuple[Float[Array, ""], Float[Array, ""]]:
        """``(lower, upper)`` = (min_{x' ∈ X} yᵀAx', max_{y' ∈ Y} y'ᵀAx), a bracket of the game value
        V = min_x max_y yᵀAx that any feasible z certifies (weak duality), through the support
        functions of X and Y: upper = σ_Y(Ax), lower = −σ_X(−Aᵀy). On simplices (mixed strategies)
        these are max_i (Ax)_i and min_j (Aᵀy)_j; on boxes Σ_i max(l·(Ax)_i, u·(Ax)_i) and its
        counterpart. Cost: two matrix-vector products, O(mn)."""
        x, y = self.split(jnp.asarray(z))
        cx, cy = self.constraint.constraints
        return -cx.support(-(y @ self.matrix)), cy.support(self.matrix @ x)

    def duality_gap(self, z: Float[ArrayLike, " d"]) -> Float[Array, ""]:
        """max_{y' ∈ Y} y'ᵀAx − min_{x' ∈ X} yᵀAx' >= 0 for feasible z, zero exactly at saddle points:
        the game's own optimality measure (z is an ε-Nash equilibrium with ε = the gap). On simplices
        it is max(Ax) − min(Aᵀy). See :meth:`value_bounds`."""
        lower, upper = self.value_bounds(z)
        return upper - lower

    @property
    def lipschitz(self):
        return self.constants[0]

    @property
    def average_lipschitz(self):
        return self.constants[1]

    @property
    def cocoercivity(self):
        return self.constants[2]
