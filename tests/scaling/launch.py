"""Launch a multi-process jaxsci run on this machine: ``python tests/scaling/launch.py [-n 2]
[--devices 2] [--out run.npz] [--timeout 240]``.

Starts ``n`` copies of ``multiprocess_worker.py`` coordinated over 127.0.0.1 (a free port), each with
``--devices`` CPU devices, waits for them with a time limit and kills every one it started if any
fails or the time runs out. On a GPU cluster or a TPU pod slice the same worker program runs once
per host, started by the cluster's launcher (SLURM ``srun``, ``gcloud ... tpu-vm ssh --worker=all``);
there ``jax.distributed.initialize()`` finds the coordinator itself (see README, "Scaling out").
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = Path(__file__).with_name("multiprocess_worker.py")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(num_processes: int, devices: int, out: str, timeout: float) -> list[int]:
    """Run the workers; returns their exit codes (``-9`` for those killed at the time limit)."""
    port = free_port()
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="")
    env.pop("JAX_NUM_CPU_DEVICES", None)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    # Logs go to files, not pipes: a pipe nobody reads fills up (64 KiB) and blocks the worker.
    logs = [tempfile.TemporaryFile("w+") for _ in range(num_processes)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(i), str(num_processes), str(port), str(devices), out],
            env=env,
            stdout=logs[i],
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(num_processes)
    ]
    deadline = time.monotonic() + timeout
    codes: list[int | None] = [None] * num_processes
    try:
        while any(c is None for c in codes):
            for i, p in enumerate(procs):
                if codes[i] is None:
                    codes[i] = p.poll()
            if any(c not in (None, 0) for c in codes) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for i, p in enumerate(procs):
            if p.poll() is None:
                p.kill()
                p.wait()
                codes[i] = -9
            else:
                codes[i] = p.returncode
        launch.logs = []
        for log in logs:
            log.seek(0)
            launch.logs.append(log.read())
            log.close()
    return [int(c) for c in codes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--num-processes", type=int, default=2)
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--out", default="multiprocess.npz")
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    codes = launch(args.num_processes, args.devices, args.out, args.timeout)
    for i, log in enumerate(launch.logs):
        print(f"--- process {i} (exit {codes[i]})\n{log[-3000:]}")
    sys.exit(0 if all(c == 0 for c in codes) else 1)


if __name__ == "__main__":
    main()
