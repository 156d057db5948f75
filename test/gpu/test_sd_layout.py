"""The export folder's layout and the checks made on sources before any weights are loaded."""

import json
import tempfile
import unittest
from pathlib import Path

import helpers
from facechain_gpu.cli import UsageError
from facechain_gpu.sd_layout import (
    bpe_files_from_tokenizer_json,
    check_fact_repo,
    controlnet_output_names,
    inspect_base,
    inspect_controlnet,
    load_definitions,
    model_index,
    residual_names,
    residual_shapes,
)

# core/diffusion/unet.ts SD15_DOWN_CHANNELS and SD15_DOWN_LEVELS.
SD15_DOWN_CHANNELS = [320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280]
SD15_DOWN_LEVELS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


class LayoutTest(unittest.TestCase):
    def test_sd15_residuals_match_the_engine(self):
        shapes = residual_shapes((320, 640, 1280, 1280), 2, 64, 64)
        self.assertEqual(len(shapes), 13)
        self.assertEqual([c for c, _, _ in shapes[:12]], SD15_DOWN_CHANNELS)
        self.assertEqual([64 // h for _, h, _ in shapes[:12]], [2**lv for lv in SD15_DOWN_LEVELS])
        self.assertEqual(shapes[12], (1280, 8, 8))
        # Odd sizes round up, as stride-2 convolutions with padding 1 do.
        self.assertEqual(residual_shapes((320, 640, 1280, 1280), 2, 96, 75)[-1], (1280, 12, 10))
        self.assertEqual(len(residual_shapes((32, 64), 1, 16, 16)), 5)

    def test_names(self):
        self.assertEqual(residual_names(12)[0], "down_block_additional_residuals_0")
        self.assertEqual(residual_names(12)[-1], "mid_block_additional_residual")
        self.assertTrue(all("residual" in n for n in residual_names(12)))
        self.assertEqual(controlnet_output_names(12)[11], "down_block_res_samples_11")
        self.assertIn("mid", controlnet_output_names(12)[12])

    def test_model_index(self):
        index = model_index("PNDMScheduler", True, "0.42.1")
        self.assertEqual(index["_class_name"], "OnnxStableDiffusionPipeline")
        self.assertEqual(index["scheduler"], ["diffusers", "PNDMScheduler"])
        self.assertIn("vae_encoder", index)
        self.assertNotIn("vae_encoder", model_index("PNDMScheduler", False, "0.42.1"))

    def test_vocab_and_merges_from_tokenizer_json(self):
        vocab = {"a</w>": 0, "b": 1, "ab</w>": 2, "<|startoftext|>": 3, "<|endoftext|>": 4}
        old = {"model": {"type": "BPE", "vocab": vocab, "merges": ["a b</w>", "b a"]}}
        new = {"model": {"type": "BPE", "vocab": vocab, "merges": [["a", "b</w>"], ["b", "a"]]}}
        for tok in (old, new):
            v, merges = bpe_files_from_tokenizer_json(tok)
            self.assertEqual(v, vocab)
            self.assertEqual(merges, "#version: 0.2\na b</w>\nb a\n")
        for bad in ({"model": {"type": "WordPiece"}}, {"model": {"type": "BPE", "vocab": vocab, "merges": ["abc"]}}):
            with self.assertRaises(UsageError):
                bpe_files_from_tokenizer_json(bad)


class SourceChecksTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_diffusers_folder(self):
        ok = helpers.diffusers_folder(self.root / "film")
        self.assertEqual(inspect_base(ok), {"in_channels": 4, "scheduler": "PNDMScheduler"})
        with self.assertRaisesRegex(UsageError, "width 1024"):
            inspect_base(helpers.diffusers_folder(self.root / "sd2", cross_attention_dim=1024))
        with self.assertRaisesRegex(UsageError, "predicts 'v_prediction'"):
            inspect_base(helpers.diffusers_folder(self.root / "v", prediction="v_prediction"))
        with self.assertRaisesRegex(UsageError, "7 input channels"):
            inspect_base(helpers.diffusers_folder(self.root / "odd", in_channels=7))
        (self.root / "film" / "vae").rmdir()
        with self.assertRaisesRegex(UsageError, "no vae/ folder"):
            inspect_base(self.root / "film")
        with self.assertRaisesRegex(UsageError, "does not exist"):
            inspect_base(self.root / "missing")

    def test_single_file(self):
        self.assertEqual(inspect_base(helpers.checkpoint(self.root / "m.safetensors")), {"in_channels": 4, "layout": "ldm"})
        self.assertEqual(inspect_base(helpers.checkpoint(self.root / "i.safetensors", in_channels=9))["in_channels"], 9)
        with self.assertRaisesRegex(UsageError, "width 1024"):
            inspect_base(helpers.checkpoint(self.root / "sd2.safetensors", context=1024))
        xl = helpers.checkpoint(self.root / "xl.safetensors", extra={"conditioner.embedders.0.x": helpers.RawTensor("F16", (1,), b"\0\0")})
        with self.assertRaisesRegex(UsageError, "SDXL"):
            inspect_base(xl)
        pickle = self.root / "m.ckpt"
        pickle.write_bytes(b"\x80\x02")
        with self.assertRaisesRegex(UsageError, "pickles"):
            inspect_base(pickle)
        junk = self.root / "j.safetensors"
        junk.write_bytes(b"\xff" * 16)
        with self.assertRaisesRegex(UsageError, "not a readable"):
            inspect_base(junk)
        other = self.root / "o.safetensors"
        helpers.write_safetensors(str(other), {"x": helpers.RawTensor("F32", (1,), bytes(4))})
        with self.assertRaisesRegex(UsageError, "does not look like"):
            inspect_base(other)

    def test_controlnets(self):
        cn = self.root / "openpose"
        cn.mkdir()
        (cn / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
        with self.assertRaisesRegex(UsageError, "no diffusion_pytorch_model"):
            inspect_controlnet(cn, "openpose")
        (cn / "diffusion_pytorch_model.safetensors").write_bytes(b"x")
        inspect_controlnet(cn, "openpose")
        with self.assertRaisesRegex(UsageError, "not a ControlNet|does not look like a ControlNet"):
            inspect_controlnet(helpers.checkpoint(self.root / "m.safetensors"), "canny")

    def test_fact_definitions_are_taken_without_running_the_modules_imports(self):
        repo = self.root / "facechain"
        with self.assertRaisesRegex(UsageError, "not a FaceChain checkout"):
            check_fact_repo(repo)
        (repo / "face_adapter").mkdir(parents=True)
        for f in ("vit.py", "face_attention_processor_v1.py"):
            (repo / "face_adapter" / f).write_text("")
        src = repo / "face_adapter" / "face_adapter_v1.py"
        src.write_text(
            "import modelscope_that_is_not_installed\n"
            "def helper(x):\n    return x * 2\n"
            "class Thing:\n    def twice(self, x):\n        return helper(x) + math.floor(0.5)\n"
            "raise RuntimeError('module body must not run')\n"
        )
        check_fact_repo(repo)
        import math

        defs = load_definitions(src, ["helper", "Thing"], {"math": math})
        self.assertEqual(defs["Thing"]().twice(3), 6)
        with self.assertRaisesRegex(UsageError, "has no Missing"):
            load_definitions(src, ["Missing"], {})


if __name__ == "__main__":
    unittest.main()
