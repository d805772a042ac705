"""The emulator's HTTP server: cheroot, with HTTP/1.1 keep-alive connections like Graph's.

werkzeug's development server answers every request with `Connection: close`, so
each Graph call paid a new TCP and TLS handshake that real Graph does not charge.
cheroot keeps connections open between requests (reading any unread request body
first, framing every response by Content-Length or chunks, honouring the client's
`Connection: close`, closing after an error mid-response), parks idle ones in a
selector rather than in a thread, and serves busy ones from a thread pool.

What this module adds to cheroot:
- TLS handshakes run in the connection's worker thread. cheroot's own adapter
  handshakes in its accept loop, where one client that connects and stays silent
  (a browser's speculative connection) would stall every other client.
- The pool grows whenever every worker is busy, as werkzeug's thread per
  connection did: the backend calls the emulator while the emulator calls the
  backend's webhook, and latency faults hold workers, so a fixed pool could deadlock.
- `environ["emulator.socket"]`, which the gate's "drop" and "cut" faults close, and
  `environ["emulator.flush"]`, which sends what "cut" let through before it closes.
- TCP_NODELAY on every connection, and a one-line access log per request.
"""

import io
import logging
import socket
import ssl

from cheroot import server as cheroot_server
from cheroot import wsgi
from cheroot.makefile import MakeFile
from cheroot.ssl import Adapter

IDLE_CONNECTION_TIMEOUT_S = 120
MIN_WORKERS = 32
MAX_IDLE_CONNECTIONS = 256  # past this, answers say Connection: close (file descriptors are finite)
LISTEN_BACKLOG = 128
MAX_DRAINED_BODY_BYTES = 64 * 1024 * 1024  # a larger body refused with 413 gets a reset

access_log = logging.getLogger("emulator.http")
log = logging.getLogger("emulator.server")


class _HandshakeInWorkerTLS(Adapter):
    """TLS that wraps in the accept loop but handshakes later, in the worker (see _Connection)."""

    def __init__(self, context: ssl.SSLContext):  # pylint: disable=super-init-not-called
        self.context = context

    def bind(self, sock):
        return sock

    def wrap(self, sock):
        tls = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return tls, self.get_environ()

    def get_environ(self):
        return {"wsgi.url_scheme": "https", "HTTPS": "on"}

    def makefile(self, sock, mode="r", bufsize=io.DEFAULT_BUFFER_SIZE):
        return MakeFile(sock, mode, bufsize)


class _Request(cheroot_server.HTTPRequest):
    def send_headers(self):
        # cheroot closes after a 413 without reading the body, so a client still sending
        # gets a reset instead of the answer (Graph's RequestEntityTooLarge): read it first.
        unread = getattr(self.rfile, "remaining", 0)  # Content-Length bodies only
        if self.status[:3] == b"413" and 0 < unread <= MAX_DRAINED_BODY_BYTES:
            while self.rfile.remaining and self.rfile.read(min(self.rfile.remaining, 1 << 16)):
                pass
        # cheroot drains an unread Content-Length body before answering, but not an unread
        # chunked one, whose rest would be parsed as the next request. No client of ours
        # sends chunked bodies, so closing is enough.
        if self.chunked_read and not self.rfile.closed:
            self.close_connection = True
        super().send_headers()


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request

    def __init__(self, server, sock, makefile=MakeFile):
        super().__init__(server, sock, makefile)
        # cheroot writes the status line and headers, then the body: with Nagle on, the
        # body waits for the client's delayed ACK, ~15-40 ms added to every response
        # (bench/b1_pane_api.py measured it).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._handshake_pending = isinstance(sock, ssl.SSLSocket)

    def communicate(self):
        if self._handshake_pending:
            try:
                self.socket.do_handshake()
            except OSError:  # not TLS (plain HTTP on the HTTPS port), silent, or gone: close
                return False
            self._handshake_pending = False
        return super().communicate()


class _Gateway(wsgi.Gateway_10):
    def get_environ(self):
        environ = super().get_environ()
        environ["emulator.socket"] = self.req.conn.socket
        environ["emulator.flush"] = self.req.conn.wfile.flush  # the gate's "cut" sends what it wrote first
        return environ


class EmulatorServer(wsgi.Server):
    """A threaded HTTP/1.1 server for `app` on host:port (0 = any free port), HTTPS with `tls`.

    `prepare()` binds and listens (`port` is then the real one); `serve()` runs until `stop()`.
    """

    ConnectionClass = _Connection
    keep_alive_conn_limit = MAX_IDLE_CONNECTIONS

    def __init__(self, host: str, port: int, app, tls: ssl.SSLContext | None = None):
        super().__init__(
            (host, port),
            _logged(app),
            numthreads=MIN_WORKERS,
            request_queue_size=LISTEN_BACKLOG,
            timeout=IDLE_CONNECTION_TIMEOUT_S,
        )
        self.gateway = _Gateway
        if tls is not None:
            self.ssl_adapter = _HandshakeInWorkerTLS(tls)

    @property
    def port(self) -> int:
        return self.bind_addr[1]

    def process_conn(self, conn):
        # Every queued connection needs an idle worker of its own, or it waits behind a busy one.
        shortfall = self.requests.qsize + 1 - self.requests.idle
        if shortfall > 0:
            self.requests.grow(max(shortfall, MIN_WORKERS // 4))
        super().process_conn(conn)

    def error_log(self, msg="", level=logging.INFO, traceback=False):
        log.log(level, msg, exc_info=traceback)


def _logged(app):
    """`app`, logging one line per answered request (the emulator's --quiet turns it off)."""

    def logged_app(environ, start_response):
        def start(status, headers, exc_info=None):
            access_log.info(
                '%s "%s %s" %s',
                environ.get("REMOTE_ADDR", "-"),
                environ.get("REQUEST_METHOD"),
                environ.get("REQUEST_URI"),
                status.split(" ", 1)[0],
            )
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged_app
