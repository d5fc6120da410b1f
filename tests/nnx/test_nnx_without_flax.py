"""Without flax (the optional ``flax`` extra), ``import jaxsci`` and every subpackage still work,
``jaxsci.nnx`` raises an ImportError naming the extra, and the NNX tests skip with that reason.

Runs in a subprocess whose import system refuses ``flax`` (and ``chex``), so it holds whether or not they
are installed here.
"""

import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent

SCRIPT = r"""
import importlib, importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("flax", "chex"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None

sys.meta_path.insert(0, Block())

import pytest  # first: pytest must import jaxtyping itself, for its import hook
code = pytest.main(["-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-rs", *sys.argv[1:]])
assert int(code) == 0, f"pytest exit code {int(code)}"

import jaxsci
for sub in jaxsci._SUBPACKAGES:
    module = importlib.import_module(f"jaxsci.{sub}")
    assert all(hasattr(module, n) for n in module.__all__), sub
assert not any(m.split(".")[0] == "flax" for m in sys.modules), "jaxsci imported flax"
try:
    import jaxsci.nnx
except ImportError as err:
    assert "jaxsci[flax]" in str(err), str(err)
    print("nnx ImportError ok:", err)
else:
    raise AssertionError("jaxsci.nnx imported without flax")
"""


def test_jaxsci_works_and_nnx_tests_skip_without_flax():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "XLA_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(HERE / "test_nnx.py"),
            str(HERE / "test_bad_inputs_nnx.py"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "nnx ImportError ok" in out
    assert "2 skipped" in out and "optional `flax` extra" in out, out[-2000:]
