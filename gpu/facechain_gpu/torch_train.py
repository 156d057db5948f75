"""The training run of gpu/train.py (needs torch, diffusers, transformers, peft; a CUDA GPU).

FaceChain's face-LoRA recipe on diffusers + PEFT: LoRA (rank 4, alpha 32, Gaussian init) on the
UNet attention projections only (to_q, to_k, to_v, to_out.0 of attn1 and attn2), frozen text
encoder and VAE, epsilon (or v) MSE loss at a uniformly drawn timestep, AdamW (weight decay 1e-2)
at 1.5e-4 with a cosine schedule and no warm-up, gradient clip 1.0, batch 1, seed 42, random
horizontal flip.

Two things differ from FaceChain's script in how, not what: the captions are encoded once (the
text encoder is frozen, so every step would get the same states) and each photo and its mirror
image are VAE-encoded once, keeping the latent distribution's mean and deviation; each step then
draws latents from it exactly as vae.encode(x).latent_dist.sample() would. The text encoder and
the VAE then leave the GPU, which lowers the memory training needs.
"""

from __future__ import annotations

import math
import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .cli import EnvironmentProblem, UsageError, info, warn
from .dataset import Dataset
from .lora_format import (
    ATTENTION_TARGETS,
    RawTensor,
    init_scale,
    kohya_from_peft,
    lora_metadata,
    parse_lora_key,
    peft_param_module,
    write_safetensors,
)
from .schedule import StepPlan, log_every, lr_factor, progress_line
from .vram import GIB, vram_problem


def _device(a) -> torch.device:
    if not torch.cuda.is_available():
        raise EnvironmentProblem(
            "PyTorch sees no CUDA GPU (CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); training needs one. Check the driver "
            "with nvidia-smi and that torch was installed with CUDA (python3 -c 'import torch; print(torch.version.cuda)')."
        )
    device = torch.device(a.device)
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise EnvironmentProblem(f"--device {a.device}: only {torch.cuda.device_count()} GPU(s) are visible")
    device = torch.device("cuda", index)
    free, total = torch.cuda.mem_get_info(device)
    problem = vram_problem(
        free, total, a.min_free_vram_gb, torch.cuda.get_device_name(device), index, a.gradient_checkpointing
    )
    if problem:
        raise EnvironmentProblem(problem)
    info(f"GPU {index}: {torch.cuda.get_device_name(device)}, {free / GIB:.1f} GB free of {total / GIB:.1f} GB")
    return device


def _quiet_libraries() -> None:
    """No loading progress bars: the worker would read their "6/6" as training progress."""
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog

    dlog.disable_progress_bar()
    tlog.disable_progress_bar()


def _load(a):
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    _quiet_libraries()

    base = Path(a.base)
    if base.is_dir():
        tokenizer = CLIPTokenizer.from_pretrained(base, subfolder="tokenizer")
        text_encoder = CLIPTextModel.from_pretrained(base, subfolder="text_encoder")
        vae = AutoencoderKL.from_pretrained(base, subfolder="vae")
        unet = UNet2DConditionModel.from_pretrained(base, subfolder="unet")
        noise_scheduler = DDPMScheduler.from_pretrained(base, subfolder="scheduler")
    else:
        kwargs = {"safety_checker": None}
        if a.config:
            kwargs["config"] = a.config
        pipe = StableDiffusionPipeline.from_single_file(str(base), **kwargs)
        tokenizer, text_encoder, vae, unet = pipe.tokenizer, pipe.text_encoder, pipe.vae, pipe.unet
        noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        del pipe
    return tokenizer, text_encoder, vae, unet, noise_scheduler


def _pixels(path: Path, size: int, flip: bool) -> torch.Tensor:
    """[1, 3, size, size] in [-1, 1]: shorter side resized to `size`, centre crop, optional mirror."""
    with Image.open(path) as im:
        img = im.convert("RGB")
    w, h = img.size
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    img = img.crop((left, top, left + size, top + size))
    if flip:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    arr = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


@torch.no_grad()
def _encode_dataset(data: Dataset, tokenizer, text_encoder, vae, device, dtype, size: int):
    ids = tokenizer(
        [s.caption for s in data.samples],
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids
    text_encoder.to(device, dtype=dtype)
    states = torch.cat([text_encoder(ids[i : i + 1].to(device)).last_hidden_state for i in range(len(ids))]).to(dtype)
    vae.to(device, dtype=dtype)
    stats = []
    for s in data.samples:
        pair = []
        for flip in (False, True):
            dist = vae.encode(_pixels(s.path, size, flip).to(device, dtype=dtype)).latent_dist
            pair.append((dist.mean.float(), dist.std.float()))
        stats.append(pair)
    return states, stats


def _init_from(unet, path: Path, alpha: float, rank: int) -> None:
    """Copy an existing LoRA's matrices into the new adapter (layers matched by module path), its
    up matrices rescaled so the adapter starts with the same weight change (init_scale)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        tensors = load_file(str(path))
    else:
        tensors = torch.load(str(path), map_location="cpu", weights_only=True)
    params = {}
    for name, p in unet.named_parameters():
        pm = peft_param_module(name)
        if pm:
            params[(pm[0].replace(".", "_"), pm[1])] = (name, p)
    alphas = {}
    for key, value in tensors.items():
        k = parse_lora_key(key)
        if k and k.part == "alpha" and k.component == "unet":
            alphas[k.flat] = float(value.reshape(-1)[0])
    copied, skipped = 0, []
    for key, value in tensors.items():
        k = parse_lora_key(key)
        if not k or k.part == "alpha" or k.component != "unet":
            continue
        if k.part == "up":
            value = value.float() * init_scale(alphas.get(k.flat), value.shape[1], alpha, rank)
        target = params.get((k.flat, k.part))
        if not target or tuple(target[1].shape) != tuple(value.shape):
            skipped.append(key)
            continue
        with torch.no_grad():
            target[1].copy_(value.to(target[1].dtype))
        copied += 1
    if copied == 0:
        raise UsageError(
            f"--init-lora {path.name}: none of its layers fits this adapter (rank {next(iter(params.values()))[1].shape[0]}, "
            "UNet attention only); it must have the same rank"
        )
    if skipped:
        warn(f"--init-lora: {len(skipped)} tensors did not fit and were left at their initial values (first: {skipped[0]})")
    info(f"started from {path.name}: {copied} matrices copied")


def _lora_file(unet, a) -> dict[str, RawTensor]:
    from peft.utils import get_peft_model_state_dict

    def raw(t: torch.Tensor) -> RawTensor:
        arr = t.detach().to("cpu", torch.float32).contiguous().numpy()
        return RawTensor("F32", tuple(arr.shape), arr.astype("<f4").tobytes())

    return kohya_from_peft({k: raw(v) for k, v in get_peft_model_state_dict(unet).items()}, a.alpha)


def train(a, data: Dataset, plan: StepPlan) -> None:
    # The worker stops a cancelled run with SIGTERM: unwind so no partial output stays behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t_start = time.time()
    device = _device(a)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "no": torch.float32}[a.mixed_precision]
    random.seed(a.seed)
    np.random.seed(a.seed % 2**32)
    torch.manual_seed(a.seed)

    tokenizer, text_encoder, vae, unet, noise_scheduler = _load(a)
    info(f"loaded the base model in {time.time() - t_start:.1f} s")
    t0 = time.time()
    states, stats = _encode_dataset(data, tokenizer, text_encoder, vae, device, dtype, a.resolution)
    scaling = float(vae.config.scaling_factor)
    del text_encoder, vae
    torch.cuda.empty_cache()
    info(f"encoded {len(data.samples)} captions and {2 * len(data.samples)} images (with mirror images) in {time.time() - t0:.1f} s")

    from peft import LoraConfig

    unet.requires_grad_(False)
    unet.to(device, dtype=dtype)
    unet.add_adapter(
        LoraConfig(
            r=a.rank,
            lora_alpha=int(a.alpha) if float(a.alpha).is_integer() else a.alpha,
            init_lora_weights="gaussian",
            target_modules=list(ATTENTION_TARGETS),
        )
    )
    # Trainable LoRA weights stay in fp32 (updates of 1e-4 vanish in fp16); the frozen UNet is fp16.
    params = [p for p in unet.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.float()
    if a.init_lora:
        _init_from(unet, Path(a.init_lora), a.alpha, a.rank)
    if a.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    info(f"LoRA: {sum(p.numel() for p in params)} trainable values in {len(params) // 2} attention projections")

    optimizer = torch.optim.AdamW(params, lr=a.learning_rate, betas=(0.9, 0.999), weight_decay=1e-2, eps=1e-8)
    total = plan.steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, a.lr_scheduler))
    scaler = torch.amp.GradScaler("cuda", enabled=a.mixed_precision == "fp16")
    gen = torch.Generator(device=device).manual_seed(a.seed)
    order_rng = random.Random(a.seed)
    prediction = noise_scheduler.config.prediction_type
    timesteps = noise_scheduler.config.num_train_timesteps
    every = a.log_every or log_every(total)

    torch.cuda.reset_peak_memory_stats(device)
    print(progress_line(0, total, float("nan"), a.learning_rate), flush=True)
    order: list[int] = []
    bad = 0
    t_train = time.time()
    for step in range(1, total + 1):
        if not order:
            order = list(range(len(data.samples)))
            order_rng.shuffle(order)
        i = order.pop()
        mean, std = stats[i][1 if order_rng.random() < 0.5 else 0]
        latents = (mean + std * torch.randn(mean.shape, generator=gen, device=device)) * scaling
        noise = torch.randn(latents.shape, generator=gen, device=device)
        t = torch.randint(0, timesteps, (1,), generator=gen, device=device)
        noisy = noise_scheduler.add_noise(latents, noise, t)
        target = noise if prediction == "epsilon" else noise_scheduler.get_velocity(latents, noise, t)
        with torch.autocast("cuda", dtype=dtype, enabled=a.mixed_precision != "no"):
            pred = unet(noisy.to(dtype), t, states[i : i + 1]).sample
        loss = F.mse_loss(pred.float(), target.float())
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        value = loss.item()
        bad = bad + 1 if not math.isfinite(value) else 0
        if bad > 20:
            raise RuntimeError("the loss has been NaN or infinite for 20 steps: training diverged (try --mixed-precision bf16)")
        if step % every == 0 or step == total:
            its = step / max(time.time() - t_train, 1e-9)
            print(progress_line(step, total, value, scheduler.get_last_lr()[0], its), flush=True)

    seconds = time.time() - t_train
    peak = torch.cuda.max_memory_allocated(device) / GIB
    tensors = _lora_file(unet, a)
    out = Path(a.output)
    tmp = out.with_name(out.name + ".part")
    try:
        size = write_safetensors(
            str(tmp), tensors, lora_metadata(a.rank, a.alpha, Path(a.base).name, total, len(data.samples))
        )
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    info(
        f"trained {total} steps in {seconds:.0f} s ({total / max(seconds, 1e-9):.2f} it/s), peak GPU memory "
        f"{peak:.1f} GB; wrote {out} ({size} bytes, {len(tensors) // 3} layers, rank {a.rank}, alpha {a.alpha:g}); "
        f"total {time.time() - t_start:.0f} s"
    )
