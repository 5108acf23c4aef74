"""What staging Intercom contacts costs once they are read: encoding pages and typing them in DuckDB.

    uv run python benchmarks/staging_writer.py [--records 200000] [--sample 3000]

Contacts of a seeded sandbox world, as the emulator serves them in a search page (tags,
companies, custom attributes, location), are repeated with fresh ids into pages of 150 until
``--records`` and handed to ``StagingWriter`` as the extractor does, into a DuckDB file. No
emulator runs and no HTTP is made: this is the write path alone.

Prints one table: the CPU seconds of encoding every page with the stdlib's ``json.dumps`` and
with orjson (what the writer uses), then the whole staging (encoding, DuckDB typing with
``json_transform``, drift counts, upserts) in wall and CPU seconds, records a second, and the
process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson

from intercom_salesforce.assets.extract.staging import StagingWriter
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


def pages_of(sample: list[dict[str, Any]], records: int) -> list[list[dict[str, Any]]]:
    """``records`` contacts in pages: the sample repeated, each copy with ids of its own."""
    out: list[dict[str, Any]] = []
    while len(out) < records:
        copy = len(out) // len(sample)
        out += [{**c, "id": f"{c['id']}-{copy}"} for c in sample[: records - len(out)]]
    return [out[i : i + PAGE] for i in range(0, len(out), PAGE)]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Any) -> tuple[float, float]:
    wall, start = time.perf_counter(), cpu()
    fn()
    return time.perf_counter() - wall, cpu() - start


def stage(path: Path, pages: list[list[dict[str, Any]]]) -> int:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
    conn.execute(CONTACTS.create_sql())
    writer = StagingWriter(conn, CONTACTS, "benchmark", tz="UTC")
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pages = pages_of(sample_contacts(root, args.sample), args.records)
        n = sum(len(p) for p in pages)
        rows = []
        for label, encode in (
            ("encode pages: json.dumps", lambda p: json.dumps(p, ensure_ascii=False)),
            ("encode pages: orjson.dumps", orjson.dumps),
        ):
            wall, used = timed(lambda encode=encode: [encode(p) for p in pages])
            rows.append((label, wall, used))
        staged: list[int] = []
        wall, used = timed(lambda: staged.append(stage(root / "warehouse.duckdb", pages)))
        assert staged == [n], (staged, n)
        rows.append(("stage: encode, type, count drift, upsert", wall, used))
    print(f"{n:,} contacts in pages of {PAGE}\n")
    print("| step | wall s | CPU s | records/s (wall) | CPU µs/record |")
    print("|---|---:|---:|---:|---:|")
    for label, wall, used in rows:
        print(f"| {label} | {wall:.2f} | {used:.2f} | {n / wall:,.0f} | {used / n * 1e6:.1f} |")


if __name__ == "__main__":
    main()
