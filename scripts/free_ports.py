"""Loopback ports that are free now, for the test scripts' services.

They are picked below the kernel's ephemeral range (32768 and up on Linux): a port the kernel
hands out for bind(("127.0.0.1", 0)) comes from the range outgoing connections take theirs
from, and with many suites connecting in parallel such a port was once taken by a connection
before the service bound it. Ports here are only ever taken by a bind, so two picks collide
only if two scripts draw the same number in the same seconds.

    python3 scripts/free_ports.py [N]   # prints N distinct ports on one line (default 1)
"""

import random
import socket
import sys

LOW, HIGH = 10000, 32767


def free_ports(count: int = 1) -> list[int]:
    ports: list[int] = []
    for _ in range(100 * count):
        port = random.randint(LOW, HIGH)
        if port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free loopback ports in {LOW}-{HIGH}")


def free_port() -> int:
    return free_ports(1)[0]


if __name__ == "__main__":
    print(" ".join(str(p) for p in free_ports(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
