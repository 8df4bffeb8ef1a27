"""Starting a real `peergraph serve` for HTTP tests.

    from pgserver import Server, fresh_sqlite
    with Server(db=fresh_sqlite(tmp_path)) as s:
        requests.get(s.url + "/healthz")

The server listens on a free port (--port 0) and the helper reads the port
from its "listening on http://HOST:PORT/" line. Rate limiting is off unless
the test passes --rate-limit itself, so a test making many requests is not
answered 429. stderr (access log, sanitizer reports) goes to a file:
Server.stderr_text().
"""
import os
import select
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("PEERGRAPH_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "release", "peergraph")
SAN_BIN = os.environ.get("PEERGRAPH_SAN_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "san", "peergraph")
TMP = os.environ.get("PEERGRAPH_TEST_TMP") or tempfile.gettempdir()

# Sanitizer runtime settings for servers started from the sanitizer build:
# report leaks at exit, and never abort silently.
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
SAN_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
               "SUMMARY: UndefinedBehaviorSanitizer", "SUMMARY: AddressSanitizer")


def fresh_sqlite(directory):
    """A new, migrated SQLite database in directory; returns its --db URL."""
    path = os.path.join(str(directory), "pg-%d-%d.db" % (os.getpid(), time.monotonic_ns()))
    url = "sqlite:" + path
    r = subprocess.run([BIN, "migrate", "--db", url], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("peergraph migrate failed: " + r.stderr)
    return url


class Server:
    def __init__(self, db, args=(), binary=None, env=None, rate_limit_off=True):
        self.binary = binary or BIN
        cmd = [self.binary, "serve", "--db", db, "--host", "127.0.0.1", "--port", "0"]
        if rate_limit_off and "--rate-limit" not in args:
            cmd += ["--rate-limit", "0"]
        cmd += list(args)
        self.cmd = cmd
        fd, self.stderr_path = tempfile.mkstemp(prefix="serve-", suffix=".err", dir=TMP)
        os.close(fd)
        full_env = dict(os.environ)
        full_env.update(SAN_ENV)
        full_env.update(env or {})
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err, env=full_env)
        self.port = None
        deadline = time.monotonic() + 30
        line = b""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith(b"listening on http://"):
                    self.port = int(line.strip().rstrip(b"/").rsplit(b":", 1)[1])
                    break
        if self.port is None:
            self.kill()
            raise RuntimeError("server did not start: %r %s" % (line, self.stderr_text()))
        self.host = "127.0.0.1"
        self.url = "http://127.0.0.1:%d" % self.port

    def stderr_text(self):
        if not self._err.closed:
            self._err.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def sanitizer_reports(self):
        text = self.stderr_text()
        return [m for m in SAN_MARKERS if m in text]

    def raw(self, data, timeout=5.0, read=True):
        """Sends raw bytes on a new connection; returns what came back before close/timeout."""
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            s.sendall(data)
            if not read:
                return b""
            out = b""
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and _complete(out):
                    break
            return out
        finally:
            s.close()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig and waits; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        self.proc.stdout.close()
        self._err.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.kill()


def _complete(resp):
    """True when a raw HTTP response with Content-Length has all its body."""
    head, _, body = resp.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(resp):
    """Status code of a raw HTTP response, or None when nothing came back."""
    if not resp.startswith(b"HTTP/1."):
        return None
    return int(resp.split(b" ", 2)[1])


def body_of(resp):
    return resp.partition(b"\r\n\r\n")[2]
