"""Shared set-up of the GPU-script unit tests (python3 -m unittest discover -s test/gpu).

They test the parts of gpu/export.py and gpu/train.py that run without torch: the tests build
small stand-ins for the outside inputs (datasets, diffusers config folders, checkpoint headers,
ONNX protobufs) byte by byte and run the project's real code on them.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GPU = REPO / "gpu"
FACES = REPO / "test" / "fixtures" / "faces"
if str(GPU) not in sys.path:
    sys.path.insert(0, str(GPU))

from facechain_gpu.lora_format import RawTensor, write_safetensors  # noqa: E402


def png(path: Path, width: int, height: int) -> Path:
    """A valid grey PNG of the given size."""
    row = b"\x00" + b"\x80" * (width * 3)
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


def dataset(root: Path, captions: list[str], size: int = 512, layout: str = "prepare") -> Path:
    """A training set in `facechain prepare`'s layout (images/ + metadata.jsonl twice) or a plain folder."""
    lines = []
    for i, text in enumerate(captions):
        name = f"{i}.png"
        png((root / "images" / name) if layout == "prepare" else (root / name), size, size)
        lines.append(json.dumps({"file_name": name, "text": text}))
    body = "\n".join(lines) + "\n"
    root.mkdir(parents=True, exist_ok=True)
    (root / "metadata.jsonl").write_text(body, encoding="utf-8")
    if layout == "prepare":
        (root / "images" / "metadata.jsonl").write_text(body, encoding="utf-8")
    return root


def diffusers_folder(root: Path, cross_attention_dim: int = 768, in_channels: int = 4, prediction: str = "epsilon") -> Path:
    """The config files of a diffusers SD folder (what export/train check before loading weights)."""
    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (root / "unet" / "config.json").write_text(
        json.dumps({"cross_attention_dim": cross_attention_dim, "in_channels": in_channels, "block_out_channels": [320, 640, 1280, 1280]})
    )
    (root / "scheduler" / "scheduler_config.json").write_text(
        json.dumps({"_class_name": "PNDMScheduler", "prediction_type": prediction, "steps_offset": 1})
    )
    return root


def checkpoint(path: Path, context: int = 768, in_channels: int = 4, extra: dict | None = None) -> Path:
    """A single-file LDM checkpoint with the two tensors export/train inspect (zeros, F16)."""
    def zeros(*shape):
        n = 1
        for d in shape:
            n *= d
        return RawTensor("F16", shape, bytes(2 * n))

    tensors = {
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": zeros(320, context),
        "model.diffusion_model.input_blocks.0.0.weight": zeros(320, in_channels, 3, 3),
    }
    tensors.update(extra or {})
    write_safetensors(str(path), tensors)
    return path


# --- a minimal protobuf writer, to build ONNX files the reader must understand -----------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number: int, value) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def value_info(name: str, elem: int, dims: list) -> bytes:
    shape = b"".join(field(1, field(1, d) if isinstance(d, int) else field(2, d)) for d in dims)
    tensor_type = field(1, elem) + field(2, shape)
    return field(1, name) + field(2, field(1, tensor_type))


def initializer(name: str, raw: bytes = b"", location: str | None = None) -> bytes:
    body = field(1, 4) + field(2, 1) + field(8, name)
    if location:
        body += field(13, field(1, "location") + field(2, location)) + field(14, 1)
    else:
        body += field(9, raw)
    return body


def onnx_model(path: Path, inputs: list[bytes], outputs: list[bytes], inits: list[bytes] = (), extra_inputs: list[bytes] = ()) -> Path:
    graph = b"".join(field(5, i) for i in inits) + field(2, "g")
    graph += b"".join(field(11, i) for i in [*inputs, *extra_inputs]) + b"".join(field(12, o) for o in outputs)
    model = field(1, 8) + field(2, "test") + field(7, graph) + field(8, field(2, 17))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model)
    return path


def env_without_torch() -> dict:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
