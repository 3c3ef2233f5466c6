"""The hub's routes, one blueprint per kind of caller: customer, bot, agent, trainer, monitoring (alerts), pages."""

from handoff.blueprints.agent import bp as agent
from handoff.blueprints.alerts import bp as alerts
from handoff.blueprints.bot import bp as bot
from handoff.blueprints.customer import bp as customer
from handoff.blueprints.pages import bp as pages
from handoff.blueprints.trainer import bp as trainer

__all__ = ["agent", "alerts", "bot", "customer", "pages", "trainer"]
