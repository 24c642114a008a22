"""Report which keys of which sections the reference Supervisor 4.2.5 reads
when it loads a configuration file, for config's vocabulary test.

Usage: /usr/bin/python3 refkeys.py FILE
Prints a JSON object: section name -> sorted list of the keys the
reference's ServerOptions (supervisord) and ClientOptions (supervisorctl)
looked up there, present or not. Nothing is started."""
import configparser
import json
import sys

from supervisor import options

asked = {}
plain_get = configparser.RawConfigParser.get


def recording_get(self, section, option, *args, **kwargs):
    asked.setdefault(section, set()).add(option.lower())
    return plain_get(self, section, option, *args, **kwargs)


configparser.RawConfigParser.get = recording_get


def fail(msg):
    raise SystemExit("usage: %s" % msg)


for opts in (options.ServerOptions(), options.ClientOptions()):
    opts.usage = fail
    opts.realize(args=["-c", sys.argv[1]])

json.dump({s: sorted(k) for s, k in asked.items()}, sys.stdout, indent=1, sort_keys=True)
