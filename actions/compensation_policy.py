"""The compensation policy: loading and validating policy/compensation.yml, and deciding an offer.

Pure functions and frozen dataclasses. `load_policy` fails with a PolicyError naming the file, the
place and what is wrong; `decide` returns the offer the policy gives an affected customer, or the
reason there is none. Schema and rules: docs/compensation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Decision",
    "Offer",
    "Policy",
    "PolicyError",
    "Rule",
    "decide",
    "hours_affected",
    "load_policy",
    "parse_policy",
]

SEVERITIES = ("minor", "major", "critical")
KINDS = ("bill_credit",)
CENT = Decimal("0.01")


class PolicyError(ValueError):
    """The policy file is missing, is not valid YAML, or breaks the schema."""


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severities: tuple[str, ...]
    min_hours: float
    kind: str
    days_of_fee: Decimal
    minimum: Decimal


@dataclass(frozen=True)
class Policy:
    currency: str
    max_amount: Decimal
    agent_approval_above: Decimal
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Offer:
    rule: str
    kind: str
    amount: Decimal
    currency: str
    needs_approval: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    offer: Offer | None
    why_not: str | None = None


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise PolicyError(f"{where}: missing `{key}`")
    return mapping[key]


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PolicyError(f"{where}: expected an amount, got {value!r}")
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise PolicyError(f"{where}: expected an amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise PolicyError(f"{where}: must be a non-negative amount, got {value!r}")
    return amount


def parse_policy(document: Any, source: str = "policy") -> Policy:
    """A Policy from the parsed YAML document, or a PolicyError saying what is wrong and where."""
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: the policy must be a mapping with version, currency, limits and rules")
    if _require(document, "version", source) != 1:
        raise PolicyError(f"{source}: version must be 1, got {document['version']!r}")
    currency = _require(document, "currency", source)
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
        raise PolicyError(f"{source}: currency must be a three-letter ISO code like EUR, got {currency!r}")
    limits = _require(document, "limits", source)
    max_amount = _money(_require(limits, "max_amount", f"{source} limits"), f"{source} limits.max_amount")
    approval = _money(
        _require(limits, "agent_approval_above", f"{source} limits"), f"{source} limits.agent_approval_above"
    )
    raw_rules = _require(document, "rules", source)
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyError(f"{source}: rules must be a non-empty list")
    rules, seen = [], set()
    for index, raw in enumerate(raw_rules):
        where = f"{source} rules[{index}]"
        rule_id = _require(raw, "id", where)
        if not isinstance(rule_id, str) or not rule_id or rule_id in seen:
            raise PolicyError(f"{where}: id must be a unique non-empty string, got {rule_id!r}")
        seen.add(rule_id)
        where = f"{source} rule {rule_id!r}"
        unknown = set(raw) - {"id", "description", "severities", "min_hours", "kind", "days_of_fee", "minimum"}
        if unknown:
            raise PolicyError(f"{where}: unknown keys {sorted(unknown)}")
        severities = _require(raw, "severities", where)
        if not isinstance(severities, list) or not severities or any(s not in SEVERITIES for s in severities):
            raise PolicyError(f"{where}: severities must be a list drawn from {list(SEVERITIES)}, got {severities!r}")
        kind = _require(raw, "kind", where)
        if kind not in KINDS:
            raise PolicyError(f"{where}: kind must be one of {list(KINDS)}, got {kind!r}")
        min_hours = _require(raw, "min_hours", where)
        if isinstance(min_hours, bool) or not isinstance(min_hours, (int, float)) or min_hours < 0:
            raise PolicyError(f"{where}: min_hours must be a number of hours >= 0, got {min_hours!r}")
        rules.append(
            Rule(
                id=rule_id,
                description=str(raw.get("description", "")),
                severities=tuple(severities),
                min_hours=float(min_hours),
                kind=kind,
                days_of_fee=_money(_require(raw, "days_of_fee", where), f"{where} days_of_fee"),
                minimum=_money(raw.get("minimum", 0), f"{where} minimum"),
            )
        )
    return Policy(currency=currency, max_amount=max_amount, agent_approval_above=approval, rules=tuple(rules))


def load_policy(path: Path) -> Policy:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"compensation policy file not found: {path}") from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{path}: not valid YAML: {error}") from None
    return parse_policy(document, str(path))


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def hours_affected(incident: dict[str, Any], now: datetime) -> float:
    """How long the incident has lasted (until it resolved, or until now)."""
    start = _time(str(incident["started_at"]))
    end = _time(str(incident["resolved_at"])) if incident.get("resolved_at") else now
    return max(0.0, (end - start).total_seconds() / 3600)


def customer_affected(customer: dict[str, Any], incident: dict[str, Any]) -> bool:
    services = {str(s).lower() for s in customer.get("services") or []}
    regions = {str(r).lower() for r in incident.get("regions") or []}
    hit = {str(s).lower() for s in incident.get("services") or []}
    in_region = not regions or str(customer.get("region", "")).lower() in regions
    return bool(services & hit) and in_region


def decide(policy: Policy, customer: dict[str, Any] | None, incident: dict[str, Any] | None, now: datetime) -> Decision:
    """The offer the policy gives this customer for this incident, or why there is none."""
    if incident is None:
        return Decision(None, "no_incident")
    if customer is None:
        return Decision(None, "unknown_customer")
    if not customer_affected(customer, incident):
        return Decision(None, "not_affected")
    hours = hours_affected(incident, now)
    severity = str(incident.get("severity", "")).lower()
    rule = next((r for r in policy.rules if severity in r.severities and hours >= r.min_hours), None)
    if rule is None:
        return Decision(None, "below_threshold")
    fee = _money(customer.get("monthly_fee", 0), "customer monthly_fee")
    amount = max(rule.minimum, fee / Decimal(30) * rule.days_of_fee)
    amount = min(amount, policy.max_amount).quantize(CENT, rounding=ROUND_HALF_UP)
    reason = f"{incident.get('title', 'incident')}: {severity} incident, {hours:.1f} h affected"
    return Decision(
        Offer(
            rule=rule.id,
            kind=rule.kind,
            amount=amount,
            currency=policy.currency,
            needs_approval=amount > policy.agent_approval_above,
            reason=reason,
        )
    )
