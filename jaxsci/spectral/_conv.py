"""Spectral convolution (the Fourier layer kernel of FNO), one sample, channels first.

Mode layout (shared by every path and by :class:`jaxsci.spectral.FNO`)
--------------------------------------------------------------------
For a field on a grid ``(n_1, ..., n_d)`` and ``modes = (m_1, ..., m_d)``:

- on each non-last axis ``a`` two blocks of frequencies are kept: the "positive" block
  ``k_a = 0, ..., m_a - 1`` and the "negative" block ``k_a = -m_a, ..., -1``. They must not overlap:
  ``m_a <= n_a // 2``;
- on the last axis (the ``rfft`` axis) the frequencies ``k_d = 0, ..., m_d - 1`` are kept:
  ``m_d <= n_d // 2 + 1``; the negative ones are implied by Hermitian symmetry of a real field.

That is ``2^(d-1)`` corner blocks. Block ``b`` has the binary digits ``(bit_1, ..., bit_{d-1})`` (first
axis most significant; bit 0 = positive, 1 = negative), so in 2D block 0 is ``[:m1, :m2]`` and block 1 is
``[-m1:, :m2]`` (the classic FNO2d ``weights1``/``weights2``), in 3D blocks are (+,+), (+,-), (-,+), (-,-).

The weights are stored as two real arrays ``w_re``, ``w_im`` of shape ``(2^(d-1), C_in, C_out, *modes)``;
the complex weight of mode ``k`` in block ``b`` is ``w_re[b, :, :, k] + 1j * w_im[b, :, :, k]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice, check_ndim, check_positive_int, check_same_shape
from ._inputs import as_real, check_nonempty, compute_dtype

__all__ = ["spectral_conv", "num_blocks"]


def num_blocks(ndim: int) -> int:
    """Number of retained corner blocks, ``2^(ndim-1)``, for a ``ndim``-dimensional field (``ndim >= 1``)."""
    return 2 ** (check_positive_int(ndim, "ndim") - 1)


def _as_modes(modes, d: int, name: str = "modes") -> tuple[int, ...]:
    if isinstance(modes, (int, np.integer)) and not isinstance(modes, bool):
        modes = (int(modes),) * d
    try:
        modes = tuple(modes)
    except TypeError:
        raise TypeError(f"`{name}` must be an int or a tuple of ints, got {modes!r}.") from None
    if len(modes) != d:
        raise ValueError(
            f"`{name}` must have one entry per spatial axis ({d}), got {modes} of length {len(modes)}."
        )
    return tuple(check_positive_int(m, f"{name}") for m in modes)


def check_modes_fit(
    modes: Sequence[int], shape: Sequence[int], name: str, modes_name="modes"
) -> None:
    """``modes`` must fit the grid ``shape``: ``m_a <= n_a // 2`` on the non-last axes (the positive
    and the negative block must not overlap), ``m_d <= n_d // 2 + 1`` on the last (``rfft``) axis."""
    d = len(modes)
    for a, (m, n) in enumerate(zip(modes, shape, strict=False)):
        limit = n // 2 + 1 if a == d - 1 else n // 2
        rule = "n // 2 + 1 (rfft axis)" if a == d - 1 else "n // 2 (positive and negative blocks)"
        if m > limit:
            raise ValueError(
                f"`{modes_name}[{a}]` = {m} does not fit `{name}` (spatial size {n} on axis {a}): "
                f"need {modes_name}[{a}] <= {rule} = {limit}."
            )


def _validate(x, w_re, w_im, modes, out_shape):
    x, w_re, w_im = as_real(x, "x"), as_real(w_re, "w_re"), as_real(w_im, "w_im")
    check_ndim(x, "x", (2, 3, 4))
    check_nonempty(x, "x")
    x_shape = tuple(jnp.shape(x))
    d = len(x_shape) - 1
    modes = _as_modes(modes, d)
    in_spatial = x_shape[1:]
    check_modes_fit(modes, in_spatial, "x")
    if out_shape is None:
        out_spatial = in_spatial
    else:
        out_spatial = _as_modes(out_shape, d, name="out_shape")
        check_modes_fit(modes, out_spatial, "out_shape")
    c_in = x_shape[0]
    w_shape = tuple(jnp.shape(w_re))
    want = (num_blocks(d), c_in, None, *modes)
    if len(w_shape) != len(want) or any(
        s is not None and s != g for s, g in zip(want, w_shape, strict=False)
    ):
        raise ValueError(
            f"`w_re` must have shape (2^(d-1), C_in, C_out, *modes) = ({num_blocks(d)}, {c_in}, C_out, "
            f"{', '.join(map(str, modes))}) for `x` of shape {x_shape} and `modes` {modes}, got {w_shape}."
        )
    check_same_shape(w_re, "w_re", w_im, "w_im")
    return x, w_re, w_im, d, modes, in_spatial, out_spatial


def _c(j: np.ndarray, n: int) -> np.ndarray:
    """Multiplicity of rfft bin ``j`` in a real field on ``n`` points: 1 for DC and Nyquist, else 2."""
    return np.where((j == 0) | ((n % 2 == 0) & (j == n // 2)), 1.0, 2.0)


def _complex_weight(w_re, w_im, dtype):
    cdt = jnp.result_type(dtype, jnp.complex64)
    return (w_re.astype(dtype) + 1j * w_im.astype(dtype)).astype(cdt)


def _gather_blocks(X, modes):
    """(C, n_1, ..., n_d//2+1) spectrum -> (2^(d-1), C, *modes) stacked corner blocks."""
    d = len(modes)
    blocks = []
    for bits in itertools.product((0, 1), repeat=d - 1):
        idx = [slice(None)]
        for a, bit in enumerate(bits):
            n, m = X.shape[1 + a], modes[a]
            idx.append(slice(0, m) if bit == 0 else slice(n - m, n))
        idx.append(slice(0, modes[-1]))
        blocks.append(X[tuple(idx)])
    return jnp.stack(blocks)


def _assemble_blocks(Y, modes, spec_shape):
    """(2^(d-1), C, *modes) blocks -> (C, *spec_shape) spectrum, zero outside the blocks.

    Built by concatenation with zeros (no scatter), so its transpose is a cheap slice.
    """
    d = len(modes)
    Y = Y.reshape((2,) * (d - 1) + Y.shape[1:])
    for a in reversed(range(d - 1)):
        pos, neg = Y[(slice(None),) * a + (0,)], Y[(slice(None),) * a + (1,)]
        ax = a + 1 + a  # remaining bit axes (a of them), the channel axis, then spatial axis a
        zshape = list(pos.shape)
        zshape[ax] = spec_shape[a] - 2 * modes[a]
        Y = jnp.concatenate([pos, jnp.zeros(zshape, Y.dtype), neg], axis=ax)
    pad = [(0, 0)] * (Y.ndim - 1) + [(0, spec_shape[-1] - modes[-1])]
    return jnp.pad(Y, pad)


def _freqs(m: int, last: bool) -> np.ndarray:
    return np.arange(m) if last else np.concatenate([np.arange(m), np.arange(-m, 0)])


def _dft_matrices(modes, in_spatial, out_spatial, cdtype):
    """Truncated analysis (freq x n_in) and synthesis (n_out x freq) DFT factors, built in float64."""
    d = len(modes)
    fwd, inv = [], []
    for a in range(d):
        f = _freqs(modes[a], a == d - 1)
        j_in = np.arange(in_spatial[a])
        j_out = np.arange(out_spatial[a])
        fwd.append(
            jnp.asarray(
                np.exp(-2j * np.pi * np.outer(f, j_in) / in_spatial[a]) / in_spatial[a],
                dtype=cdtype,
            )
        )
        inv.append(
            jnp.asarray(np.exp(2j * np.pi * np.outer(j_out, f) / out_spatial[a]), dtype=cdtype)
        )
    return fwd, inv


def spectral_conv(
    x: Float[ArrayLike, " c_in *spatial"],
    w_re: Float[ArrayLike, " blocks c_in c_out *modes"],
    w_im: Float[ArrayLike, " blocks c_in c_out *modes"],
    modes: int | Sequence[int],
    *,
    out_shape: Sequence[int] | None = None,
    method: str = "fft",
) -> Float[Array, " c_out *out_spatial"]:
    r"""Spectral convolution of a real field: multiply the low Fourier modes by learned complex matrices.

    Computes, for one sample ``x`` of shape ``(C_in, n_1, ..., n_d)`` (``d`` = 1, 2 or 3),

    .. math::
        \hat x_k = \frac{1}{N}\sum_j x_j e^{-2\pi i k\cdot j/n}, \qquad
        \hat y_k = \sum_{c} \hat x_{c,k} W_{c,:,k}\ (k \text{ retained}),\qquad
        y(s) = \mathrm{Re}\sum_{k\ \text{retained}} c_{k_d}\, \hat y_k e^{2\pi i k\cdot s},

    where ``c_{k_d} = 1`` for the DC bin and the Nyquist bin of the *input* grid on the last axis and 2
    otherwise (the rfft bins stand for themselves and their conjugates), and ``y`` is sampled at
    ``s = j / n_out`` on the output grid. Batch with ``jax.vmap``.

    **Normalisation.** The forward transform is scaled by ``1/N`` (``norm="forward"``) and the
    synthesis is unscaled, so ``y`` is the band-limited function itself: the layer's output does not
    change scale with resolution, and with ``out_shape`` finer than the input a band-limited field is
    reproduced exactly on the finer grid (spectral zero-padding); with a coarser ``out_shape`` it is
    sampled there (spectral truncation; ``modes`` must fit the output grid too).

    **Hermitian handling.** The output is real by construction: after the inverse transform over the
    non-last axes, the imaginary parts of the DC and Nyquist columns of the rfft axis are zeroed
    explicitly (the projection onto Hermitian spectra that ``irfft`` otherwise performs implicitly,
    and that some GPU FFT back ends get wrong; neuraloperator PR #702). When the grid size changes on
    the rfft axis, the input's Nyquist bin (weight 1) becomes an interior bin (weight 2) or vice versa;
    it is rescaled so the output is the same function ``y(s)`` sampled on the new grid. (On a grid of
    size ``n`` the Nyquist mode's sine part is invisible; the interpolant used is ``cos``.)

    **Arguments:**

    - ``x``: real field, shape ``(C_in, *spatial)``, channels first.
    - ``w_re``, ``w_im``: real and imaginary parts of the weights, shape ``(2^(d-1), C_in, C_out, *modes)``
      (block layout in the module docstring of ``jaxsci.spectral._conv``: block 0 holds the
      non-negative frequencies on every axis; bit ``a`` of the block index selects the negative
      frequencies ``-m_a..-1`` on axis ``a``, first axis most significant).
    - ``modes``: int or tuple of ``d`` ints, retained modes per axis (static). Needs
      ``m_a <= n_a // 2`` on the non-last axes and ``m_d <= n_d // 2 + 1`` on the last axis, for the
      input grid and for ``out_shape``.
    - ``out_shape``: spatial shape of the output (default: the input's).
    - ``method``: ``"fft"`` (``rfftn``/``irfft``; cost ``O(C N log N + 2^(d-1) C_in C_out M)``) or
      ``"dft"`` (truncated DFT as dense matmuls with ``(2m_a) x n_a`` factors per axis; cost
      ``O(C N sum_a m_a + 2^(d-1) C_in C_out M)``; faster for few modes on matrix hardware). Both
      compute the same map (tested to round-off).

    **Returns:** real array ``(C_out, *out_shape)``, dtype of ``x``/weights promoted. float16 and
    bfloat16 inputs (XLA has no half-precision FFT) are computed in float32 and cast back.

    **Memory:** ``O(C_in N + C_out N_out + 2^(d-1)(C_in + C_out) M)`` plus the weights, ``M = prod(modes)``.

    Reference: Li et al., "Fourier Neural Operator for Parametric Partial Differential Equations",
    ICLR 2021 (arXiv 2010.08895).
    """
    check_choice(method, "method", ("fft", "dft"))
    x, w_re, w_im, d, modes, in_spatial, out_spatial = _validate(x, w_re, w_im, modes, out_shape)
    out_dtype = jnp.result_type(x, w_re, w_im)
    # XLA has no half-precision FFT (jax #17954): float16/bfloat16 inputs are transformed in float32
    # and the result is cast back, on both paths.
    dtype = compute_dtype(out_dtype)
    x = jnp.asarray(x, dtype)
    w = _complex_weight(w_re, w_im, dtype)
    cdtype = w.dtype
    n_in_d, n_out_d = in_spatial[-1], out_spatial[-1]
    j = np.arange(modes[-1])
    c_in = _c(j, n_in_d)

    if method == "dft":
        fwd, inv = _dft_matrices(modes, in_spatial, out_spatial, cdtype)
        X = x.astype(cdtype)
        for F in fwd:  # contract spatial axis 1 each time; the new frequency axis goes last
            X = jnp.tensordot(X, F, axes=([1], [1]))
        Y = _mix_dft_blocks(X, w, modes, jnp.asarray(c_in, dtype))
        for E in inv:
            Y = jnp.tensordot(Y, E, axes=([1], [1]))
        return jnp.real(Y).astype(out_dtype)

    X = jnp.fft.rfftn(x, axes=tuple(range(1, d + 1)), norm="forward")
    Xb = _gather_blocks(X, modes).astype(cdtype)
    Y = jnp.einsum("bi...,bio...->bo...", Xb, w)
    # Same function y(s) on the output grid: rescale bins whose multiplicity changes with the grid.
    scale = c_in / _c(j, n_out_d)
    if np.any(scale != 1.0):
        Y = Y * jnp.asarray(scale, dtype)
    spec_shape = tuple(out_spatial[:-1]) + (n_out_d // 2 + 1,)
    Z = _assemble_blocks(Y, modes, spec_shape)
    if d > 1:
        Z = jnp.fft.ifftn(Z, axes=tuple(range(1, d)), norm="forward")
    # Hermitian projection: the DC and Nyquist columns of the rfft axis must be real.
    k = np.arange(spec_shape[-1])
    keep_imag = ~((k == 0) | ((n_out_d % 2 == 0) & (k == n_out_d // 2)))
    Z = jnp.where(jnp.asarray(keep_imag), Z, jnp.real(Z).astype(Z.dtype))
    y = jnp.fft.irfft(Z, n=n_out_d, axis=-1, norm="forward")
    return y.astype(out_dtype)


def _mix_dft_blocks(X, w, modes, scale):
    """The channel mixing of the DFT path: ``X`` of shape ``(C, 2m_1, ..., 2m_{d-1}, m_d)`` (the retained
    frequencies of every spatial axis, low and high halves side by side) is split into the
    ``2^(d-1)`` corner blocks, each mixed by its weights ``w`` ``(2^(d-1), C_in, C_out, *modes)`` and
    multiplied by ``scale`` (per last-axis bin), and put back as ``(C_out, 2m_1, ..., m_d)``."""
    d = len(modes)
    c = X.shape[0]
    split = [c]
    for a in range(d - 1):
        split += [2, modes[a]]
    split.append(modes[-1])
    X = X.reshape(split)
    bit_axes = [1 + 2 * a for a in range(d - 1)]
    mode_axes = [2 + 2 * a for a in range(d - 1)] + [len(split) - 1]
    X = X.transpose(bit_axes + [0] + mode_axes).reshape((num_blocks(d), c, *modes))
    Y = jnp.einsum("bi...,bio...->bo...", X, w) * scale
    co = Y.shape[1]
    Y = Y.reshape((2,) * (d - 1) + (co, *modes))
    perm = [d - 1]
    for a in range(d - 1):
        perm += [a, d + a]
    perm.append(2 * d - 1)
    return Y.transpose(perm).reshape((co,) + tuple(2 * m for m in modes[:-1]) + (modes[-1],))
