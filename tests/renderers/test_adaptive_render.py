"""The Adaptive Card renderer: safe for any text, under Teams' size limit, valid 1.5 JSON."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from bot.actions import ActionName, ActionRef
from bot.cards import Actions, Button, Card, Divider, Fields, Link, Text
from bot.handlers.teams import adaptive
from bot.handlers.teams.adaptive import SHORTENED, SHORTER, as_attachment, render
from bot.handlers.teams.adaptive_text import card_size
from tests.renderers.support import (
    ELLIPSIS,
    TRUSTED_URL,
    WORD_JOINER,
    cards,
    every_input,
    shown_or_cut,
    teams_norm,
    teams_shows,
    user_text,
    validate_adaptive,
)
from tests.renderers.test_adaptive_escaping import assert_markdown_inert, assert_plain_inert

LINK_END = f"]({TRUSTED_URL})"
CARD_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
INPUT_TYPES = ("Input.Text", "Input.ChoiceSet", "Input.Date")


def dicts(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found += dicts(item)
    elif isinstance(value, list):
        for item in value:
            found += dicts(item)
    return found


def shown(text: str) -> str:
    return text.replace(WORD_JOINER, "")


def assert_safe_and_within_limits(card: dict[str, Any]) -> None:
    assert card_size(card) <= 28_000
    assert_markdown_inert(card["fallbackText"])
    for item in dicts(card):
        kind = item.get("type")
        if kind == "TextBlock":
            text = item["text"]
            if text.startswith("[") and text.endswith(LINK_END):  # a pack link: the URL is trusted
                text = text[1 : -len(LINK_END)]
            assert_markdown_inert(text)
            assert len(teams_shows(text)) <= 4000
        elif kind == "FactSet":
            for fact in item["facts"]:
                assert_markdown_inert(fact["title"])
                assert_markdown_inert(fact["value"])
                assert len(teams_shows(fact["title"])) <= 200
                assert len(teams_shows(fact["value"])) <= 1000
        elif kind in ("Action.Execute", "Action.OpenUrl"):
            assert_plain_inert(item["title"])
            assert len(shown(item["title"])) <= 50
        elif kind in INPUT_TYPES:
            for key in ("label", "placeholder", "errorMessage"):
                assert_plain_inert(item.get(key, ""))
            assert len(shown(item["label"])) <= 500
            for choice in item.get("choices", []):
                assert_plain_inert(choice["title"])
                assert len(shown(choice["title"])) <= 200
            if kind == "Input.Text":
                assert len(item.get("value", "")) <= item["maxLength"] <= 4000


@CARD_SETTINGS
@given(cards)
def test_any_card_renders_safe_within_limits_and_valid(card: Card) -> None:
    rendered = render(card)
    assert_safe_and_within_limits(rendered)
    validate_adaptive(rendered)


@settings(max_examples=150, deadline=None)
@given(user_text)
def test_a_paragraph_shows_the_text_whole_or_cut(text: str) -> None:
    body = render(Card(title="", elements=(Text(text),)))["body"]
    if text.strip():
        shown = teams_shows(body[0]["text"])
        assert len(shown) <= 4000 and shown_or_cut(shown, teams_norm(text))
        assert card_size(body[0]["text"]) <= 12_000
    else:
        assert body == []


def ref(name: ActionName) -> str:
    return ActionRef(name, "case-42", 3).encode()


def test_a_triage_card() -> None:
    card = Card(
        title="New report: abusive phone call",
        elements=(
            Fields((("Reported by", "Sam <at>Al</at>"), ("Severity", "**High**"))),
            Divider(),
            Text("Caller threatened staff.", "alert"),
            Actions(
                (
                    Button("Acknowledge", ref(ActionName.CASE_ACKNOWLEDGE), "primary"),
                    Button("Escalate", ref(ActionName.CASE_ESCALATE), "danger"),
                    Button("Guidance", url=TRUSTED_URL),
                )
            ),
            Link("Policy [v2]", TRUSTED_URL),
        ),
    )
    rendered = render(card)
    title, facts, alert, action_set, link = rendered["body"]
    assert title["text"] == "New report: abusive phone call"
    assert (title["size"], title["weight"]) == ("Large", "Bolder")
    assert facts["facts"] == [
        {"title": "Reported by", "value": "Sam <\u2060at>Al<\u2060/at>"},
        {"title": "Severity", "value": "\\*\\*High\\*\\*"},
    ]
    assert alert["separator"] is True and alert["color"] == "Attention"
    acknowledge, escalate, guidance = action_set["actions"]
    assert acknowledge == {
        "type": "Action.Execute",
        "title": "Acknowledge",
        "verb": "case.acknowledge",
        "data": {"action": ref(ActionName.CASE_ACKNOWLEDGE)},
        "style": "positive",
    }
    assert escalate["style"] == "destructive"
    assert guidance == {"type": "Action.OpenUrl", "title": "Guidance", "url": TRUSTED_URL}
    assert link["text"] == f"[Policy \\[v2\\]]({TRUSTED_URL})"
    assert rendered["actions"] == [] and rendered["msteams"] == {"width": "Full"}
    assert rendered["version"] == "1.5" and rendered["type"] == "AdaptiveCard"
    validate_adaptive(rendered)
    assert as_attachment(rendered) == {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": rendered,
    }


def test_a_form_with_every_input_and_an_error() -> None:
    card = Card(
        title="Report",
        elements=every_input(error_on="what"),
        submit=Button("Next", ref(ActionName.FLOW_NEXT), "primary"),
        metadata="draft-1:page-2",
    )
    body = render(card)["body"]
    inputs = {item["id"]: item for item in body if "id" in item}
    what = inputs["what"]
    assert what["type"] == "Input.Text" and what["isMultiline"] and what["maxLength"] == 4000
    assert what["value"] == "They said <!here>" and what["isRequired"] is True
    assert what["errorMessage"] == "Please say more <\u2060b>"
    error = body[body.index(what) + 1]
    assert error["color"] == "Attention" and teams_shows(error["text"]) == "Please say more <b>"
    assert inputs["where"]["style"] == "expanded" and inputs["where"]["value"] == "o1"
    assert inputs["site"]["style"] == "compact" and inputs["site"]["value"] == "m5"
    assert inputs["kinds"]["isMultiSelect"] and inputs["kinds"]["value"] == "o0,o2"
    assert inputs["manager"]["choices.data"] == {
        "type": "Data.Query",
        "dataset": "graph.microsoft.com/users",
    }
    assert inputs["manager"]["value"] == "U01" and inputs["witnesses"]["isMultiSelect"]
    assert inputs["when"] == {
        "type": "Input.Date",
        "id": "when",
        "label": "When?",
        "isRequired": True,
        "value": "2024-03-01",
    }
    assert "evidence" not in inputs
    assert any(teams_shows(item.get("text", "")) == "Evidence" for item in body)
    [submit] = render(card)["actions"]
    assert submit["verb"] == "flow.next" and submit["style"] == "positive"
    assert submit["data"] == {"action": ref(ActionName.FLOW_NEXT), "metadata": "draft-1:page-2"}
    validate_adaptive(render(card))


def test_long_content_is_cut_with_an_ellipsis() -> None:
    card = Card(
        title="t",
        elements=(
            Text("x" * 5000),
            Fields((("k" * 300, "v" * 2000),)),
            Actions((Button("b" * 80, ref(ActionName.CASE_CLOSE)),)),
        ),
    )
    _, text, facts, actions = render(card)["body"]
    assert text["text"] == "x" * 3999 + ELLIPSIS
    assert facts["facts"][0] == {"title": "k" * 199 + ELLIPSIS, "value": "v" * 999 + ELLIPSIS}
    assert actions["actions"][0]["title"] == "b" * 49 + ELLIPSIS


def test_a_card_over_28_kilobytes_is_shortened_then_drops_trailing_texts() -> None:
    card = Card(
        title="Many",
        elements=tuple(Text(f"{i} " + "x" * 500) for i in range(200)),
        submit=Button("Done", ref(ActionName.CASE_CLOSE)),
        metadata="m" * 500,
    )
    rendered = render(card)
    assert card_size(rendered) <= 28_000
    title, shortened, *texts, note = rendered["body"]
    assert title["text"] == "Many"
    assert shortened["text"] == SHORTENED
    assert all(len(teams_norm(text["text"])) <= SHORTER[-1] for text in texts)  # the shortest
    assert note["text"] == f"{ELLIPSIS} ({200 - len(texts)} more not shown)" and texts
    assert rendered["actions"][0]["data"]["metadata"] == "m" * 500
    validate_adaptive(rendered)


def test_long_answers_are_shortened_before_anything_is_left_out() -> None:
    # Cyrillic: six bytes a letter as escaped JSON, so a thousand letters are 6 KB.
    answers = Fields(tuple((f"Question {i}", f"{i} " + "й" * 2990) for i in range(12)))
    wrong = "Question 3, a question asked at some length: " + "Please keep this short. " * 10
    card = Card(title="Answers", elements=(Text(wrong, "alert"), answers, Text("The end")))
    rendered = render(card)
    assert card_size(rendered) <= 28_000 and card_size(render_whole(card)) > 28_000
    title, shortened, alert, facts, end = rendered["body"]
    assert title["text"] == "Answers" and teams_norm(alert["text"]) == wrong, "alerts stay whole"
    assert shortened["text"] == SHORTENED and end["text"] == "The end"
    assert [teams_norm(fact["value"]).split()[0] for fact in facts["facts"]] == [
        str(i) for i in range(12)
    ]
    assert all(fact["value"].endswith(ELLIPSIS) for fact in facts["facts"])
    validate_adaptive(rendered)


def test_inputs_and_buttons_stay_when_texts_are_left_out() -> None:
    """A decision card whose changes fill it keeps its buttons; a form keeps its inputs:
    the texts nearest them are left out instead, and a note says how many."""
    changes = tuple(Fields(((f"Change {i}", "ж" * 999),)) for i in range(90))
    decide = Actions((Button("Approve", ref(ActionName.CASE_APPROVE)),))
    card = Card(title="Board", elements=(Text("Summary"), *changes, *every_input(), decide))
    rendered = render(card)
    assert card_size(rendered) <= 28_000
    types = [item["type"] for item in rendered["body"]]
    assert types[-1] == "ActionSet" and rendered["body"][-1]["actions"][0]["title"] == "Approve"
    whole = render_whole(card)["body"]
    inputs = [item["id"] for item in rendered["body"] if item["type"] in INPUT_TYPES]
    assert inputs == [item["id"] for item in whole if "id" in item]
    notes = [item["text"] for item in rendered["body"] if "more not shown" in item.get("text", "")]
    hidden = len(whole) + 2 - len(rendered["body"])  # with the two notes
    assert notes == [f"{ELLIPSIS} ({hidden} more not shown)"]
    facts = [item["facts"][0]["title"] for item in rendered["body"] if item["type"] == "FactSet"]
    assert 0 < len(facts) < 90 and facts == [f"Change {i}" for i in range(len(facts))]
    validate_adaptive(rendered)


def render_whole(card: Card) -> dict[str, Any]:
    """The card as it renders with no limit on its size."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(adaptive, "MAX_CARD_BYTES", 10**9)
        return render(card)


def test_small_cards_are_left_whole() -> None:
    card = Card(title="Few", elements=tuple(Text(f"line {i}") for i in range(200)))
    assert len(render(card)["body"]) == 201


def test_host_keys_are_what_the_strict_schema_refuses() -> None:
    rendered = render(Card(title="People", elements=every_input()))
    validate_adaptive(rendered)  # skips when the shared schemas are absent
    from tests.renderers.support import _adaptive_validator

    errors = list(_adaptive_validator().iter_errors(rendered))
    assert errors and all(isinstance(e, jsonschema.ValidationError) for e in errors)


def test_odd_elements_never_raise() -> None:
    card = Card(
        title="",
        elements=(
            object(),  # type: ignore[arg-type]
            Link("x", "javascript:alert(1)"),
            Divider(),
            Actions((Button("u", url="ftp://x"),)),
        ),
    )
    body = render(card)["body"]
    assert [teams_shows(item["text"]) for item in body] == ["object", "x"]


@pytest.mark.parametrize(
    "style,extra", [("muted", {"isSubtle": True}), ("good", {"color": "Good"})]
)
def test_text_styles(style: str, extra: dict[str, Any]) -> None:
    [block] = render(Card(title="", elements=(Text("hi", style),)))["body"]  # type: ignore[arg-type]
    assert block == {"type": "TextBlock", "text": "hi", "wrap": True, **extra}
