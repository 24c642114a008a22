"""Parse INI texts (a JSON list on stdin) with the reference's
UnhosedConfigParser and print, as JSON, each one's sections and values or
its error text.  Usage: /usr/bin/python3 refini.py < texts.json"""
import io
import json
import sys

from supervisor.options import UnhosedConfigParser

out = []
for text in json.load(sys.stdin):
    parser = UnhosedConfigParser()
    fp = io.StringIO(text, newline=None)  # universal newlines, as open() reads files
    fp.name = "t.conf"
    try:
        parser.read_file(fp)
    except Exception as e:
        out.append({"error": str(e)})
        continue
    sections = [[s, [[k, v] for k, v in parser._sections[s].items()]] for s in parser.sections()]
    defaults = [[k, v] for k, v in parser._defaults.items()]
    out.append({"sections": sections, "defaults": defaults})
json.dump(out, sys.stdout)
