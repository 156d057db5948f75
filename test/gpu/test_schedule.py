"""Steps from the photo count, the learning-rate schedule, progress lines as the worker reads them."""

import math
import unittest

import helpers  # noqa: F401  (puts gpu/ on the path)
from facechain_gpu.cli import UsageError, safe_text
from facechain_gpu.schedule import log_every, lr_factor, progress_line, steps_for, worker_progress


class StepsTest(unittest.TestCase):
    def test_facechain_rule_is_200_epochs_over_the_photos(self):
        self.assertEqual(steps_for(1, policy="epochs", given=800).steps, 200)
        self.assertEqual(steps_for(5, policy="epochs", given=800).steps, 1000)
        self.assertEqual(steps_for(12, policy="epochs", given=800).steps, 2400)
        self.assertIn("200 epochs x 5 photos = 1000 steps", steps_for(5, policy="epochs", given=800).reason)

    def test_capped(self):
        p = steps_for(20, policy="epochs", given=800)
        self.assertEqual(p.steps, 3000)
        self.assertIn("capped at --max-steps 3000", p.reason)
        self.assertEqual(steps_for(20, policy="epochs", given=800, max_steps=5000).steps, 4000)
        self.assertEqual(steps_for(3, policy="epochs", given=800, epochs=100).steps, 300)

    def test_given_policy_uses_the_jobs_steps(self):
        self.assertEqual(steps_for(5, policy="given", given=800).steps, 800)

    def test_errors(self):
        with self.assertRaises(UsageError):
            steps_for(0, policy="epochs", given=800)
        with self.assertRaises(UsageError):
            steps_for(3, policy="weekly", given=800)
        with self.assertRaises(UsageError):
            steps_for(3, policy="given", given=0)


class LearningRateTest(unittest.TestCase):
    def test_cosine_without_warmup(self):
        # diffusers' get_cosine_schedule_with_warmup(num_warmup_steps=0, num_cycles=0.5).
        self.assertEqual(lr_factor(0, 1000, "cosine"), 1.0)
        self.assertAlmostEqual(lr_factor(500, 1000, "cosine"), 0.5)
        self.assertAlmostEqual(lr_factor(250, 1000, "cosine"), 0.5 * (1 + math.cos(math.pi / 4)))
        self.assertAlmostEqual(lr_factor(1000, 1000, "cosine"), 0.0)
        values = [lr_factor(s, 100, "cosine") for s in range(101)]
        self.assertTrue(all(a >= b for a, b in zip(values, values[1:])))

    def test_other_schedules(self):
        self.assertEqual(lr_factor(30, 100, "constant"), 1.0)
        self.assertAlmostEqual(lr_factor(30, 100, "linear"), 0.7)
        with self.assertRaises(UsageError):
            lr_factor(1, 10, "exponential")


class ProgressTest(unittest.TestCase):
    def test_progress_line_format(self):
        self.assertEqual(progress_line(120, 1000, 0.08314, 1.4e-4), "step 120/1000 loss 0.0831 lr 1.400e-04")
        self.assertEqual(progress_line(5, 10, 0.5, 1e-4, 3.256), "step 5/10 loss 0.5000 lr 1.000e-04 3.26 it/s")

    def test_the_worker_reads_the_step_fraction(self):
        self.assertEqual(worker_progress(progress_line(120, 1000, 0.08, 1.4e-4, 3.3)), 0.12)
        self.assertEqual(worker_progress(progress_line(1000, 1000, 0.08, 0.0)), 1.0)

    def test_other_lines_are_never_read_as_progress(self):
        for text in ("wrote /tmp/run-3/4/out.safetensors", "dataset: 07/12 photos", "GPU 1/2 has 3/4 free"):
            self.assertIsNotNone(worker_progress(text))
            self.assertIsNone(worker_progress(safe_text(text)), safe_text(text))
        self.assertEqual(safe_text("no fractions here"), "no fractions here")

    def test_about_a_hundred_lines(self):
        self.assertEqual(log_every(3000), 30)
        self.assertEqual(log_every(50), 1)


if __name__ == "__main__":
    unittest.main()
