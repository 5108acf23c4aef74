"""``intercom-salesforce``: the demo, the sandbox's seed/reset/serve, and a run summary."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from intercom_salesforce import settings

CREDENTIAL_VARS = (
    "INTERCOM_ACCESS_TOKEN",
    *settings.SF_CREDENTIAL_VARS,
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_PASSWORD",
)


def _state():
    from intercom_salesforce.sandbox.runtime import SandboxState

    return SandboxState(settings.paths().sandbox)


def _prepare_dagster_home() -> Path:
    """DAGSTER_HOME under var/, holding a copy of the project's dagster.yaml."""
    home = settings.paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    src = settings.project_root() / "dagster.yaml"
    if not src.exists():  # a home outside the checkout: use the checkout's instance config
        src = Path(__file__).resolve().parents[1] / "dagster.yaml"
    if src.exists():
        shutil.copyfile(src, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def cmd_seed(args: argparse.Namespace) -> int:
    from intercom_salesforce.sandbox.runtime import reset, seed
    from intercom_salesforce.sandbox.world import WorldSize

    state = _state()
    if args.reset:
        reset(state)
    info = seed(
        state,
        WorldSize(contacts=args.contacts, days=args.days),
        seed_value=args.seed,
        timezone=settings.workspace_timezone(),
    )
    print(f"Seeded the sandbox in {info['seconds']} s under {state.root}")
    print(f"  Intercom:   {info['intercom']}")
    print(f"  Salesforce: {info['salesforce']}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from intercom_salesforce.sandbox.runtime import reset

    state = _state()
    reset(state)
    if args.warehouse:
        for path in (settings.paths().warehouse, settings.paths().work):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    print(f"Sandbox state removed from {state.root}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from intercom_salesforce.sandbox.runtime import seed, start

    state = _state()
    if state.seeded() is None:
        seed(state, timezone=settings.workspace_timezone())
    sandbox = start(state, intercom_port=args.intercom_port, salesforce_port=args.salesforce_port)
    print(f"Intercom emulator:   {sandbox.intercom_url}")
    print(
        f"Salesforce emulator: {sandbox.salesforce_url}  (records: {sandbox.salesforce_url}/_sandbox/)"
    )
    print("Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sandbox.stop()
    return 0


def _partition_range(intercom) -> tuple[str, str] | None:
    """First and last day with data: the oldest ``updated_at`` in Intercom, through today."""
    from intercom_salesforce.assets.partitions import daily_partitions

    client = intercom.client()
    page = next(
        client.search_pages(
            "contacts",
            {"field": "updated_at", "operator": ">", "value": 0},
            per_page=1,
            sort={"field": "updated_at", "order": "ascending"},
        )
    )
    if not page.get("data"):
        return None
    oldest = (
        datetime.fromtimestamp(
            page["data"][0]["updated_at"], ZoneInfo(settings.workspace_timezone())
        )
        .date()
        .isoformat()
    )
    first = max(oldest, daily_partitions.get_first_partition_key())
    return first, daily_partitions.get_last_partition_key()


def _port(url: str) -> int:
    return urlparse(url).port or (443 if url.startswith("https") else 80)


def cmd_demo(args: argparse.Namespace) -> int:
    for var in CREDENTIAL_VARS:
        if os.environ.pop(var, None):
            print(f"(demo runs on the sandbox: ignoring {var} for this run)")
    os.environ.setdefault(
        "SANDBOX_INTERCOM_URL", f"http://127.0.0.1:{settings.DEFAULT_INTERCOM_PORT}"
    )
    os.environ.setdefault(
        "SANDBOX_SALESFORCE_URL", f"https://127.0.0.1:{settings.DEFAULT_SALESFORCE_PORT}"
    )
    from intercom_salesforce.sandbox.runtime import reset, seed, start

    state = _state()
    if args.reset:
        reset(state)
        for path in (settings.paths().warehouse,):
            if path.exists():
                path.unlink()
    if state.seeded() is None:
        print("Seeding the sandbox ...", flush=True)
        from intercom_salesforce.sandbox.world import WorldSize

        info = seed(
            state, WorldSize(contacts=args.contacts), timezone=settings.workspace_timezone()
        )
        print(f"  Intercom {info['intercom']}\n  Salesforce {info['salesforce']}")
    else:
        print(f"Using the existing sandbox in {state.root} (make demo-reset to start over)")
    sandbox = start(
        state,
        intercom_port=_port(settings.sandbox_intercom_url()),
        salesforce_port=_port(settings.sandbox_salesforce_url()),
        reuse_running=True,
    )
    try:
        home = _prepare_dagster_home()
        resources = settings.build_resources()
        window = _partition_range(resources["intercom"])
        if window is None:
            print("Intercom holds no contacts; nothing to sync.")
            return 0
        first, last = window
        print(
            f"Running sync_people_job over partitions {first} .. {last} "
            f"({settings.workspace_timezone()}) as one run ...",
            flush=True,
        )
        result = run_job("sync_people_job", first, last, "make demo", quiet=True)
        checks = result.get_asset_check_evaluations()
        print_summary(
            result.run_id, first, last, checks_passed=bool(checks) and all(c.passed for c in checks)
        )
        print("\nWhere to look next:")
        print(f"  Dagster UI (run history, metadata):   make dev   (DAGSTER_HOME={home})")
        print(f"  Salesforce sandbox records:           {sandbox.salesforce_url}/_sandbox/Lead")
        print(f"  Warehouse:                            duckdb {settings.paths().warehouse}")
        return 0 if result.success else 1
    finally:
        sandbox.stop()


@contextmanager
def sync_lock(path: Path, poll_seconds: float = 2.0):
    """One sync at a time per warehouse, across processes and instances.

    An advisory ``flock`` on a file beside the warehouse: the kernel drops it when its process
    dies, however it dies, so a killed run never leaves it held. A second sync waits, saying
    which process holds it; SIGINT and SIGTERM end the wait.
    """
    import fcntl

    from intercom_salesforce.automation.run_guard import signals_end_waiting

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh, signals_end_waiting():
        said = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    print(
                        f"waiting for the sync lock {path} held by {holder}; Ctrl-C to stop",
                        flush=True,
                    )
                    said = True
                time.sleep(poll_seconds)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {datetime.now():%Y-%m-%d %H:%M:%S}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_job(job_name: str, first: str, last: str, source: str, *, quiet: bool = False):
    """Execute a sync job over ``first``..``last`` in this process, on the instance at
    ``DAGSTER_HOME``: after taking the sync lock, ending runs that died and waiting for the
    warehouse pool, so a crashed run never wedges this one."""
    import dagster as dg

    from intercom_salesforce.automation.run_guard import process_tags, wait_for_pool
    from intercom_salesforce.definitions import defs
    from intercom_salesforce.warehouse import WAREHOUSE_POOL

    job = defs.resolve_job_def(job_name)
    lock = settings.paths().warehouse.with_name(settings.paths().warehouse.name + ".sync.lock")
    with sync_lock(lock), dg.DagsterInstance.get() as instance:
        wait_for_pool(instance, WAREHOUSE_POOL, log=lambda m: print(m, flush=True))
        days = (
            {
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            }
            if job.partitions_def is not None
            else {}
        )
        return job.execute_in_process(
            instance=instance,
            tags={**days, "source": source, **process_tags()},
            raise_on_error=False,
            run_config=(
                {"loggers": {"console": {"config": {"log_level": "WARNING"}}}} if quiet else {}
            ),
        )


def cmd_sync(args: argparse.Namespace) -> int:
    """One sync run from the command line (what the schedules run), over a range of days."""
    from intercom_salesforce.assets.partitions import daily_partitions

    _prepare_dagster_home()
    last = args.to or daily_partitions.get_last_partition_key()
    first = args.from_ or last
    job = {
        "people": "sync_people_job",
        "conversations": "sync_conversations_job",
        "reference": "refresh_reference_job",
    }[args.job]
    print(f"Running {job} over {first} .. {last} ...", flush=True)
    result = run_job(job, first, last, "intercom-salesforce sync", quiet=args.quiet)
    checks = result.get_asset_check_evaluations()
    print_summary(
        result.run_id, first, last, checks_passed=bool(checks) and all(c.passed for c in checks)
    )
    return 0 if result.success else 1


def _summary_rows(con, sql: str, params: list) -> list[tuple]:
    """Rows of one summary query; none when a failed step left its table missing."""
    import duckdb

    try:
        return con.execute(sql, params).fetchall()
    except duckdb.CatalogException:
        return []


def print_summary(run_id: str, first: str, last: str, checks_passed: bool) -> None:
    """What the run did, per record (a record retried three times counts once, by its last
    outcome); a run whose steps failed still gets the part of the summary it produced."""
    import duckdb

    path = settings.paths().warehouse
    if not path.exists():
        print(f"\nRun {run_id} wrote no warehouse ({path}): see its failure above.")
        return
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.ConnectionException:
        # a failed step's traceback can keep its read-write connection alive in this process
        con = duckdb.connect(str(path))
    try:
        staged = _summary_rows(
            con,
            "SELECT count(*) FROM staging.intercom_contacts WHERE partition_date BETWEEN ? AND ?",
            [first, last],
        )
        staged = staged[0][0] if staged else 0
        rules = dict(
            _summary_rows(
                con,
                "SELECT rule, count(*) FROM match.person_matches WHERE run_id = ? GROUP BY 1",
                [run_id],
            )
        )
        by_object: dict[str, dict[str, int]] = {}
        for sobject, outcome, n in _summary_rows(
            con,
            """SELECT sobject, outcome, count(*) FROM (
                   SELECT sobject, external_id, arg_max(outcome, recorded_at) AS outcome
                   FROM sync.sync_results WHERE run_id = ? GROUP BY 1, 2)
               GROUP BY 1, 2""",
            [run_id],
        ):
            by_object.setdefault(sobject, {})[outcome] = n
        conflicts = _summary_rows(
            con, "SELECT count(*) FROM sync.sync_conflicts WHERE resolved_at IS NULL", []
        )
        conflicts = conflicts[0][0] if conflicts else 0
        review = _summary_rows(
            con, "SELECT count(*) FROM quality.review_queue WHERE status = 'open'", []
        )
        review = review[0][0] if review else 0
        jobs = [
            r[0]
            for r in _summary_rows(
                con,
                "SELECT job_id FROM sync.bulk_jobs WHERE run_id = ? ORDER BY created_at",
                [run_id],
            )
        ]
    finally:
        con.close()
    matched = sum(rules.get(r, 0) for r in ("manual", "external_id", "user_id", "email"))
    print(f"\nSummary of run {run_id}")
    print(f"  extracted from Intercom:  {staged} contacts staged")
    print(
        f"  checked (GX suite):       {'passed' if checks_passed else 'FAILED: nothing was pushed'}"
    )
    print(
        f"  matched in Salesforce:    {matched} "
        f"(external id {rules.get('external_id', 0)}, user id {rules.get('user_id', 0)}, "
        f"email {rules.get('email', 0)}, chosen {rules.get('manual', 0)}), "
        f"ambiguous {rules.get('ambiguous', 0)}, no email {rules.get('no_email', 0)}, "
        f"unmatched {rules.get('none', 0)}"
    )
    for sobject in ("Account", "Lead", "Contact"):
        outcomes = by_object.get(sobject, {})
        print(
            f"  Salesforce {sobject + 's:':<15}created {outcomes.get('created', 0)}, "
            f"updated {outcomes.get('updated', 0)}, failed {outcomes.get('failed', 0)}, "
            f"unprocessed {outcomes.get('unprocessed', 0)}"
        )
    print(f"  conflicts left alone:     {conflicts}  (sync.sync_conflicts)")
    print(f"  Bulk jobs:                {', '.join(jobs) or 'none (nothing changed)'}")
    print(f"  waiting in review:        {review}  (intercom-salesforce review list)")


def _os_user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return None


def _warehouse(read_only: bool = False):
    import duckdb

    from intercom_salesforce.warehouse import ensure_warehouse

    path = settings.paths().warehouse
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise SystemExit(
            f"The warehouse {path} is busy (a run is writing to it); try again: {exc}"
        ) from exc
    if not read_only:
        ensure_warehouse(con)
    return con


def cmd_review_list(args: argparse.Namespace) -> int:
    con = _warehouse()
    where, params = ["status = ?"], [args.status]
    if args.entity:
        where.append("entity = ?")
        params.append(args.entity)
    if args.rule:
        where.append("rule = ?")
        params.append(args.rule)
    rows = con.execute(
        "SELECT item_id, entity, record_id, rule, coalesce(value, ''), partition_date, "
        "date_diff('day', first_seen_at, now()) FROM quality.review_queue WHERE "
        + " AND ".join(where)
        + " ORDER BY rule, item_id LIMIT ?",
        [*params, args.limit],
    ).fetchall()
    print(f"{'item':>6}  {'entity':<22} {'record':<26} {'rule':<22} {'age(d)':>6}  value")
    for item, entity, record, rule, value, _day, age in rows:
        print(f"{item:>6}  {entity:<22} {record:<26} {rule:<22} {age:>6}  {value[:40]}")
    total = con.execute(
        "SELECT count(*) FROM quality.review_queue WHERE " + " AND ".join(where), params
    ).fetchall()[0][0]
    print(f"{total} item(s) {args.status}" + (f", {len(rows)} shown" if total > len(rows) else ""))
    return 0


def cmd_review_show(args: argparse.Namespace) -> int:
    con = _warehouse()
    cur = con.execute("SELECT * FROM quality.review_queue WHERE item_id = ?", [args.item])
    row = cur.fetchone()
    if row is None:
        print(f"no review item {args.item}")
        return 1
    for name, value in zip([d[0] for d in cur.description], row, strict=True):
        print(f"{name:>15}: {value}")
    return 0


def cmd_review_set(args: argparse.Namespace) -> int:
    from intercom_salesforce.assets.quality.review_queue import set_status

    con = _warehouse()
    rule = con.execute(
        "SELECT rule FROM quality.review_queue WHERE item_id = ?", [args.item]
    ).fetchone()
    if rule and rule[0] == "ambiguous_match" and args.status == "fixed":
        # marking it fixed would choose nothing: the person would stay ambiguous and unsynced
        print(
            f"item {args.item} is an ambiguous match: choose the surviving record with "
            f"`intercom-salesforce review merge {args.item} --survivor SF_ID`",
            file=sys.stderr,
        )
        return 1
    done = set_status(con, args.item, args.status, args.note)
    if done is None:
        print(f"no review item {args.item}")
        return 1
    effect = {
        "fixed": "it is pushed on the next run",
        "dismissed": "it is never pushed",
        "open": "it waits again",
    }[args.status]
    print(
        f"item {done['item_id']} ({done['entity']} {done['record_id']}, {done['rule']}) "
        f"is {done['status']}: {effect}"
    )
    return 0


def cmd_review_merge(args: argparse.Namespace) -> int:
    from intercom_salesforce.assets.match.manual import MergeRefused, choose_survivor

    con = _warehouse()
    try:
        chosen = choose_survivor(con, args.item, args.survivor, args.by, args.note, args.force)
    except MergeRefused as exc:
        print(f"not merged: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    if chosen.converted_from:
        print(f"Lead {chosen.converted_from} was converted: its Contact {chosen.sf_id} survives")
    others = [c for c in chosen.candidates if c != chosen.target]
    print(
        f"item {chosen.review_item_id} ({chosen.intercom_contact_id}) is fixed: "
        f"{chosen.target} survives"
        + (" (not one of the candidates, forced)" if chosen.forced else "")
        + f", chosen by {chosen.chosen_by or 'unknown'}"
    )
    if others:
        print(f"  left as they are in Salesforce: {', '.join(others)}")
    print(
        f"  the next run matches {chosen.intercom_contact_id} to {chosen.target} (rule manual) "
        "and stamps our external id on it"
    )
    return 0


def cmd_webhooks_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from intercom_salesforce.webhooks.queue import WebhookQueue
    from intercom_salesforce.webhooks.receiver import create_receiver

    queue = WebhookQueue(settings.paths().webhook_queue)
    app = create_receiver(queue, settings.intercom_client_secret())
    print(
        f"Receiving Intercom webhooks on http://{args.host}:{args.port}/ "
        f"(queue {queue.path}); put it behind HTTPS for Intercom.",
        flush=True,
    )
    run_simple(args.host, args.port, app, threaded=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intercom-salesforce", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="seed (once), serve the sandbox, sync every partition")
    demo.add_argument("--reset", action="store_true", help="start from a fresh sandbox")
    demo.add_argument("--contacts", type=int, default=300)
    demo.set_defaults(func=cmd_demo)

    sync = sub.add_parser("sync", help="one sync run over a range of days, in this process")
    sync.add_argument("--job", choices=["people", "conversations", "reference"], default="people")
    sync.add_argument("--from", dest="from_", help="first day (default: the last day)")
    sync.add_argument("--to", help="last day (default: today's partition)")
    sync.add_argument("--quiet", action="store_true", help="only warnings from Dagster")
    sync.set_defaults(func=cmd_sync)

    sandbox = sub.add_parser("sandbox", help="the local Intercom and Salesforce emulators")
    ssub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    s_seed = ssub.add_parser("seed", help="generate and load the deterministic world")
    s_seed.add_argument("--contacts", type=int, default=300)
    s_seed.add_argument("--days", type=int, default=14)
    s_seed.add_argument("--seed", type=int, default=7)
    s_seed.add_argument("--reset", action="store_true")
    s_seed.set_defaults(func=cmd_seed)
    s_reset = ssub.add_parser("reset", help="delete the sandbox state")
    s_reset.add_argument("--warehouse", action="store_true", help="also delete the warehouse")
    s_reset.set_defaults(func=cmd_reset)
    s_serve = ssub.add_parser("serve", help="serve both emulators in the foreground")
    s_serve.add_argument("--intercom-port", type=int, default=settings.DEFAULT_INTERCOM_PORT)
    s_serve.add_argument("--salesforce-port", type=int, default=settings.DEFAULT_SALESFORCE_PORT)
    s_serve.set_defaults(func=cmd_serve)

    review = sub.add_parser("review", help="the review queue: list, show, fix, dismiss, merge")
    rsub = review.add_subparsers(dest="review_command", required=True)
    r_list = rsub.add_parser("list", help="items waiting for a person")
    r_list.add_argument(
        "--status", default="open", choices=["open", "fixed", "dismissed", "resolved"]
    )
    r_list.add_argument("--entity")
    r_list.add_argument("--rule")
    r_list.add_argument("--limit", type=int, default=50)
    r_list.set_defaults(func=cmd_review_list)
    r_show = rsub.add_parser("show", help="one item, whole")
    r_show.add_argument("item", type=int)
    r_show.set_defaults(func=cmd_review_show)
    for name, status, text in [
        ("fix", "fixed", "mark fixed: pushed on the next run"),
        ("dismiss", "dismissed", "dismiss: never pushed"),
        ("reopen", "open", "back to the queue"),
    ]:
        r = rsub.add_parser(name, help=text)
        r.add_argument("item", type=int)
        r.add_argument("--note")
        r.set_defaults(func=cmd_review_set, status=status)
    r_merge = rsub.add_parser(
        "merge", help="choose the surviving Salesforce record of an ambiguous match"
    )
    r_merge.add_argument("item", type=int)
    r_merge.add_argument(
        "--survivor", required=True, help="the Contact or Lead Id (a converted Lead: its Contact)"
    )
    r_merge.add_argument("--note")
    r_merge.add_argument("--by", default=_os_user(), help="who chose (default: the OS user)")
    r_merge.add_argument(
        "--force", action="store_true", help="accept a survivor that is not a candidate"
    )
    r_merge.set_defaults(func=cmd_review_merge)

    hooks = sub.add_parser("webhooks", help="the optional Intercom webhook receiver")
    hsub = hooks.add_subparsers(dest="webhooks_command", required=True)
    h_serve = hsub.add_parser("serve", help="receive signed webhooks and queue them")
    h_serve.add_argument("--host", default="127.0.0.1")
    h_serve.add_argument("--port", type=int, default=8713)
    h_serve.set_defaults(func=cmd_webhooks_serve)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
