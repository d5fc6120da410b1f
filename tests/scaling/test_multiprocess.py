"""Multi-process JAX on this machine: 2 processes x 2 CPU devices, coordinated over 127.0.0.1 by
``jax.distributed.initialize`` with gloo CPU collectives, run data-parallel
``jaxsci.training.fit`` and one domain-decomposed multigrid solve (``multiprocess_worker.py``);
the results equal the single-process run on 4 devices. The launcher kills every process it
started when one fails or the time limit (240 s) runs out."""

import sys
from pathlib import Path

import jax
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from launch import launch  # noqa: E402

pytestmark = pytest.mark.skipif(
    "jax_cpu_collectives_implementation" not in jax.config.values,
    reason="this jax has no cross-process CPU collectives (jax_cpu_collectives_implementation)",
)


@pytest.mark.timeout(600)
def test_two_processes_equal_one_process(tmp_path):
    multi, single = tmp_path / "multi.npz", tmp_path / "single.npz"
    codes = launch(2, 2, str(multi), timeout=240)
    assert codes == [0, 0], "\n".join(log[-2000:] for log in launch.logs)
    codes = launch(1, 4, str(single), timeout=240)
    assert codes == [0], launch.logs[0][-2000:]
    with np.load(multi) as fa, np.load(single) as fb:
        a, b = dict(fa), dict(fb)
    assert int(a["devices"]) == int(b["devices"]) == 4
    # (a) data-parallel training: the trained parameters are bit for bit the same; the float32
    # loss values (a cross-process mean) agree to one rounding (measured: 1.2e-7)
    params = [k for k in a if k.startswith("arr_")]
    assert len(params) == 2  # the convolution's weight and bias
    for k in params:
        np.testing.assert_array_equal(a[k], b[k])
    np.testing.assert_allclose(a["losses"], b["losses"], rtol=2e-6)
    assert a["losses"][-1] < a["losses"][0]  # it trained
    # (b) the sharded multigrid solve: bit for bit, same cycle count
    assert int(a["steps"]) == int(b["steps"]) >= 3
    np.testing.assert_array_equal(a["u"], b["u"])
