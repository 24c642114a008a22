"""A supervised program for tests. Usage: prog.py SECONDS CODE [TEXT]
Writes TEXT (if any, backslash escapes decoded) to stdout in one write,
sleeps SECONDS, exits with CODE."""
import codecs
import sys
import time

if len(sys.argv) > 3:
    sys.stdout.write(codecs.decode(sys.argv[3], "unicode_escape"))
    sys.stdout.flush()
time.sleep(float(sys.argv[1]))
sys.exit(int(sys.argv[2]))
