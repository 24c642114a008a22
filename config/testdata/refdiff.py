"""Print, as JSON, what the reference's reloadConfig would report between
pairs of configuration files: [[added, changed, removed], ...] (sorted
names), computed as supervisord.diff_to_active does when the old file's
groups are the active ones.

Usage: /usr/bin/python3 refdiff.py HOSTNAME OLD NEW [OLD NEW ...]"""
import json
import platform
import sys

from supervisor import options

platform.node = lambda: sys.argv[1]


def groups(path):
    o = options.ServerOptions()

    def usage(msg):
        raise SystemExit("cannot load %s: %s" % (path, msg))
    o.usage = usage
    o.realize(args=["-c", path])
    return o.process_group_configs


out = []
args = sys.argv[2:]
for old_path, new_path in zip(args[::2], args[1::2]):
    cur, new = groups(old_path), groups(new_path)
    curdict = dict((g.name, g) for g in cur)
    newdict = dict((g.name, g) for g in new)
    added = [g.name for g in new if g.name not in curdict]
    changed = [g.name for g in new if g != curdict.get(g.name, g)]
    removed = [g.name for g in cur if g.name not in newdict]
    out.append([sorted(added), sorted(changed), sorted(removed)])
json.dump(out, sys.stdout)
