"""Building blocks shared by every part of the policy pack schema.

A policy pack is written by an administrator, not a developer, so every model here is frozen
(nothing in the running bot can change policy by accident) and forbids unknown keys (a typo in
the YAML is an error that names the line, not a silently ignored setting).

Cross-reference checks (a role, contact, step or option named somewhere else in the pack)
cannot be expressed per field. They collect their findings in a :class:`Problems` list and
raise one :class:`CrossReferenceError`, which keeps each finding's own field path so the loader
can point at the right line of the file.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

#: Ids are short, lower-case and stable: flows, cards and stored answers refer to them.
ID_PATTERN = r"^[a-z][a-z0-9_]*$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]

Loc = tuple[str | int, ...]


class PackModel(BaseModel):
    """Base of every pack model: frozen, and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Link(PackModel):
    """A link shown with advice or a checklist point."""

    label: Text
    url: Url


class Option(PackModel):
    """One answer to a choice question.

    ``reports_to`` is only used on the abuse report's ``reporter_role`` step and
    ``report_url`` only on its ``platform`` step; the abuse report schema checks that.
    """

    id: Id
    label: Text
    hint: str | None = None
    reports_to: str | None = None
    report_url: Url | None = None


class Ask(PackModel):
    """A field asked for when someone presses a button (escalate, close, ...)."""

    id: Id
    label: Text
    hint: str | None = None
    kind: str = Field(default="text", pattern=r"^(text|long_text|choice)$")
    options: list[Option] = Field(default_factory=list)
    required: bool = True
    max_length: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check_options(self) -> Ask:
        """Check that choices have options and other kinds do not."""
        problems = Problems()
        if self.kind == "choice" and len(self.options) < 2:
            problems.add(("options",), "a choice needs at least two options")
        if self.kind != "choice" and self.options:
            problems.add(("options",), f"a {self.kind} field takes no options")
        problems.check_unique(("options",), [o.id for o in self.options])
        problems.raise_if_any()
        return self


class CrossReferenceError(ValueError):
    """Several findings, each with the field path (relative to the model) it is about."""

    def __init__(self, problems: Sequence[tuple[Loc, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{format_loc(loc)}: {msg}" for loc, msg in self.problems))


class Problems:
    """Collects cross-reference findings and raises them together."""

    def __init__(self) -> None:
        self.items: list[tuple[Loc, str]] = []

    def add(self, loc: Loc, message: str) -> None:
        """Record one finding at ``loc`` (relative to the model being validated)."""
        self.items.append((loc, message))

    def extend(self, prefix: Loc, error: CrossReferenceError) -> None:
        """Take over another model's findings, under ``prefix``."""
        self.items.extend((prefix + loc, msg) for loc, msg in error.problems)

    def check_unique(self, loc: Loc, ids: Iterable[str], what: str = "id") -> None:
        """Record every id that occurs more than once in the list at ``loc``."""
        ids = list(ids)
        for value, count in Counter(ids).items():
            if count > 1:
                index = [i for i, x in enumerate(ids) if x == value][1]
                self.add((*loc, index), f"duplicate {what} {value!r}")

    def check_known(self, loc: Loc, value: str, known: Iterable[str], what: str) -> None:
        """Record ``value`` if it is not one of ``known``."""
        known = set(known)
        if value not in known:
            self.add(loc, f"unknown {what} {value!r} (known: {', '.join(sorted(known))})")

    def raise_if_any(self) -> None:
        """Raise :class:`CrossReferenceError` if anything was recorded."""
        if self.items:
            raise CrossReferenceError(self.items)


def format_loc(loc: Loc) -> str:
    """Render a field path the way the pack is written: ``a.b[3].c`` or ``a["x.y"]``.

    Args:
        loc: A pydantic-style location, strings for keys and ints for list positions.

    Returns:
        The dotted path, with keys that are not plain names in brackets.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out or "(top level)"


def placeholders(template: str) -> set[str]:
    """Return the ``{name}`` placeholders a message template uses.

    Args:
        template: A text using :meth:`str.format` placeholders.

    Raises:
        ValueError: when the braces do not parse.
    """
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def check_placeholders(problems: Problems, loc: Loc, template: str, allowed: set[str]) -> None:
    """Record a template that uses a placeholder the code will not fill in."""
    try:
        used = placeholders(template)
    except ValueError as exc:
        problems.add(loc, f"unreadable placeholder: {exc}")
        return
    for name in sorted(used - allowed):
        problems.add(loc, f"unknown placeholder {{{name}}} (allowed: {sorted(allowed)})")
