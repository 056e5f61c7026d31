"""Load a policy pack from YAML, with errors that name the file, the line and the field.

Packs are edited by administrators, so a mistake must be easy to find: every problem reads
``packs/acme.yaml:42: abuse_report.steps.kind.options[3].label: Field required``.

How: PyYAML composes the document into a node tree (nodes know their line), we build plain
Python values from it ourselves (refusing duplicate keys, which PyYAML silently lets the last
one win) and remember the line of every key and list item by its path. Pydantic reports
errors by path (``loc``); we map each path back to the nearest line we know. Field problems
are all reported together; cross-reference problems (an unknown role or contact) are checked
once every field is valid, and are then all reported together too.

The YAML dialect is kept plain, close to YAML 1.2: only ``true``/``false`` are booleans (so an
option id ``no`` stays the text "no"), numbers with a leading zero such as phone numbers stay
text, and ``9:00`` is not read as a number of minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.policy.common import CrossReferenceError, Loc, format_loc
from bot.policy.schema import PolicyPack

DEFAULT_PACK = "default.yaml"

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_REPLACED = frozenset({_BOOL, _INT, _FLOAT, _TIMESTAMP})


class _PackLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style scalars (see the module docstring)."""

    # A copy, so the changes below do not leak into yaml.SafeLoader.
    yaml_implicit_resolvers = {  # noqa: RUF012
        first: [(tag, rx) for tag, rx in resolvers if tag not in _REPLACED]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_PackLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_PackLoader.add_implicit_resolver(
    _INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_PackLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack, where it is, and what."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class PackError(ValueError):
    """A pack that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_pack(path: str | Path) -> PolicyPack:
    """Load and validate the policy pack in a YAML file.

    Args:
        path: The pack's file.

    Returns:
        The validated pack.

    Raises:
        PackError: when the file cannot be read, is not valid YAML, or fails validation.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError([Problem(source, None, "", f"cannot read the pack: {exc}")]) from exc
    return parse_pack(text, source)


@lru_cache(maxsize=1)
def load_default_pack() -> PolicyPack:
    """Load the built-in pack made from the seed policies (cached: packs are immutable).

    Raises:
        PackError: only if the built-in pack is broken, which its tests prevent.
    """
    resource = resources.files("bot.policy").joinpath("packs", DEFAULT_PACK)
    return parse_pack(resource.read_text(encoding="utf-8"), f"bot/policy/packs/{DEFAULT_PACK}")


def parse_pack(text: str, source_name: str = "<pack>") -> PolicyPack:
    """Validate a pack given as YAML text.

    Args:
        text: The YAML document.
        source_name: How to name the text in error messages, usually its path.

    Returns:
        The validated pack.

    Raises:
        PackError: with every problem found, each naming ``source_name``, a line and a field.
    """
    data, lines = _read_yaml(text, source_name)
    if not isinstance(data, dict):
        raise PackError([Problem(source_name, 1, "", "a pack is a mapping of sections")])
    try:
        return PolicyPack.model_validate(data)
    except ValidationError as exc:
        raise PackError(_problems(exc, lines, source_name)) from None


def _read_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    loader = _PackLoader(text)
    try:
        node = _compose(loader, source)
        builder = _Builder(loader, source)
        data = builder.build(node, ())
    finally:
        loader.dispose()
    if builder.problems:
        raise PackError(builder.problems)
    return data, builder.lines


def _compose(loader: _PackLoader, source: str) -> yaml.Node:
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise PackError([Problem(source, line, "", f"YAML syntax: {message}")]) from None
    except yaml.YAMLError as exc:
        raise PackError([Problem(source, None, "", f"YAML syntax: {exc}")]) from None
    if node is None:
        raise PackError([Problem(source, 1, "", "the pack is empty")])
    return node


class _Builder:
    """Turns a node tree into plain values, noting each path's line and duplicate keys."""

    def __init__(self, loader: _PackLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.lines: dict[Loc, int] = {(): 1}
        self.problems: list[Problem] = []
        self._open: set[int] = set()

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if id(node) in self._open:
            self._problem(node, loc, "an alias refers to itself")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, loc)
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, loc)
            self._problem(node, loc, "unexpected YAML node")
            return None
        finally:
            self._open.discard(id(node))

    def _sequence(self, node: yaml.SequenceNode, loc: Loc) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            self.lines[(*loc, index)] = item.start_mark.line + 1
            items.append(self.build(item, (*loc, index)))
        return items

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.build(key_node, loc)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int):
                self._problem(key_node, loc, "a key must be plain text")
                continue
            if key in first_line:
                where = format_loc((*loc, str(key)))
                message = f"duplicate key {key!r} (first given on line {first_line[key]})"
                self.problems.append(Problem(self.source, line, where, message))
                continue
            first_line[key] = line
            self.lines[(*loc, str(key))] = line
            result[key] = self.build(value_node, (*loc, str(key)))
        return result

    def _problem(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.problems.append(
            Problem(self.source, node.start_mark.line + 1, format_loc(loc), message)
        )


def _problems(exc: ValidationError, lines: dict[Loc, int], source: str) -> list[Problem]:
    found: list[Problem] = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CrossReferenceError):
            for sub_loc, message in cause.problems:
                found.append(_at(loc + sub_loc, message, lines, source))
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        found.append(_at(loc, message, lines, source))
    return sorted(found, key=lambda p: (p.line or 0, p.path))


def _at(loc: Loc, message: str, lines: dict[Loc, int], source: str) -> Problem:
    # Pydantic marks a bad dict key with "[key]"; the key's own line is the one to show.
    loc = tuple(part for part in loc if part != "[key]")
    probe = loc
    while probe not in lines:
        probe = probe[:-1]
    return Problem(source, lines[probe], format_loc(loc), message)
