"""Initialisations of (diagonal) SSMs: HiPPO, S4D, S5 (float64 NumPy on the host) and timescales (jax.random).

HiPPO matrices (Gu et al. 2020; "How to Train Your HiPPO" 2022), their normal-plus-low-rank (NPLR) split,
the S4D initialisations (Gu et al. 2022), S5's block-diagonal HiPPO-N (Smith et al. 2023), the log-uniform
timescale initialisation and a float64 reference kernel for dense SSMs. PTD lives in :mod:`._ptd`.

Conventions: ``N`` is the full (real) state size and must be even; diagonal inits return ``N/2`` complex
modes, one of each conjugate pair (the kernel sums ``2 Re``, so either member of a pair gives the same
kernel for conjugated ``B`` and ``C``). Which member is returned depends on the init: S4D-Lin and S4D-Inv
use ``Im A >= 0`` as written in the S4D paper (``A_n = -1/2 + i pi n``); S4D-LegS, the NPLR split and S5 return
the eigenvalues with ``Im <= 0`` (state-spaces/s4's convention), with ``B`` in the matching eigenbasis;
S4D-Real is real. Everything here except :func:`init_dt` is deterministic: no key, no seed.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike
from jaxtyping import Array, Complex, Float, PRNGKeyArray, Shaped

from .._checks import check_choice, check_positive_int, default_float_dtype
from ._util import check_key, check_real_scalar

__all__ = [
    "NPLR",
    "dense_ssm_kernel",
    "hippo",
    "hippo_nplr",
    "init_dt",
    "s4d_init",
    "s5_init",
]


def hippo(
    measure: str, N: int
) -> tuple[Float[np.ndarray, " n n"], Float[np.ndarray, " n"], Float[np.ndarray, " r n"]]:
    r"""HiPPO ``(A, B, P)`` for ``measure`` in ``"legs"``, ``"legt"``, ``"fout"`` (float64, host).

    - LegS: ``A[n,k] = -sqrt(2n+1) sqrt(2k+1)`` (n > k), ``-(n+1)`` (n = k), 0 (n < k); ``B = sqrt(2n+1)``;
      rank-1 ``P = sqrt(n + 1/2)``.
    - LegT: ``A = -R M R / 2`` with ``M[i,j] = (-1)^(i-j)`` for ``i < j`` else 1, ``R = sqrt(2n+1)``;
      ``B = R/2``; rank-2 ``P`` = the odd and the even entries of ``R / sqrt 2`` (``A + P^T P`` is skew).
    - FouT: ``A = pi (-diag(d, 1) + diag(d, -1)) - B B^T`` with frequencies ``d = (0, 1, 1, 2, 2, ...)[1:]``;
      ``B[0::2] = sqrt 2``, ``B[0] = 1``; rank-1 ``P = B``.

    ``P`` has shape ``(r, N)`` and ``A + P^T P`` is normal (skew-symmetric plus a multiple of ``I``).
    """
    check_choice(measure, "measure", ("legs", "legt", "fout"))
    N = check_positive_int(N, "N", minimum=1, even=(measure == "fout"))
    q = np.arange(N, dtype=np.float64)
    if measure == "legs":
        r = np.sqrt(2 * q + 1)
        A = -np.tril(np.outer(r, r), -1) - np.diag(q + 1)
        return A, r.copy(), np.sqrt(q + 0.5)[None, :]
    if measure == "legt":
        R = np.sqrt(2 * q + 1)
        j, i = np.meshgrid(q, q)
        A = -0.5 * R[:, None] * np.where(i < j, (-1.0) ** (i - j), 1.0) * R[None, :]
        P = np.stack([np.where(q % 2 == 1, R, 0.0), np.where(q % 2 == 0, R, 0.0)]) / np.sqrt(2)
        return A, 0.5 * R, P
    freqs = np.arange(N // 2)
    d = np.stack([np.zeros(N // 2), freqs], axis=-1).reshape(-1)[1:]
    B = np.zeros(N)
    B[0::2] = np.sqrt(2)
    B[0] = 1
    A = np.pi * (-np.diag(d, 1) + np.diag(d, -1)) - np.outer(B, B)
    return A, B, B[None, :].copy()


@dataclasses.dataclass(frozen=True)
class NPLR:
    """Normal-plus-low-rank form ``A = V diag(Lambda) V^* + conj - P^T P`` (full, not halved).

    ``Lambda`` ``(N/2,)``: one eigenvalue of each conjugate pair of the normal part ``S = A + P^T P``
    (negative imaginary part); ``V`` ``(N, N/2)`` the matching orthonormal eigenvectors, each column scaled so
    that its first nonzero entry (``V[0, n]`` for LegS) is real and positive (the *phase convention*);
    ``B = V^* B`` and ``P = V^* P^T`` in that basis (``(N/2,)`` and ``(r, N/2)``), unclipped; ``S`` the
    normal part itself."""

    Lambda: np.ndarray
    V: np.ndarray
    B: np.ndarray
    P: np.ndarray
    S: np.ndarray


def _fix_phase(V: np.ndarray) -> np.ndarray:
    """Scale each column so that its first entry of non-negligible modulus is real and positive."""
    mag = np.abs(V)
    first = np.argmax(mag > 1e-8 * mag.max(axis=0, keepdims=True), axis=0)
    lead = V[first, np.arange(V.shape[1])]
    return V * (np.abs(lead) / lead)[None, :]


def hippo_nplr(measure: str, N: int) -> NPLR:
    r"""The NPLR split of a HiPPO matrix (the eigendecomposition of its normal part), float64 on the host.

    ``S = A + P^T P``; ``Re Lambda`` is set to the mean of ``diag S`` (exactly ``-1/2`` for LegS, ``0`` for
    FouT), ``Im Lambda`` and ``V`` come from ``eigh(-i (S - Re Lambda I))`` (a Hermitian matrix, since
    ``S - mean(diag S) I`` is skew-symmetric), sorted by ``Im Lambda`` with the ``N/2`` most negative kept.
    Phase convention: every column of ``V`` is scaled so that its first nonzero entry is real and positive.
    (LAPACK's Hermitian eigensolver, which state-spaces/s4 calls through ``torch.linalg.eigh``, returns
    ``V[0, n]`` real with a sign of its own choosing; the convention here fixes that sign.) The zero
    eigenvalue pair of FouT gets the eigenvector ``(e_0 + i e_1)/sqrt 2`` as in state-spaces/s4."""
    N = check_positive_int(N, "N", minimum=2, even=True)
    A, B, P = hippo(measure, N)
    S = A + P.T @ P
    re = np.mean(np.diag(S))
    skew = S - re * np.eye(N)
    if not np.allclose(skew, -skew.T, atol=1e-8 * max(1.0, np.abs(S).max())):
        raise AssertionError(f"normal part of {measure} is not skew + scalar")  # pragma: no cover
    w, V = np.linalg.eigh(-1j * skew)
    order = np.argsort(w)
    w, V = w[order], V[:, order]
    lam = re + 1j * w[: N // 2]
    V = V[:, : N // 2].copy()
    if abs(lam[-1].imag) < 1e-4:  # FouT: the zero pair; the eigenvector of the real 2-D kernel
        V[:, -1] = 0
        V[0, -1] = 2**-0.5
        V[1, -1] = 2**-0.5 * 1j
    V = _fix_phase(V)
    Vh = V.conj().T
    return NPLR(Lambda=lam, V=V, B=Vh @ B, P=(Vh @ P.T).T, S=S)


def s4d_init(
    kind: str, N: int, *, real: float = 0.5, b_clip: float | None = 2.0
) -> tuple[Complex[np.ndarray, " m"], Complex[np.ndarray, " m"]]:
    r"""Diagonal S4D initialisation ``(A, B)`` with ``N/2`` complex modes (``N`` = full, even state size).

    - ``"lin"`` (S4D-Lin): ``A_n = -1/2 + i pi n``, ``B_n = 1``.
    - ``"inv"`` (S4D-Inv): ``A_n = -1/2 + i (N/pi)(N/(2n+1) - 1)``, ``B_n = 1``.
    - ``"legs"`` (S4D-LegS): ``A`` = the eigenvalues of the normal part of HiPPO-LegS (``Re = -1/2``,
      ``Im <= 0``), ``B = V^* B_LegS`` in the eigenbasis of :func:`hippo_nplr` (first entry of every
      eigenvector real and positive), the 1/2 factor dropped and ``Im B`` clipped to ``[-b_clip, b_clip]``,
      both as in state-spaces/s4 (``nplr(..., B_clip=2.0)``):
      ``B_n = Re (V^* B_LegS)_n + i clip(Im (V^* B_LegS)_n, -b_clip, b_clip)``. ``b_clip=None`` keeps
      ``V^* B_LegS`` exact. The clip is odd, so it commutes with the sign of each eigenvector: ``|B_n|``
      agrees with state-spaces/s4 whichever sign LAPACK returns there.
    - ``"real"``: ``A_n = -(n+1)``, ``B_n = 1``.

    ``real`` sets ``-Re A`` for lin/inv and must be a finite number ``> 0`` (``Re A < 0``: a stable,
    decaying kernel; ``real <= 0`` raises); ``b_clip`` (``> 0`` or ``None``) acts on ``"legs"`` only. Host
    float64, no randomness. Reference: Gu, Gupta, Goel, Ré, S4D, NeurIPS 2022, §4.
    """
    check_choice(kind, "kind", ("lin", "inv", "legs", "real"))
    N = check_positive_int(N, "N", minimum=2, even=True)
    real = check_real_scalar(real, "real")
    if b_clip is not None:
        check_real_scalar(b_clip, "b_clip")
    n = np.arange(N // 2, dtype=np.float64)
    ones = np.ones(N // 2, np.complex128)
    if kind == "lin":
        return -real + 1j * np.pi * n, ones
    if kind == "inv":
        return -real + 1j * (N / np.pi) * (N / (2 * n + 1) - 1), ones
    if kind == "real":
        return -(n + 1) + 0j, ones
    d = hippo_nplr("legs", N)
    B = d.B
    if b_clip is not None:
        B = B.real + 1j * np.clip(B.imag, -b_clip, b_clip)
    return d.Lambda, B


def init_dt(
    key: PRNGKeyArray,
    H: int | tuple[int, ...],
    dt_min: float = 1e-3,
    dt_max: float = 1e-1,
    *,
    dtype: DTypeLike | None = None,
) -> Float[Array, " ..."]:
    """Log-uniform timescales: ``log dt ~ U[log dt_min, log dt_max]`` by ``jax.random``, shape ``(H,)``.

    ``H`` is an int (shape ``(H,)``) or a shape tuple (e.g. ``(H, N/2)`` for per-mode steps); ``dtype`` defaults
    to JAX's default float. Works under ``jax.jit`` and ``jax.vmap`` over keys. HTTYH (Gu et al. 2022):
    ``1/dt`` sets the memory length; use ``dt_min ~ 1/L`` for length-``L`` tasks.

    ``key`` is one key (a typed key of shape ``()`` or a raw ``uint32`` key ``(2,)``; batch keys with
    ``eqx.filter_vmap``); ``0 < dt_min <= dt_max`` must be finite and representable (normal numbers) in
    ``dtype``."""
    check_key(key)
    dt_min = check_real_scalar(dt_min, "dt_min")
    dt_max = check_real_scalar(dt_max, "dt_max")
    if dt_min > dt_max:
        raise ValueError(f"`dt_min` must be <= `dt_max`, got {dt_min} > {dt_max}.")
    if isinstance(H, tuple):
        shape = tuple(check_positive_int(h, "H") for h in H)
    else:
        shape = (check_positive_int(H, "H"),)
    dtype = default_float_dtype(dtype)
    fi = jnp.finfo(dtype)
    for value, name in ((dt_min, "dt_min"), (dt_max, "dt_max")):
        if not float(fi.tiny) <= value <= float(fi.max):
            raise ValueError(
                f"`{name}` must lie in [{fi.tiny}, {fi.max}] to be a normal {dtype} number, got {value}."
            )
    lo, hi = np.log(dt_min), np.log(dt_max)
    return jnp.exp(jax.random.uniform(key, shape, dtype, minval=lo, maxval=hi))


def s5_init(
    P: int, *, blocks: int = 1, conj_sym: bool = True
) -> tuple[Complex[np.ndarray, " m"], Complex[np.ndarray, " p m"]]:
    r"""S5's block-diagonal HiPPO-N eigenbasis ``(Lambda, V)``, float64 on the host (no randomness).

    Each of the ``blocks`` diagonal blocks is the normal part of a ``(P/blocks)``-sized LegS, diagonalised
    (``Lambda = -1/2 + i w``, ``V`` unitary within each block so ``V^{-1} = V^*``), with the phase convention
    of :func:`hippo_nplr`. With ``conj_sym`` only the ``P/2`` modes with negative imaginary part are kept
    (then ``y = 2 Re(C~ x)``): ``Lambda`` ``(P/2,)`` and ``V`` ``(P, P/2)``; else ``(P,)`` and ``(P, P)``.
    A layer draws real ``B`` ``(P, H)`` and ``C`` ``(H, P)`` with ``jax.random`` and uses ``B~ = V^* B``,
    ``C~ = C V`` (:class:`S5Layer`). Reference: Smith, Warrington, Linderman, S5, ICLR 2023, §4.
    """
    P = check_positive_int(P, "P", minimum=2, even=True)
    blocks = check_positive_int(blocks, "blocks")
    if P % blocks or (P // blocks) % 2:
        raise ValueError(f"`P` must be a multiple of 2*`blocks`, got P={P}, blocks={blocks}.")
    bs = P // blocks
    A, _, Pl = hippo("legs", bs)
    S = A + Pl.T @ Pl
    w, Vb = np.linalg.eigh(-1j * (S + 0.5 * np.eye(bs)))
    order = np.argsort(w)
    w, Vb = w[order], _fix_phase(Vb[:, order])
    keep = np.arange(bs // 2) if conj_sym else np.arange(bs)
    lam_b = -0.5 + 1j * w[keep]
    V = np.zeros((P, blocks * len(keep)), np.complex128)
    for b in range(blocks):
        V[b * bs : (b + 1) * bs, b * len(keep) : (b + 1) * len(keep)] = Vb[:, keep]
    return np.tile(lam_b, blocks), V


def _expm(M: np.ndarray) -> np.ndarray:
    """Matrix exponential in float64 NumPy: scaling and squaring of a Taylor series (host, no SciPy).

    ``M`` is scaled by ``2^-s`` until ``||M||_1 <= 1/2``; the series is summed until its terms fall below
    machine precision relative to the sum (at most about 30 terms), then squared ``s`` times."""
    norm = np.linalg.norm(M, 1)
    s = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0.5 else 0
    X = M / 2.0**s
    out = np.eye(M.shape[0], dtype=X.dtype)
    term = out
    for k in range(1, 40):
        term = term @ X / k
        out = out + term
        if np.linalg.norm(term, 1) <= np.finfo(np.float64).eps * np.linalg.norm(out, 1):
            break
    for _ in range(s):
        out = out @ out
    return out


def dense_ssm_kernel(
    A: Shaped[np.ndarray, " n n"],
    B: Shaped[np.ndarray, " n"],
    C: Shaped[np.ndarray, " n"],
    dt: float,
    L: int,
    method: str = "zoh",
) -> Shaped[np.ndarray, " l"]:
    """float64 reference: the kernel ``C Abar^l Bbar`` of a dense SSM by repeated multiplication (host).

    ``A`` ``(N, N)``, ``B`` ``(N,)``, ``C`` ``(N,)``; ZOH via the matrix exponential of the augmented matrix
    ``[[dt A, dt B], [0, 0]]`` (float64 scaling and squaring, no SciPy),
    bilinear via a linear solve. Cost ``O(N^2 L)``. Every entry must be finite; a kernel that overflows
    (``A`` with eigenvalues of large positive real part) raises a ``ValueError`` naming ``A``."""
    check_choice(method, "method", ("zoh", "bilinear"))
    dt = check_real_scalar(dt, "dt")
    L = check_positive_int(L, "L")
    A, B, C = (_host_array(x, name) for x, name in ((A, "A"), (B, "B"), (C, "C")))
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
        raise ValueError(f"`A` must be a square matrix (N, N) with N >= 1, got shape {A.shape}.")
    N = A.shape[0]
    for x, name in ((B, "B"), (C, "C")):
        if x.shape != (N,):
            raise ValueError(f"`{name}` must have shape ({N},) to match `A`, got {x.shape}.")
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "zoh":
            M = np.zeros((N + 1, N + 1), dtype=np.result_type(A, B, float))
            M[:N, :N] = dt * A
            M[:N, N] = dt * B
            if not np.all(np.isfinite(M)):
                raise ValueError(f"`dt` * `A` and `dt` * `B` overflow for `dt`={dt}.")
            X = _expm(M)
            Ab, Bb = X[:N, :N], X[:N, N]
        else:
            I = np.eye(N)
            try:
                Ab = np.linalg.solve(I - dt / 2 * A, I + dt / 2 * A)
                Bb = np.linalg.solve(I - dt / 2 * A, dt * B)
            except np.linalg.LinAlgError as e:
                raise ValueError(
                    f"`A` and `dt`: the bilinear step is singular (I - dt A / 2 is singular): {e}"
                ) from e
        out = np.empty(L, dtype=np.result_type(C, Ab))
        x = Bb
        for l in range(L):
            out[l] = C @ x
            x = Ab @ x
    if not np.all(np.isfinite(out)):
        raise ValueError(
            "the kernel of `A` overflows: `A` has eigenvalues with positive real part too large for "
            f"`dt`={dt} and `L`={L} (the kernel grows like exp(l dt Re lambda))."
        )
    return out


def _host_array(x, name):
    """A host float64/complex128 array of numbers, finite (a ``ValueError``/``TypeError`` naming ``name``)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"`{name}` must be a numeric array, got dtype {arr.dtype}.")
    if arr.dtype.kind == "c":
        arr = arr.astype(np.complex128)
    else:
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite (no NaN or inf).")
    return arr
