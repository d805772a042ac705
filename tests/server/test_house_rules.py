"""House rules that keep the code a newcomer can find their way in, beside the import
contracts of `.importlinter`: no module grows past about 500 lines, and no import of our
own code hides inside a function (the usual way to paper over an import cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("server", "emulator", "addin")
# "About 500": room for a docstring or a few lines of formatting, not for a second job.
MAX_LINES = 550
# Data, not code: fixtures and generated strings.
NOT_CODE = ("emulator/fixtures/",)


def code_files() -> list[Path]:
    files = []
    for top in CODE_DIRS:
        for path in (ROOT / top).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            if path.suffix in {".py", ".js"} and "__pycache__" not in relative and not relative.startswith(NOT_CODE):
                files.append(path)
    return files


def test_no_module_is_over_about_500_lines():
    too_long = {}
    for path in code_files():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long[path.relative_to(ROOT).as_posix()] = lines
    assert code_files(), "no code found: the rule would hold vacuously"
    assert too_long == {}, f"split these by job: {too_long}"


def test_our_own_modules_are_imported_at_the_top_of_a_module():
    hidden = []
    for top in ("server", "emulator"):
        for path in (ROOT / top).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom):
                        names = [node.module or ""] if node.level == 0 else ["." * node.level]
                    elif isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    else:
                        continue
                    if any(name.startswith((f"{top}.", ".")) or name == top for name in names):
                        hidden.append(f"{path.relative_to(ROOT)}:{node.lineno} in {function.name}")
    assert hidden == [], f"import these at the top (an import cycle is fixed, not hidden): {hidden}"
