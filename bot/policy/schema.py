"""The policy pack: one organisation's content, roles and routing, validated as a whole.

Content is data. Every question, option, role, routing target, contact, link and piece of
advice the bot uses comes from a :class:`PolicyPack`, loaded from YAML by
:mod:`bot.policy.loader`. This module ties the parts together and checks what no single part
can: that every role, contact, step and option named anywhere exists, and that permissions
name real actions (:class:`bot.actions.ActionName`).

Permissions name roles of two sorts. *Declared* roles are listed under ``roles`` with their
members; ``reporter`` is everyone and needs no members. *Case roles* (:data:`CASE_ROLES`)
depend on the case at hand, such as the line manager a reporter chose, so the caller, who knows
the case, passes them to :meth:`PolicyPack.may`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field, model_validator

from bot.actions import ActionName
from bot.policy.abuse import AbuseReportPolicy
from bot.policy.business_case import BusinessCasePolicy
from bot.policy.common import CrossReferenceError, Id, Loc, PackModel, Problems
from bot.policy.organisation import (
    Contact,
    Organisation,
    Reminders,
    Retention,
    Role,
    Routing,
    normalise_identity,
)
from bot.policy.replies import ReplyPolicy

#: Everyone is a reporter; the role needs no members.
EVERYONE = "reporter"

#: Roles the product relies on; every pack declares them (members may be empty).
REQUIRED_ROLES = frozenset(
    {
        "triage_manager",
        "communications_lead",
        "enquiry_handling",
        "corporate_governance_risk_manager",
        "corporate_office",
        "equality_diversity_adviser",
        "head_of_corporate_communications",
        "board_member",
        "corporate_communications",
        "admin",
    }
)

#: Roles that depend on the case: the caller passes them to ``may(..., case_roles=...)``.
CASE_ROLES = frozenset(
    {
        "case_reporter",  # the person who made this abuse report
        "case_line_manager",  # the line manager or project team contact the reporter chose
        "case_assignee",  # the person the report is assigned to
        "case_applicant",  # the person who submitted this business case
        "case_supporter",  # the line manager or director named on this business case
        "presence_owner",  # the owner of this approved social media presence
    }
)


class PolicyPack(PackModel):
    """One organisation's policy pack. Read it; never build one in code except in tests."""

    schema_version: Literal[1] = 1
    organisation: Organisation
    roles: dict[Id, Role]
    permissions: dict[str, list[str]]
    contacts: list[Contact] = Field(min_length=1)
    routing: Routing
    abuse_report: AbuseReportPolicy
    business_case: BusinessCasePolicy
    replies: ReplyPolicy
    reminders: Reminders = Field(default_factory=Reminders)
    retention: Retention = Field(default_factory=Retention)

    def contact(self, contact_id: str) -> Contact:
        """Return the contact with this id.

        Raises:
            KeyError: when the pack has no such contact.
        """
        for contact in self.contacts:
            if contact.id == contact_id:
                return contact
        raise KeyError(contact_id)

    def contacts_for_role(self, role_id: str) -> list[Contact]:
        """Return the contacts that act for a role, in pack order."""
        return [contact for contact in self.contacts if contact.role == role_id]

    def roles_of(self, identities: Iterable[str]) -> set[str]:
        """Return the declared roles a person holds, always including ``reporter``.

        Args:
            identities: Everything known to identify the person: e-mail address,
                ``slack:U…``, ``teams:<object id>``. Unreadable identities are ignored.

        Returns:
            The role ids whose members include any of the identities.
        """
        mine: set[str] = set()
        for identity in identities:
            try:
                mine.add(normalise_identity(identity))
            except ValueError:
                continue
        held = {role_id for role_id, role in self.roles.items() if mine & set(role.members)}
        return held | {EVERYONE}

    def may(
        self,
        action: str,
        identities: Iterable[str],
        *,
        case_roles: Iterable[str] = (),
    ) -> bool:
        """Whether a person may take an action.

        Args:
            action: A dotted action name (a :class:`~bot.actions.ActionName` value).
            identities: The person's identities, as for :meth:`roles_of`.
            case_roles: The :data:`CASE_ROLES` the person holds on the case at hand.

        Returns:
            True when one of the person's roles is allowed the action. An action the
            pack does not list is allowed to nobody.

        Raises:
            ValueError: when ``action`` is not an action name (a programming error).
        """
        name = ActionName(action).value
        allowed = set(self.permissions.get(name, ()))
        return bool(allowed & (self.roles_of(identities) | set(case_roles)))

    @model_validator(mode="after")
    def _cross_references(self) -> PolicyPack:
        problems = Problems()
        self._check_roles(problems)
        self._check_contacts(problems)
        problems.raise_if_any()
        return self

    def _check_roles(self, problems: Problems) -> None:
        for missing in sorted(REQUIRED_ROLES - set(self.roles)):
            problems.add(("roles",), f"missing role {missing!r}")
        everyone = self.roles.get(EVERYONE)
        if everyone is not None and everyone.members:
            problems.add(("roles", EVERYONE, "members"), "reporter is everyone: leave it empty")
        known = set(self.roles) | {EVERYONE} | CASE_ROLES
        actions = {a.value for a in ActionName}
        for action, role_ids in self.permissions.items():
            problems.check_known(("permissions", action), action, actions, "action")
            for index, role_id in enumerate(role_ids):
                problems.check_known(("permissions", action, index), role_id, known, "role")
        for index, contact in enumerate(self.contacts):
            if contact.role is not None:
                loc: Loc = ("contacts", index, "role")
                problems.check_known(loc, contact.role, set(self.roles) | {EVERYONE}, "role")
        for index, target in enumerate(self.abuse_report.escalation_targets):
            if target.role is not None:
                loc = ("abuse_report", "escalation_targets", index, "role")
                problems.check_known(loc, target.role, self.roles, "role")

    def _check_contacts(self, problems: Problems) -> None:
        ids = [contact.id for contact in self.contacts]
        problems.check_unique(("contacts",), ids, "contact id")
        known = set(ids)

        def check(loc: Loc, contact_ids: Iterable[str]) -> None:
            for index, contact_id in enumerate(contact_ids):
                problems.check_known((*loc, index), contact_id, known, "contact")

        abuse, case = self.routing.abuse_report, self.routing.business_case
        check(("routing", "abuse_report", "notify"), abuse.notify)
        check(
            ("routing", "abuse_report", "protected_characteristic"), abuse.protected_characteristic
        )
        check(("routing", "business_case", "copies"), case.copies)
        check(
            ("abuse_report", "safety_advice", "contacts"), self.abuse_report.safety_advice.contacts
        )
        for index, target in enumerate(self.abuse_report.escalation_targets):
            if target.contact is not None:
                loc: Loc = ("abuse_report", "escalation_targets", index, "contact")
                problems.check_known(loc, target.contact, known, "contact")
        problems.check_known(
            ("business_case", "send_to"), self.business_case.send_to, known, "contact"
        )


__all__ = ["CASE_ROLES", "EVERYONE", "REQUIRED_ROLES", "CrossReferenceError", "PolicyPack"]
