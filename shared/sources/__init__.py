"""Readers that turn files into log records."""
