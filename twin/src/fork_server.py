"""Fork server for twin boards' host processes (twin/src/fork_server.rs, firmware/host/PROTOCOL.md).

Started once as `python3 -u fork_server.py` with a SOCK_SEQPACKET socket as fd 3. A CPython start costs tens of
milliseconds of CPU; a hundred boards at speed 10 start a hundred per wake cycle, so this process imports the
standard library once and forks a child per request that becomes what `python3 -u SCRIPT ARGS...` would be.

Request: one packet of JSON {"argv": [SCRIPT, ARG...], "cwd": DIR, "env": {NAME: VALUE}} carrying four fds
(SCM_RIGHTS): the child's stdin, stdout, stderr and a status socket. On the status socket the server writes
`pid N` then `exit STATUS` (the raw waitpid status); the rig writes `sig N` to signal the child, and closing it
kills the child. EOF on fd 3 (the rig gone) ends the server; its children die with it (PR_SET_PDEATHSIG).
"""
import ctypes
import gc
import json
import os
import selectors
import signal
import socket
import sys
import types

# Imported here so the children find them loaded: what run.py, the shims and repl_host.py use. The shims
# themselves read HIL_* at import, so they stay for the child to import.
import builtins  # noqa: F401
import errno  # noqa: F401
import importlib.util  # noqa: F401
import struct  # noqa: F401
import time  # noqa: F401
import traceback

# The MicroPython VM (firmware/host/vm_launch.py): its shared library loaded once, not once per boot.
if os.environ.get("HIL_VM_SITE"):
    sys.path.insert(0, os.environ["HIL_VM_SITE"])
    try:
        import micropython_run  # noqa: F401
    except ImportError:
        pass

PR_SET_PDEATHSIG = 1
MAX_REQUEST = 1 << 16
EXIT_SPAWN_FAILED = 127

_libc = ctypes.CDLL(None, use_errno=True)


def die_with(server_pid):
    if _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        os._exit(EXIT_SPAWN_FAILED)
    # The server may have died between fork and prctl.
    if os.getppid() != server_pid:
        os._exit(EXIT_SPAWN_FAILED)


def exit_code(e):
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    print(e.code, file=sys.stderr)
    return 1


def run_main(path):
    """Runs the script as __main__ and ends the process as the interpreter would."""
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    interrupted = False
    try:
        with open(path, "rb") as f:
            source = f.read()
        exec(compile(source, path, "exec"), main.__dict__)
        code = 0
    except SystemExit as e:
        code = exit_code(e)
    except BaseException as e:
        interrupted = isinstance(e, KeyboardInterrupt)
        sys.excepthook(type(e), e, e.__traceback__)
        code = 1
    if "threading" in sys.modules:
        sys.modules["threading"]._shutdown()
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if interrupted:
        # CPython ends on an uncaught KeyboardInterrupt by dying of SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def become(request, fds, server_pid, server_fds):
    """In the forked child: turns into `python3 -u ARGV...` in the request's folder and environment."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    die_with(server_pid)
    for fd in server_fds:
        os.close(fd)
    os.close(fds[3])
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
        os.close(fd)
    argv = request["argv"]
    os.chdir(request["cwd"])
    os.environ.update(request["env"])
    sys.argv = list(argv)
    # As `python3 SCRIPT` does: the script's folder first on the module path.
    sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
    # The server runs with -u, so sys.std* hold no buffered bytes and write straight to the new fds 0-2.
    run_main(argv[0])


class Server:
    def __init__(self, control):
        self.control = control
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        self.by_socket = {}  # status socket -> pid, for children still running
        self.by_pid = {}  # pid -> status socket (None once the rig closed it)

    def serve(self):
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # Ctrl-C on the terminal is the rig's to handle; the server ends with the rig (EOF on fd 3).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        gc.freeze()
        while True:
            # No timeout: the server only reacts to the rig's packets, its sockets and its children.
            readable = [key.fileobj for key, _ in self.selector.select()]
            if self.wake_r in readable:
                self.drain_wakeups()
                self.reap()
            for status in readable:
                if status in self.by_socket:
                    self.from_rig(status)
            if self.control in readable and not self.accept():
                return

    def drain_wakeups(self):
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def accept(self):
        """One request from the rig; False when the rig is gone."""
        try:
            data, fds, flags, _ = socket.recv_fds(self.control, MAX_REQUEST, 4)
        except InterruptedError:
            return True
        except OSError:
            return False
        if not data and not fds:
            return False
        if len(fds) != 4 or flags & socket.MSG_CTRUNC:
            print(f"hil fork server: request without its 4 fds ({len(fds)})", file=sys.stderr)
            for fd in fds:
                os.close(fd)
            return True
        status = socket.socket(fileno=fds[3])
        try:
            request = json.loads(data)
        except ValueError as e:
            self.tell(status, f"error bad request: {e}")
            for fd in fds[:3]:
                os.close(fd)
            status.close()
            return True
        server_fds = [self.control.fileno(), self.wake_r, self.wake_w, self.selector.fileno()]
        server_fds += [s.fileno() for s in self.by_socket]
        server_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                become(request, fds, server_pid, server_fds)
            except BaseException:
                traceback.print_exc()
            os._exit(EXIT_SPAWN_FAILED)
        for fd in fds[:3]:
            os.close(fd)
        status.setblocking(False)
        self.by_socket[status] = pid
        self.by_pid[pid] = status
        self.selector.register(status, selectors.EVENT_READ)
        self.tell(status, f"pid {pid}")
        return True

    def from_rig(self, status):
        pid = self.by_socket[status]
        try:
            said = status.recv(256)
        except BlockingIOError:
            return
        except OSError:
            said = b""
        if not said:
            # The rig dropped the process: it dies, as tokio's kill_on_drop would have it.
            self.signal(pid, signal.SIGKILL)
            self.forget(status)
            self.by_pid[pid] = None
            return
        for line in said.decode("ascii", "replace").splitlines():
            word, _, number = line.partition(" ")
            if word == "sig" and number.isdigit():
                self.signal(pid, int(number))

    def forget(self, status):
        self.selector.unregister(status)
        del self.by_socket[status]
        status.close()

    def signal(self, pid, number):
        try:
            os.kill(pid, number)
        except OSError:
            pass

    def reap(self):
        while self.by_pid:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            sock = self.by_pid.pop(pid, None)
            if sock is not None:
                self.tell(sock, f"exit {status}")
                self.forget(sock)

    @staticmethod
    def tell(sock, line):
        try:
            sock.send(f"{line}\n".encode())
        except OSError:
            pass


if __name__ == "__main__":
    server = Server(socket.socket(fileno=3))
    # The rig waits for this word, then closes the pipe; the children get their own stdout.
    sys.stdout.write("ready\n")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    server.serve()
