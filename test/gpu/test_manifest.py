"""Manifest writing (sha256, size, the schema of models/manifest.ts) and the ONNX reader that
describes an export's inputs and outputs."""

import hashlib
import json
import tempfile
import unittest
from pathlib import Path

import helpers
from facechain_gpu.cli import UsageError
from facechain_gpu.manifest import build_manifest, file_entries, folder_files, sha256_file, validate_manifest, write_manifest
from facechain_gpu.onnx_info import OnnxFormatError, read_onnx_info

FLOAT, INT64, FLOAT16, DOUBLE = 1, 7, 10, 11


class OnnxInfoTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_inputs_outputs_and_external_files(self):
        path = helpers.onnx_model(
            self.root / "unet" / "model.onnx",
            inputs=[
                helpers.value_info("sample", FLOAT16, ["batch", 4, "height", "width"]),
                helpers.value_info("timestep", INT64, ["batch"]),
            ],
            outputs=[helpers.value_info("out_sample", FLOAT16, ["batch", 4, "height", "width"])],
            inits=[helpers.initializer("w1", location="weights.pb"), helpers.initializer("w2", raw=bytes(4096))],
            # Older exports list initializers among the inputs; they are not model inputs.
            extra_inputs=[helpers.value_info("w2", DOUBLE, [1024])],
        )
        info = read_onnx_info(path)
        self.assertEqual(
            [t.spec() for t in info.inputs],
            [
                {"name": "sample", "type": "float16", "shape": ["batch", 4, "height", "width"]},
                {"name": "timestep", "type": "int64", "shape": ["batch"]},
            ],
        )
        self.assertEqual(info.outputs[0].spec()["name"], "out_sample")
        self.assertEqual(info.initializers, 2)
        self.assertEqual(info.external_files, {"weights.pb"})

    def test_refuses_what_it_cannot_describe(self):
        bad = helpers.onnx_model(self.root / "d.onnx", [helpers.value_info("x", DOUBLE, [1])], [])
        with self.assertRaisesRegex(OnnxFormatError, "x is double"):
            read_onnx_info(bad)
        junk = self.root / "junk.onnx"
        junk.write_bytes(b"\xff\xff\xff\xff")
        with self.assertRaises(OnnxFormatError):
            read_onnx_info(junk)
        cut = self.root / "cut.onnx"
        cut.write_bytes(helpers.field(7, helpers.field(11, helpers.value_info("x", FLOAT, [1])))[:-3])
        with self.assertRaises(OnnxFormatError):
            read_onnx_info(cut)
        empty = self.root / "empty.onnx"
        empty.write_bytes(helpers.field(1, 8))
        with self.assertRaisesRegex(OnnxFormatError, "no graph"):
            read_onnx_info(empty)


class ManifestTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_entries_carry_sha256_and_size(self):
        (self.root / "unet").mkdir()
        (self.root / "unet" / "weights.pb").write_bytes(b"abc" * 1000)
        (self.root / "model_index.json").write_text("{}")
        (self.root / ".hidden").write_text("x")
        names = folder_files(self.root)
        self.assertEqual(names, ["model_index.json", "unet/weights.pb"])
        entries = file_entries(self.root, names, "/srv/exports/sd15-film/")
        self.assertEqual(
            entries[1],
            {
                "name": "unet/weights.pb",
                "source": "file:/srv/exports/sd15-film/unet/weights.pb",
                "sha256": hashlib.sha256(b"abc" * 1000).hexdigest(),
                "size": 3000,
            },
        )
        self.assertEqual(sha256_file(self.root / "model_index.json"), hashlib.sha256(b"{}").hexdigest())

    def test_bad_folders(self):
        (self.root / "a b.txt").write_text("x")
        with self.assertRaisesRegex(UsageError, "characters a manifest file name cannot have"):
            folder_files(self.root)
        (self.root / "a b.txt").unlink()
        (self.root / "empty.onnx").write_bytes(b"")
        with self.assertRaisesRegex(UsageError, "is empty"):
            file_entries(self.root, ["empty.onnx"], "/x")

    def manifest(self, **over):
        base = dict(
            model_id="sd15-film",
            task="text-to-image",
            description="d",
            files=[{"name": "unet/model.onnx", "source": "file:/x/unet/model.onnx", "sha256": "a" * 64, "size": 10}],
            licence={"spdx": "CreativeML-OpenRAIL-M"},
            inputs=[{"name": "sample", "type": "float16", "shape": ["batch", 4, 64, 64]}],
        )
        base.update(over)
        return build_manifest(**base)

    def test_valid_manifest_round_trip(self):
        m = self.manifest()
        self.assertTrue(m["verified"])
        path = self.root / "sd15-film.json"
        write_manifest(path, m)
        self.assertEqual(json.loads(path.read_text()), m)
        self.assertFalse((self.root / "sd15-film.json.part").exists())

    def test_schema_rules(self):
        bad = {
            "model_id": "SD15 Film",
            "task": "",
            "files": [{"name": "../x", "source": "ftp://x", "sha256": "abc", "size": 0}],
            "inputs": [{"name": "x", "type": "float64", "shape": [-1]}],
            "licence": {"source": "x"},
        }
        for key, value in bad.items():
            with self.assertRaises(UsageError, msg=key):
                self.manifest(**{key: value})
        twice = {"name": "a", "source": "file:/a", "sha256": "b" * 64, "size": 1}
        with self.assertRaisesRegex(UsageError, "listed twice"):
            self.manifest(files=[twice, twice])
        with self.assertRaisesRegex(UsageError, "verified"):
            validate_manifest({**self.manifest(), "verified": False})


if __name__ == "__main__":
    unittest.main()
