"""Other tools' formats: the paper authors' released models and circuits (import, export)."""
