"""Cloud entry points: thin adapters from cloud events to the shared core.

Both entry points import this package first. medic's functions use no pydantic plugins, and
looking for them reads the metadata of every installed package when the first model is built,
on every cold start; so the search is off unless the environment says otherwise.
"""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
