"""Initialisations of (diagonal) SSMs, computed in float64 NumPy on the host.

HiPPO matrices (Gu et al. 2020; "How to Train Your HiPPO" 2022), their normal-plus-low-rank (NPLR) split,
the S4D initialisations (Gu et al. 2022), S5's block-diagonal HiPPO-N (Smith et al. 2023), a PTD-style
perturbed diagonalisation (Yu et al., ICLR 2024) and the log-uniform timescale initialisation.
Conventions: ``N`` is the full (real) state size and must be even; diagonal inits return the ``N/2`` modes
with negative imaginary part (or the lower half), one of each conjugate pair.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import check_choice, check_positive, check_positive_int

__all__ = [
    "NPLR",
    "dense_ssm_kernel",
    "PTD",
    "hippo",
    "hippo_nplr",
    "init_dt",
    "ptd_legs",
    "s4d_init",
    "s5_init",
]


def hippo(measure: str, N: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    """Normal-plus-low-rank form ``A = V diag(Lambda) V^* - P^T P`` (full, not halved).

    ``Lambda`` ``(N/2,)``: one eigenvalue of each conjugate pair of the normal part ``S = A + P^T P``
    (negative imaginary part); ``V`` ``(N, N/2)`` the matching orthonormal eigenvectors; ``B = V^* B`` and
    ``P = V^* P^T`` in that basis (``(N/2,)`` and ``(r, N/2)``); ``S`` the normal part itself."""

    Lambda: np.ndarray
    V: np.ndarray
    B: np.ndarray
    P: np.ndarray
    S: np.ndarray


def hippo_nplr(measure: str, N: int) -> NPLR:
    r"""The NPLR split of a HiPPO matrix (the eigendecomposition of its normal part), float64 on the host.

    ``S = A + P^T P``; ``Re Lambda`` is set to the mean of ``diag S`` (exactly ``-1/2`` for LegS, ``0`` for
    FouT), ``Im Lambda`` and ``V`` come from ``eigh(-i S)`` (``S - mean(diag S) I`` is skew-symmetric). The zero
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
    if (
        abs(lam[-1].imag) < 1e-4
    ):  # FouT: the zero pair; choose the eigenvector of the real 2-D kernel
        V[:, -1] = 0
        V[0, -1] = 2**-0.5
        V[1, -1] = 2**-0.5 * 1j
    Vh = V.conj().T
    return NPLR(Lambda=lam, V=V, B=Vh @ B, P=(Vh @ P.T).T, S=S)


def s4d_init(kind: str, N: int, *, real: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    r"""Diagonal S4D initialisation ``(A, B)`` with ``N/2`` complex modes (``N`` = full, even state size).

    - ``"lin"`` (S4D-Lin): ``A_n = -1/2 + i pi n``, ``B_n = 1``.
    - ``"inv"`` (S4D-Inv): ``A_n = -1/2 + i (N/pi)(N/(2n+1) - 1)``, ``B_n = 1``.
    - ``"legs"`` (S4D-LegS): ``A`` = the eigenvalues of the normal part of HiPPO-LegS (``Re = -1/2``),
      ``B = V^* B_LegS`` (the 1/2 factor dropped, as in state-spaces/s4).
    - ``"real"``: ``A_n = -(n+1)``, ``B_n = 1``.

    ``real`` sets ``-Re A`` for lin/inv. Reference: Gu, Gupta, Goel, Ré, S4D, NeurIPS 2022, §4.
    Note S4D stores ``-i pi n`` or ``+i pi n`` indifferently: the conjugate pair makes the two equivalent.
    """
    check_choice(kind, "kind", ("lin", "inv", "legs", "real"))
    N = check_positive_int(N, "N", minimum=2, even=True)
    n = np.arange(N // 2, dtype=np.float64)
    ones = np.ones(N // 2, np.complex128)
    if kind == "lin":
        return -real + 1j * np.pi * n, ones
    if kind == "inv":
        return -real + 1j * (N / np.pi) * (N / (2 * n + 1) - 1), ones
    if kind == "real":
        return -(n + 1) + 0j, ones
    d = hippo_nplr("legs", N)
    return d.Lambda, d.B


def init_dt(
    H: int, dt_min: float = 1e-3, dt_max: float = 1e-1, *, seed: int = 0, shape=None
) -> np.ndarray:
    """Log-uniform timescales: ``log dt ~ U[log dt_min, log dt_max]``, shape ``(H,)`` or ``shape``.

    HTTYH (Gu et al. 2022): ``1/dt`` sets the memory length; use ``dt_min ~ 1/L`` for length-``L`` tasks."""
    check_positive(dt_min, "dt_min")
    check_positive(dt_max, "dt_max")
    if dt_min > dt_max:
        raise ValueError(f"`dt_min` must be <= `dt_max`, got {dt_min} > {dt_max}.")
    rng = np.random.default_rng(seed)
    shape = (check_positive_int(H, "H"),) if shape is None else tuple(shape)
    return np.exp(rng.uniform(np.log(dt_min), np.log(dt_max), size=shape))


def s5_init(P: int, H: int, *, blocks: int = 1, seed: int = 0, conj_sym: bool = True):
    r"""S5 initialisation: block-diagonal HiPPO-N with ``B -> V^{-1} B`` and ``C -> C V``.

    Each of the ``blocks`` diagonal blocks is the normal part of a ``(P/blocks)``-sized LegS, diagonalised
    (``Lambda = -1/2 + i w``, ``V`` unitary so ``V^{-1} = V^*``). ``B`` ``(P, H)`` and ``C`` ``(H, P)`` are
    LeCun-normal (real); the returned ``(Lambda, B~, C~)`` are in the eigenbasis: ``B~ = V^{-1} B``, ``C~ = C V``.
    With ``conj_sym`` only the ``P/2`` modes with negative imaginary part are kept (then ``y = 2 Re(C~ x)``).
    Returns ``(Lambda, B~, C~, V)`` as complex128 NumPy arrays. Reference: Smith et al., S5, ICLR 2023, §4.
    """
    P = check_positive_int(P, "P", minimum=2, even=True)
    H = check_positive_int(H, "H")
    blocks = check_positive_int(blocks, "blocks")
    if P % blocks or (P // blocks) % 2:
        raise ValueError(f"`P` must be a multiple of 2*`blocks`, got P={P}, blocks={blocks}.")
    bs = P // blocks
    S = hippo("legs", bs)[0] + np.outer(*(2 * [hippo("legs", bs)[2][0]]))
    w, Vb = np.linalg.eigh(-1j * (S + 0.5 * np.eye(bs)))
    order = np.argsort(w)
    w, Vb = w[order], Vb[:, order]
    keep = np.arange(bs // 2) if conj_sym else np.arange(bs)
    lam_b = -0.5 + 1j * w[keep]
    Vk = np.zeros((P, blocks * len(keep)), np.complex128)
    Vfull = np.zeros((P, P), np.complex128)
    for b in range(blocks):
        Vk[b * bs : (b + 1) * bs, b * len(keep) : (b + 1) * len(keep)] = Vb[:, keep]
        Vfull[b * bs : (b + 1) * bs, b * bs : (b + 1) * bs] = Vb
    Lambda = np.tile(lam_b, blocks)
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(P, H)) / np.sqrt(H)
    C = rng.normal(size=(H, P)) / np.sqrt(P)
    Btil = Vk.conj().T @ B
    Ctil = C @ Vk
    return Lambda, Btil, Ctil, Vk


@dataclasses.dataclass(frozen=True)
class PTD:
    """Result of :func:`ptd_legs`: ``A + E = V diag(Lambda) V^{-1}`` (all ``N`` modes, and the ``N/2`` kept)."""

    Lambda: np.ndarray  # (N/2,) eigenvalues with Im <= 0 (one of each conjugate pair)
    B: np.ndarray  # (N/2,) V^{-1} B for the kept modes
    V: np.ndarray  # (N, N) eigenvectors (unit columns)
    E: np.ndarray  # (N, N) the real perturbation
    norm_E: float  # spectral norm of E
    rel_norm_E: float  # ||E|| / ||A||
    cond_V: float  # 2-norm condition number of V (unit columns)
    cond_V_unperturbed: float  # the same for A itself (numerically; may be inf)
    history: np.ndarray  # the objective per step


def _eig_unit(M):
    w, V = np.linalg.eig(M)
    V = V / np.linalg.norm(V, axis=0, keepdims=True)
    return w, V


def ptd_legs(
    N: int, *, gamma: float = 1.0, steps: int = 300, lr: float = 0.02, seed: int = 0
) -> PTD:
    r"""Perturb-then-diagonalise (PTD) HiPPO-LegS: diagonalise ``A + E`` with a small real ``E``.

    HiPPO-LegS is non-normal and exponentially ill-conditioned to diagonalise (Yu, Nigmetov, Morozov, Mahoney,
    Erichson, "Robustifying State-space Models for Long Sequences via Approximate Diagonalization", ICLR 2024).
    Construction (deterministic, host-side, float64): start from the NPLR split ``A = S - p p^T`` and
    ``E_0 = alpha p p^T`` (dropping a fraction of the low-rank term pulls the spectrum towards the normal part,
    where ``cond(V) = 1``), with ``alpha`` chosen on a grid to minimise ``log cond(V)^2 + gamma ||E||_2``;
    then ``steps`` Adam steps on the same objective over a full real ``E`` using the exact derivative of
    ``log cond(V)`` through the eigenvectors (first-order perturbation theory). ``E`` is real, so the spectrum
    stays conjugate-symmetric and ``N/2`` modes suffice. The transfer-function error of the diagonal model is
    bounded by about ``(2 ln N + 4) ||E||`` (PTD, Thm. 3). Returns a :class:`PTD` with ``||E||`` and ``cond(V)``.
    """
    N = check_positive_int(N, "N", minimum=2, even=True)
    check_positive(gamma, "gamma")
    steps = check_positive_int(steps, "steps", minimum=0)
    A, B, P = hippo("legs", N)
    normA = np.linalg.norm(A, 2)
    pp = P.T @ P

    def objective(E):
        _, V = _eig_unit(A + E)
        s = np.linalg.svd(V, compute_uv=False)
        return 2 * np.log(s[0] / s[-1]) + gamma * np.linalg.norm(E, 2) / normA * N

    # 1) principled start: a fraction of the low-rank term
    alphas = np.linspace(0.0, 1.0, 41)[1:]
    vals = [objective(a * pp) for a in alphas]
    E = alphas[int(np.argmin(vals))] * pp
    rng = np.random.default_rng(seed)
    E = E + 1e-6 * rng.standard_normal((N, N))
    # 2) refine with Adam on the full E, using analytic gradients of log cond(V)
    m = np.zeros_like(E)
    v = np.zeros_like(E)
    best_E, best = E, objective(E)
    hist = [best]
    for t in range(1, steps + 1):
        g = _grad_objective(A, E, gamma * N / normA)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        E = E - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-12)
        val = objective(E)
        hist.append(val)
        if val < best:
            best_E, best = E.copy(), val
    E = best_E
    w, V = _eig_unit(A + E)
    order = np.lexsort((w.real, np.round(w.imag, 10)))
    w, V = w[order], V[:, order]
    keep = w.imag < 0
    nz = np.sum(keep)
    if nz != N // 2:  # real eigenvalues present: keep the lower half by imaginary part
        keep = np.argsort(w.imag)[: N // 2]
    Vinv_B = np.linalg.solve(V, B.astype(np.complex128))
    s = np.linalg.svd(V, compute_uv=False)
    s0 = np.linalg.svd(_eig_unit(A)[1], compute_uv=False)
    return PTD(
        Lambda=w[keep],
        B=Vinv_B[keep],
        V=V,
        E=E,
        norm_E=float(np.linalg.norm(E, 2)),
        rel_norm_E=float(np.linalg.norm(E, 2) / normA),
        cond_V=float(s[0] / s[-1]),
        cond_V_unperturbed=float(s0[0] / s0[-1]) if s0[-1] > 0 else float("inf"),
        history=np.asarray(hist),
    )


def _grad_objective(A, E, weight):
    """Gradient in E of 2 log cond(V(A+E)) + weight ||E||_2 (V with unit columns)."""
    M = A + E
    w, V = _eig_unit(M)
    U, s, Wh = np.linalg.svd(V)
    # d log cond = (u1^* dV v1)/s1 - (un^* dV vn)/sn  (real part); G_V = dObjective/dV (complex)
    G_V = 2 * (np.outer(U[:, 0], Wh[0].conj()) / s[0] - np.outer(U[:, -1], Wh[-1].conj()) / s[-1])
    # eigenvector perturbation: dV = V (F o (V^{-1} dM V)) then renormalise columns (projection)
    Vinv = np.linalg.inv(V)
    diff = w[None, :] - w[:, None]
    np.fill_diagonal(diff, 1.0)
    F = 1.0 / diff
    np.fill_diagonal(F, 0.0)
    # unit-norm constraint: remove the component of G_V along each column
    G_V = G_V - V * np.real(np.sum(V.conj() * G_V, axis=0, keepdims=True))
    # chain rule through dV = V (F o (Vinv dM V)):  dObj = Re <G_V, dV>
    X = np.conj(F) * (V.conj().T @ G_V)
    G_M = Vinv.conj().T @ X @ V.conj().T
    G = np.real(G_M)
    uE, _, vEh = np.linalg.svd(E)
    G = G + weight * np.outer(uE[:, 0], vEh[0])  # d||E||_2 = u1 v1^T
    return G


def dense_ssm_kernel(
    A: np.ndarray, B: np.ndarray, C: np.ndarray, dt: float, L: int, method: str = "zoh"
) -> np.ndarray:
    """float64 reference: the kernel ``C Abar^l Bbar`` of a dense SSM by repeated multiplication (host).

    ``A`` ``(N, N)``, ``B`` ``(N,)``, ``C`` ``(N,)``; ZOH via ``scipy.linalg.expm`` of the augmented matrix,
    bilinear via a linear solve. Cost ``O(N^2 L)``."""
    check_choice(method, "method", ("zoh", "bilinear"))
    check_positive(dt, "dt")
    L = check_positive_int(L, "L")
    N = A.shape[0]
    if method == "zoh":
        import scipy.linalg

        M = np.zeros((N + 1, N + 1), dtype=np.result_type(A, B))
        M[:N, :N] = dt * A
        M[:N, N] = dt * B
        X = scipy.linalg.expm(M)
        Ab, Bb = X[:N, :N], X[:N, N]
    else:
        I = np.eye(N)
        Ab = np.linalg.solve(I - dt / 2 * A, I + dt / 2 * A)
        Bb = np.linalg.solve(I - dt / 2 * A, dt * B)
    out = np.empty(L, dtype=np.result_type(C, Ab))
    x = Bb
    for l in range(L):
        out[l] = C @ x
        x = Ab @ x
    return out
