"""The scripts as an operator and the worker run them: --help without torch, exit codes, --dry-run,
--manifest-only."""

import contextlib
import importlib
import importlib.util
import io
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import helpers
from facechain_gpu.cli import run_main
from facechain_gpu.schedule import worker_progress

HAS_TORCH = importlib.util.find_spec("torch") is not None
# What core/identity/trainer.ts appends (trainerArgs).
CONTRACT = ["--steps", "800", "--rank", "4", "--alpha", "32", "--learning-rate", "1.5e-4", "--lr-scheduler", "cosine",
            "--resolution", "512", "--seed", "42", "--trigger", "<fcsks>"]


def spawn(script: str, *args: str) -> subprocess.CompletedProcess:
    """The script in its own interpreter, as the worker starts it."""
    return subprocess.run(
        [sys.executable, str(helpers.GPU / script), *args],
        capture_output=True, text=True, env=helpers.env_without_torch(), timeout=60,
    )


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    """The script's main in this interpreter (same code and exit codes, no start-up cost)."""
    module = importlib.import_module(script.removesuffix(".py"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run_main(module.main, list(args))
        except SystemExit as e:  # argparse's own exits (--help, usage errors)
            code = e.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


class TrainCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self.base = helpers.diffusers_folder(self.root / "film")
        self.data = helpers.dataset(self.root / "dataset", ["<fcsks>, a handsome man"] * 3)
        (self.root / "out").mkdir()
        self.out = str(self.root / "out" / "face_lora.safetensors")

    def tearDown(self):
        self.tmp.cleanup()

    def train(self, *extra: str, runner=run) -> subprocess.CompletedProcess:
        # As the worker runs it: the host's options first, the contract appended (so it wins).
        return runner("train.py", "--base", str(self.base), "--dataset", str(self.data), "--output", self.out, *CONTRACT, *extra)

    def test_help_needs_no_torch(self):
        r = spawn("train.py", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--dataset", r.stdout)
        self.assertIn("Exit codes", r.stdout)

    def test_dry_run_accepts_the_contract(self):
        r = self.train("--dry-run", runner=spawn)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("200 epochs x 3 photos = 600 steps", r.stdout)
        self.assertIn("dry run", r.stdout)
        self.assertFalse(Path(self.out).exists())
        # Nothing it prints may move the worker's progress bar.
        for line in r.stdout.splitlines() + r.stderr.splitlines():
            self.assertIsNone(worker_progress(line), line)
        r = self.train("--dry-run", "--step-policy", "given")
        self.assertIn("800 steps as given", r.stdout)

    def test_usage_errors_exit_2(self):
        cases = [
            (("--dry-run", "--bogus"), "unrecognized arguments"),
            (("--dry-run", "--rank", "0"), "--rank must be 1 to 128"),
            (("--dry-run", "--resolution", "500"), "--resolution must be a multiple of 8"),
            (("--dry-run", "--learning-rate", "nan"), "--learning-rate"),
            (("--dry-run", "--lr-scheduler", "exp"), "--lr-scheduler must be one of"),
            (("--dry-run", "--device", "cpu"), "training needs a GPU"),
            (("--dry-run", "--init-lora", "/nonexistent.bin"), "does not exist"),
        ]
        for args, text in cases:
            r = self.train(*args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn(text, r.stderr, args)
        r = run("train.py", "--dataset", str(self.data), "--output", self.out, "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--base is required", r.stderr)
        r = run("train.py", "--base", str(self.base), "--dataset", str(self.root / "none"), "--output", self.out, "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("does not exist", r.stderr)
        r = run("train.py", "--base", str(self.base), "--dataset", str(self.data), "--output", str(self.root / "no" / "x.safetensors"), "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("does not exist", r.stderr)

    @unittest.skipIf(HAS_TORCH, "torch is installed here: the missing-package path cannot be shown")
    def test_without_torch_a_real_run_is_an_environment_error(self):
        r = self.train(runner=spawn)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("training needs torch", r.stderr)
        self.assertIn("pip install -r gpu/requirements.txt", r.stderr)


class ExportCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_help_needs_no_torch(self):
        r = spawn("export.py", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--controlnet-openpose", r.stdout)

    def test_dry_run_and_usage_errors(self):
        src = helpers.checkpoint(self.root / "majicmix.safetensors")
        out = str(self.root / "sd15-majicmix")
        r = run("export.py", "--source", str(src), "--out", out, "--id", "sd15-majicmix-realistic-v6", "--fp16", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(Path(out).exists())
        cases = [
            (("--out", out), "--source is required"),
            (("--source", str(src)), "give --out"),
            (("--source", str(src), "--out", out, "--id", "Bad Id"), "--id 'Bad Id'"),
            (("--source", str(src), "--out", out, "--fp16", "--device", "cpu"), "--fp16 needs a CUDA GPU"),
            (("--source", str(src), "--out", out, "--opset", "9"), "--opset must be"),
            (("--source", str(src), "--out", out, "--controlnet-canny", str(self.root / "none")), "does not exist"),
            (("--source", str(src), "--out", out, "--fact-base", "film"), "FACT export needs all of"),
            (("--source", str(src), "--out", out, "--frobnicate"), "unrecognized arguments"),
        ]
        for args, text in cases:
            r = run("export.py", *args, "--dry-run")
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(text, r.stderr, args)
        Path(out).mkdir()
        (Path(out) / "notes.txt").write_text("mine")
        r = run("export.py", "--source", str(src), "--out", out, "--dry-run")
        self.assertIn("is not empty", r.stderr)
        r = run("export.py", "--source", str(src), "--out", out, "--overwrite", "--dry-run")
        self.assertIn("refuses to delete", r.stderr)

    def test_manifest_only(self):
        folder = self.root / "exports" / "cn"
        helpers.onnx_model(folder / "model.onnx", [helpers.value_info("sample", 1, ["batch", 4, "h", "w"])],
                           [helpers.value_info("mid_block_res_sample", 1, ["batch", 1280, "h", "w"])])
        r = run("export.py", "--manifest-only", str(folder), "--id", "controlnet-openpose", "--task", "controlnet",
                "--source-prefix", "exports/controlnet-openpose")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = json.loads((self.root / "exports" / "controlnet-openpose.json").read_text())
        self.assertEqual(m["files"][0]["source"], "file:exports/controlnet-openpose/model.onnx")
        self.assertEqual(m["inputs"][0]["shape"], ["batch", 4, "h", "w"])
        r = run("export.py", "--manifest-only", str(folder), "--id", "sd15-x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a complete SD model folder", r.stderr)
        helpers.onnx_model(folder / "model.onnx", [helpers.value_info("x", 1, [1])], [], inits=[helpers.initializer("w", location="weights.pb")])
        r = run("export.py", "--manifest-only", str(folder), "--id", "controlnet-openpose", "--task", "controlnet")
        self.assertEqual(r.returncode, 2)
        self.assertIn("external weights that are missing: weights.pb", r.stderr)


if __name__ == "__main__":
    unittest.main()
