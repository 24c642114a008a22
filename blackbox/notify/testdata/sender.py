"""A supervised program that reports to $NOTIFY_SOCKET the way real
programs do. Usage: sender.py KIND STEP...

KIND is how it sends:
  connect   one socket, connect()ed once at start, then sendall() per
            message (the Python sdnotify package's way)
  sendto    a new socket and one sendto() per message (libsystemd's way,
            written with the standard library)
  libsystemd  sd_notify(0, msg) from libsystemd.so.0 through ctypes
  cli FILE  each STEP is an argument of one /usr/bin/systemd-notify run;
            its exit status and duration in seconds go to FILE

Each STEP is a message, with "|" for its newlines ("READY=1|STATUS=up"),
or "sleep:SECONDS", or "ping:SECONDS:COUNT" (COUNT WATCHDOG=1 messages
SECONDS apart; COUNT -1 = for ever), or "raw-long" (a datagram of 5000
bytes), or "raw-nul" (a datagram with a NUL byte), or "env:FILE" (write
the NOTIFY_SOCKET and WATCHDOG_* variables to FILE), or "exit:N". After
the last step it sleeps until killed; it dies with its parent. Without
$NOTIFY_SOCKET (under the Python reference) it only sleeps.
"""
import ctypes
import os
import signal
import socket
import sys
import time

PR_SET_PDEATHSIG = 1
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

def idle():
    while True:
        time.sleep(3600)


addr = os.environ.get("NOTIFY_SOCKET")
if not addr:
    idle()
if addr.startswith("@"):
    addr = "\0" + addr[1:]
kind = sys.argv[1]

if kind == "cli":
    import subprocess
    start = time.monotonic()
    rc = subprocess.run(["/usr/bin/systemd-notify"] + sys.argv[3:]).returncode
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write("%d %.3f\n" % (rc, time.monotonic() - start))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    idle()

if kind == "connect":
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    conn.connect(addr)
    def send(data):
        conn.sendall(data)
elif kind == "sendto":
    def send(data):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(data, addr)
elif kind == "libsystemd":
    lib = ctypes.CDLL("libsystemd.so.0")
    lib.sd_notify.argtypes = [ctypes.c_int, ctypes.c_char_p]
    def send(data):
        r = lib.sd_notify(0, data)
        if r <= 0:
            print("sd_notify returned", r, file=sys.stderr, flush=True)
else:
    sys.exit("unknown kind " + kind)

for step in sys.argv[2:]:
    if step.startswith("sleep:"):
        time.sleep(float(step[6:]))
    elif step.startswith("ping:"):
        _, every, count = step.split(":")
        n = int(count)
        while n != 0:
            send(b"WATCHDOG=1")
            time.sleep(float(every))
            n -= 1
    elif step == "raw-long":
        send(b"STATUS=" + b"x" * 5000)
    elif step == "raw-nul":
        send(b"READY=1\0")
    elif step.startswith("env:"):
        with open(step[4:] + ".tmp", "w") as f:
            for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
                f.write("%s=%s\n" % (k, os.environ.get(k, "<unset>")))
        os.rename(step[4:] + ".tmp", step[4:])
    elif step.startswith("exit:"):
        sys.exit(int(step[5:]))
    else:
        send(step.replace("|", "\n").encode())
idle()
