"""Bothy: Matrix bots for online mental-health peer support communities."""
