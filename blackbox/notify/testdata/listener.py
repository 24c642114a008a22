"""An event listener written as superlance's are (supervisor.childutils):
each event's name and payload (newlines as "|") go to the file named by
argv[1], one line per event."""
import sys

from supervisor import childutils

with open(sys.argv[1], "a") as out:
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        out.write(headers["eventname"] + " " + payload.replace("\n", "|") + "\n")
        out.flush()
        childutils.listener.ok(sys.stdout)
