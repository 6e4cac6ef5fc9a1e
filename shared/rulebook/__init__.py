"""The rulebook: schema, loading, templates."""
