"""Charts drawn server-side: SVG for pages and the PDF, PNG (Pillow) for email clients that block SVG.

Each chart takes plain points; the page shows the same numbers in a table next to it.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

INK, MUTED, LINE, BRAND = "#1f2933", "#52606d", "#d9e2ec", "#3b5bdb"
GROUP_COLOURS = {"promoter": "#2b8a3e", "passive": "#a66a00", "detractor": "#c92a2a"}


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None


def _scale(lo: float, hi: float, top: float, bottom: float):
    span = (hi - lo) or 1.0
    return lambda v: bottom - (v - lo) / span * (bottom - top)


def _range(points: Sequence[Point], floor: float | None, ceiling: float | None) -> tuple[float, float]:
    values = [v for p in points for v in (p.value, p.low, p.high) if v is not None]
    lo = min(values, default=0.0) if floor is None else floor
    hi = max(values, default=1.0) if ceiling is None else ceiling
    if floor is None and ceiling is None and values:
        pad = (hi - lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    return lo, hi


def line_chart(points: Sequence[Point], *, title: str, width: int = 640, height: int = 220,
               floor: float | None = None, ceiling: float | None = None) -> SafeString:
    """A line with its 95% interval as a band; gaps where a bucket has no responses."""
    left, right, top, bottom = 44, width - 28, 14, height - 30
    lo, hi = _range(points, floor, ceiling)
    y = _scale(lo, hi, top, bottom)
    step = (right - left) / max(len(points) - 1, 1)
    x = [left + i * step for i in range(len(points))]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(title)}" class="chart" font-family="sans-serif" font-size="11">',
           f"<title>{escape(title)}</title>"]
    for tick in _ticks(lo, hi):
        out.append(f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{LINE}"/>'
                   f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="{MUTED}">{tick:g}</text>')
    band_top = [(x[i], y(p.high)) for i, p in enumerate(points) if p.high is not None and p.value is not None]
    band_bottom = [(x[i], y(p.low)) for i, p in enumerate(points) if p.low is not None and p.value is not None]
    if len(band_top) > 1:
        poly = " ".join(f"{a:.1f},{b:.1f}" for a, b in band_top + band_bottom[::-1])
        out.append(f'<polygon points="{poly}" fill="{BRAND}" fill-opacity="0.15"/>')
    segment: list[str] = []
    for i, p in enumerate(points):
        if p.value is None:
            if len(segment) > 1:
                out.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{BRAND}" stroke-width="2"/>')
            segment = []
            continue
        segment.append(f"{x[i]:.1f},{y(p.value):.1f}")
        out.append(f'<circle cx="{x[i]:.1f}" cy="{y(p.value):.1f}" r="3" fill="{BRAND}">'
                   f"<title>{escape(p.label)}: {p.value:.1f}</title></circle>")
    if len(segment) > 1:
        out.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{BRAND}" stroke-width="2"/>')
    every = max(1, len(points) // 8)
    for i, p in enumerate(points):
        if i % every == 0:
            out.append(f'<text x="{x[i]:.1f}" y="{height - 10}" text-anchor="middle" fill="{MUTED}">'
                       f"{escape(p.label)}</text>")
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every dynamic text above is escaped


def bar_chart(bars: Sequence[tuple[str, float, str]], *, title: str, width: int = 640, height: int = 200,
              unit: str = "") -> SafeString:
    """Vertical bars: (label, value, colour). Negative values hang below a zero line."""
    left, right, top, bottom = 44, width - 28, 14, height - 30
    values = [v for _, v, _ in bars] or [0]
    lo, hi = min(0.0, min(values)), max(0.0, max(values)) or 1.0
    y = _scale(lo, hi, top, bottom)
    slot = (right - left) / max(len(bars), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(title)}" class="chart" font-family="sans-serif" font-size="11">',
           f"<title>{escape(title)}</title>",
           f'<line x1="{left}" x2="{right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="{MUTED}"/>']
    for i, (label, value, colour) in enumerate(bars):
        x0 = left + i * slot + slot * 0.15
        y0, y1 = sorted((y(0), y(value)))
        out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{slot * 0.7:.1f}" height="{max(y1 - y0, 0.5):.1f}" '
                   f'fill="{colour}"><title>{escape(label)}: {value:g}{unit}</title></rect>')
        out.append(f'<text x="{x0 + slot * 0.35:.1f}" y="{height - 10}" text-anchor="middle" fill="{MUTED}">'
                   f"{escape(label[:14])}</text>")
        out.append(f'<text x="{x0 + slot * 0.35:.1f}" y="{max(y0 - 3, 10):.1f}" text-anchor="middle" '
                   f'fill="{INK}">{value:g}{escape(unit)}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - labels are escaped


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    raw = (hi - lo) / n
    if raw <= 0:
        return [lo]
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    step = max(round(raw / magnitude) * magnitude, magnitude)
    first = (lo // step + 1) * step
    ticks, v = [], first
    while v < hi:
        ticks.append(round(v, 6))
        v += step
    return ticks


def line_chart_png(points: Sequence[Point], *, width: int = 640, height: int = 220,
                   floor: float | None = None, ceiling: float | None = None) -> bytes:
    """The same line chart as a PNG (Pillow), for email bodies."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 44, width - 28, 14, height - 30
    lo, hi = _range(points, floor, ceiling)
    y = _scale(lo, hi, top, bottom)
    step = (right - left) / max(len(points) - 1, 1)
    for tick in _ticks(lo, hi):
        draw.line([(left, y(tick)), (right, y(tick))], fill=LINE)
        draw.text((4, y(tick) - 6), f"{tick:g}", fill=MUTED)
    band = [(left + i * step, y(p.high)) for i, p in enumerate(points) if p.high is not None]
    band += [(left + i * step, y(p.low)) for i, p in reversed(list(enumerate(points))) if p.low is not None]
    if len(band) > 2:
        draw.polygon(band, fill="#dbe4ff")
    previous = None
    for i, p in enumerate(points):
        if p.value is None:
            previous = None
            continue
        here = (left + i * step, y(p.value))
        if previous:
            draw.line([previous, here], fill=BRAND, width=2)
        draw.ellipse([here[0] - 3, here[1] - 3, here[0] + 3, here[1] + 3], fill=BRAND)
        previous = here
    every = max(1, len(points) // 8)
    for i, p in enumerate(points):
        if i % every == 0:
            draw.text((left + i * step - 14, height - 20), p.label, fill=MUTED)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def svg_data_uri(svg: str) -> str:
    """An <img src> for an SVG (the PDF renders it through WeasyPrint)."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
