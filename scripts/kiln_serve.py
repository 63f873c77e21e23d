"""Starts `kiln serve` (in memory) on a free loopback port for a test script; shared by the
scripts that drive Kiln through PostgreSQL clients."""
import socket
import subprocess
import time


def start(kiln):
    """Returns the server process and its port, once it accepts connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([kiln, "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return server, port
