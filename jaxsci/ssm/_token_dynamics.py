"""Token dynamics of deep selective SSMs (Vo, Pham, Tong, Nguyen, ICLR 2025, arXiv 2410.03292).

Depth is treated as time: a stack of residual S6 blocks ``x <- x + dt S6(x)`` (norm, convolution and
gate dropped, the paper's "abstracting auxiliary components") is the explicit Euler method of the ODE
``dx_l/dt = sum_{j <= l} P_lj(t) x_j`` with
``P_lj = diag_d[(x_l^T S_C^T) exp(A sum_{k=j+1}^{l} Delta_k) (S_B x_j) Delta_j]``,
``Delta_k = softplus(S_Delta x_k)``: the right-hand side is the selective scan of the tokens themselves,
``selective_scan(x, softplus(x S_Delta^T), A, x S_B^T, x S_C^T)``. In one dimension
``dx_l/dt = mu x_l sum_j x_j^2 (...)`` with ``mu = S_C^T S_B`` and a non-negative sum: ``mu < 0`` sends every
token to zero (the convergent scenario), ``mu > 0`` makes every token diverge. Tokens are time-first
``(L, D)``.
"""

from __future__ import annotations

from typing import Any

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Float, Real

from .._checks import check_positive_int, error_if_not
from .._solution import RESULTS, Solution, finalize
from ._mamba import MambaBlock
from ._selective import _selective_scan, default_chunk
from ._util import as_array, check_finite, check_real, check_real_scalar, compute_dtype

__all__ = [
    "SCENARIOS",
    "classify_token_dynamics",
    "input_output_matrix",
    "softsort",
    "token_dynamics_field",
    "token_dynamics_ode",
    "token_dynamics_stack",
]

#: The three scenarios of the paper, by the definiteness of ``S_C^T S_B``.
SCENARIOS = ("convergent", "divergent", "mixed")


def softsort(
    s: Real[ArrayLike, " l"], tau: float = 1.0, *, hard: bool = False
) -> Float[Array, " l l"]:
    r"""SoftSort (Prillo & Eisenschlos, ICML 2020): ``P[i, j] = softmax_j(-|sort(s)_i - s_j| / tau)``.

    A row-stochastic relaxation of the permutation matrix that sorts ``s`` ``(L,)`` in increasing order
    (``P @ x`` reorders the rows of ``x`` so that the highest score comes last, as Vo et al. 2025 reorder
    tokens by importance); as ``tau -> 0`` it tends to the hard permutation (ties apart). ``hard=True``
    returns the hard permutation in the forward pass with the soft one's gradient (straight-through).
    Cost ``O(L^2)`` time and memory (plus the ``O(L log L)`` sort).
    """
    s = as_array(s, "s")
    check_real(s, "s")
    if s.ndim != 1 or s.shape[0] < 1:
        raise ValueError(f"`s` must have shape (L,) with L >= 1, got {s.shape}.")
    tau = check_real_scalar(tau, "tau")
    if not isinstance(hard, bool):
        raise TypeError(f"`hard` must be a bool, got {hard!r}.")
    s = check_finite(s.astype(compute_dtype(s)), "s")
    sorted_s = jnp.sort(s)
    P = jax.nn.softmax(-jnp.abs(sorted_s[:, None] - s[None, :]) / tau, axis=-1)
    if hard:
        H = jax.nn.one_hot(jnp.argmax(P, axis=-1), s.shape[0], dtype=P.dtype)
        P = lax.stop_gradient(H - P) + P
    return P


def input_output_matrix(
    block: MambaBlock | tuple[ArrayLike, ArrayLike],
) -> Float[Array, " d d"]:
    r"""``S_C^T S_B`` ``(d_inner, d_inner)`` of a :class:`MambaBlock` (or of a pair ``(S_B, S_C)``, each
    ``(N, d)``): the matrix whose definiteness decides the token dynamics (Vo et al. 2025). Cost ``O(N d^2)``."""
    if isinstance(block, MambaBlock):
        S_B, S_C = block.io_factors()
    else:
        if not isinstance(block, (tuple, list)) or len(block) != 2:
            raise TypeError(
                f"`block` must be a MambaBlock or a pair (S_B, S_C), got {type(block).__name__}."
            )
        S_B, S_C = (as_array(x, n) for x, n in zip(block, ("S_B", "S_C"), strict=True))
        for x, n in ((S_B, "S_B"), (S_C, "S_C")):
            check_real(x, n)
            if x.ndim != 2:
                raise ValueError(f"`{n}` must have shape (N, d), got {x.shape}.")
        if S_B.shape != S_C.shape:
            raise ValueError(
                f"`S_B` and `S_C` must have the same shape, got {S_B.shape} and {S_C.shape}."
            )
    return S_C.T @ S_B


def classify_token_dynamics(
    block: MambaBlock | tuple[ArrayLike, ArrayLike] | ArrayLike, *, rtol: float | None = None
) -> str:
    r"""The scenario of Vo et al. (ICLR 2025) that a block's parameters fall in, from ``M = S_C^T S_B``.

    ``block``: a :class:`MambaBlock`, a pair ``(S_B, S_C)`` or the square matrix ``M`` itself. With the
    eigenvalues ``lambda`` of the symmetric part ``(M + M^T)/2`` (the quadratic form ``x^T M x`` that
    drives the token norms) and ``eps = rtol max|lambda|`` (``rtol=None``: ``100 d`` times the machine
    epsilon of ``M``'s dtype, so that the zero eigenvalues of a rank-``N`` product computed in float32
    count as zero): all ``lambda <= eps`` with some ``< -eps``
    gives ``"convergent"`` (negative (semi)definite: every token tends to zero), all ``>= -eps`` with some
    ``> eps`` gives ``"divergent"`` (positive (semi)definite: tokens grow), anything else ``"mixed"``
    (indefinite, or ``M = 0``). A host computation in float64 NumPy (not jittable); cost ``O(d^3)``.
    The theorems' exact hypotheses for a general ``A`` are stated in the paper; the one-dimensional
    case (``mu = S_C S_B``) is exact.
    """
    if rtol is not None:
        rtol = check_real_scalar(rtol, "rtol")
    if isinstance(block, (MambaBlock, tuple, list)) and not _is_matrix_like(block):
        M = input_output_matrix(block)
    else:
        M = as_array(block, "block")
        check_real(M, "block")
        if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 1:
            raise ValueError(f"`block` must be a square matrix S_C^T S_B, got shape {M.shape}.")
    if rtol is None:
        rtol = 100 * M.shape[0] * float(jnp.finfo(compute_dtype(M)).eps)
    M = np.asarray(M, np.float64)
    if not np.all(np.isfinite(M)):
        raise ValueError("`block` must have finite parameters (S_C^T S_B holds NaN/inf).")
    lam = np.linalg.eigvalsh((M + M.T) / 2)
    eps = rtol * max(np.max(np.abs(lam)), np.finfo(np.float64).tiny)
    if np.all(lam <= eps) and np.any(lam < -eps):
        return "convergent"
    if np.all(lam >= -eps) and np.any(lam > eps):
        return "divergent"
    return "mixed"


def _is_matrix_like(x: Any) -> bool:
    if isinstance(x, MambaBlock):
        return False
    try:
        return np.ndim(np.asarray(x, dtype=float)) == 2
    except (TypeError, ValueError):
        return False


def _check_dynamics(x, S_B, S_C, S_delta, A):
    names = ("x", "S_B", "S_C", "S_delta", "A")
    arrs = [as_array(v, n) for v, n in zip((x, S_B, S_C, S_delta, A), names, strict=True)]
    for v, n in zip(arrs, names, strict=True):
        check_real(v, n)
    x, S_B, S_C, S_delta, A = arrs
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"`x` must have shape (L, D) with L, D >= 1, got {x.shape}.")
    Dm = x.shape[1]
    if A.ndim != 2 or A.shape[0] != Dm or A.shape[1] < 1:
        raise ValueError(f"`A` must have shape ({Dm}, N), got {A.shape}.")
    N = A.shape[1]
    for v, n in ((S_B, "S_B"), (S_C, "S_C")):
        if v.shape != (N, Dm):
            raise ValueError(f"`{n}` must have shape ({N}, {Dm}) (N, D), got {v.shape}.")
    if S_delta.shape != (Dm, Dm):
        raise ValueError(f"`S_delta` must have shape ({Dm}, {Dm}), got {S_delta.shape}.")
    dtype = compute_dtype(*arrs)
    x, S_B, S_C, S_delta, A = (v.astype(dtype) for v in (x, S_B, S_C, S_delta, A))
    x, S_B, S_C, S_delta = (
        check_finite(v, n) for v, n in ((x, "x"), (S_B, "S_B"), (S_C, "S_C"), (S_delta, "S_delta"))
    )
    A = error_if_not(A, jnp.isfinite(A) & (A <= 0), "`A` must be finite and <= 0 (a decay rate).")
    return x, S_B, S_C, S_delta, A


def _field(x, S_B, S_C, S_delta, A):
    L, Dm = x.shape
    h0 = jnp.zeros((Dm, A.shape[1]), x.dtype)
    y, _ = _selective_scan(
        x,
        jax.nn.softplus(x @ S_delta.T),
        A,
        x @ S_B.T,
        x @ S_C.T,
        None,
        h0,
        chunk=default_chunk(L),
        zoh=False,
        inner="sequential",
    )
    return y


def token_dynamics_field(
    x: Real[ArrayLike, " L D"],
    S_B: Real[ArrayLike, " N D"],
    S_C: Real[ArrayLike, " N D"],
    S_delta: Real[ArrayLike, " D D"],
    A: Real[ArrayLike, " D N"],
) -> Float[Array, " L D"]:
    r"""The right-hand side of the continuous-time token dynamics, ``dx/dt = F(x)`` ``(L, D)``:
    ``F(x)_l = sum_{j <= l} P_lj x_j`` (module docstring), i.e. the S6 layer applied to the tokens with
    ``B_t = S_B x_t``, ``C_t = S_C x_t``, ``Delta_t = softplus(S_Delta x_t)`` (Euler ``Bbar``, no skip).
    Shapes: ``x`` ``(L, D)``, ``S_B``, ``S_C`` ``(N, D)``, ``S_delta`` ``(D, D)``, ``A`` ``(D, N)`` ``<= 0``.
    Cost ``O(L D (N + D))``, memory ``O(L D + sqrt(L) D N)`` (:func:`selective_scan`)."""
    return _field(*_check_dynamics(x, S_B, S_C, S_delta, A))


def token_dynamics_stack(
    x0: Real[ArrayLike, " L D"],
    S_B: Real[ArrayLike, " N D"],
    S_C: Real[ArrayLike, " N D"],
    S_delta: Real[ArrayLike, " D D"],
    A: Real[ArrayLike, " D N"],
    *,
    dt: float,
    n_layers: int,
) -> Float[Array, " layers L D"]:
    r"""A deep stack of ``n_layers`` identical discrete blocks with residual step ``dt``:
    ``x^{k+1} = x^k + dt F(x^k)`` (:func:`token_dynamics_field`), all layers' tokens ``(n_layers + 1, L, D)``
    (row 0 is ``x0``). It is the explicit Euler method of :func:`token_dynamics_ode` with step ``dt``, so it
    approaches the ODE at depth-time ``t = k dt`` as ``dt -> 0``. Cost ``n_layers`` fields."""
    dt = check_real_scalar(dt, "dt")
    n_layers = check_positive_int(n_layers, "n_layers")
    x0, S_B, S_C, S_delta, A = _check_dynamics(x0, S_B, S_C, S_delta, A)

    def layer(x, _):
        x = x + dt * _field(x, S_B, S_C, S_delta, A)
        return x, x

    _, xs = lax.scan(layer, x0, None, length=n_layers)
    return jnp.concatenate([x0[None], xs])


def token_dynamics_ode(
    x0: Real[ArrayLike, " L D"],
    S_B: Real[ArrayLike, " N D"],
    S_C: Real[ArrayLike, " N D"],
    S_delta: Real[ArrayLike, " D D"],
    A: Real[ArrayLike, " D N"],
    ts: Real[ArrayLike, " T"],
    *,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    max_steps: int = 4096,
    throw: bool = True,
) -> Solution:
    r"""Integrate the continuous-time token dynamics ``dx/dt = F(x)``, ``x(0) = x0``, with diffrax
    (adaptive Tsit5, PID step-size control with ``rtol``/``atol``) and save at the times ``ts``
    (increasing, ``ts[0] >= 0``).

    Returns ``Solution(value, result, stats)``: ``value`` ``(T, L, D)`` the tokens at ``ts``;
    ``result`` ``successful``, ``max_steps_reached`` (budget ``max_steps`` spent: e.g. a divergent
    scenario blowing up in finite time, like ``x' = c x^3``) or ``nonfinite``; ``stats["num_steps"]``
    the accepted steps. With ``throw=True`` a failure raises; with ``throw=False`` the saved values
    after the failure are ``inf`` (diffrax's convention) and ``result`` says why. Cost per step: 6
    evaluations of :func:`token_dynamics_field`.
    """
    x0, S_B, S_C, S_delta, A = _check_dynamics(x0, S_B, S_C, S_delta, A)
    ts = as_array(ts, "ts")
    check_real(ts, "ts")
    if ts.ndim != 1 or ts.shape[0] < 1:
        raise ValueError(f"`ts` must have shape (T,) with T >= 1, got {ts.shape}.")
    rtol = check_real_scalar(rtol, "rtol")
    atol = check_real_scalar(atol, "atol")
    max_steps = check_positive_int(max_steps, "max_steps")
    if not isinstance(throw, bool):
        raise TypeError(f"`throw` must be a bool, got {throw!r}.")
    ts = ts.astype(x0.dtype)
    ts = error_if_not(
        ts,
        jnp.isfinite(ts) & (ts >= 0) & (jnp.diff(ts, prepend=ts[:1]) >= 0),
        "`ts` must be finite, >= 0 and non-decreasing.",
    )
    term = diffrax.ODETerm(lambda t, x, args: _field(x, *args))
    sol = diffrax.diffeqsolve(
        term,
        diffrax.Tsit5(),
        t0=0.0,
        t1=ts[-1],
        dt0=None,
        y0=x0,
        args=(S_B, S_C, S_delta, A),
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        throw=False,
    )
    ok = sol.result == diffrax.RESULTS.successful
    budget = sol.result == diffrax.RESULTS.max_steps_reached
    result = RESULTS.where(
        ok,
        RESULTS.successful,
        RESULTS.where(budget, RESULTS.max_steps_reached, RESULTS.nonfinite),
    )
    out = Solution(sol.ys, result, {"num_steps": sol.stats["num_accepted_steps"]})
    return finalize(
        out,
        throw,
        solver="token_dynamics_ode",
        advice={
            "max_steps_reached": "Raise `max_steps`, or stop before a divergent scenario's blow-up "
            "time (smaller `ts`)."
        },
    )
