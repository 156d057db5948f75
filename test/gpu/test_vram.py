"""The GPU memory check made before training: threshold by memory mode, and advice that helps."""

import unittest

import helpers  # noqa: F401  (puts gpu/ on the path)
from facechain_gpu.vram import CHECKPOINTING_MIN_FREE_GB, DEFAULT_MIN_FREE_GB, GIB, min_free_gb, vram_problem


class VramTest(unittest.TestCase):
    def test_threshold_follows_the_memory_mode_unless_given(self):
        self.assertEqual(min_free_gb(None, False), DEFAULT_MIN_FREE_GB)
        self.assertEqual(min_free_gb(None, True), CHECKPOINTING_MIN_FREE_GB)
        self.assertLess(CHECKPOINTING_MIN_FREE_GB, DEFAULT_MIN_FREE_GB)
        self.assertEqual(min_free_gb(3.5, False), 3.5)
        self.assertEqual(min_free_gb(0.0, True), 0.0)

    def test_enough_memory_is_no_problem(self):
        self.assertIsNone(vram_problem(int(12 * GIB), int(24 * GIB), 10.0, "A10"))

    def test_too_little_names_the_gpu_the_figures_and_what_helps(self):
        msg = vram_problem(int(8 * GIB), int(24 * GIB), 10.0, "A10", 1)
        assert msg is not None
        self.assertIn("GPU 1 (A10) has 8.0 GB free of 24.0 GB", msg)
        self.assertIn("needs about 10 GB", msg)
        self.assertIn("--gradient-checkpointing", msg)
        # The advice works: with checkpointing on, 8 GB passes the threshold it gives.
        self.assertIsNone(vram_problem(int(8 * GIB), int(24 * GIB), min_free_gb(None, True), "A10", 1, True))

    def test_checkpointing_already_on_is_not_suggested_again(self):
        msg = vram_problem(int(4 * GIB), int(8 * GIB), CHECKPOINTING_MIN_FREE_GB, "T4", 0, True)
        assert msg is not None
        self.assertNotIn("--gradient-checkpointing", msg)
        self.assertIn("--min-free-vram-gb", msg)


if __name__ == "__main__":
    unittest.main()
