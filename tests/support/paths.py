"""Where the repository is, for tests that read or run its files."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
