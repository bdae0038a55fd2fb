"""A local Synapse for development and tests."""
