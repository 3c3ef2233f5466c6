"""The compensation policy: loading and validating policy/compensation.yml, and deciding an offer.

Pure functions and frozen dataclasses. `load_policy` fails with a PolicyError naming the file, the
place and what is wrong; `decide` returns the offer the policy gives an affected customer, or the
reason there is none. Schema and rules: docs/compensation.md.
"""

from __future__ import annotations

import math
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
KINDS = ("bill_credit", "credit_note")  # forms of an offer: the same money, paid differently
IMPACTS = ("all_services", "some_services")
CENT = Decimal("0.01")
MAX_MONEY = Decimal("100000")  # the largest amount the hub records
_TOP_KEYS = {"version", "currency", "limits", "impact", "forms", "rules"}


class PolicyError(ValueError):
    """The policy file is missing, is not valid YAML, or breaks the schema."""


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severities: tuple[str, ...]
    min_hours: float
    days_of_fee: Decimal
    minimum: Decimal
    needs_approval: bool = False


@dataclass(frozen=True)
class Policy:
    currency: str
    max_amount: Decimal
    agent_approval_above: Decimal
    agent_max_amount: Decimal
    impact: dict[str, Decimal]  # share of the credit by how much of the customer's service the incident hit
    default_form: str
    form_by_tier: dict[str, str]
    rules: tuple[Rule, ...]

    def form_for(self, customer: dict[str, Any]) -> str:
        """The form of an offer: by the customer's tier when the policy says so. Never its amount."""
        return self.form_by_tier.get(str(customer.get("tier", "")).lower(), self.default_form)


@dataclass(frozen=True)
class Offer:
    rule: str
    kind: str
    amount: Decimal
    currency: str
    needs_approval: bool
    reason: str
    agent_max_amount: Decimal  # the most an agent may set for this offer


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
    if amount > MAX_MONEY or int(amount.as_tuple().exponent) < -2:
        raise PolicyError(f"{where}: must be at most {MAX_MONEY} with at most two decimals, got {value!r}")
    return amount


def parse_policy(document: Any, source: str = "policy") -> Policy:
    """A Policy from the parsed YAML document, or a PolicyError saying what is wrong and where."""
    if not isinstance(document, dict):
        raise PolicyError(
            f"{source}: the policy must be a mapping with version, currency, limits, impact, forms and rules"
        )
    version = _require(document, "version", source)
    if type(version) is not int or version != 1:
        raise PolicyError(f"{source}: version must be 1, got {version!r}")
    unknown = set(document) - _TOP_KEYS
    if unknown:
        raise PolicyError(f"{source}: unknown keys {sorted(unknown)}")
    currency = _require(document, "currency", source)
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
        raise PolicyError(f"{source}: currency must be a three-letter ISO code like EUR, got {currency!r}")
    limits = _require(document, "limits", source)
    max_amount = _money(_require(limits, "max_amount", f"{source} limits"), f"{source} limits.max_amount")
    approval = _money(
        _require(limits, "agent_approval_above", f"{source} limits"), f"{source} limits.agent_approval_above"
    )
    agent_max = _money(_require(limits, "agent_max_amount", f"{source} limits"), f"{source} limits.agent_max_amount")
    unknown = set(limits) - {"max_amount", "agent_approval_above", "agent_max_amount"}
    if unknown:
        raise PolicyError(f"{source} limits: unknown keys {sorted(unknown)}")
    if approval > max_amount or agent_max < max_amount:
        raise PolicyError(
            f"{source} limits: need agent_approval_above <= max_amount <= agent_max_amount, got "
            f"{approval} / {max_amount} / {agent_max}"
        )
    impact = _impact(_require(document, "impact", source), f"{source} impact")
    default_form, form_by_tier = _forms(_require(document, "forms", source), f"{source} forms")
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
        unknown = set(raw) - {
            "id",
            "description",
            "severities",
            "min_hours",
            "days_of_fee",
            "minimum",
            "needs_approval",
        }
        if unknown:
            raise PolicyError(f"{where}: unknown keys {sorted(unknown)} (an offer's form is set under `forms`)")
        severities = _require(raw, "severities", where)
        if not isinstance(severities, list) or not severities or any(s not in SEVERITIES for s in severities):
            raise PolicyError(f"{where}: severities must be a list drawn from {list(SEVERITIES)}, got {severities!r}")
        needs_approval = raw.get("needs_approval", False)
        if not isinstance(needs_approval, bool):
            raise PolicyError(f"{where}: needs_approval must be true or false, got {needs_approval!r}")
        min_hours = _require(raw, "min_hours", where)
        if (
            isinstance(min_hours, bool)
            or not isinstance(min_hours, (int, float))
            or not math.isfinite(min_hours)
            or min_hours < 0
        ):
            raise PolicyError(f"{where}: min_hours must be a number of hours >= 0, got {min_hours!r}")
        rules.append(
            Rule(
                id=rule_id,
                description=str(raw.get("description", "")),
                severities=tuple(severities),
                min_hours=float(min_hours),
                days_of_fee=_money(_require(raw, "days_of_fee", where), f"{where} days_of_fee"),
                minimum=_money(raw.get("minimum", 0), f"{where} minimum"),
                needs_approval=needs_approval,
            )
        )
        if rules[-1].minimum > max_amount:
            raise PolicyError(f"{where}: minimum {rules[-1].minimum} is above limits.max_amount {max_amount}")
    return Policy(
        currency=currency,
        max_amount=max_amount,
        agent_approval_above=approval,
        agent_max_amount=agent_max,
        impact=impact,
        default_form=default_form,
        form_by_tier=form_by_tier,
        rules=tuple(rules),
    )


def _impact(raw: Any, where: str) -> dict[str, Decimal]:
    if not isinstance(raw, dict) or set(raw) != set(IMPACTS):
        raise PolicyError(f"{where}: must give a share for exactly {list(IMPACTS)}, got {raw!r}")
    shares = {key: _money(raw[key], f"{where}.{key}") for key in IMPACTS}
    if not (0 < shares["some_services"] <= shares["all_services"] <= 1):
        raise PolicyError(f"{where}: need 0 < some_services <= all_services <= 1, got {raw!r}")
    return shares


def _forms(raw: Any, where: str) -> tuple[str, dict[str, str]]:
    if not isinstance(raw, dict) or set(raw) - {"default", "by_tier"}:
        raise PolicyError(f"{where}: must be a mapping with `default` and optional `by_tier`, got {raw!r}")
    by_tier = raw.get("by_tier") or {}
    if not isinstance(by_tier, dict):
        raise PolicyError(f"{where}.by_tier: must map a tier to a form, got {by_tier!r}")
    for key, form in [("default", _require(raw, "default", where)), *by_tier.items()]:
        if form not in KINDS:
            raise PolicyError(f"{where}: {key}: the form must be one of {list(KINDS)}, got {form!r}")
    tiers = {str(tier).lower(): form for tier, form in by_tier.items()}
    if len(tiers) != len(by_tier):
        raise PolicyError(f"{where}.by_tier: tiers differ only in case: {sorted(map(str, by_tier))}")
    return raw["default"], tiers


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


def _services_hit(customer: dict[str, Any], incident: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(the customer's services, those the incident hits where the customer is)."""
    services = {str(s).lower() for s in customer.get("services") or []}
    regions = {str(r).lower() for r in incident.get("regions") or []}
    if regions and str(customer.get("region", "")).lower() not in regions:
        return services, set()
    return services, services & {str(s).lower() for s in incident.get("services") or []}


def customer_affected(customer: dict[str, Any], incident: dict[str, Any]) -> bool:
    return bool(_services_hit(customer, incident)[1])


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
    services, hit = _services_hit(customer, incident)
    impact = "all_services" if hit == services else "some_services"
    fee = _money(customer.get("monthly_fee", 0), "customer monthly_fee")
    amount = max(rule.minimum, fee / Decimal(30) * rule.days_of_fee * policy.impact[impact])
    amount = min(amount, policy.max_amount).quantize(CENT, rounding=ROUND_HALF_UP)
    reason = (
        f"{incident.get('title', 'incident')}: {severity} incident, {hours:.1f} h affected, "
        f"{len(hit)} of {len(services)} services hit ({', '.join(sorted(hit))})"
    )
    return Decision(
        Offer(
            rule=rule.id,
            kind=policy.form_for(customer),
            amount=amount,
            currency=policy.currency,
            needs_approval=rule.needs_approval or amount > policy.agent_approval_above,
            reason=reason,
            agent_max_amount=policy.agent_max_amount,
        )
    )
