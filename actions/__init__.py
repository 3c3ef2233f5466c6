"""Candor's custom actions (rasa-sdk): apologies, incident status, compensation and handoff.

The action server owns no database: everything it knows about customers, incidents, offers and
escalations comes from the hub over HTTP (`actions.hub_client`).
"""
