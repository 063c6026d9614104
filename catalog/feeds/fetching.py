"""The bytes of an image a feed or the API names: a path beside the feed, or an http(s) URL.

URLs are fetched with bounds on time, size and redirects, and only from public addresses: a
name is resolved once, every address it has is vetted, and the connection goes to the vetted
address (so a second lookup cannot swap in 127.0.0.1). Each redirect is vetted the same way.
What comes back is checked like an upload afterwards (catalog.images.inspect_image).
"""

from __future__ import annotations

import io
import ipaddress
import socket
import tempfile
import time
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings

# What catalog.images accepts (JPEG, PNG, WebP), as a server declares it.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


class SourceError(Exception):
    """An image or a feed that its URL or path does not yield."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def _vetted_address(host: str, port: int) -> str:
    if settings.FIDELIS_FEED_LOOPBACK_ONLY:
        return _loopback_literal(host)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise SourceError(f"The host {host} does not resolve.", code="image_unreachable") from None
    addresses = sorted({info[4][0] for info in infos})
    if not settings.FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES:
        private = [a for a in addresses if not _public(a)]
        if private:
            raise _private(host, private[0])
    return addresses[0]


def _private(host: str, address: str) -> SourceError:
    return SourceError(
        f"{host} is a private, loopback or link-local address ({address}): images are "
        "fetched only from public addresses (FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES allows "
        "others).",
        code="image_address_refused",
    )


def _loopback_literal(host: str) -> str:
    """Under FIDELIS_FEED_LOOPBACK_ONLY (the tests), only 127.0.0.0/8 addresses written as
    such are fetched: no name is looked up, nothing leaves the machine."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and not _public(host) and not settings.FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES:
        raise _private(host, host)
    if ip is None or not ip.is_loopback or ip.version != 4:
        raise SourceError(
            f"{host} is not fetched: this server fetches only from 127.0.0.0/8 "
            "(FIDELIS_FEED_LOOPBACK_ONLY).",
            code="image_address_refused",
        )
    return host


def _pool(url: str, *, timeout: float) -> tuple[urllib3.HTTPConnectionPool, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{url[:100]} is not an http(s) URL.", code="image_url_invalid")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _vetted_address(parts.hostname, port)
    bounds = urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=bounds,
            retries=False,
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=bounds, retries=False)
    path = parts.path or "/"
    return pool, path + (f"?{parts.query}" if parts.query else "")


def _download(url: str, *, limit: int, kinds: tuple[str, ...], sink: BinaryIO) -> None:
    timeout = settings.FIDELIS_FEED_FETCH_TIMEOUT_S
    deadline = time.monotonic() + timeout
    for _hop in range(settings.FIDELIS_FEED_MAX_REDIRECTS + 1):
        pool, target = _pool(url, timeout=timeout)
        host = urlsplit(url).netloc
        try:
            response = pool.urlopen(
                "GET",
                target,
                headers={"Host": host, "Accept": ", ".join(kinds) or "*/*"},
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.TimeoutError:
            raise SourceError(
                f"{url[:100]} did not answer in {timeout:g} s.", code="image_timeout"
            ) from None
        except urllib3.exceptions.HTTPError as err:
            raise SourceError(
                f"{url[:100]} cannot be fetched: {err}.", code="image_unreachable"
            ) from None
        try:
            if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            if response.status != 200:
                raise SourceError(
                    f"{url[:100]} answered HTTP {response.status}.", code="image_http_error"
                )
            kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kinds and kind not in kinds:
                raise SourceError(
                    f"{url[:100]} is {kind or 'of no declared type'}, not an image.",
                    code="image_not_image",
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise SourceError(_too_large(url, limit), code="image_too_large")
            _read_bounded(response, url=url, limit=limit, deadline=deadline, sink=sink)
            return
        finally:
            response.release_conn()
            pool.close()
    raise SourceError(
        f"{url[:100]} redirects more than {settings.FIDELIS_FEED_MAX_REDIRECTS} times.",
        code="image_redirects",
    )


def _too_large(url: str, limit: int) -> str:
    return f"{url[:100]} is larger than the limit of {limit // 2**20} MB."


def _read_bounded(response, *, url: str, limit: int, deadline: float, sink: BinaryIO) -> None:
    size = 0
    try:
        for chunk in response.stream(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise SourceError(_too_large(url, limit), code="image_too_large")
            if time.monotonic() > deadline:
                raise SourceError(
                    f"{url[:100]} took longer than {settings.FIDELIS_FEED_FETCH_TIMEOUT_S:g} s.",
                    code="image_timeout",
                )
            sink.write(chunk)
    except urllib3.exceptions.TimeoutError:
        raise SourceError(f"{url[:100]} stopped answering.", code="image_timeout") from None
    except urllib3.exceptions.HTTPError as err:
        raise SourceError(f"{url[:100]} broke off: {err}.", code="image_unreachable") from None


def _read_file(source: str, *, base: Path | None, limit: int) -> bytes:
    if base is None:
        raise SourceError(
            f"{source[:100]} is not an http(s) URL (a path works only in a feed file).",
            code="image_url_invalid",
        )
    path = (base / source).resolve()
    if not path.is_relative_to(base.resolve()):
        raise SourceError(
            f"{source[:100]} lies outside the feed's folder: name images relative to it.",
            code="image_path_outside",
        )
    if not path.is_file():
        raise SourceError(f"{source[:100]}: no such file beside the feed.", code="image_missing")
    if path.stat().st_size > limit:
        raise SourceError(_too_large(source, limit), code="image_too_large")
    return path.read_bytes()


def image_source_read(source: str, *, base: Path | None = None) -> bytes:
    """The bytes `source` names; raises SourceError with a sentence and a stable code.
    `base`: the folder of the feed file, for relative paths (None: URLs only)."""
    limit = settings.FIDELIS_MAX_UPLOAD_BYTES
    if urlsplit(source).scheme in ("http", "https"):
        sink = io.BytesIO()
        _download(source, limit=limit, kinds=IMAGE_TYPES, sink=sink)
        return sink.getvalue()
    return _read_file(source, base=base, limit=limit)


def feed_download(url: str) -> BinaryIO:
    """A feed named by URL, fetched under the same rules as images into a temporary file
    (returned at its start)."""
    sink = tempfile.TemporaryFile()  # noqa: SIM115 - the caller reads and closes it
    try:
        _download(url, limit=settings.FIDELIS_FEED_MAX_BYTES, kinds=(), sink=sink)
    except BaseException:
        sink.close()
        raise
    sink.seek(0)
    return sink
