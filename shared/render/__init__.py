"""Turning alerts into chat messages: Slack Block Kit and Teams Adaptive Cards."""
