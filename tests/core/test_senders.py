"""Sender normalisation and keyed hashes: one sender written many ways matches itself."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.cases.senders import digest, normalise, senders_in

SAME_SENDER = [
    ("@Angry_Bob", "https://twitter.com/angry_bob", "x.com/ANGRY_BOB/status/123", "angry_bob"),
    ("Angry.Bob+abuse@GoogleMail.com", "angrybob@gmail.com", " ANGRYBOB@gmail.com "),
    ("07700 900123", "+44 7700 900123", "0044 7700900123", "(07700) 900-123"),
    ("https://www.linkedin.com/in/Bob-X/", "linkedin.com/in/bob-x", "@bob-x"),
]


@pytest.mark.parametrize("spellings", SAME_SENDER)
def test_one_sender_written_many_ways_is_one(spellings: tuple[str, ...]) -> None:
    assert len({normalise(s) for s in spellings}) == 1


def test_phone_numbers_become_e164_and_emails_canonical() -> None:
    assert normalise("07700 900123") == "+447700900123"
    assert normalise("Jo.Bloggs+work@Example.org") == "jo.bloggs@example.org"


def test_a_list_answer_gives_distinct_senders() -> None:
    assert senders_in("@bob\nhttps://x.com/bob\n\n bob@example.org, 07700 900123") == [
        "bob",
        "bob@example.org",
        "+447700900123",
    ]


def test_the_hash_is_keyed() -> None:
    assert digest(b"k1", "bob") != digest(b"k2", "bob")
    assert "bob" not in digest(b"k1", "bob")


@given(st.text(max_size=80))
@example("/<?")  # one pass uncovered what the next stripped
@example("[/")  # urlsplit refuses an unclosed IPv6 bracket
@example("http://[x/y")
def test_normalising_is_stable(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once or once == ""
