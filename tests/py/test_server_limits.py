"""Connection limits, slow clients, rate limiting and graceful shutdown of
`peergraph serve`, over real sockets."""
import signal
import socket
import threading
import time

import pytest
import requests

from pgserver import SAN_BIN, Server, fresh_sqlite, status_of
import os


def test_rate_limit_429_with_retry_after(tmp_path):
    with Server(fresh_sqlite(tmp_path), args=["--rate-limit", "1", "--rate-burst", "3"]) as s:
        codes = [requests.get(s.url + "/api/v1").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        r = requests.get(s.url + "/api/v1")
        assert r.status_code == 429
        assert r.json()["error"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        # /healthz and /metrics are not limited (load balancers, Prometheus)
        assert requests.get(s.url + "/healthz").status_code == 200
        m = requests.get(s.url + "/metrics")
        assert m.status_code == 200
        assert "peergraph_http_rate_limited_total 1" in m.text
        # the bucket refills at the configured rate
        time.sleep(1.2)
        assert requests.get(s.url + "/api/v1").status_code == 200
        assert requests.get(s.url + "/api/v1").status_code == 429


def test_rate_limit_off(tmp_path):
    with Server(fresh_sqlite(tmp_path), args=["--rate-limit", "0"]) as s:
        with requests.Session() as sess:
            assert all(sess.get(s.url + "/api/v1").status_code == 200 for _ in range(300))


def _partial(port, data=b"GET /healthz HTTP/1.1\r\nHost: x\r\n"):
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(data)
    return c


def _closed_by_server(c, within):
    """True when the server closes c (EOF or reset) within the time given."""
    c.settimeout(within)
    try:
        return c.recv(1024) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_slowloris_timeout_frees_slots(tmp_path):
    with Server(fresh_sqlite(tmp_path), args=["--timeout", "2", "--max-conns-per-ip", "4"]) as s:
        t0 = time.monotonic()
        slow = [_partial(s.port) for _ in range(4)]
        time.sleep(0.3)
        # every slot of this IP is held: a fifth connection is refused
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _closed_by_server(extra, 3), "connection over the per-IP limit was served"
        extra.close()
        # drip-feeding headers does not keep a connection alive past the timeout forever:
        # the idle timeout frees the slots
        for c in slow:
            assert _closed_by_server(c, 6), "slow client not dropped"
            c.close()
        assert time.monotonic() - t0 < 10
        assert requests.get(s.url + "/healthz").status_code == 200
        text = s.stderr_text()
        assert '"end":"timeout"' in text


def test_total_connection_limit(tmp_path):
    with Server(fresh_sqlite(tmp_path), args=["--max-conns", "2", "--threads", "1",
                                              "--timeout", "3"]) as s:
        held = [_partial(s.port) for _ in range(2)]
        time.sleep(0.3)
        # at the limit libmicrohttpd stops accepting: the next client waits in
        # the listen queue, unserved, until a slot frees
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        extra.settimeout(1.0)
        with pytest.raises(socket.timeout):
            extra.recv(100)
        for c in held:
            c.close()
        extra.settimeout(5)
        out = b""
        while True:
            chunk = extra.recv(4096)
            if not chunk:
                break
            out += chunk
        extra.close()
        assert status_of(out) == 200


def _graceful(binary, tmp_path):
    s = Server(fresh_sqlite(tmp_path), binary=binary, args=["--shutdown-grace", "20"])
    # a request in flight: request line and half of the headers sent
    c = _partial(s.port, b"GET /api/v1 HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert s.proc.poll() is None, "server exited with a request in flight"
    # no new connections once stopping
    with pytest.raises(OSError):
        n = socket.create_connection(("127.0.0.1", s.port), timeout=2)
        n.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        if n.recv(100) == b"":
            raise ConnectionRefusedError("closed")
    # the in-flight request completes
    c.sendall(b"X-Slow: yes\r\n\r\n")
    out = b""
    c.settimeout(5)
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        out += chunk
        if b'"endpoints"' in out and out.endswith(b"}"):
            break
    c.close()
    assert status_of(out) == 200, out[:300]
    assert s.proc.wait(timeout=20) == 0
    assert "finishing requests in flight" in s.stderr_text()
    return s


def test_graceful_shutdown_finishes_in_flight(tmp_path):
    _graceful(None, tmp_path)


@pytest.mark.skipif(not os.path.exists(SAN_BIN), reason="no sanitizer build")
def test_graceful_shutdown_sanitizer_clean(tmp_path):
    s = _graceful(SAN_BIN, tmp_path)
    assert not s.sanitizer_reports(), s.stderr_text()[-5000:]


def test_sigint_idle_exit_zero(tmp_path):
    s = Server(fresh_sqlite(tmp_path))
    # an idle keep-alive connection does not hold up shutdown
    sess = requests.Session()
    assert sess.get(s.url + "/healthz").status_code == 200
    t0 = time.monotonic()
    assert s.stop(signal.SIGINT) == 0
    assert time.monotonic() - t0 < 5
    sess.close()


def test_concurrent_clients(tmp_path):
    with Server(fresh_sqlite(tmp_path), args=["--threads", "4"]) as s:
        errors = []

        def worker():
            with requests.Session() as sess:
                for _ in range(50):
                    r = sess.get(s.url + "/api/v1")
                    if r.status_code != 200:
                        errors.append(r.status_code)

        ts = [threading.Thread(target=worker) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert errors == []


def test_trust_proxy_client_ip_and_ipv6_prefix(tmp_path):
    log = str(tmp_path / "access.log")
    args = ["--rate-limit", "0.01", "--rate-burst", "2", "--trust-proxy", "--access-log", log]
    with Server(fresh_sqlite(tmp_path), args=args) as s:
        def get(xff):
            return requests.get(s.url + "/api/v1", headers={"X-Forwarded-For": xff}).status_code

        assert [get("10.0.0.1"), get("10.0.0.1"), get("10.0.0.1")] == [200, 200, 429]
        # the proxy's own entry is the last one; what the client wrote before it is ignored
        assert get("10.0.0.1, 10.0.0.2") == 200
        # IPv6 clients share a bucket per /64
        assert [get("2001:db8::1"), get("2001:db8::2"), get("2001:db8::3")] == [200, 200, 429]
        assert get("2001:db8:0:1::1") == 200
        # junk in the header: the socket address is used
        assert get("not-an-ip") == 200
        time.sleep(0.2)
        ips = [__import__("json").loads(l)["ip"] for l in open(log)]
        assert ips[:4] == ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"]
        assert ips[-1] == "127.0.0.1"
    # without --trust-proxy the header means nothing
    with Server(fresh_sqlite(tmp_path), args=["--rate-limit", "0.01", "--rate-burst", "1"]) as s:
        assert requests.get(s.url + "/api/v1", headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 200
        assert requests.get(s.url + "/api/v1", headers={"X-Forwarded-For": "10.0.0.2"}).status_code == 429


def test_second_signal_ends_grace(tmp_path):
    s = Server(fresh_sqlite(tmp_path), args=["--shutdown-grace", "60"])
    c = _partial(s.port)  # in flight, never finished
    time.sleep(0.3)
    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert s.proc.poll() is None  # waiting for the request in flight
    s.proc.send_signal(signal.SIGINT)
    assert s.proc.wait(timeout=10) == 0
    assert time.monotonic() - t0 < 8
    assert "second signal" in s.stderr_text()
    c.close()
    s.stop()
