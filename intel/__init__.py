"""Report intelligence: the category from a report's words (pure; no Flask, no database)."""
