"""Candor's handoff service ("hub"): the front door for customers and agents, and the conversation store."""
