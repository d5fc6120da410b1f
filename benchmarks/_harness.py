"""The shared benchmark harness.

What it measures, for every case:

- compile time, separately, through ``jax.jit(f).trace(*args).lower().compile()``;
- run time: one warm-up call, then ``repeats`` timed calls each ending in ``jax.block_until_ready``;
  median and min are reported;
- peak memory: XLA's compiled memory analysis (arguments + outputs + temporaries, what the program
  needs at its peak) and, on accelerators, the case's own allocator peak (the rise of the allocator's
  ``peak_bytes_in_use`` over what was in use when the case started, when the case raised it); for host
  peers, the peak of ``tracemalloc`` (NumPy/SciPy/pyamg allocations);
- the device kind, platform, jax/jaxlib versions, x64 flag, dtype and sizes (in ``params``).

Peers (a naive kernel, pyamg, SciPy, NumPy) are measured in the same run, so ratios are meaningful on a
noisy machine. A case names its peer with ``compare_to=``; the table prints ``speedup = peer / this``.
"""

from __future__ import annotations

import dataclasses
import datetime
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

__all__ = ["Bench", "Record", "environment", "format_table"]


@dataclasses.dataclass
class Record:
    """One measured case."""

    benchmark: str  # module name, e.g. "ssm"
    case: str  # what is measured, e.g. "kernel fwd"
    impl: str  # who computes it, e.g. "jaxsci", "naive", "pyamg"
    params: dict[str, Any]  # sizes, dtype, ... (identify the case together with `case`)
    median_s: float | None = None
    min_s: float | None = None
    repeats: int = 0
    compile_s: float | None = None
    peak_bytes: int | None = None  # compiled-program peak (XLA) or tracemalloc peak (host)
    device_peak_bytes: int | None = None  # allocator peak on accelerators
    compare_to: str | None = None  # impl name of the peer this record is compared with
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # cycles, factors, throughput
    error: str | None = None  # set when the case could not run (e.g. out of memory)

    def key(self) -> tuple:
        return (self.benchmark, self.case, json.dumps(self.params, sort_keys=True, default=str))


def environment() -> dict[str, Any]:
    """Facts about the machine and the software that a benchmark result depends on."""
    dev = jax.devices()[0]
    try:
        import jaxlib

        jaxlib_version = jaxlib.__version__
    except Exception:  # noqa: BLE001
        jaxlib_version = None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": dev.platform,
        "device_kind": dev.device_kind,
        "device_count": jax.device_count(),
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib_version,
        "x64": bool(jax.config.jax_enable_x64),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def _nbytes_of_compiled(compiled) -> int | None:
    try:
        m = compiled.memory_analysis()
    except Exception:  # noqa: BLE001
        return None
    if m is None:
        return None
    total = 0
    for field in (
        "argument_size_in_bytes",
        "output_size_in_bytes",
        "temp_size_in_bytes",
        "generated_code_size_in_bytes",
    ):
        total += int(getattr(m, field, 0) or 0)
    # Donated/aliased buffers are counted in both arguments and outputs.
    total -= int(getattr(m, "alias_size_in_bytes", 0) or 0)
    return total


def _allocator_stats() -> tuple[int, int] | None:
    """``(bytes_in_use, peak_bytes_in_use)`` of the first device's allocator (accelerators only)."""
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # noqa: BLE001
        return None
    if not stats or "peak_bytes_in_use" not in stats:
        return None
    return int(stats.get("bytes_in_use", 0)), int(stats["peak_bytes_in_use"])


def _case_device_peak(before: tuple[int, int] | None) -> int | None:
    """This case's own allocator peak: the allocator keeps one process-lifetime high-water mark, so
    a case only has a measurable peak when it raised that mark; it is then the new mark minus what
    was already in use when the case started. Otherwise ``None`` (the XLA figure stands)."""
    after = _allocator_stats()
    if before is None or after is None:
        return None
    in_use_before, peak_before = before
    peak_after = after[1]
    if peak_after <= peak_before:
        return None
    return peak_after - in_use_before


class Bench:
    """Collects :class:`Record` s. Passed to each benchmark module's ``run``.

    **Attributes:** ``size`` ("quick" or "full"), ``records`` (list of :class:`Record`),
    ``repeats`` (default number of timed repeats), ``progress`` (a tqdm bar or ``None``).
    """

    def __init__(self, size: str = "quick", repeats: int | None = None, progress=None):
        if size not in ("quick", "full"):
            raise ValueError(f"`size` must be 'quick' or 'full', got {size!r}.")
        self.size = size
        self.repeats = repeats if repeats is not None else (5 if size == "quick" else 10)
        self.records: list[Record] = []
        self.benchmark = "?"
        self.progress = progress

    @property
    def quick(self) -> bool:
        return self.size == "quick"

    def _describe(self, text: str) -> None:
        if self.progress is not None:
            self.progress.set_postfix_str(text[:60])

    def time_jax(
        self,
        case: str,
        fn: Callable,
        *args,
        impl: str = "jaxsci",
        params: dict[str, Any] | None = None,
        repeats: int | None = None,
        compare_to: str | None = None,
        extra: dict[str, Any] | None = None,
        static_argnums: Sequence[int] = (),
    ) -> Record:
        """Compile ``jax.jit(fn)`` on ``args`` (timed), warm up, then time ``repeats`` calls."""
        self._describe(f"{case} [{impl}]")
        rec = Record(
            self.benchmark,
            case,
            impl,
            dict(params or {}),
            compare_to=compare_to,
            extra=dict(extra or {}),
        )
        repeats = repeats or self.repeats
        try:
            jitted = jax.jit(fn, static_argnums=tuple(static_argnums))
            args = jax.block_until_ready(args)
            allocator_before = _allocator_stats()
            t0 = time.perf_counter()
            compiled = jitted.trace(*args).lower().compile()
            rec.compile_s = time.perf_counter() - t0
            rec.peak_bytes = _nbytes_of_compiled(compiled)
            dyn_args = [a for i, a in enumerate(args) if i not in set(static_argnums)]
            jax.block_until_ready(compiled(*dyn_args))  # warm-up
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                jax.block_until_ready(compiled(*dyn_args))
                times.append(time.perf_counter() - t0)
            rec.median_s = statistics.median(times)
            rec.min_s = min(times)
            rec.repeats = repeats
            rec.device_peak_bytes = _case_device_peak(allocator_before)
        except Exception as e:  # noqa: BLE001 - a case that cannot run is reported, not fatal
            rec.error = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        self.records.append(rec)
        gc.collect()
        return rec

    def time_host(
        self,
        case: str,
        fn: Callable[[], Any],
        *,
        impl: str,
        params: dict[str, Any] | None = None,
        repeats: int | None = None,
        compare_to: str | None = None,
        extra: dict[str, Any] | None = None,
        warmup: bool = True,
        trace_memory: bool = True,
    ) -> Record:
        """Time a host (NumPy/SciPy/pyamg) peer ``fn()``: warm-up, then ``repeats`` calls.

        Peak memory is the ``tracemalloc`` peak of one extra, untimed call (tracing slows the call).
        """
        self._describe(f"{case} [{impl}]")
        rec = Record(
            self.benchmark,
            case,
            impl,
            dict(params or {}),
            compare_to=compare_to,
            extra=dict(extra or {}),
        )
        repeats = repeats or self.repeats
        try:
            if warmup:
                _block(fn())
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                _block(fn())
                times.append(time.perf_counter() - t0)
            rec.median_s = statistics.median(times)
            rec.min_s = min(times)
            rec.repeats = repeats
            if trace_memory:
                tracemalloc.start()
                _block(fn())
                rec.peak_bytes = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
        except Exception as e:  # noqa: BLE001
            if tracemalloc.is_tracing():
                tracemalloc.stop()
            rec.error = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        self.records.append(rec)
        gc.collect()
        return rec

    def note(
        self, case: str, *, impl: str = "jaxsci", params: dict[str, Any] | None = None, **extra: Any
    ) -> Record:
        """Record a non-timing result (cycle counts, convergence factors, errors, epochs)."""
        rec = Record(self.benchmark, case, impl, dict(params or {}), extra=dict(extra))
        self.records.append(rec)
        return rec


def _block(x):
    try:
        return jax.block_until_ready(x)
    except Exception:  # noqa: BLE001 - not a pytree of arrays
        return x


def _fmt_time(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def _fmt_bytes(b: int | None) -> str:
    if b is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(b) < 1024 or unit == "GiB":
            return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
        b /= 1024
    return str(b)


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and len(v) > 4:
        return f"[{len(v)} values]"
    return str(v)


def format_table(records: Sequence[Record]) -> str:
    """Render records as a plain-text table, with speedups against the named peers."""
    by_key: dict[tuple, dict[str, Record]] = {}
    for r in records:
        by_key.setdefault(r.key(), {})[r.impl] = r
    header = [
        "benchmark",
        "case",
        "params",
        "impl",
        "median",
        "min",
        "compile",
        "peak mem",
        "speedup",
        "notes",
    ]
    rows = [header]
    for r in records:
        speed = "-"
        if r.compare_to is not None:
            peer = by_key.get(r.key(), {}).get(r.compare_to)
            if peer is not None and peer.median_s and r.median_s:
                speed = f"{peer.median_s / r.median_s:.2f}x vs {r.compare_to}"
        params = " ".join(f"{k}={_fmt_value(v)}" for k, v in r.params.items())
        notes = r.error or " ".join(f"{k}={_fmt_value(v)}" for k, v in r.extra.items())
        rows.append(
            [
                r.benchmark,
                r.case,
                params,
                r.impl,
                _fmt_time(r.median_s),
                _fmt_time(r.min_s),
                _fmt_time(r.compile_s),
                _fmt_bytes(r.peak_bytes if r.device_peak_bytes is None else r.device_peak_bytes),
                speed,
                notes,
            ]
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    widths[-1] = min(widths[-1], 70)
    lines = []
    for j, row in enumerate(rows):
        cells = [
            str(c)[: widths[i]] if i == len(row) - 1 else str(c).ljust(widths[i])
            for i, c in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_json(records: Sequence[Record], env: dict[str, Any], size: str) -> dict[str, Any]:
    return {
        "environment": env,
        "size": size,
        "records": [dataclasses.asdict(r) for r in records],
    }
