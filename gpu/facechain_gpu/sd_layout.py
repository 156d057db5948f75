"""The ONNX folder the engine reads (core/diffusion/model-folder.ts) and checks of the PyTorch
sources export.py reads, in plain Python (no torch): what can be known before loading weights.

Folder written by export.py (diffusers' OnnxStableDiffusionPipeline layout):

    model_index.json                     OnnxStableDiffusionPipeline, written here
    scheduler/scheduler_config.json      the checkpoint's scheduler config
    tokenizer/vocab.json, merges.txt     (+ tokenizer_config.json, special_tokens_map.json)
    text_encoder/model.onnx              input_ids int32 [batch, sequence] → last_hidden_state, pooler_output
    unet/model.onnx + weights.pb         sample, timestep [batch], encoder_hidden_states
                                         (+ down_block_additional_residuals_0..11, mid_block_additional_residual)
                                         → out_sample; unet/config.json
    vae_encoder/model.onnx               sample → latent_parameters (mean and log-variance)
    vae_decoder/model.onnx + config.json latent_sample → sample
    controlnet-<name>/model.onnx         sample, timestep, encoder_hidden_states, controlnet_cond,
                                         conditioning_scale → down_block_res_samples_0..11, mid_block_res_sample
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Mapping, Sequence

from .cli import UsageError
from .lora_format import read_safetensors_header

SD15_CONTEXT = 768
UNET_INPUTS = ("sample", "timestep", "encoder_hidden_states")
CONTROLNET_INPUTS = ("sample", "timestep", "encoder_hidden_states", "controlnet_cond", "conditioning_scale")
CONTROLNETS = ("openpose", "canny")


def residual_names(count: int) -> list[str]:
    """The control-capable UNet's extra inputs (core/diffusion/unet.ts finds them by 'residual')."""
    return [f"down_block_additional_residuals_{i}" for i in range(count)] + ["mid_block_additional_residual"]


def controlnet_output_names(count: int) -> list[str]:
    return [f"down_block_res_samples_{i}" for i in range(count)] + ["mid_block_res_sample"]


def residual_shapes(
    block_out_channels: Sequence[int], layers_per_block: int, height: int, width: int
) -> list[tuple[int, int, int]]:
    """(channels, h, w) of a UNet's down-block residuals in order, then the mid block's.

    diffusers collects conv_in's output, then each resnet's output per down block and the
    downsampler's output after every block but the last (stride-2 convolutions round up).
    SD 1.5 ((320, 640, 1280, 1280), 2 layers): 12 down residuals at levels 0,0,0,1,1,1,2,2,2,3,3,3.
    """
    out: list[tuple[int, int, int]] = []
    h, w = height, width
    out.append((block_out_channels[0], h, w))
    for i, c in enumerate(block_out_channels):
        for _ in range(layers_per_block):
            out.append((c, h, w))
        if i < len(block_out_channels) - 1:
            h, w = (h + 1) // 2, (w + 1) // 2
            out.append((c, h, w))
    out.append((block_out_channels[-1], h, w))
    return out


def model_index(scheduler_class: str, has_vae_encoder: bool, diffusers_version: str) -> dict:
    """model_index.json of an OnnxStableDiffusionPipeline folder."""
    index = {
        "_class_name": "OnnxStableDiffusionPipeline",
        "_diffusers_version": diffusers_version,
        "feature_extractor": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", scheduler_class],
        "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
    }
    if has_vae_encoder:
        index["vae_encoder"] = ["diffusers", "OnnxRuntimeModel"]
    return index


def bpe_files_from_tokenizer_json(tok: Mapping) -> tuple[dict[str, int], str]:
    """vocab.json and merges.txt contents from a tokenizers-library tokenizer.json.

    transformers >= 5 saves only tokenizer.json; the engine reads vocab.json + merges.txt.
    Merges are stored as "a b" strings (older files) or ["a", "b"] pairs (newer ones).
    """
    model = tok.get("model")
    if not isinstance(model, dict) or model.get("type") != "BPE":
        raise UsageError("tokenizer.json does not hold a BPE model (CLIP's tokenizer is BPE)")
    vocab = model.get("vocab")
    merges = model.get("merges")
    if not isinstance(vocab, dict) or not isinstance(merges, list):
        raise UsageError("tokenizer.json has no BPE vocab and merges")
    lines = ["#version: 0.2"]
    for m in merges:
        if isinstance(m, str):
            pair = m.split(" ")
        elif isinstance(m, list):
            pair = m
        else:
            pair = []
        if len(pair) != 2 or not all(isinstance(p, str) and p and " " not in p for p in pair):
            raise UsageError(f"tokenizer.json has a merge that is not two symbols: {m!r}")
        lines.append(f"{pair[0]} {pair[1]}")
    clean = {}
    for k, v in vocab.items():
        if not isinstance(k, str) or not isinstance(v, int):
            raise UsageError("tokenizer.json's vocab must map strings to ids")
        clean[k] = v
    return clean, "\n".join(lines) + "\n"


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise UsageError(f"{what}: {path} is missing") from e
    except (OSError, ValueError) as e:
        raise UsageError(f"{what}: {path} is not readable JSON ({e})") from e
    if not isinstance(data, dict):
        raise UsageError(f"{what}: {path} is not a JSON object")
    return data


def _check_context(dim: object, what: str) -> None:
    if dim != SD15_CONTEXT:
        raise UsageError(
            f"{what} has cross-attention width {dim}, not {SD15_CONTEXT}: it is not a Stable Diffusion 1.x model "
            "(SD 2.x uses 1024, SDXL 2048); the engine and FaceChain's LoRAs are SD 1.5"
        )


def inspect_diffusers_folder(folder: Path) -> dict:
    """Check a diffusers SD 1.5 folder; returns {'in_channels', 'scheduler'}."""
    if not (folder / "model_index.json").is_file():
        raise UsageError(f"{folder} has no model_index.json: not a diffusers model folder")
    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        if not (folder / sub).is_dir():
            raise UsageError(f"{folder} has no {sub}/ folder; export needs a complete diffusers Stable Diffusion folder")
    unet = _read_json(folder / "unet" / "config.json", "UNet config")
    _check_context(unet.get("cross_attention_dim"), f"{folder.name}'s UNet")
    in_ch = unet.get("in_channels")
    if in_ch not in (4, 9):
        raise UsageError(f"{folder.name}'s UNet has {in_ch} input channels; SD 1.5 has 4 (or 9 for inpainting)")
    sched = _read_json(folder / "scheduler" / "scheduler_config.json", "scheduler config")
    check_scheduler(sched, folder.name)
    return {"in_channels": in_ch, "scheduler": sched.get("_class_name", "PNDMScheduler")}


def check_scheduler(sched: Mapping, what: str) -> None:
    prediction = sched.get("prediction_type", "epsilon")
    if prediction != "epsilon":
        raise UsageError(
            f"{what} predicts {prediction!r}; the engine runs epsilon-prediction models (SD 1.x) only"
        )


def inspect_single_file(path: Path) -> dict:
    """Check a single-file checkpoint (.safetensors) from its header; returns {'in_channels', 'layout'}."""
    if path.suffix.lower() != ".safetensors":
        raise UsageError(
            f"{path.name}: single-file checkpoints must be .safetensors (.ckpt/.pt files are pickles that can run code)"
        )
    try:
        header = read_safetensors_header(str(path))
    except (OSError, ValueError) as e:
        raise UsageError(f"{path.name} is not a readable .safetensors file ({e})") from e
    keys = [k for k in header if k != "__metadata__"]
    if any(k.startswith("conditioner.") for k in keys):
        raise UsageError(f"{path.name} is an SDXL checkpoint; FaceChain's bases and this engine are SD 1.5")
    ldm = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
    conv = "model.diffusion_model.input_blocks.0.0.weight"
    if ldm in header and conv in header:
        _check_context(header[ldm]["shape"][-1], path.name)
        return {"in_channels": header[conv]["shape"][1], "layout": "ldm"}
    dif = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"
    if dif in header and "conv_in.weight" in header:
        _check_context(header[dif]["shape"][-1], path.name)
        return {"in_channels": header["conv_in.weight"]["shape"][1], "layout": "diffusers-unet"}
    raise UsageError(f"{path.name} does not look like a Stable Diffusion 1.x checkpoint (no UNet attention weights found)")


def inspect_base(path: Path) -> dict:
    if not path.exists():
        raise UsageError(f"base model {path} does not exist")
    return inspect_diffusers_folder(path) if path.is_dir() else inspect_single_file(path)


def inspect_controlnet(path: Path, name: str) -> None:
    if not path.exists():
        raise UsageError(f"--controlnet-{name} {path} does not exist")
    if path.is_dir():
        cfg = _read_json(path / "config.json", f"ControlNet {name}")
        _check_context(cfg.get("cross_attention_dim"), f"ControlNet {name}")
        if not any((path / f).is_file() for f in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors")):
            raise UsageError(f"ControlNet {name} folder {path} has no diffusion_pytorch_model.safetensors")
        return
    if path.suffix.lower() != ".safetensors":
        raise UsageError(f"ControlNet {name}: {path.name} must be a diffusers folder or a .safetensors file")
    try:
        header = read_safetensors_header(str(path))
    except (OSError, ValueError) as e:
        raise UsageError(f"ControlNet {name}: {path.name} is not a readable .safetensors file ({e})") from e
    if not any(k.startswith(("control_model.", "controlnet_cond_embedding.")) for k in header):
        raise UsageError(f"{path.name} does not look like a ControlNet (no control_model./controlnet_cond_embedding. weights)")


FACT_FILES = ("face_adapter/vit.py", "face_adapter/face_adapter_v1.py", "face_adapter/face_attention_processor_v1.py")


def check_fact_repo(repo: Path) -> None:
    missing = [f for f in FACT_FILES if not (repo / f).is_file()]
    if missing:
        raise UsageError(
            f"--fact-repo {repo} is not a FaceChain checkout with FACT (missing {', '.join(missing)}); "
            "clone FaceChain's repository (main branch) and pass its folder"
        )


def load_definitions(source_file: Path, names: Sequence[str], namespace: dict) -> dict:
    """Run only the named top-level classes/functions of a Python file in `namespace`.

    FACT's projector lives in face_adapter_v1.py, whose imports (modelscope, OpenCV) are needed
    only by its preprocessing; taking just the definitions avoids installing them for an export.
    """
    tree = ast.parse(source_file.read_text(encoding="utf-8"), filename=str(source_file))
    wanted = [n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name in names]
    found = {n.name for n in wanted}
    missing = [n for n in names if n not in found]
    if missing:
        raise UsageError(f"{source_file} has no {', '.join(missing)} (a different FaceChain version?)")
    module = ast.Module(body=wanted, type_ignores=[])
    exec(compile(module, str(source_file), "exec"), namespace)  # noqa: S102 - the operator's own checkout
    return {n: namespace[n] for n in names}
