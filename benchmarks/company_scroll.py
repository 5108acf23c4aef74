"""What the Intercom emulator's store spends to serve a full company scroll, page by page.

    uv run python benchmarks/company_scroll.py [--contacts 100000] [--store PATH] [--without-role-index]

A company page is rendered with each company's user count, a join of its contact links to the
contacts' roles. Here a world is seeded (or ``--store`` names a seeded ``intercom.sqlite``; it is
copied, never changed), and every scroll page is read through the store as ``GET /companies/scroll``
reads it (no HTTP), cold. ``--without-role-index`` drops ``contacts_role`` from the copy once it is open, to
show what the index saves. Prints pages, wall and CPU seconds and milliseconds a page.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, seed
from intercom_salesforce.sandbox.world import WorldSize

PAGE = 100  # the emulator's scroll page size


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def scroll(store: IntercomStore) -> tuple[int, float, float]:
    """Pages, wall and CPU seconds of one scroll through every company."""
    pages, last = 0, None
    started, cpu = time.monotonic(), cpu_seconds()
    while True:
        where, params = ("1 = 1", []) if last is None else ("companies.id > ?", [last])
        ids, _ = store.company_page(where, params, "companies.id ASC", 0, PAGE, count=False)
        if not ids:
            break
        store.companies_by_ids(ids)
        last, pages = ids[-1], pages + 1
    return pages, time.monotonic() - started, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="a seeded intercom.sqlite to copy")
    parser.add_argument("--without-role-index", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "intercom.sqlite"
        if args.store:
            shutil.copy(args.store, path)
        else:
            seed(SandboxState(root), WorldSize(contacts=args.contacts))
        store = IntercomStore(path)  # opening creates the store's indexes
        if args.without_role_index:
            with sqlite3.connect(path) as conn:
                conn.execute("DROP INDEX contacts_role")
        pages, wall, used = scroll(store)
        store.close()
    print("| role index | pages | wall s | CPU s | ms a page |")
    print("|---|---:|---:|---:|---:|")
    index = "no" if args.without_role_index else "yes"
    print(f"| {index} | {pages:,} | {wall:.1f} | {used:.1f} | {1000 * wall / max(pages, 1):.1f} |")


if __name__ == "__main__":
    main()
