"""Equinox wrappers: configure a solver once (step sizes, batch size, ...) and pass it around.

``VRHalpern(step_size=0.3, batch_size=14)(problem, z0, max_epochs=100, tol=1e-6, key=key)`` calls
:func:`vr_halpern` with those hyperparameters. Hyperparameters are static fields (Python values).
"""

import equinox as eqx

from ._solvers import (
    anchored_extragradient,
    extragradient,
    halpern,
    inexact_vr_halpern,
    vr_extragradient,
    vr_halpern,
)

__all__ = [
    "AnchoredExtragradient",
    "Extragradient",
    "Halpern",
    "InexactVRHalpern",
    "VRExtragradient",
    "VRHalpern",
]


class _Wrapper(eqx.Module):
    def _options(self):
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    def __call__(
        self,
        problem,
        z0,
        *,
        max_epochs,
        tol=1e-8,
        key=None,
        throw=True,
        num_logs=201,
        log_every=None,
    ):
        return type(self)._solver(
            problem,
            z0,
            max_epochs=max_epochs,
            tol=tol,
            key=key,
            throw=throw,
            num_logs=num_logs,
            log_every=log_every,
            **self._options(),
        )


class Halpern(_Wrapper):
    """:func:`halpern` with fixed hyperparameters."""

    step_size: float | str = eqx.field(static=True)
    step_scale: float = eqx.field(static=True, default=1.0)
    restart_factor: float | None = eqx.field(static=True, default=None)
    _solver = staticmethod(halpern)


class Extragradient(_Wrapper):
    """:func:`extragradient` with fixed hyperparameters."""

    step_size: float | str = eqx.field(static=True)
    step_scale: float = eqx.field(static=True, default=0.9)
    _solver = staticmethod(extragradient)


class AnchoredExtragradient(_Wrapper):
    """:func:`anchored_extragradient` with fixed hyperparameters."""

    step_size: float | str = eqx.field(static=True)
    step_scale: float = eqx.field(static=True, default=0.9)
    restart_factor: float | None = eqx.field(static=True, default=None)
    _solver = staticmethod(anchored_extragradient)


class VRExtragradient(_Wrapper):
    """:func:`vr_extragradient` with fixed hyperparameters."""

    step_size: float = eqx.field(static=True)
    batch_size: int = eqx.field(static=True, default=1)
    snapshot_probability: float | None = eqx.field(static=True, default=None)
    _solver = staticmethod(vr_extragradient)


class VRHalpern(_Wrapper):
    """:func:`vr_halpern` (Algorithm 1) with fixed hyperparameters."""

    step_size: float | str = eqx.field(static=True)
    batch_size: int | None = eqx.field(static=True, default=None)
    step_scale: float = eqx.field(static=True, default=1.0)
    restart_factor: float | None = eqx.field(static=True, default=None)
    _solver = staticmethod(vr_halpern)


class InexactVRHalpern(_Wrapper):
    """:func:`inexact_vr_halpern` (Algorithm 2) with fixed hyperparameters."""

    step_size: float = eqx.field(static=True)
    inner_step_size: float | None = eqx.field(static=True, default=None)
    inner_steps_c: float = eqx.field(static=True, default=0.05)
    snapshot: str = eqx.field(static=True, default="code")
    snapshot_probability: float | None = eqx.field(static=True, default=None)
    restart_factor: float | None = eqx.field(static=True, default=None)
    _solver = staticmethod(inexact_vr_halpern)
