"""The Salesforce client: OAuth, simple-salesforce for REST and Bulk API 2.0, our own job control.

simple-salesforce does the HTTP; this module adds what it lacks for a production pipeline
(see the reference's section 7): a token obtained by JWT bearer, client credentials or the password
grant against a configurable host (so the sandbox can stand in), re-authentication on 401, retries
on 5xx, a poll that starts near half a second instead of 5 s and reads one open job a round, job
ids recorded before data is uploaded, and every result file that can hold rows collected.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import jwt
import requests
from pydantic import Field
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceBulkV2LoadError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceResourceNotFound,
)
from simple_salesforce.util import call_salesforce
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

TERMINAL_STATES = {"JobComplete", "Failed", "Aborted"}
MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # 150 MB after base64 ~= 100 MB raw (reference 1.4)
CALLS_PER_JOB = 8  # API requests one small ingest job costs, each counted (reference 3)
INGEST_WORKERS = 4  # threads uploading and downloading the files of concurrent ingest jobs


def upload_job_file(client: Any, job_id: str, path: Path) -> None:
    """simple-salesforce's ``upload_job_data`` (same request, same error handling), with the CSV
    streamed from its file. ``upload_job_data`` takes the file as one ``str`` and encodes it twice:
    up to 100 MB of CSV then holds three copies or more (four bytes a character in a ``str`` once
    the CSV has an emoji), for each of the uploads running at once."""
    url = client._construct_request_url(job_id, False) + "/batches"
    headers = client._get_headers(client.CSV_CONTENT_TYPE, client.JSON_CONTENT_TYPE)
    with path.open("rb") as body:  # requests sends it with its length, not chunked
        result = call_salesforce(
            url=url, method="PUT", session=client.session, headers=headers, data=body
        )
    if result.status_code != HTTPStatus.CREATED:
        raise SalesforceBulkV2LoadError(
            f"Failed to upload job data. Error Code {result.status_code}. "
            f"Response content: {result.content.decode()}"
        )


class SalesforceAuthError(RuntimeError):
    """The token endpoint refused us; carries Salesforce's error code, never the secret."""


class SalesforceLimitError(RuntimeError):
    """Starting this push would take the org past the configured share of its daily API limit."""


@dataclass
class IngestResult:
    """Outcome of one Bulk API 2.0 ingest job, with the paths of its result files."""

    job_id: str
    sobject: str
    operation: str
    state: str
    records_processed: int
    records_failed: int
    error_message: str | None
    bytes_uploaded: int
    # a file the job's counters say is empty is not downloaded: its path does not exist
    successful_csv: Path
    failed_csv: Path
    unprocessed_csv: Path


@dataclass(frozen=True)
class IngestJob:
    """One CSV file to write as one Bulk API 2.0 ingest job, and where its results go."""

    sobject: str
    operation: str
    csv_path: Path
    results_dir: Path
    external_id_field: str | None = None

    @property
    def csv_bytes(self) -> int:
        """The file's size; 0 once it is gone (a job collected after a crash has no file)."""
        return self.csv_path.stat().st_size if self.csv_path.is_file() else 0


@dataclass
class ApiUsage:
    used: int | None = None
    limit: int | None = None
    calls_this_run: int = 0
    jobs: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {"salesforce_api_calls": self.calls_this_run}
        if self.used is not None and self.limit is not None:
            out["salesforce_api_used"] = self.used
            out["salesforce_api_remaining"] = self.limit - self.used
        return out


RESULT_KINDS = ("successfulResults", "failedResults", "unprocessedrecords")


def result_kinds(info: dict[str, Any]) -> list[str]:
    """The result files of a finished job that can hold rows, by its counters: failed rows only
    when ``numberRecordsFailed`` says so, unprocessed rows only when the job did not complete
    (reference 1.6: unprocessed rows belong to Failed and Aborted jobs). Each file skipped is an
    API call saved; a missing file reads as no rows (``push/results.load_result``)."""
    processed = int(info.get("numberRecordsProcessed") or 0)
    failed = int(info.get("numberRecordsFailed") or 0)
    kinds = []
    if processed > failed:
        kinds.append("successfulResults")
    if failed:
        kinds.append("failedResults")
    if info.get("state") != "JobComplete":
        kinds.append("unprocessedrecords")
    return kinds


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    return isinstance(exc, SalesforceGeneralError) and exc.status >= 500


_retry_transient = retry(
    retry=retry_if_exception(_is_transient),
    wait=wait_random_exponential(multiplier=0.5, max=20),
    stop=stop_after_attempt(6),
    reraise=True,
)


# The access token of each identity, kept for the process: every step of a run (each makes its
# own client) and every later run in the same process use it until Salesforce answers 401, when
# the client that got the 401 asks for a new one. A token request per step cost a round trip and
# counted against the org's login rate for nothing: a session stays valid for hours.
_TOKENS: dict[tuple[str, ...], dict[str, Any]] = {}
_TOKENS_LOCK = threading.Lock()


class SalesforceClient:
    """An authenticated connection for one run."""

    def __init__(self, resource: SalesforceResource, log: logging.Logger | None = None):
        self.r = resource
        self.log = log or logging.getLogger(__name__)
        self.usage = ApiUsage()
        self._lock = threading.Lock()
        self.session = requests.Session()
        if resource.ca_bundle:
            self.session.verify = resource.ca_bundle
            # requests lets REQUESTS_CA_BUNDLE override Session.verify unless trust_env is off
            self.session.trust_env = False
        self.session.hooks["response"].append(self._count)
        self.sf: Salesforce = self._login()

    # -- auth ----------------------------------------------------------------------------------
    def _count(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self._lock:  # uploads of concurrent jobs answer on several threads
            self.usage.calls_this_run += 1
        info = resp.headers.get("Sforce-Limit-Info", "")
        for part in info.split(";"):
            part = part.strip()
            if part.startswith("api-usage="):
                used, _, total = part.removeprefix("api-usage=").partition("/")
                if used.isdigit() and total.isdigit():
                    self.usage.used, self.usage.limit = int(used), int(total)

    def _token(self) -> dict[str, Any]:
        r = self.r
        url = f"{r.login_url.rstrip('/')}/services/oauth2/token"
        auth = None
        if r.auth_flow == "jwt":
            now = int(time.time())
            assertion = jwt.encode(
                {
                    "iss": r.client_id,
                    "sub": r.username,
                    "aud": r.jwt_audience or r.login_url,
                    "exp": now + 170,
                },
                r.private_key,
                algorithm="RS256",
            )
            data = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            }
        elif r.auth_flow == "client_credentials":
            data = {"grant_type": "client_credentials"}
            auth = (r.client_id or "", r.client_secret or "")
        elif r.auth_flow == "password":
            data = {
                "grant_type": "password",
                "client_id": r.client_id,
                "client_secret": r.client_secret,
                "username": r.username,
                "password": f"{r.password or ''}{r.security_token or ''}",
            }
        else:
            raise SalesforceAuthError(f"unknown auth_flow {r.auth_flow!r}")
        resp = self.session.post(url, data=data, auth=auth, timeout=r.timeout_seconds)
        if resp.status_code != 200:
            try:
                err = resp.json()
                reason = f"{err.get('error')}: {err.get('error_description')}"
            except ValueError:
                reason = resp.text[:200]
            raise SalesforceAuthError(
                f"Salesforce token request ({r.auth_flow}) to {url} failed: "
                f"{resp.status_code} {reason}"
            )
        return resp.json()

    def _identity(self) -> tuple[str, ...]:
        """What a token belongs to; the secrets enter only as a digest, so a client with other
        credentials for the same user never borrows a token it could not get itself."""
        r = self.r
        secrets = "\0".join(
            v or "" for v in (r.client_secret, r.password, r.security_token, r.private_key)
        )
        return (
            r.login_url.rstrip("/"),
            r.auth_flow,
            r.client_id or "",
            r.username or "",
            r.jwt_audience or "",
            hashlib.sha256(secrets.encode()).hexdigest(),
        )

    def _login(self, fresh: bool = False) -> Salesforce:
        """A handle on the identity's kept token, or on a new one when ``fresh`` or none is
        kept."""
        key = self._identity()
        with _TOKENS_LOCK:
            token = None if fresh else _TOKENS.get(key)
        if token is None:
            token = self._token()
            with _TOKENS_LOCK:
                _TOKENS[key] = token
        return Salesforce(
            instance_url=token["instance_url"],
            session_id=token["access_token"],
            session=self.session,
            version=self.r.api_version,
        )

    def relogin(self) -> None:
        self.log.info("Salesforce session expired; re-authenticating")
        self.sf = self._login(fresh=True)

    def call(self, fn: Callable[[Salesforce], Any]) -> Any:
        """Run ``fn(sf)``, re-authenticating once on 401 and retrying 5xx with backoff."""

        @_retry_transient
        def attempt() -> Any:
            try:
                return fn(self.sf)
            except SalesforceExpiredSession:
                self.relogin()
                return fn(self.sf)

        return attempt()

    # -- limits ----------------------------------------------------------------------------------
    def check_api_budget(self, planned_calls: int = 0, *, fresh: bool = True) -> None:
        """Refuse to start work that would take the org past ``max_daily_api_share``.

        ``fresh`` asks ``/limits``; otherwise the usage the last response reported in
        ``Sforce-Limit-Info`` is enough when there is one, which saves a call before every job.
        """
        if fresh or self.usage.used is None or self.usage.limit is None:
            limits = self.call(lambda sf: sf.limits())
            daily = limits.get("DailyApiRequests", {})
            limit, remaining = daily.get("Max"), daily.get("Remaining")
            if limit is None or remaining is None:
                return
            self.usage.used, self.usage.limit = limit - remaining, limit
        used, limit = self.usage.used, self.usage.limit
        assert used is not None and limit is not None
        if used + planned_calls > limit * self.r.max_daily_api_share:
            raise SalesforceLimitError(
                f"refusing to push: {used} of {limit} daily API requests used and "
                f"{planned_calls} more planned would pass the configured share "
                f"{self.r.max_daily_api_share:.0%}"
            )

    # -- Bulk API 2.0 ingest -----------------------------------------------------------------------
    def _ingest_client(self, sf: Salesforce, sobject: str) -> Any:
        # a fresh handler per call: simple-salesforce bakes the session id into it
        return getattr(sf.bulk2, sobject)._client

    def create_ingest_job(self, job: IngestJob) -> tuple[str, str | None]:
        """Create one ingest job (no data yet): its id and the state Salesforce gave it."""
        size = job.csv_path.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise ValueError(f"{job.csv_path} is {size} bytes; split uploads under 100 MB")
        # whoever calls, no job is created past the share: create, upload, close, polls, 3 results
        self.check_api_budget(planned_calls=CALLS_PER_JOB, fresh=False)
        created = self.call(
            lambda sf: self._ingest_client(sf, job.sobject).create_job(
                job.operation, external_id_field=job.external_id_field
            )
        )
        self.usage.jobs.append(created["id"])
        return created["id"], created.get("state")

    def upload_and_close(self, job: IngestJob, job_id: str) -> None:
        """Upload the job's one CSV file and close it; abort it if either fails."""
        client = self._ingest_client
        try:
            self.call(lambda sf: upload_job_file(client(sf, job.sobject), job_id, job.csv_path))
            self.call(lambda sf: client(sf, job.sobject).close_job(job_id))
        except Exception:
            try:
                self.call(lambda sf: client(sf, job.sobject).abort_job(job_id, False))
            except Exception:  # noqa: BLE001 - the original error matters more
                self.log.warning("could not abort bulk job %s", job_id)
            raise

    def ingest_all(
        self,
        jobs: list[IngestJob],
        on_job_created: Callable[[IngestJob, str], None] | None = None,
    ) -> list[IngestResult]:
        """Run independent ingest jobs at once: create each (``on_job_created`` records its id
        before any data is uploaded, so a crash mid-upload still leaves it in the ledger for
        recovery), upload and close them on a few threads, poll them all in one loop, download
        every result file. Results come in the order of ``jobs``."""
        ids: list[str] = []
        for job in jobs:
            job_id, state = self.create_ingest_job(job)
            ids.append(job_id)
            if on_job_created:
                on_job_created(job, job_id)
            if state != "Open":
                raise RuntimeError(
                    f"Bulk job {job_id} for {job.sobject} was created in state {state}, not Open"
                )
        with ThreadPoolExecutor(max_workers=INGEST_WORKERS) as pool:
            uploads = [
                pool.submit(self.upload_and_close, j, i) for j, i in zip(jobs, ids, strict=True)
            ]
            errors = [f.exception() for f in uploads if f.exception() is not None]
            if errors:
                raise errors[0]
            # the largest upload first: it is the one likely to end last
            by_size = sorted(zip(jobs, ids, strict=True), key=lambda p: -p[0].csv_bytes)
            infos = self.wait_for_jobs([job_id for _, job_id in by_size])
            return list(pool.map(lambda j, i: self.download_results(j, i, infos[i]), jobs, ids))

    def ingest(
        self,
        sobject: str,
        operation: Literal["insert", "update", "upsert", "delete"],
        csv_path: Path,
        results_dir: Path,
        *,
        external_id_field: str | None = None,
        on_job_created: Callable[[str], None] | None = None,
    ) -> IngestResult:
        """Create a job, record its id, upload one CSV file, close, poll, collect every result.

        ``on_job_created`` is called with the job id before the upload, so a crash mid-upload
        still leaves the job in the ledger for recovery.
        """
        job = IngestJob(sobject, operation, csv_path, results_dir, external_id_field)
        callback = (lambda _job, job_id: on_job_created(job_id)) if on_job_created else None
        return self.ingest_all([job], callback)[0]

    def download_results(self, job: IngestJob, job_id: str, info: dict[str, Any]) -> IngestResult:
        """The result files of a finished job that can hold rows (``result_kinds``)."""
        job.results_dir.mkdir(parents=True, exist_ok=True)
        paths = {kind: job.results_dir / f"{job_id}-{kind}.csv" for kind in RESULT_KINDS}
        for kind in result_kinds(info):
            self.call(
                lambda sf, k=kind, d=paths[kind]: self._ingest_client(
                    sf, job.sobject
                ).download_ingest_results(str(d), job_id, k)
            )
        return IngestResult(
            job_id=job_id,
            sobject=job.sobject,
            operation=job.operation,
            state=info["state"],
            records_processed=int(info.get("numberRecordsProcessed") or 0),
            records_failed=int(info.get("numberRecordsFailed") or 0),
            error_message=info.get("errorMessage"),
            bytes_uploaded=job.csv_bytes,
            successful_csv=paths["successfulResults"],
            failed_csv=paths["failedResults"],
            unprocessed_csv=paths["unprocessedrecords"],
        )

    def collect(
        self,
        sobject: str,
        operation: str,
        job_id: str,
        results_dir: Path,
        *,
        bytes_uploaded: int = 0,
    ) -> IngestResult:
        """Poll a closed job to its end and download its three result files.

        Also how a job found open in the ledger after a crash is collected: Salesforce keeps a
        job and its results for seven days, so a later run can still learn every record's fate.
        """
        info = self.wait_for_jobs([job_id])[job_id]
        job = IngestJob(sobject, operation, Path(), results_dir)
        result = self.download_results(job, job_id, info)
        result.bytes_uploaded = bytes_uploaded
        return result

    def job_state(self, job_id: str) -> str | None:
        """The job's state in Salesforce, or None when the org no longer knows the job."""
        try:
            info = self.call(lambda sf: sf.bulk2.Account._client.get_job(job_id, False))
        except SalesforceResourceNotFound:
            return None
        return info.get("state")

    def abort(self, job_id: str) -> None:
        """Abort an ingest job whose upload never finished: nothing of it is processed."""
        self.call(lambda sf: sf.bulk2.Account._client.abort_job(job_id, False))

    def wait_for_job(self, job_id: str, *, is_query: bool = False) -> dict[str, Any]:
        """Poll with backoff from ``poll_initial_seconds`` (simple-salesforce waits 5 s)."""
        return self.wait_for_jobs([job_id], is_query=is_query)[job_id]

    def wait_for_jobs(self, job_ids: list[str], *, is_query: bool = False) -> dict[str, dict]:
        """One poll loop for every open job, one call a round: Salesforce works on a run's jobs
        side by side, so the loop polls the first open job (callers put the longest first) with
        backoff from ``poll_initial_seconds`` until it ends, then the next at once, which has
        most likely ended meanwhile. A run's polls cost its rounds plus one per other job rather
        than rounds times jobs. Returns each job's final info."""
        delay = self.r.poll_initial_seconds
        deadline = time.monotonic() + self.r.job_timeout_seconds
        done: dict[str, dict[str, Any]] = {}
        for job_id in dict.fromkeys(job_ids):
            while True:
                info = self.call(lambda sf, j=job_id: sf.bulk2.Account._client.get_job(j, is_query))
                if info["state"] in TERMINAL_STATES:
                    done[job_id] = info
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"Bulk job {job_id} still {info['state']} after "
                        f"{self.r.job_timeout_seconds} s"
                    )
                time.sleep(delay)
                delay = min(self.r.poll_max_seconds, delay * 1.6)
        return done

    # -- Bulk API 2.0 query ------------------------------------------------------------------------
    def query_to_files(
        self,
        sobject: str,
        soql: str,
        dest_dir: Path,
        *,
        operation: Literal["query", "queryAll"] = "query",
    ) -> list[Path]:
        """Run a Bulk API 2.0 query and stream each result page to its own CSV file.

        ``queryAll`` also returns deleted (recycle bin) and merged records, so an incremental
        reader can see what disappeared since its last run.
        """
        dest_dir.mkdir(parents=True, exist_ok=True)

        def client(sf: Salesforce) -> Any:
            return getattr(sf.bulk2, sobject)._client

        job = self.call(lambda sf: client(sf).create_job(operation, soql))
        self.usage.jobs.append(job["id"])
        info = self.wait_for_job(job["id"], is_query=True)
        if info["state"] != "JobComplete":
            raise RuntimeError(
                f"Bulk query {job['id']} on {sobject} ended {info['state']}: "
                f"{info.get('errorMessage')}"
            )
        files: list[Path] = []
        locator = ""
        while True:
            page = self.call(
                lambda sf, loc=locator: client(sf).download_job_data(
                    str(dest_dir), job["id"], loc, self.r.query_page_size
                )
            )
            files.append(Path(page["file"]))
            locator = page["locator"]
            if not locator:
                return files


class SalesforceResource(dg.ConfigurableResource):
    """Salesforce access. Secrets (client secret, password, private key) come from ``EnvVar`` only.

    ``login_url`` is where the token request goes (login/test.salesforce.com for JWT and password,
    the My Domain URL for client credentials, or the sandbox emulator). The instance URL used for
    every later call comes from the token response, as in production.
    """

    mode: str = Field(default="production", description="'production' or 'sandbox', for metadata.")
    login_url: str = "https://login.salesforce.com"
    auth_flow: Literal["jwt", "client_credentials", "password"] = "jwt"
    client_id: str | None = None
    client_secret: str | None = Field(default=None, repr=False)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    security_token: str | None = Field(default=None, repr=False)
    private_key: str | None = Field(
        default=None, description="PEM of the JWT signing key.", repr=False
    )
    jwt_audience: str | None = None
    api_version: str = "59.0"
    ca_bundle: str | None = Field(default=None, description="CA file to trust (sandbox TLS).")
    timeout_seconds: float = 60.0
    poll_initial_seconds: float = 0.5
    poll_max_seconds: float = 10.0
    job_timeout_seconds: float = 3600.0
    query_page_size: int = 50000
    max_daily_api_share: float = Field(
        default=0.8, description="Refuse to start a push past this share of the daily API limit."
    )

    def client(self, log: logging.Logger | None = None) -> SalesforceClient:
        return SalesforceClient(self, log)


def new_run_dir(base: Path, prefix: str) -> Path:
    """A fresh folder for one run's CSV files."""
    path = base / f"{prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True, exist_ok=True)
    return path
