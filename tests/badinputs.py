"""The bad-input test matrix (issue 11): every public callable, probed with valid and bad inputs.

Each subpackage's ``tests/<sub>/test_bad_inputs_<sub>.py`` defines ``REGISTRY``: a dict from every name in
``jaxsci.<sub>.__all__`` to a list of :class:`Probe` s (the first one a valid example call), and runs
them with :func:`run_probe`. ``tests/test_bad_inputs.py`` checks that the registries cover every public
name (adding a public callable without an entry fails) and prints the counts per category.

A probe expects exactly one of:

- ``ok``: the call returns; no floating output is NaN/inf (no silent NaN); a returned ``Solution``
  is ``successful``; ``check(output)`` (a correctness check against a reference) holds;
- ``error``: a ``ValueError``/``TypeError`` (trace time, or the runtime type checker's error) or an
  ``EquinoxRuntimeError`` (run time) whose message names the argument (``match``, see :func:`arg`);
- ``status``: a returned ``Solution`` whose ``result`` is one of the given failure statuses (every
  member, under ``vmap``).

Never an unreadable crash, a silent NaN, a wrong ``successful`` or a hang: each probe runs under a
time limit of ``TIME_LIMIT`` seconds (Python-level loops are interrupted by an alarm; the suite's
``pytest-timeout`` mark catches compiled hangs).
"""

import contextlib
import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxsci

__all__ = [
    "CATEGORIES",
    "TIME_LIMIT",
    "Probe",
    "arg",
    "error",
    "ok",
    "probe_ids",
    "run_probe",
    "status",
]

CATEGORIES = (
    "valid",  # the example call
    "shape",  # wrong shapes, ranks, sizes
    "dtype",  # integer/complex/bool/half-precision where real floats are expected, strings
    "range",  # values outside the allowed range (negative sizes, omega outside (0, 2), ...)
    "nonfinite",  # NaN/inf inputs
    "empty",  # zero-size arrays
    "magnitude",  # values of magnitude 1e+-30 (1e+-300 in float64)
    "list",  # Python lists/tuples instead of arrays
    "transform",  # jit/vmap (with one bad batch member), grad
    "key",  # a single key where a key array is wanted and the reverse, raw uint32 keys
)

# A hang is a probe over 20 s; a loaded development machine may raise it (CI keeps 20).
TIME_LIMIT = int(os.environ.get("JAXSCI_PROBE_TIME_LIMIT", "20"))


@dataclass(frozen=True)
class Probe:
    category: str
    call: Callable[[], Any]
    expect: str  # "ok" | "error" | "status"
    match: str | None = None
    statuses: tuple[str, ...] = ()
    check: Callable[[Any], Any] | None = None
    id: str = ""

    def __post_init__(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown probe category {self.category!r}")
        if self.expect not in ("ok", "error", "status"):
            raise ValueError(f"unknown expectation {self.expect!r}")


def arg(name: str) -> str:
    """A regex matching a message that names the argument ``name``: ours write it in backticks,
    the runtime type checker writes ``parameter 'name'``."""
    n = re.escape(name)
    return rf"`{n}`|parameter '{n}'|'{n}'"


def ok(
    category: str, call: Callable[[], Any], check: Callable[[Any], Any] | None = None, id: str = ""
):
    return Probe(category, call, "ok", check=check, id=id)


def error(category: str, call: Callable[[], Any], match: str, id: str = ""):
    return Probe(category, call, "error", match=match, id=id)


def status(category: str, call: Callable[[], Any], *statuses: str, id: str = ""):
    for s in statuses:
        getattr(jaxsci.RESULTS, s)  # a typo is a test bug
    return Probe(category, call, "status", statuses=statuses, id=id)


def probe_ids(registry: dict[str, list[Probe]]) -> list[tuple[str, int, Probe]]:
    """Flatten a registry into ``(name, index, probe)`` triples for ``pytest.mark.parametrize``."""
    return [(name, i, p) for name, probes in registry.items() for i, p in enumerate(probes)]


@contextlib.contextmanager
def _time_limit(seconds: int):
    def handler(signum, frame):
        raise TimeoutError(f"probe ran longer than {seconds} s (a hang)")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _float_leaves(tree: Any) -> list[np.ndarray]:
    leaves = jax.tree.leaves(eqx.filter(tree, eqx.is_inexact_array_like))
    return [np.asarray(x) for x in leaves if np.asarray(x).dtype.kind in "fc"]


def _error_types() -> tuple[type, ...]:
    types: list[type] = [ValueError, TypeError, eqx.EquinoxRuntimeError]
    try:
        from jaxtyping import TypeCheckError

        types.append(TypeCheckError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


_PROBES_RUN = [0]


def run_probe(probe: Probe) -> None:
    """Run one probe and assert its expectation (see the module docstring)."""
    # Release compiled programs every 100 probes: each XLA:CPU executable holds memory mappings and
    # a worker must stay far below the kernel's vm.max_map_count (see tests/conftest.py).
    _PROBES_RUN[0] += 1
    if _PROBES_RUN[0] % 100 == 0:
        jax.clear_caches()
    with _time_limit(TIME_LIMIT):
        if probe.expect == "error":
            try:
                out = probe.call()
                jax.block_until_ready(jax.tree.leaves(out))
            except _error_types() as e:
                message = str(e)
                assert re.search(probe.match, message), (
                    f"error does not name the argument ({probe.match!r}): {type(e).__name__}: "
                    f"{message[:500]}"
                )
                return
            except Exception as e:  # noqa: BLE001 - any other exception is an unreadable crash
                raise AssertionError(
                    f"unreadable crash instead of a clear error: {type(e).__name__}: {str(e)[:500]}"
                ) from e
            raise AssertionError(f"expected an error naming {probe.match!r}, got a result")
        out = probe.call()
        jax.block_until_ready(jax.tree.leaves(out))
        if probe.expect == "status":
            assert isinstance(out, jaxsci.Solution), (
                f"expected a Solution, got {type(out).__name__}"
            )
            allowed = [getattr(jaxsci.RESULTS, s) for s in probe.statuses]
            hit = jnp.zeros(jnp.shape(out.result._value), bool)
            for r in allowed:
                hit = hit | (out.result == r)
            assert bool(jnp.all(hit)), (
                f"status {jaxsci.RESULTS[out.result] if not jnp.shape(out.result._value) else '...'}"
                f" is not one of {probe.statuses}"
            )
            return
        if isinstance(out, jaxsci.Solution):
            assert bool(jnp.all(out.result == jaxsci.RESULTS.successful)), "Solution not successful"
            value = out.value
        else:
            value = out
        for leaf in _float_leaves(value):
            assert np.all(np.isfinite(leaf)), "silent NaN/inf in the output"
        if probe.check is not None:
            result = probe.check(out)
            assert result is None or bool(result), "the output fails its reference check"
