"""Deep training speed and accuracy on the demo, beside the XGBoost baseline, in one run.

1. **Loader**: samples/s of cropkit's batch loader (whole batches gathered by index,
   standardised as a batch) against a per-sample ``torch.utils.data.Dataset`` with the
   default collate, over the same saved pixel dataset, on one CPU core.
2. **Models**: for each model, parameters, training samples/s, the share of step time
   spent waiting for data, training seconds, and the tier 1-4 scores on the held-out
   zone; whole-zone inference seconds over the study area. On a GPU, deep models are
   also timed in bf16 and fp32 side by side.

The datasets are those of ``benchmarks/demo_difficulty.py`` (same run folder, so the demo
and composites are built once, see ``_demo.py``): Chartres 2023, ``full`` profile, zone
z4 held out.

Usage::

    python benchmarks/bench_train.py                       # full profile, 6 min per model
    python benchmarks/bench_train.py --profile ci --test-zone z2 --minutes 1
    python benchmarks/bench_train.py --smoke               # a small area, one epoch (tests)

The last line printed is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from _demo import data_arguments, demo_datasets, run_config, run_root
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

import cropkit as ck
from cropkit import datasets, inference, loaders, splits, torchdata, train

#: The models of a smoke run: the baseline, a pixel and a patch network.
SMOKE_MODELS = ["xgboost", "ltae", "attention3dcnn"]
SMOKE_SETTINGS = {
    "xgboost": {"max_train_pixels": 2000, "n_estimators": 5},
    "deep": {"epochs": 1, "samples_per_epoch": 1024},
}


class PerSample(Dataset):
    """The usual way: one sample per ``__getitem__``, batches made by default collate."""

    def __init__(self, streams: torchdata.TensorStreams, stats: dict) -> None:
        self.x = {}
        for name in streams.inputs:
            mean, std = (torch.as_tensor(v) for v in stats[name])
            self.x[name] = torch.nan_to_num((streams.tensors[name] - mean) / std)
        self.rest = {k: v for k, v in streams.tensors.items() if k not in self.x}
        self.doy = streams.shared["s2_doy"]

    def __len__(self) -> int:
        return len(self.rest["tier4"])

    def __getitem__(self, i: int) -> dict:
        item = {name: x[i] for name, x in self.x.items()}
        item.update({name: v[i] for name, v in self.rest.items()})
        item["s2_doy"] = self.doy
        return item


def _rate(loader, seconds: float, prepare=lambda b: b) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for batch in loader:
            prepare(batch)
            count += len(batch["tier4"])
            if time.perf_counter() - started >= seconds:
                break
    return count / (time.perf_counter() - started)


def loader_benchmark(pixels, seconds: float = 10.0) -> dict:
    """Samples/s of both loaders on one CPU core, class-balanced draws of 1024."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    train_side = datasets.select_split(pixels, splits.TRAIN)
    streams = torchdata.TensorStreams(train_side, ("s2", "s1"))
    stats = torchdata.stream_stats(streams)
    standardise = torchdata.Standardiser(stats)
    ours = loaders.make_loader(streams, 1024, balanced=True)
    fast = _rate(ours, seconds, standardise)
    weights = loaders.balanced_weights(streams.labels("tier4"))
    sampler = WeightedRandomSampler(weights, len(weights), replacement=True)
    usual = DataLoader(PerSample(streams, stats), batch_size=1024, sampler=sampler)
    slow = _rate(usual, seconds)
    torch.set_num_threads(threads)
    return {
        "samples": len(streams),
        "cropkit_samples_per_s": round(fast),
        "per_sample_samples_per_s": round(slow),
        "loader_speedup": round(fast / slow, 1),
    }


class PeakMemory:
    """Peak resident memory of this process above its level at the start (GB), sampled."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._process = psutil.Process()

    def __enter__(self) -> PeakMemory:
        self.start = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.gb = round(max(self.peak - self.start, 0) / 1e9, 2)


def model_benchmark(
    name, data, context, minutes: float, inputs=("s2",), smoke: bool = False
) -> dict:
    """Train one model on its dataset within ``minutes``; score it and map the zone."""
    model_kind = ck.get_model(name).kind
    ds = data[model_kind]
    settings = train.budget_settings(name, max_minutes=minutes)
    if smoke:  # a few batches of an epoch, a small subsample
        settings.update(SMOKE_SETTINGS["xgboost" if name == "xgboost" else "deep"])
    if name != "xgboost":
        settings["checkpoint_dir"] = context["run"].path / "models" / f"bench_{name}"
    started = time.perf_counter()
    with PeakMemory() as memory:
        result = train.fit_and_score(name, ds, tuple(inputs), **settings)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    composites = context["composites"]
    inference.predict_zone(
        result.model,
        composites["s2"],
        composites.get("s1") if "s1" in inputs else None,
        composites.get("enmap") if "enmap" in inputs else None,
    )
    history = getattr(result.model, "history", None)
    wait = None
    if history is not None and "data_wait_share" in getattr(history, "columns", []):
        wait = round(float(history["data_wait_share"].median()), 4)
    summary = result.summary()
    return {
        "kind": model_kind,
        "inputs": list(inputs),
        "parameters": result.info.get("parameters"),
        "peak_memory_gb": memory.gb,
        "train_seconds": round(seconds, 1),
        "epochs": result.info.get("epochs"),
        "train_samples_per_s": result.info.get("samples_per_s"),
        "data_wait_share": wait,
        "zone_inference_seconds": round(time.perf_counter() - started, 1),
        "macro_f1": summary["macro_f1"].round(4).to_dict(),
        "overall_accuracy_tier4": round(float(summary.loc["tier4", "overall_accuracy"]), 4),
        "kappa_tier4": round(float(summary.loc["tier4", "kappa"]), 4),
        **(
            {"tier_agreement": result.info["tier_agreement"]}
            if "tier_agreement" in result.info
            else {}
        ),
    }


def gpu_precisions(name, data, minutes: float = 1.0) -> dict:
    """Training samples/s in bf16 and fp32 on the GPU (deep models only)."""
    out = {}
    kind = ck.get_model(name).kind
    train_side = datasets.select_split(data[kind], splits.TRAIN)
    for precision in ("bf16-mixed", "32-true"):
        model = ck.get_model(name, precision=precision, epochs=3, max_minutes=minutes)
        model.fit(train_side, progress=False)
        out[precision] = {
            "samples_per_s": model.info["samples_per_s"],
            "data_wait_share": round(float(model.history["data_wait_share"].median()), 4),
            "gpu_mem_gb": float(model.history.get("gpu_mem_gb", [np.nan]).max()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_arguments(parser)
    parser.add_argument(
        "--models",
        nargs="+",
        default=[
            "xgboost",
            "ltae",
            "tempcnn",
            "utae",
            "tempcnn_unet",
            "attention3dcnn",
            "dual_stream",
        ],
    )
    parser.add_argument("--skip-loader", action="store_true", help="models only")
    parser.add_argument("--minutes", type=float, default=6.0, help="budget per deep model")
    args = parser.parse_args()
    if args.smoke:  # one pixel and one patch model, one epoch each
        args.models = [m for m in args.models if m in SMOKE_MODELS] or SMOKE_MODELS

    with run_root(args) as root:
        cfg = run_config(args, root)
        data, context = demo_datasets(cfg, args.test_zone)
        print(f"{data['pixel'].sizes['sample']} pixels, {data['patch'].sizes['patch']} patches")
        results = {
            "profile": cfg.profile,
            "test_zone": args.test_zone,
            "torch": torch.__version__,
            "smoke": args.smoke,
        }
        if not args.skip_loader:
            results["loader"] = loader_benchmark(data["pixel"], 1.0 if args.smoke else 10.0)
            print(json.dumps(results["loader"]), flush=True)
        results["models"] = {}
        for name in args.models:
            results["models"][name] = model_benchmark(
                name, data, context, args.minutes, smoke=args.smoke
            )
            print(name, json.dumps(results["models"][name]), flush=True)
        if torch.cuda.is_available() and not args.smoke:
            results["gpu"] = {
                name: gpu_precisions(name, data) for name in args.models if name != "xgboost"
            }
        out = Path(context["run"].path) / f"bench_train_{'_'.join(args.models)}.json"
        out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
