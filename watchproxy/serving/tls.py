"""The serving SSLContext: TLS >= 1.2, ALPN h2 then http/1.1, optional client certificates, and
reload of the certificate files while serving (as kube-apiserver's dynamic serving certificate
controller does).

How a reload reaches new handshakes: the listening socket keeps one `SSLContext` for its whole
life (asyncio and uvloop offer no way to swap it). That context's `sni_callback` runs for every
ClientHello -- with or without SNI -- and moves the handshake to the *current* context
(`SSLObject.context = ...`), which is what Go's `tls.Config.GetConfigForClient` does for kube.
A change of any file builds a whole new context; the current one is replaced only when the new
one loaded cleanly. Loading into the live context instead is not safe: a failed
`load_cert_chain` (a key that does not match) leaves that context without a usable
certificate, and OpenSSL cannot remove a CA from a context's trust store.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from typing import Final

from watchproxy import serving

logger = logging.getLogger("watchproxy.serving.tls")

ALPN_PROTOCOLS: Final = ["h2", "http/1.1"]
RELOAD_INTERVAL_SECONDS: Final = 5.0

# (st_dev, st_ino, st_size, st_mtime_ns) of each file; None when it cannot be read.
_Stamp = tuple[int, int, int, int] | None


def build_context(cert_file: str, key_file: str, client_ca_file: str | None) -> ssl.SSLContext:
    """A server context. With `client_ca_file` a client *may* present a certificate, which must
    then chain to that CA (CERT_OPTIONAL: clients with bearer tokens connect without one).
    Raises OSError or ssl.SSLError when a file is missing or the pair does not match."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # HTTP/2 over TLS 1.2 forbids renegotiation (RFC 9113 section 9.2.1); compression is off
    # by default in OpenSSL 3 and stays off (CRIME).
    ctx.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    ctx.set_alpn_protocols(ALPN_PROTOCOLS)
    ctx.load_cert_chain(cert_file, key_file)
    if client_ca_file:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cafile=client_ca_file)
    return ctx


def _stamp(path: str) -> _Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class ServingContexts:
    """The listener's SSLContext, and the context each new handshake is moved to.

    `check()` compares the files' stat stamps (device, inode, size, mtime: an atomic rename,
    a Secret volume's symlink swap and an in-place write all change one of them) with the last
    ones seen and builds a new context when they differ. A broken pair is logged and the
    previous context kept; it is retried once the files change again.
    """

    def __init__(self, cert_file: str, key_file: str, client_ca_file: str | None = None) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self.client_ca_file = client_ca_file
        self._stamps = self._stat()
        self.listener = build_context(cert_file, key_file, client_ca_file)
        self.current = self.listener
        self.listener.sni_callback = self._select

    def _paths(self) -> tuple[str, ...]:
        ca = (self.client_ca_file,) if self.client_ca_file else ()
        return (self.cert_file, self.key_file, *ca)

    def _stat(self) -> tuple[_Stamp, ...]:
        return tuple(_stamp(p) for p in self._paths())

    def _select(
        self, ssl_object: ssl.SSLObject, _server_name: str | None, _ctx: ssl.SSLContext
    ) -> None:
        current = self.current
        if current is not self.listener:
            ssl_object.context = current

    def check(self) -> bool:
        """Reload if a file changed; True when new handshakes now use a new context."""
        stamps = self._stat()
        if stamps == self._stamps:
            return False
        self._stamps = stamps
        try:
            ctx = build_context(self.cert_file, self.key_file, self.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            serving.count("tls_reload_failures")
            logger.error(
                "serving certificate files changed but cannot be loaded (%s); still serving the"
                " previous certificate: %s",
                ", ".join(self._paths()),
                exc,
            )
            return False
        self.current = ctx
        serving.count("tls_reloads")
        logger.warning("reloaded the serving certificate files (%s)", ", ".join(self._paths()))
        return True

    async def watch(self, interval: float = RELOAD_INTERVAL_SECONDS) -> None:
        """Poll the files every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.check()
            except Exception:  # never let the poller die: the next change must still load
                logger.exception("checking the serving certificate files failed")
