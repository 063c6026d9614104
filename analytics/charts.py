"""Charts as server-side SVG: no script to load or allow in the CSP, readable by screen readers
(role="img" with a title and a description, each value in a <title> tooltip), and printable.
Every chart sits beside a table of the same figures in the dashboard."""

from __future__ import annotations

from uuid import uuid4

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 200


def bar_chart(rows: list[tuple[str, float]], *, title: str, unit: str = "") -> SafeString:
    """Horizontal bars, longest first as given."""
    if not rows:
        return format_html('<p class="muted">{}: nothing yet.</p>', title)
    top = max(value for _, value in rows) or 1
    height = BAR_HEIGHT * len(rows) + 10
    parts = []
    for i, (label, value) in enumerate(rows):
        y = 5 + i * BAR_HEIGHT
        length = (WIDTH - LABEL_WIDTH - 60) * value / top
        parts.append(
            f"<g><title>{escape(label)}: {value:g}{unit}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(label[:32])}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR_HEIGHT - 6}" '
            'class="bar"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">{value:g}{unit}</text></g>'
        )
    return _svg(title, f"{len(rows)} bars", height, "".join(parts))


def line_chart(
    x_labels: list[str], series: dict[str, list[float]], *, title: str, unit: str = ""
) -> SafeString:
    """One line per series over the same x labels (days)."""
    if not x_labels:
        return format_html('<p class="muted">{}: nothing yet.</p>', title)
    height, left, bottom = 220, 80, 30
    top_value = max((v for values in series.values() for v in values), default=1) or 1
    plot_w, plot_h = WIDTH - left - 20, height - bottom - 20
    step = plot_w / max(1, len(x_labels) - 1)

    def point(i: int, value: float) -> str:
        return f"{left + i * step:.1f},{20 + plot_h * (1 - value / top_value):.1f}"

    parts = [
        f'<line x1="{left}" y1="{20 + plot_h}" x2="{left + plot_w}" y2="{20 + plot_h}" '
        'class="axis"/>',
        f'<text x="{left - 6}" y="24" text-anchor="end">{top_value:g}{unit}</text>',
        f'<text x="{left - 6}" y="{20 + plot_h}" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(x_labels):
        if i in (0, len(x_labels) - 1) or len(x_labels) <= 8:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - 8}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    for n, (name, values) in enumerate(series.items()):
        points = " ".join(point(i, v) for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" class="line line-{n}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        for i, v in enumerate(values):
            x, y = point(i, v).split(",")
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" class="line-{n}">'
                f"<title>{escape(name)} {escape(x_labels[i])}: {v:g}{unit}</title></circle>"
            )
        parts.append(
            f'<text x="{left + 10 + n * 120}" y="12" class="legend line-{n}">{escape(name)}</text>'
        )
    return _svg(title, ", ".join(series), height, "".join(parts))


def _svg(title: str, description: str, height: int, body: str) -> SafeString:
    # Every text in `body` and here was escaped as it was written. The ids must be unique on the
    # page: a repeated id names a chart by another chart's title for a screen reader.
    chart = f"chart-{uuid4().hex[:12]}"
    return mark_safe(
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{chart}-t" aria-describedby="{chart}-d">'
        f'<title id="{chart}-t">{escape(title)}</title>'
        f'<desc id="{chart}-d">{escape(description)}</desc>{body}</svg>'
    )
