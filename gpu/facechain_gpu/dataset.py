"""The training set the worker hands the trainer, checked before any GPU work.

Layout (written by the train-lora job and by `facechain prepare`, core/identity/prepare.ts):

    DIR/images/0.png, 1.png, ...
    DIR/metadata.jsonl          {"file_name": "0.png", "text": "<fcsks>, a handsome man"} per line,
                                names relative to images/
    DIR/images/metadata.jsonl   the same lines (so images/ is a ready image-folder dataset)

A plain image folder (DIR/metadata.jsonl with the images beside it) is accepted too. Only the
images' headers are read here (no Pillow needed); the trainer decodes them later.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from .cli import UsageError

MAX_IMAGES = 500
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
MIN_SIDE = 64
MAX_SIDE = 8192


@dataclass(frozen=True)
class Sample:
    path: Path
    caption: str
    width: int
    height: int
    kind: str


@dataclass
class Dataset:
    root: Path
    metadata: Path
    samples: list[Sample]
    warnings: list[str] = field(default_factory=list)


def image_size(path: Path) -> tuple[str, int, int]:
    """(kind, width, height) from a PNG or JPEG header; UsageError for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
            if head.startswith(b"\x89PNG\r\n\x1a\n"):
                if len(head) < 24 or head[12:16] != b"IHDR":
                    raise UsageError(f"{path.name} is a damaged PNG (no IHDR header)")
                w, h = struct.unpack(">II", head[16:24])
                return "png", w, h
            if head.startswith(b"\xff\xd8"):
                f.seek(2)
                return ("jpeg", *_jpeg_size(f, path.name))
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from e
    raise UsageError(f"{path.name} is not a PNG or JPEG image")


def _jpeg_size(f, name: str) -> tuple[int, int]:
    # Walk the marker segments up to the first start-of-frame (SOF0-SOF15 except DHT/JPG/DAC).
    for _ in range(10000):
        b = f.read(1)
        while b == b"\xff":
            b = f.read(1)
        if not b:
            break
        marker = b[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue  # markers without a length
        raw = f.read(2)
        if len(raw) < 2:
            break
        (length,) = struct.unpack(">H", raw)
        if length < 2:
            break
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            sof = f.read(5)
            if len(sof) < 5:
                break
            h, w = struct.unpack(">HH", sof[1:5])
            return w, h
        f.seek(length - 2, os.SEEK_CUR)
    raise UsageError(f"{name} is a damaged JPEG (no frame header)")


def _find_metadata(root: Path) -> tuple[Path, Path]:
    """(metadata file, folder its file names are relative to)."""
    images = root / "images"
    if (root / "metadata.jsonl").is_file():
        # The project's layout names files relative to images/; a plain image folder, to root.
        return root / "metadata.jsonl", images if images.is_dir() else root
    if (images / "metadata.jsonl").is_file():
        return images / "metadata.jsonl", images
    raise UsageError(
        f"{root} has no metadata.jsonl (expected {root / 'metadata.jsonl'} or {images / 'metadata.jsonl'}, "
        "as `facechain prepare` writes them)"
    )


def _parse_line(raw: bytes, where: str) -> tuple[str, str]:
    if len(raw) > MAX_LINE_BYTES:
        raise UsageError(f"{where} is longer than {MAX_LINE_BYTES} bytes")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{where} is not a JSON object ({e})") from e
    if not isinstance(obj, dict):
        raise UsageError(f"{where} is not a JSON object")
    name, text = obj.get("file_name"), obj.get("text")
    if not isinstance(name, str) or not name:
        raise UsageError(f'{where} has no "file_name" string')
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f'{where} has no "text" caption')
    return name, text


def _safe_relative(name: str, where: str) -> Path:
    p = Path(name)
    if p.is_absolute() or ".." in p.parts or name.startswith("~"):
        raise UsageError(f'{where}: file_name "{name}" must be a path inside the dataset folder')
    return p


def load_dataset(root: str | os.PathLike[str], trigger: str = "", resolution: int = 512) -> Dataset:
    """Read and check a dataset folder; every problem is a UsageError naming the file and line."""
    root = Path(root)
    if not root.exists():
        raise UsageError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise UsageError(f"dataset {root} is not a folder")
    meta, base = _find_metadata(root)
    samples: list[Sample] = []
    warnings: list[str] = []
    seen: set[str] = set()
    with open(meta, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            where = f"{meta.name} line {number}"
            name, text = _parse_line(raw.rstrip(b"\r\n"), where)
            rel = _safe_relative(name, where)
            if name in seen:
                raise UsageError(f'{where}: "{name}" is listed twice')
            seen.add(name)
            if len(samples) >= MAX_IMAGES:
                raise UsageError(f"{meta} lists more than {MAX_IMAGES} images")
            path = base / rel
            if not path.is_file():
                raise UsageError(f'{where}: image "{name}" is missing (looked for {path})')
            size = path.stat().st_size
            if size == 0:
                raise UsageError(f'{where}: image "{name}" is empty')
            if size > MAX_IMAGE_BYTES:
                raise UsageError(f'{where}: image "{name}" is {size} bytes, over the {MAX_IMAGE_BYTES}-byte limit')
            kind, w, h = image_size(path)
            if min(w, h) < MIN_SIDE or max(w, h) > MAX_SIDE:
                raise UsageError(
                    f'{where}: image "{name}" is {w}x{h}; sides must be {MIN_SIDE} to {MAX_SIDE} pixels'
                )
            if trigger and trigger not in text:
                raise UsageError(
                    f'{where}: the caption of "{name}" does not contain the trigger {trigger} '
                    "(FaceChain captions start with it; a LoRA trained without it cannot be prompted)"
                )
            if min(w, h) < resolution // 2:
                warnings.append(f"{name} is {w}x{h}, well under the training resolution {resolution}")
            samples.append(Sample(path, text, w, h, kind))
    if not samples:
        raise UsageError(f"{meta} lists no images: nothing to train on (did every photo fail preparation?)")
    return Dataset(root, meta, samples, warnings)
