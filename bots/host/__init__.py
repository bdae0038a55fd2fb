"""The host bot: help and status, and the member's data rights."""
