"""``benchmarks/RESULTS.md`` holds one section per benchmark command (the latency run, the scale
run); each command rewrites its own section and leaves the others as they are."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, text: str, heading: str) -> None:
    """Replace the ``heading`` section (up to the next top-level heading), or append it; the
    file's other sections stay as they are."""
    old = path.read_text() if path.exists() else ""
    if old.startswith(f"{heading}\n"):
        old = "\n" + old  # the first section: found like any other, the newline dropped below
    start = old.find(f"\n{heading}\n")
    if start < 0:
        path.write_text(old.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")
        return
    rest = old[start + 1 :]
    end = rest.find("\n# ", 1)
    tail = rest[end + 1 :] if end >= 0 else ""
    head = old[: start + 1].lstrip("\n")
    path.write_text(head + text.rstrip("\n") + "\n" + ("\n" + tail if tail else ""))
