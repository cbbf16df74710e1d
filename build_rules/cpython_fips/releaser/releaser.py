"""Makes the release files that go next to the archives of a release (run as a PEX by the
`make-release` goal):

    releaser.py MANIFEST ARCHIVES_DIR OUT_DIR

MANIFEST (JSON, written by the goal): the tag, the base URL the archives will be downloaded
from, the builder, the git commit (null outside a git worktree), and per distribution its
target, its archives' file names, the source pins it was built from and the toolchain locks.
Writes to OUT_DIR:

  SHA256SUMS                  every other file of the release, in sha256sum's format
  download-metadata.json      uv's Python downloads list (UV_PYTHON_DOWNLOADS_JSON_URL)
  <full archive>.cdx.json     a CycloneDX 1.6 SBOM per distribution
  provenance.intoto.json      an in-toto statement with SLSA provenance v1 for the release

The archives themselves are the caller's to place. Everything is a function of the inputs:
nothing reads the clock, so the same archives and manifest give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import zstandard
from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import ExternalReference, ExternalReferenceType, HashType, Property, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from google.protobuf import json_format, struct_pb2
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement
from packageurl import PackageURL

from cpython_fips.digests import sha256_of

SHA256SUMS = "SHA256SUMS"
DOWNLOADS = "download-metadata.json"
PROVENANCE = "provenance.intoto.json"
SBOM_SUFFIX = ".cdx.json"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
# What this build is, for SLSA: Pants' `make-release` goal of this repository (a URN: the
# repository may live anywhere).
BUILD_TYPE = "urn:cpython-fips:build-type:pants-make-release:v1"
# Our properties in the SBOM, namespaced as CycloneDX's property taxonomy asks.
PROPERTY = "cpython-fips:"

# uv's names for our target triples: (architecture family, os, libc).
UV_PLATFORMS = {
    "x86_64-unknown-linux-gnu": ("x86_64", "linux", "gnu"),
    "aarch64-unknown-linux-gnu": ("aarch64", "linux", "gnu"),
    "aarch64-apple-darwin": ("aarch64", "darwin", "none"),
}


class ReleaseError(Exception):
    pass


@dataclass(frozen=True)
class Archives:
    """One distribution's three archives (file names), told apart by python-build-standalone's
    naming."""

    full: str
    install_only: str
    install_only_stripped: str

    @classmethod
    def classify(cls, names: Iterable[str]) -> "Archives":
        kinds: Dict[str, List[str]] = {"full": [], "install_only": [], "install_only_stripped": []}
        for name in names:
            if name.endswith(".tar.zst"):
                kinds["full"].append(name)
            elif "-install_only_stripped-" in name:
                kinds["install_only_stripped"].append(name)
            elif "-install_only-" in name:
                kinds["install_only"].append(name)
            else:
                raise ReleaseError(f"{name} is not an archive of a release")
        wrong = {kind: found for kind, found in kinds.items() if len(found) != 1}
        if wrong:
            raise ReleaseError(f"a distribution has one archive of each kind, not {wrong}")
        return cls(**{kind: found[0] for kind, found in kinds.items()})

    def all(self) -> Tuple[str, str, str]:
        return (self.full, self.install_only, self.install_only_stripped)


def parse_sha256sums(text: str) -> Dict[str, str]:
    """{file name: sha256} of a SHA256SUMS file."""
    sums = {}
    for line in text.splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    return sums


def python_json(full_archive: Path) -> dict:
    """python/PYTHON.json of a full archive (.tar.zst)."""
    with full_archive.open("rb") as compressed:
        data = zstandard.ZstdDecompressor().stream_reader(compressed).read()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("python/PYTHON.json")
        if member is None:
            raise ReleaseError(f"{full_archive.name} has no python/PYTHON.json")
        return json.load(member)


@dataclass(frozen=True)
class Distribution:
    target: str
    archives: Archives
    info: dict  # PYTHON.json
    pins: Tuple[dict, ...]  # the source pins, from the manifest
    locks: Tuple[dict, ...]  # the toolchain locks: {"path", "sha256"}

    @property
    def version(self) -> str:
        return str(self.info["python_version"])

    @property
    def triple(self) -> str:
        return str(self.info["target_triple"])

    @property
    def build_options(self) -> str:
        return str(self.info["build_options"])

    @property
    def freethreaded(self) -> bool:
        return "freethreaded" in self.build_options.split("+")

    @property
    def optimised(self) -> bool:
        return "pgo" in self.build_options.split("+")

    def uv_key(self) -> str:
        arch, os_name, libc = uv_platform(self.triple)
        variant = "+freethreaded" if self.freethreaded else ""
        return f"cpython-{self.version}{variant}-{os_name}-{arch}-{libc}"


def uv_platform(triple: str) -> Tuple[str, str, str]:
    try:
        return UV_PLATFORMS[triple]
    except KeyError:
        raise ReleaseError(f"no uv platform for {triple} (known: {sorted(UV_PLATFORMS)})")


def check_pins(distribution: Distribution) -> None:
    """Every component that PYTHON.json says is bundled was built from one of the pins."""
    pinned = {pin["sha256"] for pin in distribution.pins}
    unpinned = [
        component["name"]
        for component in distribution.info.get("cpython_fips", {}).get("components", [])
        if component["sha256"] not in pinned
    ]
    if unpinned:
        raise ReleaseError(
            f"{distribution.target}: bundled components without a pin in the build graph: "
            f"{unpinned}"
        )


def downloads(
    distributions: Sequence[Distribution], base_url: str, tag: str, sha256s: Mapping[str, str]
) -> dict:
    """uv's downloads list: one entry per interpreter (version, platform, threading). Where a
    release holds both, the pgo+lto build is listed, not noopt."""
    chosen: Dict[str, Distribution] = {}
    for distribution in distributions:
        key = distribution.uv_key()
        other = chosen.get(key)
        if other is not None and other.optimised == distribution.optimised:
            raise ReleaseError(
                f"{other.target} and {distribution.target} are both {key} for uv; release one"
            )
        if other is None or distribution.optimised:
            chosen[key] = distribution
    entries = {}
    for key, distribution in sorted(chosen.items()):
        arch, os_name, libc = uv_platform(distribution.triple)
        major, minor, patch = distribution.version.split(".")
        archive = distribution.archives.install_only_stripped
        entries[key] = {
            "name": "cpython",
            "arch": {"family": arch, "variant": None},
            "os": os_name,
            "libc": libc,
            "major": int(major),
            "minor": int(minor),
            "patch": int(patch),
            "prerelease": "",
            "url": f"{base_url.rstrip('/')}/{archive}",
            "sha256": sha256s[archive],
            "variant": "freethreaded" if distribution.freethreaded else None,
            "build": tag,
        }
    return entries


def purl_of(pin: dict) -> PackageURL:
    qualifiers = {"checksum": f"sha256:{pin['sha256']}"}
    if pin.get("urls"):
        qualifiers["download_url"] = pin["urls"][0]
    return PackageURL(
        type="generic", name=pin["product"], version=pin["version"], qualifiers=qualifiers
    )


def sbom(distribution: Distribution, tag: str, base_url: str, sha256s: Mapping[str, str]) -> str:
    """A CycloneDX 1.6 SBOM of one distribution: what it bundles, from the source pins."""
    licenses = LicenseFactory()
    components = []
    for pin in sorted(distribution.pins, key=lambda pin: pin["address"]):
        properties = [Property(name=f"{PROPERTY}pin", value=pin["address"])]
        if pin.get("repack"):
            properties.append(Property(name=f"{PROPERTY}repack", value=pin["repack"]))
        properties.extend(
            Property(name=f"{PROPERTY}patch", value=patch) for patch in pin.get("patches", [])
        )
        purl = purl_of(pin)
        components.append(
            Component(
                type=ComponentType.LIBRARY,
                name=pin["product"],
                version=pin["version"],
                bom_ref=purl.to_string(),
                purl=purl,
                hashes=[HashType.from_hashlib_alg("sha256", pin["sha256"])],
                licenses=[licenses.make_from_string(pin["license"])] if pin.get("license") else [],
                external_references=[
                    ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(url))
                    for url in pin.get("urls", [])
                ],
                properties=properties,
            )
        )
    archives = distribution.archives.all()
    described = Component(
        type=ComponentType.APPLICATION,
        name="cpython",
        version=distribution.version,
        bom_ref=distribution.archives.full,
        description=(
            f"CPython {distribution.version} for {distribution.triple} "
            f"({distribution.build_options}), with OpenSSL and its FIPS provider"
        ),
        external_references=[
            ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION,
                url=XsUri(f"{base_url.rstrip('/')}/{archive}"),
                hashes=[HashType.from_hashlib_alg("sha256", sha256s[archive])],
            )
            for archive in archives
        ],
        properties=[
            Property(name=f"{PROPERTY}target", value=distribution.target),
            Property(name=f"{PROPERTY}target-triple", value=distribution.triple),
            Property(name=f"{PROPERTY}build-options", value=distribution.build_options),
            Property(name=f"{PROPERTY}release-tag", value=tag),
        ],
    )
    bom = Bom(
        components=components,
        # Derived from what it describes, so that the same release gives the same file.
        serial_number=uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"cpython-fips:{distribution.archives.full}" f":{sha256s[distribution.archives.full]}",
        ),
        metadata=BomMetaData(component=described),
    )
    # No clock: the bytes depend on the inputs only. (The library types it as always set, and
    # omits it when None.)
    bom.metadata.timestamp = None  # type: ignore[assignment]
    bom.register_dependency(described, components)
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


def provenance(
    distributions: Sequence[Distribution], manifest: dict, sha256s: Mapping[str, str]
) -> str:
    """An in-toto statement of SLSA provenance v1: the archives, made from the pins, the
    toolchain locks and the git commit, by the `make-release` goal with these parameters."""
    subjects = [
        ResourceDescriptor(name=archive, digest={"sha256": sha256s[archive]}).pb
        for distribution in distributions
        for archive in distribution.archives.all()
    ]
    dependencies: Dict[str, ResourceDescriptor] = {}
    git = manifest["git"]  # None for a dry run outside a git worktree
    if git:
        dependencies["git"] = ResourceDescriptor(
            name="git-commit",
            digest={"gitCommit": git["commit"]},
            annotations={"dirty": git["dirty"]},
        )
    for distribution in distributions:
        for pin in distribution.pins:
            dependencies[pin["address"]] = ResourceDescriptor(
                name=pin["address"],
                uri=pin["urls"][0] if pin.get("urls") else "",
                digest={"sha256": pin["sha256"]},
            )
        for lock in distribution.locks:
            dependencies[lock["path"]] = ResourceDescriptor(
                name=lock["path"], digest={"sha256": lock["sha256"]}
            )
    predicate = provenance_pb2.Provenance(
        build_definition=provenance_pb2.BuildDefinition(
            build_type=BUILD_TYPE,
            external_parameters=json_struct(
                {
                    "targets": [distribution.target for distribution in distributions],
                    "tag": manifest["tag"],
                    "baseUrl": manifest["base_url"],
                    "buildOptions": sorted({d.build_options for d in distributions}),
                }
            ),
            internal_parameters=json_struct({"dryRun": manifest["dry_run"]}),
            resolved_dependencies=[dependencies[key].pb for key in sorted(dependencies)],
        ),
        run_details=provenance_pb2.RunDetails(
            builder=provenance_pb2.Builder(id=manifest["builder_id"])
        ),
    )
    statement = Statement(subjects, SLSA_PROVENANCE_V1, json_format.MessageToDict(predicate))
    statement.validate()
    document = json_format.MessageToDict(statement.pb)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def json_struct(value: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def make_release(manifest: dict, archives_dir: Path, out_dir: Path) -> List[str]:
    """Writes the release files to out_dir; returns their names."""
    distributions = []
    for entry in manifest["distributions"]:
        archives = Archives.classify(entry["archives"])
        for name in archives.all():
            if not (archives_dir / name).is_file():
                raise ReleaseError(f"{entry['target']}: {name} is not in {archives_dir}")
        distribution = Distribution(
            target=entry["target"],
            archives=archives,
            info=python_json(archives_dir / archives.full),
            pins=tuple(entry["pins"]),
            locks=tuple(entry["locks"]),
        )
        check_pins(distribution)
        distributions.append(distribution)
    if not distributions:
        raise ReleaseError("a release needs at least one distribution")
    sha256s = {
        name: sha256_of(archives_dir / name)
        for distribution in distributions
        for name in distribution.archives.all()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written: Dict[str, bytes] = {}
    listing = downloads(distributions, manifest["base_url"], manifest["tag"], sha256s)
    written[DOWNLOADS] = (json.dumps(listing, indent=2) + "\n").encode()
    for distribution in distributions:
        name = distribution.archives.full.removesuffix(".tar.zst") + SBOM_SUFFIX
        written[name] = sbom(distribution, manifest["tag"], manifest["base_url"], sha256s).encode()
    written[PROVENANCE] = provenance(distributions, manifest, sha256s).encode()
    for name, content in written.items():
        (out_dir / name).write_bytes(content)
    checksums = {
        **sha256s,
        **{name: hashlib.sha256(data).hexdigest() for name, data in written.items()},
    }
    (out_dir / SHA256SUMS).write_text(
        "".join(f"{digest}  {name}\n" for name, digest in sorted(checksums.items()))
    )
    return sorted([*written, SHA256SUMS])


def main(argv: Optional[Sequence[str]] = None) -> int:
    manifest_path, archives_dir, out_dir = argv if argv is not None else sys.argv[1:]
    try:
        manifest = json.loads(Path(manifest_path).read_text())
        written = make_release(manifest, Path(archives_dir), Path(out_dir))
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
