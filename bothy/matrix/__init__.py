"""The Matrix edge: the only package that talks to matrix-nio."""
