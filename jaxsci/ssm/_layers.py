"""Equinox wrappers: S4DLayer, S5Layer, SSMModel, and optax parameter labels.

Every parameter is a real array (complex quantities are stored as separate real and imaginary parts), so
optax's updates, weight decay and Adam moments are the real-valued ones. Sequences are time-first: a layer
maps one sample ``(L, H)`` to ``(L, H)`` (batch with ``jax.vmap``), a streaming ``step`` consumes one ``(H,)``
token; convolution kernels are channels-first ``(H, L)`` (:meth:`S4DLayer.kernel`).

Module rules (``design.md``, "Models"): randomness comes from ``jax.random`` only (the HiPPO/S4D/S5
initialisations are float64 host arrays that depend on no key), so every module initialises under
``jax.jit`` and ``eqx.filter_vmap`` over keys; parameters are created in ``dtype`` (``None``: JAX's default
float); integer or boolean inputs are converted to the parameters' dtype; classes are final; invariants are
checked in ``__check_init__``.
"""

from __future__ import annotations

from functools import partial
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike
from jaxtyping import Array, Bool, Complex, Float, Int, PRNGKeyArray, PyTree, Real

from .._checks import (
    check_choice,
    check_positive_int,
    check_range,
    default_float_dtype,
    error_if_not,
)
from ._discretize import _discretize
from ._init import init_dt, s4d_init, s5_init
from ._kernel import _conv
from ._scan import _discretize_mimo, _s5_apply, s5_step
from ._util import as_array, check_finite, check_key, check_real, check_real_scalar, compute_dtype
from ._vandermonde import _vandermonde_unchecked

__all__ = ["S4DLayer", "S5Layer", "SSMModel", "ssm_param_labels", "SSM_PARAM_NAMES"]

#: Field names treated as SSM parameters by :func:`ssm_param_labels` (own learning rate, no weight decay).
SSM_PARAM_NAMES = frozenset({"A_re", "A_im", "B_re", "B_im", "log_dt", "Lambda_re", "Lambda_im"})

_TRANSFORMS = ("exp", "softplus", "clip")
_METHODS = ("zoh", "bilinear")


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


def _as_float(u, dtype, name="u"):
    """Integer or boolean inputs become ``dtype`` (the parameters' float); floating inputs are kept (half
    precision computed in float32); complex inputs raise, naming ``name``."""
    u = as_array(u, name)
    check_real(u, name, bool_ok=True)
    if not jnp.issubdtype(u.dtype, jnp.inexact):
        return u.astype(dtype)
    return u.astype(compute_dtype(u))


def _params_finite(x, layer):
    return error_if_not(
        x,
        jnp.isfinite(x),
        f"{layer}: the layer's parameters are not finite (NaN/inf: a diverged training step?), or its "
        "kernel overflows.",
    )


def _check_layer_args(key, dt_min, dt_max):
    check_key(key)
    check_real_scalar(dt_min, "dt_min")
    check_real_scalar(dt_max, "dt_max")


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _s4d_random(key, cshape, dshape, dt_min, dt_max, dtype):
    """S4DLayer's random parameters ``(C_re, C_im, log_dt, D)``: one compiled program (fast eager init and
    one batched call under ``eqx.filter_vmap`` over keys)."""
    kC, kdt, kD = jax.random.split(key, 3)
    C = jax.random.normal(kC, (*cshape, 2), dtype) * (0.5**0.5)
    log_dt = jnp.log(init_dt(kdt, dshape, dt_min, dt_max, dtype=dtype))
    return C[..., 0], C[..., 1], log_dt, jax.random.normal(kD, (cshape[-2],), dtype)


@partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def _s5_random(key, V, H, M, dt_min, dt_max, dtype):
    """S5Layer's random parameters: LeCun-normal real ``B`` ``(P, H)`` and ``C`` ``(H, P)`` taken to the
    eigenbasis (``B~ = V^* B``, ``C~ = C V``), per-mode ``log_dt`` and ``D``."""
    P = V.shape[0]
    kB, kC, kdt, kD = jax.random.split(key, 4)
    cdtype = jnp.result_type(dtype, 1j)
    V = V.astype(cdtype)
    B = jax.random.normal(kB, (P, H), dtype) / np.sqrt(H)
    C = jax.random.normal(kC, (H, P), dtype) / np.sqrt(P)
    Btil = V.conj().T @ B.astype(cdtype)
    Ctil = C.astype(cdtype) @ V
    log_dt = jnp.log(init_dt(kdt, (M,), dt_min, dt_max, dtype=dtype))
    D = jax.random.normal(kD, (H,), dtype)
    return jnp.real(Btil), jnp.imag(Btil), jnp.real(Ctil), jnp.imag(Ctil), log_dt, D


def _check_sequence(u, H, name="u"):
    """``u`` ``(L, H)`` with ``L >= 1``; its values are checked at run time (finite)."""
    if u.ndim != 2 or u.shape[1] != H:
        raise ValueError(f"`{name}` must have shape (L, {H}) (time-first), got {u.shape}.")
    if u.shape[0] < 1:
        raise ValueError(f"`{name}` must have length L >= 1, got shape {u.shape}.")
    return check_finite(u, name)


@final
class S4DLayer(eqx.Module):
    r"""S4D: one diagonal SSM per channel, ``y = causal_conv(u, s4d_kernel(A, B, C, dt, L), D)``.

    **Arguments:** ``H`` channels; ``N`` the full state size (even; ``N/2`` complex modes are stored);
    ``init`` one of :func:`s4d_init`'s kinds (``"legs"``, ``"inv"``, ``"lin"``, ``"real"``) and ``b_clip`` its
    LegS clip of ``Im B``; ``real_transform`` keeps ``Re A < 0`` (``-exp``, ``-softplus`` or
    ``clip(<= -1e-4)``); ``dt_min``/``dt_max`` the log-uniform timescale range (:func:`init_dt`), tied per
    channel or per mode (``dt_tied=False``); ``method`` ``"zoh"`` or ``"bilinear"``; ``bidirectional`` adds an
    anti-causal kernel; ``dtype`` the parameters' float dtype (``None``: JAX's default); ``key`` drives ``C``,
    ``dt`` and ``D`` (``A`` and ``B`` are the key-independent host init).

    Parameters (all real): ``A_re``, ``A_im``, ``B_re``/``B_im`` ``(H, N/2)``, ``C_re``/``C_im`` ``(H, N/2)``
    (``(2, H, N/2)`` when bidirectional), ``log_dt`` ``(H,)`` (tied) or ``(H, N/2)`` (per mode), ``D`` ``(H,)``.

    ``__call__(u, *, key=None)``: ``u`` ``(L, H)`` time-first → ``(L, H)`` (``key`` is unused: the layer is
    deterministic). Integer/boolean ``u`` is converted to the parameters' dtype; half-precision ``u`` or
    parameters are computed in float32. NaN/inf in ``u`` raise a run-time error naming ``u`` (the FFT
    would spread a NaN over every time step, the past included), and NaN/inf parameters (a diverged
    training step) raise an error saying so: the layer never returns a silent NaN. ``key`` at
    construction is one key (batch keys with ``eqx.filter_vmap``).
    Cost per call: kernel ``O(H N L)`` in GEMMs plus FFTs ``O(H L log L)``; memory
    ``O(H (N + L))`` for the kernel, also under differentiation. Streaming: :meth:`init_state` and :meth:`step`
    (one token ``(H,)`` at a time), equal to ``__call__``. Reference: Gu et al., S4D, NeurIPS 2022.
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
        b_clip: float | None = 2.0,
        real_transform: str = "exp",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        dt_tied: bool = True,
        method: str = "zoh",
        bidirectional: bool = False,
        dtype: DTypeLike | None = None,
        key: PRNGKeyArray,
    ):
        H = check_positive_int(H, "H")
        N = check_positive_int(N, "N", minimum=2, even=True)
        check_choice(init, "init", ("legs", "inv", "lin", "real"))
        _check_layer_args(key, dt_min, dt_max)
        dtype = default_float_dtype(dtype)
        A, B = s4d_init(init, N, b_clip=b_clip)  # float64 on the host, no key
        M = N // 2
        self.A_re = jnp.asarray(np.tile(_neg_real_inverse(A.real, real_transform), (H, 1)), dtype)
        self.A_im = jnp.asarray(np.tile(A.imag, (H, 1)), dtype)
        self.B_re = jnp.asarray(np.tile(B.real, (H, 1)), dtype)
        self.B_im = jnp.asarray(np.tile(B.imag, (H, 1)), dtype)
        cshape = (2, H, M) if bidirectional else (H, M)
        dshape = (H,) if dt_tied else (H, M)
        self.C_re, self.C_im, self.log_dt, self.D = _s4d_random(
            key, cshape, dshape, float(dt_min), float(dt_max), dtype
        )
        self.real_transform = real_transform
        self.method = method
        self.bidirectional = bidirectional

    def __check_init__(self):
        check_choice(self.real_transform, "real_transform", _TRANSFORMS)
        check_choice(self.method, "method", _METHODS)
        H, M = self.A_re.shape
        for name in ("A_im", "B_re", "B_im"):
            if getattr(self, name).shape != (H, M):
                raise ValueError(
                    f"`{name}` must have shape {(H, M)}, got {getattr(self, name).shape}."
                )
        cshape = (2, H, M) if self.bidirectional else (H, M)
        for name in ("C_re", "C_im"):
            if getattr(self, name).shape != cshape:
                raise ValueError(
                    f"`{name}` must have shape {cshape}, got {getattr(self, name).shape}."
                )
        if self.log_dt.shape not in ((H,), (H, M)):
            raise ValueError(
                f"`log_dt` must have shape ({H},) or {(H, M)}, got {self.log_dt.shape}."
            )
        if self.D.shape != (H,):
            raise ValueError(f"`D` must have shape ({H},), got {self.D.shape}.")

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

    def _discrete(self):
        A, B, C, dt = self.ssm()
        dt_b = dt[:, None] if dt.ndim == 1 else dt
        Abar, Bbar = _discretize(A, B, dt_b, self.method, check=False)  # dt = exp(log_dt) > 0
        return A, C, dt_b, Abar, Bbar

    def kernel(self, L: int) -> Float[Array, " *two h l"]:
        """The convolution kernel(s) of length ``L``, channels-first ``(H, L)`` (``(2, H, L)`` when
        bidirectional). Non-finite parameters raise a run-time error."""
        L = check_positive_int(L, "L")
        A, C, dt_b, Abar, Bbar = self._discrete()
        z = dt_b * A if self.method == "zoh" else jnp.log(Abar)
        if self.bidirectional:
            K = jnp.stack([_vandermonde_unchecked(C[i] * Bbar, z, L) for i in range(2)])
        else:
            K = _vandermonde_unchecked(C * Bbar, z, L)
        return _params_finite(K, "S4DLayer")

    def __call__(
        self, u: Real[Array, " l h"] | Bool[Array, " l h"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " l h"]:
        del key
        u = _as_float(u, self.D.dtype)
        u = _check_sequence(u, self.D.shape[0])
        K = self.kernel(u.shape[0])
        dtype = compute_dtype(u, K, self.D)
        D = _params_finite(self.D.astype(dtype), "S4DLayer")
        return _conv(u.astype(dtype), K.astype(dtype), D, self.bidirectional)

    def init_state(self) -> Complex[Array, " h m"]:
        """The zero state, complex ``(H, N/2)``."""
        if self.bidirectional:
            raise ValueError("a bidirectional layer has no causal streaming state")
        return jnp.zeros(self.A_re.shape, jnp.result_type(self.A_re, 1j))

    def step(
        self, x: Complex[Array, " h m"], u: Real[Array, " h"] | Bool[Array, " h"]
    ) -> tuple[Float[Array, " h"], Complex[Array, " h m"]]:
        """One streaming step from state ``x`` on the token ``u`` ``(H,)``: returns ``(y_t, x_t)``; ``y_t``
        equals row ``t`` of ``__call__``. Cost ``O(H N)``."""
        if self.bidirectional:
            raise ValueError("a bidirectional layer has no causal streaming step")
        u = _as_float(u, self.D.dtype)
        if u.shape != self.D.shape:
            raise ValueError(f"`u` must have shape {self.D.shape} (one token), got {u.shape}.")
        if jnp.shape(x) != self.A_re.shape:
            raise ValueError(f"`x` must have shape {self.A_re.shape}, got {jnp.shape(x)}.")
        _, C, _, Abar, Bbar = self._discrete()
        x = Abar * x + Bbar * u[:, None]
        return 2 * jnp.real(jnp.sum(C * x, axis=-1)) + self.D * u, x


@final
class S5Layer(eqx.Module):
    r"""S5: one MIMO diagonal SSM over all channels, applied by a parallel scan (:func:`s5_scan`).

    **Arguments:** ``H`` channels; ``P`` the full state size (even; ``P/2`` complex modes are stored, conjugate
    symmetry); ``blocks`` the number of HiPPO-N blocks (:func:`s5_init`, host, no key); ``real_transform``,
    ``dt_min``/``dt_max`` (per-mode log-uniform ``dt``), ``method``, ``dtype`` as for :class:`S4DLayer`;
    ``key`` drives the LeCun-normal real ``B`` ``(P, H)`` and ``C`` ``(H, P)`` (then ``B~ = V^* B``,
    ``C~ = C V``), ``dt`` and ``D``.

    Parameters (real): ``Lambda_re``, ``Lambda_im`` ``(P/2,)``, ``B_re``/``B_im`` ``(P/2, H)``, ``C_re``/``C_im``
    ``(H, P/2)``, ``log_dt`` ``(P/2,)``, ``D`` ``(H,)``. ``__call__(u, *, key=None)``: ``(L, H)`` →
    ``(L, H)``; dtypes and checks as :class:`S4DLayer` (NaN/inf in ``u`` or in the parameters raise).
    Cost ``O(L P H)``; memory ``O(L P)`` (the state trajectory). Streaming: :meth:`init_state`,
    :meth:`step`. Reference: Smith, Warrington, Linderman, S5, ICLR 2023.
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
        dtype: DTypeLike | None = None,
        key: PRNGKeyArray,
    ):
        H = check_positive_int(H, "H")
        _check_layer_args(key, dt_min, dt_max)
        dtype = default_float_dtype(dtype)
        Lam, V = s5_init(P, blocks=blocks)  # float64 on the host, no key
        M = Lam.shape[0]
        self.Lambda_re = jnp.asarray(_neg_real_inverse(Lam.real, real_transform), dtype)
        self.Lambda_im = jnp.asarray(Lam.imag, dtype)
        self.B_re, self.B_im, self.C_re, self.C_im, self.log_dt, self.D = _s5_random(
            key, jnp.asarray(V), H, M, float(dt_min), float(dt_max), dtype
        )
        self.real_transform = real_transform
        self.method = method

    def __check_init__(self):
        check_choice(self.real_transform, "real_transform", _TRANSFORMS)
        check_choice(self.method, "method", _METHODS)
        (M,) = self.Lambda_re.shape
        (H,) = self.D.shape
        for name, shape in (
            ("Lambda_im", (M,)),
            ("log_dt", (M,)),
            ("B_re", (M, H)),
            ("B_im", (M, H)),
            ("C_re", (H, M)),
            ("C_im", (H, M)),
        ):
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"`{name}` must have shape {shape}, got {getattr(self, name).shape}."
                )

    def ssm(
        self,
    ) -> tuple[
        Complex[Array, " m"], Complex[Array, " m h"], Complex[Array, " h m"], Float[Array, " m"]
    ]:
        """The continuous-time ``(Lambda, B, C, dt)``."""
        Lam = _neg_real(self.Lambda_re, self.real_transform) + 1j * self.Lambda_im
        return Lam, self.B_re + 1j * self.B_im, self.C_re + 1j * self.C_im, jnp.exp(self.log_dt)

    def __call__(
        self, u: Real[Array, " l h"] | Bool[Array, " l h"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " l h"]:
        del key
        u = _as_float(u, self.D.dtype)
        u = _check_sequence(u, self.D.shape[0])
        Lam, B, C, dt = self.ssm()
        Lam, B, C = (_params_finite(x, "S5Layer") for x in (Lam, B, C))
        D = _params_finite(self.D, "S5Layer")
        y = _s5_apply(Lam, B, C, dt, u, D, self.method, None, True, check=False)[0]
        return _params_finite(y, "S5Layer")

    def init_state(self) -> Complex[Array, " m"]:
        """The zero state, complex ``(P/2,)``."""
        return jnp.zeros(self.Lambda_re.shape, jnp.result_type(self.Lambda_re, 1j))

    def step(
        self, x: Complex[Array, " m"], u: Real[Array, " h"] | Bool[Array, " h"]
    ) -> tuple[Float[Array, " h"], Complex[Array, " m"]]:
        """One streaming step on the token ``u`` ``(H,)``: returns ``(y_t, x_t)``. Cost ``O(P H)``."""
        u = _as_float(u, self.D.dtype)
        if u.shape != self.D.shape:
            raise ValueError(f"`u` must have shape {self.D.shape} (one token), got {u.shape}.")
        Lam, B, C, dt = self.ssm()
        Lbar, Bbar = _discretize_mimo(Lam, B, dt, self.method, check=False)
        return s5_step(Lbar, Bbar, C, x, u, self.D)


@final
class _Block(eqx.Module):
    """Pre-norm residual block ``x + Dropout(GLU(W Dropout(GELU(SSM(LayerNorm(x))))))`` on ``(L, H)``."""

    norm: eqx.nn.LayerNorm
    layer: S4DLayer | S5Layer
    out: eqx.nn.Linear
    dropout: eqx.nn.Dropout
    glu: bool = eqx.field(static=True)

    def _mix(self, z):
        z = self.out(z)
        return jax.nn.glu(z, axis=-1) if self.glu else jax.nn.gelu(z)

    def __call__(self, x: Float[Array, " l h"], *, key: PRNGKeyArray | None = None):
        # no key: dropout off (deterministic); eqx.nn.inference_mode(model) also turns it off
        inference = True if key is None else None
        k1, k2 = (None, None) if key is None else jax.random.split(key)
        z = jax.vmap(self.norm)(x)  # normalise the channels at each time step
        z = jax.nn.gelu(self.layer(z))
        z = self.dropout(z, key=k1, inference=inference)
        z = jax.vmap(self._mix)(z)
        z = self.dropout(z, key=k2, inference=inference)
        return x + z

    def step(self, state, x: Float[Array, " h"]):
        y, state = self.layer.step(state, self.norm(x))
        return x + self._mix(jax.nn.gelu(y)), state


@final
class SSMModel(eqx.Module):
    r"""A deep SSM: linear encoder → ``n_layers`` residual blocks → pooling → linear decoder.

    Each block is pre-norm: ``x + Dropout(GLU(W Dropout(GELU(SSM(LayerNorm(x))))))`` (GELU instead of GLU
    with ``glu=False``). The SSM is :class:`S4DLayer` (``layer="s4d"``, state size ``state_size`` = ``N``) or
    :class:`S5Layer` (``"s5"``, ``state_size`` = ``P``); ``layer_kwargs`` go to it. ``dtype`` is the
    parameters' float dtype (``None``: JAX's default).

    ``__call__(x, *, key=None)``: one sample ``(L, d_input)`` (time-first; integer inputs are converted to
    the parameters' dtype); output ``(d_output,)`` after ``pool`` in ``{"mean", "last"}``, or
    ``(L, d_output)`` with ``pool=None``. Batch with ``jax.vmap``. ``x`` must have ``L >= 1`` rows and be
    finite: NaN/inf in ``x`` raise a run-time error naming ``x`` (under ``vmap``, one bad sample fails the
    batch) rather than propagating. **Dropout** uses ``key`` (split per block):
    it is active only when a ``key`` is given and the model is not in inference mode
    (``eqx.nn.inference_mode(model)``); ``key=None`` is the deterministic evaluation.

    **Streaming:** ``state = model.init_state()`` and ``y_t, state = model.step(state, x_t)`` on one token
    ``(d_input,)``, the stack of the layers' steps (dropout off). ``y_t`` equals the full forward on the
    prefix: ``model(x[: t + 1])`` (pooled; the running mean for ``pool="mean"``) or row ``t`` of ``model(x)``
    (``pool=None``). Causal layers only (not ``bidirectional``). Cost per token ``O(n_layers d_model N)``.
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
        layer: str = "s4d",
        dropout: float = 0.0,
        glu: bool = True,
        pool: str | None = "mean",
        dtype: DTypeLike | None = None,
        key: PRNGKeyArray,
        **layer_kwargs,
    ):
        d_input = check_positive_int(d_input, "d_input")
        d_output = check_positive_int(d_output, "d_output")
        d_model = check_positive_int(d_model, "d_model")
        n_layers = check_positive_int(n_layers, "n_layers")
        state_size = check_positive_int(state_size, "state_size", minimum=2, even=True)
        check_choice(layer, "layer", ("s4d", "s5"))
        check_choice(pool, "pool", ("mean", "last", None))
        check_real_scalar(dropout, "dropout", positive=False)
        check_range(dropout, "dropout", 0.0, 1.0, closed="left")
        check_key(key)
        dtype = default_float_dtype(dtype)
        keys = jax.random.split(key, 2 * n_layers + 2)
        self.encoder = eqx.nn.Linear(d_input, d_model, key=keys[0], dtype=dtype)
        self.decoder = eqx.nn.Linear(d_model, d_output, key=keys[1], dtype=dtype)
        make = S4DLayer if layer == "s4d" else S5Layer
        blocks = []
        for i in range(n_layers):
            ssm = make(d_model, state_size, key=keys[2 + 2 * i], dtype=dtype, **layer_kwargs)
            width = 2 * d_model if glu else d_model
            out = eqx.nn.Linear(d_model, width, key=keys[3 + 2 * i], dtype=dtype)
            norm = eqx.nn.LayerNorm(d_model, dtype=dtype)
            blocks.append(_Block(norm, ssm, out, eqx.nn.Dropout(dropout), glu))
        self.blocks = tuple(blocks)
        self.pool = pool

    def __check_init__(self):
        check_choice(self.pool, "pool", ("mean", "last", None))
        if not self.blocks:
            raise ValueError("`n_layers` must be >= 1, got 0.")

    def __call__(
        self, x: Real[Array, " l d_in"] | Bool[Array, " l d_in"], *, key: PRNGKeyArray | None = None
    ) -> Float[Array, " d_out"] | Float[Array, " l d_out"]:
        x = _as_float(x, self.encoder.weight.dtype, "x")
        x = _check_sequence(x, self.encoder.in_features, "x")
        h = jax.vmap(self.encoder)(x)  # (L, d_model)
        keys = [None] * len(self.blocks) if key is None else jax.random.split(key, len(self.blocks))
        for blk, k in zip(self.blocks, keys, strict=True):
            h = blk(h, key=k)
        if self.pool == "mean":
            return self.decoder(jnp.mean(h, axis=0))
        if self.pool == "last":
            return self.decoder(h[-1])
        return jax.vmap(self.decoder)(h)

    def init_state(
        self,
    ) -> tuple[tuple[PyTree[Complex[Array, "..."]], ...], Float[Array, " d_model"], Int[Array, ""]]:
        """The streaming state at ``t = -1``: ``(layer states, running sum of the last block's outputs,
        number of tokens seen)``, a pytree of arrays."""
        dtype = self.encoder.weight.dtype
        states = tuple(blk.layer.init_state() for blk in self.blocks)
        return states, jnp.zeros((self.encoder.out_features,), dtype), jnp.zeros((), jnp.int32)

    def step(
        self, state: tuple, x: Real[Array, " d_in"] | Bool[Array, " d_in"]
    ) -> tuple[Float[Array, " d_out"], tuple]:
        """One streaming step on the token ``x`` ``(d_input,)``: returns ``(y_t, state)``; ``y_t`` is the
        output of ``model`` on the prefix ending at this token (see the class docstring)."""
        x = _as_float(x, self.encoder.weight.dtype, "x")
        if x.shape != (self.encoder.in_features,):
            raise ValueError(f"`x` must have shape ({self.encoder.in_features},), got {x.shape}.")
        states, total, count = state
        h = self.encoder(x)
        new = []
        for blk, s in zip(self.blocks, states, strict=True):
            h, s = blk.step(s, h)
            new.append(s)
        total, count = total + h, count + 1
        pooled = total / count.astype(total.dtype) if self.pool == "mean" else h
        return self.decoder(pooled), (tuple(new), total, count)


def ssm_param_labels(model: PyTree, ssm_label: str = "ssm", other_label: str = "other") -> PyTree:
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
