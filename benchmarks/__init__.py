"""jaxsci benchmark suite: ``python -m benchmarks [NAMES...] [--size quick|full] [--out FILE] [--plot DIR]``.

Each capability has one module here (``ssm.py``, ``multigrid.py``, ...) exposing
``run(bench: benchmarks._harness.Bench) -> None`` and optionally ``plot(records, outdir) -> list[paths]``.
Modules are discovered by name; private modules start with an underscore.
"""
