"""The ports each local service listens on; checked for clashes when run as a script."""

from __future__ import annotations

import socket

SERVICES = {
    "web": 8000,
    "api": 8001,
    "admin": 8002,
    "docs": 8003,
    "metrics": 9100,
    "queue": 5672,
    "cache": 6379,
    "database": 5432,
    "search": 9200,
    "mail": 1025,
    "storage": 9000,
    "auth": 8001,
}


def port_of(service: str) -> int:
    return SERVICES[service]


def url_of(service: str, host: str = "localhost") -> str:
    scheme = "https" if service in {"web", "api", "auth"} else "http"
    return f"{scheme}://{host}:{port_of(service)}"


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def busy(services: dict[str, int]) -> list[str]:
    return sorted(name for name, port in services.items() if not is_free(port))


def table(services: dict[str, int]) -> str:
    width = max(len(name) for name in services)
    return "\n".join(f"{name.ljust(width)}  {port}" for name, port in sorted(services.items(), key=lambda kv: kv[1]))


def env_lines(services: dict[str, int]) -> list[str]:
    return [f"{name.upper()}_PORT={port}" for name, port in services.items()]


def by_range(services: dict[str, int]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {"system": [], "user": []}
    for name, port in services.items():
        groups["system" if port < 1024 else "user"].append(name)
    return groups


assert len(set(SERVICES.values())) == len(SERVICES), "two services share a port"

if __name__ == "__main__":
    print(table(SERVICES))
