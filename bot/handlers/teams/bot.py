"""The Teams activity handler: commands in chat, and ``Action.Execute`` presses on cards.

A message is a command (``report abuse``, ``social case``, ``home``, ``help``, and in a team
channel ``bind abuse-triage`` / ``bind board``), or, in the personal chat, evidence files
attached while a report waits on its evidence page; a press on a card is an
``adaptiveCard/action`` invoke, answered with the refreshed card in the invoke response
(Universal Actions), so the card updates in place for the person who pressed.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import uuid
from http import HTTPStatus
from typing import Any

from botbuilder.core import BotAdapter, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, Attachment

from bot.actions import ActionCodecError, ActionName, ActionRef
from bot.cards import Card, Text
from bot.core import ABUSE_REPORT, BUSINESS_CASE, Core
from bot.flows.cards import page_card, parse_metadata, saved_card
from bot.flows.engine import FlowDone, FlowError, FlowView
from bot.handlers.teams import parse
from bot.handlers.teams.adaptive import render
from bot.handlers.teams.files import ChatFiles, TeamsFileFetcher, chat_files, connector_token
from bot.handlers.teams.serialize import invoke_json
from bot.model import Actor, ConversationRef, RepeatedDelivery
from bot.replies import replies_card

log = logging.getLogger(__name__)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
ERROR_TYPE = "application/vnd.microsoft.error"
FILE_HINT = "In Teams, attach the files to your next message in this chat."
COMMAND_FLOWS = {
    "report abuse": ABUSE_REPORT,
    "report-abuse": ABUSE_REPORT,
    "social case": BUSINESS_CASE,
    "social-case": BUSINESS_CASE,
}
START_ACTIONS = {
    ActionName.FLOW_START_ABUSE_REPORT: ABUSE_REPORT,
    ActionName.FLOW_START_BUSINESS_CASE: BUSINESS_CASE,
}
FLOW_BUTTONS = frozenset(
    {ActionName.FLOW_BACK, ActionName.FLOW_DISCARD, ActionName.FLOW_RESUME, ActionName.FLOW_CANCEL}
)
RESERVED_KEYS = {"action", "metadata"}
UNKNOWN_FIELD = "%s is not a known attribute of class %s and will be ignored"  # msrest's words
NO_DRAFT_FOR_FILES = (
    "Thank you. Files can only be added while a report's evidence page is open, so nothing "
    "was saved. To add evidence, start or resume a report and attach the files when it asks."
)


class CardAttachment(Attachment):  # type: ignore[misc]
    """An Adaptive Card attachment whose copies share its card JSON.

    ``TurnContext.send_activities`` deep-copies each activity a turn sends, so that what it
    sets on the copy (addresses, ids) does not change the caller's. The card JSON is rendered
    for that one activity and nothing changes it afterwards, so a copy shares it rather than
    copying it value by value (about 3% of the CPU of a Teams message answered with a card).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> CardAttachment:
        copied = copy.copy(self)
        for name, value in vars(self).items():
            if name != "content":
                setattr(copied, name, copy.deepcopy(value, memo))
        return copied


class CardInvokeResponse(InvokeResponse):  # type: ignore[misc]
    """An invoke response whose copies share its body (a refreshed card), as above."""

    def __deepcopy__(self, memo: dict[int, Any]) -> CardInvokeResponse:
        return CardInvokeResponse(status=self.status, body=self.body)


def attachment(card: Card) -> Attachment:
    """A neutral card as a Teams message attachment."""
    return CardAttachment(content_type=CARD_TYPE, content=render(card))


class StaffSafetyBot(TeamsActivityHandler):
    """Turns Teams activities into core calls."""

    def __init__(self, core: Core) -> None:
        self._core = core

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """A message: evidence, a command that starts a flow, admin, replies, or home.

        A message delivered again is answered once. One that starts a flow records its
        delivery in the draft's own transaction (so a start that failed is processed when
        it comes again); any other is checked first.
        """
        activity = turn_context.activity
        actor, text = parse.actor_of(activity), parse.command_text(activity)
        files = chat_files(activity.attachments) if parse.is_personal(activity) else None
        attached = files is not None and files.uploads
        starts = None if attached else COMMAND_FLOWS.get(text)
        key = parse.delivery_key(activity)
        if starts is None and key and await self._core.seen_before(key):
            log.info("ignored a repeated Teams message %s", key)
            return
        if files is not None and attached:
            card = await self._attach(turn_context, actor, files)
        elif starts is not None:
            try:
                card = await self._flow_card(actor, starts, delivery_key=key)
            except RepeatedDelivery:
                log.info("ignored a repeated Teams message %s", key)
                return
        elif text.startswith("bind ") or text.startswith("unbind "):
            message = await self._core.admin_command(
                actor=actor, text=text, conversation=parse.conversation_of(activity)
            )
            card = Card(title="Staff Safety", elements=(Text(message),))
        elif text in ("replies", "suggest a reply"):
            card = replies_card(self._core.pack)
        else:  # "home", "help" and anything else: the home card by role
            card = await self._core.home_card(actor=actor)
        await turn_context.send_activity(MessageFactory.attachment(attachment(card)))

    async def _attach(self, turn_context: TurnContext, actor: Actor, files: ChatFiles) -> Card:
        """Evidence attached in the chat: added to the open report's evidence page."""
        fetch = TeamsFileFetcher(
            max_bytes=self._core.pack.abuse_report.evidence_limits.max_file_bytes,
            inline_urls=files.inline_urls,
            token=connector_token(turn_context.turn_state, BotAdapter.BOT_CONNECTOR_CLIENT_KEY),
            service_url=str(turn_context.activity.service_url or ""),
        )
        try:
            view = await self._core.attach_files(
                actor=actor, flow=ABUSE_REPORT, uploads=files.uploads, fetch=fetch
            )
        except FlowError as error:
            return Card(title="Sorry", elements=(Text(error.message),))
        if view is not None:
            return _page(view)
        home = await self._core.home_card(actor=actor)
        return Card(
            title=home.title,
            elements=(Text(NO_DRAFT_FOR_FILES), *home.elements),
            fallback=home.fallback,
        )

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Invokes: a card press is answered below; a malformed press gets a 400 (botbuilder
        would fail on it with a 500); an invoke this bot does not use (a task module, a
        messaging extension) is acknowledged and ignored, as an unknown button is."""
        activity = turn_context.activity
        if activity.name == parse.CARD_ACTION and not parse.is_card_action(activity.value):
            log.info("refused a malformed Teams card action")
            return _error_response(HTTPStatus.BAD_REQUEST, "BadRequest", "Malformed card action")
        try:
            response = await super().on_invoke_activity(turn_context)
        except RepeatedDelivery as repeat:
            log.info("ignored a repeated Teams card press %s", repeat)
            return _already_received()
        if response is None or response.status == HTTPStatus.NOT_IMPLEMENTED:
            log.info("ignored a Teams invoke the bot does not use: %s", str(activity.name)[:80])
            return InvokeResponse(status=int(HTTPStatus.OK))
        return _plain_error(response)

    @staticmethod
    def _create_invoke_response(body: object = None) -> InvokeResponse:
        """botbuilder's invoke response, its card not walked by msrest (``serialize.py``)."""
        return CardInvokeResponse(status=int(HTTPStatus.OK), body=invoke_json(body))

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: Any
    ) -> AdaptiveCardInvokeResponse:
        data = parse.execute_data(turn_context.activity.value)
        try:
            ref = ActionRef.decode(str(data.get("action", "")))
        except ActionCodecError:
            log.info("ignored an unknown Teams action")
            return _card_response(
                Card(title="Staff Safety", elements=(Text("That button is no longer in use."),))
            )
        activity = turn_context.activity
        return _card_response(await self._answer(ref, parse.actor_of(activity), data, activity))

    async def _answer(
        self, ref: ActionRef, actor: Actor, data: dict[str, Any], activity: Any
    ) -> Card:
        """The card a press is answered with.

        A press on a case card records its delivery in the press's own transaction (so a
        press that failed is processed when it comes again); any other press beforehand.

        Raises:
            RepeatedDelivery: this delivery was processed before (answered in
                ``on_invoke_activity``: an adaptive card response cannot carry its message).
        """
        key = parse.delivery_key(activity)
        try:
            if ref.name.on_a_case:
                return await self._case(ref, actor, data, delivery_key=key)
            if key and await self._core.seen_before(key):
                raise RepeatedDelivery(key)
            return await self._route(ref, actor, data, parse.conversation_of(activity))
        except RepeatedDelivery:
            raise
        except FlowError as error:
            return Card(title="Sorry", elements=(Text(error.message),))
        except ValueError:
            return Card(
                title="Sorry",
                elements=(Text("This form has expired. Please start it again from the command."),),
            )
        except Exception:
            correlation = uuid.uuid4().hex[:12]
            log.exception("teams card action failed [%s]", correlation)
            return Card(
                title="Sorry",
                elements=(
                    Text(
                        "Something went wrong and nothing was changed. Please try again in "
                        f"a minute. If it keeps happening, quote reference {correlation}."
                    ),
                ),
            )

    async def _route(
        self, ref: ActionRef, actor: Any, data: dict[str, Any], chat: ConversationRef
    ) -> Card:
        if ref.name is ActionName.REPLIES_SHOW:
            return replies_card(self._core.pack)
        if ref.name in START_ACTIONS:
            return await self._flow_card(actor, START_ACTIONS[ref.name])
        if ref.name in (ActionName.FLOW_NEXT, ActionName.FLOW_SUBMIT):
            draft_id, page_id = parse_metadata(str(data.get("metadata", "")))
            values = {k: v for k, v in data.items() if k not in RESERVED_KEYS}
            result = await self._core.answer_page(
                actor=actor, draft_id=draft_id, page_id=page_id, values=values, reply_to=chat
            )
            return self._result_card(result)
        if ref.name in FLOW_BUTTONS:
            return await self._flow_button(ref, actor)
        log.info("no Teams route yet for action %s", ref.name)
        return Card(title="Staff Safety", elements=(Text("That is not available yet."),))

    async def _flow_button(self, ref: ActionRef, actor: Actor) -> Card:
        """Back, discard, resume (the draft's page) or stop for now (the draft is kept)."""
        draft_id = ref.subject_id
        if ref.name is ActionName.FLOW_BACK:
            return _page(await self._core.back(actor=actor, draft_id=draft_id))
        if ref.name is ActionName.FLOW_DISCARD:
            return await self._core.discard(actor=actor, draft_id=draft_id)
        view = await self._core.flows.show(draft_id=draft_id, actor=actor)  # the owner's only
        if ref.name is ActionName.FLOW_CANCEL:
            return saved_card()
        return _page(dataclasses.replace(view, resumed=True))

    async def _case(
        self, ref: ActionRef, actor: Any, data: dict[str, Any], *, delivery_key: str
    ) -> Card:
        """A case card press: its form, the details, an edit, or the refreshed card."""
        inputs = {k: v for k, v in data.items() if k not in RESERVED_KEYS}
        outcome = await self._core.press(
            actor=actor,
            ref=ref,
            inputs=inputs if "metadata" in data else None,
            delivery_key=delivery_key,
        )
        if outcome.flow is not None:  # "Edit and resubmit": the submitted case, prefilled
            return _page(outcome.flow)
        card = outcome.form or outcome.details or outcome.card
        if card is None:
            return Card(title="Staff Safety", elements=(Text(outcome.message or ""),))
        if outcome.message and not outcome.form:
            return Card(
                title=card.title,
                elements=(Text(outcome.message, "muted"), *card.elements),
                fallback=card.fallback,
            )
        return card

    def _result_card(self, result: FlowView | FlowDone) -> Card:
        if isinstance(result, FlowView):
            return _page(result)
        return self._core.done_card(result)

    async def _flow_card(self, actor: Any, flow: str, *, delivery_key: str = "") -> Card:
        try:
            view = await self._core.start_flow(actor=actor, flow=flow, delivery_key=delivery_key)
            return _page(view)
        except FlowError as error:
            return Card(title="Sorry", elements=(Text(error.message),))

    async def on_members_added_activity(
        self, members_added: Any, turn_context: TurnContext
    ) -> None:
        recipient = turn_context.activity.recipient
        if any(getattr(m, "id", None) == getattr(recipient, "id", None) for m in members_added):
            actor = parse.actor_of(turn_context.activity)
            card = await self._core.home_card(actor=actor)
            await turn_context.send_activity(MessageFactory.attachment(attachment(card)))

    async def on_turn(self, turn_context: TurnContext) -> None:
        try:
            await super().on_turn(turn_context)
        except Exception:
            correlation = uuid.uuid4().hex[:12]
            log.exception("teams turn failed [%s]", correlation)
            raise


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """The Teams error boundary for messages: log with a correlation id, say sorry calmly."""
    correlation = uuid.uuid4().hex[:12]
    log.error("teams turn failed [%s]", correlation, exc_info=error)
    await turn_context.send_activity(
        "Sorry, something went wrong and nothing was changed. Please try again in a minute. "
        f"If it keeps happening, quote reference {correlation}."
    )


class TeamsTriggerFilter(logging.Filter):
    """Drops msrest's warning that an ``adaptiveCard/action`` value has a ``trigger`` field.

    Teams sends ``"trigger": "manual"`` with every press, botbuilder builds its
    ``AdaptiveCardInvokeValue`` from the value, and msrest's model, which has no such field,
    logged a WARNING for every press. Any other unknown field is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (
            record.msg == UNKNOWN_FIELD
            and args[:1] == ("trigger",)
            and args[1:2] == (AdaptiveCardInvokeValue,)
        )


def quiet_trigger_warnings() -> None:
    """Install ``TeamsTriggerFilter`` on msrest's logger, once."""
    logger = logging.getLogger("msrest.serialization")
    if not any(isinstance(f, TeamsTriggerFilter) for f in logger.filters):
        logger.addFilter(TeamsTriggerFilter())


def _page(view: FlowView) -> Card:
    """A flow page as a card; a refused page also lists its errors at the top.

    A card over Teams' size limit loses its last elements, and a page of long answers can
    be that big: the list at the top names every field to fix even then.
    """
    card = page_card(view, file_hint=FILE_HINT)
    notes = tuple(
        Text(f"{field.label}: {field.error}", "alert") for field in card.inputs if field.error
    )
    return dataclasses.replace(card, elements=(*notes, *card.elements)) if notes else card


def _error_response(status: HTTPStatus, code: str, message: str) -> InvokeResponse:
    """A Universal Actions error response, as plain JSON."""
    value = {"code": code, "message": message}
    body = {"statusCode": int(status), "type": ERROR_TYPE, "value": value}
    return InvokeResponse(status=int(status), body=body)


def _plain_error(response: InvokeResponse) -> InvokeResponse:
    """botbuilder's own error bodies hold an ``Exception``, which no JSON writer can write."""
    error = getattr(response.body, "value", None)
    if not isinstance(error, BaseException):
        return response
    code, *message = [str(arg) for arg in error.args] or ["Error"]
    return _error_response(HTTPStatus(response.status), code, " ".join(message))


def _card_response(card: Card) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(
        status_code=int(HTTPStatus.OK), type=CARD_TYPE, value=render(card)
    )


def _already_received() -> InvokeResponse:
    """The answer to a press delivered again: the first delivery already did the work."""
    return InvokeResponse(status=int(HTTPStatus.OK), body=dict(parse.ALREADY_RECEIVED))
