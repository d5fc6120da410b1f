"""Tests of the shared pieces: Solution/RESULTS, argument checks, the benchmark harness."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsci
from jaxsci import RESULTS, Solution
from jaxsci._checks import check_positive, check_positive_int, check_range, check_shape
from jaxsci._solution import finalize, status


def test_top_level_exports():
    assert jaxsci.Solution is Solution
    assert jaxsci.RESULTS is RESULTS
    assert isinstance(jaxsci.__version__, str)


def _toy_solver(x, *, throw):
    # a "solver" that fails when x < 0
    ok = x >= 0
    result = RESULTS.where(ok, RESULTS.successful, RESULTS.max_steps_reached)
    return finalize(Solution(jnp.sqrt(jnp.abs(x)), result, {"iterations": jnp.array(1)}), throw)


def test_solution_throw_false_reports():
    sol = jax.jit(lambda x: _toy_solver(x, throw=False))(-4.0)
    assert sol.result == RESULTS.max_steps_reached
    assert not bool(sol.success)
    sol = jax.jit(lambda x: _toy_solver(x, throw=False))(4.0)
    assert sol.result == RESULTS.successful
    assert float(sol.value) == 2.0


def test_solution_throw_true_raises_under_jit():
    f = eqx.filter_jit(lambda x: _toy_solver(x, throw=True))
    assert float(f(4.0).value) == 2.0
    with pytest.raises(eqx.EquinoxRuntimeError, match="budget"):
        jax.block_until_ready(f(-4.0))
    # under plain jax.jit the message still reaches the user (wrapped by XLA's runtime error)
    g = jax.jit(lambda x: _toy_solver(x, throw=True))
    with pytest.raises(Exception, match="budget"):
        jax.block_until_ready(g(-4.0))


def test_solution_vmap():
    sols = jax.vmap(lambda x: _toy_solver(x, throw=False))(jnp.array([1.0, -1.0, 9.0]))
    assert sols.value.shape == (3,)
    assert [bool(s) for s in sols.success] == [True, False, True]


def test_status_priority():
    t, f = jnp.array(True), jnp.array(False)
    assert status(converged=t) == RESULTS.successful
    assert status(converged=f) == RESULTS.max_steps_reached
    assert status(converged=t, finite=f) == RESULTS.nonfinite
    assert status(converged=f, diverged=t) == RESULTS.diverged
    assert status(converged=f, diverged=t, breakdown=t) == RESULTS.breakdown
    assert status(converged=t, breakdown=t) == RESULTS.successful
    assert status(converged=f, stagnation=t) == RESULTS.stagnation
    assert status(converged=t, incompatible=t) == RESULTS.incompatible


def test_checks_name_the_argument():
    with pytest.raises(ValueError, match="`dt`"):
        check_positive(np.array([1.0, -1.0]), "dt")
    check_positive(jnp.array([1.0, -1.0]), "dt")  # device values are never read on the host
    with pytest.raises(ValueError, match="`N`.*even"):
        check_positive_int(3, "N", even=True)
    with pytest.raises(TypeError, match="`L`"):
        check_positive_int(2.5, "L")
    with pytest.raises(ValueError, match="`omega`"):
        check_range(2.0, "omega", 0.0, 2.0)
    with pytest.raises(ValueError, match=r"`u`.*\(3, \*\)"):
        check_shape(jnp.zeros((2, 4)), "u", (3, None))
    check_positive(
        jax.ShapeDtypeStruct((3,), jnp.float32), "traced-like"
    )  # unknown value: no error


def test_harness_records_and_json(tmp_path):
    from benchmarks._harness import Bench, environment, format_table, to_json

    bench = Bench(size="quick", repeats=2)
    bench.benchmark = "toy"
    x = jnp.ones((64, 64))
    bench.time_jax("matmul", lambda a: a @ a, x, params={"n": 64})
    bench.time_host(
        "matmul",
        lambda: jax.numpy.asarray(x) @ x,
        impl="host",
        params={"n": 64},
        trace_memory=False,
    )
    bench.records[0].compare_to = "host"
    rec = bench.records[0]
    assert rec.compile_s is not None and rec.compile_s > 0
    assert rec.median_s is not None and rec.min_s <= rec.median_s
    assert rec.peak_bytes is not None and rec.peak_bytes >= 2 * 64 * 64 * 8
    table = format_table(bench.records)
    assert "matmul" in table and "vs host" in table
    data = to_json(bench.records, environment(), "quick")
    text = json.dumps(data, default=str)
    loaded = json.loads(text)
    assert loaded["environment"]["jax_version"] == jax.__version__
    assert loaded["records"][0]["compile_s"] > 0


def test_harness_reports_failing_case():
    from benchmarks._harness import Bench

    bench = Bench(size="quick", repeats=1)
    bench.benchmark = "toy"

    def boom(a):
        raise RuntimeError("out of memory (simulated)")

    rec = bench.time_jax("boom", boom, jnp.ones(3))
    assert rec.error is not None and "simulated" in rec.error


def test_harness_device_peak_is_per_case(monkeypatch):
    # The allocator's peak is a process-lifetime high-water mark: a case that does not raise it has
    # no allocator figure of its own, and one that does is charged the rise over what was in use.
    from benchmarks import _harness

    stats = iter([(100, 1000), (100, 1000), (200, 600), (300, 2500)])
    monkeypatch.setattr(_harness, "_allocator_stats", lambda: next(stats))
    before = _harness._allocator_stats()
    assert _harness._case_device_peak(before) is None
    before = _harness._allocator_stats()
    assert _harness._case_device_peak(before) == 2500 - 200
