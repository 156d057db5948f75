#!/usr/bin/env python3
"""Face-LoRA trainer for facechain-bot: the FACECHAIN_TRAINER_CMD contract (docs/pipelines.md) on
diffusers + PEFT with FaceChain's settings. Runs on a CUDA GPU host; --help and --dry-run work
without torch or a GPU.

Set on the GPU worker, for example:
  FACECHAIN_TRAINER_CMD="python3 /opt/facechain-bot/gpu/train.py --base /models/film-diffusers"
The worker appends --dataset DIR --output FILE --steps N --rank 4 --alpha 32 --learning-rate 1.5e-4
--lr-scheduler cosine --resolution 512 --seed 42 --trigger <fcsks>.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from facechain_gpu.cli import ArgumentParser, UsageError, info, require_packages, run_main, warn  # noqa: E402
from facechain_gpu.dataset import Dataset, load_dataset  # noqa: E402
from facechain_gpu.schedule import (  # noqa: E402
    DEFAULT_MAX_STEPS,
    FACECHAIN_EPOCHS,
    POLICIES,
    SCHEDULERS,
    StepPlan,
    steps_for,
)
from facechain_gpu.sd_layout import inspect_base  # noqa: E402
from facechain_gpu.vram import CHECKPOINTING_MIN_FREE_GB, DEFAULT_MIN_FREE_GB, min_free_gb  # noqa: E402

MAX_RANK = 128  # FACECHAIN_MAX_LORA_RANK's default: the worker refuses higher ranks


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="train.py",
        description="Train a FaceChain face LoRA (SD 1.5 UNet attention, PEFT) on a prepared dataset and "
        "write it as a kohya-format .safetensors file with its alpha.",
        epilog="Exit codes: 0 done, 1 unexpected failure, 2 usage or input error, 3 environment "
        "(missing package, no GPU, not enough GPU memory). Progress lines read 'step N/M loss L lr X'. "
        "Guide: docs/gpu-host.md.",
    )
    c = p.add_argument_group("contract arguments (appended by the worker)")
    c.add_argument("--dataset", required=True, help="folder with images/ and metadata.jsonl (facechain prepare's layout)")
    c.add_argument("--output", required=True, help="the LoRA file to write (.safetensors)")
    c.add_argument("--steps", type=int, default=800, help="steps, used with --step-policy given (default 800)")
    c.add_argument("--rank", type=int, default=4, help="LoRA rank (FaceChain: 4)")
    c.add_argument("--alpha", type=float, default=32.0, help="LoRA alpha; merge scale alpha/rank (FaceChain: 32)")
    c.add_argument("--learning-rate", type=float, default=1.5e-4, help="AdamW learning rate (FaceChain: 1.5e-4)")
    c.add_argument("--lr-scheduler", default="cosine", help=f"one of {', '.join(SCHEDULERS)}; no warm-up")
    c.add_argument("--resolution", type=int, default=512, help="training size in pixels (FaceChain: 512)")
    c.add_argument("--seed", type=int, default=42, help="random seed (FaceChain: 42)")
    c.add_argument("--trigger", default="<fcsks>", help="token every caption must contain ('' to skip the check)")
    h = p.add_argument_group("GPU host settings (put them in FACECHAIN_TRAINER_CMD)")
    h.add_argument("--base", help="SD 1.5 base: diffusers folder or single .safetensors (FaceChain: its film base)")
    h.add_argument("--config", help="for a single-file base: a local diffusers SD 1.5 folder to take configs from")
    h.add_argument(
        "--step-policy",
        default="epochs",
        choices=POLICIES,
        help="epochs (default): FaceChain's epochs x photos, capped at --max-steps; given: use --steps",
    )
    h.add_argument("--epochs", type=int, default=FACECHAIN_EPOCHS, help=f"epochs over the photos (default {FACECHAIN_EPOCHS})")
    h.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS, help=f"cap of the epochs policy (default {DEFAULT_MAX_STEPS})")
    h.add_argument("--mixed-precision", default="fp16", choices=("fp16", "bf16", "no"), help="frozen weights and autocast dtype")
    h.add_argument("--gradient-checkpointing", action="store_true", help="less GPU memory, about 20-30%% slower")
    h.add_argument(
        "--min-free-vram-gb",
        type=float,
        default=None,
        help=f"refuse to start below this (default {DEFAULT_MIN_FREE_GB:g}, {CHECKPOINTING_MIN_FREE_GB:g} with --gradient-checkpointing)",
    )
    h.add_argument("--init-lora", help="start from this LoRA (.safetensors or FaceChain's .bin), as FaceChain starts from face_frombase_c4")
    h.add_argument("--device", default="cuda", help="CUDA device (default cuda, i.e. the first visible GPU)")
    h.add_argument("--log-every", type=int, default=0, help="progress line every N steps (default: about 100 lines per run)")
    h.add_argument("--dry-run", action="store_true", help="check options, dataset, base and output, then exit; no torch, no GPU")
    return p


def check_options(a) -> None:
    """Every option, before anything is loaded; UsageError names the first bad one."""
    if not 1 <= a.rank <= MAX_RANK:
        raise UsageError(f"--rank must be 1 to {MAX_RANK} (got {a.rank})")
    if not (math.isfinite(a.alpha) and 0 < a.alpha <= 4096):
        raise UsageError(f"--alpha must be a positive number (got {a.alpha})")
    if not (math.isfinite(a.learning_rate) and 0 < a.learning_rate <= 1e-2):
        raise UsageError(f"--learning-rate must be above 0 and at most 1e-2 (got {a.learning_rate})")
    if a.lr_scheduler not in SCHEDULERS:
        raise UsageError(f"--lr-scheduler must be one of {', '.join(SCHEDULERS)} (got {a.lr_scheduler!r})")
    if a.resolution % 8 or not 256 <= a.resolution <= 1024:
        raise UsageError(f"--resolution must be a multiple of 8 from 256 to 1024 (got {a.resolution})")
    if not 0 <= a.seed <= 2**32 - 1:
        raise UsageError(f"--seed must be 0 to 4294967295 (got {a.seed})")
    if not 1 <= a.steps <= 100_000:
        raise UsageError(f"--steps must be 1 to 100000 (got {a.steps})")
    if not 1 <= a.max_steps <= 100_000 or not 1 <= a.epochs <= 10_000:
        raise UsageError("--max-steps must be 1 to 100000 and --epochs 1 to 10000")
    a.min_free_vram_gb = min_free_gb(a.min_free_vram_gb, a.gradient_checkpointing)
    if not a.min_free_vram_gb >= 0:
        raise UsageError("--min-free-vram-gb must be 0 or more")
    if a.log_every < 0:
        raise UsageError("--log-every must be 0 (automatic) or more")
    if not a.device.startswith("cuda"):
        raise UsageError(f"--device must be a CUDA device such as cuda or cuda:1 (got {a.device!r}); training needs a GPU")
    out = Path(a.output)
    if out.suffix != ".safetensors":
        raise UsageError(f"--output must end in .safetensors (got {out.name})")
    if out.is_dir():
        raise UsageError(f"--output {out} is a folder")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"the folder of --output ({parent}) does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"the folder of --output ({parent}) is not writable")
    if not a.base:
        raise UsageError("--base is required: the SD 1.5 model to train on (diffusers folder or .safetensors)")
    inspect_base(Path(a.base))
    if a.config and not (Path(a.config) / "model_index.json").is_file():
        raise UsageError(f"--config {a.config} is not a diffusers folder (no model_index.json)")
    if a.init_lora:
        init = Path(a.init_lora)
        if not init.is_file():
            raise UsageError(f"--init-lora {init} does not exist")
        if init.suffix not in (".safetensors", ".bin"):
            raise UsageError("--init-lora must be a .safetensors or .bin file")


def plan(a) -> tuple[Dataset, StepPlan]:
    check_options(a)
    data = load_dataset(a.dataset, trigger=a.trigger, resolution=a.resolution)
    for w in data.warnings:
        warn(w)
    steps = steps_for(len(data.samples), policy=a.step_policy, given=a.steps, epochs=a.epochs, max_steps=a.max_steps)
    return data, steps


def main(argv: Sequence[str]) -> int:
    a = build_parser().parse_args(argv)
    data, steps = plan(a)
    info(f"dataset: {len(data.samples)} photos from {data.metadata}")
    info(f"steps: {steps.reason}")
    info(
        f"settings: rank {a.rank}, alpha {a.alpha:g}, lr {a.learning_rate:g} {a.lr_scheduler} without warm-up, "
        f"AdamW weight decay 1e-2, gradient clip 1.0, {a.resolution} px, batch 1, seed {a.seed}, random flip"
    )
    if a.dry_run:
        info("dry run: options, dataset, base model and output folder are fine; nothing was trained")
        return 0
    # Before the libraries load: hub download bars would print "N/M" the worker reads as progress.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    require_packages("training", ("torch", "diffusers", "transformers", "peft", "numpy", "PIL", "safetensors"))
    from facechain_gpu.torch_train import train

    train(a, data, steps)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
