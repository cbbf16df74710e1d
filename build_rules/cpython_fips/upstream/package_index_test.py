from __future__ import annotations

import json

from cpython_fips.upstream.package_index import (
    JSON_CONTENT_TYPE,
    Lookup,
    find_file,
    project_page_url,
)

PAGE_URL = "https://index.example/simple/python-sources/"
SHA256 = "ab" * 32
FILENAME = "python-sources-3.10.5.tar.gz"


def test_project_page_url_uses_the_normalized_name() -> None:
    assert project_page_url("https://i.example/simple/", "Python_Sources") == (
        "https://i.example/simple/python-sources/"
    )
    assert project_page_url("https://i.example/simple", "zope.interface") == (
        "https://i.example/simple/zope-interface/"
    )


def json_page(*files: dict) -> bytes:
    return json.dumps({"meta": {"api-version": "1.0"}, "files": list(files)}).encode()


def test_json_page() -> None:
    page = json_page(
        {"filename": "python-sources-3.10.4.tar.gz", "url": "../../f/4.tar.gz", "hashes": {}},
        {
            "filename": FILENAME,
            "url": "https://files.example/p/x.tar.gz",
            "hashes": {"sha256": SHA256},
        },
    )
    assert find_file(page, JSON_CONTENT_TYPE, PAGE_URL, FILENAME, SHA256) == Lookup(
        PAGE_URL, url="https://files.example/p/x.tar.gz"
    )


def test_html_page_with_relative_links() -> None:
    page = f"""<!DOCTYPE html><html><body>
    <a href="../../packages/aa/{FILENAME}#sha256={SHA256}" data-requires-python="">{FILENAME}</a>
    <a href="../../packages/bb/other-1.0.tar.gz">other-1.0.tar.gz</a>
    </body></html>""".encode()
    assert find_file(page, "text/html; charset=utf-8", PAGE_URL, FILENAME, SHA256) == Lookup(
        PAGE_URL, url=f"https://index.example/packages/aa/{FILENAME}"
    )


def test_a_listed_digest_other_than_the_pin_is_refused() -> None:
    page = json_page({"filename": FILENAME, "url": "x.tar.gz", "hashes": {"sha256": "cd" * 32}})
    lookup = find_file(page, JSON_CONTENT_TYPE, PAGE_URL, FILENAME, SHA256)
    assert lookup.url is None
    assert (
        lookup.failure
        == f"the index lists {FILENAME} with sha256 {'cd' * 32}, not the pin's {SHA256}"
    )


def test_a_file_the_project_does_not_list() -> None:
    lookup = find_file(json_page(), JSON_CONTENT_TYPE, PAGE_URL, FILENAME, SHA256)
    assert lookup == Lookup(PAGE_URL, failure=f"{FILENAME} is not among the project's files")
