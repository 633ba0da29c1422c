"""Downloading one results file: bounded in size and time, every failure a :class:`DownloadError`
whose message says what happened (the event records it and the next run retries)."""

from __future__ import annotations

import time

import httpx

from services.core.dvla_results import MAX_FILE_BYTES

__all__ = ["DownloadError", "NotPublished", "download"]

USER_AGENT = "reggie-scraper/1 (DVLA auction results import)"


class DownloadError(Exception):
    """The file could not be fetched; worth retrying on the next run."""


class NotPublished(DownloadError):
    """The auctioneer has no results for the event (yet): 404 or 410."""


def download(url: str, *, timeout_s: float, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The body of ``url``; at most ``max_bytes`` and ``timeout_s`` in all (a server that drips
    bytes slowly is cut off too, not only one that stops answering)."""
    deadline = time.monotonic() + timeout_s
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}) as client,
            client.stream("GET", url) as response,
        ):
            _check_status(response)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise DownloadError(f"the file is {int(declared):,} bytes, more than the {max_bytes:,} allowed")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise DownloadError(f"the file is larger than the {max_bytes:,} bytes allowed")
                if time.monotonic() > deadline:
                    raise DownloadError(f"the download took longer than {timeout_s:g} s")
            return bytes(body)
    except httpx.TimeoutException:
        raise DownloadError(f"the server did not answer within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise DownloadError(f"the download failed: {type(exc).__name__}: {str(exc)[:200]}") from None


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status in (404, 410):
        raise NotPublished(f"no results published yet (the server answered {status})")
    if status != 200:
        raise DownloadError(f"the server answered {status} {response.reason_phrase}".rstrip())
