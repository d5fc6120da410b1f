"""One process of a multi-process jaxsci run on this machine's CPU (the launcher is
``tests/scaling/launch.py``; the test is ``tests/scaling/test_multiprocess.py``).

``python multiprocess_worker.py PROCESS_ID NUM_PROCESSES PORT DEVICES_PER_PROCESS OUT.npz``

Every process runs the same program (JAX's multi-controller model): ``jax.distributed.initialize``
over 127.0.0.1, a mesh over all ``jax.devices()`` (every process's), then

(a) data-parallel training: :func:`jaxsci.training.fit` with batches sharded ``P("batch")`` over the
    global mesh (each process passes the same host data; JAX places each process's slice);
(b) one domain-decomposed multigrid solve: ``f`` and the coefficient sharded ``P("x", None)`` over the
    global mesh, assembled with ``jax.make_array_from_callback``.

Process 0 writes the trained parameters, the loss history and the solution (gathered with
``multihost_utils.process_allgather``) to ``OUT.npz``. With ``NUM_PROCESSES = 1`` the same program is
the single-process reference.
"""

import os
import sys


def main(process_id: int, num_processes: int, port: int, devices: int, out: str) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_num_cpu_devices", devices)
    if num_processes > 1:
        # CPU collectives across processes go through gloo (the default "none" has no
        # cross-process all-reduce); set before the backend starts.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            coordinator_address=f"127.0.0.1:{port}",
            num_processes=num_processes,
            process_id=process_id,
            initialization_timeout=60,
        )
    import equinox as eqx
    import jax.numpy as jnp
    import numpy as np
    import optax
    from jax.experimental import multihost_utils
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import jaxsci.multigrid as mg
    from jaxsci.training import fit

    assert jax.process_count() == num_processes and jax.device_count() == num_processes * devices
    auto = (jax.sharding.AxisType.Auto,)
    mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("batch",), axis_types=auto)

    # (a) data-parallel training of a small convolutional model
    rng = np.random.default_rng(0)
    n_samples, c, n = 8, 1, 16
    x = rng.standard_normal((n_samples, c, n, n)).astype(np.float32)
    y = (0.5 * x + 0.2 * np.roll(x, 1, axis=-1)).astype(np.float32)
    model = eqx.nn.Conv2d(1, 1, 3, padding=1, key=jax.random.key(1), dtype=jnp.float32)
    model = eqx.nn.Sequential([model])

    class Net(eqx.Module):
        conv: eqx.nn.Sequential

        def __call__(self, x, *, key=None):
            return self.conv(x)

    trained, record = fit(
        Net(model),
        optax.adam(1e-2),
        (x, y),
        epochs=3,
        batch_size=n_samples,
        key=jax.random.key(2),
        sharding=NamedSharding(mesh, P("batch")),
        progress=False,
    )
    params = [
        np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
        for leaf in jax.tree.leaves(eqx.filter(trained, eqx.is_inexact_array))
    ]
    losses = np.asarray([h["train_loss"] for h in record["history"]])

    # (b) one domain-decomposed multigrid solve, rows over all devices of all processes
    m = 64
    g = (np.arange(m) + 1) / (m + 1)
    a_host = 1 + 0.5 * np.sin(3 * g)[:, None] * np.cos(2 * g)[None, :]
    f_host = np.sin(np.pi * g)[:, None] * np.cos(3 * np.pi * g)[None, :] + g[None, :]
    rows = NamedSharding(mesh, P("batch", None))
    a = jax.make_array_from_callback(a_host.shape, rows, lambda idx: a_host[idx])
    f = jax.make_array_from_callback(f_host.shape, rows, lambda idx: f_host[idx])
    sol = jax.jit(lambda a, f: mg.solve(mg.diffusion(a), f, rtol=1e-8, throw=False))(a, f)
    assert sol.value.sharding.is_equivalent_to(rows, 2)
    u = np.asarray(multihost_utils.process_allgather(sol.value, tiled=True))
    steps = int(np.asarray(sol.stats["num_steps"].addressable_data(0)))  # replicated scalar

    if process_id == 0:
        np.savez(out, *params, losses=losses, u=u, steps=steps, devices=jax.device_count())
    if num_processes > 1:
        multihost_utils.sync_global_devices("jaxsci-done")
        jax.distributed.shutdown()


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    pid, nproc, port, ndev = (int(v) for v in sys.argv[1:5])
    main(pid, nproc, port, ndev, sys.argv[5])
