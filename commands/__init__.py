"""Command declarations, parsing, permissions and the generated help."""
