"""Scaling out: the communication of a domain-decomposed V-cycle, read from the compiled program, and
a weak/strong scaling model for accelerators (``python -m benchmarks scaling``).

Measured (in a subprocess with 8 fake CPU devices: fake devices must be requested before JAX starts,
and ``python -m benchmarks`` has started it already): for an ``n x n`` Poisson V(1,1)-cycle (red-black
Gauss-Seidel, float32 unless ``--x64``) with the grid sharded along rows over ``P = 1, 2, 4, 8``
devices, the bytes every device receives through collectives per cycle (``collective-permute``
halos, the ``all-gather`` of the coarsest level), their count, and XLA's per-device flop and
memory-traffic estimate (``compiled.cost_analysis()``). Wall times of fake devices sharing two cores
say nothing about scaling and are not reported.

The estimate they are compared with (surface to volume): each level ``l`` (``n_l = n / 2^l``) does
``k = 7`` neighbour exchanges per V(1,1) cycle (2 colour sweeps before and after, residual,
restriction, interpolation), each bringing one row of ``n_l`` values from both neighbours:
``bytes ~ 2 k s sum_l n_l ~ 4 k s n`` per device (``s`` bytes per value), independent of ``P``,
while the work per device falls as ``n^2 / P``.

Model (parameters stated in the records): per-cycle time on ``P`` devices
``T = M / (P B_mem) + C / B_link + m alpha``, with ``M`` the memory traffic of the cycle on one device
(measured at ``P = 1``, scaled by ``N``), ``C`` the halo bytes per device (``2 k s sum_l n_l`` per sharded
grid axis side; a ``sqrt(P) x sqrt(P)`` mesh halves the side length and doubles the sides), ``m`` the
collectives per cycle (measured) and ``alpha`` the latency of one. Weak-scaling efficiency
``T(N_1, 1) / T(P N_1, P)``; strong-scaling efficiency ``T(N, 1) / (P T(N, P))``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

#: Accelerator parameters of the model: memory bandwidth (B/s), link bandwidth per direction to one
#: neighbour (B/s), latency per collective (s), mesh layout of the decomposition.
ACCELERATORS = {
    "TPU v5e 16x16": {
        "devices": 256,
        "hbm_bytes_per_s": 819e9,
        "link_bytes_per_s": 50e9,  # one ICI link, one direction (1600 Gbps per chip over 4 links)
        "latency_s": 10e-6,
        "mesh": "2d",
    },
    "8x H100 (NVLink)": {
        "devices": 8,
        "hbm_bytes_per_s": 3.35e12,
        "link_bytes_per_s": 450e9,  # NVLink 4: 900 GB/s per GPU, both directions
        "latency_s": 15e-6,
        "mesh": "1d",
    },
}
EXCHANGES_PER_LEVEL = 7
COARSE_MAX = 64


def _levels(n: int) -> list[int]:
    sizes = [n]
    while sizes[-1] ** 2 > COARSE_MAX and sizes[-1] >= 3:
        sizes.append(sizes[-1] // 2)
    return sizes


def halo_estimate(n: int, p: int, itemsize: int, mesh: str = "1d") -> float:
    """Bytes one device receives per V(1,1)-cycle by halo exchanges (the surface-to-volume model)."""
    if p == 1:
        return 0.0
    side = sum(_levels(n)[:-1])  # rows of all levels above the coarsest
    if mesh == "2d":
        q = int(round(np.sqrt(p)))
        return 4 * EXCHANGES_PER_LEVEL * itemsize * side / q * (1 if q > 1 else 0)
    return 2 * EXCHANGES_PER_LEVEL * itemsize * side


def cycle_time(n: int, p: int, acc: dict, mem_per_point: float, collectives: float, itemsize: int):
    """The model's seconds per V-cycle on ``p`` devices for an ``n x n`` grid."""
    mem = mem_per_point * n * n / p / acc["hbm_bytes_per_s"]
    comm = halo_estimate(n, p, itemsize, acc["mesh"]) / acc["link_bytes_per_s"]
    lat = (collectives if p > 1 else 0) * acc["latency_s"]
    return mem + comm + lat


def efficiencies(acc: dict, n_weak: int, n_strong: int, mem_per_point, collectives, itemsize):
    """``{P: (weak, strong)}`` efficiencies for P = 1, 2, 4, ... up to the accelerator's count."""
    out = {}
    p = 1
    while p <= acc["devices"]:
        n_w = int(round(n_weak * np.sqrt(p)))
        t1 = cycle_time(n_weak, 1, acc, mem_per_point, collectives, itemsize)
        weak = t1 / cycle_time(n_w, p, acc, mem_per_point, collectives, itemsize)
        ts1 = cycle_time(n_strong, 1, acc, mem_per_point, collectives, itemsize)
        strong = ts1 / (p * cycle_time(n_strong, p, acc, mem_per_point, collectives, itemsize))
        out[p] = (weak, strong)
        p *= 2 if acc["mesh"] == "1d" else 4
    return out


# ------------------------------------------------------------------ the measuring subprocess
def _measure(sizes: list[int], x64: bool) -> list[dict]:
    import jax

    jax.config.update("jax_num_cpu_devices", 8)
    jax.config.update("jax_enable_x64", x64)
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import jaxsci.multigrid as mg
    from jaxsci.multigrid._cycle import CycleConfig, cycle
    from jaxsci.multigrid._sharding import collectives, summarize

    dtype = jnp.float64 if x64 else jnp.float32
    rows = []
    for n in sizes:
        op = mg.poisson((n, n))
        h = mg.Multigrid(precision=dtype).init(op)
        cfg = CycleConfig("V", "rbgs", 1, 1, 1.0, False)

        def v_cycle(r, h=h, cfg=cfg):
            return cycle(h, 0, jnp.zeros_like(r), r, cfg, zero_guess=True)

        for p in (1, 2, 4, 8):
            mesh = jax.sharding.Mesh(
                np.asarray(jax.devices()[:p]), ("x",), axis_types=(jax.sharding.AxisType.Auto,)
            )
            sh = NamedSharding(mesh, P("x", None))
            compiled = (
                jax.jit(v_cycle, in_shardings=sh, out_shardings=sh)
                .lower(jax.ShapeDtypeStruct((n, n), dtype))
                .compile()
            )
            items = collectives(compiled.as_text())
            s = summarize(items)
            cost = compiled.cost_analysis()
            cost = cost[0] if isinstance(cost, (list, tuple)) else cost
            rows.append(
                {
                    "n": n,
                    "devices": p,
                    "itemsize": jnp.dtype(dtype).itemsize,
                    "bytes": sum(v["bytes"] for v in s.values()),
                    "count": sum(v["count"] for v in s.values()),
                    "permute_bytes": s["collective-permute"]["bytes"],
                    "gather_bytes": s["all-gather"]["bytes"],
                    "all_to_all": s["all-to-all"]["count"],
                    "largest_gather": max(
                        (int(np.prod(c.largest)) for c in items if c.kind == "all-gather"),
                        default=0,
                    ),
                    "flops": float(cost.get("flops", float("nan"))),
                    "bytes_accessed": float(cost.get("bytes accessed", float("nan"))),
                }
            )
    return rows


def _run_measurement(sizes: list[int], x64: bool) -> list[dict]:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    cmd = [sys.executable, "-m", "benchmarks.scaling", "--measure", ",".join(map(str, sizes))]
    if x64:
        cmd.append("--x64")
    # compiling the 4096^2 programs for 8 fake devices took over 15 min on a loaded 2-core machine
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(bench):
    import jax

    x64 = bool(jax.config.jax_enable_x64)
    sizes = [256, 1024] if bench.quick else [1024, 4096]  # 1023^2 / 4095^2 rounded to divide by 8
    bench._describe("scaling: V-cycle collectives on 1-8 fake devices (subprocess)")
    rows = _run_measurement(sizes, x64)
    for r in rows:
        est = halo_estimate(r["n"], r["devices"], r["itemsize"])
        bench.note(
            "V-cycle collectives per device",
            params={"n": f"{r['n']}^2", "devices": r["devices"], "dtype": f"f{8 * r['itemsize']}"},
            collective_bytes=r["bytes"],
            halo_bytes=r["permute_bytes"],
            coarse_gather_bytes=r["gather_bytes"],
            collectives=r["count"],
            all_to_all=r["all_to_all"],
            estimate_bytes=est,
            measured_over_estimate=(r["permute_bytes"] / est) if est else None,
            flops_per_device=r["flops"],
            bytes_accessed_per_device=r["bytes_accessed"],
        )
    # model inputs from the largest measured grid: memory traffic per point (P = 1) and the number
    # of collectives per cycle (P = 8)
    n_max = max(sizes)
    one = next(r for r in rows if r["n"] == n_max and r["devices"] == 1)
    eight = next(r for r in rows if r["n"] == n_max and r["devices"] == 8)
    mem_per_point = one["bytes_accessed"] / n_max**2
    itemsize = one["itemsize"]
    n_weak, n_strong = 4096, 16384
    for name, acc in ACCELERATORS.items():
        eff = efficiencies(acc, n_weak, n_strong, mem_per_point, eight["count"], itemsize)
        for p, (weak, strong) in eff.items():
            bench.note(
                f"model: {name}",
                impl="model",
                params={"devices": p, "weak_per_device": f"{n_weak}^2", "strong": f"{n_strong}^2"},
                weak_efficiency=round(weak, 4),
                strong_efficiency=round(strong, 4),
                hbm_GBps=acc["hbm_bytes_per_s"] / 1e9,
                link_GBps=acc["link_bytes_per_s"] / 1e9,
                latency_us=acc["latency_s"] * 1e6,
                collectives_per_cycle=eight["count"],
                mem_bytes_per_point=round(mem_per_point, 1),
            )


def plot(records, outdir):
    import pathlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
    meas = [r for r in records if r.case == "V-cycle collectives per device"]
    for n in sorted({r.params["n"] for r in meas}):
        rs = sorted((r for r in meas if r.params["n"] == n), key=lambda r: r.params["devices"])
        ps = [r.params["devices"] for r in rs]
        ax0.plot(ps, [r.extra["collective_bytes"] for r in rs], "o-", label=f"measured {n}")
        ax0.plot(ps, [r.extra["estimate_bytes"] for r in rs], "k--", lw=0.8)
    ax0.set(xlabel="devices (rows)", ylabel="bytes received per device per V-cycle", xscale="log")
    ax0.set_xscale("log", base=2)
    ax0.legend(title="dashed: surface-to-volume estimate", fontsize=8)
    for name in ACCELERATORS:
        rs = sorted(
            (r for r in records if r.case == f"model: {name}"), key=lambda r: r.params["devices"]
        )
        ps = [r.params["devices"] for r in rs]
        ax1.plot(ps, [r.extra["weak_efficiency"] for r in rs], "o-", label=f"{name} weak")
        ax1.plot(ps, [r.extra["strong_efficiency"] for r in rs], "s--", label=f"{name} strong")
    ax1.set(xlabel="devices", ylabel="parallel efficiency (model)", ylim=(0, 1.05))
    ax1.set_xscale("log", base=2)
    ax1.legend(fontsize=8)
    ax1.set_title("weak: 4096^2 per device; strong: 16384^2", fontsize=9)
    fig.tight_layout()
    path = outdir / "scaling.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--measure":
        result = _measure([int(v) for v in sys.argv[2].split(",")], "--x64" in sys.argv)
        print(json.dumps(result))
    else:
        raise SystemExit("usage: python -m benchmarks scaling (this module's main is its worker)")
