"""Variance-reduced Halpern (jaxsci.monotone) on the two problems of Cai, Alacaoglu & Diakonikolas (ICLR 2024).

1. Epochs and wall time to residual thresholds, per method, on the policeman-and-burglar game (n = 500;
   thresholds 5e-2, 2e-2, 1e-2) and the Ouyang–Xu quadratic (n = 200; thresholds spanning its curve over the
   budget), with the paper's tuned step sizes, plus the beyond-the-paper variants (restarts, L-free adaptive
   steps). Epochs come from the logged residuals (log every 0.1% of the budget); the wall time to a threshold
   is measured by a second, timed run with ``tol`` = that threshold (the solver stops at the first log point
   below it; residual checks included), after a compile-only warm-up. ``-`` = not reached in the budget.
2. Wall time per epoch against a plain NumPy implementation of the same method (the authors' loops, with a
   vectorised sort-based simplex projection) in the same run, for the variance-reduced methods VR-EG,
   Algorithm 1 and Algorithm 2 on the game; jaxsci with the default sort-based projection and with
   ``simplex_method="pivot"`` (Michelot's exact pivot rule, no sort).
3. Which method is guaranteed where (notes ``guarantee ...``), and what the runs show outside the guarantee:

   - Halpern (forward-backward, λ_k = 1/(k+2)): needs F cocoercive (η <= 2β). Neither paper problem is.
   - Algorithm 1 (PAGE Halpern): cocoercive-on-average components. Neither paper problem is (both are only
     monotone: cocoercivity 0), so the paper runs it as a heuristic; on the game it still converges, on the
     quadratic it oscillates. A cocoercive finite sum (a PSD quadratic, n = 200) is the in-guarantee control.
   - EG, EAG, VR-EG, Algorithm 2: monotone + Lipschitz (on average for VR-EG and Algorithm 2), with step-size
     conditions (EG η < 1/L, EAG η <= 1/(8L), VR-EG γ <= √p/L̄); the paper's tuned steps exceed some of these
     (EG/EAG η = 5/‖A‖₂ on the game is 5/L) and still converge there.
   - Restarts and adaptive steps: no theory here (engineering variants); the adaptive runs pay for their probe
     (2 epochs) and use no knowledge of L.
4. The protocol's entry point (``entry ...``): the first eager ``vr_halpern`` call (trace + compile + run) against
   a second eager call with another ``step_size`` and ``tol`` (both enter the program as arrays: no retrace),
   and ``VRHalpern(...).solve(state, z0)`` with a reused state.

Float64 throughout (``with jax.enable_x64(True)``, local to this module). ``--size quick`` uses short budgets
(about a minute on a 2-core CPU); ``--size full`` the paper's game budget and longer quadratic runs.
"""

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxsci.monotone as mono
from jaxsci import RESULTS


def _result_name(result):
    return next(k for k, v in RESULTS._name_to_item.items() if int(v._value) == int(result._value))


# ------------------------------------------------------------------------------------------------------
# Plain NumPy peers (the authors' loops, vectorised projection), on the square simplex game F = (Aᵀy, −Ax).


def _np_simplex(v):
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    rho = np.nonzero(u - css / np.arange(1, len(v) + 1) > 0)[0][-1]
    return np.maximum(v - css[rho] / (rho + 1), 0)


def _np_vr_halpern(a, eta, epochs, rng):
    """Algorithm 1 (PAGE Halpern) as in the authors' matrix_game.py."""
    n = a.shape[0]
    b = int(math.isqrt(n))
    x0 = np.full(n, 1 / n)
    y0 = x0.copy()
    x, y, xp, yp = x0.copy(), y0.copy(), x0.copy(), y0.copy()
    gx, gy = np.zeros(n), np.zeros(n)
    cnt, k = 0, 0
    while cnt < epochs * n:
        lam = 2 / (k + 4)
        p = 4 / (k + 4) if k - 1 <= math.sqrt(n) else 4 / (math.sqrt(n) + 5)
        if k <= 1 or rng.random() < p:
            gx, gy = a.T @ y, -(a @ x)
            cnt += n
        else:
            s = rng.choice(n, b, replace=False)
            gx = gx + a[s].T @ (y[s] - yp[s]) * n / b
            gy = gy - a[:, s] @ (x[s] - xp[s]) * n / b
            cnt += 2 * b
        xp, yp = x, y
        x = _np_simplex(lam * x0 + (1 - lam) * x - eta * gx)
        y = _np_simplex(lam * y0 + (1 - lam) * y - eta * gy)
        k += 1
    return x, y


def _np_vr_extragradient(a, gamma, epochs, rng):
    """Loopless-SVRG extragradient as in the authors' matrix_game.py (2 units per step, n per refresh)."""
    n = a.shape[0]
    p = 1 / n
    x = np.full(n, 1 / n)
    y = x.copy()
    wx, wy = x.copy(), y.copy()
    ax, ay = -(a @ wx), a.T @ wy
    cnt = n
    while cnt < epochs * n:
        i = rng.integers(n)
        xx, yy = (1 - p) * x + p * wx, (1 - p) * y + p * wy
        xh = _np_simplex(xx - gamma * ay)
        yh = _np_simplex(yy - gamma * ax)
        x = _np_simplex(xx - gamma * (ay + a[i] * (yh[i] - wy[i]) * n))
        y = _np_simplex(yy - gamma * (ax - a[:, i] * (xh[i] - wx[i]) * n))
        cnt += 2
        if rng.random() < p:
            wx, wy = x, y
            ax, ay = -(a @ wx), a.T @ wy
            cnt += n
    return x, y


def _np_inexact_vr_halpern(a, c, gamma, epochs, rng):
    """Algorithm 2 (inexact Halpern + VR-FoRB, the released code's snapshot rule) as in matrix_game.py."""
    n = a.shape[0]
    p = 1 / n
    x0 = np.full(n, 1 / n)
    y0 = x0.copy()
    x, y = x0.copy(), y0.copy()
    cnt, k = 0, 0
    while cnt < epochs * n:
        m = max(1, int(0.05 * n * np.log(k + 2)))
        vx, vy = x, y
        phx, phy = c * (a.T @ y), -c * (a @ x)  # Φ(w) with w = u: ηF(u)
        cnt += n
        for _ in range(m):
            i = rng.integers(n)
            vxx, vyy = (1 - p) * vx + p * x, (1 - p) * vy + p * y
            vx_new = _np_simplex(vxx - gamma * (phx + c * n * a[i] * (vy[i] - y[i]) + vx - x))
            vy = _np_simplex(vyy - gamma * (phy - c * n * a[:, i] * (vx[i] - x[i]) + vy - y))
            vx = vx_new
            cnt += 2
            if rng.random() < p:
                cnt += n  # the code refreshes w <- u: charged, changes nothing
        lam = 1 / (k + 2)
        x, y = lam * x0 + (1 - lam) * vx, lam * y0 + (1 - lam) * vy
        k += 1
    return x, y


# ------------------------------------------------------------------------------------------------------


def _without_state(sol):
    """What a batched run returns: each member's value, status and stats (Solution.state carries the
    problem, the same for every member)."""
    return sol.value, sol.result, sol.stats


def _game_methods(game, n, key):
    a = np.asarray(game.matrix)
    op, fro, p = np.linalg.norm(a, 2), np.linalg.norm(a), 1 / n
    alg2 = dict(
        step_size=math.sqrt(n) / fro,
        inner_step_size=5 * math.sqrt(p * (1 - p)) / (math.sqrt(n) + 1),
    )
    return {
        "EG": lambda **c: mono.extragradient(game, step_size=5 / op, **c),
        "EAG": lambda **c: mono.anchored_extragradient(game, step_size=5 / op, **c),
        "VR-EG": lambda **c: mono.vr_extragradient(
            game, step_size=3 * math.sqrt(p) / fro, key=key, **c
        ),
        "Alg1": lambda **c: mono.vr_halpern(game, step_size=5 / fro, key=key, **c),
        "Alg2": lambda **c: mono.inexact_vr_halpern(game, key=key, **alg2, **c),
        "Alg2 theory-snapshot": lambda **c: mono.inexact_vr_halpern(
            game, key=key, snapshot="theory", **alg2, **c
        ),
        "Halpern η=1/L": lambda **c: mono.halpern(game, step_size=1 / op, **c),
        "EG adaptive": lambda **c: mono.extragradient(game, step_size="adaptive", **c),
        "EAG adaptive": lambda **c: mono.anchored_extragradient(game, step_size="adaptive", **c),
        "EAG+restart": lambda **c: mono.anchored_extragradient(
            game, step_size=5 / op, restart_factor=0.5, **c
        ),
        "Alg1+restart": lambda **c: mono.vr_halpern(
            game, step_size=5 / fro, key=key, restart_factor=0.5, **c
        ),
        "Alg1 adaptive": lambda **c: mono.vr_halpern(game, step_size="adaptive", key=key, **c),
        "Alg2+restart": lambda **c: mono.inexact_vr_halpern(
            game, key=key, restart_factor=0.5, **alg2, **c
        ),
    }


def _qp_methods(qp, n, key):
    alg2 = dict(step_size=math.sqrt(n), inner_step_size=0.001)
    return {
        "EG": lambda **c: mono.extragradient(qp, step_size=0.5, **c),
        "EAG": lambda **c: mono.anchored_extragradient(qp, step_size=0.3, **c),
        "VR-EG": lambda **c: mono.vr_extragradient(qp, step_size=0.01, key=key, **c),
        "Alg1": lambda **c: mono.vr_halpern(qp, step_size=0.3, batch_size=14, key=key, **c),
        "Alg2": lambda **c: mono.inexact_vr_halpern(qp, key=key, **alg2, **c),
        "EG adaptive": lambda **c: mono.extragradient(qp, step_size="adaptive", **c),
        "EAG adaptive": lambda **c: mono.anchored_extragradient(qp, step_size="adaptive", **c),
        "EAG+restart": lambda **c: mono.anchored_extragradient(
            qp, step_size=0.3, restart_factor=0.5, **c
        ),
        "Alg1+restart": lambda **c: mono.vr_halpern(
            qp, step_size=0.3, key=key, restart_factor=0.5, **c
        ),
        "Alg1 adaptive": lambda **c: mono.vr_halpern(qp, step_size="adaptive", key=key, **c),
        "Alg2+restart": lambda **c: mono.inexact_vr_halpern(
            qp, key=key, restart_factor=0.5, **alg2, **c
        ),
    }


def _thresholds_runs(bench, label, methods, z0, epochs, thresholds, params):
    """One full run per method (its curve; the row's median = its wall time), then one timed run per reached
    threshold with ``tol`` = that threshold. Notes: ``to`` = "thr:epochs/seconds" per threshold ("-" = not
    reached), the final and best residual, and max/min of the residual over the second half of the budget
    (about 1 for a steady decrease, large for oscillation)."""
    log_every = epochs / 1000
    for name, fn in methods.items():
        common = dict(max_epochs=epochs, throw=False, log_every=log_every)
        # tol is an array inside the program: this compiles the program every tol below reuses, and stops at once
        jax.block_until_ready(fn(z0=z0, tol=1e30, **common))
        t0 = time.perf_counter()
        sol = jax.block_until_ready(fn(z0=z0, tol=1e-12, **common))
        wall = time.perf_counter() - t0
        k = int(sol.stats["num_logged"])
        r = np.asarray(sol.stats["residual_history"])[:k]
        to, detail = [], {}
        for thr in thresholds:
            if not np.any(r <= thr):
                to.append(f"{thr:g}:-")
                detail[f"epochs@{thr:g}"] = detail[f"s@{thr:g}"] = None
                continue
            t0 = time.perf_counter()
            s_thr = jax.block_until_ready(fn(z0=z0, tol=thr, **common))
            sec = time.perf_counter() - t0
            ep = float(s_thr.stats["num_epochs"])
            to.append(f"{thr:g}:{ep:.0f}ep/{sec:.2g}s")
            detail[f"epochs@{thr:g}"], detail[f"s@{thr:g}"] = round(ep, 2), round(sec, 4)
        tail = r[len(r) // 2 :]
        rec = bench.note(
            f"{label} {name}",
            params=params,
            to=" ".join(to),
            result=_result_name(sol.result),
            final=float(r[-1]),
            best=float(r.min()),
            tail_max_over_min=round(float(tail.max() / tail.min()), 2),
            **detail,
        )
        rec.median_s = rec.min_s = wall
        rec.repeats = 1


# sizes: the paper's n; budgets in epochs (the paper: game 5000, quadratic 1e6); NumPy-peer epochs per method
SIZES = {
    "quick": dict(
        n_game=200,
        game_epochs=200,
        game_thresholds=(1e-1, 5e-2),
        n_qp=100,
        qp_epochs=2000,
        qp_thresholds=(2.5, 2.0, 1.2),
        n_coco=100,
        coco_epochs=200,
        peer_epochs={"VR-EG": 4, "Alg1": 40, "Alg2": 8},
        batch_seeds=64,
        batch_epoch_divisor=4,
    ),
    "full": dict(
        n_game=500,
        game_epochs=5000,
        game_thresholds=(5e-2, 2e-2, 1e-2),
        n_qp=200,
        qp_epochs=100000,
        qp_thresholds=(3.0, 1.0, 0.3, 0.1),
        n_coco=200,
        coco_epochs=2000,
        peer_epochs={"VR-EG": 40, "Alg1": 400, "Alg2": 80},
        batch_seeds=64,
        batch_epoch_divisor=4,
    ),
}


def run(bench):
    with jax.enable_x64(True):
        _run(bench)


def _entry_point(bench, game, n):
    """First eager call vs a second one with other numbers, and a reused state."""
    z0 = jnp.full(2 * n, 1 / n)
    fro = float(jnp.linalg.norm(game.matrix))
    key = jax.random.key(0)
    kw = dict(max_epochs=20, key=key, throw=False, num_logs=11)
    t0 = time.perf_counter()
    jax.block_until_ready(mono.vr_halpern(game, z0, step_size=5 / fro, tol=1e-3, **kw))
    first = time.perf_counter() - t0
    rec = bench.time_host(
        "entry vr_halpern eager, new step_size/tol",
        lambda: mono.vr_halpern(game, z0, step_size=4 / fro, tol=2e-3, **kw),
        impl="jaxsci",
        params={"n": n, "epochs": 20},
        trace_memory=False,
    )
    rec.compile_s = first - (rec.median_s or 0.0)
    solver = mono.VRHalpern(step_size=5 / fro, max_epochs=20, num_logs=11)
    state = solver.init(game)
    bench.time_host(
        "entry VRHalpern.solve(state)",
        lambda: solver.solve(state, z0, key=key, throw=False),
        impl="jaxsci",
        params={"n": n, "epochs": 20},
        trace_memory=False,
    )


def _run(bench):
    key = jax.random.key(0)
    sz = SIZES[bench.size]
    # 1. paper problems: epochs and wall time to thresholds
    n_game, game_epochs = sz["n_game"], sz["game_epochs"]
    game = mono.policeman_and_burglar(n_game, simplex_method="pivot")
    z0 = jnp.full(2 * n_game, 1 / n_game)
    _entry_point(bench, game, n_game)
    _thresholds_runs(
        bench,
        "game",
        _game_methods(game, n_game, key),
        z0,
        game_epochs,
        sz["game_thresholds"],
        {"n": n_game, "epochs": game_epochs},
    )
    n_qp, qp_epochs = sz["n_qp"], sz["qp_epochs"]
    qp = mono.ouyang_xu_quadratic(n_qp)
    z0 = jnp.full(2 * n_qp, 1 / n_qp)
    _thresholds_runs(
        bench,
        "quadratic",
        _qp_methods(qp, n_qp, key),
        z0,
        qp_epochs,
        sz["qp_thresholds"],
        {"n": n_qp, "epochs": qp_epochs},
    )

    # in-guarantee control: a cocoercive finite sum (symmetric PSD M = BBᵀ/n + 0.1 I, so F is 1/L-cocoercive;
    # one coordinate per component). Alg 1 with η = 1/L̄ (the average constant) is inside its assumptions;
    # η = 1/L (the full operator's constant, much larger a step) is not, and diverges.
    n_c, c_epochs = sz["n_coco"], sz["coco_epochs"]
    rng = np.random.default_rng(0)
    b = rng.normal(size=(n_c, n_c))
    m = b @ b.T / n_c + 0.1 * np.eye(n_c)
    coco = mono.AffineFiniteSum(jnp.asarray(m), jnp.asarray(rng.normal(size=n_c)))
    lip, lbar = float(coco.lipschitz), float(coco.average_lipschitz)
    z0 = jnp.zeros(n_c)
    r0 = float(coco.residual(z0))
    coco_thresholds = tuple(float(f"{r0 * f:.2g}") for f in (0.3, 0.1, 0.03))
    _thresholds_runs(
        bench,
        "cocoercive",
        {
            "Halpern η=1/L": lambda **c: mono.halpern(coco, step_size=1 / lip, **c),
            "EAG": lambda **c: mono.anchored_extragradient(coco, step_size=1 / lip, **c),
            "Alg1 η=1/L̄": lambda **c: mono.vr_halpern(coco, step_size=1 / lbar, key=key, **c),
            "Alg1 η=1/L": lambda **c: mono.vr_halpern(coco, step_size=1 / lip, key=key, **c),
            "Alg1 adaptive": lambda **c: mono.vr_halpern(coco, step_size="adaptive", key=key, **c),
            "Alg1+restart η=1/L̄": lambda **c: mono.vr_halpern(
                coco, step_size=1 / lbar, key=key, restart_factor=0.5, **c
            ),
        },
        z0,
        c_epochs,
        coco_thresholds,
        {"n": n_c, "epochs": c_epochs},
    )

    # 2. wall time per epoch against plain NumPy, same method, same problem, same run
    a = np.asarray(game.matrix)
    fro, p = np.linalg.norm(a), 1 / n_game
    zg = jnp.full(2 * n_game, 1 / n_game)
    game_sort = mono.policeman_and_burglar(n_game)
    gam_vreg = 3 * math.sqrt(p) / fro
    c2, g2 = math.sqrt(n_game) / fro, 5 * math.sqrt(p * (1 - p)) / (math.sqrt(n_game) + 1)
    pe = sz["peer_epochs"]

    def seeded(fn, default):
        """``fn(..., seed)`` as the per-epoch cases' ``f(...)`` (seed ``default()``, fresh per call), with
        ``__wrapped__`` = fn for the batched cases."""
        out = lambda *args: fn(*args, default())  # noqa: E731
        out.__wrapped__ = fn
        return out

    cases = {
        "VR-EG": (
            pe["VR-EG"],
            seeded(
                lambda e, rng: _np_vr_extragradient(a, gam_vreg, e, rng),
                lambda: np.random.default_rng(0),
            ),
            seeded(
                lambda g, e, k: mono.vr_extragradient(
                    g, zg, step_size=gam_vreg, key=k, max_epochs=e, throw=False, num_logs=2
                ),
                lambda: key,
            ),
        ),
        "Alg1": (
            pe["Alg1"],
            seeded(
                lambda e, rng: _np_vr_halpern(a, 5 / fro, e, rng), lambda: np.random.default_rng(0)
            ),
            seeded(
                lambda g, e, k: mono.vr_halpern(
                    g, zg, step_size=5 / fro, key=k, max_epochs=e, throw=False, num_logs=2
                ),
                lambda: key,
            ),
        ),
        "Alg2": (
            pe["Alg2"],
            seeded(
                lambda e, rng: _np_inexact_vr_halpern(a, c2, g2, e, rng),
                lambda: np.random.default_rng(0),
            ),
            seeded(
                lambda g, e, k: mono.inexact_vr_halpern(
                    g,
                    zg,
                    step_size=c2,
                    inner_step_size=g2,
                    key=k,
                    max_epochs=e,
                    throw=False,
                    num_logs=2,
                ),
                lambda: key,
            ),
        ),
    }
    for name, (epochs, np_fn, jax_fn) in cases.items():
        prm = {"n": n_game, "epochs": epochs}
        case = f"{name} per epoch"
        rec = bench.time_host(
            case,
            lambda np_fn=np_fn, epochs=epochs: np_fn(epochs),
            impl="numpy",
            params=prm,
            repeats=5,
            trace_memory=False,
        )
        if rec.median_s:
            rec.extra["ms_per_epoch"] = round(rec.median_s / epochs * 1e3, 3)
        for impl, g in (("jaxsci", game_sort), ("jaxsci-pivot", game)):
            rec = bench.time_host(
                case,
                lambda g=g, jax_fn=jax_fn, epochs=epochs: jax_fn(g, epochs),
                impl=impl,
                params=prm,
                repeats=5,
                compare_to="numpy",
                trace_memory=False,
            )
            if rec.median_s:
                rec.extra["ms_per_epoch"] = round(rec.median_s / epochs * 1e3, 3)

    # 2b. batched solving: 64 seeds at once under vmap (one compiled program, each member with its own
    # status and counts) against 64 sequential NumPy runs of the same method, same run
    seeds = sz["batch_seeds"]
    keys = jax.random.split(jax.random.key(1), seeds)
    for name, (epochs, np_fn, jax_fn) in cases.items():
        # at least 2 epochs: the NumPy VR-EG spends its first epoch on F(w0) and would do nothing at 1
        epochs = max(2, epochs // sz["batch_epoch_divisor"])
        prm = {"n": n_game, "epochs": epochs, "seeds": seeds}
        case = f"{name} {seeds} seeds"
        rec = bench.time_host(
            case,
            lambda np_fn=np_fn, epochs=epochs: [
                np_fn.__wrapped__(epochs, np.random.default_rng(i)) for i in range(seeds)
            ],
            impl="numpy-sequential",
            params=prm,
            repeats=1,
            trace_memory=False,
        )
        # the members' value, status and stats; not Solution.state, which holds the shared problem
        # (vmap would copy A into every member's output: 64 copies of a 500 x 500 matrix per call)
        batched = jax.jit(
            jax.vmap(
                lambda k, jax_fn=jax_fn, epochs=epochs: _without_state(
                    jax_fn.__wrapped__(game, epochs, k)
                )
            )
        )
        rec = bench.time_jax(
            case,
            batched,
            keys,
            impl="jaxsci-vmap",
            params=prm,
            repeats=3,
            compare_to="numpy-sequential",
        )
        if rec.median_s:
            rec.extra["ms_per_member_epoch"] = round(rec.min_s / (epochs * seeds) * 1e3, 4)

    # 3. the guarantees, as notes (what the runs above show is in the threshold rows' final/best/tail)
    for method, setting in {
        "Halpern": "F cocoercive, η<=2β: ‖u_k−Tu_k‖<=2‖u0−u*‖/(k+1); game, quadratic: NOT cocoercive",
        "EG": "monotone + L-Lipschitz, η<1/L (paper's game step 5/L is outside; converges anyway)",
        "EAG": "monotone + L-Lipschitz, η<=1/(8L): O(1/k) on ‖F‖ (tuned steps larger)",
        "VR-EG": "monotone, L̄-Lipschitz on average, γ<=√p/L̄ (paper: 3√p/‖A‖_F)",
        "Alg1": "cocoercive on average (Assumption 2): Õ(n+√n L/ε); game, quadratic: NOT (heuristic there)",
        "Alg2": "monotone + Lipschitz on average: Õ(n+√n L/ε) up to logs; both paper problems qualify",
        "restart/adaptive": "no theory (beyond the paper); compared on the same budgets, probe cost charged",
    }.items():
        bench.note(f"guarantee {method}", impl="-", setting=setting)
