"""HTML building blocks for the report: escaped tables, sections and the page around them.

Plain HTML and CSS, no script and nothing fetched: the page opens offline from disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import escape

import pandas as pd

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }
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
        return f'<p class="note" id="{escape(table_id)}">(nothing to show)</p>'
    head = "".join(f'<th class="{"text" if c in text_columns else ""}">{escape(str(c))}</th>'
                   for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        css = row_class(row) if row_class else ""
        cells = "".join(
            f'<td class="{"text" if c in text_columns else ""}">'
            f"{escape(formats.get(c, number)(row[c]))}</td>" for c in frame.columns)
        rows.append(f'<tr class="{escape(css)}">{cells}</tr>')
    return (f'<table id="{escape(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def image(filename: str, alt: str) -> str:
    return f'<p><img src="{escape(filename)}" alt="{escape(alt)}"></p>'


def section(title: str, body: str, section_id: str) -> str:
    return f'<section id="{escape(section_id)}"><h2>{escape(title)}</h2>{body}</section>'


def bullets(sentences: list[str], list_id: str) -> str:
    if not sentences:
        return f'<p class="note" id="{escape(list_id)}">(no findings: nothing was timed)</p>'
    items = "".join(f"<li>{escape(s)}</li>" for s in sentences)
    return f'<ul class="findings" id="{escape(list_id)}">{items}</ul>'


def details(summary: str, body_html: str) -> str:
    """A collapsed block the reader opens (HTML's own <details>: no script)."""
    return f"<details><summary>{escape(summary)}</summary>{body_html}</details>"


def paragraph(text: str, css: str = "") -> str:
    return f'<p class="{escape(css)}">{escape(text)}</p>'


def page(title: str, subtitle: str, sections: list[str]) -> str:
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"note\">{escape(subtitle)} · generated {generated}</p>"
            f"{''.join(sections)}</body></html>")
