"""What a step's freed query frame leaves resident, and what the warehouse resource gives back.

    uv run python benchmarks/freed_memory.py [--rows 1000000] [--columns 24]

A run's steps share one process, so memory a step freed but its allocators kept is still resident
under the next step. Here a DuckDB query result of ``--rows`` rows of ``--columns`` text columns
is turned into a pandas frame (through Arrow's pool, as the quality gate does), then freed; the
process's resident memory is printed after each stage: freed, after glibc's ``malloc_trim``, and
after ``release_freed_memory`` (both ``malloc_trim`` and Arrow's ``release_unused``).
"""

from __future__ import annotations

import argparse
import gc

import duckdb
import pyarrow as pa
from scale_child import own_rss_mb  # benchmarks/ is on the path when a script here runs

from intercom_salesforce.resources.warehouse import _malloc_trim, release_freed_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=24)
    args = parser.parse_args()
    figures = [("before the query", own_rss_mb())]
    columns = ", ".join(f"'c{i}-' || range::VARCHAR AS c{i}" for i in range(args.columns))
    conn = duckdb.connect()
    frame = conn.execute(f"SELECT {columns} FROM range({args.rows})").df()
    figures.append(("frame held", own_rss_mb()))
    conn.close()
    del frame
    gc.collect()
    figures.append(("frame freed", own_rss_mb()))
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
        figures.append(("after malloc_trim", own_rss_mb()))
    release_freed_memory()
    figures.append(("after release_freed_memory", own_rss_mb()))
    print(
        f"{args.rows:,} rows x {args.columns} text columns; Arrow pool: "
        f"{pa.default_memory_pool().backend_name}"
    )
    print("| stage | resident MB |")
    print("|---|---:|")
    for stage, mb in figures:
        print(f"| {stage} | {mb:,.0f} |")


if __name__ == "__main__":
    main()
