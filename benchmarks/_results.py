"""Writing a benchmark's RESULTS-*.md: header, machine, table, and the kept `## Notes`."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def write_results(out: Path, title: str, script: str, desc: list[str], body: str) -> None:
    """Write out, keeping a `## Notes` section a person added to the previous file."""
    notes = ""
    if out.exists():
        old = out.read_text()
        at = old.find("\n## Notes")
        if at >= 0:
            notes = old[at:]
    cmd = " ".join(["python", f"benchmarks/{script}", *sys.argv[1:]])
    made = f"Made by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M %Z')}."
    text = "\n".join(
        [f"# {title}", "", made, "", "## Machine", "", *desc, "", "## Results", "", body, ""]
    )
    if notes:
        text += "\n" + notes.strip("\n") + "\n"
    out.write_text(text)
