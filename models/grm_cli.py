"""Python access to the repository's ``grm`` executable.

``tokenize(texts, tokenizer_path)`` runs ``./grm tokenize --tokenizer PATH`` once for all texts: one
JSON string per line on stdin, one JSON id array per line on stdout. This gives exactly the ids the C#
worker computes (our tokenizer, not a Python re-implementation), which is what training data for the
GRM and the meta-RM must use. Both pipes go through ``communicate()``, so 100k texts do not deadlock on
a full pipe buffer.

``GRM_LAUNCHER`` overrides the launcher path (default: ``grm`` at the repository root, which builds
the app when its sources changed).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import List, Optional, Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GrmCliError(RuntimeError):
    """``./grm`` failed or answered something other than one id array per input text."""


def launcher() -> str:
    return os.environ.get("GRM_LAUNCHER") or os.path.join(REPO_ROOT, "grm")


def run_grm(args: Sequence[str], stdin_text: str = "", timeout: Optional[float] = None) -> str:
    """Runs ``./grm ARGS`` with ``stdin_text``; returns stdout or raises GrmCliError with stderr."""
    cmd = [launcher(), *args]
    try:
        proc = subprocess.run(
            cmd,
            input=stdin_text.encode("utf-8"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as e:
        raise GrmCliError(f"cannot run {cmd[0]}: {e} (set GRM_LAUNCHER to the grm launcher)") from e
    except subprocess.TimeoutExpired as e:
        raise GrmCliError(f"{' '.join(cmd)} did not finish within {timeout} s") from e
    stderr = proc.stderr.decode("utf-8", errors="replace").strip()
    if proc.returncode != 0:
        raise GrmCliError(f"{' '.join(cmd)} exited with {proc.returncode}: {stderr or '(no stderr)'}")
    return proc.stdout.decode("utf-8")


def tokenize(texts: List[str], tokenizer_path: str, add_special_tokens: bool = False,
             timeout: Optional[float] = None) -> List[List[int]]:
    """Token ids of each text with the C# tokenizer, in order (one ``./grm tokenize`` process)."""
    if not texts:
        return []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, not str")
    path = os.path.abspath(tokenizer_path)
    if not os.path.isfile(path):
        raise GrmCliError(f"tokenizer file not found: {path}")
    args = ["tokenize", "--tokenizer", path]
    if add_special_tokens:
        args.append("--add-special-tokens")
    # ensure_ascii: every line is plain ASCII (newlines and any code point are escaped)
    stdin_text = "".join(json.dumps(t, ensure_ascii=True) + "\n" for t in texts)
    out = run_grm(args, stdin_text, timeout)
    lines = out.splitlines()
    if len(lines) != len(texts):
        raise GrmCliError(f"grm tokenize answered {len(lines)} lines for {len(texts)} texts")
    ids = []
    for n, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise GrmCliError(f"grm tokenize output line {n} is not JSON: {line[:200]!r}") from e
        if not isinstance(row, list) or not all(isinstance(x, int) for x in row):
            raise GrmCliError(f"grm tokenize output line {n} is not an array of ids: {line[:200]!r}")
        ids.append(row)
    return ids
