"""`python -m emulator --port 8443 --fixture F --state-dir instance/emulator`.

Serves the emulator over HTTPS (threaded: the backend calls the emulator while
the emulator calls the backend's webhook) and prints `CA: <path>` and
`Emulator ready: https://localhost:<port>` once it listens.
"""
import argparse
import logging
import socket
import ssl
import sys
import threading

from werkzeug.serving import ThreadedWSGIServer, make_server

from emulator.app import create_app
from emulator.certs import ensure_certificates


IDLE_CONNECTION_TIMEOUT_S = 120


class HTTPSServer(ThreadedWSGIServer):
    """Threaded HTTPS whose TLS handshakes run in each connection's thread.

    werkzeug's own ssl_context wraps the listening socket, so every handshake
    runs in the accept loop: one client that connects and stays silent (a
    browser's speculative connection) would stall the whole server.
    """

    def __init__(self, host: str, port: int, app, tls: ssl.SSLContext):
        super().__init__(host, port, app)
        self.tls = tls
        self.ssl_context = tls  # werkzeug reads this to report the https scheme

    def get_request(self):
        sock, address = self.socket.accept()
        sock.settimeout(IDLE_CONNECTION_TIMEOUT_S)
        # http.server writes headers and body separately: with Nagle on, the body waits
        # for the client's delayed ACK (~15-40 ms a response, bench B1). Graph has no such stall.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8443, help="HTTPS port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--fixture", default=None, help="fixture JSON (default: the demo fixture)")
    parser.add_argument("--state-dir", default="instance/emulator",
                        help="where the CA, TLS and signing keys live")
    parser.add_argument("--http-port", type=int, default=None,
                        help="also serve plain HTTP here (for the Outlook-like page)")
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    certs = ensure_certificates(args.state_dir)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certs.server, certs.server_key)

    app = create_app(args.fixture, args.state_dir, f"https://localhost:{args.port}")
    server = HTTPSServer(args.host, args.port, app, tls)
    # With --port 0 the real port is known only now; tokens' issuers must carry it.
    base_url = f"https://localhost:{server.server_port}"
    app.extensions["emulator"].base_url = base_url
    servers = [server]
    if args.host == "127.0.0.1":
        # "localhost" may resolve to ::1 first; answer there too so no client depends on fallback.
        try:
            servers.append(HTTPSServer("::1", server.server_port, app, tls))
        except OSError:
            pass  # no IPv6 loopback here
    if args.http_port is not None:
        servers.append(make_server(args.host, args.http_port, app, threaded=True))
        print(f"HTTP: http://localhost:{servers[-1].server_port}", flush=True)

    print(f"CA: {certs.ca}", flush=True)
    print(f"Emulator ready: {base_url}", flush=True)
    for extra in servers[1:]:
        # ThreadedWSGIServer.serve_forever also starts per-connection threads.
        threading.Thread(target=extra.serve_forever, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for s in servers:
            s.server_close()


if __name__ == "__main__":
    sys.exit(main())
