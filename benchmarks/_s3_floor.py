"""The S3 server's floor for bench_remote: the same transfers by a plain boto3 client.

No hashing, no cache, no manifests: one PUT or GET per object on 16 threads (a folder),
or boto3's own `upload_file` (multipart with its default 8 MiB parts and 10 threads: a
big file). Whatever a real tool does costs at least this on the same server, so a
target that this misses cannot be met by any client there.

    python _s3_floor.py putdir ENDPOINT BUCKET PREFIX FOLDER
    python _s3_floor.py getdir ENDPOINT BUCKET PREFIX FOLDER   # into FOLDER (created)
    python _s3_floor.py putbig ENDPOINT BUCKET PREFIX FILE

Prints the number of objects moved. Credentials come from the environment.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

THREADS = 16


def main() -> None:
    op, endpoint, bucket, prefix, where = sys.argv[1:6]
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=THREADS))
    root = Path(where)
    if op == "putdir":
        files = [p for p in root.rglob("*") if p.is_file()]

        def put(p: Path) -> None:
            key = f"{prefix}/{p.relative_to(root).as_posix()}"
            s3.put_object(Bucket=bucket, Key=key, Body=p.read_bytes())

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(put, files))
        print(len(files))
    elif op == "getdir":
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [obj["Key"] for obj in page.get("Contents", [])]

        def get(key: str) -> None:
            dest = root / key[len(prefix) + 1 :]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(get, keys))
        print(len(keys))
    elif op == "putbig":
        s3.upload_file(os.fspath(root), bucket, f"{prefix}/big.bin")
        print(1)
    else:
        sys.exit(f"_s3_floor: unknown operation {op!r}")


if __name__ == "__main__":
    main()
