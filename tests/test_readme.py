"""Execute every ```python block of README.md in a fresh interpreter (so the README's examples stay true).

Each block runs in its own process: the examples set ``jax_enable_x64`` themselves and must not see the test
suite's configuration (x64 on, 8 fake devices).
"""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.M | re.S)
IDS = [
    re.search(r"import jaxsci\.(\w+)|from jaxsci\.(\w+)", b).group(0).split()[-1] for b in BLOCKS
]


def test_readme_has_examples():
    assert len(BLOCKS) >= 6, "README.md should show one example per public core"


@pytest.mark.parametrize("code", BLOCKS, ids=IDS)
def test_readme_example_runs(code, tmp_path):
    if "flax" in code and importlib.util.find_spec("flax") is None:
        pytest.skip("the Flax example needs the optional extra `flax` (pip install 'jaxsci[flax]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "XLA_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(README.parent), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"README example failed:\n{code}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
