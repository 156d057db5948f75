"""Model manifests (models/manifests/<id>.json) for exported folders, in the exact format
models/manifest.ts validates and `facechain models fetch|verify` uses: every file with its
sha256 and size, `"verified": true`. validate_manifest() mirrors that schema so a bad manifest
is refused here, on the GPU host, rather than by the bot later.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .cli import UsageError

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
FILE_NAME_RE = re.compile(r"^[\w.-]+(/[\w.-]+)*$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
TENSOR_TYPES = ("float32", "float16", "int64", "int32", "uint8", "bool")
SOURCE_PREFIXES = ("npm:", "https://", "file:")
_CHUNK = 8 * 1024 * 1024


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(_CHUNK)
            if not block:
                return h.hexdigest()
            h.update(block)


def folder_files(folder: str | os.PathLike[str]) -> list[str]:
    """Every regular file under `folder`, as sorted relative POSIX paths (hidden files skipped)."""
    root = Path(folder)
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_file():
                raise UsageError(f"{p} is not a regular file; a manifest can only list regular files")
            rel = p.relative_to(root).as_posix()
            if not FILE_NAME_RE.match(rel):
                raise UsageError(f'"{rel}" has characters a manifest file name cannot have (letters, digits, _ . - and /)')
            out.append(rel)
    return sorted(out)


def file_entries(folder: str | os.PathLike[str], names: Iterable[str], source_prefix: str) -> list[dict]:
    """Manifest `files` entries: name, file:<prefix>/<name> source, sha256, size."""
    root = Path(folder)
    prefix = source_prefix.rstrip("/")
    out = []
    for name in names:
        p = root / name
        size = p.stat().st_size
        if size <= 0:
            raise UsageError(f"{p} is empty; an export with an empty file is broken")
        out.append({"name": name, "source": f"file:{prefix}/{name}", "sha256": sha256_file(p), "size": size})
    return out


def build_manifest(
    *,
    model_id: str,
    task: str,
    description: str,
    files: Sequence[Mapping],
    licence: Mapping[str, str],
    inputs: Sequence[Mapping] = (),
    outputs: Sequence[Mapping] = (),
    preprocessing: Mapping | None = None,
    optional: bool = True,
) -> dict:
    m = {
        "id": model_id,
        "task": task,
        "description": description,
        "files": [dict(f) for f in files],
        "inputs": [dict(i) for i in inputs],
        "outputs": [dict(o) for o in outputs],
        "preprocessing": dict(preprocessing or {}),
        "licence": dict(licence),
        "optional": optional,
        "verified": True,
    }
    validate_manifest(m)
    return m


def _tensor_problems(kind: str, specs: object) -> list[str]:
    if not isinstance(specs, list):
        return [f"{kind} must be a list"]
    problems = []
    for i, s in enumerate(specs):
        where = f"{kind}.{i}"
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not s["name"]:
            problems.append(f"{where}: needs a name")
            continue
        if s.get("type") not in TENSOR_TYPES:
            problems.append(f"{where}: type {s.get('type')!r} is not one of {', '.join(TENSOR_TYPES)}")
        shape = s.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(d, str) or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in shape
        ):
            problems.append(f"{where}: shape must list non-negative integers and axis names")
    return problems


def validate_manifest(m: Mapping) -> None:
    """The rules of models/manifest.ts (manifestSchema) for a verified manifest."""
    problems: list[str] = []
    if not isinstance(m.get("id"), str) or not ID_RE.match(m["id"]):
        problems.append(f"id {m.get('id')!r} must be lower-case letters, digits and '-'")
    if not isinstance(m.get("task"), str) or not m["task"]:
        problems.append("task must be a non-empty string")
    files = m.get("files")
    if not isinstance(files, list) or not files:
        problems.append("files must list at least one file")
        files = []
    names = set()
    for i, f in enumerate(files):
        where = f"files.{i}"
        name = f.get("name") if isinstance(f, dict) else None
        if not isinstance(name, str) or not FILE_NAME_RE.match(name):
            problems.append(f"{where}: name {name!r} must be a relative path without '..'")
        elif name in names:
            problems.append(f"{where}: {name} is listed twice")
        names.add(name)
        if not isinstance(f, dict):
            continue
        if not isinstance(f.get("source"), str) or not f["source"].startswith(SOURCE_PREFIXES):
            problems.append(f"{where}: source must start with npm:, https:// or file:")
        if not isinstance(f.get("sha256"), str) or not SHA256_RE.match(f["sha256"]):
            problems.append(f"{where}: sha256 must be 64 lower-case hex digits")
        size = f.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            problems.append(f"{where}: size must be a positive integer")
    problems += _tensor_problems("inputs", m.get("inputs", []))
    problems += _tensor_problems("outputs", m.get("outputs", []))
    lic = m.get("licence")
    if not isinstance(lic, dict) or not isinstance(lic.get("spdx"), str):
        problems.append("licence needs an spdx string")
    elif any(not isinstance(lic[k], str) for k in ("source", "url") if k in lic):
        problems.append("licence source and url must be strings")
    if not isinstance(m.get("preprocessing", {}), dict):
        problems.append("preprocessing must be an object")
    if m.get("verified") is not True:
        problems.append("an export's manifest is verified (it carries every digest)")
    if problems:
        raise UsageError("the manifest would be refused by facechain: " + "; ".join(problems))


def write_manifest(path: str | os.PathLike[str], manifest: Mapping) -> None:
    validate_manifest(manifest)
    p = Path(path)
    tmp = p.with_name(p.name + ".part")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, p)


def check_manifest_id(model_id: str) -> str:
    if not ID_RE.match(model_id):
        raise UsageError(f"--id {model_id!r} must be lower-case letters, digits and '-' (e.g. sd15-film)")
    return model_id
