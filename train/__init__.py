"""train stage of the toolkit (see docs/formats.md)."""
