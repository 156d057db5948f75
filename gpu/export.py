#!/usr/bin/env python3
"""Export a Stable Diffusion 1.5 checkpoint (and optionally FaceChain-FACT and ControlNets) to the
ONNX folder facechain-bot's engine reads, then write the model manifest with every file's sha256
and size, so `npx facechain models fetch|verify <id>` accepts it. Runs on a GPU host (fp16 needs
CUDA); --help, --dry-run and --manifest-only work without torch.

  python3 gpu/export.py --source /models/film-diffusers --out exports/sd15-film --id sd15-film --fp16 \\
      --controlnet-openpose /models/control_v11p_sd15_openpose
  python3 gpu/export.py --manifest-only exports/sd15-film --id sd15-film   # an existing export
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from facechain_gpu.cli import ArgumentParser, UsageError, info, require_packages, run_main  # noqa: E402
from facechain_gpu.manifest import (  # noqa: E402
    build_manifest,
    check_manifest_id,
    file_entries,
    folder_files,
    write_manifest,
)
from facechain_gpu.onnx_info import OnnxFormatError, read_onnx_info  # noqa: E402
from facechain_gpu.sd_layout import CONTROLNETS, check_fact_repo, inspect_base, inspect_controlnet  # noqa: E402

# The files core/diffusion/model-folder.ts requires (REQUIRED_FILES).
REQUIRED_FILES = (
    "model_index.json",
    "text_encoder/model.onnx",
    "unet/model.onnx",
    "vae_decoder/model.onnx",
    "tokenizer/vocab.json",
    "tokenizer/merges.txt",
    "scheduler/scheduler_config.json",
)
FACT_BASES = ("film", "majicmix")


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="export.py",
        description="Export an SD 1.5 checkpoint to facechain-bot's ONNX model folder and write its manifest.",
        epilog="Exit codes: 0 done, 1 unexpected failure, 2 usage or input error, 3 environment (missing "
        "package, no GPU). Guide: docs/gpu-host.md.",
    )
    p.add_argument("--source", help="diffusers SD 1.5 folder or single .safetensors checkpoint (e.g. FaceChain's film base)")
    p.add_argument("--config", help="for a single-file source: a local diffusers SD 1.5 folder to take configs from")
    p.add_argument("--out", help="ONNX folder to create (must not exist, or be empty; see --overwrite)")
    p.add_argument("--id", default="sd15-film", help="manifest id (default sd15-film; sd15-majicmix-realistic-v6 for MajicMix)")
    p.add_argument("--manifest-dir", help="where <id>.json manifests go (default: the folder above --out / --fact-out)")
    p.add_argument(
        "--source-prefix", help="file: source prefix written in manifests (default: the output folder's absolute path)"
    )
    p.add_argument("--fp16", action="store_true", help="export in float16 (needs CUDA; halves size and time)")
    p.add_argument("--keep-vae-fp32", action="store_true", help="with --fp16, keep the VAE in float32")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--device", default="auto", help="cuda, cuda:N or cpu (default: cuda when available)")
    for name in CONTROLNETS:
        p.add_argument(f"--controlnet-{name}", help=f"{name} ControlNet (diffusers folder or .safetensors) → controlnet-{name}/")
    p.add_argument("--control-unet", action="store_true", help="export the UNet with ControlNet residual inputs even without a ControlNet")
    p.add_argument("--no-vae-encoder", action="store_true", help="skip vae_encoder/ (img2img, inpainting and templates need it)")
    p.add_argument("--no-verify", action="store_true", help="skip running each exported model with ONNX Runtime against PyTorch")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export folder")
    p.add_argument("--licence", default="CreativeML-OpenRAIL-M", help="SPDX licence of the base (default CreativeML-OpenRAIL-M)")
    f = p.add_argument_group("FaceChain-FACT (zero-shot identity), from a FaceChain checkout")
    f.add_argument("--fact-repo", help="FaceChain repository folder (main branch: face_adapter/)")
    f.add_argument("--fact-encoder", help="ms1mv2_model_TransFace_S.pt (TransFace ViT-S face encoder)")
    f.add_argument("--fact-adapter", help="adapter_<base>_..._00290001.ckpt (projector and UNet adapter weights)")
    f.add_argument("--fact-base", choices=FACT_BASES, help="which base the adapter belongs to (film or majicmix)")
    f.add_argument("--fact-out", help="folder for face-encoder/, projector-<base>/, unet-<base>/")
    f.add_argument("--trust-pickles", action="store_true", help="load FACT's .pt/.ckpt with full unpickling if weights-only loading fails")
    p.add_argument("--manifest-only", metavar="DIR", help="only write the manifest of an existing export folder")
    p.add_argument("--task", default="text-to-image", help="manifest task for --manifest-only (default text-to-image)")
    p.add_argument("--dry-run", action="store_true", help="check sources, options and output folders, then exit; no torch")
    return p


def _fresh_folder(path: Path, overwrite: bool, what: str) -> None:
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{what} {path} exists and is not a folder")
        if any(path.iterdir()):
            if not overwrite:
                raise UsageError(f"{what} {path} is not empty; choose a new folder or pass --overwrite")
            if not (path / "model_index.json").exists() and not (path / "face-encoder").exists():
                raise UsageError(f"--overwrite refuses to delete {path}: it does not look like an export folder")
    parent = path.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UsageError(f"cannot create {what} {path}: {parent} is not a writable folder")


def check_options(a) -> dict:
    """Everything that can be checked without torch; returns facts about the source."""
    if a.manifest_only:
        check_manifest_id(a.id)
        return {}
    if not a.source:
        raise UsageError("--source is required (a diffusers SD 1.5 folder or a .safetensors checkpoint)")
    if not a.out and not a.fact_adapter:
        raise UsageError("give --out (the SD folder), the --fact-* options, or both")
    src = inspect_base(Path(a.source))
    if a.config and not (Path(a.config) / "model_index.json").is_file():
        raise UsageError(f"--config {a.config} is not a diffusers folder (no model_index.json)")
    if not 11 <= a.opset <= 21:
        raise UsageError(f"--opset must be 11 to 21 (got {a.opset}); 17 is what the engine is tested with")
    if a.device != "auto" and not (a.device == "cpu" or a.device.startswith("cuda")):
        raise UsageError(f"--device must be auto, cpu or cuda[:N] (got {a.device!r})")
    if a.fp16 and a.device == "cpu":
        raise UsageError("--fp16 needs a CUDA GPU (half-precision tracing on the CPU is unreliable); drop --device cpu")
    if a.keep_vae_fp32 and not a.fp16:
        raise UsageError("--keep-vae-fp32 only makes sense with --fp16")
    if a.out:
        check_manifest_id(a.id)
        _fresh_folder(Path(a.out), a.overwrite, "--out")
    for name in CONTROLNETS:
        path = getattr(a, f"controlnet_{name}")
        if path:
            if not a.out:
                raise UsageError(f"--controlnet-{name} goes into the SD folder: give --out too")
            inspect_controlnet(Path(path), name)
    fact = [a.fact_repo, a.fact_encoder, a.fact_adapter, a.fact_base, a.fact_out]
    if any(fact):
        if not all(fact):
            raise UsageError("FACT export needs all of --fact-repo, --fact-encoder, --fact-adapter, --fact-base and --fact-out")
        check_fact_repo(Path(a.fact_repo))
        for flag, path in (("--fact-encoder", a.fact_encoder), ("--fact-adapter", a.fact_adapter)):
            if not Path(path).is_file():
                raise UsageError(f"{flag} {path} does not exist")
        if src["in_channels"] != 4:
            raise UsageError("FACT's adapter is for the 4-channel text-to-image UNet, not an inpainting one")
        _fresh_folder(Path(a.fact_out), a.overwrite, "--fact-out")
    return src


def manifest_for_folder(folder: Path, model_id: str, task: str, prefix: str, licence: str, description: str, extra: dict) -> dict:
    """A verified manifest of every file in `folder`, describing its UNet (or its only model)."""
    names = folder_files(folder)
    if not names:
        raise UsageError(f"{folder} is empty")
    onnx_files = [n for n in names if n.endswith(".onnx")]
    for n in onnx_files:
        try:
            missing = [f for f in read_onnx_info(folder / n).external_files if not (folder / Path(n).parent / f).is_file()]
        except OnnxFormatError as e:
            raise UsageError(f"{folder / n} is not a readable ONNX model ({e})") from e
        if missing:
            raise UsageError(f"{n} names external weights that are missing: {', '.join(sorted(missing))}")
    if task == "text-to-image":
        absent = [f for f in REQUIRED_FILES if f not in names]
        if absent:
            raise UsageError(f"{folder} is not a complete SD model folder for the engine: missing {', '.join(absent)}")
        described = "unet/model.onnx"
    else:
        if len(onnx_files) != 1:
            raise UsageError(f"{folder} should hold one ONNX model for a {task} manifest, found {len(onnx_files)}")
        described = onnx_files[0]
    io = read_onnx_info(folder / described)
    return build_manifest(
        model_id=model_id,
        task=task,
        description=description,
        files=file_entries(folder, names, prefix),
        inputs=[t.spec() for t in io.inputs],
        outputs=[t.spec() for t in io.outputs],
        preprocessing={"describes": described, **extra},
        licence={"spdx": licence, "source": extra.get("upstream", folder.name)},
    )


def _manifest_path(a, anchor: Path, model_id: str) -> Path:
    base = Path(a.manifest_dir) if a.manifest_dir else anchor.resolve().parent
    if not base.is_dir():
        raise UsageError(f"--manifest-dir {base} is not a folder")
    return base / f"{model_id}.json"


def write_folder_manifest(
    a, folder: Path, model_id: str, task: str, description: str, extra: dict, licence: str, anchor: Path | None = None
) -> Path:
    """Write <manifest dir>/<id>.json for `folder`; the default manifest dir is the one above `anchor`."""
    if a.source_prefix:
        rel = folder.resolve().relative_to((anchor or folder).resolve()).as_posix()
        prefix = a.source_prefix.rstrip("/") + ("" if rel == "." else "/" + rel)
    else:
        prefix = str(folder.resolve())
    m = manifest_for_folder(folder, model_id, task, prefix, licence, description, extra)
    path = _manifest_path(a, anchor or folder, model_id)
    write_manifest(path, m)
    total = sum(f["size"] for f in m["files"])
    info(f"manifest {path}: {len(m['files'])} files, {total / 1e6:.1f} MB, sha256 of each")
    return path


def main(argv: Sequence[str]) -> int:
    a = build_parser().parse_args(argv)
    check_options(a)
    if a.manifest_only:
        folder = Path(a.manifest_only)
        if not folder.is_dir():
            raise UsageError(f"--manifest-only {folder} is not a folder")
        if a.dry_run:
            info("dry run: the manifest would be written; nothing was written")
            return 0
        write_folder_manifest(
            a, folder, a.id, a.task, f"{a.id}: ONNX export in {folder.name}, checked by gpu/export.py", {}, a.licence
        )
        return 0
    if a.dry_run:
        info("dry run: source, options and output folders are fine; nothing was exported")
        return 0
    require_packages("export", ("torch", "diffusers", "transformers", "onnx", "onnxruntime", "numpy"))
    from facechain_gpu import torch_export

    if a.out:
        final = Path(a.out)
        work = final.with_name(final.name + ".part")
        shutil.rmtree(work, ignore_errors=True)
        try:
            extra = torch_export.export_sd(a, work)
            if final.exists():
                shutil.rmtree(final)
            os.replace(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        desc = (
            f"SD 1.5 ONNX export of {Path(a.source).name} by gpu/export.py ({'fp16' if a.fp16 else 'fp32'}"
            f"{', control-capable UNet' if extra.get('controlnets') or a.control_unet else ''})"
        )
        write_folder_manifest(a, final, a.id, "text-to-image", desc, extra, a.licence)
    if a.fact_adapter:
        final = Path(a.fact_out)
        work = final.with_name(final.name + ".part")
        shutil.rmtree(work, ignore_errors=True)
        try:
            extra = torch_export.export_fact(a, work)
            if final.exists():
                shutil.rmtree(final)
            os.replace(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        b = a.fact_base
        for sub, model_id, task in (
            ("face-encoder", "fact-face-encoder", "fact-face-encoder"),
            (f"projector-{b}", f"fact-projector-{b}", "fact-projector"),
            (f"unet-{b}", f"fact-unet-{b}", "fact-unet"),
        ):
            write_folder_manifest(
                a, final / sub, model_id, task, f"FaceChain-FACT {sub} exported by gpu/export.py", extra, "NOASSERTION", final
            )
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
