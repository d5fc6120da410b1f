"""The paper's test problems and an applied one (no downloads; scikit-learn's bundled data sets).

- :func:`policeman_and_burglar`: Nemirovski's policeman-and-burglar matrix game (Cai et al., ICLR 2024, Fig. 1);
- :func:`ouyang_xu_quadratic`: the bilinear-quadratic lower-bound instance of Ouyang & Xu (2021);
- :class:`RobustLogisticRegression` / :func:`robust_logistic_regression`: distributionally robust logistic
  regression as a convex-concave min-max problem with one component per training sample.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import (
    check_choice,
    check_ndim,
    check_positive,
    check_positive_int,
    default_float_dtype,
)
from ._constraints import AbstractConstraint, Ball, Product, Simplex
from ._problems import AbstractFiniteSumProblem, AffineFiniteSum, BilinearGame, _real_array

__all__ = [
    "RobustLogisticRegression",
    "ouyang_xu_quadratic",
    "policeman_and_burglar",
    "policeman_and_burglar_matrix",
    "robust_logistic_regression",
]


def policeman_and_burglar_matrix(
    n: int = 500, *, theta: float = 0.8, seed: int = 1, variant: str = "authors"
) -> np.ndarray:
    """The n × n policeman-and-burglar payoff matrix (float64 NumPy), w = |N(0, 1)| from
    ``np.random.seed(seed)`` (the authors' generator: seed 1 for the figure).

    ``variant="authors"``: A_ij = w_j (1 − exp(−θ|i − j|)), the weights on the minimising player's
    columns (x); this is what the released code builds (``w * C`` broadcasts over columns) and what the
    figure uses. It changes the game: its solution is a pure strategy for the minimiser.
    ``variant="nemirovski"``: A_ij = w_i (1 − exp(−θ|i − j|)), the original game, where the burglar (the
    maximiser y, rows) picks house i of wealth w_i and the policeman (minimiser x, columns) house j.

    Game value: no closed form in general. For ``variant="authors"`` with seed 1 (n = 20, 100, 500 checked
    against ``scipy.optimize.linprog``) the minimiser's optimum is pure, so V = min_j max_i A_ij =
    min_j w_j (1 − exp(−θ max(j, n − 1 − j))); with equal weights, or for ``"nemirovski"``, it is mixed. Compute
    it with :func:`jaxsci.monotone.game_value` (certified by a duality gap).
    """
    check_positive_int(n, "n")
    check_choice(variant, "variant", ("authors", "nemirovski"))
    if isinstance(theta, (str, bool)) or not isinstance(
        theta, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"`theta` must be a positive number, got {theta!r}.")
    check_positive(theta, "theta")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be an int, got {seed!r} of type {type(seed).__name__}.")
    if not 0 <= seed < 2**32:
        raise ValueError(f"`seed` must lie in [0, 2**32), got {seed}.")
    rng = np.random.RandomState(seed)  # same stream as np.random.seed(seed); np.random.randn(n)
    w = np.abs(rng.randn(n))
    i = np.arange(n)
    c = 1.0 - np.exp(-theta * np.abs(i[:, None] - i[None, :]))
    return c * w[None, :] if variant == "authors" else c * w[:, None]


def policeman_and_burglar(
    n: int = 500,
    *,
    theta: float = 0.8,
    seed: int = 1,
    variant: str = "authors",
    dtype=None,
    simplex_method: str = "sort",
) -> BilinearGame:
    """:class:`BilinearGame` on simplices with :func:`policeman_and_burglar_matrix` (``variant`` "authors", the
    figure's, or "nemirovski", the original). Start at uniform strategies z0 = 1/n as in the paper.
    ``simplex_method``: see :class:`BilinearGame`."""
    dtype = default_float_dtype(dtype)
    check_choice(simplex_method, "simplex_method", ("sort", "pivot"))
    a = policeman_and_burglar_matrix(n, theta=theta, seed=seed, variant=variant)
    return BilinearGame(jnp.asarray(a, dtype), "simplex", simplex_method=simplex_method)


def ouyang_xu_quadratic(n: int = 200, *, dtype=None) -> AffineFiniteSum:
    """The unconstrained bilinear-quadratic hard instance (Ouyang & Xu 2021), as in the authors' code.

    A[i, n−1−i] = 1, A[i, n−2−i] = −1, A /= 4; H = 2AᵀA; b = 1/4; h = e_n/4;
    f(x, y) = ½xᵀHx − hᵀx − ⟨Ax − b, y⟩, F(x, y) = (Hx − h − Aᵀy, Ax − b) = M z + q with
    M = [[H, −Aᵀ], [A, 0]], q = (−h, b·(−1)). Component i owns coordinates x_i and y_i (column sampling of M).
    F is monotone and Lipschitz but not cocoercive (⟨Mz, z⟩ = 0 for z = (0, y)). Start at z0 = 1/n.
    """
    check_positive_int(n, "n", minimum=2)
    dtype = default_float_dtype(dtype)
    a = np.zeros((n, n))
    i = np.arange(n)
    a[i, n - 1 - i] = 1.0
    a[i[:-1], n - 2 - i[:-1]] = -1.0
    a /= 4.0
    h_mat = 2.0 * a.T @ a
    m = np.block([[h_mat, -a.T], [a, np.zeros((n, n))]])
    h = np.zeros(n)
    h[-1] = 0.25
    q = np.concatenate([-h, -0.25 * np.ones(n)])
    groups = np.stack([i, n + i], axis=1).astype(np.int32)
    return AffineFiniteSum(jnp.asarray(m, dtype), jnp.asarray(q, dtype), groups=groups)


class RobustLogisticRegression(AbstractFiniteSumProblem):
    """Distributionally robust logistic regression (a χ²-penalised DRO), one component per sample:

        min_{‖w‖ <= R} max_{p ∈ Δ_N}  Σ_i p_i ℓ_i(w) + (μ/2)‖w‖² − (ρN/2)‖p − 1/N‖²,
        ℓ_i(w) = log(1 + exp(−s_i x_iᵀw)),  s_i ∈ {−1, +1}.

    Convex in w, strongly concave in p: F(w, p) = (Σ_i p_i ∇ℓ_i(w) + μw, −ℓ(w) + ρN(p − 1/N)) is monotone and
    Lipschitz on the (compact) domain, not cocoercive. z = concatenate([w, p]), C = Ball(R) × Δ_N.
    Component i: F_i(w, p) = (N p_i ∇ℓ_i(w) + μw, −N ℓ_i(w) e_i + ρN(p − 1/N)), so E_i F_i = F.
    Cost: full evaluation O(Nd); batch of b O(bd + N) (the dense p-regulariser is O(N)).
    """

    features: Float[Array, " N d"]
    labels: Float[Array, " N"]
    mu: Float[Array, " "]
    rho: Float[Array, " "]
    constraint: AbstractConstraint
    lipschitz_bound: Float[Array, " "]

    def __init__(
        self,
        features: ArrayLike,
        labels: ArrayLike,
        *,
        mu: float = 1e-3,
        rho: float = 1.0,
        radius: float = 10.0,
    ):
        check_ndim(features, "features", 2)
        num, d = jnp.shape(features)
        if num == 0:
            raise ValueError("`features` must have at least one sample (the finite sum is empty).")
        if jnp.shape(labels) != (num,):
            raise ValueError(f"`labels` must have shape ({num},), got {jnp.shape(labels)}.")
        check_positive(mu, "mu", strict=False)
        check_positive(rho, "rho")
        check_positive(radius, "radius")
        x = _real_array(features, "features")
        self.features, self.labels = x, _real_array(labels, "labels").astype(x.dtype)
        self.mu, self.rho = jnp.asarray(mu, x.dtype), jnp.asarray(rho, x.dtype)
        self.constraint = Product((Ball(float(radius)), Simplex()), (d, num))
        try:  # host float64 bound on L_F over the domain (see `lipschitz`); NaN for traced data
            xx = np.asarray(features, np.float64)
            bound = max(float((xx**2).sum(1).max()) / 4 + float(mu), float(rho) * num) + float(
                np.linalg.norm(xx, 2)
            )
        except Exception:  # noqa: BLE001
            bound = np.nan
        self.lipschitz_bound = jnp.asarray(bound, x.dtype)

    @property
    def dtype(self):
        return self.features.dtype

    @property
    def lipschitz(self) -> Float[Array, " "]:
        """An upper bound on the Lipschitz constant of F on the domain (p in the simplex):
        ‖J‖ <= max(max_i ‖x_i‖²/4 + μ, ρN) + ‖X‖₂ (the ww-block Σ p_i σ'·x_i x_iᵀ + μI, the pp-block ρN·I,
        and the skew coupling [∇ℓ_1 … ∇ℓ_N] with ‖∇ℓ_i‖ <= ‖x_i‖). Steps of order 1/L are needed: the ρN
        block makes η = 0.05 diverge on breast-cancer with ρ = 1 (L ≈ 656)."""
        return self.lipschitz_bound

    @property
    def num_components(self) -> int:
        return self.features.shape[0]

    @property
    def dim(self) -> int:
        return self.features.shape[0] + self.features.shape[1]

    def split(self, z):
        d = self.features.shape[1]
        return z[:d], z[d:]

    def losses(self, w: Float[Array, " d"]) -> Float[Array, " N"]:
        """ℓ_i(w) for every sample."""
        return jnp.logaddexp(0.0, -self.labels * (self.features @ w))

    def _p_reg(self, p):
        num = self.num_components
        return self.rho * num * (p - 1.0 / num)

    def operator(self, z):
        w, p = self.split(z)
        margin = self.labels * (self.features @ w)
        coef = -p * self.labels * jax.nn.sigmoid(-margin)
        gw = coef @ self.features + self.mu * w
        gp = -jnp.logaddexp(0.0, -margin) + self._p_reg(p)
        return jnp.concatenate([gw, gp])

    def batch_operator(self, z, idx):
        num, b = self.num_components, idx.shape[0]
        w, p = self.split(z)
        xb, sb = self.features[idx], self.labels[idx]
        margin = sb * (xb @ w)
        coef = -p[idx] * sb * jax.nn.sigmoid(-margin)
        gw = (num / b) * (coef @ xb) + self.mu * w
        gp = self._p_reg(p).at[idx].add(-(num / b) * jnp.logaddexp(0.0, -margin))
        return jnp.concatenate([gw, gp])

    def objective(self, z: Float[Array, " d"]) -> Float[Array, " "]:
        """The saddle function f(w, p)."""
        w, p = self.split(z)
        num = self.num_components
        return (
            p @ self.losses(w)
            + 0.5 * self.mu * w @ w
            - 0.5 * self.rho * num * jnp.sum((p - 1.0 / num) ** 2)
        )


def robust_logistic_regression(
    dataset: str = "breast_cancer",
    *,
    mu: float = 1e-3,
    rho: float = 1.0,
    radius: float = 10.0,
    dtype=None,
) -> RobustLogisticRegression:
    """:class:`RobustLogisticRegression` on a data set shipped by scikit-learn (imported lazily):
    ``"breast_cancer"`` (N = 569, 30 features) or ``"digits"`` (N = 1797, 64 features; label: digit >= 5).
    Features are standardised and a constant intercept column is appended; labels are ±1."""
    check_choice(dataset, "dataset", ("breast_cancer", "digits"))
    dtype = default_float_dtype(dtype)
    check_positive(mu, "mu", strict=False)
    check_positive(rho, "rho")
    check_positive(radius, "radius")
    from sklearn import datasets  # lazy: scikit-learn is an optional dependency

    if dataset == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
        s = 2.0 * y - 1.0
    else:
        x, y = datasets.load_digits(return_X_y=True)
        s = np.where(y >= 5, 1.0, -1.0)
    x = np.asarray(x, np.float64)
    x = (x - x.mean(0)) / np.maximum(x.std(0), 1e-12)
    x = np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
    return RobustLogisticRegression(
        jnp.asarray(x, dtype), jnp.asarray(s, dtype), mu=mu, rho=rho, radius=radius
    )
