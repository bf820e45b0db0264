"""What the report scripts share: the variant names and writing one marked section of
BENCHMARKS.md while keeping the rest of the file."""

NAMES = {
    "A": "native weighted_clusters 90/10 + header add",
    "B": "bluegreen-relay, typical config",
    "C": "B + health checks (1000 ms)",
    "D": "B + enforce_models + usage metering",
    "E": "no-op wasm filter",
    "F": "Lua filter, same split",
}

# The order every table leads with: what a user compares the filter with, then the filter.
LEAD = ["A", "F", "E", "B", "C", "D", "G"]


def lead_order(variants):
    """`variants` in LEAD order, any others (patched builds) after them as they came."""
    known = [v for v in LEAD if v in variants]
    return known + [v for v in variants if v not in LEAD]


def write_section(out, begin, end, section):
    """Replaces the text between `begin` and `end` in `out` (markers included in `section`);
    appends the section when the file or the markers are missing."""
    try:
        text = open(out, encoding="utf-8").read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
