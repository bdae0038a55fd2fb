"""Messages the bots send, rendered from Jinja2 templates: an autoescaped HTML body and a plain fallback.

Each message `name` has `name.html.j2` and `name.txt.j2`, in the engine's folder or in the `templates/`
folder of the bot that sends it. An organisation may override any of them by placing a file of the
same name in `templates.override_dir`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

ENGINE_TEMPLATES = Path(__file__).parent / "templates"

log = logging.getLogger("bothy.templates")


def _environments(directories: Sequence[Path]) -> tuple[Environment, Environment]:
    """(plain text, HTML) over these folders, the first holding a name winning."""
    loader = ChoiceLoader([FileSystemLoader([str(d) for d in directories])])

    def environment(html: bool) -> Environment:
        return Environment(loader=loader, autoescape=html, undefined=StrictUndefined, trim_blocks=True,
                           lstrip_blocks=True, keep_trailing_newline=False)

    return environment(False), environment(True)


class Templates:
    def __init__(self, bot_dirs: Sequence[Path] = (), override_dir: Path | None = None):
        directories = [*([override_dir] if override_dir else []), *bot_dirs, ENGINE_TEMPLATES]
        self.directories = tuple(directories)
        self._text, self._html = _environments(directories)
        # What ships, for an organisation's override that will not render (a typo, a name no message has): the
        # message still goes, in the shipped words, and whatever was committed beside it (a reviewer's).
        self._shipped = _environments([*bot_dirs, ENGINE_TEMPLATES]) if override_dir else None

    def render(self, name: str, **context: Any) -> dict[str, Any]:
        """An `m.notice` content dict: bots send notices so other bots ignore them. `m.mentions` is empty, so
        words a member chose that end up in a message ("@room" in a place they typed, a display name) never
        ping anyone: clients with intentional mentions notify only those it lists."""
        try:
            text, html = self._render(self._text, self._html, name, context)
        except Exception as error:  # a filter's TypeError as much as a TemplateError: the message must still go
            if self._shipped is None:
                raise
            log.error("the override of template %s does not render (%s); the shipped one is used",
                      name, type(error).__name__)
            text, html = self._render(*self._shipped, name, context)
        return {"msgtype": "m.notice", "body": text, "format": "org.matrix.custom.html", "formatted_body": html,
                "m.mentions": {}}

    @staticmethod
    def _render(text: Environment, html: Environment, name: str, context: dict[str, Any]) -> tuple[str, str]:
        return (text.get_template(f"{name}.txt.j2").render(**context).strip(),
                html.get_template(f"{name}.html.j2").render(**context).strip())
