"""Keys of the per-member facts bots offer one another through `context.facts` (see bots/README.md).

Here, not in the engine and not in either bot: the provider and its consumers share only the word.
"""

ENERGY = "energy"  # today's energy ("low", "medium" or "high") for 24 hours after a member set it
# Asked of a room ID, not a member's: "archived" once the group in that room is archived or being archived (its room
# read-only, its last word said), else None.
GROUP_ARCHIVED = "group_archived"
