"""bot.signals: what embeddings miss."""

import pytest

from bot.signals import SIGNAL_NAMES, signal_vector, signals


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("WHY IS MY INTERNET STILL DOWN", "shouting"),
        ("fix it!!!", "exclamations"),
        ("seriously???", "questions"),
        ("this is the third time I've written", "repeat_contact"),
        ("down again", "repeat_contact"),
        ("wtf is going on", "profanity"),
        ("great, just great", "sarcasm"),
        ("thanks for nothing", "sarcasm"),
        ("I've waited two hours", "waiting"),
        ("no tv since yesterday", "waiting"),
    ],
)
def test_each_signal_fires_on_its_cue(text: str, signal: str) -> None:
    assert signals(text)[signal] >= 0.9


def test_calm_polite_message_has_no_signals() -> None:
    assert signal_vector("hi, my parcel hasn't arrived, could you check?") == [0.0] * len(SIGNAL_NAMES)


def test_acronyms_are_not_shouting() -> None:
    assert signals("my TV and SIM card need a PIN")["shouting"] == 0.0
