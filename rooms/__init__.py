"""Room work: members' DMs, the staff room, power levels."""
