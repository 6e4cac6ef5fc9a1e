"""Azure entry points and event decoders."""
