"""The default pack loads and carries the seed policies' content as the seeds word it."""

from __future__ import annotations

import pytest

from bot.actions import ActionName
from bot.policy import STEP_KINDS, PolicyPack, load_default_pack, load_pack
from tests.policy.conftest import DEFAULT_PACK

Q1 = "Social Media to be used e.g. Facebook, Twitter, Vimeo, Flickr, YouTube etc"
Q12 = "What is your exit strategy?"
DECLARATION = (
    "I confirm that I have read, understood and adhered to the NES Social Media Policy and "
    "Guidelines in developing this Business Case."
)
LINE_C = (
    "Sorry things are difficult. NES isn’t a clinical service but help on Breathing Space "
    "0800838587 after 6 and w/e or Samaritans free on 116123"
)
CHECKLIST_IDS = [
    "business_need",
    "communications_strategy",
    "corporate_strategy",
    "technically_feasible",
    "technical_implications",
    "audience_access",
    "governance",
    "cost_effective",
    "resource",
    "evaluation",
    "accessibility",
    "brand",
    "legal_terms",
    "user_rules",
    "logo_and_coordination",
    "exit_strategy",
]


@pytest.fixture(scope="module")
def pack() -> PolicyPack:
    return load_pack(DEFAULT_PACK)


def test_the_built_in_loader_reads_the_same_file(pack: PolicyPack) -> None:
    assert load_default_pack() == pack
    assert load_default_pack() is load_default_pack()


def test_organisation_defaults(pack: PolicyPack) -> None:
    org = pack.organisation
    assert org.time_zone == "Europe/London"
    assert org.working_days == ["mon", "tue", "wed", "thu", "fri"]
    assert (org.working_hours.start.isoformat(), org.working_hours.end.isoformat()) == (
        "09:00:00",
        "17:00:00",
    )


def test_business_case_has_the_twelve_template_questions_in_order(pack: PolicyPack) -> None:
    questions = pack.business_case.questions
    assert [q.number for q in questions] == list(range(1, 13))
    assert questions[0].text == Q1
    assert questions[11].text == Q12
    assert pack.business_case.question("purpose").number == 4
    assert questions[1].text == (
        "Did you consider the use of social media tools offered by The Knowledge Network?  "
        "Please explain why you decided against using them."
    )


def test_declaration_and_support_statement_are_word_for_word(pack: PolicyPack) -> None:
    assert pack.business_case.declaration == DECLARATION
    assert pack.business_case.support_statement == "I am aware of and support this application."
    assert pack.business_case.send_to == "head_of_corporate_communications"
    assert pack.contact("head_of_corporate_communications").email == (
        "stuart.baird@nes.scot.nhs.uk"
    )
    assert pack.business_case.review_after_years == 2
    assert pack.business_case.reference_prefix == "SC"


def test_every_checklist_point_is_there(pack: PolicyPack) -> None:
    checklist = pack.business_case.checklist
    assert [point.id for point in checklist] == CHECKLIST_IDS
    technical = checklist[4]
    assert technical.text.startswith("Have you considered the technical implications")
    assert "individual Facebook profile" in technical.text
    assert [link.url for link in technical.links] == [
        "http://www.socialmediaexaminer.com/how-to-set-up-a-facebook-page-for-business/",
        "http://www.socialmediaexaminer.com/integrating-your-facebook-page-with-your-facebook-profile/",
    ]
    assert "NHS accessibility requirements" in checklist[10].text
    assert checklist[-1].text == (
        "Have you considered your exit strategy should you no longer wish to maintain your "
        "social media platform?"
    )
    assert [a.id for a in pack.business_case.checklist_answers] == ["yes", "no", "not_sure"]


def test_decisions_and_applicant_fields(pack: PolicyPack) -> None:
    case = pack.business_case
    assert [d.id for d in case.decision_options] == ["approve", "reject", "request_changes"]
    assert case.comments_label == "Comments"
    assert [f.label for f in case.applicant_fields] == [
        "Name",
        "Title",
        "Directorate",
        "Email address",
        "Telephone Number",
    ]
    assert case.line_manager.label == "Line Manager or Director"


def test_line_c_is_exactly_140_characters_as_the_seed_states(pack: PolicyPack) -> None:
    line_c = pack.replies.reply("distress_c")
    assert line_c.text == LINE_C
    assert line_c.stated_characters == 140
    assert line_c.characters == 140
    assert line_c.stated_count_matches is True
    assert not line_c.over_limit(pack.replies.character_limit)


@pytest.mark.parametrize(
    ("reply_id", "stated"), [("sorry_sent_pm", 48), ("distress_gp", 112), ("distress_c", 140)]
)
def test_stated_counts_that_are_right(pack: PolicyPack, reply_id: str, stated: int) -> None:
    reply = pack.replies.reply(reply_id)
    assert reply.stated_characters == stated
    assert reply.characters == stated


@pytest.mark.parametrize(
    ("reply_id", "stated", "actual"), [("distress_a", 135, 133), ("distress_b", 118, 117)]
)
def test_seed_miscounts_lines_a_and_b_and_the_pack_keeps_its_figures(
    pack: PolicyPack, reply_id: str, stated: int, actual: int
) -> None:
    """Seed 002 Annex A states 135 and 118; the lines are 133 and 117 characters long.

    The text is an approved line, so it stays as the seed gives it, and so does the stated
    figure: the helper shows both, and the lines are within 140 either way.
    """
    reply = pack.replies.reply(reply_id)
    assert reply.stated_characters == stated
    assert reply.characters == actual
    assert reply.stated_count_matches is False


def test_summary_lines_have_no_stated_count(pack: PolicyPack) -> None:
    for reply_id in ("distress_summary", "complaint_contact_us", "sent_dm"):
        reply = pack.replies.reply(reply_id)
        assert reply.stated_characters is None
        assert reply.stated_count_matches is None


def test_reply_situations_and_email_template(pack: PolicyPack) -> None:
    replies = pack.replies
    assert replies.character_limit == 140
    assert [s.id for s in replies.situations] == [
        "negative_comment",
        "distress",
        "complaint_about_organisation",
    ]
    distress = replies.situation("distress")
    assert [r.id for r in distress.replies][:4] == [
        "distress_gp",
        "distress_a",
        "distress_b",
        "distress_c",
    ]
    assert any("service manager" in step for step in distress.escalation)
    assert any("Never ask for clinical or personal details" in s for s in distress.escalation)
    assert distress.email_template is not None
    email = distress.email_template.text
    assert email.startswith("Dear                  ,\nWe were sorry to receive your email today")
    assert "Samaritans 0845 7909090 or NHS Direct on 111." in email
    assert email.endswith("NHS Education for Scotland")


def test_abuse_report_has_every_step(pack: PolicyPack) -> None:
    steps = pack.abuse_report.steps
    assert list(steps) == list(STEP_KINDS)
    assert steps["safety"].label == "Are you, or is anyone, in danger right now?"
    assert [o.id for o in steps["safety"].options] == ["yes", "no"]
    assert {o.id: o.reports_to for o in steps["reporter_role"].options} == {
        "staff": "line_manager",
        "non_executive_director": "line_manager",
        "committee_member": "project_team",
        "panel_member": "project_team",
        "agency_or_contractor": "line_manager",
        "secondee": "line_manager",
        "trainee": "line_manager",
    }
    assert [o.id for o in steps["kind"].options] == [
        "abuse",
        "threat",
        "trolling",
        "stalking",
        "harassment",
        "unreasonable_contact",
    ]
    assert len(steps["protected_characteristics"].options) == 8
    assert steps["platform"].option("facebook").report_url == "https://www.facebook.com/help"
    assert steps["evidence"].hint is not None
    assert "still be a record" in steps["evidence"].hint
    assert steps["description"].max_length == 3000


def test_safety_advice_gives_both_police_numbers(pack: PolicyPack) -> None:
    advice = pack.abuse_report.safety_advice
    assert "999" in advice.text
    assert "101" in advice.text
    assert [pack.contact(c).phone for c in advice.contacts] == ["999", "101"]


def test_contacts_keep_the_seeds_addresses(pack: PolicyPack) -> None:
    emails = {c.id: c.email for c in pack.contacts}
    assert emails["press_office"] == "pressoffice@nice.org.uk"
    assert emails["enquiry_handling"] == "nice@nice.org.uk"
    assert emails["corporate_governance_risk_manager"] == "elaine.repton@nice.org.uk"
    assert pack.contacts_for_role("communications_lead")[0].id == "press_office"


def test_routing(pack: PolicyPack) -> None:
    abuse = pack.routing.abuse_report
    assert abuse.notify == ["press_office", "enquiry_handling", "corporate_governance_risk_manager"]
    assert abuse.protected_characteristic == ["equality_diversity_adviser"]
    assert pack.routing.business_case.copies == ["corporate_communications"]


def test_triage_choices(pack: PolicyPack) -> None:
    report = pack.abuse_report
    assert report.reference_prefix == "AB"
    assert [t.id for t in report.escalation_targets] == [
        "communications_lead",
        "head_of_corporate_communications",
        "equality_diversity_adviser",
        "police",
        "legal",
    ]
    police = report.escalation_target("police")
    assert police.tell_reporter
    assert {a.id for a in police.asks} == {"number", "police_reference"}
    assert len(report.record_actions) == 7
    assert [s.id for s in report.organisational_account_steps] == list("abcdef")
    assert [s.serious_only for s in report.organisational_account_steps] == [False] * 4 + [True] * 2
    assert report.evidence_limits.max_file_bytes == 20 * 1024 * 1024
    assert report.evidence_limits.max_files == 10
    assert "application/pdf" in report.evidence_limits.allowed_types


def test_advice_is_chosen_by_the_answers(pack: PolicyPack) -> None:
    answers = {"safety": "no", "channel": "social_media", "platform": "facebook"}
    advice = {item.id: item for item in pack.abuse_report.advice_for(answers)}
    assert "do_not_engage" in advice
    assert "police" not in advice
    platform = advice["block_mute_report"]
    assert platform.link is not None
    assert platform.link.url == "https://www.facebook.com/help"

    by_email = {i.id for i in pack.abuse_report.advice_for({"channel": "email", "safety": "yes"})}
    assert "police" in by_email
    assert "block_mute_report" not in by_email

    other = {i.id for i in pack.abuse_report.advice_for({"channel": "social_media"})}
    assert "block_mute_report" not in other  # no platform named, so no report page to show


def test_advice_covers_the_seed_points(pack: PolicyPack) -> None:
    ids = {item.id for item in pack.abuse_report.advice}
    assert {
        "do_not_engage",
        "keep_screenshots",
        "privacy_settings",
        "avoid_public_forums",
        "unsolicited_messages",
        "journalists",
        "block_mute_report",
        "employee_assistance_programme",
        "police_if_at_risk",
        "metropolitan_police",
        "get_safe_online",
        "samaritans",
        "trolling_and_cyberbullying",
        "cyber_aware",
        "cyber_online_crime",
    } <= ids


def test_permissions_name_every_action(pack: PolicyPack) -> None:
    assert set(pack.permissions) == {action.value for action in ActionName}


def test_reminders_and_retention(pack: PolicyPack) -> None:
    r = pack.reminders
    assert (r.check_in_days, r.unacknowledged_hours, r.unacknowledged_escalate_hours) == (7, 4, 8)
    assert (r.support_reminder_days, r.presence_monitor_days) == (3, 7)
    assert pack.retention.abuse_report_closed_days == 2190
    assert pack.retention.legal_hold is False
