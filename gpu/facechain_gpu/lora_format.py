"""LoRA tensor names and the .safetensors file the trainer writes.

The output uses kohya's spelling (what A1111, ComfyUI and civitai use, and one of the formats
core/lora/keys.ts reads) with a per-layer `.alpha` tensor, so the merge scale alpha/rank the
LoRA was trained with travels inside the file:

    lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight  [r, in]
    lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight    [out, r]
    lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha             []

parse_lora_key() reads the same three spellings as core/lora/keys.ts (kohya, PEFT/diffusers,
FaceChain's attention-processor .bin), so an initial LoRA in any of them can seed training.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import Iterable, Mapping

SAFETENSORS_DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

_PEFT_PREFIXES = ("base_model.model.", "unet.")


@dataclass(frozen=True)
class LoraKey:
    component: str  # 'unet' | 'text_encoder' | 'text_encoder_2'
    flat: str  # module path with dots as underscores
    part: str  # 'down' | 'up' | 'alpha'


def _strip_prefix(path: str) -> tuple[str, str]:
    p = path
    if p.startswith("base_model.model."):
        p = p[len("base_model.model.") :]
    for comp in ("unet", "text_encoder_2", "text_encoder"):
        if p.startswith(comp + "."):
            return comp, p[len(comp) + 1 :]
    return ("text_encoder" if p.startswith("text_model.") else "unet"), p


_KOHYA = re.compile(r"^lora_(unet|te|te1|te2)_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$")
_ATTN = re.compile(r"^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$")
_PEFT = re.compile(r"^(.+)\.(lora_A|lora_B)(?:\.[A-Za-z0-9_-]+)?\.weight$")
_PEFT_OLD = re.compile(r"^(.+)\.lora\.(down|up)\.weight$")
_KOHYA_COMPONENTS = {"unet": "unet", "te": "text_encoder", "te1": "text_encoder", "te2": "text_encoder_2"}


def parse_lora_key(key: str) -> LoraKey | None:
    """The layer a LoRA tensor belongs to, or None for keys that are not LoRA down/up/alpha."""
    m = _KOHYA.match(key)
    if m:
        part = "alpha" if m.group(3) == "alpha" else ("down" if m.group(3).startswith("lora_down") else "up")
        return LoraKey(_KOHYA_COMPONENTS[m.group(1)], m.group(2), part)
    m = _ATTN.match(key)
    if m:
        layer = "to_out.0" if m.group(2) == "to_out" else m.group(2)
        comp, rest = _strip_prefix(f"{m.group(1)}.{layer}")
        return LoraKey(comp, rest.replace(".", "_"), m.group(3))
    m = _PEFT.match(key) or _PEFT_OLD.match(key)
    if m:
        comp, rest = _strip_prefix(m.group(1))
        part = "down" if m.group(2) in ("lora_A", "down") else "up"
        return LoraKey(comp, rest.replace(".", "_"), part)
    if key.endswith(".alpha") and not key.startswith("lora_"):
        comp, rest = _strip_prefix(key[: -len(".alpha")].removesuffix(".lora"))
        return LoraKey(comp, rest.replace(".", "_"), "alpha")
    return None


def init_scale(source_alpha: float | None, source_rank: int, alpha: float, rank: int) -> float:
    """Factor for an --init-lora layer's up matrix so that the new adapter starts with the same
    weight change: the source merges at source_alpha / source_rank (1 without an alpha, as
    FaceChain's diffusers-format LoRAs), the adapter trains at alpha / rank."""
    source = source_alpha / source_rank if source_alpha else 1.0
    return source / (alpha / rank)


def kohya_name(component: str, module: str, part: str) -> str:
    """kohya key of a module path (dots allowed): kohya_name('unet', 'a.b.to_q', 'down')."""
    prefix = {"unet": "lora_unet", "text_encoder": "lora_te", "text_encoder_2": "lora_te2"}[component]
    suffix = {"down": "lora_down.weight", "up": "lora_up.weight", "alpha": "alpha"}[part]
    return f"{prefix}_{module.replace('.', '_')}.{suffix}"


def peft_param_module(name: str) -> tuple[str, str] | None:
    """(module path, 'down'|'up') of a PEFT LoRA parameter or state-dict key, else None.

    Model parameters read `…attn1.to_q.lora_A.default.weight`; get_peft_model_state_dict drops
    the adapter name (`…attn1.to_q.lora_A.weight`).
    """
    m = re.match(r"^(.+)\.(lora_A|lora_B)(?:\.[A-Za-z0-9_-]+)?\.weight$", name)
    if not m:
        return None
    module = m.group(1)
    for p in _PEFT_PREFIXES:
        if module.startswith(p):
            module = module[len(p) :]
    return module, ("down" if m.group(2) == "lora_A" else "up")


# The modules FaceChain's face LoRA adapts: every UNet attention projection (attn1 and attn2).
ATTENTION_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


def is_attention_projection(module: str) -> bool:
    return any(module.endswith("." + t) for t in ATTENTION_TARGETS) and ".attn" in module


@dataclass(frozen=True)
class RawTensor:
    dtype: str  # safetensors dtype, e.g. 'F32'
    shape: tuple[int, ...]
    data: bytes


def write_safetensors(path: str, tensors: Mapping[str, RawTensor], metadata: Mapping[str, str] | None = None) -> int:
    """Write a .safetensors file (tensors in name order, header padded to 8 bytes). Returns its size."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    order = sorted(tensors)
    for name in order:
        t = tensors[name]
        if t.dtype not in SAFETENSORS_DTYPES:
            raise ValueError(f"unsupported dtype {t.dtype} for {name}")
        count = 1
        for d in t.shape:
            count *= d
        if count * SAFETENSORS_DTYPES[t.dtype] != len(t.data):
            raise ValueError(f"{name}: {len(t.data)} bytes do not fit {t.dtype} {list(t.shape)}")
        header[name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(t.data)]}
        offset += len(t.data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name in order:
            f.write(tensors[name].data)
    return 8 + len(raw) + offset


def read_safetensors_header(path: str, max_header: int = 100 * 1024 * 1024) -> dict:
    """The JSON header of a .safetensors file (tensor names, dtypes, shapes), without the data."""
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise ValueError("shorter than the 8-byte header length")
        (n,) = struct.unpack("<Q", prefix)
        if n > max_header:
            raise ValueError(f"header of {n} bytes is over the {max_header}-byte limit")
        raw = f.read(n)
        if len(raw) < n:
            raise ValueError("the header is cut short")
    header = json.loads(raw.decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header


def kohya_tensors(
    layers: Iterable[tuple[str, RawTensor, RawTensor]], alpha: float
) -> dict[str, RawTensor]:
    """kohya tensors for (module path, down [r, in], up [out, r]) triples, each with its alpha."""
    out: dict[str, RawTensor] = {}
    alpha_bytes = struct.pack("<f", float(alpha))
    for module, down, up in layers:
        if len(down.shape) != 2 or len(up.shape) != 2 or down.shape[0] != up.shape[1]:
            raise ValueError(f"{module}: down {list(down.shape)} and up {list(up.shape)} are not a LoRA pair")
        out[kohya_name("unet", module, "down")] = down
        out[kohya_name("unet", module, "up")] = up
        out[kohya_name("unet", module, "alpha")] = RawTensor("F32", (), alpha_bytes)
    return out


def lora_metadata(rank: int, alpha: float, base: str, steps: int, photos: int) -> dict[str, str]:
    """kohya-style metadata (read by A1111 and by core/lora's ss_network_alpha fallback)."""
    return {
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(rank),
        "ss_network_alpha": f"{alpha:g}",
        "ss_base_model_version": "sd_v1",
        "ss_training_comment": f"facechain-bot gpu/train.py: face LoRA, {steps} steps on {photos} photos",
        "facechain_base": base,
    }


def kohya_from_peft(state: Mapping[str, RawTensor], alpha: float) -> dict[str, RawTensor]:
    """The trainer's output from PEFT's adapter state dict (get_peft_model_state_dict keys such as
    `down_blocks.0…attn1.to_q.lora_A.weight`): every layer must be a UNet attention projection
    with both matrices."""
    pairs: dict[str, dict[str, RawTensor]] = {}
    for key, value in state.items():
        pm = peft_param_module(key)
        if not pm:
            raise ValueError(f"unexpected adapter tensor {key}")
        module, part = pm
        if not is_attention_projection(module):
            raise ValueError(f"adapter tensor {key} is not a UNet attention projection")
        pairs.setdefault(module, {})[part] = value
    layers = []
    for module in sorted(pairs):
        p = pairs[module]
        if "down" not in p or "up" not in p:
            raise ValueError(f"adapter layer {module} lacks its {'up' if 'down' in p else 'down'} matrix")
        layers.append((module, p["down"], p["up"]))
    return kohya_tensors(layers, alpha)
