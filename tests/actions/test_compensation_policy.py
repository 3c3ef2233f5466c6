"""actions.compensation_policy: the written policy, its validation, and its decisions."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from actions.compensation_policy import PolicyError, decide, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
CUSTOMER = {"id": "C-1", "monthly_fee": 45, "region": "Lisbon", "services": ["internet", "tv"], "tier": "standard"}


def incident(hours: float, severity: str = "major", **extra: object) -> dict[str, object]:
    return {
        "id": "INC-1",
        "title": "Fibre outage",
        "severity": severity,
        "services": ["internet"],
        "regions": ["Lisbon"],
        "started_at": (NOW - timedelta(hours=hours)).isoformat(),
        **extra,
    }


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy(ROOT / "policy" / "compensation.yml")


def test_the_repository_policy_is_valid(policy) -> None:  # type: ignore[no-untyped-def]
    assert [r.id for r in policy.rules] == ["outage-24h-plus", "outage-4h-plus", "degraded-8h-plus"]


def test_a_long_major_outage_gives_the_first_matching_rule(policy) -> None:  # type: ignore[no-untyped-def]
    offer = decide(policy, CUSTOMER, incident(30), NOW).offer
    assert offer is not None
    assert (offer.rule, offer.amount, offer.currency) == ("outage-24h-plus", Decimal("10.00"), "EUR")
    assert "30.0 h" in offer.reason


def test_amount_is_proportional_to_fee_and_capped(policy) -> None:  # type: ignore[no-untyped-def]
    rich = {**CUSTOMER, "monthly_fee": 900, "tier": "business", "services": ["internet"]}
    offer = decide(policy, rich, incident(30), NOW).offer
    assert offer is not None and offer.amount == Decimal("60.00") and offer.needs_approval


def test_tier_does_not_change_the_offer(policy) -> None:  # type: ignore[no-untyped-def]
    offers = {tier: decide(policy, {**CUSTOMER, "tier": tier}, incident(5), NOW).offer for tier in ("basic", "premium")}
    assert offers["basic"] == offers["premium"]


def test_tier_may_change_the_form_but_never_the_amount_or_who_qualifies(policy) -> None:  # type: ignore[no-untyped-def]
    standard = decide(policy, CUSTOMER, incident(5), NOW).offer
    business = decide(policy, {**CUSTOMER, "tier": "business"}, incident(5), NOW).offer
    assert standard is not None and business is not None
    assert (standard.kind, business.kind) == ("bill_credit", "credit_note")
    assert (business.amount, business.rule, business.needs_approval) == (
        standard.amount,
        standard.rule,
        standard.needs_approval,
    )
    for tier in ("business", "basic"):  # not affected stays not affected, whatever the tier
        assert decide(policy, {**CUSTOMER, "tier": tier, "region": "Porto"}, incident(5), NOW).offer is None


def test_the_customers_actual_impact_counts(policy) -> None:  # type: ignore[no-untyped-def]
    # 300/month, 30 h major outage -> 3 days of fee = 30.00 for all services; half (15.00) when TV still works.
    everything = decide(policy, {**CUSTOMER, "monthly_fee": 300, "services": ["internet"]}, incident(30), NOW).offer
    partly = decide(policy, {**CUSTOMER, "monthly_fee": 300}, incident(30), NOW).offer
    assert everything is not None and partly is not None
    assert (everything.amount, partly.amount) == (Decimal("30.00"), Decimal("15.00"))
    assert "1 of 1 services" in everything.reason and "1 of 2 services hit (internet)" in partly.reason


def test_what_needs_an_agents_approval_and_how_far_an_agent_may_go(policy) -> None:  # type: ignore[no-untyped-def]
    rule_says = decide(policy, CUSTOMER, incident(30), NOW).offer  # outage-24h-plus: needs_approval: true
    small = decide(policy, CUSTOMER, incident(5), NOW).offer
    assert rule_says is not None and small is not None
    assert rule_says.needs_approval and not small.needs_approval
    assert rule_says.agent_max_amount == small.agent_max_amount == Decimal("100.00")


@pytest.mark.parametrize(
    ("customer", "the_incident", "why"),
    [
        (CUSTOMER, None, "no_incident"),
        (None, incident(30), "unknown_customer"),
        ({**CUSTOMER, "region": "Porto"}, incident(30), "not_affected"),
        ({**CUSTOMER, "services": ["mobile"]}, incident(30), "not_affected"),
        (CUSTOMER, incident(2), "below_threshold"),
        (
            CUSTOMER,
            incident(30, severity="minor", resolved_at=(NOW - timedelta(hours=27)).isoformat()),
            "below_threshold",
        ),
    ],
)
def test_no_offer_outside_the_policy(policy, customer, the_incident, why) -> None:  # type: ignore[no-untyped-def]
    decision = decide(policy, customer, the_incident, NOW)
    assert decision.offer is None and decision.why_not == why


def _valid() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "policy" / "compensation.yml").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=2), "version must be 1"),
        (lambda d: d.update(version=True), "version must be 1"),
        (lambda d: d.update(version=1.0), "version must be 1"),
        (lambda d: d.update(rulez=[]), "unknown keys \\['rulez'\\]"),
        (lambda d: d["limits"].update(max_amount=60.005), "at most two decimals"),
        (lambda d: d["limits"].update(agent_max_amount=250000), "at most 100000"),
        (lambda d: d["rules"][0].update(min_hours=float("nan")), "min_hours must be"),
        (lambda d: d["rules"][0].update(min_hours=float("inf")), "min_hours must be"),
        (lambda d: d["rules"][0].update(minimum=75), "minimum 75 is above limits.max_amount"),
        (lambda d: d["forms"]["by_tier"].update(Business="bill_credit"), "differ only in case"),
        (lambda d: d.update(currency="euro"), "currency must be a three-letter"),
        (lambda d: d.pop("limits"), "missing `limits`"),
        (lambda d: d["limits"].update(max_amount=-1), "non-negative amount"),
        (lambda d: d.update(rules=[]), "rules must be a non-empty list"),
        (lambda d: d["rules"][1].update(id="outage-24h-plus"), "unique"),
        (lambda d: d["rules"][0].update(severities=["catastrophic"]), "severities must be a list"),
        (lambda d: d["rules"][0].update(kind="cash"), "unknown keys .* form is set under `forms`"),
        (lambda d: d["rules"][0].update(needs_approval="yes"), "needs_approval must be true or false"),
        (lambda d: d["limits"].pop("agent_max_amount"), "missing `agent_max_amount`"),
        (lambda d: d["limits"].update(agent_max_amount=50), "agent_approval_above <= max_amount <= agent_max"),
        (lambda d: d["limits"].update(agent_approval_above=70), "agent_approval_above <= max_amount"),
        (lambda d: d["limits"].update(typo=1), "limits: unknown keys"),
        (lambda d: d.pop("impact"), "missing `impact`"),
        (lambda d: d["impact"].pop("some_services"), "exactly"),
        (lambda d: d["impact"].update(some_services=0), "0 < some_services <= all_services <= 1"),
        (lambda d: d["impact"].update(all_services=1.5), "0 < some_services <= all_services <= 1"),
        (lambda d: d.pop("forms"), "missing `forms`"),
        (lambda d: d["forms"].update(default="cash"), "default: the form must be one of"),
        (lambda d: d["forms"]["by_tier"].update(gold="vip_upgrade"), "gold: the form must be one of"),
        (lambda d: d["forms"].update(by_value={}), "must be a mapping with `default`"),
        (lambda d: d["rules"][0].update(min_hours="four"), "min_hours must be"),
        (lambda d: d["rules"][0].update(bonus=1), "unknown keys"),
        (lambda d: d["rules"][0].pop("days_of_fee"), "missing `days_of_fee`"),
    ],
)
def test_invalid_policies_fail_with_a_clear_error(change, message) -> None:  # type: ignore[no-untyped-def]
    document = _valid()
    change(document)
    with pytest.raises(PolicyError, match=message):
        parse_policy(document)


def test_unreadable_policy_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("rules: [unclosed")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(broken)
