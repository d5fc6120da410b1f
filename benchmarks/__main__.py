"""``python -m benchmarks [NAMES...] [--size quick|full] [--out FILE.json] [--plot DIR]``."""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import pkgutil
import sys
import time

import jax

from benchmarks._harness import Bench, environment, format_table, to_json


def available() -> list[str]:
    here = pathlib.Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {names})")
    parser.add_argument(
        "--size",
        choices=("quick", "full"),
        default="quick",
        help="quick: a laptop CPU in minutes; full: accelerator sizes",
    )
    parser.add_argument(
        "--out", type=pathlib.Path, help="write the records and environment as JSON"
    )
    parser.add_argument("--plot", type=pathlib.Path, metavar="DIR", help="write figures to DIR")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    parser.add_argument("--x64", action="store_true", help="enable float64 (default float32)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {names}")
    selected = args.names or names
    if args.x64:
        jax.config.update("jax_enable_x64", True)

    from tqdm.auto import tqdm

    env = environment()
    print(
        f"# jaxsci benchmarks on {env['device_kind']} ({env['platform']}, {env['device_count']} "
        f"device(s)), jax {env['jax_version']}, x64={env['x64']}, size={args.size}",
        flush=True,
    )
    bar = tqdm(selected, desc="benchmarks", unit="module", file=sys.stderr)
    bench = Bench(size=args.size, repeats=args.repeats, progress=bar)
    modules = {}
    t_start = time.perf_counter()
    for name in bar:
        bar.set_description(name)
        module = importlib.import_module(f"benchmarks.{name}")
        modules[name] = module
        bench.benchmark = name
        x64 = bool(jax.config.jax_enable_x64)
        try:
            module.run(bench)
        finally:  # a module that switches float64 on for itself must not change the next one's dtype
            jax.config.update("jax_enable_x64", x64)
    bar.close()
    print(format_table(bench.records))
    print(f"# total wall time {time.perf_counter() - t_start:.1f} s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(to_json(bench.records, env, args.size), indent=1, default=str)
        )
        print(f"# wrote {args.out}")
    if args.plot:
        from benchmarks._plot import plot_all

        for path in plot_all(bench.records, modules, args.plot, env):
            print(f"# wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
