"""A supervised program for tests. Usage: prog.py SECONDS CODE [TEXT]
Writes TEXT (if any) to stdout, sleeps SECONDS, exits with CODE."""
import sys
import time

if len(sys.argv) > 3:
    sys.stdout.write(sys.argv[3])
    sys.stdout.flush()
time.sleep(float(sys.argv[1]))
sys.exit(int(sys.argv[2]))
