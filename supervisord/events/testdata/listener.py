"""A superlance-style event listener for tests, written with the Debian
package's supervisor.childutils. Usage: listener.py OUT MODE

Every event received is appended to OUT as one JSON line. MODE:
  ok         answer OK to every event
  failfirst  answer FAIL to the first event, OK afterwards
  exitfirst  the first instance (no OUT.died marker yet) exits without
             answering its first event; later instances answer OK
  stuck      never answer the first event
  rpc        like ok, but first ask supervisord (through childutils and
             SUPERVISOR_SERVER_URL, while BUSY) for this process's state,
             written down as "rpc"
  gated      like ok, but say READY the first time only once OUT.go
             exists (so that events queue up before)
"""
import json
import os
import sys
import time

from supervisor import childutils

out, mode = sys.argv[1], sys.argv[2]
marker = out + ".died"
count = 0
if mode == "gated":
    while not os.path.exists(out + ".go"):
        time.sleep(0.02)
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    count += 1
    rec = {"headers": headers, "payload": payload, "pid": os.getpid()}
    if mode == "rpc":
        rpc = childutils.getRPCInterface(os.environ)
        rec["rpc"] = rpc.supervisor.getProcessInfo(os.environ["SUPERVISOR_PROCESS_NAME"])["statename"]
    with open(out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    if mode == "failfirst" and count == 1:
        childutils.listener.fail(sys.stdout)
    elif mode == "exitfirst" and count == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        sys.exit(3)
    elif mode == "stuck":
        while True:
            time.sleep(3600)
    else:
        childutils.listener.ok(sys.stdout)
