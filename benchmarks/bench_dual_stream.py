"""Where dual_stream's training step goes, with Sentinel-2 alone and with EnMAP.

On real patches of the demo run (``_demo.py``: Chartres 2023, ``full`` profile, zone z4
held out), a batch of ``--batch`` training patches, standardised as the trainer does:

1. the training step (forward, backward, AdamW) of ``dual_stream`` on S2 alone and on
   S2 + EnMAP, the fastest of ``--repeats`` steps each, and their ratio (the goal: EnMAP
   costs no more than the S2 stream, a ratio <= 2);
2. the same step split by part (forward and backward of each): the S2 stream (U-TAE
   encoder), the EnMAP stream (spectral and spatial transformers), and the rest
   (EnMAP onto the 10 m grid, fusion, hierarchical heads, loss);
3. the EnMAP tokens per window: spectral regions, pixels of the window.

Usage::

    python benchmarks/bench_dual_stream.py                 # full profile, batch of 16
    python benchmarks/bench_dual_stream.py --smoke         # a small area, two steps (tests)

The last line printed is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from _demo import data_arguments, demo_datasets, run_config, run_root

from cropkit.compute.splits import TRAIN
from cropkit.datasets import select_split
from cropkit.datasets.torchdata import Standardiser, TensorStreams, stream_stats
from cropkit.models import build_network


def _fastest(step, repeats: int) -> float:
    """Fastest of ``repeats`` calls of ``step`` after one to warm up (seconds)."""
    step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return min(times)


def _backward(out) -> None:
    parts = out.values() if isinstance(out, dict) else [out]
    sum(p.float().mean() for p in parts).backward()


def step_profile(patches, inputs: tuple[str, ...], batch: int, repeats: int) -> dict:
    """Seconds per training step of ``dual_stream`` on ``inputs``, whole and by part."""
    streams = TensorStreams(select_split(patches, TRAIN), inputs)
    data = Standardiser(stream_stats(streams))(streams[torch.arange(min(batch, len(streams)))])
    torch.manual_seed(0)
    net = build_network("dual_stream", streams.spec).train()
    optimiser = torch.optim.AdamW(net.parameters())

    def whole() -> None:
        optimiser.zero_grad()
        _backward(net(data))
        optimiser.step()

    def s2_stream() -> None:
        features, _ = net.s2(data["s2"], data["s2_doy"], data.get("s2_pad"))
        _backward(features)

    out = {"step_s": _fastest(whole, repeats), "s2_stream_s": _fastest(s2_stream, repeats)}
    if "enmap" in inputs:
        out["enmap_stream_s"] = _fastest(lambda: _backward(net.enmap(data["enmap"])[0]), repeats)
        out["enmap_tokens"] = {
            "spectral": len(net.enmap.group_names),
            "pixels": int(data["enmap"].shape[-1] * data["enmap"].shape[-2]),
        }
        out["enmap_regions"] = list(net.enmap.group_names)
    streams_s = out["s2_stream_s"] + out.get("enmap_stream_s", 0.0)
    out["rest_s"] = max(out["step_s"] - streams_s, 0.0)
    out["parameters"] = sum(p.numel() for p in net.parameters())
    out["patches"] = int(data["s2"].shape[0])
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    data_arguments(parser)
    parser.add_argument("--batch", type=int, default=16, help="patches per step")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps (the fastest counts)")
    args = parser.parse_args()
    if args.smoke:
        args.batch, args.repeats = 4, 2
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    with run_root(args) as root:
        data, _ = demo_datasets(run_config(args, root), args.test_zone)
        patches = data["patch"]
        result = {
            "threads": torch.get_num_threads(),
            "s2": step_profile(patches, ("s2",), args.batch, args.repeats),
            "s2+enmap": step_profile(patches, ("s2", "enmap"), args.batch, args.repeats),
        }
    result["step_ratio"] = round(result["s2+enmap"]["step_s"] / result["s2"]["step_s"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
