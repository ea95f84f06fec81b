"""A labelled set of real text from Debian's documentation packages (zh and en).

`python -m realtext.build` extracts documents, aligned zh/en pairs and FAQ instruction records from
the installed packages, plus documented corruptions of them; `load(name)` returns the items of one
set that have a label in `realtext/labels/<name>.tsv`. See docs/real_text.md.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

# apt package -> a file it installs (its presence says the package is there)
PACKAGE_FILES = {
    "debian-reference-zh-cn": "/usr/share/debian-reference/ch02.zh-cn.html",
    "debian-reference-en": "/usr/share/debian-reference/ch02.en.html",
    "debian-faq": "/usr/share/doc/debian/FAQ/support.en.html",
    "debian-faq-zh-cn": "/usr/share/doc/debian/FAQ/zh-cn/support.zh-cn.html",
    "maint-guide": "/usr/share/doc/maint-guide/html/index.en.html",
    "maint-guide-zh-cn": "/usr/share/doc/maint-guide-zh-cn/html/index.zh-cn.html",
    "debian-handbook": "/usr/share/doc/debian-handbook/html/zh-CN/apt.html",
    "gimp-help-en": "/usr/share/gimp/2.0/help/en/gimp-file-new.html",
    "gimp-help-zh-cn": "/usr/share/gimp/2.0/help/zh_CN/gimp-file-new.html",
    "debian-edu-doc-en": "/usr/share/doc/debian-edu-doc-en/debian-edu-bookworm-manual.html",
    "debian-edu-doc-zh-cn": "/usr/share/doc/debian-edu-doc-zh-cn/debian-edu-bookworm-manual.html",
}
PACKAGES = tuple(PACKAGE_FILES)
SETS = ("zh_docs", "en_docs", "pairs", "instruct")
LABELS = Path(__file__).parent / "labels"
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "work" / "realtext"


class RealTextMissing(RuntimeError):
    """The Debian documentation packages or the build output are absent."""


def missing_packages() -> list[str]:
    """The apt packages of PACKAGES that are not installed."""
    return [package for package, marker in PACKAGE_FILES.items() if not Path(marker).is_file()]


def available(folder: str | Path | None = None) -> bool:
    """True when the packages are installed and the build output is in `folder`."""
    folder = Path(folder) if folder is not None else DEFAULT_FOLDER
    return not missing_packages() and all((folder / f"{name}.jsonl").is_file() for name in SETS)


def labels(name: str) -> dict[str, tuple[str, str]]:
    """id -> (label, reason) of one set's committed labels."""
    if name not in SETS:
        raise ValueError(f"unknown real-text set {name!r}; the sets are {', '.join(SETS)}")
    with (LABELS / f"{name}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {
            row[0]: (row[1], row[2]) for row in rows if row and not row[0].startswith("#") and row[0] != "id"
        }


def load(name: str, folder: str | Path | None = None) -> list[dict]:
    """The labelled items of set `name` (zh_docs, en_docs, pairs, instruct) from the build in
    `folder` (default work/realtext at the repository root), each with `label` and `reason` added."""
    wanted = labels(name)
    missing = missing_packages()
    if missing:
        raise RealTextMissing(
            f"real text needs the Debian documentation packages: apt-get install {' '.join(missing)}"
        )
    folder = Path(folder) if folder is not None else DEFAULT_FOLDER
    path = folder / f"{name}.jsonl"
    if not path.is_file():
        raise RealTextMissing(
            f"no real-text build at {folder}: run `python -m realtext.build --out {folder}`"
        )
    items = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            if item["id"] in wanted:
                item["label"], item["reason"] = wanted[item["id"]]
                items.append(item)
    return items


def record(item: dict, kind: str) -> dict:
    """An item as the raw record of a curation source of `kind` (mono: id/text; parallel: id/zh/en;
    instruct: id/messages), so a labelled set can be run through `curation.run` as a source."""
    if kind == "mono":
        return {"id": item["id"], "text": item["text"]}
    if kind == "parallel":
        return {"id": item["id"], "zh": item["zh"], "en": item["en"]}
    return {"id": item["id"], "messages": item["messages"]}
