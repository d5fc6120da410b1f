r"""Companion state-space kernels (SpaceTime): the O((d + L) log(d + L)) kernel, conversions, rollouts.

The state matrix is a companion matrix ``A = S + a e_d^T``: ``S`` is the down-shift (ones on the
sub-diagonal, ``(S x)_i = x_{i-1}``) and ``a`` is the last column, so that
``chi_A(z) = det(zI - A) = z^d - sum_{i<d} a_i z^i``. ``B = b``, ``C = c``; discrete time (no ``dt``).

Everything here works with polynomials instead of ``d x L`` Krylov matrices:

- ``M(z) = (I - zS)^{-1} = sum_{j<d} z^j S^j`` (``S`` is nilpotent), and ``q(u, v)(z) = u^T M(z) v =
  sum_j z^j sum_i u_{i+j} v_i`` is a cross-correlation (one FFT of size ``>= 2d``);
- Sherman–Morrison: ``c (I - zA)^{-1} b = q(c, b) + z q(c, a) q(e_d, b) / Q(z)`` with
  ``Q(z) = 1 - z q(e_d, a)(z) = 1 - sum_i a_i z^{d-i} = z^d chi_A(1/z)``;
- at the ``L``-th roots of unity ``sum_{k<L} c A^k b z^k = c~ (I - zA)^{-1} b`` with ``c~ = c (I - A^L)``,
  which :func:`companion_kernel` evaluates with one batched FFT and inverts with one inverse FFT;
- the default (``c``, not ``c~``) evaluates on the shifted circle ``z^L = e^{-1}`` instead, with
  ``b~ = b - e^{-1} A^L b``: no ``0/0`` when ``A`` has an eigenvalue on the unit circle; ``A^L b`` and
  ``c A^L`` come from ``z^L mod chi_A`` by binary powering (``O(d log d log L)``);
- the closed-loop forecast and the lag state come from power series of rational functions,
  ``1 / Q(z) mod z^n`` by Newton's iteration (``O(n log n)``).

Reference: Zhang, Saab, Poli, Dao, Goel, Ré, "Effectively Modeling Time Series with Simple Discrete State
Spaces" (SpaceTime), ICLR 2023, arXiv 2303.09489 (Sec. 3.3, the O(d + L) kernel algorithm).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from .._checks import check_positive_int, error_if_not
from ._kernel import fast_fft_length
from ._util import as_array, check_finite, check_real, compute_dtype

__all__ = [
    "companion_c_from_tilde",
    "companion_c_tilde",
    "companion_closed_loop",
    "companion_kernel",
    "companion_kernel_krylov",
    "companion_matrix",
    "companion_state",
]


# --------------------------------------------------------------------------------------------- checks
def _vectors(names_values, *, allow_2d: tuple[str, ...] = ()):
    """Convert ``(name, value)`` pairs to real float arrays of one common shape ``(d,)``, ``d >= 1``."""
    arrays = []
    for name, x in names_values:
        x = as_array(x, name)
        check_real(x, name)
        if x.ndim != 1:
            raise ValueError(
                f"`{name}` must be a vector of shape (d,) (batch-free; batch with jax.vmap), "
                f"got shape {x.shape}."
            )
        if x.shape[0] < 1:
            raise ValueError(f"`{name}` must have d >= 1 entries, got shape {x.shape}.")
        arrays.append(x)
    first_name = names_values[0][0]
    for (name, _), x in zip(names_values[1:], arrays[1:], strict=True):
        if x.shape != arrays[0].shape:
            raise ValueError(
                f"`{first_name}` and `{name}` must have the same shape (d,), got "
                f"{arrays[0].shape} and {x.shape}."
            )
    dtype = compute_dtype(*arrays)
    return [
        check_finite(x.astype(dtype), name)
        for (name, _), x in zip(names_values, arrays, strict=True)
    ]


# ------------------------------------------------------------------------------------ polynomial tools
def _polymul(x, y, n_out):
    """The first ``n_out`` coefficients of the product of two real coefficient vectors (FFT)."""
    n = fast_fft_length(max(x.shape[-1] + y.shape[-1] - 1, 1))
    out = jnp.fft.irfft(jnp.fft.rfft(x, n=n) * jnp.fft.rfft(y, n=n), n=n)
    if n_out <= n:
        return out[..., :n_out]
    return jnp.concatenate([out, jnp.zeros((*out.shape[:-1], n_out - n), out.dtype)], axis=-1)


def _correlate(u, v):
    """``r_j = sum_i u_{i+j} v_i`` for ``j = 0..d-1`` (the coefficients of ``q(u, v)``), by FFT."""
    d = u.shape[-1]
    n = fast_fft_length(2 * d)
    r = jnp.fft.irfft(jnp.fft.rfft(u, n=n) * jnp.conj(jnp.fft.rfft(v, n=n)), n=n)
    return r[..., :d]


def _series_inverse(q, n):
    """``g = 1 / q(z) mod z^n`` by Newton's iteration ``g <- g (2 - q g)`` (``q[0] == 1``).

    ``ceil(log2 n)`` doublings, each two FFT products of length ``O(size)``: ``O(n log n)`` time and
    ``O(n)`` memory. Differentiable (FFTs and products only).
    """
    g = jnp.ones((*q.shape[:-1], 1), q.dtype) / q[..., :1]
    size = 1
    while size < n:
        new = min(2 * size, n)
        qt = q[..., :new]
        e = _polymul(qt, g, new)  # q g = 1 + O(z^size)
        e = e.at[..., 0].add(-1.0)
        g = jnp.concatenate([g, jnp.zeros((*g.shape[:-1], new - size), g.dtype)], axis=-1)
        g = g - _polymul(g[..., :size], e, new)
        size = new
    return g


def _q_poly(a):
    """Coefficients of ``Q(z) = 1 - sum_i a_i z^{d-i}`` (length ``d + 1``)."""
    return jnp.concatenate([jnp.ones_like(a[..., :1]), -a[..., ::-1]], axis=-1)


def _fold(r, L):
    """Fold coefficients of a polynomial modulo ``z^L - 1`` (sum the entries ``j = j' mod L``)."""
    d = r.shape[-1]
    m = -(-d // L)
    r = jnp.concatenate([r, jnp.zeros((*r.shape[:-1], m * L - d), r.dtype)], axis=-1)
    return r.reshape(*r.shape[:-1], m, L).sum(-2)


def _shift_mod(a, s):
    """``z s(z) mod chi_A``, i.e. ``A s`` (``O(d)``)."""
    return jnp.concatenate([jnp.zeros_like(s[..., :1]), s[..., :-1]], axis=-1) + a * s[..., -1:]


class _ModChi:
    """Products of polynomials of degree ``< d`` reduced modulo the monic ``chi_A(z) = z^d - sum a_i z^i``.

    With ``f = f_lo + z^d f_hi`` (``deg f <= 2d - 2``): the quotient is the reversal of
    ``rev(f_hi) / Q mod z^(d-1)`` and ``f mod chi_A = f_lo + (a * quotient) mod z^d``. The spectra of
    ``a`` and of ``1 / Q mod z^(d-1)`` (one Newton inverse) are computed once; every product then costs
    six real FFTs of one length ``>= 2d - 1``.
    """

    def __init__(self, a):
        d = a.shape[-1]
        self.d, self.n = d, fast_fft_length(2 * d - 1)
        self.a_hat = jnp.fft.rfft(a, n=self.n)
        self.qinv_hat = jnp.fft.rfft(_series_inverse(_q_poly(a), d - 1), n=self.n)

    def _reduce(self, f_hat):
        d, n = self.d, self.n
        f = jnp.fft.irfft(f_hat, n=n)
        hi = f[..., d : 2 * d - 1]
        quot = jnp.fft.irfft(jnp.fft.rfft(hi[..., ::-1], n=n) * self.qinv_hat, n=n)[..., : d - 1]
        quot = quot[..., ::-1]
        return f[..., :d] + jnp.fft.irfft(self.a_hat * jnp.fft.rfft(quot, n=n), n=n)[..., :d]

    def square(self, s):
        return self._reduce(jnp.fft.rfft(s, n=self.n) ** 2)

    def mul(self, s, v):
        return self._reduce(jnp.fft.rfft(s, n=self.n) * jnp.fft.rfft(v, n=self.n))


def _power_poly(a, L, mod=None):
    """Coefficients of ``r(z) = z^L mod chi_A`` (so ``r(A) = A^L`` and ``A^L e_1 = r``).

    Binary powering on polynomials of degree ``< d``: ``floor(log2 L)`` squarings at most, each one
    reduced product of :class:`_ModChi` (FFTs of length ``~2d``). ``O(d log d log L)`` time, ``O(d)``
    memory per step; no series of length ``L``. With ``||a||_1 <= 1`` every ``||A^n||_1 <= 1``, so the
    intermediate coefficients stay bounded.
    """
    d = a.shape[-1]
    if d == 1:
        return a**L
    mod = _ModChi(a) if mod is None else mod
    bits = bin(L)[2:]
    t, i = (
        0,
        0,
    )  # start from z^t with t the longest binary prefix of L below d (no reduction needed)
    while i < len(bits) and 2 * t + int(bits[i]) < d:
        t, i = 2 * t + int(bits[i]), i + 1
    s = jnp.zeros(a.shape, a.dtype).at[..., t].set(1.0)
    rest = [bit == "1" for bit in bits[i:]]
    if not rest:
        return s

    def body(s, bit):  # one compiled body (compile time), the shift selected by the bit
        s = mod.square(s)
        return jnp.where(bit, _shift_mod(a, s), s), None

    return jax.lax.scan(body, s, jnp.asarray(rest))[0]


def _power_times(a, v, L):
    """``A^L v`` as ``r(z) v(z) mod chi_A`` (:func:`_power_poly`): ``O(d log d log L)``."""
    if a.shape[-1] == 1:
        return a**L * v
    mod = _ModChi(a)
    return mod.mul(_power_poly(a, L, mod), v)


def _c_times_a_power(a, c, L):
    """The row ``c A^L`` in ``O(d log d log L)``: ``(c A^L)_j = c A^L e_{j+1} = c A^j r`` with
    ``r = A^L e_1`` (:func:`_power_poly`; ``A e_j = e_{j+1}`` and polynomials in ``A`` commute), i.e. the
    first ``d`` terms of the kernel of ``(a, r, c)``, a power series of length ``d``."""
    d = a.shape[-1]
    return _kernel_series(a, _power_poly(a, L), c, d)


# ---------------------------------------------------------------------------------------- the kernel
def _kernel_c_tilde(a, b, ct, L):
    """The Sherman–Morrison kernel at the ``L``-th roots of unity from ``c~`` (checked inputs)."""
    eb = b[..., ::-1]  # q(e_d, b)(z) = sum_j z^j b_{d-1-j}
    ea = a[..., ::-1]
    polys = jnp.stack([_correlate(ct, b), _correlate(ct, a), eb, ea])  # (4, d)
    F = jnp.fft.rfft(_fold(polys, L), n=L)  # (4, L//2 + 1) at z_k = exp(-2 pi i k / L)
    zinv = jnp.exp(2j * jnp.pi * jnp.arange(L // 2 + 1) / L).astype(F.dtype)
    Khat = F[0] + F[1] * F[2] / (zinv - F[3])
    return jnp.fft.irfft(Khat, n=L)


def _kernel_series(a, b, c, L):
    """The same Sherman–Morrison identity as a power series (no roots of unity, so no ``0/0`` when ``A``
    has an eigenvalue on the unit circle): ``K = q(c, b) + z q(c, a) q(e_d, b) / Q(z) mod z^L``."""
    d = a.shape[-1]
    inv = _series_inverse(_q_poly(a), L)
    num = _polymul(_correlate(c, a), b[..., ::-1], 2 * d - 1)
    num = jnp.concatenate([jnp.zeros_like(num[..., :1]), num], axis=-1)  # times z
    qcb = _correlate(c, b)
    qcb = qcb[..., :L] if d >= L else jnp.concatenate([qcb, jnp.zeros(L - d, qcb.dtype)], axis=-1)
    return qcb + _polymul(num, inv, L)


# exp(-RHO_LOG): the default kernel evaluates on the circle |z| = exp(-RHO_LOG / L); see _kernel_shifted
RHO_LOG = 1.0


def _kernel_shifted(a, b, c, L):
    """The default kernel: Sherman–Morrison at the ``L`` points ``z^L = rho`` (``rho = e^{-1}``).

    There ``sum_{k<L} c A^k b z^k = c (I - z^L A^L)(I - zA)^{-1} b = c (I - zA)^{-1} b~`` with
    ``b~ = b - rho A^L b`` (:func:`_power_times`), so the roots-of-unity formula applies on the circle
    ``|z| = r = rho^{1/L}``: scale the coefficients of the four ``q`` by ``r^i``, fold, one real FFT, and
    multiply the inverse FFT by ``r^{-k} <= 1/rho``. Every zero ``1/lambda`` of ``Q`` has
    ``|1/lambda| >= 1`` when ``|lambda| <= 1``, at distance ``>= 1 - r ~ 1/L`` from the points, so
    there is no ``0/0`` (``rho = 1/e`` balances that distance against the ``1/rho`` amplification).
    """
    dt = a.dtype
    bt = b - jnp.exp(jnp.asarray(-RHO_LOG, dt)) * _power_times(a, b, L)
    polys = jnp.stack([_correlate(c, bt), _correlate(c, a), bt[..., ::-1], a[..., ::-1]])
    i = jnp.arange(polys.shape[-1], dtype=dt)
    F = jnp.fft.rfft(_fold(polys * jnp.exp(-RHO_LOG / L * i), L), n=L)  # values at z_j = r w^j
    j = jnp.arange(L // 2 + 1, dtype=dt)
    zinv = jnp.exp(RHO_LOG / L + 2j * jnp.pi * j / L).astype(F.dtype)
    Khat = F[0] + F[1] * F[2] / (zinv - F[3])
    return jnp.fft.irfft(Khat, n=L) * jnp.exp(RHO_LOG / L * jnp.arange(L, dtype=dt))


@functools.partial(jax.jit, static_argnums=(3, 4))
def _kernel_jit(a, b, c, L, c_tilde):
    if c_tilde:
        return _kernel_c_tilde(a, b, c, L)
    return _kernel_shifted(a, b, c, L)


def companion_kernel(
    a: Real[ArrayLike, " d"],
    b: Real[ArrayLike, " d"],
    c: Real[ArrayLike, " d"],
    L: int,
    *,
    c_tilde: bool = False,
) -> Float[Array, " l"]:
    r"""The companion SSM kernel ``K_k = c A^k b``, ``k = 0..L-1``, with ``A = S + a e_d^T``.

    FFT + Sherman–Morrison at the ``L``-th roots of unity ``z`` (``z^L = 1``):
    ``Khat(z) = c~ (I - zA)^{-1} b = q(c~, b) + q(c~, a) q(e_d, b) / (z^{-1} - q(e_d, a))`` with
    ``c~ = c (I - A^L)`` and ``q(u, v)(z) = sum_j z^j sum_i u_{i+j} v_i`` (cross-correlations of length
    ``d``, folded modulo ``z^L - 1`` when ``d > L``); the four ``q`` are one batched real FFT of length
    ``L`` and ``K`` is its inverse FFT.

    ``c_tilde=True``: ``c`` is ``c~`` itself (the S4/SpaceTime training parameterisation; it skips
    ``A^L`` entirely; :func:`companion_c_tilde` forms it and :func:`companion_c_from_tilde` converts back
    for recurrent use), and the kernel is the roots-of-unity formula above.

    ``c_tilde=False`` (default): ``c`` is the output vector. The roots-of-unity formula would be ``0/0``
    whenever ``A`` has an eigenvalue that is an ``L``-th root of unity (e.g. ``a >= 0`` with
    ``||a||_1 = 1``, what the L1 normalisation produces, has the eigenvalue 1 for every ``L``), so the
    default evaluates the same identity on the shifted circle ``z^L = rho``, ``rho = e^{-1}``:
    ``sum_{k<L} K_k z^k = c (I - zA)^{-1} b~`` there, with ``b~ = b - rho A^L b`` (``A^L b`` by binary
    powering of ``z^L mod chi_A``, ``O(d log d log L)``); the coefficients are scaled by ``r^i``
    (``r = rho^{1/L}``) before the FFT and ``K_k`` by ``r^{-k} <= e`` after it. For every ``A`` with
    spectral radius ``<= 1`` (normalised ``a``, stable AR systems) the points keep a distance ``>= 1 - r
    ~ 1/L`` from the zeros of ``det(I - zA)``, so the result is accurate to rounding (float64 tests at
    ``1e-14`` with an eigenvalue at 1 and with the cyclic shift ``a = e_1``); only an unstable ``A`` with
    an eigenvalue of modulus close to ``e^{1/L}`` (a kernel growing by ``~e`` over ``L``) comes near the
    points. Same FFT work as the ``c~`` path plus ``log2 L`` small products.

    **Shapes:** ``a``, ``b``, ``c`` ``(d,)`` real (batch-free; batch with ``jax.vmap``), any ``d >= 1`` and
    ``L >= 1`` (``d > L`` included); returns ``(L,)`` in their promoted float dtype (float32 or float64;
    integers converted, half precision computed in float32).
    **Cost:** ``O((d + L) log(d + L) + d log d log L)`` time, ``O(d + L)`` memory (no ``(d, L)`` Krylov
    matrix), also under ``jax.grad``. An ``A`` with an eigenvalue that is an ``L``-th root of unity makes
    the roots-of-unity formula (``c_tilde=True``) ``0/0`` and raises a run-time error (``eqx.error_if``)
    rather than returning NaN. Reference: SpaceTime, ICLR 2023, Sec. 3.3.
    """
    L = check_positive_int(L, "L")
    if not isinstance(c_tilde, bool):
        raise TypeError(f"`c_tilde` must be a bool, got {c_tilde!r}.")
    a, b, c = _vectors((("a", a), ("b", b), ("c", c)))
    K = _kernel_jit(a, b, c, L, c_tilde)
    return error_if_not(
        K,
        jnp.isfinite(K),
        "the companion kernel is not finite: `a` gives A an eigenvalue on the unit circle at an L-th "
        "root of unity (the roots-of-unity formula is 0/0), or the kernel overflows for this `L`.",
    )


def companion_matrix(a: Real[ArrayLike, " d"]) -> Float[Array, " d d"]:
    """The dense companion matrix ``A = S + a e_d^T`` (down-shift plus last column ``a``), ``(d, d)``."""
    (a,) = _vectors((("a", a),))
    d = a.shape[0]
    return jnp.eye(d, k=-1, dtype=a.dtype).at[:, d - 1].add(a)


def companion_kernel_krylov(
    a: Real[ArrayLike, " d"], b: Real[ArrayLike, " d"], c: Real[ArrayLike, " d"], L: int
) -> Float[Array, " l"]:
    r"""Reference kernel ``K_k = c A^k b`` through the dense ``(d, L)`` Krylov matrix ``[b, Ab, ..., A^{L-1} b]``
    built by repeated squaring (the released SpaceTime code's construction).

    **Shapes:** as :func:`companion_kernel`. **Cost:** ``O(d^2 L + d^3 log L)`` time and ``O(d L)`` memory:
    a test and benchmark reference, not the fast path.
    """
    L = check_positive_int(L, "L")
    a, b, c = _vectors((("a", a), ("b", b), ("c", c)))
    d = a.shape[0]
    A = jnp.eye(d, k=-1, dtype=a.dtype).at[:, d - 1].add(a)
    X = b[:, None]
    P = A
    while X.shape[1] < L:
        X = jnp.concatenate([X, P @ X], axis=1)
        if X.shape[1] < L:
            P = P @ P
    return c @ X[:, :L]


def _matrix_power(A, n):
    """``A^n`` by binary powering (``O(d^3 log n)``); ``n >= 0`` a Python int."""
    result = jnp.eye(A.shape[0], dtype=A.dtype)
    base = A
    while n:
        if n & 1:
            result = result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def companion_c_tilde(
    a: Real[ArrayLike, " d"], c: Real[ArrayLike, " d"], L: int
) -> Float[Array, " d"]:
    """``c~ = c (I - A^L)``, the roots-of-unity output vector of :func:`companion_kernel` (``c_tilde=True``).

    The row ``c A^L`` from ``z^L mod chi_A`` by binary powering and a length-``d`` power series (no
    ``A^L`` matrix): ``O(d log d log L)`` time, ``O(d)`` memory.
    """
    L = check_positive_int(L, "L")
    a, c = _vectors((("a", a), ("c", c)))
    return _c_tilde_jit(a, c, L)


@functools.partial(jax.jit, static_argnums=2)
def _c_tilde_jit(a, c, L):
    return c - _c_times_a_power(a, c, L)


def companion_c_from_tilde(
    a: Real[ArrayLike, " d"], c_tilde: Real[ArrayLike, " d"], L: int
) -> Float[Array, " d"]:
    """The output vector ``c = c~ (I - A^L)^{-1}`` for recurrent and closed-loop use of a kernel trained
    in the ``c~`` parameterisation.

    Dense: ``A^L`` by binary powering and one ``d x d`` solve, ``O(d^3 log L)`` time, ``O(d^2)`` memory
    (done once per layer, not per step). ``I - A^L`` is singular when ``A`` has an eigenvalue that is an
    ``L``-th root of unity; the result is then not finite and raises a run-time error naming ``c_tilde``.
    """
    L = check_positive_int(L, "L")
    a, ct = _vectors((("a", a), ("c_tilde", c_tilde)))
    d = a.shape[0]
    A = jnp.eye(d, k=-1, dtype=a.dtype).at[:, d - 1].add(a)
    M = jnp.eye(d, dtype=a.dtype) - _matrix_power(A, L)
    c = jnp.linalg.solve(M.T, ct)
    return error_if_not(
        c,
        jnp.isfinite(c),
        "`c_tilde` cannot be converted back: I - A^L is singular (A has an eigenvalue at an L-th root "
        "of unity).",
    )


def companion_state(
    a: Real[ArrayLike, " d"], b: Real[ArrayLike, " d"], u: Real[ArrayLike, " l"]
) -> Float[Array, " d"]:
    r"""The state after a sequence: ``x = sum_{t<l} A^{l-1-t} b u_t`` (the recurrence ``x_t = A x_{t-1} + b u_t``
    from ``x_{-1} = 0``), the lag state of the closed-loop forecaster.

    Polynomials in ``A`` commute and ``A^j e_1 = e_{j+1}`` for ``j < d``, so ``x`` is the coefficient vector of
    ``b(z) p(z) mod chi_A(z)`` with ``b(z) = sum_i b_i z^i`` and ``p(z) = sum_t u_t z^{l-1-t}``: one FFT product
    and one division by the monic ``chi_A`` (Newton's inverse of its reversal ``Q``).
    **Cost:** ``O((d + l) log(d + l))`` time and ``O(d + l)`` memory, no ``(d, l)`` Krylov matrix.
    """
    a, b = _vectors((("a", a), ("b", b)))
    u = as_array(u, "u")
    check_real(u, "u")
    if u.ndim != 1 or u.shape[0] < 1:
        raise ValueError(f"`u` must be a sequence of shape (l,) with l >= 1, got shape {u.shape}.")
    dtype = compute_dtype(a, u)
    u = check_finite(u.astype(dtype), "u")
    return _state(a.astype(dtype), b.astype(dtype), u)


@jax.jit
def _state(a, b, u):
    d = a.shape[-1]
    f = _polymul(b, u[..., ::-1], d + u.shape[-1] - 1)  # degree d + l - 2
    return _polymod(f, a)


def _polymod(f, a):
    """Remainder of ``f`` (coefficients, lowest first) modulo the monic ``chi_A = z^d - sum a_i z^i``."""
    d = a.shape[-1]
    n = f.shape[-1]
    if n <= d:
        return jnp.concatenate([f, jnp.zeros((*f.shape[:-1], d - n), f.dtype)], axis=-1)
    m = n - d  # number of quotient coefficients
    qinv = _series_inverse(_q_poly(a), m)  # 1 / rev(chi_A) mod z^m
    quot_rev = _polymul(f[..., ::-1], qinv, m)
    quot = quot_rev[..., ::-1]  # degree m - 1
    chi = jnp.concatenate([-a, jnp.ones_like(a[..., :1])], axis=-1)
    return (f - _polymul(chi, quot, n))[..., :d]


# -------------------------------------------------------------------------------------- closed loop
def companion_closed_loop(
    a: Real[ArrayLike, " d"],
    b: Real[ArrayLike, " d"],
    c: Real[ArrayLike, " d"],
    k: Real[ArrayLike, " d"],
    x0: Real[ArrayLike, " d"],
    horizon: int,
) -> tuple[Float[Array, " h"], Float[Array, " h"]]:
    r"""Closed-loop rollout ``x_{j+1} = (A + b k^T) x_j`` from ``x_0``: returns ``y_j = c x_j`` and the
    predicted next inputs ``uhat_j = k x_j`` for ``j = 1..horizon``.

    ``A + b k^T = S + U V^T`` with ``U = [a, b]``, ``V = [e_d, k]``: by Woodbury,
    ``w (I - z(A + b k^T))^{-1} x_0 = q(w, x_0) + z [q(w,a), q(w,b)] (I - z G)^{-1} [q(e_d,x_0), q(k,x_0)]^T``
    with the ``2 x 2`` polynomial matrix ``G = [[q(e_d,a), q(e_d,b)], [q(k,a), q(k,b)]]``; its determinant
    ``D(z)`` (degree ``<= 2d``, ``D(0) = 1``) is inverted as a power series. No ``d x horizon`` Krylov matrix.

    **Shapes:** five ``(d,)`` vectors; returns two ``(horizon,)`` arrays.
    **Cost:** ``O((d + h) log(d + h))`` time, ``O(d + h)`` memory.
    """
    horizon = check_positive_int(horizon, "horizon")
    a, b, c, k, x0 = _vectors((("a", a), ("b", b), ("c", c), ("k", k), ("x0", x0)))
    y, uhat = _closed_loop_jit(a, b, jnp.stack([c, k]), k, x0, horizon)
    out = jnp.stack([y, uhat])
    out = error_if_not(
        out, jnp.isfinite(out), "the closed-loop rollout overflows (A + b k^T is unstable)."
    )
    return out[0], out[1]


@functools.partial(jax.jit, static_argnums=5)
def _closed_loop_jit(a, b, W, k, x0, h):
    return _closed_loop(a, b, W, k, x0, h)


def _closed_loop(a, b, W, k, x0, h):
    """Rows ``W`` ``(r, d)`` read out along the closed-loop rollout, steps ``1..h``: ``(r, h)``."""
    n = h + 1
    g11, g12 = a[::-1], b[::-1]  # q(e_d, a), q(e_d, b)
    g21, g22 = _correlate(k, a), _correlate(k, b)
    s1, s2 = x0[::-1], _correlate(k, x0)  # q(e_d, x0), q(k, x0)
    d = a.shape[0]
    one_minus_zg11 = jnp.zeros(d + 1, a.dtype).at[0].set(1.0).at[1:].add(-g11)
    one_minus_zg22 = jnp.zeros(d + 1, a.dtype).at[0].set(1.0).at[1:].add(-g22)
    zg12 = jnp.zeros(d + 1, a.dtype).at[1:].set(g12)
    zg21 = jnp.zeros(d + 1, a.dtype).at[1:].set(g21)
    m = 2 * d + 1
    D = _polymul(one_minus_zg11, one_minus_zg22, m) - _polymul(zg12, zg21, m)
    # adj(I - zG) s = [(1 - z g22) s1 + z g12 s2, z g21 s1 + (1 - z g11) s2]
    t1 = _polymul(one_minus_zg22, s1, 2 * d) + _polymul(zg12, s2, 2 * d)
    t2 = _polymul(zg21, s1, 2 * d) + _polymul(one_minus_zg11, s2, 2 * d)
    w1 = jax.vmap(lambda w: _correlate(w, a))(W)
    w2 = jax.vmap(lambda w: _correlate(w, b))(W)
    w0 = jax.vmap(lambda w: _correlate(w, x0))(W)
    extra = _polymul(w1, t1, 3 * d) + _polymul(w2, t2, 3 * d)  # times z below
    num = _polymul(w0, D, 3 * d + 1)
    num = num + jnp.concatenate([jnp.zeros((W.shape[0], 1), a.dtype), extra], axis=-1)
    series = _polymul(num, _series_inverse(D, n), n)
    return series[:, 1:]
