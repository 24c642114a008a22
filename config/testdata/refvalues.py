"""Evaluate the reference's value parsers on inputs read as JSON from stdin
([[kind, input], ...]) and print [[ok, result-or-error], ...] as JSON.
Usage: /usr/bin/python3 refvalues.py < cases.json"""
import json
import shlex
import sys

from supervisor import datatypes, options


def fmt(value):
    # The expansions every test case may use.
    return options.expand(value, {"here": "/h", "program_name": "prog", "process_num": 7,
                                  "numprocs": 12, "ENV_X": "x y"}, "sec.key")


def kv(value):
    return sorted(datatypes.dict_of_key_value_pairs(value).items())


def searchpaths(argv0):
    saved = sys.argv[0]
    sys.argv[0] = argv0
    try:
        return options.ServerOptions().searchpaths
    finally:
        sys.argv[0] = saved


KINDS = {
    "searchpaths": searchpaths,
    "bool": datatypes.boolean,
    "int": datatypes.integer,
    "bytes": datatypes.byte_size,
    "octal": datatypes.octal_type,
    "signal": datatypes.signal_number,
    "exitcodes": datatypes.list_of_exitcodes,
    "autorestart": lambda v: {datatypes.RestartUnconditionally: "true",
                              datatypes.RestartWhenExitUnexpected: "unexpected",
                              False: "false"}[datatypes.auto_restart(v)],
    "kv": kv,
    "split": shlex.split,
    "inet": lambda v: list(datatypes.inet_address(v)),
    "loglevel": datatypes.logging_level,
    "name": datatypes.process_or_group_name,
    "format": fmt,
    "signame": lambda v: options.signame(int(v)),
}

out = []
for kind, value in json.load(sys.stdin):
    try:
        out.append([True, KINDS[kind](value)])
    except Exception as e:
        out.append([False, str(e)])
json.dump(out, sys.stdout)
