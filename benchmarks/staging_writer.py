"""What staging Intercom contacts costs once they are read: encoding pages and typing them in DuckDB.

    uv run python benchmarks/staging_writer.py [--records 200000] [--sample 3000]
        [--chunk-rows 5000,20000]

Contacts of a seeded sandbox world, as the emulator serves them in a search page (tags,
companies, custom attributes, location), are repeated with fresh ids into pages of 150 until
``--records`` and handed to ``StagingWriter`` as the extractor does, into a DuckDB file. No
emulator runs and no HTTP is made: this is the write path alone. Pages are made as they are
staged, so a million records fit.

Prints one table: the CPU seconds of encoding every page with the stdlib's ``json.dumps`` and
with orjson (what the writer uses), then the whole staging (encoding, DuckDB typing with
``json_transform``, drift counts, upserts) in wall and CPU seconds and records a second, once per
size of the writer's chunk (``--chunk-rows``), each into a fresh DuckDB file; and the process's
peak RSS after each.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
from extract_common import own_peak_rss_mb

from intercom_salesforce.assets.extract.staging import CHUNK_ROWS, StagingWriter
from intercom_salesforce.extract.entities import CONTACTS
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, seed
from intercom_salesforce.sandbox.world import WorldSize
from intercom_salesforce.warehouse import ident

PAGE = 150


def sample_contacts(root: Path, n: int) -> list[dict[str, Any]]:
    """``n`` contacts of a seeded world, each as a search page item."""
    state = SandboxState(root / "sandbox")
    seed(state, WorldSize(contacts=n), timezone="UTC")
    store = IntercomStore(state.intercom_db)
    ids = [r[0] for r in store.query("SELECT id FROM contacts ORDER BY id")]
    return [json.loads(t) for t in store.contact_bodies(ids, single=False)]


def pages_of(sample: list[dict[str, Any]], records: int) -> Iterator[list[dict[str, Any]]]:
    """``records`` contacts in pages: the sample repeated, each copy with ids of its own."""
    made = 0
    while made < records:
        copy = made // len(sample)
        out = [{**c, "id": f"{c['id']}-{copy}"} for c in sample[: records - made]]
        made += len(out)
        for i in range(0, len(out), PAGE):
            yield out[i : i + PAGE]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Any) -> tuple[float, float]:
    wall, start = time.perf_counter(), cpu()
    fn()
    return time.perf_counter() - wall, cpu() - start


def stage(path: Path, pages: Iterator[list[dict[str, Any]]], chunk_rows: int) -> int:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
    conn.execute(CONTACTS.create_sql())
    writer = StagingWriter(conn, CONTACTS, "benchmark", tz="UTC", chunk_rows=chunk_rows)
    for page in pages:
        writer.add_page(page)
    writer.finish_upsert()
    staged = conn.execute(f"SELECT count(DISTINCT {ident('id')}) FROM {CONTACTS.table}")
    count = staged.fetchall()[0][0]
    conn.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=3_000)
    parser.add_argument("--chunk-rows", default=f"{CHUNK_ROWS}", help="comma-separated sizes")
    args = parser.parse_args()
    n = args.records
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sample = sample_contacts(root, args.sample)
        rows = []
        for label, encode in (
            ("encode pages: json.dumps", lambda p: json.dumps(p, ensure_ascii=False)),
            ("encode pages: orjson.dumps", orjson.dumps),
        ):

            def encode_all(encode: Any = encode) -> None:
                for page in pages_of(sample, n):
                    encode(page)

            wall, used = timed(encode_all)
            rows.append((label, wall, used, ""))
        for size in (int(s) for s in args.chunk_rows.split(",")):
            staged: list[int] = []
            path = root / f"warehouse-{size}.duckdb"

            def run(path: Path = path, size: int = size, staged: list[int] = staged) -> None:
                staged.append(stage(path, pages_of(sample, n), size))

            wall, used = timed(run)
            assert staged == [n], (staged, n)
            path.unlink()
            label = f"stage in chunks of {size:,}: encode, type, count drift, upsert"
            rows.append((label, wall, used, f"{own_peak_rss_mb():,.0f}"))
    print(f"{n:,} contacts in pages of {PAGE}\n")
    print("| step | wall s | CPU s | records/s (wall) | CPU µs/record | peak RSS MB so far |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, wall, used, rss in rows:
        print(
            f"| {label} | {wall:.2f} | {used:.2f} | {n / wall:,.0f} "
            f"| {used / n * 1e6:.1f} | {rss} |"
        )


if __name__ == "__main__":
    main()
