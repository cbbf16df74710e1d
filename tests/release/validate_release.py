"""Validates a release directory's SBOMs and provenance with the formats' own libraries:

    validator RELEASE_DIR

- each `*.cdx.json` with CycloneDX's strict JSON schema validator (cyclonedx-python-lib);
- `provenance.intoto.json` parsed strictly (unknown or mistyped fields are errors) into the
  in-toto attestation framework's Statement and SLSA provenance v1 protobuf messages, then their
  own `validate()`; its subjects must be the release's archives with their SHA256SUMS digests.

Each validator also gets a broken copy, which it must reject (so that a validator that accepts
anything fails this program). Prints PASS/FAIL lines; exits 1 if any failed.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Callable, List

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
failures: List[str] = []


def check(description: str, ok: bool, detail: object = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'}: {description}" + (f" ({detail})" if detail else ""))
    if not ok:
        failures.append(description)


def sbom_errors(document: dict) -> str:
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    return str(errors) if errors else ""


def provenance_errors(document: dict) -> str:
    try:
        statement = json_format.ParseDict(document, statement_pb2.Statement())
        Statement.copy_from_pb(statement).validate()
        if document["predicateType"] != SLSA_PROVENANCE_V1:
            return f"predicateType is {document['predicateType']}"
        predicate = json_format.ParseDict(document["predicate"], provenance_pb2.Provenance())
        for dependency in predicate.build_definition.resolved_dependencies:
            ResourceDescriptor.copy_from_pb(dependency).validate()
        if not predicate.build_definition.build_type or not predicate.run_details.builder.id:
            return "buildType and builder.id are required"
    except (json_format.ParseError, ValueError, KeyError) as error:
        return f"{type(error).__name__}: {error}"
    return ""


def check_document(
    name: str, document: dict, errors_of: Callable[[dict], str], break_it: Callable[[dict], None]
) -> None:
    errors = errors_of(document)
    check(f"{name} is valid", not errors, errors)
    broken = copy.deepcopy(document)
    break_it(broken)
    check(f"a broken copy of {name} is rejected (the validator validates)", bool(errors_of(broken)))


def break_sbom(document: dict) -> None:
    document["components"][0]["type"] = "not-a-component-type"


def break_provenance(document: dict) -> None:
    document["predicate"]["buildDefinition"]["notAField"] = True


def main() -> int:
    release = Path(sys.argv[1])
    sums = {}
    for line in (release / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    sboms = sorted(release.glob("*.cdx.json"))
    check(
        "the release has an SBOM per full archive",
        len(sboms) == len(list(release.glob("*.tar.zst"))) > 0,
        [s.name for s in sboms],
    )
    for sbom in sboms:
        document = json.loads(sbom.read_text())
        check_document(sbom.name, document, sbom_errors, break_sbom)
        names = {component["name"] for component in document["components"]}
        check(
            f"{sbom.name} names CPython, OpenSSL and its FIPS provider",
            {"cpython", "openssl", "openssl-fips-provider"} <= names,
            sorted(names),
        )
    statement = json.loads((release / "provenance.intoto.json").read_text())
    check_document("provenance.intoto.json", statement, provenance_errors, break_provenance)
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement.get("subject", [])}
    archives = {name: digest for name, digest in sums.items() if ".tar." in name}
    check(
        "the provenance's subjects are the archives, with their digests",
        subjects == archives,
        "" if subjects == archives else f"{subjects} vs {archives}",
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
