"""The zenoh side both Python examples share: their flags, the config, opening the session.

Defaults as camera-node's: a client of the robot's hub on tcp/127.0.0.1:7447 (zenoh-router,
rmw_zenohd or zenohd), multicast scouting off. --zenoh-config FILE takes a zenoh JSON5 profile
instead (e.g. config/zenoh/base-station.json5 to reach a robot over mutual TLS), whose TLS file
names are taken from --zenoh-certs DIR (default: certs/ beside the profile), as the Rust
binaries do; --connect and --listen (repeatable) replace its endpoint lists.
"""

import json
import os
import sys
import threading

import zenoh

HUB = "tcp/127.0.0.1:7447"
TLS_FILE_KEYS = (
    "root_ca_certificate",
    "listen_certificate",
    "listen_private_key",
    "connect_certificate",
    "connect_private_key",
)
WAIT_NOTICE_SECONDS = 2.0


def add_arguments(parser) -> None:
    parser.add_argument("--zenoh-config", metavar="FILE",
                        help=f"zenoh JSON5 config file (default: a client of the hub at {HUB})")
    parser.add_argument("--zenoh-certs", metavar="DIR",
                        help="certificate folder for the config's TLS files (default: certs/ beside it)")
    parser.add_argument("--connect", action="append", default=[], metavar="ENDPOINT",
                        help=f"zenoh endpoint to connect to (repeatable; default {HUB})")
    parser.add_argument("--listen", action="append", default=[], metavar="ENDPOINT",
                        help="zenoh endpoint to listen on (repeatable; default none)")


def config(args) -> zenoh.Config:
    if args.zenoh_config:
        result = zenoh.Config.from_file(args.zenoh_config)
        certs = args.zenoh_certs or os.path.join(os.path.dirname(args.zenoh_config), "certs")
        for key in TLS_FILE_KEYS:
            path = json.loads(result.get_json(f"transport/link/tls/{key}"))
            if path:
                path = os.path.join(certs, path)
                if not os.path.isfile(path):
                    raise ValueError(f"{args.zenoh_config} names {path} as transport/link/tls/{key}, "
                                     "which does not exist (see --zenoh-certs)")
                result.insert_json5(f"transport/link/tls/{key}", json.dumps(path))
    else:
        result = zenoh.Config()
        result.insert_json5("mode", '"client"')
        result.insert_json5("connect/endpoints", json.dumps([HUB]))
        # Keep retrying until the hub is up (zenoh's client default tries once, then exits).
        result.insert_json5("connect/timeout_ms", "-1")
        result.insert_json5("connect/exit_on_failure", "false")
        result.insert_json5("connect/retry", json.dumps(
            {"period_init_ms": 250, "period_max_ms": 1000, "period_increase_factor": 2}))
    if args.connect:
        result.insert_json5("connect/endpoints", json.dumps(args.connect))
    if args.listen:
        result.insert_json5("listen/endpoints", json.dumps(args.listen))
    # Explicit endpoints only: never announce this program on the LAN.
    result.insert_json5("scouting/multicast/enabled", "false")
    return result


def open_session(conf: zenoh.Config, name: str) -> zenoh.Session:
    """zenoh.open, which for a client waits until the hub answers, run in a thread so that
    Ctrl+C and SIGTERM still stop the program meanwhile; says once, after 2 s, what it waits for."""
    outcome = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["session"] = zenoh.open(conf)
        except Exception as error:  # handed to the main thread
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    if not any(done.wait(0.25) for _ in range(int(WAIT_NOTICE_SECONDS / 0.25))):
        hub = ", ".join(json.loads(conf.get_json("connect/endpoints")) or ["(none)"])
        print(f"{name}: waiting for the zenoh hub at {hub} "
              "(start zenoh-router, or rmw_zenohd; --connect ENDPOINT names another)",
              file=sys.stderr, flush=True)
        # Short waits, not one long one: a signal may be delivered to one of zenoh's threads,
        # and the main thread only runs Python's handler (KeyboardInterrupt) once it wakes.
        while not done.wait(0.25):
            pass
    if "error" in outcome:
        raise outcome["error"]
    return outcome["session"]
