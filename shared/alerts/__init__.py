"""Alerting: from findings to messages people act on."""
