"""The torch side of gpu/export.py (needs torch, diffusers, transformers, onnx, onnxruntime).

Every model is exported with torch.onnx.export(..., dynamo=False): the TorchScript exporter
writes the layout the engine reads (the dynamo exporter, torch's default since 2.9, fails on the
UNet). Models are exported as themselves, with their `forward` replaced for the duration, never
inside a wrapper module: a wrapper would prefix every node scope (`/unet/down_blocks.0/...`) and
the engine's LoRA merge finds transposed Linear weights by the scope of the node that reads
them (models/onnx-edit.ts). The files are written directly, without diffusers' conversion
script or its OnnxRuntimeModel loader.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import onnx
import torch

from .cli import EnvironmentProblem, UsageError, info, warn
from .sd_layout import (
    CONTROLNETS,
    bpe_files_from_tokenizer_json,
    check_scheduler,
    controlnet_output_names,
    load_definitions,
    model_index,
    residual_names,
    residual_shapes,
)

TWO_GB = 2**31 - 2**20  # protobuf's limit, with room for the graph itself


def _device(a) -> torch.device:
    if a.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        raise EnvironmentProblem(f"--device {a.device}: PyTorch sees no CUDA GPU (check nvidia-smi and torch.version.cuda)")
    return torch.device(a.device)


@contextlib.contextmanager
def _forward(model: torch.nn.Module, fn: Callable):
    """Replace model.forward for one export, so node scopes keep the model's own module paths."""
    model.forward = fn
    try:
        yield model
    finally:
        del model.forward


def _tensor_bytes(proto: onnx.ModelProto) -> int:
    total = 0
    for t in proto.graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        total += n * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
    return total


def _ort_providers() -> list[str]:
    import onnxruntime as ort

    have = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in have]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu").numpy()


def export_model(
    model: torch.nn.Module,
    forward: Callable,
    args: Sequence[torch.Tensor],
    path: Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict,
    opset: int,
    verify: bool,
    weights_file: str | None = None,
    tolerance: float = 1e-3,
) -> dict:
    """Export one model to `path` (external weights in `weights_file`, or model.onnx_data when over
    2 GB), check it with onnx.checker, and compare ONNX Runtime's outputs with PyTorch's."""
    t0 = time.time()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _forward(model, forward), torch.no_grad():
        reference = model(*args) if verify else None
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as tmp:
            raw = Path(tmp) / "model.onnx"
            torch.onnx.export(
                model,
                tuple(args),
                str(raw),
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
            proto = onnx.load(str(raw), load_external_data=True)
            size = _tensor_bytes(proto)
            location = weights_file or ("model.onnx_data" if size > TWO_GB else None)
            if location:
                (path.parent / location).unlink(missing_ok=True)  # onnx appends to an existing file
                onnx.save_model(
                    proto, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=location, size_threshold=1024
                )
            else:
                onnx.save_model(proto, str(path))
            del proto
    onnx.checker.check_model(str(path))
    seconds = time.time() - t0
    result = {"seconds": round(seconds, 1), "bytes": size}
    if verify:
        result.update(_compare(path, input_names, args, output_names, reference, tolerance))
    info(
        f"exported {path.parent.name}/{path.name} in {seconds:.1f} s ({size / 1e6:.0f} MB of weights"
        + (f", ONNX Runtime vs PyTorch max error {result['max_error']:.2e}" if result.get("max_error") is not None else "")
        + ")"
    )
    return result


def _compare(path: Path, input_names, args, output_names, reference, tolerance: float) -> dict:
    import onnxruntime as ort

    refs = reference if isinstance(reference, (tuple, list)) else (reference,)
    providers = _ort_providers()
    try:
        sess = ort.InferenceSession(str(path), providers=providers)
    except Exception as e:  # noqa: BLE001 - ONNX Runtime's errors have no common class
        if "CUDAExecutionProvider" in providers:
            raise
        # The CPU provider lacks float16 kernels for some operators; onnxruntime-gpu has them.
        warn(f"{path.parent.name}: ONNX Runtime could not load it on the CPU ({str(e)[:200]}); not verified")
        return {"max_error": None, "providers": []}
    feeds = {n: _np(t) for n, t in zip(input_names, args)}
    outs = sess.run(list(output_names), feeds)
    worst = 0.0
    for name, got, ref in zip(output_names, outs, refs):
        want = _np(ref).astype(np.float64)
        got = got.astype(np.float64)
        if got.shape != want.shape:
            raise RuntimeError(f"{path}: output {name} has shape {got.shape}, PyTorch gave {want.shape}")
        if not np.isfinite(got).all():
            raise RuntimeError(
                f"{path}: output {name} has NaN or infinite values in ONNX Runtime"
                " (a float16 VAE can overflow: try --keep-vae-fp32)"
            )
        scale = max(float(np.abs(want).max()), 1e-6)
        err = float(np.abs(got - want).max()) / scale
        worst = max(worst, err)
    if worst > tolerance:
        # Large differences mean a broken export, not rounding: refuse it.
        raise RuntimeError(
            f"{path}: ONNX Runtime's outputs differ from PyTorch's by {worst:.2e} of their range "
            f"(limit {tolerance:g}); the export is not usable"
        )
    return {"max_error": worst, "providers": sess.get_providers()}


def _load_pipeline(a, device, dtype):
    from diffusers import StableDiffusionPipeline

    src = Path(a.source)
    t0 = time.time()
    if src.is_dir():
        pipe = StableDiffusionPipeline.from_pretrained(str(src), safety_checker=None, requires_safety_checker=False)
    else:
        kwargs = {"safety_checker": None}
        if a.config:
            kwargs["config"] = a.config
        pipe = StableDiffusionPipeline.from_single_file(str(src), **kwargs)
    pipe.to(device, dtype=dtype)
    if pipe.unet.config.cross_attention_dim != 768:
        raise UsageError(f"{src.name} is not an SD 1.x model (cross-attention width {pipe.unet.config.cross_attention_dim})")
    check_scheduler(dict(pipe.scheduler.config), src.name)
    info(f"loaded {src.name} on {device} ({str(dtype).replace('torch.', '')}) in {time.time() - t0:.1f} s")
    return pipe


def _write_tokenizer(tokenizer, folder: Path) -> None:
    tokenizer.save_pretrained(str(folder))
    if not (folder / "vocab.json").is_file() or not (folder / "merges.txt").is_file():
        # transformers >= 5 writes tokenizer.json only; the engine reads vocab.json + merges.txt.
        tok = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        vocab, merges = bpe_files_from_tokenizer_json(tok)
        (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (folder / "merges.txt").write_text(merges, encoding="utf-8")
    special = folder / "special_tokens_map.json"
    if not special.is_file():
        names = ("bos_token", "eos_token", "unk_token", "pad_token")
        special.write_text(json.dumps({n: str(getattr(tokenizer, n)) for n in names if getattr(tokenizer, n, None)}), encoding="utf-8")


def _unet_forward(unet, n_residuals: int, extra: Callable | None = None):
    orig = unet.forward

    def forward(sample, timestep, encoder_hidden_states, *rest):
        ehs = encoder_hidden_states
        if extra:
            ehs, rest = extra(ehs, rest)
        kwargs = {}
        if n_residuals:
            kwargs = {"down_block_additional_residuals": tuple(rest[:-1]), "mid_block_additional_residual": rest[-1]}
        return orig(sample, timestep, ehs, return_dict=False, **kwargs)[0]

    return forward


def _unet_args(unet, device, dtype, control: bool, batch: int = 2, size: int = 64):
    g = torch.Generator(device="cpu").manual_seed(0)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(device, dtype)

    cfg = unet.config
    args = [rnd(batch, cfg.in_channels, size, size), torch.tensor([999.0, 500.0][:batch]).to(device, dtype), rnd(batch, 77, 768)]
    names = ["sample", "timestep", "encoder_hidden_states"]
    axes = {
        "sample": {0: "batch", 2: "height", 3: "width"},
        "timestep": {0: "batch"},
        "encoder_hidden_states": {0: "batch", 1: "sequence"},
        "out_sample": {0: "batch", 2: "height", 3: "width"},
    }
    shapes = residual_shapes(cfg.block_out_channels, cfg.layers_per_block, size, size)
    if control:
        rnames = residual_names(len(shapes) - 1)
        for name, (c, h, w) in zip(rnames, shapes):
            args.append(rnd(batch, c, h, w, scale=0.1))
            axes[name] = {0: "batch", 2: f"{name}_height", 3: f"{name}_width"}
        names += rnames
    return args, names, axes, len(shapes) - 1 if control else 0


def export_sd(a, out: Path) -> dict:
    device = _device(a)
    dtype = torch.float16 if a.fp16 else torch.float32
    verify = not a.no_verify
    tol = 5e-2 if a.fp16 else 1e-3
    pipe = _load_pipeline(a, device, dtype)
    out.mkdir(parents=True)
    figures: dict[str, dict] = {}

    # Text encoder: input_ids int32 → last_hidden_state, pooler_output (diffusers' names).
    te = pipe.text_encoder
    with contextlib.suppress(Exception):
        te.set_attn_implementation("eager")  # plain attention traces everywhere
    te_orig = te.forward

    def te_forward(input_ids):
        o = te_orig(input_ids=input_ids)
        return o.last_hidden_state, o.pooler_output

    ids = pipe.tokenizer(
        ["a photo of a person", "best quality"], padding="max_length", max_length=pipe.tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids.to(device, torch.int32)
    figures["text_encoder"] = export_model(
        te, te_forward, [ids], out / "text_encoder" / "model.onnx", ["input_ids"], ["last_hidden_state", "pooler_output"],
        {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}},
        a.opset, verify, tolerance=tol,
    )

    # UNet, control-capable when a ControlNet is exported (residual inputs; zeros when unused).
    controls = {n: getattr(a, f"controlnet_{n}") for n in CONTROLNETS if getattr(a, f"controlnet_{n}")}
    control = bool(controls) or a.control_unet
    unet = pipe.unet
    args, names, axes, n_res = _unet_args(unet, device, dtype, control)
    figures["unet"] = export_model(
        unet, _unet_forward(unet, n_res), args, out / "unet" / "model.onnx", names, ["out_sample"], axes,
        a.opset, verify, weights_file="weights.pb", tolerance=tol,
    )
    unet.save_config(str(out / "unet"))

    # VAE: decoder latent_sample → sample; encoder sample → latent_parameters (mean and log-variance).
    vae = pipe.vae
    vae_dtype = torch.float32 if a.keep_vae_fp32 else dtype
    vae.to(dtype=vae_dtype)
    g = torch.Generator(device="cpu").manual_seed(1)
    latent = torch.randn(1, vae.config.latent_channels, 64, 64, generator=g).to(device, vae_dtype)
    figures["vae_decoder"] = export_model(
        vae, lambda latent_sample: vae.decode(latent_sample, return_dict=False)[0], [latent],
        out / "vae_decoder" / "model.onnx", ["latent_sample"], ["sample"],
        {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "image_height", 3: "image_width"}},
        a.opset, verify, tolerance=tol,
    )
    vae.save_config(str(out / "vae_decoder"))
    if not a.no_vae_encoder:
        image = (torch.rand(1, vae.config.in_channels, 512, 512, generator=g) * 2 - 1).to(device, vae_dtype)
        figures["vae_encoder"] = export_model(
            vae, lambda sample: vae.encode(sample).latent_dist.parameters, [image],
            out / "vae_encoder" / "model.onnx", ["sample"], ["latent_parameters"],
            {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_parameters": {0: "batch", 2: "latent_height", 3: "latent_width"}},
            a.opset, verify, tolerance=tol,
        )
        vae.save_config(str(out / "vae_encoder"))

    for name, path in controls.items():
        figures[f"controlnet-{name}"] = _export_controlnet(a, Path(path), out / f"controlnet-{name}", device, dtype, n_res, verify, tol)

    _write_tokenizer(pipe.tokenizer, out / "tokenizer")
    pipe.scheduler.save_config(str(out / "scheduler"))
    import diffusers

    index = model_index(type(pipe.scheduler).__name__, not a.no_vae_encoder, diffusers.__version__)
    (out / "model_index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    info(f"export took {sum(f['seconds'] for f in figures.values()):.0f} s of model time")
    return {
        "layout": f"diffusers OnnxStableDiffusionPipeline folder ({'fp16' if a.fp16 else 'fp32'}), gpu/export.py",
        "upstream": Path(a.source).name,
        "scheduler": type(pipe.scheduler).__name__,
        "latentScaling": float(vae.config.scaling_factor),
        "controlnets": sorted(controls),
        "controlUnet": control,
        "opset": a.opset,
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__, "onnx": onnx.__version__},
        "exportSeconds": {k: v["seconds"] for k, v in figures.items()},
    }


def _export_controlnet(a, path: Path, folder: Path, device, dtype, n_res: int, verify: bool, tol: float) -> dict:
    from diffusers import ControlNetModel

    cn = ControlNetModel.from_pretrained(str(path)) if path.is_dir() else ControlNetModel.from_single_file(str(path))
    cn.to(device, dtype=dtype)
    cn.eval()
    orig = cn.forward

    def forward(sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale):
        down, mid = orig(
            sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale=conditioning_scale, return_dict=False
        )
        return (*down, mid)

    g = torch.Generator(device="cpu").manual_seed(2)
    args = [
        torch.randn(2, 4, 64, 64, generator=g).to(device, dtype),
        torch.tensor([999.0, 500.0]).to(device, dtype),
        torch.randn(2, 77, 768, generator=g).to(device, dtype),
        torch.rand(2, 3, 512, 512, generator=g).to(device, dtype),
        torch.tensor(1.0).to(device, dtype),
    ]
    outputs = controlnet_output_names(n_res)
    axes = {
        "sample": {0: "batch", 2: "height", 3: "width"},
        "timestep": {0: "batch"},
        "encoder_hidden_states": {0: "batch", 1: "sequence"},
        "controlnet_cond": {0: "batch", 2: "image_height", 3: "image_width"},
        **{o: {0: "batch", 2: f"{o}_height", 3: f"{o}_width"} for o in outputs},
    }
    fig = export_model(
        cn, forward, args, folder / "model.onnx",
        ["sample", "timestep", "encoder_hidden_states", "controlnet_cond", "conditioning_scale"], outputs, axes,
        a.opset, verify, tolerance=tol,
    )
    cn.save_config(str(folder))
    return fig


# FaceChain-FACT ------------------------------------------------------------------------------


def _load_module(file: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {file}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _torch_load(path: Path, trust: bool):
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling refusal
        if not trust:
            raise UsageError(
                f"{path.name} cannot be loaded as plain weights ({type(e).__name__}); if you trust the file, "
                "pass --trust-pickles to unpickle it fully"
            ) from e
        warn(f"{path.name}: loading with full unpickling (--trust-pickles)")
        return torch.load(str(path), map_location="cpu", weights_only=False)


def _fact_hidden_size(name: str, channels: Sequence[int]) -> int:
    if name.startswith("mid_block"):
        return channels[-1]
    if name.startswith("up_blocks"):
        return list(reversed(channels))[int(name[len("up_blocks.")])]
    return channels[int(name[len("down_blocks.")])]


def _install_fact_adapter(unet, procs_mod, state: dict, device, dtype) -> list:
    """FACT's adapter in every cross-attention (attn2) layer: each transformer block's norm2 moves
    into a FaceAttnProcessor, which first runs a gated self-attention over [visual tokens; face
    tokens]; self-attention (attn1) keeps the plain processor."""
    from diffusers.models.attention_processor import AttnProcessor

    blocks = {}
    for name, module in unet.named_modules():
        if name.endswith("transformer_blocks.0") and hasattr(module, "attn2"):
            blocks[f"{name}.attn2.processor"] = module
    procs, face = {}, []
    channels = list(unet.config.block_out_channels)
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            # diffusers' plain processor: what FaceChain's own AttnProcessor computes, and it traces.
            procs[name] = AttnProcessor()
            continue
        block = blocks.get(name)
        if block is None:
            raise UsageError(f"the UNet has a cross-attention layer FACT does not expect: {name}")
        ln = block.norm2
        block.norm2 = torch.nn.Identity()
        p = procs_mod.FaceAttnProcessor(
            hidden_size=_fact_hidden_size(name, channels), cross_attention_dim=unet.config.cross_attention_dim, scale=1.0, ln=ln
        )
        procs[name] = p.to(device, dtype=dtype)
        face.append(p)
    if len(face) != 16:
        raise UsageError(f"FACT adapts the 16 cross-attention layers of SD 1.5; this UNet has {len(face)}")
    unet.set_attn_processor(procs)
    wanted = {k: v for k, v in state.items() if "processor" in k}
    result = unet.load_state_dict(wanted, strict=False)
    missing = [k for k in result.missing_keys if ".processor." in k and ".processor.ln." not in k]
    if result.unexpected_keys or missing:
        raise UsageError(
            "the FACT adapter does not fit this UNet "
            f"({len(missing)} adapter weights missing, {len(result.unexpected_keys)} unexpected; first: "
            f"{(missing + list(result.unexpected_keys))[0]}); check --fact-base against --source"
        )
    unet.to(device, dtype=dtype)
    return face


def export_fact(a, out: Path) -> dict:
    device = _device(a)
    dtype = torch.float16 if a.fp16 else torch.float32
    verify = not a.no_verify
    repo = Path(a.fact_repo)
    b = a.fact_base
    out.mkdir(parents=True)
    figures: dict[str, dict] = {}
    adapter = _torch_load(Path(a.fact_adapter), a.trust_pickles)
    if not isinstance(adapter, dict) or not any(k.startswith("local_fac_prj.") for k in adapter):
        raise UsageError(f"{Path(a.fact_adapter).name} has no local_fac_prj.* weights: not a FACT adapter checkpoint")

    # Face encoder (TransFace ViT-S) and projector: small, exported in fp32 on the CPU as the
    # engine feeds them (models/manifests/fact-face-encoder.json, fact-projector-*.json).
    vit = _load_module(repo / "face_adapter" / "vit.py", "facechain_fact_vit")
    net = vit.VisionTransformer(
        img_size=112, patch_size=9, num_classes=512, embed_dim=512, depth=12, num_heads=8, drop_path_rate=0.1, norm_layer="ln", mask_ratio=0.1
    )
    net.load_state_dict(_torch_load(Path(a.fact_encoder), a.trust_pickles))
    net.eval()  # patch masking only runs in training mode
    net_orig = net.forward
    face = torch.rand(1, 3, 112, 112, generator=torch.Generator().manual_seed(3)) * 2 - 1
    figures["face-encoder"] = export_model(
        net, lambda input: net_orig(input)[0], [face], out / "face-encoder" / "model.onnx", ["input"], ["tokens"], {},
        a.opset, verify,
    )
    ns: dict = {"torch": torch, "nn": torch.nn, "math": math}
    defs = load_definitions(
        repo / "face_adapter" / "face_adapter_v1.py", ["FeedForward", "reshape_tensor", "PerceiverAttention", "Face_Prj_Resampler"], ns
    )
    prj = defs["Face_Prj_Resampler"](
        dim=1024, depth=4, dim_head=64, heads=12, num_queries=16, embedding_dim=512, output_dim=768, ff_mult=4
    )
    prj.load_state_dict({k[len("local_fac_prj.") :]: v for k, v in adapter.items() if k.startswith("local_fac_prj.")}, strict=True)
    prj.eval()
    with torch.no_grad():
        features = net_orig(face)[0]
    prj_orig = prj.forward
    figures[f"projector-{b}"] = export_model(
        prj, lambda features: prj_orig(features), [features], out / f"projector-{b}" / "model.onnx", ["features"], ["face_tokens"], {},
        a.opset, verify,
    )

    # UNet with the adapter: face_tokens and adapter_scale are float32 inputs (the engine feeds
    # them as float32 whatever the export's dtype) and become the 16 tokens after the text.
    pipe = _load_pipeline(a, device, dtype)
    unet = pipe.unet
    controls = [n for n in CONTROLNETS if getattr(a, f"controlnet_{n}")]
    control = bool(controls) or a.control_unet
    args, names, axes, n_res = _unet_args(unet, device, dtype, control)
    with torch.no_grad():
        base_out = unet(*args[:3], return_dict=False, **_residual_kwargs(args[3:], n_res))[0].float()
    procs_mod = _load_module(repo / "face_adapter" / "face_attention_processor_v1.py", "facechain_fact_processors")
    face_procs = _install_fact_adapter(unet, procs_mod, adapter, device, dtype)

    def extra(ehs, rest):
        face_tokens, scale, *residuals = rest
        for p in face_procs:
            p.scale = scale.to(dtype)
        return torch.cat([ehs, face_tokens.to(dtype)], dim=1), residuals

    g = torch.Generator(device="cpu").manual_seed(4)
    tokens = torch.randn(args[0].shape[0], 16, 768, generator=g).to(device)
    zero = torch.zeros(1, device=device)
    forward = _unet_forward(unet, n_res, extra)
    with torch.no_grad():
        same = forward(args[0], args[1], args[2], tokens, zero, *args[3:]).float()
    gap = float((same - base_out).abs().max() / base_out.abs().max().clamp_min(1e-6))
    info(f"FACT UNet at adapter_scale 0 vs the base UNet: max relative difference {gap:.2e}")
    if gap > (5e-2 if a.fp16 else 1e-3):
        raise RuntimeError("the FACT UNet at adapter scale 0 does not reproduce the base UNet: the adapter was installed wrongly")
    scale = torch.full((1,), 0.5, device=device)
    names = names[:3] + ["face_tokens", "adapter_scale"] + names[3:]
    axes["face_tokens"] = {0: "batch"}
    figures[f"unet-{b}"] = export_model(
        unet, forward, [*args[:3], tokens, scale, *args[3:]], out / f"unet-{b}" / "model.onnx", names, ["out_sample"], axes,
        a.opset, verify, weights_file="weights.pb", tolerance=5e-2 if a.fp16 else 1e-3,
    )
    import diffusers

    return {
        "upstream": f"FaceChain-FACT {Path(a.fact_adapter).name} on {Path(a.source).name}",
        "factBase": b,
        "controlUnet": control,
        "baseEquivalenceAtScale0": gap,
        "opset": a.opset,
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__, "onnx": onnx.__version__},
        "exportSeconds": {k: v["seconds"] for k, v in figures.items()},
    }


def _residual_kwargs(residuals: Sequence[torch.Tensor], n: int) -> dict:
    if not n:
        return {}
    return {"down_block_additional_residuals": tuple(residuals[:-1]), "mid_block_additional_residual": residuals[-1]}

