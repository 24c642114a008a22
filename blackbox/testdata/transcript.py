# Drives one supervisord through every XML-RPC method with Python's
# xmlrpc.client and supervisor's own transport, and prints a normalised
# JSON transcript: [[label, result], ...]. Run with /usr/bin/python3:
#
#   transcript.py URL USER PASSWORD DIR
#
# DIR holds supervisord.conf (the running config), conf.new and
# conf.broken. Pids, times, uptimes, dates, log timestamps, the random
# part of AUTO log names and DIR are normalised here; any other
# difference between two daemons shows in the transcript.
import http.client
import json
import os
import re
import shutil
import sys
import threading
import time
import xmlrpc.client as xc

from supervisor.xmlrpc import SupervisorTransport

URL, USER, PASSWORD, DIR = sys.argv[1:5]

transcript = []
called = set()


def proxy(user=USER, password=PASSWORD):
    return xc.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(user, password, URL))


P = proxy()

PATTERNS = [
    (re.compile(r'pid \d+, uptime \d+:\d\d:\d\d'), 'pid N, uptime U'),
    (re.compile(r'[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M'), 'DATE'),
    (re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}'), 'TIMESTAMP'),
    # Logged by a timer while a stop is slower than the wait's first poll:
    # timing on both daemons (seen under load), not behaviour.
    (re.compile(r'TIMESTAMP INFO waiting for \S+ to stop\n'), ''),
    # Our pitfall warnings (a stop that ended in SIGKILL, a program that
    # left its process group running): extension lines the reference
    # does not log.
    (re.compile(r'TIMESTAMP WARN \S+ (ignored its stopsignal|exited but left pids?) [^\n]*\n'), ''),
    (re.compile(r'(---blackbox)-[A-Za-z0-9_]+(\.log)'), r'\1-RANDOM\2'),
    (re.compile(r'\(pid \d+\)'), '(pid N)'),
    (re.compile(r'with pid \d+'), 'with pid N'),
]
TIME_KEYS = ('pid', 'start', 'stop', 'now')


def norm(v):
    if isinstance(v, str):
        v = v.replace(DIR, 'DIR')
        for rx, repl in PATTERNS:
            v = rx.sub(repl, v)
        return v
    if isinstance(v, dict):
        return {k: ('N' if k in TIME_KEYS and isinstance(x, int) and x else norm(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def outcome(method, *args, p=None):
    called.add(method)
    try:
        return norm(getattr(p or P, method)(*args))
    except xc.Fault as e:
        return {'fault': e.faultCode, 'string': norm(e.faultString)}
    except xc.ProtocolError as e:
        return {'http': e.errcode, 'reason': e.errmsg}


def rec(label, method, *args, p=None, post=None):
    result = outcome(method, *args, p=p)
    if post:
        result = post(result)
    transcript.append([label, result])
    return result


def stock(names):
    """gosupervisor lists its own namespace (gosupervisor.*) too, which the
    reference has not; rpc's tests check those methods."""
    if isinstance(names, list):
        return [n for n in names if not n.startswith('gosupervisor.')]
    return names


def by_name(results):
    """Results of stops and group calls come in completion order, which is
    timing on both daemons: sort them."""
    if isinstance(results, list):
        return sorted(results, key=lambda r: (r.get('group', ''), r.get('name', '')))
    return results


def states():
    return {i['group'] + ':' + i['name']: i['statename'] for i in P.supervisor.getAllProcessInfo()}


def wait(pred, what, timeout=20):
    deadline = time.time() + timeout
    while True:
        try:
            if pred():
                return
        except (OSError, xc.Error, http.client.HTTPException):
            pass
        if time.time() > deadline:
            raise SystemExit('timed out waiting for %s (states %r)' % (what, states()))
        time.sleep(0.05)


def wait_states(state, *names):
    """Wait until every named process is in state; a bare name is its own
    group."""
    want = [n if ':' in n else n + ':' + n for n in names]

    def ok():
        got = states()
        return all(got.get(n) == state for n in want)
    wait(ok, '%s %s' % (' '.join(want), state))


def wait_ready(*names):
    """Wait until the running instance of each named process has set up
    its signal handling (the helper then creates ready.<pid>)."""
    def ok():
        for n in names:
            pid = P.supervisor.getProcessInfo(n)['pid']
            if not pid or not os.path.exists(os.path.join(DIR, 'ready.%d' % pid)):
                return False
        return True
    wait(ok, 'ready ' + ' '.join(names))


def wait_log(name, text):
    wait(lambda: text in P.supervisor.readProcessStdoutLog(name, 0, 0), '%r in the log of %s' % (text, name))


# 1. Start-up: autostarted programs are running.
wait_states('RUNNING', 'cat', 'grp:a', 'grp:b')
wait_log('cat', 'hello\n')

# 2. The daemon itself.
for m in ('getAPIVersion', 'getVersion', 'getSupervisorVersion', 'getIdentification', 'getState', 'getPID'):
    rec(m, 'supervisor.' + m, post=(lambda r: 'PID' if isinstance(r, int) and r > 1 else r) if m == 'getPID' else None)

# 3. Introspection. Our docstrings are our own prose: the Go side
# rewrites methodHelp texts (see the rule there).
methods = rec('listMethods', 'system.listMethods', post=stock)
for m in methods:
    rec('methodHelp ' + m, 'system.methodHelp', m)
    rec('methodSignature ' + m, 'system.methodSignature', m)
rec('methodHelp unknown', 'system.methodHelp', 'supervisor.nosuch')
rec('methodSignature unknown', 'system.methodSignature', 'nosuch')
rec('methodHelp no args', 'system.methodHelp')

# 4. Process information.
rec('getAllProcessInfo', 'supervisor.getAllProcessInfo')
rec('getProcessInfo cat', 'supervisor.getProcessInfo', 'cat')
rec('getProcessInfo grp:a', 'supervisor.getProcessInfo', 'grp:a')
rec('getProcessInfo multi:multi_01', 'supervisor.getProcessInfo', 'multi:multi_01')
rec('getProcessInfo nosuch', 'supervisor.getProcessInfo', 'nosuch')
rec('getProcessInfo grp:*', 'supervisor.getProcessInfo', 'grp:*')
rec('getProcessInfo multi', 'supervisor.getProcessInfo', 'multi')
rec('getAllConfigInfo', 'supervisor.getAllConfigInfo')

# 5. Process logs.
rec('readProcessStdoutLog', 'supervisor.readProcessStdoutLog', 'cat', 0, 0)
rec('readProcessLog slice', 'supervisor.readProcessLog', 'cat', 1, 3)
rec('readProcessStderrLog', 'supervisor.readProcessStderrLog', 'cat', 0, 0)
rec('readProcessStdoutLog tail', 'supervisor.readProcessStdoutLog', 'cat', -3, 0)
rec('readProcessStdoutLog past end', 'supervisor.readProcessStdoutLog', 'cat', 100, 0)
rec('readProcessStdoutLog -1,1', 'supervisor.readProcessStdoutLog', 'cat', -1, 1)
rec('readProcessStdoutLog 0,-1', 'supervisor.readProcessStdoutLog', 'cat', 0, -1)
rec('readProcessStdoutLog nolog', 'supervisor.readProcessStdoutLog', 'nolog', 0, 0)
rec('readProcessStdoutLog not created', 'supervisor.readProcessStdoutLog', 'dirlog', 0, 0)
rec('readProcessStdoutLog nosuch', 'supervisor.readProcessStdoutLog', 'nosuch', 0, 0)
rec('readProcessStderrLog grp:*', 'supervisor.readProcessStderrLog', 'grp:*', 0, 0)
rec('tailProcessStdoutLog overflow', 'supervisor.tailProcessStdoutLog', 'cat', 0, 3)
rec('tailProcessStdoutLog whole', 'supervisor.tailProcessStdoutLog', 'cat', 0, 100)
rec('tailProcessStdoutLog at end', 'supervisor.tailProcessStdoutLog', 'cat', 6, 100)
rec('tailProcessStdoutLog past end', 'supervisor.tailProcessStdoutLog', 'cat', 50, 100)
rec('tailProcessLog', 'supervisor.tailProcessLog', 'cat', 2, 2)
rec('tailProcessStderrLog', 'supervisor.tailProcessStderrLog', 'cat', 0, 100)
rec('tailProcessStdoutLog nolog', 'supervisor.tailProcessStdoutLog', 'nolog', 0, 100)
rec('tailProcessStdoutLog nosuch', 'supervisor.tailProcessStdoutLog', 'nosuch', 0, 100)
os.mkdir(os.path.join(DIR, 'dirlog.log'))
rec('readProcessStdoutLog directory', 'supervisor.readProcessStdoutLog', 'dirlog', 0, 0)
os.rmdir(os.path.join(DIR, 'dirlog.log'))

# 6. stdin.
rec('sendProcessStdin', 'supervisor.sendProcessStdin', 'cat', 'ping\n')
wait_log('cat', 'got: ping\n')
rec('readProcessStdoutLog after stdin', 'supervisor.readProcessStdoutLog', 'cat', 0, 0)
rec('sendProcessStdin unicode', 'supervisor.sendProcessStdin', 'cat', 'h\u00e9\n')
wait_log('cat', 'got: h\u00e9\n')
rec('readProcessStdoutLog unicode', 'supervisor.readProcessStdoutLog', 'cat', -9, 0)
rec('sendProcessStdin stopped', 'supervisor.sendProcessStdin', 'nolog', 'x')
rec('sendProcessStdin nosuch', 'supervisor.sendProcessStdin', 'nosuch', 'x')
rec('sendProcessStdin int', 'supervisor.sendProcessStdin', 'cat', 5)

# 7. Clearing logs.
rec('clearProcessLogs', 'supervisor.clearProcessLogs', 'cat')
rec('readProcessStdoutLog cleared', 'supervisor.readProcessStdoutLog', 'cat', 0, 0)
rec('clearProcessLog grp:a', 'supervisor.clearProcessLog', 'grp:a')
rec('clearProcessLogs nosuch', 'supervisor.clearProcessLogs', 'nosuch')
rec('clearAllProcessLogs', 'supervisor.clearAllProcessLogs')

# 8. Starting and stopping.
rec('startProcess running', 'supervisor.startProcess', 'cat')
rec('stopProcess', 'supervisor.stopProcess', 'cat')
rec('getProcessInfo stopped', 'supervisor.getProcessInfo', 'cat')
rec('stopProcess stopped', 'supervisor.stopProcess', 'cat')
rec('startProcess', 'supervisor.startProcess', 'cat')
rec('startProcess failer', 'supervisor.startProcess', 'failer')
wait_states('FATAL', 'failer')
rec('getProcessInfo failer', 'supervisor.getProcessInfo', 'failer')
rec('startProcess nofile', 'supervisor.startProcess', 'nofile')
rec('startProcess noexec', 'supervisor.startProcess', 'noexec')
rec('startProcess nosuch', 'supervisor.startProcess', 'nosuch')
rec('startProcess nosuch:*', 'supervisor.startProcess', 'nosuch:*')
rec('startProcess multi:*', 'supervisor.startProcess', 'multi:*')
rec('stopProcess multi:*', 'supervisor.stopProcess', 'multi:*', post=by_name)
rec('startProcessGroup multi', 'supervisor.startProcessGroup', 'multi')
rec('stopProcessGroup multi', 'supervisor.stopProcessGroup', 'multi', True, post=by_name)
rec('stopProcessGroup multi again', 'supervisor.stopProcessGroup', 'multi')
rec('startProcessGroup nosuch', 'supervisor.startProcessGroup', 'nosuch')
rec('startProcess grp:a nowait', 'supervisor.startProcess', 'grp:a', False)
rec('stopProcessGroup grp', 'supervisor.stopProcessGroup', 'grp', post=by_name)
rec('startProcess grp: nowait', 'supervisor.startProcess', 'grp:', False)
wait_states('RUNNING', 'grp:a', 'grp:b')
rec('startAllProcesses', 'supervisor.startAllProcesses', post=by_name)
wait_states('RUNNING', 'slow', 'nolog', 'multi:multi_00')
rec('getAllProcessInfo all started', 'supervisor.getAllProcessInfo')
rec('stopAllProcesses', 'supervisor.stopAllProcesses', post=by_name)
rec('getAllProcessInfo all stopped', 'supervisor.getAllProcessInfo')
rec('stopAllProcesses again', 'supervisor.stopAllProcesses', False)
rec('startAllProcesses nowait', 'supervisor.startAllProcesses', False, post=by_name)
wait_states('RUNNING', 'slow', 'cat', 'grp:a')
rec('stopAllProcesses nowait', 'supervisor.stopAllProcesses', False, post=by_name)
wait(lambda: all(s in ('STOPPED', 'EXITED', 'FATAL') for s in states().values()), 'all stopped')

# A start interrupted by a stop: ABNORMAL_TERMINATION.
abnormal = {}


def start_slow():
    abnormal['result'] = outcome('supervisor.startProcess', 'slow', True, p=proxy())


starter = threading.Thread(target=start_slow)
starter.start()
wait_states('STARTING', 'slow')
rec('stopProcess while starting', 'supervisor.stopProcess', 'slow')
starter.join(30)
transcript.append(['startProcess interrupted', abnormal.get('result')])
rec('startProcess cat again', 'supervisor.startProcess', 'cat')
rec('startProcessGroup grp', 'supervisor.startProcessGroup', 'grp', True, post=by_name)

# 9. Signals.
wait_ready('cat', 'grp:a', 'grp:b')
rec('signalProcess HUP', 'supervisor.signalProcess', 'cat', 'HUP')
rec('signalProcess SIGUSR1', 'supervisor.signalProcess', 'cat', 'SIGUSR1')
rec('signalProcess number', 'supervisor.signalProcess', 'cat', '12')
rec('signalProcess bad', 'supervisor.signalProcess', 'cat', 'NOPE')
rec('signalProcess bad number', 'supervisor.signalProcess', 'cat', '999')
rec('signalProcess stopped', 'supervisor.signalProcess', 'failer', 'HUP')
rec('signalProcess nosuch', 'supervisor.signalProcess', 'nosuch', 'HUP')
rec('signalProcess grp:*', 'supervisor.signalProcess', 'grp:*', 'USR2', post=by_name)
rec('signalProcessGroup', 'supervisor.signalProcessGroup', 'grp', 'USR1', post=by_name)
rec('signalProcessGroup bad', 'supervisor.signalProcessGroup', 'grp', 'NOPE')
rec('signalProcessGroup nosuch', 'supervisor.signalProcessGroup', 'nosuch', 'HUP')
rec('signalProcessGroup stopped', 'supervisor.signalProcessGroup', 'multi', 'HUP')
rec('signalAllProcesses', 'supervisor.signalAllProcesses', 'HUP', post=by_name)
rec('signalAllProcesses bad', 'supervisor.signalAllProcesses', 'NOPE')
rec('getAllProcessInfo after signals', 'supervisor.getAllProcessInfo')

# 10. Events and multicall.
rec('sendRemoteCommEvent', 'supervisor.sendRemoteCommEvent', 'type', 'data')
rec('multicall', 'system.multicall', [
    {'methodName': 'supervisor.getAPIVersion'},
    {'methodName': 'supervisor.getAPIVersion', 'params': []},
    {'methodName': 'nosuch.method', 'params': []},
    {'methodName': 'supervisor.getProcessInfo', 'params': ['nosuch']},
    {'params': []},
    {'methodName': 'system.multicall', 'params': [[]]},
    {'methodName': 'supervisor.stopProcess', 'params': ['cat']},
    {'methodName': 'supervisor.startProcess', 'params': ['cat']},
    {'methodName': 'supervisor.getState', 'params': ['extra']},
])
rec('multicall empty', 'system.multicall', [])
rec('multicall not a list', 'system.multicall', 'x')

# 11. The main log.
rec('clearLog', 'supervisor.clearLog')
rec('readLog cleared', 'supervisor.readLog', 0, 0)
# The multicall above started cat again. A SIGTERM that reaches the
# reference's child between its fork and its exec runs supervisord's own
# handler there and is lost (the stop then ends in SIGKILL after
# stopwaitsecs): stop cat only once it handles signals itself.
wait_ready('cat')
P.supervisor.stopProcess('cat')
P.supervisor.startProcess('cat')
wait(lambda: 'success: cat' in P.supervisor.readLog(0, 0), 'the log of the restart of cat')
rec('readLog', 'supervisor.readLog', 0, 0)
rec('readMainLog tail', 'supervisor.readMainLog', -10, 0)
rec('readLog slice', 'supervisor.readLog', 0, 4)
rec('readLog -1,1', 'supervisor.readLog', -1, 1)
rec('readLog 0,-1', 'supervisor.readLog', 0, -1)

# 12. Faults of the protocol.
rec('unknown method', 'supervisor.nosuch')
rec('unknown namespace', 'nosuch.getState')
rec('no namespace', 'getState')
rec('three parts', 'supervisor.getState.x')
rec('private', 'supervisor._update')
rec('too many args', 'supervisor.getState', 1)
rec('too few args', 'supervisor.getProcessInfo')
rec('wrong type name', 'supervisor.getProcessInfo', 5)
rec('wrong type offset', 'supervisor.readLog', 'a', 0)
rec('wrong type wait', 'supervisor.stopProcess', 'nosuch', 'yes')
rec('wrong password', 'supervisor.getState', p=proxy(USER, 'wrong'))
rec('no credentials', 'supervisor.getState', p=proxy(None, None))
rec('wrong user', 'supervisor.getState', p=proxy('nobody', PASSWORD))

# 13. Configuration: reread, add, remove, broken file.
rec('reloadConfig unchanged', 'supervisor.reloadConfig')
shutil.copy(os.path.join(DIR, 'supervisord.conf'), os.path.join(DIR, 'conf.old'))
shutil.copy(os.path.join(DIR, 'conf.broken'), os.path.join(DIR, 'supervisord.conf'))
rec('reloadConfig broken', 'supervisor.reloadConfig')
shutil.copy(os.path.join(DIR, 'conf.new'), os.path.join(DIR, 'supervisord.conf'))
rec('reloadConfig', 'supervisor.reloadConfig')
rec('getAllConfigInfo after reread', 'supervisor.getAllConfigInfo')
rec('addProcessGroup', 'supervisor.addProcessGroup', 'stub')
rec('addProcessGroup again', 'supervisor.addProcessGroup', 'stub')
rec('addProcessGroup nosuch', 'supervisor.addProcessGroup', 'nosuch')
rec('addProcessGroup removed', 'supervisor.addProcessGroup', 'nolog')
wait_states('RUNNING', 'stub')
wait_ready('stub')  # it ignores SIGTERM from now on
rec('removeProcessGroup running', 'supervisor.removeProcessGroup', 'grp')
rec('removeProcessGroup', 'supervisor.removeProcessGroup', 'nolog')
rec('removeProcessGroup again', 'supervisor.removeProcessGroup', 'nolog')
rec('stopProcessGroup changed', 'supervisor.stopProcessGroup', 'grp', post=by_name)
rec('removeProcessGroup changed', 'supervisor.removeProcessGroup', 'grp')
rec('addProcessGroup changed', 'supervisor.addProcessGroup', 'grp')
wait_states('RUNNING', 'grp:a', 'grp:b')
rec('reloadConfig applied', 'supervisor.reloadConfig')
rec('getAllProcessInfo after update', 'supervisor.getAllProcessInfo')

# 14. Restart: stub ignores SIGTERM, so stopping takes stopwaitsecs and
# calls made meanwhile meet the RESTARTING state.
rec('restart', 'supervisor.restart')
rec('getState restarting', 'supervisor.getState')
rec('getProcessInfo restarting', 'supervisor.getProcessInfo', 'cat')
rec('listMethods restarting', 'system.listMethods', post=lambda r: len(stock(r)) if isinstance(r, list) else r)


def back():
    global P
    P = proxy()
    return P.supervisor.getState()['statename'] == 'RUNNING'


wait(back, 'the daemon back after restart', timeout=30)
wait_states('RUNNING', 'cat', 'grp:a', 'grp:b', 'stub')
wait_ready('stub')  # so that the shutdown below takes stopwaitsecs
rec('getAllProcessInfo after restart', 'supervisor.getAllProcessInfo')

# 15. Shutdown, last.
rec('shutdown', 'supervisor.shutdown')
rec('getState shutting down', 'supervisor.getState')
rec('shutdown again', 'supervisor.shutdown')
rec('sendRemoteCommEvent shutting down', 'supervisor.sendRemoteCommEvent', 'type', 'late')
rec('methodSignature shutting down', 'system.methodSignature', 'supervisor.getState')

# Every listed method was called.
transcript.append(['methods never called', sorted(set(methods) - called)])

json.dump(transcript, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write('\n')
