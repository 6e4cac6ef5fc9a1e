"""Delivery: one notifier per chat service, each saying whether a failure is worth retrying."""
