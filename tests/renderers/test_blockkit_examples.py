"""Block Kit renderer examples: a triage card, a form, long content, odd elements."""

from __future__ import annotations

import pytest
from slack_sdk.models.views import View

from bot.actions import ActionName, ActionRef
from bot.cards import (
    Actions,
    Button,
    Card,
    ChoiceInput,
    Divider,
    Fields,
    Link,
    Option,
    Text,
)
from bot.handlers.slack.blockkit import render_errors, render_message, render_modal
from tests.renderers.support import ELLIPSIS, TRUSTED_URL, every_input
from tests.renderers.test_blockkit_render import LINK_START, validate_with_sdk


def ref(name: ActionName, version: int = 1) -> str:
    return ActionRef(name, "case-42", version).encode()


def test_a_triage_card() -> None:
    card = Card(
        title="New report: abusive phone call",
        elements=(
            Fields((("Reported by", "Sam <@U999>"), ("Severity", "High"), ("Team", "A&E"))),
            Text("Caller threatened staff at *reception*."),
            Divider(),
            Actions(
                (
                    Button("Acknowledge", ref(ActionName.CASE_ACKNOWLEDGE), "primary"),
                    Button("Escalate", ref(ActionName.CASE_ESCALATE), "danger"),
                    Button("Guidance", url=TRUSTED_URL),
                )
            ),
        ),
        fallback="New report <!channel>",
    )
    message = render_message(card)
    header, fields, paragraph, divider, actions = message["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "New report: abusive phone call", "emoji": False},
    }
    assert [f["text"] for f in fields["fields"]] == [
        "Reported by\nSam &lt;@\u2060U999&gt;",
        "Severity\nHigh",
        "Team\nA&amp;E",
    ]
    assert paragraph["text"]["text"] == "Caller threatened staff at *reception*."
    assert divider == {"type": "divider"}
    acknowledge, escalate, guidance = actions["elements"]
    assert acknowledge["action_id"] == "case.acknowledge:0"
    assert acknowledge["value"] == ref(ActionName.CASE_ACKNOWLEDGE)
    assert acknowledge["style"] == "primary" and escalate["style"] == "danger"
    assert guidance["url"] == TRUSTED_URL and "style" not in guidance
    assert message["text"] == "New report &lt;!channel&gt;"
    validate_with_sdk(message["blocks"])


def test_a_modal_with_every_input_and_an_error() -> None:
    card = Card(
        title="Report abusive contact",
        elements=every_input(error_on="what"),
        submit=Button("Next", ref(ActionName.FLOW_NEXT)),
        cancel_label="Close",
        metadata="draft-1:page-2",
    )
    view = render_modal(card, callback_id="flow_page")
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds == {
        "what": "plain_text_input",
        "where": "radio_buttons",
        "site": "static_select",
        "kinds": "checkboxes",
        "tags": "multi_static_select",
        "manager": "users_select",
        "witnesses": "multi_users_select",
        "when": "datepicker",
        "evidence": "file_input",
    }
    blocks = {b["block_id"]: b for b in view["blocks"]}
    what = blocks["what"]["element"]
    assert what["multiline"] and what["max_length"] == 3000
    assert what["initial_value"] == "They said <!here>"  # a field's content, not markup
    assert blocks["where"]["element"]["initial_option"]["value"] == "o1"
    assert [o["value"] for o in blocks["kinds"]["element"]["initial_options"]] == ["o0", "o2"]
    assert blocks["tags"]["optional"] is True and blocks["what"]["optional"] is False
    assert blocks["manager"]["element"]["initial_user"] == "U01"
    assert blocks["when"]["element"]["initial_date"] == "2024-03-01"
    assert blocks["evidence"]["element"] == {
        "type": "file_input",
        "max_files": 10,
        "filetypes": ["pdf", "png"],
        "action_id": "evidence",
    }
    assert view["title"]["text"] == "Report abusive contact"
    assert view["submit"]["text"] == "Next" and view["close"]["text"] == "Close"
    assert view["private_metadata"] == "draft-1:page-2" and view["callback_id"] == "flow_page"
    View(**view).validate_json()
    assert render_errors(card) == {
        "response_action": "errors",
        "errors": {"what": "Please say more &lt;b&gt;"},
    }


def test_long_content_is_cut_with_an_ellipsis() -> None:
    card = Card(
        title="A title far longer than twenty-four characters",
        elements=(
            Text("x" * 5000),
            Text("h" * 400, "heading"),
            Actions((Button("b" * 100, ref(ActionName.CASE_CLOSE)),)),
            Fields((("Label", "v" * 5000),)),
        ),
        submit=Button("Submit this report now please"),
    )
    view = render_modal(card, callback_id="cb")
    assert view["title"]["text"] == "A title far longer than…" and len(view["title"]["text"]) == 24
    assert view["submit"]["text"].endswith(ELLIPSIS) and len(view["submit"]["text"]) == 24
    header, section, heading, actions, fields = view["blocks"]
    assert header["text"]["text"] == card.title  # the whole title, since the bar cut it
    assert section["text"]["text"] == "x" * 2999 + ELLIPSIS
    assert heading["text"]["text"] == "h" * 149 + ELLIPSIS
    assert len(actions["elements"][0]["text"]["text"]) == 75
    assert len(fields["fields"][0]["text"]) == 2000
    View(**view).validate_json()


def test_two_hundred_elements_are_cut_to_the_block_limit() -> None:
    card = Card(title="Many", elements=tuple(Text(f"line {i}") for i in range(200)))
    blocks = render_message(card)["blocks"]
    assert len(blocks) == 50
    assert blocks[-1]["elements"][0]["text"] == f"{ELLIPSIS} (152 more not shown)"
    view = render_modal(card, callback_id="cb")
    assert len(view["blocks"]) == 100
    assert view["blocks"][-1]["elements"][0]["text"] == f"{ELLIPSIS} (101 more not shown)"
    View(**view).validate_json()


def test_buttons_and_inputs_stay_when_texts_are_cut_to_the_block_limit() -> None:
    """A decision with many changes keeps its buttons; a form keeps its inputs: the texts
    nearest them are left out instead, and a note says how many where they were."""
    decide = Actions((Button("Approve", ActionRef(ActionName.CASE_APPROVE, "c1", 3).encode()),))
    changes = tuple(Text(f"change {i}") for i in range(60))
    blocks = render_message(Card(title="Board", elements=(*changes, decide)))["blocks"]
    assert len(blocks) == 50 and blocks[-1]["type"] == "actions"
    assert blocks[-2]["elements"][0]["text"] == f"{ELLIPSIS} (13 more not shown)"
    assert blocks[-3]["text"]["text"] == "change 46"  # the header, then changes 0 to 46
    inputs = every_input()
    view = render_modal(Card(title="Form", elements=(*changes * 2, *inputs)), callback_id="cb")
    assert len(view["blocks"]) == 100
    alone = render_modal(Card(title="Form", elements=inputs), callback_id="cb")["blocks"]
    assert input_ids(view["blocks"]) == input_ids(alone) and len(input_ids(alone)) >= 5
    View(**view).validate_json()


def input_ids(blocks: list[dict[str, object]]) -> list[object]:
    return [block["block_id"] for block in blocks if block["type"] == "input"]


def test_many_options_and_fields_are_split_or_cut() -> None:
    options = tuple(Option(f"v{i}", f"Option {i}") for i in range(150))
    fields = Fields(tuple((f"k{i}", f"v{i}") for i in range(25)))
    blocks = render_message(Card(title="", elements=(ChoiceInput("c", "C", options), fields)))
    select, note, *sections = blocks["blocks"]
    assert len(select["element"]["options"]) == 100
    assert note["elements"][0]["text"] == f"{ELLIPSIS} (50 more options not shown)"
    assert [len(s["fields"]) for s in sections] == [10, 10, 5]


def test_state_that_cannot_be_cut_is_refused() -> None:
    with pytest.raises(ValueError, match="metadata"):
        render_modal(Card(title="t", metadata="m" * 3001), callback_id="cb")
    with pytest.raises(ValueError, match="button value"):
        render_message(Card(title="t", elements=(Actions((Button("b", "v" * 2001),)),)))


def test_unknown_elements_and_odd_links_become_text() -> None:
    card = Card(
        title="",
        elements=(
            Option("x", "An option"),
            object(),  # type: ignore[arg-type]
            Link("Bad", "javascript:alert(1)"),
            Link("a|b>c", TRUSTED_URL),
        ),
    )
    first, second, bad, link = render_message(card)["blocks"]
    assert first["text"]["text"] == "An option" and second["text"]["text"] == "object"
    assert bad["text"] == {"type": "plain_text", "text": "Bad", "emoji": False}
    assert link["text"]["text"] == f"{LINK_START}a\u2223b&gt;c>"
