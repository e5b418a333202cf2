#!/usr/bin/env python3
"""Independent test vectors for wxlogin/msgcrypt (wechat-api.md section 9).

Written from the protocol description, not from the Go code: hashlib for the
signatures and the `cryptography` package's AES-256-CBC (no padding; the
PKCS#7-to-32 padding is done here by hand) for the safe-mode envelopes.
Deterministic (fixed "random" bytes), so re-running it reproduces vectors.json:

    python3 gen_vectors.py > vectors.json
"""
import base64
import hashlib
import json
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def signature(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def aes_key(encoding_aes_key):
    key = base64.b64decode(encoding_aes_key + "=")
    assert len(key) == 32
    return key


def cbc(key, data):
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return enc.update(data) + enc.finalize()


def pkcs7_32(data):
    pad = 32 - len(data) % 32
    return data + bytes([pad]) * pad


def seal(encoding_aes_key, appid, random16, msg, pad=pkcs7_32):
    body = random16 + struct.pack(">I", len(msg)) + msg + appid.encode()
    return base64.b64encode(cbc(aes_key(encoding_aes_key), pad(body))).decode()


KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
KEY2 = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
APPID = "wx5823bf96d3bd56c7"

msgs = [
    ("event", '<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>'
              '<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>'),
    ("text_cjk", '<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><FromUserName><![CDATA[oUser2]]></FromUserName>'
                 '<CreateTime>1700000001</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好，世界 🎉]]></Content>'
                 '<MsgId>23456789012345678</MsgId></xml>'),
    ("empty", ""),
    # 16 + 4 + 42 + 18 = 80 bytes: pad 16.  16 + 4 + 58 + 18 = 96: a whole 32-byte pad block.
    ("pad16", "x" * 42),
    ("pad32", "y" * 58),
    ("pad1", "z" * 57),
]

out = {"signatures": [], "valid": [], "invalid": []}
for parts in [
    ["pamtest", "1409304348", "xxxxxx"],
    ["token123", "1700000000", "nonce", "ZW5jcnlwdGVk"],
    ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "0", "1"],
]:
    out["signatures"].append({"parts": parts, "signature": signature(*parts)})

for i, (name, msg) in enumerate(msgs):
    random16 = bytes((i * 16 + j) % 256 for j in range(16))
    for key in (KEY, KEY2):
        out["valid"].append({
            "name": name, "key": key, "appid": APPID, "random": random16.hex(), "msg": msg,
            "encrypt": seal(key, APPID, random16, msg.encode()),
        })

r = bytes(range(16))
m = b"<xml><MsgType>text</MsgType></xml>"
out["invalid"] = [
    {"name": "other appid", "key": KEY, "appid": APPID, "encrypt": seal(KEY, "wx0000000000000000", r, m), "error": "appid"},
    {"name": "appid prefix only", "key": KEY, "appid": APPID, "encrypt": seal(KEY, APPID[:-1], r, m), "error": "appid"},
    {"name": "other key", "key": KEY, "appid": APPID, "encrypt": seal(KEY2, APPID, r, m), "error": "any"},
    {"name": "pad 0", "key": KEY, "appid": APPID,
     "encrypt": seal(KEY, APPID, r, m, pad=lambda d: d + b"\x00" * (32 - len(d) % 32)), "error": "padding"},
    {"name": "pad 33", "key": KEY, "appid": APPID,
     "encrypt": seal(KEY, APPID, r, m + b"q" * ((-(16 + 4 + len(m) + len(APPID))) % 32), pad=lambda d: d + b"\x21" * 32),
     "error": "padding"},
    {"name": "length beyond end", "key": KEY, "appid": APPID,
     "encrypt": base64.b64encode(cbc(aes_key(KEY), pkcs7_32(r + struct.pack(">I", 1000) + m + APPID.encode()))).decode(),
     "error": "length"},
    {"name": "not base64", "key": KEY, "appid": APPID, "encrypt": "not*base64", "error": "ciphertext"},
    {"name": "not whole blocks", "key": KEY, "appid": APPID, "encrypt": base64.b64encode(b"0123456789").decode(),
     "error": "ciphertext"},
]
print(json.dumps(out, ensure_ascii=False, indent=1))
