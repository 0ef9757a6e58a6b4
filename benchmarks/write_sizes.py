"""Why mreg writes blob bytes at most fsutil.WRITE_MAX (512 KiB) at a time.

Copies one file into a new one several times per write size, with a read/write loop
like copy_hashing's (4 MiB reads), and prints each copy's wall and system time. On
this kind of VM, large writes let the kernel fill the page cache with large folios and
some copies then spend seconds of system time; small writes stay steady. Not part of
run.py's suite: it backs one design choice (docs/concepts.md, "Writing blobs").

    python benchmarks/write_sizes.py FILE [--runs 6] [--sizes 4096,2048,512,128]

Writes FILE.copy beside FILE (removed at the end); `sync` before each copy, so that no
copy pays for the write-back of another.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

READ = 4 * 1024 * 1024  # = hashing.CHUNK


def copy_once(src: Path, dst: Path, write_kib: int) -> tuple[float, float]:
    """Copy src to the new file dst in write_kib KiB writes: (wall, system) seconds."""
    dst.unlink(missing_ok=True)
    os.sync()
    step = write_kib * 1024
    buf = bytearray(READ)
    view = memoryview(buf)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    t0 = time.perf_counter()
    fin = os.open(src, os.O_RDONLY)
    fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        while n := os.readv(fin, [view]):
            for at in range(0, n, step):
                chunk = view[at : min(n, at + step)]
                while chunk:
                    chunk = chunk[os.write(fout, chunk) :]
    finally:
        os.close(fin)
        os.close(fout)
    wall = time.perf_counter() - t0
    return wall, resource.getrusage(resource.RUSAGE_SELF).ru_stime - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--sizes", default="4096,2048,512,128", help="write sizes in KiB")
    args = ap.parse_args()
    dst = args.file.with_name(args.file.name + ".copy")
    mib = args.file.stat().st_size / 2**20
    try:
        for kib in (int(s) for s in args.sizes.split(",")):
            runs = [copy_once(args.file, dst, kib) for _ in range(args.runs)]
            shown = "  ".join(f"{w:.2f}/{s:.2f}" for w, s in runs)
            print(f"{mib:.0f} MiB in {kib:>5} KiB writes, wall/system s: {shown}")
    finally:
        dst.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
