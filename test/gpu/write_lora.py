"""Write a face LoRA exactly as gpu/train.py does, from a PEFT-style adapter state of SD 1.5's 128
UNet attention projections (rank 4, deterministic values), for test/gpu/scripts.test.ts to check
with the project's own LoRA validation. Usage: python3 write_lora.py OUT.safetensors"""

import struct
import sys

import helpers  # noqa: F401
from facechain_gpu.lora_format import RawTensor, kohya_from_peft, lora_metadata, write_safetensors

BLOCKS = [("down_blocks.0.attentions.0", 320), ("down_blocks.0.attentions.1", 320), ("down_blocks.1.attentions.0", 640),
          ("down_blocks.1.attentions.1", 640), ("down_blocks.2.attentions.0", 1280), ("down_blocks.2.attentions.1", 1280),
          ("mid_block.attentions.0", 1280)]
BLOCKS += [(f"up_blocks.{u}.attentions.{i}", c) for u, c in ((1, 1280), (2, 640), (3, 320)) for i in range(3)]
RANK = 4


def matrix(rows: int, cols: int, seed: int) -> RawTensor:
    values = [((seed * 31 + i * 17) % 97 - 48) / 4800.0 for i in range(rows * cols)]
    return RawTensor("F32", (rows, cols), struct.pack(f"<{len(values)}f", *values))


def main(out: str) -> None:
    state = {}
    n = 0
    for block, c in BLOCKS:
        for attn in ("attn1", "attn2"):
            kv = c if attn == "attn1" else 768
            for layer, inp in (("to_q", c), ("to_k", kv), ("to_v", kv), ("to_out.0", c)):
                module = f"{block}.transformer_blocks.0.{attn}.{layer}"
                state[f"{module}.lora_A.weight"] = matrix(RANK, inp, n)
                state[f"{module}.lora_B.weight"] = matrix(c, RANK, n + 1)
                n += 2
    size = write_safetensors(out, kohya_from_peft(state, 32), lora_metadata(RANK, 32, "film", 600, 3))
    print(f"wrote {n // 2} layers, {size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
