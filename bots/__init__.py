"""The bots: each wires its features to events and declares its commands and sweeps."""
