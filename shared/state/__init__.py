"""Where alert state lives between runs: a small store interface and its implementations."""
