"""handoff/service.py: the pure rules, without a database or a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from handoff import service
from handoff.errors import Conflict
from handoff.schemas import Customer, FrustrationPoint, Incident, IncidentFacts, Trajectory

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def customer(region: str = "Lisbon", services: tuple[str, ...] = ("internet", "tv")) -> Customer:
    return Customer(
        id="C-1",
        name="Test",
        email="t@example.com",
        plan="Fibra",
        tier="standard",
        monthly_fee=Decimal("30.00"),
        currency="EUR",
        region=region,
        services=list(services),
    )


def incident(
    id: str, services: list[str], regions: list[str], severity: str = "major", resolved: bool = False
) -> Incident:
    return Incident(
        id=id,
        title=id,
        status="resolved" if resolved else "identified",
        severity=severity,
        services=services,
        regions=regions,
        started_at=NOW - timedelta(hours=2),
        resolved_at=NOW if resolved else None,
        facts=IncidentFacts(),
    )


@pytest.mark.parametrize(
    ("action", "state", "target"),
    [
        ("escalate", "bot", "queued"),
        ("claim", "queued", "agent"),
        ("handback", "agent", "bot"),
        ("resolve", "agent", "closed"),
        ("reopen", "closed", "bot"),
    ],
)
def test_allowed_transitions(action: str, state: str, target: str) -> None:
    assert service.check_transition(action, state) == target


@pytest.mark.parametrize(
    ("action", "state"), [("claim", "agent"), ("claim", "bot"), ("handback", "queued"), ("escalate", "agent")]
)
def test_refused_transitions(action: str, state: str) -> None:
    with pytest.raises(Conflict):
        service.check_transition(action, state)


def test_expected_wait_uses_average_handle_time_and_agents_online() -> None:
    assert service.expected_wait_minutes(1, [], 0) == 5  # default 5 minutes, at least one agent assumed
    assert service.expected_wait_minutes(3, [], 1) == 15
    assert service.expected_wait_minutes(3, [timedelta(minutes=2), timedelta(minutes=4)], 2) == 5  # 3*3/2=4.5 → 5


def test_queue_order_priority_then_waiting_time() -> None:
    a = service.Queued(1, priority=0, created_at=NOW - timedelta(minutes=10))
    b = service.Queued(2, priority=30, created_at=NOW - timedelta(minutes=1))
    c = service.Queued(3, priority=0, created_at=NOW - timedelta(minutes=20))
    assert [q.conversation_id for q in service.queue_order([a, b, c], NOW)] == [2, 3, 1]
    info = service.queue_info(1, [a, b, c], [], agents_online=1, now=NOW)
    assert (info.position, info.expected_wait_minutes, info.agents_online) == (3, 15, 1)


def test_waiting_raises_priority_so_nobody_starves() -> None:
    calm_but_waiting = service.Queued(1, priority=10, created_at=NOW - timedelta(minutes=31))
    furious_just_now = service.Queued(2, priority=40, created_at=NOW)
    assert service.effective_priority(10, NOW - timedelta(minutes=31, seconds=59), NOW) == 41
    assert [q.conversation_id for q in service.queue_order([furious_just_now, calm_but_waiting], NOW)] == [1, 2]


def test_priority_and_level_from_frustration() -> None:
    points = [FrustrationPoint(score=0.9, level="high", text="a"), FrustrationPoint(score=0.3, level="low", text="b")]
    assert service.priority(points) == 30
    assert service.frustration_level(points) == "low"
    assert (service.priority([]), service.frustration_level([])) == (0, "none")


def test_priority_is_raised_to_the_conversation_level_never_lowered() -> None:
    calm = [FrustrationPoint(score=0.1, level="none", text="a")]
    medium = Trajectory(trend="calm", level="medium", score=0.6, causes=["bot_fallback", "repeated_problem"])
    assert service.priority(calm, medium) == 20
    assert service.priority([FrustrationPoint(score=0.9, level="high")], medium) == 30
    assert service.priority([], Trajectory(trend="calm", level="none", score=0.0)) == 0


def test_priority_counts_trend_request_incident_and_tier() -> None:
    low = [FrustrationPoint(score=0.35, level="low", text="a")]
    rising = Trajectory(trend="rising", level="low", score=0.4)
    lisbon = customer("Lisbon", ("internet",))
    outage = incident("fibre", ["internet"], ["Lisbon"], severity="major")
    critical = incident("fibre", ["internet"], ["Lisbon"], severity="critical")
    elsewhere = incident("porto", ["internet"], ["Porto"], severity="critical")
    assert service.priority(low) == 10
    assert service.priority(low, rising) == 15
    assert service.priority(low, None, "customer_requested_human") == 20
    assert service.priority(low, None, "frustration", lisbon, outage) == 15
    assert service.priority(low, None, "frustration", lisbon, critical) == 20
    assert service.priority(low, None, "frustration", lisbon, elsewhere) == 10  # not affected: no points
    business = lisbon.model_copy(update={"tier": "business"})
    assert service.priority(low, None, "frustration", business, None) == 15  # tier counts, less than frustration


def test_incident_for_prefers_a_match_then_severity() -> None:
    porto_mobile = incident("porto-mobile", ["mobile"], ["Porto"], severity="critical")
    lisbon_internet = incident("lisbon-internet", ["internet"], ["Lisbon"])
    porto_internet = incident("porto-internet", ["internet"], ["Porto"], severity="critical")
    old = incident("old", ["internet"], ["Lisbon"], resolved=True)
    everything = [porto_mobile, lisbon_internet, porto_internet, old]
    assert service.incident_for(customer(), everything) == lisbon_internet  # service and region
    assert service.incident_for(customer(region="Faro"), everything) == porto_internet  # service, more severe
    assert service.incident_for(customer(region="Faro", services=("tv",)), everything) == porto_mobile  # most severe
    assert service.incident_for(None, [lisbon_internet, porto_mobile]) == porto_mobile
    assert service.incident_for(customer(), [old]) is None
