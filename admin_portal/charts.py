"""Server-rendered charts for portal pages: matplotlib's SVG backend, inlined in the HTML (no script, no CDN).

``chart_svg(labels, bars=..., lines=...)`` draws grouped bars and lines over a row of category labels (periods)
and returns the ``<svg>`` as Markup, ready for a template. matplotlib writes its colours and strokes as ``style``
attributes and one ``<style>`` element, which the portal's Content-Security-Policy (no inline style) would block
in the browser: ``csp_safe`` rewrites them as SVG presentation attributes, which the policy allows.
"""
import io
import math
import xml.etree.ElementTree as ET

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

# Colour-blind-safe palette (Okabe-Ito), in the order series are given.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MAX_TICK_LABELS = 12


def _figure(width, height):
    # matplotlib is imported on the first chart only: most processes (API workers, jobs) never draw one. The
    # Figure API with its own SVG canvas keeps no global state (pyplot would), so threads can draw at once.
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(figure)
    return figure


def chart_svg(labels, bars=None, lines=None, title="", ylabel="", width=9.0, height=3.4):
    """Grouped bars (``bars``: {series name: values}) and lines (``lines``: {series name: values}) over ``labels``,
    one value per label, as an inline, CSP-safe ``<svg>`` with ``title`` as its accessible name."""
    bars, lines = dict(bars or {}), dict(lines or {})
    figure = _figure(width, height)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    bar_width = 0.8 / max(len(bars), 1)
    colours = iter(PALETTE * 2)
    for index, (name, values) in enumerate(bars.items()):
        offset = (index - (len(bars) - 1) / 2) * bar_width
        axes.bar([p + offset for p in positions], list(values), bar_width, label=name, color=next(colours))
    for name, values in lines.items():
        axes.plot(positions, list(values), label=name, color=next(colours), linewidth=1.8, marker="o",
                  markersize=3)
    step = max(1, math.ceil(len(labels) / MAX_TICK_LABELS))
    axes.set_xticks(positions[::step], [str(label) for label in labels][::step], rotation=30, ha="right",
                    fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.set_ylabel(ylabel, fontsize=9)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if bars or lines:
        axes.legend(fontsize=8, frameon=False, ncols=min(len(bars) + len(lines), 5), loc="upper left")
    if title:
        axes.set_title(title, fontsize=10, loc="left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return csp_safe(buffer.getvalue(), title)


def _declarations(style):
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() and value.strip():
            yield name.strip(), value.strip()


def csp_safe(svg, title=""):
    """matplotlib's SVG without inline CSS: ``style="a: b"`` → ``a="b"``, the global ``<style>`` rule onto the
    root (its properties inherit), metadata and the XML prolog dropped; scalable (width 100%, its viewBox kept),
    with ``role="img"`` and a ``<title>``."""
    root = ET.fromstring(svg)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG_NS}}}metadata", f"{{{SVG_NS}}}style"):
                if child.tag == f"{{{SVG_NS}}}style":
                    rule = (child.text or "").partition("{")[2].rpartition("}")[0]
                    for name, value in _declarations(rule):
                        root.set(name, value)
                parent.remove(child)
    for element in root.iter():
        style = element.attrib.pop("style", None)
        if style:
            for name, value in _declarations(style):
                element.set(name, value)
    root.attrib.pop("height", None)
    root.set("width", "100%")
    root.set("role", "img")
    if title:
        root.set("aria-label", title)
        heading = ET.Element(f"{{{SVG_NS}}}title")
        heading.text = title
        root.insert(0, heading)
    return Markup(ET.tostring(root, encoding="unicode"))
