"""Slack listeners: ``ack``, parse, one core call, render. Nothing else lives here.

Slash commands and shortcuts open a flow as a modal (``views.open`` with the
``trigger_id``, which expires 3 seconds after the click, so the core call before it is one
indexed read or insert). Modal submissions answer in ``ack``: ``response_action: errors``
puts a message on the wrong field; ``update`` shows the next page.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionCodecError, ActionName, ActionRef
from bot.cards import Card, Text
from bot.core import ABUSE_REPORT, BUSINESS_CASE, Core
from bot.flows.cards import page_card, parse_metadata, saved_card
from bot.flows.engine import FlowError, FlowView
from bot.handlers.slack.backlog import Backlog
from bot.handlers.slack.blockkit import render_errors, render_message, render_modal
from bot.handlers.slack.blockkit_text import escape_mrkdwn
from bot.handlers.slack.files import SlackFileFetcher
from bot.handlers.slack.people import SlackPeople
from bot.handlers.slack.repeats import press_key
from bot.handlers.slack.state import (
    FileSelection,
    actor_from,
    conversation_of,
    form_values,
    uploads,
)
from bot.model import RepeatedDelivery
from bot.replies import replies_card

log = logging.getLogger(__name__)

CASE_FORM = "case_form"
# Modals opening at once; a command waits for room, else is answered "busy" (Backlog):
# at the ~100 a second one process opens on SQLite, the last still opens well inside 3 s.
OPENING_LIMIT = 64
BUSY = (
    "Sorry, a lot of people are using this right now and it could not open in time. "
    "Nothing has been lost: please try again in a minute."
)
# Presses in hand at once; a press waits for room, else is turned away (Backlog): each takes
# ~25 ms of the one SQLite connection, so the last waits ~1.6 s, never the pool's 30 s.
PRESSING_LIMIT = 64
BUSY_PRESS = (
    "Sorry, that press was not recorded: a lot is happening right now. "
    "Please press the button again in a minute."
)


START_ACTIONS = {
    ActionName.FLOW_START_ABUSE_REPORT: ABUSE_REPORT,
    ActionName.FLOW_START_BUSINESS_CASE: BUSINESS_CASE,
}
FLOW_BUTTONS = frozenset(
    {ActionName.FLOW_BACK, ActionName.FLOW_DISCARD, ActionName.FLOW_RESUME, ActionName.FLOW_CANCEL}
)


class SlackListeners:
    """The listener functions, bound to the core they call."""

    def __init__(
        self, core: Core, *, callback_id: str, fetch: SlackFileFetcher, people: SlackPeople
    ) -> None:
        self._core = core
        self._callback = callback_id
        self._opening = Backlog(OPENING_LIMIT)
        self._pressing = Backlog(PRESSING_LIMIT)
        self._fetch = fetch
        self._people = people

    def _modal(self, card: Card) -> dict[str, Any]:
        return render_modal(card, callback_id=self._callback)

    async def report_abuse(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """``/report-abuse``: open the report as a modal."""
        await self._open_in_time(ack, body, client, ABUSE_REPORT)

    async def social_case(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """``/social-case``: open (or resume) the business case as a modal."""
        await self._open_in_time(ack, body, client, BUSINESS_CASE)

    report_abuse_shortcut = report_abuse
    social_case_shortcut = social_case

    async def _open_in_time(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, flow: str
    ) -> None:
        """Open ``flow``, or say at once that we are busy when the modal could not open in time.

        Slack lets a modal open only within 3 seconds of the command. In a burst, work queued
        past that would fail unseen, so a command waits for room among ``OPENING_LIMIT``
        modals opening (see :class:`Backlog`); if none comes in time the person is told
        plainly to try again, and nothing is started for them.
        """
        if not await self._opening.enter():
            log.warning("busy: %s modals waiting to open, asked a person to retry", OPENING_LIMIT)
            await ack(text=BUSY)
            return
        try:
            await ack()
            await self._open_flow(body, client, flow)
        finally:
            self._opening.leave()

    async def _open_flow(self, body: dict[str, Any], client: AsyncWebClient, flow: str) -> None:
        try:
            card = page_card(await self._core.start_flow(actor=actor_from(body), flow=flow))
        except FlowError as error:
            card = _message_card("Sorry", error.message)
        await client.views_open(trigger_id=body["trigger_id"], view=self._modal(card))

    async def flow_submit(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A modal page was submitted: errors on the field, the next page, or the receipt.

        A page with new files is answered at once with a "saving" view (downloads can take
        longer than Slack's 3 seconds), then the modal is updated with the outcome.
        """
        values = form_values(view.get("state") or {})
        files = {k: uploads(v) for k, v in values.items() if isinstance(v, FileSelection)}
        values.update({k: None for k in files})
        if any(files.values()):
            await ack(response_action="update", view=self._modal(_saving_card()))
            card, _ = await self._answer(body, view, values, files)
            await client.views_update(view_id=view.get("id"), view=self._modal(card))
            return
        card, errors = await self._answer(body, view, values, files)
        if errors:
            await ack(response_action="errors", errors=errors)
        else:
            await ack(response_action="update", view=self._modal(card))

    async def _answer(
        self, body: dict[str, Any], view: dict[str, Any], values: dict[str, Any], files: Any
    ) -> tuple[Card, dict[str, str]]:
        """One core call; the card to show and, for in-place answers, the field errors."""
        try:
            draft_id, page_id = parse_metadata(view.get("private_metadata", ""))
            result = await self._core.answer_page(
                actor=actor_from(body),
                draft_id=draft_id,
                page_id=page_id,
                values=values,
                uploads=files,
                fetch=self._fetch,
            )
        except (FlowError, ValueError) as error:
            message = error.message if isinstance(error, FlowError) else "This form has expired."
            return _message_card("Sorry", message), {}
        if isinstance(result, FlowView):
            card = page_card(result)
            if result.errors:
                return _with_inline_errors(card), render_errors(card)["errors"]
            return card, {}
        return self._core.done_card(result), {}

    async def flow_closed(self, ack: AsyncAck) -> None:
        """The person closed the modal: the draft is already saved, nothing to do."""
        await ack()

    async def button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Every button: decode its ``ActionRef`` and route it; a repeat of a press is dropped.

        Past ``PRESSING_LIMIT`` presses in hand, a press waits for room before its ack (see
        :class:`Backlog`); if none comes in time the person is told that this press was not
        recorded, rather than have it acknowledged and then time out unseen.
        """
        if not await self._pressing.enter():
            await ack()
            log.warning("busy: %s presses waiting, asked a person to press again", PRESSING_LIMIT)
            await self._say_busy(body, client)
            return
        try:
            await ack()
            await self._route_press(body, action, client)
        finally:
            self._pressing.leave()

    async def _say_busy(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        channel = (body.get("container") or {}).get("channel_id") or (
            body.get("channel") or {}
        ).get("id")
        if channel:
            await client.chat_postEphemeral(
                channel=channel, user=body["user"]["id"], text=BUSY_PRESS
            )

    async def _route_press(
        self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        try:
            ref = ActionRef.decode(str(action.get("value", "")))
        except ActionCodecError:
            log.info("ignored an unknown Slack action id=%s", action.get("action_id"))
            return
        actor = actor_from(body)
        key = press_key(body)
        if ref.name.on_a_case:
            # Its repeat is caught in the press's own transaction (Core.press).
            await self._case_button(ref, await self._people.with_email(actor), body, client, key)
            return
        if key and await self._core.seen_before(key):
            log.info("ignored a repeated Slack press %s", key)
            return
        if ref.name is ActionName.REPLIES_SHOW:
            await client.views_open(
                trigger_id=body["trigger_id"],
                view=render_modal(replies_card(self._core.pack), callback_id="replies"),
            )
        elif ref.name in START_ACTIONS:
            await self._open_flow(body, client, START_ACTIONS[ref.name])
        elif ref.name in FLOW_BUTTONS:
            await self._flow_button(ref, actor, body, client)
        else:
            log.info("no Slack route yet for action %s", ref.name)

    async def _case_button(
        self,
        ref: ActionRef,
        actor: Any,
        body: dict[str, Any],
        client: AsyncWebClient,
        delivery_key: str,
    ) -> None:
        """A case card button: its form, its details, an edit, or why not; refresh in place."""
        try:
            outcome = await self._core.press(actor=actor, ref=ref, delivery_key=delivery_key)
        except RepeatedDelivery:
            log.info("ignored a repeated Slack press %s", delivery_key)
            return
        modal = outcome.form or outcome.details
        container = body.get("container") or {}
        if outcome.replace and outcome.card is not None and container.get("message_ts"):
            await client.chat_update(
                channel=container.get("channel_id", ""),
                ts=container["message_ts"],
                **render_message(outcome.card),
            )
        if outcome.flow is not None:
            await client.views_open(
                trigger_id=body["trigger_id"], view=self._modal(page_card(outcome.flow))
            )
        elif modal is not None:
            callback = CASE_FORM if outcome.form else "case_details"
            await client.views_open(
                trigger_id=body["trigger_id"], view=render_modal(modal, callback_id=callback)
            )
        elif outcome.message:
            channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
                "channel_id", ""
            )
            await client.chat_postEphemeral(
                channel=channel, user=actor.user_id, text=escape_mrkdwn(outcome.message)
            )

    async def case_form_submit(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The form a triage button asked for: errors on the field, or record and close."""
        try:
            ref = ActionRef.decode(str(view.get("private_metadata") or ""))
        except ActionCodecError:
            await ack()
            return
        actor = await self._people.with_email(actor_from(body))
        outcome = await self._core.press(
            actor=actor, ref=ref, inputs=form_values(view.get("state") or {})
        )
        if outcome.errors and outcome.form is not None:
            await ack(response_action="errors", errors=render_errors(outcome.form)["errors"])
        elif outcome.message:
            await ack(
                response_action="update", view=self._modal(_message_card("Sorry", outcome.message))
            )
        else:
            await ack()

    async def _flow_button(
        self, ref: ActionRef, actor: Any, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A draft's button: in its modal the modal changes; elsewhere (resume) one opens."""
        try:
            card = await self._flow_card(ref, actor)
        except FlowError as error:
            card = _message_card("Sorry", error.message)
        view = body.get("view") or {}
        if view.get("id"):
            await client.views_update(
                view_id=view.get("id"), hash=view.get("hash"), view=self._modal(card)
            )
        else:
            await client.views_open(trigger_id=body.get("trigger_id", ""), view=self._modal(card))

    async def _flow_card(self, ref: ActionRef, actor: Any) -> Card:
        """Back, discard, resume (the draft's page) or stop for now (the draft is kept)."""
        if ref.name is ActionName.FLOW_BACK:
            return page_card(await self._core.back(actor=actor, draft_id=ref.subject_id))
        if ref.name is ActionName.FLOW_DISCARD:
            return await self._core.discard(actor=actor, draft_id=ref.subject_id)
        view = await self._core.flows.show(draft_id=ref.subject_id, actor=actor)  # owner only
        if ref.name is ActionName.FLOW_CANCEL:
            return saved_card()
        return page_card(dataclasses.replace(view, resumed=True))

    async def admin_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """``/staff-safety bind abuse-triage|board|corporate-communications`` in a channel."""
        text = await self._core.admin_command(
            actor=await self._people.with_email(actor_from(body)),
            text=str(body.get("text", "")),
            conversation=conversation_of(str(body.get("channel_id", ""))),
        )
        await ack(text=text)

    async def home_opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        """Publish the App Home for the person who opened it."""
        if event.get("tab", "home") != "home":
            return
        actor = actor_from({"user": {"id": event.get("user", "")}})
        card = await self._core.home_card(actor=actor)
        view = self._modal(card)
        home = {
            k: v for k, v in view.items() if k not in ("title", "submit", "close", "callback_id")
        }
        await client.views_publish(user_id=actor.user_id, view={**home, "type": "home"})

    async def suggest_reply(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The message shortcut "Suggest a reply": Annex A's ready-made replies."""
        await ack()
        card = replies_card(self._core.pack)
        await client.views_open(
            trigger_id=body["trigger_id"], view=render_modal(card, callback_id="replies")
        )

    async def ignore_event(self, ack: AsyncAck) -> None:
        """Events the bot subscribes to but does not act on yet are acknowledged."""
        await ack()


def _saving_card() -> Card:
    return Card(
        title="Saving your files",
        elements=(Text("Saving your files safely. This page will move on in a moment."),),
    )


def _with_inline_errors(card: Card) -> Card:
    """Field errors shown as text, for a modal updated after Slack's 3-second window."""
    notes = tuple(
        Text(f"{field.label}: {field.error}", "alert") for field in card.inputs if field.error
    )
    return Card(
        title=card.title,
        elements=(*notes, *card.elements),
        submit=card.submit,
        cancel_label=card.cancel_label,
        fallback=card.fallback,
        metadata=card.metadata,
    )


def _message_card(title: str, message: str) -> Card:
    return Card(title=title, elements=(Text(message),), cancel_label="Close")
