"""The knowledge base that ships with Bothy: one YAML file per topic (Scotland and UK services).

It is package data, so an installed Bothy finds it wherever its config lives; an unset
`referral.kb_dirs` means this folder.
"""

from pathlib import Path

SHIPPED_KB = Path(__file__).parent
