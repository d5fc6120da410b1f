"""Recurrent views of diagonal SSMs: a parallel associative scan (S5 style) and one-step streaming.

Sequences are time-first: inputs ``u`` and outputs ``y`` are ``(L, H)``, states carry no time axis, and a
streaming step consumes one ``(H,)`` token."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Complex, Float, Num, Real

from .._checks import check_choice, error_if_not
from ._discretize import _check_dt, _discretize, _dt_for, phi1
from ._util import as_array, check_finite, check_real, compute_dtype

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

    A primitive without value checks: a NaN in ``Bu`` at step ``k`` makes ``x_k, x_{k+1}, ...`` NaN and
    leaves the earlier states untouched (causal propagation, documented; the public scans
    :func:`s4d_scan` and :func:`s5_scan` check their inputs). ``L = 0`` returns an empty ``(0, *state)``.
    """
    Abar = as_array(Abar, "Abar")
    Bu = as_array(Bu, "Bu")
    for a, name in ((Abar, "Abar"), (Bu, "Bu")):
        if a.dtype == jnp.bool_:
            raise TypeError(f"`{name}` must be numeric, got dtype bool.")
    if Bu.ndim < 1 or Bu.shape[1:] != Abar.shape:
        raise ValueError(
            f"`Bu` must have shape (L, *{Abar.shape}) to match `Abar`, got {Bu.shape}."
        )
    if x0 is not None:
        x0 = as_array(x0, "x0")
        if x0.shape != Abar.shape:
            raise ValueError(f"`x0` must have shape {Abar.shape}, got {x0.shape}.")
        if Bu.shape[0] == 0:
            return Bu
        first = -1 if reverse else 0
        dtype = jnp.result_type(Bu, Abar, x0)
        Bu = Bu.astype(dtype).at[first].add(Abar * x0)
    a = jnp.broadcast_to(Abar, Bu.shape)
    _, xs = lax.associative_scan(_combine, (a, Bu), reverse=reverse, axis=0)
    return xs


def _check_u(u, H, name="u"):
    """``u`` ``(L, H)``, real, ``L >= 1``; converted to float (half precision to float32), finite."""
    u = as_array(u, name)
    check_real(u, name, bool_ok=True)
    if u.ndim != 2 or u.shape[1] != H:
        raise ValueError(f"`{name}` must have shape (L, {H}) (time-first), got {u.shape}.")
    if u.shape[0] < 1:
        raise ValueError(f"`{name}` must have length L >= 1, got shape {u.shape}.")
    return check_finite(u.astype(compute_dtype(u)), name)


def _check_D(D, H, dtype):
    if D is None:
        return None
    D = as_array(D, "D")
    check_real(D, "D")
    if D.shape != (H,):
        raise ValueError(f"`D` must have shape ({H},), got {D.shape}.")
    return check_finite(D.astype(compute_dtype(D, dtype)), "D")


def _check_ssm(A, B, C, u, dt):
    A, B, C = (as_array(x, n) for x, n in ((A, "A"), (B, "B"), (C, "C")))
    if jnp.ndim(A) != 2:
        raise ValueError(f"`A` must have shape (H, N), got {jnp.shape(A)}.")
    for x, name in ((B, "B"), (C, "C")):
        if x.shape != A.shape:
            raise ValueError(
                f"`A` and `{name}` must have the same shape, got {A.shape} and {x.shape}."
            )
    u = _check_u(u, A.shape[0])
    dt = _dt_for(A, dt)
    cdtype = compute_dtype(A, B, C, dt, u, complex_=True)
    A, B, C = (check_finite(x.astype(cdtype), n) for x, n in ((A, "A"), (B, "B"), (C, "C")))
    return A, B, C, u, dt


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

    Checks: ``u`` has ``L >= 1`` rows; NaN/inf in ``A``, ``B``, ``C``, ``dt``, ``u`` or ``D`` raise a
    run-time error naming the argument (``eqx.error_if``; the check costs ``O(H (N + L))``). Integer or
    boolean ``u`` is converted, half precision computed in float32.
    """
    check_choice(method, "method", ("zoh", "bilinear"))
    A, B, C, u, dt = _check_ssm(A, B, C, u, dt)
    D = _check_D(D, A.shape[0], u.dtype)
    Abar, Bbar = _discretize(A, B, dt, method, check=method == "bilinear")  # dt checked above
    Bu = Bbar[None] * u[..., None]  # (L, H, N)
    xs = diagonal_scan(Abar, Bu, None if x0 is None else jnp.asarray(x0, Abar.dtype))
    y = 2 * jnp.real(jnp.einsum("hn,lhn->lh", C.astype(Abar.dtype), xs))
    if D is not None:
        y = y + D[None, :] * u
    return y.astype(jnp.result_type(u, jnp.real(Abar))), xs[-1]


def s4d_step(
    Abar: Num[ArrayLike, " h n"],
    Bbar: Num[ArrayLike, " h n"],
    C: Num[ArrayLike, " h n"],
    x: Num[ArrayLike, " h n"],
    u: Real[ArrayLike, " h"],
    D: Real[ArrayLike, " h"] | None = None,
) -> tuple[Float[Array, " h"], Num[Array, " h n"]]:
    r"""One streaming step of the S4D recurrence from an explicit state: ``x' = Abar x + Bbar u``,
    ``y = 2 Re(sum_n C x') + D u``. Takes discretised parameters (call :func:`discretize` once); returns
    ``(y, x')``. Cost ``O(H N)``. Scan it with ``lax.scan`` for autoregressive decoding.

    The streaming inner loop has no value checks (a check would cost as much as the step): NaN in an input
    propagates to the outputs it touches (documented; e.g. a NaN ``D[h]`` makes ``y[h]`` NaN and no state).
    Check the parameters once with :func:`discretize`, which raises on NaN."""
    Abar, Bbar, C, x, u = (
        as_array(a, n) for a, n in ((Abar, "Abar"), (Bbar, "Bbar"), (C, "C"), (x, "x"), (u, "u"))
    )
    check_real(u, "u", bool_ok=True)
    for a, name in ((Bbar, "Bbar"), (C, "C"), (x, "x")):
        if a.shape != Abar.shape:
            raise ValueError(
                f"`Abar` and `{name}` must have the same shape, got {Abar.shape} and {a.shape}."
            )
    if u.shape != Abar.shape[:-1]:
        raise ValueError(f"`u` must have shape {Abar.shape[:-1]}, got {u.shape}.")
    u = u.astype(compute_dtype(u))
    x = Abar * x + Bbar * u[..., None]
    y = 2 * jnp.real(jnp.sum(C * x, axis=-1))
    if D is not None:
        D = as_array(D, "D")
        if D.shape != u.shape:
            raise ValueError(f"`D` must have shape {u.shape}, got {D.shape}.")
        y = y + D * u
    return y, x


def _check_s5(Lambda, B, C, u, names=("Lambda", "B", "C"), step=False):
    Lambda, B, C = (as_array(a, n) for a, n in zip((Lambda, B, C), names, strict=True))
    u = as_array(u, "u")
    check_real(u, "u", bool_ok=True)
    lam, bn, cn = names
    if Lambda.ndim != 1:
        raise ValueError(f"`{lam}` must have shape (P,), got {Lambda.shape}.")
    P = Lambda.shape[0]
    if B.ndim != 2 or B.shape[0] != P:
        raise ValueError(f"`{bn}` must have shape ({P}, H), got {B.shape}.")
    H = B.shape[1]
    if C.shape != (H, P):
        raise ValueError(f"`{cn}` must have shape ({H}, {P}), got {C.shape}.")
    if step:
        if u.shape != (H,):
            raise ValueError(f"`u` must have shape ({H},) (one token), got {u.shape}.")
        u = u.astype(compute_dtype(u))
    else:
        u = _check_u(u, H)
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
    Checks as :func:`s4d_scan`: ``L >= 1``, and NaN/inf in any input raise a run-time error naming it.
    """
    check_choice(method, "method", ("zoh", "bilinear"))
    Lambda, B, C, u = _check_s5(Lambda, B, C, u)
    C = check_finite(C, "C")
    D = _check_D(D, B.shape[1], u.dtype)
    return _s5_apply(Lambda, B, C, dt, u, D, method, x0, conj_sym, check=True)


def _s5_apply(Lambda, B, C, dt, u, D, method, x0, conj_sym, check):
    """The S5 scan on normalised inputs (``u`` ``(L, H)`` float); ``check`` the parameters' values."""
    if x0 is not None:
        x0 = as_array(x0, "x0")
        if x0.shape != Lambda.shape:
            raise ValueError(f"`x0` must have shape {Lambda.shape}, got {x0.shape}.")
    Lbar, Bbar = _discretize_mimo(Lambda, B, dt, method, check=check)
    Bu = jnp.einsum("ph,lh->lp", Bbar, u.astype(Bbar.dtype))
    xs = diagonal_scan(Lbar, Bu, None if x0 is None else jnp.asarray(x0, Lbar.dtype))
    y = jnp.real(jnp.einsum("hp,lp->lh", C.astype(Lbar.dtype), xs)) * (2 if conj_sym else 1)
    if D is not None:
        y = y + D[None, :] * u
    return y.astype(jnp.result_type(u, jnp.real(Lbar))), xs[-1]


def _discretize_mimo(Lambda, B, dt, method, check=True):
    dt = _check_dt(dt, "dt", check)
    if dt.shape not in ((), Lambda.shape):
        raise ValueError(f"`dt` must be a scalar or have shape {Lambda.shape}, got {dt.shape}.")
    cdtype = compute_dtype(Lambda, B, dt, complex_=True)
    Lambda, B = Lambda.astype(cdtype), B.astype(cdtype)
    if check:
        Lambda, B = check_finite(Lambda, "Lambda"), check_finite(B, "B")
    dtL = dt * Lambda
    if method == "zoh":
        return jnp.exp(dtL), (dt * phi1(dtL))[:, None] * B
    den = 1 - dtL / 2
    if check:
        den = error_if_not(
            den, den != 0, "`Lambda` and `dt`: the bilinear step is singular at dt * Lambda = 2."
        )
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
) -> tuple[Float[Array, " h"], Num[Array, " p"]]:
    """One streaming step of S5 from an explicit state: ``x' = Lbar x + Bbar u``, ``y = c Re(C x') + D u``.
    Use :func:`discretize_s5` once for ``(Lbar, Bbar)``. Returns ``(y, x')``; cost ``O(P H)``. No value
    checks in the streaming inner loop (documented): NaN in an input propagates to the outputs it touches
    (a NaN token ``u`` reaches the whole state and every output); :func:`discretize_s5` checks the
    parameters once."""
    Lbar, Bbar, C, u = _check_s5(Lbar, Bbar, C, u, names=("Lbar", "Bbar", "C"), step=True)
    x = as_array(x, "x")
    if x.shape != Lbar.shape:
        raise ValueError(f"`x` must have shape {Lbar.shape}, got {x.shape}.")
    x = Lbar * x + Bbar @ u.astype(jnp.result_type(Bbar, u))
    y = jnp.real(C @ x) * (2 if conj_sym else 1)
    if D is not None:
        D = as_array(D, "D")
        if D.shape != u.shape:
            raise ValueError(f"`D` must have shape {u.shape}, got {D.shape}.")
        y = y + D * u
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
    Lambda, B = as_array(Lambda, "Lambda"), as_array(B, "B")
    if Lambda.ndim != 1:
        raise ValueError(f"`Lambda` must have shape (P,), got {Lambda.shape}.")
    if B.ndim != 2 or B.shape[0] != Lambda.shape[0]:
        raise ValueError(f"`B` must have shape ({Lambda.shape[0]}, H), got {B.shape}.")
    return _discretize_mimo(Lambda, B, dt, method)
