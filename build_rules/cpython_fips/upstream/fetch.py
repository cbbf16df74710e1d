"""Rules that obtain a pinned file (a source archive, a toolchain's `.deb`) from the first place
that has it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from pants.backend.python.subsystems.repos import PythonRepos
from pants.base.build_root import BuildRoot
from pants.core.util_rules.adhoc_binaries import PythonBuildStandaloneBinary
from pants.core.util_rules.system_binaries import BashBinary
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import CreateDigest, Digest, DownloadFile, FileContent, FileDigest, FileEntry
from pants.engine.internals.native_engine import EngineError
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

from cpython_fips.upstream import package_index
from cpython_fips.upstream.pins import (
    PYPI,
    Location,
    SourceArchivePin,
    candidate_locations,
    debian_archive_uris,
)
from cpython_fips.upstream.subsystems import SourceMirrors

# The download intrinsic's message when the content does not match the expected digest.
_WRONG_DIGEST = re.compile(
    r"want Digest \{ hash: Fingerprint<(?P<want>[0-9a-f]{64})>, "
    r"size_bytes: (?P<want_size>\d+) \},? "
    r"got Digest \{ hash: Fingerprint<(?P<got>[0-9a-f]{64})>, size_bytes: (?P<got_size>\d+) \}"
)


MISSING_ARCHIVE_HINT = (
    "Put the file into a directory and add it to the mirrors, e.g. "
    "`./pants --source-mirrors-mirrors=\"+['/path/to/dir']\" ...`, or make one of the places "
    "tried reachable."
)


class SourceArchiveError(Exception):
    pass


@dataclass(frozen=True)
class DebianArchives:
    uris: Tuple[str, ...]


@dataclass(frozen=True)
class Attempt:
    location: Location
    failure: str


@dataclass(frozen=True)
class PackageIndexRequest:
    """Fetch a pin's file from the package indexes (the `pypi` entry of the mirrors)."""

    pin: SourceArchivePin


# The variables the package index fetch passes through: a proxy, a trust store of the host's
# choosing.
_PACKAGE_INDEX_ENV_VARS = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


def attempts_report(attempts: Tuple[Attempt, ...]) -> str:
    return "\n".join(f"- {a.location.url}: {a.failure}" for a in attempts) or (
        "- nowhere: the pin has no URLs, and no mirror entry applies to it"
    )


@dataclass(frozen=True)
class PinnedFileRequest:
    """Look for a file of known digest at `locations`, in order, and name it `filename`.

    `what` names the file in messages ("the source archive x.tar.gz of sources/x:x"); `pin_source`
    is where its pin is written, to fix if the pin itself is wrong.
    """

    what: str
    filename: str
    file_digest: FileDigest
    locations: Tuple[Location, ...]
    pin_source: str


@dataclass(frozen=True)
class PinnedFileFetch:
    """The file and where it came from, or every failed attempt; `mismatch` holds the message of
    a file found with a digest other than the pin's."""

    digest: Optional[Digest]
    origin: Optional[Location]
    attempts: Tuple[Attempt, ...]
    mismatch: Optional[str] = None


@dataclass(frozen=True)
class SourceArchiveFetch:
    """The outcome of looking for a pin: the file and where it came from, or every failed attempt.

    `mismatch` holds the message of a file found with a digest other than the pin's.
    """

    pin: SourceArchivePin
    digest: Optional[Digest]
    origin: Optional[Location]
    attempts: Tuple[Attempt, ...]
    mismatch: Optional[str] = None

    def attempts_report(self) -> str:
        return attempts_report(self.attempts)

    def error_message(self) -> str:
        if self.mismatch:
            return self.mismatch
        return (
            f"Could not obtain the source archive {self.pin.filename} for {self.pin.address} "
            f"(sha256 {self.pin.sha256}, {self.pin.size} bytes). Tried, in the order of "
            f"[source-mirrors].mirrors:\n{self.attempts_report()}\n{MISSING_ARCHIVE_HINT}"
        )


@dataclass(frozen=True)
class FetchedSourceArchive:
    pin: SourceArchivePin
    digest: Digest
    origin: Location


@rule(desc="Find the Debian archives apt is configured with")
async def find_debian_archives(mirrors: SourceMirrors, bash: BashBinary) -> DebianArchives:
    if mirrors.debian_archives:
        return DebianArchives(tuple(mirrors.debian_archives))
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(
                bash.path,
                "-c",
                # Bash built-ins only: the process has no PATH. Files are separated by a blank
                # line, which also ends a deb822 stanza.
                "for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list "
                "/etc/apt/sources.list.d/*.sources; do "
                '[[ -r "$f" ]] && printf "%s\\n\\n" "$(<"$f")"; done; exit 0',
            ),
            description="Read the host's apt sources",
            # The host's configuration, not a build input: never persisted in a cache.
            cache_scope=ProcessCacheScope.PER_SESSION,
        ),
    )
    return DebianArchives(debian_archive_uris(result.stdout.decode(errors="replace")))


def mismatch_message(
    what: str,
    location: Location,
    expected: FileDigest,
    got_sha256: str,
    got_size: int,
    pin_source: str,
) -> str:
    return (
        f"Checksum mismatch for {what}, "
        f"from {location.url} ([source-mirrors] entry `{location.mirror}`): expected sha256 "
        f"{expected.fingerprint} ({expected.serialized_bytes_length} bytes), got sha256 "
        f"{got_sha256} ({got_size} bytes). The file was not used and nothing was "
        "cached. Replace or remove the file at that location; if the pin itself is wrong, "
        f"fix it in {pin_source}."
    )


def _describe_failure(
    error: Exception, request: PinnedFileRequest, location: Location
) -> Tuple[str, bool]:
    """A one-line reason for a failed download, and whether it was a digest mismatch."""
    message = str(error)
    wrong = _WRONG_DIGEST.search(message)
    if wrong:
        return (
            mismatch_message(
                request.what,
                location,
                request.file_digest,
                wrong["got"],
                int(wrong["got_size"]),
                request.pin_source,
            ),
            True,
        )
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    reason = next(
        (line for line in reversed(lines) if not line.startswith(("Traceback", "File "))), ""
    )
    return reason[:300] or type(error).__name__, False


@rule(desc="Fetch a pinned file from the package indexes")
async def fetch_from_package_indexes(
    request: PackageIndexRequest, python_repos: PythonRepos, python: PythonBuildStandaloneBinary
) -> PinnedFileFetch:
    pin = request.pin
    if not pin.pypi_project or not python_repos.indexes:
        return PinnedFileFetch(None, None, ())
    script = Path(package_index.__file__).read_bytes()
    script_digest = await Get(Digest, CreateDigest([FileContent("package_index.py", script)]))
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(_PACKAGE_INDEX_ENV_VARS))
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(
                python.path,
                "package_index.py",
                pin.pypi_project,
                pin.filename,
                pin.sha256,
                str(pin.size),
                *python_repos.indexes,
            ),
            input_digest=script_digest,
            env=env,
            description=f"Fetch {pin.filename} from the package indexes",
            output_files=(pin.filename,),
            # Cached only when it succeeds, which it does only with the pinned bytes.
            level=LogLevel.DEBUG,
        ),
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        failure = (result.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        where = Location(PYPI, ", ".join(python_repos.indexes))
        return PinnedFileFetch(None, None, (Attempt(where, failure[:300]),))
    attempts = tuple(
        Attempt(Location(PYPI, attempt["url"]), attempt["failure"])
        for attempt in report["attempts"]
    )
    if report["mismatch"]:
        wrong = report["mismatch"]
        message = mismatch_message(
            f"the source archive {pin.filename} of {pin.address}",
            Location(PYPI, wrong["url"]),
            pin.file_digest,
            wrong["sha256"],
            wrong["size"],
            f"{pin.address.spec_path}/BUILD",
        )
        return PinnedFileFetch(None, None, attempts, mismatch=message)
    if result.exit_code != package_index.FOUND:
        return PinnedFileFetch(None, None, attempts)
    return PinnedFileFetch(result.output_digest, Location(PYPI, report["origin"]), attempts)


@rule(desc="Fetch a pinned file", level=LogLevel.DEBUG)
async def fetch_pinned_file(request: PinnedFileRequest) -> PinnedFileFetch:
    attempts: List[Attempt] = []
    for location in request.locations:
        try:
            # Verified against the pin's digest and stored; only its name is still to be set.
            await Get(Digest, DownloadFile(location.url, request.file_digest))
        except EngineError as error:
            failure, is_mismatch = _describe_failure(error, request, location)
            if is_mismatch:
                return PinnedFileFetch(None, None, tuple(attempts), mismatch=failure)
            attempts.append(Attempt(location, failure))
            continue
        # Mirrors may name the file differently (by sha256, or Debian's `.orig` name).
        digest = await Get(Digest, CreateDigest([FileEntry(request.filename, request.file_digest)]))
        return PinnedFileFetch(digest, location, tuple(attempts))
    return PinnedFileFetch(None, None, tuple(attempts))


def mirror_groups(mirrors: Sequence[str]) -> Tuple[Tuple[str, ...], ...]:
    """`mirrors` in order, cut at each `pypi` entry, which stands alone: `(a, b, pypi, c)` ->
    `((a, b), (pypi,), (c,))`. The `pypi` entry is fetched by its own rule, the others by URL."""
    groups: List[Tuple[str, ...]] = []
    for entry in mirrors:
        if entry == PYPI or not groups or groups[-1] == (PYPI,):
            groups.append((entry,))
        else:
            groups[-1] += (entry,)
    return tuple(groups)


@rule(desc="Fetch a pinned source archive", level=LogLevel.DEBUG)
async def fetch_source_archive_attempts(
    pin: SourceArchivePin,
    mirrors: SourceMirrors,
    debian_archives: DebianArchives,
    build_root: BuildRoot,
) -> SourceArchiveFetch:
    attempts: Tuple[Attempt, ...] = ()
    for group in mirror_groups(mirrors.mirrors):
        if group == (PYPI,):
            fetch = await Get(PinnedFileFetch, PackageIndexRequest(pin))
        else:
            fetch = await Get(
                PinnedFileFetch,
                PinnedFileRequest(
                    what=f"the source archive {pin.filename} of {pin.address}",
                    filename=pin.filename,
                    file_digest=pin.file_digest,
                    locations=candidate_locations(
                        pin, group, debian_archives.uris, build_root.path
                    ),
                    pin_source=f"{pin.address.spec_path}/BUILD",
                ),
            )
        attempts += fetch.attempts
        if fetch.digest is not None or fetch.mismatch:
            return SourceArchiveFetch(pin, fetch.digest, fetch.origin, attempts, fetch.mismatch)
    return SourceArchiveFetch(pin, None, None, attempts)


@rule
async def fetch_source_archive(pin: SourceArchivePin) -> FetchedSourceArchive:
    fetch = await Get(SourceArchiveFetch, SourceArchivePin, pin)
    if fetch.digest is None or fetch.origin is None:
        raise SourceArchiveError(fetch.error_message())
    return FetchedSourceArchive(pin, fetch.digest, fetch.origin)


def rules():
    return collect_rules()
