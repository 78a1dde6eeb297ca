"""Monthly median compositing: cropkit against ``cube.groupby("time.month").median()``.

Both run in one process on the same masked cube (the CI demo region, all ten bands,
loaded into memory once). Prints the timings and a final JSON line with the speed-up,
the throughput (observations per second), the peak memory of each method and whether
the values are identical.

Usage: python benchmarks/bench_composite.py [--smoke]   (--smoke: a small area, one repeat)
"""

import argparse
import json
import os
import tempfile
import time
import tracemalloc

import numpy as np
from _demo import SMOKE_LOAD

from cropkit import cloudmask, composite
from cropkit.access.load import load_s2, load_scl
from cropkit.config import RunConfig
from cropkit.endpoint import connect


def timed(fn, repeat=3):
    best, peak = np.inf, 0
    for _ in range(repeat):
        tracemalloc.start()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return out, best, peak


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--smoke", action="store_true", help="a small area of the demo (tests)")
args = parser.parse_args()
area = SMOKE_LOAD if args.smoke else {"region": "chartres", "profile": "ci"}
repeat = 1 if args.smoke else 3
with tempfile.TemporaryDirectory() as cache:
    os.environ.setdefault("CROPKIT_CACHE_DIR", cache)
    cfg = RunConfig(year=2023, run_root=cache, **area)
    source = connect(cfg)
    items = source.search("s2", cfg.bbox, cfg.growing_season, max_cloud=100)
    cube = load_s2(items, source.provider, cfg.grid)
    clear = cloudmask.clear_mask(load_scl(items, source.provider, cfg.grid))
    masked = cloudmask.apply_mask(cube, clear).compute()  # the same in-memory cube for both
    masked = masked.where(
        masked.notnull().all("band")
    )  # complete observations only, as cropkit counts
    print(f"cube {dict(masked.sizes)}, {np.isfinite(masked.values).mean():.0%} valid")

    ours, t_ours, m_ours = timed(
        lambda: composite.period_median(masked, "month", season=cfg.growing_season), repeat=repeat
    )
    base, t_base, m_base = timed(lambda: masked.groupby("time.month").median(), repeat=1)
    # the baseline only has months with observations; compare those
    months = base["month"].values
    by_month = ours["median"].assign_coords(period=ours["period"].dt.month)  # the season's
    same = np.allclose(
        by_month.sel(period=months).values,
        base.transpose("month", "band", "y", "x").values,
        equal_nan=True,
        rtol=0,
        atol=1e-6,
    )
    obs = int(masked.sizes["time"] * masked.sizes["band"] * masked.sizes["y"] * masked.sizes["x"])
    print(f"cropkit  {t_ours:8.3f} s  peak {m_ours / 2**20:7.1f} MiB")
    print(f"groupby  {t_base:8.3f} s  peak {m_base / 2**20:7.1f} MiB")
    print(
        json.dumps(
            {
                "speedup": round(t_base / t_ours, 1),
                "cropkit_s": round(t_ours, 3),
                "groupby_s": round(t_base, 3),
                "observations_per_s": round(obs / t_ours),
                "peak_mib_cropkit": round(m_ours / 2**20, 1),
                "peak_mib_groupby": round(m_base / 2**20, 1),
                "identical_values": bool(same),
                "smoke": args.smoke,
            }
        )
    )
