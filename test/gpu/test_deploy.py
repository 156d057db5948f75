"""deploy/: the compose file parses and wires what docs/gpu-host.md says, the Dockerfiles copy
folders that exist, and the GPU worker's trainer command is one train.py accepts. No container
engine runs here, so nothing is built or started (docs/gpu-host.md, "What was not verified")."""

import re
import shlex
import unittest

import helpers
import train

try:
    import yaml
except ImportError:  # PyYAML is not part of a minimal Python
    yaml = None

DEPLOY = helpers.REPO / "deploy"
NODE_SERVICES = ("bot", "cpu-worker", "gpu-worker")


@unittest.skipIf(yaml is None, "PyYAML is not installed: compose.yaml is not parsed (apt-get install python3-yaml)")
class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
        cls.services = cls.compose["services"]

    def test_services(self):
        self.assertEqual(set(self.services), {"redis", "minio", "minio-bucket", *NODE_SERVICES})
        redis = " ".join(self.services["redis"]["command"])
        self.assertIn("--appendonly yes", redis)
        self.assertIn("--maxmemory-policy noeviction", redis)

    def test_every_node_process_shares_redis_and_the_artifact_store(self):
        for name in NODE_SERVICES:
            env = self.services[name]["environment"]
            self.assertEqual(env["REDIS_URL"], "redis://redis:6379", name)
            self.assertTrue(env["FACECHAIN_ARTIFACTS_URL"].startswith("s3://"), name)
            self.assertIn("AWS_ACCESS_KEY_ID", env)
            self.assertIn("facechain-data:/data", self.services[name]["volumes"], name)
            dockerfile = DEPLOY.parent / self.services[name]["build"]["dockerfile"]
            self.assertTrue(dockerfile.is_file(), dockerfile)
        self.assertEqual(self.services["bot"]["environment"]["FACECHAIN_WORKER_QUEUES"], "")
        self.assertEqual(self.services["cpu-worker"]["command"], ["worker", "--queues", "cpu"])

    def test_gpu_worker(self):
        gpu = self.services["gpu-worker"]
        self.assertEqual(gpu["command"], ["worker", "--queues", "gpu-sd15"])
        device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
        self.assertEqual((device["driver"], device["capabilities"]), ("nvidia", ["gpu"]))
        env = gpu["environment"]
        self.assertEqual(env["FACECHAIN_EXECUTION_PROVIDERS"], "cuda,cpu")
        argv = shlex.split(env["FACECHAIN_TRAINER_CMD"])
        self.assertEqual(argv[1], "/app/gpu/train.py")
        # The host's options plus what the worker appends form a valid train.py command line.
        args = train.build_parser().parse_args([*argv[2:], "--dataset", "d", "--output", "o.safetensors", "--steps", "800"])
        self.assertEqual(args.base, "/bases/film")


class DockerfilesTest(unittest.TestCase):
    def test_copied_paths_exist(self):
        for name in ("cpu.Dockerfile", "gpu.Dockerfile"):
            text = (DEPLOY / name).read_text(encoding="utf-8")
            self.assertTrue((DEPLOY / f"{name}.dockerignore").is_file(), name)
            for line in text.splitlines():
                m = re.match(r"^COPY\s+(?!--from)(.+)\s+\S+$", line)
                if not m:
                    continue
                for src in m.group(1).split():
                    self.assertTrue((DEPLOY.parent / src).exists(), f"{name}: COPY {src}")

    def test_gpu_image(self):
        text = (DEPLOY / "gpu.Dockerfile").read_text(encoding="utf-8")
        self.assertRegex(text, r"FROM nvidia/cuda:12\.[0-9.]+-cudnn-runtime")
        # The script by name: .npmrc's ignore-scripts makes `npm rebuild` run no install script.
        self.assertIn("ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js", text)
        self.assertNotIn("npm rebuild onnxruntime-node", text)
        guide = (DEPLOY.parent / "docs" / "gpu-host.md").read_text(encoding="utf-8")
        self.assertNotIn("npm rebuild onnxruntime-node", guide)
        self.assertIn("pip install --no-cache-dir -r /tmp/requirements.txt", text)
        cpu = (DEPLOY / "cpu.Dockerfile").read_text(encoding="utf-8")
        self.assertIn("ONNXRUNTIME_NODE_INSTALL=skip", cpu)

    def test_requirements_are_pinned(self):
        lines = [ln.strip() for ln in (helpers.GPU / "requirements.txt").read_text().splitlines()]
        reqs = [ln for ln in lines if ln and not ln.startswith("#")]
        self.assertTrue({"torch", "diffusers", "transformers", "peft", "onnx"} <= {r.split("==")[0] for r in reqs})
        for r in reqs:
            self.assertRegex(r, r"^[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*$")


if __name__ == "__main__":
    unittest.main()
