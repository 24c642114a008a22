# Runs the stock supervisorctl (supervisor.supervisorctl.main, what
# /usr/bin/supervisorctl calls) once per input line, in one interpreter so
# that a long sequence does not pay Python's start-up per command. Each
# input line is a JSON array of arguments; each output line is a JSON
# object {stdout, stderr, code}. Run with /usr/bin/python3.
import io
import json
import sys

# Usage texts name the program as the stock script does.
sys.argv[0] = '/usr/bin/supervisorctl'

from supervisor import options, supervisorctl  # noqa: E402

real_stdout = sys.stdout


def run(args):
    out = io.TextIOWrapper(io.BytesIO(), encoding='utf-8', write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding='utf-8', write_through=True)
    # Options binds the streams as class attributes at import.
    sys.stdout, sys.stderr = out, err
    options.Options.stdout, options.Options.stderr = out, err
    code = 0
    try:
        supervisorctl.main(args)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.stdout, sys.stderr = real_stdout, sys.__stderr__
    return {'stdout': out.buffer.getvalue().decode('utf-8', 'replace'),
            'stderr': err.buffer.getvalue().decode('utf-8', 'replace'),
            'code': code}


for line in sys.stdin:
    result = run(json.loads(line))
    real_stdout.write(json.dumps(result) + '\n')
    real_stdout.flush()
