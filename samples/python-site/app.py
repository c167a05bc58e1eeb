#!/usr/bin/env python3
"""A SessionRouter backend in Python's standard library only (docs/protocol.md).

It verifies the gateway's signature, decodes the state blob, increments a counter kept in the session
(key "counter", 4 bytes big-endian: the same bytes as ASP.NET Core's Session.SetInt32), and hands the
new blob back in the SessionRouter-State response header.

    python3 samples/python-site/app.py --port 5201 --key <SessionRouter:SignatureKey>
    python3 samples/python-site/app.py --port 5201 --config yarp.json

Routes: GET / (JSON: the counter, incremented on read-write routes), POST /abandon, GET /health.
"""
import argparse
import base64
import binascii
import hashlib
import hmac
import http.client
import http.server
import json
import os
import struct
import sys
import time

# http.server refuses header lines longer than 64 KiB; a full-size state (MaxStateBytes 65536) is about
# 87 KB of base64url, so allow longer lines.
http.client._MAXLINE = 256 * 1024

PREFIX = "SessionRouter-"
STATE_VERSION = 1


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_state(blob: bytes) -> dict:
    """Version byte 0x01, then entries: uint16 BE key length, UTF-8 key, uint32 BE value length, value."""
    if not blob or blob[0] != STATE_VERSION:
        raise ValueError("unknown state format version")
    entries, offset = {}, 1
    while offset < len(blob):
        if len(blob) - offset < 2:
            raise ValueError("truncated key length")
        (key_length,) = struct.unpack_from(">H", blob, offset)
        offset += 2
        if len(blob) - offset < key_length:
            raise ValueError("truncated key")
        key = blob[offset:offset + key_length].decode("utf-8")  # strict: invalid UTF-8 raises
        offset += key_length
        if len(blob) - offset < 4:
            raise ValueError("truncated value length")
        (value_length,) = struct.unpack_from(">I", blob, offset)
        offset += 4
        if len(blob) - offset < value_length:
            raise ValueError("truncated value")
        if key in entries:
            raise ValueError("duplicate key")
        entries[key] = blob[offset:offset + value_length]
        offset += value_length
    return entries


def encode_state(entries: dict) -> bytes:
    out = bytearray([STATE_VERSION])
    for key, value in entries.items():
        key_bytes = key.encode("utf-8")
        out += struct.pack(">H", len(key_bytes)) + key_bytes + struct.pack(">I", len(value)) + value
    return bytes(out)


class Contract:
    """Verifies the gateway's request headers: HMAC-SHA256 over the signed text, within a time window."""

    def __init__(self, key: bytes, window_seconds: int = 300, max_state_bytes: int = 65536):
        if len(key) < 32:
            raise ValueError("SessionRouter:SignatureKey must decode to at least 32 bytes")
        self.key, self.window, self.max_state_bytes = key, window_seconds, max_state_bytes

    def read(self, headers):
        """Returns (session, problem). session = dict(id, mode, entries) or None."""
        names = ("Id", "Mode", "State", "Timestamp", "Signature")
        values = {name: headers.get_all(PREFIX + name) or [] for name in names}
        if not any(values.values()):
            return None, "no SessionRouter headers (a route without session, or not through the gateway)"
        if values["Mode"] == ["unavailable"]:
            return None, "the gateway has no state node available"
        if any(len(v) > 1 for v in values.values()):
            return None, "a SessionRouter header appears more than once"
        sid, mode, state, timestamp, signature = (v[0] if v else "" for v in (values[n] for n in names))
        if not (sid and mode and signature and timestamp.isdigit()):
            return None, "missing SessionRouter header"
        signed = f"v1\n{sid}\n{mode}\n{timestamp}\n{state}".encode("utf-8")
        expected = hmac.new(self.key, signed, hashlib.sha256).digest()
        try:
            presented = b64url_decode(signature)
        except (ValueError, binascii.Error):
            return None, "signature is not base64url"
        if not hmac.compare_digest(expected, presented):
            return None, "bad signature"
        if abs(int(time.time()) - int(timestamp)) > self.window:
            return None, "timestamp outside the window"
        if mode not in ("read-write", "read-only"):
            return None, "unknown mode"
        try:
            entries = decode_state(b64url_decode(state)) if state else {}
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            # Never overwrite a state we cannot read.
            return None, f"unreadable state blob: {error}"
        return {"id": sid, "mode": mode, "entries": entries}, None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    contract: Contract = None
    name = "python-site"

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, {"status": "ok", "servedBy": self.name})
        if self.path != "/":
            return self.reply(404, {"error": "not found"})
        session, problem = self.contract.read(self.headers)
        if session is None:
            return self.reply(200, {"servedBy": self.name, "session": False, "problem": problem})

        entries = session["entries"]
        counter = struct.unpack(">i", entries["counter"])[0] if len(entries.get("counter", b"")) == 4 else 0
        extra = {}
        if session["mode"] == "read-write":
            counter += 1
            entries["counter"] = struct.pack(">i", counter)
            blob = encode_state(entries)
            if len(blob) > self.contract.max_state_bytes:
                return self.reply(500, {"error": "session state larger than MaxStateBytes; not saved"})
            extra[PREFIX + "State"] = b64url_encode(blob)
        cart = entries.get("cart")  # the sample shop's cart (UTF-8 JSON), if this session has one
        body = {"servedBy": self.name, "session": True, "mode": session["mode"], "counter": counter,
                "cart": json.loads(cart.decode("utf-8")) if cart else None}
        return self.reply(200, body, extra)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path != "/abandon":
            return self.reply(404, {"error": "not found"})
        session, problem = self.contract.read(self.headers)
        if session is None or session["mode"] != "read-write":
            return self.reply(409, {"error": problem or "the session is read-only on this route"})
        return self.reply(200, {"abandoned": True}, {PREFIX + "Abandon": "1"})

    def reply(self, status, body, headers=None):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.name}: {fmt % args}\n")


def key_from_config(path: str) -> str:
    # yarp.json may hold // comments, which Python's json module does not accept.
    with open(path, encoding="utf-8") as file:
        text = "\n".join(line for line in file if not line.lstrip().startswith("//"))
    return json.loads(text)["SessionRouter"]["SignatureKey"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5201, help="0 picks a free port")
    parser.add_argument("--key", default=os.environ.get("SESSIONROUTER_SIGNATURE_KEY"), help="base64 SignatureKey")
    parser.add_argument("--config", help="a yarp.json to read SessionRouter:SignatureKey from")
    parser.add_argument("--name", default="python-site")
    parser.add_argument("--window", type=int, default=300, help="timestamp window in seconds")
    args = parser.parse_args()

    key = args.key or (key_from_config(args.config) if args.config else None)
    if not key:
        parser.error("give the shared SessionRouter:SignatureKey with --key, SESSIONROUTER_SIGNATURE_KEY or --config")
    Handler.contract = Contract(base64.b64decode(key, validate=True), args.window)
    Handler.name = args.name
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
