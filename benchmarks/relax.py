"""jaxsci.relax: SOR sweep throughput, SSOR-PCG vs CG, and the learning-to-relax experiment's wall time.

Cases (float64 throughout, via ``jax.enable_x64`` locally):

- ``rb-sor sweep``: one red-black SOR sweep (matrix-free, vectorised) on the 5-point Laplacian at
  1023², against pyamg's compiled lexicographic SOR sweep (``pyamg.relaxation.relaxation.sor``) on the
  same matrix (CSR); also our exact lexicographic wavefront sweep. ``unknowns/s`` in the notes.
- ``pcg solve``: SSOR-PCG against plain CG, full solves to rtol 1e−8 of the 2D Laplacian (+ a 1e−3
  shift) at 255² (quick) / 1023² (full): natural-order SSOR (the paper's; wavefront triangular solves)
  at ω = 1.95 and ω = 1, and red-black SSOR (vectorised) at ω = 1; iteration counts in the notes.
- ``sor call``: the paper's n = 100 system (10×10 ``delsq``) solved by SOR at ω = 1.5: the one-line
  ``relax.sor`` called eagerly (its second call: one dispatch, no retrace), against
  ``SOR.solve(state, b, omega=...)`` with the splitting built once, and the float64 NumPy
  Algorithm-1 loop (the peer). ``num_steps`` in the notes.
- ``l2r experiment``: the shifted-Laplacian experiment of Khodak et al. (cost tables of 21 SOR solves
  per instance + replay of Tsallis-INF), quick: 2 trials × 5000 instances (the first pays the
  compilations; the notes estimate 40 × 5000 as first + 39 × second); full: the real 40 × 5000.

Costs are ``stats["num_steps"]`` (sweeps or CG iterations) throughout.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np


def _rb_sweep(op, x, b, omega):
    return op.redblack_sweep(x, b, omega)  # the grid family's red-black update


def _lex_sweep(state, x, b, omega):
    # one exact lexicographic (wavefront) sweep of the precomputed splitting, in its sheared layout
    y = state.forward(omega, state.layout(x), None, state.layout(b))
    return state.unlayout(y)


def _np_sor(A, b, omega, rtol=1e-8):
    """The float64 NumPy peer: Algorithm 1 with a dense triangular solve per sweep."""
    import scipy.linalg as sl

    W = np.tril(A, -1) + np.diag(np.diag(A) / omega)
    x = np.zeros_like(b)
    r = b.copy()
    k = 0
    while np.linalg.norm(r) > rtol * np.linalg.norm(b):
        x = x + sl.solve_triangular(W, r, lower=True)
        r = b - A @ x
        k += 1
    return k


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
            R.SOR().init(op),
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
        cg_solver = R.CG()
        cg_state = cg_solver.init(op)
        cg = lambda st, bb: cg_solver.solve(st, bb, throw=False)
        its_c = int(cg(cg_state, bm).stats["num_steps"])
        bench.time_jax(
            "pcg solve",
            lambda st, bb: cg(st, bb).value,
            cg_state,
            bm,
            impl="cg",
            params=pp,
            repeats=3,
            extra={"num_steps": its_c},
        )
        # natural (column-major) ordering: the paper's preconditioner, ω = 1 and ω = 1.95 (the
        # largest arm of the paper's grid, about optimal here); red-black ordering at its optimum ω = 1.
        # The splitting is built once per ordering (init) and passed in (the solve reuses it).
        for sweep, w, impl in (
            ("lexicographic", 1.95, "jaxsci-ssor-pcg"),
            ("lexicographic", 1.0, "jaxsci-ssor-pcg-w1"),
            ("redblack", 1.0, "jaxsci-ssor-pcg-rb"),
        ):
            solver = R.SSORPCG(sweep=sweep)
            state = solver.init(op)
            pcg = lambda st, bb, w, solver=solver: solver.solve(st, bb, omega=w, throw=False)
            its_p = int(pcg(state, bm, w).stats["num_steps"])
            bench.time_jax(
                "pcg solve",
                lambda st, bb, w, pcg=pcg: pcg(st, bb, w).value,
                state,
                bm,
                jnp.asarray(w),
                impl=impl,
                params=pp,
                repeats=3,
                compare_to="cg",
                extra={"num_steps": its_p, "omega": w, "sweep": sweep},
            )

        # ---------------------------------------------------------------- one-line call, eager
        A100 = R.delsq(R.numgrid("S", 12))
        b100 = np.random.default_rng(1).standard_normal(100)
        pe = {"n": 100, "omega": 1.5, "dtype": "float64"}
        steps = _np_sor(A100, b100, 1.5)
        bench.time_host(
            "sor call", lambda: _np_sor(A100, b100, 1.5), impl="numpy", params=pe, repeats=5
        )
        A_dev, b_dev = jnp.asarray(A100), jnp.asarray(b100)
        R.sor(A_dev, b_dev, 1.5)  # first call: the compilation
        eager = bench.time_host(
            "sor call",
            lambda: jax.block_until_ready(R.sor(A_dev, b_dev, 1.6).value),
            impl="jaxsci-eager",
            params=pe,
            repeats=5,
            compare_to="numpy",
            trace_memory=False,
            extra={"num_steps": steps, "note": "second eager call of relax.sor at another omega"},
        )
        solver = R.SOR()
        state = solver.init(A_dev)
        bench.time_jax(
            "sor call",
            lambda st, bb, w: solver.solve(st, bb, omega=w).value,
            state,
            b_dev,
            jnp.asarray(1.5),
            impl="jaxsci-state",
            params=pe,
            repeats=5,
            compare_to="numpy",
            extra={"num_steps": int(solver.solve(state, b_dev, omega=1.5).stats["num_steps"])},
        )
        del eager

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
            tsallis_total_num_steps=total,
            first_trial_s=cold,
            warm_trial_s=warm,
            estimated_40x5000_s=cold + 39 * warm,
        )
        rec.median_s = rec.min_s = wall
        rec.repeats = 1
