"""Equinox wrappers: S4DLayer, S5Layer, SSMModel, and optax parameter labels.

Every parameter is a real array (complex quantities are stored as separate real and imaginary parts), so
optax's updates, weight decay and Adam moments are the real-valued ones. Layers act on one sample of shape
``(H, L)`` (channels first, like :func:`causal_conv`); batch with ``jax.vmap``.
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float, PRNGKeyArray

from .._checks import check_choice, check_positive, check_positive_int
from ._discretize import discretize
from ._init import init_dt, s4d_init, s5_init
from ._kernel import causal_conv
from ._scan import _discretize_mimo, s5_scan, s5_step
from ._vandermonde import vandermonde

__all__ = ["S4DLayer", "S5Layer", "SSMModel", "ssm_param_labels", "SSM_PARAM_NAMES"]

#: Field names treated as SSM parameters by :func:`ssm_param_labels` (own learning rate, no weight decay).
SSM_PARAM_NAMES = frozenset({"A_re", "A_im", "B_re", "B_im", "log_dt", "Lambda_re", "Lambda_im"})

_TRANSFORMS = ("exp", "softplus", "clip")


def _neg_real(raw, transform):
    """Re A < 0 by construction: -exp(raw), -softplus(raw) or min(raw, -1e-4)."""
    if transform == "exp":
        return -jnp.exp(raw)
    if transform == "softplus":
        return -jax.nn.softplus(raw)
    return jnp.minimum(raw, -1e-4)


def _neg_real_inverse(re, transform):
    re = np.minimum(re, -1e-4)
    if transform == "exp":
        return np.log(-re)
    if transform == "softplus":
        return np.log(np.expm1(-re))
    return re


class S4DLayer(eqx.Module):
    r"""S4D: one diagonal SSM per channel, ``y = causal_conv(u, s4d_kernel(A, B, C, dt, L), D)``.

    Parameters (all real): ``A_re`` (through ``real_transform``: ``-exp``, ``-softplus`` or ``clip(<= -1e-4)``),
    ``A_im``, ``B_re``/``B_im``, ``C_re``/``C_im`` (``(2, H, N/2)`` when bidirectional), ``log_dt`` of shape
    ``(H,)`` (tied) or ``(H, N/2)`` (per mode), ``D`` ``(H,)``. ``N`` is the full state size (even); ``N/2``
    complex modes are stored. Cost per call: kernel ``O(H N L)`` in GEMMs plus FFTs ``O(H L log L)``.
    Streaming: :meth:`init_state` and :meth:`step` (one sample ``(H,)`` at a time), equal to ``__call__``.
    Reference: Gu et al., S4D, NeurIPS 2022.
    """

    A_re: Float[Array, " h m"]
    A_im: Float[Array, " h m"]
    B_re: Float[Array, " h m"]
    B_im: Float[Array, " h m"]
    C_re: Float[Array, " *two h m"]
    C_im: Float[Array, " *two h m"]
    log_dt: Float[Array, " h *m"]
    D: Float[Array, " h"]
    real_transform: str = eqx.field(static=True)
    method: str = eqx.field(static=True)
    bidirectional: bool = eqx.field(static=True)

    def __init__(
        self,
        H: int,
        N: int = 64,
        *,
        init: str = "legs",
        real_transform: str = "exp",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        dt_tied: bool = True,
        method: str = "zoh",
        bidirectional: bool = False,
        key: PRNGKeyArray,
    ):
        H = check_positive_int(H, "H")
        N = check_positive_int(N, "N", minimum=2, even=True)
        check_choice(real_transform, "real_transform", _TRANSFORMS)
        check_choice(method, "method", ("zoh", "bilinear"))
        A, B = s4d_init(init, N)
        M = N // 2
        kC, kdt = jax.random.split(key)
        self.A_re = jnp.asarray(np.tile(_neg_real_inverse(A.real, real_transform), (H, 1)))
        self.A_im = jnp.asarray(np.tile(A.imag, (H, 1)))
        self.B_re = jnp.asarray(np.tile(B.real, (H, 1)))
        self.B_im = jnp.asarray(np.tile(B.imag, (H, 1)))
        cshape = (2, H, M) if bidirectional else (H, M)
        C = jax.random.normal(kC, (*cshape, 2)) * (0.5**0.5)
        self.C_re, self.C_im = C[..., 0], C[..., 1]
        seed = int(jax.random.randint(kdt, (), 0, 2**31 - 1))
        dt = init_dt(H, dt_min, dt_max, seed=seed, shape=(H,) if dt_tied else (H, M))
        self.log_dt = jnp.asarray(np.log(dt))
        self.D = jax.random.normal(jax.random.fold_in(kdt, 1), (H,))
        self.real_transform = real_transform
        self.method = method
        self.bidirectional = bidirectional

    def ssm(
        self,
    ) -> tuple[
        Complex[Array, " h m"],
        Complex[Array, " h m"],
        Complex[Array, " *two h m"],
        Float[Array, " h *m"],
    ]:
        """The continuous-time ``(A, B, C, dt)`` that the real parameters encode."""
        A = _neg_real(self.A_re, self.real_transform) + 1j * self.A_im
        return A, self.B_re + 1j * self.B_im, self.C_re + 1j * self.C_im, jnp.exp(self.log_dt)

    def kernel(self, L: int) -> Float[Array, " *two h l"]:
        """The convolution kernel(s) of length ``L``, shape ``(H, L)`` (``(2, H, L)`` when bidirectional)."""
        A, B, C, dt = self.ssm()
        dt_b = dt[:, None] if dt.ndim == 1 else dt
        Abar, Bbar = discretize(A, B, dt_b, self.method)
        z = dt_b * A if self.method == "zoh" else jnp.log(Abar)
        if self.bidirectional:
            return jnp.stack([vandermonde(C[i] * Bbar, z, L) for i in range(2)])
        return vandermonde(C * Bbar, z, L)

    def __call__(
        self, u: Float[Array, " h l"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " h l"]:
        del key
        if u.ndim != 2 or u.shape[0] != self.D.shape[0]:
            raise ValueError(f"`u` must have shape ({self.D.shape[0]}, L), got {u.shape}.")
        K = self.kernel(u.shape[1]).astype(u.dtype)
        return causal_conv(u, K, self.D.astype(u.dtype), bidirectional=self.bidirectional)

    def init_state(self) -> Complex[Array, " h m"]:
        """The zero state, complex ``(H, N/2)``."""
        if self.bidirectional:
            raise ValueError("a bidirectional layer has no causal streaming state")
        return jnp.zeros(self.A_re.shape, jnp.result_type(self.A_re, 1j))

    def step(
        self, x: Complex[Array, " h m"], u: Float[Array, " h"]
    ) -> tuple[Float[Array, " h"], Complex[Array, " h m"]]:
        """One streaming step: returns ``(y_t, x_t)``; equals column ``t`` of ``__call__``."""
        A, B, C, dt = self.ssm()
        Abar, Bbar = discretize(A, B, dt[:, None] if dt.ndim == 1 else dt, self.method)
        x = Abar * x + Bbar * u[:, None]
        return 2 * jnp.real(jnp.sum(C * x, axis=-1)) + self.D * u, x


class S5Layer(eqx.Module):
    r"""S5: one MIMO diagonal SSM over all channels, applied by a parallel scan (:func:`s5_scan`).

    ``P`` is the full state size (even); ``P/2`` complex modes are stored (conjugate symmetry). Initialised
    from block-diagonal HiPPO-N (:func:`s5_init`) with per-mode log-uniform ``dt``. Parameters (real):
    ``Lambda_re`` (``-exp`` / ``-softplus`` / clip), ``Lambda_im``, ``B_re``/``B_im`` ``(P/2, H)``,
    ``C_re``/``C_im`` ``(H, P/2)``, ``log_dt`` ``(P/2,)``, ``D`` ``(H,)``. Cost ``O(L P H)``; memory
    ``O(L P)`` (the state trajectory). Reference: Smith, Warrington, Linderman, S5, ICLR 2023.
    """

    Lambda_re: Float[Array, " m"]
    Lambda_im: Float[Array, " m"]
    B_re: Float[Array, " m h"]
    B_im: Float[Array, " m h"]
    C_re: Float[Array, " h m"]
    C_im: Float[Array, " h m"]
    log_dt: Float[Array, " m"]
    D: Float[Array, " h"]
    real_transform: str = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __init__(
        self,
        H: int,
        P: int = 64,
        *,
        blocks: int = 1,
        real_transform: str = "exp",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        method: str = "zoh",
        key: PRNGKeyArray,
    ):
        check_choice(real_transform, "real_transform", _TRANSFORMS)
        check_choice(method, "method", ("zoh", "bilinear"))
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        Lam, Bt, Ct, _ = s5_init(P, H, blocks=blocks, seed=seed)
        self.Lambda_re = jnp.asarray(_neg_real_inverse(Lam.real, real_transform))
        self.Lambda_im = jnp.asarray(Lam.imag)
        self.B_re, self.B_im = jnp.asarray(Bt.real), jnp.asarray(Bt.imag)
        self.C_re, self.C_im = jnp.asarray(Ct.real), jnp.asarray(Ct.imag)
        self.log_dt = jnp.asarray(
            np.log(init_dt(0, dt_min, dt_max, seed=seed + 1, shape=(P // 2,)))
        )
        self.D = jax.random.normal(jax.random.fold_in(key, 1), (H,))
        self.real_transform = real_transform
        self.method = method

    def ssm(self):
        """The continuous-time ``(Lambda, B, C, dt)``."""
        Lam = _neg_real(self.Lambda_re, self.real_transform) + 1j * self.Lambda_im
        return Lam, self.B_re + 1j * self.B_im, self.C_re + 1j * self.C_im, jnp.exp(self.log_dt)

    def __call__(
        self, u: Float[Array, " h l"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " h l"]:
        del key
        Lam, B, C, dt = self.ssm()
        return s5_scan(Lam, B, C, dt, u, self.D, method=self.method)[0].astype(u.dtype)

    def init_state(self) -> Complex[Array, " m"]:
        return jnp.zeros(self.Lambda_re.shape, jnp.result_type(self.Lambda_re, 1j))

    def step(
        self, x: Complex[Array, " m"], u: Float[Array, " h"]
    ) -> tuple[Float[Array, " h"], Complex[Array, " m"]]:
        """One streaming step: returns ``(y_t, x_t)``."""
        Lam, B, C, dt = self.ssm()
        Lbar, Bbar = _discretize_mimo(Lam, B, dt, self.method)
        return s5_step(Lbar, Bbar, C, x, u, self.D)


class _Block(eqx.Module):
    norm: eqx.nn.LayerNorm
    layer: S4DLayer | S5Layer
    out: eqx.nn.Linear
    dropout: eqx.nn.Dropout
    glu: bool = eqx.field(static=True)

    def __call__(self, x, *, key, inference):
        k1, k2 = (None, None) if key is None else jax.random.split(key)
        z = jax.vmap(self.norm, in_axes=1, out_axes=1)(x)  # normalise channels at each time step
        z = jax.nn.gelu(self.layer(z))
        z = self.dropout(z, key=k1, inference=inference)
        z = jax.vmap(self.out, in_axes=1, out_axes=1)(z)
        if self.glu:
            z = jax.nn.glu(z, axis=0)
        else:
            z = jax.nn.gelu(z)
        z = self.dropout(z, key=k2, inference=inference)
        return x + z


class SSMModel(eqx.Module):
    r"""A deep SSM: linear encoder → ``n_layers`` residual blocks → pooling → linear decoder.

    Each block is pre-norm: ``x + Dropout(GLU(W Dropout(GELU(SSM(LayerNorm(x))))))`` (GELU instead of GLU
    with ``glu=False``). The SSM is :class:`S4DLayer` (``layer="s4d"``) or :class:`S5Layer` (``"s5"``).
    Input: one sample ``(L, d_input)``; output ``(d_output,)`` after ``pool`` in ``{"mean", "last"}``, or
    ``(L, d_output)`` with ``pool=None``. Batch with ``jax.vmap``; dropout needs ``key`` unless ``inference``.
    """

    encoder: eqx.nn.Linear
    blocks: tuple[_Block, ...]
    decoder: eqx.nn.Linear
    pool: str | None = eqx.field(static=True)

    def __init__(
        self,
        d_input: int,
        d_output: int,
        *,
        d_model: int = 64,
        n_layers: int = 4,
        state_size: int = 64,
        layer: Literal["s4d", "s5"] = "s4d",
        dropout: float = 0.0,
        glu: bool = True,
        pool: str | None = "mean",
        key: PRNGKeyArray,
        **layer_kwargs,
    ):
        check_choice(layer, "layer", ("s4d", "s5"))
        check_choice(pool, "pool", ("mean", "last", None))
        check_positive_int(n_layers, "n_layers")
        check_positive(dropout, "dropout", strict=False)
        keys = jax.random.split(key, 2 * n_layers + 2)
        self.encoder = eqx.nn.Linear(d_input, d_model, key=keys[0])
        self.decoder = eqx.nn.Linear(d_model, d_output, key=keys[1])
        blocks = []
        for i in range(n_layers):
            if layer == "s4d":
                ssm = S4DLayer(d_model, state_size, key=keys[2 + 2 * i], **layer_kwargs)
            else:
                ssm = S5Layer(d_model, state_size, key=keys[2 + 2 * i], **layer_kwargs)
            out = eqx.nn.Linear(d_model, 2 * d_model if glu else d_model, key=keys[3 + 2 * i])
            blocks.append(_Block(eqx.nn.LayerNorm(d_model), ssm, out, eqx.nn.Dropout(dropout), glu))
        self.blocks = tuple(blocks)
        self.pool = pool

    def __call__(
        self,
        x: Float[Array, " l d_in"],
        *,
        key: PRNGKeyArray | None = None,
        inference: bool = False,
    ) -> Float[Array, " *l d_out"]:
        if x.ndim != 2 or x.shape[1] != self.encoder.in_features:
            raise ValueError(f"`x` must have shape (L, {self.encoder.in_features}), got {x.shape}.")
        h = jax.vmap(self.encoder)(x).T  # (H, L)
        keys = (
            [None] * len(self.blocks)
            if key is None
            else list(jax.random.split(key, len(self.blocks)))
        )
        for blk, k in zip(self.blocks, keys, strict=False):
            h = blk(h, key=k, inference=inference or key is None)
        if self.pool == "mean":
            return self.decoder(jnp.mean(h, axis=1))
        if self.pool == "last":
            return self.decoder(h[:, -1])
        return jax.vmap(self.decoder)(h.T)


def ssm_param_labels(model, ssm_label: str = "ssm", other_label: str = "other"):
    """Labels for ``optax.multi_transform``: ``ssm_label`` for the SSM parameters (fields named in
    :data:`SSM_PARAM_NAMES`: A, B, Lambda, log_dt), ``other_label`` for every other array.

    Pass the function itself as ``param_labels`` (the label tree is an Equinox module, which is callable, so
    optax would mistake a precomputed tree for a function)::

        opt = optax.multi_transform({"ssm": optax.adam(1e-3), "other": optax.adamw(4e-3, weight_decay=0.05)},
                                    ssm_param_labels)
        opt_state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    """
    params = eqx.filter(model, eqx.is_inexact_array)

    def label(path, leaf):
        names = {getattr(p, "name", None) for p in path}
        return ssm_label if names & SSM_PARAM_NAMES else other_label

    return jax.tree_util.tree_map_with_path(label, params)
