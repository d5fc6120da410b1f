"""Bad-input probes of the top level: ``jaxsci.RESULTS`` and ``jaxsci.Solution``."""

import jax
import jax.numpy as jnp
import pytest
from badinputs import error, ok, probe_ids, run_probe

import jaxsci
from jaxsci import RESULTS

REGISTRY = {
    "RESULTS": [
        ok("valid", lambda: RESULTS.where(jnp.array(True), RESULTS.successful, RESULTS.diverged)),
        error("dtype", lambda: RESULTS.successful == 0, r"Enumeration|[Cc]ompar"),
        ok(
            "transform",
            lambda: jax.vmap(lambda p: RESULTS.where(p, RESULTS.successful, RESULTS.nonfinite))(
                jnp.array([True, False])
            ),
        ),
    ],
    "Solution": [
        ok("valid", lambda: jaxsci.Solution(jnp.ones(3), RESULTS.successful, {"num_steps": 0})),
        ok(
            "transform",
            lambda: jax.jit(lambda s: s)(jaxsci.Solution(jnp.ones(2), RESULTS.successful, {})),
        ),
    ],
}


@pytest.mark.parametrize("name, index, probe", probe_ids(REGISTRY), ids=lambda v: str(v)[:40])
def test_probe(name, index, probe):
    run_probe(probe)
