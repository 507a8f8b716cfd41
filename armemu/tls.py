"""The emulator's own certificate authority, so clients verify TLS exactly as against Azure."""

from __future__ import annotations

import ssl
from pathlib import Path


def server_context(ca_dir: Path) -> tuple[ssl.SSLContext, Path]:
    """A TLS context for 127.0.0.1 signed by a fresh CA, and the path of that CA's PEM file."""
    import trustme

    ca = trustme.CA(organization_name="ipsync ARM emulator", key_type=trustme.KeyType.ECDSA)
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_dir.mkdir(parents=True, exist_ok=True)
    ca_path = ca_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return context, ca_path
