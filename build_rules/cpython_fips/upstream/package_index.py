"""Fetching a release file from the package indexes (PEP 503 / PEP 691 "simple" API).

A pinned file that a PyPI project publishes (a `source_archive` with `pypi_project`) has no URL
of its own that we could write down: the index decides where it stores it. This module asks the
indexes the build is configured with, downloads the file from where the first one says it is,
and keeps it only if its sha256 and size are the pin's. It is pure logic plus a `main` that the
`[source-mirrors]` rules run as a script, with the standard library only, on the interpreter that
runs Pants: Python's HTTPS client trusts the machine's certificate store, as pip does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, List, Optional, Sequence, Tuple
from urllib.parse import unquote, urldefrag, urljoin, urlparse

# PEP 691's JSON form first; indexes that only speak PEP 503 answer with HTML.
ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class IndexFile:
    url: str
    sha256: Optional[str]


@dataclass(frozen=True)
class Lookup:
    """What one index said: the page asked for, and the file's URL, or why there is none."""

    page_url: str
    url: Optional[str] = None
    failure: Optional[str] = None


def normalized_project_name(project: str) -> str:
    """PEP 503's normalized name, as the simple API's URLs use it."""
    return re.sub(r"[-_.]+", "-", project).lower()


def project_page_url(index: str, project: str) -> str:
    return f"{index.rstrip('/')}/{normalized_project_name(project)}/"


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def listed_files(
    page: bytes, content_type: str, page_url: str
) -> Tuple[Tuple[str, IndexFile], ...]:
    """(file name, file) of every file a project page lists, with absolute URLs."""
    if content_type.split(";")[0].strip() == JSON_CONTENT_TYPE:
        document = json.loads(page)
        return tuple(
            (
                entry["filename"],
                IndexFile(urljoin(page_url, entry["url"]), entry.get("hashes", {}).get("sha256")),
            )
            for entry in document.get("files", ())
        )
    anchors = _Anchors()
    anchors.feed(page.decode("utf-8", errors="replace"))
    found = []
    for href in anchors.hrefs:
        url, fragment = urldefrag(urljoin(page_url, href))
        name = unquote(urlparse(url).path.rsplit("/", 1)[-1])
        algorithm, _, value = fragment.partition("=")
        found.append((name, IndexFile(url, value if algorithm == "sha256" else None)))
    return tuple(found)


def find_file(page: bytes, content_type: str, page_url: str, filename: str, sha256: str) -> Lookup:
    """The URL of `filename` on a project page. A listed sha256 other than the pin's is a failure
    (the download would be refused anyway); an index that lists no hash is trusted to the
    download's own check."""
    for name, listed in listed_files(page, content_type, page_url):
        if name != filename:
            continue
        if listed.sha256 and listed.sha256 != sha256:
            return Lookup(
                page_url,
                failure=(
                    f"the index lists {filename} with sha256 {listed.sha256}, "
                    f"not the pin's {sha256}"
                ),
            )
        return Lookup(page_url, url=listed.url)
    return Lookup(page_url, failure=f"{filename} is not among the project's files")


def _open(url: str, timeout: float, accept: Optional[str] = None) -> Any:
    headers = {"Accept": accept} if accept else {}
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def look_up(index: str, project: str, filename: str, sha256: str, timeout: float = 60) -> Lookup:
    page_url = project_page_url(index, project)
    try:
        with _open(page_url, timeout, ACCEPT) as response:
            page = response.read()
            content_type = response.headers.get("Content-Type", "text/html")
            final_url = response.geturl()
    except (urllib.error.URLError, OSError) as error:
        return Lookup(page_url, failure=f"could not read the project page: {error}")
    return find_file(page, content_type, final_url, filename, sha256)


def download(url: str, destination: str, timeout: float = 600) -> Tuple[str, int]:
    """Writes the file at `url` to `destination`; returns its sha256 and size."""
    digest, size = hashlib.sha256(), 0
    with _open(url, timeout) as response, open(destination, "wb") as out:
        for chunk in iter(lambda: response.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


# main's exit codes: the pinned file is in the working directory, or it is not.
FOUND, NOT_FOUND = 0, 3


def main(argv: Sequence[str]) -> int:
    """`package_index.py PROJECT FILENAME SHA256 SIZE INDEX...`: the first index that has the file
    supplies it (written as FILENAME). Prints one JSON object: `origin`, the URL it came from;
    `attempts`, what failed where (`url`, `failure`); `mismatch`, a file whose digest differs from
    the pin. Exits FOUND only with the pinned bytes written."""
    project, filename, sha256, size, *indexes = argv
    report: dict = {"origin": None, "attempts": [], "mismatch": None}
    for index in indexes:
        lookup = look_up(index, project, filename, sha256)
        if lookup.url is None:
            report["attempts"].append({"url": lookup.page_url, "failure": lookup.failure})
            continue
        try:
            got_sha256, got_size = download(lookup.url, filename)
        except (urllib.error.URLError, OSError) as error:
            report["attempts"].append({"url": lookup.url, "failure": f"download failed: {error}"})
            continue
        if (got_sha256, got_size) != (sha256, int(size)):
            os.unlink(filename)
            report["mismatch"] = {"url": lookup.url, "sha256": got_sha256, "size": got_size}
            break
        report["origin"] = lookup.url
        break
    json.dump(report, sys.stdout)
    return FOUND if report["origin"] else NOT_FOUND


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
