"""The NNX twins of jaxsci's Equinox models (one class per model, the same arguments, ``rngs`` for ``key``).

Each class holds the Equinox model's arrays as ``nnx.Param`` and evaluates the Equinox model's methods on
them (see ``_twin.py``): the formulas, shapes, costs and references are those of the Equinox class named in
each docstring.
"""

from __future__ import annotations

from ..multigrid import _mgno
from ..operators import _lsm
from ..spectral import _fno
from ..ssm import _layers, _mamba, _spacetime
from ._twin import _register, _Streaming, _Twin


@_register
class S4DLayer(_Streaming):
    r"""S4D layer (Gu et al., NeurIPS 2022): per-channel diagonal SSM, ``y = causal_conv(u, K, D)``,
    ``(L, H) -> (L, H)``; kernel ``O(H N L)``, memory ``O(H (N + L))``.

    ``S4DLayer(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.ssm.S4DLayer` with
    ``rngs`` (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``S4DLayer(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``. Streaming: ``init_state()`` and ``step(state, x)`` (one
    token ``(H,)``), the Equinox model's, equal to ``__call__``.
    """

    _equinox_class = _layers.S4DLayer


@_register
class S5Layer(_Streaming):
    r"""S5 layer (Smith, Warrington & Linderman, ICLR 2023): one MIMO diagonal SSM by a parallel scan,
    ``(L, H) -> (L, H)``; cost ``O(L P H)``, memory ``O(L P)``.

    ``S5Layer(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.ssm.S5Layer` with ``rngs``
    (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``S5Layer(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``. Streaming: ``init_state()`` and ``step(state, x)`` (one
    token ``(H,)``), the Equinox model's, equal to ``__call__``.
    """

    _equinox_class = _layers.S5Layer


@_register
class SSMModel(_Streaming):
    r"""Deep SSM: encoder, pre-norm residual S4D/S5 blocks with GLU, pooling, decoder; ``(L, d_input) ->
    (d_output,)`` (or ``(L, d_output)`` with ``pool=None``).

    ``SSMModel(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.ssm.SSMModel` with
    ``rngs`` (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``SSMModel(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``. Streaming: ``init_state()`` and ``step(state, x)`` (one
    token ``(H,)``), the Equinox model's, equal to ``__call__``. Dropout: active in training mode with
    keys from ``rngs.dropout()`` (or an explicit ``key``); off after ``model.eval()``
    (``deterministic=True``), as ``nnx.Dropout``.
    """

    _equinox_class = _layers.SSMModel


@_register
class MambaBlock(_Streaming):
    r"""Mamba block (Gu & Dao 2023): input projection, causal depthwise convolution, selective scan (S6)
    and SiLU gate, ``(L, d_model) -> (L, d_model)``; cost ``O(L d_inner N)``.

    ``MambaBlock(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.ssm.MambaBlock` with
    ``rngs`` (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``MambaBlock(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``. Streaming: ``init_state()`` and ``step(state, x)`` (one
    token ``(H,)``), the Equinox model's, equal to ``__call__``.
    """

    _equinox_class = _mamba.MambaBlock


@_register
class MambaModel(_Streaming):
    r"""Mamba model: encoder (linear or embedding), residual RMSNorm + Mamba blocks, final norm,
    pooling, head; ``(L, d_input)`` or token ids ``(L,)`` -> ``(d_output,)``.

    ``MambaModel(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.ssm.MambaModel` with
    ``rngs`` (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``MambaModel(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``. Streaming: ``init_state()`` and ``step(state, x)`` (one
    token ``(H,)``), the Equinox model's, equal to ``__call__``.
    """

    _equinox_class = _mamba.MambaModel


@_register
class CompanionSSM(_Streaming):
    r"""Companion SSM layer (Zhang et al., SpaceTime, ICLR 2023): ``y = K * u + D u`` with ``K_k = c A^k
    b``, ``A`` a companion matrix; ``(L, H) -> (L, H)``, cost ``O(n (d + L) log(d + L) + H L log
    L)``.

    ``CompanionSSM(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.ssm.CompanionSSM` with
    ``rngs`` (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``CompanionSSM(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``. Streaming: ``init_state()`` and ``step(state, x)`` (one
    token ``(H,)``), the Equinox model's, equal to ``__call__``.
    """

    _equinox_class = _spacetime.CompanionSSM


@_register
class SpaceTime(_Twin):
    r"""SpaceTime forecaster (Zhang et al., ICLR 2023): companion-SSM encoder blocks and a closed-loop
    companion decoder, lag window ``(l,) -> (horizon,)``. ``outputs(x, key=None)`` returns the
    training signals of :func:`jaxsci.ssm.spacetime_loss`.

    ``SpaceTime(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.ssm.SpaceTime` with
    ``rngs`` (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``SpaceTime(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``. Dropout: active in training mode with keys from
    ``rngs.dropout()`` (or an explicit ``key``); off after ``model.eval()`` (``deterministic=True``), as
    ``nnx.Dropout``.
    """

    _equinox_class = _spacetime.SpaceTime

    def outputs(self, x, *, key=None):
        """The Equinox ``SpaceTime.outputs``: forecast and training signals (a dict of arrays)."""
        return self.to_equinox().outputs(x, key=self._dropout_key(key))


@_register
class FNO(_Twin):
    r"""Fourier neural operator (Li et al., ICLR 2021): lift, spectral-convolution layers with pointwise
    skips, projection; channels-first ``(c_in, *spatial) -> (c_out, *spatial)``, cost ``O(width^2 n
    + width n log n)`` per layer on ``n`` grid points.

    ``FNO(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.spectral.FNO` with ``rngs`` (an
    ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``FNO(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``.
    """

    _equinox_class = _fno.FNO


@_register
class MgNO(_Twin):
    r"""Multigrid neural operator (He et al., ICLR 2024): layers of learned V-cycles (MgConv), channels-
    first ``(c_in, *spatial) -> (c_out, *spatial)``, cost linear in the grid size.

    ``MgNO(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.multigrid.MgNO` with ``rngs``
    (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``MgNO(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``.
    """

    _equinox_class = _mgno.MgNO


@_register
class LSM(_Twin):
    r"""Latent Spectral Model (Wu et al., ICML 2023): U-Net with a neural spectral block on every skip,
    ``(c_in, H, W) -> (c_out, H, W)``, cost ``O(w^2 H W)`` per scale-0 convolution.

    ``LSM(*args, rngs, **kwargs)`` takes the arguments of :class:`jaxsci.operators.LSM` with ``rngs``
    (an ``nnx.Rngs``; the parameters come from ``rngs.params()``) in place of ``key``;
    ``LSM(equinox_model)`` converts a trained Equinox model (:func:`to_nnx`). Parameters are
    ``nnx.Param`` at the Equinox field paths (real and imaginary parts separate); ``__call__(x, *,
    key=None)`` is the Equinox ``__call__`` on them (same core functions, same checks, same cost), under
    ``nnx.jit``, ``nnx.vmap`` and ``nnx.grad``.
    """

    _equinox_class = _lsm.LSM
