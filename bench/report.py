"""What every benchmark shares: a parser with --out, and printing (and saving) its JSON report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def parser(description: str | None) -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--out", type=Path, help="also write the JSON here")
    return result


def emit(report: dict, out: Path | None) -> None:
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
