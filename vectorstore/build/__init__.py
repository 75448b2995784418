"""Building and updating an index: the builder and its Ray engine."""
