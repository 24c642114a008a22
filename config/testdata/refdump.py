"""Load configuration files with the reference Supervisor 4.2.5 and print
what it resolved, as JSON, for config's differential test.

Usage: /usr/bin/python3 refdump.py HOSTNAME FILE...
Prints one JSON array with one object per FILE. Nothing is started."""
import json
import os
import platform
import sys

from supervisor import datatypes, options
from supervisor.events import getEventNameByType

HOSTNAME = sys.argv[1]
platform.node = lambda: HOSTNAME


class Usage(Exception):
    pass


def raise_usage(msg):
    raise Usage(str(msg))


def logfile(value):
    if value is datatypes.Automatic:
        return "AUTO"
    if value is None:
        return "NONE"
    return value


def autorestart(value):
    if value is datatypes.RestartUnconditionally:
        return "true"
    if value is datatypes.RestartWhenExitUnexpected:
        return "unexpected"
    return "false"


def channel(p, ch):
    return {
        "file": logfile(getattr(p, ch + "_logfile")),
        "maxbytes": getattr(p, ch + "_logfile_maxbytes"),
        "backups": getattr(p, ch + "_logfile_backups"),
        "capture": getattr(p, ch + "_capture_maxbytes"),
        "events": bool(getattr(p, ch + "_events_enabled")),
        "syslog": bool(getattr(p, ch + "_syslog")),
    }


def process(p):
    return {
        "name": p.name,
        "command": p.command,
        "directory": p.directory,
        "umask": p.umask if p.umask is not None else -1,
        "priority": p.priority,
        "autostart": bool(p.autostart),
        "autorestart": autorestart(p.autorestart),
        "startsecs": p.startsecs,
        "startretries": p.startretries,
        "exitcodes": list(p.exitcodes),
        "stopsignal": int(p.stopsignal),
        "stopwaitsecs": p.stopwaitsecs,
        "stopasgroup": bool(p.stopasgroup),
        "killasgroup": bool(p.killasgroup),
        "uid": p.uid if p.uid is not None else -1,
        "redirect_stderr": bool(p.redirect_stderr),
        "stdout": channel(p, "stdout"),
        "stderr": channel(p, "stderr"),
        "environment": sorted([k, v] for k, v in p.environment.items()),
        "serverurl": "AUTO" if p.serverurl is None else p.serverurl,
    }


def group(g):
    out = {"name": g.name, "priority": g.priority,
           "processes": [process(p) for p in g.process_configs]}
    kind = type(g).__name__
    out["kind"] = kind
    if kind == "EventListenerPoolConfig":
        out["buffer_size"] = g.buffer_size
        out["events"] = sorted(getEventNameByType(e) for e in g.pool_events)
    if kind == "FastCGIGroupConfig":
        s = g.socket_config
        owner = getattr(s, "owner", None)
        out["socket"] = {
            "url": s.url,
            "backlog": s.backlog if s.backlog is not None else -1,
            "owner": list(owner) if owner is not None else [-1, -1],
            "mode": getattr(s, "mode", None) if getattr(s, "mode", None) is not None else -1,
        }
    return out


def server(path):
    o = options.ServerOptions()
    o.usage = raise_usage
    try:
        o.realize(args=["-c", path])
    except Usage as e:
        return {"error": str(e)}
    sup = {
        "logfile": o.logfile,
        "logfile_maxbytes": o.logfile_maxbytes,
        "logfile_backups": o.logfile_backups,
        "loglevel": o.loglevel,
        "pidfile": o.pidfile,
        "umask": o.umask,
        "nodaemon": bool(o.nodaemon),
        "silent": bool(o.silent),
        "minfds": o.minfds,
        "minprocs": o.minprocs,
        "nocleanup": bool(o.nocleanup),
        "childlogdir": os.path.normpath(os.path.abspath(o.childlogdir)),
        "user": o.user if o.user is not None else "",
        "uid": o.uid if o.uid is not None else -1,
        "gid": o.gid if o.gid is not None else -1,
        "directory": o.directory if o.directory is not None else "",
        "strip_ansi": bool(o.strip_ansi),
        "identifier": o.identifier,
        "environment": [[k, v] for k, v in
                        o.configroot.supervisord.environment.items()],
    }
    servers = {"inet": [], "unix": []}
    for c in o.server_configs:
        if "port" in c:
            servers["inet"].append({"section": c["section"], "host": c["host"], "port": c["port"],
                                    "username": c["username"] or "", "password": c["password"] or ""})
        else:
            servers["unix"].append({"section": c["section"], "file": c["file"], "chmod": c["chmod"],
                                    "chown": list(c["chown"]),
                                    "username": c["username"] or "", "password": c["password"] or ""})
    return {
        "supervisord": sup,
        "serverurl": o.serverurl or "",
        "inet": servers["inet"],
        "unix": servers["unix"],
        "rpc": [[name, "%s:%s" % (f.__module__, f.__name__), extras]
                for name, f, extras in o.rpcinterface_factories],
        "groups": [group(g) for g in o.process_group_configs],
        "messages": [["WARN", m] for m in o.parse_warnings] + [["INFO", m] for m in o.parse_infos],
    }


def ctl(path):
    o = options.ClientOptions()
    o.usage = raise_usage
    try:
        o.realize(args=["-c", path])
    except Usage as e:
        return {"error": str(e)}
    except Exception as e:  # e.g. ParsingError, which supervisorctl does not catch
        return {"error": str(e)}
    return {"serverurl": o.serverurl, "username": o.username or "", "password": o.password or "",
            "prompt": o.prompt, "history_file": o.history_file or ""}


def main():
    out = []
    for path in sys.argv[2:]:
        try:
            s = server(path)
        except Exception as e:
            s = {"error": "EXCEPTION %s: %s" % (type(e).__name__, e)}
        out.append({"path": path, "server": s, "ctl": ctl(path)})
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


main()
