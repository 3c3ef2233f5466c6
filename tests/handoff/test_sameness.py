"""The supervisors' apology-sameness figure (handoff/sameness.py)."""

from __future__ import annotations

from handoff.sameness import MAX_COMPARED, sameness, similarity

SAME = "We're sorry for the disruption to your service. Our engineers are working on it."


def test_the_same_apology_to_everyone_scores_one_and_every_one_a_duplicate() -> None:
    figure = sameness([SAME] * 5)
    assert (figure.apologies, figure.compared, figure.mean_similarity, figure.duplicate_share) == (5, 5, 1.0, 1.0)


def test_apologies_naming_each_customers_problem_score_low() -> None:
    texts = [
        "Your internet has been down since this morning; that's the fibre cut in Lisbon, fixed by 18:00.",
        "Sorry your TV box keeps restarting. Nothing on our side explains it, so a person should look.",
        "You were charged twice in November. I've flagged the second charge for a refund.",
    ]
    figure = sameness(texts)
    assert figure.mean_similarity is not None and figure.mean_similarity < 0.1
    assert figure.duplicate_share == 0.0


def test_case_and_punctuation_do_not_hide_a_copy() -> None:
    assert similarity(SAME, SAME.upper().replace(".", "!")) == 1.0
    assert sameness([SAME, SAME.lower(), "Something else entirely, about billing."]).duplicate_share == round(2 / 3, 3)


def test_one_apology_has_no_figure_yet_and_only_the_latest_are_compared() -> None:
    assert sameness([SAME]).mean_similarity is None and sameness([]).duplicate_share is None
    many = [f"apology number {i} for customer {i}" for i in range(MAX_COMPARED + 50)]
    figure = sameness(many, total=1000)
    assert (figure.apologies, figure.compared) == (1000, MAX_COMPARED)
