"""Helpers of facechain-bot's GPU-host scripts (gpu/export.py, gpu/train.py).

Everything in this package imports without torch, diffusers or a GPU, so `--help`, `--dry-run`
and the unit tests (test/gpu/) run anywhere. The modules that need torch are named torch_*.py and
are imported only when a real export or training starts.
"""
