"""A local certificate authority for the sandbox, made with ``trustme``.

simple-salesforce always builds ``https://`` URLs from the instance URL, so the Salesforce emulator
serves real TLS on 127.0.0.1 and clients are handed a ``requests.Session`` whose ``verify`` points at
this CA. We chose TLS over an https->http rewriting transport adapter because it keeps the client
stack identical to production: the only sandbox-specific setting is the CA bundle path.
The CA and the server certificate are written once under the sandbox state folder and reused, so a
``dagster dev`` process and a separate ``sandbox serve`` process agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class SandboxTLS:
    ca_path: Path
    cert_path: Path
    key_path: Path

    @property
    def ssl_context(self) -> tuple[str, str]:
        """The (cert, key) pair werkzeug's server accepts as ``ssl_context``."""
        return (str(self.cert_path), str(self.key_path))


def ensure_tls(state_dir: Path) -> SandboxTLS:
    """Create (once) a CA and a certificate for localhost/127.0.0.1 under ``state_dir/tls``."""
    tls_dir = Path(state_dir) / "tls"
    tls = SandboxTLS(tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server.key")
    if tls.ca_path.exists() and tls.cert_path.exists() and tls.key_path.exists():
        return tls
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca.cert_pem.write_to_path(str(tls.ca_path))
    server.private_key_pem.write_to_path(str(tls.key_path))
    server.cert_chain_pems[0].write_to_path(str(tls.cert_path))
    for extra in server.cert_chain_pems[1:]:
        with open(tls.cert_path, "ab") as fh:
            fh.write(extra.bytes())
    return tls


def trusting_session(ca_path: Path | str):
    """A ``requests.Session`` that trusts the sandbox CA.

    ``trust_env`` is switched off because requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``
    from the environment override ``Session.verify`` for every request that does not pass
    ``verify=`` itself (simple-salesforce never does), which would make the sandbox CA invisible.
    """
    import requests

    session = requests.Session()
    session.verify = str(ca_path)
    session.trust_env = False
    return session
