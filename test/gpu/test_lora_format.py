"""LoRA key naming and the .safetensors writer of gpu/train.py (the vitest file checks the same
output with the project's own LoRA validation)."""

import json
import struct
import tempfile
import unittest
from pathlib import Path

import helpers  # noqa: F401
from facechain_gpu.lora_format import (
    LoraKey,
    RawTensor,
    init_scale,
    is_attention_projection,
    kohya_from_peft,
    kohya_name,
    kohya_tensors,
    lora_metadata,
    parse_lora_key,
    peft_param_module,
    read_safetensors_header,
    write_safetensors,
)

Q = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"
FLAT = Q.replace(".", "_")


class KeysTest(unittest.TestCase):
    def test_the_three_spellings_name_the_same_layer(self):
        # The spellings core/lora/keys.ts reads; each must land on the same flat module id.
        cases = {
            f"lora_unet_{FLAT}.lora_down.weight": LoraKey("unet", FLAT, "down"),
            f"lora_unet_{FLAT}.lora_up.weight": LoraKey("unet", FLAT, "up"),
            f"lora_unet_{FLAT}.alpha": LoraKey("unet", FLAT, "alpha"),
            f"unet.{Q}.lora_A.weight": LoraKey("unet", FLAT, "down"),
            f"base_model.model.{Q}.lora_B.default.weight": LoraKey("unet", FLAT, "up"),
            f"{Q}.lora.down.weight": LoraKey("unet", FLAT, "down"),
            "down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight": LoraKey("unet", FLAT, "down"),
            "down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight": LoraKey(
                "unet", FLAT.replace("to_q", "to_out_0"), "up"
            ),
            "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": LoraKey(
                "text_encoder", "text_model_encoder_layers_0_self_attn_q_proj", "down"
            ),
            "text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight": LoraKey(
                "text_encoder", "text_model_encoder_layers_0_self_attn_q_proj", "down"
            ),
            f"unet.{Q}.alpha": LoraKey("unet", FLAT, "alpha"),
        }
        for key, want in cases.items():
            self.assertEqual(parse_lora_key(key), want, key)
        self.assertIsNone(parse_lora_key(f"{Q}.weight"))
        self.assertIsNone(parse_lora_key("lora_unet_x.hada_w1_a"))

    def test_kohya_names(self):
        self.assertEqual(kohya_name("unet", Q, "down"), f"lora_unet_{FLAT}.lora_down.weight")
        self.assertEqual(kohya_name("unet", "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0", "alpha"),
                         "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_out_0.alpha")
        self.assertEqual(parse_lora_key(kohya_name("unet", Q, "up")), LoraKey("unet", FLAT, "up"))

    def test_peft_parameters(self):
        self.assertEqual(peft_param_module(f"{Q}.lora_A.default.weight"), (Q, "down"))
        self.assertEqual(peft_param_module(f"{Q}.lora_B.weight"), (Q, "up"))
        self.assertEqual(peft_param_module(f"base_model.model.{Q}.lora_A.weight"), (Q, "down"))
        self.assertIsNone(peft_param_module(f"{Q}.base_layer.weight"))
        self.assertTrue(is_attention_projection(Q))
        self.assertTrue(is_attention_projection("up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_out.0"))
        self.assertFalse(is_attention_projection("down_blocks.0.attentions.0.proj_in"))
        self.assertFalse(is_attention_projection("down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2"))


class InitLoraTest(unittest.TestCase):
    def test_same_weight_change_after_the_copy(self):
        # FaceChain's face_frombase_c4 has no alpha: it merges at 1. Our adapter trains at 32 / 4.
        self.assertAlmostEqual(init_scale(None, 4, 32.0, 4), 1 / 8)
        # A kohya file with alpha 32 at rank 4 already merges at 8: copied as it is.
        self.assertAlmostEqual(init_scale(32.0, 4, 32.0, 4), 1.0)
        # alpha = rank in the adapter (scale 1): a scale-1 source is copied as it is.
        self.assertAlmostEqual(init_scale(None, 4, 4.0, 4), 1.0)
        self.assertAlmostEqual(init_scale(16.0, 4, 4.0, 4), 4.0)


class SafetensorsTest(unittest.TestCase):
    def test_written_file_is_tiled_exactly(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.safetensors"
            a = RawTensor("F32", (2, 3), struct.pack("<6f", *range(6)))
            b = RawTensor("F16", (), b"\x00\x3c")
            size = write_safetensors(str(path), {"b": b, "a": a}, {"k": "v"})
            data = path.read_bytes()
            self.assertEqual(size, len(data))
            (n,) = struct.unpack("<Q", data[:8])
            self.assertEqual(n % 8, 0)
            header = json.loads(data[8 : 8 + n])
            self.assertEqual(header["__metadata__"], {"k": "v"})
            self.assertEqual(header["a"], {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]})
            self.assertEqual(header["b"], {"dtype": "F16", "shape": [], "data_offsets": [24, 26]})
            self.assertEqual(data[8 + n : 8 + n + 24], a.data)
            self.assertEqual(len(data), 8 + n + 26)
            self.assertEqual(read_safetensors_header(str(path))["a"]["shape"], [2, 3])

    def test_refuses_inconsistent_tensors(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(ValueError):
                write_safetensors(str(Path(tmp) / "x"), {"a": RawTensor("F32", (2,), b"\x00" * 4)})
            with self.assertRaises(ValueError):
                write_safetensors(str(Path(tmp) / "x"), {"a": RawTensor("Q8", (1,), b"\x00")})

    def test_kohya_tensors_with_alpha(self):
        down = RawTensor("F32", (4, 320), bytes(4 * 4 * 320))
        up = RawTensor("F32", (320, 4), bytes(4 * 320 * 4))
        t = kohya_tensors([(Q, down, up)], 32)
        self.assertEqual(sorted(t), sorted([f"lora_unet_{FLAT}.lora_down.weight", f"lora_unet_{FLAT}.lora_up.weight", f"lora_unet_{FLAT}.alpha"]))
        self.assertEqual(struct.unpack("<f", t[f"lora_unet_{FLAT}.alpha"].data)[0], 32.0)
        with self.assertRaises(ValueError):
            kohya_tensors([(Q, down, RawTensor("F32", (320, 8), bytes(4 * 320 * 8)))], 32)
        meta = lora_metadata(4, 32, "film", 1000, 5)
        self.assertEqual((meta["ss_network_dim"], meta["ss_network_alpha"]), ("4", "32"))

    def test_from_peft_state(self):
        down = RawTensor("F32", (4, 320), bytes(4 * 4 * 320))
        up = RawTensor("F32", (320, 4), bytes(4 * 320 * 4))
        t = kohya_from_peft({f"{Q}.lora_A.weight": down, f"{Q}.lora_B.weight": up}, 32)
        self.assertEqual(len(t), 3)
        self.assertIs(t[f"lora_unet_{FLAT}.lora_down.weight"], down)
        with self.assertRaisesRegex(ValueError, "lacks its up matrix"):
            kohya_from_peft({f"{Q}.lora_A.weight": down}, 32)
        with self.assertRaisesRegex(ValueError, "not a UNet attention projection"):
            kohya_from_peft({"down_blocks.0.resnets.0.conv1.lora_A.weight": down}, 32)
        with self.assertRaisesRegex(ValueError, "unexpected adapter tensor"):
            kohya_from_peft({f"{Q}.weight": down}, 32)


if __name__ == "__main__":
    unittest.main()
