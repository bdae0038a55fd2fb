"""Messages the bots send, rendered from Jinja2 templates: an autoescaped HTML body and a plain fallback.

Each message `name` has `name.html.j2` and `name.txt.j2`, in the engine's folder or in the `templates/`
folder of the bot that sends it. An organisation may override any of them by placing a file of the
same name in `templates.override_dir`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

ENGINE_TEMPLATES = Path(__file__).parent / "templates"


class Templates:
    def __init__(self, bot_dirs: Sequence[Path] = (), override_dir: Path | None = None):
        directories = [*([override_dir] if override_dir else []), *bot_dirs, ENGINE_TEMPLATES]
        self.directories = tuple(directories)
        loader = ChoiceLoader([FileSystemLoader([str(d) for d in directories])])
        self._html = Environment(loader=loader, autoescape=True, undefined=StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
        self._text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)

    def render(self, name: str, **context: Any) -> dict[str, Any]:
        """An `m.notice` content dict: bots send notices so other bots ignore them. `m.mentions` is empty, so
        words a member chose that end up in a message ("@room" in a place they typed, a display name) never
        ping anyone: clients with intentional mentions notify only those it lists."""
        return {
            "msgtype": "m.notice",
            "body": self._text.get_template(f"{name}.txt.j2").render(**context).strip(),
            "format": "org.matrix.custom.html",
            "formatted_body": self._html.get_template(f"{name}.html.j2").render(**context).strip(),
            "m.mentions": {},
        }
