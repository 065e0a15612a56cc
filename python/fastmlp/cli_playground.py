"""``fastmlp playground``: a local web page that trains a small network, every step one click away.

    fastmlp playground                 serves http://127.0.0.1:8765/ and opens the browser
    fastmlp playground --port 0 --no-browser
"""

from __future__ import annotations

import argparse
import sys


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535 (0: any free port), got {text!r}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``playground`` subcommand to ``fastmlp``'s subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "playground",
        help="a local web page: train a small network and open any step, every number named",
        description=("Serve the playground page on 127.0.0.1 (this machine only) and print its address. "
                     "The page trains with the real backend and explains any step as fastmlp.explain "
                     "does. Everything is served from the installed package; nothing is fetched."),
    )
    parser.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765; 0: any free one)")
    parser.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.set_defaults(func=run, check=None, subparser=parser)
    return parser


def run(args) -> int:
    from .cli_train import CLIError
    from .playground import make_server

    try:
        server = make_server(args.port, verbose=args.verbose)
    except OSError as exc:
        raise CLIError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc} "
                       "(try another --port, or --port 0)") from exc
    print(f"fastmlp playground: {server.address}  (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(server.address)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C is how a server stops: not an error
        print("fastmlp playground: stopped", flush=True)
    finally:
        server.server_close()
    return 0
