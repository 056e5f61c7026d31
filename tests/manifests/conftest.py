"""Fixtures for the manifest tests: validators built from the official schemas.

The schemas are never copied into the repository: they are read from ``../shared/schemas/``
next to the repository root, and the tests that need them are skipped, with the reason, when
that folder is absent. ``../shared/schemas/SOURCES.txt`` says where each file comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.manifests.helpers import SCHEMAS_DIR, load_schema

#: The remote $refs of Slack's dispatcher schema (manifest.schema.json) and the local files
#: that hold the same documents (byte-identical at tag v0.5.0, per SOURCES.txt).
SLACK_REMOTE_REFS = {
    "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
    f"manifest.schema.{version}.json": f"manifest.schema.{version}.json"
    for version in ("1.0.0", "2.0.0")
}

_TEAMS_SCHEMA_URL = re.compile(
    r"https://developer\.microsoft\.com/json-schemas/teams/(v[0-9.]+|vDevPreview)/"
    r"MicrosoftTeams\.schema\.json"
)

TeamsValidatorFor = Callable[[dict[str, Any]], Draft7Validator]


@pytest.fixture(scope="session")
def slack_validator() -> Draft7Validator:
    """Validator for Slack's all-versions manifest schema, its remote $refs served locally.

    The registry has no retrieval function, so a $ref that is not mapped fails loudly
    (``Unresolvable``) instead of being fetched over the network.
    """
    slack_dir = SCHEMAS_DIR / "slack"
    dispatcher = load_schema(slack_dir / "manifest.schema.json")
    registry: Registry = Registry().with_resources(
        (url, Resource.from_contents(load_schema(slack_dir / name), default_specification=DRAFT7))
        for url, name in SLACK_REMOTE_REFS.items()
    )
    return Draft7Validator(dispatcher, registry=registry)


def teams_schema_path(schema_url: str) -> Path:
    """The local copy of the Teams schema published at ``schema_url``."""
    match = _TEAMS_SCHEMA_URL.fullmatch(schema_url)
    assert match, f"unexpected Teams $schema URL: {schema_url}"
    return SCHEMAS_DIR / "teams" / f"MicrosoftTeams.schema.{match.group(1)}.json"


@pytest.fixture(scope="session")
def teams_validator_for() -> TeamsValidatorFor:
    """Return a function giving the validator for the schema a Teams manifest declares.

    The Teams schemas declare draft-04 but use ``const``, which Draft4Validator silently
    ignores; Draft7Validator enforces it (SOURCES.txt), so that is the one used.
    """
    cache: dict[Path, Draft7Validator] = {}

    def for_manifest(manifest: dict[str, Any]) -> Draft7Validator:
        path = teams_schema_path(manifest["$schema"])
        if path not in cache:
            cache[path] = Draft7Validator(load_schema(path))
        return cache[path]

    return for_manifest
