"""Any kind of case exports: an abuse report, labelled from ``pack.abuse_report.steps``."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.export.document import build_document
from bot.export.html import render_html
from bot.export.layout import layout
from bot.export.pdf import render_pdf
from bot.policy import load_default_pack
from bot.storage.repos.cases import CaseRow, VersionRow
from bot.storage.repos.events import EventRow

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_an_abuse_report_exports_with_its_step_labels() -> None:
    pack = load_default_pack()
    answers = {"safety": "no", "description": "He said <b>“you’ll pay”</b> £", "extra": 3}
    reporter = {"platform": "teams", "user_id": "29:1", "display_name": "Aoife Ní Bhriain"}
    case = CaseRow(
        id="c1",
        kind="abuse_report",
        reference="AB-2026-0007",
        state="closed",
        version=3,
        urgent=False,
        reporter_key="teams:29:1",
        reporter=reporter,
        assignee_key=None,
        assignee=None,
        data=answers,
        created_at=NOW,
        updated_at=NOW,
        closed_at=NOW,
    )
    version = VersionRow(
        case_id="c1", number=1, data=answers, created_at=NOW, created_by="teams:29:1"
    )
    event = EventRow(
        id=1,
        case_id="c1",
        seq=1,
        at=NOW,
        actor_key="teams:29:1",
        actor_name="Aoife Ní Bhriain",
        event="close",
        from_state="in_progress",
        to_state="closed",
        detail={"outcome": "<i>done</i>"},
        internal=False,
        prev_hash="0" * 64,
        hash="f" * 64,
    )
    doc = build_document(
        pack, case, versions=[version], timeline=[event], presence=None, exported_at=NOW
    )
    answered = {a["key"]: a for a in doc["answers"]}
    assert answered["safety"]["label"] == pack.abuse_report.steps["safety"].label
    assert answered["safety"]["value"] == "No"
    assert answered["extra"] == {"key": "extra", "label": "extra", "value": "3"}
    assert doc["support"] is None and doc["decision"] is None and doc["register"] is None
    assert doc["timeline_intact"] is False  # a made-up hash: the export says so
    titles = [s.title for s in layout(doc).sections]
    assert "Decision" not in titles and "Line manager's support" not in titles
    page = render_html(doc)
    assert "&lt;b&gt;“you’ll pay”&lt;/b&gt;" in page and "<i>" not in page
    assert "BROKEN" in page
    assert render_pdf(doc).startswith(b"%PDF")
