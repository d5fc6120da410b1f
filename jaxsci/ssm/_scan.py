"""Recurrent views of diagonal SSMs: a parallel associative scan (S5 style) and one-step streaming.

Sequences are time-first: inputs ``u`` and outputs ``y`` are ``(L, H)``, states carry no time axis, and a
streaming step consumes one ``(H,)`` token."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Complex, Float, Num, Real

from .._checks import check_choice
from ._discretize import _check_dt, _discretize, _dt_for, phi1

__all__ = ["diagonal_scan", "discretize_s5", "s4d_scan", "s4d_step", "s5_scan", "s5_step"]


def _combine(left, right):
    a_i, b_i = left
    a_j, b_j = right
    return a_j * a_i, a_j * b_i + b_j


def diagonal_scan(
    Abar: Num[ArrayLike, " *state"],
    Bu: Num[ArrayLike, " l *state"],
    x0: Num[ArrayLike, " *state"] | None = None,
    *,
    reverse: bool = False,
) -> Num[Array, " l *state"]:
    r"""All states of ``x_k = Abar * x_{k-1} + Bu_k`` (``x_{-1} = x0``, default 0), by ``lax.associative_scan``.

    ``Abar`` is diagonal and constant in time (shape ``state``), ``Bu`` is the input term for every step with
    time on axis 0. The operator ``(a_i, b_i) . (a_j, b_j) = (a_j a_i, a_j b_i + b_j)`` gives work
    ``O(L numel(state))`` and depth ``O(log L)`` (Smith, Warrington, Linderman, "Simplified State Space Layers"
    (S5), ICLR 2023); memory ``O(L numel(state))``. ``reverse=True`` runs from the end (``x_{L}=x0``).
    """
    Abar = jnp.asarray(Abar)
    Bu = jnp.asarray(Bu)
    if Bu.shape[1:] != Abar.shape:
        raise ValueError(
            f"`Bu` must have shape (L, *{Abar.shape}) to match `Abar`, got {Bu.shape}."
        )
    if x0 is not None:
        x0 = jnp.asarray(x0)
        if x0.shape != Abar.shape:
            raise ValueError(f"`x0` must have shape {Abar.shape}, got {x0.shape}.")
        first = -1 if reverse else 0
        Bu = Bu.at[first].add(Abar * x0)
    a = jnp.broadcast_to(Abar, Bu.shape)
    _, xs = lax.associative_scan(_combine, (a, Bu), reverse=reverse, axis=0)
    return xs


def _check_ssm(A, B, C, u, dt):
    A, B, C, u = (jnp.asarray(x) for x in (A, B, C, u))
    if jnp.ndim(A) != 2:
        raise ValueError(f"`A` must have shape (H, N), got {jnp.shape(A)}.")
    for x, name in ((B, "B"), (C, "C")):
        if x.shape != A.shape:
            raise ValueError(
                f"`A` and `{name}` must have the same shape, got {A.shape} and {x.shape}."
            )
    if u.ndim != 2 or u.shape[1] != A.shape[0]:
        raise ValueError(f"`u` must have shape (L, {A.shape[0]}), got {u.shape}.")
    return A, B, C, u, _dt_for(A, dt)


def s4d_scan(
    A: Num[ArrayLike, " h n"],
    B: Num[ArrayLike, " h n"],
    C: Num[ArrayLike, " h n"],
    dt: Real[ArrayLike, ""]
    | Real[ArrayLike, " h"]
    | Real[ArrayLike, " h 1"]
    | Real[ArrayLike, " h n"],
    u: Real[ArrayLike, " l h"],
    D: Real[ArrayLike, " h"] | None = None,
    *,
    method: str = "zoh",
    x0: Num[ArrayLike, " h n"] | None = None,
) -> tuple[Float[Array, " l h"], Complex[Array, " h n"]]:
    r"""The S4D layer (one SISO diagonal SSM per channel) in recurrent form, by a parallel scan.

    ``x_k = Abar x_{k-1} + Bbar u_k``, ``y_k = 2 Re(C . x_k) + D u_k`` per channel, with ``(Abar, Bbar) =``
    :func:`discretize` ``(A, B, dt, method)`` and initial state ``x0`` (default 0). Shapes: ``A``, ``B``, ``C``
    ``(H, N)``; ``u`` ``(L, H)`` time-first; returns ``(y (L, H), x_final (H, N))``. With ``x0 = 0`` this equals
    :func:`causal_conv` ``(u, s4d_kernel(A, B, C, dt, L), D)``. Cost ``O(H N L)`` work, ``O(log L)`` depth,
    ``O(H N L)`` memory (the state trajectory).
    """
    check_choice(method, "method", ("zoh", "bilinear"))
    A, B, C, u, dt = _check_ssm(A, B, C, u, dt)
    Abar, Bbar = _discretize(A, B, dt, method, check=False)  # dt checked in _check_ssm
    Bu = Bbar[None] * u[..., None]  # (L, H, N)
    xs = diagonal_scan(Abar, Bu, None if x0 is None else jnp.asarray(x0, Abar.dtype))
    y = 2 * jnp.real(jnp.einsum("hn,lhn->lh", C.astype(Abar.dtype), xs))
    if D is not None:
        y = y + jnp.asarray(D)[None, :] * u
    return y.astype(jnp.result_type(u, jnp.real(Abar))), xs[-1]


def s4d_step(
    Abar: Num[ArrayLike, " h n"],
    Bbar: Num[ArrayLike, " h n"],
    C: Num[ArrayLike, " h n"],
    x: Num[ArrayLike, " h n"],
    u: Real[ArrayLike, " h"],
    D: Real[ArrayLike, " h"] | None = None,
) -> tuple[Float[Array, " h"], Complex[Array, " h n"]]:
    r"""One streaming step of the S4D recurrence from an explicit state: ``x' = Abar x + Bbar u``,
    ``y = 2 Re(sum_n C x') + D u``. Takes discretised parameters (call :func:`discretize` once); returns
    ``(y, x')``. Cost ``O(H N)``. Scan it with ``lax.scan`` for autoregressive decoding."""
    Abar, Bbar, C, x, u = (jnp.asarray(a) for a in (Abar, Bbar, C, x, u))
    for a, name in ((Bbar, "Bbar"), (C, "C"), (x, "x")):
        if a.shape != Abar.shape:
            raise ValueError(
                f"`Abar` and `{name}` must have the same shape, got {Abar.shape} and {a.shape}."
            )
    if u.shape != Abar.shape[:-1]:
        raise ValueError(f"`u` must have shape {Abar.shape[:-1]}, got {u.shape}.")
    x = Abar * x + Bbar * u[..., None]
    y = 2 * jnp.real(jnp.sum(C * x, axis=-1))
    if D is not None:
        y = y + jnp.asarray(D) * u
    return y, x


def _check_s5(Lambda, B, C, u):
    Lambda, B, C, u = (jnp.asarray(a) for a in (Lambda, B, C, u))
    if Lambda.ndim != 1:
        raise ValueError(f"`Lambda` must have shape (P,), got {Lambda.shape}.")
    P = Lambda.shape[0]
    if B.ndim != 2 or B.shape[0] != P:
        raise ValueError(f"`B` must have shape ({P}, H), got {B.shape}.")
    H = B.shape[1]
    if C.shape != (H, P):
        raise ValueError(f"`C` must have shape ({H}, {P}), got {C.shape}.")
    if u.ndim not in (1, 2) or u.shape[-1] != H:
        raise ValueError(f"`u` must have shape (L, {H}) (or ({H},) for a step), got {u.shape}.")
    return Lambda, B, C, u


def s5_scan(
    Lambda: Num[ArrayLike, " p"],
    B: Num[ArrayLike, " p h"],
    C: Num[ArrayLike, " h p"],
    dt: Real[ArrayLike, ""] | Real[ArrayLike, " p"],
    u: Real[ArrayLike, " l h"],
    D: Real[ArrayLike, " h"] | None = None,
    *,
    method: str = "zoh",
    x0: Num[ArrayLike, " p"] | None = None,
    conj_sym: bool = True,
) -> tuple[Float[Array, " l h"], Complex[Array, " p"]]:
    r"""The S5 layer: one MIMO diagonal SSM over all ``H`` channels, by a parallel scan.

    ``x_k = Lbar x_{k-1} + Bbar u_k`` (``x`` has ``P`` complex modes), ``y_k = c Re(C x_k) + D u_k`` with
    ``c = 2`` when ``conj_sym`` (only one mode of each conjugate pair is stored) and ``c = 1`` otherwise.
    ``(Lbar, Bbar)`` are the diagonal :func:`discretize` of ``(Lambda, B)`` row by row; ``dt`` is a scalar or
    ``(P,)``. Shapes: ``u`` ``(L, H)`` → ``y`` ``(L, H)`` (time-first); returns ``(y, x_final)``.
    Cost ``O(L P H)`` work, ``O(log L)`` depth, ``O(L P)`` memory. Reference: Smith et al., S5, ICLR 2023.
    """
    return _s5_apply(Lambda, B, C, dt, u, D, method, x0, conj_sym, check=True)


def _s5_apply(Lambda, B, C, dt, u, D, method, x0, conj_sym, check):
    check_choice(method, "method", ("zoh", "bilinear"))
    Lambda, B, C, u = _check_s5(Lambda, B, C, u)
    Lbar, Bbar = _discretize_mimo(Lambda, B, dt, method, check=check)
    Bu = jnp.einsum("ph,lh->lp", Bbar, u.astype(Bbar.dtype))
    xs = diagonal_scan(Lbar, Bu, None if x0 is None else jnp.asarray(x0, Lbar.dtype))
    y = jnp.real(jnp.einsum("hp,lp->lh", C.astype(Lbar.dtype), xs)) * (2 if conj_sym else 1)
    if D is not None:
        y = y + jnp.asarray(D)[None, :] * u
    return y.astype(jnp.result_type(u, jnp.real(Lbar))), xs[-1]


def _discretize_mimo(Lambda, B, dt, method, check=True):
    dt = _check_dt(dt, "dt", check)
    if dt.shape not in ((), Lambda.shape):
        raise ValueError(f"`dt` must be a scalar or have shape {Lambda.shape}, got {dt.shape}.")
    cdtype = jnp.result_type(Lambda, B, dt, 1j)
    Lambda, B = Lambda.astype(cdtype), B.astype(cdtype)
    dtL = dt * Lambda
    if method == "zoh":
        return jnp.exp(dtL), (dt * phi1(dtL))[:, None] * B
    den = 1 - dtL / 2
    return (1 + dtL / 2) / den, (dt / den)[:, None] * B


def s5_step(
    Lbar: Num[ArrayLike, " p"],
    Bbar: Num[ArrayLike, " p h"],
    C: Num[ArrayLike, " h p"],
    x: Num[ArrayLike, " p"],
    u: Real[ArrayLike, " h"],
    D: Real[ArrayLike, " h"] | None = None,
    *,
    conj_sym: bool = True,
) -> tuple[Float[Array, " h"], Complex[Array, " p"]]:
    """One streaming step of S5 from an explicit state: ``x' = Lbar x + Bbar u``, ``y = c Re(C x') + D u``.
    Use :func:`discretize_s5` once for ``(Lbar, Bbar)``. Returns ``(y, x')``; cost ``O(P H)``."""
    Lbar, Bbar, C, u = _check_s5(Lbar, Bbar, C, u)
    x = jnp.asarray(x)
    if x.shape != Lbar.shape:
        raise ValueError(f"`x` must have shape {Lbar.shape}, got {x.shape}.")
    x = Lbar * x + Bbar @ u.astype(Bbar.dtype)
    y = jnp.real(C @ x) * (2 if conj_sym else 1)
    if D is not None:
        y = y + jnp.asarray(D) * u
    return y, x


def discretize_s5(
    Lambda: Num[ArrayLike, " p"],
    B: Num[ArrayLike, " p h"],
    dt: Real[ArrayLike, ""] | Real[ArrayLike, " p"],
    method: str = "zoh",
) -> tuple[Complex[Array, " p"], Complex[Array, " p h"]]:
    """Discretise S5's MIMO system: ``Lambda`` ``(P,)``, ``B`` ``(P, H)``, ``dt`` scalar or ``(P,)`` →
    ``(Lbar (P,), Bbar (P, H))`` by :func:`discretize` applied row by row."""
    check_choice(method, "method", ("zoh", "bilinear"))
    Lambda, B = jnp.asarray(Lambda), jnp.asarray(B)
    if Lambda.ndim != 1 or B.ndim != 2 or B.shape[0] != Lambda.shape[0]:
        raise ValueError(f"`Lambda` must be (P,) and `B` (P, H), got {Lambda.shape} and {B.shape}.")
    return _discretize_mimo(Lambda, B, dt, method)
