"""How long training runs and how the learning rate moves, as FaceChain sets them.

FaceChain trains 200 epochs over the photos that survive its preprocessing (steps = 200 × photos
at batch 1; the min(photos × 200, 800) it computes is never used) with a cosine schedule and no
warm-up. The job layer always passes `--steps` (default 800); by default that number is only a
fallback, see steps_for().
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .cli import UsageError

FACECHAIN_EPOCHS = 200
# FaceChain's UI promises at most 1.5 minutes per photo (200 steps) on an A10, about 2.2 it/s: 3000
# steps (15 photos) is then about 23 minutes, half the worker's default 45-minute deadline
# (FACECHAIN_TRAINER_TIMEOUT_S), leaving room for loading and slower GPUs.
DEFAULT_MAX_STEPS = 3000

SCHEDULERS = ("cosine", "constant", "linear")
POLICIES = ("epochs", "given")


@dataclass(frozen=True)
class StepPlan:
    steps: int
    reason: str


def steps_for(
    photos: int, *, policy: str, given: int, epochs: int = FACECHAIN_EPOCHS, max_steps: int = DEFAULT_MAX_STEPS
) -> StepPlan:
    """Steps to train. 'epochs': epochs × photos, capped at max_steps; 'given': the --steps value."""
    if photos < 1:
        raise UsageError("the dataset has no photos to train on")
    if policy == "given":
        if given < 1:
            raise UsageError(f"--steps must be at least 1 (got {given})")
        return StepPlan(given, f"{given} steps as given (--step-policy given)")
    if policy != "epochs":
        raise UsageError(f"--step-policy must be one of {', '.join(POLICIES)} (got {policy!r})")
    if epochs < 1 or max_steps < 1:
        raise UsageError("--epochs and --max-steps must be at least 1")
    wanted = epochs * photos
    steps = min(wanted, max_steps)
    why = f"{epochs} epochs x {photos} photo{'' if photos == 1 else 's'} = {wanted} steps"
    if steps < wanted:
        why += f", capped at --max-steps {max_steps}"
    return StepPlan(steps, why + " (FaceChain's rule; the job's --steps is not used)")


def lr_factor(step: int, total: int, kind: str) -> float:
    """Multiplier of the base learning rate at optimizer step `step` (0-based) of `total`, no warm-up.

    'cosine' is diffusers' get_cosine_schedule_with_warmup with 0 warm-up steps and half a cycle:
    0.5 × (1 + cos(π × step / total)); 'linear' falls from 1 to 0; 'constant' stays at 1.
    """
    if total < 1:
        raise ValueError("total must be at least 1")
    progress = min(max(step / total, 0.0), 1.0)
    if kind == "cosine":
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
    if kind == "linear":
        return max(0.0, 1.0 - progress)
    if kind == "constant":
        return 1.0
    raise UsageError(f"--lr-scheduler must be one of {', '.join(SCHEDULERS)} (got {kind!r})")


def progress_line(step: int, total: int, loss: float, lr: float, its: float | None = None) -> str:
    """One progress line in the trainer contract's format: the worker maps the last N/M to 5-90 %."""
    line = f"step {step}/{total} loss {loss:.4f} lr {lr:.3e}"
    if its is not None:
        line += f" {its:.2f} it/s"
    return line


# The worker's own reading of a progress line (core/identity/trainer.ts parseProgress).
_WORKER_PROGRESS = re.compile(r"(\d+)\s*/\s*(\d+)")


def worker_progress(line: str) -> float | None:
    """What the worker would read from a line: the last N/M with M > 0 and N <= M, as a fraction."""
    last = None
    for m in _WORKER_PROGRESS.finditer(line):
        n, d = int(m.group(1)), int(m.group(2))
        if d > 0 and n <= d:
            last = n / d
    return last


def log_every(total: int) -> int:
    """Print about 100 progress lines per run (the worker throttles its own updates)."""
    return max(1, total // 100)
