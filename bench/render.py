#!/usr/bin/env python3
"""Renders an Envoy template: replaces each {{NAME}} token (upper case, digits, _).

usage: render.py TEMPLATE OUT NAME=value... NAME@=file.json
  NAME=value     the value as is
  NAME@=file     the file's JSON, compacted, as a JSON string literal (also a valid YAML
                 double-quoted scalar): what envoy/README.md says FILTER_CONFIG holds
  NAME<=file     the file's text as is (e.g. BODY_STAGE<=envoy/templates/parts/body-stage.yaml)
A token without a value is an error, as in tools/stack.
"""
import json
import re
import sys


def main():
    template, out, *pairs = sys.argv[1:]
    values = {}
    for pair in pairs:
        if "<=" in pair:
            name, path = pair.split("<=", 1)
            with open(path, encoding="utf-8") as f:
                values[name] = f.read()
        elif "@=" in pair:
            name, path = pair.split("@=", 1)
            with open(path, encoding="utf-8") as f:
                compact = json.dumps(json.load(f), separators=(",", ":"))
            values[name] = json.dumps(compact)
        else:
            name, value = pair.split("=", 1)
            values[name] = value
    with open(template, encoding="utf-8") as f:
        text = f.read()

    def sub(match):
        name = match.group(1)
        if name not in values:
            sys.exit(f"render.py: {template}: token {{{{{name}}}}} has no value")
        return values[name]

    with open(out, "w", encoding="utf-8") as f:
        f.write(re.sub(r"\{\{([A-Z0-9_]+)\}\}", sub, text))


if __name__ == "__main__":
    main()
