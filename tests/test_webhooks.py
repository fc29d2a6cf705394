"""Webhooks: the SSRF guard, signing, and delivery to a real receiver on localhost,
with retries and a dead letter (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import orjson
import pytest

from app.db.engine import Database
from app.db.results_repository import parse_time
from app.detection.documents import Wave
from app.services.webhooks import (
    DestinationRefused,
    address_allowed,
    announce_waves,
    resolve_destination,
    retry_delay,
    signature,
)
from tests.conftest import UNANSWERED_HOOK, fresh_postgres_database, send, served_app
from tests.test_fast_path import analysed_without_late_wave

SECRET = "receiver-shared-secret-0123456789"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_private_destinations_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(DestinationRefused, match="MRD_WEBHOOK_ALLOW_PRIVATE"):
        resolve_destination(url, private_ok=False)
    if "0.0.0.0" not in url:
        assert resolve_destination(url, private_ok=True)


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/hook", "http://user:pw@93.184.216.34/", "not a url", "http:///x"]
)
def test_malformed_destinations_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        resolve_destination(url, private_ok=True)


def test_public_address_is_accepted_and_pinned() -> None:
    assert resolve_destination("https://93.184.216.34:8443/hook", private_ok=False) == (
        "93.184.216.34"
    )


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("2002:a9fe:a9fe::", False),  # 6to4 carrying 169.254.169.254
        ("2002:0a00:0001::1", False),  # 6to4 carrying 10.0.0.1
        ("2002:0808:0808::1", True),  # 6to4 carrying 8.8.8.8
        ("fec0::1", False),  # site-local
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo client 192.0.2.45
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", True),  # Teredo client 8.8.8.8
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 of 10.0.0.1
        ("64:ff9b:1:a9fe:a9:fe00:808:808", False),  # local-use /48 form of 169.254.169.254
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("::127.0.0.1", False),  # IPv4-compatible loopback
        ("::ffff:10.0.0.1", False),  # mapped private
        ("2606:4700::1111", True),
    ],
)
def test_ipv6_that_embeds_a_private_ipv4_is_refused(address: str, public: bool) -> None:
    """The guard's decision, and the same through a host name that resolves to the
    address (the resolver is patched: nothing is looked up or contacted)."""
    assert address_allowed(ipaddress.ip_address(address), private_ok=False) is public
    assert address_allowed(ipaddress.ip_address(address), private_ok=True)
    answer = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 443, 0, 0))]
    with mock.patch("app.services.webhooks.socket.getaddrinfo", return_value=answer):
        if public:
            assert resolve_destination("https://hooks.receiver.test/x", private_ok=False)
        else:
            with pytest.raises(DestinationRefused):
                resolve_destination("https://hooks.receiver.test/x", private_ok=False)


def test_signature_is_hmac_of_timestamp_and_body() -> None:
    body = b'{"event":"wave.detected"}'
    header = signature("s3cret", body, 1_700_000_000)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_backoff_doubles_from_the_base() -> None:
    assert [retry_delay(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert retry_delay(40, 2.0) == 3600.0


def test_subscription_to_a_private_address_is_refused_and_nothing_stored(
    backend: str, tmp_path: Path
) -> None:
    with (
        own_database(backend, tmp_path, "webhook_refusal") as url,
        served_app(url, "refusing-admin-key-0123456789") as client,
    ):
        answer = client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:8080/hook", "secret": SECRET}
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"][0]["loc"] == ["body", "url"]
        assert client.get("/v1/webhooks").json() == {"items": []}


def test_subscribe_list_and_delete(client: httpx.Client) -> None:
    created = client.post("/v1/webhooks", json={"url": UNANSWERED_HOOK})
    assert created.status_code == 201, created.text
    hook = created.json()
    assert len(hook["secret"]) >= 32 and hook["events"] == ["wave.detected", "wave.updated"]
    listed = client.get("/v1/webhooks").json()["items"]
    assert [h["webhook_id"] for h in listed] == [hook["webhook_id"]]
    assert "secret" not in listed[0]
    log = client.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")
    assert log.status_code == 200 and log.json() == {"items": []}
    assert client.delete(f"/v1/webhooks/{hook['webhook_id']}").status_code == 204
    assert client.delete(f"/v1/webhooks/{hook['webhook_id']}").status_code == 404
    assert client.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").status_code == 404


class Receiver:
    """An HTTP receiver on localhost; path ``/fail-N`` answers 500 to its first N posts."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                calls = receiver.calls[self.path] = receiver.calls.get(self.path, 0) + 1
                failing = self.path.startswith("/fail-") and calls <= int(self.path[6:])
                if not failing:
                    receiver.received.append(
                        {
                            "path": self.path,
                            "at": time.monotonic(),
                            "headers": dict(self.headers),
                            "body": body,
                            "attempt": calls,
                        }
                    )
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path]


def own_database(backend: str, tmp_path: Path, name: str) -> AbstractContextManager[str]:
    """The URL of a new, empty database of ``backend`` for one test."""
    if backend == "sqlite":
        return nullcontext(f"sqlite:///{tmp_path / f'{name}.db'}")
    return fresh_postgres_database(f"mrd_{name}_test")


@pytest.fixture
def hooked_service(backend: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """A service of its own that may send to localhost, with fast retries."""
    with (
        own_database(backend, tmp_path, "webhook") as url,
        served_app(
            url,
            "webhook-admin-key-0123456789",
            webhook_allow_private=True,
            webhook_retry_base_s=0.2,
            webhook_max_attempts=4,
        ) as client,
    ):
        yield client


def wait_until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_wave_detected_is_signed_retried_and_dead_lettered(hooked_service: httpx.Client) -> None:
    client = hooked_service
    truth, held_back = analysed_without_late_wave(client)
    victim = truth["target_id"]

    with Receiver() as receiver:
        hooks = {}
        for path in ("/ok", "/fail-3", "/fail-99"):
            answer = client.post(
                "/v1/webhooks",
                json={"url": receiver.url + path, "events": ["wave.detected"], "secret": SECRET},
            )
            assert answer.status_code == 201, answer.text
            hooks[path] = answer.json()["webhook_id"]

        send(client, "reports", held_back)
        sent = time.monotonic()
        assert wait_until(lambda: receiver.events("/ok"), 5.0), "no wave.detected within 5 s"
        delivery = receiver.events("/ok")[0]
        assert delivery["at"] - sent < 5.0, delivery["at"] - sent

        # Correctly signed, over the exact bytes received, with a fresh timestamp.
        header = delivery["headers"]["X-MRD-Signature"]
        stamp, digest = (part.split("=", 1)[1] for part in header.split(","))
        expected = hmac.new(
            SECRET.encode(), stamp.encode() + b"." + delivery["body"], hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(digest, expected)
        assert abs(int(stamp) - time.time()) < 30
        event = orjson.loads(delivery["body"])
        assert event["event"] == "wave.detected" == delivery["headers"]["X-MRD-Event"]
        assert event["wave"]["target_id"] == victim
        assert event["wave"]["label"] == "orchestrated" and "reporters" not in event["wave"]

        # The receiver that fails three times gets the same event on the fourth try.
        assert wait_until(lambda: receiver.events("/fail-3"), 10.0)
        retried = receiver.events("/fail-3")
        assert [r["attempt"] for r in retried] == [4], receiver.calls
        assert orjson.loads(retried[0]["body"])["event_id"] == event["event_id"]

        # The dispatcher records the outcome just after the receiver answered.
        def outcomes() -> list[tuple[str, int]]:
            log = client.get(f"/v1/webhooks/{hooks['/fail-3']}/deliveries").json()["items"]
            return [(d["status"], d["attempts"]) for d in log]

        wait_until(lambda: outcomes() == [("delivered", 4)], 5.0)
        assert outcomes() == [("delivered", 4)]

        # One that never answers 2xx ends as a dead letter after the last attempt.
        def dead() -> list[dict[str, Any]]:
            items = client.get(
                f"/v1/webhooks/{hooks['/fail-99']}/deliveries", params={"status": "dead"}
            ).json()["items"]
            return list(items)

        assert wait_until(dead, 10.0)
        letter = dead()[0]
        assert letter["attempts"] == 4 and letter["last_status_code"] == 500
        assert letter["payload"]["event_id"] == event["event_id"]
        requeued = client.post(
            f"/v1/webhooks/{hooks['/fail-99']}/deliveries/{letter['delivery_id']}/retry"
        )
        assert requeued.status_code == 200 and requeued.json()["status"] == "pending"
        assert wait_until(lambda: receiver.calls["/fail-99"] >= 5, 5.0)

        # Announced once: later refreshes of the same wave are not new detections.
        time.sleep(1.5)
        detected = [orjson.loads(r["body"])["wave"]["target_id"] for r in receiver.events("/ok")]
        assert detected.count(victim) == 1, [orjson.loads(r["body"]) for r in receiver.received]


def wave_document(**changes: Any) -> Wave:
    wave = {
        "wave_id": "wave_a",
        "target_id": "analyst-01",
        "start": "2017-07-29T10:00:00Z",
        "end": "2017-07-29T11:00:00Z",
        "report_count": 100,
        "reporter_count": 1,
        "score": 0.9,
        "label": "orchestrated",
        "status": "active",
        "provisional": False,
        "signals": {},
        "explanations": [],
        "orchestrators": [],
        "group_ids": [],
        "top_reasons": {"terrorism": 100},
        "arrivals": {"bucket_s": 60, "counts": [100]},
        "reporters": [{"account_id": "x", "reporter_risk": 0.9}],
    }
    return Wave.model_validate(wave | changes)


def test_a_wave_is_detected_once_then_updated_only_when_it_changed(
    client: httpx.Client, db: Database
) -> None:
    hook = client.post("/v1/webhooks", json={"url": UNANSWERED_HOOK}).json()

    def announce(*waves: Wave, newest: float | None = None) -> list[str]:
        db.run_write(lambda conn: announce_waves(conn, list(waves), newest))
        log = client.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries", params={"limit": 1000})
        return [d["event"] for d in reversed(log.json()["items"])]

    assert announce(wave_document(label="organic", score=0.2)) == []
    assert announce(wave_document()) == ["wave.detected"]
    # The same wave seen again, a little grown (the fast path's next tick): nothing new.
    assert announce(wave_document(report_count=110, end="2017-07-29T11:05:00Z")) == [
        "wave.detected"
    ]
    # Grown by a quarter, under a new id that overlaps it: an update, not a detection.
    grown = {"wave_id": "wave_b", "report_count": 130, "start": "2017-07-29T09:58:00Z"}
    assert announce(wave_document(**grown)) == ["wave.detected", "wave.updated"]
    closed = wave_document(**grown, status="closed")
    assert announce(closed) == ["wave.detected"] + ["wave.updated"] * 2
    # Another target's wave that closed long before the newest data: history, not news.
    old = wave_document(wave_id="wave_c", target_id="other", status="closed")
    later = parse_time("2017-09-01T00:00:00Z").timestamp()
    assert announce(old, newest=later) == ["wave.detected"] + ["wave.updated"] * 2
    payload = client.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").json()["items"][0]
    assert payload["payload"]["wave"]["wave_id"] == "wave_b"
    assert "reporters" not in payload["payload"]["wave"]


class AwkwardReceivers:
    """Three subscribers on 127.0.0.1: ``/ok`` answers at once, ``/trickle`` sends its
    answer's head one byte every half second, ``/huge`` answers with a 300 MB body.
    Records when each request arrived and how many body bytes ``/huge`` got out."""

    HUGE = 300 * 2**20

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {"/ok": [], "/trickle": [], "/huge": []}
        self.huge_bytes_sent = 0
        self.stop = threading.Event()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receivers.arrivals[self.path].append(time.monotonic())
                # The sender hanging up is what these receivers expect.
                with contextlib.suppress(OSError):
                    getattr(self, "answer_" + self.path.strip("/"))()

            def answer_ok(self) -> None:
                self.send_response(204)
                self.end_headers()

            def answer_trickle(self) -> None:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 60:
                    if receivers.stop.wait(0.5):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def answer_huge(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(receivers.HUGE))
                self.end_headers()
                chunk = b"x" * 2**16
                while receivers.huge_bytes_sent < receivers.HUGE and not receivers.stop.is_set():
                    self.wfile.write(chunk)
                    receivers.huge_bytes_sent += len(chunk)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AwkwardReceivers:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_stalled_or_flooding_receiver_never_holds_up_another(
    backend: str, tmp_path: Path
) -> None:
    """Each attempt has MRD_WEBHOOK_TIMEOUT_S in all, the answer's body is never read,
    and subscribers do not wait for one another."""
    with (
        own_database(backend, tmp_path, "webhook_stall") as url,
        served_app(
            url,
            "webhook-admin-key-0123456789",
            webhook_allow_private=True,
            webhook_timeout_s=1.0,
            webhook_retry_base_s=60.0,
        ) as client,
        AwkwardReceivers() as receivers,
    ):
        hooks = {
            path: client.post("/v1/webhooks", json={"url": receivers.url + path}).json()
            for path in ("/trickle", "/huge", "/ok")
        }
        db = Database(url)
        first = time.monotonic()
        db.run_write(lambda conn: announce_waves(conn, [wave_document()]))
        assert wait_until(lambda: receivers.arrivals["/trickle"], 5.0)
        # While the trickling receiver holds its attempt, another event reaches /ok.
        other = wave_document(wave_id="wave_z", target_id="journalist-02")
        second = time.monotonic()
        db.run_write(lambda conn: announce_waves(conn, [other]))
        assert wait_until(lambda: len(receivers.arrivals["/ok"]) == 2, 5.0)
        assert receivers.arrivals["/ok"][1] - second < 2.0

        def outcome(path: str) -> list[tuple[str, int, str | None]]:
            items = client.get(f"/v1/webhooks/{hooks[path]['webhook_id']}/deliveries").json()
            return [(d["status"], d["attempts"], d["last_error"]) for d in items["items"]]

        # The trickling attempt ends at its deadline and is recorded as failed.
        assert wait_until(lambda: any(o[1] == 1 for o in outcome("/trickle")), 5.0)
        assert time.monotonic() - first < 6.0
        assert any("no answer within 1 s" in (o[2] or "") for o in outcome("/trickle"))
        # The flooding one counts as answered (2xx) without its body being read.
        assert wait_until(lambda: ("delivered", 1, None) in outcome("/huge"), 5.0)
        assert receivers.huge_bytes_sent < 32 * 2**20, receivers.huge_bytes_sent
        db.dispose()
