"""HTML building blocks for the report: escaped tables, sections and the page around them.

The markup lives in Jinja2 templates (templates/parts.html, templates/page.html) with
autoescaping on: every text that reaches a page (a configuration label, an error message, a
finding) is escaped by the template, not by hand. Blocks return HTML as str; a block that nests
others takes their HTML as `*_html` and passes it through as Markup.
Plain HTML and CSS, no script and nothing fetched: the page opens offline from disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import jinja2
import pandas as pd
from markupsafe import Markup

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("bench.report", "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)
_PARTS = _ENV.get_template("parts.html").module


CSS = """
body { font-family: system-ui, sans-serif; margin: 1em auto; padding: 0 1em; max-width: 1300px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
tr.unstable td { background: #fff4e0; } tr.regression td { background: #fde2e2; }
tr.improvement td { background: #e2f6e2; } tr.error td { background: #fde2e2; }
.badge { background: #e67e22; color: white; border-radius: 3px; padding: 0 0.4em; font-size: 0.8em; }
.warning { background: #fff4e0; border-left: 4px solid #e67e22; padding: 0.5em 1em; }
.note { color: #555; font-size: 0.9em; } img { max-width: 100%; border: 1px solid #eee; }
ul.findings li { margin: 0.3em 0; } pre { background: #f7f7f7; padding: 0.5em; overflow-x: auto; }
.answer { margin: 0.4em 0 1.4em; } .answer h3 { margin: 0.3em 0; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.5em 1em; min-width: 14em; flex: 1; }
.card-label { color: #555; font-size: 0.9em; } .big { font-size: 2.2em; font-weight: 600; line-height: 1.2; }
.card.faster .big { color: #1e7d32; } .ci { color: #555; font-size: 0.85em; }
details.point summary { cursor: pointer; font-size: 0.85em; } .full { font-size: 0.8em; color: #555; }
"""


def number(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(frame: pd.DataFrame, table_id: str, formats: dict[str, Callable] | None = None,
          row_class: Callable[[pd.Series], str] | None = None, text_columns=()) -> str:
    """An HTML table of `frame`; `formats` per column, `row_class` per row (CSS class)."""
    formats = formats or {}
    if frame.empty:
        return str(_PARTS.empty_table(table_id))
    head = [(str(c), c in text_columns) for c in frame.columns]
    rows = [(row_class(row) if row_class else "",
             [(formats.get(c, number)(row[c]), c in text_columns) for c in frame.columns])
            for _, row in frame.iterrows()]
    return str(_PARTS.table(table_id, head, rows))


def image(filename: str, alt: str) -> str:
    return str(_PARTS.image(filename, alt))


def section(title: str, body_html: str, section_id: str) -> str:
    return str(_PARTS.section(section_id, title, Markup(body_html)))


def bullets(sentences: list[str], list_id: str) -> str:
    return str(_PARTS.bullets(list_id, sentences))


def details(summary: str, body_html: str) -> str:
    """A collapsed block the reader opens (HTML's own <details>: no script)."""
    return str(_PARTS.details(summary, Markup(body_html)))


def paragraph(text: str, css: str = "") -> str:
    return str(_PARTS.paragraph(text, css))


def heading(text: str) -> str:
    return str(_PARTS.heading(text))


def headline(answer_id: str, title: str, cards: list[dict], changes_html: str, notes: list[str]) -> str:
    """One layer type × device at a glance: cards (label, big value, CI, a short point label that
    opens onto the full one), the changes table, notes."""
    return str(_PARTS.headline(answer_id, title, cards, Markup(changes_html), notes))


def page(title: str, subtitle: str, sections: list[str]) -> str:
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return _ENV.get_template("page.html").render(
        title=title, subtitle=subtitle, generated=generated, css=Markup(CSS),
        sections=[Markup(s) for s in sections])
