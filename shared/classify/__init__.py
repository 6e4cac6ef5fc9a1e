"""Classification: multi-line grouping, rule matching, findings."""
