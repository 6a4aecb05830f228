"""Plot a concurrency sweep as an SVG for BENCHMARKS.md.

Reads a JSON-lines file in which each line holds one run, e.g.
{"scenario": "cas", "backend": "postgresql", "clients": 16,
 "per_second": 1234.5, "p99_ms": 12.3}, and draws throughput and p99
latency against the number of concurrent clients, one line per
scenario/backend pair.

Usage: python3 bench/plot.py SWEEP.jsonl OUT.svg [--title TEXT]
"""

import argparse
import json
import math
import sys
from xml.sax.saxutils import escape, quoteattr

WIDTH = 900
PANEL_WIDTH = WIDTH / 2
PLOT_LEFT_INSET = 80  # room for tick labels such as "120,000" and the axis title
PLOT_RIGHT_INSET = 22
PLOT_TOP = 70
PLOT_BOTTOM = 322
X_PADDING = 14  # keeps the end markers clear of the axes
LEGEND_TOP = 388
LEGEND_ROW_HEIGHT = 18
FONT = "Helvetica, Arial, sans-serif"
GRID_COLOUR = "#e3e3e3"
AXIS_COLOUR = "#555555"
TEXT_COLOUR = "#222222"
# Okabe-Ito, reordered so the first colours contrast best on white.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7",
           "#E69F00", "#56B4E9", "#000000", "#F0E442"]
MIN_X_LABEL_GAP = 18


def parse_arguments():
    parser = argparse.ArgumentParser(
        description="Plot throughput and p99 latency of a concurrency sweep as SVG.")
    parser.add_argument("sweep", metavar="SWEEP.jsonl", help="JSON-lines sweep results")
    parser.add_argument("output", metavar="OUT.svg", help="SVG file to write")
    parser.add_argument("--title", default="inventory-api under load",
                        help='overall title (default: "%(default)s")')
    return parser.parse_args()


def is_number(value):
    # bool is an int subclass, but true/false is never a measurement.
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def usable_run(record):
    """Return (scenario, backend, clients, per_second, p99_ms) or None."""
    if not isinstance(record, dict):
        return None
    scenario, backend = record.get("scenario"), record.get("backend")
    clients, per_second, p99 = (record.get("clients"), record.get("per_second"),
                                record.get("p99_ms"))
    if not (isinstance(scenario, str) and isinstance(backend, str)):
        return None
    if not all(is_number(v) for v in (clients, per_second, p99)):
        return None
    if clients <= 0 or per_second < 0 or p99 < 0:
        return None
    return scenario, backend, clients, float(per_second), float(p99)


def read_series(path):
    """Group usable lines into {(scenario, backend): {clients: (per_second, p99_ms)}}."""
    series = {}
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                run = usable_run(json.loads(line))
            except json.JSONDecodeError:
                run = None
            if run is None:
                print(f"{path}:{number}: skipping unusable line", file=sys.stderr)
                continue
            scenario, backend, clients, per_second, p99 = run
            points = series.setdefault((scenario, backend), {})
            if clients in points:
                print(f"{path}:{number}: repeated {scenario} · {backend} at "
                      f"{clients} clients; the later line wins", file=sys.stderr)
            points[clients] = (per_second, p99)
    return series


def nice_ticks(maximum):
    """Ticks from 0 in 1, 2 or 5 x 10^k steps: the smallest step giving at most
    five intervals, which always yields four to six ticks."""
    if maximum <= 0:
        maximum = 1.0
    exponent = math.floor(math.log10(maximum / 5))
    for power in (exponent, exponent + 1):
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0 ** power
            intervals = math.ceil(maximum / step - 1e-9)
            if intervals <= 5:
                return [i * step for i in range(intervals + 1)], step
    raise AssertionError("unreachable: a step of 10^(k+1) always fits")


def tick_label(value, step):
    decimals = max(0, -math.floor(math.log10(step)))
    return f"{value:,.{decimals}f}"


def format_client_count(clients):
    return f"{clients:g}" if isinstance(clients, float) else str(clients)


def fmt(number):
    """Coordinates rounded so output is compact and reproducible."""
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text_element(x, y, content, size=11, anchor="middle", weight=None, extra=""):
    weight_attr = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{fmt(x)}" y="{fmt(y)}" font-size="{size}" '
            f'text-anchor="{anchor}"{weight_attr}{extra}>{escape(content)}</text>')


def series_style(index, backend):
    colour = PALETTE[index % len(PALETTE)]
    dash = ' stroke-dasharray="6 4"' if "sqlite" in backend.lower() else ""
    return colour, dash


class LogTwoScale:
    """Maps client counts onto a log2 axis between two pixel positions."""

    def __init__(self, values, left, right):
        self.low = math.log2(min(values))
        self.high = math.log2(max(values))
        self.left, self.right = left + X_PADDING, right - X_PADDING

    def __call__(self, value):
        if self.high == self.low:
            return (self.left + self.right) / 2
        share = (math.log2(value) - self.low) / (self.high - self.low)
        return self.left + share * (self.right - self.left)


def draw_panel(index, title, axis_title, metric, series, clients):
    left = index * PANEL_WIDTH + PLOT_LEFT_INSET
    right = (index + 1) * PANEL_WIDTH - PLOT_RIGHT_INSET
    x_of = LogTwoScale(clients, left, right)
    maximum = max(points[c][metric] for points in series.values() for c in points)
    ticks, step = nice_ticks(maximum)
    top_value = ticks[-1]

    def y_of(value):
        return PLOT_BOTTOM - value / top_value * (PLOT_BOTTOM - PLOT_TOP)

    parts = [f'<g class="panel">']
    parts.append(text_element((left + right) / 2, PLOT_TOP - 14, title,
                              size=14, weight="bold"))
    parts.append(f'<g stroke="{GRID_COLOUR}" stroke-width="1">')
    for value in ticks[1:]:
        y = fmt(y_of(value))
        parts.append(f'<line x1="{fmt(left)}" y1="{y}" x2="{fmt(right)}" y2="{y}"/>')
    for count in clients:
        x = fmt(x_of(count))
        parts.append(f'<line x1="{x}" y1="{PLOT_TOP}" x2="{x}" y2="{PLOT_BOTTOM}"/>')
    parts.append("</g>")
    parts.append(f'<path d="M{fmt(left)} {PLOT_TOP}V{PLOT_BOTTOM}H{fmt(right)}" '
                 f'fill="none" stroke="{AXIS_COLOUR}" stroke-width="1"/>')

    for value in ticks:
        parts.append(text_element(left - 7, y_of(value) + 4, tick_label(value, step),
                                  anchor="end"))
    last_label_x = -math.inf
    for count in clients:
        x = x_of(count)
        # Non-power-of-two counts can crowd together; keep the labels legible.
        if x - last_label_x < MIN_X_LABEL_GAP:
            continue
        parts.append(text_element(x, PLOT_BOTTOM + 16, format_client_count(count)))
        last_label_x = x

    parts.append(text_element((left + right) / 2, PLOT_BOTTOM + 36, "concurrent clients",
                              size=12))
    title_x, title_y = left - 62, (PLOT_TOP + PLOT_BOTTOM) / 2
    parts.append(text_element(title_x, title_y, axis_title, size=12,
                              extra=f' transform="rotate(-90 {fmt(title_x)} {fmt(title_y)})"'))

    for number, (key, points) in enumerate(series.items()):
        colour, dash = series_style(number, key[1])
        coordinates = " ".join(f"{fmt(x_of(c))},{fmt(y_of(points[c][metric]))}"
                               for c in sorted(points))
        parts.append(f'<polyline points="{coordinates}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" stroke-linejoin="round"{dash}/>')
        parts.append(f'<g fill="{colour}" stroke="#ffffff" stroke-width="1">')
        for c in sorted(points):
            parts.append(f'<circle cx="{fmt(x_of(c))}" cy="{fmt(y_of(points[c][metric]))}" '
                         f'r="3.5"/>')
        parts.append("</g>")
    parts.append("</g>")
    return parts


def series_name(key):
    return f"{key[0]} · {key[1]}"


def estimated_text_width(text, size=12):
    # Without font metrics, an average glyph is a little over half the font size.
    return len(text) * size * 0.58


def legend_rows(series):
    """Split legend entries into rows that fit the width, as (name, width) lists."""
    rows, row, row_width = [], [], 0.0
    for key in series:
        name = series_name(key)
        width = 34 + estimated_text_width(name) + 26
        if row and row_width + width > WIDTH - 40:
            rows.append(row)
            row, row_width = [], 0.0
        row.append((key, width))
        row_width += width
    rows.append(row)
    return rows


def draw_legend(series, rows):
    order = {key: number for number, key in enumerate(series)}
    parts = ['<g class="legend">']
    for row_number, row in enumerate(rows):
        y = LEGEND_TOP + row_number * LEGEND_ROW_HEIGHT
        x = (WIDTH - sum(width for _, width in row)) / 2
        for key, width in row:
            colour, dash = series_style(order[key], key[1])
            parts.append(f'<line x1="{fmt(x)}" y1="{fmt(y)}" x2="{fmt(x + 28)}" '
                         f'y2="{fmt(y)}" stroke="{colour}" stroke-width="2"{dash}/>')
            parts.append(f'<circle cx="{fmt(x + 14)}" cy="{fmt(y)}" r="3.5" '
                         f'fill="{colour}" stroke="#ffffff" stroke-width="1"/>')
            parts.append(text_element(x + 34, y + 4, series_name(key), size=12,
                                      anchor="start"))
            x += width
    parts.append("</g>")
    return parts


def render_svg(series, title):
    clients = sorted({c for points in series.values() for c in points})
    rows = legend_rows(series)
    height = LEGEND_TOP + (len(rows) - 1) * LEGEND_ROW_HEIGHT + 32
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family={quoteattr(FONT)} '
        f'fill="{TEXT_COLOUR}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        text_element(WIDTH / 2, 28, title, size=17, weight="bold"),
    ]
    parts += draw_panel(0, "Throughput", "requests per second", 0, series, clients)
    parts += draw_panel(1, "p99 latency", "p99 latency (ms)", 1, series, clients)
    parts += draw_legend(series, rows)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    arguments = parse_arguments()
    try:
        series = read_series(arguments.sweep)
    except OSError as error:
        sys.exit(f"cannot read {arguments.sweep}: {error.strerror}")
    if not series:
        sys.exit(f"{arguments.sweep}: no usable lines (each needs scenario, backend, "
                 "clients, per_second and p99_ms)")
    # Sorted so colours do not depend on the order the sweep ran in.
    series = dict(sorted(series.items()))
    svg = render_svg(series, arguments.title)
    with open(arguments.output, "w", encoding="utf-8", newline="\n") as output:
        output.write(svg)


if __name__ == "__main__":
    main()
