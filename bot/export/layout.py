"""The reading order of an exported case, shared by the HTML and PDF renderers.

:func:`layout` turns the document (see :mod:`bot.export.document`) into sections of simple
blocks: label and value pairs, paragraphs, "what changed" rows and sub-headings. Both
renderers draw exactly these blocks, so the two formats always carry the same content and
only the drawing differs. Every string here is plain, unescaped text: escaping is the
renderer's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.export.fields import person_text, value_text, when_text, words

BlockKind = Literal["pairs", "text", "changes", "subheading"]
NOTHING = "(blank)"


@dataclass(frozen=True)
class Block:
    """One thing on the page.

    ``pairs`` has ``rows`` of (label, value); ``changes`` has ``rows`` of (label, was, now);
    ``text`` and ``subheading`` have ``text``. ``style`` is ``""``, ``"muted"`` or ``"alert"``.
    """

    kind: BlockKind
    rows: tuple[tuple[str, ...], ...] = ()
    text: str = ""
    style: str = ""


@dataclass(frozen=True)
class Section:
    """A titled part of the document."""

    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Page:
    """The whole document: a title, the lines under it, then the sections."""

    title: str
    subtitle: tuple[str, ...]
    sections: tuple[Section, ...]


def layout(doc: dict[str, Any]) -> Page:
    """The sections of an exported case, in reading order."""
    meta, case = doc["document"], doc["case"]
    business = case["kind"] == "business_case"
    sections = [_summary(doc), _answers(doc)]
    if business or doc["support"]:
        sections.append(_support(doc["support"]))
    if business or doc["decisions"]:
        sections.append(_decision(doc["decision"], doc["decisions"]))
    if business or doc["register"]:
        sections.append(_register(doc["register"]))
    sections += [_versions(doc["versions"]), _timeline(doc)]
    return Page(
        title=f"{meta['title']}",
        subtitle=(
            meta["organisation"],
            f"Exported {when_text(meta['exported_at'])}; times are {meta['time_zone']} time.",
        ),
        sections=tuple(sections),
    )


def _pairs(*rows: tuple[str, str]) -> Block:
    return Block("pairs", tuple((label, value or NOTHING) for label, value in rows))


def _answer_pairs(answers: list[dict[str, str]]) -> Block:
    return _pairs(*((a["label"], a["value"]) for a in answers))


def _summary(doc: dict[str, Any]) -> Section:
    case = doc["case"]
    intact = "Intact" if doc["timeline_intact"] else "BROKEN: the stored timeline was altered"
    return Section(
        "Summary",
        (
            _pairs(
                ("Reference", case["reference"]),
                ("Kind", case["kind_label"]),
                ("Current state", case["state_label"]),
                ("Urgent", "Yes" if case["urgent"] else "No"),
                ("Submitted by", person_text(case["reporter"])),
                ("E-mail", case["reporter_email"]),
                ("Assigned to", person_text(case["assignee"]) or "Nobody"),
                ("Opened", when_text(case["created_at"])),
                ("Last updated", when_text(case["updated_at"])),
                ("Closed", when_text(case["closed_at"]) or "Not closed"),
                ("Versions", str(len(doc["versions"]))),
                ("Timeline hash chain", intact),
            ),
        ),
    )


def _answers(doc: dict[str, Any]) -> Section:
    number = doc["versions"][-1]["number"] if doc["versions"] else 1
    return Section(f"Answers (version {number}, the latest)", (_answer_pairs(doc["answers"]),))


def _support(support: dict[str, Any] | None) -> Section:
    if not support:
        return Section(
            "Line manager's support", (Block("text", text="Not recorded.", style="muted"),)
        )
    return Section(
        "Line manager's support",
        (
            _pairs(
                ("Supported by", person_text(support["by"])),
                ("Date", when_text(support["at"])),
                ("Statement", support["statement"]),
            ),
        ),
    )


def _decision(latest: dict[str, Any] | None, every: list[dict[str, Any]]) -> Section:
    if not latest:
        return Section("Decision", (Block("text", text="No decision yet.", style="muted"),))
    blocks = [_decision_pairs(latest)]
    if len(every) > 1:
        blocks.append(Block("subheading", text="Every decision, oldest first"))
        blocks += [_decision_pairs(d) for d in every]
    return Section("Decision", tuple(blocks))


def _decision_pairs(decision: dict[str, Any]) -> Block:
    return _pairs(
        ("Decision", decision["label"]),
        ("Signed", person_text(decision["signed"])),
        ("Date", when_text(decision["date"])),
        ("Comments", decision["comments"]),
    )


def _register(entry: dict[str, Any] | None) -> Section:
    title = "Register of approved sites"
    if not entry:
        return Section(title, (Block("text", text="Not on the register.", style="muted"),))
    return Section(
        title,
        (
            _pairs(
                ("Platform", entry["platform"]),
                ("Name or web address", entry["name_or_url"]),
                ("Owner", person_text(entry["owner"])),
                ("Approved by", person_text(entry["approved_by"])),
                ("Approval date", when_text(entry["approved_at"])),
                ("Review date", when_text(entry["review_at"])),
            ),
        ),
    )


def _versions(versions: list[dict[str, Any]]) -> Section:
    blocks: list[Block] = []
    for version in versions:
        by = person_text(version["created_by"])
        blocks.append(
            Block(
                "subheading",
                text=f"Version {version['number']}: {when_text(version['created_at'])}, by {by}",
            )
        )
        if version["number"] > 1 or version["changes"]:
            rows = tuple((c["label"], c["was"], c["now"]) for c in version["changes"])
            blocks.append(Block("changes", rows=rows, text="What changed from the version before"))
        blocks.append(Block("text", text=f"Answers in version {version['number']}", style="muted"))
        blocks.append(_answer_pairs(version["answers"]))
    if not blocks:
        blocks.append(Block("text", text="No versions were stored.", style="muted"))
    return Section("Every version", tuple(blocks))


def _timeline(doc: dict[str, Any]) -> Section:
    blocks: list[Block] = []
    for event in doc["timeline"]:
        head = f"{event['seq']}. {words(event['event'])}: {when_text(event['at'])}"
        blocks.append(Block("subheading", text=f"{head}, by {person_text(event['by'])}"))
        rows = [("State", f"{event['from_state'] or '-'} → {event['to_state'] or '-'}")]
        rows += [(words(key), value_text(value)) for key, value in event["detail"].items()]
        if event["internal"]:
            rows.append(("Internal", "Yes (not shown to the reporter)"))
        rows.append(("Hash", event["hash"]))
        blocks.append(_pairs(*rows))
    return Section("Timeline (every event)", tuple(blocks))
