"""actions.problems: the customer's problem in the bot's words."""

import pytest

from actions.problems import describe_problem


@pytest.mark.parametrize(
    ("text", "key", "phrase"),
    [
        (
            "my internet has been down since this morning",
            "internet:isn't working",
            "your internet connection hasn't been working since this morning",
        ),
        ("I was charged twice this month!!", "billing:charged you twice", "we charged you twice"),
        ("TV says no signal for 3 hours", "tv:has no signal", "your TV service has had no signal for 3 hours"),
        ("wifi keeps dropping", "internet:keeps dropping", "your internet connection keeps dropping"),
        ("the app won't let me log in", "app:won't let you in", "your account login won't let you in"),
        ("hello?", "unknown:unspecified", "your service isn't working properly"),
    ],
)
def test_describe_problem_names_service_symptom_and_duration(text: str, key: str, phrase: str) -> None:
    problem = describe_problem(text)
    assert problem.key == key
    assert problem.phrase() == phrase
    assert problem.text == text


@pytest.mark.parametrize(
    "text", ["my phone won't connect to the wifi", "internet on my account is down", "wifi box is dead"]
)
def test_internet_words_win_over_generic_ones(text: str) -> None:
    assert describe_problem(text).key.startswith("internet:")


def test_same_problem_in_other_words_has_the_same_key() -> None:
    assert describe_problem("internet is down").key == describe_problem("no internet at all, it's dead").key


def test_the_skill_is_the_service_named_or_none() -> None:
    assert describe_problem("my wifi keeps dropping").skill == "internet"
    assert describe_problem("I was charged twice this month").skill == "billing"
    assert describe_problem("it's not working").skill is None
