"""Starts `kiln serve` (in memory) on a free loopback port for a test script; shared by the
scripts that drive Kiln through PostgreSQL clients."""
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, what):
    """Returns once something accepts connections on `port`; exits if `process` ends first."""
    for _ in range(600):
        if process is not None and process.poll() is not None:
            sys.exit(f"{what} exited with status {process.returncode} before it listened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on port {port}")


def start(kiln):
    """Returns the server process and its port, once it accepts connections."""
    port = free_port()
    server = subprocess.Popen([kiln, "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, server, "kiln serve")
    return server, port
