"""AWS entry points and event decoders."""
