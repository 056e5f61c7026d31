"""Ready-made replies for organisational social media accounts (seed 002 Annex A).

The replies are approved lines, so their text is carried exactly as the seed gives it, and
so is the character count the seed states for each. The bot shows the real count next to the
stated one: where the seed miscounted, the record shows it rather than the pack hiding it.
"""

from __future__ import annotations

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from bot.policy.common import Id, PackModel, Problems, Text


class Reply(PackModel):
    """One approved reply, with the character count the source states (``None`` if none)."""

    id: Id
    label: Text
    text: Text
    stated_characters: NonNegativeInt | None = None

    @property
    def characters(self) -> int:
        """The reply's length as the seed counts it: one per character, spaces included.

        Platforms count differently (X counts every link as 23), so this is the plain count
        the seed's figures use, not a platform's.
        """
        return len(self.text)

    @property
    def stated_count_matches(self) -> bool | None:
        """Whether the stated count is right; ``None`` when the source states none."""
        if self.stated_characters is None:
            return None
        return self.stated_characters == self.characters

    def over_limit(self, limit: int) -> bool:
        """Whether the reply is longer than ``limit`` characters."""
        return self.characters > limit


class EmailTemplate(PackModel):
    """An approved e-mail reply, kept exactly as the source gives it."""

    label: Text
    text: Text


class Situation(PackModel):
    """A situation a channel manager meets, its replies and what to do beyond replying."""

    id: Id
    label: Text
    guidance: str | None = None
    replies: list[Reply] = Field(default_factory=list)
    escalation: list[Text] = Field(default_factory=list)
    email_template: EmailTemplate | None = None


class ReplyPolicy(PackModel):
    """The reply helper's content: a character limit and the situations."""

    character_limit: PositiveInt = 140
    situations: list[Situation] = Field(min_length=1)

    def situation(self, situation_id: str) -> Situation:
        """Return the situation with this id, or raise ``KeyError``."""
        for situation in self.situations:
            if situation.id == situation_id:
                return situation
        raise KeyError(situation_id)

    def reply(self, reply_id: str) -> Reply:
        """Return the reply with this id from any situation, or raise ``KeyError``."""
        for situation in self.situations:
            for reply in situation.replies:
                if reply.id == reply_id:
                    return reply
        raise KeyError(reply_id)

    @model_validator(mode="after")
    def _unique(self) -> ReplyPolicy:
        problems = Problems()
        problems.check_unique(("situations",), [s.id for s in self.situations])
        seen: set[str] = set()
        for s_index, situation in enumerate(self.situations):
            for r_index, reply in enumerate(situation.replies):
                if reply.id in seen:
                    loc = ("situations", s_index, "replies", r_index, "id")
                    problems.add(loc, f"duplicate reply id {reply.id!r}")
                seen.add(reply.id)
        problems.raise_if_any()
        return self
