"""Exit codes, error classes and output helpers shared by the GPU-host scripts.

Exit codes (the worker only sees "not 0", an operator reads the rest):
  0  done
  1  unexpected failure (a Python traceback follows)
  2  usage or input error: bad option, missing or malformed file, bad dataset
  3  environment error: a Python package missing, no CUDA GPU, not enough GPU memory
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Callable, NoReturn, Sequence

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3


class UsageError(Exception):
    """The caller's fault: options, paths, dataset contents. Exit code 2."""


class EnvironmentProblem(Exception):
    """The machine's fault: packages, GPU, memory. Exit code 3."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's wording; argparse already exits with 2 on usage errors."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


# The worker reads the last "N/M" of every output line as training progress
# (core/identity/trainer.ts parseProgress), so no other line may contain one.
_FRACTION = re.compile(r"(\d)(\s*)/(\s*)(\d)")


def safe_text(text: str) -> str:
    """Text that cannot be mistaken for a progress line: "1/2" becomes "1∕2"."""
    # U+2215 DIVISION SLASH reads like "/" for a person but is not matched by the worker.
    return _FRACTION.sub(lambda m: f"{m.group(1)}{m.group(2)}\u2215{m.group(3)}{m.group(4)}", text)


def info(text: str) -> None:
    """An informational line on stdout (flushed: the worker reads it as it comes)."""
    print(safe_text(text), flush=True)


def warn(text: str) -> None:
    print(safe_text(f"warning: {text}"), file=sys.stderr, flush=True)


def run_main(main: Callable[[Sequence[str]], int], argv: Sequence[str] | None = None) -> int:
    """Run a script's main with the exit codes above; errors print one clear line, no traceback."""
    try:
        return main(sys.argv[1:] if argv is None else argv)
    except UsageError as e:
        print(safe_text(f"error: {e}"), file=sys.stderr, flush=True)
        return EXIT_USAGE
    except EnvironmentProblem as e:
        print(safe_text(f"error: {e}"), file=sys.stderr, flush=True)
        return EXIT_ENVIRONMENT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return 130


def require_packages(purpose: str, modules: Sequence[str]) -> None:
    """Import-check the heavy packages before any work, so a missing one is a clear exit 3."""
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            missing.append(f"{name} ({e})")
    if missing:
        raise EnvironmentProblem(
            f"{purpose} needs {', '.join(missing)}. Install the pinned versions: "
            "python3 -m pip install -r gpu/requirements.txt"
        )
