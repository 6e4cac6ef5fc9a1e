"""Cloud entry points: thin adapters from cloud events to the shared core."""
