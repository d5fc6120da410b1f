"""Test configuration: float64 on, 8 fake CPU devices, a key fixture.

The fake devices must be requested before JAX initialises its backends, so this runs at import time.
"""

import os

os.environ.setdefault("JAXSCI_NOTEBOOK_SIZE", "small")

import jax

jax.config.update("jax_enable_x64", True)
try:
    jax.config.update("jax_num_cpu_devices", 8)
except Exception:  # pragma: no cover - backend already initialised (e.g. plugin imported jax first)
    pass

import pytest


@pytest.fixture
def key():
    """A fresh, fixed PRNG key per test (tests are reproducible and independent)."""
    return jax.random.key(0)


@pytest.fixture
def getkey():
    """Call ``getkey()`` for a new key each time, deterministically."""
    state = {"key": jax.random.key(1234)}

    def _next():
        state["key"], sub = jax.random.split(state["key"])
        return sub

    return _next


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled executables after every test module.

    Each XLA:CPU executable holds its own memory mappings; a worker that compiles the thousands of
    programs of the bad-input matrix otherwise nears the kernel's ``vm.max_map_count`` (65530) and
    XLA then crashes while compiling (segfault/abort, seen at ~55k mappings per worker).
    """
    yield
    jax.clear_caches()
    import gc

    gc.collect()
