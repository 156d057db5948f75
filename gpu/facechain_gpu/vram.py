"""The GPU memory check made before training starts (FaceChain refuses to train unless an 18 GB
test tensor fits; here the free memory reported by CUDA is compared with what training needs)."""

from __future__ import annotations

GIB = 1024**3

# Not measured on a GPU here: SD 1.5 UNet in fp16 (1.7 GB), LoRA weights and AdamW state (a few
# MB), activations of one 512 px step kept for the backward pass (several GB without gradient
# checkpointing). The text encoder and VAE run once before training and are then freed.
DEFAULT_MIN_FREE_GB = 10.0
# With gradient checkpointing the step's activations are recomputed in the backward pass instead
# of kept, which is most of the difference (also an estimate, not measured here).
CHECKPOINTING_MIN_FREE_GB = 6.0


def min_free_gb(given: float | None, gradient_checkpointing: bool) -> float:
    """The threshold: the operator's --min-free-vram-gb, else the default for the memory mode."""
    if given is not None:
        return given
    return CHECKPOINTING_MIN_FREE_GB if gradient_checkpointing else DEFAULT_MIN_FREE_GB


def vram_problem(
    free_bytes: int,
    total_bytes: int,
    need_gb: float,
    device_name: str,
    index: int = 0,
    gradient_checkpointing: bool = False,
) -> str | None:
    """A clear message when the GPU has less free memory than training needs, else None."""
    if free_bytes >= need_gb * GIB:
        return None
    # Only advice that changes the outcome: checkpointing lowers the default threshold
    # (min_free_gb), so it is suggested when it is not already on.
    checkpointing = (
        ""
        if gradient_checkpointing
        else f"add --gradient-checkpointing (slower; it needs about {CHECKPOINTING_MIN_FREE_GB:g} GB), "
    )
    return (
        f"GPU {index} ({device_name}) has {free_bytes / GIB:.1f} GB free of {total_bytes / GIB:.1f} GB; "
        f"training needs about {need_gb:g} GB. Stop other work on that GPU, choose another with "
        f"CUDA_VISIBLE_DEVICES, {checkpointing}or lower the requirement with --min-free-vram-gb if "
        "you know it fits."
    )
