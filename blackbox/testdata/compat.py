# Runs one scenario of compat_test.go against a supervisord with Python's
# xmlrpc.client and supervisor's transport, and prints a JSON transcript
# [[label, result], ...]. Run with /usr/bin/python3:
#
#   compat.py URL USER PASSWORD DIR SCENARIO
#
# Results are given as the client sees them: a value, {"fault": code,
# "string": text} or {"http": status}. DIR is replaced by "DIR".
import datetime
import io
import json
import os
import shutil
import sys
import time
import xmlrpc.client as xc

from supervisor.xmlrpc import SupervisorTransport

URL, USER, PASSWORD, DIR, SCENARIO = sys.argv[1:6]


def proxy():
    return xc.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(USER, PASSWORD, URL),
                          allow_none=True)


P = proxy()
transcript = []


def norm(v):
    if isinstance(v, str):
        return v.replace(DIR, 'DIR')
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def outcome(method, *args):
    try:
        return norm(getattr(P, method)(*args))
    except xc.Fault as e:
        return {'fault': e.faultCode, 'string': norm(e.faultString)}
    except xc.ProtocolError as e:
        return {'http': e.errcode}


def rec(label, method, *args, post=None):
    result = outcome(method, *args)
    if post:
        result = post(result)
    transcript.append([label, result])
    return result


def states():
    return {i['group'] + ':' + i['name']: i['statename'] for i in P.supervisor.getAllProcessInfo()}


def wait(pred, what, timeout=20):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise SystemExit('timed out waiting for %s (states %r)' % (what, states()))
        time.sleep(0.05)


def wait_ready():
    """Wait until every running helper has set up its signal handling
    (it then creates ready.<pid> in DIR): a signal before that kills it."""
    def ok():
        for i in P.supervisor.getAllProcessInfo():
            if i['statename'] == 'STARTING':
                return False
            if i['statename'] == 'RUNNING' and not os.path.exists(os.path.join(DIR, 'ready.%d' % i['pid'])):
                return False
        return True
    wait(ok, 'the running helpers ready')


def results(r):
    """A multi-process result as (group:name, status, description)."""
    if isinstance(r, list):
        return [[x['group'] + ':' + x['name'], x['status'], x['description']] for x in r]
    return r


def order():
    """Item 2 of issue 12: the order of multi-process results. Every
    program has startsecs=0, so each start is done at once (no result
    waits on a timer): the order is the reference's make_allfunc order,
    not timing."""
    wait(lambda: states()['cat:cat'] == 'RUNNING', 'cat RUNNING')
    # Re-added at run time: it goes after the groups of its priority.
    rec('removeProcessGroup alpha', 'supervisor.removeProcessGroup', 'alpha')
    rec('addProcessGroup alpha', 'supervisor.addProcessGroup', 'alpha')
    rec('startAllProcesses', 'supervisor.startAllProcesses', True, post=results)
    wait_ready()
    rec('signalAllProcesses', 'supervisor.signalAllProcesses', 'USR1', post=results)
    rec('signalProcessGroup web', 'supervisor.signalProcessGroup', 'web', 'USR1', post=results)
    rec('clearAllProcessLogs', 'supervisor.clearAllProcessLogs', post=results)
    rec('stopProcessGroup web nowait', 'supervisor.stopProcessGroup', 'web', False, post=results)
    wait(lambda: states()['web:w1'] == 'STOPPED' and states()['web:w2'] == 'STOPPED', 'web stopped')
    rec('startProcessGroup web', 'supervisor.startProcessGroup', 'web', True, post=results)
    wait_ready()
    rec('stopAllProcesses nowait', 'supervisor.stopAllProcesses', False, post=results)
    wait(lambda: all(s in ('STOPPED', 'EXITED', 'FATAL') for s in states().values()), 'all stopped')
    rec('startAllProcesses nowait', 'supervisor.startAllProcesses', False, post=results)


# Values of every XML-RPC type, as Python's client sends them.
VALUES = [
    ('int', 5), ('negative int', -3), ('string', 'x'), ('numeric string', '7'), ('empty string', ''),
    ('boolean', True), ('false', False), ('double', 1.5), ('array', [1, 'a']), ('empty array', []),
    ('struct', {'a': 1}), ('base64', xc.Binary(b'12')), ('dateTime', xc.DateTime(datetime.datetime(2020, 1, 2, 3, 4, 5))),
    ('nil', None),
]

# Each method with parameters, and arguments that pass its checks, so
# that a substituted value meets only the check of its own position.
# "off" is a stopped program whose command does not exist: no call here
# changes any state.
METHODS = [
    ('supervisor.readLog', [0, 1]),
    ('supervisor.readMainLog', [0, 1]),
    ('supervisor.readProcessStdoutLog', ['off', 0, 3]),
    ('supervisor.readProcessLog', ['off', 0, 3]),
    ('supervisor.readProcessStderrLog', ['off', 1, 2]),
    ('supervisor.tailProcessStdoutLog', ['off', 0, 3]),
    ('supervisor.tailProcessLog', ['off', 0, 3]),
    ('supervisor.tailProcessStderrLog', ['off', 1, 2]),
    ('supervisor.tailProcessStdoutLog', ['nolog', 0, 3]),
    ('supervisor.readProcessStdoutLog', ['nolog', 0, 3]),
    ('supervisor.addProcessGroup', ['nosuch']),
    ('supervisor.removeProcessGroup', ['nosuch']),
    ('supervisor.startProcess', ['off', True]),
    ('supervisor.startProcess', ['nosuch:*', True]),
    ('supervisor.startProcessGroup', ['off', True]),
    ('supervisor.startAllProcesses', [True]),
    ('supervisor.stopProcess', ['off', True]),
    ('supervisor.stopProcessGroup', ['off', True]),
    ('supervisor.stopAllProcesses', [True]),
    ('supervisor.signalProcess', ['off', 'HUP']),
    ('supervisor.signalProcess', ['nosuch', 'HUP']),
    ('supervisor.signalProcessGroup', ['off', 'HUP']),
    ('supervisor.signalAllProcesses', ['HUP']),
    ('supervisor.getProcessInfo', ['off']),
    ('supervisor.clearProcessLogs', ['nosuch']),
    ('supervisor.clearProcessLog', ['nosuch']),
    ('supervisor.sendProcessStdin', ['off', 'x']),
    ('supervisor.sendRemoteCommEvent', ['t', 'd']),
    ('system.methodHelp', ['supervisor.getPID']),
    ('system.methodSignature', ['supervisor.getPID']),
    ('system.multicall', [[]]),
]

# Parameterless methods that must not change anything when called with
# one parameter too many.
NO_PARAMS = ['supervisor.getAPIVersion', 'supervisor.getVersion', 'supervisor.getSupervisorVersion',
             'supervisor.getIdentification', 'supervisor.getState', 'supervisor.getPID', 'supervisor.clearLog',
             'supervisor.shutdown', 'supervisor.restart', 'supervisor.reloadConfig', 'supervisor.getAllConfigInfo',
             'supervisor.getAllProcessInfo', 'supervisor.clearAllProcessLogs', 'system.listMethods']


def main_log_text(r):
    """The main log's bytes differ (timestamps, pids, lengths)."""
    return 'a string' if isinstance(r, str) else r


def faults():
    """Item 3 of issue 12: every method's answer to a parameter of each
    type and to a wrong number of parameters."""
    wait(lambda: P.supervisor.getState()['statename'] == 'RUNNING', 'the daemon RUNNING')
    for method, base in METHODS:
        post = main_log_text if method in ('supervisor.readLog', 'supervisor.readMainLog') else None
        for i in range(len(base)):
            for vname, value in VALUES:
                args = list(base)
                args[i] = value
                rec('%s(%s) param %d %s' % (method, ', '.join(map(repr, base)), i + 1, vname), method, *args, post=post)
        rec('%s too many' % method, method, *(base + [1]))
        if base:
            rec('%s too few' % method, method, *base[:-1])
    for method in NO_PARAMS:
        rec('%s too many' % method, method, 1)
    # Inside a multicall.
    for vname, value in VALUES:
        rec('multicall methodName %s' % vname, 'system.multicall', [{'methodName': value, 'params': []}])
        rec('multicall params %s' % vname, 'system.multicall', [{'methodName': 'supervisor.getAPIVersion', 'params': value}])
        rec('multicall params %s, one parameter' % vname, 'system.multicall', [{'methodName': 'supervisor.getProcessInfo', 'params': value}])
    rec('multicall params of an unknown method', 'system.multicall', [{'methodName': 'supervisor.nosuch', 'params': 5}])
    rec('multicall no methodName', 'system.multicall', [{'params': []}])
    rec('multicall no params', 'system.multicall', [{'methodName': 'supervisor.getAPIVersion'}])
    rec('state after', 'supervisor.getAllProcessInfo',
        post=lambda r: [[i['group'] + ':' + i['name'], i['statename']] for i in r])


def signals():
    """Item 4 of issue 12: a signal sent as an <int> (as the Go client
    github.com/abrander/go-supervisord does) or another number."""
    wait(lambda: all(states().get(n) == 'RUNNING' for n in ('cat:cat', 'grp:a', 'grp:b')), 'all RUNNING')
    wait_ready()
    rec('signalProcess int', 'supervisor.signalProcess', 'cat', 10)
    rec('signalProcess boolean', 'supervisor.signalProcess', 'cat', True)
    rec('signalProcess double', 'supervisor.signalProcess', 'cat', 12.0)
    rec('signalProcess unknown int', 'supervisor.signalProcess', 'cat', 99)
    rec('signalProcess grp:* int', 'supervisor.signalProcess', 'grp:*', 12, post=results)
    rec('signalProcessGroup int', 'supervisor.signalProcessGroup', 'grp', 10, post=results)
    rec('signalProcessGroup unknown int', 'supervisor.signalProcessGroup', 'grp', 99, post=results)
    rec('signalAllProcesses int', 'supervisor.signalAllProcesses', 12, post=results)
    rec('signalAllProcesses numeric string', 'supervisor.signalAllProcesses', '10', post=results)
    # The signals above were ones the helpers ignore; SIGTERM (15) ends them.
    rec('signalProcess SIGTERM as int', 'supervisor.signalProcess', 'cat', 15)
    wait(lambda: states()['cat:cat'] == 'EXITED', 'cat EXITED after SIGTERM')
    rec('getProcessInfo cat', 'supervisor.getProcessInfo', 'cat',
        post=lambda r: [r['statename'], r['exitstatus']])


def state_now(r):
    return [r['statename'], r['pid'] > 0] if isinstance(r, dict) else r


def addgroup():
    """Item 5 of issue 12: right after addProcessGroup (and after
    supervisorctl update), the group's autostart programs are spawned."""
    wait(lambda: states().get('cat:cat') == 'RUNNING', 'cat RUNNING')
    shutil.copy(os.path.join(DIR, 'conf.extra'), os.path.join(DIR, 'supervisord.conf'))
    rec('reloadConfig', 'supervisor.reloadConfig')
    rec('addProcessGroup extra', 'supervisor.addProcessGroup', 'extra')
    rec('getProcessInfo extra:extra_19 at once', 'supervisor.getProcessInfo', 'extra:extra_19', post=state_now)
    rec('getProcessInfo extra:extra_00 at once', 'supervisor.getProcessInfo', 'extra:extra_00', post=state_now)
    shutil.copy(os.path.join(DIR, 'conf.more'), os.path.join(DIR, 'supervisord.conf'))
    # The stock supervisorctl, run in this interpreter so that nothing
    # (no process start or exit) delays the call that follows it.
    from supervisor import options, supervisorctl
    out = io.TextIOWrapper(io.BytesIO(), encoding='utf-8', write_through=True)
    real = sys.stdout
    sys.stdout = options.Options.stdout = out
    try:
        supervisorctl.main(['-c', os.path.join(DIR, 'supervisord.conf'), 'update'])
        code = 0
    except SystemExit as e:
        code = e.code
    finally:
        sys.stdout = real
    transcript.append(['supervisorctl update', [code, out.buffer.getvalue().decode()]])
    # The reference answers this one STOPPED or STARTING by timing: its
    # reply to supervisorctl leaves before the spawn, and a request on
    # another connection can be read in between. Ours is checked alone.
    rec('getProcessInfo more:more_29 at once (ours only)', 'supervisor.getProcessInfo', 'more:more_29', post=state_now)


def serverurl():
    """Item 6 of issue 12: SUPERVISOR_SERVER_URL in the child for each
    form of [program:x] serverurl, and what getAllConfigInfo says."""
    names = ('nokey', 'auto', 'empty', 'explicit')
    for n in names:
        wait(lambda: P.supervisor.readProcessStdoutLog(n, 0, 0).endswith('\n'), 'the output of ' + n)
        rec('environment of ' + n, 'supervisor.readProcessStdoutLog', n, 0, 0)
    rec('getAllConfigInfo serverurl', 'supervisor.getAllConfigInfo',
        post=lambda r: {i['name']: i['serverurl'] for i in r})


{'order': order, 'faults': faults, 'signals': signals, 'addgroup': addgroup, 'serverurl': serverurl}[SCENARIO]()
json.dump(transcript, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write('\n')
