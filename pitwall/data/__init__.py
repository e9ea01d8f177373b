"""The data layer: canonical tables, sources that produce them, and the Store."""
