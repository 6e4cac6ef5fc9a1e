"""Soak: a million CloudWatch events through the Lambda handler by two concurrent workers."""
