"""`python -m emulator --port 8443 --fixture F --state-dir instance/emulator`.

Serves the emulator over HTTPS with keep-alive connections, like Graph
(emulator/server.py), and prints `CA: <path>` and
`Emulator ready: https://localhost:<port>` once it listens.
"""

import argparse
import logging
import ssl
import sys
import threading

from emulator.app import create_app
from emulator.certs import ensure_certificates
from emulator.server import EmulatorServer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8443, help="HTTPS port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--fixture", default=None, help="fixture JSON (default: the demo fixture)")
    parser.add_argument("--state-dir", default="instance/emulator", help="where the CA, TLS and signing keys live")
    parser.add_argument(
        "--http-port", type=int, default=None, help="also serve plain HTTP here (for the Outlook-like page)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.quiet:
        logging.getLogger("emulator.http").setLevel(logging.WARNING)
    certs = ensure_certificates(args.state_dir)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certs.server, certs.server_key)

    app = create_app(args.fixture, args.state_dir, f"https://localhost:{args.port}")
    server = EmulatorServer(args.host, args.port, app, tls)
    server.prepare()
    # With --port 0 the real port is known only now; tokens' issuers must carry it.
    base_url = f"https://localhost:{server.port}"
    app.extensions["emulator"].base_url = base_url
    servers = [server]
    if args.host == "127.0.0.1":
        # "localhost" may resolve to ::1 first; answer there too so no client depends on fallback.
        ipv6 = EmulatorServer("::1", server.port, app, tls)
        try:
            ipv6.prepare()
            servers.append(ipv6)
        except OSError:
            pass  # no IPv6 loopback here
    if args.http_port is not None:
        servers.append(EmulatorServer(args.host, args.http_port, app))
        servers[-1].prepare()
        print(f"HTTP: http://localhost:{servers[-1].port}", flush=True)

    print(f"CA: {certs.ca}", flush=True)
    print(f"Emulator ready: {base_url}", flush=True)
    for extra in servers[1:]:
        threading.Thread(target=extra.serve, daemon=True).start()
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    sys.exit(main())
