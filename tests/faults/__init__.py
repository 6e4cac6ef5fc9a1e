"""Fault injection: chat services, DynamoDB and Table Storage failing under real runs."""
