"""Perturb-then-diagonalise (PTD) HiPPO-LegS, float64 NumPy on the host (Yu et al., ICLR 2024)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import check_positive_int
from ._init import hippo
from ._util import check_real_scalar

__all__ = ["PTD", "ptd_legs"]


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
    bounded by about ``(2 ln N + 4) ||E||`` (PTD, Thm. 3). ``gamma`` and ``lr`` are finite numbers ``> 0``,
    ``steps`` and ``seed`` integers ``>= 0``. Returns a :class:`PTD` with ``||E||`` and ``cond(V)``.
    """
    N = check_positive_int(N, "N", minimum=2, even=True)
    gamma = check_real_scalar(gamma, "gamma")
    lr = check_real_scalar(lr, "lr")
    steps = check_positive_int(steps, "steps", minimum=0)
    seed = check_positive_int(seed, "seed", minimum=0)
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
