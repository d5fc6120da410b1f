"""jaxsci.relax: SOR sweep throughput, SSOR-PCG vs CG, and the learning-to-relax experiment's wall time.

Cases (float64 throughout, via ``jax.enable_x64`` locally):

- ``rb-sor sweep``: one red-black SOR sweep (matrix-free, vectorised) on the 5-point Laplacian at
  1023², against pyamg's compiled lexicographic SOR sweep (``pyamg.relaxation.relaxation.sor``) on the
  same matrix (CSR); also our exact lexicographic wavefront sweep. ``unknowns/s`` in the notes.
- ``pcg solve``: SSOR-PCG against plain CG, full solves to rtol 1e−8 of the 2D Laplacian (+ a 1e−3
  shift) at 255² (quick) / 1023² (full): natural-order SSOR (the paper's; wavefront triangular solves)
  at ω = 1.95 and ω = 1, and red-black SSOR (vectorised) at ω = 1; iteration counts in the notes.
- ``l2r experiment``: the shifted-Laplacian experiment of Khodak et al. (cost tables of 21 SOR solves
  per instance + replay of Tsallis-INF), quick: 2 trials × 5000 instances (the first pays the
  compilations; the notes estimate 40 × 5000 as first + 39 × second); full: the real 40 × 5000.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np


def _rb_sweep(op, x, b, omega):
    from jaxsci.relax._stencil import redblack_half_sweep

    red = op.red()
    x = redblack_half_sweep(op, x, b, omega, red)
    return redblack_half_sweep(op, x, b, omega, ~red)


def _lex_sweep(op, x, b, omega):
    from jaxsci.relax._stencil import Sheared, sheared_sor_sweep

    sh = Sheared(*op.shape)
    valid = sh.valid()
    y = sheared_sor_sweep(
        op.offdiag, jnp.where(valid, op.diag, 1.0), valid, sh.shear(b), sh.shear(x), omega
    )
    return sh.unshear(y)


_REPLAY = {}


def _experiment(trials, T, first_seed=0):
    import jaxsci.relax as R

    omegas = jnp.linspace(1.0, 1.95, 20)
    if "tsallis" not in _REPLAY:  # one compilation across calls
        learner = R.TsallisINF(20)
        _REPLAY["tsallis"] = jax.jit(lambda c, k: R.replay(learner, c, k)[1])
    replay = _REPLAY["tsallis"]
    total = 0.0
    for trial in range(first_seed, first_seed + trials):
        seq = R.shifted_laplacian_sequence(jax.random.key(trial), T)
        w = np.concatenate(
            [np.broadcast_to(np.asarray(omegas), (T, 20)), np.asarray(seq.young_omega())[:, None]],
            axis=1,
        )
        table = R.shifted_laplacian_cost_table(seq, w, chunk=4096)
        total += float(replay(jnp.asarray(table[:, :20], float), jax.random.key(trial)).sum())
    return total


def run(bench):
    import pyamg
    from pyamg.relaxation.relaxation import sor as pyamg_sor

    import jaxsci.relax as R

    with jax.enable_x64(True):
        # ---------------------------------------------------------------- sweep throughput
        n = 1023
        op = R.laplacian_stencil((n, n))
        rng = np.random.default_rng(0)
        b = jnp.asarray(rng.standard_normal((n, n)))
        x = jnp.zeros((n, n))
        p = {"grid": f"{n}x{n}", "dtype": "float64"}
        A = pyamg.gallery.poisson((n, n), format="csr")
        xb, bb = np.zeros(n * n), np.asarray(b).ravel()
        peer = bench.time_host(
            "rb-sor sweep",
            lambda: pyamg_sor(A, xb, bb, 1.5),
            impl="pyamg",
            params=p,
            trace_memory=False,
            extra={"order": "lexicographic (C++)"},
        )
        rec = bench.time_jax(
            "rb-sor sweep",
            _rb_sweep,
            op,
            x,
            b,
            1.5,
            params=p,
            compare_to="pyamg",
            extra={"order": "red-black"},
        )
        rec2 = bench.time_jax(
            "rb-sor sweep",
            _lex_sweep,
            op,
            x,
            b,
            1.5,
            impl="jaxsci-lex",
            params=p,
            compare_to="pyamg",
            extra={"order": "wavefront lexicographic"},
        )
        for r in (peer, rec, rec2):
            if r.median_s:
                r.extra["unknowns/s"] = n * n / r.median_s

        # ---------------------------------------------------------------- SSOR-PCG vs CG
        m = 255 if bench.quick else 1023
        op = R.laplacian_stencil((m, m), shift=1e-3)
        bm = jnp.asarray(rng.standard_normal((m, m)))
        pp = {"grid": f"{m}x{m}", "dtype": "float64"}
        cg = lambda bb: R.cg(op, bb, throw=False)
        its_c = int(cg(bm).stats["iterations"])
        bench.time_jax(
            "pcg solve",
            lambda bb: cg(bb).value,
            bm,
            impl="cg",
            params=pp,
            repeats=3,
            extra={"iterations": its_c},
        )
        # natural (column-major) ordering: the paper's preconditioner, ω = 1 and ω = 1.95 (the
        # largest arm of the paper's grid, about optimal here); red-black ordering at its optimum ω = 1
        for sweep, w, impl in (
            ("lexicographic", 1.95, "jaxsci-ssor-pcg"),
            ("lexicographic", 1.0, "jaxsci-ssor-pcg-w1"),
            ("redblack", 1.0, "jaxsci-ssor-pcg-rb"),
        ):
            pcg = lambda bb, sweep=sweep, w=w: R.ssor_pcg(op, bb, w, throw=False, sweep=sweep)
            its_p = int(pcg(bm).stats["iterations"])
            bench.time_jax(
                "pcg solve",
                lambda bb, pcg=pcg: pcg(bb).value,
                bm,
                impl=impl,
                params=pp,
                repeats=3,
                compare_to="cg",
                extra={"iterations": its_p, "omega": w, "sweep": sweep},
            )

        # ---------------------------------------------------------------- the experiment
        # quick: two full-length trials (T = 5000, so chunk shapes are as in the real run): the first
        # pays the compilations, the second is warm; 40 × 5000 ≈ first + 39 × second.
        # full: the real 40 × 5000.
        trials, T = (2, 5000) if bench.quick else (40, 5000)
        pe = {"trials": trials, "instances": T, "arms": 21, "n": 100}
        t0 = time.perf_counter()
        total = _experiment(1, T)
        cold = time.perf_counter() - t0
        total += _experiment(trials - 1, T, first_seed=1)
        wall = time.perf_counter() - t0
        warm = (wall - cold) / (trials - 1)
        rec = bench.note(
            "l2r experiment",
            params=pe,
            wall_s=wall,
            solves=trials * T * 21,
            tsallis_total_iters=total,
            first_trial_s=cold,
            warm_trial_s=warm,
            estimated_40x5000_s=cold + 39 * warm,
        )
        rec.median_s = rec.min_s = wall
        rec.repeats = 1
